"""Operation counts and energy (snnbench/efficiency.py) against a hand count and against NeuroBench."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from spikingjelly.activation_based import functional, layer, neuron
from torch.utils.data import DataLoader, TensorDataset

from snnbench.train.efficiency import count_operations, model_bytes


def two_layer_net() -> nn.Sequential:
    """Linear(6, 4) on analog input -> IF (threshold 1, hard reset) -> Linear(4, 3), every weight 0.5."""
    net = nn.Sequential(layer.Linear(6, 4, bias=False), neuron.IFNode(step_mode="m"), layer.Linear(4, 3))
    for lin in (net[0], net[2]):
        nn.init.constant_(lin.weight, 0.5)  # not 0 or 1: a binary weight would count as spikes (a counter trap)
    nn.init.constant_(net[2].bias, 0.25)
    functional.set_step_mode(net, "m")
    return net


def test_synops_and_macs_of_a_two_layer_network_match_a_hand_count():
    # sample 0: every input 0.7, so each hidden neuron gets 6 * 0.7 * 0.5 = 2.1 >= 1 and spikes at both steps;
    # sample 1: every input 0.1, 0.3 per step, 0.6 after two: silent. Batch-first [N, T, 6], T = 2.
    x = torch.stack([torch.full((2, 6), 0.7), torch.full((2, 6), 0.1)])
    counts = count_operations(two_layer_net(), [(x, torch.zeros(2))], 1, torch.device("cpu"), "sequence", 2,
                              pj_per_ac=0.9, pj_per_mac=4.6)
    macs = 2 * 2 * 6 * 4 / 2      # layer 1: T x N x in x out multiply-accumulates on analog input, per sample
    synops = 4 * 2 * 3 / 2        # layer 2: 4 neurons x 2 steps of spikes (sample 0 only) x fan-out 3, per sample
    assert counts["macs_per_sample"] == macs and counts["synops_per_sample"] == synops
    assert counts["energy_uj_per_sample"] == pytest.approx((macs * 4.6 + synops * 0.9) * 1e-6)
    assert counts["macs_per_layer"] == {"0": macs, "2": 0} and counts["synops_per_layer"] == {"0": 0, "2": synops}
    assert counts["counted_samples"] == 2


def test_model_bytes_counts_parameters_and_buffers():
    net = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4))
    assert model_bytes(net) == 4 * (6 * 4 + 4 + 4 + 4 + 4 + 4) + 8  # fp32 tensors, num_batches_tracked int64


def test_synops_agree_with_neurobench_on_a_small_lif_network():
    neurobench = pytest.importorskip("neurobench")
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.workload import SynapticOperations
    from neurobench.models import TorchModel

    torch.manual_seed(0)
    net = nn.Sequential(layer.Linear(20, 32), neuron.LIFNode(tau=2.0, v_threshold=0.1), layer.Linear(32, 32),
                        neuron.LIFNode(tau=2.0, v_threshold=0.1),
                        layer.Linear(32, 5))
    functional.set_step_mode(net, "m")

    class BatchFirst(nn.Module):  # NeuroBench feeds [N, T, features]; SpikingJelly runs [T, N, features]
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            out = self.net(x.transpose(0, 1)).mean(0)
            functional.reset_net(self.net)
            return out

    spikes = (torch.rand(24, 10, 20) < 0.3).float()  # binary input: every linear layer is spike-driven
    data = DataLoader(TensorDataset(spikes, torch.zeros(24, dtype=torch.long)), batch_size=8)
    ours = count_operations(net, data, len(data), torch.device("cpu"), "sequence", 10, pj_per_ac=0.9, pj_per_mac=4.6)
    theirs = Benchmark(TorchModel(BatchFirst()), data, [], [], [[], [SynapticOperations]]).run(quiet=True)
    assert ours["synops_per_sample"] > 0 and ours["macs_per_sample"] == 0
    assert ours["synops_per_sample"] == pytest.approx(theirs["SynapticOperations"]["Effective_ACs"])
    assert neurobench.__version__.startswith("2.")


@pytest.mark.slow
def test_counting_every_epoch_writes_the_counts_into_each_epochs_metrics(tmp_path):
    import json

    from conftest import results, snnbench

    runs = tmp_path / "runs"
    proc = snnbench("train", "neuron=lif", "trainer.epochs=2", "efficiency.every_epoch=true", "efficiency.batches=1",
                    runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    (record,) = results(runs)
    rows = [json.loads(line) for line in next(runs.rglob("metrics.jsonl")).read_text().splitlines()]
    assert len(rows) == 2 and all(row["synops_per_sample"] > 0 and row["counted_samples"] == 256 for row in rows)
    assert record["synops_per_sample"] == rows[-1]["synops_per_sample"]  # the same network, the same batch


@pytest.mark.slow
def test_counting_every_epoch_leaves_a_stochastic_neurons_training_unchanged(tmp_path):
    from conftest import metrics, results, snnbench

    runs = {flag: tmp_path / flag for flag in ("true", "false")}
    for flag, folder in runs.items():  # MPE-PSN draws Bernoulli spikes in evaluation, and so while counting
        proc = snnbench("train", "neuron=mpe_psn", "trainer.epochs=3", f"efficiency.every_epoch={flag}",
                        runs_dir=folder)
        assert proc.returncode == 0, proc.stderr
    first, second = (metrics(next(folder.rglob("metrics.jsonl")).parent) for folder in runs.values())
    assert first == second
    assert results(runs["true"])[0]["best_test_acc"] == results(runs["false"])[0]["best_test_acc"]

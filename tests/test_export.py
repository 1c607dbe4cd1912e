"""``snnbench export RUN --format nir``: the graph loads with ``nir.read``; an independent importer (snnTorch's)
runs it to the same spikes as snnbench; neurons NIR cannot express are refused in one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import results, snnbench
from snnbench.config import compose
from snnbench.errors import ConfigError
from snnbench.experiment import build_experiment
from snnbench.export_nir import DEFAULT_DT, nir_graph
from snnbench.neurons.registry import NEURONS

nir = pytest.importorskip("nir")


def _model(*overrides):
    cfg = compose(["dataset=digits", *overrides])
    return build_experiment(cfg, load_data=False).model.eval(), cfg


def _spikes_and_output(model, x):
    """snnbench's network on ``x`` ([T, N, ...]): each neuron layer's spikes and the output, [T, N, ...]."""
    from spikingjelly.activation_based import functional, neuron

    spikes = []
    hooks = [m.register_forward_hook(lambda m, i, o: spikes.append(o.detach()))
             for m in model.modules() if isinstance(m, neuron.BaseNode)]
    with torch.no_grad():
        functional.reset_net(model)
        out = model(x)
    for hook in hooks:
        hook.remove()
    return spikes, out


def _snntorch_spikes_and_output(graph, x):
    """The graph imported by snnTorch, run a sample at a time (its importer applies NIR's batch-free Flatten
    dimensions to the batched tensor, so batches of one) and a step at a time."""
    import snntorch
    import snntorch.utils
    from snntorch.import_nir import import_from_nir

    net = import_from_nir(graph)
    leaky = [m for m in net.modules() if isinstance(m, snntorch.Leaky)]
    spikes = [[] for _ in leaky]
    for index, module in enumerate(leaky):
        module.register_forward_hook(lambda m, i, o, index=index: spikes[index].append(o.detach()))
    T, N = x.shape[:2]
    outs = []
    with torch.no_grad():
        for n in range(N):
            snntorch.utils.reset(net)
            for t in range(T):
                out = net(x[t, n:n + 1])
                outs.append(out[0] if isinstance(out, tuple) else out)  # (output, state) from nirtorch
    per_layer = [torch.stack([o.reshape(-1) for o in s]).reshape(N, T, -1).transpose(0, 1) for s in spikes]
    return per_layer, torch.stack([o.reshape(-1) for o in outs]).reshape(N, T, -1).transpose(0, 1)


@pytest.mark.slow
def test_a_trained_lif_network_round_trips_through_nir_and_snntorch_spike_for_spike(tmp_path):
    runs = tmp_path / "runs"
    trained = snnbench("train", "dataset=digits", "neuron=lif", "neuron.v_reset=0.0", "trainer.epochs=2", runs_dir=runs)
    assert trained.returncode == 0, trained.stderr[-2000:]
    (record,) = results(runs)
    run_dir = runs / "digits" / "lif" / record["signature"] / "seed=0"
    exported = snnbench("export", str(run_dir), "--format", "nir", runs_dir=runs)
    assert exported.returncode == 0, exported.stderr
    graph = nir.read(str(run_dir / "model.nir"))
    assert {type(n).__name__ for n in graph.nodes.values()} == {"Input", "Conv2d", "LIF", "AvgPool2d", "Flatten",
                                                              "Affine", "Output"}
    from snnbench.data.bundle import to_time_major
    from snnbench.trained import load_run

    loaded = load_run(run_dir)
    data = build_experiment(loaded.config).data
    images = torch.stack([data.test[i][0] for i in range(len(data.test))])  # the whole test set, 360 images
    x = to_time_major(images, data.encoding, int(loaded.config.T))
    ours, our_out = _spikes_and_output(loaded.model, x)
    theirs, their_out = _snntorch_spikes_and_output(graph, x)
    assert len(ours) == len(theirs) == 5
    ours = [a.reshape(*a.shape[:2], -1) for a in ours]
    mismatches = sum(int((a != b).sum()) for a, b in zip(ours, theirs))
    assert sum(a.numel() for a in ours) > 7_000_000 and sum(float(a.sum()) for a in ours) > 100_000
    assert mismatches == 0
    # the outputs differ only by BatchNorm folded into the weights (float32 rounding)
    torch.testing.assert_close(their_out, our_out, rtol=1e-5, atol=1e-5)

    psn = snnbench("train", "dataset=digits", "neuron=psn", "trainer.epochs=1", runs_dir=runs)
    assert psn.returncode == 0, psn.stderr[-2000:]
    (psn_dir,) = [p.parent for p in runs.glob("digits/psn/*/seed=0/result.json")]
    refused = snnbench("export", str(psn_dir), runs_dir=runs)
    assert refused.returncode == 2 and refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1 and "NIR has no primitive for PSN" in refused.stderr
    assert not (psn_dir / "model.nir").exists()


EXPRESSIBLE = {"lif", "plif", "if"}


@pytest.mark.parametrize("name", sorted(set(NEURONS) - EXPRESSIBLE - {"sdn_lif"}))
def test_every_other_registered_neuron_is_refused_by_name(name):
    model, _ = _model(f"neuron={name}")
    with pytest.raises(ConfigError, match="NIR has no primitive for"):
        nir_graph(model, (1, 8, 8))


def test_a_soft_reset_is_refused_with_the_setting_that_exports():
    model, _ = _model("neuron=lif")  # the paper's LIF: v_reset null
    with pytest.raises(ConfigError, match="neuron.v_reset=0.0"):
        nir_graph(model, (1, 8, 8))


@pytest.mark.parametrize("overrides, tau, r", [(["neuron=lif", "neuron.tau=4.0"], 4.0, 1.0),
                                               (["neuron=lif", "neuron.decay_input=false"], 2.0, 2.0),
                                               (["neuron=plif", "neuron.init_tau=3.0"], 3.0, 1.0)])
def test_the_time_constants_follow_the_stated_discretisation(overrides, tau, r):
    model, _ = _model(*overrides, "neuron.v_reset=-0.25")
    graph = nir_graph(model, (1, 8, 8), dt=DEFAULT_DT)
    lifs = [n for n in graph.nodes.values() if isinstance(n, nir.LIF)]
    assert len(lifs) == 5
    for node in lifs:
        np.testing.assert_allclose(node.tau, tau * DEFAULT_DT, rtol=1e-6)
        np.testing.assert_allclose(node.r, r, rtol=1e-6)
        np.testing.assert_allclose(node.v_leak, -0.25)
        np.testing.assert_allclose(node.v_reset, -0.25)
        np.testing.assert_allclose(node.v_threshold, 1.0)


def test_if_is_r_one_over_dt_and_batchnorm_is_folded():
    model, _ = _model("neuron=if", "neuron.v_reset=0.0")
    for module in model.modules():  # BatchNorm with statistics that matter
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 2)
            module.bias.data.uniform_(-1, 1)
    graph = nir_graph(model, (1, 8, 8), dt=0.001)
    (first_if,) = [graph.nodes[b] for a, b in graph.edges if a == "conv0"]
    np.testing.assert_allclose(first_if.r, 1000.0)
    conv, norm = model[0][0], model[0][1]
    x = torch.randn(3, 1, 8, 8)
    node = graph.nodes["conv0"]
    folded = torch.nn.functional.conv2d(x, torch.from_numpy(node.weight), torch.from_numpy(node.bias), padding=1)
    torch.testing.assert_close(folded, norm(conv(x)), rtol=1e-5, atol=1e-5)

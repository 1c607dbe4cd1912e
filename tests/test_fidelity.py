"""Each recipe setting that once differed from the official code (docs/fidelity.md), pinned on CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from spikingjelly.activation_based import surrogate
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from snnbench.experiment import build_experiment
from snnbench.neurons.contract import neuron_layers
from snnbench.data.cifar import CIFAR
from snnbench.data.cifar10dvs import CIFAR10DVS, resize_frames
from snnbench.data.fixtures import write_cifar
from snnbench.models.replica_norm import ReplicaBatchNorm2d
from snnbench.neurons.glif import HardGatedLIF
from snnbench.train.resources import precision

REPO = Path(__file__).parents[1]


def glif(**kwargs) -> HardGatedLIF:
    return HardGatedLIF(T=3, channels=1, surrogate=surrogate.Rect(alpha=1.0), **kwargs)


def steps(*values: float) -> torch.Tensor:
    return torch.tensor(values).view(len(values), 1, 1)


def test_glif_forward_by_hand():
    # All gates are 1 at [0.6, 0.8, 0.6]: U[t] = 0.25 U[t-1] (1 - S[t-1]) + 0.5 X[t], spike when U > 0.5.
    # X = 0.8, 0.6, 1.2 -> U = 0.4, 0.1 + 0.3 = 0.4, 0.1 + 0.6 = 0.7 -> S = 0, 0, 1.
    # (Soft gates would give U[0] = 0.675 * 0.8 - 0.45 * 0.0625 = 0.512 and a spike at t = 0.)
    assert glif()(steps(0.8, 0.6, 1.2)).flatten().tolist() == [0.0, 0.0, 1.0]
    # Strict threshold: X = 1 gives U = 0.5 = V_th exactly, and no spike.
    assert glif()(steps(1.0, 0.0, 0.0)).flatten().tolist() == [0.0, 0.0, 0.0]


def test_glif_linear_decay_is_a_quarter_of_the_threshold_over_two():
    # With gate a = 0 the linear decay acts: U[0] = 0.5 * X[0] - 0.0625. X = 1.1 -> 0.4875 (no spike);
    # SpikingJelly's V_th / (2T) at T 3 (0.083) or T 32 (0.0078) would give 0.467 or 0.542.
    neuron = glif()
    with torch.no_grad():
        neuron.alpha.fill_(-1.0)  # sigmoid < 0.5: gate a = 0
    assert neuron(steps(1.1, 0.0, 0.0)).flatten().tolist() == [0.0, 0.0, 0.0]
    assert neuron(steps(1.13, 0.0, 0.0)).flatten().tolist() == [1.0, 0.0, 0.0]  # 0.565 - 0.0625 = 0.5025
    assert torch.sigmoid(neuron.linear_decay).item() == pytest.approx(0.0625)


def test_glif_gates_are_binary_with_a_straight_through_gradient():
    neuron = HardGatedLIF(T=4, channels=3, surrogate=surrogate.Rect(alpha=1.0))
    x = (torch.rand(4, 5, 3, 2) * 2).requires_grad_()
    neuron(x).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in (neuron.alpha, neuron.beta, neuron.gamma))
    soft = HardGatedLIF(T=3, channels=1, surrogate=surrogate.Rect(alpha=1.0), hard_gates=False)
    assert soft(steps(0.8, 0.6, 1.2)).flatten().tolist()[0] == 1.0  # the soft-gate value 0.512 above


def test_glif_recipe_is_the_hard_gated_neuron_and_records_its_surrogate(compose_cfg):
    cfg = compose_cfg(["experiment=psn_paper/seq_cifar10", "neuron=glif"])
    assert cfg.neuron.hard_gates is True and cfg.neuron.init_linear_decay == 0.0625
    assert cfg.surrogate._target_.endswith("Rect") and cfg.neuron.surrogate.alpha == 1.0
    layer = neuron_layers(build_experiment(cfg, load_data=False).model)[0]
    assert isinstance(layer, HardGatedLIF) and isinstance(layer.surrogate, surrogate.Rect)
    # An override is honoured and recorded truthfully: the config that is written is the one that runs.
    cfg = compose_cfg(["neuron=glif", "surrogate=sigmoid"])
    assert cfg.surrogate._target_.endswith("Sigmoid") and cfg.neuron.surrogate._target_.endswith("Sigmoid")
    assert isinstance(neuron_layers(build_experiment(cfg, load_data=False).model)[0].surrogate, surrogate.Sigmoid)
    assert compose_cfg(["neuron=glif_soft"]).neuron.name == "glif_soft"


def test_dvs_resize_point_samples_without_antialias():
    frames = np.zeros((1, 2, 128, 128), dtype=np.float32)
    frames[0, 0, 70, 41] = 1.0  # a single event
    sharp = resize_frames(frames, 48, antialias=False)
    smooth = resize_frames(frames, 48, antialias=True)
    assert np.count_nonzero(sharp) == 1 and sharp.max() > 0.6  # survives as a point
    assert np.count_nonzero(smooth) == 4 and smooth.max() < 0.2  # spread over its neighbours
    # The official transforms.Resize((48, 48)) on a tensor, as torchvision <= 0.15 ran it (no antialias).
    expected = TF.resize(torch.from_numpy(frames), [48, 48], antialias=False).numpy().astype(np.float16)
    assert np.array_equal(sharp, expected)


def test_dvs_caches_of_the_two_resize_settings_are_two_folders(tmp_path):
    sharp = CIFAR10DVS(T=4, root=str(tmp_path), antialias=False)._cache("train", [])
    smooth = CIFAR10DVS(T=4, root=str(tmp_path), antialias=True)._cache("train", [])
    assert sharp.folder != smooth.folder and sharp.key != smooth.key


def test_dvs_recipe_settings(compose_cfg):
    cfg = compose_cfg(["experiment=psn_paper/cifar10dvs"])
    assert cfg.dataset.build.antialias is False and cfg.trainer.drop_last is False
    assert cfg.model.dropout_mask == "per_step" and cfg.model.bn_replicas == 2 and cfg.trainer.eval_amp is False
    model = build_experiment(cfg, load_data=False).model
    assert any(isinstance(m, ReplicaBatchNorm2d) and m.replicas == 2 for m in model.modules())


def _dropout_of(compose_cfg, mask: str) -> nn.Module:
    cfg = compose_cfg(["experiment=psn_paper/cifar10dvs", "T=4", f"model.dropout_mask={mask}",
                       "model.layers=[8,M,8,M,8,M,8,M]"])
    model = build_experiment(cfg, load_data=False).model
    flatten = next(i for i, m in enumerate(model) if type(m).__name__ == "Flatten")
    return model[flatten + 1]


def test_dvs_dropout_draws_a_new_mask_at_every_step(compose_cfg):
    torch.manual_seed(0)
    x = torch.ones(4, 3, 200)
    per_step = _dropout_of(compose_cfg, "per_step").train()
    out = per_step(x)
    assert not torch.equal(out[0] == 0, out[1] == 0)
    assert out.unique().tolist() == pytest.approx([0.0, 1 / 0.75])
    assert torch.equal(per_step.eval()(x), x)
    shared = _dropout_of(compose_cfg, "shared").train()
    out = shared(x)
    assert all(torch.equal(out[0], out[t]) for t in range(4))
    assert torch.equal(shared.eval()(x), x)


def test_replica_batchnorm_normalises_each_half_and_keeps_the_first_halfs_statistics():
    torch.manual_seed(0)
    x = torch.randn(3, 32, 4, 5, 5) * 3 + 1
    grouped, plain = ReplicaBatchNorm2d(4, replicas=2), nn.BatchNorm2d(4)
    out = grouped.train()(x)
    for half in (slice(0, 16), slice(16, 32)):
        reference = nn.BatchNorm2d(4).train()(x[:, half].flatten(0, 1)).view(3, 16, 4, 5, 5)
        torch.testing.assert_close(out[:, half], reference)
    plain.train()(x[:, :16].flatten(0, 1))  # DataParallel keeps device 0's running statistics
    torch.testing.assert_close(grouped.running_mean, plain.running_mean)
    torch.testing.assert_close(grouped.running_var, plain.running_var)
    torch.testing.assert_close(grouped.eval()(x), plain.eval()(x.flatten(0, 1)).view(x.shape))
    torch.testing.assert_close(ReplicaBatchNorm2d(4, replicas=1).train()(x),
                               nn.BatchNorm2d(4).train()(x.flatten(0, 1)).view(x.shape))


@pytest.mark.parametrize("dataset", ["seq_cifar10", "cifar100"])
def test_trivial_augment_interpolates_bilinearly(tmp_path, compose_cfg, dataset):
    write_cifar(tmp_path, "cifar100" if dataset.endswith("100") else "cifar10", n_train=10, n_test=5)
    cfg = compose_cfg([f"dataset={dataset}", f"data_root={tmp_path}", "dataset.build.verify_md5=false"])
    source = CIFAR(T=cfg.T, **{k: v for k, v in cfg.dataset.build.items() if k != "_target_"})
    transforms = source.load().train.transform.transforms
    augment = next(t for t in transforms if isinstance(t, v2.TrivialAugmentWide))
    assert augment.interpolation == v2.InterpolationMode.BILINEAR


@pytest.mark.parametrize("recipe", ["seq_cifar10", "seq_cifar100", "order_k", "cifar10", "cifar10dvs"])
def test_paper_recipes_evaluate_in_fp32(compose_cfg, recipe):
    cfg = compose_cfg([f"experiment=psn_paper/{recipe}"])
    train_amp, eval_amp = precision(torch.device("cuda"), cfg.trainer)
    assert train_amp == (recipe != "cifar10dvs") and eval_amp is False
    assert precision(torch.device("cuda"), compose_cfg([]).trainer) == (True, True)  # the default: AMP for both
    assert precision(torch.device("cpu"), compose_cfg([]).trainer) == (False, False)


@pytest.mark.slow
def test_order_k_sweep_lists_every_k_for_both_neurons():
    script = REPO / "scripts" / "sweep_order_k.py"
    out = subprocess.run([sys.executable, str(script), "--dry-run"], capture_output=True, text=True, check=True).stdout
    assert "64 runs" in out and "neuron.k=" + ",".join(map(str, range(1, 33))) in out
    out = subprocess.run([sys.executable, str(script), "--dry-run", "seed=0,1,2"], capture_output=True, text=True,
                         check=True).stdout
    assert "192 runs" in out and out.count("seed=") == 1

"""The shipped configs compose, and every neuron goes into every dataset's template."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from snnbench.experiment import build_experiment
from snnbench.data import to_time_major
from snnbench.errors import ConfigError

CONFIGS = Path(__file__).parents[1] / "configs"
NEURONS = sorted(p.stem for p in (CONFIGS / "neuron").glob("*.yaml"))
DATASETS = {"digits": (4, (1, 8, 8)), "seq_digits": (8, (1, 8)), "pixel_digits": (64, (1,))}


def test_defaults_are_the_quick_start(compose_cfg):
    cfg = compose_cfg()
    assert (cfg.neuron.name, cfg.dataset.name, cfg.T) == ("psn", "seq_digits", 8)
    assert cfg.data_root == os.environ.get("SNNBENCH_DATA", "./data")
    assert cfg.runs_dir == os.environ.get("SNNBENCH_RUNS", "./runs")


TEMPLATES = sorted(p.stem for p in (CONFIGS / "model").glob("*.yaml"))
#: a digits view whose step shape each template takes, and settings that shrink the paper's networks
TEMPLATE_DATA = {"conv_net": "digits", "cifar_net": "digits", "dvs_vgg": "digits", "seq_conv_net": "seq_digits",
                 "seq_cifar_net": "seq_digits", "mlp_net": "pixel_digits", "shd_net": "pixel_digits",
                 "prf_net": "pixel_digits"}
SMALL = {"cifar_net": ["model.channels=4", "model.hidden=8"], "seq_cifar_net": ["model.channels=4", "model.hidden=8"],
         "dvs_vgg": ["model.layers=[4,M,4,M]"]}


def test_every_template_has_a_dataset_here():
    assert set(TEMPLATES) == set(TEMPLATE_DATA)


PAIRS = sorted({(n, "seq_conv_net") for n in NEURONS} | {("psn", t) for t in TEMPLATES})


@pytest.mark.parametrize("neuron,template", PAIRS)
def test_every_neuron_in_one_template_and_every_template_with_one_neuron(compose_cfg, neuron, template):
    check_forward_backward(compose_cfg, neuron, template)


@pytest.mark.slow
@pytest.mark.parametrize("neuron,template", sorted({(n, t) for n in NEURONS for t in TEMPLATES} - set(PAIRS)))
def test_every_neuron_in_every_template(compose_cfg, neuron, template):
    check_forward_backward(compose_cfg, neuron, template)


def check_forward_backward(compose_cfg, neuron: str, template: str) -> None:
    torch.manual_seed(0)
    dataset = TEMPLATE_DATA[template]
    cfg = compose_cfg([f"neuron={neuron}", f"dataset={dataset}", f"model={template}", *SMALL.get(template, [])])
    experiment = build_experiment(cfg)
    T, step_shape = DATASETS[dataset]
    assert (experiment.data.T, experiment.data.step_shape) == (T, step_shape)
    x, y = next(iter(torch.utils.data.DataLoader(experiment.data.train, batch_size=4)))
    out = experiment.model(to_time_major(x, experiment.data.encoding, T))
    assert out.shape == (T, 4, 10)
    loss = instantiate(cfg.loss)(out, y)
    loss.backward()
    assert torch.isfinite(loss)


def test_data_shapes_and_split(compose_cfg):
    data = build_experiment(compose_cfg(["dataset=seq_digits"])).data
    assert len(data.train) + len(data.test) == 1797
    x, y = data.train[0]
    assert x.shape == (8, 1, 8) and 0 <= y < 10
    test_labels = torch.stack([y for _, y in data.test])
    assert torch.bincount(test_labels).min() >= 35  # stratified: every class is in the test set


def test_static_images_repeat_over_T(compose_cfg):
    data = build_experiment(compose_cfg(["dataset=digits", "T=3"])).data
    x = torch.stack([data.train[i][0] for i in range(2)])
    seq = to_time_major(x, data.encoding, data.T)
    assert seq.shape == (3, 2, 1, 8, 8) and torch.equal(seq[0], seq[2])


@pytest.mark.parametrize("overrides,message", [
    (["dataset=seq_digits", "T=4"], "exactly 8 time steps"),
    (["neuron=psn", "neuron.T=4"], "neuron.T=4 differs from the data's T=8"),
    (["neuron=masked_psn", "neuron.k=16"], "k=16 exceeds T=8"),
])
def test_impossible_settings_fail_before_training(compose_cfg, overrides, message):
    with pytest.raises(ConfigError, match=message):
        build_experiment(compose_cfg(overrides))

"""The neuron zoo: every neuron spikes, passes gradients, and refuses impossible settings."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml
from spikingjelly.activation_based import functional, neuron as sj_neuron, surrogate

from snnbench.errors import ConfigError
from snnbench.neurons import NEURONS, NeuronFactory
from snnbench.neurons.contract import start_epoch
from snnbench.neurons.psn import masked_psn_lambda
from snnbench.neurons.glif import HardGatedLIF

ALL = sorted(NEURONS)
CONFIGS = Path(__file__).parents[1] / "configs" / "neuron"
PAPERS = {"if", "lif", "plif", "klif", "glif", "clif", "lif_noreset", "psn", "masked_psn", "sliding_psn"}


def test_every_registered_neuron_has_its_config_and_the_papers_are_there():
    configs = {path.stem for path in CONFIGS.glob("*.yaml")}
    assert configs == set(NEURONS) and PAPERS <= configs
    for path in CONFIGS.glob("*.yaml"):
        node = yaml.safe_load(path.read_text())
        assert node.get("neuron", node)["name"] == path.stem


INPUT_GAIN = {"prf": 30.0, "prf_train": 30.0}  # PRF scales its input by its step size dt in [0.001, 0.1] (the official init)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("shape", [(8, 5, 6), (8, 3, 4, 5), (8, 2, 3, 4, 4)], ids=["fc", "conv1d", "conv2d"])
def test_neuron_spikes_and_passes_gradient(name, shape):
    torch.manual_seed(0)
    layer = NeuronFactory(name=name, T=8, surrogate=surrogate.ATan(alpha=2.0))(channels=shape[2])
    gain = INPUT_GAIN.get(name, 1.0)
    x = ((torch.randn(shape) * 2 + 0.5) * gain).requires_grad_()
    spikes = layer(x)
    assert spikes.shape == x.shape
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert 0 < spikes.mean().item() < 1
    spikes.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    functional.reset_net(layer)


def test_lif_noreset_follows_its_formula():
    tau, x = 2.0, torch.tensor([[0.8], [0.8], [0.8], [0.0], [3.0]])
    spikes = NeuronFactory(name="lif_noreset", T=5, surrogate=surrogate.ATan())(1)(x)
    h, expected = 0.0, []
    for x_t in x[:, 0].tolist():
        h = (1 - 1 / tau) * h + x_t / tau  # no reset: h keeps integrating after a spike
        expected.append(float(h >= 1.0))
    assert spikes[:, 0].tolist() == expected == [0.0, 0.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("name", ["glif", "glif_soft"])
def test_glif_starts_from_the_papers_gates(name):
    glif = NeuronFactory(name=name, T=4, surrogate=surrogate.Rect())(channels=3)
    glif = glif.node if name == "glif_soft" else glif
    assert isinstance(glif, sj_neuron.GatedLIFNode if name == "glif_soft" else HardGatedLIF)
    for param, gate in zip((glif.alpha, glif.beta, glif.gamma), (0.6, 0.8, 0.6)):
        assert torch.allclose(param.sigmoid(), torch.full((3,), (gate - 0.5) * 0.5 + 0.5))


def test_masked_psn_schedule_is_the_papers():
    epochs = 17
    values = [masked_psn_lambda(e, epochs, ramp=8.0) for e in range(epochs)]
    assert values[0] == 0.0 and values[1] == 0.5 and values[2] == 1.0 and values[-1] == 1.0
    assert masked_psn_lambda(0, 1, ramp=8.0) == 1.0


def test_factory_sets_masked_psn_lambda_each_epoch():
    factory = NeuronFactory(name="masked_psn", T=8, surrogate=surrogate.ATan(), k=2, lambda_ramp=8.0)
    model = torch.nn.Sequential(factory(4), factory(4))
    start_epoch(model, epoch=1, epochs=33)
    assert all(math.isclose(m.lambda_.item(), 0.25) for m in model)


@pytest.mark.parametrize("name,params,message", [
    ("masked_psn", {"k": 0}, "k=0 is impossible"),
    ("sliding_psn", {"k": 0}, "k=0 is impossible"),
    ("masked_psn", {"k": 9}, "exceeds T=8"),
    ("lif", {"taux": 2.0}, "does not take"),
])
def test_impossible_settings_fail_at_construction(name, params, message):
    with pytest.raises(ConfigError, match=message):
        NeuronFactory(name=name, T=8, surrogate=surrogate.ATan(), **params)


def test_unknown_neuron_lists_the_choices():
    with pytest.raises(ConfigError, match="choose one of: clif, cpsn, fpt_lif, glif, glif_soft, if, ipsu, klif, lif"):
        NeuronFactory(name="nope", T=8, surrogate=surrogate.ATan())


@pytest.mark.parametrize("name", ALL)
def test_the_yaml_gives_exactly_its_builders_settings_with_the_builders_defaults(compose_cfg, name):
    from omegaconf import OmegaConf

    from snnbench.neurons.factory import settings_of

    node = OmegaConf.to_container(compose_cfg([f"neuron={name}"]).neuron, resolve=False)
    given = {k: v for k, v in node.items() if k not in ("_target_", "name", "T", "surrogate", "builder")}
    defaults = settings_of(NEURONS[name])
    assert set(given) == set(defaults), f"{name}: YAML {sorted(given)} vs builder {sorted(defaults)}"
    for key, default in defaults.items():
        if isinstance(given[key], str) and given[key].startswith("${"):
            continue  # wired to a top-level key (sdn_lif's root: ${data_root}), not a default of its own
        expected = list(default) if isinstance(default, tuple) else default
        assert given[key] == expected, f"{name}: {key} is {given[key]!r} in its YAML, {expected!r} in its builder"


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_parameters_carrying_their_own_optimiser_settings_get_their_own_group(name):
    from snnbench.optim import build_optimizer, describe_groups

    net = torch.nn.Linear(3, 2)
    dynamics = torch.nn.Parameter(torch.zeros(4))
    dynamics._optim = {"lr": 1e-3, "weight_decay": 0.0}
    optimizer = build_optimizer([*net.parameters(), dynamics], name, lr=0.1, weight_decay=0.05,
                                momentum=0.9 if name == "sgd" else None)
    assert describe_groups(optimizer) == [{"parameters": 8, "lr": 0.1, "weight_decay": 0.05},
                                          {"parameters": 4, "lr": 1e-3, "weight_decay": 0.0}]
    bad = torch.nn.Parameter(torch.zeros(1))
    bad._optim = {"betas": (0.9, 0.99)}
    with pytest.raises(ConfigError, match="may set lr, weight_decay"):
        build_optimizer([bad], name, lr=0.1, momentum=0.9 if name == "sgd" else None)


def test_lif_without_input_decay_is_the_clif_papers_lif():
    layer = NeuronFactory(name="lif", T=3, surrogate=surrogate.Rect(alpha=1.0), decay_input=False,
                          detach_reset=False)(1)
    x = torch.tensor([0.6, 0.6, 0.6]).view(3, 1, 1)
    # H = V (1 - 1/2) + X: 0.6; 0.3 + 0.6 = 0.9; 0.45 + 0.6 = 1.05 -> a spike at the third step only
    assert layer(x).flatten().tolist() == [0.0, 0.0, 1.0]

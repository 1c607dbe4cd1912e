#!/usr/bin/env python
"""Side by side with the authors' code: the same parameters in snnbench's neuron and in the official one, the same
input, then the spikes and the gradients compared.

    python scripts/compare_official.py psu --official /path/to/Brain-Cog-Lab/PSU

``--official`` is a local checkout of the official repository (this script reads it; it downloads nothing, and CI
does not run it). One line per case: ``<neuron> <case> spike_mismatches=<n> grad_max_rel=<x>``, where
``grad_max_rel`` is the largest difference over every input and parameter gradient, relative to the largest
magnitude of that gradient. Exit 1 when a case has a spike mismatch or a relative gradient difference above 1e-5.

Neurons and what each needs from its checkout:

- ``psu``, ``ipsu``, ``rpsu``: Brain-Cog-Lab/PSU, ``braincog/base/node/node.py`` and
  ``braincog/base/strategy/surrogate.py`` (loaded by path; ``einops`` must be installed). The package's
  ``__init__`` files, which import the whole of BrainCog, are not run.
- ``pmsn``: xychen-comp/PMSN, ``seqcifar32/PMSN.py`` (``PMSN_neuron`` with ``reset=True``, ``coeff`` 0.2, as its
  ``run.sh``; needs ``einops``).
- ``mpe_psn``: Chrazqee/MPE-PSN, ``cifar10dvs/models.py`` (``MPE_PSN``); its import of SpikingJelly's old
  ``clock_driven`` API (unused by ``MPE_PSN``) is satisfied with SpikingJelly 2.0's ``activation_based``. The
  Bernoulli draws of both come from the same random stream (seeded before each call).
- ``prf``: HuuYuLong/prf, ``neuron.py`` (``ParallelResonateFire``, its parallel step). It subclasses an older
  SpikingJelly's ``LIFNode`` (nine positional settings) only to keep ``tau``, ``v_threshold`` and the surrogate;
  a stand-in base class with that signature keeps them here.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import types
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from snnbench.neurons.mpe_psn import MembraneEstimatePSN
from snnbench.neurons.pmsn import ParallelMultiCompartment
from snnbench.neurons.prf import ParallelResonateFire
from snnbench.neurons.psu import ParallelSpikingUnit

T, N, C = 16, 8, 32
TOLERANCE = 1e-5


def load_by_path(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def braincog_node(checkout: Path) -> types.ModuleType:
    """BrainCog's ``node.py`` with its two BrainCog imports satisfied: the real ``surrogate.py``, and a stand-in
    ``CustomLinear`` (used by neurons we do not compare)."""
    for package in ("braincog", "braincog.base", "braincog.base.strategy", "braincog.base.connection"):
        sys.modules.setdefault(package, types.ModuleType(package))
    layer = types.ModuleType("braincog.base.connection.layer")
    layer.CustomLinear = nn.Linear
    sys.modules["braincog.base.connection.layer"] = layer
    load_by_path("braincog.base.strategy.surrogate", checkout / "braincog/base/strategy/surrogate.py")
    return load_by_path("braincog.base.node.node", checkout / "braincog/base/node/node.py")


def psu_pair(variant: str, checkout: Path) -> tuple[nn.Module, Callable, nn.Module, Callable]:
    """(ours, ours on [T, N, C], official, official on [T, N, C]) with the official parameters copied into ours."""
    node = braincog_node(checkout)
    official = getattr(node, variant.upper())(threshold=0.5, tau=2.0, step=T, layer_by_layer=True)
    ours = ParallelSpikingUnit(T, variant, tau=2.0, v_threshold=0.5)
    with torch.no_grad():
        official.act_fun.alpha.fill_(1.7)  # away from the default, so that copying is what makes them equal
        ours.alpha.copy_(official.act_fun.alpha)
        if variant != "psu":
            official.fc.bias.uniform_(-0.3, 0.3)
            ours.weight.copy_(official.fc.weight)
            ours.bias.copy_(official.fc.bias)
    for name in ("m1", "m2"):
        assert torch.equal(getattr(ours, name), getattr(official, name)), f"{variant}: {name} differs"

    def run_official(x: torch.Tensor) -> torch.Tensor:  # BrainCog's layer_by_layer layout: [(T B), C]
        official.n_reset()
        return official(x.flatten(0, 1)).view(x.shape)

    return ours, ours, official, run_official


def pmsn_pair(variant: str, checkout: Path) -> tuple[nn.Module, Callable, nn.Module, Callable]:
    official_module = load_by_path("pmsn_official", checkout / "seqcifar32" / "PMSN.py")
    official = official_module.PMSN_neuron(C, d_state=4, T=T, reset=True, coeff=0.2, lr=1e-3)
    ours = ParallelMultiCompartment(C, d_state=4, coeff=0.2)
    ours.load_state_dict(official.state_dict())  # the same names: D, kernel.log_dt, kernel.log_A_real, ...

    def run_official(x: torch.Tensor) -> torch.Tensor:  # PMSN's layout: [(T B), C, L]
        return official(x.flatten(0, 1)).view(x.shape)

    return ours, ours, official, run_official


def mpe_psn_pair(variant: str, checkout: Path) -> tuple[nn.Module, Callable, nn.Module, Callable]:
    from spikingjelly.activation_based import surrogate

    sys.modules.setdefault("spikingjelly.clock_driven", types.ModuleType("spikingjelly.clock_driven"))
    sys.modules["spikingjelly.clock_driven"].surrogate = surrogate
    official = load_by_path("mpe_official", checkout / "cifar10dvs" / "models.py").MPE_PSN(T=T)
    ours = MembraneEstimatePSN(T)
    with torch.no_grad():
        official.threshold.fill_(0.8)
        ours.threshold.copy_(official.threshold)
        ours.coef.copy_(official.coef.flatten())

    def run_ours(x: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(7)
        return ours(x)

    def run_official(x: torch.Tensor) -> torch.Tensor:  # MPE-PSN's layout: [N, T, C, H, W]
        torch.manual_seed(7)
        return official(x.transpose(0, 1).unsqueeze(-1).unsqueeze(-1)).squeeze(-1).squeeze(-1).transpose(0, 1)

    return ours, run_ours, official, run_official


def prf_pair(variant: str, checkout: Path) -> tuple[nn.Module, Callable, nn.Module, Callable]:
    from spikingjelly.activation_based import surrogate

    from spikingjelly.activation_based import neuron as sj_neuron

    class OlderLIFNode(nn.Module):  # the settings the official class reads from its base, nothing else
        def __init__(self, tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode,  # noqa: ANN001
                     backend, store_v_seq):  # noqa: ANN001
            super().__init__()
            self.tau, self.v_threshold, self.surrogate_function = tau, v_threshold, surrogate_function

    real_lif = sj_neuron.LIFNode
    sj_neuron.LIFNode = OlderLIFNode
    try:
        official = load_by_path("prf_official", checkout / "neuron.py").ParallelResonateFire(C)
    finally:
        sj_neuron.LIFNode = real_lif
    ours = ParallelResonateFire(C, surrogate.ATan())
    ours.load_state_dict(official.state_dict(), strict=False)  # log_dt, theta_log (LIFNode keeps no other state)
    assert torch.equal(ours.log_dt, official.log_dt) and torch.equal(ours.theta_log, official.theta_log)
    return ours, ours, official, official


def compare(name: str, case: str, ours: nn.Module, run_ours: Callable, official: nn.Module,
            run_official: Callable, x: torch.Tensor) -> bool:
    ours.train(case == "train")
    official.train(case == "train")
    grad_out = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    outputs, gradients = [], []
    for module, run in ((ours, run_ours), (official, run_official)):
        x_in = x.clone().requires_grad_()
        params = [p for p in module.parameters() if p.requires_grad]
        out = run(x_in)
        grads = torch.autograd.grad((out * grad_out).sum(), [x_in, *params], allow_unused=True)
        outputs.append(out.detach())
        gradients.append([g if g is not None else torch.zeros_like(p) for g, p in zip(grads, [x_in, *params])])
    mismatches = int((outputs[0] != outputs[1]).sum())
    assert [g.numel() for g in gradients[0]] == [g.numel() for g in gradients[1]], "parameters in another order"
    rel = 0.0
    for g_ours, g_official in zip(*gradients):  # the input's, then each parameter's, in registration order
        g_ours, g_official = g_ours.flatten(), g_official.flatten()
        scale = g_official.abs().max().clamp(min=1e-12)
        rel = max(rel, ((g_ours - g_official).abs().max() / scale).item())
    fires = outputs[1].mean().item()
    print(f"{name} {case} spike_mismatches={mismatches} grad_max_rel={rel:.3g} (firing rate {fires:.3f}, "
          f"{outputs[1].numel()} outputs)")
    return mismatches == 0 and rel <= TOLERANCE


def mpe_membrane_loss(ours: nn.Module, run_ours: Callable, official: nn.Module, run_official: Callable,
                      x: torch.Tensor) -> bool:
    """MPE-PSN's membrane loss, ours (scaled back by (1 - lambda) / lambda) against the official ``mem_loss``."""
    ours.train()
    official.train()
    run_ours(x)
    run_official(x)
    mine = ours.aux_loss() * (1 - ours.aux_weight) / ours.aux_weight
    rel = ((mine - official.mem_loss).abs() / official.mem_loss.abs()).item()
    print(f"mpe_psn membrane_loss ours={mine.item():.6g} official={official.mem_loss.item():.6g} rel_diff={rel:.3g}")
    return rel <= TOLERANCE


EXTRA = {"mpe_psn": mpe_membrane_loss}
PAIRS = {"psu": psu_pair, "ipsu": psu_pair, "rpsu": psu_pair, "pmsn": pmsn_pair, "mpe_psn": mpe_psn_pair,
         "prf": prf_pair}
#: an input per neuron that makes some spikes and not all: [T, N, C] for most, [T, N, C, L] where a neuron has L
INPUTS = {"pmsn": lambda g: torch.rand(T, N, C, 4, generator=g) * 8.0 - 2.0,
          "prf": lambda g: torch.rand(T, N, C, generator=g) * 60.0}  # PRF scales its input by dt in [0.001, 0.1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("neuron", choices=sorted(PAIRS))
    parser.add_argument("--official", type=Path, required=True, help="a local checkout of the official repository")
    args = parser.parse_args()
    torch.manual_seed(0)
    ours, run_ours, official, run_official = PAIRS[args.neuron](args.neuron, args.official)
    generator = torch.Generator().manual_seed(2)
    x = INPUTS[args.neuron](generator) if args.neuron in INPUTS else torch.rand(T, N, C, generator=generator) * 2 - 0.3
    ok = all([compare(args.neuron, case, ours, run_ours, official, run_official, x) for case in ("train", "eval")])
    if args.neuron in EXTRA:
        ok = EXTRA[args.neuron](ours, run_ours, official, run_official, x) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

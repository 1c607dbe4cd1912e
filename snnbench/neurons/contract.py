"""The neuron contract as the training loop sees it, found on the modules themselves by walking
``model.modules()``: which modules are spiking-neuron layers, and their optional hooks.

- a layer built by :class:`~snnbench.neurons.factory.NeuronFactory` carries :data:`NEURON_MARK` (its firing rate
  is measured);
- a module with ``start_epoch(epoch, epochs)`` has it called at the start of every epoch (the masked PSN's
  lambda schedule);
- a module with ``aux_loss() -> Tensor | None`` has its value added to the training loss after every training
  forward (MPE-PSN's membrane loss);
- a module with ``provenance() -> dict[str, str]`` names what it was built from beyond the config (the SDN
  neuron's weights file and hash); every run records it.
"""

from __future__ import annotations

import torch
import torch.nn as nn

NEURON_MARK = "snnbench_neuron"


def mark_neuron(module: nn.Module) -> nn.Module:
    setattr(module, NEURON_MARK, True)
    return module


def neuron_layers(model: nn.Module) -> list[nn.Module]:
    """The spiking-neuron layers of ``model``, in the order of ``model.modules()``."""
    return [m for m in model.modules() if getattr(m, NEURON_MARK, False)]


def start_epoch(model: nn.Module, epoch: int, epochs: int) -> None:
    """Call ``start_epoch(epoch, epochs)`` on every module of ``model`` that defines it."""
    for module in model.modules():
        hook = getattr(module, "start_epoch", None)
        if callable(hook):
            hook(epoch, epochs)


def aux_loss(model: nn.Module) -> torch.Tensor | float:
    """The sum of ``aux_loss()`` over the modules of ``model`` that define it (0.0 when none has one now)."""
    total: torch.Tensor | float = 0.0
    for module in model.modules():
        hook = getattr(module, "aux_loss", None)
        loss = hook() if callable(hook) else None
        if loss is not None:
            total = total + loss
    return total


def provenance(model: nn.Module) -> dict[str, str]:
    """The union of ``provenance()`` over the modules of ``model`` that define it (empty when none does)."""
    found: dict[str, str] = {}
    for module in model.modules():
        hook = getattr(module, "provenance", None)
        if callable(hook):
            found.update(hook())
    return found

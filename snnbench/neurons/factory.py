"""Neuron registry and the factory that network templates call for every spiking layer.

The builder contract (the same for snnbench's neurons and yours)::

    def builder(T: int, channels: int, surrogate: nn.Module, **params) -> nn.Module

returns a multi-step module mapping ``[T, N, channels, ...]`` to spikes of the same shape; ``params`` are the
other keys of the neuron's YAML. A builder that also takes ``layer_index`` gets the layer's 0-based position
among the network's neuron layers (CPSN's per-layer dilation). A module that defines
``start_epoch(epoch: int, epochs: int)`` has it called at the start of every epoch (the masked PSN's lambda
schedule does); one that defines ``aux_loss() -> Tensor | None`` has it added to the training loss after every
training forward (MPE-PSN's membrane loss). A builder is found by ``builder:`` in the YAML
(a dotted path, ``my_module.my_neuron``: no registration needed) or, for snnbench's own, by ``name`` in the
registry below.
"""

from __future__ import annotations

import inspect
from typing import Callable

import torch
import torch.nn as nn

from snnbench.errors import ConfigError

NeuronBuilder = Callable[..., nn.Module]
NEURONS: dict[str, NeuronBuilder] = {}


def register(name: str) -> Callable[[NeuronBuilder], NeuronBuilder]:
    """Register ``builder(T, channels, surrogate, **params) -> nn.Module`` under ``name``."""

    def decorate(builder: NeuronBuilder) -> NeuronBuilder:
        NEURONS[name] = builder
        return builder

    return decorate


def _builder_from_path(path: str) -> NeuronBuilder:
    from hydra.utils import get_object

    try:
        builder = get_object(path)
    except Exception as err:  # noqa: BLE001  (ImportError, AttributeError, ... : all mean "not found")
        raise ConfigError(f"neuron builder '{path}' cannot be imported ({type(err).__name__}: {err}); put its module "
                          f"on the Python path (a --config-dir folder is) or fix the dotted path") from None
    if not callable(builder):
        raise ConfigError(f"neuron builder '{path}' is not callable")
    return builder


class NeuronFactory:
    """Builds multi-step neurons of one kind: ``factory(channels) -> nn.Module`` on ``[T, N, C, ...]``.

    ``params`` go to the registered builder; they are checked when the factory is made,
    so an impossible setting fails at start-up, before anything trains.
    """

    def __init__(
        self,
        name: str,
        T: int,
        surrogate: nn.Module,
        builder: str | None = None,
        **params: object,
    ) -> None:
        if builder is None and name not in NEURONS:
            raise ConfigError(f"unknown neuron '{name}'; choose one of: {', '.join(sorted(NEURONS))}, or name your "
                              f"own builder in its YAML (builder: my_module.my_neuron)")
        self.name = name
        self.T = int(T)
        self.surrogate = surrogate
        self.params = dict(params)
        self.layers: list[nn.Module] = []  # every neuron layer this factory built, in order
        self.builder = _builder_from_path(builder) if builder is not None else NEURONS[name]
        builder = self.builder
        self.takes_index = "layer_index" in inspect.signature(builder).parameters
        fixed = ("T", "channels", "surrogate", "layer_index")
        try:
            inspect.signature(builder).bind(T=self.T, channels=1, surrogate=surrogate, **self._index(0), **self.params)
        except TypeError as err:
            allowed = [p for p in inspect.signature(builder).parameters if p not in fixed]
            raise ConfigError(
                f"neuron '{name}' does not take {sorted(self.params)}: {err}; its settings are {allowed}"
            ) from None
        builder(T=self.T, channels=1, surrogate=surrogate, **self._index(0), **self.params)  # impossible settings

    def _index(self, index: int) -> dict[str, int]:
        return {"layer_index": index} if self.takes_index else {}

    def __call__(self, channels: int) -> nn.Module:
        layer = self.builder(T=self.T, channels=channels, surrogate=self.surrogate, **self._index(len(self.layers)),
                             **self.params)
        self.layers.append(layer)
        return layer

    def aux_loss(self) -> torch.Tensor | float:
        """The sum of ``aux_loss()`` over the layers that define it (0.0 when none does or none has one now)."""
        total: torch.Tensor | float = 0.0
        for layer in self.layers:
            hook = getattr(layer, "aux_loss", None)
            loss = hook() if callable(hook) else None
            if loss is not None:
                total = total + loss
        return total

    def start_epoch(self, epoch: int, epochs: int) -> None:
        """Call ``start_epoch(epoch, epochs)`` on every neuron layer that defines it (per-epoch schedules)."""
        for layer in self.layers:
            hook = getattr(layer, "start_epoch", None)
            if callable(hook):
                hook(epoch, epochs)

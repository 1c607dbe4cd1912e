"""Neuron registry and the factory that network templates call for every spiking layer."""

from __future__ import annotations

import inspect
from typing import Callable

import torch.nn as nn
from spikingjelly.activation_based import neuron as sj_neuron

from snnbench.errors import ConfigError

NeuronBuilder = Callable[..., nn.Module]
NEURONS: dict[str, NeuronBuilder] = {}


def register(name: str) -> Callable[[NeuronBuilder], NeuronBuilder]:
    """Register ``builder(T, channels, surrogate, **params) -> nn.Module`` under ``name``."""

    def decorate(builder: NeuronBuilder) -> NeuronBuilder:
        NEURONS[name] = builder
        return builder

    return decorate


def masked_psn_lambda(epoch: int, epochs: int, ramp: float) -> float:
    """The PSN paper's mask schedule: lambda = min(ramp * epoch / (epochs - 1), 1).

    Dense (lambda 0) at epoch 0, fully masked from epoch (epochs - 1) / ramp on.
    A one-epoch run trains fully masked, the state every longer run ends in.
    """
    if epochs <= 1:
        return 1.0
    return min(ramp * epoch / (epochs - 1), 1.0)


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
        lambda_ramp: float | None = None,
        **params: object,
    ) -> None:
        if name not in NEURONS:
            raise ConfigError(f"unknown neuron '{name}'; choose one of: {', '.join(sorted(NEURONS))}")
        self.name = name
        self.T = int(T)
        self.surrogate = surrogate
        self.lambda_ramp = lambda_ramp
        self.params = dict(params)
        self.layers: list[nn.Module] = []  # every neuron layer this factory built, in order
        builder = NEURONS[name]
        try:
            inspect.signature(builder).bind(T=self.T, channels=1, surrogate=surrogate, **self.params)
        except TypeError as err:
            allowed = [p for p in inspect.signature(builder).parameters if p not in ("T", "channels", "surrogate")]
            raise ConfigError(
                f"neuron '{name}' does not take {sorted(self.params)}: {err}; its settings are {allowed}"
            ) from None
        builder(T=self.T, channels=1, surrogate=surrogate, **self.params)  # surface impossible settings now

    def __call__(self, channels: int) -> nn.Module:
        layer = NEURONS[self.name](T=self.T, channels=channels, surrogate=self.surrogate, **self.params)
        self.layers.append(layer)
        return layer

    def start_epoch(self, model: nn.Module, epoch: int, epochs: int) -> None:
        """Apply per-epoch neuron schedules (the masked PSN's lambda) to every neuron in ``model``."""
        if self.lambda_ramp is None:
            return
        value = masked_psn_lambda(epoch, epochs, self.lambda_ramp)
        for module in model.modules():
            if isinstance(module, sj_neuron.MaskedPSN):
                module.lambda_ = value

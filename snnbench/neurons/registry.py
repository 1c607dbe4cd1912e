"""The registry of snnbench's own neurons: each neuron module registers its builder where it is defined.

The builder contract (the same for snnbench's neurons and yours)::

    def builder(T: int, channels: int, surrogate: nn.Module, **params) -> nn.Module

returns a multi-step module mapping ``[T, N, channels, ...]`` to spikes of the same shape; ``params`` are the
other keys of the neuron's YAML. A builder that also takes ``layer_index`` gets the layer's 0-based position
among the network's neuron layers (CPSN's per-layer dilation). The hooks a module may define are in
:mod:`snnbench.neurons.contract`. Your own neuron needs no registration: its YAML names it (``builder:``).
"""

from __future__ import annotations

from typing import Callable

import torch.nn as nn

NeuronBuilder = Callable[..., nn.Module]
NEURONS: dict[str, NeuronBuilder] = {}


def register(name: str) -> Callable[[NeuronBuilder], NeuronBuilder]:
    """Register ``builder(T, channels, surrogate, **params) -> nn.Module`` under ``name``; a name is taken once."""

    def decorate(builder: NeuronBuilder) -> NeuronBuilder:
        if name in NEURONS and NEURONS[name] is not builder:
            raise ValueError(f"neuron '{name}' is registered twice ({NEURONS[name].__module__} and "
                             f"{builder.__module__}); give one of them another name")
        NEURONS[name] = builder
        return builder

    return decorate

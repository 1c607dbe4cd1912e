"""Fully connected template for sequences of feature vectors (pixel-by-pixel digits, SHD channels)."""

from __future__ import annotations

import math

import torch.nn as nn
from spikingjelly.activation_based import layer

from snnbench.neurons import NeuronFactory


class MLPNet(nn.Sequential):
    """Flatten - [Linear(hidden) - BN1d - neuron] x depth - Linear(num_classes), at every time step.

    Input ``[T, N, *step_shape]``; output ``[T, N, num_classes]``.
    """

    def __init__(self, neuron: NeuronFactory, step_shape: tuple[int, ...], num_classes: int,
                 hidden: int = 128, depth: int = 2) -> None:
        in_features = math.prod(step_shape)
        modules: list[nn.Module] = [layer.Flatten(step_mode="m")]
        for _ in range(depth):
            modules += [
                layer.SeqToANNContainer(nn.Linear(in_features, hidden, bias=False), nn.BatchNorm1d(hidden)),
                neuron(hidden),
            ]
            in_features = hidden
        modules.append(layer.Linear(in_features, num_classes, step_mode="m"))
        super().__init__(*modules)

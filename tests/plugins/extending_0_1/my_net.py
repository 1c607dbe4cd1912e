"""A network template of your own: Flatten - Linear - BatchNorm - neuron - Linear, at every time step.

The template contract: ``(neuron, step_shape, num_classes, **the YAML's other keys)`` -> a module mapping
``[T, N, *step_shape]`` to logits ``[T, N, num_classes]``; call ``neuron(channels)`` for every spiking layer.
"""

from __future__ import annotations

import math

import torch.nn as nn
from spikingjelly.activation_based import layer


class MyNet(nn.Sequential):
    def __init__(self, neuron, step_shape: tuple[int, ...], num_classes: int, hidden: int = 64) -> None:
        super().__init__(
            layer.Flatten(step_mode="m"),
            layer.SeqToANNContainer(nn.Linear(math.prod(step_shape), hidden, bias=False), nn.BatchNorm1d(hidden)),
            neuron(hidden),
            layer.Linear(hidden, num_classes, step_mode="m"),
        )

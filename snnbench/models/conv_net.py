"""Conv2d template for static images (direct encoding): the PSN paper's CIFAR-10 network family."""

from __future__ import annotations

import torch.nn as nn
from spikingjelly.activation_based import layer

from snnbench.neurons import NeuronFactory


class ConvNet(nn.Sequential):
    """[Conv2d 3x3 - BN2d - neuron] x blocks_per_stage, AvgPool2d(2), repeated ``stages`` times,
    then Flatten - Linear(hidden) - BN1d (``hidden_norm``; the paper's networks have none) - neuron - Linear(num_classes), all applied at every time step.

    Input ``[T, N, C, H, W]``; output ``[T, N, num_classes]``.
    """

    def __init__(self, neuron: NeuronFactory, step_shape: tuple[int, int, int], num_classes: int,
                 channels: int = 32, stages: int = 2, blocks_per_stage: int = 2, hidden: int = 128,
                 hidden_norm: bool = True) -> None:
        in_channels, height, width = step_shape
        modules: list[nn.Module] = []
        for _ in range(stages):
            for _ in range(blocks_per_stage):
                modules += [
                    layer.SeqToANNContainer(
                        nn.Conv2d(in_channels, channels, kernel_size=3, padding=1, bias=False),
                        nn.BatchNorm2d(channels),
                    ),
                    neuron(channels),
                ]
                in_channels = channels
            modules.append(layer.AvgPool2d(2, step_mode="m"))
            height, width = height // 2, width // 2
        modules += [
            layer.Flatten(step_mode="m"),
            layer.SeqToANNContainer(nn.Linear(channels * height * width, hidden, bias=False), nn.BatchNorm1d(hidden))
            if hidden_norm else layer.Linear(channels * height * width, hidden, step_mode="m"),
            neuron(hidden),
            layer.Linear(hidden, num_classes, step_mode="m"),
        ]
        super().__init__(*modules)

"""Conv1d template for sequences whose steps are short signals: the PSN paper's sequential-CIFAR network family."""

from __future__ import annotations

import torch.nn as nn
from spikingjelly.activation_based import layer

from snnbench.neurons import NeuronFactory


class SeqConvNet(nn.Sequential):
    """[Conv1d k3 - BN1d - neuron] x blocks_per_stage, AvgPool1d(2), repeated ``stages`` times,
    then Flatten - Linear(hidden) - BN1d (``hidden_norm``; the paper's networks have none) - neuron - Linear(num_classes), all applied at every time step.

    Each time step is a ``[C, L]`` signal (sequential CIFAR: 3 channels x 32 rows).
    Input ``[T, N, C, L]``; output ``[T, N, num_classes]``.
    """

    def __init__(self, neuron: NeuronFactory, step_shape: tuple[int, int], num_classes: int,
                 channels: int = 64, stages: int = 2, blocks_per_stage: int = 2, hidden: int = 128,
                 hidden_norm: bool = True) -> None:
        in_channels, length = step_shape
        modules: list[nn.Module] = []
        for _ in range(stages):
            for _ in range(blocks_per_stage):
                modules += [
                    layer.SeqToANNContainer(
                        nn.Conv1d(in_channels, channels, kernel_size=3, padding=1, bias=False),
                        nn.BatchNorm1d(channels),
                    ),
                    neuron(channels),
                ]
                in_channels = channels
            modules.append(layer.AvgPool1d(2, step_mode="m"))
            length //= 2
        modules += [
            layer.Flatten(step_mode="m"),
            layer.SeqToANNContainer(nn.Linear(channels * length, hidden, bias=False), nn.BatchNorm1d(hidden))
            if hidden_norm else layer.Linear(channels * length, hidden, step_mode="m"),
            neuron(hidden),
            layer.Linear(hidden, num_classes, step_mode="m"),
        ]
        super().__init__(*modules)

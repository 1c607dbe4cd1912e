"""Convolutional templates: Conv2d for static images (the PSN paper's CIFAR-10 network family) and Conv1d for
sequences whose steps are short signals (its sequential-CIFAR network family)."""

from __future__ import annotations

import math

import torch.nn as nn
from spikingjelly.activation_based import layer

from snnbench.neurons import NeuronFactory


def conv_spiking_net(neuron: NeuronFactory, step_shape: tuple[int, ...], num_classes: int, channels: int,
                     stages: int, blocks_per_stage: int, hidden: int, hidden_norm: bool) -> list[nn.Module]:
    """[Conv k3 (no bias) - BN - neuron] x blocks_per_stage, AvgPool(2), repeated ``stages`` times, then
    Flatten - Linear(hidden) [- BN1d if ``hidden_norm``] - neuron - Linear(num_classes); 1-D or 2-D by
    ``step_shape`` ([C, L] or [C, H, W]), all applied at every time step."""
    dims = len(step_shape) - 1
    conv, norm = (nn.Conv1d, nn.BatchNorm1d) if dims == 1 else (nn.Conv2d, nn.BatchNorm2d)
    pool = layer.AvgPool1d if dims == 1 else layer.AvgPool2d
    in_channels, extent = step_shape[0], list(step_shape[1:])
    modules: list[nn.Module] = []
    for _ in range(stages):
        for _ in range(blocks_per_stage):
            modules += [
                layer.SeqToANNContainer(conv(in_channels, channels, kernel_size=3, padding=1, bias=False), norm(channels)),
                neuron(channels),
            ]
            in_channels = channels
        modules.append(pool(2, step_mode="m"))
        extent = [e // 2 for e in extent]
    flat = channels * math.prod(extent)
    modules += [
        layer.Flatten(step_mode="m"),
        layer.SeqToANNContainer(nn.Linear(flat, hidden, bias=False), nn.BatchNorm1d(hidden))
        if hidden_norm else layer.Linear(flat, hidden, step_mode="m"),
        neuron(hidden),
        layer.Linear(hidden, num_classes, step_mode="m"),
    ]
    return modules


class ConvNet(nn.Sequential):
    """Convolutional network on ``[T, N, C, H, W]`` (Conv2d: static images) or ``[T, N, C, L]`` (Conv1d: each step
    a ``[C, L]`` signal, as in sequential CIFAR); see :func:`conv_spiking_net`. Output ``[T, N, num_classes]``.

    The paper's networks have no norm after the hidden Linear (``hidden_norm: false``); the small digits
    templates keep one, without which their few spikes never reach the hidden layer's threshold.
    """

    def __init__(self, neuron: NeuronFactory, step_shape: tuple[int, ...], num_classes: int,
                 channels: int = 32, stages: int = 2, blocks_per_stage: int = 2, hidden: int = 128,
                 hidden_norm: bool = True) -> None:
        super().__init__(*conv_spiking_net(neuron, step_shape, num_classes, channels, stages, blocks_per_stage,
                                           hidden, hidden_norm))


#: The same template under the name the sequence configs (``seq_conv_net``, ``seq_cifar_net``) give as their
#: ``_target_``: that name is part of their runs' signatures, so it stays.
SeqConvNet = ConvNet

"""VGG template for event frames: the PSN paper's CIFAR10-DVS network."""

from __future__ import annotations

import torch.nn as nn
from spikingjelly.activation_based import layer

from snnbench.neurons import NeuronFactory

DVS_VGG = (64, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG(nn.Sequential):
    """[Conv2d 3x3 - BN2d - neuron] for every width in ``layers`` ("M": AvgPool2d(2)), then Flatten -
    Dropout(p) - Linear(num_classes), all at every time step. SpikingJelly's multi-step Dropout keeps one mask
    for all steps. Convolutions get kaiming-normal init when ``kaiming_init``.

    Input ``[T, N, C, H, W]``; output ``[T, N, num_classes]``.
    """

    def __init__(self, neuron: NeuronFactory, step_shape: tuple[int, int, int], num_classes: int,
                 layers: tuple[int | str, ...] = DVS_VGG, conv_bias: bool = True, dropout: float = 0.25,
                 kaiming_init: bool = True) -> None:
        in_channels, height, width = step_shape
        modules: list[nn.Module] = []
        for item in layers:
            if item == "M":
                modules.append(layer.AvgPool2d(2, step_mode="m"))
                height, width = height // 2, width // 2
                continue
            conv = nn.Conv2d(in_channels, int(item), kernel_size=3, padding=1, bias=conv_bias)
            if kaiming_init:
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            modules += [layer.SeqToANNContainer(conv, nn.BatchNorm2d(int(item))), neuron(int(item))]
            in_channels = int(item)
        modules += [
            layer.Flatten(step_mode="m"),
            layer.Dropout(dropout, step_mode="m"),
            layer.Linear(in_channels * height * width, num_classes, step_mode="m"),
        ]
        super().__init__(*modules)

"""VGG template for event frames: the PSN paper's CIFAR10-DVS network."""

from __future__ import annotations

import torch.nn as nn
from spikingjelly.activation_based import layer

from snnbench.errors import ConfigError
from snnbench.models.replica_norm import ReplicaBatchNorm2d
from snnbench.neurons import NeuronFactory

DVS_VGG = (64, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


DROPOUT_MASKS = ("per_step", "shared")


class VGG(nn.Sequential):
    """[Conv2d 3x3 - BN2d - neuron] for every width in ``layers`` ("M": AvgPool2d(2)), then Flatten -
    Dropout(p) - Linear(num_classes), all at every time step. Convolutions get kaiming-normal init when
    ``kaiming_init``.

    ``dropout_mask``: ``per_step`` draws a new element-wise mask at every time step (the official
    ``SeqToANNContainer(nn.Dropout2d, Linear)`` on ``[N*T, features]``); ``shared`` keeps one mask for all T steps
    (SpikingJelly's multi-step Dropout). ``bn_replicas``: BatchNorm statistics over that many parts of the batch
    (see :class:`ReplicaBatchNorm2d`; the official runs used 2 GPUs with ``nn.DataParallel``).

    Input ``[T, N, C, H, W]``; output ``[T, N, num_classes]``.
    """

    def __init__(self, neuron: NeuronFactory, step_shape: tuple[int, int, int], num_classes: int,
                 layers: tuple[int | str, ...] = DVS_VGG, conv_bias: bool = True, dropout: float = 0.25,
                 kaiming_init: bool = True, dropout_mask: str = "per_step", bn_replicas: int = 1) -> None:
        if dropout_mask not in DROPOUT_MASKS:
            raise ConfigError(f"model.dropout_mask={dropout_mask!r}; choose one of {', '.join(DROPOUT_MASKS)}")
        if int(bn_replicas) < 1:
            raise ConfigError(f"model.bn_replicas={bn_replicas}; set it to 1 (one device) or the number of GPUs")
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
            modules += [layer.SeqToANNContainer(conv), ReplicaBatchNorm2d(int(item), replicas=bn_replicas),
                        neuron(int(item))]
            in_channels = int(item)
        modules += [
            layer.Flatten(step_mode="m"),
            nn.Dropout(dropout) if dropout_mask == "per_step" else layer.Dropout(dropout, step_mode="m"),
            layer.Linear(in_channels * height * width, num_classes, step_mode="m"),
        ]
        super().__init__(*modules)

"""The PRF paper's backbone (Huang et al., arXiv 2410.03530): an S4-style residual stack of SD-TCM blocks, as the
official code builds it (HuuYuLong/prf ``src/models/sequence/backbones/model.py`` ``SequenceModel``,
``block.py`` ``SequenceResidualBlock``, ``modules/spikingblock.py`` ``SpikingBlockGate``); any neuron fits it."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from spikingjelly.activation_based import surrogate

from snnbench.errors import ConfigError
from snnbench.neurons import NeuronFactory

SPATIAL = ("binary", "identity", "none")


class TiedDropout(nn.Module):
    """Dropout with one mask per sample and channel, shared by every time step (S4's ``DropoutNd``,
    ``tie_dropout: true``); on ``[T, N, C]``."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape[1:], device=x.device) >= self.p
        return x * keep / (1 - self.p)


class SpikeDrivenMixer(nn.Module):
    r"""The SD-TCM block (``SpikingBlockGate``), on ``[T, N, C]``:

    .. math::
        S = \mathrm{neuron}(U) \;[\Vert\; \mathrm{flip}(\mathrm{neuron}'(\mathrm{flip}(U)))], \qquad
        X = U + W_1\, \mathrm{drop}(S)

        Y = W_2\, \mathrm{drop}(\Theta(X - 0.5)\, e^{a}) + X \ (\text{binary}), \quad Y = X \ (\text{identity}),
        \quad Y = \mathrm{drop}(X) \ (\text{none})

    The temporal neuron is the config's (PRF in the paper), a second one reads the reversed sequence when
    bidirectional; the channel mixer's binary gate is an arctan-surrogate Heaviside (alpha 2) scaled by a learned
    :math:`e^{a}` (lr 0.001, weight decay 0, as the official ``register``).
    """

    def __init__(self, neuron: NeuronFactory, width: int, spatial: str, bidirectional: bool, dropout: float) -> None:
        super().__init__()
        self.temporal = neuron(width)
        self.reverse = neuron(width) if bidirectional else None
        self.mix = nn.Linear(2 * width if bidirectional else width, width)
        self.spatial = spatial
        self.drop_temporal = TiedDropout(dropout)
        self.drop_spatial = TiedDropout(dropout) if spatial != "identity" else nn.Identity()
        if spatial == "binary":
            self.gate = surrogate.ATan()
            self.log_scale = nn.Parameter(torch.zeros(1))
            self.log_scale._optim = {"lr": 0.001, "weight_decay": 0.0}
            self.out = nn.Linear(width, width)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        s = self.temporal(u)
        if self.reverse is not None:
            s = torch.cat([s, self.reverse(u.flip(0)).flip(0)], dim=-1)
        x = u + self.mix(self.drop_temporal(s))
        if self.spatial == "binary":
            return self.out(self.drop_spatial(self.gate(x - 0.5) * self.log_scale.exp())) + x
        return x if self.spatial == "identity" else self.drop_spatial(x)


class PRFNet(nn.Module):
    """Linear encoder, ``depth`` residual SD-TCM blocks (``x + drop(block(x))``, batch norm after (postnorm) or
    before the block with a final norm (prenorm)), a linear decoder at every step (the loss averages over T:
    S4's mean-pool-then-linear decoder).

    Input ``[T, N, *step_shape]``; output ``[T, N, num_classes]``.
    """

    def __init__(self, neuron: NeuronFactory, step_shape: tuple[int, ...], num_classes: int, width: int = 128,
                 depth: int = 3, spatial: str = "none", bidirectional: bool = False, prenorm: bool = False,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if spatial not in SPATIAL:
            raise ConfigError(f"model.spatial={spatial!r}; choose one of {', '.join(SPATIAL)}")
        self.encoder = nn.Linear(math.prod(step_shape), width)
        self.blocks = nn.ModuleList(SpikeDrivenMixer(neuron, width, spatial, bidirectional, dropout)
                                    for _ in range(depth))
        self.norms = nn.ModuleList(nn.BatchNorm1d(width) for _ in range(depth))
        self.drops = nn.ModuleList(TiedDropout(dropout) for _ in range(depth))
        self.prenorm = prenorm
        self.final_norm = nn.BatchNorm1d(width) if prenorm else None
        self.decoder = nn.Linear(width, num_classes)

    @staticmethod
    def _norm(norm: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
        return norm(x.flatten(0, 1)).view_as(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x.flatten(2))
        for block, norm, drop in zip(self.blocks, self.norms, self.drops):
            h = h + drop(block(self._norm(norm, h) if self.prenorm else h))
            if not self.prenorm:
                h = self._norm(norm, h)
        if self.final_norm is not None:
            h = self._norm(self.final_norm, h)
        return self.decoder(h)

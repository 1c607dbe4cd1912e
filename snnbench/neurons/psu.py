"""Parallel spiking units PSU, IPSU and RPSU (Li et al., "Parallel Spiking Unit for Efficient Training of
Spiking Neural Networks", IJCNN 2024), as the official code computes them: Brain-Cog-Lab/PSU,
``braincog/base/node/node.py`` (``generate_matrix``, classes ``PSU``, ``IPSU``, ``RPSU``; surrogate ``AtanGrad``
in ``braincog/base/strategy/surrogate.py``)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.registry import register


def integration_matrices(T: int, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The official ``generate_matrix(T, tau)``: :math:`M_1[t][j] = (1/\tau)^{t-j+1}` for :math:`j \le t`
    (input integration with decay :math:`1/\tau`), and :math:`M_2[t][j] = -(1/\tau)^{t-j}` for :math:`j < t`
    (the reset that earlier firing probabilities propagate), zero elsewhere."""
    gap = (torch.arange(T).unsqueeze(1) - torch.arange(T).unsqueeze(0)).double()
    decay = 1.0 / tau
    m1 = torch.where(gap >= 0, decay ** (gap.clamp(min=0) + 1), torch.zeros(()))
    m2 = torch.where(gap > 0, -(decay ** gap.clamp(min=0)), torch.zeros(()))
    return m1.float(), m2.float()


class LearnedArcTan(torch.autograd.Function):
    r"""BrainCog's ``atan``: :math:`\Theta(x)` with the strict ``x > 0``; backward
    :math:`g'(x) = \frac{\alpha}{2 (1 + (\frac{\pi}{2} \alpha x)^2)}`, and :math:`\partial / \partial \alpha =
    \sum \frac{x}{2 (1 + (\frac{\pi}{2} \alpha x)^2)}` (the slope :math:`\alpha` is a parameter)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        ctx.save_for_backward(x, alpha)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
        x, alpha = ctx.saved_tensors
        shared = grad / (1 + (alpha * math.pi / 2 * x).square())
        return alpha / 2 * shared, (x / 2 * shared).sum().reshape(alpha.shape)


class ParallelSpikingUnit(nn.Module):
    r"""PSU and its variants: the membrane of all T steps at once, the reset estimated instead of simulated.

    With :math:`X` the input ``[T, ...]`` flattened to ``[T, n]``, :math:`M_1, M_2` from :func:`integration_matrices`:

    - ``psu``: :math:`H = M_1 X`, :math:`U = H + V_{th} M_2 \, \sigma(H)`;
    - ``ipsu``: :math:`U = (W \odot L) X + b + M_2 X`, a learned causal integration (:math:`L` the lower
      triangle with its diagonal; :math:`W` kaiming-normal, fan-out, ReLU gain; :math:`b = 0` at start) beside the
      fixed propagation of the input;
    - ``rpsu``: :math:`U = M_1 X + M_2 \, \sigma((W \odot L) X + b)`, the reset estimated by a learned causal map;

    then :math:`S = \Theta(U - V_{th})` (strict), with the arctan surrogate whose slope :math:`\alpha` (start 2)
    is learned (:class:`LearnedArcTan`). :math:`M_1, M_2` are fixed buffers (``m1``, ``m2``), as in the official
    code; only ``psu`` scales :math:`M_2` by :math:`V_{th}`.
    """

    def __init__(self, T: int, variant: str, tau: float = 2.0, v_threshold: float = 0.5, alpha: float = 2.0) -> None:
        super().__init__()
        self.T, self.variant, self.v_threshold = T, variant, v_threshold
        m1, m2 = integration_matrices(T, tau)
        self.register_buffer("m1", m1)
        self.register_buffer("m2", m2 * v_threshold if variant == "psu" else m2)
        self.alpha = nn.Parameter(torch.tensor(float(alpha)))
        if variant in ("ipsu", "rpsu"):
            self.weight = nn.Parameter(torch.empty(T, T))
            self.bias = nn.Parameter(torch.zeros(T))
            nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
            self.register_buffer("mask", torch.tril(torch.ones(T, T)))

    def _learned(self, flat: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias.unsqueeze(1), self.weight * self.mask, flat)

    def membrane(self, x_seq: torch.Tensor) -> torch.Tensor:
        flat = x_seq.flatten(1)
        if self.variant == "psu":
            h = self.m1 @ flat
            u = h + self.m2 @ torch.sigmoid(h)
        elif self.variant == "ipsu":
            u = self._learned(flat) + self.m2 @ flat
        else:
            u = self.m1 @ flat + self.m2 @ torch.sigmoid(self._learned(flat))
        return u.view(x_seq.shape)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return LearnedArcTan.apply(self.membrane(x_seq) - self.v_threshold, self.alpha)

    def extra_repr(self) -> str:
        return f"T={self.T}, variant={self.variant}, v_threshold={self.v_threshold}"


def build(variant: str):
    def builder(T: int, channels: int, surrogate: nn.Module, tau: float = 2.0, v_threshold: float = 0.5,
                alpha: float = 2.0) -> nn.Module:
        if float(tau) <= 0:
            raise ConfigError(f"{variant}: tau={tau}; set neuron.tau > 0")
        return ParallelSpikingUnit(int(T), variant, float(tau), float(v_threshold), float(alpha))
    builder.__doc__ = (f"{variant.upper()} as the official BrainCog code computes it (see :class:`ParallelSpikingUnit`); "
                       f"its own learned-slope arctan surrogate replaces ``surrogate``.")
    return builder


for _variant in ("psu", "ipsu", "rpsu"):
    register(_variant)(build(_variant))

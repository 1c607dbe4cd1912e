"""GLIF as the PSN paper ran it: hard (binary) gates with a straight-through gradient.

SpikingJelly 2.0's ``GatedLIFNode`` uses soft sigmoid gates and a linear decay of V_th / (2T); the PSN paper's
sequential-CIFAR runs used the GLIF authors' class with ``soft_mode=False`` and a decay of V_th / 8 (``steps = 4``
hard-coded). See docs/fidelity.md for the official file and lines.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from spikingjelly.activation_based.surrogate import SurrogateFunctionBase

from snnbench.neurons.registry import register


class _HardGate(torch.autograd.Function):
    """Forward: 1 where the gate probability is above 0.5, else 0. Backward: identity (straight-through)."""

    @staticmethod
    def forward(ctx, probability: torch.Tensor) -> torch.Tensor:
        return (probability > 0.5).to(probability.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def gate_probability(gate: float) -> float:
    """The GLIF paper's gate parametrisation: sigmoid(param) = (gate - 0.5) / 2 + 0.5 (0.6 -> 0.55, 0.8 -> 0.65)."""
    return (gate - 0.5) * 0.5 + 0.5


class HardGatedLIF(nn.Module):
    r"""Channel-wise gated LIF (Yao et al., NeurIPS 2022) with the PSN paper's settings.

    Every parameter is stored as a logit and used through a sigmoid, per channel ``c`` (dimension 2 of
    ``[T, N, C, ...]``); the conductance is per time step and channel. With hard gates

    .. math::
        a, b, g = \mathbb{1}[\sigma(\alpha_c) > 0.5],\ \mathbb{1}[\sigma(\beta_c) > 0.5],\
                  \mathbb{1}[\sigma(\gamma_c) > 0.5]      \quad\text{(straight-through gradient)}

        I[t] = X[t] \, (1 - b (1 - \kappa[t]))

        U[t] = (1 - a (1 - \tau)) \, U[t-1] \, (1 - g S[t-1]) - (1 - a) \, \ell + I[t] - (1 - g) \, V_r \, S[t-1]

        S[t] = \mathbb{1}[U[t] > V_{th}] \quad\text{(strict)}, \qquad U[-1] = S[-1] = 0

    with tau = 0.25, V_th = V_r = 0.5, linear decay l = V_th / (2 * 4) = 0.0625, conductance kappa = 0.5 and
    gates [0.6, 0.8, 0.6] (so sigmoid = 0.55, 0.65, 0.55: all three gates are 1 at the start). The backward
    pass of the spike uses the surrogate's derivative at U - V_th (the paper: a rectangle of width 1). The reset
    path is not detached. ``hard_gates=False`` uses the sigmoids themselves as gates (the GLIF authors' soft mode).
    """

    def __init__(self, T: int, channels: int, surrogate: nn.Module,
                 gates: tuple[float, float, float] = (0.6, 0.8, 0.6), init_tau: float = 0.25,
                 init_v_threshold: float = 0.5, init_linear_decay: float = 0.0625,
                 init_conduct: float = 0.5, hard_gates: bool = True) -> None:
        super().__init__()
        for name, value in (("init_tau", init_tau), ("init_v_threshold", init_v_threshold),
                            ("init_linear_decay", init_linear_decay), ("init_conduct", init_conduct)):
            if not 0.0 < value < 1.0:
                raise ValueError(f"glif: {name}={value} must be strictly between 0 and 1 (it is a sigmoid's value)")
        self.T, self.channels, self.surrogate, self.hard_gates = int(T), int(channels), surrogate, bool(hard_gates)
        per_channel = lambda value: nn.Parameter(torch.full((self.channels,), _logit(value)))  # noqa: E731
        self.alpha, self.beta, self.gamma = (per_channel(gate_probability(float(g))) for g in gates)
        self.tau = per_channel(init_tau)
        self.v_threshold = per_channel(init_v_threshold)
        self.v_reset = per_channel(init_v_threshold)
        self.linear_decay = per_channel(init_linear_decay)
        self.conduct = nn.Parameter(torch.full((self.T, self.channels), _logit(init_conduct)))

    def _spike(self, x: torch.Tensor) -> torch.Tensor:
        """Θ(x) with a strict threshold in the forward pass and the surrogate's gradient in the backward pass."""
        return self.surrogate(x) - (x == 0).to(x.dtype).detach()

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if x_seq.shape[0] != self.T:
            raise ValueError(f"glif was built for T={self.T} steps, got an input with {x_seq.shape[0]}")
        shape = (1, self.channels) + (1,) * (x_seq.dim() - 3)  # broadcast over [N, C, ...]
        view = lambda p: p.sigmoid().view(shape)  # noqa: E731
        gate = _HardGate.apply if self.hard_gates else (lambda p: p)  # noqa: E731
        a, b, g = (gate(view(p)) for p in (self.alpha, self.beta, self.gamma))
        tau, v_th, v_reset, decay = view(self.tau), view(self.v_threshold), view(self.v_reset), view(self.linear_decay)
        u = torch.zeros_like(x_seq[0])
        s = torch.zeros_like(x_seq[0])
        spikes = []
        for t in range(self.T):
            current = x_seq[t] * (1 - b * (1 - self.conduct[t].sigmoid().view(shape)))
            u = (1 - a * (1 - tau)) * u * (1 - g * s) - (1 - a) * decay + current - (1 - g) * v_reset * s
            s = self._spike(u - v_th)
            spikes.append(s)
        return torch.stack(spikes)

    def extra_repr(self) -> str:
        return f"T={self.T}, channels={self.channels}, hard_gates={self.hard_gates}"


@register("glif")
def gated_lif(T: int, channels: int, surrogate: SurrogateFunctionBase,
              gates: tuple[float, float, float] = (0.6, 0.8, 0.6), init_tau: float = 0.25,
              init_v_threshold: float = 0.5, init_linear_decay: float = 0.0625,
              init_conduct: float = 0.5, hard_gates: bool = True) -> nn.Module:
    """GLIF as the PSN paper ran it: hard gates with a straight-through gradient, linear decay V_th / 8,
    strict threshold (see :class:`HardGatedLIF` for the equations)."""
    return HardGatedLIF(T=T, channels=channels, surrogate=surrogate, gates=tuple(gates), init_tau=float(init_tau),
                        init_v_threshold=float(init_v_threshold), init_linear_decay=float(init_linear_decay),
                        init_conduct=float(init_conduct), hard_gates=bool(hard_gates))

"""Parallel spiking units PSU, IPSU and RPSU (Li et al., "Parallel Spiking Unit for Efficient Training of
Spiking Neural Networks", IJCNN 2024; code Brain-Cog-Lab/PSU)."""

from __future__ import annotations

import torch
import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.registry import register


def learned_slope_spike(z: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    r""":math:`\Theta(z)` forward; backward the derivative of :math:`\sigma(\alpha z)`, so that both z and the
    slope :math:`\alpha` (a parameter) get gradients."""
    soft = torch.sigmoid(slope * z)
    return (z >= 0).to(z.dtype) + (soft - soft.detach())  # exactly 0 or 1 forward


def lif_matrices(T: int, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The LIF integration matrix :math:`\Gamma[t][j] = \lambda^{t-j} / \tau` (:math:`j \le t`) and the reset
    propagation :math:`\Lambda[t][j] = \lambda^{t-j}` (:math:`j < t`), :math:`\lambda = 1 - 1/\tau`."""
    t = torch.arange(T)
    gap = (t.unsqueeze(1) - t.unsqueeze(0)).float()
    decay = (1.0 - 1.0 / tau) ** gap.clamp(min=0)
    return torch.tril(decay) / tau, torch.tril(decay, diagonal=-1)


class ParallelSpikingUnit(nn.Module):
    r"""PSU and its variants: LIF integration as one T x T matrix, the reset estimated instead of simulated.

    .. math::
        H = \Gamma X, \qquad P = \sigma(\alpha (H - V_{th})) \quad \text{(estimated firing probability)}

        U = H - R P, \qquad S = \Theta(U - V_{th})

    - ``psu``: :math:`\Gamma` learnable (started at the LIF matrix of ``tau``), :math:`R = V_{th} \Lambda` fixed
      (the LIF's soft reset, propagated with its decay);
    - ``ipsu``: input integration only, :math:`U = \Gamma X` (no reset term);
    - ``rpsu``: :math:`R` a learnable strictly lower-triangular matrix (started at :math:`V_{th} \Lambda`).

    :math:`\Theta` has the surrogate :math:`\sigma'(\alpha z)` whose slope :math:`\alpha` is learned (one per
    layer). Step by step, with :math:`\Gamma, R` at their start, ``psu`` is :math:`H[t] = \lambda H[t-1] + X[t]/\tau`,
    :math:`Q[t] = \lambda (Q[t-1] + V_{th} P[t-1])`, :math:`U[t] = H[t] - Q[t]`.
    """

    def __init__(self, T: int, variant: str, tau: float = 2.0, v_threshold: float = 1.0, slope: float = 4.0) -> None:
        super().__init__()
        self.T, self.variant, self.v_threshold = T, variant, v_threshold
        gamma, lam = lif_matrices(T, tau)
        self.integration = nn.Parameter(gamma)
        self.slope = nn.Parameter(torch.tensor(float(slope)))
        if variant == "rpsu":
            self.reset = nn.Parameter(v_threshold * lam)
        else:
            self.register_buffer("reset", v_threshold * lam)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        flat = x_seq.flatten(1)
        h = torch.tril(self.integration) @ flat
        if self.variant != "ipsu":
            probability = torch.sigmoid(self.slope * (h - self.v_threshold))
            h = h - torch.tril(self.reset, diagonal=-1) @ probability
        return learned_slope_spike(h - self.v_threshold, self.slope).view(x_seq.shape)

    def extra_repr(self) -> str:
        return f"T={self.T}, variant={self.variant}"


def build(variant: str):
    def builder(T: int, channels: int, surrogate: nn.Module, tau: float = 2.0, v_threshold: float = 1.0,
                slope: float = 4.0) -> nn.Module:
        if float(tau) <= 1.0:
            raise ConfigError(f"{variant}: tau={tau}; set neuron.tau > 1")
        return ParallelSpikingUnit(int(T), variant, float(tau), float(v_threshold), float(slope))
    builder.__doc__ = f"{variant.upper()}: see :class:`ParallelSpikingUnit`."
    return builder


for _variant in ("psu", "ipsu", "rpsu"):
    register(_variant)(build(_variant))

"""LIF without reset: the PSN paper's ablation; SpikingJelly has no such neuron."""

from __future__ import annotations

import torch
import torch.nn as nn
from spikingjelly.activation_based.surrogate import SurrogateFunctionBase

from snnbench.neurons.registry import register


class LIFNoReset(nn.Module):
    r"""Leaky integrate-and-fire neuron whose membrane is never reset by its spikes.

    .. math::
        H[t] = (1 - 1/\tau) H[t-1] + X[t] / \tau, \qquad H[-1] = 0

        S[t] = \Theta(H[t] - V_{th})

    The backward pass replaces Θ' by the surrogate's derivative. Multi-step only
    (``[T, N, ...] -> [T, N, ...]``) and stateless between calls.
    """

    def __init__(self, tau: float, v_threshold: float, surrogate: nn.Module) -> None:
        super().__init__()
        if tau <= 1.0:
            raise ValueError(f"tau must be > 1, got {tau}")
        self.decay = 1.0 - 1.0 / tau
        self.tau = tau
        self.v_threshold = v_threshold
        self.surrogate = surrogate

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        h = torch.zeros_like(x_seq[0])
        h_seq = []
        for x in x_seq:
            h = self.decay * h + x / self.tau
            h_seq.append(h)
        return self.surrogate(torch.stack(h_seq) - self.v_threshold)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, v_threshold={self.v_threshold}"


@register("lif_noreset")
def lif_without_reset(T: int, channels: int, surrogate: SurrogateFunctionBase,
                      tau: float = 2.0, v_threshold: float = 1.0) -> nn.Module:
    """LIF without reset, the PSN paper's ablation (see :class:`LIFNoReset`)."""
    return LIFNoReset(tau=float(tau), v_threshold=float(v_threshold), surrogate=surrogate)

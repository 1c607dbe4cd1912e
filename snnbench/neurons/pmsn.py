"""Parallel multi-compartment spiking neuron (Chen et al., PMSN, IEEE TNNLS; code xychen-comp/PMSN)."""

from __future__ import annotations

import torch
import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.registry import register
from snnbench.neurons.layout import causal_fft_conv, time_first, time_last


def parallel_integrate_and_fire(current: torch.Tensor, v_threshold: float, surrogate: nn.Module) -> torch.Tensor:
    r"""An integrate-and-fire soma with soft reset, for every step at once (time is the last axis).

    With :math:`Q[t] = \sum_{j \le t} I[j]` and :math:`m[t] = \max_{j \le t} \lfloor Q[j] / V_{th} \rfloor`
    (spikes so far, never below 0), :math:`S[t] = \Theta(Q[t] - V_{th} (m[t-1] + 1))`. For inputs in :math:`[0, V_{th})` this
    equals the step-by-step soma :math:`V[t] = V[t-1] + I[t] - V_{th} S[t-1]`, :math:`S[t] = \Theta(V[t] - V_{th})`
    exactly, spikes and surrogate gradients alike (the reset is detached); outside that range it is the
    definition (at most one spike per step, never a negative count).
    """
    charge = current.cumsum(-1)
    fired = torch.floor(charge.detach() / v_threshold).clamp(min=0).cummax(-1).values
    before = torch.cat([torch.zeros_like(fired[..., :1]), fired[..., :-1]], dim=-1)
    return surrogate(charge - v_threshold * (before + 1))


class ParallelMultiCompartment(nn.Module):
    r"""PMSN: n coupled compartments as a linear state-space model, then a parallel integrate-and-fire soma.

    .. math::
        \mathbf{V}[t] = A_c \mathbf{V}[t-1] + \mathbf{e}_0 X[t], \qquad I[t] = \mathbf{c}_c^\top \mathbf{V}[t]

    per channel c, with :math:`A_c` tridiagonal: decays :math:`\sigma(a_i)` on the diagonal, learnable
    couplings between neighbouring compartments off it (the input enters compartment 0, the soma reads all
    through :math:`\mathbf{c}_c`, started at 1/n each). Unrolled, :math:`I = K * X` with the kernel
    :math:`K[t] = \mathbf{c}^\top A^t \mathbf{e}_0` (powers by doubling, :math:`O(\log T)` matrix products),
    applied by FFT. The soma is :func:`parallel_integrate_and_fire`. The parametrisation of A is our reading
    of the paper's coupled compartments, not a copy of its code.
    """

    def __init__(self, channels: int, compartments: int, surrogate: nn.Module, v_threshold: float = 1.0) -> None:
        super().__init__()
        n = compartments
        self.v_threshold = v_threshold
        self.decay_logit = nn.Parameter(torch.linspace(-1.0, 2.0, n).repeat(channels, 1))  # sigmoid 0.27 .. 0.88
        self.forward_coupling = nn.Parameter(torch.full((channels, max(n - 1, 0)), 0.5))
        self.backward_coupling = nn.Parameter(torch.zeros(channels, max(n - 1, 0)))
        self.readout = nn.Parameter(torch.full((channels, n), 1.0 / n))
        self.surrogate = surrogate

    def transition(self) -> torch.Tensor:
        """``[C, n, n]``: the tridiagonal A of every channel."""
        a = torch.diag_embed(torch.sigmoid(self.decay_logit))
        if self.decay_logit.shape[1] > 1:
            a = a + torch.diag_embed(self.forward_coupling, offset=-1) + torch.diag_embed(self.backward_coupling, offset=1)
        return a

    def kernel(self, T: int) -> torch.Tensor:
        """``[C, T]``: :math:`K[t] = c^T A^t e_0`, by doubling: [e0] -> [e0, A e0] -> [.., A^2 e0, A^3 e0] ..."""
        a = self.transition()
        states = torch.zeros_like(a[..., :1])
        states[:, 0, 0] = 1.0
        power = a
        while states.shape[-1] < T:
            states = torch.cat([states, power @ states], dim=-1)
            power = power @ power
        return (self.readout.unsqueeze(-1) * states[..., :T]).sum(1)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        rows = time_last(x_seq)
        current = causal_fft_conv(rows, self.kernel(x_seq.shape[0]).to(rows.dtype))
        return time_first(parallel_integrate_and_fire(current, self.v_threshold, self.surrogate), x_seq.shape)


@register("pmsn")
def build(T: int, channels: int, surrogate: nn.Module, compartments: int = 4, v_threshold: float = 1.0) -> nn.Module:
    if int(compartments) < 1:
        raise ConfigError(f"pmsn: compartments={compartments}; set neuron.compartments to a whole number >= 1")
    return ParallelMultiCompartment(int(channels), int(compartments), surrogate, float(v_threshold))

"""Parallel resonate-and-fire neuron (Huang et al., "PRF: Parallel Resonate and Fire Neuron for Long Sequence
Learning", arXiv 2410.03530)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.registry import register
from snnbench.neurons.layout import causal_fft_conv, time_first, time_last


class ParallelResonateFire(nn.Module):
    r"""PRF: a complex (resonating) membrane per channel, no reset, computed as one FFT convolution over T.

    .. math::
        U[t] = e^{\Delta t_c (-1/\tau + i \omega_c)} \, U[t-1] + \Delta t_c X[t], \qquad U[-1] = 0

        S[t] = \Theta(\mathrm{Re}\, U[t] - V_{th})

    with a learnable step size :math:`\Delta t_c` (stored as its log, drawn log-uniformly in
    ``[dt_min, dt_max]``) and frequency :math:`\omega_c` (drawn uniformly in ``[0, omega_max]``) per channel and
    a fixed :math:`\tau`, as the official code has them (HuuYuLong/prf ``neuron.py``,
    ``ParallelResonateFire.parallelization_step`` and ``sequential_step``: tau 2, dt in [0.001, 0.1],
    phase in [0, 2 pi], input scaled by dt). Without reset the recurrence unrolls to
    :math:`U[t] = \Delta t \sum_{j \le t} \lambda^{t-j} X[j]`; X is real, so :math:`\mathrm{Re}\, U = K * X` with
    the real kernel :math:`K[t] = \Delta t \, e^{-\Delta t\, t / \tau} \cos(\omega \Delta t\, t)`, applied by FFT
    in :math:`O(T \log T)`.
    """

    def __init__(self, channels: int, surrogate: nn.Module, v_threshold: float = 1.0, tau: float = 2.0,
                 dt_min: float = 0.001, dt_max: float = 0.1, omega_max: float = 2 * math.pi) -> None:
        super().__init__()
        self.v_threshold, self.tau = v_threshold, tau
        log_dt = torch.rand(channels) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = nn.Parameter(log_dt)
        self.omega = nn.Parameter(torch.rand(channels) * omega_max)
        self.surrogate = surrogate

    def decay(self) -> torch.Tensor:
        """The complex per-channel factor :math:`\\lambda_c = e^{\\Delta t_c (-1/\\tau + i \\omega_c)}`."""
        dt = self.log_dt.exp()
        return torch.exp(torch.complex(-dt / self.tau, self.omega * dt))

    def kernel(self, T: int) -> torch.Tensor:
        """``[C, T]``: :math:`\\Delta t` times the real part of :math:`\\lambda^t`."""
        t = torch.arange(T, dtype=self.log_dt.dtype, device=self.log_dt.device)
        dt = self.log_dt.exp().unsqueeze(1)
        return dt * torch.exp(-dt * t / self.tau) * torch.cos(self.omega.unsqueeze(1) * dt * t)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        rows = time_last(x_seq)
        membrane = causal_fft_conv(rows, self.kernel(x_seq.shape[0]).to(rows.dtype))
        return time_first(self.surrogate(membrane - self.v_threshold), x_seq.shape)


@register("prf")
def build(T: int, channels: int, surrogate: nn.Module, v_threshold: float = 1.0, tau: float = 2.0,
          dt_min: float = 0.001, dt_max: float = 0.1, omega_max: float = 2 * math.pi) -> nn.Module:
    if not 0 < float(dt_min) <= float(dt_max):
        raise ConfigError(f"prf: dt_min={dt_min}, dt_max={dt_max}; set 0 < neuron.dt_min <= neuron.dt_max")
    return ParallelResonateFire(int(channels), surrogate, float(v_threshold), float(tau), float(dt_min), float(dt_max),
                                float(omega_max))

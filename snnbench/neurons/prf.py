"""Parallel resonate-and-fire neuron (Huang et al., "PRF: Parallel Resonate and Fire Neuron for Long Sequence
Learning", arXiv 2410.03530)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.layout import causal_fft_conv, time_first, time_last


class ParallelResonateFire(nn.Module):
    r"""PRF: a complex (resonating) membrane per channel, no reset, computed as one FFT convolution over T.

    .. math::
        U[t] = e^{\Delta t_c (-b + i \omega_c)} \, U[t-1] + X[t], \qquad U[-1] = 0

        S[t] = \Theta(\mathrm{Re}\, U[t] - V_{th})

    with a learnable step size :math:`\Delta t_c` (stored as its log, drawn log-uniformly in
    ``[dt_min, dt_max]``) and frequency :math:`\omega_c` (drawn uniformly in ``[0, omega_max]``) per channel, a
    fixed decay rate ``b``, and the input added undecayed (``decay_input=False`` in the paper's code). Without
    reset the recurrence unrolls to :math:`U[t] = \sum_{j \le t} \lambda^{t-j} X[j]`; X is real, so
    :math:`\mathrm{Re}\, U = K * X` with the real kernel :math:`K[t] = e^{-b \Delta t\, t} \cos(\omega \Delta t\, t)`,
    applied by FFT in :math:`O(T \log T)`.
    """

    def __init__(self, channels: int, surrogate: nn.Module, v_threshold: float = 1.0, b: float = 1.0,
                 dt_min: float = 0.01, dt_max: float = 0.1, omega_max: float = math.pi) -> None:
        super().__init__()
        self.v_threshold, self.b = v_threshold, b
        log_dt = torch.rand(channels) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = nn.Parameter(log_dt)
        self.omega = nn.Parameter(torch.rand(channels) * omega_max)
        self.surrogate = surrogate

    def decay(self) -> torch.Tensor:
        """The complex per-channel factor :math:`\\lambda_c = e^{\\Delta t_c (-b + i \\omega_c)}`."""
        dt = self.log_dt.exp()
        return torch.exp(torch.complex(-self.b * dt, self.omega * dt))

    def kernel(self, T: int) -> torch.Tensor:
        """``[C, T]``: the real part of :math:`\\lambda^t`."""
        t = torch.arange(T, dtype=self.log_dt.dtype, device=self.log_dt.device)
        dt = self.log_dt.exp().unsqueeze(1)
        return torch.exp(-self.b * dt * t) * torch.cos(self.omega.unsqueeze(1) * dt * t)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        rows = time_last(x_seq)
        membrane = causal_fft_conv(rows, self.kernel(x_seq.shape[0]).to(rows.dtype))
        return time_first(self.surrogate(membrane - self.v_threshold), x_seq.shape)


def build(T: int, channels: int, surrogate: nn.Module, v_threshold: float = 1.0, b: float = 1.0,
          dt_min: float = 0.01, dt_max: float = 0.1, omega_max: float = math.pi) -> nn.Module:
    if not 0 < float(dt_min) <= float(dt_max):
        raise ConfigError(f"prf: dt_min={dt_min}, dt_max={dt_max}; set 0 < neuron.dt_min <= neuron.dt_max")
    return ParallelResonateFire(int(channels), surrogate, float(v_threshold), float(b), float(dt_min), float(dt_max),
                                float(omega_max))

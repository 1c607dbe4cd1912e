"""Parallel multi-compartment spiking neuron (Chen et al., PMSN, IEEE TNNLS), as the official code computes it:
xychen-comp/PMSN, ``seqcifar32/PMSN.py`` (``PMSN_kernel``, ``PMSN_neuron`` with ``reset=True``, ``surrogate_grad``),
trained by ``seqcifar32/run.sh`` (``--reset --coeff 0.2``, ``d_state`` 4, neuron lr 1e-3)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.layout import causal_fft_conv, time_first, time_last
from snnbench.neurons.registry import register


def own_parameter(module: nn.Module, name: str, value: torch.Tensor, lr: float) -> None:
    """A parameter with its own optimiser settings (``_optim``: ``lr``, weight decay 0), as the official
    ``PMSN_kernel.register`` declares the dynamics."""
    module.register_parameter(name, nn.Parameter(value))
    getattr(module, name)._optim = {"lr": lr, "weight_decay": 0.0}


class ParallelSoftResetIF(torch.autograd.Function):
    r"""The official ``surrogate_grad`` (``burst = False``): an integrate-and-fire soma with soft reset for every
    step at once, time the last axis. With :math:`Q[t] = \sum_{j \le t} x[j]` and
    :math:`n[t] = \max(0, \lfloor Q[t-1] / V_{th} \rfloor)` (spikes before t, :math:`Q[-1] = 0`):

    .. math::
        \Delta[t] = Q[t] - n[t] V_{th}, \qquad S[t] = \min(1, \max(0, \lfloor \Delta[t] / V_{th} \rfloor))

    backward local to each step: :math:`\partial S[t] / \partial x[t] = \max(0, 1 - |\Delta[t] - V_{th}|)` (a
    triangle, width 1), nothing through the cumulative sum."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, v_threshold: float) -> torch.Tensor:  # noqa: ANN001
        charge = x.cumsum(-1)
        before = torch.cat([torch.zeros_like(charge[..., :1]), charge[..., :-1]], dim=-1)
        delta = charge - torch.floor(before / v_threshold).clamp(min=0) * v_threshold
        ctx.save_for_backward(delta)
        ctx.v_threshold = v_threshold
        return torch.floor(delta / v_threshold).clamp(min=0, max=1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001
        (delta,) = ctx.saved_tensors
        return grad * (1 - (delta - ctx.v_threshold).abs()).clamp(min=0), None


class PMSNKernel(nn.Module):
    r"""The official ``PMSN_kernel``: per channel a diagonalised complex state space of ``d_state`` compartments.

    The compartments' coupling is the tridiagonal :math:`S` (diagonal -0.5, :math:`S[i][i+1] = 5 (i+1)`,
    :math:`S[i+1][i] = -5 (i+1)`); :math:`A = -e^{\log A_{re}} + i A_{im}` with :math:`A_{re}` the mean of
    :math:`S`'s diagonal and :math:`A_{im}` the eigenvalues of :math:`-iS` (Hermitian part), :math:`B = V^{-1} 1`,
    :math:`C = e_n V` in its eigenbasis, a step :math:`dt = e^{\log dt}`, :math:`\log dt \sim U[\log dt_{min},
    \log dt_{max}]`. Kernel: :math:`K[l] = \mathrm{Re} \sum_n C_n \bar A_n^l \bar B_n`, :math:`\bar A = e^{A dt}`,
    :math:`\bar B = (\bar A - 1) B / A`. Learning rates: ``lr`` for :math:`\log dt, \log A_{re}`, ``10 lr`` for
    the rest, weight decay 0 for all.
    """

    def __init__(self, channels: int, d_state: int = 4, dt_min: float = 1e-3, dt_max: float = 1e-1,
                 lr: float = 1e-3) -> None:
        super().__init__()
        log_dt = torch.rand(channels) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        own_parameter(self, "log_dt", log_dt, lr)
        index = torch.arange(d_state)
        coupling = torch.zeros(d_state, d_state)
        coupling[index, index] = -0.5
        coupling[index[:-1], index[:-1] + 1] = 5.0 * (torch.arange(d_state - 1) + 1)
        coupling[index[1:], index[1:] - 1] = -5.0 * (torch.arange(d_state - 1) + 1)
        a_real = torch.diagonal(coupling).mean() * torch.ones(channels, d_state)
        a_imag, vectors = torch.linalg.eigh(coupling * -1j)
        own_parameter(self, "log_A_real", torch.log(-a_real), lr)
        own_parameter(self, "A_imag", a_imag.unsqueeze(0).repeat(channels, 1), lr * 10)
        readout = torch.zeros(channels, d_state)
        readout[:, -1] = 1
        b = torch.einsum("mn,hn->hm", vectors.conj().T, torch.ones(channels, d_state) + 0j)
        c = torch.einsum("hm,mn->hn", readout + 0j, vectors)
        for name, value in (("VinvB_real", b.real), ("VinvB_imag", b.imag), ("CV_real", c.real),
                            ("CV_imag", c.imag)):
            own_parameter(self, name, value, lr * 10)

    def discrete(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(:math:`A\\,dt`, :math:`\\bar A`, :math:`\\bar B`, :math:`C`), each ``[channels, d_state]``, complex."""
        a = -torch.exp(self.log_A_real) + 1j * self.A_imag
        a_dt = a * torch.exp(self.log_dt).unsqueeze(-1)
        a_bar = torch.exp(a_dt)
        return a_dt, a_bar, (a_bar - 1) * (self.VinvB_real + 1j * self.VinvB_imag) / a, self.CV_real + 1j * self.CV_imag

    def forward(self, T: int) -> torch.Tensor:
        """:math:`K`, ``[channels, T]``: the powers of :math:`\\bar A` as :math:`e^{A\\,dt\\,l}`, the official way."""
        a_dt, _, b_bar, c = self.discrete()
        powers = torch.exp(a_dt.unsqueeze(-1) * torch.arange(T, device=a_dt.device))
        return torch.einsum("hn,hnl->hl", c, powers * b_bar.unsqueeze(-1)).real


class ParallelMultiCompartment(nn.Module):
    r"""PMSN: :math:`Y = K * X + D \odot X` over time per channel (:class:`PMSNKernel`, FFT), then the soma
    :math:`S = \mathrm{IF}(\mathrm{ReLU}(c \, Y))` of :class:`ParallelSoftResetIF`, :math:`c` = ``coeff`` 0.2,
    :math:`V_{th} = 1`. :math:`D \sim N(0, 1)` per channel (default learning rate and weight decay)."""

    def __init__(self, channels: int, d_state: int = 4, coeff: float = 0.2, v_threshold: float = 1.0,
                 dt_min: float = 1e-3, dt_max: float = 1e-1, lr: float = 1e-3) -> None:
        super().__init__()
        self.coeff, self.v_threshold = coeff, v_threshold
        self.D = nn.Parameter(torch.randn(channels))
        self.kernel = PMSNKernel(channels, d_state, dt_min, dt_max, lr)

    def currents(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The soma's input :math:`\\mathrm{ReLU}(c (K * X + D X))`, ``[M, C, T]`` rows (:func:`time_last`)."""
        rows = time_last(x_seq)
        y = causal_fft_conv(rows, self.kernel(x_seq.shape[0]).to(rows.dtype)) + rows * self.D.unsqueeze(-1)
        return torch.relu(y * self.coeff)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return time_first(ParallelSoftResetIF.apply(self.currents(x_seq), self.v_threshold), x_seq.shape)


@register("pmsn")
def build(T: int, channels: int, surrogate: nn.Module, d_state: int = 4, coeff: float = 0.2,
          v_threshold: float = 1.0, dt_min: float = 0.001, dt_max: float = 0.1,
          dynamics_lr: float = 0.001) -> nn.Module:
    """PMSN as the official seqcifar32 code runs it; its own triangle surrogate replaces ``surrogate``."""
    if int(d_state) < 1:
        raise ConfigError(f"pmsn: d_state={d_state}; set neuron.d_state to a whole number >= 1")
    if not 0 < float(dt_min) <= float(dt_max):
        raise ConfigError(f"pmsn: dt_min={dt_min}, dt_max={dt_max}; set 0 < neuron.dt_min <= neuron.dt_max")
    return ParallelMultiCompartment(int(channels), int(d_state), float(coeff), float(v_threshold), float(dt_min),
                                    float(dt_max), float(dynamics_lr))

"""Parallel resonate-and-fire neuron (Huang et al., "PRF: Parallel Resonate and Fire Neuron for Long Sequence
Learning", arXiv 2410.03530)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.registry import register


class ParallelResonateFire(nn.Module):
    r"""PRF: a complex (resonating) membrane per channel, no reset, computed as one FFT convolution over T, as the
    official code computes it (HuuYuLong/prf ``neuron.py``, ``ParallelResonateFire.parallelization_step``).

    .. math::
        U[t] = \beta_c \, U[t-1] + \Delta t_c X[t], \quad \beta_c = e^{\Delta t_c (-1/\tau + i \theta_c)},
        \qquad U[-1] = 0

        S[t] = \Theta(\mathrm{Re}\, U[t] - V_{th})

    computed as :math:`U = K * X` with the complex kernel :math:`K[t] = \Delta t \, \beta^t` (FFT over
    :math:`2T`, time first). Learned per channel: :math:`\log \Delta t` (drawn uniformly between
    :math:`\log 0.1` and :math:`\log 0.001`) and :math:`\log \theta` (:math:`\theta = 2 \pi u`,
    :math:`u \sim U(0, 1)`), each with its own optimiser settings (``_optim``: lr 0.001, weight decay 0, the
    official ``register``); :math:`\tau` = 2 fixed, or with ``learn_decay`` (``prf_train``, the official
    ``PRFNeuronTrain``) :math:`1/\tau` replaced by a learned :math:`e^{\gamma_c}`, :math:`\gamma_c` from
    :math:`\log(1/\tau)`; the surrogate is the config's (ATan by default, as the official default).
    """

    def __init__(self, channels: int, surrogate: nn.Module, v_threshold: float = 1.0, tau: float = 2.0,
                 dt_min: float = 0.001, dt_max: float = 0.1, max_phase: float = 2 * math.pi,
                 dynamics_lr: float = 0.001, dynamics_weight_decay: float = 0.0, learn_decay: bool = False) -> None:
        super().__init__()
        self.v_threshold, self.tau = v_threshold, tau
        log_dt = torch.rand(channels) * (math.log(dt_min) - math.log(dt_max)) + math.log(dt_max)  # official order
        theta_log = torch.log(max_phase * torch.rand(channels))
        learned = [("log_dt", log_dt), ("theta_log", theta_log)]
        if learn_decay:  # PRFNeuronTrain: the decay rate 1/tau learned per channel as its log, gamma
            learned.append(("gamma", torch.full((channels,), math.log(1 / tau))))
        for name, value in learned:
            self.register_parameter(name, nn.Parameter(value))
            getattr(self, name)._optim = {"lr": dynamics_lr, "weight_decay": dynamics_weight_decay}
        self.surrogate = surrogate

    def kernel(self, T: int) -> torch.Tensor:
        r"""``[T, C]`` complex: :math:`\Delta t \, \beta^t`."""
        dt = torch.exp(self.log_dt)
        rate = torch.exp(self.gamma) if hasattr(self, "gamma") else 1 / self.tau
        beta = torch.exp(dt * (-rate + 1j * torch.exp(self.theta_log)))
        return (beta.unsqueeze(-1) ** torch.arange(T, device=beta.device) * dt.unsqueeze(-1)).T

    def membrane(self, x_seq: torch.Tensor) -> torch.Tensor:
        r""":math:`\mathrm{Re}\, U`, ``[T, N, C, ...]``."""
        T = x_seq.shape[0]
        kernel = self.kernel(T).view(T, 1, -1, *([1] * (x_seq.dim() - 3)))
        spectrum = torch.fft.fft(kernel, n=2 * T, dim=0) * torch.fft.fft(x_seq, n=2 * T, dim=0)
        return torch.fft.ifft(spectrum, n=2 * T, dim=0)[:T].real

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.surrogate(self.membrane(x_seq) - self.v_threshold)


@register("prf")
def build(T: int, channels: int, surrogate: nn.Module, v_threshold: float = 1.0, tau: float = 2.0,
          dt_min: float = 0.001, dt_max: float = 0.1, max_phase: float = 2 * math.pi, dynamics_lr: float = 0.001,
          dynamics_weight_decay: float = 0.0) -> nn.Module:
    """PRF as the official code computes it (see :class:`ParallelResonateFire`)."""
    if not 0 < float(dt_min) <= float(dt_max):
        raise ConfigError(f"prf: dt_min={dt_min}, dt_max={dt_max}; set 0 < neuron.dt_min <= neuron.dt_max")
    return ParallelResonateFire(int(channels), surrogate, float(v_threshold), float(tau), float(dt_min),
                                float(dt_max), float(max_phase), float(dynamics_lr), float(dynamics_weight_decay))


@register("prf_train")
def build_with_learned_decay(T: int, channels: int, surrogate: nn.Module, v_threshold: float = 1.0, tau: float = 2.0,
                             dt_min: float = 0.001, dt_max: float = 0.1, max_phase: float = 2 * math.pi,
                             dynamics_lr: float = 0.001, dynamics_weight_decay: float = 0.0) -> nn.Module:
    """PRF whose decay rate is learned too (the official ``PRFNeuronTrain``, the paper's small sMNIST, psMNIST and
    sequential-CIFAR models): :math:`\beta = e^{\Delta t (-e^{\gamma} + i \theta)}`, :math:`\gamma` starting at
    :math:`\log(1/\tau)`, with the dynamics' optimiser settings."""
    if not 0 < float(dt_min) <= float(dt_max):
        raise ConfigError(f"prf_train: dt_min={dt_min}, dt_max={dt_max}; set 0 < neuron.dt_min <= neuron.dt_max")
    return ParallelResonateFire(int(channels), surrogate, float(v_threshold), float(tau), float(dt_min),
                                float(dt_max), float(max_phase), float(dynamics_lr), float(dynamics_weight_decay),
                                learn_decay=True)

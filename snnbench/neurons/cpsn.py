"""Channel-wise parallel spiking neuron (Xue, Fang et al., NeurIPS 2025, arXiv 2501.14490)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from snnbench.errors import ConfigError
from snnbench.neurons.registry import register
from snnbench.neurons.layout import time_first, time_last


def power_of_two(w: torch.Tensor) -> torch.Tensor:
    """``sign(w) * 2^round(log2 |w|)`` (0 stays 0), with a straight-through gradient on the whole quantiser."""
    magnitude = w.detach().abs()
    quantised = torch.where(magnitude > 0, torch.sign(w.detach()) * torch.exp2(torch.round(torch.log2(
        magnitude.clamp(min=torch.finfo(w.dtype).tiny)))), torch.zeros_like(w))
    return w + (quantised - w).detach()


class ChannelwisePSN(nn.Module):
    r"""CPSN: a causal, dilated, depthwise convolution over time with power-of-two weights and no reset.

    .. math::
        H[t][c] = \sum_{i=0}^{k-1} W[c][i] \, X[t - i d][c], \qquad X[j < 0] = 0

        S[t][c] = \Theta\big(\gamma_c (H[t][c] - \mu_c) / \sigma_c + \beta_c\big)

    The per-channel threshold is a BatchNorm over ``(T, N, ...)`` (:math:`\gamma = 1, \beta = -1` at start,
    i.e. threshold 1), fused into the weights before they are quantised (the paper's multiplication-free
    inference): :math:`W' = \gamma W / \sigma`, :math:`b = \beta - \gamma \mu / \sigma`,
    :math:`W_q = \mathrm{sign}(W') \, 2^{\mathrm{round}(\log_2 |W'|)}` with a straight-through gradient, then
    :math:`S = \Theta(W_q * X + b)`. In training :math:`\mu, \sigma^2` are the batch's statistics of
    :math:`H = W * X` (running averages are kept for evaluation), so gradients reach them as in BatchNorm.

    The dilation ``d`` grows layer by layer in a sawtooth in the paper (its Eq. 11); the exact rule is not
    public, so ``d`` is a per-layer setting: layer ``i`` of a network takes ``dilations[i % len(dilations)]``
    (default 1, 2, 3, 1, 2, 3, ...). ``quantize=False`` is the paper's full-precision ablation.
    """

    def __init__(self, channels: int, k: int, dilation: int, surrogate: nn.Module, quantize: bool = True,
                 momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.k, self.dilation, self.quantize, self.momentum, self.eps = k, dilation, quantize, momentum, eps
        self.weight = nn.Parameter(torch.empty(channels, k))
        nn.init.kaiming_uniform_(self.weight.view(channels, 1, k), a=5 ** 0.5)
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.full((channels,), -1.0))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.surrogate = surrogate

    def conv(self, rows: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Causal dilated depthwise convolution of ``[M, C, T]`` rows; ``weight[c, i]`` multiplies X[t - i d]."""
        pad = (self.k - 1) * self.dilation
        kernel = weight.flip(1).unsqueeze(1)  # conv1d correlates: the oldest tap first
        return F.conv1d(F.pad(rows, (pad, 0)), kernel, dilation=self.dilation, groups=rows.shape[1])

    def fused(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Weights and bias with the BatchNorm folded in (batch statistics in training), quantised if set."""
        if self.training:
            h = self.conv(rows, self.weight)
            mean, var = h.mean(dim=(0, 2)), h.var(dim=(0, 2), unbiased=False)
            with torch.no_grad():
                n = h.numel() / h.shape[1]
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * n / max(n - 1, 1), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.gamma / torch.sqrt(var + self.eps)
        weight = self.weight * scale.unsqueeze(1)
        return (power_of_two(weight) if self.quantize else weight), self.beta - scale * mean

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        rows = time_last(x_seq)
        weight, bias = self.fused(rows)
        h = self.conv(rows, weight) + bias.view(1, -1, 1)
        return time_first(self.surrogate(h), x_seq.shape)

    def extra_repr(self) -> str:
        return f"k={self.k}, dilation={self.dilation}, quantize={self.quantize}"


@register("cpsn")
def build(T: int, channels: int, surrogate: nn.Module, layer_index: int = 0, k: int = 16,
          dilations: tuple[int, ...] = (1, 2, 3), quantize: bool = True) -> nn.Module:
    if int(k) < 1:
        raise ConfigError(f"cpsn: order k={k} is impossible; set neuron.k to an integer >= 1")
    dilations = tuple(int(d) for d in dilations)
    if not dilations or min(dilations) < 1:
        raise ConfigError(f"cpsn: dilations={list(dilations)}; give a list of whole numbers >= 1, e.g. [1, 2, 3]")
    return ChannelwisePSN(int(channels), int(k), dilations[layer_index % len(dilations)], surrogate, bool(quantize))

"""Losses on multi-step network outputs ``[T, N, classes]``."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class MeanOutputCrossEntropy(nn.Module):
    """Cross-entropy of the time-averaged output: CE(mean_t out[t], y), with optional label smoothing."""

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out.mean(0), target, label_smoothing=self.label_smoothing)


class TETLoss(nn.Module):
    """TET loss (Deng et al. 2022) as the PSN paper used it on CIFAR10-DVS:

    (1 - lam) * mean_t CE(out[t], y) + lam * MSE(out, target), with lam = 0.001 and target 1.0.
    The prediction stays the time-averaged output.
    """

    def __init__(self, lam: float = 0.001, mse_target: float = 1.0) -> None:
        super().__init__()
        self.lam, self.mse_target = lam, mse_target

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        T = out.shape[0]
        ce = F.cross_entropy(out.flatten(0, 1), target.repeat(T) if target.ndim == 1 else target.repeat(T, 1))
        mse = F.mse_loss(out, torch.full_like(out, self.mse_target))
        return (1 - self.lam) * ce + self.lam * mse

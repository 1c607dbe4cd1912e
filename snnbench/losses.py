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

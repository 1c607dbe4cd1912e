"""Batch normalisation whose training statistics are those of ``nn.DataParallel`` over several devices."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ReplicaBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d on multi-step input ``[T, N, C, H, W]``, normalising each of ``replicas`` parts of the batch
    on its own, as ``nn.DataParallel`` does when it splits a batch over that many GPUs.

    In training the batch is cut along N like DataParallel's scatter (``torch.chunk``: 32 -> 16 + 16, 9 -> 5 + 4),
    and each part is normalised with the mean and variance of its own n x T x H x W values. The running
    statistics are updated from the first part only: DataParallel keeps the in-place buffer updates of the replica
    on device 0 and drops the others. In evaluation (running statistics) and with ``replicas=1`` this is plain
    BatchNorm2d over the whole batch and all T steps.
    """

    def __init__(self, num_features: int, replicas: int = 1, **kwargs: object) -> None:
        super().__init__(num_features, **kwargs)
        if int(replicas) < 1:
            raise ValueError(f"replicas={replicas}: the batch is normalised in at least 1 part")
        self.replicas = int(replicas)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not self.training or self.replicas == 1:
            return super().forward(x_seq.flatten(0, 1)).view(x_seq.shape)
        parts = []
        for index, part in enumerate(x_seq.chunk(self.replicas, dim=1)):
            flat = part.flatten(0, 1)
            if index == 0:
                out = super().forward(flat)  # updates the running statistics, like device 0's replica
            else:
                out = F.batch_norm(flat, None, None, self.weight, self.bias, training=True, eps=self.eps)
            parts.append(out.view(part.shape))
        return torch.cat(parts, dim=1)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, replicas={self.replicas}"

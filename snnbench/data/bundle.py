"""What every dataset builder returns, and the one place a batch becomes ``[T, N, ...]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import torch
from torch.utils.data import Dataset

Encoding = Literal["static", "sequence"]


@dataclass
class DataBundle:
    """Train and test sets of one dataset, with what a network needs to know about them.

    ``encoding`` says how a sample becomes a spike-network input:
    ``static`` samples have shape ``step_shape`` and are repeated over T steps (direct encoding);
    ``sequence`` samples already have shape ``[T, *step_shape]``.
    ``collate_train`` / ``collate_test`` replace the DataLoader's default collation where a dataset
    works on whole batches (Mixup/CutMix, image-to-sequence layout); train labels may then be soft.
    """

    train: Dataset
    test: Dataset
    num_classes: int
    step_shape: tuple[int, ...]
    T: int
    encoding: Encoding
    collate_train: Callable | None = None
    collate_test: Callable | None = None


def to_time_major(x: torch.Tensor, encoding: Encoding, T: int) -> torch.Tensor:
    """Turn a loader batch into the multi-step layout ``[T, N, *step_shape]``."""
    if encoding == "static":
        return x.unsqueeze(0).expand(T, *x.shape)
    return x.transpose(0, 1)

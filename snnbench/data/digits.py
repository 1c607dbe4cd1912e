"""scikit-learn's handwritten digits (8x8 images, 1797 samples, 10 classes), shipped with scikit-learn.

The real data for checks that a network learns, available offline. Three views:

==========  =========  =====================  ========================================
layout      encoding   sample shape           T
==========  =========  =====================  ========================================
image       static     [1, 8, 8]              any (image repeated over T), default 4
rows        sequence   [8, 1, 8]              8: one image row per step
pixels      sequence   [64, 1]                64: one pixel per step (long dependency)
==========  =========  =====================  ========================================

Pixels are scaled to [0, 1] and standardised with the training set's mean and std.
The train/test split is stratified and fixed by ``split_seed`` (not by the run's seed),
so every run of a sweep is evaluated on the same test images.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import TensorDataset

from snnbench.data.bundle import DataBundle
from snnbench.data.source import DataSource
from snnbench.errors import ConfigError

Layout = Literal["image", "rows", "pixels"]
_FIXED_T = {"rows": 8, "pixels": 64}


class Digits(DataSource):
    """The digits in one of their three layouts (see the module docstring)."""

    def __init__(self, T: int, layout: Layout = "image", test_fraction: float = 0.2, split_seed: int = 0) -> None:
        if layout not in ("image", "rows", "pixels"):
            raise ConfigError(f"unknown digits layout '{layout}'; choose image, rows or pixels")
        fixed_T = _FIXED_T.get(layout)
        if fixed_T is not None and T != fixed_T:
            raise ConfigError(f"digits with layout '{layout}' has exactly {fixed_T} time steps; got T={T}, remove the T override")
        self.T, self.layout, self.test_fraction, self.split_seed = T, layout, test_fraction, split_seed
        self.step_shape = {"image": (1, 8, 8), "rows": (1, 8), "pixels": (1,)}[layout]
        self.num_classes = 10

    def load(self) -> DataBundle:
        images, labels = load_digits(return_X_y=True)
        images = images.astype(np.float32) / 16.0
        x_train, x_test, y_train, y_test = train_test_split(
            images, labels, test_size=self.test_fraction, stratify=labels, random_state=self.split_seed
        )
        mean, std = x_train.mean(), x_train.std()
        shape = {"image": (1, 8, 8), "rows": (8, 1, 8), "pixels": (64, 1)}[self.layout]

        def tensors(x: np.ndarray, y: np.ndarray) -> TensorDataset:
            x = torch.from_numpy((x - mean) / std).reshape(len(x), *shape)
            return TensorDataset(x, torch.from_numpy(y).long())

        return DataBundle(
            train=tensors(x_train, y_train),
            test=tensors(x_test, y_test),
            num_classes=self.num_classes,
            step_shape=self.step_shape,
            T=self.T,
            encoding="static" if self.layout == "image" else "sequence",
        )

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

The images are read from scikit-learn's own file (``sklearn/datasets/data/digits.csv.gz``, what ``load_digits``
reads) and split as ``train_test_split(..., stratify=labels, random_state=split_seed)`` splits them, without
importing scikit-learn: its import costs every run 1.4 s of start-up. ``tests/test_datasets.py`` checks both
against scikit-learn itself.
"""

from __future__ import annotations

import gzip
import importlib.util
from math import ceil
from pathlib import Path
from typing import Literal

import numpy as np
import torch
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
        images, labels = digits_arrays()
        images = images.astype(np.float32) / 16.0
        train, test = stratified_split(labels, self.test_fraction, self.split_seed)
        x_train, x_test, y_train, y_test = images[train], images[test], labels[train], labels[test]
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


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 images (flattened, 0..16) and labels, from scikit-learn's data file, as ``load_digits`` gives them."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the digits come with scikit-learn: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1], data[:, -1].astype(int)


def _approximate_mode(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of ``draws`` to take from each class: the floor of the proportional share, then one more for the
    classes with the largest remainders, ties broken at random (scikit-learn's rule, so that splits agree)."""
    share = counts / counts.sum() * draws
    taken = np.floor(share)
    missing = int(draws - taken.sum())
    remainder = share - taken
    for value in np.sort(np.unique(remainder))[::-1]:
        if missing <= 0:
            break
        (candidates,) = np.where(remainder == value)
        now = min(len(candidates), missing)
        taken[rng.choice(candidates, size=now, replace=False)] += 1
        missing -= now
    return taken.astype(int)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with each class in proportion: the split of scikit-learn's
    ``train_test_split(test_size=test_fraction, stratify=labels, random_state=seed)``."""
    n_test = ceil(test_fraction * len(labels))
    n_train = len(labels) - n_test
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    by_class = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(counts, n_train, rng)
    t_i = _approximate_mode(counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i, members in enumerate(by_class):
        shuffled = members.take(rng.permutation(counts[i]), mode="clip")
        train.extend(shuffled[:n_i[i]])
        test.extend(shuffled[n_i[i]:n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)

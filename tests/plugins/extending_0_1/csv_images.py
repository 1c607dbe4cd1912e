"""A dataset of your own: square grey images in a CSV file (``label,pixel_0,...,pixel_{n-1}`` per line, pixels in
[0, 1]), in one of three encodings:

==========  =========================================  ==================
encoding    each sample                                T
==========  =========================================  ==================
static      the image ``[1, side, side]``, repeated    any (default 4)
rows        one image row per step ``[side, 1, side]``  side
pixels      one pixel per step ``[side * side, 1]``     side * side
==========  =========================================  ==================

The last ``test_fraction`` of the lines is the test set. Pixels are standardised with the training set's
mean and std.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from snnbench.data import DataBundle
from snnbench.data.source import DataSource, FileCheck, MissingDataError
from snnbench.errors import ConfigError


class CSVImages(DataSource):
    """The DataSource contract: ``step_shape`` and ``num_classes`` known without the file (for ``snnbench info``),
    ``check()`` for ``snnbench data check``, ``load()`` -> a DataBundle."""

    def __init__(self, T: int, root: str, file: str, encoding: str = "static", side: int = 8,
                 num_classes: int = 10, test_fraction: float = 0.2) -> None:
        fixed_T = {"rows": side, "pixels": side * side}.get(encoding)
        if encoding not in ("static", "rows", "pixels"):
            raise ConfigError(f"dataset.build.encoding={encoding!r}: choose static, rows or pixels")
        if fixed_T is not None and T != fixed_T:
            raise ConfigError(f"encoding {encoding!r} has exactly {fixed_T} steps; got T={T}, remove the T override")
        self.T, self.path, self.encoding, self.side = T, Path(root) / file, encoding, side
        self.num_classes, self.test_fraction = num_classes, test_fraction
        self.step_shape = {"static": (1, side, side), "rows": (1, side), "pixels": (1,)}[encoding]

    def check(self) -> list[FileCheck]:
        return [FileCheck(self.path, self.path.is_file(), "CSV: label, then side*side pixels in [0, 1]")]

    def load(self) -> DataBundle:
        if not self.path.is_file():
            raise MissingDataError(f"no CSV at {self.path}; write one with make_csv.py, or set data_root")
        table = np.loadtxt(self.path, delimiter=",", dtype=np.float32, ndmin=2)
        labels, pixels = table[:, 0].astype(np.int64), table[:, 1:]
        if pixels.shape[1] != self.side ** 2:
            raise MissingDataError(f"{self.path} has {pixels.shape[1]} pixels a line, not {self.side ** 2}")
        split = len(table) - math.ceil(len(table) * self.test_fraction)
        mean, std = pixels[:split].mean(), pixels[:split].std()
        shape = {"static": (1, self.side, self.side), "rows": (self.side, 1, self.side),
                 "pixels": (self.side ** 2, 1)}[self.encoding]

        def tensors(rows: slice) -> TensorDataset:
            x = torch.from_numpy((pixels[rows] - mean) / std).reshape(-1, *shape)
            return TensorDataset(x, torch.from_numpy(labels[rows]))

        return DataBundle(train=tensors(slice(0, split)), test=tensors(slice(split, None)),
                          num_classes=self.num_classes, step_shape=self.step_shape, T=self.T,
                          encoding="static" if self.encoding == "static" else "sequence")

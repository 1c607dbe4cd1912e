"""Sequential MNIST (sMNIST) and permuted sequential MNIST (psMNIST): one pixel per step, T = 784.

On disk under ``data_root``: ``MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (the IDX files,
uncompressed), exactly as torchvision's download leaves them. psMNIST applies one fixed random permutation to
the 784 pixel positions of every image, drawn from ``permutation_seed`` (recorded with the run's config).
Sample layout ``[784, 1]``: batch ``[N, T, 1]``. Pixels scaled to [0, 1] and normalised with MNIST's mean and std.
"""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import torch
from torch.utils.data import Dataset
from torchvision import datasets

from snnbench.data.bundle import DataBundle
from snnbench.data.source import DataSource, FileCheck, MissingDataError
from snnbench.errors import ConfigError

FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
MEAN, STD = 0.1307, 0.3081
URL = "https://ossci-datasets.s3.amazonaws.com/mnist/ (torchvision's mirror; also http://yann.lecun.com/exdb/mnist/)"


def permutation(seed: int, size: int = 784) -> torch.Tensor:
    """The fixed pixel order of psMNIST: the same for every image, every run and every machine with this seed."""
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed))


class PixelSequences(Dataset):
    """A torchvision MNIST split as ``[784, 1]`` pixel sequences, in a given pixel order."""

    def __init__(self, mnist: datasets.MNIST, order: torch.Tensor | None) -> None:
        pixels = (mnist.data.reshape(len(mnist.data), -1).float() / 255.0 - MEAN) / STD
        self.x = (pixels if order is None else pixels[:, order]).unsqueeze(-1)
        self.y = mnist.targets

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


class SequentialMNIST(DataSource):
    """sMNIST, or psMNIST with ``permuted=True`` (see the module docstring)."""

    def __init__(self, T: int, root: str, permuted: bool = False, permutation_seed: int = 0,
                 download: bool = True) -> None:
        if T != 784:
            raise ConfigError(f"sequential MNIST has exactly 784 time steps (pixels); got T={T}, remove the T override")
        self.T, self.root, self.permuted, self.permutation_seed, self.download = T, Path(root), permuted, \
            permutation_seed, download
        self.step_shape, self.num_classes = (1,), 10

    @property
    def folder(self) -> Path:
        return self.root / "MNIST" / "raw"

    def check(self) -> list[FileCheck]:
        return [FileCheck(self.folder / name, (self.folder / name).is_file(), "MNIST IDX file") for name in FILES]

    def _split(self, train: bool) -> datasets.MNIST:
        try:
            return datasets.MNIST(str(self.root), train=train, download=self.download and bool(self.missing()))
        except (URLError, OSError, RuntimeError, ValueError) as err:
            raise MissingDataError(
                f"MNIST is not usable in {self.folder} ({str(err).splitlines()[0]}). Missing: "
                f"{', '.join(self.missing()) or 'none (a file is corrupt: delete the folder)'}. Download the four .gz files from "
                f"{URL} and extract them (uncompressed IDX files) into {self.folder}, or run online with "
                f"dataset.build.download=true"
            ) from None

    def load(self) -> DataBundle:
        order = permutation(self.permutation_seed) if self.permuted else None
        return DataBundle(train=PixelSequences(self._split(True), order), test=PixelSequences(self._split(False), order),
                          num_classes=10, step_shape=self.step_shape, T=self.T, encoding="sequence")

"""Frames converted once and stored as one array per split, so that loading a sample is a slice of a
memory-mapped ``.npy`` file instead of a decompression and an event integration."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from snnbench.runs import atomic_write_text


class FrameArrayDataset(Dataset):
    """Samples ``frames[i]`` (as float32 tensors) and ``labels[i]`` of a cache folder; opened lazily so that
    each DataLoader worker maps the file itself."""

    def __init__(self, folder: Path, transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.folder, self.transform = folder, transform
        self.labels = np.load(folder / "labels.npy")
        self._frames: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if self._frames is None:
            self._frames = np.load(self.folder / "frames.npy", mmap_mode="r")
        x = torch.from_numpy(self._frames[index].astype(np.float32))
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[index])


class FrameCache:
    """One split's cached frames in ``folder``: ``frames.npy`` [n, *shape], ``labels.npy`` [n], ``meta.json``.

    ``key`` names everything the frames depend on (T, binning, size, split rule, source files);
    the cache is valid only when ``meta.json`` holds the same key, and ``meta.json`` is written last.
    """

    def __init__(self, folder: Path, key: dict[str, Any]) -> None:
        self.folder, self.key = folder, key

    def is_valid(self) -> bool:
        meta = self.folder / "meta.json"
        return meta.exists() and json.loads(meta.read_text()) == self.key and (self.folder / "frames.npy").exists()

    def build(self, count: int, sample: Callable[[int], tuple[np.ndarray, int]], shape: tuple[int, ...],
              dtype: np.dtype, desc: str, threads: int = 4) -> None:
        """Fill the cache with ``sample(i) -> (frames, label)`` for i < count, with a progress bar."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "meta.json").unlink(missing_ok=True)
        tmp = self.folder / "frames.tmp.npy"
        frames = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(count, *shape))
        labels = np.empty(count, dtype=np.int64)

        def fill(i: int) -> None:
            frames[i], labels[i] = sample(i)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(tqdm(pool.map(fill, range(count)), total=count, desc=desc, dynamic_ncols=True))
        frames.flush()
        del frames
        os.replace(tmp, self.folder / "frames.npy")
        np.save(self.folder / "labels.npy", labels)
        atomic_write_text(self.folder / "meta.json", json.dumps(self.key, indent=2))

    def dataset(self, transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> FrameArrayDataset:
        return FrameArrayDataset(self.folder, transform)

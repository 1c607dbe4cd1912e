"""Frames converted once and stored as one array per split, so that loading a sample is a slice of a
memory-mapped ``.npy`` file instead of a decompression and an event integration."""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from filelock import FileLock, Timeout
from torch.utils.data import Dataset
from tqdm import tqdm

from snnbench.runs.files import atomic_write_text

log = logging.getLogger("snnbench")


@contextmanager
def preparation_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder/.snnbench-prepare.lock`` (flock) while preparing a dataset: parallel sweep jobs and torchrun
    ranks that load the same data wait for the one that prepares it, then find it ready."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / ".snnbench-prepare.lock"), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info(f"another process is preparing {folder}; waiting for it")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


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
    the cache is valid only when ``meta.json`` holds the same key, and ``meta.json`` is written last; every file
    appears by an atomic rename, so a reader never sees a half-built cache. Build under :func:`preparation_lock`.
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
        tmp = self.folder / f".frames.{os.getpid()}.tmp.npy"
        frames = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(count, *shape))
        labels = np.empty(count, dtype=np.int64)

        def fill(i: int) -> None:
            frames[i], labels[i] = sample(i)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(tqdm(pool.map(fill, range(count)), total=count, desc=desc, dynamic_ncols=True))
        frames.flush()
        del frames
        os.replace(tmp, self.folder / "frames.npy")
        labels_tmp = self.folder / f".labels.{os.getpid()}.tmp.npy"
        np.save(labels_tmp, labels)
        os.replace(labels_tmp, self.folder / "labels.npy")
        atomic_write_text(self.folder / "meta.json", json.dumps(self.key, indent=2))

    def dataset(self, transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> FrameArrayDataset:
        return FrameArrayDataset(self.folder, transform)

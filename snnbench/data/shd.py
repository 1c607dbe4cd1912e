"""Spiking Heidelberg Digits (Cramer et al. 2020) through tonic, binned once into a memory-mapped cache.

On disk under ``data_root/SHD/`` (tonic's layout): ``shd_train.h5``, ``shd_test.h5`` and the archives
``shd_train.h5.zip``, ``shd_test.h5.zip`` tonic downloads them from (it checks that the archives exist).
Our cache: ``SHD/snnbench_frames/T<T>_<duration>ms/{train,test}/``.

Binning (our own; it has neither known bug: SpikingJelly's frame mode returns labels in string order,
tonic's ToFrame drops the last event): spikes of the 700 input channels are counted in T equal time bins
over ``[0, duration_ms]``. The default window of 1400 ms covers the longest SHD recording (about 1.37 s),
so no spike is lost; a spike past the window would be counted in the last bin. Default T = 100 (14 ms bins).
Samples are ``[T, 700]`` spike counts; 20 classes (digits 0-9 in English and German); the official split.
"""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import numpy as np
import tonic
from torch.utils.data import Dataset

from snnbench.data.bundle import DataBundle
from snnbench.data.frame_cache import FrameCache, preparation_lock
from snnbench.data.source import DataSource, FileCheck, MissingDataError
from snnbench.errors import ConfigError

CHANNELS = 700
SOURCE = "https://zenkelab.org/datasets/"


def bin_spikes(times_us: np.ndarray, units: np.ndarray, T: int, duration_us: float) -> np.ndarray:
    """Spike counts ``[T, 700]``: bin t = floor(t / duration * T), clipped to the last bin; no spike dropped."""
    bins = np.minimum((times_us * T / duration_us).astype(np.int64), T - 1)
    counts = np.zeros((T, CHANNELS), dtype=np.int64)
    np.add.at(counts, (bins, units.astype(np.int64)), 1)
    return np.minimum(counts, 255).astype(np.uint8)


class SHD(DataSource):
    """SHD as ``[T, 700]`` spike-count frames (see the module docstring)."""

    def __init__(self, T: int, root: str, duration_ms: float = 1400.0, download: bool = True, threads: int = 4) -> None:
        if duration_ms <= 0:
            raise ConfigError(f"shd: duration_ms={duration_ms} must be positive")
        self.T, self.root, self.duration_ms = T, Path(root), duration_ms
        self.download, self.threads = download, threads
        self.folder = self.root / "SHD"
        self.step_shape, self.num_classes = (CHANNELS,), 20

    def _missing(self, reason: str) -> MissingDataError:
        return MissingDataError(
            f"SHD is not in {self.folder} ({reason}). Place shd_train.h5.zip and shd_test.h5.zip from {SOURCE} "
            f"into {self.folder} together with the extracted shd_train.h5 and shd_test.h5 "
            f"(tonic extracts the archives when it downloads them); online, dataset.build.download=true fetches them"
        )

    def check(self) -> list[FileCheck]:
        names = ["shd_train.h5", "shd_test.h5", "shd_train.h5.zip", "shd_test.h5.zip"]
        checks = [FileCheck(self.folder / n, (self.folder / n).is_file(), "tonic file") for n in names]
        for split in ("train", "test"):
            cache = self._cache(split, 0)
            checks.append(FileCheck(cache.folder, (cache.folder / "meta.json").exists(), f"{split} frame cache for T={self.T}"))
        return checks

    def _events(self, train: bool) -> Dataset:
        if not self.download and not all(c.present for c in self.check()[:4]):
            raise self._missing("files missing and dataset.build.download=false")
        try:
            return tonic.datasets.SHD(str(self.root), train=train)
        except (URLError, OSError, KeyError, ValueError) as err:
            raise self._missing(f"{type(err).__name__}: {err}") from None

    def _cache(self, split: str, samples: int) -> FrameCache:
        key = {"dataset": "shd", "split": split, "T": self.T, "duration_ms": self.duration_ms, "samples": samples}
        return FrameCache(self.folder / "snnbench_frames" / f"T{self.T}_{self.duration_ms:g}ms" / split, key)

    def _prepared_caches(self) -> dict[str, FrameCache]:
        """Both splits' frame caches, built once under a lock (see :func:`preparation_lock`)."""
        with preparation_lock(self.folder):
            caches = {}
            for split in ("train", "test"):
                events = self._events(train=split == "train")
                cache = self._cache(split, len(events))
                if not cache.is_valid():
                    def sample(i: int, events: Dataset = events) -> tuple[np.ndarray, int]:
                        spikes, label = events[i]
                        return bin_spikes(spikes["t"], spikes["x"], self.T, self.duration_ms * 1000), int(label)

                    cache.build(len(events), sample, shape=(self.T, CHANNELS), dtype=np.uint8,
                                desc=f"shd {split} frames (T={self.T})", threads=self.threads)
                caches[split] = cache
            return caches

    def load(self) -> DataBundle:
        caches = self._prepared_caches()
        return DataBundle(train=caches["train"].dataset(), test=caches["test"].dataset(), num_classes=self.num_classes,
                          step_shape=self.step_shape, T=self.T, encoding="sequence")

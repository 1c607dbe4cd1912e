"""CIFAR10-DVS (Li et al. 2017) through SpikingJelly's loader, framed once into a memory-mapped cache.

On disk under ``data_root/cifar10dvs/`` (SpikingJelly's layout, then ours)::

    download/<class>.zip                          the 10 figshare archives (SpikingJelly downloads, md5-checks)
    extract/<class>/cifar10_<class>_<i>.aedat     AEDAT-2.0 recordings (SpikingJelly extracts)
    events_np/<class>/cifar10_<class>_<i>.npz     events t, x, y, p (SpikingJelly converts)
    snnbench_frames/T<T>_<split_by>_<size>px_test<k>/{train,test}/   our frame cache

Split (the PSN paper's; there is no official one): per class, recordings 0..k-1 (k = ``test_per_class``,
100) are test and k..999 train. We build it ourselves from the files that exist, never with SpikingJelly's
TEBN helper, which writes train/ and test/ links into SpikingJelly's own frame folders.
Frames: SpikingJelly's ``integrate_events_by_fixed_frames_number`` (``split_by='number'``: equal event
counts per frame), 2 polarities x 128 x 128 counts, resized to ``size`` bilinearly, float16. ``antialias``: false
(the official code's ``transforms.Resize((48, 48))`` on a tensor with torchvision <= 0.15: point-sampled, sparse
frames) or true (smooth, dense frames); the two settings are two different caches.
Train augmentation: RandomCrop(size, padding) + horizontal flip; test: none.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path
from urllib.error import URLError

import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.datasets import cifar10_dvs, integrate_events_by_fixed_frames_number
from torchvision.transforms import v2

from snnbench.data.bundle import DataBundle
from snnbench.data.frame_cache import FrameCache, preparation_lock
from snnbench.data.source import DataSource, FileCheck, MissingDataError
from snnbench.errors import ConfigError

log = logging.getLogger("snnbench")
SOURCE = "https://figshare.com/articles/dataset/CIFAR10-DVS_New/4724671"
PER_CLASS = 1000


def clear_stale_markers(base: Path, explain: bool = True) -> None:
    """Remove SpikingJelly's ``*.building`` markers left by a failed preparation, with the partial folder
    each guards (derived data that SpikingJelly rebuilds); otherwise every later load refuses to start."""
    for marker in base.glob("*.building"):
        partial = base / marker.name.removesuffix(".building")
        if explain:
            log.warning(f"found {marker} from an earlier preparation that did not finish: "
                        f"removing it and the partial folder {partial}; it will be rebuilt")
        shutil.rmtree(partial, ignore_errors=True)
        marker.unlink()


def resize_frames(frames: np.ndarray, size: int, antialias: bool) -> np.ndarray:
    """``[T, 2, 128, 128]`` counts to ``[T, 2, size, size]`` float16, bilinear (align_corners false)."""
    resized = F.interpolate(torch.from_numpy(frames).float(), size=(size, size), mode="bilinear",
                            antialias=antialias, align_corners=False)
    return resized.numpy().astype(np.float16)


class CIFAR10DVS(DataSource):
    """CIFAR10-DVS frames ``[T, 2, size, size]`` with the paper's split (see the module docstring)."""

    def __init__(self, T: int, root: str, split_by: str = "number", size: int = 48, test_per_class: int = 100,
                 download: bool = True, crop_padding: int = 4, flip: bool = True, threads: int = 4,
                 antialias: bool = False) -> None:
        if split_by not in ("number", "time"):
            raise ConfigError(f"cifar10dvs: split_by={split_by!r}; choose number or time")
        if not 0 < test_per_class < PER_CLASS:
            raise ConfigError(f"cifar10dvs: test_per_class={test_per_class} must be between 1 and {PER_CLASS - 1}")
        self.T, self.base = T, Path(root) / "cifar10dvs"
        self.split_by, self.size, self.test_per_class, self.antialias = split_by, size, test_per_class, bool(antialias)
        self.download, self.crop_padding, self.flip, self.threads = download, crop_padding, flip, threads
        self.step_shape, self.num_classes = (2, size, size), 10

    def _missing(self, reason: str) -> MissingDataError:
        return MissingDataError(
            f"CIFAR10-DVS is not in {self.base} ({reason}). Place the 10 archives airplane.zip, automobile.zip, ..., "
            f"truck.zip from {SOURCE} into {self.base / 'download'} (SpikingJelly extracts and converts them), "
            f"or converted events into {self.base / 'events_np'}/<class>/cifar10_<class>_<i>.npz; "
            f"online, dataset.build.download=true fetches them"
        )

    def check(self) -> list[FileCheck]:
        checks = [FileCheck(self.base / "events_np", (self.base / "events_np").is_dir(), "converted events")]
        for name, _, _ in cifar10_dvs.CIFAR10DVS.resource_url_md5():
            path = self.base / "download" / name
            checks.append(FileCheck(path, path.is_file(), "archive (not needed once events_np exists)"))
        checks += [FileCheck(m, False, "stale SpikingJelly marker: removed on the next load") for m in self.base.glob("*.building")]
        for split in ("train", "test"):
            cache = self._cache(split, self._files(split) if (self.base / "events_np").is_dir() else [])
            checks.append(FileCheck(cache.folder, cache.is_valid(), f"{split} frame cache for T={self.T}"))
        return checks

    def _events(self) -> list[tuple[Path, int]]:
        """(events file, label) of every recording, preparing SpikingJelly's events_np if needed."""
        clear_stale_markers(self.base)
        if not (self.base / "events_np").is_dir() and not self.download and not (self.base / "download").is_dir():
            raise self._missing("no events_np folder and dataset.build.download=false")
        self.base.mkdir(parents=True, exist_ok=True)
        try:
            dataset = cifar10_dvs.CIFAR10DVS(str(self.base), data_type="event")
        except (URLError, OSError, RuntimeError, NotImplementedError, ValueError) as err:
            clear_stale_markers(self.base, explain=False)  # the marker SpikingJelly just left behind
            raise self._missing(f"{type(err).__name__}: {err}") from None
        return [(Path(path), label) for path, label in dataset.samples]

    def _files(self, split: str, events: list[tuple[Path, int]] | None = None) -> list[tuple[Path, int]]:
        events = self._events() if events is None else events
        index = lambda path: int(path.stem.rsplit("_", 1)[1])  # noqa: E731  cifar10_<class>_<i>
        is_test = split == "test"
        return sorted((p, y) for p, y in events if (index(p) < self.test_per_class) == is_test and index(p) < PER_CLASS)

    def _cache(self, split: str, files: list[tuple[Path, int]]) -> FrameCache:
        listing = "\n".join(f"{p.parent.name}/{p.name} {p.stat().st_size}" for p, _ in files)
        key = {"dataset": "cifar10dvs", "split": split, "T": self.T, "split_by": self.split_by, "size": self.size,
               "antialias": self.antialias, "test_per_class": self.test_per_class, "samples": len(files),
               "files_sha1": hashlib.sha1(listing.encode()).hexdigest()}
        name = f"T{self.T}_{self.split_by}_{self.size}px{'_antialias' if self.antialias else ''}_test{self.test_per_class}"
        return FrameCache(self.base / "snnbench_frames" / name / split, key)

    def _frames(self, path: Path) -> np.ndarray:
        with np.load(path) as npz:
            events = {k: npz[k] for k in ("t", "x", "y", "p")}
        frames = integrate_events_by_fixed_frames_number(events, self.split_by, self.T, 128, 128)
        return resize_frames(frames, self.size, self.antialias)

    def _prepared_caches(self) -> dict[str, FrameCache]:
        """Both splits' frame caches, built once under a lock (see :func:`preparation_lock`)."""
        with preparation_lock(self.base):
            events = self._events()
            caches = {}
            for split in ("train", "test"):
                files = self._files(split, events)
                if not files:
                    raise self._missing(f"no {split} recordings: per class, indices < {self.test_per_class} are test, "
                                        f"{self.test_per_class}..{PER_CLASS - 1} train")
                cache = self._cache(split, files)
                if not cache.is_valid():
                    cache.build(len(files), lambda i, files=files: (self._frames(files[i][0]), files[i][1]),
                                shape=(self.T, 2, self.size, self.size), dtype=np.float16,
                                desc=f"cifar10dvs {split} frames (T={self.T})", threads=self.threads)
                caches[split] = cache
            return caches

    def load(self) -> DataBundle:
        caches = self._prepared_caches()
        augment: list[v2.Transform] = []
        if self.crop_padding > 0:
            augment.append(v2.RandomCrop(self.size, padding=self.crop_padding))
        if self.flip:
            augment.append(v2.RandomHorizontalFlip())
        return DataBundle(
            train=caches["train"].dataset(v2.Compose(augment) if augment else None),
            test=caches["test"].dataset(), num_classes=self.num_classes,
            step_shape=self.step_shape, T=self.T, encoding="sequence",
        )

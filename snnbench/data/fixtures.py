"""Tiny datasets written in each dataset's genuine on-disk format, for tests and loader benchmarks.

Nothing here is a loader: the files are read back by the real torchvision, SpikingJelly and tonic classes.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_cifar(root: Path, variant: str, n_train: int, n_test: int, seed: int = 0) -> None:
    """CIFAR-10 (``cifar-10-batches-py/``) or CIFAR-100 (``cifar-100-python/``) pickles as torchvision reads them."""
    rng = np.random.default_rng(seed)
    classes = 10 if variant == "cifar10" else 100
    label_key = "labels" if variant == "cifar10" else "fine_labels"

    def batch(n: int) -> dict:
        return {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), label_key: [i % classes for i in range(n)]}

    if variant == "cifar10":
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True, exist_ok=True)
        per_batch = -(-n_train // 5)
        for i in range(5):
            _pickle(folder / f"data_batch_{i + 1}", batch(per_batch))
        _pickle(folder / "test_batch", batch(n_test))
        _pickle(folder / "batches.meta", {"label_names": CIFAR10_CLASSES})
    else:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True, exist_ok=True)
        _pickle(folder / "train", batch(n_train))
        _pickle(folder / "test", batch(n_test))
        _pickle(folder / "meta", {"fine_label_names": [f"class{i}" for i in range(100)]})


def write_mnist(root: Path, n_train: int, n_test: int, seed: int = 0) -> Path:
    """MNIST's four IDX files (uncompressed, big-endian headers) under ``root/MNIST/raw/``, as torchvision reads
    them. Returns the folder."""
    rng = np.random.default_rng(seed)
    folder = root / "MNIST" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (folder / f"{split}-images-idx3-ubyte").write_bytes(
            np.array([0x0803, n, 28, 28], dtype=">i4").tobytes() + images.tobytes())
        labels = (np.arange(n) % 10).astype(np.uint8)
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(np.array([0x0801, n], dtype=">i4").tobytes() + labels.tobytes())
    return folder


def _pickle(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def write_aedat2(path: Path, x: np.ndarray, y: np.ndarray, p: np.ndarray, t: np.ndarray) -> None:
    """A jAER AEDAT-2.0 file as in the original CIFAR10-DVS release: '#' header lines, then big-endian
    uint32 (address, timestamp in µs) pairs, address = polarity | x << 1 | y << 8 (7 bits each)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    address = (p.astype(np.uint32) & 1) | (x.astype(np.uint32) << 1) | (y.astype(np.uint32) << 8)
    pairs = np.empty(2 * len(t), dtype=">u4")
    pairs[0::2], pairs[1::2] = address, t
    header = b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n# Data format is int32 address, int32 timestamp\r\n"
    path.write_bytes(header + pairs.tobytes())


def write_cifar10dvs(root: Path, indices: list[int], events_per_sample: int, seed: int = 0) -> Path:
    """CIFAR10-DVS samples ``cifar10_<class>_<i>.aedat`` for every class and index under ``root/extract/``,
    converted to ``root/events_np/`` by SpikingJelly's own converter. Returns ``root``."""
    from spikingjelly.datasets.cifar10_dvs import CIFAR10DVS

    rng = np.random.default_rng(seed)
    for label, name in enumerate(CIFAR10_CLASSES):
        for i in indices:
            n = events_per_sample
            # class-dependent structure so that a network can tell the classes apart
            x = np.clip(rng.normal(12 * label + 10, 8, n), 0, 127).astype(np.uint32)
            y = rng.integers(0, 128, n, dtype=np.uint32)
            write_aedat2(root / "extract" / name / f"cifar10_{name}_{i}.aedat", x, y,
                         rng.integers(0, 2, n), np.sort(rng.integers(0, 1_000_000, n)).astype(np.uint32))
    (root / "events_np").mkdir(parents=True, exist_ok=True)
    CIFAR10DVS.create_raw_from_extracted(root / "extract", root / "events_np")
    return root


def write_shd(root: Path, n_train: int, n_test: int, spikes_per_sample: int = 300, seed: int = 0) -> Path:
    """``root/SHD/shd_{train,test}.h5`` (+ the archive names tonic checks for) in the Zenke lab's layout:
    vlen float16 spike times in seconds, vlen uint16 unit ids, uint16 labels 0-19, speakers and keys."""
    rng = np.random.default_rng(seed)
    folder = root / "SHD"
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        with h5py.File(folder / f"shd_{split}.h5", "w") as f:
            times = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float16))
            units = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
            labels = np.arange(n) % 20
            for i in range(n):
                times[i] = np.sort(rng.uniform(0, 1.2, spikes_per_sample)).astype(np.float16)
                units[i] = np.clip(rng.normal(35 * labels[i] + 17, 20, spikes_per_sample), 0, 699).astype(np.uint16)
            f["labels"] = labels.astype(np.uint16)
            f["extra/speaker"] = rng.integers(0, 12, n).astype(np.uint16)
            f["extra/keys"] = np.array([f"english-{i}" for i in range(10)] + [f"german-{i}" for i in range(10)], dtype="S")
        (folder / f"shd_{split}.h5.zip").touch()
    return root

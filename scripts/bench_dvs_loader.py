#!/usr/bin/env python
"""CIFAR10-DVS loader benchmark: snnbench's frame cache against SpikingJelly's own frame dataset.

Builds a CIFAR10-DVS fixture of realistic size (AEDAT-2.0 recordings converted by SpikingJelly's own
converter), prepares both frame stores (not timed), then times one pass over the same recordings with the
training augmentation (resize to 48, RandomCrop(48, padding 4), horizontal flip), batch 32, and prints the
samples/s of each and their ratio, measured side by side in this run.

    python scripts/bench_dvs_loader.py                      # 220 recordings (200 timed) of 200k events
    python scripts/bench_dvs_loader.py --samples 400 --workers 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from spikingjelly.datasets.cifar10_dvs import CIFAR10DVS as SJCIFAR10DVS
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from snnbench.data.cifar10dvs import CIFAR10DVS
from snnbench.data.fixtures import write_cifar10dvs


def samples_per_second(dataset, workers: int, batch_size: int = 32) -> tuple[float, int]:
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                        generator=torch.Generator().manual_seed(0))
    start, seen = time.perf_counter(), 0
    for x, _ in loader:
        seen += len(x)
    return seen / (time.perf_counter() - start), seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=220, help="recordings (a multiple of 10); default %(default)s")
    parser.add_argument("--events", type=int, default=200_000, help="events per recording; default %(default)s")
    parser.add_argument("--T", type=int, default=10, help="frames per recording; default %(default)s")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for both; default %(default)s")
    parser.add_argument("--workdir", type=Path, default=None, help="where the fixture goes (default: a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.workdir or Path(tmp)
        per_class = args.samples // 10
        # per class: recording 0 is test, 100.. train (the paper's rule); the training recordings are timed
        indices = [0] + list(range(100, 100 + per_class - 1))
        start = time.perf_counter()
        write_cifar10dvs(root / "cifar10dvs", indices, args.events)
        print(f"fixture: {10 * len(indices)} recordings x {args.events:,} events, {time.perf_counter() - start:.1f}s")

        start = time.perf_counter()
        ours = CIFAR10DVS(T=args.T, root=root).load()
        print(f"snnbench frame cache prepared in {time.perf_counter() - start:.1f}s")
        augment = v2.Compose([v2.Resize((48, 48), antialias=True), v2.RandomCrop(48, padding=4), v2.RandomHorizontalFlip()])
        start = time.perf_counter()
        theirs = SJCIFAR10DVS(str(root / "cifar10dvs"), data_type="frame", frames_number=args.T, split_by="number",
                              transform=lambda frames: augment(torch.from_numpy(frames)))
        print(f"SpikingJelly frames prepared in {time.perf_counter() - start:.1f}s")

        same_count = torch.utils.data.Subset(theirs, range(len(ours.train)))
        ours_rate, ours_n = samples_per_second(ours.train, args.workers)
        theirs_rate, theirs_n = samples_per_second(same_count, args.workers)
        print(f"snnbench (memory-mapped frame cache): {ours_rate:8.1f} samples/s over {ours_n} samples")
        print(f"SpikingJelly frame dataset (npz):     {theirs_rate:8.1f} samples/s over {theirs_n} samples")
        print(f"ratio: {ours_rate / theirs_rate:.1f}x  (T={args.T}, {args.workers} workers, "
              f"{torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()

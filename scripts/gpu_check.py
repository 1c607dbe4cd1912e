#!/usr/bin/env python
"""The GPU check (``scripts/gpu_check.sh``): is the sequential-CIFAR recipe fast on this GPU, is the data pipeline
the bottleneck, do several small runs per GPU finish a table sooner, and the paper's speed figure (t_LIF / t_PSN).

Everything runs on a CIFAR-10 fixture in torchvision's real format (random pixels, full 50,000-image size on a GPU).
``--cpu-smoke`` runs every step at toy size on the CPU, so that the script itself is tested where CI runs.
Writes ``summary.md`` and ``summary.json`` (and ``snnbench speed``'s files) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from snnbench.data.cifar import CIFAR
from snnbench.data.fixtures import write_cifar

RECIPE = ["experiment=psn_paper/seq_cifar10", "dataset.build.verify_md5=false"]


def device_name() -> str:
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu-{platform.machine()}"


def train_samples_per_s(overrides: list[str], data_root: Path, runs: Path, concurrent: int = 1) -> list[float]:
    """Train-epoch samples/s of ``concurrent`` simultaneous ``snnbench train`` runs (seeds 0..k-1)."""
    procs = [subprocess.Popen([sys.executable, "-m", "snnbench", "train", *RECIPE, *overrides, f"seed={seed}",
                               f"data_root={data_root}", f"runs_dir={runs}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for seed in range(concurrent)]
    errors = [p.communicate()[1] for p in procs]
    for proc, error in zip(procs, errors):
        if proc.returncode != 0:
            raise RuntimeError(f"snnbench train failed:\n{error[-2000:]}")
    rates = []
    for path in sorted(runs.rglob("metrics.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        rates.append(rows[-1]["train_samples_per_s"])
    return rates


def loader_samples_per_s(data_root: Path, workers: int, batches: int, batch_size: int) -> float:
    """The recipe's train pipeline alone (augmentation, Mixup/CutMix collation), no model."""
    source = CIFAR(T=32, root=str(data_root), variant="cifar10", sequential=True, download=False, verify_md5=False)
    data = source.load()
    loader = DataLoader(data.train, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=workers,
                        collate_fn=data.collate_train, persistent_workers=workers > 0)
    it = iter(loader)
    next(it)  # workers started, first batch ready
    start, seen = time.perf_counter(), 0
    for _, (x, _) in zip(range(batches), it):
        seen += len(x)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="every step at toy size on the CPU")
    parser.add_argument("--out", type=Path, default=None, help="default: results/gpu/<device>")
    args = parser.parse_args()
    smoke = args.cpu_smoke
    if not smoke and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device is visible; run with --cpu-smoke to check the script on the CPU")
    out = args.out or Path("results/gpu") / device_name().replace(" ", "-")
    out.mkdir(parents=True, exist_ok=True)
    n_train, n_test = (256, 64) if smoke else (50_000, 10_000)
    epochs_overrides = ["trainer.epochs=1", "trainer.num_workers=0" if smoke else "trainer.num_workers=8"]
    if smoke:
        epochs_overrides += ["trainer.batch_size=32", "trainer.device=cpu", "model.channels=16"]
    summary: dict = {"device": device_name(), "smoke": smoke, "torch": torch.__version__,
                     "fixture_images": n_train, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    lines = [f"# GPU check on {summary['device']} ({'CPU smoke run, toy sizes' if smoke else 'full size'})", ""]
    with tempfile.TemporaryDirectory() as tmp:
        data_root = Path(tmp) / "data"
        write_cifar(data_root, "cifar10", n_train=n_train, n_test=n_test)

        lines.append("## Sequential-CIFAR recipe, one run (train samples/s, AMP on CUDA)")
        summary["recipe"] = {}
        for neuron in ("psn", "lif"):
            rate = train_samples_per_s([f"neuron={neuron}", *epochs_overrides], data_root, Path(tmp) / f"r-{neuron}")[0]
            summary["recipe"][neuron] = rate
            lines.append(f"- {neuron}: {rate:.0f} samples/s")

        lines += ["", "## The recipe's data pipeline alone (samples/s)"]
        summary["loader"] = {}
        for workers in ((0, 2) if smoke else (4, 8, 16)):
            rate = loader_samples_per_s(data_root, workers, batches=4 if smoke else 100, batch_size=32 if smoke else 128)
            summary["loader"][workers] = rate
            lines.append(f"- {workers} workers: {rate:.0f} samples/s")

        lines += ["", "## Concurrent PSN runs on one device (total train samples/s)"]
        summary["concurrent"] = {}
        for k in ((1, 2) if smoke else (1, 2, 4)):
            rates = train_samples_per_s(["neuron=psn", *epochs_overrides], data_root, Path(tmp) / f"k{k}", concurrent=k)
            summary["concurrent"][k] = sum(rates)
            lines.append(f"- {k} at once: {sum(rates):.0f} samples/s in total ({', '.join(f'{r:.0f}' for r in rates)})")

    best_k = max(summary["concurrent"], key=summary["concurrent"].get)
    per_run_h = {n: 50_000 * 256 / rate / 3600 for n, rate in summary["recipe"].items()}
    table_h = 48 * 50_000 * 256 / summary["concurrent"][best_k] / 3600
    summary["estimate_hours"] = {"per_256_epoch_run": per_run_h, "seq_cifar_table_48_runs": table_h,
                                 "concurrent_runs": best_k}
    lines += ["", "## Estimate (training epochs only, from the rates above)",
              *(f"- one 256-epoch run of {n} on 50,000 images: {h:.1f} h" for n, h in per_run_h.items()),
              f"- the 48-run sequential-CIFAR table, {best_k} run(s) at once: {table_h:.0f} h"]

    speed_args = ["--neurons", "lif,psn", "--T", "4" if smoke else "2,4,8,16,32,64",
                  "--N", "256" if smoke else "256,4096,65536,1048576", "--out", str(out / "speed"),
                  "--device", "cpu" if smoke else "cuda"]
    if smoke:
        speed_args += ["--repeats", "2", "--min-block-s", "0.01", "--budget-s", "0.2"]
    speed = subprocess.run([sys.executable, "-m", "snnbench", "speed", *speed_args], capture_output=True, text=True)
    if speed.returncode != 0:
        raise RuntimeError(f"snnbench speed failed:\n{speed.stderr[-2000:]}")
    lines += ["", "## snnbench speed (t_LIF / t_X)", "", "```", speed.stdout.strip(), "```"]
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {out}/summary.md, summary.json, speed/")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()

#!/usr/bin/env python
"""How much slower the quick start trains when other processes keep the cores busy, and how a parallel sweep
compares with a serial one. Prints the figures; asserts nothing (a benchmark, not a test).

    python scripts/bench_contention.py                    # k = usable cores hogs, default and trainer.threads=1
    python scripts/bench_contention.py --hogs 6 --epochs 4
    python scripts/bench_contention.py --source /path/to/other/checkout    # e.g. the parent commit, for "before"

A hog is a Python process spinning on one core. With k hogs on c cores, a fair share of the CPU gives a
slowdown of about (k + c) / c for a job that used all c cores alone (k + 1 when c = 1): the goal is to be no
worse than that. Epoch times are the median training seconds of the epochs after the first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOG = "while True:\n    pass\n"


def cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run(args: list[str], env: dict[str, str], timeout: float) -> tuple[float | None, float]:
    """(median train seconds per epoch after the first, wall seconds) of ``snnbench train ARGS`` in a fresh
    runs folder; None when it failed or did not finish within ``timeout``."""
    with tempfile.TemporaryDirectory() as runs:
        start = time.perf_counter()
        try:
            subprocess.run([sys.executable, "-m", "snnbench", "train", *args, f"runs_dir={runs}"], env=env,
                           check=True, capture_output=True, timeout=timeout)
        except (subprocess.TimeoutExpired, subprocess.CalledProcessError):
            return None, time.perf_counter() - start
        wall = time.perf_counter() - start
        metrics = [json.loads(line) for path in Path(runs).rglob("metrics.jsonl") for line in path.read_text().splitlines()]
        return statistics.median(m["train_s"] for m in metrics[1:] or metrics), wall


def with_hogs(k: int):
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(k)]
    time.sleep(1.0)
    return hogs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=cpus(), help="busy processes beside the run (default: the cores)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run before giving up")
    parser.add_argument("--source", type=Path, default=None, help="run snnbench from this checkout instead")
    parser.add_argument("--no-parallel", action="store_true", help="skip the parallel-vs-serial sweep")
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant and condition (median reported)")
    parser.add_argument("--variants", default="default,threads1",
                        help="default (PyTorch/snnbench default threads) and/or threads1 (trainer.threads=1; needs a "
                             "checkout that has the setting)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "SNNBENCH_THREADS"}
    if args.source:
        env["PYTHONPATH"] = f"{args.source.resolve()}{os.pathsep}{env.get('PYTHONPATH', '')}"
    c, k = cpus(), args.hogs
    fair = (k + c) / c
    print(f"{c} usable cores, {k} hogs; fair-share slowdown ~{fair:.1f}x; quick start, {args.epochs} epochs"
          + (f"; snnbench from {args.source}" if args.source else ""))
    known = {"default": ("default threads", []), "threads1": ("trainer.threads=1", ["trainer.threads=1"])}
    variants = dict(known[v] for v in args.variants.split(","))

    def measure() -> dict[str, float | None]:
        """Median s/epoch per variant over the repeats, the variants interleaved."""
        times: dict[str, list[float | None]] = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, extra in variants.items():
                times[name].append(run([f"trainer.epochs={args.epochs}", *extra], env, args.timeout)[0])
        return {name: None if None in t else statistics.median(t) for name, t in times.items()}

    alone = measure()
    hogs = with_hogs(k)
    try:
        loaded = measure()
    finally:
        for hog in hogs:
            hog.kill()
    for name in variants:
        a, b = alone[name], loaded[name]
        if a is None:
            print(f"  {name:<18} failed alone")
            continue
        loaded_text = f"failed or over {args.timeout:.0f} s" if b is None else f"{b:.2f} s/epoch"
        ratio = "n/a" if b is None else f"{b / a:.1f}x"
        print(f"  {name:<18} alone {a:.2f} s/epoch, with {k} hogs {loaded_text}: slowdown {ratio} "
              f"(median of {args.repeats})")
    if args.no_parallel:
        return
    sweep = ["-m", "trainer.epochs=10", "neuron=lif,psn", f"seed={','.join(str(s) for s in range(c))}"]
    _, serial = run(sweep, env, args.timeout)
    _, parallel = run([*sweep, "hydra/launcher=parallel", f"hydra.launcher.n_jobs={c}"], env, args.timeout)
    print(f"  sweep of {2 * c} runs: serial {serial:.1f} s, hydra/launcher=parallel n_jobs={c} {parallel:.1f} s: "
          f"speed-up {serial / parallel:.2f}x (ideal {c}x)")


if __name__ == "__main__":
    main()

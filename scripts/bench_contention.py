#!/usr/bin/env python
"""How fast the quick start trains alone, beside another snnbench run, and beside busy Python processes, under
several CPU thread settings; and how a parallel sweep compares with a serial one. Prints the figures; asserts
nothing (a benchmark, not a test). Run it on an otherwise idle machine.

    python scripts/bench_contention.py                         # the default and the candidate settings
    python scripts/bench_contention.py --variants default,threads1 --repeats 5
    python scripts/bench_contention.py --python ../old/.venv/bin/python    # another commit, installed in its venv

Each figure is the median, over ``--repeats`` rounds, of the median training seconds per epoch after the first
(6 epochs of the quick start). "two at once" starts two identical runs together and reports each one's time;
"beside spinners" runs one beside as many spinning Python processes as there are cores. A fair share of two
cores between two jobs is 2x the alone time of a job that used both.
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

SPINNER = "while True:\n    pass\n"
#: name -> (extra overrides, extra environment): the settings compared
VARIANTS = {
    "default": ([], {}),
    "threads1": (["trainer.threads=1"], {}),
    "passive": ([], {"OMP_WAIT_POLICY": "PASSIVE"}),
    "threads2": (["trainer.threads=2"], {}),
}


def cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def start(python: str, args: list[str], env: dict[str, str], runs: str) -> subprocess.Popen:
    return subprocess.Popen([python, "-m", "snnbench", "train", *args, f"runs_dir={runs}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def epoch_seconds(runs: str) -> float | None:
    """Median train seconds of the epochs after the first, of the one run under ``runs``."""
    rows = [json.loads(line) for p in Path(runs).rglob("metrics.jsonl") for line in p.read_text().splitlines()]
    return statistics.median(r["train_s"] for r in rows[1:]) if len(rows) > 1 else None


def together(python: str, jobs: list[tuple[list[str], dict[str, str]]], timeout: float) -> list[float | None]:
    """Start ``jobs`` (overrides, env) at once; each one's seconds per epoch."""
    folders = [tempfile.mkdtemp(prefix="bench_") for _ in jobs]
    procs = [start(python, args, env, folder) for (args, env), folder in zip(jobs, folders)]
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return [epoch_seconds(folder) if proc.returncode == 0 else None for proc, folder in zip(procs, folders)]


def median(values: list[float | None]) -> float | None:
    return None if not values or None in values else statistics.median(values)


def sweep_seconds(python: str, args: list[str], env: dict[str, str], runs: str) -> float:
    begin = time.perf_counter()
    subprocess.run([python, "-m", "snnbench", "train", "-m", *args, f"runs_dir={runs}"], env=env,
                   check=True, capture_output=True)
    return time.perf_counter() - begin


def metrics_of(runs: str) -> dict[str, list]:
    """Per run (dataset/neuron/signature/seed): the per-epoch losses and accuracies, timing left out."""
    keys = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc")
    return {str(p.parent.relative_to(runs)): [[json.loads(line)[k] for k in keys] for line in p.read_text().splitlines()]
            for p in sorted(Path(runs).rglob("metrics.jsonl"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per condition before giving up")
    parser.add_argument("--python", default=sys.executable,
                        help="run snnbench with this interpreter: a virtual environment with another commit installed "
                             "(git worktree add ../old REV; python -m venv ../old/.venv; ../old/.venv/bin/pip install "
                             "-e ../old). A checkout on PYTHONPATH would not do: the installed snnbench.configs stays")
    parser.add_argument("--no-sweep", action="store_true", help="skip the parallel-vs-serial sweep")
    parser.add_argument("--sweep-only", action="store_true", help="only the parallel-vs-serial sweep")
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in ("SNNBENCH_THREADS", "OMP_WAIT_POLICY")}
    c = cpus()
    names = args.variants.split(",")
    epochs = [f"trainer.epochs={args.epochs}"]
    results: dict[str, dict[str, float | None]] = {name: {} for name in names}
    for _ in range(0 if args.sweep_only else args.repeats):  # the variants interleaved, so that a drift of the machine hits them alike
        for name in names:
            extra, env = VARIANTS[name][0], {**base, **VARIANTS[name][1]}
            job = ([*epochs, *extra], env)
            results[name].setdefault("alone", []).append(together(args.python, [job], args.timeout)[0])
            results[name].setdefault("pair", []).extend(together(args.python, [job, job], args.timeout))
            spinners = [subprocess.Popen([sys.executable, "-c", SPINNER]) for _ in range(c)]
            try:
                time.sleep(0.5)
                results[name].setdefault("spinners", []).append(together(args.python, [job], args.timeout)[0])
            finally:
                for spinner in spinners:
                    spinner.kill()
    table = {name: {cond: median(values) for cond, values in conds.items()} for name, conds in results.items()}
    if args.sweep_only:
        table = {}
    fastest = min((t["alone"] for t in table.values() if t["alone"]), default=None)
    if table:
        print_table(table, fastest, args, c)
    if args.no_sweep:
        return
    sweep = ["trainer.epochs=10", "neuron=lif,psn", "seed=0,1"]
    timings: dict[str, list[float]] = {"serial": [], "default": []}
    same = True
    for _ in range(args.repeats):  # interleaved rounds; the median of each
        with tempfile.TemporaryDirectory() as serial_runs, tempfile.TemporaryDirectory() as default_runs:
            timings["serial"].append(sweep_seconds(args.python, [*sweep, "hydra/launcher=basic", "trainer.threads=1"], base,
                                                   serial_runs))
            timings["default"].append(sweep_seconds(args.python, sweep, base, default_runs))
            same = same and metrics_of(serial_runs) == metrics_of(default_runs)
    serial, default = statistics.median(timings["serial"]), statistics.median(timings["default"])
    print(f"sweep of 4 runs x 10 epochs, median of {args.repeats}: serial (hydra/launcher=basic, 1 thread) "
          f"{serial:.1f} s, default -m launcher {default:.1f} s: speed-up {serial / default:.2f}x; per-epoch "
          f"metrics identical to the serial runs': {same}"
          + (f"; snnbench run by {args.python}" if args.python != sys.executable else ""))


def print_table(table: dict, fastest: float | None, args: argparse.Namespace, c: int) -> None:
    print(f"quick start, {args.epochs} epochs, {c} usable cores, median of {args.repeats} (s/epoch after the first)"
          + (f"; snnbench run by {args.python}" if args.python != sys.executable else ""))
    print(f"| setting | alone | two runs at once (each) | beside {c} spinners | alone / fastest alone | "
          f"two at once / alone | spinners / alone |")
    print("|---|---|---|---|---|---|---|")
    for name, t in table.items():
        def text(v: float | None) -> str:
            return "failed" if v is None else f"{v:.2f}"

        def ratio(a: float | None, b: float | None) -> str:
            return "n/a" if a is None or b is None else f"{a / b:.2f}x"

        print(f"| {name} | {text(t['alone'])} | {text(t['pair'])} | {text(t['spinners'])} | "
              f"{ratio(t['alone'], fastest)} | {ratio(t['pair'], t['alone'])} | {ratio(t['spinners'], t['alone'])} |")


if __name__ == "__main__":
    main()

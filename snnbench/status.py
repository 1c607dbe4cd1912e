"""``snnbench status``: what the runs under a runs folder are doing.

Each run is ``done``, ``failed`` (with the first line of its error), ``running`` (a live lock: epoch and age of
the last heartbeat) or ``stale`` (its record says running but no live process holds its lock: rerun the
same command to resume it). Grouped by dataset, neuron or sweep; counts at the bottom.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

from snnbench.locks import STALE_AFTER_S, lock_is_stale
from snnbench.runs import RunFolder
from snnbench.records import read_json, result_paths, sweep_outcomes


def run_state(run: RunFolder, record: dict, stale_after_s: float) -> tuple[str, str]:
    """(state, detail) of one run folder."""
    status = record.get("status")
    epoch = f"epoch {record.get('epochs_done', 0)}/{record.get('epochs', '?')}"
    if status == "done":
        return "done", f"{epoch}, best test acc {record.get('best_test_acc', float('nan')):.4f}"
    if status == "failed":
        return "failed", (record.get("error") or "").splitlines()[0] if record.get("error") else "failed"
    lock = run.lock_path
    if lock.exists() and not lock_is_stale(lock, stale_after_s):
        return "running", f"{epoch}, heartbeat {time.time() - lock.stat().st_mtime:.0f}s ago"
    return "stale", f"{epoch}, no live process: rerun the same command to resume"


def sweep_of(runs_dir: Path) -> dict[str, str]:
    """run folder -> the sweep (``runs_dir/sweeps/<date>``) that launched it."""
    owner = {}
    for sweep in sorted((runs_dir / "sweeps").glob("*")):
        for outcome in sweep_outcomes(sweep):
            if outcome.get("run_dir"):
                owner[str(Path(outcome["run_dir"]).resolve())] = sweep.name
    return owner


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="snnbench status", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=None, help="runs folder (default: $SNNBENCH_RUNS or ./runs)")
    parser.add_argument("--group", choices=["dataset", "neuron", "sweep"], default="dataset")
    parser.add_argument("--stale-after", type=float, default=STALE_AFTER_S,
                        help="seconds without heartbeat after which a running run counts as stale; default %(default)s")
    args = parser.parse_args(argv)
    runs_dir = args.runs or Path(os.environ.get("SNNBENCH_RUNS", "runs"))
    sweeps = sweep_of(runs_dir) if args.group == "sweep" else {}
    groups: dict[str, list[str]] = {}
    counts: Counter[str] = Counter()
    for result_path in result_paths(runs_dir):
        run = RunFolder(result_path.parent)
        record = read_json(result_path)
        state, detail = run_state(run, record, args.stale_after)
        counts[state] += 1
        key = sweeps.get(str(run.path.resolve()), "(not in a sweep)") if args.group == "sweep" else record.get(args.group, "?")
        name = f"{record.get('dataset')}/{record.get('neuron')} {run.signature} seed={record.get('seed')}"
        groups.setdefault(str(key), []).append(f"  {state:<8} {name:<50} {detail}")
    for key in sorted(groups):
        print(f"{args.group} {key}:")
        print("\n".join(groups[key]))
    print(f"{sum(counts.values())} runs: " + ", ".join(f"{counts[s]} {s}" for s in ("done", "failed", "running", "stale")))

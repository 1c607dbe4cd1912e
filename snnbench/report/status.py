"""``snnbench status``: what the runs under a runs folder are doing.

Each run is ``done``, ``failed`` (with the first line of its error), ``running`` (a live lock: epoch and age of
the last heartbeat) or ``stale`` (its record says running but no live process holds its lock: rerun the
same command to resume it). Grouped by dataset, neuron or sweep; counts at the bottom.
"""

from __future__ import annotations

import argparse
import socket
import time
from collections import Counter
from pathlib import Path

from snnbench.errors import ConfigError
from snnbench.runs.folder import RunFolder
from snnbench.runs.locks import STALE_AFTER_S, alive, owner_path, read_owner, seems_running
from snnbench.runs.records import default_runs_dir, folder_damage, read_config, read_results, scheme_of, sweep_outcomes
from snnbench.runs.signature import SCHEME, differing_keys, flatten


def run_state(run: RunFolder, record: dict, stale_after_s: float) -> tuple[str, str]:
    """(state, detail) of one run folder."""
    status = record.get("status")
    epoch = f"epoch {record.get('epochs_done', 0)}/{record.get('epochs', '?')}"
    if status == "done":
        return "done", f"{epoch}, best test acc {record.get('best_test_acc', float('nan')):.4f}"
    if status in ("failed", "interrupted"):
        error = str(record.get("error") or status)
        return status, error.splitlines()[0] if error else status
    lock = run.lock_path
    try:
        age = f"heartbeat {time.time() - owner_path(lock).stat().st_mtime:.0f}s ago"
    except OSError:
        age = "heartbeat unknown"
    if seems_running(lock, stale_after_s):
        return "running", f"{epoch}, {age}"
    owner = read_owner(lock)
    if owner.get("host") == socket.gethostname() and alive(owner.get("pid")):
        return "stale", f"{epoch}, {age}: its process {owner['pid']} is alive but silent (stopped?) and holds the run"
    return "stale", f"{epoch}, no live process: rerun the same command to resume"


def sweep_labels(records: list[tuple[Path, dict]], raw: dict[Path, dict | None]) -> dict[Path, str]:
    """`` neuron.tau=4``: for runs of one dataset and neuron, the config values that tell them apart."""
    configs = {path: flatten(raw[path] or {}) for path, _ in records}
    groups: dict[tuple, list[Path]] = {}
    for path, record in records:
        groups.setdefault((record.get("dataset"), record.get("neuron")), []).append(path)
    labels = {}
    for paths in groups.values():
        keys = differing_keys([configs[p] for p in paths])
        for path in paths:
            labels[path] = "".join(f" {k}={configs[path].get(k)}" for k in keys)
    return labels


def sweep_of(runs_dir: Path) -> dict[str, str]:
    """run folder -> the sweep (``runs_dir/sweeps/<date>_<id>``) that trained it; a sweep that only found a run
    finished, or being trained by another process, does not take the credit."""
    owner = {}
    for sweep in sorted((runs_dir / "sweeps").glob("*")):
        for outcome in sweep_outcomes(sweep):
            if outcome.get("run_dir") and outcome.get("status") not in ("already_done", "skipped"):
                owner[str(Path(outcome["run_dir"]).resolve())] = sweep.name
    return owner


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="snnbench status", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=None, help="runs folder (default: $SNNBENCH_RUNS or ./runs)")
    parser.add_argument("--group", choices=["dataset", "neuron", "sweep"], default="dataset",
                        help="list the runs under their dataset, neuron, or the sweep that trained them; "
                             "default %(default)s")
    parser.add_argument("--stale-after", type=float, default=STALE_AFTER_S,
                        help="seconds without heartbeat after which a running run counts as stale; default %(default)s")
    args = parser.parse_args(argv)
    runs_dir = args.runs or default_runs_dir()
    sweeps = sweep_of(runs_dir) if args.group == "sweep" else {}
    groups: dict[str, list[tuple[str, str, str]]] = {}
    counts: Counter[str] = Counter()
    if not runs_dir.is_dir():
        raise ConfigError(f"no runs folder at {runs_dir}; give --runs DIR (or set SNNBENCH_RUNS)")
    records, damaged = read_results(runs_dir)
    configs = {path: read_config(path.parent) for path, _ in records}
    labels = sweep_labels(records, configs)
    for result_path, record in records:
        run = RunFolder(result_path.parent)
        state, detail = run_state(run, record, args.stale_after)
        if state != "running" and scheme_of(run.path, record, configs[result_path]) < SCHEME:
            made_by = (record.get("versions") or {}).get("snnbench", "?")
            state, detail = "older", (f"made by snnbench {made_by} under signature scheme "
                                      f"{scheme_of(run.path, record, configs[result_path])}, {record.get('status')}: "
                                      f"`snnbench migrate` adopts it if its config is the same computation")
        if state == "done" and (damage := folder_damage(run.path, record)):
            damaged.append(damage)
        counts[state] += 1
        key = sweeps.get(str(run.path.resolve()), "(not in a sweep)") if args.group == "sweep" else record.get(args.group, "?")
        name = f"{record.get('dataset')}/{record.get('neuron')} {run.signature} seed={record.get('seed')}" \
               + labels.get(result_path, "")
        groups.setdefault(str(key), []).append((state, name, detail))
    width = max((len(name) for rows in groups.values() for _, name, _ in rows), default=0)
    for key in sorted(groups):
        print(f"{args.group} {key}:")
        print("\n".join(f"  {state:<8} {name:<{width}}  {detail}" for state, name, detail in groups[key]))
    for line in damaged:
        print(f"damaged (rerun its config to rewrite it): {line}")
    states = ("done", "failed", "interrupted", "running", "stale") + (("older",) if counts["older"] else ())
    print(f"{sum(counts.values())} runs: " + ", ".join(f"{counts[s]} {s}" for s in states)
          + (f"; {len(damaged)} damaged" if damaged else ""))

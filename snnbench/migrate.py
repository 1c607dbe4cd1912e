"""``snnbench migrate``: adopt the runs an earlier snnbench made under an older signature scheme.

A run is adopted when its config is the computation this version runs for the same command line: its recorded
overrides are composed anew, and every key that defines the computation must have the recorded value (a key added
since then counts as recorded when it is in :data:`~snnbench.runs.signature.ADDED_AS_BEFORE`). An adopted run
folder moves to its current address (under the run's lock), with its config rewritten, its record's signature,
scheme and run folder updated and ``migrated_from`` added; its checkpoint comes along, so an interrupted run
resumes. A run that computed something else stays where it is, and the reason is printed.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from snnbench.config import compose
from snnbench.errors import ConfigError
from snnbench.runs.files import atomic_write_text
from snnbench.runs.folder import RunFolder
from snnbench.runs.locks import RunLock
from snnbench.runs.records import default_runs_dir, read_config, read_results, scheme_of
from snnbench.runs.signature import ADDED_AS_BEFORE, IGNORES_KEY, SCHEME, fields_of


def adoption(run_dir: Path, record: dict[str, Any], config: dict[str, Any],
             config_dirs: list[str]) -> tuple[Any, list[str]]:
    """(the current config of the run's command line, the keys whose values differ: empty when adoptable)."""
    from omegaconf import OmegaConf

    overrides = [o for o in record.get("overrides") or [] if isinstance(o, str)]
    cfg = compose([*(a for d in config_dirs for a in ("--config-dir", d)), *overrides])
    current = OmegaConf.to_container(cfg, resolve=True)
    patterns = list(current.get(IGNORES_KEY) or [])
    now = fields_of(current, patterns)
    then = {**{k: v for k, v in ADDED_AS_BEFORE.items() if k in now}, **fields_of(config, patterns)}
    differing = sorted(k for k in set(now) | set(then) if now.get(k, "<absent>") != then.get(k, "<absent>"))
    return cfg, differing


def migrate(run_dir: Path, record: dict[str, Any], config: dict[str, Any], runs_dir: Path,
            config_dirs: list[str], dry_run: bool) -> str:
    """Adopt one run; a line saying what happened."""
    cfg, differing = adoption(run_dir, record, config, config_dirs)
    if cfg.seed != record.get("seed"):
        differing = ["seed"]
    if differing:
        shown = ", ".join(differing[:4]) + (" ..." if len(differing) > 4 else "")
        return f"kept   {run_dir}: another computation than this version's for its command line ({shown})"
    cfg.runs_dir = str(runs_dir)
    target = RunFolder.for_config(cfg)
    if target.path.resolve() == run_dir.resolve():  # the address did not change: only the record's scheme
        if not dry_run:
            atomic_write_text(target.result_path, json.dumps({**record, "signature_scheme": SCHEME}, indent=2,
                                                             allow_nan=False))
        return f"{'would restamp' if dry_run else 'restamped'} {run_dir}: its address is the same under scheme {SCHEME}"
    if target.result_path.exists():
        return f"kept   {run_dir}: {target.path} exists already (this version made the run again)"
    if dry_run:
        return f"would adopt {run_dir} -> {target.path}"
    old_lock = runs_dir / ".locks" / f"{'-'.join(run_dir.parts[-4:])}.lock"  # where scheme-1 versions locked it
    with RunLock(old_lock) as held, RunLock(target.lock_path) as lock:
        if not (held.acquired and lock.acquired):
            return f"kept   {run_dir}: a process is training it now; migrate when it has stopped"
        for name in os.listdir(run_dir):
            if not name.startswith(".lock"):  # a lock file is never moved or removed
                os.replace(run_dir / name, target.path / name)
        for folder in (run_dir, run_dir.parent):  # the run folder, then its signature folder, when left empty
            if folder.is_dir() and not os.listdir(folder):
                folder.rmdir()
    target.write_config(cfg)
    migrated = {**record, "signature": target.signature, "signature_scheme": SCHEME, "run_dir": str(target.path),
                "migrated_from": {"signature": run_dir.parent.name,
                                  "scheme": scheme_of(target.path, record, config)}}
    atomic_write_text(target.result_path, json.dumps(migrated, indent=2, allow_nan=False))
    return f"adopted {run_dir} -> {target.path}"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="snnbench migrate", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=None, help="runs folder (default: $SNNBENCH_RUNS or ./runs)")
    parser.add_argument("--config-dir", "-cd", action="append", default=[], metavar="DIR",
                        help="your own config folders, as the runs were made with")
    parser.add_argument("--dry-run", action="store_true", help="say what would be adopted, move nothing")
    args = parser.parse_args(argv)
    runs_dir = args.runs or default_runs_dir()
    if not runs_dir.is_dir():
        raise ConfigError(f"no runs folder at {runs_dir}; give --runs DIR (or set SNNBENCH_RUNS)")
    records, damaged = read_results(runs_dir)
    older = [(p.parent, r, c) for p, r in records if (c := read_config(p.parent)) is not None
             and scheme_of(p.parent, r, c) < SCHEME]
    for run_dir, record, config in older:
        print(migrate(run_dir, record, config, runs_dir, args.config_dir, args.dry_run))
    print(f"{len(older)} runs under an older signature scheme" + (f"; {len(damaged)} damaged records skipped"
                                                                  if damaged else ""))

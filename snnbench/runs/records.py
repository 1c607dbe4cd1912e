"""Run records on disk: the one place that finds run folders and reads their files.

Light on purpose (json, yaml and pathlib only): ``snnbench status``, ``table`` and ``plot`` read records without
importing torch or Hydra. Every reader checks a record's ``schema_version``; a record this version cannot read
(damaged, not an object, or written by a newer snnbench) is named, never guessed at.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("snnbench")

#: The version of ``result.json``'s layout that this snnbench writes and reads (records without one are 1).
RESULT_SCHEMA_VERSION = 1
#: ``<runs_dir>/<dataset>/<neuron>/<signature>/seed=<seed>/result.json``
RESULT_GLOB = "*/*/*/seed=*/result.json"
RUN_FOLDER = re.compile(r"seed=-?\d+")  # not a copy beside it (``seed=0.bak``)


def default_runs_dir() -> Path:
    """Where run folders are when no ``--runs`` is given: ``$SNNBENCH_RUNS``, else ``./runs`` (as ``runs_dir``)."""
    return Path(os.environ.get("SNNBENCH_RUNS", "runs"))


def result_paths(runs_dir: Path, anywhere: bool = False) -> list[Path]:
    """Every run's ``result.json`` under ``runs_dir`` in a stable order: at the run-folder depth, or with
    ``anywhere`` at any depth (a folder of several runs folders, or copies). Folders behind symbolic links are
    followed (run folders moved to another disk and linked back), each real folder once."""
    if not anywhere:
        paths = Path(runs_dir).glob(RESULT_GLOB)
    else:
        paths, seen = [], set()
        for folder, subfolders, files in os.walk(runs_dir, followlinks=True):
            real = os.path.realpath(folder)
            if real in seen:  # a link back up the tree, or a second link to one folder
                subfolders.clear()
                continue
            seen.add(real)
            if "result.json" in files:
                paths.append(Path(folder) / "result.json")
    return sorted(p for p in paths if RUN_FOLDER.fullmatch(p.parent.name))


class DamagedRecord(ValueError):
    """A record file that cannot be read as a record of this version; the message names the file."""


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`DamagedRecord` (naming the file) when it is truncated, empty, garbage
    or not an object."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise DamagedRecord(f"{path}: {type(err).__name__}: {err}") from None
    if not isinstance(value, dict):
        raise DamagedRecord(f"{path}: not a JSON object")
    return value


STATUSES = ("running", "done", "failed", "interrupted")
#: Fields that are numbers wherever they appear, and the ones a done record must have.
REALS = ("best_test_acc", "final_test_acc", "final_train_acc", "mean_firing_rate", "wall_s", "synops_per_sample",
         "macs_per_sample", "energy_uj_per_sample", "peak_memory_mb", "efficiency_s", "train_s_per_epoch")
WHOLES = ("seed", "T", "epochs", "epochs_done", "best_epoch", "params", "model_bytes", "counted_samples", "threads")
DONE_NEEDS = ("best_test_acc", "final_test_acc", "best_epoch", "epochs_done", "epochs")
ACCURACIES = ("best_test_acc", "final_test_acc", "final_train_acc")


def problems(record: dict[str, Any]) -> list[str]:
    """What makes ``record`` not a record of this schema: a wrong status, a number that is not a finite number,
    an accuracy outside [0, 1], a done record without its results."""
    found = []
    if record.get("status") not in STATUSES:
        found.append(f"status {record.get('status')!r} is not one of {', '.join(STATUSES)}")
    for key in REALS + WHOLES:
        value = record.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
                or value in (float("inf"), float("-inf")):
            found.append(f"{key} is {value!r}, not a finite number")
        elif key in WHOLES and not float(value).is_integer():
            found.append(f"{key} is {value!r}, not a whole number")
        elif key in ACCURACIES and not 0 <= value <= 1:
            found.append(f"{key} is {value!r}, outside [0, 1]")
    if record.get("status") == "done":
        found += [f"a done record without {key}" for key in DONE_NEEDS if record.get(key) is None]
    return found


def read_result(path: Path) -> dict[str, Any]:
    """A run's ``result.json``, checked against this version's schema; :class:`DamagedRecord` naming the file and
    the first problem otherwise."""
    record = read_json(path)
    version = record.get("schema_version", 1)
    if not isinstance(version, int) or version > RESULT_SCHEMA_VERSION:
        raise DamagedRecord(f"{path}: schema_version {version!r}, written by a newer snnbench (this one reads "
                            f"{RESULT_SCHEMA_VERSION}); upgrade snnbench to read it")
    found = problems(record)
    if found:
        raise DamagedRecord(f"{path}: {found[0]}")
    return record


def scheme_of(run_dir: Path, record: dict[str, Any], config: dict[str, Any] | None) -> int:
    """The signature scheme a run was made under: as recorded, else the current one when its config hashes to its
    folder's name (or cannot be read: that is damage, not age), else 1 (records older than the versioning)."""
    from snnbench.runs.signature import SCHEME, signature_of

    if isinstance(record.get("signature_scheme"), int):
        return record["signature_scheme"]
    return SCHEME if config is None or signature_of(config) == Path(run_dir).parent.name else 1


def folder_damage(run_dir: Path, record: dict[str, Any]) -> str | None:
    """What is wrong with the other files of a run whose record is readable: an unreadable ``config.yaml``, or a
    ``metrics.jsonl`` that is garbage or has fewer epochs than the record; None when they are whole."""
    run_dir = Path(run_dir)
    if read_config(run_dir) is None:
        return f"{run_dir / 'config.yaml'}: missing or not a YAML mapping"
    if not record.get("epochs_done"):
        return None
    try:
        rows = read_metrics(run_dir)
    except (OSError, ValueError) as err:
        return f"{run_dir / 'metrics.jsonl'}: {type(err).__name__}: {err}"
    if len(rows) < record["epochs_done"] or not all(isinstance(r, dict) and "test_acc" in r for r in rows):
        return f"{run_dir / 'metrics.jsonl'}: {len(rows)} readable epochs, the record says {record['epochs_done']}"
    return None


def read_record(path: Path) -> dict[str, Any] | None:
    """For the run's owner deciding what to do: the record, or None when there is none or it is damaged (the run
    is then resumed from its checkpoint, which rewrites the record; the damage is logged)."""
    if not Path(path).exists():
        return None
    try:
        return read_result(path)
    except DamagedRecord as err:
        log.warning(f"ignoring the damaged record {err}")
        return None


def read_results(runs_dir: Path, anywhere: bool = False) -> tuple[list[tuple[Path, dict[str, Any]]], list[str]]:
    """(path, record) of every readable ``result.json`` under ``runs_dir``, and one line per damaged one."""
    records, damaged = [], []
    for path in result_paths(runs_dir, anywhere):
        try:
            records.append((path, read_result(path)))
        except DamagedRecord as err:
            damaged.append(str(err))
    return records, damaged


def read_config(run_dir: Path) -> dict[str, Any] | None:
    """The resolved ``config.yaml`` of a run folder as a dict; None when it is absent or not a YAML mapping."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        config = yaml.load((Path(run_dir) / "config.yaml").read_text(), Loader=loader)
    except (OSError, yaml.YAMLError):
        return None
    return config if isinstance(config, dict) else None


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The per-epoch rows of a run's ``metrics.jsonl``."""
    text = (Path(run_dir) / "metrics.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sweep_outcomes(sweep_dir: Path) -> list[dict[str, Any]]:
    """The ``job_status.json`` that every job of one multirun leaves in its Hydra job folder (``<sweep>/<job>/``);
    a damaged or missing one (a full disk, a killed job) is reported as a failed job, with the reason."""
    outcomes = []
    jobs = sorted((p for p in Path(sweep_dir).glob("*") if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
    for job in jobs:
        path = job / "job_status.json"
        try:
            outcomes.append(read_json(path))
        except DamagedRecord as err:
            reason = "no outcome recorded (the job was killed, or the disk was full)" if not path.exists() \
                else f"damaged job record {err}"
            outcomes.append({"status": "failed", "run_dir": None, "error": reason, "overrides": [f"job {job.name}"]})
    return outcomes

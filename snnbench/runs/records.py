"""Run records on disk: the one place that finds run folders and reads their files.

Light on purpose (json, yaml and pathlib only): ``snnbench status``, ``table`` and ``plot`` read records without
importing torch or Hydra. Every reader checks a record's ``schema_version``; a record this version cannot read
(damaged, not an object, or written by a newer snnbench) is named, never guessed at.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("snnbench")

#: The version of ``result.json``'s layout that this snnbench writes and reads (records without one are 1).
RESULT_SCHEMA_VERSION = 1
#: ``<runs_dir>/<dataset>/<neuron>/<signature>/seed=<seed>/result.json``
RESULT_GLOB = "*/*/*/seed=*/result.json"


def default_runs_dir() -> Path:
    """Where run folders are when no ``--runs`` is given: ``$SNNBENCH_RUNS``, else ``./runs`` (as ``runs_dir``)."""
    return Path(os.environ.get("SNNBENCH_RUNS", "runs"))


def result_paths(runs_dir: Path, anywhere: bool = False) -> list[Path]:
    """Every run's ``result.json`` under ``runs_dir`` in a stable order: at the run-folder depth, or with
    ``anywhere`` at any depth (a folder of several runs folders, or copies)."""
    return sorted(Path(runs_dir).rglob("result.json") if anywhere else Path(runs_dir).glob(RESULT_GLOB))


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


def read_result(path: Path) -> dict[str, Any]:
    """A run's ``result.json``, checked for its schema version; :class:`DamagedRecord` otherwise."""
    record = read_json(path)
    version = record.get("schema_version", 1)
    if not isinstance(version, int) or version > RESULT_SCHEMA_VERSION:
        raise DamagedRecord(f"{path}: schema_version {version!r}, written by a newer snnbench (this one reads "
                            f"{RESULT_SCHEMA_VERSION}); upgrade snnbench to read it")
    return record


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
    """The ``job_status.json`` that every job of one multirun leaves in its Hydra job folder (damaged ones are
    reported as failed jobs, with the reason)."""
    outcomes = []
    for path in sorted(Path(sweep_dir).glob("*/job_status.json")):
        try:
            outcomes.append(read_json(path))
        except DamagedRecord as err:
            outcomes.append({"status": "failed", "run_dir": None, "error": f"damaged job record {err}",
                             "overrides": [path.parent.name]})
    return outcomes

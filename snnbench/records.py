"""Run records on disk: the one place that finds run folders and reads their ``result.json``.

Light on purpose (json and pathlib only): ``snnbench status`` reads records without importing torch or Hydra.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: ``<runs_dir>/<dataset>/<neuron>/<signature>/seed=<seed>/result.json``
RESULT_GLOB = "*/*/*/seed=*/result.json"


def result_paths(runs_dir: Path, anywhere: bool = False) -> list[Path]:
    """Every run's ``result.json`` under ``runs_dir`` in a stable order: at the run-folder depth, or with
    ``anywhere`` at any depth (a folder of several runs folders, or copies)."""
    return sorted(Path(runs_dir).rglob("result.json") if anywhere else Path(runs_dir).glob(RESULT_GLOB))


class DamagedRecord(ValueError):
    """A record file that cannot be read as a JSON object."""


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


def read_results(runs_dir: Path, anywhere: bool = False) -> tuple[list[tuple[Path, dict[str, Any]]], list[str]]:
    """(path, record) of every readable ``result.json`` under ``runs_dir``, and one line per damaged one."""
    records, damaged = [], []
    for path in result_paths(runs_dir, anywhere):
        try:
            records.append((path, read_json(path)))
        except DamagedRecord as err:
            damaged.append(str(err))
    return records, damaged


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


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """``{"neuron": {"tau": 2}}`` -> ``{"neuron.tau": 2}`` (lists stay values)."""
    if isinstance(node, dict):
        flat: dict[str, Any] = {}
        for key, value in node.items():
            flat.update(flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): node}


def differing_keys(configs: list[dict[str, Any]]) -> list[str]:
    """The flattened config keys whose values differ between ``configs`` (e.g. ``["neuron.tau"]`` for a sweep over
    ``neuron.tau=2,4,8``), leaving out the seed and the keys that cannot change a result (``signature_ignores``)."""
    from snnbench.runs import IGNORES_KEY, ignored

    patterns = sorted({p for c in configs for p in (c.get(IGNORES_KEY) or [])})
    keys = sorted({k for c in configs for k in c} - {"seed", IGNORES_KEY})
    return [k for k in keys if not ignored(k, patterns) and len({repr(c.get(k)) for c in configs}) > 1]

"""Run records on disk: the one place that finds run folders and reads their ``result.json``.

Light on purpose (json and pathlib only): ``snnbench status`` reads records without importing torch or Hydra.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: ``<runs_dir>/<dataset>/<neuron>/<signature>/seed=<seed>/result.json``
RESULT_GLOB = "*/*/*/seed=*/result.json"


def result_paths(runs_dir: Path) -> list[Path]:
    """Every run's ``result.json`` under ``runs_dir``, in a stable order."""
    return sorted(Path(runs_dir).glob(RESULT_GLOB))


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def sweep_outcomes(sweep_dir: Path) -> list[dict[str, Any]]:
    """The ``job_status.json`` that every job of one multirun leaves in its Hydra job folder."""
    return [read_json(p) for p in sorted(Path(sweep_dir).glob("*/job_status.json"))]

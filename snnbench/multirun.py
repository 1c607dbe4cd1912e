"""Sweep bookkeeping: every job of a multirun leaves ``job_status.json`` in its Hydra job folder, and the
sweep ends with one line saying how many runs failed (and a non-zero exit status when any did).

Works for every launcher (basic, joblib, submitit): jobs write files, the launching process reads them.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from snnbench.records import sweep_outcomes
from snnbench.runs import atomic_write_text

log = logging.getLogger("snnbench")


def record_job(status: str, run_dir: str | None, error: str | None = None) -> None:
    """Write this job's outcome into its Hydra job folder (multirun only)."""
    job_dir = Path(HydraConfig.get().runtime.output_dir)
    overrides = list(HydraConfig.get().overrides.task)
    atomic_write_text(job_dir / "job_status.json",
                      json.dumps({"status": status, "run_dir": run_dir, "error": error, "overrides": overrides}))


class SweepSummary(Callback):
    """At the end of a multirun: 'K of N runs failed' (with the first line of each error) and exit 1 if K > 0."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        outcomes = sweep_outcomes(Path(config.hydra.sweep.dir))
        failed = [o for o in outcomes if o["status"] == "failed"]
        log.info(f"sweep finished: {len(outcomes) - len(failed)} of {len(outcomes)} runs done or skipped, "
                 f"{len(failed)} of {len(outcomes)} failed (records under {config.runs_dir})")
        for outcome in failed:
            log.error(f"  failed: {' '.join(outcome['overrides'])}: {(outcome['error'] or '').splitlines()[0]}")
        if failed:
            sys.exit(1)

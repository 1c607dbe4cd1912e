"""Multirun bookkeeping: every job of a multirun leaves ``job_status.json`` in its Hydra job folder, and the
sweep ends with one line saying how many runs failed (and a non-zero exit status when any did).

Each sweep has its own folder, ``<runs_dir>/sweeps/<time>_<pid>-<random>`` (two sweeps started in the same second
never share one), and the summary takes each run's outcome from the run's own ``result.json``. Works for every
launcher (basic, joblib, submitit): jobs write files, the launching process reads them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from snnbench.runs.files import atomic_write_text
from snnbench.runs.records import DamagedRecord, read_result, sweep_outcomes

log = logging.getLogger("snnbench")

# ${snnbench.sweep_id:} in hydra.sweep.dir: unique per launching process; cached, so every job of the sweep
# (which Hydra gives a copy of the launcher's resolver cache) resolves the same folder.
OmegaConf.register_new_resolver("snnbench.sweep_id", lambda: f"{os.getpid()}-{secrets.token_hex(3)}",
                                use_cache=True, replace=True)


def record_job(status: str, run_dir: str | None, error: str | None = None) -> None:
    """Write this job's outcome into its Hydra job folder (multirun only); a failure to write (a full disk) is
    logged, never raised: it must not stop the sweep."""
    job_dir = Path(HydraConfig.get().runtime.output_dir)
    overrides = list(HydraConfig.get().overrides.task)
    try:
        atomic_write_text(job_dir / "job_status.json",
                          json.dumps({"status": status, "run_dir": run_dir, "error": error, "overrides": overrides}))
    except OSError as err:
        log.error(f"could not write {job_dir / 'job_status.json'} ({type(err).__name__}: {err})")


def settled(outcome: dict[str, Any]) -> dict[str, Any]:
    """A job's outcome as ``done``, ``skipped`` (another process trains it) or ``failed``: the run's own record
    decides, and a job whose run has no readable final record never counts as done."""
    run_dir = outcome.get("run_dir")
    if not run_dir:
        return {**outcome, "status": "failed", "error": outcome.get("error") or "the job recorded no run"}
    try:
        record = read_result(Path(run_dir) / "result.json")
    except DamagedRecord as err:
        return {**outcome, "status": "failed", "error": outcome.get("error") or f"no readable record: {err}"}
    status = record.get("status")
    if status in ("failed", "interrupted"):
        return {**outcome, "status": "failed", "error": outcome.get("error") or record.get("error") or status}
    if status == "done":
        return {**outcome, "status": "done"}
    if outcome["status"] == "skipped":  # another process is training it
        return outcome
    return {**outcome, "status": "failed", "error": outcome.get("error") or f"its record still says {status}"}


class SweepSummary(Callback):
    """A multirun's progress: at its start, how many runs it has; after each run (jobs run in this process), how
    many are finished and about how long the rest take; at its end, done, failed (with the first line of each
    error) and still being trained by another process, and exit 1 if any failed."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from snnbench.config import runs_in_sweep

        self._pid, self._start, self._finished = os.getpid(), time.monotonic(), 0
        try:
            self._total = runs_in_sweep(list(config.hydra.overrides.task))
        except Exception:  # noqa: BLE001  (a sweeper of its own, e.g. Optuna's: the count is the sweeper's)
            self._total = None
        if self._total:
            log.info(f"sweep: {self._total} runs (finished ones are skipped, interrupted ones resume)")

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if getattr(self, "_pid", None) != os.getpid() or not self._total:
            return  # a job of a parallel launcher, in its own process: the launcher reports at the end
        self._finished += 1
        spent = time.monotonic() - self._start
        left = spent / self._finished * (self._total - self._finished)
        log.info(f"sweep: {self._finished} of {self._total} runs finished in {spent:.0f} s"
                 + (f"; about {left:.0f} s left at this pace" if self._finished < self._total else ""))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        outcomes = [settled(o) for o in sweep_outcomes(Path(config.hydra.sweep.dir))]
        done = [o for o in outcomes if o["status"] == "done"]
        failed = [o for o in outcomes if o["status"] == "failed"]
        others = [o for o in outcomes if o["status"] == "skipped"]
        n = len(outcomes)
        log.info(f"sweep finished: {len(done)} of {n} runs done, {len(failed)} of {n} failed"
                 + (f", {len(others)} of {n} being trained by another process (rerun later)" if others else "")
                 + f" (records under {config.runs_dir}; this sweep's jobs under {config.hydra.sweep.dir})")
        for outcome in failed:
            log.error(f"  failed: {' '.join(outcome['overrides'])}: {str(outcome['error'] or '').splitlines()[0]}")
        if failed:
            sys.exit(1)

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
import threading
import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from snnbench.runs.files import atomic_write_text
from snnbench.runs.records import DamagedRecord, read_json, read_result, sweep_outcomes

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


#: sweep folder -> the event that stops its progress reporter (kept off the callback, which the parallel launcher
#: pickles for its workers)
_REPORTERS: dict[str, threading.Event] = {}


def finished_jobs(sweep_dir: Path) -> int:
    """How many jobs of a sweep have recorded an outcome other than ``running``."""
    count = 0
    for path in Path(sweep_dir).glob("*/job_status.json"):
        try:
            count += read_json(path).get("status") != "running"
        except DamagedRecord:
            continue
    return count


class SweepSummary(Callback):
    """A multirun's progress: at its start, how many runs it has; while it runs, each time runs finish, how many
    and about how long the rest take (read from the jobs' outcome files, so for every launcher, parallel ones
    included); at its end, done, failed (with the first line of each error) and still being trained by another
    process, and exit 1 if any failed."""

    POLL_S = 5.0

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from snnbench.config import runs_in_sweep

        if searching(config):
            total = int(config.hydra.sweeper.n_trials)  # at most: a continued study runs only the missing ones
        else:
            total = runs_in_sweep(list(config.hydra.overrides.task))
        if total:
            log.info(f"sweep: {total} runs (finished ones are skipped, interrupted ones resume)")
            stop = _REPORTERS.setdefault(str(config.hydra.sweep.dir), threading.Event())
            threading.Thread(target=self._report, args=(Path(config.hydra.sweep.dir), total, stop),
                             daemon=True).start()

    def _report(self, sweep_dir: Path, total: int, stop: threading.Event) -> None:
        start, shown = time.monotonic(), 0
        while not stop.wait(self.POLL_S):
            finished = finished_jobs(sweep_dir)
            if finished > shown and finished < total:
                spent = time.monotonic() - start
                log.info(f"sweep: {finished} of {total} runs finished in {spent:.0f} s; about "
                         f"{spent / finished * (total - finished):.0f} s left at this pace")
                shown = finished

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if (stop := _REPORTERS.pop(str(config.hydra.sweep.dir), None)) is not None:
            stop.set()
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
        if failed and not (searching(config) and done):  # a search expects some trials to fail (a diverging lr)
            sys.exit(1)


def searching(config: DictConfig) -> bool:
    """Whether the sweep is a search (snnbench's Optuna sweeper) rather than a grid."""
    return "optuna" in str(config.hydra.sweeper.get("_target_", "")).lower()

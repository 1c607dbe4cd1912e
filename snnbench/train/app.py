"""``snnbench train``: the Hydra application. It turns Hydra's launch into a :class:`Launch`, calls
:func:`~snnbench.train.loop.train` for each config, and maps outcomes and errors to exit codes (one run) or to
the sweep's job records (a multirun: one failing config never stops the sweep)."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
import threading
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from snnbench.config import (CONFIG_MODULE, PRIMARY, check_command, importable, parse_overrides, split_config_dirs,
                             sweep_size)
from snnbench.errors import ConfigError
from snnbench.runs.folder import CheckpointError, RunFolder
from snnbench.runs.job_outcomes import record_job
from snnbench.train.outcome import CONFIG_EXIT, EXIT_CODES, FAILED_EXIT, Outcome
from snnbench.train.launch import Launch, usable_cpus

log = logging.getLogger("snnbench")
SLURM_LAUNCHERS = ("hydra/launcher=slurm", "hydra/launcher=submitit_slurm")


def launch_of(command_line: list[str]) -> Launch:
    """This process's :class:`Launch`, from Hydra's config of the current job."""
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    jobs = 1
    if multirun and "joblib" in str(hydra_cfg.launcher.get("_target_", "")).lower():
        n_jobs = hydra_cfg.launcher.get("n_jobs")  # joblib's convention: -1 is one job per core
        if n_jobs is not None:
            jobs = int(n_jobs) if int(n_jobs) > 0 else max(1, usable_cpus() + 1 + int(n_jobs))
    return Launch(command_line=tuple(command_line), overrides=tuple(hydra_cfg.overrides.task),
                  job_number=hydra_cfg.job.num if multirun else 0, jobs_per_machine=jobs)


def held_message(outcome: Outcome) -> str:
    owner = outcome.record.get("owner") or {}
    return (f"another process (pid {owner.get('pid', '?')} on {owner.get('host', '?')}) is training "
            f"{outcome.run_dir}; this command did not train it (`snnbench status` shows its progress)")


def run_one(cfg: DictConfig, command_line: list[str]) -> dict | None:
    """One config: a single run exits with :data:`EXIT_CODES`; a multirun job records its outcome instead. Returns
    the run's record (what a sweeper such as Optuna's reads its objective from), None if it failed or another process
    holds it. The training loop (torch, SpikingJelly, TensorBoard) is imported here, when a run starts, not for
    ``--cfg``."""
    from snnbench.train.loop import NonFiniteError, train

    reported = (OSError, CheckpointError, NonFiniteError)  # the user's to fix, no traceback: one line, exit 1
    launch = launch_of(command_line)
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    run_dir = str(RunFolder.for_config(cfg).path)
    if multirun:
        thread_lock_for_progress_bars()
        record_job("running", run_dir)
    try:
        outcome = train(cfg, launch)
    except Exception as err:  # noqa: BLE001  (isolation: one failing config must not stop the sweep)
        if multirun:
            log.error(f"run failed ({' '.join(launch.overrides)}): {type(err).__name__}: {err}")
            record_job("failed", run_dir, f"{type(err).__name__}: {err}")
            return None
        if isinstance(err, ConfigError):
            log.error(f"error: {err}")
            sys.exit(CONFIG_EXIT)
        if isinstance(err, reported):
            log.error(f"error: {type(err).__name__}: {err}")
            sys.exit(FAILED_EXIT)
        raise
    if outcome.kind == "held":
        (log.warning if multirun else log.error)(held_message(outcome))
    if multirun:  # "already_done": this sweep only found it finished (status --group sweep credits the trainer)
        status = {"trained": outcome.record.get("status", "done"), "done": "already_done", "held": "skipped"}
        record_job(status[outcome.kind], str(outcome.run_dir))
    elif EXIT_CODES[outcome.kind]:
        sys.exit(EXIT_CODES[outcome.kind])
    return dict(outcome.record) if outcome.kind != "held" else None


def thread_lock_for_progress_bars() -> None:
    """tqdm's default lock is a multiprocessing one, a semaphore that Python's resource tracker follows. A parallel
    sweep's workers are killed once the jobs are done (:func:`release_workers`), so the tracker would report their
    semaphores as leaked (a warning at the end of every parallel sweep). A job's progress bars are written by one
    process, which needs only a thread lock."""
    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())


def check_launch(args: list[str]) -> list[str]:
    """Refuse in one line what Hydra would report in many (an override it cannot read) or what would fail only after
    a sweep has started: SLURM without SLURM, a runs_dir that -m splits or cannot write. Returns the overrides
    that choose a sweep's launcher when the command names none (:func:`default_launcher`)."""
    overrides = parse_overrides([a for a in args if "=" in a])
    cfg = None
    if not any(a in ("--help", "-h", "--hydra-help", "--info", "-i") for a in args):
        cfg = check_command(args)
    launches = any(a in ("-m", "--multirun") for a in args) and not any(
        a in ("--cfg", "-c", "--info", "-i", "--help", "-h") for a in args)
    if not launches:
        return []
    if any(arg in SLURM_LAUNCHERS for arg in args) and shutil.which("srun") is None:
        raise ConfigError("no SLURM found on this machine (no srun on PATH); hydra/launcher=submitit_local runs "
                          "the same submitit path locally")
    runs_dir = os.environ.get("SNNBENCH_RUNS", "./runs")
    for override in overrides:
        if override.key_or_group == "runs_dir" and sweep_size(override) > 1:
            raise ConfigError("runs_dir contains a comma, which -m reads as several values; quote the path: "
                              "'runs_dir=\"/path/with,comma\"'")
        if override.key_or_group == "runs_dir":
            runs_dir = str(override.value())
    check_writable(Path(runs_dir))
    if "hydra/sweeper=optuna" in args:
        check_search([a for a in args if "=" in a and not a.startswith(("-", "hydra"))])
    return default_launcher(overrides, cfg)


def check_search(arguments: list[str]) -> None:
    """An Optuna search refused in one line before it starts: without Optuna, or without a space to search."""
    from snnbench.train.optuna_search import split_space

    if importlib.util.find_spec("optuna") is None:
        raise ConfigError("hydra/sweeper=optuna needs Optuna: pip install 'snnbench[optuna]'")
    split_space(arguments)


def gpus_visible() -> bool:
    """Whether an NVIDIA GPU is visible to this process, without importing torch (its import alone costs the
    launching process more than a second): the driver lists its GPUs under /proc, and CUDA_VISIBLE_DEVICES may
    hide them all."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def default_launcher(overrides: list, cfg: DictConfig | None) -> list[str]:
    """The launcher a ``-m`` sweep gets when none is named: on a machine without a GPU, its jobs run in parallel,
    one process per usable core with one thread each, the processes reused from job to job (Hydra's joblib
    launcher, ``hydra/launcher=parallel``); ``hydra/launcher=basic`` runs them one after another. Not with DataLoader
    workers (they cannot be forked inside the launcher's processes), under torchrun, nor on a GPU machine (serial,
    as before)."""
    if any(o.key_or_group == "hydra/launcher" for o in overrides) or cfg is None or cfg.trainer.num_workers > 0:
        return []
    if gpus_visible() or usable_cpus() < 2 or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return []  # a GPU machine, one core, or torchrun's ranks (each rank runs the jobs in turn)
    return ["hydra/launcher=parallel", f"hydra.launcher.n_jobs={usable_cpus()}"]


def check_writable(runs_dir: Path) -> None:
    """A sweep writes its bookkeeping under runs_dir before any job starts: refuse one it cannot write."""
    existing = next(p for p in (runs_dir, *runs_dir.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"runs_dir={runs_dir} cannot be a folder: {existing} is a file; give another runs_dir")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"runs_dir={runs_dir} cannot be written ({existing} is not writable for you); give "
                          f"another runs_dir")


def register_plugins() -> None:
    """snnbench's own Hydra plugins (the Optuna sweeper), registered by hand: Hydra's scan of the
    ``hydra_plugins`` package misses them in an editable install (setuptools' import hook is not a path it walks)."""
    from hydra.core.plugins import Plugins
    from hydra_plugins.snnbench_optuna import OptunaSweeper

    Plugins.instance().register(OptunaSweeper)


def train_command(args: list[str], command_line: list[str]) -> None:
    """``snnbench train ARGS``: Hydra parses ARGS as in any Hydra app; ``command_line`` goes into each record."""
    importable(split_config_dirs(args)[0])
    args = [*args, *check_launch(args)]

    def task(cfg: DictConfig) -> dict | None:
        return run_one(cfg, command_line)

    register_plugins()
    app = hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name=PRIMARY)(task)
    sys.argv = ["snnbench train", *args]
    try:
        app()
    finally:
        release_workers()


def release_workers() -> None:
    """End a parallel sweep's worker processes once its jobs are done: left to exit on their own, their teardown
    (PyTorch's) keeps the command waiting 1-1.5 s after the sweep's summary. Every job has returned and written its
    record by then, so nothing is lost."""
    executors = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(executors, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)

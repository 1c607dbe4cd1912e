"""The Hydra side of the command line: the ``snnbench train`` app and config composition for ``info``/``data``."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig

from snnbench import train as training
from snnbench.errors import ConfigError
from snnbench.multirun import record_job
from snnbench.runs import CheckpointError, RunFolder

log = logging.getLogger("snnbench")
SLURM_LAUNCHERS = ("hydra/launcher=slurm", "hydra/launcher=submitit_slurm")


@hydra.main(version_base="1.3", config_path="pkg://snnbench.configs", config_name="train")
def train_app(cfg: DictConfig) -> float | None:
    """One run. In a multirun, a run that fails is recorded (and reported at the end), and the sweep goes on."""
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    if multirun:
        record_job("running", str(RunFolder.for_config(cfg).path))
    try:
        record = training.train(cfg)
    except Exception as err:  # noqa: BLE001  (isolation: one failing config must not stop the sweep)
        if not multirun:
            if isinstance(err, ConfigError):
                log.error(f"error: {err}")
                sys.exit(2)
            if isinstance(err, (OSError, CheckpointError, training.NonFiniteLossError)):
                log.error(f"error: {type(err).__name__}: {err}")
                sys.exit(1)
            raise
        log.error(f"run failed ({' '.join(HydraConfig.get().overrides.task)}): {type(err).__name__}: {err}")
        record_job("failed", str(RunFolder.for_config(cfg).path), f"{type(err).__name__}: {err}")
        return None
    if record.get("skipped"):
        owner = record.get("owner") or {}
        message = (f"another process (pid {owner.get('pid', '?')} on {owner.get('host', '?')}) is training "
                   f"{record.get('run_dir')}; this command trained nothing (`snnbench status` shows its progress)")
        if not multirun:
            log.error(message)
            sys.exit(3)
        log.warning(message)
        record_job("skipped", record.get("run_dir"))
        return None
    if multirun:  # "already_done": this sweep only found it finished (status --group sweep credits the trainer)
        record_job("already_done" if record.get("already_done") else record.get("status", "done"), record.get("run_dir"))
    return record.get("best_test_acc")


def split_config_dirs(args: list[str]) -> tuple[list[str], list[str]]:
    """(the ``--config-dir DIR`` / ``-cd DIR`` / ``--config-dir=DIR`` folders in ``args``, the other arguments)."""
    dirs, rest = [], []
    items = iter(args)
    for arg in items:
        if arg in ("--config-dir", "-cd"):
            dirs.append(next(items, ""))
        elif arg.startswith("--config-dir="):
            dirs.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return dirs, rest


def importable(config_dirs: list[str]) -> None:
    """Put the user's config folders on the Python path (this process and the ones it starts), so that a YAML
    can name ``_target_: my_dataset.MyData`` or ``builder: my_neuron.build`` for a ``my_*.py`` file there."""
    for folder in reversed([str(Path(d).resolve()) for d in config_dirs]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
        paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if folder not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([folder, *[p for p in paths if p]])


def train_command(args: list[str]) -> None:
    """``snnbench train ARGS``: Hydra parses ARGS as in any Hydra app."""
    importable(split_config_dirs(args)[0])
    launches = any(a in ("-m", "--multirun") for a in args) and not any(a in ("--cfg", "-c", "--info", "-i", "--help", "-h") for a in args)
    if launches and any(arg in SLURM_LAUNCHERS for arg in args) and shutil.which("srun") is None:
        raise ConfigError("no SLURM found on this machine (no srun on PATH); hydra/launcher=submitit_local runs "
                          "the same submitit path locally")
    if launches and any(a.startswith("runs_dir=") and "," in a for a in args):
        raise ConfigError("runs_dir contains a comma, which -m reads as several values; quote the path: "
                          "'runs_dir=\"/path/with,comma\"'")
    sys.argv = ["snnbench train", *args]
    train_app()


def one_line(err: HydraException) -> str:
    """Hydra's composition error in one line: what was not found and the available options."""
    text = str(err).split("Config search path:")[0]
    head, _, options = text.partition("Available options")
    head = " ".join(head.split())
    if options:
        names = options.partition(":")[2]
        return f"{head.rstrip('.')}; choose one of: {', '.join(names.split())}"
    return head


def compose(args: list[str]) -> DictConfig:
    """The config ``snnbench train ARGS`` would run; ``--config-dir DIR`` (or ``-cd DIR``) adds a config folder."""
    from hydra import compose as hydra_compose, initialize_config_module

    config_dirs, overrides = split_config_dirs(args)
    if config_dirs:
        missing = [d for d in config_dirs if not Path(d).is_dir()]
        if missing:
            raise ConfigError(f"--config-dir {missing[0]!r} is not a folder")
        paths = ",".join(f"file://{Path(d).resolve()}" for d in config_dirs)
        overrides.append(f"hydra.searchpath=[{paths}]")
        importable(config_dirs)
    try:
        with initialize_config_module("snnbench.configs", version_base="1.3"):
            return hydra_compose("train", overrides=overrides)
    except HydraException as err:
        raise ConfigError(one_line(err)) from None

"""Refuse impossible trainer, optimiser and counting settings before anything is written."""

from __future__ import annotations

import math
import re

from omegaconf import DictConfig

from snnbench.errors import ConfigError
from snnbench.train.resources import check_threads_setting


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: What a name that becomes a folder of the runs folder may be made of (``runs_dir/<dataset>/<neuron>/...``).
PATH_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
SEEDS = 2**32  # numpy's seed range


def check_settings(cfg: DictConfig) -> None:
    for key in ("dataset.name", "neuron.name"):
        name = cfg.dataset.name if key == "dataset.name" else cfg.neuron.name
        if not isinstance(name, str) or not PATH_PART.fullmatch(name):
            raise ConfigError(f"{key}={name!r} cannot name a folder of the runs folder; use letters, digits and "
                              f"_ . + - (starting with a letter or digit)")
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool) or not 0 <= cfg.seed < SEEDS:
        raise ConfigError(f"seed={cfg.seed!r} is impossible; set a whole number from 0 to {SEEDS - 1}")
    for key in ("runs_dir", "data_root"):
        if str(cfg[key]).startswith("~"):
            raise ConfigError(f"{key}={cfg[key]!r}: '~' is not expanded in an override; write the full path "
                              f"({key}=$HOME{str(cfg[key])[1:]} in the shell)")
    trainer = cfg.trainer
    for key in ("epochs", "batch_size", "eval_batch_size", "checkpoint_every"):
        if not _whole(trainer[key]) or trainer[key] < 1:
            raise ConfigError(f"trainer.{key}={trainer[key]!r} is impossible; set a whole number >= 1")
    lr = cfg.optim.get("lr")
    if lr is not None and (not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0):
        raise ConfigError(f"optim.lr={lr!r} is impossible; set a finite learning rate >= 0")
    check_threads_setting(trainer.threads)
    batches = cfg.efficiency.batches
    if not _whole(batches) or batches < 0:
        raise ConfigError(f"efficiency.batches={batches!r} is impossible; set a whole number >= 0 (0: no counting)")
    for key in ("pj_per_ac", "pj_per_mac"):
        value = cfg.efficiency[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"efficiency.{key}={value!r} is impossible; set a finite energy >= 0 (picojoules)")

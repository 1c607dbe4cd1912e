"""Refuse impossible trainer, optimiser and counting settings before anything is written."""

from __future__ import annotations

import math

from omegaconf import DictConfig

from snnbench.errors import ConfigError
from snnbench.train.resources import check_threads_setting


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_settings(cfg: DictConfig) -> None:
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

"""Run folders: one per resolved config and seed, the unit of truth that tables, plots and resume read.

Layout of ``<runs_dir>/<dataset>/<neuron>/<signature>/seed=<seed>/``::

    config.yaml        the resolved config
    metrics.jsonl      one JSON line per finished epoch
    result.json        status (running | done | failed) and the summary of the run
    checkpoints/last.pt  state after the last finished epoch (model, optimiser, RNG, history)
    tb/                TensorBoard scalars
    .lock              the flock lock its owner holds while training (created with the folder, never deleted)
    .lock.owner.json   who holds it (pid, host, heartbeat), for ``snnbench status``

The signature is :func:`snnbench.runs.signature.config_signature`. Every file is written atomically
(:mod:`snnbench.runs.files`); :mod:`snnbench.runs.records` reads them.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snnbench.runs.files import atomic_write, atomic_write_text
from snnbench.runs.records import RESULT_SCHEMA_VERSION
from snnbench.runs.signature import config_signature

if TYPE_CHECKING:  # torch and omegaconf are imported where they are used: readers of records start fast
    import torch
    from omegaconf import DictConfig

log = logging.getLogger("snnbench")
LEFTOVER_GLOBS = (".*.tmp", "checkpoints/.*.tmp")


class CheckpointError(RuntimeError):
    """No checkpoint of a run can be read; the message names the files and the fix."""


class RunFolder:
    """The files of one run; see the module docstring for the layout."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_config(cls, cfg: DictConfig) -> RunFolder:
        signature = config_signature(cfg)
        return cls(Path(cfg.runs_dir) / cfg.dataset.name / cfg.neuron.name / signature / f"seed={cfg.seed}")

    @property
    def signature(self) -> str:
        return self.path.parent.name

    @property
    def lock_path(self) -> Path:
        """Inside the run folder: deleting a hidden folder of locks is a routine clean-up, deleting a run's own
        files is not. A lock file is never removed (a process waiting on a removed one would own a ghost)."""
        return self.path / ".lock"

    @property
    def result_path(self) -> Path:
        return self.path / "result.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoints" / "last.pt"

    @property
    def previous_checkpoint_path(self) -> Path:
        """The checkpoint before ``last.pt``: the fallback when ``last.pt`` cannot be read."""
        return self.path / "checkpoints" / "previous.pt"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tb"

    def remove_leftovers(self) -> None:
        """Temporary files of writes that a kill interrupted (only the run's owner calls this)."""
        for pattern in LEFTOVER_GLOBS:
            for leftover in self.path.glob(pattern):
                leftover.unlink(missing_ok=True)

    def write_result(self, result: dict[str, Any]) -> None:
        """Strict JSON: a NaN or infinity is refused (ValueError), never written as a bare token."""
        record = {"schema_version": RESULT_SCHEMA_VERSION, **result}
        atomic_write_text(self.result_path, json.dumps(record, indent=2, allow_nan=False))

    def write_config(self, cfg: DictConfig) -> None:
        from omegaconf import OmegaConf

        atomic_write_text(self.path / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))

    def write_metrics(self, history: list[dict[str, Any]]) -> None:
        atomic_write_text(self.metrics_path, "".join(json.dumps(row, allow_nan=False) + "\n" for row in history))

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Write ``last.pt``, keeping the one it replaces as ``previous.pt``."""
        import torch

        if self.checkpoint_path.exists():
            os.replace(self.checkpoint_path, self.previous_checkpoint_path)
        atomic_write(self.checkpoint_path, lambda tmp: torch.save(state, tmp))

    def load_checkpoint(self, map_location: str | torch.device) -> dict[str, Any] | None:
        """The newest readable checkpoint (``last.pt``, else ``previous.pt``); None when there is none."""
        import torch

        candidates = [p for p in (self.checkpoint_path, self.previous_checkpoint_path) if p.exists()]
        errors = []
        for path in candidates:
            try:
                state = torch.load(path, map_location=map_location, weights_only=False)
                if not isinstance(state, dict) or "history" not in state:
                    raise ValueError("not a snnbench checkpoint")
            except Exception as err:  # noqa: BLE001  (a damaged file raises anything from EOFError to OSError)
                errors.append(f"{path} ({type(err).__name__}: {err})")
                log.warning(f"cannot read the checkpoint {path} ({type(err).__name__}: {err})")
                continue
            if errors:
                log.warning(f"resuming from the earlier checkpoint {path}")
            return state
        if errors:
            raise CheckpointError(f"no checkpoint of this run can be read: {'; '.join(errors)}. Delete "
                                  f"{self.path / 'checkpoints'} to train this run again from its first epoch")
        return None

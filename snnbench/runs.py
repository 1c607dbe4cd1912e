"""Run folders: one per resolved config and seed, the unit of truth that tables, plots and resume read.

Layout of ``<runs_dir>/<dataset>/<neuron>/<signature>/seed=<seed>/``::

    config.yaml        the resolved config
    metrics.jsonl      one JSON line per finished epoch
    result.json        status (running | done | failed) and the summary of the run
    checkpoints/last.pt  state after the last finished epoch (model, optimiser, RNG, history)
    tb/                TensorBoard scalars

and ``<runs_dir>/.locks/<dataset>-<neuron>-<signature>-seed=<seed>.lock`` while a process trains it.

The signature is a hash of the resolved config without the seed and without the keys that cannot change the
result (paths, worker and thread counts, the device choice, ...: ``signature_ignores`` in ``configs/train.yaml``),
with numbers normalised (``4`` and ``4.0`` are one value), so a computation always maps to one folder.
Every file is written atomically: to a temporary name, then renamed over the old one.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from snnbench.records import flatten

if TYPE_CHECKING:  # torch and omegaconf are imported where they are used: readers of records start fast
    import torch
    from omegaconf import DictConfig

log = logging.getLogger("snnbench")
RESULT_SCHEMA_VERSION = 1
#: Where the list of keys that do not change what a run computes lives: ``signature_ignores`` in
#: ``configs/train.yaml`` (dotted patterns, ``*`` for one or more levels). The seed is never part of it.
IGNORES_KEY = "signature_ignores"


def _normalise(value: Any) -> Any:
    """One spelling per value: 4.0 and 4 are the same number; lists element-wise."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def ignored(key: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)


def signature_fields(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config's dotted keys that define a run's computation (all but the seed, ``signature_ignores``
    and the keys that it matches), with normalised values."""
    from omegaconf import OmegaConf

    resolved = OmegaConf.to_container(cfg, resolve=True)
    patterns = list(resolved.pop(IGNORES_KEY, None) or [])
    resolved.pop("seed", None)
    return {k: _normalise(v) for k, v in flatten(resolved).items() if not ignored(k, patterns)}


def config_signature(cfg: DictConfig) -> str:
    """Short hash of :func:`signature_fields`: the same computation always maps to the same run folder."""
    text = json.dumps(signature_fields(cfg), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Files get the permissions of an ordinary ``open(..., "w")`` under the process's umask (a shared runs folder
#: stays readable by colleagues with umask 022), not mkstemp's 0600.
FILE_MODE = 0o666 & ~_umask()
LEFTOVER_GLOBS = (".*.tmp", "checkpoints/.*.tmp")


class CheckpointError(RuntimeError):
    """No checkpoint of a run can be read; the message names the files and the fix."""


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, FILE_MODE)
        try:
            write(Path(tmp))
        except OSError:
            raise
        except Exception as err:  # torch.save reports a full disk as a RuntimeError from its zip writer
            free = shutil.disk_usage(path.parent).free
            raise OSError(errno.ENOSPC if free < 16 << 20 else errno.EIO,
                          f"could not write {path} ({type(err).__name__}: {err}); {free} bytes free there") from err
        with open(tmp, "rb") as f:  # durable before it becomes visible: data, then the rename in the folder
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a part."""
    _atomic_write(path, lambda tmp: tmp.write_text(text))


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
        """Outside the run folder, so that a run that never starts leaves no folder behind."""
        runs_dir = self.path.parents[3]
        return runs_dir / ".locks" / f"{'-'.join(self.path.parts[-4:])}.lock"

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

    def read_result(self) -> dict[str, Any] | None:
        """The run's record; None when there is none, or when it is damaged (truncated, empty, not a record):
        the run is then resumed from its checkpoint, which rewrites the record."""
        if not self.result_path.exists():
            return None
        try:
            record = json.loads(self.result_path.read_text())
        except (OSError, ValueError) as err:
            log.warning(f"ignoring the damaged record {self.result_path} ({type(err).__name__}: {err})")
            return None
        if not isinstance(record, dict):
            log.warning(f"ignoring the damaged record {self.result_path} (not a JSON object)")
            return None
        return record

    def remove_leftovers(self) -> None:
        """Temporary files of writes that a kill interrupted (only the run's owner calls this)."""
        for pattern in LEFTOVER_GLOBS:
            for leftover in self.path.glob(pattern):
                leftover.unlink(missing_ok=True)

    def write_result(self, result: dict[str, Any]) -> None:
        atomic_write_text(self.result_path, json.dumps({"schema_version": RESULT_SCHEMA_VERSION, **result}, indent=2))

    def write_config(self, cfg: DictConfig) -> None:
        from omegaconf import OmegaConf

        atomic_write_text(self.path / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))

    def write_metrics(self, history: list[dict[str, Any]]) -> None:
        atomic_write_text(self.metrics_path, "".join(json.dumps(row) + "\n" for row in history))

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Write ``last.pt``, keeping the one it replaces as ``previous.pt``."""
        import torch

        if self.checkpoint_path.exists():
            os.replace(self.checkpoint_path, self.previous_checkpoint_path)
        _atomic_write(self.checkpoint_path, lambda tmp: torch.save(state, tmp))

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

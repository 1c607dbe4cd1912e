"""One run, one owner: a lock file in the run folder, kept fresh by a heartbeat thread.

A second process that finds a live lock skips the run. A lock whose owner is dead (same host, pid gone),
whose heartbeat is older than ``stale_after_s`` (any host), or that the same SLURM job left before being
requeued after a time-out or pre-emption (possibly on another node) is taken over.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

HEARTBEAT_S = 15.0
STALE_AFTER_S = 600.0


def slurm_job() -> str | None:
    """The SLURM job (array task) this process belongs to; it keeps its id when SLURM requeues it."""
    if "SLURM_ARRAY_JOB_ID" in os.environ:
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID', '')}"
    return os.environ.get("SLURM_JOB_ID")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_is_stale(path: Path, stale_after_s: float = STALE_AFTER_S) -> bool:
    """True when the lock's owner is gone: a dead pid on this host, or no heartbeat for ``stale_after_s``."""
    try:
        owner = json.loads(path.read_text())
        age = time.time() - path.stat().st_mtime
    except (FileNotFoundError, json.JSONDecodeError):
        return True
    if owner.get("host") == socket.gethostname() and not _alive(int(owner.get("pid", -1))):
        return True
    if owner.get("slurm_job") is not None and owner.get("slurm_job") == slurm_job():
        return True
    return age > stale_after_s


class RunLock:
    """``with RunLock(path) as lock:`` -- ``lock.acquired`` says whether this process owns the run."""

    def __init__(self, path: Path, stale_after_s: float = STALE_AFTER_S) -> None:
        self.path = Path(path)
        self.stale_after_s = stale_after_s
        self.acquired = False
        self.owner: dict = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _try_create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump({"pid": os.getpid(), "host": socket.gethostname(), "slurm_job": slurm_job(),
                       "since": time.time()}, f)
        return True

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.acquired = self._try_create()
        if not self.acquired and lock_is_stale(self.path, self.stale_after_s):
            self.path.unlink(missing_ok=True)  # a dead owner's lock: take it over
            self.acquired = self._try_create()
        if self.acquired:
            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()
        else:
            try:
                self.owner = json.loads(self.path.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                self.owner = {}
        return self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            os.utime(self.path)

    def __exit__(self, *exc: object) -> None:
        if self.acquired:
            self._stop.set()
            self.path.unlink(missing_ok=True)

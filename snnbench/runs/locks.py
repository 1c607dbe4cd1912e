"""One run, one owner: an exclusive lock (``flock``, through the ``filelock`` package) held while a run trains.

The operating system releases the lock when its owner exits or dies (kill -9, a crash, a SLURM job that is
requeued), so there is no stale lock to detect and take over, and no check-then-act race between contenders.
Next to the lock the owner keeps ``<lock>.owner.json`` (pid, host, SLURM job, start time), touched by a heartbeat,
for ``snnbench status`` to say who trains a run; it is never consulted to decide ownership.

Limit: the runs folder must be on a filesystem whose ``flock`` locks are shared by every machine that uses it
(local disks; NFSv4 and Lustre mounted with flock support).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from snnbench.runs.files import atomic_write_text

HEARTBEAT_S = 15.0
STALE_AFTER_S = 600.0


def slurm_job() -> str | None:
    """The SLURM job (array task) this process belongs to."""
    if "SLURM_ARRAY_JOB_ID" in os.environ:
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID', '')}"
    return os.environ.get("SLURM_JOB_ID")


def owner_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".owner.json")


def read_owner(lock_path: Path) -> dict[str, Any]:
    """Who holds (or last held) the lock, as its owner wrote it; {} when absent, unreadable or malformed."""
    try:
        owner = json.loads(owner_path(lock_path).read_text())
    except (OSError, ValueError):
        return {}
    valid = isinstance(owner, dict) and isinstance(owner.get("pid"), int) and isinstance(owner.get("host"), str)
    return owner if valid else {}


def alive(pid: object) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


def seems_running(lock_path: Path, stale_after_s: float = STALE_AFTER_S) -> bool:
    """For display only (never for ownership): an owner file whose heartbeat is fresh and, on this host, whose
    process is alive (a stopped process, SIGSTOP, is alive but beats no more)."""
    owner = read_owner(lock_path)
    if not owner:
        return False
    if owner.get("host") == socket.gethostname() and not alive(owner.get("pid")):
        return False
    try:
        return time.time() - owner_path(lock_path).stat().st_mtime < stale_after_s
    except OSError:
        return False


class RunLock:
    """``with RunLock(path) as lock:`` -- ``lock.acquired`` says whether this process owns the run now;
    otherwise ``lock.owner`` says who does (as far as its owner file tells)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.acquired = False
        self.owner: dict[str, Any] = {}
        self._lock = FileLock(str(self.path), timeout=0, thread_local=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            self.owner = read_owner(self.path)
            return self
        self.acquired = True
        self.owner = {"pid": os.getpid(), "host": socket.gethostname(), "slurm_job": slurm_job(), "since": time.time()}
        atomic_write_text(owner_path(self.path), json.dumps(self.owner))
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(owner_path(self.path))
            except OSError:
                pass  # display only: a full or vanished folder must not stop training

    def __exit__(self, *exc: object) -> None:
        if not self.acquired:
            return
        self._stop.set()
        owner_path(self.path).unlink(missing_ok=True)  # before the release: a successor's owner file is its own
        self._lock.release()
        self.acquired = False

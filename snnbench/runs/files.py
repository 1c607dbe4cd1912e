"""Atomic, durable writes: a reader sees the old file or the new one, never a part, even after kill -9."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import traceback
from pathlib import Path
from typing import Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Files get the permissions of an ordinary ``open(..., "w")`` under the process's umask (a shared runs folder
#: stays readable by colleagues with umask 022), not mkstemp's 0600.
FILE_MODE = 0o666 & ~_umask()


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary file next to ``path``, fsync it, rename it over ``path``, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, FILE_MODE)
        try:
            write(Path(tmp))
        except OSError as err:
            _release(err)
            raise
        except Exception as err:  # torch.save reports a full disk as a RuntimeError from its zip writer
            _release(err)
            free = shutil.disk_usage(path.parent).free
            code = errno.ENOSPC if free < 16 << 20 else errno.EIO
            raise OSError(code, f"could not write {path}: {os.strerror(code)} ({type(err).__name__}: {err}); "
                                f"{free} bytes free there") from None
        with open(tmp, "rb") as f:  # durable before it becomes visible: data, then the rename in the folder
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _release(err: BaseException) -> None:
    """Drop the local variables of the frames an exception (and its chain) holds: a half-written file object among
    them would keep the deleted temporary's space on a full disk until the exception is gone, and the failure
    record written after it would not fit."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        traceback.clear_frames(err.__traceback__)
        err = err.__cause__ or err.__context__


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a part."""
    atomic_write(path, lambda tmp: tmp.write_text(text))

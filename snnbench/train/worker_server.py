"""The fork server of a parallel sweep: its worker processes are forked from one process that imported PyTorch, the
training loop and TorchDynamo once (:mod:`snnbench.train.worker_preload`), so that each starts its first job
without 3 s of imports of its own; the server imports them while this process still composes the sweep's jobs."""

from __future__ import annotations

import multiprocessing
import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

PRELOAD = "snnbench.train.worker_preload"


class WorkerServer(Callback):
    """At the start of a multirun on Hydra's joblib launcher (``hydra/launcher=parallel``, the default ``-m`` on a
    machine without a GPU): loky's workers are started by the standard library's fork server, with
    :data:`PRELOAD` imported in it. On Linux only: elsewhere loky starts them as usual (macOS's system libraries
    are not safe to use in a process forked after they were loaded; Windows has no fork)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        launcher = str(config.hydra.launcher.get("_target_", "")).lower()
        if "joblib" not in launcher or not sys.platform.startswith("linux"):
            return
        from multiprocessing import forkserver

        from joblib.externals.loky.backend.context import set_start_method

        multiprocessing.set_forkserver_preload([PRELOAD])
        set_start_method("forkserver", force=True)
        forkserver.ensure_running()

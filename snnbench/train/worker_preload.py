"""Imported once, by the fork server of a parallel sweep (:class:`snnbench.train.worker_server.WorkerServer`): each
worker process is forked from it with PyTorch, the training loop and TorchDynamo (which ``torch.optim`` imports on
an optimizer's first use) already imported, instead of importing them itself (about 3 s a process here)."""

import atexit
import os

import torch

from snnbench.train import loop  # noqa: F401  (imported for its imports)

torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # imports TorchDynamo, as a run's first optimizer would
SERVER_PID = os.getpid()


def exit_server_at_once() -> None:
    """The fork server holds the sweep's standard output open until it exits, and PyTorch's teardown would keep it
    0.7-1 s after the sweep is done; it has nothing to save. Processes forked from it exit as usual."""
    if os.getpid() == SERVER_PID:
        os._exit(0)


atexit.register(exit_server_at_once)

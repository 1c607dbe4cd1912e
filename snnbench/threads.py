"""How many intra-op CPU threads a run uses: snnbench sets it, never more than the cores this process may use.

PyTorch's default is one thread per core of the machine. When several jobs share the cores (a parallel sweep,
a SLURM job with fewer CPUs than the node, DataLoader workers, a shared server) its spinning OpenMP threads
wait on cores they do not get, and training slows down by orders of magnitude. The thread count also changes
the floating-point results on CPU, so it is recorded with every run.
"""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The cores this process may run on: its CPU affinity, capped by SLURM's ``SLURM_CPUS_PER_TASK``."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return max(1, min(cpus, int(slurm)) if slurm.isdigit() and int(slurm) > 0 else cpus)


def auto_threads(jobs_per_machine: int = 1, workers: int = 0) -> int:
    """The cores of this process's share of the machine (``usable_cpus / jobs_per_machine``), less one per
    DataLoader worker, at least 1."""
    share = usable_cpus() // max(1, jobs_per_machine)
    return max(1, share - max(0, workers))


def resolve_threads(setting: int | str, jobs_per_machine: int = 1, workers: int = 0) -> int:
    """``trainer.threads``: ``auto`` (see :func:`auto_threads`) or a count, capped at the usable cores."""
    from snnbench.errors import ConfigError

    if setting == "auto":
        return auto_threads(jobs_per_machine, workers)
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise ConfigError(f"trainer.threads={setting!r}; set auto or a whole number >= 1")
    return min(setting, usable_cpus())

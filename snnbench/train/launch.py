"""How this process was started, as far as a run needs to know; light (no torch), so that ``snnbench train``
composes and checks a command before the training loop is imported."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Launch:
    """How this process was started, as far as a run needs to know: the command line for its record, and how many
    jobs of its sweep share this machine (Hydra's launcher tells; see ``snnbench.train.app``)."""

    command_line: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    job_number: int = 0          # this job's number in a multirun: picks its GPU
    jobs_per_machine: int = 1    # parallel jobs of this sweep on this machine


def usable_cpus() -> int:
    """The cores this process may run on: its CPU affinity, capped by SLURM's ``SLURM_CPUS_PER_TASK``."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return max(1, min(cpus, int(slurm)) if slurm.isdigit() and int(slurm) > 0 else cpus)

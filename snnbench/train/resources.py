"""What a run runs on, resolved once: the device, the CPU thread count and mixed precision.

PyTorch's default is one intra-op thread per core of the machine. When several jobs share the cores (a parallel
sweep, a SLURM job with fewer CPUs than the node, DataLoader workers, a shared server) its spinning OpenMP threads
wait on cores they do not get, and training slows down by orders of magnitude. snnbench sets the count itself; it
also changes the floating-point results on CPU, so it is recorded with every run.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig

from snnbench.errors import ConfigError
from snnbench.runs.locks import alive
from snnbench.train.distributed import Dist
from snnbench.train.launch import Launch, usable_cpus


@dataclass(frozen=True)
class Resources:
    device: torch.device
    threads: int
    amp: bool        # mixed precision in training (CUDA only)
    eval_amp: bool   # ... and in evaluation


def busy_cores(seconds: float = 0.25) -> float:
    """How many of the machine's cores other processes keep busy now: ``/proc/stat`` sampled ``seconds`` apart,
    while this process sleeps (0 where there is no ``/proc/stat``)."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    try:
        total_0, idle_0 = sample()
        time.sleep(seconds)
        total_1, idle_1 = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    machine = os.cpu_count() or 1
    return machine * (1 - (idle_1 - idle_0) / max(1, total_1 - total_0))


RUNNING = Path(tempfile.gettempdir()) / f"snnbench-{os.getuid() if hasattr(os, 'getuid') else 'user'}-running"


def announce_run() -> None:
    """Say that this process trains (a file named by its pid, removed by :func:`retire_run` when the run ends), for
    :func:`other_runs`."""
    RUNNING.mkdir(parents=True, exist_ok=True)
    (RUNNING / str(os.getpid())).touch()


def retire_run() -> None:
    """This process no longer trains (a parallel sweep's worker between jobs, or one killed once its jobs are done)."""
    (RUNNING / str(os.getpid())).unlink(missing_ok=True)


def other_runs() -> int:
    """How many other snnbench processes of this user train on this machine now (their files, pids alive)."""
    count = 0
    for entry in RUNNING.glob("*") if RUNNING.is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if alive(int(entry.name)):
            count += 1
        else:  # left by a process killed while it trained
            entry.unlink(missing_ok=True)
    return count


def auto_threads(jobs_per_machine: int = 1, workers: int = 0) -> int:
    """The cores of this process's share of the machine (``usable_cpus / jobs_per_machine``), less one per
    DataLoader worker, at least 1. A run alone on its machine (not one of a parallel sweep's jobs) also leaves the
    cores that other processes keep busy at its start, and shares the rest with the other snnbench runs starting
    or training beside it (a second sweep, a test suite, a colleague's job): oversubscribed threads wait for cores
    they do not get. Measured in ``results/README.md`` (``scripts/bench_contention.py``)."""
    share = usable_cpus() // max(1, jobs_per_machine)
    if jobs_per_machine == 1:
        free = max(1, usable_cpus() - round(busy_cores()))  # sampled after announcing: runs starting together
        share = min(share, max(1, free // (1 + other_runs())))  # see each other
    return max(1, share - max(0, workers))


def check_threads_setting(setting: int | str) -> None:
    if setting != "auto" and (isinstance(setting, bool) or not isinstance(setting, int) or setting < 1):
        raise ConfigError(f"trainer.threads={setting!r}; set auto or a whole number >= 1")


def resolve_threads(setting: int | str, jobs_per_machine: int = 1, workers: int = 0) -> int:
    """``trainer.threads``: ``auto`` (see :func:`auto_threads`) or a count, capped at the usable cores."""
    check_threads_setting(setting)
    return auto_threads(jobs_per_machine, workers) if setting == "auto" else min(int(setting), usable_cpus())


def pick_device(setting: str, gpu_index: int = 0) -> torch.device:
    """CPU or the GPU ``gpu_index`` modulo the visible GPUs (a torchrun local rank, or a parallel job's number)."""
    if setting not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"trainer.device={setting!r}; choose auto, cpu or cuda")
    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("trainer.device=cuda but no CUDA device is visible; use trainer.device=auto or cpu")
    if setting == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", gpu_index % torch.cuda.device_count())


def precision(device: torch.device, trainer: DictConfig) -> tuple[bool, bool]:
    """(AMP in training, AMP in evaluation): only on CUDA, and evaluation only if ``trainer.eval_amp``."""
    train_amp = device.type == "cuda" and bool(trainer.amp)
    return train_amp, train_amp and bool(trainer.eval_amp)


def resolve_resources(trainer: DictConfig, launch: Launch, dist: Dist, resumed_threads: int | None = None) -> Resources:
    """The device, threads and precision of one run; torchrun's local ranks share the machine like parallel jobs.
    With ``trainer.threads=auto`` a resumed run keeps the thread count its epochs so far ran with
    (``resumed_threads``): on a CPU it changes the metrics, and a resume must end where an uninterrupted run does."""
    jobs = launch.jobs_per_machine * int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    announce_run()
    if trainer.threads == "auto" and isinstance(resumed_threads, int) and resumed_threads >= 1:
        threads = min(resumed_threads, usable_cpus())
    else:
        threads = resolve_threads(trainer.threads, jobs, trainer.num_workers)
    device = pick_device(trainer.device, dist.local_rank if dist.enabled else launch.job_number)
    return Resources(device, threads, *precision(device, trainer))


def apply(resources: Resources) -> None:
    """Set the thread count, and deterministic kernels on CPU (cuDNN's autotuner on CUDA)."""
    torch.set_num_threads(resources.threads)
    if resources.device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cudnn.benchmark = True

"""One run on several processes, started by ``torchrun --nproc_per_node=N -m snnbench train ...``.

All ranks compute the same run folder (it is a hash of the config); rank 0 alone takes the lock and writes
records, checkpoints and TensorBoard. Each rank trains on its shard (DistributedSampler, reshuffled per epoch),
gradients are averaged by DistributedDataParallel, and every rank evaluates the full test set with the same
weights. ``trainer.batch_size`` stays the global batch: each rank takes ``batch_size / world_size``.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


@contextmanager
def process_group() -> Iterator[Dist]:
    """Join the process group torchrun describes in the environment (gloo on CPU, nccl on CUDA) for one run.

    The group is joined once per process (the jobs of a multirun share it: torch cannot join again after
    leaving) and destroyed when the process exits. Each run ends at a barrier, so that every rank leaves it
    together: a rank 0 that found the run done and exited at once, group alive, aborted in gloo's destructor
    ("terminate called without an active exception") in 3 of 20 rounds.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        yield Dist()
        return
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        atexit.register(dist.destroy_process_group)
    yield Dist(rank=dist.get_rank(), world=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    dist.barrier()


def sum_across(values: list[float], info: Dist) -> list[float]:
    """Element-wise sum of ``values`` over all ranks (the values themselves when not distributed)."""
    if not info.enabled:
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.tolist()


def share_decision(decision: str | None, info: Dist) -> str:
    """Rank 0's decision (``train``, ``done`` or ``skipped``), the same on every rank: one choice per run, made
    once, so that no rank waits for a rank 0 that never trains."""
    if not info.enabled:
        return decision or "train"
    box = [decision]
    dist.broadcast_object_list(box, src=0)
    return box[0]

"""Efficiency next to accuracy: operations, energy, size and memory of a trained network.

Operations are counted by SpikingJelly's op counters (``activation_based.op_counter``) under its
``DispatchCounterMode``, on a bounded number of test batches after the last epoch:

- **SynOps** (``SynOpCounter``): accumulations driven by binary inputs in matmuls and convolutions,
  ``nnz(spikes) x fan-out``.
- **MACs** (``MACCounter``): dense multiply-accumulates, where neither operand is binary: the first layer on
  analog input, the PSN family's T x T or k-tap mixing of input currents, the read-out on real values.
  BatchNorm is not counted: at inference it folds into the preceding layer's weights.

Energy per sample is the standard 45 nm estimate ``E = MACs * e_mac + SynOps * e_ac`` (Horowitz 2014:
4.6 pJ per 32-bit float MAC, 0.9 pJ per AC, the same defaults as SpikingJelly's ``SimpleEnergyCostConfig``),
compute only: memory traffic is not part of it. Both constants are settings (``efficiency.*``).

Traps of the counters, and what we do about them: a tensor counts as spikes when every value is 0 or 1, so an
all-zero input counts as spikes (it then adds no operation either way) and an average-pooled spike map
(values k/n) counts as dense input (its next layer's operations are MACs, as SpikingJelly counts them). The
network is reset after every counted forward.
"""

from __future__ import annotations

import itertools
import resource
import sys
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn as nn
from spikingjelly.activation_based import functional
from spikingjelly.activation_based.op_counter import DispatchCounterMode, MACCounter, SynOpCounter

from snnbench.data import to_time_major

aten = torch.ops.aten


def model_bytes(model: nn.Module) -> int:
    """Bytes of the parameters and buffers (the model's size on disk, give or take the container)."""
    return sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))


def _per_layer(counts: dict[str, dict[Any, int]], samples: int) -> dict[str, float]:
    """Counts of the innermost module scopes (a layer, not the containers around it), per sample, keyed by
    the module's path in the network (``"2.0"``)."""
    scopes = [s for s in counts if s != "Global"]
    leaves = [s for s in scopes if not any(other.startswith(s + ".") for other in scopes)]
    return {s.split(".", 1)[-1] if "." in s else s: sum(counts[s].values()) / samples for s in leaves}


@torch.no_grad()
def count_operations(model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], batches: int,
                     device: torch.device, encoding: str, T: int, pj_per_ac: float,
                     pj_per_mac: float) -> dict[str, Any]:
    """SynOps, MACs and energy per sample of ``model`` on the first ``batches`` of ``loader`` (in fp32, in eval
    mode), total and per layer.

    The random number generators are left as they were (a DataLoader draws a seed when iterated, a stochastic
    neuron such as MPE-PSN draws at test time): counting must not change what a run computes after it
    (``efficiency.every_epoch``).
    """
    synops, macs = SynOpCounter(), MACCounter()
    macs.rules.pop(aten.native_batch_norm.default, None)  # folds into the previous layer at inference
    was_training = model.training
    model.eval()
    samples = 0
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
                DispatchCounterMode([synops, macs]):
            for x, y in itertools.islice(loader, batches):
                model(to_time_major(x.to(device), encoding, T))
                functional.reset_net(model)
                samples += len(y)
    finally:
        functional.reset_net(model)
        model.train(was_training)
    if samples == 0:
        return {}
    synop_total, mac_total = synops.get_total() / samples, macs.get_total() / samples
    return {
        "synops_per_sample": synop_total,
        "macs_per_sample": mac_total,
        "energy_uj_per_sample": (synop_total * pj_per_ac + mac_total * pj_per_mac) * 1e-6,
        "synops_per_layer": _per_layer(synops.get_counts(), samples),
        "macs_per_layer": _per_layer(macs.get_counts(), samples),
        "counted_samples": samples,
        "energy_pj_per_ac": pj_per_ac,
        "energy_pj_per_mac": pj_per_mac,
    }


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> dict[str, Any]:
    """Peak memory so far: CUDA memory allocated by tensors since the last reset, or else the process's peak
    resident set size (which includes Python, the libraries and the data)."""
    if device.type == "cuda":
        return {"peak_memory_mb": torch.cuda.max_memory_allocated(device) / 2**20, "peak_memory_kind": "cuda_allocated"}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return {"peak_memory_mb": peak / (2**20 if sys.platform == "darwin" else 2**10), "peak_memory_kind": "cpu_max_rss"}

"""The contents of a run's ``result.json``: what ran where (the header), and the summary of its history."""

from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Any

import torch
from omegaconf import DictConfig

from snnbench.runs.folder import RunFolder
from snnbench.runs.signature import SCHEME
from snnbench.train.distributed import Dist
from snnbench.train.resources import Launch, Resources


def versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        **{name: version(name) for name in ("torch", "spikingjelly", "hydra-core", "snnbench")},
    }


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def header(cfg: DictConfig, run: RunFolder, params: int, resources: Resources, dist: Dist, launch: Launch,
           previous: dict[str, Any] | None) -> dict[str, Any]:
    """The fields of a record that do not change while the run trains."""
    device = resources.device
    return {
        "dataset": cfg.dataset.name, "neuron": cfg.neuron.name, "model": cfg.model._target_.rsplit(".", 1)[-1],
        "recipe": cfg.recipe, "seed": cfg.seed, "T": cfg.T, "epochs": cfg.trainer.epochs, "signature": run.signature,
        "signature_scheme": SCHEME,
        "run_dir": str(run.path), "params": params, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "amp": resources.amp, "eval_amp": resources.eval_amp, "threads": resources.threads, "world_size": dist.world,
        "versions": versions(), "command": " ".join(launch.command_line or sys.argv), "overrides": list(launch.overrides),
        "started_at": (previous or {}).get("started_at", now()),
    }


def summarise(history: list[dict[str, Any]]) -> dict[str, Any]:
    """Best-epoch (the paper's metric) and final-epoch test accuracy of a history, and the median training time
    of an epoch (the first, which warms up, left out when there are more)."""
    if not history:
        return {"epochs_done": 0}
    best = max(history, key=lambda row: row["test_acc"])
    timed = sorted(row["train_s"] for row in (history[1:] if len(history) > 1 else history))
    return {"epochs_done": len(history), "best_test_acc": best["test_acc"], "best_epoch": best["epoch"],
            "train_s_per_epoch": timed[len(timed) // 2],
            "final_test_acc": history[-1]["test_acc"], "final_train_acc": history[-1]["train_acc"],
            "firing_rates": history[-1]["firing_rates"], "mean_firing_rate": history[-1]["mean_firing_rate"]}


def epoch_line(epoch: int, epochs: int, stats: dict[str, Any], summary: dict[str, Any]) -> str:
    return (f"epoch {epoch + 1:>3}/{epochs}  train loss {stats['train_loss']:.4f} acc {stats['train_acc']:.4f}"
            f"  |  test loss {stats['test_loss']:.4f} acc {stats['test_acc']:.4f}"
            f" (best {summary['best_test_acc']:.4f} @ {summary['best_epoch'] + 1})"
            f"  |  {stats['train_s']:.1f}s train, {stats['eval_s']:.1f}s eval,"
            f" {stats['train_samples_per_s']:.0f} samples/s, firing rate {stats['mean_firing_rate']:.3f}")


def done_lines(result: dict[str, Any], result_path: str) -> list[str]:
    lines = [f"done: best test acc {result['best_test_acc']:.4f} (epoch {result['best_epoch'] + 1}),"
             f" final {result['final_test_acc']:.4f}, {result['wall_s']:.1f}s -> {result_path}"]
    if "energy_uj_per_sample" in result:
        lines.append(f"per sample: {result['synops_per_sample']:,.0f} SynOps, {result['macs_per_sample']:,.0f} MACs,"
                     f" {result['energy_uj_per_sample']:.4f} uJ (counted on {result['counted_samples']} test samples"
                     f" in {result['efficiency_s']:.2f}s); peak memory {result['peak_memory_mb']:.0f} MB")
    return lines

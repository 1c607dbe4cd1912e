"""The training loop, read top to bottom: build, resume, train and evaluate each epoch, record.

``train(cfg)`` is what ``snnbench train`` runs for every config of a sweep. A run whose record says
``done`` is skipped; a run with a checkpoint resumes after its last finished epoch and, on CPU with
the same seed, ends with exactly the metrics of an uninterrupted run (model, optimiser, scheduler,
RNG states and the per-epoch shuffling seed are all restored or derived from the epoch).
"""

from __future__ import annotations

import logging
import platform
import random
import sys
import time
import traceback
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig
from spikingjelly.activation_based import functional
from torch.utils.data import DataLoader
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from snnbench.build import build_experiment, count_parameters, instantiate_checked
from snnbench.data import to_time_major
from snnbench.errors import ConfigError
from snnbench.runs import RunFolder

log = logging.getLogger("snnbench")

#: The command line as the user typed it; ``snnbench.cli`` fills it before Hydra rewrites ``sys.argv``.
COMMAND_LINE: list[str] = []


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("trainer.device=cuda but no CUDA device is visible; use trainer.device=auto or cpu")
    if setting not in ("cpu", "cuda"):
        raise ConfigError(f"trainer.device={setting!r}; choose auto, cpu or cuda")
    return torch.device(setting)


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        **{name: version(name) for name in ("torch", "spikingjelly", "hydra-core", "snnbench")},
    }


def train_one_epoch(model: nn.Module, loader: DataLoader, criterion: nn.Module, optimizer: torch.optim.Optimizer,
                    scaler: torch.amp.GradScaler, device: torch.device, encoding: str, T: int,
                    desc: str) -> dict[str, float]:
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    start = time.perf_counter()
    for x, y in tqdm(loader, desc=desc, leave=False, disable=None, dynamic_ncols=True):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        x = to_time_major(x, encoding, T)
        with torch.autocast(device.type, enabled=scaler.is_enabled()):
            out = model(x)
            loss = criterion(out, y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        functional.reset_net(model)
        labels = y.argmax(1) if y.ndim == 2 else y  # Mixup/CutMix give soft labels: count the dominant class
        loss_sum += loss.item() * len(y)
        correct += (out.mean(0).argmax(1) == labels).sum().item()
        seen += len(y)
    seconds = time.perf_counter() - start
    return {"train_loss": loss_sum / seen, "train_acc": correct / seen, "train_s": seconds,
            "train_samples_per_s": seen / seconds}


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, criterion: nn.Module, device: torch.device,
             encoding: str, T: int, use_amp: bool, neurons: list[nn.Module]) -> dict[str, Any]:
    """Test loss and accuracy, and the mean firing rate of every neuron layer over the test set."""
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    spikes = torch.zeros(len(neurons), dtype=torch.float64)
    counts = torch.zeros(len(neurons), dtype=torch.float64)

    def count_spikes(index: int):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            spikes[index] += output.float().sum().item()
            counts[index] += output.numel()
        return hook

    handles = [layer.register_forward_hook(count_spikes(i)) for i, layer in enumerate(neurons)]
    start = time.perf_counter()
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        x = to_time_major(x, encoding, T)
        with torch.autocast(device.type, enabled=use_amp):
            out = model(x)
            loss_sum += criterion(out, y).item() * len(y)
        functional.reset_net(model)
        correct += (out.mean(0).argmax(1) == y).sum().item()
        seen += len(y)
    seconds = time.perf_counter() - start
    for handle in handles:
        handle.remove()
    rates = (spikes / counts.clamp(min=1)).tolist()
    return {"test_loss": loss_sum / seen, "test_acc": correct / seen, "eval_s": seconds,
            "firing_rates": rates, "mean_firing_rate": sum(rates) / max(1, len(rates))}


def summarise(history: list[dict[str, Any]]) -> dict[str, Any]:
    """Best-epoch (the paper's metric) and final-epoch test accuracy of a history."""
    if not history:
        return {"epochs_done": 0}
    best = max(history, key=lambda row: row["test_acc"])
    return {"epochs_done": len(history), "best_test_acc": best["test_acc"], "best_epoch": best["epoch"],
            "final_test_acc": history[-1]["test_acc"], "final_train_acc": history[-1]["train_acc"],
            "firing_rates": history[-1]["firing_rates"], "mean_firing_rate": history[-1]["mean_firing_rate"]}


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train the run that ``cfg`` describes (or skip or resume it); return its result record."""
    run = RunFolder.for_config(cfg)
    previous = run.read_result()
    if previous and previous.get("status") == "done":
        log.info(f"already done, nothing to train: {run.path} (best test acc {previous['best_test_acc']:.4f})")
        return previous

    seed_everything(cfg.seed)
    device = pick_device(cfg.trainer.device)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cudnn.benchmark = True
    experiment = build_experiment(cfg)
    data, model = experiment.data, experiment.model.to(device)
    optimizer = instantiate_checked(cfg.optim, params=model.parameters())
    scheduler = instantiate(cfg.sched, optimizer=optimizer)
    criterion = instantiate(cfg.loss)
    use_amp = device.type == "cuda" and cfg.trainer.amp
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)

    history: list[dict[str, Any]] = []
    elapsed = 0.0
    checkpoint = run.load_checkpoint(device)
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        scaler.load_state_dict(checkpoint["scaler"])
        restore_rng_state(checkpoint["rng"])
        history, elapsed = checkpoint["history"], checkpoint["elapsed_s"]
        log.info(f"resuming {run.path} after epoch {len(history)}")

    record = {
        "dataset": cfg.dataset.name, "neuron": cfg.neuron.name, "model": cfg.model._target_.rsplit(".", 1)[-1],
        "recipe": cfg.recipe, "seed": cfg.seed, "T": cfg.T, "epochs": cfg.trainer.epochs, "signature": run.signature,
        "run_dir": str(run.path), "params": count_parameters(model), "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "amp": use_amp, "versions": versions(), "command": " ".join(COMMAND_LINE or sys.argv),
        "overrides": list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else [],
        "started_at": (previous or {}).get("started_at", datetime.now(timezone.utc).isoformat(timespec="seconds")),
    }
    run.write_config(cfg)
    run.write_result({**record, "status": "running", "wall_s": elapsed, **summarise(history)})
    log.info(f"run folder: {run.path}  ({record['params']:,} parameters, {device})")

    generator = torch.Generator()
    train_loader = DataLoader(data.train, batch_size=cfg.trainer.batch_size, shuffle=True, generator=generator,
                              drop_last=cfg.trainer.drop_last, num_workers=cfg.trainer.num_workers,
                              collate_fn=data.collate_train, pin_memory=device.type == "cuda")
    test_loader = DataLoader(data.test, batch_size=cfg.trainer.eval_batch_size, num_workers=cfg.trainer.num_workers,
                             collate_fn=data.collate_test, pin_memory=device.type == "cuda")
    writer = SummaryWriter(str(run.tensorboard_dir), purge_step=len(history))
    epochs = cfg.trainer.epochs
    try:
        for epoch in range(len(history), epochs):
            generator.manual_seed(cfg.seed * 100_003 + epoch)  # the shuffle order depends only on seed and epoch
            experiment.neuron.start_epoch(model, epoch, epochs)
            lr = optimizer.param_groups[0]["lr"]
            stats = train_one_epoch(model, train_loader, criterion, optimizer, scaler, device, data.encoding,
                                    data.T, desc=f"epoch {epoch + 1}/{epochs}")
            stats |= evaluate(model, test_loader, criterion, device, data.encoding, data.T, use_amp,
                              experiment.neuron.layers)
            scheduler.step()
            elapsed += stats["train_s"] + stats["eval_s"]
            history.append({"epoch": epoch, "lr": lr, **stats})

            run.save_checkpoint({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                "rng": rng_state(), "history": history, "elapsed_s": elapsed,
            })
            run.write_metrics(history)
            summary = summarise(history)
            run.write_result({**record, "status": "running", "wall_s": elapsed, **summary})
            for key, value in stats.items():
                if key != "firing_rates":
                    writer.add_scalar(key, value, epoch)
            log.info(
                f"epoch {epoch + 1:>3}/{epochs}  train loss {stats['train_loss']:.4f} acc {stats['train_acc']:.4f}"
                f"  |  test loss {stats['test_loss']:.4f} acc {stats['test_acc']:.4f}"
                f" (best {summary['best_test_acc']:.4f} @ {summary['best_epoch'] + 1})"
                f"  |  {stats['train_s']:.1f}s train, {stats['eval_s']:.1f}s eval,"
                f" {stats['train_samples_per_s']:.0f} samples/s, firing rate {stats['mean_firing_rate']:.3f}"
            )
    except Exception as err:
        run.write_result({**record, "status": "failed", "wall_s": elapsed, **summarise(history),
                          "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()})
        raise
    finally:
        writer.close()

    result = {**record, "status": "done", "wall_s": elapsed, **summarise(history),
              "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    run.write_result(result)
    log.info(f"done: best test acc {result['best_test_acc']:.4f} (epoch {result['best_epoch'] + 1}),"
             f" final {result['final_test_acc']:.4f}, {elapsed:.1f}s -> {run.result_path}")
    return result

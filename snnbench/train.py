"""The training loop, read top to bottom: build, resume, train and evaluate each epoch, record.

``train(cfg)`` is what ``snnbench train`` runs for every config of a sweep. A run whose record says
``done`` is skipped; a run with a checkpoint resumes after its last finished epoch and, on CPU with
the same seed, ends with exactly the metrics of an uninterrupted run (model, optimiser, scheduler,
RNG states and the per-epoch shuffling seed are all restored or derived from the epoch).
"""

from __future__ import annotations

import logging
import math
import os
import platform
import random
import sys
import time
import traceback
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig
from spikingjelly.activation_based import functional
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from snnbench import efficiency
from snnbench.build import build_experiment, count_parameters, instantiate_checked
from snnbench.data import to_time_major
from snnbench.distributed import Dist, process_group, share_decision, sum_across
from snnbench.errors import ConfigError
from snnbench.locks import RunLock
from snnbench.runs import RunFolder
from snnbench.threads import resolve_threads, usable_cpus

log = logging.getLogger("snnbench")


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


#: The command line as the user typed it; ``snnbench.cli`` fills it before Hydra rewrites ``sys.argv``.
COMMAND_LINE: list[str] = []


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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
                    desc: str, info: Dist, aux_loss: Callable[[], torch.Tensor | float]) -> dict[str, float]:
    """One epoch; the loss is the criterion plus the neurons' auxiliary losses (``aux_loss``, 0 for most)."""
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    start = time.perf_counter()
    for x, y in tqdm(loader, desc=desc, leave=False, disable=None, dynamic_ncols=True):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        x = to_time_major(x, encoding, T)
        with torch.autocast(device.type, enabled=scaler.is_enabled()):
            out = model(x)
            loss = criterion(out, y) + aux_loss()
        loss_value = loss.item()  # the one host sync per batch
        if not math.isfinite(loss_value):
            raise NonFiniteLossError(f"the loss became {loss_value} during {desc}; the run stops here "
                                     f"(lower optim.lr, or check the data)")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        functional.reset_net(model)
        labels = y.argmax(1) if y.ndim == 2 else y  # Mixup/CutMix give soft labels: count the dominant class
        loss_sum += loss_value * len(y)
        correct += (out.mean(0).argmax(1) == labels).sum().item()
        seen += len(y)
    seconds = time.perf_counter() - start
    loss_sum, correct, seen = sum_across([loss_sum, correct, seen], info)
    return {"train_loss": loss_sum / seen, "train_acc": correct / seen, "train_s": seconds,
            "train_samples_per_s": seen / seconds}


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, criterion: nn.Module, device: torch.device,
             encoding: str, T: int, use_amp: bool, neurons: list[nn.Module]) -> dict[str, Any]:
    """Test loss and accuracy, and the mean firing rate of every neuron layer over the test set.

    Sums stay on the device until the end: no host synchronisation per batch or per layer.
    """
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    spikes = torch.zeros(len(neurons), dtype=torch.float64, device=device)
    counts = [0] * len(neurons)
    seen = 0

    def count_spikes(index: int):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            spikes[index] += output.detach().sum(dtype=torch.float64)
            counts[index] += output.numel()
        return hook

    handles = [layer.register_forward_hook(count_spikes(i)) for i, layer in enumerate(neurons)]
    start = time.perf_counter()
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        x = to_time_major(x, encoding, T)
        with torch.autocast(device.type, enabled=use_amp):
            out = model(x)
            loss_sum += criterion(out, y).double() * len(y)
        functional.reset_net(model)
        correct += (out.mean(0).argmax(1) == y).sum()
        seen += len(y)
    rates = (spikes.cpu() / torch.tensor(counts, dtype=torch.float64).clamp(min=1)).tolist()
    seconds = time.perf_counter() - start  # after the one synchronisation above
    for handle in handles:
        handle.remove()
    return {"test_loss": loss_sum.item() / seen, "test_acc": correct.item() / seen, "eval_s": seconds,
            "firing_rates": rates, "mean_firing_rate": sum(rates) / max(1, len(rates))}


def summarise(history: list[dict[str, Any]]) -> dict[str, Any]:
    """Best-epoch (the paper's metric) and final-epoch test accuracy of a history."""
    if not history:
        return {"epochs_done": 0}
    best = max(history, key=lambda row: row["test_acc"])
    return {"epochs_done": len(history), "best_test_acc": best["test_acc"], "best_epoch": best["epoch"],
            "final_test_acc": history[-1]["test_acc"], "final_train_acc": history[-1]["train_acc"],
            "firing_rates": history[-1]["firing_rates"], "mean_firing_rate": history[-1]["mean_firing_rate"]}


def check_settings(cfg: DictConfig) -> None:
    """Refuse impossible trainer and optimiser settings before anything is written."""
    trainer = cfg.trainer
    for key in ("epochs", "batch_size", "eval_batch_size", "checkpoint_every"):
        value = trainer[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"trainer.{key}={value!r} is impossible; set a whole number >= 1")
    lr = cfg.optim.get("lr")
    if lr is not None and (not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0):
        raise ConfigError(f"optim.lr={lr!r} is impossible; set a finite learning rate >= 0")
    resolve_threads(trainer.threads)
    batches = cfg.efficiency.batches
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 0:
        raise ConfigError(f"efficiency.batches={batches!r} is impossible; set a whole number >= 0 (0: no counting)")
    for key in ("pj_per_ac", "pj_per_mac"):
        value = cfg.efficiency[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"efficiency.{key}={value!r} is impossible; set a finite energy >= 0 (picojoules)")


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train the run that ``cfg`` describes (or skip or resume it); return its result record.

    A run that another live process is training is skipped: its record is returned with ``skipped: True``.
    """
    check_settings(cfg)
    run = RunFolder.for_config(cfg)
    with process_group() as info:
        return _train_as(cfg, run, info)


def _train_as(cfg: DictConfig, run: RunFolder, info: Dist) -> dict[str, Any]:
    """``train`` on one rank of ``info``: rank 0 decides and trains under the lock, the others follow it."""
    if not info.is_main:  # rank 0 owns the lock and the files and decides; the other ranks follow it
        decision = share_decision(None, info)
        if decision != "train":
            return {"status": decision, "run_dir": str(run.path), "skipped": decision == "skipped"}
        return _train_locked(cfg, run, run.read_result(), info)
    previous = run.read_result()
    if previous and previous.get("status") == "done":
        share_decision("done", info)
        log.info(f"already done, nothing to train: {run.path} (best test acc {previous.get('best_test_acc', 0):.4f})")
        return {**previous, "already_done": True}
    with RunLock(run.lock_path) as lock:
        if not lock.acquired:
            share_decision("skipped", info)
            log.info(f"skipping {run.path}: process {lock.owner.get('pid', '?')} on {lock.owner.get('host', '?')} "
                     f"is training it")
            return {**(previous or {}), "status": (previous or {}).get("status", "running"), "skipped": True,
                    "run_dir": str(run.path), "owner": lock.owner}
        previous = run.read_result()  # another process may have finished it meanwhile
        if previous and previous.get("status") == "done":
            share_decision("done", info)
            return {**previous, "already_done": True}
        share_decision("train", info)
        return _train_locked(cfg, run, previous, info)


def _count(cfg: DictConfig, model: nn.Module, test_loader: DataLoader, device: torch.device,
           data: Any) -> dict[str, Any]:
    """SynOps, MACs and energy per sample on the first ``efficiency.batches`` test batches, and how long it took."""
    if cfg.efficiency.batches < 1:
        return {}
    start = time.perf_counter()
    counts = efficiency.count_operations(model, test_loader, cfg.efficiency.batches, device, data.encoding, data.T,
                                         cfg.efficiency.pj_per_ac, cfg.efficiency.pj_per_mac)
    return counts | {"efficiency_s": time.perf_counter() - start}


def _record_end(run: RunFolder, record: dict[str, Any]) -> None:
    """Write a failed or interrupted record; if even that cannot be written (a full disk), say so on stderr."""
    try:
        run.write_result(record)
    except OSError as err:
        log.error(f"could not write the {record['status']} record of {run.path} ({type(err).__name__}: {err}); "
                  f"the run stopped with: {record['error']}")


def _parallel_job_number() -> int:
    return HydraConfig.get().job.num if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN else 0


def _jobs_per_machine() -> int:
    """Processes of this sweep or run that share this machine: torchrun's local ranks, or the joblib launcher's
    ``n_jobs`` (joblib's convention: -1 is one job per core)."""
    jobs = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        launcher = HydraConfig.get().launcher
        if "joblib" in str(launcher.get("_target_", "")).lower() and launcher.get("n_jobs") is not None:
            n_jobs = int(launcher.n_jobs)
            jobs *= n_jobs if n_jobs > 0 else max(1, usable_cpus() + 1 + n_jobs)
    return jobs


def _train_locked(cfg: DictConfig, run: RunFolder, previous: dict[str, Any] | None, info: Dist) -> dict[str, Any]:
    """Build, resume and train while holding the run's lock (rank 0 writes, other ranks only train)."""
    threads = resolve_threads(cfg.trainer.threads, _jobs_per_machine(), cfg.trainer.num_workers)
    torch.set_num_threads(threads)
    seed_everything(cfg.seed)
    device = pick_device(cfg.trainer.device, info.local_rank if info.enabled else _parallel_job_number())
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cudnn.benchmark = True
    experiment = build_experiment(cfg)
    model = experiment.model
    if info.enabled and cfg.trainer.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    data, model = experiment.data, model.to(device)
    optimizer = instantiate_checked(cfg.optim, params=model.parameters())
    scheduler = instantiate(cfg.sched, optimizer=optimizer)
    criterion = instantiate(cfg.loss)
    use_amp, eval_amp = precision(device, cfg.trainer)
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)

    record = {
        "dataset": cfg.dataset.name, "neuron": cfg.neuron.name, "model": cfg.model._target_.rsplit(".", 1)[-1],
        "recipe": cfg.recipe, "seed": cfg.seed, "T": cfg.T, "epochs": cfg.trainer.epochs, "signature": run.signature,
        "run_dir": str(run.path), "params": count_parameters(model), "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "amp": use_amp, "eval_amp": eval_amp, "threads": threads, "world_size": info.world, "versions": versions(),
        "command": " ".join(COMMAND_LINE or sys.argv),
        "overrides": list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else [],
        "started_at": (previous or {}).get("started_at", datetime.now(timezone.utc).isoformat(timespec="seconds")),
    }
    history: list[dict[str, Any]] = []
    elapsed = 0.0
    writer: SummaryWriter | None = None
    if info.is_main:
        run.remove_leftovers()
    try:
        checkpoint = run.load_checkpoint(device)
        if checkpoint is not None:
            model.load_state_dict(checkpoint["model"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            scheduler.load_state_dict(checkpoint["scheduler"])
            scaler.load_state_dict(checkpoint["scaler"])
            restore_rng_state(checkpoint["rng"])
            history, elapsed = checkpoint["history"], checkpoint["elapsed_s"]
            log.info(f"resuming {run.path} after epoch {len(history)}")
            if checkpoint.get("threads", threads) != threads and device.type == "cpu":
                log.warning(f"the epochs so far ran with {checkpoint['threads']} CPU threads, this process uses "
                            f"{threads}: the metrics can differ from an uninterrupted run (set "
                            f"trainer.threads={checkpoint['threads']} for a bit-exact resume)")
        trained = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None) \
            if info.enabled else model
        if info.is_main:
            run.write_config(cfg)
            run.write_result({**record, "status": "running", "wall_s": elapsed, **summarise(history)})
        log.info(f"run folder: {run.path}  ({record['params']:,} parameters, {device}, {threads} CPU threads"
                 + (f", rank {info.rank} of {info.world})" if info.enabled else ")"))

        generator = torch.Generator()
        persistent = bool(cfg.trainer.persistent_workers) and cfg.trainer.num_workers > 0
        sampler = DistributedSampler(data.train, num_replicas=info.world, rank=info.rank, shuffle=True,
                                     seed=cfg.seed, drop_last=cfg.trainer.drop_last) if info.enabled else None
        train_loader = DataLoader(data.train, batch_size=cfg.trainer.batch_size // info.world,
                                  shuffle=sampler is None, sampler=sampler, generator=generator,
                                  drop_last=cfg.trainer.drop_last,
                                  num_workers=cfg.trainer.num_workers, collate_fn=data.collate_train,
                                  pin_memory=device.type == "cuda", persistent_workers=persistent)
        test_loader = DataLoader(data.test, batch_size=cfg.trainer.eval_batch_size,
                                 num_workers=cfg.trainer.num_workers, collate_fn=data.collate_test, pin_memory=device.type == "cuda",
                                 persistent_workers=persistent)
        if info.is_main:
            writer = SummaryWriter(str(run.tensorboard_dir), purge_step=len(history))
        epochs = cfg.trainer.epochs
        efficiency.reset_peak_memory(device)
        for epoch in range(len(history), epochs):
            generator.manual_seed(cfg.seed * 100_003 + epoch)  # the shuffle order depends only on seed and epoch
            if sampler is not None:
                sampler.set_epoch(epoch)
            experiment.neuron.start_epoch(epoch, epochs)  # from the epoch: the same on every rank
            lr = optimizer.param_groups[0]["lr"]
            stats = train_one_epoch(trained, train_loader, criterion, optimizer, scaler, device, data.encoding,
                                    data.T, desc=f"epoch {epoch + 1}/{epochs}", info=info,
                                    aux_loss=experiment.neuron.aux_loss)
            stats |= evaluate(model, test_loader, criterion, device, data.encoding, data.T,
                              eval_amp, experiment.neuron.layers)
            if cfg.efficiency.every_epoch and info.is_main:
                stats |= _count(cfg, model, test_loader, device, data)
            scheduler.step()
            elapsed += stats["train_s"] + stats["eval_s"]
            history.append({"epoch": epoch, "lr": lr, **stats})
            if not info.is_main:
                continue
            if (epoch + 1) % cfg.trainer.checkpoint_every == 0 or epoch + 1 == epochs:
                run.save_checkpoint({
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                    "rng": rng_state(), "history": history, "elapsed_s": elapsed, "threads": threads,
                })
            run.write_metrics(history)
            summary = summarise(history)
            run.write_result({**record, "status": "running", "wall_s": elapsed, **summary})
            for key, value in stats.items():
                if isinstance(value, (int, float)):
                    writer.add_scalar(key, value, epoch)
            log.info(
                f"epoch {epoch + 1:>3}/{epochs}  train loss {stats['train_loss']:.4f} acc {stats['train_acc']:.4f}"
                f"  |  test loss {stats['test_loss']:.4f} acc {stats['test_acc']:.4f}"
                f" (best {summary['best_test_acc']:.4f} @ {summary['best_epoch'] + 1})"
                f"  |  {stats['train_s']:.1f}s train, {stats['eval_s']:.1f}s eval,"
                f" {stats['train_samples_per_s']:.0f} samples/s, firing rate {stats['mean_firing_rate']:.3f}"
            )
        result = {**record, "status": "done", "wall_s": elapsed, **summarise(history)}
        if info.is_main:
            result |= efficiency.peak_memory(device) | {"model_bytes": efficiency.model_bytes(model)}
            result |= _count(cfg, model, test_loader, device, data)
            result["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            run.write_result(result)
    except KeyboardInterrupt:
        if info.is_main:
            _record_end(run, {**record, "status": "interrupted", "wall_s": elapsed, **summarise(history),
                              "error": "KeyboardInterrupt: stopped by the user; rerun the same command to resume"})
        raise
    except Exception as err:
        if info.is_main:
            _record_end(run, {**record, "status": "failed", "wall_s": elapsed, **summarise(history),
                              "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()})
        raise
    finally:
        if writer is not None:
            writer.close()

    if not info.is_main:
        return result
    log.info(f"done: best test acc {result['best_test_acc']:.4f} (epoch {result['best_epoch'] + 1}),"
             f" final {result['final_test_acc']:.4f}, {elapsed:.1f}s -> {run.result_path}")
    if "energy_uj_per_sample" in result:
        log.info(f"per sample: {result['synops_per_sample']:,.0f} SynOps, {result['macs_per_sample']:,.0f} MACs,"
                 f" {result['energy_uj_per_sample']:.4f} uJ (counted on {result['counted_samples']} test samples"
                 f" in {result['efficiency_s']:.2f}s); peak memory {result['peak_memory_mb']:.0f} MB")
    return result

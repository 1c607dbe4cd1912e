"""The training loop, read top to bottom: decide, build, resume, train and evaluate each epoch, record.

``train(cfg)`` is what ``snnbench train`` runs for every config of a sweep. A run whose record says
``done`` is not trained again; a run with a checkpoint resumes after its last finished epoch and, on CPU with
the same seed and thread count, ends with exactly the metrics of an uninterrupted run (model, optimiser,
scheduler, RNG states and the per-epoch shuffling seed are all restored or derived from the epoch).
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from typing import Any, Callable

import torch
import torch.nn as nn
from hydra.utils import instantiate
from omegaconf import DictConfig
from spikingjelly.activation_based import functional
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from snnbench.data import DataBundle, to_time_major
from snnbench.errors import ConfigError
from snnbench.experiment import build_experiment, count_parameters, instantiate_checked
from snnbench.neurons import contract
from snnbench.optim import describe_groups
from snnbench.runs.folder import RunFolder
from snnbench.runs.locks import RunLock
from snnbench.runs.records import folder_damage, read_record
from snnbench.train import efficiency, record as records
from snnbench.train.distributed import Dist, process_group, share_decision, sum_across
from snnbench.train.outcome import Outcome
from snnbench.train.random_state import restore_rng_state, rng_state, seed_everything
from snnbench.train.resources import Launch, Resources, apply, resolve_resources, retire_run
from snnbench.train.settings import check_settings
from snnbench.train.trackers import Trackers

log = logging.getLogger("snnbench")


class NonFiniteError(RuntimeError):
    """A loss or a metric became NaN or infinite: the run stops as failed, and no such number is recorded."""


def require_finite(values: dict[str, Any], where: str) -> None:
    """Raise :class:`NonFiniteError` naming the first NaN or infinite number in ``values`` (lists and dicts too)."""

    def numbers(value: Any) -> list[float]:
        if isinstance(value, dict):
            return [n for v in value.values() for n in numbers(v)]
        if isinstance(value, (list, tuple)):
            return [n for v in value for n in numbers(v)]
        return [value] if isinstance(value, float) else []

    for key, value in values.items():
        bad = next((n for n in numbers(value) if not math.isfinite(n)), None)
        if bad is not None:
            raise NonFiniteError(f"{where}: {key} is {bad}; the run stops here and records no such number (lower "
                                 f"optim.lr, check the data, or look for overflowing BatchNorm statistics)")


def train(cfg: DictConfig, launch: Launch = Launch()) -> Outcome:
    """Train the run that ``cfg`` describes, or find it done, or find another process training it.

    Under torchrun, rank 0 decides under the run's lock and every other rank follows its decision.
    """
    try:
        return _train(cfg, launch)
    finally:
        retire_run()


def _train(cfg: DictConfig, launch: Launch) -> Outcome:
    check_settings(cfg)
    run = RunFolder.for_config(cfg)
    with process_group() as dist:
        if not dist.is_main:
            decision = share_decision(None, dist)
            if decision != "train":
                return Outcome(decision, run.path)
            return Outcome("trained", run.path, train_run(cfg, run, read_record(run.result_path), dist, launch))
        previous = read_record(run.result_path)
        if _finished(run, previous):
            return _found_done(run, previous, dist)
        with RunLock(run.lock_path) as lock:
            if not lock.acquired:
                share_decision("held", dist)
                log.info(f"skipping {run.path}: process {lock.owner.get('pid', '?')} on "
                         f"{lock.owner.get('host', '?')} is training it")
                return Outcome("held", run.path, {**(previous or {}), "owner": lock.owner})
            previous = read_record(run.result_path)  # another process may have finished it meanwhile
            if _finished(run, previous):
                return _found_done(run, previous, dist)
            share_decision("train", dist)
            return Outcome("trained", run.path, train_run(cfg, run, previous, dist, launch))


def _finished(run: RunFolder, record: dict[str, Any] | None) -> bool:
    """Done, and whole: a done run whose config or metrics are damaged is resumed from its checkpoint, which
    rewrites them (a damaged record itself reads as None)."""
    if not record or record.get("status") != "done":
        return False
    damage = folder_damage(run.path, record)
    if damage:
        log.warning(f"the done run {run.path} is damaged ({damage}); resuming it from its checkpoint rewrites it")
    return damage is None


def _found_done(run: RunFolder, record: dict[str, Any], dist: Dist) -> Outcome:
    share_decision("done", dist)
    log.info(f"already done, nothing to train: {run.path} (best test acc {record.get('best_test_acc', 0):.4f})")
    return Outcome("done", run.path, record)


def train_run(cfg: DictConfig, run: RunFolder, previous: dict[str, Any] | None, dist: Dist,
              launch: Launch) -> dict[str, Any]:
    """Build, resume and train while holding the run's lock (rank 0 writes, the other ranks only train)."""
    resumed = (previous or {}).get("threads") if (previous or {}).get("epochs_done") else None
    resources = resolve_resources(cfg.trainer, launch, dist, resumed_threads=resumed)
    apply(resources)
    seed_everything(cfg.seed)
    device = resources.device
    experiment = build_experiment(cfg)
    model = experiment.model
    if dist.enabled and cfg.trainer.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    data, model = experiment.data, model.to(device)
    if cfg.trainer.drop_last and len(data.train) < cfg.trainer.batch_size:
        raise ConfigError(f"trainer.batch_size={cfg.trainer.batch_size} is larger than the training set "
                          f"({len(data.train)} samples), so no batch would be trained; set trainer.batch_size <= "
                          f"{len(data.train)}")
    optimizer = instantiate_checked(cfg.optim, params=model.parameters())
    scheduler = instantiate(cfg.sched, optimizer=optimizer)
    criterion = instantiate(cfg.loss)
    scaler = torch.amp.GradScaler(device.type, enabled=resources.amp)
    header = records.header(cfg, run, count_parameters(model), resources, dist, launch, previous)
    header["optimizer_groups"] = describe_groups(optimizer)  # per-parameter settings (_optim) included
    if found := contract.provenance(model):
        header["provenance"] = found  # what the model was built from beyond the config (the SDN's weights)

    history: list[dict[str, Any]] = []
    elapsed = 0.0
    trackers: Trackers | None = None
    status = "failed"  # what the trackers are told at the end, unless the run gets further
    if dist.is_main:
        run.remove_leftovers()
    try:
        checkpoint = run.load_checkpoint(device)
        if checkpoint is not None:
            history, elapsed = _resume(checkpoint, model, optimizer, scheduler, scaler, resources)
            log.info(f"resuming {run.path} after epoch {len(history)}")
        trained = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None) \
            if dist.enabled else model
        if dist.is_main:
            run.write_config(cfg)
            run.write_result({**header, "status": "running", "wall_s": elapsed, **records.summarise(history)})
            trackers = Trackers(cfg.get("logger"), run, cfg, header, history)
        log.info(f"run folder: {run.path}  ({header['params']:,} parameters, {device}, {resources.threads} CPU "
                 f"threads" + (f", rank {dist.rank} of {dist.world})" if dist.enabled else ")"))
        train_loader, test_loader, shuffle, sampler = _loaders(data, cfg.trainer, cfg.seed, dist, device)
        count = lambda: _count(cfg, model, test_loader, device, data)  # noqa: E731
        layers = contract.neuron_layers(model)
        epochs = cfg.trainer.epochs
        efficiency.reset_peak_memory(device)
        for epoch in range(len(history), epochs):
            shuffle.manual_seed(cfg.seed * 100_003 + epoch)  # the shuffle order depends only on seed and epoch
            if sampler is not None:
                sampler.set_epoch(epoch)
            contract.start_epoch(model, epoch, epochs)  # from the epoch: the same on every rank
            lr = optimizer.param_groups[0]["lr"]
            stats = train_one_epoch(trained, train_loader, criterion, optimizer, scaler, device, data,
                                    desc=f"epoch {epoch + 1}/{epochs}", dist=dist,
                                    aux_loss=lambda: contract.aux_loss(model))
            stats |= evaluate(model, test_loader, criterion, device, data, resources.eval_amp, layers)
            require_finite(stats, f"epoch {epoch + 1}/{epochs}, evaluation")
            if cfg.efficiency.every_epoch and dist.is_main:
                stats |= count()
                require_finite(stats, f"epoch {epoch + 1}/{epochs}, operation counting")
            scheduler.step()
            elapsed += stats["train_s"] + stats["eval_s"]
            history.append({"epoch": epoch, "lr": lr, **stats})
            if not dist.is_main:
                continue
            if (epoch + 1) % cfg.trainer.checkpoint_every == 0 or epoch + 1 == epochs:
                run.save_checkpoint({
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                    "rng": rng_state(), "history": history, "elapsed_s": elapsed, "threads": resources.threads,
                })
            run.write_metrics(history)
            summary = records.summarise(history)
            run.write_result({**header, "status": "running", "wall_s": elapsed, **summary})
            trackers.log_epoch(epoch, history[-1])
            log.info(records.epoch_line(epoch, epochs, stats, summary))
        result = {**header, "status": "done", "wall_s": elapsed, **records.summarise(history)}
        if dist.is_main:
            run.write_metrics(history)  # again: a resumed done run whose metrics were damaged gets them back
            counts = count()
            require_finite(counts, "operation counting after the last epoch")
            result |= efficiency.peak_memory(device) | {"model_bytes": efficiency.model_bytes(model)} | counts
            result["finished_at"] = records.now()
            run.write_result(result)
            trackers.finish(result)
        status = "done"
    except KeyboardInterrupt:
        status = "interrupted"
        if dist.is_main:
            _record_end(run, {**header, "status": "interrupted", "wall_s": elapsed, **records.summarise(history),
                              "error": "KeyboardInterrupt: stopped by the user; rerun the same command to resume"})
        raise
    except Exception as err:
        if dist.is_main:
            _record_end(run, {**header, "status": "failed", "wall_s": elapsed, **records.summarise(history),
                              "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()})
        raise
    finally:
        if trackers is not None:
            trackers.close(status)
    if dist.is_main:
        for line in records.done_lines(result, str(run.result_path)):
            log.info(line)
    return result


def train_one_epoch(model: nn.Module, loader: DataLoader, criterion: nn.Module, optimizer: torch.optim.Optimizer,
                    scaler: torch.amp.GradScaler, device: torch.device, data: DataBundle, desc: str, dist: Dist,
                    aux_loss: Callable[[], torch.Tensor | float]) -> dict[str, float]:
    """One epoch; the loss is the criterion plus the modules' auxiliary losses (``aux_loss``, 0 for most)."""
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    start = time.perf_counter()
    for x, y in tqdm(loader, desc=desc, leave=False, disable=None, dynamic_ncols=True):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        x = to_time_major(x, data.encoding, data.T)
        with torch.autocast(device.type, enabled=scaler.is_enabled()):
            out = model(x)
            loss = criterion(out, y) + aux_loss()
        loss_value = loss.item()  # the one host sync per batch
        if not math.isfinite(loss_value):
            require_finite({"train_loss": loss_value}, f"{desc}, training")
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
    loss_sum, correct, seen = sum_across([loss_sum, correct, seen], dist)
    return {"train_loss": loss_sum / seen, "train_acc": correct / seen, "train_s": seconds,
            "train_samples_per_s": seen / seconds}


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, criterion: nn.Module, device: torch.device, data: DataBundle,
             use_amp: bool, neurons: list[nn.Module]) -> dict[str, Any]:
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
        x = to_time_major(x, data.encoding, data.T)
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


def _loaders(data: DataBundle, trainer: DictConfig, seed: int, dist: Dist,
             device: torch.device) -> tuple[DataLoader, DataLoader, torch.Generator, DistributedSampler | None]:
    """(train loader, test loader, the train loader's shuffling generator, the distributed sampler if any)."""
    shuffle = torch.Generator()
    persistent = bool(trainer.persistent_workers) and trainer.num_workers > 0
    sampler = DistributedSampler(data.train, num_replicas=dist.world, rank=dist.rank, shuffle=True, seed=seed,
                                 drop_last=trainer.drop_last) if dist.enabled else None
    common = {"num_workers": trainer.num_workers, "pin_memory": device.type == "cuda",
              "persistent_workers": persistent}
    train_loader = DataLoader(data.train, batch_size=trainer.batch_size // dist.world, shuffle=sampler is None,
                              sampler=sampler, generator=shuffle, drop_last=trainer.drop_last,
                              collate_fn=data.collate_train, **common)
    test_loader = DataLoader(data.test, batch_size=trainer.eval_batch_size, collate_fn=data.collate_test, **common)
    return train_loader, test_loader, shuffle, sampler


def _resume(checkpoint: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
            scaler: torch.amp.GradScaler, resources: Resources) -> tuple[list[dict[str, Any]], float]:
    """Restore every state a checkpoint holds; (history, elapsed seconds)."""
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    scaler.load_state_dict(checkpoint["scaler"])
    restore_rng_state(checkpoint["rng"])
    if checkpoint.get("threads", resources.threads) != resources.threads and resources.device.type == "cpu":
        log.warning(f"the epochs so far ran with {checkpoint['threads']} CPU threads, this process uses "
                    f"{resources.threads}: the metrics can differ from an uninterrupted run (set "
                    f"trainer.threads={checkpoint['threads']} for a bit-exact resume)")
    return checkpoint["history"], checkpoint["elapsed_s"]


def _count(cfg: DictConfig, model: nn.Module, test_loader: DataLoader, device: torch.device,
           data: DataBundle) -> dict[str, Any]:
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

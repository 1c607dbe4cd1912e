#!/usr/bin/env python
"""snnbench's own cost per epoch: the same model on the same data, trained by ``snnbench train`` and by a bare
PyTorch loop (DataLoader, forward, loss, backward, step, reset, evaluation), interleaved. Prints the figures.

    python scripts/bench_overhead.py                       # quick start, sequential-CIFAR net, DVS VGG
    python scripts/bench_overhead.py --cases quick_start --rounds 5
    python scripts/bench_overhead.py --cases dvs_vgg trainer.checkpoint_every=100     # without per-epoch checkpoints

The cost of an epoch is marginal: (time for E2 epochs - time for E1 epochs) / (E2 - E1), for snnbench the
whole ``train(cfg)`` call (checkpoints, records, firing-rate hooks included), so start-up is not counted.
CIFAR and CIFAR10-DVS use fixtures in the real on-disk formats (random pixels, synthetic events).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from spikingjelly.activation_based import functional
from torch.utils.data import DataLoader

from snnbench.experiment import build_experiment, instantiate_checked
from snnbench.data import to_time_major
from snnbench.data.fixtures import write_cifar, write_cifar10dvs
from snnbench.train.resources import resolve_threads
from snnbench.neurons.contract import start_epoch
from snnbench.train.loop import train
from snnbench.train.random_state import seed_everything

CASES = {  # name: overrides (data_root is added)
    "quick_start": [],
    "seq_cifar_net": ["experiment=psn_paper/seq_cifar10", "neuron=psn", "dataset.build.verify_md5=false",
                      "trainer.batch_size=64", "trainer.num_workers=0"],
    "dvs_vgg": ["experiment=psn_paper/cifar10dvs", "T=4", "trainer.batch_size=8", "trainer.eval_batch_size=8",
                "trainer.num_workers=0"],
}


def fixtures(root: Path) -> None:
    write_cifar(root, "cifar10", n_train=640, n_test=128)
    write_cifar10dvs(root / "cifar10dvs", indices=[0, 100, 101], events_per_sample=20_000)  # 20 train, 10 test


def config(overrides: list[str], epochs: int, runs_dir: str):
    with initialize_config_module("snnbench.configs", version_base="1.3"):
        return compose("train", overrides=[*overrides, f"trainer.epochs={epochs}", f"runs_dir={runs_dir}"])


def snnbench_seconds(overrides: list[str], epochs: int) -> float:
    with tempfile.TemporaryDirectory() as runs:
        cfg = config(overrides, epochs, runs)
        start = time.perf_counter()
        train(cfg)
        return time.perf_counter() - start


def bare_seconds(overrides: list[str], epochs: int) -> float:
    """The plainest loop that trains what snnbench trains (same model, data, optimiser, loss)."""
    with tempfile.TemporaryDirectory() as runs:
        cfg = config(overrides, epochs, runs)
        start = time.perf_counter()
        torch.set_num_threads(resolve_threads(cfg.trainer.threads, 1, cfg.trainer.num_workers))
        seed_everything(cfg.seed)
        experiment = build_experiment(cfg)
        model, data = experiment.model, experiment.data
        optimizer = instantiate_checked(cfg.optim, params=model.parameters())
        scheduler = instantiate_checked(cfg.sched, optimizer=optimizer)
        criterion = instantiate_checked(cfg.loss)
        train_loader = DataLoader(data.train, batch_size=cfg.trainer.batch_size, shuffle=True,
                                  drop_last=cfg.trainer.drop_last, collate_fn=data.collate_train)
        test_loader = DataLoader(data.test, batch_size=cfg.trainer.eval_batch_size, collate_fn=data.collate_test)
        for epoch in range(epochs):
            start_epoch(model, epoch, epochs)
            model.train()
            for x, y in train_loader:
                loss = criterion(model(to_time_major(x, data.encoding, data.T)), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                functional.reset_net(model)
            scheduler.step()
            model.eval()
            with torch.no_grad():
                for x, y in test_loader:
                    criterion(model(to_time_major(x, data.encoding, data.T)), y)
                    functional.reset_net(model)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {', '.join(CASES)}")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (snnbench, bare) per case")
    parser.add_argument("--epochs", default="1,3", help="E1,E2 for the marginal cost per epoch")
    parser.add_argument("overrides", nargs="*", help="extra overrides for both, e.g. trainer.checkpoint_every=100")
    args = parser.parse_args()
    e1, e2 = (int(e) for e in args.epochs.split(","))
    with tempfile.TemporaryDirectory() as data_root:
        fixtures(Path(data_root))
        for name in args.cases.split(","):
            overrides = [*CASES[name], f"data_root={data_root}", *args.overrides]
            ours, bare = [], []
            for _ in range(args.rounds):
                ours.append((snnbench_seconds(overrides, e2) - snnbench_seconds(overrides, e1)) / (e2 - e1))
                bare.append((bare_seconds(overrides, e2) - bare_seconds(overrides, e1)) / (e2 - e1))
            o, b = statistics.median(ours), statistics.median(bare)
            print(f"{name:<14} snnbench {o:.3f} s/epoch, bare loop {b:.3f} s/epoch: ratio {o / b:.3f} "
                  f"(median of {args.rounds} interleaved rounds; goal <= 1.03)")


if __name__ == "__main__":
    main()

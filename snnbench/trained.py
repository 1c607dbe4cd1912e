"""A trained run in hand: ``snnbench.load_run(run_folder)`` rebuilds the network a run trained, with its
weights, and ``snnbench show RUN`` prints its record and what each neuron layer learned."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from omegaconf import DictConfig, OmegaConf

from snnbench.config import importable
from snnbench.errors import ConfigError
from snnbench.experiment import build_experiment
from snnbench.neurons.contract import neuron_layers
from snnbench.runs.folder import RunFolder
from snnbench.runs.records import DamagedRecord, read_result


@dataclass
class LoadedRun:
    """A run's network with its trained weights (in eval mode, on the CPU), its resolved config and its record."""

    model: nn.Module
    config: DictConfig
    record: dict[str, Any]
    path: Path


def load_run(path: str | Path, config_dirs: tuple[str, ...] = ()) -> LoadedRun:
    """The run in ``path`` (a run folder, ``.../seed=N``): the network its config builds, loaded with the weights
    of its last checkpoint. ``config_dirs``: the folders of your own neurons or datasets, if the run used them."""
    run = RunFolder(Path(path))
    if not run.result_path.is_file():
        raise ConfigError(f"{run.path} is not a run folder (no result.json); give a folder like "
                          f"runs/<dataset>/<neuron>/<signature>/seed=<seed>")
    try:
        record = read_result(run.result_path)
    except DamagedRecord as err:
        raise ConfigError(f"damaged record: {err}") from None
    importable(list(config_dirs))
    config = OmegaConf.load(run.path / "config.yaml")
    checkpoint = run.load_checkpoint("cpu")
    if checkpoint is None:
        raise ConfigError(f"{run.path} has no checkpoint (checkpoints/last.pt): its weights were not kept")
    model = build_experiment(config, load_data=False).model
    model.load_state_dict(checkpoint["model"])
    return LoadedRun(model.eval(), config, record, run.path)


def _describe(value: torch.Tensor) -> str:
    if value.numel() == 1:
        return f"{value.item():.6g}"
    if value.numel() <= 8:
        return "[" + ", ".join(f"{v:.4g}" for v in value.flatten().tolist()) + "]"
    return (f"shape {list(value.shape)}, norm {value.norm().item():.4g}, mean {value.mean().item():.4g}, "
            f"min {value.min().item():.4g}, max {value.max().item():.4g}")


def describe(loaded: LoadedRun) -> list[str]:
    """The record's headline, then each neuron layer with its settings and learned parameters."""
    r = loaded.record

    def number(key: str, form: str) -> str:
        return format(r[key], form) if isinstance(r.get(key), (int, float)) else "not recorded"

    lines = [f"run {loaded.path}",
             f"  {r.get('dataset')} / {r.get('neuron')} / {r.get('model')}, seed {r.get('seed')}, T {r.get('T')}: "
             f"{r.get('status')}, epoch {r.get('epochs_done')}/{r.get('epochs')}",
             f"  best test acc {number('best_test_acc', '.4f')}, final {number('final_test_acc', '.4f')}, "
             f"{number('params', ',')} parameters; per test sample: {number('energy_uj_per_sample', '.4f')} uJ, "
             f"{number('synops_per_sample', ',.0f')} SynOps"]
    names = {module: name for name, module in loaded.model.named_modules()}
    for index, layer in enumerate(neuron_layers(loaded.model)):
        settings = layer.extra_repr()
        lines.append(f"neuron layer {index} ({names.get(layer, '?')}): {type(layer).__name__}"
                     + (f"({settings})" if settings else ""))
        for name, parameter in layer.named_parameters():
            lines.append(f"    {name}: {_describe(parameter.detach())}")
    return lines


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="snnbench show", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder: runs/<dataset>/<neuron>/<signature>/seed=<seed>")
    parser.add_argument("--config-dir", "-cd", action="append", default=[], metavar="DIR",
                        help="your own config folders, if the run used a neuron or dataset of yours")
    args = parser.parse_args(argv)
    print("\n".join(describe(load_run(args.run, tuple(args.config_dir)))))

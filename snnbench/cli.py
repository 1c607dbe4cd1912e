"""``snnbench <command> ...``: a thin front that hands each command's arguments to its handler.

``snnbench train`` passes its arguments to Hydra unchanged, so ``-m``, ``--cfg job``, ``--help``
and ``--config-dir`` work as in any Hydra app.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from snnbench import train as training
from snnbench.errors import ConfigError
from snnbench.runs import RunFolder
from snnbench.sweep import record_job

log = logging.getLogger("snnbench")

USAGE = """usage: snnbench <command> [args]

commands:
  train   train one config, or a sweep with -m (Hydra overrides: neuron=psn dataset=seq_digits seed=1 ...)
          `snnbench train --help` lists the config groups and their choices
  info    `info [overrides]`: print the network a config builds and its parameter count, without data or training
  data    `data check dataset=X [overrides]`: what is on disk and what is missing;
          `data prepare dataset=X T=..`: the one-off download and event-to-frame conversion
  table   `table SPEC [--runs DIR] [--format md|latex|csv]`: a paper table from run records, with the paper's numbers
  plot    `plot curves|order-k|firing [--runs DIR]`: learning curves, order-k ablation, firing-rate bars
  status  `status [--runs DIR] [--group dataset|neuron|sweep]`: done, failed, running and stale runs
  speed   time neurons (inference, training) over T and N; ratio tables t_LIF / t_X and a figure

examples:
  snnbench train                                   # PSN on the embedded digits, about 20 s on 2 CPU cores
  snnbench train -m neuron=lif,psn,sliding_psn seed=0,1
"""


@hydra.main(version_base="1.3", config_path="pkg://snnbench.configs", config_name="train")
def train_app(cfg: DictConfig) -> float | None:
    """One run. In a multirun, a run that fails is recorded (and reported at the end), and the sweep goes on."""
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    if multirun:
        record_job("running", str(RunFolder.for_config(cfg).path))
    try:
        record = training.train(cfg)
    except Exception as err:  # noqa: BLE001  (isolation: one failing config must not stop the sweep)
        if not multirun:
            if isinstance(err, ConfigError):
                log.error(f"error: {err}")
                sys.exit(2)
            raise
        log.error(f"run failed ({' '.join(HydraConfig.get().overrides.task)}): {type(err).__name__}: {err}")
        record_job("failed", str(RunFolder.for_config(cfg).path), f"{type(err).__name__}: {err}")
        return None
    if multirun:
        record_job(record.get("status", "done"), record.get("run_dir"))
    return record.get("best_test_acc")


def _hydra_command(app: Callable[[], None], name: str) -> Callable[[list[str]], None]:
    def run(args: list[str]) -> None:
        sys.argv = [f"snnbench {name}", *args]
        app()

    return run


def _compose(overrides: list[str]) -> DictConfig:
    from hydra import compose, initialize_config_module

    with initialize_config_module("snnbench.configs", version_base="1.3"):
        return compose("train", overrides=overrides)


def _info(args: list[str]) -> None:
    from snnbench.build import build_experiment, count_parameters

    cfg = _compose(args)
    experiment = build_experiment(cfg, load_data=False)
    print(experiment.model)
    print(f"dataset: {cfg.dataset.name}, T: {cfg.T}, neuron: {cfg.neuron.name}, recipe: {cfg.recipe}")
    print(f"parameters: {count_parameters(experiment.model)}")


def _data(args: list[str]) -> None:
    from snnbench.build import instantiate_checked

    if not args or args[0] not in ("check", "prepare"):
        raise ConfigError("usage: snnbench data check|prepare dataset=<name> [T=.. data_root=.. other overrides]")
    cfg = _compose(args[1:])
    source = instantiate_checked(cfg.dataset.build, T=cfg.T)
    if args[0] == "prepare":
        source.prepare()
        print(f"{cfg.dataset.name} (T={cfg.T}) is prepared under {cfg.data_root}")
        return
    checks = source.check()
    for check in checks:
        print(f"{'present' if check.present else 'MISSING':>8}  {check.path}  ({check.what})")
    if not checks:
        print(f"{cfg.dataset.name}: embedded data, nothing to place on disk")


def _table(args: list[str]) -> None:
    from snnbench import tables

    tables.main(args)


def _plot(args: list[str]) -> None:
    from snnbench import plots

    plots.main(args)


def _status(args: list[str]) -> None:
    from snnbench import status

    status.main(args)


def _speed(args: list[str]) -> None:
    from snnbench import speed

    speed.main(args)


COMMANDS: dict[str, Callable[[list[str]], None]] = {
    "train": _hydra_command(train_app, "train"),
    "info": _info,
    "data": _data,
    "table": _table,
    "plot": _plot,
    "status": _status,
    "speed": _speed,
}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return
    command, args = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"snnbench: unknown command '{command}'; choose one of: {', '.join(COMMANDS)}\n\n{USAGE}", file=sys.stderr)
        sys.exit(2)
    training.COMMAND_LINE[:] = ["snnbench", *argv]
    try:
        COMMANDS[command](args)
    except ConfigError as err:
        print(f"snnbench {command}: error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

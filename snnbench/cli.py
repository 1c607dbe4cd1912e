"""``snnbench <command> ...``: a thin front that hands each command's arguments to its handler.

``snnbench train`` passes its arguments to Hydra unchanged, so ``-m``, ``--cfg job``, ``--help``
and ``--config-dir`` work as in any Hydra app.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Callable

from snnbench.errors import ConfigError

USAGE = """usage: snnbench <command> [args]

commands:
  train   train one config, or a sweep with -m (Hydra overrides: neuron=psn dataset=seq_digits seed=1 ...)
          `snnbench train --help` lists the config groups and their choices
  info    `info [overrides]`: print the network a config builds and its parameter count, without data or training
  data    `data check dataset=X [overrides]`: what is on disk and what is missing;
          `data prepare dataset=X T=..`: the one-off download and event-to-frame conversion
  table   `table SPEC [--runs DIR] [--format md|latex|csv] [--metric M]`: a paper table from run records, with
          the paper's numbers; --metric energy_uj_per_sample (synops_per_sample, params, ...) tabulates efficiency
  plot    `plot curves|order-k|firing|pareto [--runs DIR]`: learning curves, order-k ablation, firing-rate bars,
          accuracy against energy
  status  `status [--runs DIR] [--group dataset|neuron|sweep]`: done, failed, running and stale runs
  speed   time neurons (inference, training) over T and N; ratio tables t_LIF / t_X and a figure
  new     `new neuron|dataset NAME [--dir DIR]`: a working skeleton of your own neuron or dataset, YAML and test

  --version  the versions of snnbench, torch, SpikingJelly and Hydra (paste it into bug reports)
  info, data and train take --config-dir DIR: a folder of your own configs (neuron/, dataset/, model/ ...)

examples:
  snnbench train                                   # PSN on the embedded digits, about 20 s on 2 CPU cores
  snnbench train -m neuron=lif,psn,sliding_psn seed=0,1
"""
VERSIONED = ("snnbench", "torch", "spikingjelly", "hydra-core")


def versions_line() -> str:
    """``snnbench 0.1.0 (torch 2.14.1, spikingjelly 2.0.0, hydra-core 1.3.2)``, without importing any of them."""

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    first, *rest = VERSIONED
    return f"{first} {installed(first)} (" + ", ".join(f"{n} {installed(n)}" for n in rest) + ")"


def _train(args: list[str]) -> None:
    from snnbench import train as training
    from snnbench.hydra_app import train_command

    training.COMMAND_LINE[:] = ["snnbench", "train", *args]
    train_command(args)


def _compose(args: list[str]):  # noqa: ANN202  (a DictConfig; omegaconf is imported lazily)
    from snnbench.hydra_app import compose

    return compose(args)


def _wants_help(args: list[str], usage: str) -> bool:
    if any(arg in ("-h", "--help") for arg in args):
        print(usage)
        return True
    return False


def _info(args: list[str]) -> None:
    if _wants_help(args, "usage: snnbench info [--config-dir DIR] [overrides]: the network a config builds and its "
                         "parameter count, without data or training (overrides as for snnbench train)"):
        return
    from snnbench.build import build_experiment, count_parameters

    cfg = _compose(args)
    experiment = build_experiment(cfg, load_data=False)
    print(experiment.model)
    print(f"dataset: {cfg.dataset.name}, T: {cfg.T}, neuron: {cfg.neuron.name}, recipe: {cfg.recipe}")
    print(f"parameters: {count_parameters(experiment.model)}")


DATA_USAGE = "usage: snnbench data check|prepare dataset=<name> [--config-dir DIR] [T=.. data_root=.. other overrides]"


def _data(args: list[str]) -> None:
    if _wants_help(args, DATA_USAGE):
        return
    from snnbench.build import instantiate_checked

    if not args or args[0] not in ("check", "prepare"):
        raise ConfigError(DATA_USAGE)
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


def _new(args: list[str]) -> None:
    from snnbench import scaffold

    scaffold.main(args)


def _speed(args: list[str]) -> None:
    from snnbench import speed

    speed.main(args)


COMMANDS: dict[str, Callable[[list[str]], None]] = {
    "train": _train,
    "info": _info,
    "data": _data,
    "table": _table,
    "plot": _plot,
    "status": _status,
    "speed": _speed,
    "new": _new,
}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return
    if argv[0] == "--version":
        print(versions_line())
        return
    command, args = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"snnbench: unknown command '{command}'; choose one of: {', '.join(COMMANDS)}\n\n{USAGE}", file=sys.stderr)
        sys.exit(2)
    try:
        COMMANDS[command](args)
    except ConfigError as err:
        print(f"snnbench {command}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"snnbench {command}: interrupted (a run being trained is recorded as interrupted; rerun the same "
              f"command to resume it)", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()

"""``snnbench <command> ...``: argparse picks the command; each command parses its own arguments where it lives
(``snnbench train`` hands them to Hydra unchanged, so ``-m``, ``--cfg job`` and ``--help`` work as in any Hydra
app). The command line is passed explicitly; commands that only read records import neither torch nor Hydra."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Callable

from snnbench.errors import ConfigError

VERSIONED = ("snnbench", "torch", "spikingjelly", "hydra-core")
EXAMPLES = """examples:
  snnbench train                                   # PSN on the embedded digits (seq_digits)
  snnbench train -m neuron=lif,psn,sliding_psn seed=0,1
  snnbench status && snnbench table digits
  each command has its own --help"""


def versions_line() -> str:
    """``snnbench 0.1.0 (torch 2.14.1, spikingjelly 2.0.0, hydra-core 1.3.2)``, without importing any of them."""

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    first, *rest = VERSIONED
    return f"{first} {installed(first)} (" + ", ".join(f"{n} {installed(n)}" for n in rest) + ")"


def _train(args: list[str], argv: list[str]) -> None:
    from snnbench.train.app import train_command

    train_command(args, command_line=["snnbench", *argv])


def _overrides_parser(command: str, description: str, actions: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"snnbench {command}", description=description)
    if actions:
        parser.add_argument("action", choices=actions)
    parser.add_argument("--config-dir", "-cd", action="append", default=[], metavar="DIR",
                        help="a folder of your own configs (neuron/, dataset/, model/ ...), searched first")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for snnbench train (neuron=lif T=8 ...)")
    return parser


def _compose(config_dirs: list[str], overrides: list[str]):  # noqa: ANN202  (a DictConfig; imported lazily)
    from snnbench.config import compose

    return compose([*(a for d in config_dirs for a in ("--config-dir", d)), *overrides])


def _info(args: list[str], argv: list[str]) -> None:
    parsed = _overrides_parser("info", "The network a config builds and its parameter count, without data or "
                                       "training.").parse_intermixed_args(args)
    from snnbench.experiment import build_experiment, count_parameters

    cfg = _compose(parsed.config_dir, parsed.overrides)
    experiment = build_experiment(cfg, load_data=False)
    print(experiment.model)
    print(f"dataset: {cfg.dataset.name}, T: {cfg.T}, neuron: {cfg.neuron.name}, recipe: {cfg.recipe}")
    settings = {k: v for k, v in cfg.neuron.items() if k not in ("_target_", "name", "T", "surrogate", "builder")}
    print(f"neuron settings (neuron.KEY=...): {', '.join(f'{k}={v}' for k, v in settings.items()) or 'none'}")
    count = count_parameters(experiment.model)
    paper = f" (the paper's network: {cfg.paper_params})" if cfg.get("paper_params") else ""
    print(f"parameters: {count}{paper}")


def _data(args: list[str], argv: list[str]) -> None:
    parser = _overrides_parser("data", "check: what a dataset needs on disk and what is missing; prepare: the "
                                       "one-off download and conversion (e.g. snnbench data prepare "
                                       "dataset=cifar10dvs T=10).", actions=["check", "prepare"])
    parsed = parser.parse_intermixed_args(args)
    from snnbench.experiment import instantiate_checked

    cfg = _compose(parsed.config_dir, parsed.overrides)
    source = instantiate_checked(cfg.dataset.build, T=cfg.T)
    if parsed.action == "prepare":
        source.prepare()
        print(f"{cfg.dataset.name} (T={cfg.T}) is prepared under {cfg.data_root}")
        return
    checks = source.check()
    for check in checks:
        print(f"{'present' if check.present else 'MISSING':>8}  {check.path}  ({check.what})")
    if not checks:
        print(f"{cfg.dataset.name}: embedded data, nothing to place on disk")
    if any(not check.present for check in checks):
        print(f"snnbench data: {cfg.dataset.name} is incomplete under {cfg.data_root}; place the missing files, or "
              f"download them: snnbench data prepare dataset={cfg.dataset.name} T={cfg.T}", file=sys.stderr)
        sys.exit(1)


def _module_main(module: str) -> Callable[[list[str], list[str]], None]:
    """A command whose module parses its own arguments (``main(args)``), imported only when it runs."""

    def run(args: list[str], argv: list[str]) -> None:
        from importlib import import_module

        import_module(module).main(args)

    return run


#: command -> (one-line help, handler(arguments after the command, the whole command line)).
COMMANDS: dict[str, tuple[str, Callable[[list[str], list[str]], None]]] = {
    "train": ("train one config, or a sweep with -m (Hydra overrides: neuron=psn dataset=seq_digits seed=1 ...)",
              _train),
    "info": ("the network a config builds and its parameter count, without data or training", _info),
    "data": ("check|prepare dataset=X: what is on disk and missing; the one-off download and conversion", _data),
    "prepare": ("prepare sdn: train the surrogate dynamic network that neuron=sdn_lif runs on (once, cached)",
                _module_main("snnbench.prepare")),
    "status": ("done, failed, running and stale runs under a runs folder", _module_main("snnbench.report.status")),
    "table": ("a paper's table from the run records, next to the paper's numbers",
              _module_main("snnbench.report.tables")),
    "plot": ("curves|order-k|firing|pareto figures from the run records", _module_main("snnbench.report.plots")),
    "speed": ("time neurons over T and N, side by side: t_LIF / t_X tables and a figure",
              _module_main("snnbench.speed")),
    "new": ("new neuron|dataset NAME: a working skeleton of your own, with its YAML and test",
            _module_main("snnbench.scaffold")),
    "export": ("export RUN --format nir: a trained IF/LIF/PLIF network as a NIR graph (neuromorphic hardware)",
               _module_main("snnbench.export_nir")),
    "show": ("show RUN: a run's record and what each neuron layer learned", _module_main("snnbench.trained")),
    "migrate": ("adopt runs an earlier snnbench made under an older signature scheme", _module_main("snnbench.migrate")),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="snnbench", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                                  description="Spiking-neural-network benchmarks: train, resume, tabulate.")
    top.add_argument("--version", action="version", version=versions_line(),
                     help="the versions of snnbench, torch, SpikingJelly and Hydra (paste it into bug reports)")
    commands = top.add_subparsers(dest="command", metavar="<command>", required=True)
    for name, (help_text, _) in COMMANDS.items():
        # each command reads its own arguments: none is an option to this parser
        sub = commands.add_parser(name, help=help_text, add_help=False, prefix_chars="\0")
        sub.add_argument("args", nargs="*")
    return top


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parsed = parser().parse_args(argv)
    try:
        COMMANDS[parsed.command][1](parsed.args, argv)
    except ConfigError as err:
        print(f"snnbench {parsed.command}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"snnbench {parsed.command}: interrupted (a run being trained is recorded as interrupted; rerun the "
              f"same command to resume it)", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()

"""``snnbench <command> ...``: a thin front that hands each command's arguments to its handler.

``snnbench train`` passes its arguments to Hydra unchanged, so ``-m``, ``--cfg job``, ``--help``
and ``--config-dir`` work as in any Hydra app.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable

import hydra
from omegaconf import DictConfig

from snnbench import train as training
from snnbench.errors import ConfigError

log = logging.getLogger("snnbench")

USAGE = """usage: snnbench <command> [args]

commands:
  train   train one config, or a sweep with -m (Hydra overrides: neuron=psn dataset=seq_digits seed=1 ...)
          `snnbench train --help` lists the config groups and their choices

examples:
  snnbench train                                   # PSN on the embedded digits, about a minute on CPU
  snnbench train -m neuron=lif,psn,sliding_psn seed=0,1
"""


@hydra.main(version_base="1.3", config_path="pkg://snnbench.configs", config_name="train")
def train_app(cfg: DictConfig) -> float:
    try:
        return training.train(cfg)["best_test_acc"]
    except ConfigError as err:
        log.error(f"error: {err}")
        sys.exit(2)


def _hydra_command(app: Callable[[], None], name: str) -> Callable[[list[str]], None]:
    def run(args: list[str]) -> None:
        sys.argv = [f"snnbench {name}", *args]
        app()

    return run


COMMANDS: dict[str, Callable[[list[str]], None]] = {
    "train": _hydra_command(train_app, "train"),
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
    COMMANDS[command](args)


if __name__ == "__main__":
    main()

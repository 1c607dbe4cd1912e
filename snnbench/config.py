"""Composing a run's config: Hydra's ``compose`` over snnbench's config groups and the user's ``--config-dir``
folders, override parsing with Hydra's own parser, and Hydra's errors as one line. Never imports torch."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from snnbench.errors import ConfigError

if TYPE_CHECKING:
    from hydra.core.override_parser.types import Override
    from hydra.errors import HydraException
    from omegaconf import DictConfig

CONFIG_MODULE = "snnbench.configs"
PRIMARY = "train"


def split_config_dirs(args: list[str]) -> tuple[list[str], list[str]]:
    """(the ``--config-dir DIR`` / ``-cd DIR`` / ``--config-dir=DIR`` folders in ``args``, the other arguments)."""
    dirs, rest = [], []
    items = iter(args)
    for arg in items:
        if arg in ("--config-dir", "-cd"):
            dirs.append(next(items, ""))
        elif arg.startswith("--config-dir="):
            dirs.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return dirs, rest


def importable(config_dirs: list[str]) -> None:
    """Put the user's config folders on the Python path (this process and the ones it starts), so that a YAML
    can name ``_target_: my_dataset.MyData`` or ``builder: my_neuron.build`` for a ``my_*.py`` file there."""
    for folder in reversed([str(Path(d).resolve()) for d in config_dirs]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
        paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if folder not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([folder, *[p for p in paths if p]])


def hydra_error_line(err: HydraException) -> str:
    """Hydra's composition error in one line: what was not found and, for a config group, its choices."""
    from hydra.errors import MissingConfigException

    if isinstance(err, MissingConfigException) and err.options:
        group = (err.missing_cfg_file or "").rpartition("/")[0]
        choice = (err.missing_cfg_file or "").rpartition("/")[2]
        what = f"unknown {group} '{choice}'" if group else f"unknown config '{err.missing_cfg_file}'"
        return f"{what}; choose one of: {', '.join(sorted(err.options))}"
    return " ".join(str(err).split("Config search path:")[0].split())


def compose(args: list[str]) -> DictConfig:
    """The config ``snnbench train ARGS`` would run; ``--config-dir DIR`` (or ``-cd DIR``) adds a config folder."""
    from hydra import compose as hydra_compose, initialize_config_module
    from hydra.errors import HydraException

    config_dirs, overrides = split_config_dirs(args)
    if config_dirs:
        missing = [d for d in config_dirs if not Path(d).is_dir()]
        if missing:
            raise ConfigError(f"--config-dir {missing[0]!r} is not a folder")
        paths = ",".join(f"file://{Path(d).resolve()}" for d in config_dirs)
        overrides.append(f"hydra.searchpath=[{paths}]")
        importable(config_dirs)
    try:
        with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
            return hydra_compose(PRIMARY, overrides=overrides)
    except HydraException as err:
        raise ConfigError(hydra_error_line(err)) from None


def parse_overrides(overrides: list[str]) -> list[Override]:
    """Hydra's own reading of command-line overrides (sweeps, ranges, lists, quoting)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        return OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("-")])
    except OverrideParseException as err:
        raise ConfigError(f"cannot read the override {err.override!r}: a value with characters other than letters, "
                          f"digits and _-+./: (such as ~, a space or a non-ASCII letter) must be quoted, e.g. "
                          f"key='value' inside double quotes for the shell") from None


def sweep_size(override: Override) -> int:
    """How many values a ``-m`` sweep takes from ``override`` (1 unless it is a sweep: ``a,b``, ``range(1,33)``)."""
    return sum(1 for _ in override.sweep_string_iterator()) if override.is_sweep_override() else 1


def runs_in_sweep(overrides: list[str]) -> int:
    """The runs of ``snnbench train -m OVERRIDES``: the product of the sizes of its sweeps."""
    return math.prod(sweep_size(o) for o in parse_overrides(overrides))

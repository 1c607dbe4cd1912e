"""Composing a run's config: Hydra's ``compose`` over snnbench's config groups and the user's ``--config-dir``
folders, override parsing with Hydra's own parser, and Hydra's errors as one line. Never imports torch."""

from __future__ import annotations

import difflib
import math
import os
import re
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


#: Config groups whose keys the training loop reads by name: a key appended there (``+trainer.x``) or at the top
#: level (``+epochs``) is read by nothing. Elsewhere (neuron, model, dataset.build, ...) a constructor takes it,
#: and refuses it if it does not know it.
READ_BY_NAME = ("trainer", "efficiency")


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    return f": did you mean {' or '.join(close)}?" if close else ""


def hydra_error_line(err: HydraException, base: DictConfig | None = None, groups: set[str] = frozenset()) -> str:
    """Hydra's composition error in one line: what was not found and what comes closest (``base``: the config
    without the override Hydra could not apply, whose keys and ``groups`` are the candidates)."""
    from hydra.errors import MissingConfigException

    if isinstance(err, MissingConfigException) and err.options:
        group, _, choice = (err.missing_cfg_file or "").rpartition("/")
        options = sorted(err.options)
        what = f"unknown {group} '{choice}'" if group else f"unknown config '{err.missing_cfg_file}'"
        return f"{what}{did_you_mean(choice, options) or ''}; choose one of: {', '.join(options)}"
    unknown = re.match(r"Could not override '([^']+)'", str(err))
    if unknown and base is not None:
        key = unknown.group(1)
        if key.startswith("neuron.") and "name" in base.neuron:
            settings = [k for k in base.neuron if k not in ("_target_", "name", "T", "surrogate", "builder")]
            return (f"unknown key '{key}': neuron '{base.neuron.name}' has no setting '{key[7:]}'; its settings are "
                    f"{', '.join(settings) or 'none'}")
        keys = config_keys(base)
        leaf = key.rpartition(".")[2]
        close = [k for k in keys if k.rpartition(".")[2] == leaf] or \
            difflib.get_close_matches(key, sorted(groups) + keys, n=3, cutoff=0.6)
        hint = f": did you mean {' or '.join(close[:3])}?" if close else "; `snnbench train --cfg job` lists the keys"
        return f"unknown key '{key}'{hint}"
    return " ".join(str(err).split("Config search path:")[0].split())


def config_keys(cfg: DictConfig) -> list[str]:
    from omegaconf import OmegaConf

    from snnbench.runs.signature import flatten

    return sorted(flatten(OmegaConf.to_container(cfg, resolve=False)))


def check_additions(overrides: list[Override]) -> None:
    """Refuse ``+key=value`` where nothing would read the key (it would only enter the run's identity)."""
    for override in overrides:
        key = override.key_or_group
        if override.is_add() and "/" not in key and (key.split(".")[0] in READ_BY_NAME or "." not in key):
            raise ConfigError(f"'{override.input_line}' adds a key that nothing reads; set an existing key "
                              f"instead (`snnbench train --cfg job` lists them), e.g. trainer.{key.split('.')[-1]}=...")


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
    check_additions(parse_overrides(overrides))
    try:
        with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
            return hydra_compose(PRIMARY, overrides=overrides)
    except HydraException as err:
        base = None
        if (unknown := re.match(r"Could not override '([^']+)'", str(err))):
            bad = unknown.group(1)
            base = compose([*(a for d in config_dirs for a in ("--config-dir", d)),
                            *(o for o in overrides if not o.split("=")[0].lstrip("+~") == bad
                              and not o.startswith("hydra.searchpath"))])
        raise ConfigError(hydra_error_line(err, base, config_groups(config_dirs))) from None


def config_groups(config_dirs: list[str]) -> set[str]:
    """The config groups (folders) of snnbench's configs and of the user's config folders."""
    from importlib.resources import files

    folders = [Path(str(files(CONFIG_MODULE))), *(Path(d) for d in config_dirs)]
    return {p.name for folder in folders if folder.is_dir() for p in folder.iterdir() if p.is_dir()}


def check_command(args: list[str]) -> DictConfig:
    """What ``snnbench train ARGS`` would compose, checked before Hydra runs: each value of a sweep (``-m``) is a
    choice that exists, every key exists, no ``+key`` goes unread. One :class:`ConfigError` with the closest names;
    else the config of the sweep's first values."""
    config_dirs, rest = split_config_dirs(args)
    overrides = parse_overrides([a for a in rest if "=" in a and not a.startswith("-")])
    dirs = [a for d in config_dirs for a in ("--config-dir", d)]
    own = [o for o in overrides if not o.key_or_group.startswith("hydra")]
    first = [o.input_line if not o.is_sweep_override() else f"{o.key_or_group}={sweep_values(o)[0]}" for o in own]
    cfg = compose([*dirs, *first])
    groups = config_groups(config_dirs)
    for override in own:
        if override.is_sweep_override() and override.key_or_group in groups:
            for value in sweep_values(override)[1:]:  # a group's other choices
                compose([*dirs, f"{override.key_or_group}={value}"])
    return cfg


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


def sweep_values(override: Override) -> list[str]:
    """The values of a sweep override; of a search interval (``interval(1e-4, 1e-1)``, for a sweeper such as
    Optuna's) its two ends."""
    from hydra.core.override_parser.types import IntervalSweep

    value = override.value()
    if isinstance(value, IntervalSweep):
        kind = int if "int" in value.tags else float
        return [repr(kind(value.start)), repr(kind(value.end))]
    return list(override.sweep_string_iterator())


def sweep_size(override: Override) -> int:
    """How many values a ``-m`` sweep takes from ``override`` (1 unless it is a sweep: ``a,b``, ``range(1,33)``; a
    search interval counts its two ends)."""
    return len(sweep_values(override)) if override.is_sweep_override() else 1


def runs_in_sweep(overrides: list[str]) -> int:
    """The runs of ``snnbench train -m OVERRIDES``: the product of the sizes of its sweeps."""
    return math.prod(sweep_size(o) for o in parse_overrides(overrides))

"""A run's identity: the hash of the resolved config without the seed and without ``signature_ignores``.

The keys that cannot change what a run computes (paths, worker and thread counts, the device choice, ...) are
listed under ``signature_ignores`` in ``configs/train.yaml`` (dotted patterns, ``*`` for one or more levels);
numbers are normalised (``4`` and ``4.0`` are one value), so a computation always maps to one folder.

The scheme is versioned (:data:`SCHEME`, recorded in every ``result.json``):

1. up to snnbench at 7886174 (2026-11-25): the nested resolved config without the seed and a fixed list of keys;
2. flattened, normalised, without ``signature_ignores``;
3. the same, with ``neuron.decay_input`` in the LIF config (2026-11-30; true is what LIF runs did before).

A run made under an earlier scheme is shown as such and never counted twice; ``snnbench migrate`` adopts it when
its config is the same computation (:data:`ADDED_AS_BEFORE`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omegaconf import DictConfig

#: Where the keys that do not change a run's computation are listed in the config. The seed is never part of it.
IGNORES_KEY = "signature_ignores"
SCHEME = 3
#: Keys added to the config since scheme 1 whose value here is what every run did before the key existed: a run
#: made before them is the same computation with them at these values. A key added with another behaviour than
#: before does not belong here (such a run computed something else, and is not adopted).
ADDED_AS_BEFORE = {"trainer.eval_amp": True, "trainer.persistent_workers": False, "neuron.decay_input": True}


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """``{"neuron": {"tau": 2}}`` -> ``{"neuron.tau": 2}`` (lists stay values)."""
    if isinstance(node, dict):
        flat: dict[str, Any] = {}
        for key, value in node.items():
            flat.update(flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): node}


def _normalise(value: Any) -> Any:
    """One spelling per value: 4.0 and 4 are the same number; lists element-wise."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def ignored(key: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)


def fields_of(config: dict[str, Any], patterns: list[str] | None = None) -> dict[str, Any]:
    """A resolved config's dotted keys that define a run's computation (all but the seed, ``signature_ignores``
    and the keys that it matches, or ``patterns`` if given), with normalised values."""
    config = dict(config)
    own = list(config.pop(IGNORES_KEY, None) or [])
    config.pop("seed", None)
    return {k: _normalise(v) for k, v in flatten(config).items() if not ignored(k, own if patterns is None else patterns)}


def signature_of(config: dict[str, Any]) -> str:
    """Short hash of :func:`fields_of`: the same computation always maps to the same run folder (a plain dict, as
    ``config.yaml`` holds it; no OmegaConf needed)."""
    text = json.dumps(fields_of(config), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def signature_fields(cfg: DictConfig) -> dict[str, Any]:
    """:func:`fields_of` the resolved ``cfg``."""
    from omegaconf import OmegaConf

    return fields_of(OmegaConf.to_container(cfg, resolve=True))


def config_signature(cfg: DictConfig) -> str:
    """:func:`signature_of` the resolved ``cfg``."""
    from omegaconf import OmegaConf

    return signature_of(OmegaConf.to_container(cfg, resolve=True))


def differing_keys(configs: list[dict[str, Any]]) -> list[str]:
    """The flattened config keys whose values differ between ``configs`` (e.g. ``["neuron.tau"]`` for a sweep over
    ``neuron.tau=2,4,8``), leaving out the seed and the keys that cannot change a result (``signature_ignores``).
    Of keys whose values move together across ``configs`` (``sched.T_max`` follows ``trainer.epochs``), only the
    last by name is kept: a label says each difference once."""
    patterns = sorted({p for c in configs for p in (c.get(IGNORES_KEY) or [])})
    keys = sorted({k for c in configs for k in c} - {"seed", IGNORES_KEY})
    differing = [k for k in keys if not ignored(k, patterns) and len({repr(c.get(k)) for c in configs}) > 1]
    by_values = {tuple(repr(c.get(k)) for c in configs): k for k in differing}
    return sorted(by_values.values())

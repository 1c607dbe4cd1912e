"""A run's identity: the hash of the resolved config without the seed and without ``signature_ignores``.

The keys that cannot change what a run computes (paths, worker and thread counts, the device choice, ...) are
listed under ``signature_ignores`` in ``configs/train.yaml`` (dotted patterns, ``*`` for one or more levels);
numbers are normalised (``4`` and ``4.0`` are one value), so a computation always maps to one folder.
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


def signature_fields(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config's dotted keys that define a run's computation (all but the seed, ``signature_ignores``
    and the keys that it matches), with normalised values."""
    from omegaconf import OmegaConf

    resolved = OmegaConf.to_container(cfg, resolve=True)
    patterns = list(resolved.pop(IGNORES_KEY, None) or [])
    resolved.pop("seed", None)
    return {k: _normalise(v) for k, v in flatten(resolved).items() if not ignored(k, patterns)}


def config_signature(cfg: DictConfig) -> str:
    """Short hash of :func:`signature_fields`: the same computation always maps to the same run folder."""
    text = json.dumps(signature_fields(cfg), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def differing_keys(configs: list[dict[str, Any]]) -> list[str]:
    """The flattened config keys whose values differ between ``configs`` (e.g. ``["neuron.tau"]`` for a sweep over
    ``neuron.tau=2,4,8``), leaving out the seed and the keys that cannot change a result (``signature_ignores``)."""
    patterns = sorted({p for c in configs for p in (c.get(IGNORES_KEY) or [])})
    keys = sorted({k for c in configs for k in c} - {"seed", IGNORES_KEY})
    return [k for k in keys if not ignored(k, patterns) and len({repr(c.get(k)) for c in configs}) > 1]

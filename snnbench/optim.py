"""Optimisers by name, so that a recipe can switch optimiser for one neuron by setting values only (Hydra does
not allow group overrides inside the per-neuron recipe configs), and per-parameter settings that a neuron or a
network declares for its own parameters.

A parameter may carry ``param._optim = {"lr": ..., "weight_decay": ...}`` (the S4 family's convention, used by the
official PRF and PMSN code for their dynamics): it then goes into its own parameter group with those settings,
whatever the optimiser. The groups are recorded with each run (``optimizer_groups`` in ``result.json``).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch
from torch.optim.lr_scheduler import LambdaLR

from snnbench.errors import ConfigError

OWN_SETTINGS = ("lr", "weight_decay")


def parameter_groups(params: Iterable[torch.nn.Parameter]) -> list[dict[str, Any]]:
    """The default group (parameters without ``_optim``), then one group per distinct ``_optim`` setting."""
    default: list[torch.nn.Parameter] = []
    special: dict[tuple, list[torch.nn.Parameter]] = {}
    for param in params:
        own = getattr(param, "_optim", None)
        if not own:
            default.append(param)
            continue
        unknown = set(own) - set(OWN_SETTINGS)
        if unknown:
            raise ConfigError(f"a parameter's _optim names {sorted(unknown)}; it may set {', '.join(OWN_SETTINGS)}")
        special.setdefault(tuple(sorted(own.items())), []).append(param)
    return [{"params": default}, *({"params": group, **dict(key)} for key, group in special.items())]


def build_optimizer(params: Iterable[torch.nn.Parameter], name: str, lr: float, weight_decay: float = 0.0,
                    momentum: float | None = None) -> torch.optim.Optimizer:
    """``sgd`` (with ``momentum``) or ``adamw`` (``momentum`` must be null); parameters with ``_optim`` get their
    own learning rate and weight decay."""
    groups = [g for g in parameter_groups(params) if g["params"]]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum or 0.0, weight_decay=weight_decay)
    if name == "adamw":
        if momentum is not None:
            raise ConfigError("optim.momentum is an SGD setting; set optim.momentum=null for adamw")
        return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    raise ConfigError(f"unknown optimiser '{name}'; choose sgd or adamw")


def describe_groups(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """What each parameter group trains with: its parameter count, learning rate and weight decay."""
    return [{"parameters": sum(p.numel() for p in g["params"]), "lr": g["lr"],
             "weight_decay": g.get("weight_decay", 0.0)} for g in optimizer.param_groups]


def cosine_with_warmup(optimizer: torch.optim.Optimizer, epochs: int, warmup: float = 0.05) -> LambdaLR:
    """Linear warm-up over the first ``warmup`` fraction of the epochs, then cosine decay to 0 (the S4 family's
    ``cosine_warmup``, per step there, per epoch here: warm-up epoch e trains at (e + 1) / (w + 1) of the lr)."""
    if not 0 <= warmup < 1:
        raise ConfigError(f"sched.warmup is a fraction of the epochs in [0, 1); got {warmup}")
    warm = round(warmup * epochs)

    def factor(epoch: int) -> float:
        if epoch < warm:
            return (epoch + 1) / (warm + 1)
        return 0.5 * (1 + math.cos(math.pi * (epoch - warm) / max(1, epochs - warm)))

    return LambdaLR(optimizer, factor)

"""Optimisers by name, so that a recipe can switch optimiser for one neuron by setting values only
(Hydra does not allow group overrides inside the per-neuron recipe configs)."""

from __future__ import annotations

from typing import Iterable

import torch

from snnbench.errors import ConfigError


def build_optimizer(params: Iterable[torch.nn.Parameter], name: str, lr: float, weight_decay: float = 0.0,
                    momentum: float | None = None) -> torch.optim.Optimizer:
    """``sgd`` (with ``momentum``) or ``adamw`` (``momentum`` must be null)."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum or 0.0, weight_decay=weight_decay)
    if name == "adamw":
        if momentum is not None:
            raise ConfigError("optim.momentum is an SGD setting; set optim.momentum=null for adamw")
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ConfigError(f"unknown optimiser '{name}'; choose sgd or adamw")

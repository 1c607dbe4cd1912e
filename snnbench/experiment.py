"""The parts of an experiment built from a resolved config: the data, the neuron factory and the network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch.nn as nn
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from snnbench.data import DataBundle
from snnbench.data.source import MissingDataError
from snnbench.errors import ConfigError
from snnbench.neurons import NeuronFactory


@dataclass
class Experiment:
    data: DataBundle | None  # None when built without loading the data
    neuron: NeuronFactory
    model: nn.Module


def instantiate_checked(node: DictConfig, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` that lets our :class:`ConfigError` through unwrapped, and says in one line which
    ``_target_`` cannot be imported."""
    try:
        return instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as err:
        if isinstance(err.__cause__, ConfigError):
            raise err.__cause__ from None
        if isinstance(err.__cause__, ImportError) and str(err).startswith("Error locating target"):
            target = node.get("_target_")
            reason = " ".join(str(err.__cause__).split("\n")[-2:]).strip()
            raise ConfigError(f"cannot import _target_ '{target}' ({reason}); fix the dotted path in its YAML, or "
                              f"put its module on the Python path (a --config-dir folder is)") from None
        raise


def build_experiment(cfg: DictConfig, load_data: bool = True) -> Experiment:
    """Build the dataset, the neuron factory and the network that ``cfg`` describes.

    With ``load_data=False`` the network is built from the dataset's known shapes, without its files.
    """
    source = instantiate_checked(cfg.dataset.build, T=cfg.T)
    neuron = instantiate_checked(cfg.neuron)
    if neuron.T != cfg.T:
        raise ConfigError(
            f"neuron.T={neuron.T} differs from the data's T={cfg.T}; neurons take T from the top-level T, "
            f"remove the neuron.T override (or set T={neuron.T} if the dataset allows it)"
        )
    try:
        data = source.load() if load_data else None
    except MissingDataError as err:
        raise MissingDataError(f"{err} Then, or to download it: snnbench data prepare dataset={cfg.dataset.name} "
                               f"T={cfg.T} (`snnbench data check dataset={cfg.dataset.name}` lists what is there)"
                               ) from None
    model = instantiate_checked(cfg.model, neuron=neuron, step_shape=source.step_shape,
                                num_classes=source.num_classes)
    return Experiment(data=data, neuron=neuron, model=model)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

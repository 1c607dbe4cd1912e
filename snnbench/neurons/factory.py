"""The factory that network templates call for every spiking layer: it looks a builder up, validates the
neuron's settings once, and builds (and marks) one layer per call."""

from __future__ import annotations

import inspect

import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.contract import mark_neuron
from snnbench.neurons.registry import NEURONS, NeuronBuilder

FIXED = ("T", "channels", "surrogate", "layer_index")  # what the factory passes; the YAML gives the rest


def _builder_from_path(path: str) -> NeuronBuilder:
    from hydra.utils import get_object

    try:
        builder = get_object(path)
    except Exception as err:  # noqa: BLE001  (ImportError, AttributeError, ... : all mean "not found")
        raise ConfigError(f"neuron builder '{path}' cannot be imported ({type(err).__name__}: {err}); put its module "
                          f"on the Python path (a --config-dir folder is) or fix the dotted path") from None
    if not callable(builder):
        raise ConfigError(f"neuron builder '{path}' is not callable")
    return builder


def settings_of(builder: NeuronBuilder) -> dict[str, object]:
    """A builder's own settings and their defaults (``inspect.Parameter.empty`` where it has none)."""
    return {name: p.default for name, p in inspect.signature(builder).parameters.items() if name not in FIXED}


class NeuronFactory:
    """Builds multi-step neurons of one kind: ``factory(channels) -> nn.Module`` on ``[T, N, C, ...]``.

    ``builder`` is a dotted path to your own builder; without it, ``name`` is looked up in the registry.
    ``params`` go to the builder; they are checked when the factory is made, so an impossible setting fails at
    start-up, before anything trains.
    """

    def __init__(self, name: str, T: int, surrogate: nn.Module, builder: str | None = None,
                 **params: object) -> None:
        if builder is None and name not in NEURONS:
            raise ConfigError(f"unknown neuron '{name}'; choose one of: {', '.join(sorted(NEURONS))}, or name your "
                              f"own builder in its YAML (builder: my_module.my_neuron)")
        self.name = name
        self.T = int(T)
        self.surrogate = surrogate
        self.params = dict(params)
        self.builder = _builder_from_path(builder) if builder is not None else NEURONS[name]
        self.takes_index = "layer_index" in inspect.signature(self.builder).parameters
        self.built = 0
        try:
            inspect.signature(self.builder).bind(T=self.T, channels=1, surrogate=surrogate, **self._index(0),
                                                 **self.params)
        except TypeError as err:
            settings = list(settings_of(self.builder))
            unknown = sorted(set(self.params) - set(settings))
            raise ConfigError(f"neuron '{name}' does not take {unknown or err}; its settings are {settings}"
                              + (f" (remove neuron.{unknown[0]}, or choose a neuron that has it)" if unknown else "")
                              ) from None
        self._build(channels=1, index=0)  # impossible settings fail here

    def _index(self, index: int) -> dict[str, int]:
        return {"layer_index": index} if self.takes_index else {}

    def _build(self, channels: int, index: int) -> nn.Module:
        return self.builder(T=self.T, channels=channels, surrogate=self.surrogate, **self._index(index), **self.params)

    def __call__(self, channels: int) -> nn.Module:
        """The next spiking layer of the network, ``channels`` wide, marked as a neuron layer."""
        layer = mark_neuron(self._build(channels, self.built))
        self.built += 1
        return layer

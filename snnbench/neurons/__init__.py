"""Spiking neurons by name: one factory builds every neuron the network templates use.

Templates never import SpikingJelly neuron classes; they call ``neuron(channels)`` on the
:class:`NeuronFactory` that Hydra instantiates from ``configs/neuron/<name>.yaml``.
"""

from snnbench.neurons.factory import NEURONS, NeuronFactory, register
from snnbench.neurons import zoo as _zoo  # noqa: F401  (registers the built-in neurons)

__all__ = ["NEURONS", "NeuronFactory", "register"]

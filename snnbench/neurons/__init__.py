"""Spiking neurons by name. Templates never import neuron classes; they call ``neuron(channels)`` on the
:class:`NeuronFactory` that Hydra instantiates from ``configs/neuron/<name>.yaml``.

Where each neuron lives: ``charge_fire_reset.py`` (IF, LIF, PLIF, KLIF, CLIF, SpikingJelly's GLIF), ``glif.py``
(the PSN paper's GLIF), ``lif_noreset.py``, ``psn.py`` (PSN, masked and sliding PSN), and the successors
``cpsn.py``, ``pmsn.py``, ``prf.py``, ``psu.py``, ``mpe_psn.py``; the parallel neurons that keep their reset
``fpt_lif.py``, ``sdn_lif.py``, ``spike_ssm.py`` (``linear_scan.py`` is their shared scan). Each registers its builders where it defines
them; importing this package imports them all.
"""

from snnbench.neurons import (  # noqa: F401
    charge_fire_reset, cpsn, fpt_lif, glif, lif_noreset, mpe_psn, pmsn, prf, psn, psu, sdn_lif, spike_ssm,
)
from snnbench.neurons.factory import NeuronFactory
from snnbench.neurons.registry import NEURONS, register

__all__ = ["NEURONS", "NeuronFactory", "register"]

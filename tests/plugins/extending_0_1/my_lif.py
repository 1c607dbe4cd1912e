"""A LIF variant of your own: leaky integrate-and-fire with a hard reset to 0 (snnbench's ``lif`` resets softly).

    H[t] = V[t-1] + (X[t] - V[t-1]) / tau
    S[t] = Θ(H[t] - V_th)
    V[t] = H[t] (1 - S[t])                   (hard reset to 0)

Named in ``neuron/my_lif.yaml`` as ``builder: my_lif.build``; snnbench puts this folder on the Python path
when it is given as ``--config-dir``.
"""

from __future__ import annotations

import torch.nn as nn
from spikingjelly.activation_based import neuron


def build(T: int, channels: int, surrogate: nn.Module, tau: float = 2.0, v_threshold: float = 1.0) -> nn.Module:
    """The builder contract: (T, channels, surrogate, **the YAML's other keys) -> a multi-step module on
    ``[T, N, channels, ...]``."""
    return neuron.LIFNode(tau=float(tau), v_threshold=float(v_threshold), v_reset=0.0,
                          surrogate_function=surrogate, detach_reset=True, step_mode="m")

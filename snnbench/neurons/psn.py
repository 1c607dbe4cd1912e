"""The parallel spiking neurons of the PSN paper (Fang et al., NeurIPS 2023): PSN, masked PSN and sliding PSN,
SpikingJelly 2.0's classes, the masked PSN with the paper's lambda schedule."""

from __future__ import annotations

import torch.nn as nn
from spikingjelly.activation_based import neuron
from spikingjelly.activation_based.surrogate import SurrogateFunctionBase

from snnbench.errors import ConfigError
from snnbench.neurons.registry import register


def _check_order(name: str, k: int) -> int:
    if int(k) < 1:
        raise ConfigError(f"{name}: order k={k} is impossible; set neuron.k to an integer >= 1")
    return int(k)


@register("psn")
def parallel_spiking_neuron(T: int, channels: int, surrogate: SurrogateFunctionBase) -> nn.Module:
    """PSN: H = W X + B over the time axis (W: [T, T], B: [T], init -1); S = Θ(H). No loop over time."""
    return neuron.PSN(T=int(T), surrogate_function=surrogate)


def masked_psn_lambda(epoch: int, epochs: int, ramp: float) -> float:
    """The PSN paper's mask schedule: lambda = min(ramp * epoch / (epochs - 1), 1).

    Dense (lambda 0) at epoch 0, fully masked from epoch (epochs - 1) / ramp on.
    A one-epoch run trains fully masked, the state every longer run ends in.
    """
    if epochs <= 1:
        return 1.0
    return min(ramp * epoch / (epochs - 1), 1.0)


class ScheduledMaskedPSN(neuron.MaskedPSN):
    """SpikingJelly's MaskedPSN whose lambda follows :func:`masked_psn_lambda` (set by ``start_epoch``)."""

    def __init__(self, lambda_ramp: float, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.lambda_ramp = float(lambda_ramp)

    def start_epoch(self, epoch: int, epochs: int) -> None:
        self.lambda_ = masked_psn_lambda(epoch, epochs, self.lambda_ramp)


@register("masked_psn")
def masked_parallel_spiking_neuron(T: int, channels: int, surrogate: SurrogateFunctionBase,
                                   k: int = 4, lambda_ramp: float = 8.0) -> nn.Module:
    """Masked PSN of order k: W is multiplied by lambda B_k + (1 - lambda) 1, B_k a band of width k.

    lambda = min(lambda_ramp * epoch / (epochs - 1), 1) each epoch (0: dense, 1: causal band).
    """
    k = _check_order("masked_psn", k)
    if k > T:
        raise ConfigError(f"masked_psn: order k={k} exceeds T={T} time steps; set neuron.k <= {T}")
    return ScheduledMaskedPSN(lambda_ramp=lambda_ramp, k=k, T=int(T), lambda_init=0.0, surrogate_function=surrogate,
                              step_mode="m")


@register("sliding_psn")
def sliding_parallel_spiking_neuron(T: int, channels: int, surrogate: SurrogateFunctionBase,
                                    k: int = 4, exp_init: bool = False) -> nn.Module:
    """Sliding PSN of order k: H[t] = sum_i w_i X[t-k+1+i] + b, k weights shared over time; any T.

    ``exp_init``: newest weight 1, each older one halved (the paper's CIFAR10-DVS init);
    otherwise kaiming-uniform (its sequential-CIFAR init).
    """
    k = _check_order("sliding_psn", k)
    return neuron.SlidingPSN(k=k, exp_init=bool(exp_init), surrogate_function=surrogate, step_mode="m")

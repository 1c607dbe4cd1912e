"""The neurons of the PSN paper's comparison, built from SpikingJelly 2.0 with the paper's settings, and the
parallel neurons published since (our own modules: ``cpsn.py``, ``pmsn.py``, ``prf.py``, ``psu.py``, ``mpe_psn.py``).

Every builder returns a multi-step module mapping ``[T, N, C, ...]`` to spikes of the same shape.
SpikingJelly asserts ``isinstance(x, float)`` on voltages and time constants, so values are cast here.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from spikingjelly.activation_based import neuron
from spikingjelly.activation_based.surrogate import SurrogateFunctionBase

from snnbench.errors import ConfigError
from snnbench.neurons.factory import register
from snnbench.neurons import cpsn, mpe_psn, pmsn, prf, psu
from snnbench.neurons.glif import HardGatedLIF, gate_probability
from snnbench.neurons.lif_noreset import LIFNoReset


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _check_order(name: str, k: int) -> int:
    if int(k) < 1:
        raise ConfigError(f"{name}: order k={k} is impossible; set neuron.k to an integer >= 1")
    return int(k)


@register("if")
def integrate_and_fire(T: int, channels: int, surrogate: SurrogateFunctionBase,
                       v_threshold: float = 1.0, v_reset: float | None = None,
                       detach_reset: bool = True) -> nn.Module:
    """IF: H[t] = V[t-1] + X[t]; S[t] = Θ(H[t] - V_th); soft reset V[t] = H[t] - S[t] V_th."""
    return neuron.IFNode(v_threshold=float(v_threshold), v_reset=_optional_float(v_reset),
                         surrogate_function=surrogate, detach_reset=detach_reset, step_mode="m")


@register("lif")
def leaky_integrate_and_fire(T: int, channels: int, surrogate: SurrogateFunctionBase,
                             tau: float = 2.0, v_threshold: float = 1.0,
                             v_reset: float | None = None, detach_reset: bool = True) -> nn.Module:
    """LIF: H[t] = V[t-1] + (X[t] - V[t-1]) / tau; S[t] = Θ(H[t] - V_th); soft reset."""
    return neuron.LIFNode(tau=float(tau), v_threshold=float(v_threshold), v_reset=_optional_float(v_reset),
                          surrogate_function=surrogate, detach_reset=detach_reset, step_mode="m")


@register("plif")
def parametric_lif(T: int, channels: int, surrogate: SurrogateFunctionBase,
                   init_tau: float = 2.0, v_threshold: float = 1.0,
                   v_reset: float | None = None, detach_reset: bool = True) -> nn.Module:
    """PLIF: LIF with a learnable time constant 1/tau = sigmoid(w) per layer."""
    return neuron.ParametricLIFNode(init_tau=float(init_tau), v_threshold=float(v_threshold),
                                    v_reset=_optional_float(v_reset), surrogate_function=surrogate,
                                    detach_reset=detach_reset, step_mode="m")


@register("klif")
def k_based_lif(T: int, channels: int, surrogate: SurrogateFunctionBase,
                tau: float = 2.0, v_threshold: float = 1.0,
                v_reset: float | None = None, detach_reset: bool = False) -> nn.Module:
    """KLIF: LIF whose membrane passes through a learnable ReLU(k H) before firing.

    The paper keeps ``detach_reset=False``: with a detached reset KLIF does not converge.
    """
    return neuron.KLIFNode(tau=float(tau), v_threshold=float(v_threshold), v_reset=_optional_float(v_reset),
                           surrogate_function=surrogate, detach_reset=detach_reset, step_mode="m")


class ChannelwiseGLIF(nn.Module):
    """SpikingJelly's GatedLIFNode on any ``[T, N, C, ...]`` input.

    GatedLIFNode views its per-channel parameters as ``(1, C, 1, 1)``, so every step must be
    4-D; this wrapper folds the trailing dimensions into ``[T, N, C, L, 1]`` and back.
    """

    def __init__(self, node: neuron.GatedLIFNode) -> None:
        super().__init__()
        self.node = node

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        T, N, C = x_seq.shape[:3]
        return self.node(x_seq.reshape(T, N, C, -1, 1)).reshape(x_seq.shape)


@register("glif")
def gated_lif(T: int, channels: int, surrogate: SurrogateFunctionBase,
              gates: tuple[float, float, float] = (0.6, 0.8, 0.6), init_tau: float = 0.25,
              init_v_threshold: float = 0.5, init_linear_decay: float = 0.0625,
              init_conduct: float = 0.5, hard_gates: bool = True) -> nn.Module:
    """GLIF as the PSN paper ran it: hard gates with a straight-through gradient, linear decay V_th / 8,
    strict threshold (see :class:`HardGatedLIF` for the equations)."""
    return HardGatedLIF(T=T, channels=channels, surrogate=surrogate, gates=tuple(gates), init_tau=float(init_tau),
                        init_v_threshold=float(init_v_threshold), init_linear_decay=float(init_linear_decay),
                        init_conduct=float(init_conduct), hard_gates=bool(hard_gates))


@register("glif_soft")
def soft_gated_lif(T: int, channels: int, surrogate: SurrogateFunctionBase,
                   gates: tuple[float, float, float] = (0.6, 0.8, 0.6), init_tau: float = 0.25,
                   init_v_threshold: float = 0.5, init_conduct: float = 0.5) -> nn.Module:
    """GLIF with soft sigmoid gates: SpikingJelly's GatedLIFNode (linear decay V_th / (2 T)); not what the PSN
    paper ran. Gates start at ``gates`` (SpikingJelly draws them at random)."""
    node = neuron.GatedLIFNode(T=int(T), inplane=int(channels), init_tau=float(init_tau),
                               init_v_threshold=float(init_v_threshold), init_conduct=float(init_conduct),
                               surrogate_function=surrogate, step_mode="m")
    with torch.no_grad():
        for param, gate in zip((node.alpha, node.beta, node.gamma), gates):
            p = gate_probability(float(gate))
            param.fill_(math.log(p / (1.0 - p)))
    return ChannelwiseGLIF(node)


@register("clif")
def complementary_lif(T: int, channels: int, surrogate: SurrogateFunctionBase,
                      tau: float = 2.0, v_threshold: float = 1.0) -> nn.Module:
    """CLIF (Huang et al. 2024): LIF with a complementary membrane that eases temporal credit assignment."""
    return neuron.ComplementaryLIFNode(tau=float(tau), v_threshold=float(v_threshold),
                                       surrogate_function=surrogate, step_mode="m")


@register("lif_noreset")
def lif_without_reset(T: int, channels: int, surrogate: SurrogateFunctionBase,
                      tau: float = 2.0, v_threshold: float = 1.0) -> nn.Module:
    """LIF without reset, the PSN paper's ablation (see :class:`LIFNoReset`)."""
    return LIFNoReset(tau=float(tau), v_threshold=float(v_threshold), surrogate=surrogate)


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


# The PSN family's successors (issue: one flag each). Equations in each module's docstring.
register("cpsn")(cpsn.build)
register("pmsn")(pmsn.build)
register("prf")(prf.build)
register("psu")(psu.build("psu"))
register("ipsu")(psu.build("ipsu"))
register("rpsu")(psu.build("rpsu"))
register("mpe_psn")(mpe_psn.build)

"""The charge-fire-reset neurons of the PSN paper's comparison, built from SpikingJelly 2.0 with the paper's
settings. SpikingJelly asserts ``isinstance(x, float)`` on voltages and time constants, so values are cast here.
The paper's GLIF is in ``glif.py``, LIF without reset in ``lif_noreset.py``."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from spikingjelly.activation_based import neuron
from spikingjelly.activation_based.surrogate import SurrogateFunctionBase

from snnbench.neurons.glif import gate_probability
from snnbench.neurons.registry import register


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


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
                             v_reset: float | None = None, detach_reset: bool = True,
                             decay_input: bool = True) -> nn.Module:
    """LIF: H[t] = V[t-1] + (X[t] - V[t-1]) / tau (``decay_input``; else H[t] = V[t-1] (1 - 1/tau) + X[t]);
    S[t] = Θ(H[t] - V_th); soft reset."""
    return neuron.LIFNode(tau=float(tau), decay_input=bool(decay_input), v_threshold=float(v_threshold),
                          v_reset=_optional_float(v_reset), surrogate_function=surrogate, detach_reset=detach_reset,
                          step_mode="m")


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

"""Fixed-point parallel training of the LIF neuron with its reset (Feng et al., "Efficient Parallel Training
Methods for Spiking Neural Networks with Constant Time Complexity", ICML 2025, arXiv 2506.12087)."""

from __future__ import annotations

import torch
import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.linear_scan import linear_scan
from snnbench.neurons.registry import register


class FixedPointLIF(nn.Module):
    r"""SpikingJelly's LIF (same charge, threshold and reset) solved over all T steps at once by a fixed-point
    iteration on its spike train, instead of step by step.

    The sequential neuron, :math:`\lambda = 1 - 1/\tau`, :math:`c = 1/\tau` with ``decay_input`` (else 1):

    .. math::
        H[t] = \lambda V[t-1] + c X[t] + (1 - \lambda) V_{reset}, \qquad S[t] = \Theta(H[t] - V_{th})

        V[t] = H[t] - V_{th} S[t] \ \text{(soft reset)} \quad \text{or} \quad
        V[t] = H[t] (1 - S[t]) + V_{reset} S[t] \ \text{(hard reset)}

    (the :math:`(1-\lambda) V_{reset}` leak term only with a hard reset). Given the spikes, :math:`H` is a linear
    recurrence :math:`H[t] = a[t] H[t-1] + b[t]` with :math:`a = \lambda`,
    :math:`b = c X[t] - \lambda V_{th} S[t-1]` (soft) or :math:`a = \lambda (1 - S[t-1])`,
    :math:`b = c X[t] + (1-\lambda) V_{reset} + \lambda V_{reset} S[t-1]` (hard), solved in parallel
    (:func:`~snnbench.neurons.linear_scan.linear_scan`). FPT iterates

    .. math::
        S^{(0)} = \Theta(H(0) - V_{th}), \qquad S^{(k)} = \Theta(H(S^{(k-1)}) - V_{th}), \quad k = 1 \dots K

    Step :math:`t` depends only on spikes before :math:`t`, so iteration :math:`k` makes steps :math:`0 \dots k`
    exact: :math:`K \ge T - 1` gives the sequential neuron's spikes exactly; the paper's default is
    :math:`K = 3` (a few residual mismatches, measured in ``tests/test_reset_parallel.py``).

    Gradients flow through all :math:`K + 1` scans with the surrogate in place of :math:`\Theta'`
    (``detach_reset`` cuts the reset terms' gradient, as SpikingJelly's does). For :math:`K \ge T - 1` this is
    back-propagation through time of the sequential neuron exactly (every spike in a chain of resets is already
    exact in the iteration that uses it); a smaller :math:`K` truncates chains of more than :math:`K` resets.
    This is the deterministic fixed point of SpikingJelly's LIF, exact at :math:`K \ge T - 1`. The released FPT
    training code (WanjinVon/FPT ``my_seq_cifar100/main_seq_cifar100.py``, ``FPT_adaptive_alpha``, read
    2026-11-30) runs a relaxed variant instead: :math:`\lambda = 0.5` without input decay, the matrix
    :math:`\Lambda` and a per-step threshold bias learnable (``nn.Linear(T, T)``, PSN-like), sigmoid spikes of
    sharpness :math:`\alpha, 3\alpha, 12\alpha` in three evaluations (the initial one and two updates: our
    :math:`K = 2`; the paper's "K = 3" counts evaluations), and a final Bernoulli draw with a straight-through
    gradient, at test time too. That variant is not here yet.
    """

    def __init__(self, k: int, tau: float, v_threshold: float, v_reset: float | None, detach_reset: bool,
                 decay_input: bool, surrogate: nn.Module) -> None:
        super().__init__()
        self.k, self.tau, self.v_threshold, self.v_reset = k, tau, v_threshold, v_reset
        self.detach_reset, self.decay_input, self.surrogate = detach_reset, decay_input, surrogate
        self.decay = 1.0 - 1.0 / tau

    def membrane(self, x_seq: torch.Tensor, spikes: torch.Tensor) -> torch.Tensor:
        """H for a given spike train (the spikes at step t reset the membrane from step t + 1). A hard-reset
        neuron starts at V_reset, SpikingJelly's initial state: as if it had spiked just before step 0."""
        lam = self.decay
        charge = x_seq / self.tau if self.decay_input else x_seq
        start = torch.zeros_like(spikes[:1]) if self.v_reset is None else torch.ones_like(spikes[:1])
        previous = torch.cat([start, spikes[:-1]])
        if self.detach_reset:
            previous = previous.detach()
        if self.v_reset is None:
            return linear_scan(torch.full_like(charge, lam), charge - lam * self.v_threshold * previous)
        leak = (1.0 - lam) * self.v_reset
        return linear_scan(lam * (1.0 - previous), charge + leak + lam * self.v_reset * previous)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        spikes = self.surrogate(self.membrane(x_seq, torch.zeros_like(x_seq)) - self.v_threshold)
        for _ in range(self.k):
            spikes = self.surrogate(self.membrane(x_seq, spikes) - self.v_threshold)
        return spikes

    def extra_repr(self) -> str:
        reset = "soft" if self.v_reset is None else f"hard to {self.v_reset}"
        return f"K={self.k}, tau={self.tau}, v_threshold={self.v_threshold}, reset={reset}"


@register("fpt_lif")
def fixed_point_lif(T: int, channels: int, surrogate: nn.Module, k: int | None = 3, tau: float = 2.0,
                    v_threshold: float = 1.0, v_reset: float | None = None, detach_reset: bool = True,
                    decay_input: bool = True) -> nn.Module:
    """LIF with its reset, trained by FPT in ``k`` fixed-point iterations (see :class:`FixedPointLIF`); ``k`` null:
    T - 1, the fewest that are exact at every step."""
    k = T - 1 if k is None else k
    if int(k) < 0:
        raise ConfigError(f"neuron.k is the number of fixed-point iterations, at least 0; got {k}")
    if float(tau) <= 1.0:
        raise ConfigError(f"neuron.tau must be above 1; got {tau}")
    return FixedPointLIF(int(k), float(tau), float(v_threshold), None if v_reset is None else float(v_reset),
                         bool(detach_reset), bool(decay_input), surrogate)

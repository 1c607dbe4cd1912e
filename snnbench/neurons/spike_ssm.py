"""SPikE-SSM's reset-refractory neuron, simulated in parallel by boundary compression (Zhong et al.,
"SPikE-SSM: A Sparse, Precise, and Efficient Spiking State Space Model for Long Sequences Learning",
arXiv 2410.17268)."""

from __future__ import annotations

import torch
import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.linear_scan import linear_scan
from snnbench.neurons.registry import register


class RefractoryNeuron(nn.Module):
    r"""A LIF neuron with a soft reset and a refractory trace, both learnable per channel, whose spikes are found
    in parallel by compressing an upper and a lower bound of the spike train until they meet (PMBC).

    The sequential neuron (:math:`\lambda = 1 - 1/\tau`, refractory decay :math:`\lambda_r`):

    .. math::
        H[t] = \lambda H[t-1] + X[t] - V_{th} S[t-1], \qquad R[t] = \lambda_r R[t-1] + S[t-1]

        S[t] = \Theta(H[t] - V_{th} - \rho R[t])

    with a trainable threshold :math:`V_{th} > 0` and refractory magnitude :math:`\rho = e^{r} > 0` per channel.
    Every past spike lowers the margin :math:`H - V_{th} - \rho R`, so the map :math:`F` from a spike train to the
    spikes it implies is antitone. :math:`S_{hi} = F(0)` bounds the true train from above, :math:`S_{lo} =
    F(S_{hi})` from below, and alternating :math:`S_{hi} \leftarrow F(S_{lo})`, :math:`S_{lo} \leftarrow
    F(S_{hi})` squeezes them together; each round settles at least one more step, and they meet (at most
    :math:`T` rounds, usually a few) on the sequential neuron's spikes exactly. Each :math:`F` is two parallel
    scans (:func:`~snnbench.neurons.linear_scan.linear_scan`).

    The bounds are found without gradient; the spikes are then evaluated once more with the surrogate, the past
    spikes in the reset and refractory terms detached: the gradient of the sequential neuron with a detached
    reset (SpikingJelly's ``detach_reset=True``).

    SPikE-SSM's code is not public and the paper's text could not be read here in full: the equations above are
    this implementation's reading of "a reset-refractory neuron with trainable thresholds and refractory
    magnitudes, inferred in parallel by boundary compression"; the defaults (:math:`\tau` 2, :math:`\lambda_r`
    0.5, :math:`V_{th}` 1, :math:`\rho` 0.5) are ours.
    """

    def __init__(self, channels: int, tau: float, refractory_decay: float, v_threshold: float, refractory: float,
                 surrogate: nn.Module) -> None:
        super().__init__()
        self.tau, self.refractory_decay, self.surrogate = tau, refractory_decay, surrogate
        self.decay = 1.0 - 1.0 / tau
        self.v_threshold = nn.Parameter(torch.full((channels,), float(v_threshold)))
        self.log_refractory = nn.Parameter(torch.full((channels,), float(refractory)).log())
        self.rounds = 0  # boundary-compression rounds of the last forward pass

    def _per_channel(self, value: torch.Tensor, x_seq: torch.Tensor) -> torch.Tensor:
        return value.view(-1, *([1] * (x_seq.dim() - 3))) if x_seq.dim() > 2 else value

    def margin(self, x_seq: torch.Tensor, spikes: torch.Tensor) -> torch.Tensor:
        """H - V_th - rho R for a given spike train (its past spikes detached)."""
        v_th = self._per_channel(self.v_threshold.clamp(min=1e-3), x_seq)
        rho = self._per_channel(self.log_refractory.exp(), x_seq)
        previous = torch.cat([torch.zeros_like(spikes[:1]), spikes[:-1]]).detach()
        h = linear_scan(torch.full_like(x_seq, self.decay), x_seq - v_th * previous)
        r = linear_scan(torch.full_like(x_seq, self.refractory_decay), previous)
        return h - v_th - rho * r

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            upper = (self.margin(x_seq, torch.zeros_like(x_seq)) >= 0).to(x_seq)
            lower = (self.margin(x_seq, upper) >= 0).to(x_seq)
            self.rounds = 1
            while not torch.equal(upper, lower) and self.rounds <= x_seq.shape[0]:
                upper = (self.margin(x_seq, lower) >= 0).to(x_seq)
                lower = (self.margin(x_seq, upper) >= 0).to(x_seq)
                self.rounds += 1
        return self.surrogate(self.margin(x_seq, lower))

    def extra_repr(self) -> str:
        return f"tau={self.tau}, refractory_decay={self.refractory_decay}, channels={self.v_threshold.numel()}"


@register("spike_ssm")
def refractory_neuron(T: int, channels: int, surrogate: nn.Module, tau: float = 2.0, refractory_decay: float = 0.5,
                      v_threshold: float = 1.0, refractory: float = 0.5) -> nn.Module:
    """SPikE-SSM's reset-refractory neuron with trainable threshold and refractory magnitude
    (see :class:`RefractoryNeuron`)."""
    if float(tau) <= 1.0:
        raise ConfigError(f"neuron.tau must be above 1; got {tau}")
    if not 0.0 <= float(refractory_decay) < 1.0:
        raise ConfigError(f"neuron.refractory_decay must be in [0, 1); got {refractory_decay}")
    if float(v_threshold) <= 0 or float(refractory) <= 0:
        raise ConfigError("neuron.v_threshold and neuron.refractory must be positive (each spike must lower the "
                          f"membrane for the boundary compression to hold); got {v_threshold}, {refractory}")
    return RefractoryNeuron(channels, float(tau), float(refractory_decay), float(v_threshold), float(refractory),
                            surrogate)

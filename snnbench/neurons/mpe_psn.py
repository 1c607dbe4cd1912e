"""Time-independent spiking neuron via membrane potential estimation (Chen et al., MPE-PSN, ICASSP 2025;
code Chrazqee/MPE-PSN)."""

from __future__ import annotations

import torch
import torch.nn as nn

from snnbench.errors import ConfigError
from snnbench.neurons.registry import register


def lif_membrane(x_seq: torch.Tensor, tau: float, v_threshold: float) -> torch.Tensor:
    r"""The membrane :math:`H[t]` of a LIF with soft reset, step by step (the estimate's target):
    :math:`H[t] = V[t-1] + (X[t] - V[t-1]) / \tau`, :math:`V[t] = H[t] - V_{th} \Theta(H[t] - V_{th})`."""
    v = torch.zeros_like(x_seq[0])
    membranes = []
    for x in x_seq:
        h = v + (x - v) / tau
        membranes.append(h)
        v = h - v_threshold * (h >= v_threshold).to(h.dtype)
    return torch.stack(membranes)


class MembraneEstimatePSN(nn.Module):
    r"""MPE-PSN: every step's membrane potential is estimated from that step's input alone, element-wise, so
    all T steps run at once; an auxiliary loss keeps the estimate close to a real LIF membrane.

    .. math::
        \hat H[t] = \gamma_c X[t] + \beta_c, \qquad S[t] = \Theta(\hat H[t] - V_{th})

        \mathcal{L}_{aux} = w \cdot \mathrm{mean}\big((\hat H - \mathrm{sg}(H^{LIF}))^2\big)

    :math:`H^{LIF}` is :func:`lif_membrane` of the same input (no gradient). The loss weight is
    ``aux_weight`` (0.01) for the first ``aux_epochs`` of ``recipe_epochs`` (150 of 230), scaled to the run's
    epochs, then 0. At test time the neuron is stochastic: :math:`S \sim \mathrm{Bernoulli}(\sigma(\kappa
    (\hat H - V_{th})))`. The element-wise affine estimate is our reading of the paper's Eq. for the estimate.
    """

    def __init__(self, channels: int, surrogate: nn.Module, tau: float = 2.0, v_threshold: float = 1.0,
                 aux_weight: float = 0.01, aux_epochs: int = 150, recipe_epochs: int = 230,
                 kappa: float = 4.0, stochastic_test: bool = True) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels,), 1.0 / tau))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.tau, self.v_threshold, self.aux_weight, self.kappa = tau, v_threshold, aux_weight, kappa
        self.aux_epochs, self.recipe_epochs, self.stochastic_test = aux_epochs, recipe_epochs, stochastic_test
        self.aux_active = True
        self.surrogate = surrogate
        self._aux: torch.Tensor | None = None

    def start_epoch(self, epoch: int, epochs: int) -> None:
        self.aux_active = epoch < epochs * self.aux_epochs / self.recipe_epochs

    def estimate(self, x_seq: torch.Tensor) -> torch.Tensor:
        shape = (1, 1, -1) + (1,) * (x_seq.dim() - 3)
        return self.gamma.view(shape) * x_seq + self.beta.view(shape)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        h = self.estimate(x_seq)
        if self.training and self.aux_active and self.aux_weight > 0:
            with torch.no_grad():
                target = lif_membrane(x_seq.detach(), self.tau, self.v_threshold)
            self._aux = self.aux_weight * (h - target).pow(2).mean()
        if not self.training and self.stochastic_test:
            return torch.bernoulli(torch.sigmoid(self.kappa * (h - self.v_threshold)))
        return self.surrogate(h - self.v_threshold)

    def aux_loss(self) -> torch.Tensor | None:
        """The auxiliary loss of the last training forward (once: it is cleared when read)."""
        loss, self._aux = self._aux, None
        return loss


@register("mpe_psn")
def build(T: int, channels: int, surrogate: nn.Module, tau: float = 2.0, v_threshold: float = 1.0,
          aux_weight: float = 0.01, aux_epochs: int = 150, recipe_epochs: int = 230, kappa: float = 4.0,
          stochastic_test: bool = True) -> nn.Module:
    if float(tau) <= 1.0:
        raise ConfigError(f"mpe_psn: tau={tau}; set neuron.tau > 1")
    if float(aux_weight) < 0 or int(recipe_epochs) < 1:
        raise ConfigError("mpe_psn: set neuron.aux_weight >= 0 and neuron.recipe_epochs >= 1")
    return MembraneEstimatePSN(int(channels), surrogate, float(tau), float(v_threshold), float(aux_weight),
                               int(aux_epochs), int(recipe_epochs), float(kappa), bool(stochastic_test))

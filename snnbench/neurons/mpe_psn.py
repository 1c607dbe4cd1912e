"""MPE-PSN, the parallel spiking neuron with membrane potential estimation (Chen et al., ICASSP 2025), as the
official code computes it: Chrazqee/MPE-PSN, ``cifar10dvs/models.py`` (``MPE_PSN``, ``TriangularSurrogate``),
trained by ``cifar10dvs/train_vgg.py`` (``--lambda_mem 0.01`` for the first 150 of 230 epochs, ``-tau 0.25``)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from snnbench.errors import ConfigError
from snnbench.neurons.registry import register


class TriangleSpike(torch.autograd.Function):
    r"""The official ``TriangularSurrogate``: :math:`\Theta(u)` with the strict ``u > 0``; backward
    :math:`\frac{1}{\alpha^2} \max(0, \alpha - |u|)`."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, alpha: float) -> torch.Tensor:  # noqa: ANN001
        ctx.save_for_backward(u)
        ctx.alpha = alpha
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001
        (u,) = ctx.saved_tensors
        return grad * (ctx.alpha - u.abs()).clamp(min=0) / ctx.alpha ** 2, None


class MembraneEstimatePSN(nn.Module):
    r"""MPE-PSN: the membrane of the previous step is estimated from that step's input, so that every step's
    charge is known at once.

    .. math::
        \hat m[t] = (1 - B[t]) \, X[t], \quad B[t] \sim \mathrm{Bernoulli}(\sigma(X[t])), \qquad \hat m[-1] = 0

        H[t] = \tau \, \hat m[t-1] + X[t], \qquad S[t] = \Theta(H[t] - V_{th})

        \mathcal{L}_{mem} = \mathrm{mean}_{t, \dots}\big(c_t \, (\hat m[t] - (1 - S[t]) H[t])^2\big)

    :math:`\tau` = 0.25, :math:`V_{th}` learnable (start 1), :math:`c_t` learnable (start 1/T), the triangle
    surrogate of :class:`TriangleSpike` (:math:`\alpha` = 1). The estimate is drawn in training and in
    evaluation alike, as the official code does (its test pass is stochastic). :math:`\mathcal{L}_{mem}` is kept
    with its gradient while the module trains and the loss is active; the official training loss is
    :math:`(1 - \lambda) \mathcal{L} + \lambda \sum \mathcal{L}_{mem}` (:math:`\lambda` = 0.01) for the first 150 of
    230 epochs. The contract adds auxiliary losses to :math:`\mathcal{L}`, so each layer gives
    :math:`\frac{\lambda}{1 - \lambda} \mathcal{L}_{mem}`: the same loss divided by :math:`1 - \lambda` (with SGD, a
    1 % larger step in those epochs, weight decay excepted). The epochs scale with the run:
    ``aux_epochs / recipe_epochs`` of them.
    """

    def __init__(self, T: int, tau: float = 0.25, v_threshold: float = 1.0, aux_weight: float = 0.01,
                 aux_epochs: int = 150, recipe_epochs: int = 230, alpha: float = 1.0) -> None:
        super().__init__()
        self.T, self.tau, self.alpha = T, tau, alpha
        self.threshold = nn.Parameter(torch.tensor(float(v_threshold)))
        self.coef = nn.Parameter(torch.full((T,), 1.0 / T))
        self.aux_weight, self.aux_epochs, self.recipe_epochs = aux_weight, aux_epochs, recipe_epochs
        self.aux_active = True
        self._aux: torch.Tensor | None = None

    def start_epoch(self, epoch: int, epochs: int) -> None:
        self.aux_active = epoch < epochs * self.aux_epochs / self.recipe_epochs

    def estimate(self, x_seq: torch.Tensor) -> torch.Tensor:
        """:math:`\\hat m = (1 - B) X`, the draws taken in the official ``[N, T, ...]`` order (the same random
        stream gives the same draws)."""
        batch_first = x_seq.transpose(0, 1).contiguous()
        return ((1 - torch.bernoulli(torch.sigmoid(batch_first))) * batch_first).transpose(0, 1)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        estimate = self.estimate(x_seq)
        previous = torch.cat([torch.zeros_like(estimate[:1]), estimate[:-1]])
        charge = previous * self.tau + x_seq
        spikes = TriangleSpike.apply(charge - self.threshold, self.alpha)
        if self.training and self.aux_active and self.aux_weight > 0:
            coef = self.coef.view(-1, *([1] * (x_seq.dim() - 1)))
            mem_loss = (F.mse_loss(estimate, (1 - spikes) * charge, reduction="none") * coef).mean()
            self._aux = self.aux_weight / (1 - self.aux_weight) * mem_loss
        return spikes

    def aux_loss(self) -> torch.Tensor | None:
        """The auxiliary loss of the last training forward (once: it is cleared when read)."""
        loss, self._aux = self._aux, None
        return loss

    def extra_repr(self) -> str:
        return f"T={self.T}, tau={self.tau}"


@register("mpe_psn")
def build(T: int, channels: int, surrogate: nn.Module, tau: float = 0.25, v_threshold: float = 1.0,
          aux_weight: float = 0.01, aux_epochs: int = 150, recipe_epochs: int = 230, alpha: float = 1.0) -> nn.Module:
    """MPE-PSN as the official code computes it; its own triangle surrogate replaces ``surrogate``."""
    if not 0 <= float(aux_weight) < 1 or int(recipe_epochs) < 1:
        raise ConfigError("mpe_psn: set 0 <= neuron.aux_weight < 1 and neuron.recipe_epochs >= 1")
    return MembraneEstimatePSN(int(T), float(tau), float(v_threshold), float(aux_weight), int(aux_epochs),
                               int(recipe_epochs), float(alpha))

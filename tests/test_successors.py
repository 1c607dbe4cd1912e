"""The PSN family's successors: each parallel form equals a step-by-step reference, spikes and gradients alike."""

from __future__ import annotations

import math

import pytest
import torch
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate

from snnbench.neurons import NeuronFactory
from snnbench.neurons.contract import aux_loss, start_epoch
from snnbench.neurons.layout import causal_fft_conv, time_last
from snnbench.neurons.cpsn import ChannelwisePSN, power_of_two
from snnbench.neurons.mpe_psn import MembraneEstimatePSN
from snnbench.neurons.pmsn import ParallelMultiCompartment
from snnbench.neurons.prf import ParallelResonateFire
from snnbench.neurons.psu import ParallelSpikingUnit, integration_matrices

T, N, C = 12, 3, 4


def inputs(seed: int = 0, low: float = -1.0, high: float = 2.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, N, C, 2, generator=g, dtype=torch.float64) * (high - low) + low).requires_grad_()


def same_forward_and_backward(parallel: torch.nn.Module, reference, x: torch.Tensor,
                              params: list[torch.Tensor] | None = None, seed: int | None = None) -> None:
    """Spikes equal; the gradients of a fixed random upstream gradient equal, for the input and for every learnable
    parameter of ``parallel`` (``params`` narrows it, for a reference that holds some of them as constants)."""
    learnable = [p for p in parallel.parameters() if p.requires_grad]
    if params is None:
        params = learnable
    grad_out = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    results = []
    for fn in (parallel, reference):
        if seed is not None:  # a stochastic neuron: the same random stream for both
            torch.manual_seed(seed)
        out = fn(x)
        grads = torch.autograd.grad((out * grad_out).sum(), [x, *params], allow_unused=True)
        results.append((out.detach(), grads))
    (out_p, grads_p), (out_r, grads_r) = results
    assert out_p.abs().sum() > 0 and (1 - out_p).abs().sum() > 0, "the test input must make some spikes, not all"
    torch.testing.assert_close(out_p, out_r)
    for gp, gr in zip(grads_p, grads_r):
        assert gp is not None and gp.abs().sum() > 0
        torch.testing.assert_close(gp, gr)


def test_cpsn_parallel_equals_the_tap_sum_and_quantises_to_powers_of_two():
    layer = ChannelwisePSN(C, k=3, dilation=2, surrogate=surrogate.ATan()).double().eval()
    with torch.no_grad():
        layer.running_mean.uniform_(-0.2, 0.2)
        layer.running_var.uniform_(0.5, 1.5)
        layer.beta.fill_(-0.3)

    def reference(x):  # H[t][c] = sum_i Wq[c][i] X[t - i d][c] + b, step by step
        weight, bias = layer.fused(None)
        steps = []
        for t in range(T):
            h = bias.view(1, C, 1).expand(N, C, 2).clone()
            for i in range(layer.k):
                if t - i * layer.dilation >= 0:
                    h = h + weight[:, i].view(1, C, 1) * x[t - i * layer.dilation]
            steps.append(layer.surrogate(h))
        return torch.stack(steps)

    same_forward_and_backward(layer, reference, inputs())
    weight, _ = layer.fused(None)
    exponents = torch.log2(weight.detach().abs())
    assert torch.equal(exponents, exponents.round())  # every weight is +-2^n
    w = torch.tensor([0.3, -0.7, 0.0], requires_grad=True)
    assert power_of_two(w).tolist() == [0.25, -0.5, 0.0]
    power_of_two(w).sum().backward()
    assert w.grad.tolist() == [1.0, 1.0, 1.0]  # straight through


def test_cpsn_dilation_cycles_layer_by_layer():
    factory = NeuronFactory("cpsn", T=8, surrogate=surrogate.ATan(), k=2, dilations=[1, 2, 3])
    assert [factory(4).dilation for _ in range(5)] == [1, 2, 3, 1, 2]


def test_prf_equals_the_official_sequential_step_for_every_parameter():
    layer = ParallelResonateFire(C, surrogate.ATan(), dt_min=0.1, dt_max=0.5).double()

    def reference(x):  # neuron.py sequential_step: v = exp(dt (-1/tau + i theta)) v + dt x; S = Θ(Re v - V_th)
        dt, theta = layer.log_dt.exp().view(1, C, 1), layer.theta_log.exp().view(1, C, 1)
        v = torch.zeros(N, C, 2, dtype=torch.complex128)
        steps = []
        for t in range(T):
            v = torch.exp(dt * (-1 / layer.tau + 1j * theta)) * v + dt * x[t]
            steps.append(layer.surrogate(v.real - layer.v_threshold))
        return torch.stack(steps)

    same_forward_and_backward(layer, reference, inputs(low=0.0, high=6.0))


def test_prf_starts_from_the_official_initialisation_with_its_own_optimiser_settings():
    torch.manual_seed(0)
    layer = ParallelResonateFire(1000, surrogate.ATan())
    torch.manual_seed(0)  # the official draws, in its order: log dt between log 0.1 and log 0.001, then the phase
    log_dt = torch.rand(1000) * (math.log(0.001) - math.log(0.1)) + math.log(0.1)
    theta_log = torch.log(2 * math.pi * torch.rand(1000))
    assert torch.equal(layer.log_dt, log_dt) and torch.equal(layer.theta_log, theta_log)
    assert layer.log_dt._optim == layer.theta_log._optim == {"lr": 0.001, "weight_decay": 0.0}
    assert {name for name, _ in layer.named_parameters()} == {"log_dt", "theta_log"} and layer.tau == 2.0


def test_pmsn_equals_the_official_state_space_recurrence_and_soma_step_by_step():
    layer = ParallelMultiCompartment(C, d_state=4).double()

    def reference(x):  # PMSN.py: state s[t] = A_bar s[t-1] + B_bar u[t]; y = Re(C s) + D u; soma on ReLU(0.2 y)
        _, a_bar, b_bar, c = layer.kernel.discrete()
        state = torch.zeros(N, 2, C, 4, dtype=torch.complex128)
        u = x.permute(0, 1, 3, 2)  # [T, N, L, C]
        charge = torch.zeros(N, 2, C, dtype=x.dtype)
        steps = []
        for t in range(T):
            state = a_bar * state + b_bar * u[t].unsqueeze(-1)
            current = torch.relu(0.2 * ((c * state).sum(-1).real + layer.D * u[t]))
            before = charge
            charge = charge + current
            delta = charge - torch.floor(before / 1.0).clamp(min=0) * 1.0  # surrogate_grad, burst = False
            spike = torch.floor(delta).clamp(0, 1)
            local = (1 - (delta - 1.0).abs()).clamp(min=0).detach()  # the triangle, local to the step
            steps.append((spike + current * local - (current * local).detach()).permute(0, 2, 1))
        return torch.stack(steps)

    same_forward_and_backward(layer, reference, inputs(low=-2.0, high=6.0))


def test_pmsn_starts_from_the_official_initialisation_with_its_own_learning_rates():
    torch.manual_seed(0)
    layer = ParallelMultiCompartment(3, d_state=4)
    kernel = layer.kernel
    assert torch.allclose(kernel.log_A_real, torch.full((3, 4), math.log(0.5)))  # mean of the diagonal -0.5
    s = torch.tensor([[-0.5, 5, 0, 0], [-5, -0.5, 10, 0], [0, -10, -0.5, 15], [0, 0, -15, -0.5]])
    eigenvalues = torch.linalg.eigvalsh((s * -1j).to(torch.complex64))  # the Hermitian part, as eigh reads it
    assert torch.allclose(kernel.A_imag, eigenvalues.unsqueeze(0).expand(3, 4))
    assert ((kernel.log_dt >= math.log(1e-3)) & (kernel.log_dt <= math.log(1e-1))).all()
    rates = {name: p._optim for name, p in kernel.named_parameters()}
    assert rates["log_dt"] == rates["log_A_real"] == {"lr": 1e-3, "weight_decay": 0.0}
    assert all(rates[n] == {"lr": 1e-2, "weight_decay": 0.0} for n in ("A_imag", "VinvB_real", "CV_imag"))
    assert not hasattr(layer.D, "_optim") and layer.D.shape == (3,)
    assert sum(p.numel() for p in layer.parameters()) == 3 * (2 + 6 * 4)


def arctan_spike(z: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """BrainCog's AtanGrad written as a straight-through sum: forward z > 0; backward d/dz and d/dalpha of
    arctan(pi alpha z / 2) / pi, i.e. alpha / (2 (1 + (pi alpha z / 2)^2)) and z / (2 (1 + ...))."""
    soft = torch.atan(math.pi / 2 * alpha * z) / math.pi
    return (z > 0).to(z.dtype) + (soft - soft.detach())


@pytest.mark.parametrize("variant", ["psu", "ipsu", "rpsu"])
def test_psu_family_equals_the_official_equations_step_by_step_for_every_parameter(variant):
    tau, theta = 2.0, 0.5
    layer = ParallelSpikingUnit(T, variant, tau=tau, v_threshold=theta).double()
    with torch.no_grad():
        layer.alpha.fill_(1.7)
        if variant != "psu":
            layer.bias.uniform_(-0.2, 0.2, generator=torch.Generator().manual_seed(4))

    def reference(x):  # node.py, per step t; d = 1/tau
        flat, steps, d = x.flatten(1), [], 1 / tau
        learned = [sum(layer.weight[t, j] * flat[j] for j in range(t + 1)) + layer.bias[t] for t in range(T)] \
            if variant != "psu" else None
        h = [sum(d ** (t - j + 1) * flat[j] for j in range(t + 1)) for t in range(T)]  # M1 X
        for t in range(T):
            if variant == "psu":  # U = H + V_th * M2 sigmoid(H), M2[t][j] = -d^(t-j), j < t
                u = h[t] - theta * sum((d ** (t - j) * torch.sigmoid(h[j]) for j in range(t)), torch.zeros_like(h[t]))
            elif variant == "ipsu":  # U = masked W X + b + M2 X
                u = learned[t] - sum((d ** (t - j) * flat[j] for j in range(t)), torch.zeros_like(h[t]))
            else:  # U = M1 X + M2 sigmoid(masked W X + b)
                u = h[t] - sum((d ** (t - j) * torch.sigmoid(learned[j]) for j in range(t)), torch.zeros_like(h[t]))
            steps.append(arctan_spike(u - theta, layer.alpha).view(x.shape[1:]))
        return torch.stack(steps)

    same_forward_and_backward(layer, reference, inputs(low=-0.5, high=2.0))


def test_psu_family_starts_from_the_official_initialisation():
    # generate_matrix(4, 2.0) of node.py, written out: m1 lower triangle 1/2^(i-j+1), m2 strictly lower -1/2^(i-j)
    m1 = torch.tensor([[.5, 0, 0, 0], [.25, .5, 0, 0], [.125, .25, .5, 0], [.0625, .125, .25, .5]])
    m2 = torch.tensor([[0, 0, 0, 0], [-.5, 0, 0, 0], [-.25, -.5, 0, 0], [-.125, -.25, -.5, 0]])
    psu = ParallelSpikingUnit(4, "psu", tau=2.0, v_threshold=0.5)
    assert torch.equal(psu.m1, m1) and torch.equal(psu.m2, 0.5 * m2)  # PSU scales m2 by its threshold in place
    assert [name for name, _ in psu.named_parameters()] == ["alpha"] and psu.alpha.item() == 2.0
    torch.manual_seed(0)
    big = ParallelSpikingUnit(64, "rpsu", tau=2.0, v_threshold=0.5)
    assert torch.equal(big.m2, integration_matrices(64, 2.0)[1]) and torch.equal(big.bias, torch.zeros(64))
    std = math.sqrt(2.0 / 64)  # kaiming_normal_(fan_out, relu) of a Linear(T, T)
    assert abs(big.weight.std().item() - std) < 0.1 * std and abs(big.weight.mean().item()) < 0.1 * std
    assert {name for name, _ in big.named_parameters()} == {"alpha", "weight", "bias"}
    assert not any(name in dict(big.named_parameters()) for name in ("m1", "m2", "mask"))  # fixed buffers


def test_mpe_psn_equals_the_official_equations_step_by_step_with_the_same_draws():
    layer = MembraneEstimatePSN(T).double()
    with torch.no_grad():
        layer.threshold.fill_(0.8)
        layer.coef.uniform_(0.05, 0.15)

    def reference(x):  # models.py MPE_PSN on [N, T, ...]: draws in that order, then step by step
        draws = torch.bernoulli(torch.sigmoid(x.transpose(0, 1).contiguous())).transpose(0, 1)
        previous, steps = torch.zeros_like(x[0]), []
        for t in range(T):
            charge = 0.25 * previous + x[t]
            u = charge - layer.threshold
            local = (1 - u.abs()).clamp(min=0).detach()  # the triangle, alpha 1
            steps.append((u > 0).double() + u * local - (u * local).detach())
            previous = (1 - draws[t]) * x[t]
        return torch.stack(steps)

    layer.train()
    same_forward_and_backward(layer, reference, inputs(low=-1.0, high=2.0), params=[layer.threshold], seed=5)
    layer.eval()  # the official test pass draws too
    torch.manual_seed(5)
    first = layer(inputs().double())
    torch.manual_seed(6)
    assert not torch.equal(first, layer(inputs().double()))


def test_mpe_psn_membrane_loss_is_the_official_one_and_only_in_its_epochs():
    layer = MembraneEstimatePSN(T).double()
    x = inputs().detach()
    start_epoch(layer, 0, 10)
    torch.manual_seed(3)
    spikes = layer(x)
    loss = aux_loss(layer)
    torch.manual_seed(3)
    batch_first = x.transpose(0, 1)
    estimate = (1 - torch.bernoulli(torch.sigmoid(batch_first.contiguous()))) * batch_first  # [N, T, ...]
    charge = torch.cat([torch.zeros_like(estimate[:, :1]), estimate[:, :-1]], dim=1) * 0.25 + batch_first
    official = (torch.nn.functional.mse_loss(estimate, (1 - spikes.transpose(0, 1)) * charge, reduction="none")
                * (1 / T)).mean()
    torch.testing.assert_close(loss, 0.01 / 0.99 * official)
    loss.backward()
    assert layer.coef.grad.abs().sum() > 0 and layer.threshold.grad is not None
    assert aux_loss(layer) == 0.0  # read once
    start_epoch(layer, 7, 10)  # 7 >= 10 * 150 / 230: over
    layer(x)
    assert aux_loss(layer) == 0.0


def test_mpe_psn_starts_from_the_official_initialisation():
    layer = MembraneEstimatePSN(10)
    assert layer.threshold.item() == 1.0 and layer.tau == 0.25
    assert torch.allclose(layer.coef, torch.full((10,), 0.1))
    assert {name for name, _ in layer.named_parameters()} == {"threshold", "coef"}

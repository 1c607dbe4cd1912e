"""The parallel neurons that keep their reset, against the sequential neurons they parallelise (float64, inputs
that make some spikes and not only spikes). Each equivalence check is also run on a deliberately broken variant,
which it must catch."""

from __future__ import annotations

import pytest
import torch
from spikingjelly.activation_based import neuron, surrogate

from snnbench.errors import ConfigError
from snnbench.neurons.fpt_lif import FixedPointLIF, fixed_point_lif
from snnbench.neurons.sdn_lif import (
    SDNSettings, load_weights, save_weights, sdn_lif, simulate_lif, train_sdn, weights_digest,
)
from snnbench.neurons.spike_ssm import RefractoryNeuron, refractory_neuron

T = 32


def _input(seed: int, shape: tuple[int, ...] = (T, 16, 8)) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=generator, dtype=torch.float64) * 1.5 + 0.6).requires_grad_()


def _spikes_and_grad(module: torch.nn.Module, x: torch.Tensor, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    spikes = module(x)
    weights = torch.randn(spikes.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
    (grad,) = torch.autograd.grad((spikes * weights).sum(), x)
    return spikes.detach(), grad


def _sequential_lif(v_reset: float | None, detach_reset: bool, decay_input: bool) -> torch.nn.Module:
    return neuron.LIFNode(tau=2.0, decay_input=decay_input, v_threshold=1.0, v_reset=v_reset,
                          detach_reset=detach_reset, surrogate_function=surrogate.ATan(), step_mode="m")


RESETS = [(None, True, True), (None, False, False), (0.0, True, True), (0.0, False, True), (-0.3, False, False)]


@pytest.mark.parametrize("v_reset,detach_reset,decay_input", RESETS)
@pytest.mark.parametrize("k", [T - 1, T])
def test_fpt_with_k_of_t_is_spikingjelly_lif_spikes_and_gradients(k, v_reset, detach_reset, decay_input):
    """K >= T - 1: the sequential LIF's spikes exactly and its BPTT gradient (soft and hard reset, the reset
    detached or not, with and without decay_input)."""
    x = _input(0)
    reference = _spikes_and_grad(_sequential_lif(v_reset, detach_reset, decay_input), x)
    fpt = _spikes_and_grad(FixedPointLIF(k, 2.0, 1.0, v_reset, detach_reset, decay_input, surrogate.ATan()), x)
    assert 0.05 < reference[0].mean() < 0.6  # some spikes, not only spikes
    assert torch.equal(fpt[0], reference[0])
    torch.testing.assert_close(fpt[1], reference[1], rtol=1e-9, atol=1e-12)


def test_fpt_with_few_iterations_mismatch_rate_is_measured():
    """K < T: the spikes of the first K + 1 steps are exact, later ones may differ; the rate falls with K
    (the figures the README states: measured here on N(0.6, 1.5^2) input, tau 2, soft reset)."""
    x = _input(2, (T, 64, 16)).detach()
    reference = _sequential_lif(None, True, True)(x)
    rates = {}
    for k in (0, 1, 2, 3, 5, T - 1):
        spikes = FixedPointLIF(k, 2.0, 1.0, None, True, True, surrogate.ATan())(x)
        assert torch.equal(spikes[:k + 1], reference[:k + 1])  # the exact wavefront
        rates[k] = (spikes != reference).double().mean().item()
    assert rates[0] > rates[1] > rates[3] > rates[T - 1] == 0.0
    assert rates[3] < 0.01 < rates[1]  # K = 3 (the paper's default): under 1 % of spikes differ here


class _ResetOneStepLate(FixedPointLIF):
    """Broken on purpose: a spike's reset is applied two steps later instead of one."""

    def membrane(self, x_seq, spikes):
        return super().membrane(x_seq, torch.cat([torch.zeros_like(spikes[:1]), spikes[:-1]]))


def test_the_fpt_check_catches_a_broken_reset():
    x = _input(0)
    reference = _sequential_lif(None, True, True)(x)
    broken = _ResetOneStepLate(T, 2.0, 1.0, None, True, True, surrogate.ATan())(x)
    assert (broken != reference).sum() > 0


def test_fpt_settings_are_checked():
    assert fixed_point_lif(8, 1, surrogate.ATan(), k=None).k == 7  # null: T - 1, exact
    with pytest.raises(ConfigError, match="at least 0"):
        fixed_point_lif(8, 1, surrogate.ATan(), k=-1)


def _sequential_refractory(module: RefractoryNeuron, x: torch.Tensor) -> torch.Tensor:
    """SPikE-SSM's neuron step by step: the reference boundary compression must reproduce."""
    v_th = module.v_threshold.clamp(min=1e-3)
    rho = module.log_refractory.exp()
    h, r, previous, out = torch.zeros_like(x[0]), torch.zeros_like(x[0]), torch.zeros_like(x[0]), []
    for x_t in x:
        h = module.decay * h + x_t - v_th * previous
        r = module.refractory_decay * r + previous
        s = module.surrogate(h - v_th - rho * r)
        out.append(s)
        previous = s.detach()
    return torch.stack(out)


def _refractory(seed: int) -> RefractoryNeuron:
    module = refractory_neuron(T, 8, surrogate.ATan()).double()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        module.v_threshold.copy_(torch.rand(8, generator=generator, dtype=torch.float64) + 0.5)
        module.log_refractory.copy_(torch.randn(8, generator=generator, dtype=torch.float64) * 0.5)
    return module


def test_spike_ssm_boundary_compression_is_its_sequential_recurrence():
    """0 spike mismatches, and the same gradients for the input, thresholds and refractory magnitudes."""
    x = _input(4)
    weights = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    results = []
    for forward in (lambda m: m(x), lambda m: _sequential_refractory(m, x)):
        module = _refractory(3)
        spikes = forward(module)
        grads = torch.autograd.grad((spikes * weights).sum(), [x, module.v_threshold, module.log_refractory])
        results.append((spikes.detach(), grads, module.rounds))
    (parallel, parallel_grads, rounds), (sequential, sequential_grads, _) = results
    assert 0.05 < sequential.mean() < 0.6 and rounds > 1  # some spikes; the bounds needed more than one round
    assert torch.equal(parallel, sequential)
    for mine, reference in zip(parallel_grads, sequential_grads):
        torch.testing.assert_close(mine, reference, rtol=1e-9, atol=1e-11)


def test_the_spike_ssm_check_catches_stopping_before_the_bounds_meet():
    """Broken on purpose: one round of compression only (the upper bound's first correction)."""
    module, x = _refractory(3), _input(4).detach()
    with torch.no_grad():
        one_round = module.surrogate(module.margin(x, (module.margin(x, torch.zeros_like(x)) >= 0).to(x)))
        assert (one_round != _sequential_refractory(module, x)).sum() > 0


def test_spike_ssm_settings_are_checked():
    with pytest.raises(ConfigError, match="must be positive"):
        refractory_neuron(8, 1, surrogate.ATan(), refractory=0.0)


@pytest.fixture(scope="module")
def sdn_root(tmp_path_factory) -> tuple[str, SDNSettings]:
    root = tmp_path_factory.mktemp("data")
    settings = SDNSettings(samples=2048, epochs=8)
    save_weights(train_sdn(settings), settings, root)
    return str(root), settings


def _agreement(module: torch.nn.Module, decay: float, seed: int) -> tuple[float, float]:
    x = torch.randn(128, 512, generator=torch.Generator().manual_seed(seed))  # held out: another seed
    membrane, spikes = simulate_lif(x, decay, 1.0)
    predicted = module.predict(x.T).T
    return (predicted - membrane).abs().mean().item(), ((predicted + x >= 1.0).float() == spikes).float().mean().item()


def test_sdn_lif_approximates_the_sequential_lif_on_held_out_inputs(sdn_root):
    """An approximation by design, measured: membrane MAE and spike agreement with the hard-reset LIF it
    imitates (the default `snnbench prepare sdn` weights measure MAE 0.0074, agreement 0.998)."""
    root, settings = sdn_root
    module = sdn_lif(64, 1, surrogate.PiecewiseQuadratic(alpha=1.0), root=root, samples=2048, epochs=8)
    error, agreement = _agreement(module, settings.decay, seed=99)
    assert error < 0.03 and agreement > 0.99
    assert module.provenance() == {"sdn_weights": settings.file_name(),
                                   "sdn_sha256": load_weights(settings.path(root))[1]}


def test_the_sdn_check_catches_untrained_weights(tmp_path):
    settings = SDNSettings(samples=64, epochs=0)
    save_weights(train_sdn(settings), settings, tmp_path)
    module = sdn_lif(64, 1, surrogate.ATan(), root=str(tmp_path), samples=64, epochs=0)
    assert _agreement(module, settings.decay, seed=99)[1] < 0.99


def test_sdn_training_is_deterministic_and_its_gradient_reaches_the_input(sdn_root):
    root, settings = sdn_root
    again = train_sdn(settings)
    assert load_weights(settings.path(root))[1] == weights_digest(again)
    module = sdn_lif(16, 1, surrogate.PiecewiseQuadratic(alpha=1.0), root=root, samples=2048, epochs=8)
    x = torch.randn(16, 4, 1, requires_grad=True)
    module(x).sum().backward()
    assert x.grad.abs().sum() > 0 and not any(p.requires_grad for p in module.parameters())


def test_sdn_lif_without_weights_makes_them_once(tmp_path, capsys):
    """Missing weights are trained where they are looked for, once, and say so (the same as `snnbench prepare`)."""
    first = sdn_lif(16, 1, surrogate.ATan(), root=str(tmp_path), samples=128, epochs=1)
    assert "training them now" in capsys.readouterr().err
    second = sdn_lif(16, 1, surrogate.ATan(), root=str(tmp_path), samples=128, epochs=1)
    assert "training them now" not in capsys.readouterr().err
    assert first.provenance() == second.provenance()
    assert (tmp_path / "sdn" / SDNSettings(samples=128, epochs=1).file_name()).is_file()


@pytest.mark.slow
def test_prepare_sdn_then_train_records_the_weights_hash(tmp_path):
    """The documented order: `snnbench prepare sdn`, then a run with neuron=sdn_lif, whose record names the
    weights and their hash and counts SynOps."""
    from conftest import results, snnbench

    data, runs = tmp_path / "data", tmp_path / "runs"
    small = ["neuron.samples=256", "neuron.epochs=2"]
    prepared = snnbench("prepare", "sdn", f"data_root={data}", *small, runs_dir=runs)
    assert prepared.returncode == 0, prepared.stderr
    assert "spike agreement" in prepared.stdout
    trained = snnbench("train", "neuron=sdn_lif", "dataset=pixel_digits", "trainer.epochs=1", f"data_root={data}",
                       *small, runs_dir=runs)
    assert trained.returncode == 0, trained.stderr
    assert "training them now" not in trained.stderr  # the prepared weights were found
    (record,) = results(runs)
    settings = SDNSettings(samples=256, epochs=2)
    assert record["provenance"] == {"sdn_weights": settings.file_name(),
                                    "sdn_sha256": load_weights(settings.path(data))[1]}
    assert record["synops_per_sample"] > 0

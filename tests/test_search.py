"""Hyper-parameter search (``hydra/sweeper=optuna``): trials are snnbench runs, their values read back from the
study through Optuna's own API; done runs give their recorded value, failed runs are failed trials (never 0), a
trial cut off by a kill is asked again."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hydra.core.utils import JobStatus

from conftest import results, snnbench
from snnbench.errors import ConfigError
from snnbench.train.optuna_search import run_study, split_space

optuna = pytest.importorskip("optuna")

SEARCH = ["hydra/sweeper=optuna", "hydra.sweeper.n_trials=3", "optim.lr=tag(log, interval(1e-3, 1e-1))",
          "neuron=lif,psn", "trainer.epochs=1"]


def _study(runs):
    (summary,) = optuna.get_all_study_summaries(f"sqlite:///{runs / 'optuna.db'}")
    return optuna.load_study(study_name=summary.study_name, storage=f"sqlite:///{runs / 'optuna.db'}")


@pytest.mark.slow
def test_three_trials_on_digits_then_a_new_study_finds_them_done(tmp_path):
    runs = tmp_path / "runs"
    proc = snnbench("train", "-m", *SEARCH, runs_dir=runs)
    assert proc.returncode == 0, proc.stderr[-3000:]
    study = _study(runs)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    records = {(r["neuron"], *(o for o in r["overrides"] if o.startswith("optim.lr="))): r["best_test_acc"]
               for r in results(runs)}
    assert len(records) == 3
    for trial in study.trials:  # each trial's value is its run's recorded best test accuracy
        assert records[(trial.params["neuron"], f"optim.lr={trial.params['optim.lr']!r}")] == trial.value
    assert f"best value {study.best_value:.4f}" in proc.stdout + proc.stderr

    (runs / "optuna.db").unlink()  # a new study, same seed: the same parameters, whose runs are done
    again = snnbench("train", "-m", *SEARCH, runs_dir=runs)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(results(runs)) == 3 and "already done" in again.stdout + again.stderr
    assert [t.value for t in _study(runs).trials] == [t.value for t in study.trials]


def _finished(value):
    return SimpleNamespace(status=JobStatus.COMPLETED, return_value=value)


SETTINGS = SimpleNamespace(n_trials=3, objective="best_test_acc", direction="maximize", study_name="s",
                           storage=None, seed=0)


def test_failed_runs_are_failed_trials_not_zeros(tmp_path):
    outcomes = iter([_finished(None), SimpleNamespace(status=JobStatus.FAILED, return_value=None),
                     _finished({"best_test_acc": float("nan")}), _finished({"best_test_acc": 0.5})])
    study = run_study(["optim.lr=interval(0.01, 0.1)"], SETTINGS, tmp_path, 1,
                      lambda batch, first: [next(outcomes) for _ in batch])
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.FAIL] * 3  # n_trials counts failed trials: the study ends
    assert not any(t.value == 0 for t in study.trials)


def test_a_trial_cut_off_by_a_kill_is_asked_again_with_its_parameters(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    cut = optuna.create_study(study_name="s", storage=storage, direction="maximize").ask()
    lr = cut.suggest_float("optim.lr", 0.01, 0.1)  # the sweep was killed while this trial's run trained
    seen = []

    def launch(batch, first):
        seen.extend(batch)
        return [_finished({"best_test_acc": 0.9}) for _ in batch]

    study = run_study(["optim.lr=interval(0.01, 0.1)"], SETTINGS, tmp_path, 2, launch)
    assert seen[0] == [f"optim.lr={lr!r}"]
    assert [t.state for t in study.trials][:2] == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    assert len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]) == 2


@pytest.mark.parametrize("override, fix", [("optim.lr=1e-3", "needs a search space"),
                                           ("optim.lr=tag(lin, interval(0, 1))", "unknown tag"),
                                           ("optim.lr=range(0.1, 0.5, 0.1)", "integer ranges")])
def test_a_search_space_it_cannot_read_is_one_error_naming_the_fix(override, fix):
    with pytest.raises(ConfigError, match=fix):
        split_space([override])


def test_the_grammar_maps_to_optuna_distributions():
    fixed, space = split_space(["neuron=psn", "optim.lr=tag(log, interval(1e-4, 1e-1))", "neuron.k=tag(int, "
                                "interval(2, 8))", "trainer.batch_size=range(32, 129, 32)", "seed=choice(0,1)"])
    assert fixed == ["neuron=psn"]
    assert [(d.key, d.kind, d.log) for d in space] == [("optim.lr", "float", True), ("neuron.k", "int", False),
                                                       ("trainer.batch_size", "int", False),
                                                       ("seed", "categorical", False)]
    assert (space[2].low, space[2].high, space[2].step) == (32, 128, 32)


def test_a_search_without_a_space_is_refused_in_one_line_before_anything_runs(tmp_path):
    proc = snnbench("train", "-m", "hydra/sweeper=optuna", "optim.lr=1e-3", runs_dir=tmp_path / "runs")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "needs a search space" in proc.stderr and not (tmp_path / "runs").exists()

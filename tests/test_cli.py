"""The command line a new user meets first: versions, one-line errors, fast record readers, learning curves."""

from __future__ import annotations

import json
import shutil
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import snnbench
from snnbench.runs.signature import SCHEME


def test_version_names_snnbench_and_its_main_libraries(tmp_path):
    proc = snnbench("--version", runs_dir=tmp_path)
    assert proc.returncode == 0
    for name in ("snnbench 0.1.0", "torch ", "spikingjelly ", "hydra-core "):
        assert name in proc.stdout


def choices(group: str) -> str:
    return ", ".join(sorted(p.stem for p in (Path(__file__).parents[1] / "configs" / group).glob("*.yaml")))


@pytest.mark.parametrize("args,choices", [
    (["data", "check", "dataset=cifar11"], choices("dataset")),
    (["info", "neuron=nope"], choices("neuron")),
])
def test_unknown_choice_is_one_line_listing_the_choices(tmp_path, args, choices):
    proc = snnbench(*args, runs_dir=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and choices in proc.stderr


def test_info_help_is_usage(tmp_path):
    proc = snnbench("info", "--help", runs_dir=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: snnbench info")


@pytest.mark.skipif(shutil.which("srun") is not None, reason="this machine has SLURM")
def test_slurm_launcher_without_slurm_is_one_line(tmp_path):
    proc = snnbench("train", "-m", "hydra/launcher=slurm", "neuron=lif", runs_dir=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no SLURM" in proc.stderr and "hydra/launcher=submitit_local" in proc.stderr


def test_status_reads_records_without_importing_torch_or_hydra(tmp_path):
    runs = tmp_path / "runs"
    for i in range(300):
        run = runs / "seq_digits" / "lif" / f"{i:012x}" / "seed=0"
        run.mkdir(parents=True)
        (run / "result.json").write_text(json.dumps({"status": "done", "dataset": "seq_digits", "neuron": "lif",
                                                     "seed": 0, "epochs_done": 1, "epochs": 1, "best_test_acc": 0.5,
                                                     "final_test_acc": 0.5, "best_epoch": 0,
                                                     "signature_scheme": SCHEME}))
        (run / "config.yaml").write_text("neuron:\n  name: lif\n")
        (run / "metrics.jsonl").write_text('{"epoch": 0, "test_acc": 0.5}\n')
    code = ("import sys; from snnbench.cli import main; main(['status', '--runs', sys.argv[1]]); "
            "heavy = [m for m in ('torch', 'hydra', 'omegaconf', 'pandas') if m in sys.modules]; "
            "print('heavy:', heavy)")
    proc = subprocess.run([sys.executable, "-c", code, str(runs)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "300 runs: 300 done" in proc.stdout and "heavy: []" in proc.stdout


@pytest.mark.slow
def test_curves_of_runs_of_unequal_length_are_two_labelled_lines(tmp_path):
    runs = tmp_path / "runs"
    for epochs, seed in ((2, 0), (1, 1)):
        proc = snnbench("train", "neuron=lif", "dataset=seq_digits", f"trainer.epochs={epochs}", f"seed={seed}",
                        runs_dir=runs)
        assert proc.returncode == 0, proc.stderr
    from snnbench.report.plots import curve_groups
    from snnbench.report.tables import load_records

    groups = curve_groups(load_records(runs))
    assert [label for label, _ in groups] == ["lif trainer.epochs=1", "lif trainer.epochs=2"]  # T_max moves with it
    assert [len(curves.dropna()) for _, curves in groups] == [1, 2]
    proc = snnbench("plot", "curves", "--runs", str(runs), "--out", str(tmp_path / "cli"), runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cli.png").stat().st_size > 1000 and (tmp_path / "cli.pdf").stat().st_size > 1000


@pytest.mark.slow
def test_pareto_and_firing_keep_runs_of_different_configs_apart_as_table_does(tmp_path):
    runs = tmp_path / "runs"
    for epochs in (3, 30):
        proc = snnbench("train", "neuron=lif", "dataset=digits", f"trainer.epochs={epochs}", runs_dir=runs)
        assert proc.returncode == 0, proc.stderr
    from snnbench.report.plots import config_groups, title_of
    from snnbench.report.tables import load_records

    done = load_records(runs)
    labels = [label for label, runs_of in config_groups(done) for _ in [runs_of] if len(runs_of) == 1]
    assert labels == ["lif trainer.epochs=3", "lif trainer.epochs=30"]
    assert title_of(done).startswith("dataset digits; T 4")
    for kind in ("pareto", "firing"):
        proc = snnbench("plot", kind, "--runs", str(runs), runs_dir=runs)
        assert proc.returncode == 0, proc.stderr
        assert (runs / "figures" / f"{kind}.png").stat().st_size > 1000  # beside the records, not in the repo
    assert not (tmp_path / "results").exists()


def test_tied_best_cells_are_all_bold():
    from snnbench.report.tables import Cell, Table, render

    spec = {"title": "t", "metric": "best_test_acc", "rows": {"field": "neuron"}, "columns": {"field": "dataset"}}
    cells = {("lif", "d"): Cell([0.9]), ("psn", "d"): Cell([0.9]), ("if", "d"): Cell([0.8])}
    counts = {"done": 3, "failed": 0, "running": 0, "missing_cells": 0, "missing_runs": 0}
    text = render(Table(spec, ["if", "lif", "psn"], ["d"], cells, {}, counts=counts), "md")
    assert text.count("**0.90 (n=1)**") == 2 and "**0.80" not in text  # cells hold percent already


def test_runs_beside_this_one_are_counted_and_markers_of_killed_ones_cleared(tmp_path, monkeypatch):
    from snnbench.train import resources

    monkeypatch.setattr(resources, "RUNNING", tmp_path / "running")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    try:
        resources.announce_run()
        for pid in (sleeper.pid, int(dead.stdout)):
            (tmp_path / "running" / str(pid)).touch()
        assert resources.other_runs() == 1  # the live one; the dead one's marker is removed
        assert sorted(p.name for p in (tmp_path / "running").iterdir()) == sorted([str(os.getpid()), str(sleeper.pid)])
        resources.retire_run()  # this process's run ended: it no longer counts for the others
        assert not (tmp_path / "running" / str(os.getpid())).exists()
    finally:
        sleeper.kill()


@pytest.mark.slow
def test_thread_count_is_set_recorded_and_capped(tmp_path, monkeypatch):
    from snnbench.train import resources
    from snnbench.train.launch import usable_cpus
    from snnbench.train.resources import resolve_threads

    monkeypatch.setattr(resources, "busy_cores", lambda: 0.0)  # an idle machine: all its usable cores
    assert resolve_threads("auto") == usable_cpus() and resolve_threads(10_000) == usable_cpus()
    monkeypatch.setattr(resources, "busy_cores", lambda: float(usable_cpus()))  # all busy: one thread
    assert resolve_threads("auto") == 1
    assert resolve_threads("auto", jobs_per_machine=usable_cpus() * 2) == 1
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert resolve_threads("auto") == 1
    runs = tmp_path / "runs"
    proc = snnbench("train", "trainer.epochs=1", "trainer.threads=1", runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    assert "1 CPU threads" in proc.stdout + proc.stderr
    (record,) = [json.loads(p.read_text()) for p in runs.rglob("result.json")]
    assert record["threads"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["neuron", "dataset"])
def test_new_writes_a_skeleton_whose_own_test_passes(tmp_path, kind):
    folder = tmp_path / "plugins"
    proc = snnbench("new", kind, "my_thing", "--dir", str(folder), runs_dir=tmp_path / "runs")
    assert proc.returncode == 0, proc.stderr
    assert (folder / "my_thing.py").exists() and (folder / kind / "my_thing.yaml").exists()
    test = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    again = snnbench("new", kind, "my_thing", "--dir", str(folder), runs_dir=tmp_path / "runs")
    assert again.returncode == 2 and "already exist" in again.stderr


@pytest.mark.parametrize("args,expected", [
    (["epochs=5"], "unknown key 'epochs': did you mean trainer.epochs?"),
    (["+epochs=5"], "'+epochs=5' adds a key that nothing reads"),
    (["neuron=psm"], "unknown neuron 'psm': did you mean psu or psn"),
    (["neuron=lif", "neuron.k=2"], "neuron 'lif' has no setting 'k'; its settings are tau, v_threshold"),
    (["-m", "neuron=lif,psm"], "unknown neuron 'psm'"),
])
def test_override_mistakes_are_one_line_naming_the_valid_choice_and_write_nothing(tmp_path, args, expected):
    proc = snnbench("train", *args, runs_dir=tmp_path / "runs")
    assert proc.returncode == 2 and expected in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()


def test_data_check_of_missing_files_exits_non_zero_naming_prepare(tmp_path):
    proc = snnbench("data", "check", "dataset=cifar10", f"data_root={tmp_path}", runs_dir=tmp_path / "runs")
    assert proc.returncode == 1 and "MISSING" in proc.stdout
    assert "snnbench data prepare dataset=cifar10" in proc.stderr


@pytest.mark.slow
def test_load_run_gives_the_trained_network_and_show_prints_the_learned_parameters(tmp_path):
    runs = tmp_path / "runs"
    assert snnbench("train", "neuron=plif", "dataset=digits", "trainer.epochs=2", runs_dir=runs).returncode == 0
    run_dir = next(runs.rglob("result.json")).parent
    import torch

    import snnbench as package
    from snnbench.data import to_time_major
    from snnbench.experiment import build_experiment

    run = package.load_run(run_dir)
    assert run.record["status"] == "done" and run.config.neuron.name == "plif"
    trained = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(trained[k], v) for k, v in run.model.state_dict().items())
    data = build_experiment(run.config).data
    x, _ = next(iter(torch.utils.data.DataLoader(data.test, batch_size=8)))
    assert run.model(to_time_major(x, data.encoding, data.T)).shape == (4, 8, 10)
    shown = snnbench("show", str(run_dir), runs_dir=runs)
    assert shown.returncode == 0, shown.stderr
    assert "neuron layer 0" in shown.stdout and "ParametricLIFNode" in shown.stdout and "    w: " in shown.stdout
    assert f"best test acc {run.record['best_test_acc']:.4f}" in shown.stdout
    missing = snnbench("show", str(tmp_path), runs_dir=runs)
    assert missing.returncode == 2 and "not a run folder" in missing.stderr

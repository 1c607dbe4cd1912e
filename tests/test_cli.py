"""The command line a new user meets first: versions, one-line errors, fast record readers, learning curves."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import snnbench


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
                                                     "signature_scheme": 2}))
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
    assert [label for label, _ in groups] == ["lif sched.T_max=1 trainer.epochs=1", "lif sched.T_max=2 trainer.epochs=2"]
    assert [len(curves.dropna()) for _, curves in groups] == [1, 2]
    proc = snnbench("plot", "curves", "--runs", str(runs), "--out", str(tmp_path / "cli"), runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cli.png").stat().st_size > 1000 and (tmp_path / "cli.pdf").stat().st_size > 1000


@pytest.mark.slow
def test_thread_count_is_set_recorded_and_capped(tmp_path, monkeypatch):
    from snnbench.train.resources import resolve_threads, usable_cpus

    assert resolve_threads("auto") == usable_cpus() and resolve_threads(10_000) == usable_cpus()
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

"""`snnbench train` end to end, in subprocesses, on the embedded digits data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import metrics, results, snnbench

pytestmark = pytest.mark.slow  # processes and training runs: the full suite, not the fast tier

ALL_NEURONS = ",".join(sorted(p.stem for p in (Path(__file__).parents[1] / "configs" / "neuron").glob("*.yaml")))


def test_every_neuron_trains_one_epoch_and_a_rerun_trains_nothing(tmp_path):
    runs = tmp_path / "runs"
    args = ("train", "-m", f"neuron={ALL_NEURONS}", "dataset=seq_digits", "trainer.epochs=1")
    first = snnbench(*args, runs_dir=runs)
    assert first.returncode == 0, first.stderr
    records = results(runs)
    assert sorted(r["neuron"] for r in records) == sorted(ALL_NEURONS.split(","))
    assert all(r["status"] == "done" and r["epochs_done"] == 1 for r in records)
    for r in records:  # the summary is the history's: best and final test accuracy, per neuron layer firing rates
        history = metrics(Path(r["run_dir"]))
        assert r["best_test_acc"] == max(row["test_acc"] for row in history) == history[-1]["test_acc"]
        assert r["params"] > 0 and len(r["firing_rates"]) == 5
    mtimes = {p: p.stat().st_mtime_ns for p in runs.rglob("result.json")}

    again = snnbench(*args, runs_dir=runs)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already done, nothing to train") == len(records)
    assert "epoch   1/1" not in again.stdout
    assert {p: p.stat().st_mtime_ns for p in runs.rglob("result.json")} == mtimes


def test_quick_start_psn_learns_the_digits(tmp_path):
    runs = tmp_path / "runs"
    proc = snnbench("train", runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    (record,) = results(runs)
    assert (record["status"], record["neuron"], record["dataset"]) == ("done", "psn", "seq_digits")
    assert record["best_test_acc"] >= 0.90, record
    run_dir = runs / "seq_digits" / "psn" / record["signature"] / "seed=0"
    assert len(metrics(run_dir)) == record["epochs_done"] == record["epochs"]
    assert (run_dir / "config.yaml").exists() and (run_dir / "checkpoints" / "last.pt").exists()
    assert any((run_dir / "tb").iterdir())
    assert record["versions"]["spikingjelly"] and record["command"].startswith("snnbench train")
    for key in ("synops_per_sample", "macs_per_sample", "energy_uj_per_sample", "params", "peak_memory_mb",
                "model_bytes"):
        assert record[key] > 0, key
    assert len(record["firing_rates"]) == 5 and all(0 < rate < 1 for rate in record["firing_rates"])
    assert record["optimizer_groups"] == [{"parameters": record["params"], "lr": 0.1, "weight_decay": 0.0}]
    assert record["counted_samples"] == 360  # efficiency.batches=4 of eval_batch_size 256: the whole test split


@pytest.mark.parametrize("every,kill_after", [(1, 2), (3, 4)])
def test_killed_run_resumes_to_the_metrics_of_an_uninterrupted_run(tmp_path, every, kill_after):
    args = ("train", "neuron=lif", "trainer.epochs=12", "seed=5")
    clean = snnbench(*args, runs_dir=tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr
    (clean_record,) = results(tmp_path / "clean")

    runs = tmp_path / "killed"
    env = {**os.environ, "SNNBENCH_RUNS": str(runs)}
    proc = subprocess.Popen([sys.executable, "-m", "snnbench", *args, f"trainer.checkpoint_every={every}"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not any(len(p.read_text().splitlines()) >= kill_after for p in runs.rglob("metrics.jsonl")):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (interrupted,) = results(runs)
    assert interrupted["status"] == "running" and interrupted["epochs_done"] < 12

    resumed = snnbench(*args, f"trainer.checkpoint_every={every}", runs_dir=runs)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    (record,) = results(runs)
    assert record["status"] == "done"
    run_dir = f"lif/{record['signature']}/seed=5"
    assert metrics(runs / "seq_digits" / run_dir) == metrics(tmp_path / "clean" / "seq_digits" / run_dir)
    assert (record["best_test_acc"], record["final_test_acc"]) == (clean_record["best_test_acc"], clean_record["final_test_acc"])


@pytest.mark.parametrize("override,expected", [
    ("neuron=nope", ["unknown neuron 'nope'", "psn", "sliding_psn", "lif_noreset"]),
    ("dataset=nope", ["unknown dataset 'nope'", "seq_digits", "pixel_digits"]),
    ("neuron.k=16", ["k=16 exceeds T=8", "set neuron.k <= 8"]),
    ("efficiency.batches=-1", ["efficiency.batches=-1 is impossible", "0: no counting"]),
])
def test_bad_input_exits_non_zero_with_the_fix_and_writes_nothing(tmp_path, override, expected):
    runs = tmp_path / "runs"
    extra = ["neuron=masked_psn"] if override.startswith("neuron.k") else []
    proc = snnbench("train", *extra, override, runs_dir=runs)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    for text in expected:
        assert text in output, output
    assert not runs.exists() or not any(runs.rglob("result.json"))


def test_help_lists_groups_and_choices(tmp_path):
    proc = snnbench("train", "--help", runs_dir=tmp_path / "runs")
    assert proc.returncode == 0
    for text in ("neuron: ", "masked_psn", "dataset: ", "pixel_digits", "model: ", "optim: "):
        assert text in proc.stdout, proc.stdout


def test_cfg_job_prints_the_composed_config_from_any_directory(tmp_path):
    proc = snnbench("train", "neuron=sliding_psn", "neuron.k=3", "--cfg", "job", runs_dir=tmp_path / "runs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "name: sliding_psn" in proc.stdout and "k: 3" in proc.stdout


def test_unknown_command_is_an_error(tmp_path):
    proc = snnbench("trian", runs_dir=tmp_path / "runs")
    assert proc.returncode == 2 and "invalid choice: 'trian'" in proc.stderr and "train" in proc.stderr

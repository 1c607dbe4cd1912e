"""No wrong number printed, every failure recorded, every record found (issue 22): one subprocess test per defect,
each reproducing it through the real command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import results, snnbench

pytestmark = pytest.mark.slow  # processes and training runs: the full suite, not the fast tier

QUICK = ("dataset=digits", "trainer.epochs=1")
#: a table of every run: one row per neuron, one column per dataset
EVERY_RUN = "title: every run\nmetric: best_test_acc\nrows: {field: neuron}\ncolumns: {field: dataset}\n"


def table(runs: Path, *args: str) -> subprocess.CompletedProcess:
    spec = runs.parent / "every_run.yaml"
    spec.write_text(EVERY_RUN)
    return snnbench("table", str(spec), "--runs", str(runs), *args, runs_dir=runs)


def strict_json(path: Path) -> dict:
    """The file as JSON, refusing the NaN/Infinity tokens that are not JSON."""

    def refuse(token: str) -> None:
        raise ValueError(f"{path} holds the non-JSON token {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


def one_line(proc: subprocess.CompletedProcess) -> str:
    """The error a command printed, checked to be one line without a traceback."""
    text = (proc.stderr + proc.stdout).strip()
    assert "Traceback" not in text, text[-3000:]
    errors = [line for line in text.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, text[-3000:]
    return errors[0]


NAN_IN_EVAL = '''
import torch
import torch.nn as nn
from spikingjelly.activation_based import neuron


class NaNInEvaluation(nn.Module):
    """A LIF whose output is NaN in evaluation from the third epoch on (BatchNorm statistics that overflowed)."""

    def __init__(self, surrogate):
        super().__init__()
        self.lif = neuron.LIFNode(surrogate_function=surrogate, step_mode="m")
        self.epoch = 0

    def start_epoch(self, epoch, epochs):
        self.epoch = epoch

    def forward(self, x):
        out = self.lif(x)
        return out * float("nan") if not self.training and self.epoch >= 2 else out


def build(T, channels, surrogate):
    return NaNInEvaluation(surrogate)
'''


def test_1_a_nan_only_in_evaluation_ends_the_run_failed_naming_epoch_and_phase(tmp_path):
    plugins = tmp_path / "plugins"
    (plugins / "neuron").mkdir(parents=True)
    (plugins / "nan_eval.py").write_text(NAN_IN_EVAL)
    (plugins / "neuron" / "nan_eval.yaml").write_text(
        "_target_: snnbench.neurons.NeuronFactory\nname: nan_eval\nbuilder: nan_eval.build\nT: ${T}\n"
        "surrogate: ${surrogate}\n")
    runs = tmp_path / "runs"
    proc = snnbench("train", "--config-dir", str(plugins), "neuron=nan_eval", "dataset=digits", "trainer.epochs=5",
                    runs_dir=runs)
    assert proc.returncode == 1
    line = one_line(proc)
    assert "epoch 3" in line and "evaluation" in line and "test_loss" in line, line
    (record,) = results(runs)
    assert record["status"] == "failed" and record["epochs_done"] == 2
    for path in runs.rglob("*.json*"):
        if path.suffix == ".json":
            strict_json(path)
    listed = table(runs, "--metric", "final_test_acc")
    assert "1 failed" in listed.stdout and "10.00" not in listed.stdout


def test_2_a_full_disk_leaves_a_failed_record_and_the_sweep_counts_no_run_done(tiny_filesystem):
    runs = tiny_filesystem / "runs"
    big = "model.channels=128"  # about 0.8 MB a checkpoint: the second one does not fit
    single = snnbench("train", "neuron=psn", big, "trainer.epochs=3", runs_dir=runs)
    assert single.returncode == 1 and "No space left on device" in single.stdout + single.stderr
    (record,) = results(runs)
    assert record["status"] == "failed" and "No space left on device" in record["error"]
    shutil.rmtree(runs)
    sweep = snnbench("train", "-m", "neuron=lif,psn", big, "trainer.epochs=3", runs_dir=runs)
    assert sweep.returncode == 1 and "0 of 2 runs done" in sweep.stdout, sweep.stdout[-3000:]


def test_3_run_folders_behind_a_symlink_are_found_by_table_plot_and_status(tmp_path):
    runs = tmp_path / "runs"
    assert snnbench("train", *QUICK, runs_dir=runs).returncode == 0
    elsewhere = tmp_path / "other_disk"
    shutil.move(str(runs / "digits"), str(elsewhere))
    (runs / "digits").symlink_to(elsewhere, target_is_directory=True)
    status = snnbench("status", "--runs", str(runs), runs_dir=runs)
    assert "1 runs: 1 done" in status.stdout, status.stdout
    listed = table(runs)
    assert "runs: 1 done" in listed.stdout, listed.stdout
    plot = snnbench("plot", "curves", "--runs", str(runs), "--out", str(tmp_path / "curves"), runs_dir=runs)
    assert plot.returncode == 0, plot.stderr


FIXTURES = Path(__file__).parent / "fixtures"
OLD_RUN = ("dataset=digits", "model.channels=4", "model.hidden=16")


def test_4_runs_of_an_older_signature_scheme_are_shown_as_such_never_counted_and_adopted(tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(FIXTURES / "runs_scheme1", runs)
    status = snnbench("status", "--runs", str(runs), runs_dir=runs)
    assert "2 older" in status.stdout and "rerun the same command" not in status.stdout, status.stdout
    assert "under signature scheme 1" in status.stdout and "snnbench migrate" in status.stdout
    listed = table(runs)
    assert "runs: 0 done" in listed.stdout and "older signature scheme are not counted" in listed.stdout

    migrate = snnbench("migrate", "--runs", str(runs), runs_dir=runs)
    assert migrate.returncode == 0 and migrate.stdout.count("adopted") == 2, migrate.stdout + migrate.stderr
    status = snnbench("status", "--runs", str(runs), runs_dir=runs)
    assert "1 done" in status.stdout and "1 stale" in status.stdout and "older" not in status.stdout
    done = snnbench("train", *OLD_RUN, "trainer.epochs=2", runs_dir=runs)
    assert done.returncode == 0 and "already done, nothing to train" in done.stdout, done.stdout[-2000:]
    resumed = snnbench("train", *OLD_RUN, "trainer.epochs=4", "seed=1", runs_dir=runs)
    assert resumed.returncode == 0 and "after epoch 2" in resumed.stdout, resumed.stdout[-2000:]
    assert sorted(r["status"] for r in results(runs)) == ["done", "done"]
    assert "runs: 2 done" in table(runs).stdout


def training_owner(runs: Path) -> subprocess.Popen:
    """A long digits run in the background, returned once it has finished its first epoch."""
    env = {**os.environ, "SNNBENCH_RUNS": str(runs)}
    owner = subprocess.Popen([sys.executable, "-m", "snnbench", "train", "dataset=digits", "trainer.epochs=200"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(runs.rglob("metrics.jsonl")):
        assert owner.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    return owner


def test_5_deleting_the_locks_folder_does_not_let_a_second_process_train_the_run(tmp_path):
    runs = tmp_path / "runs"
    owner = training_owner(runs)
    try:
        shutil.rmtree(runs / ".locks", ignore_errors=True)  # a routine clean-up of hidden folders
        second = snnbench("train", "dataset=digits", "trainer.epochs=200", runs_dir=runs)
        assert second.returncode == 3 and "another process" in second.stderr + second.stdout
    finally:
        owner.kill()
        owner.wait()


@pytest.mark.parametrize("name", ["../../../x", "a/b", ".", ""])
def test_6_names_that_become_path_parts_are_validated(tmp_path, name):
    (tmp_path / "deep").mkdir()
    runs = tmp_path / "deep" / "runs"
    proc = snnbench("train", f"dataset.name='{name}'", *QUICK[1:], runs_dir=runs)
    assert proc.returncode == 2 and "dataset.name" in one_line(proc)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("override,fix", [
    ("trainer.batch_size=5000", "training set"),
    ("seed=-1", "seed"), ("seed=abc", "seed"), ("seed=1.5", "seed"), ("seed=4294967296", "seed"),
    ("runs_dir=~/x", "~"),
])
def test_7_bad_inputs_are_one_line_naming_the_fix(tmp_path, override, fix):
    runs = tmp_path / "runs"
    proc = snnbench("train", "dataset=digits", "trainer.epochs=1", override, runs_dir=runs)
    assert proc.returncode == 2 and fix in one_line(proc)
    assert not list(runs.rglob("result.json"))


def test_7_a_dataset_whose_target_does_not_import_is_one_line_everywhere(tmp_path):
    plugins = tmp_path / "plugins"
    (plugins / "dataset").mkdir(parents=True)
    (plugins / "dataset" / "broken.yaml").write_text(
        "# @package _global_\ndataset:\n  name: broken\n  default_T: 4\n  build:\n    _target_: no_such_module.Data\n")
    runs = tmp_path / "runs"
    for args in (["info"], ["data", "check"], ["train"]):
        proc = snnbench(*args, "--config-dir", str(plugins), "dataset=broken", runs_dir=runs)
        assert proc.returncode == 2 and "no_such_module" in one_line(proc), args
    sweep = snnbench("train", "-m", "--config-dir", str(plugins), "dataset=broken,digits", "trainer.epochs=1",
                     runs_dir=runs)
    assert sweep.returncode == 1 and "1 of 2 failed" in sweep.stdout and "no_such_module" in sweep.stdout


@pytest.mark.parametrize("kind", ["file", "read-only"])
def test_7_a_sweep_into_a_runs_dir_it_cannot_write_is_one_line(tmp_path, kind):
    target = tmp_path / "runs"
    if kind == "file":
        target.write_text("")
    else:
        target.mkdir()
        target.chmod(0o555)
        if os.access(target, os.W_OK) and os.geteuid() == 0:
            probe = subprocess.run(["touch", str(target / "probe")], capture_output=True)
            if probe.returncode == 0:  # root writes anywhere: a read-only bind is what stops it
                (target / "probe").unlink()
                pytest.skip("root can write into a 0555 folder here")
    proc = snnbench("train", "-m", "neuron=lif,psn", *QUICK, runs_dir=target)
    assert proc.returncode != 0 and "runs_dir" in one_line(proc)


MALFORMED_SPECS = {
    "not a mapping": "- a\n- b\n",
    "no rows": "title: t\nmetric: best_test_acc\ncolumns: {field: dataset}\n",
    "rows without field": "title: t\nmetric: best_test_acc\nrows: {}\ncolumns: {field: dataset}\n",
    "unknown metric": "title: t\nmetric: accuracy\nrows: {field: neuron}\ncolumns: {field: dataset}\n",
    "filters not a mapping": "title: t\nmetric: best_test_acc\nrows: {field: neuron}\ncolumns: {field: dataset}\n"
                             "filters: [1]\n",
    "values not a list": "title: t\nmetric: best_test_acc\nrows: {field: neuron, values: 3}\ncolumns: {field: dataset}\n",
    "paper file missing": "title: t\nmetric: best_test_acc\nrows: {field: neuron}\ncolumns: {field: dataset}\n"
                          "paper: {file: nope.yaml, table: x}\n",
    "not YAML": "title: [unclosed\n",
    "a field no record has": "title: t\nmetric: best_test_acc\nrows: {field: neuronz}\ncolumns: {field: dataset}\n",
    "a pattern as a value": "title: t\nmetric: best_test_acc\nrows: {field: neuron}\ncolumns: {field: dataset}\n"
                            "filters: {neuron: 'l.*'}\n",
}


@pytest.fixture(scope="module")
def one_run(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("one") / "runs"
    proc = snnbench("train", *QUICK, runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    return runs


@pytest.mark.parametrize("case", sorted(MALFORMED_SPECS))
def test_7_a_malformed_table_spec_is_one_line(tmp_path, one_run, case):
    spec = tmp_path / "spec.yaml"
    spec.write_text(MALFORMED_SPECS[case])
    proc = snnbench("table", str(spec), "--runs", str(one_run), runs_dir=one_run)
    assert proc.returncode == 2, proc.stdout
    assert str(spec) in one_line(proc) or "spec" in one_line(proc)


def copy_of(runs: Path, tmp_path: Path) -> tuple[Path, Path]:
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    return copy, next(copy.rglob("result.json")).parent


@pytest.mark.parametrize("damage", ["no best_test_acc", "string best_test_acc", "garbage config"])
def test_8_a_record_with_wrong_content_is_named_and_the_rerun_repairs_it(tmp_path, one_run, damage):
    runs, run = copy_of(one_run, tmp_path)
    record = json.loads((run / "result.json").read_text())
    if damage == "no best_test_acc":
        record.pop("best_test_acc")
    elif damage == "string best_test_acc":
        record["best_test_acc"] = "0.97"
    if damage == "garbage config":
        (run / "config.yaml").write_text(": : :\n\t- [")
    else:
        (run / "result.json").write_text(json.dumps(record))
    for proc in (snnbench("status", "--runs", str(runs), runs_dir=runs), table(runs)):
        assert proc.returncode == 0 and "Traceback" not in proc.stderr
        assert str(run) in proc.stdout + proc.stderr, proc.args
        assert "97.00" not in proc.stdout
    rerun = snnbench("train", *QUICK, runs_dir=runs)
    assert rerun.returncode == 0, rerun.stderr
    repaired = json.loads((run / "result.json").read_text())
    assert repaired["status"] == "done" and isinstance(repaired["best_test_acc"], float)
    assert "neuron" in (run / "config.yaml").read_text()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_8_damaged_metrics_are_named_by_plot(tmp_path, one_run, damage):
    runs, run = copy_of(one_run, tmp_path)
    metrics = run / "metrics.jsonl"
    metrics.write_text(metrics.read_text()[:-40] if damage == "truncated" else "\x00garbage\n")
    plot = snnbench("plot", "curves", "--runs", str(runs), "--out", str(tmp_path / "c"), runs_dir=runs)
    assert plot.returncode == 2 and str(metrics) in one_line(plot)


def test_9_table_without_a_runs_folder_is_an_error_like_status(tmp_path):
    missing = tmp_path / "nowhere"
    for args in (["table", "digits"], ["status"]):
        proc = snnbench(*args, runs_dir=missing)
        assert proc.returncode == 2 and "no runs folder" in one_line(proc), args


def test_9_status_ignores_a_sibling_backup_of_a_run_folder(tmp_path, one_run):
    runs, run = copy_of(one_run, tmp_path)
    shutil.copytree(run, run.with_name("seed=0.bak"))
    status = snnbench("status", "--runs", str(runs), runs_dir=runs)
    assert "1 runs: 1 done" in status.stdout, status.stdout


def test_9_a_stopped_owner_turns_stale_after_the_given_time(tmp_path):
    runs = tmp_path / "runs"
    owner = training_owner(runs)
    try:
        owner.send_signal(signal.SIGSTOP)
        time.sleep(3)
        status = snnbench("status", "--runs", str(runs), "--stale-after", "2", runs_dir=runs)
        assert "1 stale" in status.stdout, status.stdout
    finally:
        owner.kill()
        owner.wait()

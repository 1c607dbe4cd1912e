"""Overnight sweeps: failure isolation, one owner per run, status, parallel, SLURM (local) and torchrun."""

from __future__ import annotations

import pytest

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import metrics, results, snnbench

pytestmark = pytest.mark.slow  # processes and training runs: the full suite, not the fast tier


def test_a_failing_config_does_not_stop_the_sweep(tmp_path):
    runs = tmp_path / "runs"
    proc = snnbench("train", "-m", "neuron=lif", "optim.lr=0.1,0.05,0.02,1e38", "trainer.epochs=1", runs_dir=runs)
    assert proc.returncode == 1
    assert "1 of 4 failed" in proc.stdout and "NonFiniteError" in proc.stdout
    assert "sweep: 4 runs" in proc.stdout  # said at its start
    records = results(runs)
    assert sorted(r["status"] for r in records) == ["done", "done", "done", "failed"]
    failed = next(r for r in records if r["status"] == "failed")
    assert "train_loss is inf" in failed["error"] and "Traceback" in failed["traceback"]

    status = snnbench("status", "--runs", str(runs), "--group", "sweep", runs_dir=runs)
    assert status.returncode == 0
    assert "4 runs: 3 done, 1 failed, 0 interrupted, 0 running, 0 stale" in status.stdout and "NonFiniteError" in status.stdout


def _start(args, runs, tmp_path):
    env = {**os.environ, "SNNBENCH_RUNS": str(runs)}
    return subprocess.Popen([sys.executable, "-m", "snnbench", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_launches_of_one_config_train_it_once(tmp_path):
    runs = tmp_path / "runs"
    args = ["train", "neuron=lif", "trainer.epochs=8"]
    first, second = _start(args, runs, tmp_path), _start(args, runs, tmp_path)
    outputs = [p.communicate(timeout=300)[0] for p in (first, second)]
    trained = [out for out in outputs if "epoch   1/8" in out]
    assert len(trained) == 1, outputs
    other = 1 - outputs.index(trained[0])
    assert (first, second)[1 - other].returncode == 0, outputs
    if "already done" in outputs[other]:
        assert (first, second)[other].returncode == 0
    else:  # skipped while the other trained: it says so and exits non-zero, having trained none of it
        assert "did not train it" in outputs[other] and (first, second)[other].returncode == 3, outputs
    (record,) = results(runs)
    assert record["status"] == "done" and record["epochs_done"] == 8


def test_status_running_then_stale_and_a_dead_owners_lock_is_taken_over(tmp_path):
    runs = tmp_path / "runs"
    args = ["train", "neuron=lif", "trainer.epochs=40"]
    proc = _start(args, runs, tmp_path)
    deadline = time.monotonic() + 120
    while not any(len(p.read_text().splitlines()) >= 1 for p in runs.rglob("metrics.jsonl")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    running = snnbench("status", "--runs", str(runs), runs_dir=runs)
    assert "heartbeat" in running.stdout and "1 running" in running.stdout, running.stdout
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stale = snnbench("status", "--runs", str(runs), runs_dir=runs)
    assert "1 stale" in stale.stdout and "rerun the same command" in stale.stdout
    assert list(runs.rglob(".lock.owner.json"))  # the dead process left its owner file behind

    again = snnbench(*args, runs_dir=runs)  # the dead owner's lock was released by the system: the run resumes
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stdout and "is training it" not in again.stdout
    (record,) = results(runs)
    assert record["status"] == "done" and record["epochs_done"] == 40
    assert not list(runs.rglob(".lock.owner.json"))


def test_parallel_local_sweep(tmp_path):
    runs = tmp_path / "runs"
    proc = snnbench("train", "-m", "hydra/launcher=parallel", "neuron=lif,psn", "trainer.epochs=1", runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["neuron"] for r in results(runs) if r["status"] == "done") == ["lif", "psn"]


def test_a_default_sweep_on_cpus_runs_in_parallel_with_the_serial_metrics_and_no_warning(tmp_path):
    """Without a GPU, ``-m`` runs its jobs in parallel (one process per core, one thread each) and ends with the
    metrics of the same runs made one after another with one thread. Its workers are ended at the sweep's end: no
    semaphore of theirs may be reported leaked (tqdm's multiprocessing lock was, at the end of every such sweep)."""
    from snnbench.train.app import gpus_visible
    from snnbench.train.launch import usable_cpus

    if usable_cpus() < 2 or gpus_visible():
        pytest.skip("a -m sweep is parallel by default only on a machine of 2 or more cores without a GPU")
    sweep = ("train", "-m", "neuron=lif,psn", "trainer.epochs=2")
    parallel = snnbench(*sweep, runs_dir=tmp_path / "parallel")
    serial = snnbench(*sweep, "hydra/launcher=basic", "trainer.threads=1", runs_dir=tmp_path / "serial")
    assert parallel.returncode == 0 == serial.returncode, parallel.stderr + serial.stderr
    assert "Joblib.Parallel(n_jobs=" in parallel.stdout + parallel.stderr
    assert "leaked" not in parallel.stderr and "Warning" not in parallel.stderr, parallel.stderr
    by_neuron = {}
    for runs in (tmp_path / "parallel", tmp_path / "serial"):
        for record in results(runs):
            assert record["status"] == "done" and record["threads"] == 1
            by_neuron.setdefault(record["neuron"], []).append(metrics(Path(record["run_dir"])))
    assert sorted(by_neuron) == ["lif", "psn"]
    assert all(len(pair) == 2 and pair[0] == pair[1] for pair in by_neuron.values())


WORKERS_FORKED_FROM_THE_SERVER = """
import sys
from joblib import Parallel, delayed
from omegaconf import OmegaConf
from snnbench.train.worker_server import WorkerServer

def imported_before_the_job():
    import sys
    return all(m in sys.modules for m in ("torch", "torch._dynamo", "snnbench.train.loop"))

launcher = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"}
WorkerServer().on_multirun_start(OmegaConf.create({"hydra": {"launcher": launcher}}))
print("torch" in sys.modules, Parallel(n_jobs=2, backend="loky")(delayed(imported_before_the_job)() for _ in range(2)))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is used on Linux only")
def test_a_parallel_sweeps_workers_start_with_the_training_imports_done_and_this_process_without_them(tmp_path):
    proc = subprocess.run([sys.executable, "-c", WORKERS_FORKED_FROM_THE_SERVER], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "[True,", "True]"]


def test_submitit_local_sweep_and_slurm_preset(tmp_path):
    runs = tmp_path / "runs"
    proc = snnbench("train", "-m", "hydra/launcher=submitit_local", "neuron=lif,psn", "trainer.epochs=1", runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["neuron"] for r in results(runs) if r["status"] == "done") == ["lif", "psn"]
    preset = snnbench("train", "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "--cfg", "hydra", runs_dir=runs)
    assert preset.returncode == 0, preset.stderr
    for text in ("SlurmLauncher", "partition: gpu", "timeout_min: 1440", "max_num_timeout: 20", "array_parallelism: 16"):
        assert text in preset.stdout, text


def test_torchrun_two_processes_one_record(tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "SNNBENCH_RUNS": str(runs)}

    def torchrun(*overrides: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "snnbench",
                               "train", *overrides], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    proc = torchrun("-m", "neuron=lif,psn", "trainer.epochs=2")  # the jobs of a multirun share one process group
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = results(runs)
    assert len(records) == 2 and {r["neuron"] for r in records} == {"lif", "psn"}
    assert all(r["status"] == "done" and r["world_size"] == 2 and r["epochs_done"] == 2 for r in records)
    assert all(len(p.read_text().splitlines()) == 2 for p in runs.rglob("metrics.jsonl"))
    assert all(r["run_dir"].endswith("seed=0") for r in records)
    for _ in range(10):  # rank 0 finds it done: every rank ends, none waits, none aborts (3 of 20 rounds did)
        again = torchrun("neuron=psn", "trainer.epochs=2")
        assert again.returncode == 0 and "already done" in again.stdout + again.stderr, again.stdout + again.stderr


def test_status_by_sweep_credits_the_sweep_that_trained_a_run(tmp_path):
    runs = tmp_path / "runs"
    for _ in range(2):  # the second sweep only finds the run done
        assert snnbench("train", "-m", "neuron=lif", "trainer.epochs=1", runs_dir=runs).returncode == 0
    first = sorted((runs / "sweeps").iterdir())[0].name
    status = snnbench("status", "--runs", str(runs), "--group", "sweep", runs_dir=runs)
    assert f"sweep {first}:" in status.stdout and status.stdout.count("sweep ") == 1, status.stdout

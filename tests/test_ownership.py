"""One owner per run under races, and records that survive faults: many processes, kill -9, damaged files."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import results, snnbench
from snnbench.runs.locks import RunLock, read_owner

pytestmark = pytest.mark.slow  # processes and training runs: the full suite, not the fast tier

PROCESSES, ROUNDS = 6, 150


def _contend(lock_dir: str, barrier, owners, index: int) -> None:
    """Every round: all processes try the same lock at once; the owner holds it until all have tried."""
    for r in range(ROUNDS):
        barrier.wait()
        with RunLock(Path(lock_dir) / f"round{r}.lock") as lock:
            if lock.acquired:
                owners.put((r, index))
            barrier.wait()  # everyone has tried while the owner still holds the lock


def test_six_processes_racing_150_rounds_give_exactly_one_owner_each_round(tmp_path):
    context = mp.get_context("fork")
    barrier, owners = context.Barrier(PROCESSES), context.Queue()
    procs = [context.Process(target=_contend, args=(str(tmp_path), barrier, owners, i)) for i in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=600)
        assert proc.exitcode == 0
    per_round: dict[int, list[int]] = {}
    while not owners.empty():
        r, index = owners.get()
        per_round.setdefault(r, []).append(index)
    assert sorted(per_round) == list(range(ROUNDS))
    assert all(len(owners) == 1 for owners in per_round.values()), {r: o for r, o in per_round.items() if len(o) != 1}


HOLD = """
import sys, time
from pathlib import Path
from snnbench.runs.locks import RunLock
with RunLock(Path(sys.argv[1])) as lock:
    print("acquired" if lock.acquired else "refused", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold(lock: Path, seconds: float, env: dict[str, str] | None = None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock), str(seconds)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    return proc


def test_same_slurm_job_cannot_take_a_live_lock_and_takes_a_dead_ones_at_once(tmp_path):
    lock = tmp_path / "run.lock"
    job = {"SLURM_JOB_ID": "4242"}
    first = _hold(lock, 60, job)
    assert first.stdout.readline().strip() == "acquired"
    second = _hold(lock, 0, job)  # the same job id (a requeue that came too early): the live owner keeps the run
    assert second.stdout.readline().strip() == "refused"
    second.wait()
    assert read_owner(lock)["pid"] == first.pid
    first.send_signal(signal.SIGKILL)
    first.wait()
    start = time.monotonic()
    third = _hold(lock, 0, job)  # the requeued job after the old one died: no staleness timeout to wait for
    assert third.stdout.readline().strip() == "acquired" and time.monotonic() - start < 30
    third.wait()


def test_an_owner_that_exits_late_does_not_free_its_successors_lock(tmp_path):
    lock = tmp_path / "run.lock"
    with RunLock(lock) as first:
        assert first.acquired
    successor = _hold(lock, 30)
    assert successor.stdout.readline().strip() == "acquired"
    with RunLock(lock) as late:  # a slow owner exiting now (or a contender) cannot take or release it
        assert not late.acquired and late.owner["pid"] == successor.pid
    assert read_owner(lock)["pid"] == successor.pid
    successor.kill()
    successor.wait()


@pytest.mark.parametrize("content", ["", "{\"status\": \"do", "\x00\x01garbage", "[1, 2]"])
def test_a_damaged_record_is_reported_and_the_rest_shown_and_its_rerun_recovers(tmp_path, content):
    runs = tmp_path / "runs"
    proc = snnbench("train", "-m", "neuron=lif,psn", "trainer.epochs=2", runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    damaged = next(p for p in runs.rglob("result.json") if "/lif/" in str(p))
    damaged.write_text(content)
    status = snnbench("status", "--runs", str(runs), runs_dir=runs)
    assert status.returncode == 0 and "Traceback" not in status.stderr
    assert f"damaged (rerun its config to rewrite it): {damaged}" in status.stdout
    assert "1 runs: 1 done" in status.stdout and "1 damaged" in status.stdout
    table = snnbench("table", "digits", "--runs", str(runs), runs_dir=runs)
    assert table.returncode == 0 and str(damaged) in table.stderr and "psn" in table.stdout
    plot = snnbench("plot", "curves", "--runs", str(runs), "--out", str(tmp_path / "c"), runs_dir=runs)
    assert plot.returncode == 0, plot.stderr
    rerun = snnbench("train", "neuron=lif", "trainer.epochs=2", runs_dir=runs)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(damaged.read_text())["status"] == "done"


def test_a_corrupt_lock_owner_file_is_harmless(tmp_path):
    runs = tmp_path / "runs"
    first = snnbench("train", "trainer.epochs=1", runs_dir=runs)
    assert first.returncode == 0
    run = next(runs.rglob("result.json")).parent
    (run / "result.json").write_text(json.dumps({**json.loads((run / "result.json").read_text()), "status": "running"}))
    lock = run / ".lock"
    for junk in (b"\xff\xfe not utf-8", b"[1, 2]", b'{"pid": "not a number", "host": 3}'):
        Path(str(lock) + ".owner.json").write_bytes(junk)
        status = snnbench("status", "--runs", str(runs), runs_dir=runs)
        assert status.returncode == 0 and "1 stale" in status.stdout, status.stdout + status.stderr
    rerun = snnbench("train", "trainer.epochs=1", runs_dir=runs)
    assert rerun.returncode == 0, rerun.stderr


def _kill_after(args: list[str], runs: Path, epochs_done: int) -> None:
    env = {**os.environ, "SNNBENCH_RUNS": str(runs)}
    proc = subprocess.Popen([sys.executable, "-m", "snnbench", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not any(len(p.read_text().splitlines()) >= epochs_done for p in runs.rglob("metrics.jsonl")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage"])
def test_a_damaged_checkpoint_falls_back_to_the_previous_one(tmp_path, damage):
    args = ["train", "neuron=lif", "trainer.epochs=6", "seed=3"]
    clean = snnbench(*args, runs_dir=tmp_path / "clean")
    assert clean.returncode == 0
    runs = tmp_path / "runs"
    _kill_after(args, runs, epochs_done=3)
    last = next(runs.rglob("previous.pt")).with_name("last.pt")
    if not last.exists():  # killed between keeping previous.pt and writing the new last.pt: damage nothing more
        os.replace(last.with_name("previous.pt"), last)
    data = last.read_bytes()
    last.write_bytes({"truncate": data[: len(data) // 2], "empty": b"", "garbage": os.urandom(len(data))}[damage])
    (last.parent / ".last.pt.leftover.tmp").write_bytes(b"a write that a kill interrupted")
    resumed = snnbench(*args, runs_dir=runs)
    assert resumed.returncode == 0, resumed.stderr
    assert "cannot read the checkpoint" in resumed.stdout and "resuming from the earlier checkpoint" in resumed.stdout
    (record,) = results(runs)
    (clean_record,) = results(tmp_path / "clean")
    assert record["best_test_acc"] == clean_record["best_test_acc"] and record["epochs_done"] == 6
    assert not list(last.parent.glob(".*.tmp"))  # leftovers of interrupted writes are cleaned


def test_no_readable_checkpoint_fails_naming_the_file_and_the_fix(tmp_path):
    args = ["train", "neuron=lif", "trainer.epochs=6"]
    runs = tmp_path / "runs"
    _kill_after(args, runs, epochs_done=3)
    for checkpoint in runs.rglob("*.pt"):
        checkpoint.write_bytes(b"garbage")
    proc = snnbench(*args, runs_dir=runs)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    folder = next(runs.rglob("checkpoints"))
    assert f"Delete {folder}" in proc.stdout + proc.stderr
    (record,) = results(runs)
    assert record["status"] == "failed" and "last.pt" in record["error"]
    status = snnbench("status", "--runs", str(runs), runs_dir=runs)
    assert "1 failed" in status.stdout and "rerun the same command to resume" not in status.stdout


@pytest.mark.parametrize("override,message", [
    ("optim.lr=-1", "optim.lr=-1"), ("trainer.batch_size=0", "trainer.batch_size=0"),
    ("trainer.epochs=0", "trainer.epochs=0"), ("optim.lr=nan", "optim.lr=nan"),
])
def test_impossible_settings_are_refused_before_anything_is_written(tmp_path, override, message):
    runs = tmp_path / "runs"
    proc = snnbench("train", override, runs_dir=runs)
    assert proc.returncode == 2 and message in proc.stderr + proc.stdout
    assert not list(runs.rglob("result.json"))
    sweep = snnbench("train", "-m", override, "seed=0,1", runs_dir=runs)
    assert sweep.returncode == 1 and "2 of 2 failed" in sweep.stdout and message in sweep.stdout


def test_a_failure_after_the_run_folder_exists_leaves_a_failed_record(tmp_path):
    runs = tmp_path / "runs"
    proc = snnbench("train", "neuron=lif", "optim.lr=1e38", "trainer.epochs=1",
                    runs_dir=runs)  # the loss becomes infinite in the first epoch, after the folder was made
    (record,) = results(runs)
    assert proc.returncode != 0 and record["status"] == "failed" and record["error"]


def test_records_follow_the_umask(tmp_path):
    runs = tmp_path / "runs"
    env_umask = "import os, runpy, sys; os.umask(0o022); sys.argv = ['snnbench', 'train', 'trainer.epochs=1', " \
                f"'runs_dir={runs}']; runpy.run_module('snnbench', run_name='__main__')"
    proc = subprocess.run([sys.executable, "-c", env_umask], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for name in ("result.json", "metrics.jsonl", "config.yaml", "checkpoints/last.pt"):
        mode = (next(runs.rglob("result.json")).parent / name).stat().st_mode & 0o777
        assert mode == 0o644, (name, oct(mode))


def test_a_copied_run_folder_is_counted_once(tmp_path):
    runs = tmp_path / "runs"
    assert snnbench("train", "trainer.epochs=1", runs_dir=runs).returncode == 0
    run = next(runs.rglob("result.json")).parent
    backup = runs / "backup" / run.relative_to(runs)
    backup.parent.mkdir(parents=True)
    import shutil

    shutil.copytree(run, backup)
    table = snnbench("table", "digits", "--runs", str(runs), runs_dir=runs)
    assert "(n=1)" in table.stdout and "(n=2)" not in table.stdout


def test_ctrl_c_records_interrupted_and_exits_130(tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "SNNBENCH_RUNS": str(runs)}
    # SIG_DFL in the child: a shell's background job (nohup ... &) ignores SIGINT, and Python keeps ignoring it
    proc = subprocess.Popen([sys.executable, "-m", "snnbench", "train", "trainer.epochs=40"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not any(len(p.read_text().splitlines()) >= 1 for p in runs.rglob("metrics.jsonl")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err and "interrupted" in err
    (record,) = results(runs)
    assert record["status"] == "interrupted"
    assert snnbench("train", "trainer.epochs=40", runs_dir=runs).returncode == 0


def test_two_sweeps_in_the_same_second_each_report_their_own_failures(tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "SNNBENCH_RUNS": str(runs)}
    commands = [["-m", "neuron=lif", "optim.lr=1e38,0.1", "trainer.epochs=1"],
                ["-m", "neuron=psn", "optim.lr=0.1,0.05", "trainer.epochs=1"]]
    procs = [subprocess.Popen([sys.executable, "-m", "snnbench", "train", *c], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for c in commands]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert procs[0].returncode == 1 and "1 of 2 failed" in outputs[0], outputs[0]
    assert procs[1].returncode == 0 and "0 of 2 failed" in outputs[1], outputs[1]
    assert len(list((runs / "sweeps").iterdir())) == 2


def test_missing_runs_folder_and_a_comma_in_runs_dir_are_errors(tmp_path):
    for command in (["status"], ["table", "digits"], ["plot", "curves"]):
        proc = snnbench(*command, "--runs", str(tmp_path / "nope"), runs_dir=tmp_path)
        assert proc.returncode == 2 and "no runs folder" in proc.stderr
    proc = snnbench("train", "-m", f"runs_dir={tmp_path}/a,b", "trainer.epochs=1", runs_dir=tmp_path)
    assert proc.returncode == 2 and "comma" in proc.stderr and not (tmp_path / "a").exists()


def test_a_full_disk_is_reported_and_the_sweep_goes_on(tiny_filesystem):
    runs = tiny_filesystem / "runs"
    big = "model.channels=128"  # about 0.8 MB a checkpoint: the second one does not fit
    single = snnbench("train", "neuron=psn", big, "trainer.epochs=3", f"runs_dir={runs}", runs_dir=runs)
    assert single.returncode == 1 and "Traceback" not in single.stderr + single.stdout
    assert "No space left on device" in single.stdout + single.stderr
    sweep = snnbench("train", "-m", "neuron=lif,psn", "seed=1", big, "trainer.epochs=3", f"runs_dir={runs}",
                     runs_dir=runs)
    assert sweep.returncode == 1 and "of 2 failed" in sweep.stdout and "Traceback" not in sweep.stdout, sweep.stdout
    assert sweep.stdout.count("No space left on device") >= 1


def test_a_runs_dir_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("")
    proc = snnbench("train", "trainer.epochs=1", f"runs_dir={tmp_path / 'afile'}", runs_dir=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert "Not a directory" in proc.stdout + proc.stderr

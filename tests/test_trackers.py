"""The logger group: curves in the trackers researchers use, read back through each tool's own client; a resumed
run continues its tracker run; a tracker that fails costs one line, never the run."""

from __future__ import annotations

import csv
import json
import os
import signal
import struct
import subprocess
import sys
import time

import pytest

from conftest import results, snnbench

mlflow = pytest.importorskip("mlflow")


def _mlflow_runs(runs_dir):
    client = mlflow.MlflowClient(f"sqlite:///{runs_dir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("snnbench")
    return client, client.search_runs([experiment.experiment_id])


def _wandb_runs(runs_dir):
    """Each offline W&B run under ``runs_dir/wandb``: its id, config, history rows and summary, read from the run's
    own transaction log (``run-ID.wandb``: W&B's header, then LevelDB-log blocks of its protobuf records; wandb
    0.31 ships no Python reader, so the blocks are read here and each record parsed with W&B's own schema)."""
    from wandb.proto import wandb_internal_pb2

    found = []
    for path in sorted(runs_dir.glob("wandb/offline-run-*/run-*.wandb")):
        data = path.read_bytes()
        assert struct.unpack("<4sHB", data[:7]) == (b":W&B", 0xBEE1, 0)
        raws, chunk, pos = [], b"", 7
        while pos + 7 <= len(data):
            if 32768 - pos % 32768 < 7:  # a block's tail too short for a header is padding
                pos += 32768 - pos % 32768
                continue
            _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
            if kind == 0:
                break
            chunk, pos = chunk + data[pos + 7:pos + 7 + length], pos + 7 + length
            if kind in (1, 4):  # FULL or LAST
                raws.append(chunk)
                chunk = b""
        run = {"config": {}, "history": [], "summary": {}, "files": []}
        for raw in raws:
            record = wandb_internal_pb2.Record()
            record.ParseFromString(raw)
            kind = record.WhichOneof("record_type")
            if kind == "run":
                run["id"] = record.run.run_id
                run["config"].update({i.key: json.loads(i.value_json) for i in record.run.config.update})
            elif kind == "history":  # an item's name is in key or, split at dots, in nested_key
                run["history"].append({i.key or ".".join(i.nested_key): json.loads(i.value_json)
                                       for i in record.history.item})
            elif kind == "summary":
                run["summary"].update({i.key or ".".join(i.nested_key): json.loads(i.value_json)
                                       for i in record.summary.update})
            elif kind == "files":
                run["files"] += [f.path for f in record.files.files]
        found.append(run)
    return found


def test_mlflow_wandb_and_csv_hold_every_epoch_the_params_and_the_record(tmp_path):
    runs = tmp_path / "runs"
    proc = snnbench("train", "logger=[tensorboard,mlflow,csv,wandb]", "trainer.epochs=3", runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    (record,) = results(runs / "seq_digits")  # (runs/mlflow-artifacts holds a copy of result.json, as an artifact)
    client, found = _mlflow_runs(runs)
    assert len(found) == 1, [(r.info.run_name, r.info.status, r.data.tags) for r in found]
    (run,) = found
    assert run.info.status == "FINISHED"
    assert run.info.run_name == f"seq_digits/psn/{record['signature']}/seed=0"
    assert run.data.tags["signature"] == record["signature"] and run.data.tags["seed"] == "0"
    assert run.data.params["neuron.name"] == "psn" and run.data.params["trainer.epochs"] == "3"
    history = client.get_metric_history(run.info.run_id, "test_acc")
    assert [m.step for m in history] == [0, 1, 2]
    assert history[-1].value == pytest.approx(record["final_test_acc"])
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == ["config.yaml", "result.json"]
    run_dir = runs / "seq_digits" / "psn" / record["signature"] / "seed=0"
    with (run_dir / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [float(r["test_acc"]) for r in rows] == pytest.approx([m.value for m in history])
    assert any((run_dir / "tb").iterdir())
    (wandb_run,) = _wandb_runs(runs)  # W&B, offline: config, every epoch, the record's numbers, its files
    assert wandb_run["id"] == (run_dir / "wandb_run_id").read_text().strip()
    assert wandb_run["config"]["neuron"]["name"] == "psn" and wandb_run["config"]["trainer"]["epochs"] == 3
    assert [h["test_acc"] for h in wandb_run["history"]] == pytest.approx([m.value for m in history])
    assert [h["epoch"] for h in wandb_run["history"]] == [0, 1, 2]
    assert wandb_run["summary"]["best_test_acc"] == record["best_test_acc"]
    assert {"result.json", "snnbench_config.yaml"} <= set(wandb_run["files"])
    status = snnbench("status", runs_dir=runs)
    assert "1 done" in status.stdout, status.stdout  # the artifact copy is not a second run
    again = snnbench("train", "trainer.epochs=3", "logger=[csv]", runs_dir=runs)  # the logger is no part of a
    assert again.returncode == 0 and "already done" in again.stdout + again.stderr  # run's identity


def test_a_tracker_that_fails_costs_one_line_not_the_run(tmp_path):
    runs = tmp_path / "runs"
    proc = snnbench("train", "logger=[mlflow]", "trainer.epochs=1", "logger.mlflow.tracking_uri=http://127.0.0.1:9",
                    runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("logger mlflow")]
    assert len(warnings) == 1 and "training goes on without it" in warnings[0]
    (record,) = results(runs / "seq_digits")
    assert record["status"] == "done"


@pytest.mark.slow
def test_a_killed_run_resumes_into_the_same_mlflow_and_wandb_runs(tmp_path):
    runs = tmp_path / "runs"
    args = ("train", "neuron=lif", "trainer.epochs=8", "logger=[mlflow,wandb]")
    env = {**os.environ, "SNNBENCH_RUNS": str(runs)}
    proc = subprocess.Popen([sys.executable, "-m", "snnbench", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not any(len(p.read_text().splitlines()) >= 3 for p in runs.rglob("metrics.jsonl")):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = snnbench(*args, runs_dir=runs)
    assert resumed.returncode == 0 and "resuming" in resumed.stdout, resumed.stderr
    client, found = _mlflow_runs(runs)
    (run,) = found  # one MLflow run, continued
    assert run.info.status == "FINISHED"
    steps = sorted({m.step for m in client.get_metric_history(run.info.run_id, "test_acc")})
    assert steps == list(range(8))
    # offline W&B writes a folder per process; the killed one lost its unflushed log, the resumed one continues the
    # same W&B run and logs every epoch the W&B run lacked
    (run_dir,) = [p.parent for p in runs.rglob("wandb_run_id")]
    (resumed_wandb,) = [w for w in _wandb_runs(runs) if w["history"] and w["history"][-1]["epoch"] == 7]
    assert resumed_wandb["id"] == (run_dir / "wandb_run_id").read_text().strip()
    assert sorted({h["epoch"] for h in resumed_wandb["history"]}) == list(range(8))

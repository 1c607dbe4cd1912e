"""Shared helpers: compose the real configs, and run the real command line in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

# One intra-op thread for every run the tests start, in this process and in subprocesses: the suite then passes
# on a loaded machine (oversubscribed OpenMP threads slow training down by orders of magnitude) and metrics
# compared across processes come from the same thread count.
os.environ.setdefault("SNNBENCH_THREADS", "1")


@pytest.fixture
def compose_cfg():
    """``compose_cfg(["neuron=lif", ...])`` -> the config ``snnbench train`` would run with."""

    def _compose(overrides: list[str] | None = None) -> DictConfig:
        with initialize_config_module("snnbench.configs", version_base="1.3"):
            return compose("train", overrides=overrides or [])

    return _compose


def snnbench(*args: str, runs_dir: Path, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m snnbench <args>`` with ``SNNBENCH_RUNS=runs_dir``; capture its output."""
    env = {**os.environ, "SNNBENCH_RUNS": str(runs_dir), "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, "-m", "snnbench", *args], cwd=cwd or runs_dir.parent, env=env,
                          capture_output=True, text=True, timeout=timeout)


def results(runs_dir: Path) -> list[dict[str, Any]]:
    """Every result record under ``runs_dir``."""
    return [json.loads(p.read_text()) for p in sorted(runs_dir.rglob("result.json"))]


def metrics(run_dir: Path, keys: tuple[str, ...] = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc")) -> list[dict]:
    """The per-epoch metrics of a run, without the timing fields (which differ between runs)."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: row[k] for k in keys} for row in rows]


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A real 1 MB filesystem (tmpfs), where a second checkpoint no longer fits."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs on this machine")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)

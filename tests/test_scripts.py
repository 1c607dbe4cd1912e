"""The benchmark and check scripts run (their figures are printed, never asserted: timings are not tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # processes and training runs: the full suite, not the fast tier

REPO = Path(__file__).parents[1]


def test_gpu_check_cpu_smoke_writes_its_summary(tmp_path):
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--cpu-smoke", "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["smoke"] and set(summary["recipe"]) == {"psn", "lif"}
    assert all(rate > 0 for rate in [*summary["recipe"].values(), *summary["loader"].values(),
                                     *summary["concurrent"].values()])
    assert "48-run sequential-CIFAR table" in (tmp_path / "summary.md").read_text()
    assert list((tmp_path / "speed").rglob("speed.csv"))


def test_overhead_benchmark_prints_a_ratio():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_overhead.py"), "--cases", "quick_start",
                           "--rounds", "1", "--epochs", "1,2"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "quick_start" in proc.stdout and "ratio" in proc.stdout

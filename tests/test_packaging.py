"""The configs ship inside the wheel: a non-editable install runs from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_wheel_carries_the_configs_and_runs_from_elsewhere(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("snnbench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).relative_to("snnbench/configs").as_posix() for n in names if n.startswith("snnbench/configs/")}
    in_repo = {p.relative_to(ROOT / "configs").as_posix() for p in (ROOT / "configs").rglob("*.yaml")}
    assert in_repo and in_repo <= shipped

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "SNNBENCH_RUNS": str(tmp_path / "runs")}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([sys.executable, "-c", "import snnbench.configs as c; print(c.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site))
    proc = subprocess.run([sys.executable, "-m", "snnbench", "train", "neuron=lif", "--cfg", "job"],
                          cwd=elsewhere, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "name: lif" in proc.stdout
    for spec in ("digits", "seq_cifar"):  # the specs and the paper's numbers ship too
        proc = subprocess.run([sys.executable, "-m", "snnbench", "table", spec], cwd=elsewhere, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0 and "metric:" in proc.stdout, proc.stderr
    assert "88.45" in proc.stdout  # the paper's PSN on sequential CIFAR-10, from the packaged reference file

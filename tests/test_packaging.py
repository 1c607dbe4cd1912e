"""The configs ship inside the wheel: a non-editable install runs from any directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # processes and training runs: the full suite, not the fast tier

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """snnbench built as a wheel (what ``pip install .`` installs)."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    (built,) = dist.glob("snnbench-*.whl")
    return built


def test_wheel_carries_the_configs_and_runs_from_elsewhere(tmp_path, wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).relative_to("snnbench/configs").as_posix() for n in names if n.startswith("snnbench/configs/")}
    in_repo = {p.relative_to(ROOT / "configs").as_posix() for p in (ROOT / "configs").rglob("*.yaml")}
    assert in_repo and in_repo <= shipped

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "SNNBENCH_RUNS": str(tmp_path / "runs")}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "runs").mkdir()  # an empty runs folder: the tables show the papers' numbers and no run
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


@pytest.mark.parametrize("example", [ROOT / "examples" / "extending", Path(__file__).parent / "plugins" / "extending_0_1"],
                         ids=["today", "release_0_1"])
def test_the_extending_example_runs_from_its_own_folder_against_an_installed_wheel(tmp_path, wheel, example):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    plugins = tmp_path / "my_plugins"
    shutil.copytree(example, plugins)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "SNNBENCH_RUNS": str(work / "runs"), "SNNBENCH_DATA": str(work / "data")}

    def run(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "snnbench", *args], cwd=work, env=env, capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout + proc.stderr

    subprocess.run([sys.executable, str(plugins / "make_csv.py"), str(work / "data")], check=True, env=env)
    where = subprocess.run([sys.executable, "-c", "import snnbench; print(snnbench.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site))  # the installed wheel, not the source tree
    cd = ["--config-dir", str(plugins)]
    assert "present" in run("data", "check", *cd, "dataset=csv_static")
    for dataset, T in (("csv_static", 4), ("csv_rows", 8), ("csv_pixels", 64)):
        assert "parameters:" in run("info", *cd, "neuron=my_lif", f"dataset={dataset}")
        assert f"T: {T}" in run("info", *cd, "neuron=my_lif", f"dataset={dataset}")
    run("train", *cd, "neuron=my_lif", "dataset=csv_rows", "trainer.epochs=2")
    run("train", "-m", *cd, "neuron=my_lif", "neuron.tau=2,4,8", "dataset=csv_static", "trainer.epochs=1")
    run("train", "-m", *cd, "neuron=lif,psn", "dataset=csv_pixels", "trainer.epochs=1")
    status = run("status")
    assert "6 runs: 6 done" in status and all(f"neuron.tau={tau} " in status for tau in (2, 4, 8)), status
    table = run("table", str(plugins / "tables" / "csv.yaml"))
    for tau in (2, 4, 8):
        assert f"| my_lif neuron.tau={tau}" in table, table
    speed = run("speed", *cd, "--neurons", "lif,my_lif", "--T", "4", "--N", "256", "--repeats", "2",
                "--min-block-s", "0.01", "--budget-s", "0.2", "--device", "cpu", "--out", str(work / "speed"))
    assert "my_lif" in speed

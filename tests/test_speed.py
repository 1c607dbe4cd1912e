"""`snnbench speed` on a tiny grid: files written, ratios consistent with the raw medians."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import snnbench
from snnbench.speed import BOUND, ratio_table

pytestmark = pytest.mark.slow  # processes and training runs: the full suite, not the fast tier


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("speed")
    proc = snnbench("speed", "--neurons", "lif,psn,masked_psn,sliding_psn", "--T", "2,4", "--N", "2**8,2**10",
                    "--repeats", "3", "--min-block-s", "0.001", "--budget-s", "1", "--device", "cpu", "--out", str(out), runs_dir=out / "runs")
    assert proc.returncode == 0, proc.stderr
    (folder,) = [p for p in out.iterdir() if p.name.startswith("cpu")]
    return proc, folder


def test_writes_csv_table_figure_and_environment(tiny_run):
    proc, folder = tiny_run
    for name in ("speed.csv", "ratios.md", "ratios.png", "ratios.pdf", "environment.json"):
        assert (folder / name).stat().st_size > 0, name
    df = pd.read_csv(folder / "speed.csv")
    assert len(df) == 2 * 2 * 2 * 5  # modes x T x N x (4 neurons + bound)
    assert set(df["neuron"]) == {"lif", "psn", "masked_psn", "sliding_psn", BOUND}
    assert (df["median_s"] > 0).all() and (df["repeats"] == 3).all()
    assert "## training" in proc.stdout and "psn / bound" in proc.stdout


def test_table_ratios_are_the_ratios_of_the_csv_medians(tiny_run):
    _, folder = tiny_run
    df = pd.read_csv(folder / "speed.csv")
    text = (folder / "ratios.md").read_text()
    training = text.split("## training")[1]
    row = next(line for line in training.splitlines() if line.startswith("|   4 | 2^10"))
    header = next(line for line in training.splitlines() if "masked_psn" in line)
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")]))
    med = df[(df["mode"] == "training") & (df["T"] == 4) & (df["N"] == 1024)].set_index("neuron")["median_s"]
    assert float(cells["psn"]) == pytest.approx(med["lif"] / med["psn"], abs=0.006)
    assert float(cells["sliding_psn"]) == pytest.approx(med["lif"] / med["sliding_psn"], abs=0.006)
    assert float(cells["psn / bound"]) == pytest.approx(med["psn"] / med[BOUND], abs=0.006)
    assert ratio_table(df, "training").loc[(4, 1024), "psn"] == pytest.approx(med["lif"] / med["psn"])


def test_unknown_neuron_is_a_clear_error(tmp_path):
    proc = snnbench("speed", "--neurons", "lif,nope", runs_dir=tmp_path / "runs")
    assert proc.returncode == 2
    assert "unknown neuron 'nope'" in proc.stderr and "sliding_psn" in proc.stderr

"""`snnbench table` and `snnbench plot` on the records of real tiny runs."""

from __future__ import annotations

import json
import re
import shutil
import statistics

import pytest

from conftest import results, snnbench

pytestmark = pytest.mark.slow  # processes and training runs: the full suite, not the fast tier


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    runs = tmp_path_factory.mktemp("tables") / "runs"
    proc = snnbench("train", "-m", "neuron=lif,psn,sliding_psn", "dataset=seq_digits", "seed=0,1", "trainer.epochs=2",
                    runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    # one failed and one interrupted run of the same config: the table must not count them
    done = next(p.parent for p in runs.rglob("result.json") if "/lif/" in str(p) and p.parent.name == "seed=0")
    for seed, status in ((7, "failed"), (8, "running")):
        copy = done.with_name(f"seed={seed}")
        shutil.copytree(done, copy)
        record = json.loads((copy / "result.json").read_text()) | {"status": status, "seed": seed}
        (copy / "result.json").write_text(json.dumps(record))
    return runs


def table(runs, *args):
    runs.mkdir(parents=True, exist_ok=True)
    proc = snnbench("table", *args, "--runs", str(runs), runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_digits_table_is_mean_std_over_seeds_of_done_runs(runs):
    text = table(runs, "digits")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "neuron" not in line]
    assert [r.split("|")[1].strip() for r in rows] == ["lif", "psn", "sliding_psn"]
    for row in rows:
        neuron, cell = (c.strip().strip("*") for c in row.split("|")[1:3])
        accs = [100 * r["best_test_acc"] for r in results(runs) if r["neuron"] == neuron and r["status"] == "done"]
        assert len(accs) == 2
        assert cell == f"{statistics.mean(accs):.2f} ± {statistics.stdev(accs):.2f} (n=2)"
    assert "1 failed, 1 running" in text and "6 done" in text
    assert text.count("**") == 2  # the best of the single column is bold


def test_output_is_deterministic_and_parses(runs):
    assert table(runs, "digits") == table(runs, "digits")
    md = [line for line in table(runs, "digits").splitlines() if line.startswith("|")]
    assert len({line.count("|") for line in md}) == 1 and re.match(r"^\|[-:| ]+\|$", md[1])
    latex = table(runs, "digits", "--format", "latex")
    body = latex[latex.index("\\begin{tabular}"):]
    assert body.strip().endswith("\\end{tabular}") and "\\toprule" in body and "\\bottomrule" in body
    lines = [line for line in body.splitlines() if line.endswith("\\\\")]
    assert len({line.count("&") for line in lines}) == 1 and "$\\pm$" in body and "\\textbf{" in body
    csv = table(runs, "digits", "--format", "csv").splitlines()
    assert csv[0] == "row,column,metric,extension,mean,std,n,paper,delta" and len(csv) == 1 + 3 * 3  # + 2 extras


def test_paper_table_without_runs_is_a_skeleton_with_the_paper_column(tmp_path):
    text = table(tmp_path / "nothing", "seq_cifar", "--format", "latex")
    lines = [line for line in text.splitlines() if line.endswith("\\\\")]
    assert "seq\\_cifar10 paper" in lines[0]
    assert len(lines) == 9 and all(line.count("missing") == 2 for line in lines[1:])
    assert "88.45" in text and "Fang et al." in text and "16 cells missing" in text


def test_firing_rates_are_recorded_and_tabulated(runs):
    record = next(r for r in results(runs) if r["status"] == "done")
    assert len(record["firing_rates"]) == 5 and 0 < record["mean_firing_rate"] < 1  # seq_conv_net: 5 neuron layers
    spec = runs.parent / "rates.yaml"
    spec.write_text("title: rates\nmetric: mean_firing_rate\nfilters: {dataset: seq_digits}\n"
                    "rows: {field: neuron}\ncolumns: {field: dataset}\n")
    assert "(n=2)" in table(runs, str(spec))


def test_efficiency_metrics_are_tabulated_from_the_records(runs):
    text = table(runs, "digits", "--metric", "energy_uj_per_sample")
    assert "energy per test sample, uJ" in text and "bold: lowest per column" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "neuron" not in line]
    for row in rows:
        neuron, cell = (c.strip().strip("*") for c in row.split("|")[1:3])
        energies = [r["energy_uj_per_sample"] for r in results(runs) if r["neuron"] == neuron and r["status"] == "done"]
        assert cell == f"{statistics.mean(energies):.4f} ± {statistics.stdev(energies):.4f} (n=2)"
    header = next(line for line in table(runs, "digits").splitlines() if line.startswith("| neuron"))
    assert "seq_digits energy_uj_per_sample" in header and "seq_digits synops_per_sample" in header  # spec extras


@pytest.mark.parametrize("kind", ["curves", "firing", "order-k", "pareto"])
def test_plot_writes_images(runs, tmp_path, kind):
    proc = snnbench("plot", kind, "--runs", str(runs), "--filter", "dataset=seq_digits", "--out", str(tmp_path / kind),
                    runs_dir=runs)
    assert proc.returncode == 0, proc.stderr
    for suffix in (".png", ".pdf"):
        assert (tmp_path / kind).with_suffix(suffix).stat().st_size > 1000


def test_unknown_spec_lists_the_specs(tmp_path):
    proc = snnbench("table", "nope", runs_dir=tmp_path)
    assert proc.returncode == 2 and "seq_cifar" in proc.stderr and "order_k" in proc.stderr


def test_order_k_table_has_all_32_orders_against_the_papers_points(tmp_path):
    text = table(tmp_path / "nothing", "order_k", "--format", "csv")
    rows = text.splitlines()[1:]
    assert len(rows) == 64 and {int(r.split(",")[0]) for r in rows} == set(range(1, 33))
    with_paper = [r for r in rows if r.split(",")[-2]]
    assert len(with_paper) == 22 and any(r.startswith("32,masked_psn,") and ",60.69," in r for r in rows)


@pytest.mark.parametrize("spec,extensions", [("cifar10", ["masked_psn", "sliding_psn", "lif"]),
                                             ("cifar10dvs", ["masked_psn", "lif"])])
def test_rows_without_a_paper_run_are_labelled(tmp_path, spec, extensions):
    text = table(tmp_path / "nothing", spec)
    lines = [line for line in text.splitlines() if line.startswith("|") and "---" not in line][1:]
    labelled = [line.split("|")[1].split("(")[0].strip() for line in lines if "snnbench extension, no paper run" in line]
    assert labelled == extensions and len(lines) == len(extensions) + 1


@pytest.mark.parametrize("spec,source,cells", [
    ("xue_seq_cifar", "Xue, Fang et al., NeurIPS 2025", 16), ("xue_order_k", "Xue, Fang et al., NeurIPS 2025", 7),
    ("prf_long_sequences", "Huang et al., arXiv 2410.03530", 30), ("clif_cifar10dvs", "Huang et al., ICML 2024", 3),
])
def test_successor_tables_without_runs_show_their_papers_numbers_and_every_cell_missing(tmp_path, spec, source, cells):
    text = table(tmp_path / "nothing", spec)
    assert f"paper: the numbers reported by {source}" in text and f"{cells} cells missing" in text
    body = [line.split("|")[2:-1] for line in text.splitlines() if line.startswith("| ") and " paper" not in line]
    assert sum(cell.strip() == "missing" for row in body for cell in row) == cells


def test_order_k_draws_a_line_per_dataset_never_pooling_them(monkeypatch, tmp_path):
    import pandas as pd

    from snnbench.report import plots

    done = pd.DataFrame([{"neuron": "masked_psn", "dataset": d, "neuron.k": k, "best_test_acc": acc}
                         for d, acc in (("seq_digits", 0.9), ("pixel_digits", 0.5)) for k in (2, 4)])
    seen = {}
    monkeypatch.setattr(plots, "_save", lambda fig, out: seen.update(fig=fig) or [])  # keep the figure, write nothing
    plots.order_k(done, tmp_path / "k")
    ax = seen["fig"].axes[0]
    handles, labels = ax.get_legend_handles_labels()  # errorbar containers: their first line is the data
    ours = {label: list(handle.lines[0].get_ydata()) for handle, label in zip(handles, labels) if "ours" in label}
    assert ours == {"masked_psn (ours, pixel_digits)": [50.0, 50.0], "masked_psn (ours, seq_digits)": [90.0, 90.0]}

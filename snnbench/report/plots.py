"""``snnbench plot``: figures from run folders, readable without colour (markers, line styles, hatches).

- ``curves``: test accuracy per epoch, mean over seeds with a min-max band, one line per neuron;
- ``order-k``: best test accuracy against the order k of masked and sliding PSN, the paper's points overlaid;
- ``firing``: mean firing rate per neuron at the last evaluation;
- ``pareto``: best test accuracy against energy per test sample, one point per neuron (mean over seeds, bars:
  sample std), the accuracy/energy front drawn through the points no other beats on both.
Each writes a PNG and a PDF.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from snnbench.errors import ConfigError  # noqa: E402
from snnbench.runs.records import default_runs_dir, folder_damage, read_metrics  # noqa: E402
from snnbench.report.tables import (  # noqa: E402
    distinguishing_keys, load_records, packaged_specs, parse_filters, select, setting_text,
)

STYLES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ("-", "v"), ("--", "P"), (":", "X"), ("-.", "*")]
#: Okabe-Ito, colour-blind safe (yellow left out: unreadable on white); lines also differ in style and marker
PALETTE = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#999999"]
#: neuron families of the pareto figure: (label, Okabe-Ito colour, marker), colour-blind safe and told apart in
#: grey by their markers too
FAMILIES = {
    "charge-fire-reset": ("#0072B2", "o", {"if", "lif", "plif", "klif", "glif", "glif_soft", "clif", "lif_noreset"}),
    "PSN family": ("#D55E00", "s", {"psn", "masked_psn", "sliding_psn"}),
    "successors": ("#009E73", "^", {"cpsn", "pmsn", "prf", "prf_train", "psu", "ipsu", "rpsu", "mpe_psn"}),
    "parallel, reset kept": ("#CC79A7", "D", {"fpt_lif", "sdn_lif", "spike_ssm"}),
}
OTHER = ("your own", "#999999", "X")


def family_of(neuron: str) -> tuple[str, str, str]:
    """(family, colour, marker) of a neuron name; neurons of a plugin are 'your own'."""
    for family, (colour, marker, names) in FAMILIES.items():
        if neuron in names:
            return family, colour, marker
    return OTHER


def paper_file() -> Path:
    """The paper's numbers, shipped with snnbench (``results/paper/`` of the source tree)."""
    return packaged_specs().parents[1] / "paper" / "psn_neurips2023.yaml"


def _save(fig: plt.Figure, out: Path) -> list[Path]:
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".png"), out.with_suffix(".pdf")]
    fig.tight_layout(rect=(0, 0.06, 1, 1) if fig.legends else None)  # a figure legend sits below the axes
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return paths


def accuracy_curve(run_dir: str, epochs_done: int) -> pd.Series:
    """Test accuracy (%) per epoch (1, 2, ...) of one run; a damaged ``metrics.jsonl`` is an error naming it."""
    damage = folder_damage(Path(run_dir), {"epochs_done": int(epochs_done)})
    if damage:
        raise ConfigError(f"damaged run files, {damage}; rerun its config to rewrite them")
    rows = read_metrics(Path(run_dir))
    return pd.Series([row["test_acc"] * 100 for row in rows], index=range(1, len(rows) + 1), dtype=float)


def config_groups(done: pd.DataFrame, by: str = "neuron") -> list[tuple[str, pd.DataFrame]]:
    """(label, runs) per config, as ``snnbench table`` groups them: the runs of one signature (its seeds), labelled
    by the ``by`` value plus the config keys whose values differ among the runs of that value (``lif
    trainer.epochs=3``). Runs of different configs are never pooled into one point or line."""
    groups = []
    for (value, _), group in done.groupby([by, "signature"]):
        keys = [k for k in distinguishing_keys(done[done[by] == value]) if k != by]
        groups.append((" ".join([str(value), *(f"{k}={setting_text(group[k].iloc[0])}" for k in keys)]),
                       group))
    return sorted(groups, key=lambda item: item[0])


def curve_groups(done: pd.DataFrame, by: str = "neuron") -> list[tuple[str, pd.DataFrame]]:
    """(label, curves) per config (:func:`config_groups`): ``curves`` has one column per seed, indexed by epoch,
    NaN past a short run's end."""
    return [(label, pd.concat([accuracy_curve(p, n) for p, n in zip(group["path"], group["epochs_done"])], axis=1))
            for label, group in config_groups(done, by)]


def title_of(done: pd.DataFrame) -> str:
    """What the runs of a figure share: dataset(s), T and epochs where they are one value, and the seed count."""
    parts = [f"{name} {', '.join(map(str, sorted(done[col].dropna().unique())))}" for name, col in
             (("dataset", "dataset"), ("T", "T"), ("epochs", "epochs")) if col in done and done[col].nunique() == 1]
    if "dataset" in done and done["dataset"].nunique() > 1:
        parts.insert(0, "datasets " + ", ".join(sorted(map(str, done["dataset"].unique()))))
    return "; ".join(parts + [f"{len(done)} runs"])


def learning_curves(done: pd.DataFrame, out: Path, by: str = "neuron") -> list[Path]:
    """One line per config (see :func:`curve_groups`): the mean over its seeds with a min-max band. Runs of
    unequal length are drawn as they are: the mean at an epoch is over the runs that reached it."""
    groups = curve_groups(done, by)
    many = len(groups) > 6
    fig, ax = plt.subplots(figsize=(9 if len(groups) > 12 else 7.5, 4.5) if many else (6, 4))
    for i, (label, curves) in enumerate(groups):
        style, marker = STYLES[(i // len(PALETTE)) % len(STYLES)]  # each colour once per line style: no two alike
        color = PALETTE[i % len(PALETTE)]
        ax.plot(curves.index, curves.mean(axis=1), linestyle=style, marker=marker, markersize=4, linewidth=1.4,
                markevery=max(1, len(curves) // 8), color=color, label=f"{label} (n={curves.shape[1]})")
        ax.fill_between(curves.index, curves.min(axis=1), curves.max(axis=1), color=color, alpha=0.12, linewidth=0)
    unequal = any(curves.isna().any().any() for _, curves in groups)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title_of(done) + "\nmean over seeds, band: min to max"
                 + ("; runs of unequal length shown as they are" if unequal else ""), fontsize=9)
    ax.grid(alpha=0.3)
    if many:  # the legend beside the axes, not over the curves
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  ncol=2 if len(groups) > 12 else 1)
    else:
        ax.legend(fontsize=8, loc="lower right")
    return _save(fig, out)


def order_k(done: pd.DataFrame, out: Path) -> list[Path]:
    """Best test accuracy against the order k of masked and sliding PSN, a line per dataset; the paper's points
    (sequential CIFAR-100, its Figure 4) are labelled with their dataset, and drawn filled only beside runs of that
    dataset."""
    fig, ax = plt.subplots(figsize=(6, 4))
    paper = pd.DataFrame(yaml.safe_load(paper_file().read_text())["entries"])
    paper = paper[paper["table"] == "order_k"]
    paper_dataset = "seq_cifar100"
    same = set(done["dataset"]) == {paper_dataset}
    for i, neuron in enumerate(["masked_psn", "sliding_psn"]):
        style, marker = STYLES[i]
        color = ("#D55E00", "#0072B2")[i]  # Okabe-Ito vermillion and blue: told apart without colour vision too
        datasets = sorted(done.loc[done["neuron"] == neuron, "dataset"].unique())
        for j, dataset in enumerate(datasets):  # one line per dataset: runs of different data are never pooled
            runs = done[(done["neuron"] == neuron) & (done["dataset"] == dataset)]
            ours = runs.groupby("neuron.k")["best_test_acc"].agg(["mean", "std"]) * 100
            ax.errorbar(ours.index, ours["mean"], yerr=ours["std"].fillna(0), linestyle=STYLES[j % len(STYLES)][0],
                        marker=marker, color=color, capsize=3,
                        label=f"{neuron} (ours" + (f", {dataset})" if len(datasets) > 1 else ")"))
        ref = paper[paper["neuron"] == neuron]
        ax.plot(ref["neuron.k"], ref["value"], linestyle="none", marker=marker, markersize=8, markeredgewidth=1.5,
                markerfacecolor=color if same else "none", color=color, alpha=0.6 if same else 1.0,
                label=f"{neuron} (paper, {paper_dataset})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("order k")
    ax.set_ylabel("best test accuracy (%)")
    ax.set_title(title_of(done) + ("" if same else f"\nthe paper's points (hollow) are {paper_dataset}"), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out)


def firing_bars(done: pd.DataFrame, out: Path) -> list[Path]:
    """Mean firing rate per config (:func:`config_groups`), mean over seeds with the sample std."""
    rates = pd.DataFrame([{"label": label, "mean": runs["mean_firing_rate"].mean(),
                           "std": runs["mean_firing_rate"].std(), "n": len(runs)}
                          for label, runs in config_groups(done)]).sort_values("mean")
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(rates)), 4))
    hatches = ["//", "\\\\", "xx", "..", "--", "++", "oo", "**"]
    for i, row in enumerate(rates.itertuples()):
        ax.bar(i, row.mean, yerr=0 if pd.isna(row.std) else row.std, color="white", edgecolor="black",
               hatch=hatches[i % len(hatches)], capsize=3)
    ax.set_xticks(range(len(rates)), [f"{r.label} (n={r.n})" for r in rates.itertuples()], rotation=30, ha="right",
                  fontsize=7)
    ax.set_ylabel("mean firing rate")
    ax.set_title(title_of(done), fontsize=8)
    return _save(fig, out)


def pareto(done: pd.DataFrame, out: Path) -> list[Path]:
    """Best test accuracy against energy per test sample, one point per config (:func:`config_groups`)."""
    if "energy_uj_per_sample" not in done or done["energy_uj_per_sample"].isna().all():
        raise ConfigError("no done run records energy_uj_per_sample (runs finished before snnbench counted "
                          "operations, or with efficiency.batches=0); train them again or pick other runs")
    counted = done.dropna(subset=["energy_uj_per_sample"]).assign(acc=lambda f: f["best_test_acc"] * 100)
    points = pd.DataFrame([{"label": label, "energy": runs["energy_uj_per_sample"].mean(),
                            "energy_std": runs["energy_uj_per_sample"].std(), "acc": runs["acc"].mean(),
                            "acc_std": runs["acc"].std(), "n": len(runs)}
                           for label, runs in config_groups(counted)])
    crowded = _crowded(points)
    panels = 2 if 3 <= crowded.sum() < len(points) else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 6.2), squeeze=False)
    views = [(axes[0][0], ~crowded if panels == 2 else pd.Series(True, index=points.index))]  # (axes, labelled)
    if panels == 2:
        views.append((axes[0][1], crowded))
    shown: set[str] = set()
    for index, (ax, labelled) in enumerate(views):
        subset = points if index == 0 else points[crowded]
        texts = []
        for row, label_it in zip(subset.itertuples(), labelled[subset.index]):
            family, colour, marker = family_of(str(row.label).split(" ")[0])
            ax.errorbar(row.energy, row.acc, xerr=0 if pd.isna(row.energy_std) else row.energy_std,
                        yerr=0 if pd.isna(row.acc_std) else row.acc_std, marker=marker, markersize=6,
                        linestyle="none", color=colour, ecolor=colour, elinewidth=0.8, capsize=2, alpha=0.9,
                        label=None if family in shown else family)
            shown.add(family)
            if label_it:
                texts.append(ax.text(row.energy, row.acc, str(row.label), fontsize=7, color="0.15"))
        means = subset.sort_values(["energy", "acc"], ascending=[True, False])
        front = means[means["acc"] >= means["acc"].cummax()]  # nobody cheaper is as accurate
        ax.plot(front["energy"], front["acc"], color="0.6", linestyle=":", zorder=0,
                label="front" if index == 0 else None)
        _place_labels(ax, texts, subset[labelled[subset.index]])
        ax.set_xlabel("energy per test sample (uJ, 45 nm estimate)")
        ax.set_ylabel("best test accuracy (%, mean over seeds; bars: std)")
    if panels == 2:
        box = points[crowded]
        x0, x1 = box["energy"].min(), box["energy"].max()
        y0, y1 = box["acc"].min(), box["acc"].max()
        pad_x, pad_y = 0.08 * (x1 - x0 or 1), 0.08 * (y1 - y0 or 1)
        views[1][0].set_xlim(x0 - pad_x, x1 + pad_x)
        views[1][0].set_ylim(y0 - pad_y, y1 + pad_y)
        views[1][0].set_title("the crowded corner, enlarged", fontsize=8)
        views[0][0].add_patch(plt.Rectangle((x0 - pad_x, y0 - pad_y), x1 - x0 + 2 * pad_x, y1 - y0 + 2 * pad_y,
                                            fill=False, linestyle="--", linewidth=0.8, edgecolor="0.4"))
    fig.suptitle(title_of(counted), fontsize=8)
    handles, labels = views[0][0].get_legend_handles_labels()
    for ax, _ in views[1:]:
        more = ax.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    order = [*FAMILIES, OTHER[0], "front"]
    pairs = sorted(dict(zip(labels, handles)).items(), key=lambda pair: order.index(pair[0]))
    fig.legend([h for _, h in pairs], [lab for lab, _ in pairs], fontsize=8, loc="lower center", ncol=5,
               frameon=False)  # below the axes, over no point
    return _save(fig, out)


def _crowded(points: pd.DataFrame) -> pd.Series:
    """The points of the crowded corner: within 15 points of the best accuracy and 1.7x of the lowest energy
    (where the labels of the digits figure fell over each other)."""
    return (points["acc"] >= points["acc"].max() - 15) & (points["energy"] <= 1.7 * points["energy"].min())


def _place_labels(ax: plt.Axes, texts: list, points: pd.DataFrame) -> None:
    """Move the point labels apart (adjustText), each joined to its point by a thin line when moved."""
    from adjustText import adjust_text

    if not texts:
        return
    adjust_text(texts, x=list(points["energy"]), y=list(points["acc"]), ax=ax, expand=(1.4, 1.9),
                arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5})


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="snnbench plot", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["curves", "order-k", "firing", "pareto"])
    parser.add_argument("--runs", type=Path, default=None, help="runs folder (default: $SNNBENCH_RUNS or ./runs)")
    parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="only records whose field equals VALUE, e.g. dataset=seq_digits (repeatable)")
    parser.add_argument("--by", default="neuron", help="curves: one line per value of this field; default neuron")
    parser.add_argument("--out", type=Path, default=None,
                        help="output path without suffix (default RUNS/figures/<kind>: beside the records, not in a "
                             "tracked folder)")
    args = parser.parse_args(argv)
    runs = args.runs or default_runs_dir()
    if not runs.is_dir():
        raise ConfigError(f"no runs folder at {runs}; give --runs DIR (or set SNNBENCH_RUNS)")
    records = load_records(runs)
    done = select(records, {**parse_filters(args.filter), "status": "done"}) if len(records) else records
    if not len(done):
        raise ConfigError(f"no done runs under {runs} match {args.filter or 'the filters'}; train some first")
    out = args.out or runs / "figures" / args.kind
    paths = {"curves": lambda: learning_curves(done, out, args.by), "order-k": lambda: order_k(done, out),
             "firing": lambda: firing_bars(done, out), "pareto": lambda: pareto(done, out)}[args.kind]()
    print("wrote " + ", ".join(str(p) for p in paths))

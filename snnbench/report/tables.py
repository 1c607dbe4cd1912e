"""``snnbench table``: a paper table rebuilt from run folders, next to the paper's numbers.

A table spec (``results/tables/specs/*.yaml``) names the records (``filters`` on any result or config
field, e.g. ``dataset``, ``neuron``, ``T``, ``neuron.k``), the ``rows`` and ``columns`` fields (with optional
fixed ``values``), the ``metric`` (``best_test_acc`` is the paper's, ``final_test_acc``, ``mean_firing_rate``),
the ``seeds`` a complete table has, ``extra_columns`` (more metrics of the same runs, e.g.
``energy_uj_per_sample``) and the ``paper`` entries to compare with. Rows listed in
``extension_rows`` have no counterpart in the paper's runs: they are labelled "snnbench extension, no paper run". Runs are grouped by config
without the seed; each cell reports mean ± sample std (n) over seeds. Only ``done`` runs count.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from snnbench.errors import ConfigError
from snnbench.runs.records import default_runs_dir, read_config, read_results, scheme_of
from snnbench.runs.signature import SCHEME, differing_keys, flatten

SPECS = Path("results/tables/specs")  # a project's own specs, relative to the working folder


def packaged_specs() -> Path:
    """The specs shipped with snnbench (``results/tables/specs`` of the source tree, installed in the wheel)."""
    from importlib.resources import files

    return Path(str(files("snnbench.results"))) / "tables" / "specs"

METRIC_NAMES = {
    "best_test_acc": "best-epoch test accuracy (%)",
    "final_test_acc": "final-epoch test accuracy (%)",
    "mean_firing_rate": "mean firing rate of all neuron layers at the last evaluation",
    "synops_per_sample": "synaptic operations (spike-driven accumulates) per test sample",
    "macs_per_sample": "dense multiply-accumulates per test sample",
    "energy_uj_per_sample": "energy per test sample, uJ (45 nm: 0.9 pJ per AC, 4.6 pJ per MAC unless set otherwise)",
    "params": "parameters",
    "model_bytes": "model size, bytes (parameters and buffers)",
    "peak_memory_mb": "peak memory while training, MB (CUDA allocated, or the process's peak RSS on CPU)",
    "wall_s": "training and evaluation time, s",
    "train_s_per_epoch": "training time of an epoch, s (median over epochs after the first; threads as recorded)",
}
HIGHER_IS_BETTER = {"best_test_acc", "final_test_acc"}  # for the others, the lowest of a column is bold
MISSING = "missing"
EXTENSION = "snnbench extension, no paper run"
UNREPORTED = "not in reference"  # the paper ran it, but no number for it is in results/paper/


def load_records(runs_dir: Path) -> pd.DataFrame:
    """One row per run: its config (flattened, ``neuron.k``) overlaid by its ``result.json``, and the config alone
    again under ``config:<key>`` (what :func:`distinguishing_keys` compares).

    Damaged records are skipped and named on stderr. A run is its signature and seed, wherever its folder lies:
    a copy of a run folder elsewhere under ``runs_dir`` (a backup) is counted once (the most advanced copy). Runs
    made under an older signature scheme are left out (never counted twice) and counted in ``frame.attrs["older"]``.
    """
    records, damaged = read_results(runs_dir, anywhere=True)
    for line in damaged:
        print(f"skipping a damaged record: {line}", file=sys.stderr)
    rows, older = [], 0
    for result_path, record in records:
        config_path = result_path.with_name("config.yaml")
        config = read_config(result_path.parent) if config_path.exists() else {}
        if config is None:
            print(f"skipping a damaged config: {config_path}", file=sys.stderr)
            continue
        if scheme_of(result_path.parent, record, config or None) < SCHEME:
            older += 1
            continue
        flat = flatten(config)
        rows.append({**flat, **record, "path": str(result_path.parent), **{f"config:{k}": v for k, v in flat.items()}})
    frame = pd.DataFrame(rows)
    if len(frame) and {"signature", "seed"} <= set(frame.columns):
        rank = frame["status"].map({"done": 2, "running": 1}).fillna(0) * 1e6 + frame.get("epochs_done", 0).fillna(0)
        frame = frame.assign(_rank=rank).sort_values("_rank", ascending=False, kind="stable")
        frame = frame.drop_duplicates(["signature", "seed"]).drop(columns="_rank").sort_values("path", kind="stable")
    frame = frame.reset_index(drop=True)
    frame.attrs["older"] = older
    if older:
        print(f"leaving out {older} runs made under an older signature scheme (`snnbench status` lists them; "
              f"`snnbench migrate` adopts those whose config is the same computation)", file=sys.stderr)
    return frame


def distinguishing_keys(records: pd.DataFrame) -> list[str]:
    """The config keys (``config.yaml``, flattened: ``neuron.tau``) whose values differ between the records'
    configs, e.g. ``["neuron.tau"]`` for a sweep over ``neuron.tau=2,4,8``."""
    columns = [c for c in records.columns if c.startswith("config:")]
    configs = [{c.removeprefix("config:"): v for c, v in zip(columns, row) if not _missing(v)}
               for row in records[columns].itertuples(index=False)]
    return differing_keys(configs)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def sweep_keys(done: pd.DataFrame, row_field: str, col_field: str) -> list[str]:
    """The keys that tell apart runs sharing a table cell (a parameter sweep): their values label the rows."""
    if not len(done) or row_field not in done or col_field not in done:
        return []
    keys = {k for _, cell in done.groupby([row_field, col_field]) for k in distinguishing_keys(cell)}
    return sorted(keys - {row_field, col_field})


def select(records: pd.DataFrame, filters: dict[str, Any]) -> pd.DataFrame:
    """Records whose fields equal each filter value (or are in it, for a list)."""
    mask = pd.Series(True, index=records.index)
    for key, wanted in filters.items():
        if key not in records:
            return records.iloc[0:0]
        values = wanted if isinstance(wanted, list) else [wanted]
        mask &= records[key].isin(values)
    return records[mask]


def resolve_spec(name_or_path: str) -> Path:
    """A spec path, or a name looked up in ./results/tables/specs, then in the specs shipped with snnbench."""
    candidates = [Path(name_or_path), SPECS / f"{name_or_path}.yaml", packaged_specs() / f"{name_or_path}.yaml"]
    for path in candidates:
        if path.is_file():
            return path
    found = sorted({p.stem for folder in (SPECS, packaged_specs()) for p in folder.glob("*.yaml")})
    raise ConfigError(f"no table spec '{name_or_path}'; give a path or one of: {', '.join(found)}")


def read_spec(path: Path) -> dict[str, Any]:
    """A table spec, checked: one :class:`ConfigError` naming the file and what to fix."""

    def bad(what: str) -> ConfigError:
        return ConfigError(f"table spec {path}: {what}")

    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise bad(f"cannot be read as YAML ({type(err).__name__}: {' '.join(str(err).split())})") from None
    if not isinstance(spec, dict):
        raise bad("is not a mapping of settings (title, metric, rows, columns, ...)")
    for key in ("title", "metric", "rows", "columns"):
        if key not in spec:
            raise bad(f"has no '{key}'")
    if spec["metric"] not in METRIC_NAMES:
        raise bad(f"metric '{spec['metric']}' is unknown; choose one of: {', '.join(METRIC_NAMES)}")
    for axis in ("rows", "columns"):
        if not isinstance(spec[axis], dict) or not isinstance(spec[axis].get("field"), str):
            raise bad(f"{axis} needs a field, e.g. {axis}: {{field: neuron}}")
        if "values" in spec[axis] and not isinstance(spec[axis]["values"], list):
            raise bad(f"{axis}.values must be a list")
    if not isinstance(spec.get("filters", {}), dict):
        raise bad("filters must be a mapping of field: value (or a list of values)")
    for key in ("seeds", "extra_columns", "extension_rows"):
        if not isinstance(spec.get(key, []), list):
            raise bad(f"{key} must be a list")
    for extra in spec.get("extra_columns", []):
        if extra not in METRIC_NAMES:
            raise bad(f"extra column '{extra}' is unknown; choose from: {', '.join(METRIC_NAMES)}")
    if "paper" in spec:
        paper = spec["paper"]
        if not isinstance(paper, dict) or not {"file", "table"} <= set(paper):
            raise bad("paper needs file and table, e.g. paper: {file: ../../paper/x.yaml, table: seq_cifar}")
        if not (path.parent / str(paper["file"])).is_file():
            raise bad(f"paper file {path.parent / str(paper['file'])} does not exist")
    return spec


PATTERN_CHARACTERS = set("*?[]|^$\\")


def check_spec_against(spec: dict[str, Any], path: Path, records: pd.DataFrame, extra: dict[str, Any]) -> None:
    """Fields the records do not have, and filter values that look like patterns and match nothing, are
    mistakes of the spec (or of --filter): say so instead of printing an empty table."""
    if not len(records):
        return
    for axis in ("rows", "columns"):
        field_name = spec[axis]["field"]
        if field_name not in records:
            raise ConfigError(f"table spec {path}: {axis}.field '{field_name}' is a field of no record; use a "
                              f"result field (neuron, dataset, T, ...) or a config key (neuron.k, ...)")
    for key, wanted in {**spec.get("filters", {}), **extra}.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        for value in values:
            if isinstance(value, str) and PATTERN_CHARACTERS & set(value) and not len(select(records, {key: value})):
                raise ConfigError(f"table spec {path}: filter {key}: {value!r} looks like a pattern, but filters "
                                  f"match values exactly; list the values instead")


@dataclass
class Cell:
    values: list[float]
    configs: int = 1

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / self.n

    @property
    def std(self) -> float | None:
        return pd.Series(self.values).std(ddof=1) if self.n > 1 else None


@dataclass
class Table:
    spec: dict[str, Any]
    row_values: list[Any]
    column_values: list[Any]
    cells: dict[tuple[Any, Any], Cell]
    paper: dict[tuple[Any, Any], float]
    counts: dict[str, int] = field(default_factory=dict)
    row_base: dict[Any, Any] = field(default_factory=dict)  # row label -> the row field's value (paper, extensions)
    notes: list[str] = field(default_factory=list)

    extras: dict[tuple[Any, Any, str], Cell] = field(default_factory=dict)  # (row, column, metric) -> cell
    paper_source: str = ""  # who reported the paper columns (the reference file's ``source``)

    @property
    def percent(self) -> bool:
        return self.spec["metric"].endswith("_acc")

    def best(self, column: Any) -> set[Any]:
        """The rows with the best mean of ``column``, all of them when several tie at the printed precision."""
        present = [(self.cells[(r, column)].mean, r) for r in self.row_values if (r, column) in self.cells]
        if not present:
            return set()
        top = (max if self.spec["metric"] in HIGHER_IS_BETTER else min)(present)[0]
        return {r for mean, r in present if _number(mean, self.percent) == _number(top, self.percent)}


def check_metric(metric: str, what: str) -> None:
    if metric not in METRIC_NAMES:
        raise ConfigError(f"{what} '{metric}'; choose one of: {', '.join(METRIC_NAMES)}")


def _cell(runs: pd.DataFrame, metric: str, configs: int) -> Cell | None:
    """The metric of ``runs`` (one config's seeds) as a cell; None where no run recorded it (an older record)."""
    if metric not in runs:
        return None
    values = [float(v) for v in runs.sort_values("seed")[metric] if not _missing(v)]
    return Cell([v * (100.0 if metric.endswith("_acc") else 1.0) for v in values], configs) if values else None


def setting_text(value: Any) -> str:
    """A config value as a row label shows it: null for a missing or null setting, 3 for 3.0."""
    if _missing(value):
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def build_table(spec: dict[str, Any], records: pd.DataFrame, spec_dir: Path, extra_filters: dict[str, Any]) -> Table:
    metric = spec["metric"]
    check_metric(metric, "table metric")
    extra_metrics = [m for m in spec.get("extra_columns", []) if m != metric]
    spec = {**spec, "extra_columns": extra_metrics}
    for extra in extra_metrics:
        check_metric(extra, "extra column")
    row_field, col_field = spec["rows"]["field"], spec["columns"]["field"]
    chosen = select(records, {**spec.get("filters", {}), **extra_filters}) if len(records) else records
    status = chosen["status"].value_counts().to_dict() if len(chosen) else {}
    done = chosen[chosen["status"] == "done"] if len(chosen) else chosen

    def values(axis: dict[str, Any], name: str) -> list[Any]:
        if "values" in axis:
            return list(axis["values"])
        return sorted(done[name].dropna().unique().tolist()) if name in done else []

    bases, columns = values(spec["rows"], row_field), values(spec["columns"], col_field)
    keys = sweep_keys(done, row_field, col_field)
    if keys:  # one row per value of the swept keys, labelled by those that vary for it: "lif neuron.tau=4"
        varying = {base: [k for k in keys if group[k].map(setting_text).nunique() > 1]
                   for base, group in done.groupby(row_field)}
        done = done.assign(_row=[" ".join([str(r), *(f"{k}={setting_text(run[k])}" for k in varying[r])])
                                 for r, (_, run) in zip(done[row_field], done.iterrows())])
    else:
        done = done.assign(_row=done[row_field]) if len(done) and row_field in done else done
    rows, row_base = [], {}
    for base in bases:
        labels = sorted(set(done.loc[done[row_field] == base, "_row"])) if keys and row_field in done else []
        for label in labels or [base]:
            rows.append(label)
            row_base[label] = base
    cells: dict[tuple[Any, Any], Cell] = {}
    extras: dict[tuple[Any, Any, str], Cell] = {}
    notes: list[str] = [f"rows labelled by the swept setting(s): {', '.join(keys)}"] if keys else []
    if records.attrs.get("older"):
        notes.append(f"{records.attrs['older']} runs made under an older signature scheme are not counted "
                     f"(`snnbench migrate` adopts those whose config is the same computation)")
    if len(done) and row_field in done and col_field in done:
        for (r, c), group in done.groupby(["_row", col_field]):
            by_config = sorted(group.groupby("signature"), key=lambda item: (-len(item[1]), item[0]))
            signature, runs = by_config[0]
            cell = _cell(runs, metric, len(by_config))
            if cell is not None:
                cells[(r, c)] = cell
            for extra in extra_metrics:
                if (extra_cell := _cell(runs, extra, len(by_config))) is not None:
                    extras[(r, c, extra)] = extra_cell
            if len(by_config) > 1:
                notes.append(f"cell ({r}, {c}) holds {len(by_config)} configs; showing {signature} "
                             f"(n={len(runs)}); narrow it with --filter KEY=VALUE")

    paper: dict[tuple[Any, Any], float] = {}
    paper_source = ""
    if "paper" in spec and spec["paper"].get("metric", "best_test_acc") == metric:
        reference = yaml.safe_load((spec_dir / spec["paper"]["file"]).read_text())
        paper_source = reference["source"]
        for entry in reference["entries"]:
            if entry["table"] == spec["paper"]["table"]:
                paper[(entry[row_field], entry[col_field])] = float(entry["value"])

    missing_cells = sum((r, c) not in cells for r in rows for c in columns)
    expected = len(spec.get("seeds", [])) * len(rows) * len(columns)
    counted = sum(cell.n for key, cell in cells.items() if key[0] in rows and key[1] in columns)
    counts = {"done": int(status.get("done", 0)), "failed": int(status.get("failed", 0)),
              "running": int(status.get("running", 0)), "missing_cells": missing_cells,
              "missing_runs": max(0, expected - counted) if expected else 0}
    return Table(spec, rows, columns, cells, paper, counts=counts, notes=notes, row_base=row_base, extras=extras,
                 paper_source=paper_source)


def _number(value: float, percent: bool, scale: float | None = None) -> str:
    """Percent with 2 decimals; other metrics with 4, or as whole numbers where ``scale`` (default: the value
    itself, e.g. a mean whose std is printed) reaches 1000."""
    if percent:
        return f"{value:.2f}"
    return f"{value:,.0f}" if abs(value if scale is None else scale) >= 1000 else f"{value:.4f}"


def _cell_text(cell: Cell | None, percent: bool) -> str:
    if cell is None:
        return MISSING
    text = _number(cell.mean, percent)
    if cell.std is not None:
        text += f" ± {_number(cell.std, percent, scale=cell.mean)}"
    return text + f" (n={cell.n})"


def cell_text(table: Table, r: Any, c: Any, bold: tuple[str, str]) -> str:
    text = _cell_text(table.cells.get((r, c)), table.percent)
    return f"{bold[0]}{text}{bold[1]}" if text != MISSING and r in table.best(c) else text


def is_extension(table: Table, r: Any) -> bool:
    """True for a row the paper never ran (the spec's ``extension_rows``)."""
    return table.row_base.get(r, r) in table.spec.get("extension_rows", [])


def paper_value(table: Table, r: Any, c: Any) -> float | None:
    return table.paper.get((table.row_base.get(r, r), c))


def to_frame(table: Table, bold: tuple[str, str] = ("", "")) -> pd.DataFrame:
    """The table as text cells: per column ours, and where the spec has them, the paper's and the difference."""
    out = []
    for r in table.row_values:
        label = f"{r} ({EXTENSION})" if is_extension(table, r) else str(r)
        row: dict[str, str] = {table.spec["rows"]["field"]: label}
        for c in table.column_values:
            row[str(c)] = cell_text(table, r, c, bold)
            if table.paper:
                ref = paper_value(table, r, c)
                row[f"{c} paper"] = (EXTENSION if is_extension(table, r) else UNREPORTED) if ref is None \
                    else _number(ref, True)
                cell = table.cells.get((r, c))
                row[f"{c} Δ"] = "" if ref is None or cell is None else f"{cell.mean - ref:+.2f}"
            for extra in table.spec.get("extra_columns", []):
                row[f"{c} {extra}"] = _cell_text(table.extras.get((r, c, extra)), extra.endswith("_acc"))
        out.append(row)
    return pd.DataFrame(out)


def header_lines(table: Table) -> list[str]:
    c = table.counts
    lines = [table.spec["title"],
             f"metric: {METRIC_NAMES[table.spec['metric']]}, mean ± sample std over seeds (n runs); "
             + ("bold: best per column" if table.spec["metric"] in HIGHER_IS_BETTER else "bold: lowest per column")
             + " (ties all bold)"]
    if table.paper:
        lines.append(f"paper: the numbers reported by {table.paper_source} (best-epoch test accuracy, %); "
                     "Δ = ours - paper")
    lines.append(f"runs: {c['done']} done, {c['failed']} failed, {c['running']} running (only done runs count); "
                 f"{c['missing_cells']} cells missing" + (f", {c['missing_runs']} seed runs missing" if c["missing_runs"] else ""))
    return lines + table.notes


def to_latex(table: Table) -> str:
    frame = to_frame(table, bold=("\\textbf{", "}"))
    escape = lambda text: str(text).replace("_", "\\_").replace("±", "$\\pm$").replace("Δ", "$\\Delta$")  # noqa: E731
    lines = [f"% {line}" for line in header_lines(table)]
    lines += [f"\\begin{{tabular}}{{l{'r' * (len(frame.columns) - 1)}}}", "\\toprule",
              " & ".join(escape(c) for c in frame.columns) + " \\\\", "\\midrule"]
    lines += [" & ".join(escape(v) for v in row) + " \\\\" for row in frame.itertuples(index=False)]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    rows = []
    for r in table.row_values:
        for c in table.column_values:
            cell = table.cells.get((r, c))
            ref = paper_value(table, r, c)
            rows.append({"row": r, "column": c, "metric": table.spec["metric"], "extension": is_extension(table, r),
                         "mean": None if cell is None else cell.mean, "std": None if cell is None else cell.std,
                         "n": 0 if cell is None else cell.n, "paper": ref,
                         "delta": None if cell is None or ref is None else cell.mean - ref})
            for extra in table.spec.get("extra_columns", []):
                cell = table.extras.get((r, c, extra))
                rows.append({"row": r, "column": c, "metric": extra, "extension": is_extension(table, r),
                             "mean": None if cell is None else cell.mean, "std": None if cell is None else cell.std,
                             "n": 0 if cell is None else cell.n, "paper": None, "delta": None})
    return pd.DataFrame(rows).to_csv(index=False)


def render(table: Table, fmt: str) -> str:
    if fmt == "latex":
        return to_latex(table)
    if fmt == "csv":
        return to_csv(table)
    body = to_frame(table, bold=("**", "**")).to_markdown(index=False, disable_numparse=True)
    return "\n\n".join(header_lines(table)) + "\n\n" + body + "\n"


def parse_filters(items: list[str]) -> dict[str, Any]:
    filters = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--filter {item!r}: write KEY=VALUE, e.g. trainer.epochs=2")
        filters[key] = yaml.safe_load(value)
    return filters


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="snnbench table", description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="a spec file, or a name in results/tables/specs (seq_cifar, order_k, digits, ...)")
    parser.add_argument("--runs", type=Path, default=None, help="runs folder (default: $SNNBENCH_RUNS or ./runs)")
    parser.add_argument("--format", choices=["md", "latex", "csv"], default="md")
    parser.add_argument("--metric", default=None, choices=list(METRIC_NAMES),
                        help="tabulate this metric instead of the spec's (the paper columns show only for its own)")
    parser.add_argument("--out", type=Path, default=None, help="write here instead of printing")
    parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="extra filter on a result or config field, e.g. trainer.epochs=2 (repeatable)")
    args = parser.parse_args(argv)
    runs = args.runs or default_runs_dir()
    if not runs.is_dir():
        raise ConfigError(f"no runs folder at {runs}; give --runs DIR (or set SNNBENCH_RUNS)")
    spec_path = resolve_spec(args.spec)
    spec = read_spec(spec_path)
    if args.metric:
        spec["metric"] = args.metric
    records = load_records(runs)
    check_spec_against(spec, spec_path, records, parse_filters(args.filter))
    table = build_table(spec, records, spec_path.parent, parse_filters(args.filter))
    text = render(table, args.format)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")

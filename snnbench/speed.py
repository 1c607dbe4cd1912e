"""``snnbench speed``: simulation time of PSN-family and charge-fire-reset neurons, side by side.

Every neuron comes from the trainer's own factory and runs on ``x`` of shape ``[T, N]`` (N = neurons x batch).
For each (neuron, T, N) it times inference (no grad) and training (forward + backward), with warm-up,
several repeats of a block of calls, and the median and spread of the per-call time; ``torch.utils.benchmark``
synchronises CUDA around every block. As a bound, the PSN formula is also timed as bare tensor operations:
``addmm`` + threshold forward and its hand-written backward (surrogate derivative and two GEMMs), so the
output shows how far the library neuron is from the limit of its own formula.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import platform
import re
import statistics
from importlib.metadata import version
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from omegaconf import DictConfig
from spikingjelly.activation_based import functional
from torch.utils import benchmark
from tqdm import tqdm

from snnbench.errors import ConfigError

BASELINE = "lif"
BOUND = "psn_bound"
DEFAULT_NEURONS = ["if", "lif", "plif", "psn", "masked_psn", "sliding_psn"]
FPT = "fpt_lif"
FULL_T = [2, 4, 8, 16, 32, 64]
FULL_N = [2**e for e in range(8, 21)]
CPU_N = [2**e for e in (8, 12, 16, 20)]
ATAN_ALPHA = 2.0


@functools.lru_cache(maxsize=None)
def _neuron_config(name: str, T: int, k: int, config_dirs: tuple[str, ...]) -> DictConfig:
    """``snnbench train neuron=NAME T=T``'s neuron config, composed once per (name, T, k, config folders)."""
    from snnbench.config import compose

    cfg = compose([*(arg for d in config_dirs for arg in ("--config-dir", d)), f"neuron={name}", f"T={T}"])
    if "k" in cfg.neuron and name != FPT:  # the PSN family's order; FPT's k is its iteration count
        cfg.neuron.k = min(k, T)
    return cfg.neuron


def fpt_labels(neurons: list[str], iterations: list[str]) -> list[str]:
    """``fpt_lif`` becomes one column per FPT iteration count: ``fpt_lif[K=1]``, ``fpt_lif[K=T]`` (T: T - 1
    iterations, exact at every step), ...; the other names stay."""
    return [label for name in neurons
            for label in ([f"{FPT}[K={k}]" for k in iterations] if name == FPT else [name])]


def build_neuron(name: str, T: int, k: int, device: torch.device,
                 config_dirs: tuple[str, ...] = ()) -> torch.nn.Module:
    """A neuron exactly as ``snnbench train neuron=NAME`` builds it (its YAML, its surrogate), at T steps; an order
    ``k`` setting becomes min(k, T); per-epoch schedules as in a one-epoch run (the masked PSN fully masked).
    ``fpt_lif[K=3]`` is FPT with 3 fixed-point iterations (``K=T``: T - 1, exact)."""
    from snnbench.experiment import instantiate_checked
    from snnbench.neurons.contract import start_epoch

    base, _, iterations = name.partition("[K=")
    config = _neuron_config(base, T, k, config_dirs)
    if iterations:
        config = config.copy()
        iterations = iterations.rstrip("]")
        config.k = T - 1 if iterations == "T" else min(int(iterations), T - 1)
    module = instantiate_checked(config)(channels=1)
    start_epoch(module, 0, 1)
    return module.to(device)


def psn_bound(T: int, N: int, device: torch.device, train: bool) -> Callable[[], None]:
    """The PSN formula as bare tensor ops: S = Θ(W X + b); backward through the arctan surrogate by hand."""
    weight, bias = torch.randn(T, T, device=device), torch.full((T, 1), -1.0, device=device)
    x, grad_s = torch.randn(T, N, device=device), torch.ones(T, N, device=device)

    def forward() -> torch.Tensor:
        h = torch.addmm(bias, weight, x)
        (h >= 0).to(x.dtype)
        return h

    def forward_backward() -> None:
        h = forward()
        grad_h = grad_s * (ATAN_ALPHA / 2) / (1 + (math.pi / 2 * ATAN_ALPHA * h) ** 2)
        grad_h @ x.T, weight.T @ grad_h, grad_h.sum(1)  # dW, dX, db

    return forward_backward if train else forward


def neuron_call(module: torch.nn.Module, T: int, N: int, device: torch.device, train: bool) -> Callable[[], None]:
    """N neurons of one channel each, ``[T, N, 1]``: the layout every neuron takes (per-channel ones too)."""
    x = torch.randn(T, N, 1, device=device, requires_grad=train)
    grad = torch.ones(T, N, 1, device=device)

    def infer() -> None:
        with torch.no_grad():
            module(x)
        functional.reset_net(module)

    def forward_backward() -> None:
        module(x).backward(grad)
        functional.reset_net(module)
        x.grad = None
        module.zero_grad(set_to_none=True)

    return forward_backward if train else infer


def time_call(fn: Callable[[], None], repeats: int, min_block_s: float, budget_s: float) -> list[float]:
    """Per-call seconds of timed blocks, each long enough (``min_block_s``) to time reliably: ``repeats``
    blocks, or as many as fit in ``budget_s`` but never fewer than 3."""
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    single = timer.timeit(2).median  # warm-up, and a first estimate
    number = max(1, math.ceil(min_block_s / max(single, 1e-9)))
    blocks = max(3, min(repeats, int(budget_s / (number * single))))
    return [timer.timeit(number).median for _ in range(blocks)]


def measure(neurons: list[str], Ts: list[int], Ns: list[int], device: torch.device, k: int,
            repeats: int, min_block_s: float, budget_s: float, config_dirs: tuple[str, ...] = ()) -> pd.DataFrame:
    rows = []
    grid = [(mode, T, N, name) for mode in ("inference", "training") for T in Ts for N in Ns
            for name in [*neurons, BOUND]]
    for mode, T, N, name in tqdm(grid, desc="speed", dynamic_ncols=True):
        train = mode == "training"
        fn = psn_bound(T, N, device, train) if name == BOUND else neuron_call(
            build_neuron(name, T, k, device, config_dirs), T, N, device, train)
        times = time_call(fn, repeats, min_block_s, budget_s)
        q1, _, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else (times[0],) * 3
        rows.append({"mode": mode, "neuron": name, "T": T, "N": N, "median_s": statistics.median(times),
                     "iqr_s": q3 - q1, "min_s": min(times), "max_s": max(times), "repeats": len(times)})
    return pd.DataFrame(rows)


def ratio_table(df: pd.DataFrame, mode: str) -> pd.DataFrame:
    """t_LIF / t_X per (T, N) for every neuron X, and t_PSN / t_bound (how far PSN is from its formula)."""
    wide = df[df["mode"] == mode].pivot_table(index=["T", "N"], columns="neuron", values="median_s")
    ratios = wide.rdiv(wide[BASELINE], axis=0).drop(columns=[BASELINE])
    if "psn" in wide:
        ratios["psn / bound"] = wide["psn"] / wide[BOUND]
    return ratios.drop(columns=[BOUND])


def device_slug(device: torch.device) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu-{platform.machine()}-{torch.get_num_threads()}threads"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def environment(device: torch.device) -> dict[str, object]:
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(), "platform": platform.platform(), "python": platform.python_version(),
        **{name: version(name) for name in ("torch", "spikingjelly", "snnbench")},
    }


def plot_ratios(df: pd.DataFrame, neurons: list[str], path: Path) -> None:
    """Paper-style figure: t_LIF / t_X against N, one curve per T; a row per mode, a column per neuron."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [n for n in neurons if n != BASELINE]
    fig, axes = plt.subplots(2, len(shown), figsize=(3.2 * len(shown), 6), squeeze=False, sharex=True)
    markers = "os^vD<>p"
    for row, mode in enumerate(("inference", "training")):
        ratios = ratio_table(df, mode)
        for col, name in enumerate(shown):
            ax = axes[row][col]
            for i, (T, group) in enumerate(ratios[name].groupby(level="T")):
                ax.plot(group.index.get_level_values("N"), group.values, marker=markers[i % len(markers)],
                        color=str(0.75 * i / max(1, len(ratios.index.unique('T')) - 1)), label=f"T={T}")
            ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
            ax.set_xscale("log", base=2)
            ax.set_title(f"{name}, {mode}", fontsize=9)
            ax.set_xlabel("N")
        axes[row][0].set_ylabel(f"t_{BASELINE} / t_neuron")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    for suffix in (".png", ".pdf"):
        fig.savefig(path.with_suffix(suffix), dpi=120)
    plt.close(fig)


def _int_list(text: str) -> list[int]:
    """``"256,2**12"`` -> [256, 4096]."""
    values = []
    for item in text.split(","):
        base, _, exponent = item.strip().partition("**")
        values.append(int(base) ** int(exponent) if exponent else int(base))
    return values


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="snnbench speed",
        description="Time PSN-family and charge-fire-reset neurons (inference and training) over a grid of "
                    "T and N = neurons x batch, and write t_LIF / t_X ratio tables, a CSV and a figure.",
        epilog="Default grid: T in 2..64 and N in 2^8, 2^12, 2^16, 2^20 on CPU; --full (the default on CUDA) "
               "takes every power of two from 2^8 to 2^20.",
    )
    parser.add_argument("--neurons", default=",".join(DEFAULT_NEURONS),
                        help=f"comma-separated neuron names (must include {BASELINE}); default %(default)s")
    parser.add_argument("--T", default=",".join(map(str, FULL_T)), help="time steps; default %(default)s")
    parser.add_argument("--N", default=None, help="neuron counts, e.g. 256,2**12; overrides the grid")
    parser.add_argument("--full", action="store_true", help="N = every power of two from 2^8 to 2^20")
    parser.add_argument("--k", type=int, default=2, help="order of masked and sliding PSN (capped at T); default 2")
    parser.add_argument("--fpt-k", default="1,3,T",
                        help="FPT's iteration counts, one column each (T: T - 1, exact); default %(default)s")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks per measurement; default %(default)s")
    parser.add_argument("--min-block-s", type=float, default=0.05, help="shortest timed block in seconds; default %(default)s")
    parser.add_argument("--budget-s", type=float, default=2.0,
                        help="time per measurement after which fewer blocks are timed (at least 3); default %(default)s")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--config-dir", "-cd", action="append", default=[],
                        help="a folder of your own configs (neuron/<name>.yaml), as for snnbench train")
    parser.add_argument("--out", type=Path, default=Path("results/speed"),
                        help="results go to OUT/<device>/; default %(default)s")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    neurons = fpt_labels(args.neurons.split(","), args.fpt_k.split(","))
    config_dirs = tuple(str(Path(d).resolve()) for d in args.config_dir)
    for name in neurons:
        build_neuron(name, 2, 1, torch.device("cpu"), config_dirs)  # an unknown or broken neuron fails here, in one line
    if BASELINE not in neurons:
        raise ConfigError(f"--neurons must include the baseline '{BASELINE}'")
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    Ts = _int_list(args.T)
    Ns = _int_list(args.N) if args.N else FULL_N if args.full or device.type == "cuda" else CPU_N

    df = measure(neurons, Ts, Ns, device, args.k, args.repeats, args.min_block_s, args.budget_s, config_dirs)
    out = args.out / device_slug(device)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "speed.csv", index=False)
    (out / "environment.json").write_text(json.dumps(environment(device), indent=2))
    report = [f"# Simulation speed on {environment(device)['device_name']} ({device}, "
              f"{torch.get_num_threads()} threads)\n",
              f"t_{BASELINE} / t_X: above 1 means X is faster than {BASELINE}. "
              f"`psn / bound` is t_psn / t_(bare addmm + threshold): 1 means no overhead.\n"]
    for mode in ("inference", "training"):
        table = ratio_table(df, mode).reset_index()
        table["N"] = table["N"].map(lambda n: f"2^{int(math.log2(n))}" if n & (n - 1) == 0 else str(n))
        report.append(f"## {mode}\n\n{table.to_markdown(index=False, floatfmt='.2f')}\n")
    text = "\n".join(report)
    (out / "ratios.md").write_text(text)
    plot_ratios(df, neurons, out / "ratios")
    print(text)
    print(f"wrote {out}/speed.csv, ratios.md, ratios.png, ratios.pdf, environment.json")

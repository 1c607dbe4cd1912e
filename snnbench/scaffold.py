"""``snnbench new neuron|dataset NAME [--dir DIR]``: a working skeleton of a plugin, with its YAML and a test.

The files go to DIR (default ``./snnbench_plugins``), the folder to give every command as ``--config-dir DIR``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from snnbench.errors import ConfigError

NEURON_PY = '''"""{name}: a neuron of your own. Write its math here, e.g. for the LIF it starts as:

    H[t] = V[t-1] + (X[t] - V[t-1]) / tau
    S[t] = Θ(H[t] - V_th)
    V[t] = H[t] - S[t] V_th                 (soft reset)
"""

from __future__ import annotations

import torch.nn as nn
from spikingjelly.activation_based import neuron


def build(T: int, channels: int, surrogate: nn.Module, tau: float = 2.0, v_threshold: float = 1.0) -> nn.Module:
    """(T, channels, surrogate, **the YAML's other keys) -> a module on [T, N, channels, ...] giving spikes of the
    same shape. Replace the body with your neuron; a ``start_epoch(epoch, epochs)`` method on the module is called
    at the start of every epoch."""
    return neuron.LIFNode(tau=float(tau), v_threshold=float(v_threshold), v_reset=None,
                          surrogate_function=surrogate, detach_reset=True, step_mode="m")
'''

NEURON_YAML = '''# {name} ({name}.py in this folder): snnbench train --config-dir {folder} neuron={name}
_target_: snnbench.neurons.NeuronFactory
name: {name}
builder: {name}.build
T: ${{T}}
surrogate: ${{surrogate}}
tau: 2.0
v_threshold: 1.0
'''

NEURON_TEST = '''"""pytest {folder}: {name} builds through snnbench's factory, spikes, and passes gradients."""

import sys
from pathlib import Path

import torch
from spikingjelly.activation_based import surrogate

sys.path.insert(0, str(Path(__file__).parent))

from snnbench.neurons import NeuronFactory  # noqa: E402


def test_{name}_spikes_and_passes_gradients():
    factory = NeuronFactory(name="{name}", builder="{name}.build", T=8, surrogate=surrogate.ATan())
    x = (torch.randn(8, 4, 3) * 2 + 0.5).requires_grad_()
    spikes = factory(3)(x)
    assert spikes.shape == x.shape and set(spikes.unique().tolist()) <= {{0.0, 1.0}}
    spikes.sum().backward()
    assert x.grad.abs().sum() > 0
'''

DATASET_PY = '''"""{name}: a dataset of your own, read from data_root/{name}.npz (arrays x_train, y_train, x_test, y_test;
x of shape [n, T, features] for sequences). Replace ``load`` with your reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from snnbench.data import DataBundle
from snnbench.data.source import DataSource, FileCheck, MissingDataError


class Dataset(DataSource):
    def __init__(self, T: int, root: str, features: int = 16, num_classes: int = 2) -> None:
        self.T, self.path = T, Path(root) / "{name}.npz"
        self.step_shape, self.num_classes = (features,), num_classes  # known without the file (snnbench info)

    def check(self) -> list[FileCheck]:
        return [FileCheck(self.path, self.path.is_file(), "x_train, y_train, x_test, y_test")]

    def load(self) -> DataBundle:
        if not self.path.is_file():
            raise MissingDataError(f"no {{self.path}}: place x_train, y_train, x_test, y_test there (np.savez)")
        with np.load(self.path) as data:
            def split(name: str) -> TensorDataset:
                return TensorDataset(torch.from_numpy(data[f"x_{{name}}"]).float(),
                                     torch.from_numpy(data[f"y_{{name}}"]).long())
            train, test = split("train"), split("test")
        return DataBundle(train=train, test=test, num_classes=self.num_classes, step_shape=self.step_shape,
                          T=self.T, encoding="sequence")
'''

DATASET_YAML = '''# @package _global_
# {name} ({name}.py in this folder): snnbench train --config-dir {folder} dataset={name}
defaults:
  - override /model: mlp_net
dataset:
  name: {name}
  default_T: 8
  build:
    _target_: {name}.Dataset
    root: ${{data_root}}
    features: 16
    num_classes: 2
'''

DATASET_TEST = '''"""pytest {folder}: {name} loads a file in its format and trains one epoch through snnbench."""

import subprocess
import sys
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).parent


def test_{name}_trains_one_epoch(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = rng.normal(y[:, None, None], 1.0, (64, 8, 16)).astype(np.float32)
    np.savez(tmp_path / "{name}.npz", x_train=x[:48], y_train=y[:48], x_test=x[48:], y_test=y[48:])
    proc = subprocess.run([sys.executable, "-m", "snnbench", "train", "--config-dir", str(FOLDER), "dataset={name}",
                           f"data_root={{tmp_path}}", f"runs_dir={{tmp_path / 'runs'}}", "trainer.epochs=1"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list((tmp_path / "runs").rglob("result.json"))
'''

KINDS = {
    "neuron": {"{name}.py": NEURON_PY, "neuron/{name}.yaml": NEURON_YAML, "test_{name}.py": NEURON_TEST},
    "dataset": {"{name}.py": DATASET_PY, "dataset/{name}.yaml": DATASET_YAML, "test_{name}.py": DATASET_TEST},
}


def write_skeleton(kind: str, name: str, folder: Path) -> list[Path]:
    """Write the files of a ``kind`` plugin called ``name`` into ``folder``; refuse to overwrite."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ConfigError(f"name {name!r}: use lower-case letters, digits and _ (it becomes a Python module)")
    files = {folder / path.format(name=name): text.format(name=name, folder=folder) for path, text in KINDS[kind].items()}
    existing = [str(p) for p in files if p.exists()]
    if existing:
        raise ConfigError(f"{', '.join(existing)} already exist(s); choose another name or --dir")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(files)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="snnbench new", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(KINDS), help="what to write: a neuron or a dataset of your own")
    parser.add_argument("name", help="its name, as in neuron=NAME or dataset=NAME (a Python identifier)")
    parser.add_argument("--dir", type=Path, default=Path("snnbench_plugins"),
                        help="the plugin folder to write into, then --config-dir DIR; default %(default)s")
    args = parser.parse_args(argv)
    for path in write_skeleton(args.kind, args.name, args.dir):
        print(f"wrote {path}")
    print(f"next: pytest {args.dir}; snnbench train --config-dir {args.dir} {args.kind}={args.name}")

"""The shape of the package: no import cycles, no upward imports, light commands stay light, one registry."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "snnbench"
#: Lower layers never import higher ones (a module may import its own layer and those before it).
LAYERS = [
    {"snnbench.errors"},
    {"snnbench.runs", "snnbench.config"},
    {"snnbench.data", "snnbench.neurons"},
    {"snnbench.models", "snnbench.optim", "snnbench.losses"},
    {"snnbench.experiment"},
    {"snnbench.train", "snnbench.report", "snnbench.speed", "snnbench.table_sweep", "snnbench.scaffold",
     "snnbench.migrate", "snnbench.trained", "snnbench.prepare", "snnbench.export_nir"},
    {"snnbench.cli", "snnbench.__main__", "snnbench"},  # the package itself exposes load_run, lazily
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The snnbench modules that ``name`` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("snnbench"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("snnbench")}
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def test_no_import_cycle():
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        for imported in sorted(GRAPH[name]):
            visit(imported, path + [name])
        done.add(name)

    for name in MODULES:
        visit(name, [])


def layer_of(name: str) -> int:
    for index, layer in enumerate(LAYERS):
        if any(name == top or (name.startswith(top + ".") and top != "snnbench") for top in layer):
            return index
    pytest.fail(f"{name} is in no layer of {__file__}: add it where it belongs")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_upward_import(name):
    upward = [m for m in GRAPH[name] if layer_of(m) > layer_of(name)]
    assert not upward, f"{name} (layer {layer_of(name)}) imports the higher {upward}"


LIGHT = {
    "status": "main(['status', '--runs', sys.argv[1]])",
    "table": "main(['table', 'digits', '--runs', sys.argv[1]])",
    "version": "main(['--version'])",
}


@pytest.mark.parametrize("command", sorted(LIGHT))
def test_light_commands_import_neither_torch_nor_hydra(tmp_path, command):
    runs = tmp_path / "runs"
    run = runs / "seq_digits" / "lif" / "0123456789ab" / "seed=0"
    run.mkdir(parents=True)
    (run / "result.json").write_text('{"status": "done", "dataset": "seq_digits", "neuron": "lif", "seed": 0, '
                                     '"signature": "0123456789ab", "epochs_done": 1, "epochs": 1, "best_test_acc": 0.5, '
                                     '"final_test_acc": 0.5, "best_epoch": 0}')
    code = (f"import sys\nfrom snnbench.cli import main\ntry:\n    {LIGHT[command]}\nexcept SystemExit:\n    pass\n"
            "print('heavy:', [m for m in ('torch', 'hydra', 'omegaconf') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code, str(runs)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "heavy: []" in proc.stdout, proc.stdout


def test_a_neuron_name_is_registered_once():
    from snnbench.neurons import register

    def other(T, channels, surrogate):  # noqa: ANN001, ANN202
        raise AssertionError("never built")

    with pytest.raises(ValueError, match="registered twice"):
        register("lif")(other)

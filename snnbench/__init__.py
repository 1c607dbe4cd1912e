"""snnbench: reproducible spiking-neural-network classification benchmarks.

``snnbench.load_run(run_folder)`` returns a trained run's network, config and record (imported on first use, so
that ``import snnbench`` stays light)."""

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# SpikingJelly imports torch.utils.cpp_extension, which warns "No CUDA runtime is found" on every CPU machine:
# noise before every command's output (``snnbench speed --help`` included), not a problem to report.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

try:
    __version__ = version("snnbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name in ("load_run", "LoadedRun"):
        from snnbench import trained

        return getattr(trained, name)
    raise AttributeError(f"module 'snnbench' has no attribute {name!r}")

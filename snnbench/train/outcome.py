"""What ``train(cfg)`` did with a run, and the exit status each outcome gives ``snnbench train``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["trained", "done", "held"]


@dataclass(frozen=True)
class Outcome:
    """``trained``: this process trained the run to its end; ``done``: it was finished already, nothing was
    trained; ``held``: another live process owns it (``record["owner"]`` says who), nothing was trained."""

    kind: Kind
    run_dir: Path
    record: dict[str, Any] = field(default_factory=dict)


#: ``snnbench train`` (one run) exits with these; a failed run exits 1, a config error 2.
EXIT_CODES: dict[Kind, int] = {"trained": 0, "done": 0, "held": 3}
FAILED_EXIT, CONFIG_EXIT = 1, 2

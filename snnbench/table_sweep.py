"""The sweep behind a table (``scripts/sweep_*.py``): say what it will run and roughly how long, then run it."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from dataclasses import dataclass

from snnbench.config import parse_overrides, runs_in_sweep


@dataclass
class Sweep:
    """The ``snnbench train -m`` commands behind one table, with a rough cost per run."""

    table: str
    commands: list[list[str]]
    hours_per_run: float
    hardware: str = "one GPU"

    @staticmethod
    def runs_of(command: list[str]) -> int:
        """Runs in one multirun, as Hydra's override parser counts them (``a,b``, ``range(1,33)``; ``[8,M]`` is
        one value)."""
        return runs_in_sweep(command)

    @staticmethod
    def with_overrides(command: list[str], overrides: list[str]) -> list[str]:
        """``command`` with each ``key=value`` of ``overrides`` replacing the command's own value of that key
        (so ``seed=0,1,2`` widens a one-seed sweep) and any other override appended."""
        def key(arg: str) -> str | None:
            return parse_overrides([arg])[0].key_or_group if "=" in arg and not arg.startswith("-") else None

        given = {key(arg): arg for arg in overrides if key(arg)}
        merged = [given.pop(key(arg), arg) if key(arg) else arg for arg in command]
        return merged + [arg for arg in overrides if not key(arg) or key(arg) in given]

    def main(self, argv: list[str] | None = None) -> None:
        parser = argparse.ArgumentParser(description=f"Run the sweep behind the '{self.table}' table.")
        parser.add_argument("--dry-run", action="store_true", help="print the runs and the rough time, run nothing")
        parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run, e.g. runs_dir=... or seed=0,1,2 (replaces the sweep's own value)")
        args = parser.parse_args(argv)
        commands = [self.with_overrides(c, args.overrides) for c in self.commands]
        total = sum(self.runs_of(c) for c in commands)
        print(f"table '{self.table}': {total} runs in {len(commands)} multirun command(s)")
        for command in commands:
            print(f"  ({self.runs_of(command)} runs) snnbench train -m {shlex.join(command)}")
        hours = total * self.hours_per_run
        rough = f"~{hours:.0f} h" if hours >= 1 else f"~{hours * 60:.0f} min"
        print(f"rough time: {total} x ~{self.hours_per_run:g} h = {rough} on {self.hardware} "
              f"(an assumption from the recipe's epochs and data size, not a measurement); finished runs are skipped "
              f"and interrupted ones resume, so rerun the same command after a stop")
        print(f"then: snnbench table {self.table}")
        if args.dry_run:
            return
        for command in commands:
            subprocess.run([sys.executable, "-m", "snnbench", "train", "-m", *command], check=True)

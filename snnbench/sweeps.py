"""Sweep scripts (``scripts/sweep_*.py``): say what they will run and roughly how long, then run it."""

from __future__ import annotations

import argparse
import math
import shlex
import subprocess
import sys
from dataclasses import dataclass


@dataclass
class Sweep:
    """The ``snnbench train -m`` commands behind one table, with a rough cost per run."""

    table: str
    commands: list[list[str]]
    hours_per_run: float
    hardware: str = "one GPU"

    @staticmethod
    def runs_of(command: list[str]) -> int:
        """Runs in one multirun: the product of the comma-separated choices of its overrides."""
        return math.prod(len(arg.split("=", 1)[1].split(",")) for arg in command if "=" in arg and "," in arg)

    def main(self, argv: list[str] | None = None) -> None:
        parser = argparse.ArgumentParser(description=f"Run the sweep behind the '{self.table}' table.")
        parser.add_argument("--dry-run", action="store_true", help="print the runs and the rough time, run nothing")
        parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run, e.g. runs_dir=...")
        args = parser.parse_args(argv)
        total = sum(self.runs_of(c) for c in self.commands)
        print(f"table '{self.table}': {total} runs in {len(self.commands)} multirun command(s)")
        for command in self.commands:
            print(f"  ({self.runs_of(command)} runs) snnbench train -m {shlex.join(command + args.overrides)}")
        print(f"rough time: {total} x ~{self.hours_per_run:g} h = ~{total * self.hours_per_run:.0f} h on {self.hardware} "
              f"(an assumption from the recipe's epochs and data size, not a measurement); finished runs are skipped "
              f"and interrupted ones resume, so rerun the same command after a stop")
        print(f"then: snnbench table {self.table}")
        if args.dry_run:
            return
        for command in self.commands:
            subprocess.run([sys.executable, "-m", "snnbench", "train", "-m", *command, *args.overrides], check=True)

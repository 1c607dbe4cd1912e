#!/usr/bin/env python
"""The embedded-digits comparison behind the digits table: every neuron snnbench has (one per config in
configs/neuron/) x 3 seeds on seq_digits, 30 epochs each."""

from pathlib import Path

from snnbench.table_sweep import Sweep

NEURONS = ",".join(sorted(p.stem for p in (Path(__file__).parents[1] / "configs" / "neuron").glob("*.yaml")))
SWEEP = Sweep("digits", [["dataset=seq_digits", f"neuron={NEURONS}", "seed=0,1,2"]], hours_per_run=0.007,
              hardware="2 CPU cores (measured: about 15-30 s per run)")

if __name__ == "__main__":
    SWEEP.main()

#!/usr/bin/env python
"""The embedded-digits comparison behind the README's example table: 10 neurons x 3 seeds on seq_digits."""

from snnbench.table_sweep import Sweep

NEURONS = "if,lif,plif,klif,glif,clif,lif_noreset,psn,masked_psn,sliding_psn"
SWEEP = Sweep("digits", [["dataset=seq_digits", f"neuron={NEURONS}", "seed=0,1,2"]], hours_per_run=0.005,
              hardware="2 CPU cores (measured: about 10-20 s per run)")

if __name__ == "__main__":
    SWEEP.main()

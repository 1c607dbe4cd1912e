#!/usr/bin/env python
"""A new comparison (no paper column): every neuron on SHD, T 100, AdamW, 100 epochs, 3 seeds."""

from snnbench.table_sweep import Sweep

NEURONS = "psn,sliding_psn,masked_psn,glif,plif,klif,clif,lif,lif_noreset,if"
SWEEP = Sweep("shd", [["dataset=shd", f"neuron={NEURONS}", "optim=adamw", "trainer.epochs=100",
                       "trainer.batch_size=128", "trainer.num_workers=4", "seed=0,1,2"]], hours_per_run=0.3)

if __name__ == "__main__":
    SWEEP.main()

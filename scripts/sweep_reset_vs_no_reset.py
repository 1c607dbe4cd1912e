#!/usr/bin/env python
"""The runs behind `snnbench table reset_vs_no_reset`: keep the reset or drop it, on the embedded digits.

The sequential LIF, the same LIF run in parallel by FPT (K = 1, 3 and T - 1, exact), SpikingSSM's SDN, SPikE-SSM's
refractory neuron, PSN and CPSN (the best successor of the digits table), on seq_digits (T 8) and pixel_digits
(T 64), 3 seeds, 30 epochs. The SDN's weights must exist first: `snnbench prepare sdn`."""

from snnbench.table_sweep import Sweep

DATASETS, SEEDS = "dataset=seq_digits,pixel_digits", "seed=0,1,2"
SWEEP = Sweep("reset_vs_no_reset", [
    [DATASETS, "neuron=lif,sdn_lif,spike_ssm,psn,cpsn", SEEDS],
    [DATASETS, "neuron=fpt_lif", "neuron.k=1,3,null", SEEDS],
], hours_per_run=0.01, hardware="2 CPU cores (measured: 10 s to 4 min per run; FPT at K = T - 1 the slowest)")

if __name__ == "__main__":
    SWEEP.main()

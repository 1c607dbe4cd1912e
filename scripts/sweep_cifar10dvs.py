#!/usr/bin/env python
"""The PSN paper's CIFAR10-DVS results: sliding PSN (k 2, exp init) at T 4, 8 and 10, 3 seeds."""

from snnbench.table_sweep import Sweep

SWEEP = Sweep("cifar10dvs", [["experiment=psn_paper/cifar10dvs", "T=4,8,10", "seed=0,1,2"]], hours_per_run=2.5)

if __name__ == "__main__":
    SWEEP.main()

#!/usr/bin/env python
"""The PSN paper's CIFAR-10 result: PSN, T 4, 1024 epochs, 3 seeds."""

from snnbench.table_sweep import Sweep

SWEEP = Sweep("cifar10", [["experiment=psn_paper/cifar10", "neuron=psn", "seed=0,1,2"]], hours_per_run=17)

if __name__ == "__main__":
    SWEEP.main()

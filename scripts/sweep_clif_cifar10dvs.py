#!/usr/bin/env python
"""The CLIF paper's CIFAR10-DVS comparison in the PSN paper's VGG at T 10: CLIF, LIF, sliding PSN, 3 seeds."""

from snnbench.table_sweep import Sweep

SWEEP = Sweep("clif_cifar10dvs", [["experiment=clif2024/cifar10dvs", "neuron=clif,lif,sliding_psn", "seed=0,1,2"]],
              hours_per_run=3.0)

if __name__ == "__main__":
    SWEEP.main()

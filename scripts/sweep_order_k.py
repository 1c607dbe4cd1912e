#!/usr/bin/env python
"""The PSN paper's order-k ablation on sequential CIFAR-100: masked and sliding PSN, k 1..32, 3 seeds."""

from snnbench.sweeps import Sweep

SWEEP = Sweep("order_k", [["experiment=psn_paper/order_k", "neuron=masked_psn,sliding_psn",
                           "neuron.k=1,2,3,4,5,6,8,12,16,24,32", "seed=0,1,2"]], hours_per_run=1.5)

if __name__ == "__main__":
    SWEEP.main()

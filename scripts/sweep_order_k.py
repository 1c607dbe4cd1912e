#!/usr/bin/env python
"""The PSN paper's order-k ablation on sequential CIFAR-100: masked and sliding PSN, every k from 1 to 32.

The paper's figure has one run per point; pass seed=0,1,2 for more seeds (64 runs per seed).
"""

from snnbench.table_sweep import Sweep

ORDERS = ",".join(str(k) for k in range(1, 33))
SWEEP = Sweep("order_k", [["experiment=psn_paper/order_k", "neuron=masked_psn,sliding_psn", f"neuron.k={ORDERS}",
                           "seed=0"]], hours_per_run=1.5)

if __name__ == "__main__":
    SWEEP.main()

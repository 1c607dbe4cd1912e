#!/usr/bin/env python
"""The CPSN paper's Table 10: CPSN's order k on sequential CIFAR-100, one run per k (seed=0,1,2 for more)."""

from snnbench.table_sweep import Sweep

SWEEP = Sweep("xue_order_k", [["experiment=xue2025/seq_cifar100", "neuron=cpsn", "neuron.k=1,2,3,4,8,16,32",
                               "seed=0"]], hours_per_run=1.5)

if __name__ == "__main__":
    SWEEP.main()

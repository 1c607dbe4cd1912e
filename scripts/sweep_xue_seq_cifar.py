#!/usr/bin/env python
"""The CPSN paper's Table 3 on sequential CIFAR-10/100: CPSN and PMSN in its recipe, the PSN paper's neurons
in theirs (the runs are shared with scripts/sweep_seq_cifar.py: finished ones are skipped). 3 seeds."""

from snnbench.table_sweep import Sweep

DATASETS = ("seq_cifar10", "seq_cifar100")
SWEEP = Sweep("xue_seq_cifar",
              [[f"experiment=xue2025/{d}", "neuron=cpsn,pmsn", "seed=0,1,2"] for d in DATASETS]
              + [[f"experiment=psn_paper/{d}", "neuron=psn,masked_psn,sliding_psn,glif,plif,lif", "seed=0,1,2"]
                 for d in DATASETS], hours_per_run=1.5)

if __name__ == "__main__":
    SWEEP.main()

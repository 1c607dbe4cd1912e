#!/usr/bin/env python
"""The PSN paper's sequential CIFAR-10/100 neuron comparison: 8 neurons x 2 datasets x 3 seeds."""

from snnbench.table_sweep import Sweep

NEURONS = "psn,sliding_psn,masked_psn,glif,plif,klif,lif,lif_noreset"
SWEEP = Sweep("seq_cifar", [[f"experiment=psn_paper/{d}", f"neuron={NEURONS}", "seed=0,1,2"]
                            for d in ("seq_cifar10", "seq_cifar100")], hours_per_run=1.5)

if __name__ == "__main__":
    SWEEP.main()

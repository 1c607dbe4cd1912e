#!/usr/bin/env python
"""The PRF paper's Table 2: sMNIST, psMNIST and pixel CIFAR-10 for PRF, PMSN, the PSN family and LIF, 3 seeds."""

from snnbench.table_sweep import Sweep

NEURONS = "prf,pmsn,psn,masked_psn,sliding_psn,lif"
SWEEP = Sweep("prf_long_sequences", [[f"experiment=prf2024/{d}", f"neuron={NEURONS}", "seed=0,1,2"]
                                     for d in ("smnist", "psmnist", "pixel_cifar10")], hours_per_run=4.0)

if __name__ == "__main__":
    SWEEP.main()

#!/usr/bin/env python
"""The PRF paper's Table 2: sMNIST, psMNIST and pixel CIFAR-10 for PRF (with its decay learned, as the paper's
small models, and fixed), PMSN, the PSN family, LIF and the parallel neurons that keep their reset, 3 seeds."""

from snnbench.table_sweep import Sweep

NEURONS = "prf_train,prf,pmsn,psn,masked_psn,sliding_psn,lif,fpt_lif,sdn_lif,spike_ssm"
SWEEP = Sweep("prf_long_sequences", [[f"experiment=prf2024/{d}", f"neuron={NEURONS}", "seed=0,1,2"]
                                     for d in ("smnist", "psmnist", "pixel_cifar10")], hours_per_run=4.0)

if __name__ == "__main__":
    SWEEP.main()

#!/usr/bin/env python
"""Write scikit-learn's handwritten digits (real data, shipped with scikit-learn) as DATA_ROOT/digits.csv:
label, then 64 pixels in [0, 1], one image per line, shuffled with a fixed seed."""

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

images, labels = load_digits(return_X_y=True)
order = np.random.default_rng(0).permutation(len(labels))
table = np.column_stack([labels[order], images[order] / 16.0])
root = Path(sys.argv[1] if len(sys.argv) > 1 else "data")
root.mkdir(parents=True, exist_ok=True)
np.savetxt(root / "digits.csv", table, delimiter=",", fmt=["%d"] + ["%.4f"] * 64)
print(f"wrote {root / 'digits.csv'} ({len(table)} images)")

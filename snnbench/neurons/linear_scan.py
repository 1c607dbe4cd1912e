"""The first-order linear recurrence ``h[t] = a[t] h[t-1] + b[t]`` (``h[-1] = 0``) over time, in parallel.

The parallel neurons that keep their reset (``fpt_lif.py``, ``spike_ssm.py``) evaluate their membrane for a
given spike train with it: once the spikes are known, every reset is a linear term.
"""

from __future__ import annotations

import torch


def linear_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""All of :math:`h[t] = a[t] h[t-1] + b[t]`, :math:`h[-1] = 0`, time first, by recursive doubling.

    After the pass with stride :math:`d`, element :math:`t` holds the composition of the steps
    :math:`t-2d+1 \dots t` as the pair :math:`(A, B)` with :math:`h[t] = A \, h[t-2d] + B`; combining two pairs is
    :math:`(A_2 A_1, A_2 B_1 + B_2)`. :math:`\lceil \log_2 T \rceil` passes of element-wise operations, each on
    the whole sequence, and differentiable in ``a`` and ``b`` like the sequential loop (rounding aside: the sums
    are taken in another order). ``a`` broadcasts against ``b``.
    """
    A, B = torch.broadcast_tensors(a, b)
    steps = B.shape[0]
    d = 1
    while d < steps:
        B = torch.cat([B[:d], A[d:] * B[:-d] + B[d:]])
        A = torch.cat([A[:d], A[d:] * A[:-d]])
        d *= 2
    return B

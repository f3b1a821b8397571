"""The Numba kernels of :func:`theorylab.gaussian.quadrature`'s split rule (rule (1) of that
module), in a module of their own so that importing :mod:`theorylab.gaussian` (every model does)
does not import Numba: it is loaded, and the kernels compiled or read from the cache, on the
first quadrature."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def tails(mean, var, breakpoint, lower, upper, w_ref, tail, upper_side, w,
          tiny):  # pragma: no cover (numba)
    """Rule (1), first pass: for every node the smaller of its two tail probabilities (below z,
    above z: they sum to one), on which side it is, and the weights. Taking Φ⁻¹ of the smaller
    tail loses no accuracy where Φ(z_b) is close to 0 or 1. At var = 0 all weight goes to the
    first node (and :func:`place` puts every node at the mean)."""
    half = lower.size
    for i in range(mean.size):
        if var[i] == 0.0:
            tail[i, :] = 0.5
            upper_side[i, :] = False
            w[i, :] = 0.0
            w[i, 0] = 1.0
            continue
        z_b = (breakpoint - mean[i]) / np.sqrt(var[i])
        below = 0.5 * math.erfc(-z_b / math.sqrt(2.0))  # Φ(z_b): mass below the breakpoint
        above = 0.5 * math.erfc(z_b / math.sqrt(2.0))  # Φ(-z_b): mass above it
        for k in range(half):
            for j, p, q, mass in ((k, below * lower[k], above + below * upper[k], below),
                                  (half + k, below + above * upper[k], above * lower[k],
                                   above)):
                upper_side[i, j] = p >= q
                tail[i, j] = max(min(p, q), tiny)
                w[i, j] = mass * w_ref[k]


@njit(cache=True)
def place(mean, var, z, upper_side):  # pragma: no cover (numba)
    """Rule (1), second pass: h = mean + s z with z = Φ⁻¹(tail) signed by its side."""
    h = np.empty(z.shape)
    for i in range(mean.size):
        s = np.sqrt(var[i])
        for j in range(z.shape[1]):
            zj = -z[i, j] if upper_side[i, j] else z[i, j]
            h[i, j] = mean[i] + s * zj if var[i] > 0.0 else mean[i]
    return h

"""Damped fixed-point iteration for the derivation tests (no solver of the package: the tests
hold the derived maps against their own fixed points)."""

from __future__ import annotations

import numpy as np


def iterate(eq, x0, params, *, damping=0.5, tol=1e-13, maxiter=20000):
    """x <- (1 − d) x + d F(x), vectorised over the grid, until max|F(x) − x| < tol; a start
    that does not converge within ``maxiter`` steps fails the test."""
    x = np.array(x0, dtype=float)
    for _ in range(maxiter):
        new = eq.fixed_point(x, params)
        if np.max(np.abs(new - x)) < tol:
            return new
        x = (1 - damping) * x + damping * new
    raise AssertionError(f"no convergence from {x0} at {params}")

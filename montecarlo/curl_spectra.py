"""Finite-size spectra of the curl-descent stability matrix (the check of its free-probability
edges).

For a linear two-layer network on its solution manifold the learning flow is stable iff
``X = s D1 + W1ᵀ D2 W1`` (M × M) is positive definite (spec ``curl-descent.md`` §2.1; derived in
:mod:`derivations.curl_descent`). Here ``X`` is drawn as the authors' phase diagram assumes
(spec §2.2, §4.4): ``W1`` (N × M) with i.i.d. ``N(0, 1/M)`` entries (``sigma = 1``), ``s = rho``,
the first ``⌊alpha_h M⌋`` inputs and ``⌊alpha_r N⌋`` hidden units flipped, and
diagonalised exactly. Nothing here knows the large-N theory.

Draw ``k`` of ``seed`` uses ``numpy.random.SeedSequence(seed).spawn(draws)[k]``.
"""

from __future__ import annotations

import math

import numpy as np


def flips(size: int, fraction: float) -> np.ndarray:
    """``±1`` entries with the first ``⌊fraction * size⌋`` flipped, as the authors do (spec §1;
    the floor taken of ``fraction * size + 1e-9``, so that 0.29 * 100 flips 29)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"a flipped fraction must lie in [0, 1] (got {fraction})")
    d = np.ones(size)
    d[: math.floor(fraction * size + 1e-9)] = -1.0
    return d


def stability_matrices(M: int, N: int, alpha_h: float = 0.0, alpha_r: float = 0.0,
                       rho: float = 1.0, draws: int = 1, seed: int = 0):
    """Yield ``draws`` matrices ``X = rho D1 + W1ᵀ D2 W1`` (M × M), one per seed stream."""
    if M < 1 or N < 1:
        raise ValueError(f"M and N must be >= 1 (got M = {M}, N = {N})")
    d1, d2 = flips(M, alpha_h), flips(N, alpha_r)
    for child in np.random.SeedSequence(seed).spawn(draws):
        W1 = np.random.default_rng(child).normal(0.0, 1.0 / np.sqrt(M), size=(N, M))
        yield rho * np.diag(d1) + W1.T @ (d2[:, None] * W1)


def smallest_eigenvalues(M: int, N: int, alpha_h: float = 0.0, alpha_r: float = 0.0,
                         rho: float = 1.0, draws: int = 4, seed: int = 0) -> np.ndarray:
    """``λ_min(X)`` of ``draws`` independent draws (exact symmetric diagonalisation)."""
    return np.array([np.linalg.eigvalsh(X)[0] for X in
                     stability_matrices(M, N, alpha_h, alpha_r, rho, draws, seed)])


def spectrum(M: int, N: int, alpha_h: float = 0.0, alpha_r: float = 0.0, rho: float = 1.0,
             seed: int = 0) -> np.ndarray:
    """All M eigenvalues of one draw of ``X`` (for a histogram against the density)."""
    (X,) = stability_matrices(M, N, alpha_h, alpha_r, rho, 1, seed)
    return np.linalg.eigvalsh(X)

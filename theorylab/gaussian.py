"""Gaussian expectations and the stable special functions of replica theory.

Generic numerics: nothing here knows a model.

* :func:`expect` — E[g(h)], h ~ N(mean, var), vectorised over whole parameter grids, accurate
  both for smooth g and for g with a sharp step at a known breakpoint (tanh(βh) at low
  temperature), exact at var = 0;
* :func:`quadrature` — the nodes and weights behind :func:`expect`, for evaluating several
  integrands on the same Gaussians;
* :func:`gauss_hermite` — plain probabilists' Gauss–Hermite for smooth integrands;
* :func:`H`, :func:`log_H`, :func:`log_2cosh` — Gaussian tail and log-cosh, stable at large
  arguments.

The quadrature rule of :func:`expect`
-------------------------------------
Write h = mean + s·z with s = √var and z ~ N(0, 1), and let z_b = (breakpoint − mean)/s. The
real line is split at the breakpoint and each half is mapped to a finite interval by the
Gaussian cumulative distribution Φ:

    E[g(h)] = ∫_0^{Φ(z_b)} g(mean + s Φ⁻¹(u)) du + ∫_0^{Φ(−z_b)} g(mean − s Φ⁻¹(v)) dv,     (1)

the first half being h < breakpoint (u = Φ(z), the probability below z) and the second
h > breakpoint (v = Φ(−z), the probability above z). In these variables the Gaussian weight is
uniform, and each interval is integrated with the same tanh–sinh (double-exponential) rule
(Takahasi & Mori 1974): with x(t) = 1/(1 + exp(−π sinh t)), nodes x(t_k) at equally spaced
t_k ∈ [−t_max, t_max] and weights ∝ dx/dt. Both ends of each interval get double-exponentially
clustered nodes:

* at the breakpoint end, a step of g of width δ (tanh(βh): δ ~ 1/β) is resolved with a cost that
  grows only like log(1/δ) — the double-exponential rule's accuracy depends on the distance of
  the integrand's nearest complex singularity from the end point logarithmically;
* at the far end, the integrable growth of Φ⁻¹(u) ~ −√(2 ln(1/u)) is the kind of end-point
  singularity the rule is designed for.

Every node is computed from its two tail probabilities (distance to 0 and to 1 in u), both held
without cancellation, and Φ⁻¹ is evaluated on the smaller one (scipy's ``ndtri``), so no accuracy
is lost where Φ(z_b) is close to 0 or 1. The reference weights are normalised to sum to one, so
E[1] = Φ(z_b) + Φ(−z_b) = 1 to rounding. At var = 0 all weight sits on one node at h = mean, so
:func:`expect` returns g(mean) exactly.

Accuracy (``tests/test_gaussian.py``, against mpmath and closed forms): with the default 256
nodes (128 per half) E h², E|h| and E ln 2cosh(βh)/β are exact to ~1e-14 relative; E tanh(βh) and
E tanh²(βh) are within ~1e-14 while β·√var ≲ 10 and within a few 1e-12 (tanh²: 1e-11) up to
β·√var ~ 1e3 (β = 1e3). Convergence is exponential in the node count: 128 nodes give ~1e-14
for smooth integrands but only ~1e-8 at β·√var ~ 1e3; 200 nodes ~1e-10 there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from theorylab import lazy

DEFAULT_NODES = 256
"""Default total number of nodes of :func:`expect` (half on each side of the breakpoint)."""

_T_FAR, _T_NEAR = 3.5, 3.0
"""Ends of the tanh–sinh grid t ∈ [−t_far, t_near], t → −∞ being the far (infinite) end of a half
line and t → +∞ the breakpoint. The mass left out, ≈ exp(−π sinh t), is ~1e-23 at the far end
(where z² grows, so moments need it small) and ~2e-14 of the half's mass at the breakpoint, where
g is bounded and the omitted sliver is ~2e-14 wide in probability."""

_TINY = 1e-300
_kernels = lazy.module("theorylab.gaussian_kernels")  # Numba: compiled on first use
"""Smallest tail probability passed to Φ⁻¹: keeps nodes finite where a half has zero mass."""


@lru_cache(maxsize=32)
def _tanh_sinh(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Reference tanh–sinh rule on (0, 1): distances to 0 and to 1 of the nodes, and weights.

    The weights, h_t·dx/dt = h_t·π cosh t·x(1 − x), are normalised to sum to one.
    """
    t = np.linspace(-_T_FAR, _T_NEAR, n)
    a = np.pi * np.sinh(t)
    lower = special.expit(a)  # x(t), distance to 0, accurate down to ~1e-20
    upper = special.expit(-a)  # 1 - x(t), distance to 1, accurate without cancellation
    w = np.cosh(t) * lower * upper
    w /= math.fsum(w)
    for array in (lower, upper, w):
        array.setflags(write=False)
    return lower, upper, w


def quadrature(
    mean: ArrayLike, var: ArrayLike, *, nodes: int = DEFAULT_NODES, breakpoint: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nodes and weights of the split tanh–sinh rule (1) for h ~ N(mean, var).

    Parameters
    ----------
    mean, var
        Arrays broadcast together to a grid shape G; var >= 0.
    nodes
        Total number of nodes, an even number >= 4 (half on each side of ``breakpoint``).
    breakpoint
        Where the integrands may have a sharp feature (the zero of the local field).

    Returns
    -------
    h, w : ndarray, shape G + (nodes,)
        Σ_k w[..., k] g(h[..., k]) approximates E[g(h)]. Where var = 0, h = mean at every node
        and all the weight is on the first one.
    """
    if nodes < 4 or nodes % 2:
        raise ValueError(f"nodes must be an even integer >= 4 (got {nodes})")
    mean, var = np.broadcast_arrays(np.asarray(mean, dtype=float), np.asarray(var, dtype=float))
    if np.any(var < 0):
        raise ValueError("var must be >= 0")
    lower, upper, w_ref = _tanh_sinh(nodes // 2)
    flat_mean = np.ascontiguousarray(mean).reshape(-1)
    flat_var = np.ascontiguousarray(var).reshape(-1)
    tail = np.empty((flat_mean.size, nodes))
    upper_side = np.empty((flat_mean.size, nodes), dtype=np.bool_)
    w = np.empty((flat_mean.size, nodes))
    _kernels.tails(flat_mean, flat_var, float(breakpoint), lower, upper, w_ref, tail,
                   upper_side, w, _TINY)
    special.ndtri(tail, out=tail)  # scipy's Φ⁻¹ (Cephes), vectorised
    h = _kernels.place(flat_mean, flat_var, tail, upper_side)
    return h.reshape(*mean.shape, nodes), w.reshape(*mean.shape, nodes)


def expect(
    g: Callable[[NDArray[np.float64]], ArrayLike],
    mean: ArrayLike,
    var: ArrayLike,
    *,
    nodes: int = DEFAULT_NODES,
    breakpoint: float = 0.0,
) -> NDArray[np.float64]:
    """E[g(h)] for h ~ N(mean, var), over a whole grid of Gaussians at once.

    Uses the split tanh–sinh rule (1) of the module docstring: accurate for smooth g and for g
    with a sharp step at ``breakpoint`` (e.g. tanh(βh) with β up to ~1e3 at breakpoint 0).

    Parameters
    ----------
    g
        Vectorised integrand: maps h of shape G + (nodes,) to values of the same shape (or
        broadcastable to it).
    mean, var
        Arrays broadcast together to the grid shape G; var >= 0 (var = 0 gives g(mean) exactly).
    nodes
        Total number of nodes (even, >= 4).
    breakpoint
        Location of the step of g, if any.

    Returns
    -------
    ndarray, shape G
    """
    h, w = quadrature(mean, var, nodes=nodes, breakpoint=breakpoint)
    return np.sum(w * np.asarray(g(h)), axis=-1)


def gauss_hermite(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Probabilists' Gauss–Hermite rule: Σ_k w_k g(z_k) ≈ E[g(z)], z ~ N(0, 1).

    Exact for polynomials of degree <= 2n − 1; for smooth integrands only (a step of width
    small compared with the node spacing ~ π/√n is missed — use :func:`expect`).

    Returns
    -------
    z, w : ndarray, shape (n,)
        Nodes and weights, weights summing to one.
    """
    z, w = special.roots_hermitenorm(n)
    return z, w / math.sqrt(2.0 * math.pi)


def H(x: ArrayLike) -> NDArray[np.float64]:
    """Gaussian tail H(x) = P(z > x) = ½ erfc(x/√2), z ~ N(0, 1)."""
    return special.ndtr(-np.asarray(x, dtype=float))


def log_H(x: ArrayLike) -> NDArray[np.float64]:
    """ln H(x), accurate for large positive x (where H underflows), via ``log_ndtr(−x)``."""
    return special.log_ndtr(-np.asarray(x, dtype=float))


def log_2cosh(x: ArrayLike) -> NDArray[np.float64]:
    """ln(2 cosh x) = |x| + log1p(exp(−2|x|)), finite for every finite x (no overflow)."""
    a = np.abs(np.asarray(x, dtype=float))
    return a + np.log1p(np.exp(-2.0 * a))

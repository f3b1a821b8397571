"""Phase-diagram throughput: the vectorised engine against a per-point ``fsolve`` loop.

The work: the AGS model (dense Hopfield, P = 2) on a 200 x 200 (alpha, T) grid, alpha in
[0, 0.2], T in [0, 1.5]: at every point the three branches (retrieval, spin glass, paramagnet)
from the same three starts, solved to a residual of 1e-11, with their free and internal
energies. The engine (:func:`theorylab.equilibrium.diagram_block`) does this for the
whole grid at once and, in addition, retries unconverged points from converged neighbours and
computes every branch's stability eigenvalue. The baseline calls ``scipy.optimize.fsolve`` once
per point and start on the same derived fixed-point map (same quadrature, same starts) and
evaluates f and u; it is timed on a random subset of the grid's points (its rate, points/s, is
what is compared).

Both use the quadrature with the node count diagrams use (the default, 256). T = 0 rows are
solved by the exact T = 0 equations in the engine; the baseline's subset is drawn from T > 0
(the finite-T map). Newton uses the derived Jacobian in the engine; fsolve its own
finite-difference one.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import optimize

from theorylab.equilibrium import diagram_block
from theorylab.gaussian import DEFAULT_NODES as NODES


def _baseline(points: int, seed: int = 0) -> tuple[float, int]:
    """Rate (points/s) of a per-point fsolve loop, and how many (point, start) pairs failed."""
    from theorylab.models import dense_hopfield as dh

    sys_ = dh.system(2, False, NODES)
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(0.0, 0.2, points)
    T = rng.uniform(1.5 / 199, 1.5, points)
    failed = 0
    start = time.perf_counter()
    for a, t in zip(alpha, T, strict=True):
        p = {"alpha": np.array([a]), "T": np.array([t])}
        for x0 in sys_.starts(p).values():

            def G(x, p=p):
                return sys_.F(x[:, None], p)[:, 0] - x

            x, _, ier, _ = optimize.fsolve(G, x0[:, 0], full_output=True, xtol=1e-12)
            sys_.thermodynamics(x[:, None], p)
            failed += ier != 1
    return points / (time.perf_counter() - start), failed


def run(quick: bool = False) -> dict:
    """Time the engine on the grid and the baseline on a subset; their rates and ratio."""
    from theorylab.models import dense_hopfield as dh

    n = 100 if quick else 200
    alpha, T = np.linspace(0.0, 0.2, n), np.linspace(0.0, 1.5, n)
    for zero_temperature in (True, False):  # compile outside the timing
        dh.system(2, zero_temperature, NODES).equations  # noqa: B018
    start = time.perf_counter()
    out = diagram_block("dense-hopfield", {"P": 2}, "alpha", alpha, "T", T)
    seconds = time.perf_counter() - start
    rate = alpha.size * T.size / seconds
    base_rate, base_failed = _baseline(60 if quick else 400)
    return {"points": int(alpha.size * T.size), "seconds": seconds, "points_per_s": rate,
            "baseline_points_per_s": base_rate, "ratio": rate / base_rate,
            "unconverged": int((~out["converged"]).sum()),
            "baseline_failed_starts": int(base_failed), "nodes": NODES, "target_ratio": 30.0}


def table(result: dict) -> str:
    """One-row table of the grid benchmark."""
    r = result
    return (f"{r['points']} points in {r['seconds']:.1f} s: {r['points_per_s']:.0f} points/s; "
            f"fsolve loop {r['baseline_points_per_s']:.1f} points/s; ratio {r['ratio']:.1f}x "
            f"(target >= {r['target_ratio']:.0f}x); {r['unconverged']} points without a "
            f"converged branch (flagged); baseline: {r['baseline_failed_starts']} failed "
            f"fsolve starts")

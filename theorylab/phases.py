"""Several branches at once: multi-start solves, grid continuation, selection, crossings.

Generic numerics for phase diagrams (never imports a model):

* :func:`continue_over_grid` retries points that did not converge from a converged neighbour on
  the grid (warm starts follow a branch across the grid, as continuation does along a line);
* :func:`select` picks, point by point, the converged branch of lowest free energy;
* :func:`crossing` locates where two free energies cross (a first-order line) between brackets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy import optimize

from theorylab import saddle


def continue_over_grid(solve: Callable[[np.ndarray, Mapping], saddle.FixedPointResult],
                       result: saddle.FixedPointResult,
                       params: Mapping[str, np.ndarray], shape: tuple[int, ...],
                       same_branch: Callable[[np.ndarray, Mapping], np.ndarray] | None = None,
                       max_passes: int = 50) -> saddle.FixedPointResult:
    """Retry unconverged grid points from converged neighbours (warm starts), pass by pass.

    Parameters
    ----------
    solve
        ``solve(x0, params) -> FixedPointResult`` for a subset of points (e.g.
        :func:`theorylab.saddle.solve` with the map and options bound).
    result
        A solve over the flattened grid of ``shape`` (points in C order).
    same_branch
        Optional predicate ``same_branch(x, params)`` on x of shape (n, M) and that subset's
        parameters: which converged points are on the wanted branch
        (e.g. m > 0 for retrieval), so a neighbour that fell onto another branch is not used.
    """
    x, conv = result.x.copy(), result.converged.copy()
    res, its = result.residual.copy(), result.iterations.copy()
    good = conv & (same_branch(x, params) if same_branch is not None else True)
    tried = np.zeros_like(conv)
    idx = np.arange(conv.size).reshape(shape)
    for _ in range(max_passes):
        cand, src = [], []
        for axis in range(len(shape)):
            for shift in (1, -1):
                neighbour = np.roll(idx, shift, axis=axis)
                edge = [slice(None)] * len(shape)
                edge[axis] = 0 if shift == 1 else -1
                valid = np.ones(shape, dtype=bool)
                valid[tuple(edge)] = False
                flat, nb = idx[valid], neighbour[valid]
                use = ~good[flat] & ~tried[flat] & good[nb]
                cand.append(flat[use])
                src.append(nb[use])
        cand_all, src_all = np.concatenate(cand), np.concatenate(src)
        cand_all, first = np.unique(cand_all, return_index=True)
        if cand_all.size == 0:
            break
        src_all = src_all[first]
        tried[cand_all] = True
        p = saddle.subset(params, cand_all)
        sub = solve(x[:, src_all], p)
        ok = sub.converged & (same_branch(sub.x, p) if same_branch is not None else True)
        x[:, cand_all[ok]] = sub.x[:, ok]
        res[cand_all] = np.where(ok, sub.residual, res[cand_all])
        conv[cand_all[ok]] = True
        good[cand_all[ok]] = True
        its[cand_all] += sub.iterations
    return saddle.FixedPointResult(x=x, converged=conv, residual=res, iterations=its,
                                   tol=result.tol)


def select(free_energies: Mapping[str, np.ndarray],
           valid: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Index (into the keys' order) of the valid branch of lowest free energy, and that f.

    Points where no branch is valid get index -1 and f = NaN.
    """
    names = list(free_energies)
    f = np.stack([np.where(valid[k], free_energies[k], np.inf) for k in names])
    best = np.argmin(f, axis=0)
    fmin = np.take_along_axis(f, best[None], axis=0)[0]
    none = ~np.isfinite(fmin)
    return np.where(none, -1, best), np.where(none, np.nan, fmin)


def crossing(difference: Callable[[float], float], a: float, b: float,
             tol: float = 1e-12) -> float | None:
    """Root of ``difference`` in [a, b] (brentq), or ``None`` if it does not change sign or is
    not finite somewhere on the way."""
    fa, fb = difference(a), difference(b)
    if not (np.isfinite(fa) and np.isfinite(fb)) or fa * fb > 0:
        return None
    try:
        return float(optimize.brentq(difference, a, b, xtol=tol))
    except ValueError:  # the difference is not finite somewhere inside: no refined root
        return None

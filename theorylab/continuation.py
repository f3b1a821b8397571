"""Following a branch of fixed points in one control parameter; folds are spinodals.

The branch is the solution curve of G(x, lam) = F(x; lam) - x = 0 in the (n+1)-dimensional
space (x, lam), followed by pseudo-arclength continuation: an Euler predictor along the unit
tangent (the null vector of [dG/dx | dG/dlam]) and a Newton corrector on
{G = 0, t . (y - y_pred) = 0}. Because the curve is parametrised by arclength, the continuation
passes through folds, where lam turns back: a sign change of the tangent's lam-component. Each
fold is then refined as the extremum of lam along the curve between the two bracketing
points. A fold is where the branch ends (a spinodal) and where the stability eigenvalue of the
fixed-point map crosses one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

BranchMap = Callable[[np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class Fold:
    """A fold (turning point) of a branch: the control parameter ``lam`` and the state ``x``."""

    lam: float
    x: np.ndarray
    residual: float
    converged: bool


@dataclass(frozen=True)
class Branch:
    """A followed branch: points (lam_k, x_k) in arclength order, its folds, and why it stopped."""

    lam: np.ndarray
    x: np.ndarray
    folds: tuple[Fold, ...]
    message: str


def _jac(G: Callable[[np.ndarray], np.ndarray], y: np.ndarray, gy: np.ndarray) -> np.ndarray:
    J = np.empty((gy.size, y.size))
    for j in range(y.size):
        h = 1e-7 * max(1.0, abs(y[j]))
        yp = y.copy()
        yp[j] += h
        J[:, j] = (G(yp) - gy) / h
    return J


def _tangent(J: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    t = np.linalg.svd(J)[2][-1]
    if previous is not None and t @ previous < 0:
        t = -t
    return t


def follow(F: BranchMap, x0: np.ndarray, lam0: float, *, lam_min: float, lam_max: float,
           direction: float = 1.0, ds: float = 0.01, ds_max: float = 0.05,
           max_steps: int = 2000, tol: float = 1e-10, stop_at_fold: bool = True) -> Branch:
    """Follow the branch through (x0, lam0) of fixed points x = F(x, lam).

    Parameters
    ----------
    F
        ``F(x, lam) -> x'`` for one point (x of shape (n,)); NaN outside its domain.
    x0, lam0
        A point on (or near: it is corrected first) the branch.
    lam_min, lam_max
        The continuation stops when lam leaves [lam_min, lam_max].
    direction
        +1 to start towards increasing lam, -1 towards decreasing.
    ds, ds_max
        Initial and largest arclength step (adapted: halved on Newton failure).
    stop_at_fold
        Stop at the first fold (the end of a branch that starts on its stable side).
    """

    def G(y: np.ndarray) -> np.ndarray:
        return F(y[:-1], y[-1]) - y[:-1]

    x0 = np.asarray(x0, dtype=float)
    corrected = _newton_fixed_lam(F, x0, lam0, tol)
    if corrected is None:
        return Branch(np.array([]), np.empty((0, x0.size)), (), "start did not converge")
    y = np.append(corrected, lam0)
    J = _jac(G, y, G(y))
    if not np.all(np.isfinite(J)):
        return Branch(np.array([lam0]), corrected[None], (),
                      "start is at the edge of the map's domain")
    t = _tangent(J, None)
    if t[-1] * direction < 0:
        t = -t
    points, folds = [y.copy()], []
    message = f"stopped after {max_steps} steps"
    for _ in range(max_steps):
        step_ok = False
        while ds > 1e-9:
            y_new = _corrector(G, y + ds * t, t, tol)
            if y_new is not None:
                step_ok = True
                break
            ds *= 0.5
        if not step_ok:
            message = "corrector failed (the branch ends or leaves the map's domain)"
            break
        J = _jac(G, y_new, G(y_new))
        if not np.all(np.isfinite(J)):
            points.append(y_new)
            message = "reached the edge of the map's domain"
            break
        t_new = _tangent(J, t)
        if t_new[-1] * t[-1] < 0:
            folds.append(_refine_fold(G, y, y_new, t[-1] > 0, tol))
            if stop_at_fold:
                points.append(y_new)
                message = "stopped at a fold"
                break
        y, t = y_new, t_new
        points.append(y.copy())
        if not lam_min <= y[-1] <= lam_max:
            message = "left the parameter range"
            break
        ds = min(ds * 1.5, ds_max)
    arr = np.array(points)
    return Branch(arr[:, -1], arr[:, :-1], tuple(folds), message)


def _newton_fixed_lam(F: BranchMap, x: np.ndarray, lam: float, tol: float,
                      maxiter: int = 50) -> np.ndarray | None:
    """Newton on x = F(x, lam) at fixed lam (damped iteration first if Newton stalls)."""
    sol = optimize.root(lambda v: F(v, lam) - v, x, method="hybr", tol=tol * 1e-2)
    if sol.success and np.max(np.abs(F(sol.x, lam) - sol.x)) <= tol * 10:
        return sol.x
    for _ in range(maxiter * 20):
        x = x + 0.5 * (F(x, lam) - x)
        if not np.all(np.isfinite(x)):
            return None
        if np.max(np.abs(F(x, lam) - x)) <= tol:
            return x
    return None


def _corrector(G: Callable[[np.ndarray], np.ndarray], y_pred: np.ndarray, t: np.ndarray,
               tol: float, maxiter: int = 12) -> np.ndarray | None:
    y = y_pred.copy()
    for _ in range(maxiter):
        gy = G(y)
        if not np.all(np.isfinite(gy)):
            return None
        r = np.append(gy, t @ (y - y_pred))
        if np.max(np.abs(gy)) <= tol:
            return y
        A = np.vstack([_jac(G, y, gy), t])
        try:
            y = y - np.linalg.solve(A, r)
        except np.linalg.LinAlgError:
            return None
    gy = G(y)
    return y if np.all(np.isfinite(gy)) and np.max(np.abs(gy)) <= tol else None


def _refine_fold(G: Callable[[np.ndarray], np.ndarray], y_a: np.ndarray, y_b: np.ndarray,
                 lam_increasing: bool, tol: float) -> Fold:
    """Locate the turning point between two branch points that bracket it.

    Points on the curve are parametrised by their position tau in [0, 1] along the chord
    y_a -> y_b (Newton onto the curve within the hyperplane normal to the chord through
    y_a + tau (y_b - y_a)); lam is extremal at the fold, so a bounded scalar search over tau
    finds it to machine precision in lam (the error in lam is quadratic in the error in tau).
    """
    chord = y_b - y_a
    unit = chord / np.linalg.norm(chord)
    cache: dict[float, np.ndarray | None] = {}

    def on_curve(tau: float) -> np.ndarray | None:
        if tau not in cache:
            cache[tau] = _corrector(G, y_a + tau * chord, unit, tol, maxiter=30)
        return cache[tau]

    def objective(tau: float) -> float:
        y = on_curve(tau)
        if y is None:
            return np.inf
        return -y[-1] if lam_increasing else y[-1]

    best = optimize.minimize_scalar(objective, bounds=(0.0, 1.0), method="bounded",
                                    options={"xatol": 1e-10})
    y = on_curve(float(best.x))
    if y is None:
        y = 0.5 * (y_a + y_b)
        return Fold(lam=float(y[-1]), x=y[:-1], residual=float("inf"), converged=False)
    residual = float(np.max(np.abs(G(y))))
    return Fold(lam=float(y[-1]), x=y[:-1], residual=residual, converged=residual <= 10 * tol)

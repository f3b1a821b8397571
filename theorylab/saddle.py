"""The saddle-point engine: fixed points x = F(x; params), vectorised over parameter grids.

A model supplies a fixed-point map ``F(x, params)`` acting on ``x`` of shape ``(n, M)`` (n order
parameters at M independent points) with ``params`` a dict of arrays of shape ``(M,)`` (or
scalars). :func:`solve` finds the fixed point at every point at once:

1. damped iteration ``x <- x + a (F(x) - x)`` accelerated by Anderson mixing (type II, a short
   history, regularised least squares; a step whose map value is not finite falls back to the
   plain damped step and clears that point's history);
2. once a point's residual is small, Newton polish on ``G(x) = F(x) - x`` with the map's own
   Jacobian where it is given, else a forward-difference one (the step halved along its
   direction if the residual grows, then a damped step). A point where a Newton step with the
   given Jacobian did not halve the residual continues with forward differences: a derived
   Jacobian evaluated by quadrature can lose accuracy before the map does (its integrands are
   derivatives of the map's, sharper where the map is step-like: tanh(βh) at low temperature).

Convergence is judged on the *undamped* residual ``max_i |F_i(x) - x_i| <= tol``. Points that
did not converge are reported as such, never replaced. Local stability is the largest real part
of the eigenvalues of the Jacobian of F: below one, the damped fixed-point dynamics is stable at
the solution; an eigenvalue reaching one marks a fold of the branch (a spinodal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

FixedPointMap = Callable[[np.ndarray, Mapping[str, object]], np.ndarray]
Jacobian = Callable[[np.ndarray, Mapping[str, object]], np.ndarray]
"""``jacobian(x, params) -> dF_i/dx_j`` of shape (M, n, n), e.g. derived symbolically."""


@dataclass(frozen=True)
class FixedPointResult:
    """Fixed points at M points.

    Attributes
    ----------
    x : ndarray, shape (n, M)
    converged : ndarray of bool, shape (M,)
        ``residual <= tol`` with finite values.
    residual : ndarray, shape (M,)
        Undamped residual max_i |F_i(x) - x_i|.
    iterations : ndarray of int, shape (M,)
        Map evaluations spent on each point (Newton's Jacobian columns included).
    tol : float
    """

    x: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    iterations: np.ndarray
    tol: float

    @property
    def message(self) -> str:
        bad = int((~self.converged).sum())
        total = self.converged.size
        if bad == 0:
            return f"all {total} points converged to residual <= {self.tol:g}"
        return f"{bad} of {total} points did not converge (residual > {self.tol:g})"


def subset(params: Mapping[str, object], index: np.ndarray) -> dict[str, object]:
    """Restrict per-point parameter arrays to the points ``index`` (scalars pass through)."""
    return {k: (v[index] if isinstance(v, np.ndarray) and v.ndim else v) for k, v in params.items()}


def _residual(g: np.ndarray) -> np.ndarray:
    r = np.max(np.abs(g), axis=0)
    return np.where(np.isfinite(r), r, np.inf)


def _clip(x: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None) -> np.ndarray:
    if lower is not None:
        x = np.maximum(x, lower[:, None])
    if upper is not None:
        x = np.minimum(x, upper[:, None])
    return x


def jacobian(F: FixedPointMap, x: np.ndarray, params: Mapping[str, object],
             fx: np.ndarray | None = None, *, central: bool = False,
             lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> np.ndarray:
    """Finite-difference Jacobian dF_i/dx_j, shape (M, n, n).

    Forward differences by default; ``central=True`` for eigenvalues, where the O(h) error of
    forward differences would blur a crossing of one. Next to a bound the difference is taken
    one-sided, into the domain.
    """
    n, M = x.shape
    J = np.empty((M, n, n))
    if fx is None:
        fx = F(x, params)
    for j in range(n):
        h = 1e-7 * np.maximum(1.0, np.abs(x[j]))
        up_ok = np.ones(M, bool) if upper is None else x[j] + h <= upper[j]
        down_ok = np.ones(M, bool) if lower is None else x[j] - h >= lower[j]
        hp = np.where(up_ok, h, 0.0)
        hm = np.where(down_ok & (central | ~up_ok), h, 0.0)
        xp, xm = x.copy(), x.copy()
        xp[j] += hp
        xm[j] -= hm
        fp = F(xp, params) if np.any(hp) else fx
        fm = F(xm, params) if np.any(hm) else fx
        J[:, :, j] = ((fp - fm) / (hp + hm)).T
    return J


def stability(F: FixedPointMap, x: np.ndarray, params: Mapping[str, object],
              lower: np.ndarray | None = None, upper: np.ndarray | None = None,
              exact: Jacobian | None = None) -> np.ndarray:
    """Largest real part of the eigenvalues of dF/dx at each point, shape (M,).

    Below one: locally stable under the damped fixed-point dynamics. It crosses one at a fold.
    ``exact`` is the map's Jacobian where known (else central differences). +inf where a
    diagonal entry is +inf; NaN where the Jacobian is otherwise not finite.
    """
    J = (exact(x, params) if exact is not None
         else jacobian(F, x, params, central=True, lower=lower, upper=upper))
    ok = np.all(np.isfinite(J), axis=(1, 2))
    out = np.full(x.shape[1], np.nan)
    if ok.any():
        out[ok] = np.linalg.eigvals(J[ok]).real.max(axis=1)
    # a +inf diagonal entry is a direction of infinite growth (e.g. the T = 0 limit of a site
    # class whose field vanishes): the eigenvalue is +inf, not unknown
    out[np.any(np.diagonal(J, axis1=1, axis2=2) == np.inf, axis=1)] = np.inf
    return out


def solve(F: FixedPointMap, x0: np.ndarray, params: Mapping[str, object], *,
          tol: float = 1e-11, maxiter: int = 1000, damping: float = 0.5, memory: int = 4,
          newton_below: float = 1e-3, patience: int = 100, lower: np.ndarray | None = None,
          upper: np.ndarray | None = None,
          keep: Callable[[np.ndarray, Mapping[str, object]], np.ndarray] | None = None,
          exact: Jacobian | None = None) -> FixedPointResult:
    """Find x = F(x) at every point.

    Parameters
    ----------
    F
        The fixed-point map, ``F(x, params)`` with ``x`` of shape (n, M); it returns NaN where
        ``x`` is outside the map's domain (such steps are shortened).
    x0
        Starting points, shape (n, M) or (n,) (broadcast to every point).
    params
        Per-point parameters: arrays of shape (M,) or scalars.
    tol
        Convergence threshold on the undamped residual max_i |F_i(x) - x_i|.
    maxiter
        Iterations (accelerated steps or Newton steps) per point.
    damping
        Mixing a in x <- x + a (F(x) - x), in (0, 1].
    memory
        Anderson history length (0: plain damped iteration).
    newton_below
        Switch a point to Newton once its residual is below this.
    patience
        Give up on a point whose residual has not fallen by 10 % in this many iterations (a
        start beyond the end of its branch crawls along the ghost of the fold; it is reported
        as not converged rather than iterated to ``maxiter``).
    lower, upper
        Per-variable bounds, shape (n,) (e.g. 0 <= q <= 1); iterates are clipped to them.
    keep
        Optional ``keep(x, params) -> bool array``: a point whose iterate fails it has left the
        branch being followed (e.g. m has collapsed from a retrieval start); it is no longer
        iterated and is reported as not converged.
    exact
        The map's Jacobian, ``exact(x, params) -> (M, n, n)``, for Newton (else forward
        differences, n more map evaluations per step). A point where a Newton step with it did
        not halve the residual takes forward differences from then on.
    """
    params = {k: (np.asarray(v, dtype=float) if np.ndim(v) else v) for k, v in params.items()}
    sizes = [v.size for v in params.values() if isinstance(v, np.ndarray) and v.ndim]
    x0 = np.asarray(x0, dtype=float)
    M = x0.shape[1] if x0.ndim == 2 else (max(sizes) if sizes else 1)
    x = np.array(np.broadcast_to(x0.reshape(x0.shape[0], -1), (x0.shape[0], M)))
    params = {k: (np.broadcast_to(v, (M,)) if isinstance(v, np.ndarray) and v.ndim else v)
              for k, v in params.items()}
    lower = None if lower is None else np.asarray(lower, dtype=float)
    upper = None if upper is None else np.asarray(upper, dtype=float)
    n = x.shape[0]
    x = _clip(x, lower, upper)
    g = F(x, params) - x
    res = _residual(g)
    iters = np.ones(M, dtype=int)
    alive = np.isfinite(res)  # a start outside the map's domain cannot be iterated
    best, since = res.copy(), np.zeros(M, dtype=int)
    trusted = np.full(M, exact is not None)  # the given Jacobian, until a Newton step fails
    dX = np.zeros((memory, n, M))
    dG = np.zeros((memory, n, M))
    slot = 0
    for _ in range(maxiter):
        active = np.flatnonzero(alive & (res > tol))
        if active.size == 0:
            break
        p = subset(params, active)
        xa, ga, ra = x[:, active], g[:, active], res[active]
        newton = ra < newton_below
        x_new = xa + damping * ga
        if memory:
            x_new = _anderson(x_new, ga, dX[:, :, active], dG[:, :, active], damping)
        if newton.any():
            k = np.flatnonzero(newton)
            given = trusted[active[k]]
            x_new[:, k] = _newton_step(F, xa[:, k], ga[:, k], subset(p, k), lower, upper,
                                       exact, given)
            iters[active[k]] += np.where(given, 1, n)
        x_new = _clip(x_new, lower, upper)
        g_new = F(x_new, p) - x_new
        r_new = _residual(g_new)
        # A step that leaves the domain, or grows the residual too much, is replaced by a plain
        # damped step, halved until the map is finite there. A Newton step is also tried at half
        # length along its own direction (next to a nearly singular Jacobian, e.g. where a third
        # order parameter is about to condense, the full step overshoots but its direction is
        # right) and kept where it lowers the residual. Both trials share one map evaluation.
        bad = ~np.isfinite(r_new) | (r_new > np.where(newton, 1.0, 10.0) * ra)
        half = bad & newton
        # Newton with a right Jacobian at least halves the residual (quadratically away from a
        # fold, by a half at one): a step that did not, done with the given Jacobian, marks it
        # as inaccurate there
        trusted[active[newton & ~(r_new <= 0.5 * ra)]] = False
        step = damping
        for _halving in range(30):
            if not bad.any():
                break
            k = np.flatnonzero(bad)
            kh = k[half[k]]
            trials = _clip(np.concatenate([xa[:, k] + step * ga[:, k],
                                           0.5 * (xa[:, kh] + x_new[:, kh])], axis=1),
                           lower, upper)
            g_trials = F(trials, subset(p, np.concatenate([k, kh]))) - trials
            r_trials = _residual(g_trials)
            x_new[:, k], g_new[:, k], r_new[k] = (trials[:, :k.size], g_trials[:, :k.size],
                                                  r_trials[:k.size])
            better = np.flatnonzero(np.isfinite(r_trials[k.size:])
                                    & (r_trials[k.size:] < ra[kh]))
            x_new[:, kh[better]] = trials[:, k.size + better]
            g_new[:, kh[better]] = g_trials[:, k.size + better]
            r_new[kh[better]] = r_trials[k.size + better]
            iters[active[k]] += 1
            iters[active[kh]] += 1
            damped = np.setdiff1d(k, kh[better], assume_unique=True)
            dX[:, :, active[damped]] = 0.0
            dG[:, :, active[damped]] = 0.0
            bad[k] = ~np.isfinite(r_new[k])
            half[k] = False
            step *= 0.5
        if memory:
            dX[slot][:, active] = x_new - xa
            dG[slot][:, active] = g_new - ga
            slot = (slot + 1) % memory
        finite = np.isfinite(r_new)
        x[:, active[finite]], g[:, active[finite]] = x_new[:, finite], g_new[:, finite]
        res[active[finite]] = r_new[finite]
        alive[active[~finite]] = False
        iters[active] += 1
        improved = res[active] < 0.9 * best[active]
        best[active] = np.where(improved, res[active], best[active])
        since[active] = np.where(improved, 0, since[active] + 1)
        alive[active[since[active] > patience]] = False
        if keep is not None:
            alive[active] &= keep(x[:, active], p)
    converged = np.isfinite(res) & (res <= tol) & np.all(np.isfinite(x), axis=0)
    return FixedPointResult(x=x, converged=converged, residual=res, iterations=iters, tol=tol)


def solve_coarse_to_fine(coarse: tuple[FixedPointMap, Jacobian | None],
                         fine: tuple[FixedPointMap, Jacobian | None], x0: np.ndarray,
                         params: Mapping[str, object], *, coarse_tol: float = 1e-5,
                         polish_only_converged: bool = False, **options) -> FixedPointResult:
    """:func:`solve` with a cheap approximation of the map first (e.g. fewer quadrature nodes).

    The iterations that approach the fixed point use ``coarse`` = (map, Jacobian) down to
    ``coarse_tol``; ``fine`` then takes every point (or, with ``polish_only_converged``, the
    points the coarse stage converged) to ``options["tol"]`` in a few Newton steps. Where the
    coarse stage failed and the two maps differ by more than 100 ``coarse_tol`` at the start
    (they differ by ~1e-4 at most where the coarse map serves, e.g. 64 against 256 quadrature
    nodes), the coarse map was too rough to lead anywhere (a sharp integrand at low
    temperature): the fine map starts afresh there. The result is judged on the fine map only:
    its fixed points and residuals are the fine map's.
    """
    F_c, J_c = coarse
    F_f, J_f = fine
    first = solve(F_c, x0, params, **{**options, "tol": coarse_tol, "exact": J_c})
    start = first.x.copy()
    x0 = np.broadcast_to(np.asarray(x0, dtype=float).reshape(start.shape[0], -1), start.shape)
    rough = _too_rough(F_c, F_f, x0, params, ~first.converged, 100 * coarse_tol)
    start[:, rough] = x0[:, rough]
    polish = np.ones_like(first.converged) if not polish_only_converged else (
        first.converged | rough)
    x = start
    converged = np.zeros_like(first.converged)
    residual = np.full(first.residual.shape, np.inf)
    iterations = first.iterations.copy()
    k = np.flatnonzero(polish)
    if k.size:
        second = solve(F_f, start[:, k], subset(params, k), **{**options, "exact": J_f})
        x[:, k], converged[k] = second.x, second.converged
        residual[k], iterations[k] = second.residual, iterations[k] + second.iterations
    return FixedPointResult(x=x, converged=converged, residual=residual,
                            iterations=iterations, tol=options.get("tol", 1e-11))


def _too_rough(F_c: FixedPointMap, F_f: FixedPointMap, x0: np.ndarray,
               params: Mapping[str, object], failed: np.ndarray, tol: float) -> np.ndarray:
    """The ``failed`` points where the coarse and fine maps differ by more than ``tol`` at the
    start x0 (n, M)."""
    rough = np.zeros(failed.shape, dtype=bool)
    k = np.flatnonzero(failed)
    if k.size:
        p = subset(params, k)
        with np.errstate(invalid="ignore"):
            rough[k] = np.max(np.abs(F_c(x0[:, k], p) - F_f(x0[:, k], p)), axis=0) > tol
    return rough


def _anderson(x_damped: np.ndarray, g: np.ndarray, dX: np.ndarray, dG: np.ndarray,
              damping: float) -> np.ndarray:
    """Type-II Anderson mixing over a short history (columns of zeros are inert)."""
    A = np.moveaxis(dG, 2, 0).transpose(0, 2, 1)  # (M, n, m)
    At = np.transpose(A, (0, 2, 1))
    gram = At @ A
    scale = np.trace(gram, axis1=1, axis2=2)[:, None, None]
    m = gram.shape[-1]
    gram = gram + (1e-10 * scale + 1e-300) * np.eye(m)
    rhs = At @ g.T[:, :, None]
    gamma = np.linalg.solve(gram, rhs)[:, :, 0]  # (M, m)
    correction = np.einsum("jnk,jk->nk", dX + damping * dG, gamma.T)
    out = x_damped - correction
    return np.where(np.isfinite(out), out, x_damped)


def _newton_step(F: FixedPointMap, x: np.ndarray, g: np.ndarray, params: Mapping[str, object],
                 lower: np.ndarray | None, upper: np.ndarray | None,
                 exact: Jacobian | None, given: np.ndarray) -> np.ndarray:
    """One Newton step on G(x) = F(x) - x: the ``exact`` Jacobian at the points ``given``,
    forward differences at the others."""
    n, M = x.shape
    J = np.empty((M, n, n))
    if given.any():
        J[given] = exact(x[:, given], subset(params, given))
    if not given.all():
        rest = ~given
        J[rest] = jacobian(F, x[:, rest], subset(params, rest), fx=(g + x)[:, rest],
                           lower=lower, upper=upper)
    A = J - np.eye(n)
    ok = np.all(np.isfinite(A), axis=(1, 2)) & (np.abs(np.linalg.det(np.where(
        np.isfinite(A), A, 0.0))) > 1e-300)
    step = np.zeros_like(x)
    if ok.any():
        step[:, ok] = -np.linalg.solve(A[ok], g[:, ok].T[:, :, None])[:, :, 0].T
    return x + step

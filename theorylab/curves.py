"""Transition lines traced as curves in the plane of two control parameters (a, b).

A transition line of a two-parameter family of fixed-point problems x = F(x; a, b) (x of shape
(n,), NaN outside the map's domain) is the one-dimensional solution set {y : G(y) = 0} of an
augmented system G: R^(k+1) -> R^k whose last two coordinates are the control parameters (a, b)
and whose first ones are the state of the branch (or branches) the line belongs to:

* :func:`fold_system`, a spinodal: the fold (saddle-node) of a branch;
* :func:`crossing_system`, a first-order line: the free energies of two branches cross;
* :func:`eigenvalue_system`, a continuous line: a stability eigenvalue of a branch crosses one
  (with the branch solved inside its invariant subspace when the crossing breaks a symmetry).

:func:`trace` follows such a curve by pseudo-arclength continuation with adaptive steps, and says
why each end is one: the curve left the box of control parameters (it is then clipped exactly on
the boundary), its projection on the (a, b) plane turns back at a cusp, the map's domain ends,
the corrector fails, the curve closes on itself, or a rule of the system ends it (two branches of
a crossing merge). :func:`trace_both` traces both ways from a seed. :func:`locate` finds the
point of a line at a given value of a or of b; :func:`intersect` finds every point where a traced
curve crosses such a value (more than one where the line is re-entrant).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from theorylab.continuation import _jac, _tangent

BranchMap = Callable[[np.ndarray, float, float], np.ndarray]
"""``F(x, a, b) -> x'`` for one point, x of shape (n,); NaN outside the map's domain."""
MapJacobian = Callable[[np.ndarray, float, float], np.ndarray]
"""``jac(x, a, b) -> dF_i/dx_j``, shape (n, n)."""
FreeEnergy = Callable[[np.ndarray, float, float], float]
Equations = Callable[[np.ndarray], np.ndarray]
StopRule = Callable[[np.ndarray, np.ndarray], str | None]

_AXES = {"a": -2, "b": -1}  # where a control parameter sits in y
# A turn-back of the (a, b) projection is a cusp when the (a, b) part of the unit tangent
# vanishes there; finite-difference tangents err by ~1e-7, a sharp smooth bend keeps far more.
_CUSP = 1e-4
# Central differences of a map with step ~ eps^(1/3) balance truncation and rounding: the
# Jacobian's error (a few 1e-11 for a map of order one) stays below the tolerance on the test
# functions built from it.
_CENTRAL = 6e-6
_WHY = {
    "seed": "the seed",
    "box": "left the box of control parameters",
    "cusp": "a cusp of the (a, b) projection, where the curve turns back (e.g. the spinodals of "
            "two branches meeting at a critical point)",
    "closed": "returned to its start (a closed curve)",
    "domain": "the map is not finite beyond the last point (the edge of its domain)",
    "corrector": "the corrector failed down to the smallest step (the line ends or is singular)",
    "max_steps": "the step budget ran out",
    "merged": "the two branches merged (a critical point)",
}


@dataclass(frozen=True)
class System:
    """An augmented system G(y) = 0 whose solution curve is a transition line.

    Attributes
    ----------
    equations
        ``G(y) -> (k,)`` for y of shape (k + 1,); the last two coordinates of y are (a, b).
    kind
        ``"spinodal"``, ``"first-order"`` or ``"continuous"`` (the kinds of
        :class:`theorylab.model.LineInfo`).
    size
        k + 1, the length of y.
    stop
        Optional ``stop(previous, current) -> reason or None``: the line ends between two
        consecutive points (e.g. ``"merged"`` where two branches meet); :func:`trace` approaches
        that end by bisecting the step.
    """

    equations: Equations
    kind: str
    size: int
    stop: StopRule | None = None

    def __call__(self, y: np.ndarray) -> np.ndarray:
        return self.equations(y)


@dataclass(frozen=True)
class Subspace:
    """An invariant subspace of a map holding a branch: x = embed(z) with z = F(z; a, b).

    Invariant means that the full map sends the subspace into itself, as the fixed set of a
    symmetry does (m1 = m2 for a symmetric state; x = 0 for a paramagnet, with n = 0).

    Attributes
    ----------
    F
        The reduced map ``F(z, a, b) -> z'``, z of shape (n,): the full map within the subspace.
    n
        Number of reduced variables (0 for a branch that is a fixed point, e.g. x = 0).
    embed
        ``embed(z) -> x``: the full state.
    """

    F: BranchMap
    n: int
    embed: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Point:
    """A point of a line at a fixed value of one control parameter (:func:`locate`).

    Attributes
    ----------
    y : ndarray, shape (k + 1,)
        The point (state, a, b); the fixed coordinate holds exactly the requested value.
    residual : float
        max_i |G_i(y)| (inf where G is not finite).
    converged : bool
        ``residual <= tol``.
    iterations : int
        Newton steps taken.
    message : str
    """

    y: np.ndarray
    residual: float
    converged: bool
    iterations: int
    message: str

    @property
    def a(self) -> float:
        return float(self.y[-2])

    @property
    def b(self) -> float:
        return float(self.y[-1])


@dataclass(frozen=True)
class Curve:
    """A traced line: its points in order along the curve, and why each end is one.

    Attributes
    ----------
    y : ndarray, shape (npts, k + 1)
        Points (state, a, b) in order. Empty when the seed did not converge.
    converged : ndarray of bool, shape (npts,)
        ``residual <= tol``.
    residual : ndarray, shape (npts,)
        max_i |G_i(y)| at each point.
    ends : tuple of str
        Why the curve stops at its first and at its last point: ``"seed"`` (a one-way trace
        starts there), ``"box"`` (clipped on the boundary of the box of (a, b)), ``"cusp"``,
        ``"closed"``, ``"domain"``, ``"corrector"``, ``"max_steps"``, or a reason of the system
        (``"merged"``).
    message : str
        How it was traced and what each end is.
    G : callable
        The system whose solution curve this is (used by :func:`intersect`).
    tol : float
    """

    y: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    ends: tuple[str, str]
    message: str
    G: Equations = field(repr=False, compare=False)
    tol: float

    @property
    def a(self) -> np.ndarray:
        return self.y[:, -2]

    @property
    def b(self) -> np.ndarray:
        return self.y[:, -1]


# --- the three kinds of line ------------------------------------------------------------------


def fold_system(F: BranchMap, n: int, jac: MapJacobian | None = None, *,
                seed: np.ndarray | None = None) -> System:
    """Spinodal: the fold (saddle-node) of a branch of x = F(x; a, b).

    y = (x, a, b) and G = [F(x; a, b) - x, s(x; a, b)], where s is the bordered test function:
    the last component of the solution of M [v; s] = [0; 1], M = [[J - I, B], [C^T, 0]],
    J = dF/dx. By Cramer's rule s = det(J - I) / det(M): where M is regular (B, C not orthogonal
    to the left and right null vectors of J - I), s vanishes exactly where J - I is singular and
    is smooth with a non-zero gradient at a simple fold; unlike det(J - I) it is scaled like the
    critical eigenvalue, not like the product of all of them.

    The system is regular at a fold with a simple zero eigenvalue of J - I and dF/d(a, b) not in
    the range of J - I, including a cusp of the fold line's projection on the (a, b) plane (there
    the curve's tangent is the null vector of J - I: it turns in the state only). It is singular
    where the branch equation is: at a pitchfork of a symmetric branch (use
    :func:`eigenvalue_system` with a :class:`Subspace`), and where two eigenvalues reach one.

    Parameters
    ----------
    F
        The fixed-point map ``F(x, a, b)``, x of shape (n,).
    n
        Number of order parameters.
    jac
        Exact ``dF/dx`` (else central differences).
    seed
        A point (x, a, b) near the line: the borders B, C are the left and right singular vectors
        of J - I there for its smallest singular value, so the bordered matrix is as far from
        singular as it can be along the line near the seed. Without a seed, B = C = (1, ..., 1)
        / sqrt(n), which serves when n = 1, and otherwise while the null vectors of J - I along
        the line stay away from orthogonal to (1, ..., 1).
    """
    B, C = _borders(F, n, jac, seed)

    def equations(y: np.ndarray) -> np.ndarray:
        x, a, b = y[:n], y[n], y[n + 1]
        A = _map_jacobian(F, jac, x, a, b) - np.eye(n)
        return np.append(F(x, a, b) - x, _bordered(A, B, C))

    return System(equations, kind="spinodal", size=n + 2)


def crossing_system(F1: BranchMap, n1: int, F2: BranchMap, n2: int, f1: FreeEnergy,
                    f2: FreeEnergy, *, merge_tol: float = 1e-2) -> System:
    """First-order line: the free energies of two branches cross.

    y = (x1, x2, a, b) and G = [F1(x1) - x1, F2(x2) - x2, f1(x1; a, b) - f2(x2; a, b)]. Regular
    where both branches are regular (no fold) and the free-energy difference changes sign across
    the line.

    When both branches have the same order parameters (n1 == n2) they can merge, at a critical
    point where the first-order line ends: there the system is singular (every point x1 = x2
    solves it). The curve then ends with reason ``"merged"`` where the two states come within
    ``merge_tol`` (max-norm) of each other, or would swap. Near a critical point the branch
    equations degenerate (cubically, at a Landau critical point), so a residual tol leaves the
    states undetermined by up to ~ tol / |x1 - x2|^2, and within ~ tol^(1/3) of the critical
    point a residual no longer tells the two branches apart: ``merge_tol`` must stay well above
    that (the default, for tol = 1e-10).

    Parameters
    ----------
    F1, F2
        The fixed-point maps of the two branches, ``F(x, a, b)``.
    n1, n2
        Their numbers of order parameters.
    f1, f2
        Their free energies ``f(x, a, b) -> float``.
    merge_tol
        Distance between the two states at which they count as merged.
    """

    def equations(y: np.ndarray) -> np.ndarray:
        x1, x2, a, b = y[:n1], y[n1:n1 + n2], y[-2], y[-1]
        return np.concatenate([F1(x1, a, b) - x1, F2(x2, a, b) - x2,
                               [f1(x1, a, b) - f2(x2, a, b)]])

    stop = _merging(n1, merge_tol) if n1 == n2 else None
    return System(equations, kind="first-order", size=n1 + n2 + 2, stop=stop)


def eigenvalue_system(F: BranchMap, n: int, jac: MapJacobian | None = None,
                      embed: Subspace | None = None) -> System:
    """Continuous line: the leading stability eigenvalue of a branch crosses one.

    G = [branch equation, max Re eig(J) - 1], with J = dF/dx the Jacobian of the FULL map on the
    branch (the convention of :func:`theorylab.saddle.stability`). Without ``embed``,
    y = (x, a, b) and the branch equation is F(x) - x; with it, y = (z, a, b), the branch
    equation is the reduced one, embed.F(z) - z, and J is taken at x = embed.embed(z).

    With ``embed``, the test function is the leading eigenvalue of J restricted to the
    directions out of the subspace (its orthogonal complement): the symmetry-breaking modes,
    which is where such an instability acts (an eigenvalue of a mode inside the subspace, e.g.
    a symmetric mixture's own amplitude mode near its onset, can lead without being the
    crossing one and would put a kink in the max).

    Where it is regular: the test function is smooth where the leading eigenvalue is real
    and simple, and the line is regular where that eigenvalue crosses one transversally (a
    non-zero derivative along the branch) while the branch equation stays regular. Every
    eigenvalue of J reaching one makes the full J - I singular, so without ``embed`` the system
    is regular only where the crossing is a fold of the branch (it is then the fold line of
    :func:`fold_system` with another test function). A crossing that breaks a symmetry (a
    pitchfork: the paramagnet x = 0 losing stability, a symmetric state losing stability in an
    antisymmetric direction) leaves the branch in its invariant subspace, where the reduced
    J - I stays regular because the critical eigenvector points out of the subspace: pass that
    subspace as ``embed``. Without it, such a line is a curve of singular points: traced, if at
    all, with points less accurate than their residual says. Not regular either: where two
    leading eigenvalues collide (the max has a kink), where a complex pair leads, and where the
    reduced branch folds.

    Parameters
    ----------
    F
        The full fixed-point map ``F(x, a, b)``, x of shape (n,).
    n
        Number of order parameters of the full map.
    jac
        Exact ``dF/dx`` of the full map (else central differences).
    embed
        The invariant subspace holding the branch, with its reduced map.
    """
    space = embed if embed is not None else Subspace(F, n, lambda z: z)

    def equations(y: np.ndarray) -> np.ndarray:
        z, a, b = y[:space.n], y[-2], y[-1]
        J = _map_jacobian(F, jac, space.embed(z), a, b)
        if embed is not None:
            Q = _complement(space, z, n)
            J = Q.T @ J @ Q
        lead = _leading_eigenvalue(J) if J.size else np.nan
        return np.append(space.F(z, a, b) - z, lead - 1.0)

    return System(equations, kind="continuous", size=space.n + 2)


def _complement(space: Subspace, z: np.ndarray, n: int) -> np.ndarray:
    """Orthonormal basis (n, n - k) of the directions out of an embedded subspace at z: where
    a symmetry-breaking instability acts. The subspace's tangent is taken from the embedding
    by unit differences (exact for the affine embeddings of fixed values and equal groups)."""
    base = space.embed(z)
    tangent = np.array([space.embed(z + e) - base for e in np.eye(space.n)]).reshape(-1, n).T
    if tangent.shape[1] == 0:
        return np.eye(n)
    u, sv, _ = np.linalg.svd(tangent, full_matrices=True)
    rank = int(np.sum(sv > 1e-12))
    return u[:, rank:]


def _leading_eigenvalue(J: np.ndarray) -> float:
    """Largest real part of the eigenvalues of J (NaN if J is not finite). A symmetric J (the
    Jacobian of a free energy's gradient map) is diagonalised as such: a degenerate leading
    pair (a symmetry between order parameters) then stays exactly degenerate and smooth, where
    a general eigensolver splits it by ~sqrt(machine epsilon) and spoils finite differences."""
    if not np.all(np.isfinite(J)):
        return np.nan
    if np.allclose(J, J.T, rtol=0.0, atol=1e-12 * max(1.0, np.abs(J).max())):
        return float(np.linalg.eigvalsh(0.5 * (J + J.T))[-1])
    return float(np.linalg.eigvals(J).real.max())


def _map_jacobian(F: BranchMap, jac: MapJacobian | None, x: np.ndarray, a: float,
                  b: float) -> np.ndarray:
    """dF/dx at one point: exact, or central differences."""
    if jac is not None:
        return np.asarray(jac(x, a, b), dtype=float).reshape(x.size, x.size)
    J = np.empty((x.size, x.size))
    for j in range(x.size):
        h = _CENTRAL * max(1.0, abs(x[j]))
        xp, xm = x.copy(), x.copy()
        xp[j] += h
        xm[j] -= h
        J[:, j] = (F(xp, a, b) - F(xm, a, b)) / (2 * h)
    return J


def _borders(F: BranchMap, n: int, jac: MapJacobian | None,
             seed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The borders (B, C) of the fold test function (see :func:`fold_system`)."""
    if seed is not None:
        seed = np.asarray(seed, dtype=float)
        A = _map_jacobian(F, jac, seed[:n], seed[n], seed[n + 1]) - np.eye(n)
        if np.all(np.isfinite(A)):
            U, _, Vt = np.linalg.svd(A)
            return U[:, -1], Vt[-1]
    ones = np.ones(n) / np.sqrt(n)
    return ones, ones


def _bordered(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> float:
    """s of [[A, B], [C^T, 0]] [v; s] = [0; 1] (NaN where that matrix is singular)."""
    n = A.shape[0]
    M = np.zeros((n + 1, n + 1))
    M[:n, :n], M[:n, n], M[n, :n] = A, B, C
    rhs = np.zeros(n + 1)
    rhs[n] = 1.0
    if not np.all(np.isfinite(M)):
        return np.nan
    try:
        return float(np.linalg.solve(M, rhs)[n])
    except np.linalg.LinAlgError:
        return np.nan


def _merging(n: int, merge_tol: float) -> StopRule:
    """The stop rule of a crossing of two branches with the same order parameters."""

    def stop(previous: np.ndarray, current: np.ndarray) -> str | None:
        before = previous[:n] - previous[n:2 * n]
        after = current[:n] - current[n:2 * n]
        # Past the critical point the curve continues with the two states swapped.
        if np.max(np.abs(after)) < merge_tol or before @ after <= 0:
            return "merged"
        return None

    return stop


# --- points of a line at a fixed control parameter -------------------------------------------


def _axis(fix: str) -> int:
    if fix not in _AXES:
        raise ValueError(f"fix must be 'a' or 'b' (got {fix!r})")
    return _AXES[fix]


def _checked(G: Equations, y: np.ndarray) -> np.ndarray:
    """A float copy of a point, checked against the system's length of y."""
    y = np.array(y, dtype=float)
    if isinstance(G, System) and y.shape != (G.size,):
        raise ValueError(f"a point of this {G.kind} system has {G.size} coordinates "
                         f"(state, a, b); got shape {y.shape}")
    return y


def _max_abs(g: np.ndarray) -> float:
    return float(np.max(np.abs(g))) if np.all(np.isfinite(g)) else np.inf


def _newton(H: Equations, v: np.ndarray, tol: float,
            maxiter: int) -> tuple[np.ndarray, float, int]:
    """Newton on H(v) = 0 with minimum-norm steps (square or underdetermined), backtracking
    where a step leaves H's domain or grows the residual; returns (v, residual, steps)."""
    h = H(v)
    r = _max_abs(h)
    for iteration in range(maxiter):
        if r <= tol or not np.isfinite(r):
            return v, r, iteration
        J = _jac(H, v, h)
        if not np.all(np.isfinite(J)):
            return v, r, iteration
        step = np.linalg.lstsq(J, -h, rcond=None)[0]
        for _halving in range(20):
            h_try = H(v + step)
            r_try = _max_abs(h_try)
            if r_try < r or r_try <= tol:
                break
            step = 0.5 * step
        else:
            return v, r, iteration + 1
        v, h, r = v + step, h_try, r_try
    return v, r, maxiter


@np.errstate(all="ignore")
def locate(G: Equations, y_guess: np.ndarray, fix: str, value: float, *, tol: float = 1e-10,
           maxiter: int = 50) -> Point:
    """The point of a line at a fixed value of one control parameter.

    Newton on the square system [G(y) = 0, y[fix] = value], solved in the other k coordinates
    (the fixed one is set exactly).

    Parameters
    ----------
    G
        The line's system (e.g. from :func:`fold_system`).
    y_guess
        A point near the wanted one, shape (k + 1,).
    fix
        ``"a"`` or ``"b"``: the control parameter held at ``value``.
    tol
        Convergence threshold on max_i |G_i(y)|.
    """
    y = _checked(G, y_guess)
    y[_axis(fix)] = value
    free = np.delete(np.arange(y.size), y.size + _axis(fix))

    def H(v: np.ndarray) -> np.ndarray:
        full = y.copy()
        full[free] = v
        return np.asarray(G(full), dtype=float)

    v, residual, iterations = _newton(H, y[free], tol, maxiter)
    y[free] = v
    converged = residual <= tol
    verdict = "converged" if converged else "did not converge"
    relation = "<=" if converged else ">"
    message = (f"{verdict} at {fix} = {value:g}: residual {residual:.3g} {relation} {tol:g} "
               f"after {iterations} Newton steps")
    return Point(y=y, residual=residual, converged=converged, iterations=iterations,
                 message=message)


def intersect(curve: Curve, fix: str, value: float) -> tuple[Point, ...]:
    """Every point where a traced curve crosses ``fix`` = ``value``, in order along the curve.

    Each crossing between two consecutive points (or a point exactly at the value) is refined by
    :func:`locate` on the curve's own system, from the chord's crossing. A re-entrant line
    crosses a value more than once.
    """
    d = curve.y[:, _axis(fix)] - value
    closed = curve.ends == ("closed", "closed")  # the last point repeats the first
    hits = []
    for i in range(d.size):
        if d[i] == 0 and not (closed and i == d.size - 1):
            hits.append(curve.y[i])
        elif i + 1 < d.size and d[i] * d[i + 1] < 0:
            theta = d[i] / (d[i] - d[i + 1])
            hits.append(curve.y[i] + theta * (curve.y[i + 1] - curve.y[i]))
    return tuple(locate(curve.G, guess, fix, value, tol=curve.tol) for guess in hits)


# --- tracing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Scaled coordinates u = (y - origin) / width: the box of (a, b) becomes [0, 1]^2 and the
    state is measured in units of ``x_scale``, so one arclength serves every parameter scale."""

    origin: np.ndarray
    width: np.ndarray

    def u(self, y: np.ndarray) -> np.ndarray:
        return (y - self.origin) / self.width

    def y(self, u: np.ndarray) -> np.ndarray:
        return self.origin + self.width * u


def _inside(u: np.ndarray, margin: float = 0.0) -> bool:
    return bool(np.all((u[-2:] >= -margin) & (u[-2:] <= 1.0 + margin)))


def _start(Gu: Equations, u0: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray] | str:
    """The seed corrected onto the curve (minimum-norm Newton) and its tangent, or why not."""
    u, residual, iterations = _newton(Gu, u0, tol, 50)
    if not residual <= tol:
        return (f"the seed did not converge (residual {residual:.3g} > {tol:g} after "
                f"{iterations} Newton steps)")
    # A seed on the boundary of the box may come back from the scaling a rounding error outside.
    if not _inside(u, margin=1e-12):
        return "the corrected seed lies outside the box"
    J = _jac(Gu, u, Gu(u))
    if not np.all(np.isfinite(J)):
        return "the system is not finite next to the seed"
    return u, _tangent(J, None)


def _orient(t: np.ndarray, direction: float) -> np.ndarray:
    """Orient a tangent towards increasing b (a if b is stationary, then the state) times the sign
    of ``direction``."""
    key = next((c for c in (t[-1], t[-2], *t[:-2]) if abs(c) > 1e-8), 1.0)
    return t if key * direction > 0 else -t


def _correct(Gu: Equations, u_pred: np.ndarray, t: np.ndarray, tol: float,
             maxiter: int = 10) -> tuple[np.ndarray | None, int, str]:
    """Newton on {G(u) = 0, t . (u - u_pred) = 0}: (point or None, iterations, why not)."""
    u = u_pred.copy()
    for iteration in range(maxiter + 1):
        g = Gu(u)
        if not np.all(np.isfinite(g)):
            return None, iteration, "domain"
        if np.max(np.abs(g)) <= tol:
            return u, iteration, ""
        if iteration == maxiter:
            break
        J = _jac(Gu, u, g)
        if not np.all(np.isfinite(J)):
            return None, iteration, "domain"
        try:
            u = u - np.linalg.solve(np.vstack([J, t]), np.append(g, t @ (u - u_pred)))
        except np.linalg.LinAlgError:
            break
    return None, maxiter, "corrector"


def _advance(Gu: Equations, u: np.ndarray, t: np.ndarray, ds: float, *, ds_min: float,
             ds_max: float, angle_max: float, tol: float
             ) -> tuple[np.ndarray, np.ndarray, float, float] | str:
    """One step from u along t: (point, its tangent, step taken, next step), or why none.

    A step is halved when the corrector fails, drifts farther than the step from the predictor,
    or the tangent turns by more than ``angle_max`` (down to ``ds_min``, where a turn is taken
    as it is). The next step aims at a turn of 0.8 ``angle_max``, grows at most 1.5 times, and
    halves after a slow corrector.
    """
    why = "corrector"
    while ds >= ds_min:
        u_pred = u + ds * t
        u_new, iterations, why_not = _correct(Gu, u_pred, t, tol)
        if u_new is None or np.linalg.norm(u_new - u_pred) > ds:
            why = why_not or "corrector"
            ds *= 0.5
            continue
        J = _jac(Gu, u_new, Gu(u_new))
        if not np.all(np.isfinite(J)):
            why = "domain"
            ds *= 0.5
            continue
        t_new = _tangent(J, t)
        turn = float(np.arccos(np.clip(t @ t_new, -1.0, 1.0)))
        if turn > angle_max and 0.5 * ds >= ds_min:
            ds *= 0.5
            continue
        grow = 0.5 if iterations > 4 else min(1.5, 0.8 * angle_max / max(turn, 1e-12))
        return u_new, t_new, ds, float(np.clip(ds * grow, ds_min, ds_max))
    return why


def _approach(Gu: Equations, u: np.ndarray, t: np.ndarray, length: float, halt: StopRule,
              tol: float, ds_min: float) -> np.ndarray | None:
    """The farthest point within ``length`` of u along the curve where ``halt`` does not fire
    yet (bisection on the step)."""
    lo, hi, best = 0.0, length, None
    while hi - lo > ds_min:
        mid = 0.5 * (lo + hi)
        u_mid = _correct(Gu, u + mid * t, t, tol)[0]
        if u_mid is not None and halt(u, u_mid) is None:
            lo, best = mid, u_mid
        else:
            hi = mid
    return best


def _cusp(Gu: Equations, u_a: np.ndarray, u_b: np.ndarray, t_a: np.ndarray,
          tol: float) -> np.ndarray | None:
    """The cusp between two points across which the (a, b) part of the tangent turned back.

    Points of the curve are parametrised by their position tau along the chord (corrected in the
    hyperplane normal to it); the (a, b) part of the tangent, projected on its value at u_a,
    changes sign between the ends and is found by Brent's method. It is a cusp if the whole
    (a, b) part of the tangent vanishes there; otherwise the projection only bends sharply.
    """
    chord = u_b - u_a
    unit = chord / np.linalg.norm(chord)
    ref = t_a[-2:]

    def on_curve(tau: float) -> tuple[np.ndarray | None, np.ndarray]:
        u = _correct(Gu, u_a + tau * chord, unit, tol, maxiter=30)[0]
        if u is None:
            return None, np.full(2, np.nan)
        J = _jac(Gu, u, Gu(u))
        if not np.all(np.isfinite(J)):
            return None, np.full(2, np.nan)
        return u, _tangent(J, t_a)[-2:]

    try:
        tau = optimize.brentq(lambda s: float(on_curve(s)[1] @ ref), 0.0, 1.0, xtol=1e-12)
    except (ValueError, RuntimeError):  # the curve could not be followed between the points
        return None
    u, t_ab = on_curve(tau)
    return u if u is not None and np.linalg.norm(t_ab) <= _CUSP else None


def _passes(u0: np.ndarray, t0: np.ndarray, u_a: np.ndarray, u_b: np.ndarray,
            t_b: np.ndarray) -> bool:
    """Whether the step u_a -> u_b passes through the start u0, in the direction it left."""
    chord = u_b - u_a
    theta = (u0 - u_a) @ chord / (chord @ chord)
    gap = np.linalg.norm(u_a + theta * chord - u0)
    return bool(0.0 <= theta <= 1.0 and gap <= 0.1 * np.linalg.norm(chord) and t0 @ t_b > 0)


def _exit(G: Equations, frame: _Frame, lower: np.ndarray, upper: np.ndarray,
          u_in: np.ndarray, u_out: np.ndarray, tol: float) -> np.ndarray | None:
    """The point where the curve leaves the box between u_in (inside) and u_out (outside), on
    the boundary: located with the crossed coordinate pinned, on the side crossed first."""
    chord = u_out - u_in
    sides = []
    for c, name in ((-2, "a"), (-1, "b")):
        if u_out[c] < 0.0:
            sides.append(((0.0 - u_in[c]) / chord[c], name, lower[c]))
        elif u_out[c] > 1.0:
            sides.append(((1.0 - u_in[c]) / chord[c], name, upper[c]))
    for theta, name, value in sorted(sides):
        guess = u_in + theta * chord
        point = locate(G, frame.y(guess), name, value, tol=tol)
        u = frame.u(point.y)
        other = -3 - _axis(name)
        if (point.converged and -1e-9 <= u[other] <= 1 + 1e-9
                and np.linalg.norm(u - guess) <= np.linalg.norm(chord)):
            return point.y
    return None


def _curve(G: Equations, ys: Sequence[np.ndarray], size: int, ends: tuple[str, str],
           tol: float, note: str = "") -> Curve:
    y = np.array(ys, dtype=float).reshape(-1, size)
    residual = np.array([_max_abs(np.asarray(G(p), dtype=float)) for p in y])
    if y.shape[0]:
        note = (f"{y.shape[0]} points; first end at (a, b) = ({y[0, -2]:.10g}, {y[0, -1]:.10g}):"
                f" {_WHY.get(ends[0], ends[0])}; last end at (a, b) = ({y[-1, -2]:.10g}, "
                f"{y[-1, -1]:.10g}): {_WHY.get(ends[1], ends[1])}")
    return Curve(y=y, converged=residual <= tol, residual=residual, ends=ends, message=note,
                 G=G, tol=tol)


@np.errstate(all="ignore")
def trace(G: Equations, y0: np.ndarray, *, lower: Sequence[float], upper: Sequence[float],
          x_scale: float | np.ndarray = 1.0, ds: float = 0.01, ds_min: float = 1e-6,
          ds_max: float = 0.05, angle_max: float = 0.1, max_steps: int = 2000,
          tol: float = 1e-10, direction: float = 1.0) -> Curve:
    """Trace the curve {y : G(y) = 0} one way from a seed, by pseudo-arclength continuation.

    Each step predicts along the unit tangent (the null vector of dG/dy) and corrects by Newton
    on {G = 0, t . (y - y_pred) = 0}. Arclength is measured in scaled coordinates: a and b in
    units of the box's widths, the state in units of ``x_scale``. Steps adapt (see
    ``angle_max``), so a curve is sampled densely where it bends and sparsely where it is
    straight; near a cusp of its (a, b) projection the curve moves in the state only, so the
    points crowd in the (a, b) plane.

    The curve ends where it (the reasons of :attr:`Curve.ends`)

    * leaves the box [lower, upper] of (a, b) (``"box"``): the last point is the exact crossing
      of the boundary, located with the crossed coordinate pinned (an end exactly on, e.g.,
      T = T_min);
    * reaches a cusp of its (a, b) projection (``"cusp"``, located where the (a, b) part of the
      tangent vanishes), where a spinodal ends at a critical point;
    * meets a stop rule of the system (:attr:`System.stop`), approached by bisection of the step;
    * cannot be continued, even by a step of ``ds_min``: the map is not finite there
      (``"domain"``) or the corrector fails (``"corrector"``, also when the crossing of the
      box's boundary cannot be located); the last point is the last converged one;
    * returns to its start (``"closed"``; the last point repeats the first), or uses up
      ``max_steps``.

    A numerical failure never raises: a seed that does not converge gives an empty curve whose
    message says why.

    Parameters
    ----------
    G
        ``G(y) -> (k,)`` for y of shape (k + 1,) ending with (a, b); NaN outside its domain. A
        :class:`System` brings its stop rule.
    y0
        A point on or near the curve (corrected first by minimum-norm Newton steps).
    lower, upper
        The box of (a, b).
    x_scale
        Typical size of the state coordinates (a scalar or one per coordinate).
    ds, ds_min, ds_max
        First, smallest and largest step, in scaled arclength.
    angle_max
        Largest turn of the unit tangent (radians, in scaled coordinates) over one step; a step
        that turns more is halved, and the next one aims at 0.8 ``angle_max``.
    max_steps
        Largest number of steps.
    tol
        Convergence threshold on max_i |G_i(y)|.
    direction
        +1 to start towards increasing b (increasing a where b is stationary), -1 the other way.
    """
    y0 = _checked(G, y0)
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if lower.shape != (2,) or upper.shape != (2,) or not np.all(upper > lower):
        raise ValueError("lower and upper must be two values each, with upper > lower")
    size = y0.size
    scale = np.broadcast_to(np.asarray(x_scale, dtype=float), (size - 2,))
    frame = _Frame(origin=np.concatenate([np.zeros(size - 2), lower]),
                   width=np.concatenate([scale, upper - lower]))

    def Gu(u: np.ndarray) -> np.ndarray:
        return np.asarray(G(frame.y(u)), dtype=float)

    start = _start(Gu, frame.u(y0), tol)
    if isinstance(start, str):
        return _curve(G, [], size, ("seed", "seed"), tol, f"no curve: {start}")
    u, t = start[0], _orient(start[1], direction)
    stop = G.stop if isinstance(G, System) else None

    def halt(u_a: np.ndarray, u_b: np.ndarray) -> str | None:
        return None if stop is None else stop(frame.y(u_a), frame.y(u_b))

    u_start, t_start = u, t
    ys, far = [frame.y(u)], 0.0
    for _ in range(max_steps):
        step = _advance(Gu, u, t, ds, ds_min=ds_min, ds_max=ds_max, angle_max=angle_max,
                        tol=tol)
        if isinstance(step, str):
            end = step
            break
        u_new, t_new, taken, ds = step
        end = halt(u, u_new)
        if end is not None:
            last = _approach(Gu, u, t, taken, halt, tol, ds_min)
            ys.extend([] if last is None else [frame.y(last)])
            break
        if t[-2:] @ t_new[-2:] < 0:
            cusp = _cusp(Gu, u, u_new, t, tol)
            if cusp is not None and _inside(cusp):
                ys.append(frame.y(cusp))
                end = "cusp"
                break
        if not _inside(u_new):
            boundary = _exit(G, frame, lower, upper, u, u_new, tol)
            ys.extend([] if boundary is None else [boundary])
            end = "corrector" if boundary is None else "box"
            break
        far = max(far, float(np.linalg.norm(u_new - u_start)))
        if far > 2 * taken and _passes(u_start, t_start, u, u_new, t_new):
            ys.append(ys[0])
            end = "closed"
            break
        ys.append(frame.y(u_new))
        u, t = u_new, t_new
    else:
        end = "max_steps"
    ends = ("closed", "closed") if end == "closed" else ("seed", end)
    return _curve(G, ys, size, ends, tol)


def trace_both(G: Equations, y0: np.ndarray, **options) -> Curve:
    """Trace the curve through a seed both ways and join the halves into one ordered curve.

    ``options`` are those of :func:`trace` but ``direction``. The first end is the one reached
    going towards decreasing b (decreasing a where b is stationary at the seed), the last
    towards increasing b. A closed curve is traced once.
    """
    forward = trace(G, y0, direction=1.0, **options)
    if forward.y.shape[0] == 0 or forward.ends == ("closed", "closed"):
        return forward
    backward = trace(G, forward.y[0], direction=-1.0, **options)
    if backward.y.shape[0] == 0:
        return forward
    y = np.concatenate([backward.y[::-1], forward.y[1:]])
    return _curve(G, list(y), y.shape[1], (backward.ends[1], forward.ends[1]), forward.tol)

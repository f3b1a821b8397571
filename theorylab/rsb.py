"""One-step replica symmetry breaking (1RSB) states and the T = 0 capacity of the dense
Hopfield network.

Numerics only: the 1RSB free energy, its stationarity conditions and fixed-point map are
derived in :mod:`derivations.dense_hopfield_1rsb` (spec ``shared/specs/dense-hopfield.md`` §6,
§8) and used here through :func:`derivations.dense_hopfield_1rsb.equations`.

Conventions (spec §1, §6): spins ±1, K = αN^{P−1}, T = 1/β. The order parameters x are
(m, q₀, q₁) for P ≥ 3 and (m, q₀, q₁, r₀, r₁) for P = 2; at T = 0, q₁ = 1 and they are (m, q₀)
for P ≥ 3, (m, q₀, C, r₀, r₁) for P = 2 with C = β(1 − q₁). The Parisi parameter p is θ ∈ (0, 1]
at T > 0 and μ = βθ ∈ (0, ∞) at T = 0 (θ → 0 with μ fixed).

A 1RSB state solves (spec §6)

    x = F(x; α, T, p)           (∂f/∂x = 0, the derived fixed-point map),            (1)
    ∂f/∂p = 0,                  and p maximises the reduced free energy
                                f̄(p) = f(x(p), p) along the solution x(p) of (1).     (2)

(1)–(2) are solved jointly for (x, ln p) by MINPACK's hybrid Newton (``hybr``) with
forward-difference Jacobian, the map evaluated on the physical domain (:func:`_domain`). That p
maximises f̄ is checked by d²f̄/d(ln p)² = det J / det ∂G/∂x (:func:`_curvature`, J the
Jacobian of the joint system, G = F − x). Without a start the maximiser is bracketed first by a
scan of f̄ over ln p from the RS end down (warm-started inner solves of (1) that keep the phase
and the sheet, spec §6: "keep m > 0 at every μ evaluated"), refined by a bounded maximisation
(:func:`_scan`). With a previous state as start (continuation) there is no scan: a failure
there means the branch has ended.

Replica symmetry (RS) is the limit θ = 1 or q₀ = q₁ (T > 0) and μ → ∞ (T = 0, then q₀ → 1):
if f̄ is largest at the top of the μ scan, the state is reported as the RS one with μ = ∞, from
the RS equations of :mod:`derivations.dense_hopfield`. A finite μ* with q₀ = 1 to 1e-8 (P = 3,
α ≲ 0.05, spec §6 "weakly RSB") is RS to solver precision; μ* itself is then not resolved
(f̄ is flat to ~1e-12 and the default quadrature loses accuracy at μ ≳ 100).

T = 0 capacity (spec §6 "End of the T = 0 retrieval branch"): at fixed μ the m > 0 solutions
of (1) exist only inside a window of μ, and the branch ends where the maximiser μ* of f̄ reaches
the window's edge, i.e. where the Jacobian of G(x) = F(x) − x at fixed μ becomes singular.
There the reduced f̄ has a cusp: dμ/ds = 0 along the solution curve, so df̄/ds = ∂f/∂μ dμ/ds = 0
on both of its sheets, and the stationary point of (2) moves onto the other sheet where it is a
*minimum* of f̄ (d²f̄/dμ² = det J / det ∂G/∂x changes sign through ∞). So α_c^1RSB is the
root (x, μ, α) of

    G(x; α, μ) = 0,    μ ∂f/∂μ = 0,    det ∂G/∂x = 0,                                  (3)

found by Newton (:func:`capacity_1rsb`) at the end of a continuation in α, and accepted if it
lies in the continuation's final bracket. Close to α_c the window is narrow (P = 3, α = 0.1534:
μ* within 0.01 of its edge), so μ grids coarser than that lose the branch early; the
continuation therefore follows the joint root (x, ln μ) of (1)–(2), which is smooth through
the fold (det J ≠ 0 there): past α_c it is the minimum of f̄ (curvature > 0), and 1/curvature =
det ∂G/∂x / det J crosses zero linearly at α_c, which starts the fold Newton. The continuation
and a first fold Newton run at coarse quadrature (:data:`COARSE_NODES`), the fold is finished
at the full nodes; where that fails the whole is repeated at the full nodes, and last the
original fixed-step continuation with bisection to 1e-5 (:func:`_capacity_bisection`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, special

from derivations import dense_hopfield as rs_derivation
from derivations import dense_hopfield_1rsb as derivation
from theorylab import saddle

PHASES = ("retrieval", "spin-glass")

RETRIEVAL_OVERLAP = 0.1
"""A retrieval state has m above this (the glass has m = 0; spec §6: wide μ scans drift onto it)."""

TOL = 1e-9
"""Target residual max(|F(x) − x|, |p ∂f/∂p|) of a returned state."""

MU_RANGE = (0.1, 1e3)
"""μ range of the T = 0 scan; beyond its top the state is RS to solver precision (spec §6)."""

THETA_RANGE = (0.02, 1.0)
"""θ range of the T > 0 scan; θ = 1 is RS."""

SCAN_POINTS = 25
"""Grid points of the scan in ln p."""

NODES = (derivation.DEFAULT_OUTER_NODES, derivation.DEFAULT_INNER_NODES)
"""Quadrature nodes (outer, inner per half); P = 2 at μ ≳ 40 needs about twice as many for
stationarity to 1e-8 (the defaults leave ~1e-7 in ∂f/∂r₀)."""

JUMP = 0.1
"""Largest change of any order parameter between neighbouring scan points on one sheet."""


@dataclass(frozen=True)
class RSBState:
    """A 1RSB saddle point, and how well it was found.

    Attributes
    ----------
    P, alpha, T, phase
        The model point and the branch ("retrieval": m > 0; "spin-glass": m = 0).
    overlaps
        Order parameters by name (module docstring), at T = 0 without q₁ = 1.
    parisi
        θ (T > 0) or μ = βθ (T = 0); ``inf`` is the RS limit μ → ∞.
    free_energy
        f per spin (the ground-state energy e at T = 0).
    converged
        residual <= tol, the phase kept, and p a maximiser of f̄ (curvature < 0) or RS.
    residual
        max(|F(x) − x|, |p ∂f/∂p|) at the state (the RS residual for an RS state).
    curvature
        d²f̄/d(ln p)² = det J / det ∂G/∂x (:func:`_curvature`); NaN where f̄ is flat (RS
        states), −inf on the fold (3) (the end of the T = 0 retrieval branch).
    evaluations
        Calls of the compiled equations spent.
    method
        How the state was obtained.
    """

    P: int
    alpha: float
    T: float
    phase: str
    overlaps: Mapping[str, float]
    parisi: float
    free_energy: float
    converged: bool
    residual: float
    curvature: float
    evaluations: int
    method: str
    tol: float = TOL

    @property
    def m(self) -> float:
        return self.overlaps["m"]

    @property
    def q0(self) -> float:
        return self.overlaps["q0"]

    @property
    def q1(self) -> float:
        return self.overlaps.get("q1", 1.0)

    @property
    def parisi_name(self) -> str:
        return "mu" if self.T == 0 else "theta"

    @property
    def replica_symmetric(self) -> bool:
        """μ = ∞ (T = 0), or θ = 1 or q₀ = q₁ to 1e-8 (T > 0)."""
        return (math.isinf(self.parisi) or abs(self.parisi - 1) < 1e-8
                or self.q1 - self.q0 < 1e-8)

    @property
    def message(self) -> str:
        status = "converged" if self.converged else "NOT converged"
        return (f"{status}: residual {self.residual:.2e} (tol {self.tol:g}), "
                f"{self.parisi_name} = {self.parisi:.6g}, curvature {self.curvature:.3g}, "
                f"{self.evaluations} evaluations; {self.method}")


@dataclass(frozen=True)
class Capacity:
    """α_c^1RSB(P) at T = 0 and how it was obtained.

    Attributes
    ----------
    alpha_c
        The largest α with a retrieval 1RSB state.
    state
        The state at α_c (on the fold (3)), or the last state of the continuation.
    bracket
        (last α with a state, first α without one) of the continuation.
    alpha_rs
        The RS capacity (spec §2.2, §2.1 closed forms).
    method
        How α_c was obtained (fold Newton, or the bracket's lower end if that failed).
    evaluations
        Calls of the compiled equations spent.
    """

    P: int
    alpha_c: float
    state: RSBState
    bracket: tuple[float, float]
    alpha_rs: float
    method: str
    evaluations: int


class _Counter:
    def __init__(self) -> None:
        self.calls = 0


@dataclass(frozen=True)
class _Equations:
    """The compiled 1RSB equations at fixed quadrature node counts (outer z₀, inner per half
    of z₁; :class:`derivations.dense_hopfield_1rsb.Compiled1RSB`)."""

    compiled: derivation.Compiled1RSB
    outer: int
    inner: int

    @property
    def variables(self) -> tuple[str, ...]:
        return self.compiled.variables

    def fixed_point(self, x, params):
        return self.compiled.fixed_point(x, params, outer=self.outer, inner=self.inner)

    def stationarity(self, x, params):
        return self.compiled.stationarity(x, params, outer=self.outer, inner=self.inner)

    def free_energy(self, x, params):
        return self.compiled.free_energy(x, params, outer=self.outer, inner=self.inner)


def _problem(P: int, T: float, nodes: tuple[int, int]):
    """Equations, parameters without p, and the name of p."""
    zero = T == 0
    compiled = derivation.equations(P, zero_temperature=zero)
    params = {"alpha": None} if zero else {"alpha": None, "T": T}
    return _Equations(compiled, *nodes), params, compiled.parameters[-1]


def _domain(P: int, T: float) -> Callable[[np.ndarray], np.ndarray]:
    """Projection onto the physical domain: |m| <= 1, 0 <= q₀ <= q₁ <= 1, C >= 0,
    0 <= r₀ <= r₁ (each variance of the nested field non-negative)."""
    def project(x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float)
        x[0] = np.clip(x[0], -1, 1)
        if T == 0 and P > 2:
            x[1] = np.clip(x[1], 0, 1)
            return x
        if T == 0:  # (m, q0, C, r0, r1)
            x[1] = np.clip(x[1], 0, 1)
            x[2] = max(x[2], 0.0)
        else:
            x[2] = np.clip(x[2], 0, 1)
            x[1] = np.clip(x[1], 0, x[2])
        if P == 2:
            x[3] = max(x[3], 0.0)
            x[4] = max(x[4], x[3])
        return x
    return project


def _params(base: Mapping, alpha: float, name: str, p: float) -> dict:
    return {**base, "alpha": alpha, name: p}


def _inner(eq, project, params, x0, counter):
    """Root of G(x) = F(x) − x at fixed p (hybr), or None; accepted at 10³·TOL (a scan point:
    the returned state is polished by the joint solve)."""
    def G(x):
        counter.calls += 1
        return eq.fixed_point(project(x), params) - x
    with np.errstate(all="ignore"):
        sol = optimize.root(G, x0, method="hybr", tol=1e-13,
                            options={"maxfev": 50 * (len(x0) + 1)})
    if not sol.success or not np.all(np.isfinite(sol.x)):
        return None
    x = project(sol.x)
    return x if np.max(np.abs(G(x))) < 1e3 * TOL else None


def _joint_residual(eq, project, base, alpha, name, counter):
    """H(x, ln p) = (F(x) − x, p ∂f/∂p): conditions (1)–(2) of the module docstring."""
    def H(y):
        counter.calls += 2
        x, p = project(y[:-1]), math.exp(y[-1])
        params = _params(base, alpha, name, p)
        g = eq.fixed_point(x, params) - y[:-1]
        slope = eq.stationarity(x, params)[-1] * p
        return np.append(g, slope)
    return H


def _in_phase(x, phase: str) -> bool:
    return x[0] > RETRIEVAL_OVERLAP if phase == "retrieval" else abs(x[0]) < 1e-8


def _reduced(eq, project, base, alpha, name, p, x0, phase, counter):
    """f̄(p) and x(p) on the phase's branch, or (nan, None)."""
    params = _params(base, alpha, name, p)
    x = _inner(eq, project, params, x0, counter)
    if x is None or not _in_phase(x, phase):
        return math.nan, None
    counter.calls += 1
    return float(eq.free_energy(x, params)), x


def _central_jacobian(fun: Callable[[np.ndarray], np.ndarray], y: np.ndarray,
                      h: float = 1e-5) -> np.ndarray:
    """∂fun/∂y by central differences (step h·max(1, |y_j|))."""
    J = np.empty((y.size, y.size))
    for j in range(y.size):
        step = np.zeros(y.size)
        step[j] = h * max(1.0, abs(y[j]))
        J[:, j] = (fun(y + step) - fun(y - step)) / (2 * step[j])
    return J


def _curvature(H: Callable[[np.ndarray], np.ndarray], y: np.ndarray) -> float:
    """d²f̄/d(ln p)² at a root y = (x, ln p) of H = (G, φ), G = F − x, φ = p ∂f/∂p.

    Along the solution x(s) of G = 0 (s = ln p), df̄/ds = φ, dx/ds = −G_x⁻¹ G_s, so
    d²f̄/ds² = φ_s − φ_x G_x⁻¹ G_s = det J / det G_x (Schur complement), J = ∂H/∂y. No inner
    solves: it stays defined up to the edge of the μ-window, where det G_x → 0 and it
    diverges (module docstring).
    """
    J = _central_jacobian(H, y)
    n = y.size - 1
    return float(np.linalg.det(J) / np.linalg.det(J[:n, :n]))


def _default_start(P: int, alpha: float, T: float, phase: str) -> np.ndarray:
    """Start of the scan. T = 0 retrieval: next to the RS state where it exists (spec §2),
    at the top of the μ range, q₀ near 1; for P = 2 with the RS
    C_RS = C + μ(1 − q₀) split evenly and r₀ = r_RS, r₁ = r_RS(1 + 10⁻³) (r₀ = r₁ exactly
    is the degenerate RS point the solver does not leave); so the scan enters the sheet
    connected to RS."""
    m = 0.95 if phase == "retrieval" else 0.0
    q = 0.0 if phase == "spin-glass" else 0.95
    if T > 0 and P == 2 and phase == "retrieval":
        # q split by ±0.05 about the RS (AGS) retrieval state, which keeps the P = 2
        # logarithms' arguments 1 − β(1 − q₁) − βθ(q₁ − q₀) positive
        rs = rs_derivation.equations(2)
        sol = saddle.solve(rs.fixed_point, np.array([m, 0.9, 2.0]), {"alpha": alpha, "T": T},
                           damping=0.2, lower=np.array([-1.0, 0.0, 0.0]),
                           upper=np.array([1.0, 1.0, np.inf]))
        m, q, r = sol.x[:, 0] if sol.converged[0] else (m, 0.9, 2.0)
        return np.array([m, q - 0.05, min(q + 0.05, 1.0), r, r * (1 + 1e-3)])
    if T > 0:
        return np.array([m, q, 0.97] if P > 2 else [m, q, 0.97, 1.2, 1.3])
    if phase == "retrieval":
        rs = rs_derivation.equations(P, zero_temperature=True)
        start = [1.0] if P > 2 else [1.0, 0.0, 1.0]
        sol = optimize.root(lambda x: rs.fixed_point(x, {"alpha": alpha}) - x, start,
                            method="hybr", tol=1e-13)
        if sol.success and sol.x[0] > RETRIEVAL_OVERLAP:
            if P > 2:
                return np.array([sol.x[0], 1 - 1e-3])
            m, C, r = sol.x
            return np.array([m, 1 - C / (2 * MU_RANGE[1]), C / 2, r, r * (1 + 1e-3)])
    return np.array([m, q] if P > 2 else [m, 1 - 1e-3, 0.1, 1.2, 1.21])


def _rs_state(P, alpha, phase, x_guess, counter, method) -> RSBState:
    """The T = 0 RS state (μ = ∞, q₀ = q₁ = 1) from the RS equations."""
    rs = rs_derivation.equations(P, zero_temperature=True)
    params = {"alpha": alpha}
    start = [x_guess[0]] if P > 2 else [x_guess[0], x_guess[2], x_guess[4]]

    def G(x):
        counter.calls += 1
        return rs.fixed_point(x, params) - x
    sol = optimize.root(G, start, method="hybr", tol=1e-13)
    residual = float(np.max(np.abs(G(sol.x))))
    x = sol.x
    overlaps = {"m": x[0], "q0": 1.0} if P > 2 else \
        {"m": x[0], "q0": 1.0, "C": x[1], "r0": x[2], "r1": x[2]}
    return RSBState(P, alpha, 0.0, phase, {k: float(v) for k, v in overlaps.items()}, math.inf,
                    float(rs.free_energy(x, params)),
                    bool(residual <= TOL and _in_phase(x, phase)), residual, math.nan,
                    counter.calls, method)


def _scan(eq, project, base, alpha, name, T, phase, x0, counter, points=SCAN_POINTS,
          xatol=1e-8):
    """The maximiser of f̄ over ln p on the sheet of solutions reached from the RS end.

    The grid runs from large p (RS end) down with warm starts from the last point kept; a
    point whose solve fails, leaves the phase or jumps (|Δx| > JUMP from the last point kept)
    is skipped, so the sheet followed is the one the scan entered, never another sheet or
    phase reached by a warm start from outside its window (spec §6). The best grid point is
    refined by a bounded maximisation of f̄ over ln p between its grid neighbours (inner
    solves warm-started from it) to ``xatol`` in ln p.

    Returns (p, x), ("rs", x) if f̄ is largest at the RS end, or (None, None).
    """
    lo, hi = MU_RANGE if T == 0 else THETA_RANGE
    grid = np.geomspace(hi, lo, points)
    found = []
    for i, p in enumerate(grid):
        f, x = _reduced(eq, project, base, alpha, name, p, x0, phase, counter)
        if x is None or (found and np.max(np.abs(x - found[-1][3])) > JUMP):
            continue
        found.append((i, p, f, x))
        x0 = x
    if not found:
        return None, None
    k = int(np.argmax([f for _, _, f, _ in found]))
    i, p, f, x = found[k]
    if i == 0:
        return "rs", x
    upper, lower = grid[i - 1], grid[min(i + 1, grid.size - 1)]

    def minus_f(log_p):
        value, _ = _reduced(eq, project, base, alpha, name, math.exp(log_p), x, phase, counter)
        # outside the window: worse than the grid point (keeps Brent inside the sheet)
        return -value if math.isfinite(value) else -f + 1.0

    best = optimize.minimize_scalar(minus_f, bounds=(math.log(lower), math.log(upper)),
                                    method="bounded", options={"xatol": xatol})
    _, x_best = _reduced(eq, project, base, alpha, name, math.exp(best.x), x, phase, counter)
    return (math.exp(best.x), x_best) if x_best is not None else (p, x)


def solve_1rsb(P: int, alpha: float, T: float, phase: str,
               start: RSBState | tuple | None = None, *,
               nodes: tuple[int, int] = NODES) -> RSBState:
    """The 1RSB state of one phase at (α, T): (1)–(2) of the module docstring.

    Parameters
    ----------
    P
        Interaction order, >= 2.
    alpha, T
        Load K/N^{P−1} and temperature (T = 0: the exact T → 0 equations at fixed μ = βθ).
    phase
        "retrieval" (m > RETRIEVAL_OVERLAP) or "spin-glass" (m = 0).
    start
        A previous :class:`RSBState` (continuation), or (x, p) with x in the variable order of
        the compiled equations (a failed given start falls back to the scan); None: scan p
        (module docstring). A continuation start with no solution returns not converged.
    nodes
        Quadrature nodes (outer, inner per half) of the nested averages (:data:`NODES`).

    Returns
    -------
    RSBState
        With ``converged`` false (and the reason in ``method``) if no maximising solution of
        the phase was found; never silently replaced by another phase.
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    if T < 0 or alpha <= 0:
        raise ValueError("need T >= 0 and alpha > 0")
    eq, base, name = _problem(P, T, nodes)
    project, counter = _domain(P, T), _Counter()
    names = eq.variables

    def polish(x0, p0, how):
        return _polish(eq, project, base, name, P, alpha, T, phase, x0, p0, how, counter)

    if isinstance(start, RSBState) and not math.isinf(start.parisi):
        # continuation: no fallback, a failure marks the end of the branch
        return polish(np.array([start.overlaps[n] for n in names]), start.parisi,
                      f"start: state at alpha = {start.alpha:g}")
    how = []
    if isinstance(start, tuple):
        guess = np.asarray(start[0], dtype=float)
        state = polish(guess, float(start[1]), "start: given")
        if state.converged:
            return state
        how.append(f"given start failed ({state.method})")
    elif isinstance(start, RSBState):
        guess = np.array([start.overlaps[n] for n in names])
    else:
        guess = _default_start(P, alpha, T, phase)
    p0, x0 = _scan(eq, project, base, alpha, name, T, phase, guess, counter)
    if p0 is None:
        return RSBState(P, alpha, T, phase, dict(zip(names, map(float, guess), strict=True)),
                        math.nan, math.nan, False, math.inf, math.nan, counter.calls,
                        "; ".join([*how, f"no {phase} solution at any {name} scanned"]))
    if p0 == "rs":
        if T == 0:
            return _rs_state(P, alpha, phase, x0, counter,
                             f"RS (mu = inf): f-bar increases up to mu = {MU_RANGE[1]:g}")
        p0 = THETA_RANGE[1]
    how.append(f"start: scan of {name} in {MU_RANGE if T == 0 else THETA_RANGE}")
    return polish(x0, p0, "; ".join(how))


def _polish(eq, project, base, name, P, alpha, T, phase, x0, p0, how, counter) -> RSBState:
    """Joint hybr on (1)–(2) from (x0, p0), and the checks of :class:`RSBState`."""
    H = _joint_residual(eq, project, base, alpha, name, counter)
    with np.errstate(all="ignore"):
        sol = optimize.root(H, np.append(x0, math.log(p0)), method="hybr", tol=1e-13)
    x, p = project(sol.x[:-1]), math.exp(sol.x[-1])
    residual = float(np.max(np.abs(H(np.append(x, sol.x[-1])))))
    f = float(eq.free_energy(x, _params(base, alpha, name, p)))
    overlaps = dict(zip(eq.variables, map(float, x), strict=True))
    state = RSBState(P, alpha, T, phase, overlaps, p, f, False, residual, math.nan,
                     counter.calls, f"{how}; joint hybr on (x, ln p)")
    if not np.isfinite(residual) or residual > TOL or not _in_phase(x, phase):
        reason = "left the phase" if np.isfinite(residual) and residual <= TOL else \
            "joint solve failed"
        return replace(state, method=f"{state.method}: {reason}", evaluations=counter.calls)
    if T > 0 and (p > 1 or state.replica_symmetric):
        return replace(state, converged=p <= 1, evaluations=counter.calls,
                       method=state.method + ("; RS (q0 = q1)" if p <= 1 else "; theta > 1"))
    curvature = _curvature(H, np.append(x, math.log(p)))
    return replace(state, curvature=curvature, converged=bool(curvature < 0),
                   evaluations=counter.calls,
                   method=state.method + ("" if curvature < 0 else "; not a maximum of f-bar"))


def rs_capacity(P: int) -> float:
    """RS capacity at T = 0 (spec §2.1, §2.2): P = 2: max_y ½(erf(y)/y − (2/√π)e^{−y²})²;
    P >= 3: max_y erf(y)^{2(P−1)} / (2(P−1)! y²)."""
    if P == 2:
        def value(y):
            return 0.5 * (special.erf(y) / y - 2 / math.sqrt(math.pi) * math.exp(-y * y)) ** 2
    else:
        def value(y):
            return special.erf(y) ** (2 * (P - 1)) / (2 * math.factorial(P - 1) * y * y)
    best = optimize.minimize_scalar(lambda y: -value(y), bounds=(0.1, 5), method="bounded",
                                    options={"xatol": 1e-12})
    return float(-best.fun)


COARSE_NODES = (48, 32)
"""Quadrature nodes (outer, inner per half) of the continuation in α of :func:`capacity_1rsb`:
its states only start the fold Newton, which is then finished at the full nodes (at P = 3 they
move the fold by ~1e-5 relative; the default nodes agree with twice as many to ~1e-10)."""

CAPACITY_SCAN = (13, 1e-3, (32, 24))
"""Grid points, ln μ tolerance and quadrature nodes of the μ scan that finds the continuation's
first state (it only has to land on the sheet connected to RS: the joint Newton polishes μ)."""


def _joint_columns(eq, project, base, alpha, name, counter):
    """H of :func:`_joint_residual` at every column of Y (shape (n + 1, k)): one batched call of
    the map and one of the stationarity (each column counted as two evaluations)."""
    def H(Y):
        n = Y.shape[0] - 1
        X = np.stack([project(Y[:n, k]) for k in range(Y.shape[1])], axis=1)
        p = np.exp(Y[n])
        params = _params(base, alpha, name, p)
        counter.calls += 2 * Y.shape[1]
        g = eq.fixed_point(X, params) - Y[:n]
        return np.vstack([g, eq.stationarity(X, params)[-1] * p])
    return H


def _newton_state(eq, project, base, name, P, alpha, phase, y0, how, counter, jacobian=None,
                  h=1e-5, maxiter=12):
    """Newton on (1)–(2) in y = (x, ln μ) at T = 0: (state, J). The continuation's solver
    (cheaper than :func:`_polish`'s hybr, same acceptance tests).

    With a ``jacobian`` (the previous state's J) first chord steps (one point each) while the
    residual at least halves; then Newton with the central-difference Jacobian of
    :func:`_curvature` (step h·max(1, |y_j|)), H at y and its 2(n + 1) neighbours in one batched
    call, whose last J (at the root) gives the curvature det J / det ∂G/∂x.
    """
    H = _joint_columns(eq, project, base, alpha, name, counter)
    y = np.array(y0, dtype=float)
    m = y.size
    residual, J = math.inf, None
    with np.errstate(all="ignore"):
        previous, best = math.inf, y
        for _ in range(8 if jacobian is not None else 0):
            r = H(y[:, None])[:, 0]
            residual = float(np.max(np.abs(r)))
            if not residual <= 0.5 * previous:
                y = best  # chord stalled or diverged: Newton from its best point
                break
            if residual <= 1e-3 * TOL:
                break
            previous, best = residual, y
            y = y - np.linalg.solve(jacobian, r)
        for _ in range(maxiter):
            steps = h * np.maximum(1.0, np.abs(y))
            Y = np.repeat(y[:, None], 2 * m + 1, axis=1)
            Y[np.arange(m), 1 + 2 * np.arange(m)] += steps
            Y[np.arange(m), 2 + 2 * np.arange(m)] -= steps
            HY = H(Y)
            r = HY[:, 0]
            J = (HY[:, 1::2] - HY[:, 2::2]) / (2 * steps)
            residual = float(np.max(np.abs(r)))
            if not np.isfinite(residual) or residual <= 1e-3 * TOL:
                break
            try:
                y = y - np.linalg.solve(J, r)
            except np.linalg.LinAlgError:
                residual = math.inf
                break
            if not (np.all(np.isfinite(y)) and abs(y[-1]) < 50):  # diverged (μ off the scale)
                residual = math.inf
                break
    x, p = project(y[:-1]), math.exp(y[-1]) if abs(y[-1]) < 50 else math.nan
    n = m - 1
    ok = np.isfinite(residual) and residual <= TOL and _in_phase(x, phase)
    curvature = float(np.linalg.det(J) / np.linalg.det(J[:n, :n])) if ok else math.nan
    f = float(eq.free_energy(x, _params(base, alpha, name, p))) if ok else math.nan
    overlaps = dict(zip(eq.variables, map(float, x), strict=True))
    method = f"{how}; Newton on (x, ln mu), central-difference Jacobian"
    if not ok:
        method += ": left the phase" if np.isfinite(residual) and residual <= TOL else \
            ": Newton failed"
    elif curvature >= 0:
        method += "; not a maximum of f-bar"
    return RSBState(P, alpha, 0.0, phase, overlaps, p, f, bool(ok and curvature < 0), residual,
                    curvature, counter.calls, method), J


def _state(eq, project, base, name, P, alpha, y0, how, counter, jacobian):
    """A T = 0 retrieval state from y0 = (x, ln μ): :func:`_newton_state`, and :func:`_polish`'s
    hybr where Newton does not converge (P = 2 at μ ~ 100, where the central differences of
    the Newton Jacobian are poorly conditioned). Returns (state, J or None)."""
    state, J = _newton_state(eq, project, base, name, P, alpha, "retrieval", y0, how, counter,
                             jacobian)
    if state.converged or (state.residual <= TOL and math.isfinite(state.curvature)):
        return state, J
    if not np.all(np.isfinite(y0)) or abs(y0[-1]) >= 50:
        return state, None
    return _polish(eq, project, base, name, P, alpha, 0.0, "retrieval", project(y0[:-1]),
                   math.exp(y0[-1]), how + "; Newton failed, hybr", counter), None


def _fold_system(eq, project, base, name, n, counter, h=1e-5):
    """(3) as a function of y = (x, ln μ, α): G = 0, μ ∂f/∂μ = 0, det ∂G/∂x = 0, with ∂G/∂x by
    central differences (step h·max(1, |x_j|)); G at x and at its 2n neighbours in one batched
    call of the compiled map (each point counted as an evaluation)."""
    def fold(y):
        x, p, a = project(y[:n]), math.exp(y[n]), y[n + 1]
        params = _params(base, a, name, p)
        steps = h * np.maximum(1.0, np.abs(y[:n]))
        points = np.repeat(y[:n, None], 2 * n + 1, axis=1)
        for j in range(n):
            points[j, 1 + 2 * j] += steps[j]
            points[j, 2 + 2 * j] -= steps[j]
        projected = np.stack([project(points[:, k]) for k in range(2 * n + 1)], axis=1)
        G = eq.fixed_point(projected, params) - points
        counter.calls += 2 * n + 2
        slope = eq.stationarity(x, params)[-1] * p
        jacobian = (G[:, 1::2] - G[:, 2::2]) / (2 * steps)
        return np.concatenate([G[:, 0], [slope, np.linalg.det(jacobian)]])
    return fold


def _forward_jacobian(fun, y, f0, eps=1e-7):
    J = np.empty((f0.size, y.size))
    for j in range(y.size):
        step = np.zeros(y.size)
        step[j] = eps * max(1.0, abs(y[j]))
        J[:, j] = (fun(y + step) - f0) / step[j]
    return J


def _fold_start(states, beyond, lo, hi):
    """Start of the fold Newton: (x, ln μ, α) linear in α through two states, at the α where
    1/curvature (= det ∂G/∂x / det J, smooth through the fold, module docstring) vanishes, α
    clipped to [lo, hi]. The two states are the last maximising one and the first past the fold
    (curvature > 0) if the continuation found one, else the last two maximising ones."""
    def vector(s):
        return np.array([*s.overlaps.values(), math.log(s.parisi), s.alpha])
    last = states[-1]
    other = beyond if beyond is not None else (states[-2] if len(states) > 1 else None)
    if other is None:
        return vector(last)
    u, v = 1 / last.curvature, 1 / other.curvature
    if not (math.isfinite(u) and math.isfinite(v)) or u == v:
        return vector(last)
    t = u / (u - v)  # fraction of the way from last to other
    y = vector(last) + t * (vector(other) - vector(last))
    a = min(max(y[-1], lo), hi)
    t = (a - last.alpha) / (other.alpha - last.alpha)
    return vector(last) + t * (vector(other) - vector(last))


BISECTION_TOL = 1e-5
"""Bracket width (relative to α_c^RS) of :func:`_capacity_bisection`, the last resort of
:func:`capacity_1rsb` (P = 2: ~27000 evaluations)."""


def capacity_1rsb(P: int, *, tol: float = 1e-2, start_fraction: float = 0.9,
                  nodes: tuple[int, int] = NODES,
                  coarse_nodes: tuple[int, int] = COARSE_NODES) -> Capacity:
    """α_c^1RSB(P) at T = 0: the end of the 1RSB retrieval branch (module docstring, (3)).

    1. First state: μ scan (:data:`CAPACITY_SCAN`) at ``start_fraction`` α_c^RS, moving up by
       5 % while the state is RS (μ = ∞).
    2. Continuation in α at ``coarse_nodes``, each joint solve started from the linear
       extrapolation of (x, ln μ) through the last two states, solved by Newton (chord steps
       with the previous state's Jacobian, then central differences: :func:`_newton_state`);
       the step grows by 1.5 after a maximising state and is halved (bisection) once a step
       finds none (Newton failed, or a state past the fold, curvature > 0), until the bracket
       (last α with a maximising state, first α without) is narrower than ``tol`` α_c^RS.
    3. Fold Newton at ``coarse_nodes``: hybr on (3) from the point where 1/curvature,
       interpolated linearly in α between the bracket's states, vanishes (:func:`_fold_start`).
    4. Fold Newton at ``nodes`` from that root: chord iterations with the coarse root's
       Jacobian (forward differences), hybr if they stall.

    The scan runs at the nodes of :data:`CAPACITY_SCAN`. Coarse nodes can move μ* a lot where
    q₀ is close to 1 (P = 6: μ* = 7.6 at the default nodes, 5.7 at (48, 32), 1.8 at (32, 24))
    and lose the branch: if steps 1–4 do not end on the fold, they are repeated with the scan
    and the continuation at ``nodes``, and if that fails too (P = 2, where μ* ~ 100 and the
    Newton continuation loses the branch near α = 0.13) by :func:`_capacity_bisection`, the
    fixed-step continuation with bisection to :data:`BISECTION_TOL` (~27 000 evaluations at
    P = 2). ``method`` says which.

    Parameters
    ----------
    P
        Interaction order.
    tol
        Width of the continuation's final bracket, relative to α_c^RS.
    start_fraction
        The continuation starts at this fraction of the RS capacity (scan of μ there).
    nodes
        Quadrature nodes (outer, inner per half) of the fold at which α_c is returned.
    coarse_nodes
        Quadrature nodes of the continuation and the first fold Newton (:data:`COARSE_NODES`).

    Returns
    -------
    Capacity
        α_c from the fold system (3) at ``nodes`` if its root lies in the bracket (widened by
        the coarse/full node difference, 1e-3 α_c^RS), else the bracket's lower end with the
        state there polished at ``nodes`` (``method`` says which).
    """
    alpha_rs = rs_capacity(P)
    first = _capacity(P, tol, start_fraction, nodes, coarse_nodes, CAPACITY_SCAN[2], alpha_rs)
    def on_fold(capacity):  # only the fold's state carries curvature −inf
        return capacity.state is not None and capacity.state.curvature == -math.inf

    if on_fold(first):
        return first
    if coarse_nodes == nodes and CAPACITY_SCAN[2] == nodes:
        return first
    retry = _capacity(P, tol, start_fraction, nodes, nodes, nodes, alpha_rs)
    method = f"at {coarse_nodes} nodes: {first.method}; retried at {nodes} nodes: {retry.method}"
    evaluations = first.evaluations + retry.evaluations
    if on_fold(retry):
        return replace(retry, evaluations=evaluations, method=method)
    slow = _capacity_bisection(P, BISECTION_TOL, start_fraction, nodes, alpha_rs)
    return replace(slow, evaluations=evaluations + slow.evaluations,
                   method=f"{method}; retried by {slow.method}")


def _capacity(P, tol, start_fraction, nodes, coarse_nodes, scan_nodes, alpha_rs) -> Capacity:
    """Steps 1–4 of :func:`capacity_1rsb`, the scan at ``scan_nodes``."""
    counter = _Counter()
    project = _domain(P, 0.0)
    coarse, base, name = _problem(P, 0.0, coarse_nodes)
    scan_eq, _, _ = _problem(P, 0.0, scan_nodes)
    n = len(coarse.variables)

    # 1. the first finite-μ state
    alpha = start_fraction * alpha_rs
    x0 = _default_start(P, alpha, 0.0, "retrieval")
    state = None
    while alpha < alpha_rs * (1 + 1e-12):
        p0, x = _scan(scan_eq, project, base, alpha, name, 0.0, "retrieval", x0, counter,
                      *CAPACITY_SCAN[:2])
        if p0 is None:
            break
        if p0 != "rs":
            state, jacobian = _state(coarse, project, base, name, P, alpha,
                                     np.append(x, math.log(p0)), "start: scan", counter, None)
            break
        x0, alpha = x, alpha * 1.05  # RS here: move on to where μ* is finite
    if state is None or not state.converged:
        return Capacity(P, math.nan, state, (math.nan, math.nan), alpha_rs,
                        f"no finite-mu retrieval state near alpha = {alpha:g}", counter.calls)

    # 2. continuation and bisection on existence, coarse nodes
    states, beyond, failed = [state], None, []
    lo, hi = state.alpha, math.inf  # hi: a state past the fold (certain end), else inf
    step, grow = 0.02 * alpha_rs, 1.5
    for _ in range(100):
        upper = min([f for f in failed if f > lo], default=hi)  # first α without a state
        if upper - lo <= tol * alpha_rs:
            break
        a = min(lo + step, (lo + upper) / 2)
        vectors = [np.array([*s.overlaps.values(), math.log(s.parisi)]) for s in states[-2:]]
        guess = vectors[-1]
        if len(states) > 1:
            guess = vectors[1] + (a - states[-1].alpha) / (states[-1].alpha - states[-2].alpha) \
                * (vectors[1] - vectors[0])
        trial, trial_jacobian = _newton_state(coarse, project, base, name, P, a, "retrieval",
                                              guess, f"start: extrapolated to alpha = {a:g}",
                                              counter, jacobian)
        if trial.converged:
            states.append(trial)
            jacobian = trial_jacobian
            lo, step = a, grow * step
            continue
        # no maximising state at a: halve the step, and stop growing it
        failed.append(a)
        step, grow = (a - lo) / 2, 1.0
        past = trial.residual <= TOL and _in_phase(np.array(list(trial.overlaps.values())),
                                                  "retrieval")
        if past and 0 < trial.curvature < math.inf:  # past the fold: the branch ends below a
            hi, beyond = a, trial
    bracket = (lo, min([f for f in failed if f > lo], default=hi))
    if beyond is not None and beyond.alpha != bracket[1]:
        beyond = None  # only a past-fold state at the bracket's upper end starts the fold
    lo, hi = bracket
    bisection = (f"continuation in alpha at {coarse_nodes} nodes ({len(states)} states), "
                 f"bisection on existence to {tol:g} alpha_rs")

    # 3. fold Newton at coarse nodes, 4. at full nodes
    fold_coarse = _fold_system(coarse, project, base, name, n, counter)
    y0 = _fold_start(states, beyond, lo, hi)
    with np.errstate(all="ignore"):
        sol = optimize.root(fold_coarse, y0, method="hybr", tol=1e-12, options={"eps": 1e-10})
    y = sol.x
    full, _, _ = _problem(P, 0.0, nodes)
    fold = _fold_system(full, project, base, name, n, counter)
    with np.errstate(all="ignore"):
        newton = "fold Newton failed at coarse nodes"
        residual = math.inf
        coarse_residual = float(np.max(np.abs(fold_coarse(y))))
        if np.all(np.isfinite(y)) and coarse_residual < 1e-6:
            jacobian = _forward_jacobian(fold_coarse, y, fold_coarse(y))
            F, iteration = fold(y), 0
            try:
                for iteration in range(1, 31):  # noqa: B007
                    y = y - np.linalg.solve(jacobian, F)
                    F = fold(y)
                    residual = float(np.max(np.abs(F)))
                    if not residual >= 1e-11:  # converged, or NaN: hybr below
                        break
            except np.linalg.LinAlgError:
                residual = math.inf
            newton = f"chord Newton ({iteration} steps, coarse Jacobian)"
            if not residual < 1e-9:
                sol = optimize.root(fold, y, method="hybr", tol=1e-12, options={"eps": 1e-10})
                y = sol.x
                residual = float(np.max(np.abs(fold(y))))
                newton += " stalled, then hybr"
    a = float(y[n + 1])
    x, p = project(y[:n]), math.exp(y[n]) if abs(y[n]) < 50 else math.nan
    # the bracket is at coarse nodes: allow their shift of the fold (~1e-5 α_rs) with margin
    margin = 1e-3 * alpha_rs
    if bracket[0] - margin <= a <= bracket[1] + margin and residual < 1e-8 and \
            x[0] > RETRIEVAL_OVERLAP:
        overlaps = dict(zip(full.variables, map(float, x), strict=True))
        end = RSBState(P, a, 0.0, "retrieval", overlaps, p,
                       float(full.free_energy(x, _params(base, a, name, p))), True, residual,
                       -math.inf, counter.calls,
                       f"fold (3): G = 0, mu df/dmu = 0, det dG/dx = 0 on (x, ln mu, alpha): "
                       f"hybr at {coarse_nodes} nodes, {newton} at {nodes} nodes")
        return Capacity(P, a, end, bracket, alpha_rs,
                        f"{bisection}, then Newton on the fold system (3) at {coarse_nodes} "
                        f"nodes and {newton} at {nodes} nodes (residual {residual:.1e})",
                        counter.calls)
    last = states[-1]
    state = _polish(full, project, base, name, P, last.alpha, 0.0, "retrieval",
                    np.array(list(last.overlaps.values())), last.parisi,
                    f"start: state at {coarse_nodes} nodes", counter)
    return Capacity(P, state.alpha, state, bracket, alpha_rs,
                    f"{bisection} (fold Newton failed: {newton}, alpha = {a:.6g}, residual "
                    f"{residual:.1e}); the bracket's lower end", counter.calls)


def _capacity_bisection(P, tol, start_fraction, nodes, alpha_rs) -> Capacity:
    """The slow, robust path of :func:`capacity_1rsb`: continuation in α from the scanned state
    at ``start_fraction`` α_c^RS by :func:`solve_1rsb` (hybr from the previous state, fixed step
    0.02 α_c^RS halved where no maximising state is found) down to a bracket of ``tol`` α_c^RS,
    then hybr on the fold system (3) from the bracket's lower state, all at ``nodes``."""
    eq, base, name = _problem(P, 0.0, nodes)
    project, counter = _domain(P, 0.0), _Counter()
    alpha = start_fraction * alpha_rs
    state = solve_1rsb(P, alpha, 0.0, "retrieval", nodes=nodes)
    total = state.evaluations
    while state.converged and math.isinf(state.parisi) and alpha < alpha_rs:
        alpha *= 1.05  # RS here: move on to where μ* is finite
        state = solve_1rsb(P, alpha, 0.0, "retrieval", start=state, nodes=nodes)
        total += state.evaluations
    if not state.converged or math.isinf(state.parisi):
        return Capacity(P, math.nan, state, (math.nan, math.nan), alpha_rs,
                        f"no finite-mu retrieval state near alpha = {alpha:g}", total)

    step = 0.02 * alpha_rs
    while step > tol * alpha_rs:
        trial = solve_1rsb(P, state.alpha + step, 0.0, "retrieval", start=state, nodes=nodes)
        total += trial.evaluations
        if trial.converged and not math.isinf(trial.parisi):
            state = trial
        else:
            step /= 2
    bracket = (state.alpha, state.alpha + 2 * step)
    x0 = np.array([state.overlaps[n] for n in eq.variables])
    n = x0.size

    def fold(y):
        """(3): G = 0, μ ∂f/∂μ = 0, det ∂G/∂x = 0 in y = (x, ln μ, α)."""
        x, p, a = project(y[:n]), math.exp(y[n]), y[n + 1]
        params = _params(base, a, name, p)

        def G(z):
            counter.calls += 1
            return eq.fixed_point(project(z), params) - z
        counter.calls += 1
        slope = eq.stationarity(x, params)[-1] * p
        return np.concatenate([G(y[:n]), [slope, np.linalg.det(_central_jacobian(G, x))]])

    with np.errstate(all="ignore"):
        sol = optimize.root(fold, np.concatenate([x0, [math.log(state.parisi), state.alpha]]),
                            method="hybr", tol=1e-12, options={"eps": 1e-10})
    total += counter.calls
    a = float(sol.x[n + 1])
    residual = float(np.max(np.abs(fold(sol.x))))
    x, p = project(sol.x[:n]), math.exp(sol.x[n])
    # hybr may stop with "no progress" once the residual is at its noise floor: judge the root
    # by its residual, its phase and its place in the bracket
    if bracket[0] <= a <= bracket[1] and residual < 1e-8 and x[0] > RETRIEVAL_OVERLAP:
        overlaps = dict(zip(eq.variables, map(float, x), strict=True))
        end = RSBState(P, a, 0.0, "retrieval", overlaps, p,
                       float(eq.free_energy(x, _params(base, a, name, p))), True, residual,
                       -math.inf, counter.calls,
                       "fold (3): G = 0, mu df/dmu = 0, det dG/dx = 0, hybr on (x, ln mu, alpha)")
        return Capacity(P, a, end, bracket, alpha_rs,
                        f"continuation in alpha, bisection on existence to {tol:g} alpha_rs, "
                        f"then Newton on the fold system (3) (residual {residual:.1e})", total)
    return Capacity(P, state.alpha, state, bracket, alpha_rs,
                    f"continuation in alpha, bisection on existence to {tol:g} alpha_rs (fold "
                    f"Newton failed: alpha = {a:.6g}, residual {residual:.1e})", total)

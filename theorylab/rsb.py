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

found by Newton (:func:`capacity_1rsb`) from the last state of a continuation in α (previous
state as start, step halved where no maximising state is found: bisection on existence), and
accepted if it lies in the continuation's final bracket. Close to α_c the window is narrow
(P = 3, α = 0.1534: μ* within 0.01 of its edge), so μ grids coarser than that lose the branch
early.
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


def _scan(eq, project, base, alpha, name, T, phase, x0, counter):
    """The maximiser of f̄ over ln p on the sheet of solutions reached from the RS end.

    The grid runs from large p (RS end) down with warm starts from the last point kept; a
    point whose solve fails, leaves the phase or jumps (|Δx| > JUMP from the last point kept)
    is skipped, so the sheet followed is the one the scan entered, never another sheet or
    phase reached by a warm start from outside its window (spec §6). The best grid point is
    refined by a bounded maximisation of f̄ over ln p between its grid neighbours (inner
    solves warm-started from it).

    Returns (p, x), ("rs", x) if f̄ is largest at the RS end, or (None, None).
    """
    lo, hi = MU_RANGE if T == 0 else THETA_RANGE
    grid = np.geomspace(hi, lo, SCAN_POINTS)
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
                                    method="bounded", options={"xatol": 1e-8})
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


def capacity_1rsb(P: int, *, tol: float = 1e-5, start_fraction: float = 0.9,
                  nodes: tuple[int, int] = NODES) -> Capacity:
    """α_c^1RSB(P) at T = 0: the end of the 1RSB retrieval branch (module docstring, (3)).

    Parameters
    ----------
    P
        Interaction order.
    tol
        Width of the final bracket of the continuation (bisection on existence), relative to
        α_c^RS.
    start_fraction
        The continuation starts at this fraction of the RS capacity (scan of μ there).
    nodes
        Quadrature nodes (outer, inner per half) of the nested averages.

    Returns
    -------
    Capacity
        α_c from the fold system (3) if its Newton root lies in the bracket, else the bracket's
        lower end (method says which).
    """
    alpha_rs = rs_capacity(P)
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

"""The dense (P-spin) Hopfield network: its replica-symmetric free energy, written once.

Everything else — saddle-point equations, fixed-point maps, the internal energy, the T = 0
equations and the paramagnet's instability — is derived from :func:`free_energy` by
:mod:`derivations.symbolic`; hand-written equations from the papers are tests of it
(``tests/test_derivations_dense_hopfield.py``).

Convention (``shared/specs/dense-hopfield.md`` §1–§2): spins σ_i = ±1, K = αN^{P−1} patterns,

    H = −(N/2) Σ_μ :m_μ^P:     (repeated indices removed),   T = 1/β,

so β' = βP/2 is the inverse temperature of the papers that write H = −(N/P) Σ_μ m_μ^P
(e.g. Albanese, Alemanno, Alessandrelli, Barra, arXiv 2111.12997). One condensed pattern with
overlap m; q is the Edwards–Anderson overlap. Local fields are written h ~ N(mean, var):

* P = 2 (Amit, Gutfreund, Sompolinsky, Ann. Phys. 173, 30 (1987); spec §2.1), variables
  (m, q, r), field h = m + √(αr) z:

      f = m²/2 + (α/2β)[ln(1 − β(1−q)) − βq/(1 − β(1−q))] + (αβ/2) r(1−q)
          − (1/β) E ln 2cosh(βh) + α/2,

  the constant α/2 (from H = −(N/2)Σ m² + K/2 without self-couplings) kept in every phase.
* P ≥ 3 (spec §2.2: the non-condensed patterns act as a Gaussian P-spin glass), variables
  (m, q), field h = m^{P−1} + √(α(P−1)! q^{P−1}) z:

      f = (P−1)/2 · m^P − (βαP!/8)(1 − P q^{P−1} + (P−1) q^P) − (1/β) E ln 2cosh(β'h).

At T = 0 the scaling is q = 1 − C/β with C finite (:func:`derivations.symbolic.zero_temperature`);
for P ≥ 3, C drops out of the limit and q = 1.
"""

from __future__ import annotations

from functools import cache
from math import factorial

import sympy as sp

from derivations import symbolic
from derivations.symbolic import GaussianAverage, log2cosh

alpha = sp.Symbol("alpha", positive=True)
T = sp.Symbol("T", positive=True)
beta = sp.Symbol("beta", positive=True)
m, q, r, C, v = sp.symbols("m q r C v", real=True)
_h = sp.Dummy("h", real=True)


def _check_order(P: int) -> None:
    if not isinstance(P, int) or P < 2:
        raise ValueError(f"P must be an integer >= 2 (got {P!r})")


def free_energy(P: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """The RS free energy per spin f at finite temperature, and its variables.

    Returns
    -------
    f : sympy expression in the variables, ``alpha`` and ``beta``
    variables : (m, q, r) for P = 2, (m, q) for P >= 3
    """
    _check_order(P)
    if P == 2:
        soft = 1 - beta * (1 - q)
        f = (m**2 / 2
             + alpha / (2 * beta) * (sp.log(soft) - beta * q / soft)
             + alpha * beta / 2 * r * (1 - q)
             - GaussianAverage(log2cosh(beta * _h), _h, m, alpha * r) / beta
             + alpha / 2)
        return f, (m, q, r)
    noise = alpha * factorial(P - 1) * q ** (P - 1)
    # 1 − P q^{P−1} + (P−1) q^P = (1 − q)² Σ_k (k+1) q^k, factored: as q → 1 (q = 1 − C T at
    # low T) the expanded sum loses ~1e-16 β of f to cancellation, the factored one nothing.
    spin_glass = sp.factor(1 - P * q ** (P - 1) + (P - 1) * q**P)
    f = ((P - 1) * m**P / 2
         - beta * alpha * factorial(P) / 8 * spin_glass
         - GaussianAverage(log2cosh(beta * P * _h / 2), _h, m ** (P - 1), noise) / beta)
    return f, (m, q)


def _pairing(P: int, zero_temperature: bool) -> dict[sp.Symbol, sp.Symbol]:
    """Which stationarity condition each variable is solved from (x -> y: x from ∂f/∂y = 0).

    P = 2: m from ∂f/∂m, q (or C) from ∂f/∂r, r from ∂f/∂q (or ∂f/∂C) — the AGS form.
    P >= 3: m from ∂f/∂m, q from ∂f/∂q.
    """
    if P == 2:
        second = C if zero_temperature else q
        return {m: m, second: r, r: second}
    return {m: m} if zero_temperature else {m: m, q: q}


@cache
def equations(P: int, zero_temperature: bool = False) -> symbolic.CompiledEquations:
    """The RS saddle-point equations of order P, derived and compiled (cached).

    Compiled once per process from :func:`symbolic_equations`, which is derived once per
    machine and kept on disk (:func:`derivations.symbolic.cached_on_disk`).

    Parameters
    ----------
    P
        Interaction order, >= 2.
    zero_temperature
        Derive the exact T = 0 equations (q = 1 − C/β, β → ∞) instead of the finite-T ones.

    Returns
    -------
    CompiledEquations
        parameters ("alpha", "T") at finite T, ("alpha",) at T = 0; variables
        (m, q, r) [P = 2], (m, C, r) [P = 2, T = 0, C = β(1 − q)], (m, q) [P >= 3],
        (m,) [P >= 3, T = 0, where q = 1]. Its ``energy`` is u = ∂(βf)/∂β (T = 0: the ground
        state energy per spin).
    """
    return symbolic_equations(P, zero_temperature).compile()


@symbolic.cached_on_disk
def symbolic_equations(P: int, zero_temperature: bool = False) -> symbolic.Derivation:
    """The RS saddle-point equations of :func:`equations`, derived but not compiled.

    Kept on disk across processes (:func:`derivations.symbolic.cached_on_disk`).
    """
    f, variables = free_energy(P)
    u = symbolic.internal_energy(f, beta)
    if not zero_temperature:
        return symbolic.derive(f, u, variables, _pairing(P, False),
                               {"alpha": alpha, "T": T}, {beta: 1 / T})
    scaling = {q: 1 - C / beta}
    f0 = symbolic.zero_temperature(f, beta, scaling)
    u0 = symbolic.zero_temperature(u, beta, scaling)
    variables0 = (m, C, r) if P == 2 else (m,)
    return symbolic.derive(f0, u0, variables0, _pairing(P, True), {"alpha": alpha})


def _ags_solver_form() -> sp.Expr:
    """The P = 2 free energy in the variables (m, C, v): C = β(1 − q), v = αr (the noise
    variance of the field h = m + √v z), substituted before deriving.

    In them 1 − β(1 − q) = 1 − C and αr = v hold exactly, the map of C is β E[sech²(βh)]
    (:func:`derivations.symbolic.complement_tanh_squared`), and every variable is O(1) both at
    low T (where q = 1 − C T and an error δ in q is one of β δ in C) and as α → 0 near the
    Curie–Weiss point (where r ~ q/α diverges while v does not).
    """
    f, _ = free_energy(2)
    return f.subs({q: 1 - C / beta, r: v / alpha})


@cache
def solver_equations(P: int, zero_temperature: bool = False) -> symbolic.CompiledEquations:
    """The equations in the variables the solver iterates, compiled (cached).

    P = 2 at T > 0: (m, C, v) of :func:`_ags_solver_form`, stationarity pairing m from ∂f/∂m,
    C from ∂f/∂v, v from ∂f/∂C (AGS's, conjugated), so the map is the AGS one in other
    coordinates (same fixed points, same stability eigenvalues). Otherwise :func:`equations`.
    """
    if P == 2 and not zero_temperature:
        return symbolic_solver_equations().compile()
    return equations(P, zero_temperature)


@symbolic.cached_on_disk
def symbolic_solver_equations() -> symbolic.Derivation:
    """The P = 2, T > 0 equations of :func:`solver_equations`, derived but not compiled (kept on
    disk across processes)."""
    f = _ags_solver_form()
    return symbolic.derive(f, symbolic.internal_energy(f, beta), (m, C, v), {m: m, C: v, v: C},
                           {"alpha": alpha, "T": T}, {beta: 1 / T}, complement=True)


@symbolic.cached_on_disk
def zero_temperature_entropy(P: int) -> sp.Expr:
    """The T → 0 limit s₀ of the RS entropy per spin, in the T = 0 variables of
    :func:`equations` (P = 2: m, C, r; P >= 3: m) and α, averages in closed form.

    Derived by :func:`derivations.symbolic.zero_temperature_entropy` (the spin entropy is
    O(T); the replica terms are left). P = 2, from the (m, C, v) form: s₀ = −(α/2)[ln(1 − C)
    + C/(1 − C)] (negative, the RS entropy of AGS). P >= 3, from (m, q) with q = 1 − C/β:
    s₀ = −αP!P(P−1)C²/16, with C → 2 E[δ(Ph/2)] (the T → 0 limit of β(1 − E tanh²(βPh/2)),
    a nascent delta): s₀ = −(P−1) φ(m^{P−1}/σ)², σ² = α(P−1)!. Then f = e₀ − T s₀ + O(T²).
    Kept on disk across processes.
    """
    _check_order(P)
    if P == 2:
        s0 = symbolic.zero_temperature_entropy(_ags_solver_form(), beta).subs(v, alpha * r)
    else:
        f, _ = free_energy(P)
        scaling = {q: 1 - C / beta}
        s0 = symbolic.zero_temperature_entropy(f, beta, scaling)
        q_map = symbolic.fixed_point_map(f, _pairing(P, False))[q]
        C0 = symbolic.zero_temperature(
            symbolic.complement_tanh_squared(beta * (1 - q_map)), beta, scaling)
        s0 = s0.subs(C, C0)
    closed = {a: symbolic.closed_form(a) for a in symbolic.averages(s0)}
    return sp.simplify(s0.xreplace(closed))


@symbolic.cached_on_disk
def paramagnet_instability(P: int) -> sp.Expr | None:
    """The temperature T_g(α) below which the paramagnet m = q = 0 is linearly unstable.

    Derived from the fixed-point map linearised at m = q (= r) = 0
    (:func:`derivations.symbolic.linearised_map`): the highest temperature at which it has an
    eigenvalue 1, where the spin-glass branch bifurcates continuously. P = 2 gives the AGS line
    T_g = 1 + √α; for P >= 3 the mean m^{P−1} and variance ∝ q^{P−1} are flat at zero, the
    linearised map vanishes and the paramagnet is always locally stable (``None``). Kept on disk
    across processes (:func:`derivations.symbolic.cached_on_disk`).
    """
    f, variables = free_energy(P)
    solved = symbolic.fixed_point_map(f, _pairing(P, False))
    jacobian = symbolic.linearised_map([solved[x] for x in variables], variables,
                                       dict.fromkeys(variables, 0))
    roots = symbolic.bifurcation_temperatures(jacobian, beta)
    if not roots:
        return None
    highest = sp.Max(*roots)
    if isinstance(highest, sp.Max):
        raise ValueError(f"cannot order the bifurcation temperatures {roots}")
    return highest

"""The derived dense-Hopfield RS equations against the papers' hand-written ones and numbers.

Conventions and reference values: ``shared/specs/dense-hopfield.md`` (H = −(N/2)Σ_μ :m_μ^P:,
K = αN^{P−1}, T = 1/β, β' = βP/2). Sources of the numbers:

* AGS (P = 2): Amit, Gutfreund, Sompolinsky, PRL 55, 1530 (1985) and Ann. Phys. 173, 30 (1987):
  α_c ≈ 0.138 with m_c ≈ 0.967 at T = 0, the retrieval/spin-glass crossing α ≈ 0.051 at T = 0,
  T_g = 1 + √α; the digits quoted are the spec's §3 rows 1, 2, 3, 4 [NUM].
* P ≥ 3: the spec's §2.2 (its RS reduction of Albanese, Alemanno, Alessandrelli, Barra,
  arXiv 2111.12997) and §3 rows 6–9 [NUM]; the Nishimori identity and the energy formula of §8
  (an independent second derivation in that spec).

Compiled equations are cached by ``equations`` (functools.cache), so each (P, T = 0) pair is
derived once per test session.
"""

from __future__ import annotations

import math
from math import factorial

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from derivations import dense_hopfield as dh
from derivations import symbolic
from theorylab.gaussian import expect

overlaps = st.floats(-1.0, 1.0)
glass = st.floats(0.01, 1.0)
loads = st.floats(0.001, 0.3)
temperatures = st.floats(0.05, 2.0)
examples = settings(max_examples=25, deadline=None)


def iterate(eq, x0, params, *, damping=0.5, tol=1e-13, maxiter=20000):
    """Damped fixed-point iteration x <- (1 − d) x + d F(x), vectorised over the grid."""
    x = np.array(x0, dtype=float)
    for _ in range(maxiter):
        new = eq.fixed_point(x, params)
        residual = np.max(np.abs(new - x))
        x = (1 - damping) * x + damping * new
        if residual < tol:
            return x
    return x


# --- the papers' equations, written by hand ---------------------------------------------------

def ags_map(m, q, r, alpha, T):
    """Spec §2.1: m = E tanh β(m + √(αr) z), q = E tanh², r = q / (1 − β(1 − q))²."""
    beta = 1 / T
    return (expect(lambda h: np.tanh(beta * h), m, alpha * r),
            expect(lambda h: np.tanh(beta * h) ** 2, m, alpha * r),
            q / (1 - beta * (1 - q)) ** 2)


def ags_free_energy(m, q, r, alpha, T):
    """Spec §2.1, with the self-coupling constant α/2."""
    beta = 1 / T
    soft = 1 - beta * (1 - q)
    return (m**2 / 2 + alpha / (2 * beta) * (np.log(soft) - beta * q / soft)
            + alpha * beta / 2 * r * (1 - q)
            - expect(lambda h: np.logaddexp(beta * h, -beta * h), m, alpha * r) / beta
            + alpha / 2)


def dense_map(P, m, q, alpha, T):
    """Spec §2.2: m = E tanh β'(m^{P−1} + s z), q = E tanh², s² = α(P−1)! q^{P−1}."""
    b = P / (2 * T)
    var = alpha * factorial(P - 1) * q ** (P - 1)
    return (expect(lambda h: np.tanh(b * h), m ** (P - 1), var),
            expect(lambda h: np.tanh(b * h) ** 2, m ** (P - 1), var))


def dense_free_energy(P, m, q, alpha, T):
    """Spec §2.2: f = −(1/β)(−βf)."""
    beta, b = 1 / T, P / (2 * T)
    var = alpha * factorial(P - 1) * q ** (P - 1)
    log_z = expect(lambda h: np.logaddexp(b * h, -b * h), m ** (P - 1), var)
    return ((P - 1) / 2 * m**P
            - beta * alpha * factorial(P) / 8 * (1 - P * q ** (P - 1) + (P - 1) * q**P)
            - log_z / beta)


def ags_map_zero_temperature(m, C, r, alpha):
    """Spec §2.1, T = 0: m = erf(m/√(2αr)), C = √(2/(παr)) e^{−m²/2αr}, r = (1 − C)^−2."""
    return (special.erf(m / np.sqrt(2 * alpha * r)),
            np.sqrt(2 / (np.pi * alpha * r)) * np.exp(-(m**2) / (2 * alpha * r)),
            (1 - C) ** -2.0)


def dense_map_zero_temperature(P, m, alpha):
    """Spec §2.2, T = 0: m = erf(m^{P−1}/√(2α(P−1)!))."""
    return special.erf(m ** (P - 1) / np.sqrt(2 * alpha * factorial(P - 1)))


# --- derived = hand-written -------------------------------------------------------------------

@examples
@given(overlaps, glass, st.floats(0.01, 5.0), loads, temperatures)
def test_ags_fixed_point_is_derived(m, q, r, alpha, T):
    assume(abs(1 - (1 - q) / T) > 1e-3)
    params = {"alpha": alpha, "T": T}
    derived = dh.equations(2).fixed_point([m, q, r], params)
    np.testing.assert_allclose(derived, ags_map(m, q, r, alpha, T), rtol=1e-12, atol=1e-14)
    assume(1 - (1 - q) / T > 0)
    assert dh.equations(2).free_energy([m, q, r], params) == pytest.approx(
        ags_free_energy(m, q, r, alpha, T), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("P", [3, 4])
@examples
@given(m=overlaps, q=glass, alpha=loads, T=temperatures)
def test_dense_fixed_point_is_derived(P, m, q, alpha, T):
    params = {"alpha": alpha, "T": T}
    eq = dh.equations(P)
    np.testing.assert_allclose(eq.fixed_point([m, q], params), dense_map(P, m, q, alpha, T),
                               rtol=1e-12, atol=1e-14)
    assert eq.free_energy([m, q], params) == pytest.approx(
        dense_free_energy(P, m, q, alpha, T), rel=1e-12, abs=1e-12)


@examples
@given(overlaps, st.floats(0.0, 0.95), st.floats(0.05, 5.0), loads)
def test_ags_zero_temperature_fixed_point_is_derived(m, C, r, alpha):
    derived = dh.equations(2, zero_temperature=True).fixed_point([m, C, r], {"alpha": alpha})
    # atol: C = 2 E δ(h) underflows to subnormal numbers (~1e-314) far in the tail, where only
    # absolute agreement is meaningful.
    np.testing.assert_allclose(derived, ags_map_zero_temperature(m, C, r, alpha), rtol=1e-13,
                               atol=1e-300)


@pytest.mark.parametrize("P", [3, 4])
@examples
@given(m=overlaps, alpha=loads)
def test_dense_zero_temperature_fixed_point_is_derived(P, m, alpha):
    derived = dh.equations(P, zero_temperature=True).fixed_point([m], {"alpha": alpha})
    np.testing.assert_allclose(derived[0], dense_map_zero_temperature(P, m, alpha), rtol=1e-13,
                               atol=1e-300)


def test_zero_temperature_free_energies():
    # The derived T -> 0 limits (q = 1 − C/β, β -> ∞): AGS
    # f0 = m²/2 − α/(2(1 − C)) + αrC/2 − E|m + √(αr) z| + α/2; P >= 3: C drops out and
    # f0 = (P−1)/2 m^P − (P/2) E|m^{P−1} + √(α(P−1)!) z|.
    m, C, r, alpha = dh.m, dh.C, dh.r, dh.alpha
    mean_abs = symbolic.closed_form(symbolic.GaussianAverage(sp.Abs(dh._h), dh._h, m, alpha * r))
    expected = m**2 / 2 - alpha / (2 * (1 - C)) + alpha * r * C / 2 - mean_abs + alpha / 2
    f0 = symbolic.zero_temperature(dh.free_energy(2)[0], dh.beta, {dh.q: 1 - C / dh.beta})
    assert sp.simplify(f0.xreplace({a: symbolic.closed_form(a) for a in symbolic.averages(f0)})
                       - expected) == 0
    for P in (3, 4):
        eq = dh.equations(P, zero_temperature=True)
        assert eq.free_energy_expr.free_symbols == {m, alpha}
        # spec §8: the RS spin-glass ground state −√(2ξ'(1)/π), ξ'(1) = αP·P!/4
        for a in (0.01, 0.1):
            assert eq.free_energy([0.0], {"alpha": a}) == pytest.approx(
                -math.sqrt(2 * a * P * factorial(P) / (4 * math.pi)), rel=1e-14)


def test_gaussian_average_derivative_rule():
    # ∂_θ E g = E ∂_θ g + E g' ∂_θ mean + ½ E g'' ∂_θ var: no z·tanh terms appear.
    f, (m, q, r) = dh.free_energy(2)
    alpha, beta, h = dh.alpha, dh.beta, dh._h

    def E(g):
        return symbolic.GaussianAverage(g, h, m, alpha * r)

    assert sp.simplify(sp.diff(f, m) - (m - E(sp.tanh(beta * h)))) == 0
    assert sp.simplify(sp.diff(f, r) - alpha * beta / 2 * (E(sp.tanh(beta * h) ** 2) - q)) == 0


def test_unsolvable_pairing_is_refused():
    f, (m, q) = dh.free_energy(3)
    with pytest.raises(ValueError, match="solutions"):
        symbolic.fixed_point_map(f, {q: m})


@pytest.mark.parametrize("P", [2, 3, 4])
@pytest.mark.parametrize("zero_temperature", [False, True])
def test_stationarity_and_energy_are_derivatives(P, zero_temperature):
    # ∂f/∂x (rule (2)) and u = ∂(βf)/∂β against central differences of the compiled f.
    eq = dh.equations(P, zero_temperature)
    rng = np.random.default_rng(P)
    starts = {"m": (-1, 1), "q": (0.3, 1), "r": (0.5, 3), "C": (0, 0.8)}
    x = np.array([rng.uniform(*starts[v], size=8) for v in eq.variables])
    params = {"alpha": rng.uniform(0.01, 0.2, 8)}
    if not zero_temperature:
        params["T"] = rng.uniform(0.3, 2, 8)
        x[eq.variables.index("q")] = np.maximum(x[eq.variables.index("q")],
                                                1 - 0.5 * params["T"])  # 1 − β(1−q) > 0
    eps = 1e-5
    for i in range(len(eq.variables)):
        step = np.zeros_like(x)
        step[i] = eps
        numeric = (eq.free_energy(x + step, params) - eq.free_energy(x - step, params)) / (2 * eps)
        np.testing.assert_allclose(eq.stationarity(x, params)[i], numeric, atol=1e-8)
    if zero_temperature:
        return
    beta = 1 / params["T"]

    def beta_f(b):
        return b * eq.free_energy(x, {**params, "T": 1 / b})

    numeric = (beta_f(beta + eps) - beta_f(beta - eps)) / (2 * eps)
    np.testing.assert_allclose(eq.energy(x, params), numeric, atol=1e-7)


# --- reference values -------------------------------------------------------------------------

def retrieval_edge(eq, x0, lo, hi, *, rounds=4, points=17):
    """The load where T = 0 retrieval ends: iterate from x0 on an α grid, keep the bracket
    between the last α whose iteration stays at m > 0.5 and the first where it falls to m ~ 0."""
    for _ in range(rounds):
        alphas = np.linspace(lo, hi, points)
        x = iterate(eq, np.repeat(np.asarray(x0, dtype=float)[:, None], points, axis=1),
                    {"alpha": alphas})
        retrieves = x[0] > 0.5
        first_lost = int(np.argmin(retrieves))
        assert retrieves[0] and first_lost > 0 and not retrieves[first_lost:].any()
        lo, hi = alphas[first_lost - 1], alphas[first_lost]
    return lo, hi


def test_ags_critical_capacity():
    # Spec §3 rows 1, 2 (AGS: α_c ≈ 0.138, m_c ≈ 0.967): the maximisation formula of §2.1 ...
    def minus_alpha(y):
        return -0.5 * (special.erf(y) / y - 2 / math.sqrt(math.pi) * math.exp(-(y**2))) ** 2

    best = optimize.minimize_scalar(minus_alpha, bracket=(1.0, 1.5, 2.0), tol=1e-12)
    y, alpha_c = best.x, -best.fun
    assert alpha_c == pytest.approx(0.1379056, abs=5e-8)
    assert y == pytest.approx(1.511219, abs=5e-6)
    assert special.erf(y) == pytest.approx(0.967417, abs=5e-7)
    # ... is a fold of the derived T = 0 map: a fixed point where F − 1 is singular
    eq = dh.equations(2, zero_temperature=True)
    m_c = special.erf(y)
    r_c = m_c**2 / (2 * alpha_c * y**2)
    x_c = np.array([m_c, 1 - 1 / math.sqrt(r_c), r_c])
    params = {"alpha": alpha_c}
    np.testing.assert_allclose(eq.fixed_point(x_c, params), x_c, atol=1e-12)
    eps = 1e-6
    jacobian = np.array([(eq.fixed_point(x_c + eps * e, params)
                          - eq.fixed_point(x_c - eps * e, params)) / (2 * eps)
                         for e in np.eye(3)]).T
    assert abs(np.linalg.det(jacobian - np.eye(3))) < 1e-7
    # ... and where iterating the derived T = 0 equations stops retrieving
    lo, hi = retrieval_edge(eq, [1.0, 0.0, 1.0], 0.13, 0.145)
    assert lo <= 0.1379056 + 1e-7 and hi >= 0.1379056 - 1e-7


@pytest.mark.parametrize(("P", "alpha_c", "m_c"), [(3, 0.1260952, 0.838482),
                                                   (4, 0.0329767, 0.917922)])
def test_dense_critical_capacity(P, alpha_c, m_c):
    # Spec §3 rows 6, 7, from α_c(P) = max_y erf(y)^{2(P−1)} / (2(P−1)! y²), m_c = erf(y*) ...
    def minus_alpha(y):
        return -special.erf(y) ** (2 * (P - 1)) / (2 * factorial(P - 1) * y**2)

    best = optimize.minimize_scalar(minus_alpha, bracket=(0.5, 1.0, 2.0), tol=1e-12)
    assert -best.fun == pytest.approx(alpha_c, abs=5e-8)
    assert special.erf(best.x) == pytest.approx(m_c, abs=5e-7)
    # ... a fold of the derived T = 0 map: F(m_c) = m_c and F'(m_c) = 1 ...
    eq = dh.equations(P, zero_temperature=True)
    params = {"alpha": -best.fun}
    m_star = special.erf(best.x)
    assert eq.fixed_point([m_star], params)[0] == pytest.approx(m_star, abs=1e-12)
    eps = 1e-6
    slope = (eq.fixed_point([m_star + eps], params) - eq.fixed_point([m_star - eps], params))
    assert slope[0] / (2 * eps) == pytest.approx(1.0, abs=1e-6)
    # ... and where iterating the derived T = 0 equation from m = 1 stops retrieving
    lo, hi = retrieval_edge(eq, [1.0], 0.8 * alpha_c, 1.1 * alpha_c)
    assert lo <= alpha_c + 1e-7 and hi >= alpha_c - 1e-7


@pytest.mark.parametrize(("P", "alpha", "T", "m", "q", "f"), [
    (4, 0.02, 0.3, 0.991844, 0.990330, -0.5018179),  # spec §3 row 8
    (3, 0.1, 0.2, 0.958507, 0.970509, -0.5088301),  # spec §3 row 9
])
def test_retrieval_reference_points(P, alpha, T, m, q, f):
    eq = dh.equations(P)
    params = {"alpha": alpha, "T": T}
    x = iterate(eq, [1.0, 1.0], params)
    assert x[0] == pytest.approx(m, abs=1e-6)
    assert x[1] == pytest.approx(q, abs=1e-6)
    assert eq.free_energy(x, params) == pytest.approx(f, abs=1e-7)
    np.testing.assert_allclose(eq.stationarity(x, params), 0.0, atol=1e-11)
    # spec §8: at a saddle point u = −m^P/2 − β(αP!/4)(1 − q^P)
    u = -x[0] ** P / 2 - alpha * factorial(P) / (4 * T) * (1 - x[1] ** P)
    assert eq.energy(x, params) == pytest.approx(u, abs=1e-11)


def test_nishimori_line():
    # Spec §8: on T = αP!/2 the RS equations have the exact solution m = q, with u = −1/2
    # (P = 3, α = 0.1, T = 0.3: m = q = 0.948732).
    eq = dh.equations(3)
    params = {"alpha": 0.1, "T": 0.1 * factorial(3) / 2}
    x = iterate(eq, [1.0, 1.0], params)
    assert x[0] == pytest.approx(0.948732, abs=1e-6)
    assert x[0] == pytest.approx(x[1], abs=1e-12)
    assert eq.energy(x, params) == pytest.approx(-0.5, abs=1e-12)


def test_ags_thermodynamic_transition_at_zero_temperature():
    # Spec §3 row 4 (AGS: α ≈ 0.051): the T = 0 retrieval and spin-glass free energies cross at
    # α_M = 0.051854; the self-coupling constant α/2 is in both, so it cannot move the crossing.
    eq = dh.equations(2, zero_temperature=True)

    def gap(alpha):
        params = {"alpha": alpha}
        retrieval = iterate(eq, [1.0, 0.0, 1.0], params)
        # the (C, r) block of the map has eigenvalues ±i√k, k = √(2/(πα)), at the glass:
        # damping d < 2/(1 + k) makes the iteration contract
        glass = iterate(eq, [0.0, 0.5, 2.0], params, damping=0.2)
        assert retrieval[0] > 0.9 and glass[0] == 0.0
        for x in (retrieval, glass):
            np.testing.assert_allclose(eq.stationarity(x, params), 0.0, atol=1e-11)
            # at T = 0 the free energy is the ground-state energy
            assert eq.energy(x, params) == pytest.approx(eq.free_energy(x, params), abs=1e-12)
        return eq.free_energy(retrieval, params) - eq.free_energy(glass, params)

    assert optimize.brentq(gap, 0.03, 0.08, xtol=1e-10) == pytest.approx(0.051854, abs=1e-6)


def test_ags_spin_glass_temperature():
    # Spec §3 row 3 (AGS): T_g = 1 + √α, derived from the linearised map at m = q = r = 0 ...
    assert sp.simplify(dh.paramagnet_instability(2) - (1 + sp.sqrt(dh.alpha))) == 0
    # ... and the paramagnet loses stability there when the derived equations are iterated.
    eq = dh.equations(2)
    alpha = 0.05
    t_g = 1 + math.sqrt(alpha)
    for T, glassy in ((1.1 * t_g, False), (0.9 * t_g, True)):
        x = iterate(eq, [0.0, 0.1, 0.1], {"alpha": alpha, "T": T}, maxiter=5000)
        assert (x[1] > 1e-2) == glassy


@pytest.mark.parametrize("P", [3, 4])
def test_dense_paramagnet_always_stable(P):
    assert dh.paramagnet_instability(P) is None


@pytest.mark.parametrize(("P", "x0", "alpha"), [(2, [1.0, 1.0, 1.0], 0.05), (3, [1.0, 1.0], 0.05)])
def test_finite_temperature_tends_to_zero_temperature(P, x0, alpha):
    # The derived T = 0 equations are the limit of the finite-T ones: at T = 0.01 the solution,
    # C = β(1 − q) and f are within O(T²) of the T = 0 ones.
    T = 0.01
    cold = iterate(dh.equations(P), x0, {"alpha": alpha, "T": T})
    zero_eq = dh.equations(P, zero_temperature=True)
    zero = iterate(zero_eq, x0[:1] if P > 2 else [1.0, 0.0, 1.0], {"alpha": alpha})
    assert cold[0] == pytest.approx(zero[0], abs=1e-5)
    if P == 2:
        assert (1 - cold[1]) / T == pytest.approx(zero[1], abs=1e-3)
        assert cold[2] == pytest.approx(zero[2], abs=1e-3)
    f_cold = dh.equations(P).free_energy(cold, {"alpha": alpha, "T": T})
    assert f_cold == pytest.approx(zero_eq.free_energy(zero, {"alpha": alpha}), abs=1e-4)


def test_bad_order_is_refused():
    with pytest.raises(ValueError, match="P must be"):
        dh.equations(1)


@pytest.mark.parametrize("P, zero_temperature", [(2, False), (2, True), (3, False), (3, True),
                                                 (4, False)])
def test_derived_jacobian_matches_finite_differences(P, zero_temperature):
    """dF/dx from sympy against central differences of the compiled map (error O(h^2))."""
    eq = dh.equations(P, zero_temperature)
    rng = np.random.default_rng(P)
    n = len(eq.variables)
    x = rng.uniform(0.2, 0.9, (n, 6))
    if P == 2:
        x[-1] = rng.uniform(0.5, 2.0, 6)  # r
        if zero_temperature:
            x[1] = rng.uniform(0.0, 0.5, 6)  # C
    params = {"alpha": rng.uniform(0.01, 0.2, 6)}
    if not zero_temperature:
        params["T"] = rng.uniform(0.3, 1.5, 6)
    J = eq.jacobian(x, params)
    h = 1e-5
    for j in range(n):
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        fd = (eq.fixed_point(up, params) - eq.fixed_point(down, params)) / (2 * h)
        np.testing.assert_allclose(J[:, j], fd, rtol=1e-6, atol=1e-8)

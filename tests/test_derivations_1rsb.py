"""The derived 1RSB equations of the dense Hopfield network against RS, the spec and themselves.

Conventions and reference values: ``shared/specs/dense-hopfield.md`` (H = −(N/2)Σ_μ :m_μ^P:,
K = αN^{P−1}, T = 1/β, β' = βP/2, Parisi parameter θ, μ = βθ at T = 0):

* §6 [DER/NUM]: θ = 1 or q₀ = q₁ gives RS; the m = 0 glass at P = 4, α = 0.05, T = 0.3 has q₀ = 0,
  q₁ ≈ 0.979, θ ≈ 0.60, and θ maximises f; the continuous-limit AT condition.
* §8 [DER/NUM]: the T = 0 form with G(a, s, μ); the Ising 3-spin 1RSB ground state −0.813535
  (covariance Nq³/2); the P = 3, T = 0 1RSB retrieval branch still present at α = 0.15 (m = 0.7639,
  q₀ = 0.8295), gone at 0.16; α_c^RS(3) = 0.1260952 (§3 row 6).
* AGS (P = 2): the AT line αβ² E sech⁴(βh) = (1 − β(1 − q))² (Ann. Phys. 173, 30 (1987)).

1RSB for dense networks: Albanese, Alemanno, Alessandrelli, Barra, arXiv 2111.12997 (even P; P = 3
is the spec's extension).
"""

from __future__ import annotations

import math
from functools import partial
from math import factorial

import _iteration
import numpy as np
import pytest
import sympy as sp
from scipy import optimize, special

from derivations import dense_hopfield as dh
from derivations import dense_hopfield_1rsb as rsb
from derivations.symbolic import GaussianAverage
from theorylab.gaussian import expect

_H = sp.Dummy("h", real=True)


def canonical(expr: sp.Expr) -> sp.Expr:
    """Every Gaussian average over one and the same bound variable, so that averages built
    with different dummies compare equal."""
    return expr.replace(lambda e: isinstance(e, GaussianAverage),
                        lambda e: GaussianAverage(e.integrand.xreplace({e.variable: _H}), _H,
                                                  e.mean, e.var))


def rs_substitutions(P):
    """q₀, q₁ -> q (and r₀, r₁ -> r for P = 2)."""
    return {rsb.q1: dh.q, rsb.q0: dh.q, rsb.r1: dh.r, rsb.r0: dh.r} if P == 2 else \
        {rsb.q1: dh.q, rsb.q0: dh.q}


# --- RS reduction -------------------------------------------------------------------------------

@pytest.mark.parametrize("P", [2, 3, 4])
def test_rs_reduction_is_exact_symbolically(P):
    f, _ = rsb.free_energy(P)
    f_rs, _ = dh.free_energy(P)
    # q0 = q1 (r0 = r1): no inner noise, the nested average is the RS one, for every θ
    assert sp.simplify(canonical(f.subs(rs_substitutions(P))) - canonical(f_rs)) == 0
    # θ = 1: the inner average of 2cosh is Gaussian in closed form; f no longer depends on q1, r1
    at_one = {rsb.theta: 1, rsb.q0: dh.q, rsb.r0: dh.r}
    assert sp.simplify(canonical(f.subs(at_one)) - canonical(f_rs)) == 0


def random_states(P, rng, n=8):
    """RS-admissible points: q ∈ [1 − T/2, 1) keeps 1 − β(1 − q) > 0 (P = 2), q1 ≥ q0."""
    T = rng.uniform(0.3, 1.5, n)
    alpha = rng.uniform(0.01, 0.2, n)
    m = rng.uniform(-1, 1, n) if P != 3 else rng.uniform(0, 1, n)
    q0 = rng.uniform(np.maximum(1 - T / 2, 0.2), 0.98)
    q1 = rng.uniform(q0, 0.99)
    r0 = rng.uniform(0.5, 3, n)
    r1 = r0 + rng.uniform(0, 1, n)
    return m, q0, q1, r0, r1, alpha, T


@pytest.mark.parametrize("P", [2, 3, 4])
def test_rs_reduction_numerically(P):
    # The compiled nested quadrature at θ = 1 (q1 > q0) and at q0 = q1 (any θ) against the
    # compiled RS free energy of derivations.dense_hopfield, to 1e-12.
    rng = np.random.default_rng(10 + P)
    m, q0, q1, r0, r1, alpha, T = random_states(P, rng)
    eq, rs = rsb.equations(P), dh.equations(P)
    params = {"alpha": alpha, "T": T}
    theta = rng.uniform(0.1, 1, m.size)
    if P == 2:
        split, equal, state = [m, q0, q1, r0, r1], [m, q0, q0, r0, r0], [m, q0, r0]
    else:
        split, equal, state = [m, q0, q1], [m, q0, q0], [m, q0]
    reference = rs.free_energy(state, params)
    np.testing.assert_allclose(eq.free_energy(split, {**params, "theta": 1.0}), reference,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(eq.free_energy(equal, {**params, "theta": theta}), reference,
                               rtol=0, atol=1e-12)


def test_zero_temperature_rs_reduction():
    # At q0 = 1 (q0 = q1, and r0 = r1 for P = 2) the T = 0 1RSB energy is the RS one for all μ.
    rng = np.random.default_rng(3)
    n = 6
    alpha, mu, m = rng.uniform(0.01, 0.2, n), rng.uniform(0.2, 20, n), rng.uniform(0, 1, n)
    e3 = rsb.equations(3, zero_temperature=True).free_energy([m, np.ones(n)],
                                                             {"alpha": alpha, "mu": mu})
    rs3 = dh.equations(3, zero_temperature=True).free_energy([m], {"alpha": alpha})
    np.testing.assert_allclose(e3, rs3, rtol=0, atol=1e-12)
    C, r = rng.uniform(0, 0.8, n), rng.uniform(0.5, 3, n)
    e2 = rsb.equations(2, zero_temperature=True).free_energy([m, np.ones(n), C, r, r],
                                                             {"alpha": alpha, "mu": mu})
    rs2 = dh.equations(2, zero_temperature=True).free_energy([m, C, r], {"alpha": alpha})
    np.testing.assert_allclose(e2, rs2, rtol=0, atol=1e-12)


# --- the equations are the derivatives of f ----------------------------------------------------

def states(P, zero_temperature, rng, n=6):
    m, q0, q1, r0, r1, alpha, T = random_states(P, rng, n)
    if zero_temperature:
        params = {"alpha": alpha, "mu": rng.uniform(0.5, 8, n)}
        C = rng.uniform(0.0, 0.5, n)
        # P = 2 needs 1 − C − μ(1 − q0) > 0 (the T = 0 limit of D0 = 1 − β(1−q1) − βθ(q1−q0))
        q0 = 1 - (1 - C) * rng.uniform(0.2, 0.8, n) / params["mu"] if P == 2 else \
            rng.uniform(0.2, 0.95, n)
        x = [m, q0, C, r0, r1] if P == 2 else [m, q0]
    else:
        params = {"alpha": alpha, "T": T, "theta": rng.uniform(0.2, 0.9, n)}
        x = [m, q0, q1, r0, r1] if P == 2 else [m, q0, q1]
    return np.array(x), params


@pytest.mark.parametrize("P", [2, 3, 4])
@pytest.mark.parametrize("zero_temperature", [False, True])
def test_stationarity_is_the_gradient(P, zero_temperature):
    # ∂f/∂x (rule (2) of the module) and ∂f/∂θ (∂e/∂μ) against central differences of f.
    eq = rsb.equations(P, zero_temperature)
    x, params = states(P, zero_temperature, np.random.default_rng(P + 7 * zero_temperature))
    derived = eq.stationarity(x, params)
    eps = 1e-5
    for i in range(len(eq.variables)):
        step = np.zeros_like(x)
        step[i] = eps
        numeric = (eq.free_energy(x + step, params) - eq.free_energy(x - step, params)) / (2 * eps)
        np.testing.assert_allclose(derived[i], numeric, rtol=1e-6, atol=1e-8)
    name = eq.parameters[-1]
    up = {**params, name: params[name] * (1 + eps)}
    down = {**params, name: params[name] * (1 - eps)}
    numeric = (eq.free_energy(x, up) - eq.free_energy(x, down)) / (2 * eps * params[name])
    np.testing.assert_allclose(derived[-1], numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("P", [2, 3])
def test_energy_is_the_beta_derivative(P):
    # u = ∂(βf)/∂β at fixed (m, q0, q1[, r0, r1]) and θ, against central differences in β.
    eq = rsb.equations(P)
    x, params = states(P, False, np.random.default_rng(20 + P))
    beta, eps = 1 / params["T"], 1e-5

    def beta_f(b):
        return b * eq.free_energy(x, {**params, "T": 1 / b})

    numeric = (beta_f(beta + eps) - beta_f(beta - eps)) / (2 * eps)
    f, u = eq.thermodynamics(x, params)
    np.testing.assert_allclose(u, numeric, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(f, eq.free_energy(x, params), rtol=0, atol=1e-15)


iterate = partial(_iteration.iterate, maxiter=5000)


def test_glass_fixed_point_is_stationary_and_maximises_over_theta():
    # Spec §6 [NUM]: P = 4, α = 0.05, T = 0.3: the m = 0 glass has q0 = 0, q1 ≈ 0.979, θ ≈ 0.60.
    eq = rsb.equations(4)
    params = {"alpha": 0.05, "T": 0.3}

    def solution(theta):
        return iterate(eq, [0.0, 0.0, 0.97], {**params, "theta": theta})

    def theta_condition(theta):
        return eq.stationarity(solution(theta), {**params, "theta": theta})[-1]

    theta = optimize.brentq(theta_condition, 0.3, 0.9, xtol=1e-12)
    x = solution(theta)
    assert theta == pytest.approx(0.60, abs=0.01)
    assert x[1] == 0.0 and x[2] == pytest.approx(0.979, abs=1e-3)
    # the fixed point of the derived map is a stationary point of f (central differences) ...
    at = {**params, "theta": theta}
    eps = 1e-6
    for i in (0, 2):  # m, q1 (q0 = 0 sits on the boundary q0 >= 0)
        step = np.zeros(3)
        step[i] = eps
        slope = (eq.free_energy(x + step, at) - eq.free_energy(x - step, at)) / (2 * eps)
        assert abs(slope) < 1e-8
    # ... and θ maximises f (spec §6)
    f_star = eq.free_energy(x, at)
    for other in (theta - 0.05, theta + 0.05):
        assert eq.free_energy(solution(other), {**params, "theta": other}) < f_star - 1e-4


def test_p2_glass_fixed_point_is_stationary():
    # P = 2 (Crisanti–Amit–Gutfreund form, re-derived): at α = 0.05, T = 0.5 < T_g = 1 + √α and
    # a fixed θ = 0.5, iterate the derived map from the RS glass with q split by ±0.05; the
    # result makes every ∂f/∂x vanish by central differences of f, and is genuinely 1RSB.
    params = {"alpha": 0.05, "T": 0.5}
    _, q, r = iterate(dh.equations(2), [0.0, 0.8, 2.0], params, damping=0.2)
    eq = rsb.equations(2)
    at = {**params, "theta": 0.5}
    x = iterate(eq, [0.0, q - 0.05, q + 0.05, r, r], at, damping=0.2)
    assert x[2] - x[1] > 0.05 and x[4] - x[3] > 1.0
    eps = 1e-6
    for i in range(1, 5):
        step = np.zeros(5)
        step[i] = eps
        slope = (eq.free_energy(x + step, at) - eq.free_energy(x - step, at)) / (2 * eps)
        assert abs(slope) < 1e-8


def test_large_beta_does_not_overflow():
    # Nested averages in logs: at T = 1e-3 (β' s ~ 1e3) everything is finite, and f(T) is within
    # O(T) of the T = 0 energy at μ = βθ.
    eq, zero = rsb.equations(3), rsb.equations(3, zero_temperature=True)
    T, mu, alpha = 1e-3, 2.0, 0.1
    params = {"alpha": alpha, "T": T, "theta": mu * T}
    x = np.array([0.9, 0.8, 1.0 - 1e-4])
    values = [eq.free_energy(x, params), *eq.fixed_point(x, params), *eq.stationarity(x, params)]
    assert np.all(np.isfinite(values))
    e0 = zero.free_energy(x[:2], {"alpha": alpha, "mu": mu})
    assert eq.free_energy(x, params) == pytest.approx(e0, abs=5e-3)


# --- T = 0 -----------------------------------------------------------------------------------

def spec_zero_temperature_energy(P, m, q0, alpha, mu):
    """Spec §8: e = (P−1)/2 m^P − (1/μ)E_z ln G + (μ/2)[ξ'(1) − ξ(1) − q0ξ'(q0) + ξ(q0)],
    ξ(q) = αP!q^P/4, G(a, s, μ) = e^{μ²s²/2}[e^{μa}Φ(a/s + μs) + e^{−μa}Φ(−a/s + μs)],
    a = (P/2)m^{P−1} + √ξ'(q0) z, s = √(ξ'(1) − ξ'(q0)); written with log Φ and logaddexp, the
    inner average in closed form (independent of the module's nested quadrature)."""
    def xi(q):
        return alpha * factorial(P) * q**P / 4

    def dxi(q):
        return alpha * factorial(P) * P * q ** (P - 1) / 4

    s = math.sqrt(dxi(1) - dxi(q0))

    def log_g(a):  # ln G has a kink of width 1/μ at a = 0: split the outer rule there
        return mu**2 * s**2 / 2 + np.logaddexp(mu * a + special.log_ndtr(a / s + mu * s),
                                               -mu * a + special.log_ndtr(-a / s + mu * s))

    mean_log_g = expect(log_g, P / 2 * m ** (P - 1), dxi(q0), breakpoint=0.0)
    return ((P - 1) / 2 * m**P - mean_log_g / mu
            + mu / 2 * (dxi(1) - xi(1) - q0 * dxi(q0) + xi(q0)))


@pytest.mark.parametrize("P", [3, 4])
def test_zero_temperature_energy_is_the_spec_form(P):
    eq = rsb.equations(P, zero_temperature=True)
    rng = np.random.default_rng(P)
    for _ in range(4):
        m, q0 = rng.uniform(0.3, 1), rng.uniform(0, 0.95)
        alpha, mu = rng.uniform(0.01, 0.2), rng.uniform(0.3, 10)
        assert eq.free_energy([m, q0], {"alpha": alpha, "mu": mu}) == pytest.approx(
            spec_zero_temperature_energy(P, m, q0, alpha, mu), abs=1e-10)


def test_pure_three_spin_ground_state():
    # Spec §8: the Ising 3-spin 1RSB ground state, −0.813535 for covariance Nq³/2, i.e. our
    # ξ(q) = αP!q^P/4 at P = 3, α = 1/3, at m = q0 = 0 with the maximising μ.
    eq = rsb.equations(3, zero_temperature=True)
    best = optimize.minimize_scalar(
        lambda log_mu: -eq.free_energy([0.0, 0.0], {"alpha": 1 / 3, "mu": math.exp(log_mu)}),
        bounds=(-1, 2), method="bounded", options={"xatol": 1e-9})
    assert -best.fun == pytest.approx(-0.813535, abs=1e-6)


def test_p2_zero_temperature_limit_sanity():
    # The derived P = 2, T = 0 energy at μ = βθ: C is fixed by C = 2E⟨δ(h)⟩ (the T -> 0 limit of
    # β(1 − E⟨tanh²⟩)), and the 1RSB terms vanish at q0 = 1, r0 = r1 (checked numerically in
    # test_zero_temperature_rs_reduction); here the limit is compared with the finite-T f at
    # small T, q1 = 1 − CT, θ = μT.
    zero, finite = rsb.equations(2, zero_temperature=True), rsb.equations(2)
    m, q0, C, r0, r1, alpha, mu = 0.9, 0.7, 0.3, 1.2, 1.6, 0.05, 2.0
    e0 = zero.free_energy([m, q0, C, r0, r1], {"alpha": alpha, "mu": mu})
    for T in (1e-2, 1e-3):
        f = finite.free_energy([m, q0, 1 - C * T, r0, r1],
                               {"alpha": alpha, "T": T, "theta": mu * T})
        assert f == pytest.approx(e0, abs=20 * T)
    # C's map is the limit of β(1 − q1)'s
    C_map = zero.fixed_point([m, q0, C, r0, r1], {"alpha": alpha, "mu": mu})[2]
    T = 1e-4
    q1_map = finite.fixed_point([m, q0, 1 - C * T, r0, r1],
                                {"alpha": alpha, "T": T, "theta": mu * T})[2]
    assert (1 - q1_map) / T == pytest.approx(C_map, rel=1e-2)


# --- the continuous-limit AT condition --------------------------------------------------------

@pytest.mark.parametrize("P", [2, 3, 4])
def test_at_condition_is_the_spec_one(P):
    # Spec §6 [DER]: β'² α(P−1)!(P−1) q^{P−2} E sech⁴(β'h) = 1; P = 2: AGS,
    # αβ² E sech⁴(βh) / (1 − β(1 − q))² = 1. Derived from the 1RSB map, independent of θ.
    lam = rsb.continuous_at_condition(P)
    beta, alpha, m, q, r = dh.beta, dh.alpha, dh.m, dh.q, dh.r
    if P == 2:
        expected = (alpha * beta**2 * GaussianAverage(sp.sech(beta * _H) ** 4, _H, m, alpha * r)
                    / (1 - beta * (1 - q)) ** 2)
    else:
        b = beta * P / 2
        expected = (b**2 * alpha * factorial(P - 1) * (P - 1) * q ** (P - 2)
                    * GaussianAverage(sp.sech(b * _H) ** 4, _H, m ** (P - 1),
                                      alpha * factorial(P - 1) * q ** (P - 1)))
    rewrite = {a: GaussianAverage(sp.sech(a.integrand.base.args[0]) ** 4, *a.args[1:])
               for a in lam.atoms(GaussianAverage)}
    assert not lam.has(rsb.theta)
    assert sp.simplify(canonical(lam.xreplace(rewrite)) - canonical(expected)) == 0


# --- P = 3, T = 0: the 1RSB retrieval branch beyond the RS capacity ------------------------------

def retrieval_at(eq, alpha, mu, x0):
    """Newton (MINPACK hybr) on the (m, q0) pair at fixed μ (spec §6); the map is evaluated
    with q0 clipped to [0, q1 = 1] (a root has q0 = F(q0) there anyway)."""
    params = {"alpha": alpha, "mu": mu}
    sol = optimize.root(lambda x: eq.fixed_point(np.clip(x, [-1.0, 0.0], 1.0), params) - x, x0,
                        method="hybr", tol=1e-13)
    return sol.x if sol.success and sol.x[0] > 0.3 else None


def best_retrieval(alpha, mus):
    """Scan μ (downwards, warm starts), keep m > 0; return the interior maximiser of e over μ
    refined by a bounded search, or None if no m > 0 solution has an interior maximum."""
    eq = rsb.equations(3, zero_temperature=True)
    found, x0 = [], np.array([0.9, 0.95])
    for mu in mus:
        x = retrieval_at(eq, alpha, mu, x0)
        if x is not None:
            found.append((mu, x, eq.free_energy(x, {"alpha": alpha, "mu": mu})))
            x0 = x
    if len(found) < 3:
        return None
    k = int(np.argmax([e for _, _, e in found]))
    if k in (0, len(found) - 1):
        return None
    start = found[k][1]

    def minus_e(mu):
        x = retrieval_at(eq, alpha, mu, start)
        return np.inf if x is None else -eq.free_energy(x, {"alpha": alpha, "mu": mu})

    # μ decreases along the scan: the maximiser lies between its neighbours k + 1 and k − 1
    best = optimize.minimize_scalar(minus_e, bounds=(found[k + 1][0], found[k - 1][0]),
                                    method="bounded", options={"xatol": 1e-6})
    return best.x, retrieval_at(eq, alpha, best.x, start), -best.fun


def test_p3_one_step_capacity_exceeds_rs():
    alpha_rs = 0.1260952  # spec §3 row 6
    rs = dh.equations(3, zero_temperature=True)
    mus = np.linspace(4.0, 0.5, 15)
    # α = 0.15 > α_c^RS: RS has no retrieval, 1RSB does (spec §8: m = 0.7639, q0 = 0.8295)
    x_rs = iterate(rs, [1.0], {"alpha": 0.15})
    assert x_rs[0] < 0.3 and 0.15 > alpha_rs
    mu, x, e = best_retrieval(0.15, mus)
    assert 0.5 < mu < 4.0 and e == pytest.approx(-0.5372, abs=1e-3)
    assert x[0] == pytest.approx(0.7639, abs=1e-3)
    assert x[1] == pytest.approx(0.8295, abs=1e-3)
    # ... gone at α = 0.16: α_c^1RSB(3) ∈ (0.15, 0.16), above α_c^RS(3) = 0.1261
    assert best_retrieval(0.16, mus) is None

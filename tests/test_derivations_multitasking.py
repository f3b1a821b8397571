"""The derived multitasking equations against the spec's hand-written ones and numbers.

Spec: ``shared/specs/multitasking.md`` (the model, §1–§3; the reference numbers, §4–§7 and the
checks of §13 rows 1–16, at the tolerances given there). The spec's numbers are its own [DER]/[NUM]
reconstruction, not values read from the papers (arXiv 2308.04106, 1111.5191); each was
reproduced here by the derived equations and the engine (:func:`theorylab.saddle.solve`), so no
test overrides a spec value.

States are found as in spec §11: the engine from several starts (cascade, pure, symmetric,
(1, 1, ½, ..), random), keeping the lowest-f converged state whose Hessian is positive definite.
Continuous lines are zeros of a Hessian eigenvalue on the parent branch, solved inside its
symmetry subspace (:class:`Subspace`); first-order ones are free-energy crossings. Points next
to a transition are converged to residual <= 1e-10 (spec review note 6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize, special, stats

from derivations import multitasking as mt
from theorylab import saddle
from theorylab.gaussian import expect
from theorylab.models import multitasking as physics

examples = settings(max_examples=20, deadline=None)
TIGHT = 1e-12


# --- solving ----------------------------------------------------------------------------------

def per_point(params, G):
    return {k: np.broadcast_to(np.asarray(v, dtype=float), (G,)).copy()
            for k, v in params.items()}


def solve(system, x0, params, tol=TIGHT):
    """Fixed points from the starts ``x0`` (n, S) at one parameter point; each start is a point."""
    x0 = np.asarray(x0, dtype=float)
    x0 = x0[:, None] if x0.ndim == 1 else x0
    p = per_point(params, x0.shape[1])
    res = saddle.solve(system.F, x0, p, tol=tol, exact=system.jacobian, lower=system.lower,
                       upper=system.upper, maxiter=2000, patience=300)
    return res, p


def starts(K, d, count=6, seed=0):
    """Spec §11 starts, shape (K, 4 + count): cascade, pure, symmetric, (1, 1, ½, ..), random."""
    q = 1 - d
    structured = [physics.cascade(d, K), q * np.eye(K)[0], np.full(K, q / 2),
                  q * np.concatenate([[1.0], 0.5 ** np.arange(K - 1)])]
    rng = np.random.default_rng(seed)
    return np.column_stack([*structured, rng.uniform(-q, q, (K, count))])


def best_state(system, params, x0=None):
    """The lowest-f converged, locally stable state from the starts: (x, f, curvature)."""
    res, p = solve(system, starts(system.K, params["d"]) if x0 is None else x0, params)
    f, _ = system.thermodynamics(res.x, p)
    curvature = system.curvature(res.x, p)
    ok = res.converged & (curvature > 0)
    assert ok.any(), "no stable state converged"
    k = np.flatnonzero(ok)[np.argmin(f[ok])]
    return res.x[:, k], f[k], curvature[k]


def sorted_abs(x):
    return np.sort(np.abs(x))[::-1]


class Subspace:
    """A system restricted to x = E y, E mapping each pattern to its group (``groups[μ]``): the
    symmetric (all one group) or partial (m_1 = m_2, m_3) states, kept exactly there."""

    def __init__(self, system, groups):
        self.system = system
        self.embed = np.zeros((system.K, max(groups) + 1))
        self.embed[np.arange(system.K), groups] = 1.0
        self.project = np.linalg.pinv(self.embed)
        self.lower, self.upper = -np.ones(self.embed.shape[1]), np.ones(self.embed.shape[1])

    def F(self, y, params):
        return self.project @ self.system.F(self.embed @ y, params)

    def jacobian(self, y, params):
        return self.project @ self.system.jacobian(self.embed @ y, params) @ self.embed

    def state(self, y0, params):
        """The full x, f, Hessian (n, n) and residual of the subspace fixed point from y0."""
        res = saddle.solve(self.F, np.asarray(y0, dtype=float)[:, None], per_point(params, 1),
                           tol=TIGHT, exact=self.jacobian, lower=self.lower, upper=self.upper,
                           maxiter=2000, patience=300)
        assert res.converged[0], res.message
        x = self.embed @ res.x
        p = per_point(params, 1)
        f, _ = self.system.thermodynamics(x, p)
        return x[:, 0], f[0], self.system.hessian(x, p)[0], res.residual[0]


def quadratic_coefficient(case, data):
    """c of f = (c/2)|x|² + ..: 1 (storage), 1 + ρ (learning, convention A)."""
    if "r" in data:
        return 1 + physics.dataset_entropy(data["r"], case["M"])
    return 1 + data.get("rho", 0.0)


def along(H, direction):
    v = np.asarray(direction, dtype=float)
    return v @ H @ v / (v @ v)


# --- the spec's equations, written by hand ----------------------------------------------------

def log2cosh(x):
    return np.logaddexp(x, -x)


def k2_storage(m1, m2, d, T):
    """Spec §3.1, K = 2 written out: the fixed-point map and f (with the d² ln 2 blank class)."""
    b, q = 1 / T, 1 - d
    plus, minus = np.tanh(b * (m1 + m2)), np.tanh(b * (m1 - m2))
    F = (q * d * np.tanh(b * m1) + q**2 / 2 * (plus + minus),
         q * d * np.tanh(b * m2) + q**2 / 2 * (plus - minus))
    f = (m1**2 + m2**2) / 2 - T * (d**2 * np.log(2) + q * d * (log2cosh(b * m1) + log2cosh(b * m2))
                                   + q**2 / 2 * (log2cosh(b * (m1 + m2))
                                                 + log2cosh(b * (m1 - m2))))
    return np.array(F), f


def gaussian_learning(n, d, rho, T):
    """Spec §3.3 by hand, any K: m_μ = Σ P ξ^μ E tanh and
    (1 + ρ) n_μ = m_μ + ρ n_μ β Σ P (ξ^μ)² E sech², and f; each class's field h = a + s z is
    integrated by quadrature."""
    n = np.asarray(n, dtype=float)
    classes, multiplicity = mt.site_classes(n.size)
    b = 1 / T
    m, stein, pressure = np.zeros(n.size), np.zeros(n.size), 0.0
    for xi, mult in zip(classes, multiplicity, strict=True):
        weight = mult * np.prod(np.where(xi == 0, d, (1 - d) / 2))
        a, var = xi @ n, rho * (xi**2 @ n**2)
        m += weight * xi * expect(lambda h: np.tanh(b * h), a, var)
        stein += weight * xi**2 * expect(lambda h: b / np.cosh(b * h) ** 2, a, var)
        pressure += weight * expect(lambda h: log2cosh(b * h), a, var)
    F = (m + rho * n * stein) / (1 + rho)
    return F, m, (1 + rho) / 2 * n @ n - T * pressure


def exact_learning(n, d, r, M, T):
    """Spec §3.2 by hand, K = 2: (1 + ρ) n_μ = Σ P E_S[ξ^μ χ̂^μ tanh(β Σ n ξ χ̂)], m and f."""
    b, rho = 1 / T, (1 - r**2) / (M * r**2)
    S = 2 * np.arange(M + 1) - M
    pmf = stats.binom.pmf(np.arange(M + 1), M, (1 + r) / 2)
    F, m, pressure = np.zeros(2), np.zeros(2), 0.0
    for xi in np.array(np.meshgrid([-1, 0, 1], [-1, 0, 1])).reshape(2, -1).T:
        weight = np.prod(np.where(xi == 0, d, (1 - d) / 2))
        for S1, p1 in zip(S, pmf, strict=True):
            for S2, p2 in zip(S, pmf, strict=True):
                chi = np.array([S1, S2]) / (r * M)
                w = weight * (p1 if xi[0] else 1 / (M + 1)) * (p2 if xi[1] else 1 / (M + 1))
                h = np.sum(xi * chi * n)
                F += w * xi * chi * np.tanh(b * h)
                m += w * xi * np.tanh(b * h)
                pressure += w * log2cosh(b * h)
    return F / (1 + rho), m, (1 + rho) / 2 * np.sum(np.asarray(n) ** 2) - T * pressure


# --- §13 rows 1–16 ------------------------------------------------------------------------------

def test_row1_curie_weiss_point():
    x, f, _ = best_state(mt.system(1), {"d": 0.0, "T": 0.5})
    assert abs(x[0]) == pytest.approx(0.957504, abs=1e-6)
    assert f == pytest.approx(-0.50983553, abs=1e-6)


def test_row2_hopfield_mixtures_at_zero_temperature():
    system = mt.system(3, zero_temperature=True)
    x0 = np.array([[0.5, 0.5, 0.5], [1.0, 0.0, 0.0]]).T
    res, p = solve(system, x0, {"d": 0.0})
    f, u = system.thermodynamics(res.x, p)
    np.testing.assert_allclose(res.x[:, 0], 0.5, atol=1e-12)
    np.testing.assert_allclose(f, [-0.375, -0.5], atol=1e-12)
    np.testing.assert_allclose(u, f, atol=1e-15)
    # T -> 0: the finite-T symmetric mixture approaches it
    finite = mt.system(3)
    for T, tol in [(0.1, 1e-3), (0.05, 1e-6)]:
        x, f = Subspace(finite, [0, 0, 0]).state([0.5], {"d": 0.0, "T": T})[:2]
        assert x == pytest.approx([0.5] * 3, abs=tol)
        assert f == pytest.approx(-0.375, abs=tol)


@pytest.mark.parametrize("case, params", [
    (dict(K=1), {}), (dict(K=3), {}),
    (dict(K=2, protocol="learning", average="gaussian"), {"rho": 0.7}),
    (dict(K=3, protocol="learning", average="gaussian"), {"rho": 0.2}),
    (dict(K=2, protocol="learning", average="exact", M=5), {"r": 0.4}),
])
def test_row3_paramagnet_hessian_convention_a(case, params):
    # H(0)/c = 1 − β(1 − d) for every K and (r, M): T_c = 1 − d in convention A.
    system = mt.system(**case)
    d, T = np.array([0.0, 0.2, 0.5, 0.9]), np.array([0.3, 0.8, 0.5, 0.05])
    p = {"d": d, "T": T, **params}
    x = np.zeros((system.K, d.size))
    c = quadratic_coefficient(case, params)
    expected = (1 - (1 - d) / T)[:, None, None] * np.eye(system.K)
    np.testing.assert_allclose(system.hessian(x, p) / c, expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(system.F(x, p), 0.0, atol=1e-15)


@pytest.mark.parametrize("average, data", [("gaussian", {"rho": 0.6}),
                                           ("exact", {"r": 0.5})])
def test_row3b_convention_b_critical_temperature(average, data):
    # Convention B at T is convention A at (1 + ρ)T (spec §1.3): T_c = (1 − d)/(1 + ρ).
    M = 8 if average == "exact" else None
    system = mt.system(2, "learning", average, M=M)
    rho = data.get("rho") or physics.dataset_entropy(data["r"], M)
    d = 0.3
    Tc = physics.critical_temperature(d, rho, "B")
    assert Tc == pytest.approx((1 - d) / (1 + rho), rel=1e-15)

    def hessian(T_B):
        p = {"d": d, "T": physics.convention_a_temperature(T_B, rho), **data}
        return system.hessian(np.zeros((2, 1)), p)[0, 0, 0] / (1 + rho)

    assert hessian(Tc) == pytest.approx(0.0, abs=1e-14)
    assert hessian(1.1 * Tc) > 0 > hessian(0.9 * Tc)
    # its learning threshold: at M_⊗ the paramagnet is marginal, β(1 − d) = 1 + ρ(M_⊗)
    assert physics.convention_b_threshold(0.5, 0.3, 5.0) == pytest.approx(1.2, rel=1e-14)
    beta = 4.0
    M_b = physics.convention_b_threshold(0.5, d, beta)
    assert beta * (1 - d) == pytest.approx(1 + physics.dataset_entropy(0.5, M_b), rel=1e-14)
    assert physics.convention_b_threshold(0.5, d, 1.0) == np.inf


@pytest.mark.parametrize("K", [2, 3, 4, 5, 6])
def test_row4_cascade_is_a_zero_temperature_fixed_point(K):
    system = mt.system(K, zero_temperature=True)
    d = np.linspace(0.02, physics.critical_dilution(K), 25)[:-1]
    x = physics.cascade(d, K)
    p = {"d": d}
    assert np.all(physics.cascade_is_fixed_point(d, K))
    assert np.max(np.abs(system.F(x, p) - x)) < 1e-12
    # no class has zero field: the T = 0 Hessian is the identity (locally stable)
    np.testing.assert_array_equal(system.hessian(x, p), np.broadcast_to(np.eye(K), (d.size, K, K)))
    f, u = system.thermodynamics(x, p)
    np.testing.assert_allclose(f, physics.cascade_energy(d, K), atol=1e-15)
    np.testing.assert_allclose(u, f, atol=1e-15)
    if K >= 3:  # beyond d_c the last levels lose their sites
        above = np.array([physics.critical_dilution(K) + 0.01])
        assert not physics.cascade_is_fixed_point(above, K)[0]
        assert np.max(np.abs(system.F(physics.cascade(above, K), {"d": above})
                             - physics.cascade(above, K))) > 1e-6


def test_row5_critical_dilution():
    expected = {2: 1.0, 3: 0.6180340, 4: 0.5436890, 5: 0.5187901, 6: 0.5086604, 7: 0.5041383,
                8: 0.5020171}
    for K, dc in expected.items():
        assert physics.critical_dilution(K) == pytest.approx(dc, abs=1e-6)
    assert physics.critical_dilution(3) == pytest.approx((math.sqrt(5) - 1) / 2, abs=1e-14)


def test_row6_ground_state_departure():
    assert physics.ground_state_departure(2) == math.inf
    for K, d_star in [(3, 0.54692), (4, 0.51868), (5, 0.50720)]:
        assert physics.ground_state_departure(K) == pytest.approx(d_star, abs=2e-4)
    # K = 3: the crossing of the cascade and majority energies, 0.5469182 (spec §4.2)
    d3 = physics.ground_state_departure(3)
    assert d3 == pytest.approx(optimize.brentq(
        lambda d: np.sum(physics.majority_state(d) ** 2) - np.sum(physics.cascade(d, 3) ** 2),
        0.5, 0.6, xtol=1e-15), abs=1e-9)
    # the derived T = 0 system agrees: lowest f from the cascade below d*, majority above
    system = mt.system(3, zero_temperature=True)
    for d, winner in [(d3 - 0.01, "cascade"), (d3 + 0.01, "majority")]:
        x, _, _ = best_state(system, {"d": d}, np.column_stack(
            [physics.cascade(d, 3), physics.majority_state(d), starts(3, d)]))
        assert physics.hierarchy_type(x, d) == winner


def test_row7_majority_state():
    np.testing.assert_allclose(physics.majority_state(0.6), [0.368, 0.272, 0.176], atol=1e-9)
    d = np.linspace(0.05, 0.95, 19)
    x = physics.majority_state(d)
    assert np.max(np.abs(mt.system(3, zero_temperature=True).F(x, {"d": d}) - x)) < 1e-12
    assert np.all(x[1] + x[2] > x[0])  # m_2 + m_3 − m_1 = (q/2)(5d² − 4d + 1) > 0


def test_row8_symmetric_states():
    for d in (0.3, 0.0, 0.5, 0.8):
        assert physics.symmetric_state(d, 2) == pytest.approx((1 - d**2) / 2, abs=1e-15)
        assert physics.symmetric_state(d, 3) == pytest.approx((1 - d) * (1 + d**2) / 2,
                                                              abs=1e-15)
    assert physics.symmetric_state(0.3, 2) == pytest.approx(0.455, abs=1e-12)
    assert physics.symmetric_state(0.3, 3) == pytest.approx(0.3815, abs=1e-12)
    d = np.linspace(0.0, 0.95, 20)
    for K in (2, 3, 4, 5):
        x = np.broadcast_to(physics.symmetric_state(d, K), (K, d.size))
        system = mt.system(K, zero_temperature=True)
        assert np.max(np.abs(system.F(x, {"d": d}) - x)) < 1e-12
        # never the T = 0 ground state (spec §4.2)
        f, _ = system.thermodynamics(x, {"d": d})
        assert np.all(f >= physics.cascade_energy(d, K) - 1e-15)


def quartic_selection(system, d, data, size=1e-2):
    """f(pure) − f(symmetric) at the paramagnet's instability β = 1/(1 − d) (convention A), at
    equal small |x|: the sign of the difference of their quartic Landau coefficients."""
    K = system.K
    x = size * np.column_stack([np.eye(K)[0], np.ones(K) / math.sqrt(K)])
    f, _ = system.thermodynamics(x, per_point({"d": d, "T": 1 - d, **data}, 2))
    return f[0] - f[1]


@pytest.mark.parametrize("case, data, d_L", [
    (dict(K=2), {}, 2 / 3),
    (dict(K=3), {}, 2 / 3),
    (dict(K=2, protocol="learning", average="gaussian"), {"rho": 1.0}, 1 / 6),
    (dict(K=2, protocol="learning", average="gaussian"), {"rho": 0.5}, 0.2963),
    (dict(K=2, protocol="learning", average="exact", M=8), {"r": 0.5}, 0.4208),
])
def test_row9_landau_point(case, data, d_L):
    if "rho" in data:
        formula = physics.landau_dilution_gaussian(data["rho"])
    elif "r" in data:
        formula = physics.landau_dilution_exact(data["r"], case["M"])
    else:
        formula = physics.landau_dilution_gaussian(0.0)
    assert formula == pytest.approx(d_L, abs=1e-3)
    system = mt.system(**case)
    # pure selected below d_L, symmetric above: the sign of the quartic coefficient of the
    # derived f, and the zero of the difference is d_L (up to the O(|x|²) sextic term)
    assert quartic_selection(system, formula - 0.02, data) < 0 < quartic_selection(
        system, formula + 0.02, data)
    root = optimize.brentq(lambda d: quartic_selection(system, d, data), formula - 0.02,
                           formula + 0.02, xtol=1e-10)
    assert root == pytest.approx(formula, abs=1e-3)


def test_row10_k2_storage_lines():
    system = mt.system(2)
    symmetric = Subspace(system, [0, 0])

    def pure_along_m2(T, d):
        x, _, H, residual = Subspace(system, [0, 1]).state([1 - d, 0.0], {"d": d, "T": T})
        assert residual <= 1e-10 and x[1] == 0
        return H[1, 1]

    def symmetric_along_difference(T, d):
        _, _, H, residual = symmetric.state([(1 - d) / 2], {"d": d, "T": T})
        assert residual <= 1e-10
        return along(H, [1, -1])

    for d, T_PH in [(0.2, 0.160117), (0.5, 0.287210)]:
        root = optimize.brentq(pure_along_m2, 0.05, 0.95 * (1 - d), args=(d,), xtol=1e-12)
        assert root == pytest.approx(T_PH, abs=1e-4)
    for d, T_SH in [(0.8, 0.040081), (0.7, 0.093764)]:
        root = optimize.brentq(symmetric_along_difference, 0.005, 0.2, args=(d,), xtol=1e-12)
        assert root == pytest.approx(T_SH, abs=1e-4)
    window = [optimize.brentq(symmetric_along_difference, a, b, args=(0.65,), xtol=1e-12)
              for a, b in [(0.1, 0.25), (0.25, 0.34)]]
    np.testing.assert_allclose(window, [0.13698, 0.32725], atol=1e-4)

    def window_depth(d):
        best = optimize.minimize_scalar(lambda T: -symmetric_along_difference(T, d),
                                        bounds=(0.18, 0.32), method="bounded",
                                        options={"xatol": 1e-10})
        return -best.fun

    assert optimize.brentq(window_depth, 0.59, 0.62, xtol=1e-9) == pytest.approx(0.60159,
                                                                                 abs=1e-4)


@pytest.mark.parametrize("K, d, T, state, m, f", [
    (2, 0.3, 0.1, "hierarchical", (0.699976, 0.202886), -0.27362417),
    (2, 0.5, 0.35, "pure", (0.414317, 0.0), -0.25830607),
    (2, 0.8, 0.1, "parallel", (0.169525, 0.169525), -0.07910063),
    (2, 0.7, 0.05, "hierarchical", (0.296982, 0.212931), -0.08410210),
    (3, 0.5, 0.05, "hierarchical", (0.499584, 0.249569, 0.124542), -0.16846882),
])
def test_row11_storage_values(K, d, T, state, m, f):
    system = mt.system(K)
    x, f_found, _ = best_state(system, {"d": d, "T": T})
    np.testing.assert_allclose(sorted_abs(x), m, atol=1e-5)
    assert f_found == pytest.approx(f, abs=1e-5)
    assert physics.classify(x) == state
    _, u = system.thermodynamics(x[:, None], {"d": d, "T": T})
    assert u[0] == pytest.approx(-x @ x / 2, abs=1e-12)  # u = −|m|²/2 at a solution


def test_row12_single_pattern_learning_at_zero_temperature():
    d, rho = 0.3, 1.0
    system = mt.system(1, "learning", "gaussian", zero_temperature=True)
    res, p = solve(system, [[0.5]], {"d": d, "rho": rho})
    ops = system.order_parameters(res.x, p)
    m = (1 - d) * special.erf(1 / math.sqrt(2 * rho))
    n = (1 - d) * (special.erf(1 / math.sqrt(2 * rho))
                   + math.sqrt(2 * rho / math.pi) * math.exp(-1 / (2 * rho))) / (1 + rho)
    assert ops["m1"][0] == pytest.approx(m, abs=1e-12)
    assert ops["n1"][0] == pytest.approx(n, abs=1e-12)
    assert m == pytest.approx(0.477883, abs=1e-6) and n == pytest.approx(0.408321, abs=1e-6)
    for r, M, expected in [(0.2, 24, 0.672713), (0.5, 8, 0.858887)]:
        system = mt.system(1, "learning", "exact", M=M, zero_temperature=True)
        res, p = solve(system, [[0.5]], {"d": d, "r": r})
        m = system.order_parameters(res.x, p)["m1"][0] / (1 - d)
        # m/(1 − d) = P(S > 0) − P(S < 0): ties S = 0 give zero field (spec §6.1)
        B = stats.binom(M, (1 + r) / 2)
        assert m == pytest.approx(B.sf(M / 2) - B.cdf((M - 1) / 2), abs=1e-13)
        assert m == pytest.approx(expected, abs=1e-6)


def test_row13_k2_parallel_regime_threshold():
    symmetric = Subspace(mt.system(2, "learning", "gaussian", zero_temperature=True), [0, 0])

    def softness(rho, d):
        _, _, H, residual = symmetric.state([0.4], {"d": d, "rho": rho})
        assert residual <= 1e-10
        return along(H, [1, -1])

    for d, rho_c in [(0.2, 0.58982), (0.5, 0.14132), (0.8, 0.01572)]:
        root = optimize.brentq(softness, 0.005, 1.5, args=(d,), xtol=1e-12)
        assert root == pytest.approx(rho_c, abs=2e-4)
    d_c = optimize.brentq(lambda d: softness(0.1, d), 0.3, 0.8, xtol=1e-12)
    assert d_c == pytest.approx(0.56216, abs=2e-4)
    # the regime threshold in examples (spec §7.1): M_c = (1 − r²)/(r² ρ_c) = 21.2 at r = 0.5
    assert physics.examples_for_entropy(0.5, 0.14132) == pytest.approx(21.2, abs=0.05)


@pytest.mark.parametrize("d, H_to_partial, partial_to_S, last_partial", [
    (0.5, 0.09139, 0.16396, 0.162), (0.3, 0.33805, 0.39996, 0.398)])
def test_row14_k3_hierarchical_partial_parallel(d, H_to_partial, partial_to_S, last_partial):
    system = mt.system(3, "learning", "gaussian", zero_temperature=True)
    partial, symmetric = Subspace(system, [0, 0, 1]), Subspace(system, [0, 0, 0])

    def softness(rho):  # the partial state's Hessian along m_1 − m_2: zero where H merges in
        _, _, H, residual = partial.state([0.35, 0.2], {"d": d, "rho": rho})
        assert residual <= 1e-10
        return along(H, [1, -1, 0])

    assert optimize.brentq(softness, 0.02, H_to_partial + 0.05, xtol=1e-12) == pytest.approx(
        H_to_partial, abs=5e-4)
    # first order: follow the partial branch (m_3 < m_1 = m_2) up to the bracket, then the f
    # crossing with S (m_3 jumps)
    y = np.array([0.35, 0.2])
    for rho in np.linspace(H_to_partial + 0.01, last_partial, 12):
        x, _, _, _ = partial.state(y, {"d": d, "rho": rho})
        y = x[1:]

    def gap(rho):
        x, f_partial, _, residual = partial.state(y, {"d": d, "rho": rho})
        assert residual <= 1e-10 and x[0] - x[2] > 1e-3  # still the partial branch
        _, f_symmetric, _, _ = symmetric.state([0.3], {"d": d, "rho": rho})
        return f_partial - f_symmetric

    root = optimize.brentq(gap, last_partial, last_partial + 0.002, xtol=1e-12)
    assert root == pytest.approx(partial_to_S, abs=5e-4)


def test_row15_learning_values_at_zero_temperature():
    system = mt.system(2, "learning", "gaussian", zero_temperature=True)
    params = {"d": 0.2, "rho": 0.4}
    x, f, _ = best_state(system, params)
    m = system.order_parameters(x[:, None], params)
    np.testing.assert_allclose(sorted_abs([m["m1"][0], m["m2"][0]]), [0.641482, 0.257583],
                               atol=1e-5)
    np.testing.assert_allclose(sorted_abs(x), [0.561733, 0.237261], atol=1e-5)
    assert f == pytest.approx(-0.26028536, abs=1e-5)
    system = mt.system(3, "learning", "gaussian", zero_temperature=True)
    params = {"d": 0.5, "rho": 0.12}
    x, f, _ = best_state(system, params)
    m = system.order_parameters(x[:, None], params)
    np.testing.assert_allclose(sorted_abs([m[f"m{k}"][0] for k in (1, 2, 3)]),
                               [0.357214, 0.357214, 0.203592], atol=1e-5)
    assert f == pytest.approx(-0.15323828, abs=1e-5)
    assert physics.classify(x, tol=1e-8) == "partial"
    # its soft mode (spec §6.3): Hessian eigenvalues (0.0667, 0.264, 1.12)
    H = system.hessian(x[:, None], params)[0]
    np.testing.assert_allclose(np.linalg.eigvalsh(H), [0.0667, 0.264, 1.12], atol=5e-4)


def test_row16_exact_finite_M():
    system = mt.system(2, "learning", "exact", M=24)
    params = {"d": 0.2, "r": 0.2, "T": 0.02}
    x, f, _ = best_state(system, params)
    m = system.order_parameters(x[:, None], params)
    np.testing.assert_allclose(sorted_abs([m["m1"][0], m["m2"][0]]), [0.40514, 0.34532],
                               atol=1e-4)
    np.testing.assert_allclose(sorted_abs(x), [0.37468, 0.32782], atol=1e-4)
    assert f == pytest.approx(-0.24906881, abs=1e-4)
    # while the Gaussian average at the same ρ = 1 selects the symmetric state, m = 0.3787
    gaussian = mt.system(2, "learning", "gaussian")
    params = {"d": 0.2, "rho": physics.dataset_entropy(0.2, 24), "T": 0.02}
    x, _, _ = best_state(gaussian, params)
    assert physics.classify(x) == "parallel"
    assert abs(gaussian.order_parameters(x[:, None], params)["m1"][0]) == pytest.approx(
        0.3787, abs=1e-4)
    system = mt.system(2, "learning", "exact", M=10)
    params = {"d": 0.3, "r": 0.6, "T": 0.1}
    x, f, _ = best_state(system, params)
    m = system.order_parameters(x[:, None], params)
    np.testing.assert_allclose(sorted_abs([m["m1"][0], m["m2"][0]]), [0.63725, 0.23920],
                               atol=1e-4)
    assert f == pytest.approx(-0.24210226, abs=1e-4)


# --- the derivation against hand-written equations ----------------------------------------------

@examples
@given(st.floats(-1, 1), st.floats(-1, 1), st.floats(0, 1), st.floats(0.02, 2))
def test_k2_storage_equations_are_derived(m1, m2, d, T):
    system = mt.system(2)
    F, f = k2_storage(m1, m2, d, T)
    x, p = np.array([[m1], [m2]]), {"d": d, "T": T}
    np.testing.assert_allclose(system.F(x, p)[:, 0], F, rtol=1e-12, atol=1e-14)
    assert system.thermodynamics(x, p)[0][0] == pytest.approx(f, rel=1e-12, abs=1e-13)


@examples
@given(st.lists(st.floats(-1, 1), min_size=2, max_size=2), st.floats(0, 1), st.floats(0, 1.5),
       st.floats(0.05, 2))
def test_gaussian_learning_equations_are_derived(n, d, rho, T):
    system = mt.system(2, "learning", "gaussian")
    F, m, f = gaussian_learning(n, d, rho, T)
    x, p = np.array(n)[:, None], {"d": d, "rho": rho, "T": T}
    np.testing.assert_allclose(system.F(x, p)[:, 0], F, rtol=1e-11, atol=1e-13)
    ops = system.order_parameters(x, p)
    np.testing.assert_allclose([ops["m1"][0], ops["m2"][0]], m, rtol=1e-11, atol=1e-13)
    assert system.thermodynamics(x, p)[0][0] == pytest.approx(f, rel=1e-11, abs=1e-12)


def test_exact_learning_equations_are_derived():
    system = mt.system(2, "learning", "exact", M=6)
    rng = np.random.default_rng(4)
    for _ in range(4):
        n, d, r, T = rng.uniform(-1, 1, 2), rng.uniform(), rng.uniform(0.1, 1), rng.uniform(0.05, 1)
        F, m, f = exact_learning(n, d, r, 6, T)
        x, p = n[:, None], {"d": d, "r": r, "T": T}
        np.testing.assert_allclose(system.F(x, p)[:, 0], F, rtol=1e-12, atol=1e-14)
        ops = system.order_parameters(x, p)
        np.testing.assert_allclose([ops["m1"][0], ops["m2"][0]], m, rtol=1e-12, atol=1e-14)
        assert system.thermodynamics(x, p)[0][0] == pytest.approx(f, rel=1e-12)


def test_gaussian_zero_temperature_closed_forms():
    # Spec §3.3 at T = 0: E tanh -> erf(a/(√2 s)), βE sech² -> 2φ(a/s)/s,
    # f_0 = ((1+ρ)/2)|n|² − Σ P G(a, s), G(a, s) = a erf(a/(√2 s)) + s√(2/π) e^{−a²/(2s²)}.
    system = mt.system(2, "learning", "gaussian", zero_temperature=True)
    rng = np.random.default_rng(5)
    classes, multiplicity = mt.site_classes(2)
    for _ in range(5):
        n, d, rho = rng.uniform(-1, 1, 2), rng.uniform(), rng.uniform(0.05, 1.5)
        m, stein, G = np.zeros(2), np.zeros(2), 0.0
        for xi, mult in zip(classes, multiplicity, strict=True):
            weight = mult * np.prod(np.where(xi == 0, d, (1 - d) / 2))
            a, s = xi @ n, math.sqrt(rho * (xi**2 @ n**2))
            if s == 0:
                continue
            m += weight * xi * special.erf(a / (math.sqrt(2) * s))
            stein += weight * xi**2 * 2 * stats.norm.pdf(a / s) / s
            G += weight * (a * special.erf(a / (math.sqrt(2) * s))
                           + s * math.sqrt(2 / math.pi) * math.exp(-(a**2) / (2 * s**2)))
        x, p = n[:, None], {"d": d, "rho": rho}
        np.testing.assert_allclose(system.F(x, p)[:, 0], (m + rho * n * stein) / (1 + rho),
                                   rtol=1e-13, atol=1e-15)
        assert system.thermodynamics(x, p)[0][0] == pytest.approx((1 + rho) / 2 * n @ n - G,
                                                                  rel=1e-13)


@pytest.mark.parametrize("case, data", [
    (dict(K=3), {}), (dict(K=3, zero_temperature=True), {}),
    (dict(K=2, protocol="learning", average="gaussian"), {"rho": 0.3}),
    (dict(K=2, protocol="learning", average="gaussian", zero_temperature=True), {"rho": 0.3}),
    (dict(K=2, protocol="learning", average="exact", M=7), {"r": 0.45}),
])
def test_jacobian_hessian_and_energy_are_derivatives(case, data):
    # dF/dx, ∇²f and u = ∂(βf)/∂β against central differences of the compiled F and f.
    system = mt.system(**case)
    rng = np.random.default_rng(6)
    G, eps = 6, 1e-6
    x = rng.uniform(-0.8, 0.8, (system.K, G))
    p = per_point({"d": rng.uniform(0.05, 0.95, G), "T": rng.uniform(0.1, 1.0, G), **data}, G)
    J, H = system.jacobian(x, p), system.hessian(x, p)
    c = quadratic_coefficient(case, data)
    np.testing.assert_allclose(J, np.eye(system.K) - H / c, atol=1e-14)
    for j in range(system.K):
        step = np.zeros_like(x)
        step[j] = eps
        dF = (system.F(x + step, p) - system.F(x - step, p)) / (2 * eps)
        np.testing.assert_allclose(J[:, :, j], dF.T, atol=1e-7)
        # F = x − ∇f/c, so c(x − F) is the gradient
        grad = (system.thermodynamics(x + step, p)[0]
                - system.thermodynamics(x - step, p)[0]) / (2 * eps)
        np.testing.assert_allclose(grad, c * (x[j] - system.F(x, p)[j]), atol=1e-8)
    if not system.zero_temperature:
        T, dT = p["T"], 1e-6
        beta_f = [system.thermodynamics(x, {**p, "T": t})[0] / t for t in (T + dT, T - dT)]
        dbeta = 1 / (T + dT) - 1 / (T - dT)
        np.testing.assert_allclose((beta_f[0] - beta_f[1]) / dbeta,
                                   system.thermodynamics(x, p)[1], atol=1e-6)


# --- limits and symmetries --------------------------------------------------------------------

def test_zero_temperature_is_the_small_temperature_limit():
    # storage K = 3, d = 0.3: the cascade, approached exponentially fast in β
    finite = mt.system(3)
    errors = []
    for T in (0.04, 0.02, 0.01):
        res, p = solve(finite, physics.cascade(0.3, 3)[:, None], {"d": 0.3, "T": T})
        errors.append(np.max(np.abs(res.x[:, 0] - physics.cascade(0.3, 3))))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-6
    # Gaussian learning K = 2, d = 0.2, ρ = 0.4: n(T), f(T) and the Hessian approach T = 0; f
    # up to the entropy d^K ln 2 of the blank sites (free spins), f ≈ f_0 − T d^K ln 2
    zero = mt.system(2, "learning", "gaussian", zero_temperature=True)
    finite = mt.system(2, "learning", "gaussian")
    params = {"d": 0.2, "rho": 0.4}
    res, p0 = solve(zero, [[0.56], [0.24]], params)
    n0, f0 = res.x[:, 0], zero.thermodynamics(res.x, p0)[0][0]
    H0 = zero.hessian(res.x, p0)[0]
    distances = []
    for T in (0.04, 0.02, 0.01):
        res, p = solve(finite, n0[:, None], {**params, "T": T})
        f, _ = finite.thermodynamics(res.x, p)
        distances.append((np.max(np.abs(res.x[:, 0] - n0)),
                          abs(f[0] - f0 + T * params["d"] ** 2 * math.log(2)),
                          np.max(np.abs(finite.hessian(res.x, p)[0] - H0))))
    distances = np.array(distances)
    ratios = distances[:-1] / distances[1:]  # each O(T²): a factor 4 per halving of T
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios
    assert np.all(distances[-1] < [1e-4, 1e-4, 1e-3])


def test_pure_state_is_unstable_at_zero_temperature():
    # Spec §4.2: blank sites of ξ^1 have zero field, −∞ curvature along the other patterns.
    system = mt.system(3, zero_temperature=True)
    for d in (0.1, 0.5):
        x = np.array([[1 - d], [0.0], [0.0]])
        assert np.max(np.abs(system.F(x, {"d": d}) - x)) < 1e-15
        H = system.hessian(x, {"d": d})[0]
        assert H[0, 0] == 1 and H[1, 1] == H[2, 2] == -np.inf
        assert system.curvature(x, {"d": d})[0] == -np.inf
    x = np.array([[1.0], [0.0], [0.0]])  # d = 0: the Hopfield pure state is stable
    np.testing.assert_array_equal(system.hessian(x, {"d": 0.0})[0], np.eye(3))
    # learning: a class whose support has n = 0 has identically zero field too
    learning = mt.system(2, "learning", "gaussian", zero_temperature=True)
    n = np.array([[0.5], [0.0]])
    assert learning.curvature(n, {"d": 0.3, "rho": 0.2})[0] == -np.inf
    assert mt.smallest_eigenvalue(np.array([[[2.0, 1.0], [1.0, 2.0]]]))[0] == pytest.approx(1)


@examples
@given(st.floats(0.05, 0.98))
def test_single_pattern_without_dilution_is_curie_weiss(T):
    system = mt.system(1)
    res, p = solve(system, [[1.0]], {"d": 0.0, "T": T})
    m = optimize.brentq(lambda m: m - np.tanh(m / T), 1e-3, 1.0)
    assert res.x[0, 0] == pytest.approx(m, abs=1e-10)
    f, _ = system.thermodynamics(res.x, p)
    assert f[0] == pytest.approx(m**2 / 2 - T * log2cosh(m / T), abs=1e-12)


@examples
@given(st.floats(0, 1), st.floats(0.05, 2))
def test_no_dilution_gives_hopfield_mixtures(m, T):
    # d = 0 (Amit, Gutfreund, Sompolinsky 1985): the symmetric 3-mixture
    # m = ¼[tanh 3βm + tanh βm], and the pure state m = tanh βm with the others zero.
    system = mt.system(3)
    b = 1 / T
    F = system.F(np.array([[m, m], [m, 0.0], [m, 0.0]]), {"d": 0.0, "T": T})
    np.testing.assert_allclose(F[:, 0], (np.tanh(3 * b * m) + np.tanh(b * m)) / 4, atol=1e-14)
    np.testing.assert_allclose(F[:, 1], [np.tanh(b * m), 0, 0], atol=1e-14)


CASES = [dict(K=3), dict(K=3, zero_temperature=True),
         dict(K=3, protocol="learning", average="gaussian"),
         dict(K=2, protocol="learning", average="exact", M=4)]


@pytest.mark.parametrize("case", CASES)
@examples
@given(data=st.data())
def test_relabelling_and_flipping_patterns(case, data):
    system = mt.system(**case)
    K = system.K
    order = np.array(data.draw(st.permutations(range(K))))
    signs = np.array(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=K, max_size=K)))
    x = np.array(data.draw(st.lists(st.floats(-0.9, 0.9), min_size=K, max_size=K)))[:, None]
    p = {"d": data.draw(st.floats(0, 1)), "T": data.draw(st.floats(0.05, 1.5)), "rho": 0.3,
         "r": 0.6}
    if case.get("zero_temperature"):
        # at T = 0 a site class whose field xi . m cancels to rounding (0.5 - 0.3 - 0.2) has no
        # sign: the symmetry holds in exact arithmetic, not for the rounding of such fields
        xi = mt.site_classes(K)[0].astype(float)
        assume(np.min(np.abs(xi @ x[:, 0])[np.any(xi != 0, axis=1)]) > 1e-9)
    y = (signs * x[order, 0])[:, None]
    np.testing.assert_allclose(system.F(y, p)[:, 0], signs * system.F(x, p)[order, 0],
                               atol=1e-13)
    np.testing.assert_allclose(system.thermodynamics(y, p), system.thermodynamics(x, p),
                               atol=1e-13)
    H, Hy = system.hessian(x, p)[0], system.hessian(y, p)[0]
    np.testing.assert_allclose(Hy, np.outer(signs, signs) * H[np.ix_(order, order)], atol=1e-12)


def test_relabelled_starts_give_relabelled_solutions():
    system = mt.system(3)
    params = {"d": 0.4, "T": 0.1}
    x0 = np.array([0.6, 0.25, 0.1])
    order, signs = np.array([2, 0, 1]), np.array([1.0, -1.0, -1.0])
    res, _ = solve(system, np.column_stack([x0, signs * x0[order]]), params)
    assert res.converged.all()
    np.testing.assert_allclose(res.x[:, 1], signs * res.x[order, 0], atol=1e-11)


@pytest.mark.parametrize("zero_temperature", [False, True])
def test_gaussian_learning_without_data_is_storage(zero_temperature):
    storage = mt.system(3, zero_temperature=zero_temperature)
    learning = mt.system(3, "learning", "gaussian", zero_temperature=zero_temperature)
    exact = mt.system(3, "learning", "exact", M=3, zero_temperature=zero_temperature)
    rng = np.random.default_rng(7)
    x = rng.uniform(-0.6, 0.6, (3, 8))
    x[:, 0], x[:, 1] = [0.3, 0.3, 0.0], [0.4, 0.0, 0.0]  # with classes of zero field
    d = rng.uniform(0, 1, 8)
    p = {"d": d, "T": np.full(8, 0.2), "rho": np.zeros(8), "r": np.ones(8)}
    for other in (learning, exact):  # ρ = 0, r = 1: every example is the archetype
        np.testing.assert_allclose(other.F(x, p), storage.F(x, p), atol=1e-15)
        np.testing.assert_allclose(other.thermodynamics(x, p), storage.thermodynamics(x, p),
                                   atol=1e-15)
        np.testing.assert_allclose(other.hessian(x, p), storage.hessian(x, p), atol=1e-14)
        ops = other.order_parameters(x, p)  # m = Σ P ξ tanh βh, = x at a solution
        np.testing.assert_allclose([ops[f"m{k}"] for k in (1, 2, 3)], storage.F(x, p),
                                   atol=1e-15)


def test_exact_data_approaches_the_gaussian_average():
    # At fixed ρ the binomial χ̂ tends to 1 + √ρ z as M grows (spec §1.2).
    rho, params = 0.2, {"d": 0.3, "T": 0.1}
    gaussian = mt.system(2, "learning", "gaussian")
    reference = solve(gaussian, [[0.6], [0.2]], {**params, "rho": rho})[0].x[:, 0]
    gaps = []
    for M in (5, 20, 80):
        exact = mt.system(2, "learning", "exact", M=M)
        r = physics.quality_for_entropy(rho, M)
        assert physics.dataset_entropy(r, M) == pytest.approx(rho, rel=1e-14)
        res, _ = solve(exact, reference[:, None], {**params, "r": r})
        gaps.append(np.max(np.abs(res.x[:, 0] - reference)))
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 2e-3


def test_parameters_outside_the_domain_give_nan():
    system = mt.system(2, "learning", "gaussian")
    x = np.full((2, 4), 0.3)
    p = {"d": np.array([0.3, 1.2, 0.3, 0.3]), "T": np.array([0.2, 0.2, 0.0, 0.2]),
         "rho": np.array([0.1, 0.1, 0.1, -0.1])}
    F = system.F(x, p)
    assert np.all(np.isfinite(F[:, 0])) and np.all(np.isnan(F[:, 1:]))
    with pytest.raises(ValueError, match="rho"):
        system.F(x, {"d": 0.3, "T": 0.2})
    with pytest.raises(ValueError, match="M"):
        mt.system(2, "learning", "exact")


# --- physics functions --------------------------------------------------------------------------

def test_chi_hat_moments_are_the_binomial_ones():
    for r, M in [(0.2, 24), (0.5, 8), (0.9, 3), (1.0, 1)]:
        S = 2 * np.arange(M + 1) - M
        pmf = stats.binom.pmf(np.arange(M + 1), M, (1 + r) / 2)
        chi = S / (r * M)
        np.testing.assert_allclose(physics.chi_hat_moments(r, M),
                                   [pmf @ chi, pmf @ chi**2, pmf @ chi**4], rtol=1e-12)
        assert physics.chi_hat_moments(r, M)[1] == pytest.approx(
            1 + physics.dataset_entropy(r, M), rel=1e-13)
    assert physics.landau_dilution_exact(0.2, 24) == pytest.approx(0.2008, abs=1e-4)
    assert physics.landau_dilution_gaussian(0.375) == pytest.approx(0.3526, abs=1e-4)


def test_signal_to_noise():
    d, rho = 0.3, 0.5
    one = physics.signal_to_noise(d, 1, rho)  # K = 1: the stat-mech T = 0 value
    assert one.magnetisation[0] == pytest.approx((1 - d) * special.erf(1 / math.sqrt(2 * rho)),
                                                 rel=1e-14)
    assert one.stable[0] == pytest.approx(1 - stats.norm.cdf(-1 / math.sqrt(rho)), rel=1e-14)
    two = physics.signal_to_noise(d, 2, rho)
    s = math.sqrt(2 * rho * (1 + d**2))
    m1 = ((1 - d) * d * special.erf(1 / math.sqrt(2 * rho))
          + (1 - d) ** 2 / 2 * (special.erf((1 + d) / s) + special.erf((1 - d) / s)))
    assert two.magnetisation[0] == pytest.approx(m1, rel=1e-14)
    np.testing.assert_array_equal(two.level, [2, 1, 1, 1])
    assert two.weights.sum() == pytest.approx(1 - d**2, rel=1e-14)
    # without data it is deterministic: every class stable iff 1 − 2d + d^K > 0
    for K in (3, 4):
        dc = physics.critical_dilution(K)
        assert np.all(physics.signal_to_noise(dc - 0.01, K, 0.0).stable == 1)
        assert np.any(physics.signal_to_noise(dc + 0.01, K, 0.0).stable == 0)
        np.testing.assert_allclose(physics.signal_to_noise(dc - 0.01, K, 0.0).magnetisation,
                                   physics.cascade(dc - 0.01, K), atol=1e-15)
    # the tolerance threshold: P(flip) = Φ(−1/√ρ) = ε at M = θ²(1 − r²)/r²
    assert physics.tolerance_threshold(0.5, 0.01) == pytest.approx(5.41 * 3, rel=1e-3)
    rho_at = physics.dataset_entropy(0.5, physics.tolerance_threshold(0.5, 0.01))
    assert stats.norm.cdf(-1 / math.sqrt(rho_at)) == pytest.approx(0.01, rel=1e-12)


def test_classify():
    states = np.array([[0.0, 0.0, 0.0], [0.7, 0.0, 0.0], [0.7, 0.21, 0.063],
                       [0.357, 0.357, 0.2], [0.3, 0.3, 0.3], [0.5, 0.2, 0.0], [-0.3, 0.3, 0.0]]).T
    np.testing.assert_array_equal(physics.classify(states), [
        "paramagnet", "pure", "hierarchical", "partial", "parallel", "hierarchical", "parallel"])
    assert physics.hierarchy_type(physics.cascade(0.3, 3), 0.3) == "cascade"
    assert physics.hierarchy_type(-physics.majority_state(0.6)[::-1], 0.6) == "majority"
    assert physics.hierarchy_type([0.3, 0.3, 0.3], 0.6) is None
    assert physics.quality_for_entropy(1.0, 24) == pytest.approx(0.2, rel=1e-14)

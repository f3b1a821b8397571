"""The deterministic task-1 solver of the Franz–Parisi model (``shared/specs/franz-parisi.md`` §2,
§4, §7) against independent quadrature, the derived equations, finite differences and limits."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import integrate, optimize, special

from derivations import franz_parisi as fp
from theorylab import franz_parisi_solver as fs
from theorylab import gaussian

BETA = 20.0
DEFAULT = fs.Grids()
_solved: dict[tuple, fs.Task1State] = {}


def solve(alpha, branch="poor", k1=0.0, grids=DEFAULT):
    """Task-1 solves, shared between tests (each takes about a second)."""
    key = (alpha, branch, k1, grids)
    if key not in _solved:
        _solved[key] = fs.solve_task1(alpha, BETA, k1, branch=branch, grids=grids)
    return _solved[key]


def pdf(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


# --- quadrature against scipy -------------------------------------------------------------------

def site_scipy(A, h, k):
    """ln ∫dm e^{A m² + h m + kS}, ⟨m⟩, ⟨m²⟩, ⟨sign m⟩ by adaptive quadrature in t = atanh m."""
    shift = abs(h) + max(A, 0.0) + k * math.log(2)

    def f(t):
        m = math.tanh(t)
        plus, minus = special.expit(2 * t), special.expit(-2 * t)
        entropy = -(plus * special.log_expit(2 * t) + minus * special.log_expit(-2 * t))
        w = math.exp(A * m * m + h * m + k * entropy - shift) * 4 * plus * minus
        return np.array([w, m * w, m * m * w, math.copysign(w, t)])

    z, m1, m2, sgn = integrate.quad_vec(f, -25, 25, points=[0.0], epsabs=0, epsrel=1e-13,
                                        limit=2000)[0]
    return np.array([math.log(z) + shift, m1 / z, m2 / z, sgn / z])


@pytest.mark.parametrize(("A", "h", "k"), [
    (0.5, 2.0, 0.0), (-300.0, 40.0, 0.0), (800.0, 3.0, 0.0), (800.0, -1500.0, 0.0),
    (-1000.0, 100.0, 0.0), (-50.0, 0.5, 3.0), (2.0, 0.3, 100.0), (0.0, 1e-3, 0.0)])
def test_site_moments_against_scipy(A, h, k):
    # fields ~10³ (boundary layers at m = ±1) and narrow peaks next to m = 0 (⟨sign m⟩)
    s = fs.site_moments(A, np.array([h]), k)
    mine = np.array([s.log_z[0], s.mean[0], s.square[0], s.sign[0]])
    np.testing.assert_allclose(mine, site_scipy(A, h, k), rtol=1e-12, atol=1e-13)


def output_scipy(omega, q, Q, beta):
    """ln Z_out(ω) and ⟨R⟩, ⟨R²⟩, ⟨gR⟩ over Dx H(g)^β, by adaptive quadrature around the peak."""
    a, s = math.sqrt(Q - q), math.sqrt(1 - Q)
    xs = np.linspace(-60, 10, 70001)
    ell = -xs**2 / 2 + beta * special.log_ndtr(-(omega + a * xs) / s)
    peak, top = xs[ell.argmax()], ell.max()

    def f(x):
        g = (omega + a * x) / s
        log_h = special.log_ndtr(-g)
        R = math.exp(-g * g / 2 - 0.5 * math.log(2 * math.pi) - log_h)
        w = math.exp(-x * x / 2 + beta * log_h - top)
        return np.array([w, w * R, w * R * R, w * g * R])

    edges = sorted({peak - 12, peak, peak + 12, *[e for e in (-omega / a,)
                                                  if abs(e - peak) < 12]})
    z, r1, r2, gr = sum(integrate.quad_vec(f, lo, hi, epsabs=0, epsrel=1e-13, limit=2000)[0]
                        for lo, hi in itertools.pairwise(edges))
    return np.array([math.log(z) + top - 0.5 * math.log(2 * math.pi), r1 / z, r2 / z, gr / z])


@pytest.mark.parametrize(("omega", "q", "Q", "beta"), [
    (0.5, 0.3, 0.6, 20.0), (3.0, 0.5, 0.99, 20.0), (0.1, 0.98, 0.995, 20.0),
    (2.0, 0.2, 0.9, 3.0), (-1.0, 0.95, 0.977, 20.0), (4.0, 0.9782, 0.97839, 20.0)])
def test_output_channel_against_scipy(omega, q, Q, beta):
    # misclassified ω > 0: the mass of Dx H(g)^β sits deep in the Gaussian tail
    o = fs.output_channel(np.array([omega]), q, Q, beta, fs.Grids(x_nodes=128))
    mine = np.array([o.log_z[0], o.R[0], o.R2[0], o.gR[0]])
    np.testing.assert_allclose(mine, output_scipy(omega, q, Q, beta), rtol=1e-10)
    default = fs.output_channel(np.array([omega]), q, Q, beta)
    assert default.log_z[0] == pytest.approx(o.log_z[0], rel=1e-8, abs=1e-10)


# --- the conjugates -----------------------------------------------------------------------------

POINTS_E = [(0.6, 0.5, 0.8, 3.0), (0.9545048725, 0.7312077493, 0.9770602749, 20.0),
            (0.9782378786, 0.9889991129, 0.9783937443, 20.0)]
"""(q, r, Q, β): a generic point; the α = 1.5 poor and α = 2 good solutions at β = 20."""


@pytest.mark.parametrize(("q", "r", "Q", "beta"), POINTS_E)
def test_analytic_conjugates_are_derivatives_of_G_E(q, r, Q, beta):
    e = fs.energetic(q, r, Q, beta)
    step = 1e-4 * min(q - r * r, Q - q, 1 - Q, 0.01)

    def G(dq=0.0, dr=0.0, dQ=0.0):
        return fs.energetic(q + dq, r + dr, Q + dQ, beta).G_E

    assert (G(dq=step) - G(dq=-step)) / (2 * step) == pytest.approx(e.dq, rel=1e-7)
    assert (G(dr=step) - G(dr=-step)) / (2 * step) == pytest.approx(e.dr, rel=1e-7)
    assert (G(dQ=step) - G(dQ=-step)) / (2 * step) == pytest.approx(e.dQ, rel=1e-7)
    assert fs.conjugates(q, r, Q, 0.7, beta) == pytest.approx(
        (-1.4 * e.dq, 0.7 * e.dr, 0.7 * e.dQ), rel=1e-15)


@pytest.mark.slow
def test_conjugates_against_nested_scipy_quadrature():
    # the α = 0.5 solution at β = 20: q̂ = 2αE_zW(β/s)²⟨R⟩², Q̂ = αE_zW β(β − 1)/s² ⟨R²⟩,
    # r̂ = 2α√q/√(q − r²) E_z φ(cz)(β/s)⟨R⟩ by adaptive quadrature (a second, independent code)
    q, r, Q, alpha = 0.5395258633195281, 0.3789743112384891, 0.6797674174187188, 0.5
    a, s = math.sqrt(Q - q), math.sqrt(1 - Q)
    c = r / math.sqrt(q - r * r)

    def channel(omega):
        def f(x):
            g = (omega + a * x) / s
            log_h = special.log_ndtr(-g)
            R = math.exp(-g * g / 2 - 0.5 * math.log(2 * math.pi) - log_h)
            w = pdf(x) * math.exp(BETA * log_h)
            return np.array([w, w * R, w * R * R])

        edges = sorted({-14.0, 14.0, min(max(-omega / a, -14.0), 14.0)})
        return sum(integrate.quad_vec(f, lo, hi, epsabs=0, epsrel=1e-14, limit=4000)[0]
                   for lo, hi in itertools.pairwise(edges))

    def integrand(z):
        Z, ZR, ZR2 = channel(math.sqrt(q) * z)
        W = special.ndtr(-c * z)
        return 2 * alpha * pdf(z) * np.array([
            W * (BETA / s) ** 2 * (ZR / Z) ** 2,
            math.sqrt(q) / math.sqrt(q - r * r) * pdf(c * z) * BETA / s * ZR / Z,
            W * BETA * (BETA - 1) / (2 * s * s) * ZR2 / Z])

    expected = sum(integrate.quad_vec(integrand, lo, hi, epsabs=0, epsrel=1e-13, limit=4000)[0]
                   for lo, hi in ((-12, 0), (0, 12)))
    np.testing.assert_allclose(fs.conjugates(q, r, Q, alpha, BETA), expected, rtol=1e-12)


@pytest.fixture(scope="module")
def derived():
    return fp.task1_equations()


def test_solution_is_a_fixed_point_of_the_derived_map(derived):
    # spec §2 equations as derived in derivations.franz_parisi, evaluated by its nested
    # quadrature (accurate to ~1e-8 relative here: fields up to ~30, β = 20)
    s = solve(0.5)
    F = derived.map()
    point = {fp.q1: s.q, fp.r1: s.r, fp.Q1: s.Q, fp.alpha1: s.alpha, fp.beta: BETA}
    hats = {fp.qh1: s.qhat, fp.rh1: s.rhat, fp.Qh1: s.Qhat, fp.k1: 0.0}
    for hat, value in ((fp.qh1, s.qhat), (fp.rh1, s.rhat), (fp.Qh1, s.Qhat)):
        assert float(fp.evaluate(F[hat], point)) == pytest.approx(value, rel=1e-7)
    for var, value in ((fp.q1, s.q), (fp.r1, s.r), (fp.Q1, s.Q)):
        assert float(fp.evaluate(F[var], hats)) == pytest.approx(value, abs=1e-12)
    assert float(fp.evaluate(derived.observables["p"], hats)) == pytest.approx(s.p, abs=1e-12)
    phi = float(fp.evaluate(derived.free_entropy, {**point, **hats}))
    assert phi == pytest.approx(s.phi, abs=1e-8)


@pytest.mark.parametrize(("qh", "rh", "Qh", "k"), [(2.0, 1.0, 0.5, 0.0), (0.7, -0.4, 2.0, 3.0),
                                                   (30.0, 5.0, 12.0, 0.0)])
def test_site_averages_against_the_derived_map(derived, qh, rh, Qh, k):
    F = derived.map()
    values = {fp.qh1: qh, fp.rh1: rh, fp.Qh1: Qh, fp.k1: k}
    s = fs.site_averages(qh, rh, Qh, k)
    assert s.q == pytest.approx(float(fp.evaluate(F[fp.q1], values)), abs=1e-11)
    assert s.r == pytest.approx(float(fp.evaluate(F[fp.r1], values)), abs=1e-11)
    assert s.Q == pytest.approx(float(fp.evaluate(F[fp.Q1], values)), abs=1e-11)
    assert s.p == pytest.approx(float(fp.evaluate(derived.observables["p"], values)), abs=1e-11)


# --- the saddle point ---------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_grid_refinement(alpha):
    # spec §7.8: t-step / 2, x-nodes × 1.5, z- and h-nodes × 1.7
    branch = "good" if alpha == 2.0 else "poor"
    base, fine = solve(alpha, branch), solve(alpha, branch, grids=fs.Grids().refined())
    assert base.converged and fine.converged
    for name in ("q", "r", "Q", "p", "eps_g", "phi"):
        assert getattr(base, name) == pytest.approx(getattr(fine, name), abs=1e-9), name
    for name in ("qhat", "rhat", "Qhat", "replicon"):
        assert getattr(base, name) == pytest.approx(getattr(fine, name), rel=1e-8), name


def test_solution_solves_its_equations_and_reports_itself():
    s = solve(0.5)
    assert s.converged and s.residual <= 1e-11 and "converged" in s.message
    F = fs.order_parameter_map([s.q, s.r, s.Q], s.alpha, BETA)
    np.testing.assert_allclose(F, [s.q, s.r, s.Q], atol=1e-11)
    assert s.qhat == pytest.approx(fs.conjugates(s.q, s.r, s.Q, s.alpha, BETA)[0], rel=1e-14)
    assert s.eps_g == pytest.approx(math.acos(s.p) / math.pi, abs=1e-15)
    assert s.r * s.r < s.q < s.Q < 1


def test_no_silent_fallback():
    s = fs.solve_task1(1.0, BETA, maxiter=2)
    assert not s.converged
    assert "did not converge" in s.message


def test_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        fs.solve_task1(-0.1)
    with pytest.raises(ValueError, match="r²"):
        fs.energetic(0.5, 0.8, 0.9, BETA)


def test_alpha_to_zero():
    # spec §7.1: the hats vanish linearly in α, m is uniform: Q → 1/3, q = r = p = 0 + O(α)
    exact = fs.solve_task1(0.0)
    assert exact.Q == pytest.approx(1 / 3, abs=1e-13)
    assert exact.phi == pytest.approx(math.log(2), abs=1e-13)
    small, smaller = fs.solve_task1(1e-3), fs.solve_task1(5e-4)
    assert small.converged and smaller.converged
    for name, limit in (("q", 0.0), ("r", 0.0), ("p", 0.0), ("Q", 1 / 3)):
        a, b = getattr(small, name) - limit, getattr(smaller, name) - limit
        assert abs(a) < 2e-3, name
        assert a / b == pytest.approx(2.0, rel=0.02), name  # linear in α
    assert small.eps_g == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize("k1", [3.0, 100.0])
def test_alpha_to_zero_with_an_entropic_prior(k1):
    # Q = ∫m² e^{k₁S} / ∫e^{k₁S}
    def weight(m, power):
        return m**power * math.exp(k1 * float(fp.entropy(m)))

    expected = (integrate.quad(weight, -1, 1, args=(2,), epsrel=1e-13)[0]
                / integrate.quad(weight, -1, 1, args=(0,), epsrel=1e-13)[0])
    assert fs.solve_task1(0.0, BETA, k1).Q == pytest.approx(expected, abs=1e-12)
    small = fs.solve_task1(1e-3, BETA, k1)
    assert small.converged
    assert small.Q == pytest.approx(expected, abs=2e-3)


def test_branches_and_replicon_at_beta_20():
    # spec §7a: replicon ≈ 0.41 at α = 0.5 (stable) and ≈ 2.59 at α = 1 (unstable); spec §2:
    # a poor and a good branch coexist at α = 1.5, the poor one with the larger free entropy
    assert solve(0.5).replicon == pytest.approx(0.41, abs=0.005) and solve(0.5).stable
    assert solve(1.0).replicon == pytest.approx(2.59, abs=0.005) and not solve(1.0).stable
    poor, good = solve(1.5, "poor"), solve(1.5, "good")
    assert poor.converged and good.converged
    assert poor.r < 0.8 < good.r
    assert poor.phi > good.phi
    assert good.eps_g < poor.eps_g


@pytest.mark.slow
def test_replicon_marginal_at_alpha_075():
    assert solve(0.75).replicon == pytest.approx(1.09, abs=0.005)


# --- the classical kernel (spec §7.2) -----------------------------------------------------------

def gardner_rate(r):
    """(1/π)(1 − r)^{−1/2} ∫Dt e^{−rt²/2}/H(√r t): r̂/α of Gibbs learning (Györgyi 1990;
    Seung, Sompolinsky, Tishby 1992), also the right side of the spherical R/(1 − R) = α·(this)."""
    def f(t):
        return pdf(t) * math.exp(-r * t * t / 2) / special.ndtr(-math.sqrt(r) * t)

    return integrate.quad(f, -30, 30, epsabs=0, epsrel=1e-13, limit=400)[0] / (
        math.pi * math.sqrt(1 - r))


def kernel_rate(r):
    """r̂/α from the solver's G_E at β = 1, q = r, where Z_out = H(√q z/√(1 − q)) at any Q."""
    return fs.conjugates(r, r, (1 + r) / 2, 1.0, 1.0)[1]


@pytest.mark.parametrize("r", [0.2, 0.6, 0.95])
def test_kernel_at_beta_one_is_gardners(r):
    assert kernel_rate(r) == pytest.approx(gardner_rate(r), rel=1e-10)
    qh, rh, Qh = fs.conjugates(r, r, (1 + r) / 2, 1.0, 1.0)
    assert qh == pytest.approx(rh, rel=1e-10)  # Nishimori: q̂ = r̂ on q = r
    assert Qh == 0.0


@pytest.mark.parametrize(("alpha", "R", "eps"), [(1.0, 0.4862636, 0.3383595),
                                                 (2.0, 0.7282982, 0.2403116)])
def test_spherical_perceptron_from_the_kernel(alpha, R, eps):
    # spherical entropic term: R/(1 − R) = r̂(R), r̂ from the solver's kernel (spec §7.2 numbers)
    root = optimize.brentq(lambda x: x / (1 - x) - alpha * kernel_rate(x), 0.05, 0.95,
                           xtol=1e-13)
    assert root == pytest.approx(R, abs=1e-6)
    assert math.acos(root) / math.pi == pytest.approx(eps, abs=1e-6)


def test_gibbs_learning_spinodal_between_149_and_150():
    # Ising entropy: r = E tanh(√r̂ z + r̂), r̂ from the solver's kernel; the poor branch exists while
    # g(r) = E tanh(√r̂ z + r̂) − r has a root below its return to r = 1
    def g(r, alpha):
        rhat = alpha * kernel_rate(r)
        return float(gaussian.expect(np.tanh, rhat, rhat)) - r

    for alpha, exists in ((1.49, True), (1.50, False)):
        grid = np.linspace(0.5, 0.97, 48)
        values = [g(r, alpha) for r in grid]
        i = int(np.argmin(values))
        best = optimize.minimize_scalar(g, bounds=(grid[max(i - 1, 0)], grid[i + 1]),
                                        args=(alpha,), method="bounded",
                                        options={"xatol": 1e-7})
        assert (best.fun < 0) == exists, (alpha, best.x, best.fun)


# --- task 2: the Franz–Parisi potential (spec §3, §7.3–7.6, §7.8) -------------------------------

ALPHA1 = 2.0
_solved2: dict[tuple, fs.Task2State] = {}


def task1_reference(grids=DEFAULT):
    """The task-1 state of the spec's check points: α₁ = 2, β = 20 (good branch)."""
    return solve(ALPHA1, "good", grids=grids)


def solve2(alpha2, r0, gamma, grids=DEFAULT):
    """Task-2 solves on the α₁ = 2 reference, shared between tests (one to a few seconds each)."""
    key = (alpha2, r0, gamma, grids)
    if key not in _solved2:
        _solved2[key] = fs.solve_task2(task1_reference(grids), alpha2, r0, gamma, grids=grids)
    return _solved2[key]


def test_reference_density_reproduces_task1():
    # the tabulated density of θ¹ = atanh m¹ is the task-1 site measure averaged over h₁: its
    # moments are the task-1 order parameters (same t-grid, so to rounding), also on the
    # subdivided grid used at large k
    s1 = task1_reference()
    site = fs.site_averages(s1.qhat, s1.rhat, s1.Qhat)  # the task-1 map at its hats
    for k in (20.0, 200.0):
        ref = fs.reference_density(s1, k)
        m = np.tanh(ref.theta)
        assert ref.weight.sum() == pytest.approx(1.0, abs=1e-13)
        assert ref.weight @ m == pytest.approx(site.r, abs=1e-13)
        assert ref.weight @ (m * m) == pytest.approx(site.Q, abs=1e-13)
        # sign θ¹ jumps at θ¹ = 0, where the uniform rule is O(dt²) (task 1 integrates it in
        # ln t); the task-2 integrands are smooth in θ¹
        assert ref.weight @ np.sign(ref.theta) == pytest.approx(site.p, abs=1e-8)
        assert k * np.diff(ref.theta).max() <= DEFAULT.mu_step + 1e-12


@pytest.mark.parametrize("alpha2", [0.5, 2.0])
def test_gamma_zero_is_task1_at_alpha2(alpha2):
    # spec §7.3: without the KL the reference drops out; teacher 2 is learnt as task 1 at α₂
    # (B = −1 is the mirror image of B = +1), p₁ = r₀ p(α₂), and φ₂ = φ₁(α₂). The x-average has
    # its breakpoint at the switch b = 0: an 81-node Gauss–Hermite average is off by 0.03–0.07
    # here (spec §7.8), far outside these tolerances.
    r0 = 0.5
    s2 = solve2(alpha2, r0, 0.0)
    s1 = solve(alpha2, "good" if alpha2 == 2.0 else "poor")
    assert s2.converged and s1.converged
    for mine, theirs in (("q2", "q"), ("r2", "r"), ("Q2", "Q"), ("p2", "p"), ("phi", "phi")):
        assert getattr(s2, mine) == pytest.approx(getattr(s1, theirs), abs=1e-8), mine
    assert s2.qhat2 == pytest.approx(s1.qhat, rel=1e-8)
    assert s2.p1 == pytest.approx(r0 * s1.p, abs=1e-8)
    assert s2.eps2 == pytest.approx(s1.eps_g, abs=1e-8)
    assert s2.forgetting == pytest.approx(math.acos(r0 * s1.p) / math.pi
                                          - task1_reference().eps_g, abs=1e-8)


def test_identical_and_opposite_teachers():
    # spec §7.5: r₀ = 1 ⇒ p₁ = p₂ (B = +1 always) and ε¹ does not grow with α₂ (the new data are
    # about the same teacher); r₀ = −1 ⇒ p₂ = −p₁
    same = [solve2(alpha2, 1.0, 1.0) for alpha2 in (0.5, 1.0)]
    for s in same:
        assert s.converged
        assert s.p1 == pytest.approx(s.p2, abs=1e-14)  # to rounding: two summation orders
        assert s.R21 == pytest.approx(s.r2, abs=1e-11)  # R₂₁ is the map's, r₂ the iterate
    assert same[1].eps1 <= same[0].eps1
    opposite = solve2(1.0, -1.0, 1.0)
    assert opposite.converged
    assert opposite.p2 == pytest.approx(-opposite.p1, abs=1e-14)
    assert opposite.r2 == pytest.approx(-opposite.R21, abs=1e-11)


def test_alpha2_to_zero():
    # spec §7.4: without task-2 data the hats vanish and the site measure is ∝ e^{k(S(m) + mθ¹)}:
    # the order parameters are the direct average over the θ¹-density of its exact moments (no
    # tables); ⟨m⟩ ≈ m¹(1 − 1/k) where the Laplace point is away from m = ±1; p₁ a little below
    # p(α₁) (thermal spread); and α₂ = 10⁻³ is next to it, linearly
    s1 = task1_reference()
    gamma = 1.0
    k = BETA * gamma
    zero = fs.solve_task2(s1, 0.0, 0.0, gamma)
    ref = fs.reference_density(s1, k)
    site = fs.site_moments(0.0, k * ref.theta, k)
    assert zero.converged and zero.qhat2 == 0.0
    assert zero.Q2 == pytest.approx(ref.weight @ site.square, abs=1e-12)
    assert zero.q2 == pytest.approx(ref.weight @ site.mean**2, abs=1e-12)
    assert zero.R21 == pytest.approx(ref.weight @ site.mean, abs=1e-12)
    assert zero.p1 == pytest.approx(ref.weight @ site.sign, abs=1e-12)
    assert zero.r2 == pytest.approx(0.0, abs=1e-14)  # r₀ = 0: teacher 2 unrelated
    assert 0 < s1.p - zero.p1 < 1e-3
    middle = np.abs(np.tanh(ref.theta)) < 0.8
    laplace = np.tanh(ref.theta[middle]) * (1 - 1 / k)
    np.testing.assert_allclose(site.mean[middle], laplace, atol=3 / k**2)
    small = fs.solve_task2(s1, 1e-3, 0.0, gamma)
    assert small.converged
    for name in ("q2", "Q2", "R21", "p1"):
        assert getattr(small, name) == pytest.approx(getattr(zero, name), abs=5e-3), name


def test_strong_coupling_freezes_the_student_on_the_reference():
    # spec §7.6 (trend): k = βγ → ∞ at fixed α₂ pins ⟨m⟩ on m¹: q₂, Q₂ → Q₁, R₂₁ → r₁,
    # p₁ → p(α₁), r₂ → r₀r₁ (= 0 here). At γ = 10 (k = 200), α₂ = 0.5, every distance is
    # smaller than at γ = 1; p₁ is already within 1e-4 of p(α₁), the overlaps within 0.15
    # (the task-2 conjugates, ~10², still compete with k)
    s1 = task1_reference()
    weak, strong = solve2(0.5, 0.0, 1.0), solve2(0.5, 0.0, 10.0)
    assert weak.converged and strong.converged

    def distances(s):
        return np.abs([s.q2 - s1.Q, s.Q2 - s1.Q, s.R21 - s1.r, s.p1 - s1.p, s.r2])

    assert np.all(distances(strong) < distances(weak))
    assert np.all(distances(strong) < [0.15, 0.15, 0.08, 1e-4, 0.02])


def test_task2_solution_solves_its_equations_and_reports_itself():
    s = solve2(1.0, 0.0, 1.0)
    s1 = task1_reference()
    assert s.converged and s.residual <= 1e-11 and "converged" in s.message
    ref = fs.reference_density(s1, s.k)
    F = fs.task2_order_parameter_map([s.q2, s.r2, s.Q2], s.alpha2, BETA, s.k, s.r0, ref)
    np.testing.assert_allclose(F, [s.q2, s.r2, s.Q2], atol=1e-11)
    assert (s.qhat2, s.rhat2, s.Qhat2) == pytest.approx(
        fs.conjugates(s.q2, s.r2, s.Q2, 1.0, BETA), rel=1e-14)
    assert s.eps1 == pytest.approx(math.acos(s.p1) / math.pi, abs=1e-15)
    assert s.eps2 == pytest.approx(math.acos(s.p2) / math.pi, abs=1e-15)
    assert s.forgetting == pytest.approx(s.eps1 - s1.eps_g, abs=1e-15)
    assert s.k == BETA and s.task1 is s1
    assert s.r2 * s.r2 < s.q2 < s.Q2 < 1
    assert 0 <= s.eps1 <= 0.5 and 0 <= s.eps2 <= 0.5


def test_task2_site_averages_overflow_to_nan():
    # an iterate with conjugates ~10⁹ (visited by a Newton polish while the
    # continual-learning-2023 recipe followed the gamma = 1, r0 = 0 branches) overflows the site
    # moments: NaN, which the iteration reads as outside the domain, not a spline's exception
    s = fs.task2_site_averages(1027818527.1421305, 13509563.322423618, 488264243.7014326,
                               BETA, 0.0, fs.reference_density(task1_reference(), BETA))
    assert np.isnan([s.q, s.r, s.Q, s.p1, s.p2, s.R21, s.G_S, *s.p_earlier]).all()


def test_task2_no_silent_fallback_and_bad_input():
    s1 = task1_reference()
    s = fs.solve_task2(s1, 2.0, 0.0, 0.1, maxiter=2)
    assert not s.converged and "did not converge" in s.message
    for args in ((-0.1, 0.0, 1.0), (1.0, 1.5, 1.0), (1.0, -1.01, 1.0), (1.0, 0.0, -1.0)):
        with pytest.raises(ValueError, match="alpha2"):
            fs.solve_task2(s1, *args)
    with pytest.raises(ValueError, match="not converged"):
        fs.solve_task2(fs.solve_task1(1.0, BETA, maxiter=2), 1.0, 0.0, 1.0)


def test_task2_site_averages_under_grid_refinement():
    # spec §7.8 at the level of the map: tables, θ¹-grid, x-nodes and t-grid refined together,
    # at the conjugates of the γ = 1, α₂ = 1 solution and at a large-k point
    s1 = task1_reference()
    fine = DEFAULT.refined()
    for hats, k, r0 in (((761.8385289809175, 19.29215658503542, 364.50738809763266), 20.0, 0.0),
                        ((300.0, -40.0, 200.0), 200.0, -0.5), ((20.0, 3.0, 4.0), 2.0, 0.5)):
        base = fs.task2_site_averages(*hats, k, r0, fs.reference_density(s1, k))
        ref = fs.task2_site_averages(*hats, k, r0, fs.reference_density(s1, k, fine), fine)
        np.testing.assert_allclose(np.hstack(list(vars(base).values())),
                                   np.hstack(list(vars(ref).values())), atol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize(("alpha2", "r0", "gamma"), [(1.0, 0.0, 1.0), (2.0, 0.5, 0.1)])
def test_task2_grid_refinement(alpha2, r0, gamma):
    # spec §7.8 for the whole solve (t-step / 2, x-nodes × 1.5, z-, h- and x-nodes × 1.7, tables
    # / 2): ~3e-11 in the order parameters at γ = 1, α₂ = 1
    fine = DEFAULT.refined()
    base, ref = solve2(alpha2, r0, gamma), solve2(alpha2, r0, gamma, grids=fine)
    assert base.converged and ref.converged
    for name in ("q2", "r2", "Q2", "p1", "p2", "R21", "phi"):
        assert getattr(base, name) == pytest.approx(getattr(ref, name), abs=1e-8), name


@pytest.fixture(scope="module")
def derived2():
    return fp.task2_equations()


def test_task2_site_averages_against_the_derived_map(derived2):
    # spec §3.2 as derived in derivations.franz_parisi (the KL form, the reference through the
    # m¹-integral, not the θ¹-density), by its nested quadrature at a moderate point: fields of
    # a few tens, k = 1. That evaluator converges as 1e-4, 5e-7, 2e-8 at 24, 32, 40 nodes.
    reference = replace(solve(0.5), qhat=3.0, rhat=2.0, Qhat=0.5)
    qh, rh, Qh, k, r0 = 2.0, 0.8, 0.5, 1.0, 0.3
    values = {fp.qh1: reference.qhat, fp.rh1: reference.rhat, fp.Qh1: reference.Qhat,
              fp.k1: 0.0, fp.qh2: qh, fp.rh2: rh, fp.Qh2: Qh, fp.r0: r0, fp.gamma: k / BETA,
              fp.beta: BETA}
    mine = fs.task2_site_averages(qh, rh, Qh, k, r0, fs.reference_density(reference, k))
    F, obs = derived2.map(), derived2.observables
    G_S2 = derived2.free_entropy - (-fp.Qh2 * fp.Q2 + fp.qh2 * fp.q2 / 2 - fp.rh2 * fp.r2
                                    + fp.alpha2 * fp.energetic_term(fp.q2, fp.r2, fp.Q2))
    for expr, value in ((F[fp.q2], mine.q), (F[fp.r2], mine.r), (F[fp.Q2], mine.Q),
                        (obs["p1"], mine.p1), (obs["p2"], mine.p2), (obs["R21"], mine.R21),
                        (G_S2, mine.G_S)):
        assert float(fp.evaluate(expr, values, nodes=40, site_nodes=21)) == pytest.approx(
            value, abs=1e-7)


# --- a chain of tasks ---------------------------------------------------------------------------

def _moments(reference: fs.Reference) -> dict[str, float]:
    m = np.tanh(reference.theta)
    return {"total": reference.weight.sum(), "r": reference.weight @ m,
            "Q": reference.weight @ (m * m), "p": reference.weight @ np.sign(m),
            "R1": reference.teachers[0] @ m, "p1": reference.teachers[0] @ np.sign(m)}


@pytest.mark.parametrize("r0", [0.0, -0.5])
def test_next_reference_is_an_equilibrium_configuration_of_the_task(r0):
    # the reference of task t + 1 is the density of one equilibrium configuration of task t (in
    # its teacher's gauge): its moments are task t's order parameters, r_t = E[s_t⟨m⟩],
    # Q_t = E⟨m²⟩, and, by the teacher-1 row, R_{t1} = E[s₁⟨m⟩]; twice along the chain (tasks 2
    # and 3), with the mirrored B = −1 channel at r₀ < 0. The means are smooth in θ: to the
    # spline's ~1e-12; sign θ jumps at θ = 0, where the uniform rule is O(dt²) (as for task 1;
    # 5e-6 measured at dt = 0.01)
    s1 = task1_reference()
    states = fs.solve_chain(s1, 1.0, r0, 1.0, 3)
    reference = fs.reference_density(s1, BETA)
    for state in states:
        assert state.converged
        reference = fs.next_reference(state, reference)
        got = _moments(reference)
        assert reference.task == state.task + 1
        np.testing.assert_array_equal(reference.teachers[-1], reference.weight)
        assert got["total"] == pytest.approx(1.0, abs=1e-12)
        for name, value in (("r", state.r2), ("Q", state.Q2), ("R1", state.R21)):
            assert got[name] == pytest.approx(value, abs=1e-10), name
        assert got["p"] == pytest.approx(state.p2, abs=0.5 * DEFAULT.dt**2)
        assert got["p1"] == pytest.approx(state.p1, abs=0.5 * DEFAULT.dt**2)


def test_chain_of_two_is_task2():
    (two,) = fs.solve_chain(task1_reference(), 1.0, 0.0, 1.0, 2)
    direct = solve2(1.0, 0.0, 1.0)
    for name in ("q2", "r2", "Q2", "p1", "p2", "R21", "phi"):
        assert getattr(two, name) == pytest.approx(getattr(direct, name), abs=1e-14), name
    assert two.task == 2 and two.p_teachers == (two.p1, two.p2)


def test_chain_without_coupling_is_task1_with_each_teacher():
    # γ = 0: every task is task 1 at α₂ with its own teacher (spec §7.3), and teacher j is
    # s_j = s_t·B_{j+1}···B_t, so the clipped overlap with it is r₀^{t−j} p(α₂) exactly
    r0, alpha2 = 0.4, 0.5
    one = solve(alpha2)
    chain = fs.solve_chain(task1_reference(), alpha2, r0, 0.0, 4)
    assert [s.task for s in chain] == [2, 3, 4]
    for s in chain:
        assert s.converged
        for mine, theirs in (("q2", "q"), ("r2", "r"), ("Q2", "Q"), ("phi", "phi")):
            assert getattr(s, mine) == pytest.approx(getattr(one, theirs), abs=1e-8), mine
        expected = [r0 ** (s.task - j) * one.p for j in range(1, s.task + 1)]
        np.testing.assert_allclose(s.p_teachers, expected, atol=1e-8)
        assert s.eps_teachers[0] == pytest.approx(s.eps1, abs=1e-15)


def test_chain_of_identical_and_alternating_teachers():
    # r₀ = 1: one teacher, every overlap the same, and at a given task ε¹ does not grow with α₂
    # (spec §7.5: the new data are about the same teacher). Along the chain it may: at α₂ = 0.5
    # after α₁ = 2 the KL at finite k smears the reference by more than the few new data
    # sharpen it (ε¹ = 0.00133, 0.00145, 0.00332 after tasks 1, 2, 3). r₀ = −1: teachers
    # alternate, so p_j = (−1)^{t−j} p_t
    s1 = task1_reference()
    same = {alpha2: fs.solve_chain(s1, alpha2, 1.0, 1.0, 3) for alpha2 in (0.5, 1.0)}
    for chain in same.values():
        for s in chain:  # equal to rounding (the teacher rows are summed in another order)
            assert s.converged
            np.testing.assert_allclose(s.p_teachers, s.p2, rtol=0, atol=1e-13)
    assert same[1.0][-1].eps1 <= same[0.5][-1].eps1
    alternating = fs.solve_chain(s1, 0.5, -1.0, 1.0, 3)[-1]
    assert alternating.converged
    p = alternating.p_teachers
    np.testing.assert_allclose([p[0], -p[1]], p[2], rtol=0, atol=1e-13)


@pytest.mark.slow
def test_chain_grid_refinement():
    # spec §7.8 for the chain: task 3 (its reference propagated from task 2 by
    # next_reference) on refined grids agrees with the default ones to 1e-8
    fine = DEFAULT.refined()
    base = fs.solve_chain(task1_reference(), 1.0, 0.0, 1.0, 3)[-1]
    ref = fs.solve_chain(task1_reference(fine), 1.0, 0.0, 1.0, 3)[-1]
    assert base.converged and ref.converged and base.task == ref.task == 3
    for name in ("q2", "r2", "Q2", "p1", "p2", "R21", "phi"):
        assert getattr(base, name) == pytest.approx(getattr(ref, name), abs=1e-8), name

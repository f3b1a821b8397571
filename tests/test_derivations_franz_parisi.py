"""The derived Franz–Parisi (binary perceptron) RS equations against the spec's stated forms.

Spec: ``shared/specs/franz-parisi.md`` §1.2 (KL identities), §2 (task 1), §3 (task 2), §7 (limits);
its formulas are its own re-derivation of the authors' scripts [DER] (the paper's equation numbers
are unknown, spec §0). The stated forms are typed here and compared with the derived ones:
symbolically where the derivation must reproduce them exactly, numerically (scipy adaptive
quadrature, written independently of :func:`derivations.franz_parisi.evaluate`) at fixed points
otherwise.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from derivations import franz_parisi as fp
from derivations.symbolic import GaussianAverage, averages
from theorylab.gaussian import H

examples = settings(max_examples=40, deadline=None)
TOL = 1e-8
Z_CUT = 12.0
"""|z| beyond which a standard Gaussian carries < 1e-32 of mass: the scipy references stop there."""


def pdf(x):
    return np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def quad(f, a, b, points=(), eps=1e-13):
    """∫_a^b f, split at ``points`` inside (a, b), to ~``eps``."""
    edges = [a, *sorted(p for p in points if a < p < b), b]
    return sum(integrate.quad(f, lo, hi, epsabs=eps / 10, epsrel=eps, limit=200)[0]
               for lo, hi in itertools.pairwise(edges))


def entropy_scalar(m):
    return math.log(2) - ((1 + m) * math.log1p(m) + (1 - m) * math.log1p(-m)) / 2


def site_moments(A, h, k):
    """⟨m⟩, ⟨m²⟩, ⟨sign m⟩ under e^{A m² + h m + k S(m)} on [−1, 1] (scipy, no sympy), integrated
    in t = atanh m, where the end-point behaviour of e^{kS} is smooth decay."""
    shift = abs(h) + max(A, 0.0) + k * math.log(2)

    def integrand(t):
        m = math.tanh(t)
        plus, minus = special.expit(2 * t), special.expit(-2 * t)  # (1 ± m)/2 without cancellation
        entropy = -(plus * special.log_expit(2 * t) + minus * special.log_expit(-2 * t))
        w = math.exp(A * m * m + h * m + k * entropy - shift) * 4 * plus * minus  # dm = (1 − m²)dt
        return np.array([w, m * w, m * m * w, math.copysign(w, t)])

    z0, m1, m2, sgn = integrate.quad_vec(integrand, -18, 18, points=[0.0], epsabs=1e-14,
                                         epsrel=1e-12)[0]
    return np.array([m1, m2, sgn]) / z0


def gaussian_average(f, mean, var):
    """E f(h), h ~ N(mean, var) (f may be vector-valued), by scipy quadrature over z."""
    s = math.sqrt(var)
    return integrate.quad_vec(lambda z: pdf(z) * f(mean + s * z), -Z_CUT, Z_CUT, points=[0.0],
                              epsabs=1e-12, epsrel=1e-11)[0]


def same(a, b):
    """a = b with every average taken as an opaque symbol (coefficients simplified)."""
    opaque = {e: sp.Dummy("E") for e in averages(a) | averages(b)}
    return sp.simplify((a - b).xreplace(opaque)) == 0


def site_integrals(expr):
    """``expr`` with every site integral done by sympy (closed-form integrands only)."""
    return expr.replace(lambda e: isinstance(e, fp.SiteIntegral), lambda e: e.as_integral().doit())


@pytest.fixture(scope="module")
def task1():
    return fp.task1_equations()


@pytest.fixture(scope="module")
def task2():
    return fp.task2_equations()


# --- the identities of spec §1.2 and §3.2 -------------------------------------------------------

def test_kl_is_entropy_plus_field_symbolically():
    assert fp.kl_entropy_identity() == 0


def test_kl_gradient_in_field_space_symbolically():
    assert fp.kl_field_gradient() == 0


def test_kl_coupling_is_entropy_plus_effective_field_plus_constant():
    # task-2 exponent = (Q̂₂ − q̂₂/2)m² + b m + k S(m) + (k/2)ln((1 − m¹²)/4),
    # b = √q̂₂x + r̂₂B + k atanh m¹
    assert fp.effective_field_identity() == 0


@examples
@given(st.floats(-0.999, 0.999), st.floats(-0.999, 0.999))
def test_numeric_kl_and_entropy_satisfy_the_identity(m, m_ref):
    lhs = -fp.kl(m, m_ref)
    rhs = fp.entropy(m) + m * math.atanh(m_ref) + 0.5 * math.log((1 - m_ref**2) / 4)
    assert lhs == pytest.approx(rhs, abs=1e-12)
    # and the numpy callables are the sympy statements
    s, sr = sp.symbols("s sr", real=True)
    assert float(fp.kl(m, m_ref)) == pytest.approx(
        float(fp.kl_divergence(s, sr).subs({s: m, sr: m_ref})), abs=1e-12)
    assert float(fp.entropy(m)) == pytest.approx(float(fp.binary_entropy(s).subs(s, m)), abs=1e-12)


@examples
@given(st.floats(-4, 4), st.floats(-4, 4))
def test_kl_gradient_is_the_field_space_derivative(theta, theta_ref):
    step = 1e-6
    numeric = (fp.kl(math.tanh(theta + step), math.tanh(theta_ref))
               - fp.kl(math.tanh(theta - step), math.tanh(theta_ref))) / (2 * step)
    assert fp.kl_gradient(theta, theta_ref) == pytest.approx(numeric, abs=1e-7)


def test_entropy_closed_interval_and_log_weight():
    assert fp.entropy([-1.0, 0.0, 1.0]) == pytest.approx([0.0, math.log(2), 0.0], abs=1e-15)
    m = np.linspace(-0.9, 0.9, 7)
    expected = 0.3 * m**2 - 1.2 * m + 2.0 * fp.entropy(m)
    np.testing.assert_allclose(fp.log_weight(m, 0.3, -1.2, 2.0), expected, rtol=1e-14)


def test_site_rule_integrates_end_point_and_jump_integrands():
    m, w = fp.site_rule()
    assert np.sum(w * m**2) == pytest.approx(2 / 3, abs=1e-13)
    assert np.sum(w * np.sign(m) * np.exp(m)) == pytest.approx(2 * math.cosh(1) - 2, abs=1e-13)
    # e^{kS}: square-root-log behaviour at m = ±1
    exact = quad(lambda x: math.exp(3 * float(fp.entropy(x))), -1, 1, [0.0])
    assert np.sum(w * np.exp(3 * fp.entropy(m))) == pytest.approx(exact, abs=1e-12)


# --- task 1: derived vs stated saddle point (spec §2) -------------------------------------------

def test_task1_conjugates_follow_from_stationarity(task1):
    F = task1.map()
    G_E = fp.energetic_term(fp.q1, fp.r1, fp.Q1)
    stated = {fp.qh1: -2 * fp.alpha1 * sp.diff(G_E, fp.q1), fp.rh1: fp.alpha1 * sp.diff(G_E, fp.r1),
              fp.Qh1: fp.alpha1 * sp.diff(G_E, fp.Q1)}
    for hat, form in stated.items():
        assert same(F[hat], form)
        assert F[hat].has(GaussianAverage)


def test_task1_order_parameters_are_single_site_moments(task1):
    # q = E⟨m⟩² (Stein: the ½E[⟨m²⟩ − ⟨m⟩²] of the heat rule cancels −½E⟨m²⟩), r = E⟨m⟩, Q = E⟨m²⟩
    F = task1.map()
    exponent = fp.site_exponent(fp.Qh1 - fp.qh1 / 2, fp._h, fp.k1)

    def E(f):
        return GaussianAverage(f, fp._h, fp.rh1, fp.qh1)

    mean = fp.site_average(fp._m, exponent)
    assert F[fp.q1] == E(mean**2)
    assert F[fp.r1] == E(mean)
    assert F[fp.Q1] == E(fp.site_average(fp._m**2, exponent))
    assert task1.observables["p"] == E(fp.site_average(sp.sign(fp._m), exponent))
    # the order-parameter maps are functions of the hats only, the conjugate maps of (q, r, Q)
    assert F[fp.q1].free_symbols == {fp.qh1, fp.rh1, fp.Qh1, fp.k1}
    assert F[fp.qh1].free_symbols == {fp.q1, fp.r1, fp.Q1, fp.alpha1, fp.beta}


@pytest.mark.parametrize("kind", ["polynomial", "exponential"])
def test_stein_lemma_for_a_generic_integrand(kind):
    # E[z f'(√v z + μ)] = √v E[f''(√v z + μ)]: the step from ∂_q̂ in the z-form to the heat rule.
    z = sp.Symbol("z", real=True)
    v, mean = sp.Symbol("v", positive=True), sp.Symbol("mu", real=True)
    f = z**5 - 3 * z**2 + z if kind == "polynomial" else sp.exp(sp.Rational(3, 7) * z)
    hfield = sp.sqrt(v) * z + mean
    density = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)

    def E(g):
        return sp.integrate(sp.expand(g.subs(z, hfield) * density), (z, -sp.oo, sp.oo))

    lhs = sp.integrate(sp.expand(z * sp.diff(f, z).subs(z, hfield) * density), (z, -sp.oo, sp.oo))
    assert sp.simplify(lhs - sp.sqrt(v) * E(sp.diff(f, z, 2))) == 0
    # and the package's heat rule reproduces ∂_v E f(h) of the explicit integral
    h = sp.Dummy("h", real=True)
    rule = sp.diff(GaussianAverage(f.subs(z, h), h, mean, v), v)
    rule = rule.replace(lambda e: isinstance(e, GaussianAverage),
                        lambda e: E(e.integrand.subs(e.variable, z)))
    assert sp.simplify(rule - sp.diff(E(f), v)) == 0


POINTS1 = [  # (q̂, r̂, Q̂, k₁)
    (2.0, 1.0, 0.5, 0.0),
    (0.7, -0.4, 2.0, 3.0),
]


@pytest.mark.parametrize(("qh", "rh", "Qh", "k"), POINTS1)
def test_task1_order_parameter_maps_numerically(task1, qh, rh, Qh, k):
    F = task1.map()
    values = {fp.qh1: qh, fp.rh1: rh, fp.Qh1: Qh, fp.k1: k}
    A = Qh - qh / 2

    def per_field(h):
        mean, square, sign = site_moments(A, h, k)
        z = (h - rh) / math.sqrt(qh)  # the z of the spec's form h = √q̂ z + r̂
        return np.array([mean, square, sign, mean**2, z * mean])

    r, Q, p, q, z_mean = gaussian_average(per_field, rh, qh)
    assert fp.evaluate(F[fp.q1], values) == pytest.approx(q, abs=TOL)
    assert fp.evaluate(F[fp.r1], values) == pytest.approx(r, abs=TOL)
    assert fp.evaluate(F[fp.Q1], values) == pytest.approx(Q, abs=TOL)
    assert fp.evaluate(task1.observables["p"], values) == pytest.approx(p, abs=TOL)
    # Stein on the actual integrand: the z-form derivative E[z⟨m⟩]/(2√q̂) − ½E⟨m²⟩ of G_S is −½q
    assert z_mean / (2 * math.sqrt(qh)) - Q / 2 == pytest.approx(-q / 2, abs=TOL)


def log_z_out(q, Q, beta, omega):
    """ln ∫Dx H((ω + √(Q − q)x)/√(1 − Q))^β and its ω-derivative (scipy)."""
    a, s = math.sqrt(Q - q), math.sqrt(1 - Q)
    edge = -omega / a

    def tail(x):
        return H((omega + a * x) / s) ** beta

    z0 = quad(lambda x: pdf(x) * tail(x), -Z_CUT, Z_CUT, [edge], eps=1e-12)
    dz = quad(lambda x: pdf(x) * beta * H((omega + a * x) / s) ** (beta - 1)
              * -pdf((omega + a * x) / s) / s, -Z_CUT, Z_CUT, [edge], eps=1e-12)
    return math.log(z0), dz / z0


def energetic_scipy(q, r, Q, beta):
    """G_E of spec §2 by scipy."""
    c = r / math.sqrt(q - r * r)
    return 2 * quad(lambda z: pdf(z) * H(c * z) * log_z_out(q, Q, beta, math.sqrt(q) * z)[0],
                    -Z_CUT, Z_CUT, [0.0])


POINTS_E = [(0.6, 0.5, 0.8, 3.0)]  # (q, r, Q, β)


@pytest.mark.parametrize(("q", "r", "Q", "b"), POINTS_E)
def test_task1_conjugate_maps_numerically(task1, q, r, Q, b):
    F = task1.map()
    alpha = 1.3
    values = {fp.q1: q, fp.r1: r, fp.Q1: Q, fp.alpha1: alpha, fp.beta: b}
    assert fp.evaluate(fp.energetic_term(fp.q1, fp.r1, fp.Q1), values) == pytest.approx(
        energetic_scipy(q, r, Q, b), abs=TOL)
    # spec §7a normalisation: q̂ = α·2∫Dz H(rz/√(q − r²)) (∂_ω ln Z_out)², ω = √q z
    c = r / math.sqrt(q - r * r)
    gout2 = 2 * quad(lambda z: pdf(z) * H(c * z) * log_z_out(q, Q, b, math.sqrt(q) * z)[1] ** 2,
                     -Z_CUT, Z_CUT, [0.0])
    assert fp.evaluate(F[fp.qh1], values) == pytest.approx(alpha * gout2, rel=TOL)
    # r̂ = α ∂G_E/∂r and Q̂ = α ∂G_E/∂Q against central differences of the scipy G_E
    step = 1e-4
    dr = (energetic_scipy(q, r + step, Q, b) - energetic_scipy(q, r - step, Q, b)) / (2 * step)
    dQ = (energetic_scipy(q, r, Q + step, b) - energetic_scipy(q, r, Q - step, b)) / (2 * step)
    assert fp.evaluate(F[fp.rh1], values) == pytest.approx(alpha * dr, rel=1e-6)
    assert fp.evaluate(F[fp.Qh1], values) == pytest.approx(alpha * dQ, rel=1e-6)


# --- limits (spec §7) ---------------------------------------------------------------------------

def test_alpha_to_zero_hats_vanish_and_measure_is_flat(task1):
    F = task1.map()
    for hat in (fp.qh1, fp.rh1, fp.Qh1):  # linear in α, through zero
        assert sp.diff(F[hat], fp.alpha1, 2) == 0
        assert F[hat].subs(fp.alpha1, 0) == 0
    flat = {fp.qh1: 0, fp.rh1: 0, fp.Qh1: 0, fp.k1: 0}
    assert site_integrals(F[fp.Q1].subs(flat)) == sp.Rational(1, 3)
    assert site_integrals(F[fp.q1].subs(flat)) == 0
    assert site_integrals(F[fp.r1].subs(flat)) == 0
    assert site_integrals(task1.observables["p"].subs(flat)) == 0


@pytest.mark.parametrize("k", [0.5, 3.0, 100.0])
def test_alpha_to_zero_with_an_entropic_prior(task1, k):
    # Q = ∫m² e^{k₁S} / ∫e^{k₁S} (k₁ = β = 100 is the appendix); S ≈ ln2 − m²/2 gives Q ≈ 1/k₁
    F = task1.map()
    Q = fp.evaluate(F[fp.Q1].subs({fp.qh1: 0, fp.rh1: 0, fp.Qh1: 0}), {fp.k1: k})
    assert Q == pytest.approx(site_moments(0.0, 0.0, k)[1], abs=TOL)
    assert Q == pytest.approx(quad(lambda m: m * m * math.exp(k * entropy_scalar(m)), -1, 1)
                              / quad(lambda m: math.exp(k * entropy_scalar(m)), -1, 1), abs=TOL)
    assert Q < 1 / 3
    if k == 100.0:
        assert Q * k == pytest.approx(1.0, abs=0.05)


def test_kernel_limit_symbolic():
    q, z = sp.Symbol("q", positive=True), sp.Symbol("z", real=True)
    expected = fp.H(sp.sqrt(q) * z / sp.sqrt(1 - q)).rewrite(sp.erfc)
    assert sp.simplify((fp.kernel_limit() - expected).rewrite(sp.erf)) == 0


def kernel(q, Q, z, beta):
    a, s = math.sqrt(Q - q), math.sqrt(1 - Q)
    edge = -math.sqrt(q) * z / a
    return quad(lambda x: pdf(x) * H((a * x + math.sqrt(q) * z) / s) ** beta, -Z_CUT, Z_CUT, [edge])


@pytest.mark.parametrize("beta", [0.5, 3.0, 20.0])
@pytest.mark.parametrize(("q", "z"), [(0.5, 0.7), (0.8, -0.4)])
def test_kernel_limit_numerically(beta, q, z):
    # E_x H(g)^β → H(√q z/√(1−q)) as Q → 1, with an O(√(1 − Q)) error for β ≠ 1
    limit = H(math.sqrt(q) * z / math.sqrt(1 - q))
    errors = [abs(kernel(q, 1 - eps, z, beta) - limit) for eps in (1e-2, 1e-4, 1e-6)]
    assert errors[2] < 2e-3
    for coarse, fine in itertools.pairwise(errors):
        assert 5 < coarse / fine < 20


@examples
@given(st.floats(0.05, 0.95), st.floats(0.01, 0.999), st.floats(-3, 3))
def test_kernel_is_exact_at_beta_one(q, frac, z):
    # β = 1: ∫Dx H(a x + c) = H(c/√(1 + a²)), so the kernel is H(√q z/√(1 − q)) at every Q
    Q = q + frac * (1 - q)
    assert kernel(q, Q, z, 1.0) == pytest.approx(H(math.sqrt(q) * z / math.sqrt(1 - q)), abs=1e-10)


# --- task 2: the Franz–Parisi potential (spec §3) ----------------------------------------------

def test_task2_conjugates_have_the_task1_form(task1, task2):
    F1, F2 = task1.map(), task2.map()
    rename = {fp.q1: fp.q2, fp.r1: fp.r2, fp.Q1: fp.Q2, fp.alpha1: fp.alpha2}
    G_E = fp.energetic_term(fp.q2, fp.r2, fp.Q2)
    for h1, h2 in ((fp.qh1, fp.qh2), (fp.rh1, fp.rh2), (fp.Qh1, fp.Qh2)):
        assert F2[h2] == F1[h1].xreplace(rename)
    assert same(F2[fp.qh2], -2 * fp.alpha2 * sp.diff(G_E, fp.q2))


def task2_average(f_of_B):
    """E over (h₁, m¹|h₁, B, x) of f(B) (the spec's E of §3.2), typed from its definition."""
    terms = [sp.Rational(1, 2) * (1 + B * fp.r0) * GaussianAverage(f_of_B(B), fp._b, 0, fp.qh2)
             for B in (1, -1)]
    return fp.reference_average(sp.Add(*terms))


def test_task2_order_parameters_and_observables(task2):
    F = task2.map()

    def moment(f):
        return lambda B: fp.site_average(f, fp.task2_exponent(B))

    def mean_times_B(B):
        return B * moment(fp._m)(B)

    def squared_mean(B):
        return moment(fp._m)(B) ** 2

    def checks(a, b):
        assert sp.expand(a - b) == 0

    checks(F[fp.q2], task2_average(squared_mean))
    checks(F[fp.r2], task2_average(mean_times_B))
    checks(F[fp.Q2], task2_average(moment(fp._m**2)))
    checks(task2.observables["R21"], task2_average(moment(fp._m)))
    checks(task2.observables["p1"], task2_average(moment(sp.sign(fp._m))))
    checks(task2.observables["p2"], task2_average(lambda B: B * moment(sp.sign(fp._m))(B)))
    # identical teachers: R₂₁ = r₂
    assert sp.expand((task2.observables["R21"] - F[fp.r2]).subs(fp.r0, 1)) == 0


def test_clipped_overlaps_from_the_teacher_bit_average():
    p1, p2, A_plus, A_minus = fp.clipped_overlaps_from_conditional()
    assert not averages(p1) and not averages(p2)  # every average is an A_B
    assert sp.expand(p1 - ((1 + fp.r0) / 2 * A_plus + (1 - fp.r0) / 2 * A_minus)) == 0
    assert sp.expand(p2 - ((1 + fp.r0) / 2 * A_plus - (1 - fp.r0) / 2 * A_minus)) == 0
    assert sp.expand((p1 - p2).subs(fp.r0, 1)) == 0
    assert sp.expand((p1 + p2).subs(fp.r0, -1)) == 0


def test_gamma_zero_reduces_task2_to_task1(task1, task2):
    # γ = 0: the reference average drops out symbolically; then by m → −m (S even) the B = −1
    # teacher gives the task-1 moments with r̂ → −r̂: (q₂, r₂, Q₂, p₂) = task-1 maps, p₁ = r₀·p.
    F1, F2 = task1.map(), task2.map()
    free = {fp.gamma: 0}
    task1_symbols = {fp.qh1, fp.rh1, fp.Qh1, fp.k1}
    for expr in (*F2.values(), *task2.observables.values()):
        assert expr.subs(free).free_symbols.isdisjoint(task1_symbols)
    assert task2.free_entropy.subs(free).free_symbols.isdisjoint(task1_symbols)
    hats = {fp.qh2: 1.7, fp.rh2: 0.9, fp.Qh2: 0.3, fp.r0: 0.35, fp.beta: 4.0}
    same = {fp.qh1: 1.7, fp.rh1: 0.9, fp.Qh1: 0.3, fp.k1: 0.0}

    def two(expr):
        return fp.evaluate(expr.subs(free), hats)

    def one(expr):
        return fp.evaluate(expr, same)

    assert two(F2[fp.q2]) == pytest.approx(one(F1[fp.q1]), abs=1e-12)
    assert two(F2[fp.r2]) == pytest.approx(one(F1[fp.r1]), abs=1e-12)
    assert two(F2[fp.Q2]) == pytest.approx(one(F1[fp.Q1]), abs=1e-12)
    p = one(task1.observables["p"])
    assert two(task2.observables["p2"]) == pytest.approx(p, abs=1e-12)
    assert two(task2.observables["p1"]) == pytest.approx(0.35 * p, abs=1e-12)
    G_S2 = task2.free_entropy.subs(free) - (-fp.Qh2 * fp.Q2 + fp.qh2 * fp.q2 / 2 - fp.rh2 * fp.r2
                                            + fp.alpha2 * fp.energetic_term(fp.q2, fp.r2, fp.Q2))
    assert two(G_S2) == pytest.approx(one(fp.single_site_term(fp.qh1, fp.rh1, fp.Qh1)), abs=1e-12)


def test_alpha2_to_zero_and_strong_coupling_single_site():
    # α₂ → 0 (hats 0): the measure is exp[k(S(m) + m atanh m¹)] up to a constant; k → ∞ freezes
    # ⟨m⟩ → m¹ and ⟨m²⟩ → m¹² (spec §7.4, §7.6).
    m_ref = 0.6
    zero = {fp.qh2: 0, fp.rh2: 0, fp.Qh2: 0, fp._b: 0, fp.beta: 1.0}

    def moments(k, exponent):
        values = {fp.gamma: k, fp._m1: m_ref}  # k = βγ with β = 1
        return [float(fp.evaluate(fp.site_average(f, exponent).subs(zero), values, site_nodes=801))
                for f in (fp._m, fp._m**2)]

    effective = fp.gamma * (fp.binary_entropy(fp._m) + fp._m * sp.atanh(fp._m1))
    for k in (10.0, 100.0, 1000.0):
        kl_form = moments(k, fp.task2_exponent(1))
        if k < 500:  # e^{k(S + m atanh m¹)} overflows beyond; e^{−k KL} <= 1 does not
            assert kl_form == pytest.approx(moments(k, effective), abs=1e-12)
        # Laplace at m¹, f = S(m) + m θ¹: f2 = −1/(1 − m²), f3 = −2m/(1 − m²)², so ⟨m⟩ = m¹ +
        # f3/(2k f2²) = m¹(1 − 1/k) + O(1/k²): the flat dm (not dθ) skews the Laplace point
        assert (kl_form[0] - m_ref) * k == pytest.approx(-m_ref, rel=30 / k)
        assert kl_form[1] == pytest.approx(m_ref**2, abs=5 / k)


def test_task2_nested_evaluation_converges(task2):
    # all four levels (h₁, m¹, x, m) at γ = 1: the evaluator's value is stable under refinement
    F = task2.map()
    values = {fp.qh1: 3.0, fp.rh1: 2.0, fp.Qh1: 0.5, fp.k1: 0.0, fp.qh2: 1.0, fp.rh2: 0.5,
              fp.Qh2: 0.2, fp.r0: 0.0, fp.gamma: 0.25, fp.beta: 4.0}
    coarse = fp.evaluate(F[fp.Q2], values, nodes=32, site_nodes=17)
    fine = fp.evaluate(F[fp.Q2], values, nodes=40, site_nodes=21)
    assert 0 < fine < 1
    assert coarse == pytest.approx(fine, abs=1e-6)

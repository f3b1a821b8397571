"""The derived dense-Hebbian RS equations against their limits, identities and the spec's numbers.

Conventions and reference values: ``shared/specs/dense-hopfield.md`` §7 (H = −(N/2)Σ_μ :n_μ^P:
supervised, K = αN^{P−1}, T = 1/β, β' = βP/2; ρ = (1 − r²)/(M r²)); the RS equations of §7.1 are
the spec's own derivation [DER] of the models of Agliari et al., arXiv 2212.00606 (supervised)
and 2211.14067 (unsupervised). Sources of the numbers: §7.4's theory values beside its scratch
Monte Carlo [NUM]; §7.3's majority-vote state at α = 0, T = 0 [DER].
"""

from __future__ import annotations

import math
from functools import partial

import _iteration
import numpy as np
import pytest
import sympy as sp
from scipy import optimize, special, stats

from derivations import dense_hebbian as hebb
from derivations import dense_hopfield as hopfield

CASES = [(p, a) for p in hebb.PROTOCOLS for a in hebb.AVERAGES]


iterate = partial(_iteration.iterate, tol=1e-14)


def random_points(rng, size, zero_temperature):
    """Order parameters and (α, T) at random: n ∈ (−1, 1.2), q ∈ (0.05, 1)."""
    x = [rng.uniform(-1, 1.2, size)] + ([] if zero_temperature else [rng.uniform(0.05, 1, size)])
    params = {"alpha": rng.uniform(0.001, 0.2, size)}
    if not zero_temperature:
        params["T"] = rng.uniform(0.1, 2, size)
    return np.array(x), params


# --- (1) no data noise: the dense Hopfield model of derivations.dense_hopfield ----------------

@pytest.mark.parametrize("P", [3, 4])
@pytest.mark.parametrize(("protocol", "average"), CASES)
@pytest.mark.parametrize("zero_temperature", [False, True])
def test_reduces_to_dense_hopfield(P, protocol, average, zero_temperature):
    # ρ = 0 (Gaussian; any r for the unsupervised A_u = 1 + ρΣ r^{−2j}) or r = 1 (exact, any M):
    # χ̂ = 1 and A = 1, so n is the pattern overlap m of spec §2.2 and m = n's map.
    rng = np.random.default_rng(P)
    x, params = random_points(rng, 20, zero_temperature)
    data = ({"rho": 0.0, "r": rng.uniform(0.2, 1, 20)} if average == "gaussian"
            else {"r": 1.0, "M": int(rng.integers(1, 9))})
    eq = hebb.equations(P, protocol, average, zero_temperature)
    reference = hopfield.equations(P, zero_temperature)
    np.testing.assert_allclose(eq.fixed_point(x, {**params, **data}),
                               reference.fixed_point(x, params), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(eq.overlap(x, {**params, **data}),
                               reference.fixed_point(x, params)[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(eq.free_energy(x, {**params, **data}),
                               reference.free_energy(x, params), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("P", [3, 4])
def test_free_energy_reduces_symbolically(P):
    f, _ = hebb.free_energy(P, "supervised", "gaussian")
    f_hop, _ = hopfield.free_energy(P)
    f = f.subs({hebb.rho: 0, hebb.lam: 0}).xreplace(
        {hebb.n: hopfield.m, hebb.q: hopfield.q, hebb.alpha: hopfield.alpha,
         hebb.beta: hopfield.beta, hebb._h: hopfield._h})
    assert sp.simplify(f - f_hop) == 0


def test_unsupervised_noise_amplification():
    # Spec §7.1: A_u = 1 + (1 − r^{2P})/(M r^{2P}); ours is the same at ρ = (1 − r²)/(M r²).
    r, M = hebb.r, hebb.M
    for P in (3, 4, 5):
        A = hebb.noise_amplification(P, "unsupervised", "exact")
        assert sp.simplify(A - (1 + (1 - r ** (2 * P)) / (M * r ** (2 * P)))) == 0


@pytest.mark.parametrize(("protocol", "average"), CASES)
def test_paramagnet(protocol, average):
    # Spec §7.1: f = −T ln 2 − αP!A/(8T) at n = q = 0 (both protocols, either average).
    P, alpha, T = 4, 0.03, np.array([0.3, 1.0, 2.0])
    eq = hebb.equations(P, protocol, average)
    data = {"rho": 0.2, "r": 0.8, "M": 6}
    A = float(hebb.noise_amplification(P, protocol, average).subs(
        {hebb.rho: data["rho"], hebb.r: data["r"], hebb.M: data["M"]}))
    np.testing.assert_allclose(eq.free_energy(np.zeros((2, 3)), {"alpha": alpha, "T": T, **data}),
                               -T * math.log(2) - alpha * math.factorial(P) * A / (8 * T),
                               rtol=1e-14)


# --- (2) α = 0: supervised ≡ unsupervised ------------------------------------------------------

@pytest.mark.parametrize("average", hebb.AVERAGES)
@pytest.mark.parametrize("zero_temperature", [False, True])
def test_protocols_agree_without_load(average, zero_temperature):
    # Spec §7.1 "Relations": at α = 0 the protocols differ only through A, which multiplies α.
    rng = np.random.default_rng(7)
    x, params = random_points(rng, 20, zero_temperature)
    params["alpha"] = 0.0
    params.update(rho=rng.uniform(0, 1, 20), r=rng.uniform(0.2, 1, 20), M=5)
    supervised = hebb.equations(3, "supervised", average, zero_temperature)
    unsupervised = hebb.equations(3, "unsupervised", average, zero_temperature)
    for method in ("fixed_point", "free_energy", "overlap"):
        np.testing.assert_allclose(getattr(supervised, method)(x, params),
                                   getattr(unsupervised, method)(x, params), rtol=1e-14,
                                   atol=1e-15)
    params["alpha"] = 0.05  # and they do differ with load
    assert not np.allclose(supervised.free_energy(x, params), unsupervised.free_energy(x, params))


# --- (3) stationarity ----------------------------------------------------------------------------

DATA = {"rho": 0.2, "r": 0.8, "M": 6}


@pytest.mark.parametrize(("protocol", "average"), CASES)
@pytest.mark.parametrize("zero_temperature", [False, True])
def test_fixed_point_is_stationary(protocol, average, zero_temperature):
    eq = hebb.equations(3, protocol, average, zero_temperature)
    params = {"alpha": 0.02, **DATA} if zero_temperature else {"alpha": 0.02, "T": 0.4, **DATA}
    x = iterate(eq, np.ones(len(eq.variables)), params)
    assert x[0] > 0.5  # the retrieval state
    eps = 1e-5
    for i in range(len(x)):
        step = np.zeros_like(x)
        step[i] = eps
        slope = (eq.free_energy(x + step, params) - eq.free_energy(x - step, params)) / (2 * eps)
        assert abs(slope) < 1e-9
    np.testing.assert_allclose(eq.stationarity(x, params), 0, atol=1e-12)


@pytest.mark.parametrize(("protocol", "average"), CASES)
def test_stationarity_is_the_gradient(protocol, average):
    # ∂f/∂x as derived (heat-equation rule, example averages) against central differences.
    rng = np.random.default_rng(3)
    x, params = random_points(rng, 8, zero_temperature=False)
    params.update(DATA)
    eq = hebb.equations(3, protocol, average)
    eps = 1e-5
    for i in range(2):
        step = np.zeros_like(x)
        step[i] = eps
        numeric = (eq.free_energy(x + step, params) - eq.free_energy(x - step, params)) / (2 * eps)
        np.testing.assert_allclose(eq.stationarity(x, params)[i], numeric, atol=1e-8)


# --- (4) exact finite-M average -> Gaussian one ----------------------------------------------

@pytest.mark.parametrize("protocol", hebb.PROTOCOLS)
def test_exact_average_tends_to_gaussian(protocol):
    # At fixed ρ, r = 1/√(ρM + 1) -> 0: χ̂ is a mean of M i.i.d. terms of skewness ≈ −2r/√(1−r²),
    # so its skewness is ≈ −2/(M√ρ) and the leading (Edgeworth) difference of any smooth average
    # is O(1/M): M·Δn tends to a constant. Unsupervised, A_u ≈ ρ^P M^{P−1} diverges at fixed ρ,
    # so α is scaled to hold the noise αA fixed (the same A enters both averages); the protocols
    # then coincide (they differ only through αA), which the equal numbers also check.
    rho, M = 0.3, np.array([10, 20, 40, 80])
    r = 1 / np.sqrt(rho * M + 1)
    A = 1 + (1 - r**6) / (M * r**6) if protocol == "unsupervised" else (1 + rho) ** 3
    params = {"alpha": 0.02 * (1 + rho) ** 3 / A, "T": 0.5, "rho": rho, "r": r}
    gaussian = iterate(hebb.equations(3, protocol, "gaussian"), np.ones((2, M.size)), params)
    exact = np.array([
        iterate(hebb.equations(3, protocol, "exact"), np.ones(2),
                {"alpha": params["alpha"][k] if protocol == "unsupervised" else 0.02,
                 "T": 0.5, "r": r[k], "M": int(M[k])})
        for k in range(M.size)]).T
    scaled = M * (exact[0] - gaussian[0])
    np.testing.assert_allclose(scaled, scaled[-1], rtol=0.03)  # 0.1149, 0.1135, 0.1127, 0.1123
    assert abs(exact[0, -1] - gaussian[0, -1]) < 2e-3


# --- (5) reference values ----------------------------------------------------------------------

@pytest.mark.parametrize(("alpha", "T", "rho", "m"), [(0.01, 0.5, 0.5, 0.79273),
                                                        (0.02, 0.3, 0.1, 0.97906)])
def test_spec_supervised_retrieval(alpha, T, rho, m):
    # Spec §7.4 [NUM]: P = 3, χ̂ Gaussian, the theory values beside its scratch Monte Carlo, five
    # digits (0.97905496 here: the spec's 0.97906 is that value rounded up from ...5496 or a
    # coarser quadrature; 6e-6 apart).
    eq = hebb.equations(3, "supervised", "gaussian")
    params = {"alpha": alpha, "T": T, "rho": rho}
    x = iterate(eq, [1.0, 1.0], params)
    assert eq.overlap(x, params) == pytest.approx(m, abs=6e-6)


@pytest.mark.parametrize("M", [1, 4, 5, 9])
def test_majority_vote_at_zero_temperature_without_load_exact(M):
    # Spec §7.3: α = 0, T = 0, exact average: m = 1 − 2 Pr[k > M/2] − Pr[k = M/2],
    # k ~ Bin(M, (1 − r)/2) (ties count ½), and n = E|χ̂|.
    r = 0.4
    eq = hebb.equations(3, "supervised", "exact", zero_temperature=True)
    params = {"alpha": 0.0, "r": r, "M": M}
    x = iterate(eq, [1.0], params)
    k = np.arange(M + 1)
    pmf = stats.binom.pmf(k, M, (1 - r) / 2)
    m = 1 - 2 * pmf[k > M / 2].sum() - pmf[k == M / 2].sum()
    assert eq.overlap(x, params) == pytest.approx(m, abs=1e-14)
    assert x[0] == pytest.approx(np.sum(pmf * np.abs(M - 2 * k) / (r * M)), abs=1e-14)


@pytest.mark.parametrize("rho", [0.1, 0.5, 2.0])
def test_majority_vote_at_zero_temperature_without_load_gaussian(rho):
    # Spec §7.3: m = erf(1/√(2ρ)); n = E|1 + √ρ w| = erf(1/√(2ρ)) + 2√ρ φ(1/√ρ).
    eq = hebb.equations(4, "unsupervised", "gaussian", zero_temperature=True)
    params = {"alpha": 0.0, "rho": rho, "r": 0.5}
    x = iterate(eq, [1.0], params)
    assert eq.overlap(x, params) == pytest.approx(special.erf(1 / math.sqrt(2 * rho)), abs=1e-14)
    density = math.exp(-1 / (2 * rho)) / math.sqrt(2 * math.pi)
    assert x[0] == pytest.approx(special.erf(1 / math.sqrt(2 * rho)) + 2 * math.sqrt(rho) * density,
                                 abs=1e-13)


@pytest.mark.parametrize(("protocol", "average"), CASES)
def test_zero_temperature_energy_and_limit(protocol, average):
    # Spec §7.1, T = 0: at a solution of the exact average e = −n^P/2 − P s E φ(n^{P−1}χ̂/s),
    # s² = α(P−1)!A; and for every case the finite-T solution tends to the T = 0 one [spec: NUM].
    P, alpha = 3, 0.02
    eq0 = hebb.equations(P, protocol, average, zero_temperature=True)
    params = {"alpha": alpha, **DATA}
    n0 = iterate(eq0, [1.0], params)
    e0 = eq0.free_energy(n0, params)
    if average == "exact":
        r, M = DATA["r"], DATA["M"]
        A = float(hebb.noise_amplification(P, protocol, average).subs({hebb.r: r, hebb.M: M}))
        s = math.sqrt(alpha * math.factorial(P - 1) * A)
        k = np.arange(M + 1)
        chi = (M - 2 * k) / (r * M)
        pmf = stats.binom.pmf(k, M, (1 - r) / 2)
        phi = np.exp(-((n0[0] ** (P - 1) * chi / s) ** 2) / 2) / math.sqrt(2 * math.pi)
        assert e0 == pytest.approx(-n0[0] ** P / 2 - P * s * np.sum(pmf * phi), abs=1e-14)
    eq = hebb.equations(P, protocol, average)
    # q = 1 − CT shifts the noise variance by O(T), so n(T) = n(0) + O(T); here
    # |n(T) − n(0)| / T ≈ 6e-4..5e-3 at T = 0.01..0.005 (f: the same order).
    T = np.array([0.01, 0.005])
    low = {**params, "T": T}
    x = iterate(eq, np.ones((2, 2)), low)
    assert np.all(np.abs(x[0] - n0[0]) < 0.01 * T)
    assert np.all(np.abs(eq.free_energy(x, low) - e0) < 0.01 * T)


# --- the learning threshold of spec §7.3 (ours), at one point -----------------------------------

def learning_threshold(protocol, alpha, r, *, step=0.01):
    """M_⊗ at T = 0, P = 3, Gaussian average: the retrieval branch is continued from ρ = 0
    (M = ∞) in steps of ρ with warm starts until it is lost; its end, a fold of n = F(n), is
    then where max_n [F(n) − n] over a window around the last branch point reaches 0 (brentq);
    M_⊗ = (1 − r²)/(r² ρ_c)."""
    eq = hebb.equations(3, protocol, "gaussian", zero_temperature=True)
    x, rho = np.array([1.0]), 0.0
    while True:
        following = iterate(eq, x, {"alpha": alpha, "rho": rho + step, "r": r}, maxiter=10**6)
        if following[0] < 0.5 * x[0]:
            break
        x, rho = following, rho + step
    n = np.linspace(0.5 * x[0], 1.5 * x[0], 4001)

    def gap(value):
        return np.max(eq.fixed_point(n[None], {"alpha": alpha, "rho": value, "r": r})[0] - n)

    rho_c = optimize.brentq(gap, rho, rho + step, xtol=1e-12)
    return rho_c, (1 - r**2) / (r**2 * rho_c)


def test_learning_threshold():
    # Our numbers [no reference: the papers' criterion was not recovered, spec §7.3]: P = 3,
    # α = 0.1, T = 0, r = 0.8: supervised ρ_c = 0.0976783, M_⊗ = 5.75870; unsupervised
    # ρ_c = 0.0568299, M_⊗ = 9.89796. Spec §7.3 properties: the unsupervised M_⊗ lies above the
    # supervised one, and M_⊗ falls with r.
    rho_s, supervised = learning_threshold("supervised", 0.1, 0.8)
    rho_u, unsupervised = learning_threshold("unsupervised", 0.1, 0.8)
    assert rho_s == pytest.approx(0.0976783, abs=1e-6)
    assert rho_u == pytest.approx(0.0568299, abs=1e-6)
    assert unsupervised > supervised
    assert learning_threshold("unsupervised", 0.1, 0.6)[1] > unsupervised
    # At α = 0.05 the branch continues without a fold up to ρ = 3 at least, into n > 1 (spec
    # §7.3: the Gaussian average keeps such a solution at large ρ): no threshold up to there.
    eq = hebb.equations(3, "supervised", "gaussian", zero_temperature=True)
    x = np.array([1.0])
    for rho in np.linspace(0.1, 3, 30):
        x = iterate(eq, x, {"alpha": 0.05, "rho": rho})
    assert x[0] > 1.2


# --- example states of the unsupervised protocol (spec §7.1), exact average -------------------

_H = sp.Symbol("h_bound", real=True)


def _canonical_moments(expr):
    """Gaussian averages with one bound symbol (a derivation loaded from disk has its own
    dummy) and their means and variances in a canonical rational form."""
    return expr.replace(lambda a: isinstance(a, hebb.GaussianAverage),
                        lambda a: hebb.GaussianAverage(a.integrand.xreplace({a.variable: _H}),
                                                       _H, sp.cancel(a.mean), sp.cancel(a.var)))


def _as_symmetric(expr):
    """An example-state expression at m_e = m_o = r n, its averages over (χ_1, S') written as
    averages over χ̂: χ_1 + S' = rMχ̂ (the sum of the M i.i.d. entries, the law of
    :class:`hebb.ExampleAverage`), and χ_1, left only as a factor of a function of χ̂, replaced
    by E[χ_1 | χ̂] = rχ̂ (exchangeability)."""
    r, M, chi = hebb.r, hebb.M, hebb.chi
    tidy = _canonical_moments

    def to_chi_hat(average):
        g = tidy(average.integrand.subs(hebb.others, r * M * chi - hebb.chi1))
        assert not any(a.mean.has(hebb.chi1) for a in g.atoms(hebb.GaussianAverage))
        return hebb.ExampleAverage(sp.expand(g).subs(hebb.chi1, r * chi))

    expr = expr.subs({hebb.m_e: r * hebb.n, hebb.m_o: r * hebb.n})
    return tidy(expr.replace(lambda a: isinstance(a, hebb.DistinguishedExampleAverage),
                             to_chi_hat))


@pytest.mark.parametrize("P", [3, 4])
def test_example_free_energy_reduces_symbolically(P):
    # m_e = m_o = r n: the example-state f is the symmetric unsupervised (exact) f (its first
    # term (P−1)/2 · (m_e^P + (M−1) m_o^P)/(M r^P) = (P−1)/2 · n^P), with the source λ.
    f_ex, variables = hebb.example_free_energy(P)
    f_sym, _ = hebb.free_energy(P, "unsupervised", "exact")
    assert variables == (hebb.m_e, hebb.m_o, hebb.q)
    assert sp.simplify(_as_symmetric(f_ex) - _canonical_moments(f_sym)) == 0


@pytest.mark.parametrize("P", [3, 4])
@pytest.mark.parametrize("zero_temperature", [False, True])
def test_example_equations_reduce_symbolically(P, zero_temperature):
    # At m_e = m_o = r n: F_e = F_o = r F_n, F_q = F_q, f and m those of the symmetric saddle
    # (the derived maps, finite T and T = 0).
    ex = hebb.symbolic_equations(P, "unsupervised", "exact", zero_temperature, "example")
    sym = hebb.symbolic_equations(P, "unsupervised", "exact", zero_temperature)
    assert ex.variables == ((hebb.m_e, hebb.m_o) if zero_temperature
                            else (hebb.m_e, hebb.m_o, hebb.q))
    assert ex.parameters == sym.parameters
    pairs = [(ex.free_energy, sym.free_energy), (ex.overlap, sym.overlap),
             (ex.fixed_point[0], hebb.r * sym.fixed_point[0]),
             (ex.fixed_point[1], hebb.r * sym.fixed_point[0])]
    if not zero_temperature:
        pairs.append((ex.fixed_point[2], sym.fixed_point[1]))
    for example, symmetric in pairs:
        assert sp.simplify(_as_symmetric(example) - _canonical_moments(symmetric)) == 0


@pytest.mark.parametrize("zero_temperature", [False, True])
def test_example_equations_reduce_numerically(zero_temperature):
    # The compiled maps, P = 3, M = 6, random points: the same reduction to rounding.
    rng = np.random.default_rng(11)
    x, params = random_points(rng, 20, zero_temperature)
    params.update(r=rng.uniform(0.3, 1, 20), M=6)
    ex = hebb.equations(3, "unsupervised", "exact", zero_temperature, "example")
    sym = hebb.equations(3, "unsupervised", "exact", zero_temperature)
    y = np.array([params["r"] * x[0], params["r"] * x[0], *x[1:]])
    F, F_sym = ex.fixed_point(y, params), sym.fixed_point(x, params)
    np.testing.assert_allclose(F[:2], params["r"] * F_sym[:1].repeat(2, axis=0), atol=1e-14)
    np.testing.assert_allclose(F[2:], F_sym[1:], atol=1e-14)
    np.testing.assert_allclose(ex.free_energy(y, params), sym.free_energy(x, params),
                               atol=1e-14)
    np.testing.assert_allclose(ex.overlap(y, params), sym.overlap(x, params), atol=1e-14)


@pytest.mark.parametrize("M", [1, 2, 5])
def test_distinguished_example_rows(M):
    # The law of (χ_1, S'): weights sum to one, E χ_1 = r, E S' = (M − 1) r, and χ_1 + S' has
    # the law of rMχ̂ (hebb.ExampleAverage's rows).
    r = np.array([0.3, 0.8])
    (chi1, others), w = hebb.DistinguishedExampleAverage.rows(M, r)
    (chi_hat,), v = hebb.ExampleAverage.rows(M, r)
    np.testing.assert_allclose(w.sum(axis=0), 1, rtol=1e-14)
    np.testing.assert_allclose((w * chi1).sum(axis=0), r, rtol=1e-14)
    np.testing.assert_allclose((w * others).sum(axis=0), (M - 1) * r, rtol=1e-13, atol=1e-15)
    total = np.broadcast_to(chi1 + others, w.shape)
    for j in range(r.size):
        law = {}
        for value, weight in zip(total[:, j], w[:, j], strict=True):
            law[round(value)] = law.get(round(value), 0.0) + weight
        for value, weight in zip(chi_hat[:, j] * r[j] * M, v[:, j], strict=True):
            assert law.pop(round(value)) == pytest.approx(weight, rel=1e-13)
        assert not law


def test_example_state_needs_the_unsupervised_exact_case():
    for protocol, average in (("supervised", "exact"), ("unsupervised", "gaussian")):
        with pytest.raises(ValueError, match="example states"):
            hebb.equations(3, protocol, average, False, "example")
    with pytest.raises(ValueError, match="state must be"):
        hebb.equations(3, "unsupervised", "exact", False, "mixture")


def _majority_vote_energy(P, r, M):
    """−½ (E|χ̂|)^P: the symmetric state at α = 0, T = 0, n = E|χ̂| (spec §7.3)."""
    k = np.arange(M + 1)
    return -0.5 * np.sum(stats.binom.pmf(k, M, (1 - r) / 2) * np.abs(M - 2 * k) / (r * M)) ** P


@pytest.mark.parametrize(("P", "r"), [(3, 0.5), (4, 0.7)])
def test_example_state_at_zero_temperature_without_load(P, r):
    # Spec §7.1 [DER, heuristic]: at α = 0, T = 0 the pure example σ = η^{1,1} (m_e = 1,
    # m_o = r²) has e = −½[1 + (M−1) r^{2P}]/(M r^P). It is a fixed point of the derived map
    # exactly where every site's field has the sign of χ_1, (M − 1) r^{2(P−1)} < 1 (P = 3,
    # r = 0.5: M <= 16; P = 4, r = 0.7: M <= 9), and then its energy is the spec's.
    eq = hebb.equations(P, "unsupervised", "exact", True, "example")
    pure = np.array([1.0, r * r])
    for M in range(2, 21):
        params = {"alpha": 0.0, "r": r, "M": M}
        fixed = np.allclose(eq.fixed_point(pure, params), pure, rtol=0, atol=1e-14)
        assert fixed == ((M - 1) * r ** (2 * P - 2) < 1)
        if fixed:
            assert eq.free_energy(pure, params) == pytest.approx(
                -0.5 * (1 + (M - 1) * r ** (2 * P)) / (M * r**P), rel=1e-14)


def test_example_against_archetype_at_zero_temperature_without_load():
    # The spec's comparison of pure configurations, e_example < −½ (σ = ξ) iff
    # M < (1 + r^P)/r^P, is exact: −½[1 + (M−1)r^{2P}]/(M r^P) + ½ ∝ (1 − r^P)((M − 1) r^P − 1).
    # But the symmetric RS state at α = 0, T = 0 is the majority vote σ = sign χ̂, of energy
    # −½ (E|χ̂|)^P < −½ wherever some χ̂ < 0: the crossing lies below the heuristic one.
    # P = 3, r = 0.5: heuristic M = 9 (a tie); against the majority vote the example is lower
    # for M <= 8 (M = 8: −0.5546875 against −0.5494268), the archetype for M >= 9 (M = 9: −0.5
    # against −0.5494268). (For even M the symmetric state is unstable to aligning its
    # zero-field sites with the distinguished example, which lowers it further, M = 8:
    # −0.5563647: the model's selection, tests/test_dense_hebbian_examples.py.)
    r_, M_ = hebb.r, hebb.M
    P = 3
    gap = -(1 + (M_ - 1) * r_ ** (2 * P)) / (2 * M_ * r_**P) + sp.Rational(1, 2)
    assert sp.simplify(gap - (1 - r_**P) * ((M_ - 1) * r_**P - 1) / (2 * M_ * r_**P)) == 0
    r = 0.5
    assert (1 + r**P) / r**P == 9
    example = {M: -0.5 * (1 + (M - 1) * r ** (2 * P)) / (M * r**P) for M in range(2, 17)}
    archetype = {M: _majority_vote_energy(P, r, M) for M in range(2, 17)}
    eq = hebb.equations(P, "unsupervised", "exact", True)
    for M in (3, 8, 9):  # the derived symmetric map's state is the majority vote
        params = {"alpha": 0.0, "r": r, "M": M}
        n = iterate(eq, [1.0], params)
        assert eq.free_energy(n, params) == pytest.approx(archetype[M], rel=1e-13)
    assert archetype[8] == pytest.approx(-0.5494268, abs=1e-7)
    assert [M for M in example if example[M] < archetype[M]] == list(range(2, 9))


@pytest.mark.parametrize("zero_temperature", [False, True])
def test_example_fixed_point_is_stationary(zero_temperature):
    # P = 3, α = 0.02, r = 0.6, M = 4 (T = 0.2 or 0): the example state, iterated from the pure
    # example, is an example state (m_e > m_o) and a stationary point of the derived f.
    eq = hebb.equations(3, "unsupervised", "exact", zero_temperature, "example")
    params = {"alpha": 0.02, "r": 0.6, "M": 4, **({} if zero_temperature else {"T": 0.2})}
    x = iterate(eq, [1.0, 0.36] + ([] if zero_temperature else [1.0]), params)
    assert x[0] > 0.9 and x[1] < 0.5
    eps = 1e-5
    for i in range(len(x)):
        step = np.zeros_like(x)
        step[i] = eps
        slope = (eq.free_energy(x + step, params) - eq.free_energy(x - step, params)) / (2 * eps)
        assert abs(slope) < 1e-9
    np.testing.assert_allclose(eq.stationarity(x, params), 0, atol=1e-12)
    if not zero_temperature:  # and tends to the T = 0 state as T -> 0 (O(T))
        eq0 = hebb.equations(3, "unsupervised", "exact", True, "example")
        cold = {**params, "T": 0.005}
        x0 = iterate(eq0, [1.0, 0.36], {k: v for k, v in params.items() if k != "T"})
        assert np.max(np.abs(iterate(eq, x, cold)[:2] - x0)) < 0.05 * cold["T"]

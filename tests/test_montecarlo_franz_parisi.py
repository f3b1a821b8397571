"""Gibbs sampler of the Franz–Parisi measure (montecarlo/franz_parisi.py; spec
shared/specs/franz-parisi.md §1.2–1.3, §3.1, §7 items 1, 4, 7).

log H against scipy; the flat measure on m at α = 0 (with and without the entropic prior k₁),
the Jacobian of t = atanh m, a two-weight toy and a KL-coupled toy against two-dimensional
quadrature of the same density, the α₂ = 0 limit of task 2 (independent sites in the KL field of
the reference) against one-dimensional quadrature, the teachers at r₀ = ±1, chains of tasks
(tasks = 2 is task 2 bitwise, prefixes, teacher identities, the KL field of the previous task),
reproducibility, a small run at the spec's check point (α = 0.5, β = 20) for sanity, and
argument checks.

Statistical comparisons use |mean − exact| < Z·stderr with Z = 4 (two-sided p ≈ 6e-5 per
comparison for a Gaussian mean), the standard error taken over independent data sets (or
independent chains on fixed data).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import log_ndtr, roots_legendre

from montecarlo import franz_parisi as fp

Z = 4.0
"""Allowed deviation in standard errors (see module docstring)."""


def _binary_entropy(m):
    m = np.asarray(m, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        plus, minus = (1 + m) / 2, (1 - m) / 2
        out = -np.where(plus > 0, plus * np.log(plus), 0.0) - np.where(
            minus > 0, minus * np.log(minus), 0.0)
    return out


def _close(run, name, exact, z=Z):
    mean, err = run.mean_stderr(name)
    assert abs(mean - exact) < z * err, (name, mean, err, exact)


# --------------------------------------------------------------------------------------------
# log H
# --------------------------------------------------------------------------------------------


def test_log_h_matches_scipy():
    """ln H(x) = log_ndtr(−x) to 1e-12 relative on [−40, 40]. Below x ≈ −37.5, ln H is smaller
    than the least normal double (2.2e-308) and both routines return subnormals with fewer
    digits: the absolute tolerance 1e-300 covers them and nothing else."""
    x = np.concatenate([np.linspace(-40.0, 40.0, 200_001), [-0.0, 0.0, 12.0, np.nextafter(12, 0)]])
    np.testing.assert_allclose(fp.log_h(x), log_ndtr(-x), rtol=1e-12, atol=1e-300)


def test_log_h_ratio_is_minus_derivative():
    """φ/H = −d ln H/dx (central differences), on both sides of the branch points 0 and 12."""
    x = np.array([-30.0, -5.0, -1e-3, 1e-3, 3.0, 11.9, 12.1, 25.0, 40.0])
    step = 1e-6
    numeric = -(log_ndtr(-(x + step)) - log_ndtr(-(x - step))) / (2 * step)
    ratio = np.array([fp.log_h_and_ratio(v)[1] for v in x])
    np.testing.assert_allclose(ratio, numeric, rtol=1e-6, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Flat measure on m: alpha = 0 (spec §7 item 1)
# --------------------------------------------------------------------------------------------


def test_alpha_zero_is_uniform():
    """α = 0, k₁ = 0: m uniform on [−1, 1], Q = 1/3, q = r = p = 0; every flip accepted."""
    run = fp.sample_task1(100, 0.0, data_sets=6, replicas=2, sweeps=200, seed=3)
    _close(run, "Q", 1.0 / 3.0)
    for name in ("q", "r", "p"):
        _close(run, name, 0.0)
    assert np.all(run.observables["acceptance_flip"] == 1.0)
    assert 0.45 < run.mean_stderr("acceptance_mala")[0] < 0.7


def test_alpha_zero_entropic_prior():
    """α = 0, k₁ > 0: Q = ∫m² e^{k₁S} / ∫e^{k₁S} (scipy quadrature)."""
    k1 = 3.0
    weight = lambda m: np.exp(k1 * _binary_entropy(m))  # noqa: E731
    exact = (integrate.quad(lambda m: m * m * weight(m), -1, 1)[0]
             / integrate.quad(weight, -1, 1)[0])
    run = fp.sample_task1(100, 0.0, k1=k1, data_sets=6, replicas=2, sweeps=200, seed=4)
    _close(run, "Q", exact)


def test_the_jacobian_matters():
    """The same kernel with the log-Jacobian ln(1 − m²) switched off samples a flat measure
    in t = atanh m, which is improper: the chains run off to |m| → 1 (Q near 1, far from 1/3)."""
    N, C, n = 50, 2, 200
    T = np.zeros((C, N))
    states = np.array([fp.seed_state(np.random.SeedSequence(i)) for i in range(C)])
    snaps = np.empty((C, n, N))
    fp._sweeps(T, np.zeros((1, N, 0)), np.zeros((1, N, 0)), np.zeros((1, 0)),
               np.zeros(C, dtype=np.int64), np.zeros((C, N)), 0.0, 1.0, 0.0, np.full(C, 1.0),
               states, np.zeros((C, 4), dtype=np.int64), snaps, False, 0.0, 0.57,
               fp.FLIP_FROM, fp.STEP_SCALES, np.zeros((C, 8, 0)))
    assert np.mean(np.tanh(snaps[:, n // 2:]) ** 2) > 0.8


# --------------------------------------------------------------------------------------------
# Two-weight toys against quadrature (spec §7 item 7)
# --------------------------------------------------------------------------------------------

TOY_X = np.array([[1.3, -0.4], [0.2, 1.1], [-0.9, -0.7], [0.5, 0.8]])
TOY_Y = np.array([1.0, -1.0, 1.0, 1.0])


def _toy_moments(beta, k=0.0, field=(0.0, 0.0), nodes=400):
    """⟨m₁⟩, ⟨m₁²⟩, ⟨m₂⟩, ⟨m₂²⟩ under the toy density on [−1, 1]² (Gauss–Legendre product
    rule; the integrand is bounded and smooth away from the four corners)."""
    z, w = roots_legendre(nodes)
    m1, m2 = np.meshgrid(z, z, indexing="ij")
    u = (m1[..., None] * TOY_X[:, 0] + m2[..., None] * TOY_X[:, 1]) / math.sqrt(2)
    s2 = ((1 - m1**2)[..., None] * TOY_X[:, 0] ** 2
          + (1 - m2**2)[..., None] * TOY_X[:, 1] ** 2) / 2
    log_density = beta * log_ndtr(TOY_Y * u / np.sqrt(s2)).sum(axis=-1)
    log_density += k * (_binary_entropy(m1) + _binary_entropy(m2))
    log_density += field[0] * m1 + field[1] * m2
    weight = np.outer(w, w) * np.exp(log_density - log_density.max())
    Zn = weight.sum()
    return np.array([(weight * f).sum() / Zn for f in (m1, m1**2, m2, m2**2)])


@pytest.mark.parametrize("beta,k,field", [(2.0, 0.0, (0.0, 0.0)), (3.0, 1.5, (0.8, -1.2)),
                                           (20.0, 0.0, (0.0, 0.0))])
def test_two_weight_toy_against_quadrature(beta, k, field):
    """N = 2, four fixed examples: sampled ⟨m_i⟩, ⟨m_i²⟩ against 2-D quadrature, for the
    task-1 form (flat measure; small β and the paper's β = 20) and the task-2 form (entropy k
    and reference fields b)."""
    exact = _toy_moments(beta, k, field)
    np.testing.assert_allclose(exact, _toy_moments(beta, k, field, nodes=600), atol=1e-6)
    run = fp.sample_data(TOY_X, TOY_Y, beta=beta, k=k, field=np.array(field), chains=16,
                         sweeps=20_000, seed=11)
    chains = run.site_mean.shape[1]
    for j, values in enumerate((run.site_mean[0, :, 0], run.site_square[0, :, 0],
                                run.site_mean[0, :, 1], run.site_square[0, :, 1])):
        err = values.std(ddof=1) / math.sqrt(chains)
        assert abs(values.mean() - exact[j]) < Z * err, (j, values.mean(), err, exact[j])
    assert 0.3 < run.mean_stderr("acceptance_mala")[0] < 0.8


# --------------------------------------------------------------------------------------------
# Task 2
# --------------------------------------------------------------------------------------------


def _site_moments(k, theta):
    """⟨m⟩, ⟨m²⟩ under exp[k(S(m) + m θ)] on [−1, 1] (α₂ = 0: spec §7 item 4), in t = atanh m
    on a fine grid (the measure piles up at ±1 for large kθ)."""
    t = np.linspace(-30.0, 30.0, 60_001)
    m = np.tanh(t)
    log_cosh = np.abs(t) + np.log1p(np.exp(-2 * np.abs(t))) - math.log(2)
    entropy = math.log(2) + log_cosh - m * t
    log_w = k * (entropy[None, :] + m[None, :] * theta[:, None]) - 2 * log_cosh[None, :]
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    return (w * m).sum(1) / w.sum(1), (w * m * m).sum(1) / w.sum(1)


def test_task2_alpha2_zero_is_the_kl_field_of_the_reference():
    """α₂ = 0, γ > 0: sites are independent in the measure exp[k(S(m) + m atanh m¹)] dm
    (k = βγ); Q₂ and R₂₁ against the per-site quadrature at the sampled references m¹."""
    beta, gamma = 20.0, 0.1
    run = fp.sample_task2(60, 0.5, 0.0, 0.0, gamma, beta=beta, data_sets=6, replicas=2,
                          sweeps=200, seed=5)
    theta = np.arctanh(run.reference.m[:, 0, :])
    mean, square = _site_moments(beta * gamma, theta.ravel())
    Q2 = square.reshape(theta.shape).mean(axis=1)
    R21 = (mean.reshape(theta.shape) * run.teachers[:, 0, :]).mean(axis=1)
    # the exact values differ per data set (its reference); compare the data-set averages
    for name, exact in (("Q2", Q2), ("R21", R21)):
        diffs = run.observables[name].mean(axis=1) - exact
        err = diffs.std(ddof=1) / math.sqrt(diffs.size)
        assert abs(diffs.mean()) < Z * max(err, 1e-4), (name, diffs)


def test_task2_teachers_and_flat_limit():
    """r₀ = 1: w²* = w¹*; r₀ = −1: w²* = −w¹* (p₂ = −p₁ exactly); γ = 0, α₂ = 0: flat, Q₂ = 1/3."""
    same = fp.sample_task2(30, 0.5, 0.5, 1.0, 1.0, data_sets=2, sweeps=20, seed=1)
    np.testing.assert_array_equal(same.teachers[:, 0], same.teachers[:, 1])
    np.testing.assert_array_equal(same.observables["p1"], same.observables["p2"])
    opposite = fp.sample_task2(30, 0.5, 0.5, -1.0, 1.0, data_sets=2, sweeps=20, seed=1)
    np.testing.assert_array_equal(opposite.teachers[:, 0], -opposite.teachers[:, 1])
    np.testing.assert_allclose(opposite.observables["p2"], -opposite.observables["p1"],
                               atol=1e-15)
    flat = fp.sample_task2(100, 0.5, 0.0, 0.0, 0.0, data_sets=6, sweeps=200, seed=2)
    _close(flat, "Q2", 1.0 / 3.0)


def test_task2_reproducible_and_reference_is_task1():
    a = fp.sample_task2(40, 0.5, 0.5, 0.5, 1.0, data_sets=2, sweeps=30, seed=7)
    b = fp.sample_task2(40, 0.5, 0.5, 0.5, 1.0, data_sets=2, sweeps=30, seed=7)
    for name in fp.TASK2_OBSERVABLES:
        np.testing.assert_array_equal(a.observables[name], b.observables[name])
    ref = fp.sample_task1(40, 0.5, data_sets=2, sweeps=30, seed=7)
    # the reference run is the task-1 run of the same seed (same data, starts, streams)
    np.testing.assert_array_equal(a.reference.m, ref.m)
    assert set(a.observables) == set(fp.TASK2_OBSERVABLES)


# --------------------------------------------------------------------------------------------
# Chains of tasks
# --------------------------------------------------------------------------------------------


def _assert_same_run(a, b, names):
    for name in names:
        np.testing.assert_array_equal(a.observables[name], b.observables[name], err_msg=name)
    for attr in ("m", "site_mean", "site_square", "steps", "teachers"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr), err_msg=attr)


def test_chain_of_two_tasks_is_task2():
    """tasks = 2 is bitwise the run of sample_task2 (task 1 and task 2), with the per-teacher
    names equal to the task-2 ones."""
    args = (40, 0.5, 0.7, 0.3, 0.5)
    options = dict(data_sets=2, replicas=3, sweeps=20, reference_sweeps=24, seed=4)
    two = fp.sample_task2(*args, **options)
    chain = fp.sample_chain(*args, 2, **options)
    assert chain.task == 2 and chain.teachers.shape == (2, 2, 40)
    assert tuple(chain.observables) == fp.chain_observables(2)
    _assert_same_run(two, chain, fp.TASK2_OBSERVABLES)
    _assert_same_run(two.reference, chain.reference, fp.TASK1_OBSERVABLES)
    for per_teacher, task2_name in (("p_1", "p1"), ("p_2", "p2"), ("eps_1", "eps1"),
                                    ("eps_2", "eps2"), ("overlap_1", "R21"), ("overlap_2", "r2")):
        np.testing.assert_array_equal(chain.observables[per_teacher],
                                      chain.observables[task2_name])
    assert chain.settings == dict(two.settings, tasks=2)


def test_chain_reproducible_and_prefix():
    """Same seed, same chain; the first two tasks of a three-task chain are the two-task
    chain; every run of the chain is reachable through ``reference``."""
    args = (30, 0.5, 0.5, 0.5, 1.0)
    options = dict(data_sets=2, sweeps=16, seed=7)
    a = fp.sample_chain(*args, 3, **options)
    b = fp.sample_chain(*args, 3, **options)
    names = fp.chain_observables(3)
    assert tuple(a.observables) == names
    _assert_same_run(a, b, names)
    assert [a.task, a.reference.task, a.reference.reference.task] == [3, 2, 1]
    assert a.teachers.shape == (2, 3, 30)
    np.testing.assert_array_equal(a.teachers[:, :2], a.reference.teachers)
    two = fp.sample_chain(*args, 2, **options)
    _assert_same_run(a.reference, two, fp.chain_observables(2))
    # p1, p2 are teacher 1 and the current teacher 3; r2, R21 likewise
    for name, same in (("p1", "p_1"), ("p2", "p_3"), ("R21", "overlap_1"), ("r2", "overlap_3"),
                       ("eps1", "eps_1"), ("eps2", "eps_3")):
        np.testing.assert_array_equal(a.observables[name], a.observables[same])
    c = fp.sample_chain(*args, 3, **dict(options, seed=8))
    assert not np.array_equal(a.m, c.m)


def test_chain_teachers_at_r0_plus_minus_one():
    """r₀ = 1: every teacher is w¹*, p_1 = p_2 = p_3 exactly. r₀ = −1, γ = 0: w³* = w¹* = −w²*,
    p_3 = p_1 exactly; with γ = 0 the last tasks do not depend on task 1's chains (its sweeps
    and prior), only on the data and seeds, bitwise."""
    same = fp.sample_chain(30, 0.5, 0.5, 1.0, 1.0, 3, data_sets=2, sweeps=12, seed=1)
    for j in (1, 2):
        np.testing.assert_array_equal(same.teachers[:, 0], same.teachers[:, j])
    for name in ("p", "overlap", "eps"):
        np.testing.assert_array_equal(same.observables[f"{name}_1"], same.observables[f"{name}_2"])
        np.testing.assert_array_equal(same.observables[f"{name}_1"], same.observables[f"{name}_3"])
    options = dict(data_sets=2, sweeps=12, seed=3)
    flipped = fp.sample_chain(30, 0.5, 0.5, -1.0, 0.0, 3, **options)
    np.testing.assert_array_equal(flipped.teachers[:, 2], flipped.teachers[:, 0])
    np.testing.assert_array_equal(flipped.teachers[:, 1], -flipped.teachers[:, 0])
    np.testing.assert_array_equal(flipped.observables["p_3"], flipped.observables["p_1"])
    np.testing.assert_allclose(flipped.observables["p_2"], -flipped.observables["p_1"],
                               atol=1e-15)
    other = fp.sample_chain(30, 0.5, 0.5, -1.0, 0.0, 3, reference_sweeps=6, k1=2.0, **options)
    assert not np.array_equal(flipped.reference.reference.m, other.reference.reference.m)
    _assert_same_run(flipped, other, fp.chain_observables(3))
    _assert_same_run(flipped.reference, other.reference, fp.chain_observables(2))


def test_chain_alpha2_zero_is_the_kl_field_of_the_previous_task():
    """α₂ = 0, γ > 0, three tasks: the sites of task 3 are independent in the KL field of task
    2's reference sample (replica 0's last state of task 2, not task 1's); Q2 and the overlap
    with teacher 1 against per-site quadrature."""
    beta, gamma = 20.0, 0.1
    run = fp.sample_chain(60, 0.5, 0.0, 0.0, gamma, 3, beta=beta, data_sets=6, replicas=2,
                          sweeps=120, reference_sweeps=60, seed=5)
    theta = np.arctanh(run.reference.m[:, 0, :])
    mean, square = _site_moments(beta * gamma, theta.ravel())
    Q2 = square.reshape(theta.shape).mean(axis=1)
    R31 = (mean.reshape(theta.shape) * run.teachers[:, 0, :]).mean(axis=1)
    for name, exact in (("Q2", Q2), ("overlap_1", R31)):
        diffs = run.observables[name].mean(axis=1) - exact
        err = diffs.std(ddof=1) / math.sqrt(diffs.size)
        assert abs(diffs.mean()) < Z * max(err, 1e-4), (name, diffs)


@pytest.mark.parametrize("tasks", [1, 0, 2.5, True, "3", None])
def test_bad_tasks(tasks):
    with pytest.raises(ValueError, match="tasks"):
        fp.sample_chain(10, 0.5, 0.5, 0.0, 1.0, tasks, sweeps=4)
    if not isinstance(tasks, str):
        with pytest.raises(ValueError, match="tasks"):
            fp.chain_observables(tasks)


# --------------------------------------------------------------------------------------------
# Reproducibility, a small real run, arguments
# --------------------------------------------------------------------------------------------


def test_same_seed_same_result():
    options = dict(data_sets=2, replicas=2, sweeps=40, seed=9)
    a, b = fp.sample_task1(50, 0.6, **options), fp.sample_task1(50, 0.6, **options)
    for name in fp.TASK1_OBSERVABLES:
        np.testing.assert_array_equal(a.observables[name], b.observables[name])
    np.testing.assert_array_equal(a.m, b.m)
    c = fp.sample_task1(50, 0.6, **dict(options, seed=10))
    assert not np.array_equal(a.m, c.m)


def test_binary_inputs_run():
    run = fp.sample_task1(40, 1.0, inputs="binary", data_sets=2, sweeps=20, seed=0)
    assert run.settings["inputs"] == "binary"
    assert np.all(np.abs(run.m) < 1)


def test_small_run_at_the_check_point():
    """N = 100, α = 0.5, β = 20 (spec §7 item 7a: RS-stable, where sampling agrees with RS
    within 0.01): the sampler equilibrates to a state that learned the teacher; the numbers are
    compared with the RS solver elsewhere. Here only self-consistency: 0 < q ≤ Q < 1,
    r² ≤ q (Cauchy–Schwarz at large N: r = E⟨m⟩·w ≤ √q), MALA acceptance near its target."""
    run = fp.sample_task1(100, 0.5, data_sets=4, replicas=2, sweeps=400, seed=0)
    Q, q, r, p = (run.mean_stderr(name)[0] for name in ("Q", "q", "r", "p"))
    assert 0.0 < q <= Q < 1.0
    assert 0.0 < r and r * r <= q + 0.05
    assert 0.0 < p < 1.0
    assert abs(run.mean_stderr("acceptance_mala")[0] - fp.TARGET_ACCEPTANCE) < 0.05
    assert "Q" in repr(run)


@pytest.mark.parametrize("kwargs,name", [
    (dict(N=0), "N"), (dict(alpha=-0.1), "alpha"), (dict(beta=0.0), "beta"),
    (dict(beta=float("inf")), "beta"), (dict(k1=-1.0), "k1"), (dict(data_sets=0), "data_sets"),
    (dict(replicas=0), "replicas"), (dict(sweeps=1), "sweeps"), (dict(seed=-1), "seed"),
    (dict(step=0.0), "step"), (dict(inputs="uniform"), "inputs"),
    (dict(target_acceptance=1.5), "target_acceptance"), (dict(N=2.5), "N"),
])
def test_bad_task1_arguments(kwargs, name):
    args = dict(N=10, alpha=0.5)
    args.update(kwargs)
    N, alpha = args.pop("N"), args.pop("alpha")
    with pytest.raises(ValueError, match=name):
        fp.sample_task1(N, alpha, sweeps=args.pop("sweeps", 4), **args)


@pytest.mark.parametrize("kwargs,name", [
    (dict(alpha1=-1.0), "alpha1"), (dict(alpha2=-1.0), "alpha2"), (dict(r0=1.5), "r0"),
    (dict(r0=-1.01), "r0"), (dict(gamma=-0.1), "gamma"), (dict(beta=-2.0), "beta"),
    (dict(reference_sweeps=1), "reference_sweeps"),
])
def test_bad_task2_arguments(kwargs, name):
    args = dict(N=10, alpha1=0.5, alpha2=0.5, r0=0.0, gamma=1.0)
    args.update(kwargs)
    positional = [args.pop(key) for key in ("N", "alpha1", "alpha2", "r0", "gamma")]
    with pytest.raises(ValueError, match=name):
        fp.sample_task2(*positional, sweeps=4, **args)


def test_bad_fixed_data_and_names():
    with pytest.raises(ValueError, match="labels"):
        fp.sample_data(TOY_X, np.array([1.0, 0.0, 1.0, 1.0]), beta=1.0, sweeps=4)
    with pytest.raises(ValueError, match="field"):
        fp.sample_data(TOY_X, TOY_Y, beta=1.0, field=np.ones(3), sweeps=4)
    with pytest.raises(ValueError, match="inputs"):
        fp.sample_data(np.ones(4), TOY_Y, beta=1.0, sweeps=4)
    with pytest.raises(ValueError, match="k"):
        fp.sample_data(TOY_X, TOY_Y, beta=1.0, k=-1.0, sweeps=4)
    run = fp.sample_task1(10, 0.5, data_sets=1, replicas=2, sweeps=4)
    with pytest.raises(ValueError, match="name"):
        run.mean_stderr("nope")


# --------------------------------------------------------------------------------------------
# Longer checks
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_alpha_zero_uniform_large():
    run = fp.sample_task1(300, 0.0, data_sets=8, replicas=2, sweeps=2000, seed=21)
    _close(run, "Q", 1.0 / 3.0)
    _close(run, "q", 0.0)


@pytest.mark.slow
def test_two_weight_toy_long():
    exact = _toy_moments(5.0, 0.5, (0.3, 0.1))
    run = fp.sample_data(TOY_X, TOY_Y, beta=5.0, k=0.5, field=np.array([0.3, 0.1]), chains=32,
                         sweeps=200_000, seed=12)
    values = run.site_mean[0, :, 0]
    assert abs(values.mean() - exact[0]) < Z * values.std(ddof=1) / math.sqrt(values.size)


def _random_walk_q(x, y, beta, seed, sweeps, delta=0.15):
    """Time-averaged Q of a plain random-walk Metropolis in m itself (flat measure, no change of
    variable, no gradient; proposals outside (−1, 1) rejected) plus flips, scipy's log_ndtr."""
    N = x.shape[1]
    rng = np.random.default_rng(seed)

    def log_likelihood(m):
        u = x @ m / math.sqrt(N)
        s2 = (x * x) @ (1 - m * m) / N
        return beta * log_ndtr(y * u / np.sqrt(s2)).sum()

    m = rng.uniform(-1, 1, N)
    current = log_likelihood(m)
    values = []
    for sweep in range(sweeps):
        for i in range(N):
            for proposal in (m[i] + delta * rng.standard_normal(), -m[i]):
                if abs(proposal) >= 1:
                    continue
                old, m[i] = m[i], proposal
                new = log_likelihood(m)
                if math.log(rng.uniform()) < new - current:
                    current = new
                else:
                    m[i] = old
        if sweep >= sweeps // 5:
            values.append(m @ m / N)
    return float(np.mean(values))


def test_against_random_walk_at_beta_20():
    """N = P = 20, β = 20 (α = 1, where single-step MALA got trapped; module docstring): Q of
    the sampler against an independent random-walk Metropolis in m on the same data."""
    rng = np.random.default_rng(5)
    w = rng.choice([-1.0, 1.0], 20)
    x = rng.standard_normal((20, 20))
    y = np.where(x @ w >= 0, 1.0, -1.0)
    walk = np.array([_random_walk_q(x, y, 20.0, seed, 1500) for seed in range(6)])
    run = fp.sample_data(x, y, beta=20.0, chains=8, sweeps=4000, seed=1)
    ours = run.observables["Q"][0]
    err = math.hypot(walk.std(ddof=1) / math.sqrt(walk.size), ours.std(ddof=1) / math.sqrt(8))
    assert abs(walk.mean() - ours.mean()) < Z * err + 0.005, (walk, ours)

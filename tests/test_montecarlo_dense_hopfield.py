"""The dense Hopfield Monte Carlo: exact bookkeeping, exact sampling, and small real simulations.

Reference numbers and their provenance (``shared/specs/dense-hopfield.md``):

* P = 3, α = 0.05, T = 0.3 retrieval: RS theory m = 0.9929 (spec §4; a scratch MC at N = 200 gave
  0.9925 ± 0.0026).
* P = 4, α = 0.02, T = 0.3: m = 0.991844, q = 0.990330 (spec §3 row 8, [NUM] from the RS equations).
* P = 3, α = 0.1, T = 0.2: m = 0.958507, q = 0.970509 (spec §3 row 9, [NUM]; scratch MC at N = 300:
  0.953 ± 0.016).
* P = 2 (AGS, spec §2.1): the RS equations m = E tanh β(m + √(αr) z), q = E tanh², r = q/(1 −
  β(1−q))², solved for these tests with a 4·10^5-point quadrature on [−12, 12] to 1e-14:
  α = 0.05, T = 0.3: m = 0.991165, q = 0.982961; α = 0.05, T = 0.1: m = 0.999954. Not computed
  here: the simulator is the independent check and imports no theory code.
* α → 0 (K = 1), P = 2: Curie–Weiss m = tanh(m/T) (spec §3 row 5); T = 0.5: m = 0.957504.
* Paramagnet, P = 2, T > T_g = 1 + √α: treating each S_μ/√N as Gaussian (exact as N → ∞ above
  T_g), ln Z = N ln 2 − (K/2) ln(1 − β) − βK/2, so H/N = −(α/2) β/(1 − β) (−0.025 at α = 0.05,
  T = 2; the first order, −αβP!/4, is the spec §8 paramagnet f), and each m_μ is Gaussian with
  variance 1/(N(1 − β)), so E|m| = √(2/(π N (1 − β))).

Agreement is |simulation − reference| ≤ 3 stderr + a stated finite-size allowance.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from numba import njit

from montecarlo import dense_hopfield as dh
from montecarlo import rng
from theorylab.parameters import ParameterError
from theorylab.results import dumps


def agree(estimate, reference: float, allowance: float) -> bool:
    return abs(estimate.mean - reference) <= 3.0 * estimate.stderr + allowance


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


def _xoshiro256_starstar(state: list[int]) -> int:
    """Reference xoshiro256** step in Python integers (Blackman & Vigna), state updated in place."""
    mask = (1 << 64) - 1

    def rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & mask

    s0, s1, s2, s3 = state
    result = (rotl((s1 * 5) & mask, 7) * 9) & mask
    t = (s1 << 17) & mask
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    state[:] = [s0, s1, s2, rotl(s3, 45)]
    return result


@njit
def _draw_all(state, n, bound):
    """n raw outputs, n indices in [0, bound) and n uniforms, as a kernel draws them."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    raw = np.empty(n, dtype=np.uint64)
    indices = np.empty(n, dtype=np.int64)
    uniforms = np.empty(n)
    for k in range(n):
        raw[k], s0, s1, s2, s3 = rng.next_uint64(s0, s1, s2, s3)
    for k in range(n):
        indices[k], s0, s1, s2, s3 = rng.next_index(bound, s0, s1, s2, s3)
        uniforms[k], s0, s1, s2, s3 = rng.next_uniform(s0, s1, s2, s3)
    return raw, indices, uniforms


def test_generator_matches_reference_and_is_uniform():
    n = 30000
    state = rng.seed_state(np.random.SeedSequence(42))
    reference = [int(w) for w in state]
    raw, indices, uniforms = _draw_all(state, n, 3)
    assert [int(r) for r in raw[:200]] == [_xoshiro256_starstar(reference) for _ in range(200)]
    counts = np.bincount(indices, minlength=3)
    assert counts.size == 3
    assert np.abs(counts - n / 3).max() < 4 * math.sqrt(n * (1 / 3) * (2 / 3))
    assert 0.0 <= uniforms.min() and uniforms.max() < 1.0
    assert abs(uniforms.mean() - 0.5) < 4 * math.sqrt(1 / 12 / n)


# --------------------------------------------------------------------------------------------
# The pattern energy W_P(S)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N", [4, 7, 10, 31])
def test_energy_table_closed_forms(N):
    S = np.arange(-N, N + 1, 2)
    closed = {
        2: S**2 - N,
        3: S**3 - 3 * N * S + 2 * S,
        4: S**4 - 6 * N * S**2 + 8 * S**2 + 3 * N**2 - 6 * N,
    }
    for P, values in closed.items():
        table = dh.energy_table(P, N)
        np.testing.assert_array_equal(table[S + N], values)
        assert np.isnan(table[S[:-1] + N + 1]).all(), "impossible S (wrong parity) must be NaN"


def _distinct_index_sum(x: np.ndarray, P: int) -> int:
    """Σ over ordered P-tuples of distinct indices of x_{i_1} ··· x_{i_P}, by enumeration."""
    return sum(int(np.prod(x[list(t)])) for t in itertools.permutations(range(len(x)), P))


@pytest.mark.parametrize(("P", "N"), [(2, 6), (3, 7), (4, 7)])
def test_energy_table_is_the_distinct_index_sum(P, N):
    table = dh.energy_table(P, N)
    for n_plus in range(N + 1):
        x = np.array([1] * n_plus + [-1] * (N - n_plus))
        S = 2 * n_plus - N
        assert table[S + N] == _distinct_index_sum(x, P)


def test_energy_per_spin_against_brute_force():
    """H/N from the table equals −(1/(2N^P)) Σ_μ Σ_{distinct i_1..i_P} Π ξ^μ σ (P = 3, N = 7)."""
    P, N, K = 3, 7, 5
    rng = np.random.default_rng(11)
    patterns = rng.choice(np.array([-1, 1], dtype=np.int8), size=(N, K))
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=N)
    brute = -sum(_distinct_index_sum(patterns[:, mu] * spins, P) for mu in range(K))
    brute /= 2 * N**P
    overlaps = dh.recompute_overlaps(patterns, spins)
    assert dh.energy_per_spin(overlaps, dh.energy_table(P, N), P) == pytest.approx(brute, abs=1e-15)


@pytest.mark.parametrize("P", [2, 3, 4, 5])
def test_flip_tables(P):
    """W(S − 2x) − W(S) = A(S) − x B(S) wherever the flip is possible."""
    N = 9
    W = dh.energy_table(P, N)
    A, B = dh.flip_tables(P, N)
    for S in range(-N, N + 1, 2):
        for x in (1, -1):
            if abs(S - 2 * x) <= N:
                assert W[S - 2 * x + N] - W[S + N] == A[S + N] - x * B[S + N]
    if P == 2:  # ΔH = (2/N)(σ_i h_i − K): A = 4, B = 4S
        S = np.arange(-N, N + 1, 2)
        np.testing.assert_array_equal(A[S + N], 4.0)
        np.testing.assert_array_equal(B[S + N], 4.0 * S)


# --------------------------------------------------------------------------------------------
# The kernels: exact sampling, exact bookkeeping, reproducibility
# --------------------------------------------------------------------------------------------


def _exact_boltzmann(patterns, P, T):
    N = patterns.shape[0]
    states = np.array(list(itertools.product([-1, 1], repeat=N)), dtype=np.int64)
    energy = -dh.energy_table(P, N)[states @ patterns.astype(np.int64) + N].sum(axis=1)
    energy /= 2 * N ** (P - 1)
    weights = np.exp(-(energy - energy.min()) / T)
    return weights / weights.sum()


@pytest.mark.parametrize(("P", "K", "T"), [(2, 3, 0.7), (3, 4, 0.5), (4, 5, 0.5)])
def test_kernel_samples_the_boltzmann_distribution(P, K, T):
    """Histogram of all 2^6 states against exp(−H/T)/Z: chi² with 63 degrees of freedom.

    Samples are 5 sweeps apart (nearly independent at these sizes); the bound dof + 6√(2 dof)
    is never reached by a correct sampler (chi² ≈ 63 ± 11), while a 10 % error in the
    temperature gives chi² of several hundred.
    """
    N, samples, thin = 6, 20000, 5
    state = dh.prepare_chains(N, K, 1, "random", seed=P)
    patterns, spins = state.patterns[0], state.spins[0, 0]
    overlaps, rng_state = state.overlaps[0, 0], state.rng_states[0]
    a_table, b_table = dh.flip_tables(P, N)
    b_values = np.empty(K)
    beta = 1.0 / T
    index_weights = 2 ** np.arange(N)[::-1]
    counts = np.zeros(2**N)
    for _ in range(samples):
        if P == 2:
            dh.metropolis_p2(patterns, spins, overlaps, rng_state, thin * N, beta)
        else:
            dh.metropolis(patterns, spins, overlaps, rng_state, thin * N,
                          beta / (2 * N ** (P - 1)), a_table, b_table, b_values)
        counts[((spins + 1) // 2) @ index_weights] += 1
    expected = samples * _exact_boltzmann(patterns, P, T)
    chi2 = ((counts - expected) ** 2 / expected).sum()
    dof = 2**N - 1
    assert chi2 < dof + 6 * math.sqrt(2 * dof)


def test_general_kernel_reproduces_the_p2_fast_path():
    """Same stream, same decisions: ΔH from the A/B tables equals the P = 2 integer field."""
    N, K = 50, 7
    state = dh.prepare_chains(N, K, 1, "random", seed=5)
    patterns = state.patterns[0]
    fast = (state.spins[0, 0].copy(), state.overlaps[0, 0].copy(), state.rng_states[0].copy())
    general = (state.spins[0, 0].copy(), state.overlaps[0, 0].copy(), state.rng_states[0].copy())
    a_table, b_table = dh.flip_tables(2, N)
    for beta in (0.5, 2.0, math.inf):
        n_fast = dh.metropolis_p2(patterns, *fast, 20000, beta)
        n_general = dh.metropolis(patterns, *general, 20000, beta / (2 * N), a_table, b_table,
                                  np.empty(K))
        assert n_fast == n_general
        for a, b in zip(fast, general, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("P", "N", "K", "T"), [(2, 300, 40, 1.5), (3, 30, 90, 2.0)])
def test_overlaps_do_not_drift(P, N, K, T):
    """After a long run (high acceptance) the kept S equals ξᵀσ recomputed from scratch."""
    chains = 2
    state = dh.prepare_chains(N, K, chains, "random", seed=3)
    a_table, b_table = dh.flip_tables(P, N)
    b_values = np.empty((chains, K if P > 2 else 0))
    out = dh.run_chains(state.patterns, state.spins, state.overlaps, state.rng_states, P, 1 / T,
                        400, 200, 1, dh.energy_table(P, N), a_table, b_table, b_values)
    assert out[:, 5].min() > 0.2, "the test needs many accepted flips"
    for c in range(chains):
        for r in range(2):
            np.testing.assert_array_equal(
                state.overlaps[c, r], dh.recompute_overlaps(state.patterns[c], state.spins[c, r]))


def test_zero_temperature_never_goes_uphill():
    state = dh.prepare_chains(200, 10, 1, "random", seed=1)
    patterns, spins, overlaps = state.patterns[0], state.spins[0, 0], state.overlaps[0, 0]
    W = dh.energy_table(2, 200)
    energy = dh.energy_per_spin(overlaps, W, 2)
    for _ in range(50):
        dh.metropolis_p2(patterns, spins, overlaps, state.rng_states[0], 200, math.inf)
        new = dh.energy_per_spin(overlaps, W, 2)
        assert new <= energy
        energy = new


def test_same_seed_same_result_different_seed_different():
    kwargs = dict(P=2, N=200, alpha=0.1, T=0.8, chains=3, sweeps=40, start="random")
    first, again = dh.simulate(**kwargs, seed=7), dh.simulate(**kwargs, seed=7)
    other = dh.simulate(**kwargs, seed=8)
    assert first.to_dict() == again.to_dict()
    assert first.observables["energy"] != other.observables["energy"]


def test_result_contract():
    result = dh.simulate(3, 20, 0.05, 0.5, chains=2, sweeps=10, seed=1)
    assert result.model == "dense-hopfield"
    assert result.parameters == {"P": 3, "N": 20, "alpha": 0.05, "T": 0.5, "K": 20,
                                 "alpha_effective": 0.05, "start": "pattern"}
    assert set(result.observables) == {"m", "abs_m", "q", "abs_q", "energy", "acceptance"}
    assert result.seeds == 2 and result.sweeps == 10
    assert result.settings["burn_in"] == 5 and result.settings["measurements"] == 5
    assert result.settings["algorithm"] == "random-scan Metropolis"
    assert json.loads(dumps(result.to_dict()))["observables"]["m"]["stderr"] >= 0
    single = dh.simulate(2, 20, 0.1, 0.5, chains=1, sweeps=4)
    assert math.isnan(single.observables["m"].stderr)
    assert dh.number_of_patterns(2, 100, 0.0) == 1
    assert dh.number_of_patterns(3, 10, 0.014) == 1  # 1.4 rounds to 1


@pytest.mark.parametrize(("kwargs", "name"), [
    (dict(P=1), "P"), (dict(P=2.5), "P"), (dict(N=2, P=3), "N"), (dict(alpha=-0.1), "alpha"),
    (dict(T=-1.0), "T"), (dict(T=math.nan), "T"), (dict(chains=0), "chains"),
    (dict(sweeps=0), "sweeps"), (dict(start="spin-glass"), "start"),
    (dict(measure_every=0), "measure_every"), (dict(seed=-1), "seed"),
    (dict(N=20000, alpha=10.0, chains=8), "chains·N·K"),
])
def test_bad_parameters(kwargs, name):
    given = dict(P=2, N=50, alpha=0.1, T=0.5) | kwargs
    P, N, alpha, T = (given.pop(k) for k in ("P", "N", "alpha", "T"))
    with pytest.raises(ParameterError, match=name):
        dh.simulate(P, N, alpha, T, **given)


# --------------------------------------------------------------------------------------------
# Small real simulations against theory
# --------------------------------------------------------------------------------------------


def test_dense_p3_retrieval():
    """P = 3, N = 200, α = 0.05, T = 0.3 against RS m = 0.9929 (spec §4).

    Allowance 0.005: the distinct-index signal of a retrieved pattern is Π_{k<P}(1 − k/N) = 0.985
    of its N = ∞ value (spec §8), a weaker field that lowers m by O(1/N); the spec's scratch MC at
    this point differs from theory by 0.0004 ± 0.0026.
    """
    result = dh.simulate(3, 200, 0.05, 0.3, chains=8, sweeps=200, seed=1)
    assert result.parameters["K"] == 2000
    assert agree(result.observables["m"], 0.9929, 0.005)


def test_hopfield_retrieval_against_ags():
    """P = 2, N = 2000, α = 0.05, T = 0.3: AGS m = 0.991165, q = 0.982961 (RS, spec §2.1).

    Allowance 0.003: corrections to RS retrieval at P = 2 are O(1/N) (spec §4: agreement to ~0.01
    at N ≥ 1000); here 1/N = 0.0005, with a margin of six.
    """
    result = dh.simulate(2, 2000, 0.05, 0.3, chains=8, sweeps=200, seed=2)
    assert agree(result.observables["m"], 0.991165, 0.003)
    assert agree(result.observables["q"], 0.982961, 0.003)


def test_hopfield_low_temperature_retrieval():
    """P = 2, N = 1000, α = 0.05, T = 0.1: AGS m = 0.999954 (allowance 0.002, O(1/N))."""
    result = dh.simulate(2, 1000, 0.05, 0.1, chains=4, sweeps=100, seed=3)
    assert agree(result.observables["m"], 0.999954, 0.002)
    assert result.observables["acceptance"].mean < 1e-3


def test_curie_weiss_limit():
    """α → 0 leaves K = 1: m = tanh(m/T), T = 0.5: m = 0.957504 (allowance 0.002, O(1/N))."""
    result = dh.simulate(2, 2000, 0.0, 0.5, chains=4, sweeps=200, seed=4)
    assert result.parameters["K"] == 1
    assert agree(result.observables["m"], 0.957504, 0.002)


def test_paramagnet():
    """P = 2, N = 1000, α = 0.05, T = 2 from random spins: no order, Gaussian-paramagnet energy.

    E[H/N] = −(α/2) β/(1 − β) = −0.025; allowance 0.001 for the O(1/N) corrections to the
    Gaussian limit (the first-order term carries a factor 1 − 1/N). E|m| = √(2/(πN(1 − β))) =
    0.0357 with allowance 0.003; |q_ab| between independent replicas is O(1/√N).
    """
    N, alpha, T = 1000, 0.05, 2.0
    beta = 1.0 / T
    result = dh.simulate(2, N, alpha, T, chains=8, sweeps=200, start="random", seed=5)
    obs = result.observables
    assert agree(obs["energy"], -(alpha / 2) * beta / (1 - beta), 0.001)
    assert agree(obs["abs_m"], math.sqrt(2 / (math.pi * N * (1 - beta))), 0.003)
    assert agree(obs["m"], 0.0, 0.0)
    assert agree(obs["q"], 0.0, 0.0)
    assert obs["abs_q"].mean < 3 / math.sqrt(N)
    assert 0.5 < obs["acceptance"].mean < 1.0


@pytest.mark.slow
def test_dense_p4_retrieval_row8():
    """P = 4, N = 80, α = 0.02, T = 0.3 against spec §3 row 8: m = 0.991844, q = 0.990330.

    Allowance 0.01: at N = 80 the retrieved signal is Π_{k<4}(1 − k/80) = 0.93 of its N = ∞
    value (spec §8), and the glassy part of the energy, √N-scale at this size, lets chains leave
    the pattern (at N = 60 a quarter of the chains did within 400 sweeps).
    """
    result = dh.simulate(4, 80, 0.02, 0.3, chains=8, sweeps=300, seed=6)
    assert agree(result.observables["m"], 0.991844, 0.01)
    assert agree(result.observables["q"], 0.990330, 0.01)


@pytest.mark.slow
def test_dense_p3_retrieval_row9():
    """P = 3, N = 300, α = 0.1, T = 0.2 against spec §3 row 9: m = 0.958507, q = 0.970509.

    Allowance 0.01 (spec §4 scratch MC at this point: 0.953 ± 0.016, i.e. finite-size effects of
    this size at α = 0.1, closer to α_c = 0.126).
    """
    result = dh.simulate(3, 300, 0.1, 0.2, chains=8, sweeps=300, seed=7)
    assert agree(result.observables["m"], 0.958507, 0.01)
    assert agree(result.observables["q"], 0.970509, 0.01)

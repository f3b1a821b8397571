"""The multitasking Monte Carlo: exact bookkeeping, exact sampling, and small real simulations.

Reference values (``shared/specs/multitasking.md``), all closed forms of the spec's own
derivations [DER], none read from the papers:

* T = 0 hierarchical cascade (§4.1): m_k = (1 − d) d^{k−1}; at d = 0.3, K = 3: (0.7, 0.21, 0.063),
  the §13 row 18 expectation at T = 0.02 (the storage theory there is (0.7, 0.21, 0.0628), §9.2).
* SSE losses (§8, row 19): H/N = −(1/2) Σ_μ ((1 + a_μ)/2 − L^+_μ)² exactly with the i = j terms
  kept; at the T = 0 cascade L_1 = d/2 and L_2 = 1 − d/2 − d(1 − d).
* Supervised ≡ unsupervised in low storage with the same c (§1.3, row 17).
* At T = 0 the normalisation c does not matter (§1.3, §6); convention B at β equals convention A
  at β/(1 + ρ).

Agreement with a reference is |simulation − reference| ≤ 3 stderr + a stated allowance.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from montecarlo import multitasking as mt
from theorylab.results import dumps


def agree(estimate, reference: float, allowance: float) -> bool:
    return abs(estimate.mean - reference) <= 3.0 * estimate.stderr + allowance


def cascade(K: int, d: float) -> list[float]:
    """The T = 0 hierarchical amplitudes m_k = (1 − d) d^{k−1} (spec §4.1)."""
    return [(1 - d) * d ** (k - 1) for k in range(1, K + 1)]


def _decisions(state: mt.ChainState, T: float, metropolis: bool):
    """``(scale, no_flip, flip)`` of the kernel for a prepared state at temperature T."""
    N = state.spins.shape[1]
    scale = math.inf if T == 0 else 2.0 * state.weight / (T * N)
    return (scale, *mt.decision_tables(scale, metropolis))


def _run(state: mt.ChainState, T: float, sweeps: int, burn_in: int = 0) -> np.ndarray:
    """Heat-bath ``run_chains`` on a prepared state (in place); returns the per-chain averages."""
    N = state.spins.shape[1]
    return mt.run_chains(state.patterns, state.rows, state.self_coupling, state.row_norms,
                         state.spins, state.overlaps, state.rng_states,
                         *_decisions(state, T, False), False, state.weight, 1.0 / N, sweeps,
                         burn_in)


def _stepper(state: mt.ChainState, T: float, dynamics: str = "heat-bath"):
    """``step(sweeps) -> flips``: sweeps of chain 0 with the kernel itself."""
    N = state.spins.shape[1]
    metropolis = dynamics == "metropolis"
    decisions = _decisions(state, T, metropolis)

    def step(sweeps: int = 1) -> int:
        return mt.update(state.rows[0], state.self_coupling[0], state.spins[0],
                         state.overlaps[0], state.rng_states[0], sweeps * N, *decisions,
                         metropolis)

    return step


# --------------------------------------------------------------------------------------------
# Data, couplings, starts
# --------------------------------------------------------------------------------------------


def test_archetypes_and_examples_have_the_spec_statistics():
    N, K, d, r, M = 20000, 3, 0.3, 0.6, 5
    rng = np.random.default_rng(1)
    xi = mt.draw_archetypes(rng, N, K, d)
    assert xi.dtype == np.int8 and xi.shape == (N, K)
    n = N * K
    for value, p in ((0, d), (1, (1 - d) / 2), (-1, (1 - d) / 2)):
        assert abs((xi == value).mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    eta = mt.draw_examples(rng, xi, r, M)
    assert eta.dtype == np.int8 and eta.shape == (N, K, M)
    blank = np.broadcast_to((xi == 0)[:, :, None], eta.shape)
    assert (eta[blank] == 0).all(), "blank entries stay blank in every example"
    agree_fraction = (eta == xi[:, :, None])[~blank].mean()
    q = (1 + r) / 2
    assert abs(agree_fraction - q) < 4 * math.sqrt(q * (1 - q) / (~blank).sum())


@pytest.mark.parametrize("convention", ["A", "B"])
@pytest.mark.parametrize("protocol", mt.PROTOCOLS)
def test_couplings_are_the_spec_hamiltonians(protocol, convention):
    """Energy and every single-flip ΔH from the rows equal spec §1.3's double sums over i ≠ j."""
    N, K, d, r, M = 9, 2, 0.2, 0.6, 3
    rng = np.random.default_rng(2)
    xi = mt.draw_archetypes(rng, N, K, d)
    eta = mt.draw_examples(rng, xi, r, M)
    quality = r**2 + (1 - r**2) / M
    rho = (1 - r**2) / (M * r**2)
    c = quality if convention == "A" else quality * (1 + rho)
    assert mt.normalisation(r, M, convention) == pytest.approx(c, rel=1e-15)
    if protocol == "storage":
        vectors, prefactor = [xi[:, mu] for mu in range(K)], 1.0
    elif protocol == "supervised":
        vectors, prefactor = [eta[:, mu].mean(axis=1) for mu in range(K)], 1.0 / c
    else:
        vectors = [eta[:, mu, a] for mu in range(K) for a in range(M)]
        prefactor = 1.0 / (M * c)
    J = prefactor * sum(np.outer(v, v) for v in vectors) / N
    np.fill_diagonal(J, 0.0)

    couplings = mt.build_couplings(protocol, xi, None if protocol == "storage" else eta, r,
                                   convention)
    U = couplings.rows.astype(np.int64)
    D = (U**2).sum(axis=1)
    for sigma in (np.ones(N, dtype=np.int64), rng.choice([-1, 1], size=N)):
        p = sigma @ U
        energy = -couplings.weight * ((p**2).sum() - (U**2).sum()) / (2 * N)
        assert energy == pytest.approx(-0.5 * sigma @ J @ sigma, rel=1e-12)
        # the kernel's βΔH / β for flipping σ_i: (2w/N)(σ_i F_i − D_i), F_i = Σ_rows U_i p
        excess = sigma * (U @ p) - D
        assert 2 * couplings.weight * excess / N == pytest.approx(2 * sigma * (J @ sigma),
                                                                   rel=1e-12, abs=1e-14)


def test_starts():
    xi = np.array([[1, -1, 1], [0, -1, 1], [0, 0, 1], [0, 0, 0], [-1, 1, 1], [0, 1, -1]],
                  dtype=np.int8)
    rng = np.random.default_rng(3)
    cascade_spins = mt.initial_spins(rng, xi, "cascade")
    np.testing.assert_array_equal(cascade_spins[[0, 1, 2, 4, 5]], [1, -1, 1, -1, 1])
    pure = mt.initial_spins(rng, xi, "pure")
    np.testing.assert_array_equal(pure[[0, 4]], [1, -1])
    majority = mt.initial_spins(rng, xi, "majority")
    np.testing.assert_array_equal(majority[[0, 2, 4]], [1, 1, 1])
    for start in mt.STARTS:
        spins = mt.initial_spins(rng, xi, start)
        assert spins.dtype == np.int8 and set(np.unique(spins)) <= {-1, 1}
    # the undetermined spins (all-blank site; ties) are random, not 0: both signs appear
    draws = np.array([mt.initial_spins(rng, xi, "majority")[[1, 3, 5]] for _ in range(200)])
    assert np.abs(draws.mean(axis=0)).max() < 0.3


# --------------------------------------------------------------------------------------------
# The decision tables and the kernel: exact sampling, exact bookkeeping, reproducibility
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metropolis", [False, True])
@pytest.mark.parametrize("scale", [1e-5, 0.01, 0.7, 40.0])
def test_decision_tables_never_contradict_the_exact_test(scale, metropolis):
    """Every decided (bucket, excess) agrees with the exact test at both ends of the bucket, and
    at most two buckets are left open for any excess (so ``exp`` is needed for ≤ 2/B of draws)."""
    no_flip, flip = mt.decision_tables(scale, metropolis)
    B = no_flip.size
    assert B == 2**mt.LEVEL_BITS
    assert (flip < no_flip).all()

    def flips(u: float, e: int) -> bool:
        y = scale * e
        if metropolis:
            return u < math.exp(min(-y, 700.0))
        return u * (1.0 + math.exp(min(y, 700.0))) < 1.0

    for b in range(B):
        low, high = b / B, (b + 1) / B - 2.0**-53
        if abs(no_flip[b]) < 2**62:
            assert not flips(low, int(no_flip[b])) and not flips(high, int(no_flip[b]))
        if abs(flip[b]) < 2**62:
            assert flips(low, int(flip[b])) and flips(high, int(flip[b]))
    excess = np.unique(np.concatenate([no_flip, flip, [0]]))
    excess = excess[np.abs(excess) < 2**62]
    for e in excess[:: max(1, excess.size // 400)]:
        assert ((flip < e) & (e < no_flip)).sum() <= 2


def test_zero_temperature_tables():
    no_flip, flip = mt.decision_tables(math.inf, metropolis=False)
    half = no_flip.size // 2
    for e in (-5, -1, 1, 7):
        assert ((e >= no_flip) | (e <= flip)).all(), "T = 0 leaves nothing to exp"
        assert (e <= flip).all() == (e < 0)
    assert (0 <= flip[:half]).all() and (0 >= no_flip[half:]).all()


def _exact_distribution(state: mt.ChainState, T: float) -> np.ndarray:
    U = state.rows[0].astype(np.float64)
    N = U.shape[0]
    J = state.weight * U @ U.T / N
    np.fill_diagonal(J, 0.0)
    states = np.array(list(itertools.product([-1, 1], repeat=N)), dtype=np.float64)
    energy = -0.5 * np.einsum("si,ij,sj->s", states, J, states)
    weights = np.exp(-(energy - energy.min()) / T)
    return weights / weights.sum()


@pytest.mark.parametrize(("protocol", "dynamics", "T"), [
    ("storage", "heat-bath", 0.8), ("storage", "metropolis", 0.5),
    ("supervised", "heat-bath", 0.6), ("unsupervised", "metropolis", 0.8),
])
def test_kernel_samples_the_boltzmann_distribution(protocol, dynamics, T):
    """Histogram of all 2^8 states of one N = 8, K = 2 network against exp(−H/T)/Z.

    Samples 5 sweeps apart; states expected fewer than 5 times are pooled into one bin. A correct
    sampler gives chi² ≈ dof ± √(2 dof); the bound dof + 6√(2 dof) is not reached by one, while
    (measured on these cases) a 10 % error in the temperature gives 1.7–3.6 dof and a field that
    keeps the self-coupling 8–36 dof.
    """
    N, samples, thin = 8, 20000, 5
    state = mt.prepare_chains(2, N, 0.3, 1, protocol=protocol, r=0.6, M=3, start="random",
                              seed=11)
    step = _stepper(state, T, dynamics)
    index_weights = 2 ** np.arange(N)[::-1]
    counts = np.zeros(2**N)
    for _ in range(samples):
        step(thin)
        counts[((state.spins[0] + 1) // 2) @ index_weights] += 1
    expected = samples * _exact_distribution(state, T)
    rare = expected < 5
    observed, predicted = counts[~rare], expected[~rare]
    if rare.any():
        observed = np.append(observed, counts[rare].sum())
        predicted = np.append(predicted, expected[rare].sum())
    chi2 = ((observed - predicted) ** 2 / predicted).sum()
    dof = observed.size - 1
    assert chi2 < dof + 6 * math.sqrt(2 * dof)


@pytest.mark.parametrize(("protocol", "M"), [
    ("storage", 1), ("supervised", 8), ("unsupervised", 4),
    pytest.param("supervised", 300, marks=pytest.mark.slow),  # int16 rows: a second compilation
])
def test_overlaps_do_not_drift(protocol, M):
    """After a long run with many flips the kept overlaps equal Σ_i U_i σ_i recomputed exactly."""
    state = mt.prepare_chains(3, 500, 0.4, 2, protocol=protocol, r=0.5, M=M, start="random",
                              seed=4)
    assert state.rows.dtype == (np.int16 if M > 127 else np.int8)
    out = _run(state, T=2.0, sweeps=300)
    assert out[:, -1].min() > 0.2, "the test needs many flips"
    for c in range(2):
        np.testing.assert_array_equal(state.overlaps[c],
                                      mt.recompute_overlaps(state.rows[c], state.spins[c]))


def test_zero_field_spins_are_random_at_zero_temperature():
    """d = 1: every field is exactly 0, so at T = 0 each visit redraws the spin: after a sweep a
    spin has changed with probability (1 − e^{−1})/2 (visited at least once, then ±1 at random)."""
    N = 4000
    state = mt.prepare_chains(2, N, 1.0, 1, start="cascade", seed=5)
    before = state.spins[0].copy()
    _stepper(state, T=0.0)()
    spins = state.spins[0]
    assert set(np.unique(spins)) == {-1, 1}
    changed = (spins != before).mean()
    p = (1 - math.exp(-1)) / 2
    assert abs(changed - p) < 4 * math.sqrt(p * (1 - p) / N)
    assert abs(spins.mean()) < 4 / math.sqrt(N)


def test_zero_temperature_cascade_moves_only_its_blank_sites():
    """K = 2, d = 0.5, T = 0 from the cascade (a fixed point, spec §4.1): the sites with a
    non-blank entry never move, the all-blank ones (zero field) keep being redrawn."""
    N = 4000
    state = mt.prepare_chains(2, N, 0.5, 1, start="cascade", seed=6)
    blank = (state.patterns[0] == 0).all(axis=1)
    before = state.spins[0].copy()
    _stepper(state, T=0.0)(3)
    spins = state.spins[0]
    np.testing.assert_array_equal(spins[~blank], before[~blank])
    p = (1 - math.exp(-3)) / 2
    changed = (spins[blank] != before[blank]).mean()
    assert abs(changed - p) < 4 * math.sqrt(p * (1 - p) / blank.sum())


def test_same_seed_same_result_different_seed_different():
    kwargs = dict(K=3, N=300, d=0.3, T=0.2, protocol="supervised", r=0.6, M=4, chains=3,
                  sweeps=20)
    first, again = mt.simulate(**kwargs, seed=7), mt.simulate(**kwargs, seed=7)
    other = mt.simulate(**kwargs, seed=8)
    assert first.to_dict() == again.to_dict()
    assert first.observables["energy"] != other.observables["energy"]


def test_chains_are_independent_streams():
    """Chain k is the same whether 2 or 4 chains run (its own SeedSequence child), and no two
    chains share disorder or generator state."""
    two = mt.prepare_chains(3, 400, 0.3, 2, protocol="unsupervised", r=0.6, M=3, seed=9)
    four = mt.prepare_chains(3, 400, 0.3, 4, protocol="unsupervised", r=0.6, M=3, seed=9)
    for name in ("patterns", "rows", "spins", "overlaps", "rng_states"):
        np.testing.assert_array_equal(getattr(two, name), getattr(four, name)[:2])
    np.testing.assert_array_equal(_run(two, 0.3, 30, 10), _run(four, 0.3, 30, 10)[:2])
    for a, b in itertools.combinations(range(4), 2):
        assert (four.patterns[a] != four.patterns[b]).any()
        assert (four.rng_states[a] != four.rng_states[b]).all()


# --------------------------------------------------------------------------------------------
# The SSE-loss identity (spec §8, §13 row 19)
# --------------------------------------------------------------------------------------------


def test_sse_identity_holds_along_a_run():
    state = mt.prepare_chains(3, 3000, 0.3, 1, start="random", seed=12)
    patterns, spins = state.patterns[0], state.spins[0]
    N = patterns.shape[0]
    step = _stepper(state, T=0.15)
    for _ in range(15):
        step()
        losses = mt.sse_losses(patterns, spins)
        assert abs(losses.energy - losses.energy_from_losses) <= 1e-12
        np.testing.assert_allclose(losses.loss_plus, (1 + losses.nonblank) / 2 - losses.m,
                                   rtol=0, atol=1e-15)
        np.testing.assert_allclose(losses.loss_minus, (1 + losses.nonblank) / 2 + losses.m,
                                   rtol=0, atol=1e-15)
        # the storage rows are the archetypes: the kernel's overlaps give the same H/N
        p = state.overlaps[0]
        assert losses.energy == -float((p * p).sum()) / (2 * N * N)
    assert (losses.loss < (1 + losses.nonblank) / 2).all(), "every loss falls together"


def test_sse_losses_at_the_zero_temperature_cascade():
    """T = 0 from the cascade, K = 3, d = 0.3: L_1 = d/2, L_2 = 1 − d/2 − d(1 − d) (spec §8).

    Per chain L_1 = (1 − a_1)/2 exactly on the cascade, a_1 a binomial fraction: its standard
    error over chains sets the tolerance (4σ); L_2 likewise from the chains' spread.
    """
    K, N, d, chains = 3, 4000, 0.3, 8
    state = mt.prepare_chains(K, N, d, chains, start="cascade", seed=13)
    _run(state, T=0.0, sweeps=10)
    losses = [mt.sse_losses(state.patterns[c], state.spins[c]) for c in range(chains)]
    L = np.array([x.loss for x in losses])
    for x in losses:
        assert abs(x.energy - x.energy_from_losses) <= 1e-12
    sigma_1 = 0.5 * math.sqrt(d * (1 - d) / N) / math.sqrt(chains)
    assert abs(L[:, 0].mean() - d / 2) < 4 * sigma_1
    stderr_2 = L[:, 1].std(ddof=1) / math.sqrt(chains)
    assert abs(L[:, 1].mean() - (1 - d / 2 - d * (1 - d))) < 4 * stderr_2 + 1e-3


# --------------------------------------------------------------------------------------------
# The public entry point
# --------------------------------------------------------------------------------------------


def test_result_contract():
    result = mt.simulate(2, 200, 0.4, 0.1, protocol="unsupervised", r=0.5, M=3, chains=2,
                         sweeps=10, seed=1)
    assert result.model == "multitasking"
    assert result.parameters == {"K": 2, "N": 200, "d": 0.4, "T": 0.1,
                                 "protocol": "unsupervised", "r": 0.5, "M": 3,
                                 "convention": "A", "rho": 1.0, "normalisation": 0.5}
    assert set(result.observables) == {"m1", "m2", "m_raw1", "m_raw2", "n1", "n2", "n_raw1",
                                       "n_raw2", "sum_m2", "energy", "acceptance"}
    assert result.seeds == 2 and result.sweeps == 10
    assert result.settings["burn_in"] == 5 and result.settings["measurements"] == 5
    assert result.settings["rows"] == 6
    assert result.settings["dynamics"] == "heat-bath" and result.settings["start"] == "cascade"
    assert json.loads(dumps(result.to_dict()))["observables"]["m1"]["stderr"] >= 0
    storage = mt.simulate(3, 50, 0.3, 0.5, chains=1, sweeps=2, dynamics="metropolis")
    assert storage.parameters == {"K": 3, "N": 50, "d": 0.3, "T": 0.5, "protocol": "storage"}
    assert not any(name.startswith("n") for name in storage.observables)
    assert math.isnan(storage.observables["m1"].stderr)
    m = [storage.observables[f"m{k}"].mean for k in (1, 2, 3)]
    assert m == sorted(m, reverse=True)


def test_supervised_with_perfect_data_is_storage():
    """r = 1 (ρ = 0): U = M ξ with w = 1/M², so n_μ = m_μ, and H/N is the storage energy
    −Σ_μ m_μ²/2 + Σ_μ a_μ/(2N) (the excluded diagonal, between 0 and K/(2N)), at any M."""
    K, N = 3, 500
    result = mt.simulate(K, N, 0.3, 0.1, protocol="supervised", r=1.0, M=5, chains=2,
                         sweeps=10, seed=2)
    obs = result.observables
    for k in range(1, K + 1):
        assert obs[f"n{k}"].mean == pytest.approx(obs[f"m{k}"].mean, abs=1e-12)
        assert obs[f"n_raw{k}"].mean == pytest.approx(obs[f"m_raw{k}"].mean, abs=1e-12)
    assert 0 < obs["energy"].mean + 0.5 * obs["sum_m2"].mean <= K / (2 * N)


def test_normalisation_is_irrelevant_at_zero_temperature():
    kwargs = dict(K=2, N=400, d=0.4, T=0.0, protocol="supervised", r=0.5, M=6, chains=2,
                  sweeps=20, seed=3)
    a, b = mt.simulate(**kwargs, convention="A"), mt.simulate(**kwargs, convention="B")
    rho = a.parameters["rho"]
    for name, estimate in a.observables.items():
        expected = estimate.mean / (1 + rho) if name == "energy" else estimate.mean
        assert b.observables[name].mean == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("kwargs", "name"), [
    (dict(K=0), "K"), (dict(K=2.5), "K"), (dict(N=1), "N"), (dict(d=-0.1), "d"),
    (dict(d=1.5), "d"), (dict(T=-1.0), "T"), (dict(T=math.nan), "T"), (dict(T=math.inf), "T"),
    (dict(r=0.0), "r"), (dict(r=1.2), "r"), (dict(M=0), "M"),
    (dict(protocol="teacher"), "protocol"), (dict(convention="C"), "convention"),
    (dict(start="spin-glass"), "start"), (dict(dynamics="glauber"), "dynamics"),
    (dict(chains=0), "chains"), (dict(sweeps=0), "sweeps"), (dict(seed=-1), "seed"),
    (dict(protocol="supervised", M=40000), "M"),
    (dict(protocol="unsupervised", M=2000, N=200000, chains=8), "chains·N·rows"),
])
def test_impossible_input_is_a_value_error(kwargs, name):
    given = dict(K=2, N=50, d=0.3, T=0.1) | kwargs
    K, N, d, T = (given.pop(k) for k in ("K", "N", "d", "T"))
    with pytest.raises(ValueError, match=f"^{name}"):
        mt.simulate(K, N, d, T, **given)


# --------------------------------------------------------------------------------------------
# Simulations against the spec's closed forms (§13 rows 17, 18)
# --------------------------------------------------------------------------------------------


def _row_18(N: int, chains: int, sweeps: int, seed: int) -> None:
    """Storage, K = 3, d = 0.3, T = 0.02, cascade start against m_k = (1 − d) d^{k−1}.

    Allowance 0.003: the closed form is the T = 0 value; at T = 0.02 the weakest level
    (field 0.063, β h ≈ 3.2) is reduced by 0.063 (1 − tanh 3.15) ≈ 0.0002 (storage theory:
    0.0628), and excluding the self-coupling lowers each field by O(1/N). The quenched
    fluctuations of the amplitudes (O(N^{−1/2}) per chain) are in the error bar.
    """
    K, d = 3, 0.3
    result = mt.simulate(K, N, d, 0.02, chains=chains, sweeps=sweeps, start="cascade",
                         seed=seed)
    for k, expected in enumerate(cascade(K, d), start=1):
        assert agree(result.observables[f"m{k}"], expected, 0.003), k


def test_storage_cascade_row_18():
    _row_18(N=4000, chains=8, sweeps=200, seed=18)


@pytest.mark.slow
def test_storage_cascade_row_18_large():
    _row_18(N=20000, chains=8, sweeps=400, seed=1800)


def _row_17(N: int, chains: int, sweeps: int, seed: int) -> None:
    """Supervised and unsupervised couplings (same c, convention A) give the same sorted m at
    K = 2, d = 0.5, r = 0.5, M = 8, T = 0.05 (K M / N ≪ 1).

    Both runs share archetypes, data sets, starts and streams (same seed), which makes their
    difference far smaller than either error bar; the allowance 0.01 is row 17's tolerance for
    the O(K M / N) cross-talk and the o(N) energy difference of spec §1.3.
    """
    kwargs = dict(K=2, N=N, d=0.5, T=0.05, r=0.5, M=8, chains=chains, sweeps=sweeps, seed=seed)
    supervised = mt.simulate(**kwargs, protocol="supervised")
    unsupervised = mt.simulate(**kwargs, protocol="unsupervised")
    for name in ("m1", "m2", "n1", "n2"):
        a, b = supervised.observables[name], unsupervised.observables[name]
        assert abs(a.mean - b.mean) <= 3 * math.hypot(a.stderr, b.stderr) + 0.01, name


def test_supervised_equals_unsupervised_row_17():
    _row_17(N=4000, chains=8, sweeps=200, seed=17)


@pytest.mark.slow
def test_supervised_equals_unsupervised_row_17_large():
    _row_17(N=20000, chains=8, sweeps=400, seed=1700)

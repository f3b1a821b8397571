"""Monte Carlo of the multitasking Hebbian network: the independent check of its low-storage theory.

Convention (``shared/specs/multitasking.md`` §1): spins σ_i = ±1; K archetypes ξ^μ ∈ {−1, 0, +1}^N
with i.i.d. entries, P(ξ = 0) = d, P(ξ = ±1) = (1 − d)/2; for learning, M examples per archetype,
η^{μ,a}_i = χ^{μ,a}_i ξ^μ_i with χ = +1 with probability (1 + r)/2, else −1 (blank entries stay
blank). Every protocol's couplings have the low-rank (Mattis) form

    H(σ) = −(w / 2N) Σ_rows Σ_{i≠j} U_i U_j σ_i σ_j = −(w / 2N) Σ_rows (p² − Σ_i U_i²),
    p = Σ_i U_i σ_i,

with integer rows U and one common weight w (spec §1.3; c is the normalisation of §1.3):

* ``"storage"``: one row per archetype, U = ξ^μ, w = 1;
* ``"supervised"``: one row per archetype, U = Σ_a η^{μ,a} = M η̄^μ (integers, |U| ≤ M),
  w = 1/(c M²), i.e. H = −(1/(2Nc)) Σ_μ Σ_{i≠j} η̄^μ_i η̄^μ_j σ_i σ_j;
* ``"unsupervised"``: one row per example, U = η^{μ,a}, w = 1/(M c);
* c = 𝓡 = r² + (1 − r²)/M in convention ``"A"`` (default), c = 𝓡(1 + ρ) with
  ρ = (1 − r²)/(M r²) in convention ``"B"``.

Self-couplings (i = j) are excluded. The overlaps p of the rows are kept as exact integers and
changed by −2σ_i U_i on each flip of σ_i, so a proposal costs O(rows) and nothing drifts. With
F_i = Σ_rows U_i p and D_i = Σ_rows U_i² (precomputed), the local field is h_i = (w/N)(F_i −
σ_i D_i), and flipping σ_i changes βH by y = βΔH = (2βw/N) e_i with the integer *excess*
e_i = σ_i F_i − D_i.

Dynamics: random-scan single-spin updates, one sweep = N proposals (site drawn uniformly each time):

* ``"heat-bath"`` (Glauber, default): σ_i ← +1 with probability (1 + tanh βh_i)/2, i.e. σ_i flips
  with probability 1/(1 + e^y);
* ``"metropolis"``: σ_i flips with probability min(1, e^{−y}).
* T = 0 (both): σ_i ← sign(h_i), and where h_i = 0 exactly (e.g. a site whose pattern entries
  are all blank) σ_i ← ±1 at random (spec review note 5): the T → 0 limit of heat-bath. A
  ``sign(h)`` rule would set such spins to 0; Metropolis' own limit would flip them at every
  visit.

Decisions: the 64-bit draw that picks the site uses its top 32 bits for the site (Lemire's
multiply-shift, :func:`montecarlo.rng.next_index_and_bits`); its low 32 bits are the first 32 bits
of the uniform u of the decision. The top ``LEVEL_BITS`` of u give a bucket b (u ∈ [b/B, (b+1)/B),
B = 2^LEVEL_BITS), and two integer tables per bucket (:func:`decision_tables`) bracket the flip
probability: e ≥ ``no_flip[b]`` means "certainly no flip" for every u in the bucket, e ≤
``flip[b]`` "certainly a flip". Only when the flip probability falls inside the bucket (for about
1/B of the proposals, never more than 2/B) are 21 more bits drawn and the flip decided exactly,
with ``exp`` (u a multiple of 2^-53). So a proposal usually costs one draw and one or two integer
comparisons, and the outcome is the same as comparing a 53-bit uniform with the exact probability.
At T = 0 the tables decide every proposal: e > 0 keeps the spin, e < 0 flips it, e = 0 flips it
for u < 1/2.

Chains: ``simulate`` runs independent chains in parallel (``numba.prange``). Chain k draws from
child k of ``numpy.random.SeedSequence(seed).spawn(chains)``, which spawns two: a NumPy generator
for its own archetypes, data set and start (the quenched disorder is averaged over chains), and the
kernel's xoshiro256** stream (:mod:`montecarlo.rng`). The draws come in the order archetypes,
examples, start, so that ``"supervised"`` and ``"unsupervised"`` runs with one seed see the same
archetypes, data sets and starts (common random numbers), and the result of chain k does not
depend on how many chains run beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from montecarlo.rng import next_index_and_bits, next_uint64, seed_state
from theorylab.results import Estimate, SimulationResult, mean_and_stderr

MODEL = "multitasking"
PROTOCOLS = ("storage", "supervised", "unsupervised")
CONVENTIONS = ("A", "B")
STARTS = ("cascade", "pure", "majority", "random")
DYNAMICS = ("heat-bath", "metropolis")

LEVEL_BITS = 10
"""Bits of the uniform that select the decision tables' bucket (:func:`decision_tables`)."""

MAX_ROW_BYTES = 2 * 10**9
"""Cap on chains × N × rows × bytes per entry of the coupling rows."""

_LEVELS = 1 << LEVEL_BITS
_LEVEL_SHIFT = np.uint64(32 - LEVEL_BITS)
_DROP_43 = np.uint64(43)
_EXCESS_BOUND = 2**62
"""|F_i| and |e_i| stay below this (checked by ``simulate``); the tables use ±it for "never"."""
_TABLE_MARGIN = 1e-9


# --------------------------------------------------------------------------------------------
# Archetypes, data sets, couplings, starts
# --------------------------------------------------------------------------------------------


def draw_archetypes(rng: np.random.Generator, N: int, K: int, d: float) -> np.ndarray:
    """K diluted archetypes, (N, K) int8: 0 with probability d, ±1 with (1 − d)/2 each."""
    u = rng.random((N, K))
    patterns = np.where(u < (1.0 + d) / 2.0, 1, -1).astype(np.int8)
    patterns[u < d] = 0
    return patterns


def draw_examples(rng: np.random.Generator, patterns: np.ndarray, r: float, M: int) -> np.ndarray:
    """M examples of each archetype, (N, K, M) int8: η^{μ,a}_i = χ^{μ,a}_i ξ^μ_i.

    χ = +1 with probability (1 + r)/2, else −1; the χ are drawn one example at a time
    (archetype-major), N uniforms per example.
    """
    N, K = patterns.shape
    examples = np.empty((N, K, M), dtype=np.int8)
    for mu in range(K):
        for a in range(M):
            chi = np.where(rng.random(N) < (1.0 + r) / 2.0, 1, -1).astype(np.int8)
            examples[:, mu, a] = chi * patterns[:, mu]
    return examples


def normalisation(r: float, M: int, convention: str) -> float:
    """The normalisation c of the learning couplings (spec §1.3): 𝓡 or 𝓡(1 + ρ) (``"A"``, ``"B"``).

    𝓡 = r² + (1 − r²)/M, ρ = (1 − r²)/(M r²).
    """
    quality = r * r + (1.0 - r * r) / M
    if convention == "A":
        return quality
    return quality * (1.0 + (1.0 - r * r) / (M * r * r))


@dataclass(frozen=True)
class Couplings:
    """Low-rank couplings J_ij = (w/N) Σ_rows U_i U_j (i ≠ j).

    Attributes
    ----------
    rows : (N, R) int8 or int16
        Column r holds the r-th row vector U (site-major, so that a proposal reads the R
        entries of its site from one contiguous line).
    weight : float
        w, common to all rows.
    """

    rows: np.ndarray
    weight: float


def build_couplings(protocol: str, patterns: np.ndarray, examples: np.ndarray | None = None,
                    r: float = 1.0, convention: str = "A") -> Couplings:
    """The rows and weight of a protocol (see the module docstring); ``examples`` as
    :func:`draw_examples` for the learning protocols.

    Supervised rows hold M η̄ = Σ_a η (|U| ≤ M): int8 up to M = 127, int16 up to 32767.
    """
    if protocol == "storage":
        return Couplings(patterns.copy(), 1.0)
    N, K, M = examples.shape
    c = normalisation(r, M, convention)
    if protocol == "unsupervised":
        return Couplings(examples.reshape(N, K * M).copy(), 1.0 / (M * c))
    dtype = np.int8 if M <= np.iinfo(np.int8).max else np.int16
    return Couplings(examples.sum(axis=2, dtype=np.int64).astype(dtype), 1.0 / (c * M * M))


def initial_spins(rng: np.random.Generator, patterns: np.ndarray, start: str) -> np.ndarray:
    """A starting configuration (N,) int8; every undetermined spin is ±1 at random.

    ``"cascade"``: σ_i = ξ^{k(i)}_i with k(i) the first non-blank archetype at site i (spec §4.1);
    ``"pure"``: σ = ξ^1; ``"majority"``: σ = sign(Σ_μ ξ^μ); ``"random"``.
    """
    N, K = patterns.shape
    spins = np.where(rng.random(N) < 0.5, 1, -1).astype(np.int8)
    if start == "cascade":
        for mu in range(K - 1, -1, -1):  # the lowest non-blank μ is written last
            spins = np.where(patterns[:, mu] != 0, patterns[:, mu], spins).astype(np.int8)
    elif start == "pure":
        spins = np.where(patterns[:, 0] != 0, patterns[:, 0], spins).astype(np.int8)
    elif start == "majority":
        total = patterns.sum(axis=1, dtype=np.int64)
        spins = np.where(total != 0, np.sign(total), spins).astype(np.int8)
    return spins


# --------------------------------------------------------------------------------------------
# Decision tables and kernels
# --------------------------------------------------------------------------------------------


def decision_tables(scale: float, metropolis: bool) -> tuple[np.ndarray, np.ndarray]:
    """Integer thresholds on the excess e that decide a proposal from the bucket of its uniform.

    For bucket b (u ∈ [b/B, (b+1)/B)), with g(y) the flip probability (heat-bath 1/(1 + e^y),
    Metropolis min(1, e^{−y})) and y = ``scale``·e: ``no_flip[b]`` is an integer above the y at
    which g = b/B (so e ≥ no_flip[b] gives g(y) < b/B ≤ u: no flip), and ``flip[b]`` an integer
    below the y at which g = (b+1)/B (e ≤ flip[b] gives u < (b+1)/B < g(y): a flip). Both keep
    a relative margin of 1e-9 in y, far above the rounding of y and of ``exp``, so the tables never
    contradict the exact test. ``scale = inf`` (T = 0) gives the zero-temperature rule exactly.

    Returns
    -------
    no_flip, flip : (2^LEVEL_BITS,) int64
    """
    no_flip = np.empty(_LEVELS, dtype=np.int64)
    flip = np.empty(_LEVELS, dtype=np.int64)
    if math.isinf(scale):
        half = _LEVELS // 2
        no_flip[:half], flip[:half] = 1, 0  # u < 1/2: a zero-field spin flips
        no_flip[half:], flip[half:] = 0, -1
        return no_flip, flip

    def y_at(probability: float) -> float:
        """The y at which the flip probability equals ``probability`` (g is decreasing)."""
        if probability <= 0.0:
            return math.inf
        if metropolis:
            return -math.log(probability)
        return -math.inf if probability >= 1.0 else math.log(1.0 / probability - 1.0)

    for b in range(_LEVELS):
        upper, lower = y_at(b / _LEVELS), y_at((b + 1) / _LEVELS)
        if math.isinf(upper):
            no_flip[b] = _EXCESS_BOUND
        else:
            margin = _TABLE_MARGIN * max(1.0, abs(upper))
            no_flip[b] = min(_EXCESS_BOUND, math.floor((upper + margin) / scale) + 1)
        if math.isinf(lower):
            flip[b] = -_EXCESS_BOUND
        else:
            margin = _TABLE_MARGIN * max(1.0, abs(lower))
            flip[b] = max(-_EXCESS_BOUND, math.ceil((lower - margin) / scale) - 1)
    return no_flip, flip


@njit(inline="always")
def _flips_exactly(u, y, metropolis):
    """The exact test for u in [0, 1): u < min(1, e^{−y}) or u < 1/(1 + e^y); an overflowing
    ``exp`` gives the limiting answer (u·inf is not below 1, and 0·inf = NaN is not either)."""
    if metropolis:
        return u < math.exp(-y)
    return u * (1.0 + math.exp(y)) < 1.0


@njit(cache=True)
def update(rows, self_coupling, spins, overlaps, rng_state, n_flips, scale, no_flip, flip,
           metropolis):
    """``n_flips`` random-scan single-spin proposals; returns the number of flips.

    Parameters
    ----------
    rows : (N, R) int8 or int16, C-contiguous
        The coupling rows U, site-major (:class:`Couplings`); the R entries of site i are read
        per proposal.
    self_coupling : (N,) int64
        D_i = Σ_rows U_i², the excluded diagonal.
    spins : (N,) int8
        σ, updated in place.
    overlaps : (R,) int64
        p = Σ_i U_i σ_i, exact, updated in place on each flip.
    rng_state : (4,) uint64
        The chain's xoshiro256** state, advanced in place.
    n_flips : int
        Number of proposals (N of them make one sweep).
    scale : float
        2βw/N, so that βΔH = scale·e (``inf`` at T = 0, where the tables decide everything).
    no_flip, flip : (2^LEVEL_BITS,) int64
        :func:`decision_tables` for this ``scale`` and dynamics.
    metropolis : bool
        Metropolis rather than heat-bath (used only for proposals the tables leave open).
    """
    N, R = rows.shape
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    flips = 0
    for _ in range(n_flips):
        i, bits, s0, s1, s2, s3 = next_index_and_bits(N, s0, s1, s2, s3)
        # rows[i, r], not a row view: a view would cost reference counting per proposal
        field = np.int64(0)
        for r in range(R):
            field += rows[i, r] * overlaps[r]
        sigma = spins[i]
        excess = sigma * field - self_coupling[i]  # (N/w) σ_i h_i; βΔH = scale · excess
        level = bits >> _LEVEL_SHIFT
        if excess >= no_flip[level]:
            continue
        if excess > flip[level]:
            tail, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
            u = bits * 2.0**-32 + (tail >> _DROP_43) * 2.0**-53
            if not _flips_exactly(u, scale * excess, metropolis):
                continue
        step = -2 * sigma
        for r in range(R):
            overlaps[r] += step * rows[i, r]
        spins[i] = -sigma
        flips += 1
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return flips


@njit(cache=True)
def recompute_overlaps(matrix, spins):
    """Σ_i matrix[i, r] σ_i for every column r, from scratch (int64): the row overlaps p from the
    coupling rows, or N m_μ from the archetypes."""
    N, R = matrix.shape
    out = np.zeros(R, dtype=np.int64)
    for i in range(N):
        for r in range(R):
            out[r] += matrix[i, r] * spins[i]
    return out


def observable_names(K: int) -> tuple[str, ...]:
    """Columns of :func:`run_chains`: sorted |m|, m by archetype, n paired with the sorted m,
    n by archetype, Σ m², energy, acceptance."""
    return (*(f"m{k}" for k in range(1, K + 1)), *(f"m_raw{k}" for k in range(1, K + 1)),
            *(f"n{k}" for k in range(1, K + 1)), *(f"n_raw{k}" for k in range(1, K + 1)),
            "sum_m2", "energy", "acceptance")


@njit(cache=True)
def _measure(patterns, spins, overlaps, row_norms, weight, n_scale, sums):
    """Add one measurement to ``sums`` (columns of :func:`observable_names` but the last)."""
    N, K = patterns.shape
    group = overlaps.shape[0] // K
    m = recompute_overlaps(patterns, spins) / N
    n = np.zeros(K)
    for mu in range(K):
        for a in range(group):
            n[mu] += overlaps[mu * group + a]
        n[mu] *= n_scale
    order = np.argsort(-np.abs(m))
    for k in range(K):
        mu = order[k]
        gauge = 1.0 if m[mu] >= 0.0 else -1.0
        sums[k] += abs(m[mu])
        sums[K + k] += m[k]
        sums[2 * K + k] += gauge * n[mu]
        sums[3 * K + k] += n[k]
        sums[4 * K] += m[k] * m[k]
    pair_sum = 0.0
    for r in range(overlaps.shape[0]):
        p = float(overlaps[r])
        pair_sum += p * p - row_norms[r]
    sums[4 * K + 1] += -weight * pair_sum / (2.0 * N * N)


@njit(cache=True, parallel=True)
def run_chains(patterns, rows, self_coupling, row_norms, spins, overlaps, rng_states, scale,
               no_flip, flip, metropolis, weight, n_scale, sweeps, burn_in):
    """Run every chain (in parallel) and return its time averages, (chains, 4K + 3).

    Columns follow :func:`observable_names`. Sweeps ``< burn_in`` are discarded (``burn_in <
    sweeps``), every later one is measured: m_μ = (1/N) Σ_i ξ^μ_i σ_i recomputed from the
    archetypes; n_μ = ``n_scale`` · (sum of the overlaps of archetype μ's rows); the energy per spin
    −(w/2N²) Σ_rows (p² − Σ_i U_i²); the acceptance is the fraction of proposals that flipped. The
    spins, overlaps and generator states are updated in place.
    """
    chains, N, K = patterns.shape
    out = np.zeros((chains, 4 * K + 3))
    measured = sweeps - burn_in
    for c in prange(chains):
        # private copies: neighbouring chains' rows of the stacked arrays share cache lines
        chain_spins = spins[c].copy()
        chain_overlaps = overlaps[c].copy()
        chain_rng = rng_states[c].copy()
        sums = np.zeros(4 * K + 2)
        flips = 0
        for sweep in range(sweeps):
            flipped = update(rows[c], self_coupling[c], chain_spins, chain_overlaps, chain_rng, N,
                             scale, no_flip, flip, metropolis)
            if sweep < burn_in:
                continue
            flips += flipped
            _measure(patterns[c], chain_spins, chain_overlaps, row_norms[c], weight, n_scale,
                     sums)
        out[c, : 4 * K + 2] = sums / measured
        out[c, 4 * K + 2] = flips / (N * measured)
        spins[c] = chain_spins
        overlaps[c] = chain_overlaps
        rng_states[c] = chain_rng
    return out


# --------------------------------------------------------------------------------------------
# The SSE-loss identity (spec §8)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SSELosses:
    """The per-archetype quadratic losses of one configuration and the two sides of spec §8.

    Attributes
    ----------
    nonblank : (K,) float
        a_μ = (1/N) Σ_i (ξ^μ_i)², the empirical non-blank fraction (→ 1 − d).
    loss_plus, loss_minus : (K,) float
        L^±_μ = (1/2N) ‖ξ^μ ∓ σ‖², summed site by site.
    loss : (K,) float
        L_μ = min(L^+_μ, L^−_μ).
    m : (K,) float
        m_μ = (1/N) Σ_i ξ^μ_i σ_i.
    energy : float
        H/N of the storage couplings with the i = j terms kept: −(1/2) Σ_μ m_μ².
    energy_from_losses : float
        −(1/2) Σ_μ ((1 + a_μ)/2 − L^+_μ)²; equal to ``energy`` (L^+_μ = (1 + a_μ)/2 − m_μ).
    """

    nonblank: np.ndarray
    loss_plus: np.ndarray
    loss_minus: np.ndarray
    loss: np.ndarray
    m: np.ndarray
    energy: float
    energy_from_losses: float


def sse_losses(patterns: np.ndarray, spins: np.ndarray) -> SSELosses:
    """Evaluate the SSE losses of ``spins`` against the archetypes (``patterns``, (N, K)).

    Each side is computed from its own definition (integer sums, one division each), so their
    difference measures the identity, not a shared intermediate.
    """
    N = patterns.shape[0]
    xi = patterns.astype(np.int64)
    sigma = spins.astype(np.int64)[:, None]
    nonblank = (xi * xi).sum(axis=0) / N
    loss_plus = ((xi - sigma) ** 2).sum(axis=0) / (2 * N)
    loss_minus = ((xi + sigma) ** 2).sum(axis=0) / (2 * N)
    overlaps = (xi * sigma).sum(axis=0)
    energy = -float((overlaps * overlaps).sum()) / (2 * N * N)
    energy_from_losses = -0.5 * float((((1.0 + nonblank) / 2.0 - loss_plus) ** 2).sum())
    return SSELosses(nonblank, loss_plus, loss_minus, np.minimum(loss_plus, loss_minus),
                     overlaps / N, energy, energy_from_losses)


# --------------------------------------------------------------------------------------------
# Set-up and the public entry point
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainState:
    """The arrays of a set of independent chains (mutated in place by the kernels).

    Attributes
    ----------
    patterns : (chains, N, K) int8
        Each chain's own archetypes.
    rows : (chains, N, R) int8 or int16
        Each chain's coupling rows (:class:`Couplings`).
    self_coupling : (chains, N) int64
        D_i = Σ_rows U_i² per site.
    row_norms : (chains, R) int64
        Σ_i U_i² per row (the excluded diagonal in the energy).
    spins : (chains, N) int8
    overlaps : (chains, R) int64
        Exact p = Σ_i U_i σ_i.
    rng_states : (chains, 4) uint64
        xoshiro256** state of each chain.
    weight : float
        w of the couplings (the same for every chain).
    """

    patterns: np.ndarray
    rows: np.ndarray
    self_coupling: np.ndarray
    row_norms: np.ndarray
    spins: np.ndarray
    overlaps: np.ndarray
    rng_states: np.ndarray
    weight: float


def prepare_chains(K: int, N: int, d: float, chains: int, *, protocol: str = "storage",
                   r: float = 1.0, M: int = 1, convention: str = "A", start: str = "cascade",
                   seed: int = 0) -> ChainState:
    """Draw each chain's archetypes, data set and start, build its couplings, seed its generator.

    Chain k uses child k of ``numpy.random.SeedSequence(seed).spawn(chains)`` (see the module
    docstring for the order of the draws).
    """
    patterns, rows, spins, rng_states = [], [], [], []
    for child in np.random.SeedSequence(seed).spawn(chains):
        numpy_seed, kernel_seed = child.spawn(2)
        rng = np.random.default_rng(numpy_seed)
        xi = draw_archetypes(rng, N, K, d)
        examples = None if protocol == "storage" else draw_examples(rng, xi, r, M)
        couplings = build_couplings(protocol, xi, examples, r, convention)
        patterns.append(xi)
        rows.append(couplings.rows)
        spins.append(initial_spins(rng, xi, start))
        rng_states.append(seed_state(kernel_seed))
    # |U| <= 32767, so U² fits int32; summed in int64, one chain at a time
    return ChainState(
        patterns=np.stack(patterns),
        rows=np.stack(rows),
        self_coupling=np.stack([np.square(U, dtype=np.int32).sum(axis=1, dtype=np.int64)
                                for U in rows]),
        row_norms=np.stack([np.square(U, dtype=np.int32).sum(axis=0, dtype=np.int64)
                            for U in rows]),
        spins=np.stack(spins),
        overlaps=np.stack([recompute_overlaps(U, sigma) for U, sigma in zip(rows, spins,
                                                                             strict=True)]),
        rng_states=np.stack(rng_states),
        weight=couplings.weight,
    )


def _check(K, N, d, T, protocol, r, M, convention, chains, sweeps, start, dynamics, seed):
    """ValueError naming the first impossible input."""
    integers = {"K": (K, 1), "N": (N, 2), "M": (M, 1), "chains": (chains, 1),
                "sweeps": (sweeps, 1), "seed": (seed, 0)}
    for name, (value, low) in integers.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name} must be an integer >= {low} (got {value!r})")
    if not 0.0 <= d <= 1.0:
        raise ValueError(f"d must be in [0, 1] (got {d!r})")
    if not (math.isfinite(T) and T >= 0.0):
        raise ValueError(f"T must be finite and >= 0 (got {T!r})")
    if not 0.0 < r <= 1.0:
        raise ValueError(f"r must be in (0, 1] (got {r!r})")
    for name, value, allowed in (("protocol", protocol, PROTOCOLS),
                                 ("convention", convention, CONVENTIONS),
                                 ("start", start, STARTS), ("dynamics", dynamics, DYNAMICS)):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    if protocol == "supervised" and M > np.iinfo(np.int16).max:
        raise ValueError(f"M must be <= {np.iinfo(np.int16).max} for supervised rows (got {M})")
    rows = {"storage": K, "supervised": K, "unsupervised": K * M}[protocol]
    entry_bytes = 2 if protocol == "supervised" and M > np.iinfo(np.int8).max else 1
    if chains * N * rows * entry_bytes > MAX_ROW_BYTES:
        raise ValueError(f"chains·N·rows = {chains * N * rows:.3g} entries of couplings exceed "
                         f"the cap of {MAX_ROW_BYTES:.0e} bytes; use fewer chains, N or M")
    largest = M if protocol == "supervised" else 1
    if (N + 1) * rows * largest * largest >= _EXCESS_BOUND:
        raise ValueError("(N + 1)·rows·max|U|² reaches 2^62: local fields would overflow int64")


def simulate(K: int, N: int, d: float, T: float, *, protocol: str = "storage", r: float = 1.0,
             M: int = 1, convention: str = "A", chains: int = 8, sweeps: int = 200,
             start: str = "cascade", dynamics: str = "heat-bath",
             seed: int = 0) -> SimulationResult:
    """Sample the multitasking Hebbian network with independent chains, each with its own disorder.

    Parameters
    ----------
    K : int
        Number of archetypes, ≥ 1.
    N : int
        Number of spins, ≥ 2.
    d : float
        Dilution, P(ξ = 0), in [0, 1].
    T : float
        Temperature, ≥ 0 (T = 0: σ = sign(h), ±1 at random where h = 0).
    protocol : {"storage", "supervised", "unsupervised"}
        Couplings from the archetypes, from the example means, or from every example.
    r : float
        Data-set quality in (0, 1] (learning protocols only).
    M : int
        Examples per archetype, ≥ 1 (learning protocols only).
    convention : {"A", "B"}
        Normalisation c of the learning couplings (spec §1.3).
    chains : int
        Independent chains (own disorder, own random stream), run in parallel.
    sweeps : int
        Sweeps of N proposals; the first ``sweeps // 2`` are discarded, every later one measured.
    start : {"cascade", "pure", "majority", "random"}
        Starting configuration (:func:`initial_spins`).
    dynamics : {"heat-bath", "metropolis"}
        Single-spin rule at T > 0.
    seed : int
        Root of the ``numpy.random.SeedSequence``; the same seed gives the same result.

    Returns
    -------
    SimulationResult
        Observables (time average per chain, then mean ± standard error over chains,
        std(ddof=1)/√chains, NaN for one chain): ``m1..mK`` the sorted |m_μ|; ``m_raw1..m_rawK``
        m_μ in the archetypes' own order and sign; for learning protocols ``n1..nK`` the
        generalised magnetisations n_μ = (1/(r(1+ρ)NM)) Σ_{i,a} η^{μ,a}_i σ_i of spec §2 (both
        protocols), each paired with the m in ``m1..mK`` and given its sign, and ``n_raw1..n_rawK``
        in the archetypes' order; ``sum_m2`` = Σ_μ m_μ²; ``energy`` H/N of the protocol's couplings
        (i ≠ j); ``acceptance``, the fraction of proposals that flipped.

    Raises
    ------
    ValueError
        An impossible value, or a size beyond the memory cap or exact integer arithmetic.
    """
    _check(K, N, d, T, protocol, r, M, convention, chains, sweeps, start, dynamics, seed)
    learning = protocol != "storage"
    state = prepare_chains(K, N, d, chains, protocol=protocol, r=r, M=M, convention=convention,
                           start=start, seed=seed)
    metropolis = dynamics == "metropolis"
    scale = math.inf if T == 0 else 2.0 * state.weight / (T * N)
    no_flip, flip = decision_tables(scale, metropolis)
    rho = (1.0 - r * r) / (M * r * r)
    n_scale = 1.0 / (r * (1.0 + rho) * N * M) if learning else 1.0 / N
    burn_in = sweeps // 2
    per_chain = run_chains(state.patterns, state.rows, state.self_coupling, state.row_norms,
                           state.spins, state.overlaps, state.rng_states, scale, no_flip, flip,
                           metropolis, state.weight, n_scale, sweeps, burn_in)
    means, stderrs = mean_and_stderr(per_chain)
    names = observable_names(K)
    observables = {name: Estimate(float(mu), float(se))
                   for name, mu, se in zip(names, means, stderrs, strict=True)
                   if learning or not name.startswith("n")}
    parameters = {"K": int(K), "N": int(N), "d": float(d), "T": float(T), "protocol": protocol}
    if learning:
        parameters |= {"r": float(r), "M": int(M), "convention": convention, "rho": rho,
                       "normalisation": normalisation(r, M, convention)}
    return SimulationResult(
        model=MODEL,
        parameters=parameters,
        observables=observables,
        seeds=chains,
        sweeps=sweeps,
        settings={"burn_in": burn_in, "seed": seed, "dynamics": dynamics, "start": start,
                  "measurements": sweeps - burn_in, "rows": state.rows.shape[2],
                  "weight": state.weight, "self_couplings": "excluded",
                  "algorithm": f"random-scan single-spin {dynamics}",
                  "zero_temperature_rule": "sigma = sign(h), random +-1 where h == 0",
                  "generator": "xoshiro256** per chain, numpy.random.SeedSequence(seed).spawn"},
    )

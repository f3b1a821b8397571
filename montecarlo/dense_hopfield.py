"""Monte Carlo of the dense (P-spin) Hopfield network: the independent check of its replica theory.

Convention (``shared/specs/dense-hopfield.md`` §1): spins σ_i = ±1, K patterns ξ^μ ∈ {±1}^N with
i.i.d. unbiased entries, Mattis overlaps S_μ = Σ_i ξ^μ_i σ_i (integers) and

    H(σ) = −1/(2 N^{P−1}) Σ_μ W_P(S_μ),   W_P(S) = Σ_{i_1..i_P all distinct} x_{i_1} ··· x_{i_P},

x_i = ξ^μ_i σ_i, i.e. the P-th power of the overlap with the repeated-index (self-interaction) terms
removed. With n± = (N ± S)/2 entries equal to ±1, W_P(S) = P! Σ_k C(n₊, k) C(n₋, P−k) (−1)^{P−k};
it is a polynomial in S with integer coefficients (P = 2: S² − N, P = 3: S³ − 3NS + 2S), tabulated
once by :func:`energy_table`. T = 1/β is the temperature of exp(−βH); other papers use β' = βP/2.
K = α N^{P−1}; pattern μ = 0 is the condensed (retrieved) one.

Sampler: random-scan single-spin Metropolis (never synchronous updates, which sample another
measure). The overlaps are kept as exact integers and changed by ∓2ξ^μ_i on each accepted flip of
σ_i, so a proposal costs O(K) and nothing drifts. Flipping σ_i changes S_μ by −2x_μ with
x_μ = ξ^μ_i σ_i, and W_P(S − 2x) − W_P(S) = A(S) − x B(S) with

    A(S) = [W_P(S+2) + W_P(S−2)]/2 − W_P(S),   B(S) = [W_P(S+2) − W_P(S−2)]/2,

so ΔH = [σ_i Σ_μ ξ^μ_i B(S_μ) − Σ_μ A(S_μ)] / (2 N^{P−1}): one contiguous dot product of the
pattern row ξ_i with the vector B(S_μ) per proposal (:func:`metropolis`). For P = 2, A = 4 and
B = 4S, so ΔH = (2/N)(σ_i h_i − K) with the integer field h_i = Σ_μ ξ^μ_i S_μ
(:func:`metropolis_p2`).
Every W, A, B is an integer; sums of them are exact in float64 below 2^53, which is checked.

Acceptance: a move with ΔH ≤ 0 is accepted without drawing a number; otherwise it is accepted if
u < exp(−βΔH), u uniform on the multiples of 2^-53 in [0, 1). At T = 0 (β = ∞) this leaves exactly
the moves with ΔH ≤ 0 (the T → 0 limit of Metropolis: zero-energy moves are accepted). Moves with
βΔH > 53 ln 2 are rejected without a draw: exp(−βΔH) < 2^-53 and u < exp(−βΔH) only for u = 0.
Before calling ``exp`` the draw is compared with rigorous Taylor bounds, 1 − y + y²/2 − y³/6 ≤
e^{−y} ≤ 1/(1 + y + y²/2 + y³/6 + y⁴/24) (y = βΔH > 0), with a safety margin far above rounding, so
the decision is the same as ``u < exp(-y)`` and ``exp`` is evaluated only for u between the bounds.

Chains: ``simulate`` runs independent chains in parallel (``numba.prange``), each with its own
patterns and its own xoshiro256** stream (:mod:`montecarlo.rng`) seeded from
``numpy.random.SeedSequence(seed).spawn(chains)``, and two replicas a, b of the spins sharing the
patterns, so that the replica overlap q_ab = (1/N) Σ_i σ^a_i σ^b_i can be measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from montecarlo.rng import next_index, next_uniform, seed_state
from theorylab.parameters import Parameter, ParameterError
from theorylab.results import Estimate, SimulationResult, mean_and_stderr

MODEL = "dense-hopfield"
ALGORITHM = "random-scan Metropolis"
OBSERVABLES = ("m", "abs_m", "q", "abs_q", "energy", "acceptance")

MAX_PATTERN_BYTES = 2 * 10**9
"""Cap on chains × N × K (bytes of int8 patterns); it also keeps N·K below 2^31."""

_EXACT_FLOAT = 2.0**53
_NEVER_ACCEPTED = 53.0 * math.log(2.0)
_BOUND_MARGIN = 2.0**-40
_INT16_MAX = np.iinfo(np.int16).max
_CACHE_LINE = 64


# --------------------------------------------------------------------------------------------
# The pattern energy W_P(S) and the flip tables A(S), B(S)
# --------------------------------------------------------------------------------------------


def _multiply(p: list[Fraction], q: list[Fraction]) -> list[Fraction]:
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return out


def _binomial_in_s(N: int, sign: int, k: int) -> list[Fraction]:
    """C(n, k) with n = (N + sign·S)/2, as polynomial coefficients in S (lowest order first)."""
    poly = [Fraction(1)]
    for j in range(k):
        # (n − j)/(j + 1) = ((N − 2j) + sign·S) / (2(j + 1))
        poly = _multiply(poly, [Fraction(N - 2 * j, 2 * (j + 1)), Fraction(sign, 2 * (j + 1))])
    return poly


def pattern_energy_coefficients(P: int, N: int) -> tuple[int, ...]:
    """Integer coefficients c_0..c_P of W_P(S) = Σ_k c_k S^k (spec §1, exact arithmetic)."""
    total = [Fraction(0)] * (P + 1)
    for k in range(P + 1):
        term = _multiply(_binomial_in_s(N, +1, k), _binomial_in_s(N, -1, P - k))
        for power, c in enumerate(term):
            total[power] += (-1) ** (P - k) * math.factorial(P) * c
    if any(c.denominator != 1 for c in total):
        raise ArithmeticError(f"W_{P} has non-integer coefficients for N={N}: {total}")
    return tuple(int(c) for c in total)


def _evaluate(coefficients: tuple[int, ...], S: np.ndarray) -> np.ndarray:
    """Σ_k c_k S^k exactly: int64 Horner if no intermediate can overflow, else Python ints."""
    largest = int(np.abs(S).max())
    bound = sum(abs(c) * largest**k for k, c in enumerate(coefficients))
    values = S.astype(np.int64 if bound < 2**62 else object)
    out = np.zeros_like(values)
    for c in reversed(coefficients):
        out = out * values + c
    return out


def _on_grid(coefficients: tuple[int, ...], N: int, shift: int = 0) -> np.ndarray:
    """The polynomial at S + shift for every S in {−N..N}; NaN where S ≢ N (mod 2) (no state)."""
    table = np.full(2 * N + 1, np.nan)
    S = np.arange(-N, N + 1, 2)
    values = _evaluate(coefficients, S + shift)
    if max(abs(int(v)) for v in (values.min(), values.max())) >= _EXACT_FLOAT:
        raise ParameterError(
            f"N={N}: |W_P(S)| reaches 2^53, beyond exact float64 integers; use smaller N"
        )
    table[S + N] = values.astype(np.float64)
    return table


def energy_table(P: int, N: int) -> np.ndarray:
    """W_P(S) for S = −N..N, indexed by S + N (float64, exact integers; NaN at impossible S).

    S takes the values −N, −N+2, ..., N; entries of the other parity are NaN so that an index
    error cannot pass silently. Examples: P = 2: S² − N; P = 4: S⁴ − 6NS² + 8S² + 3N² − 6N.
    """
    return _on_grid(pattern_energy_coefficients(P, N), N)


def flip_tables(P: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """A(S) and B(S) with W_P(S − 2x) − W_P(S) = A(S) − x B(S) for x = ±1, indexed by S + N.

    W_P(S ± 2) outside ±N uses the polynomial (it cancels in the one combination that occurs there).
    """
    coefficients = pattern_energy_coefficients(P, N)
    up, here, down = (_on_grid(coefficients, N, shift) for shift in (2, 0, -2))
    return (up + down) / 2 - here, (up - down) / 2


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------


@intrinsic
def _add_i32(typingctx, a, b):
    """32-bit integer addition. Numba widens integer arithmetic to 64 bits; keeping the field sum
    in 32 bits lets LLVM vectorise it with packed 16-bit multiply-adds (exact: |h| ≤ N·K < 2^31)."""
    signature = types.int32(types.int32, types.int32)

    def codegen(context, builder, sig, args):
        return builder.add(args[0], args[1])

    return signature, codegen


@intrinsic
def _mul_i32(typingctx, a, b):
    """32-bit integer multiplication (see :func:`_add_i32`)."""
    signature = types.int32(types.int32, types.int32)

    def codegen(context, builder, sig, args):
        return builder.mul(args[0], args[1])

    return signature, codegen



@intrinsic
def _prefetch(typingctx, matrix, row, column):
    """Ask the CPU to bring ``matrix[row, column]`` into cache (``llvm.prefetch``: read, keep)."""
    signature = types.void(matrix, row, column)

    def codegen(context, builder, sig, args):
        matrix_type = sig.args[0]
        view = context.make_array(matrix_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, matrix_type, view,
                                           [args[1], args[2]], wraparound=False)
        int32 = ir.IntType(32)
        function = builder.module.declare_intrinsic(
            "llvm.prefetch", [pointer.type],
            ir.FunctionType(ir.VoidType(), [pointer.type, int32, int32, int32]))
        builder.call(function, [pointer, int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return signature, codegen


@njit(inline="always")
def _draw_site(patterns, prefetch_rows, s0, s1, s2, s3):
    """A uniform site i in [0, N) and, if ``prefetch_rows`` (rows of ≥ 64 bytes), a prefetch of
    its pattern row, one request per cache line. Both kernels draw every site through this, three
    proposals ahead of its use, so that they use the random stream identically."""
    i, s0, s1, s2, s3 = next_index(patterns.shape[0], s0, s1, s2, s3)
    if prefetch_rows:
        for j in range(0, patterns.shape[1], _CACHE_LINE):
            _prefetch(patterns, i, j)
    return i, s0, s1, s2, s3


@njit(inline="always")
def _accept_uphill(y, s0, s1, s2, s3):
    """Metropolis decision for a move that raises βH by y > 0: accept with probability e^{−y}."""
    if y >= _NEVER_ACCEPTED:
        return False, s0, s1, s2, s3
    u, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
    # e^y ≥ 1 + y + y²/2 + y³/6 + y⁴/24 for y ≥ 0: an upper bound on e^{−y}
    taylor_exp_y = 1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6.0 + y * (1.0 / 24.0))))
    if u * taylor_exp_y >= 1.0 + _BOUND_MARGIN:
        return False, s0, s1, s2, s3
    # the alternating Taylor series of e^{−y} cut after a negative term: a lower bound
    if u < (1.0 - y * (1.0 - y * (0.5 - y * (1.0 / 6.0)))) * (1.0 - _BOUND_MARGIN):
        return True, s0, s1, s2, s3
    return u < math.exp(-y), s0, s1, s2, s3


@njit(cache=True)
def metropolis_p2(patterns, spins, overlaps, rng_state, n_flips, beta):
    """``n_flips`` random-scan Metropolis proposals of the P = 2 model; returns the accepted count.

    Parameters
    ----------
    patterns : (N, K) int8, C-contiguous
        ξ^μ_i; row i is read per proposal.
    spins : (N,) int8
        σ, updated in place.
    overlaps : (K,) int16 or int32
        S_μ = Σ_i ξ^μ_i σ_i, exact, updated in place on each accepted flip.
    rng_state : (4,) uint64
        The chain's xoshiro256** state, advanced in place.
    n_flips : int
        Number of proposals (N of them make one sweep).
    beta : float
        1/T, ``inf`` for T = 0.
    """
    N, K = patterns.shape
    beta_per_unit = 2.0 * beta / N  # βΔH = (2β/N) (σ_i h_i − K)
    prefetch_rows = K >= _CACHE_LINE
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    accepted = 0
    # the sites are drawn three proposals ahead, so that their pattern rows (K bytes, for large
    # N·K in L3 or memory) are on their way while the proposals before them are evaluated
    i1, s0, s1, s2, s3 = _draw_site(patterns, prefetch_rows, s0, s1, s2, s3)
    i2, s0, s1, s2, s3 = _draw_site(patterns, prefetch_rows, s0, s1, s2, s3)
    for _ in range(n_flips):
        i3, s0, s1, s2, s3 = _draw_site(patterns, prefetch_rows, s0, s1, s2, s3)
        i, i1, i2 = i1, i2, i3
        # patterns[i, mu], not a row view: a view would cost reference counting per proposal
        field = np.int32(0)
        for mu in range(K):
            field = _add_i32(field, _mul_i32(np.int32(patterns[i, mu]), np.int32(overlaps[mu])))
        excess = spins[i] * np.int64(field) - K
        if excess <= 0:
            accept = True
        else:
            accept, s0, s1, s2, s3 = _accept_uphill(beta_per_unit * excess, s0, s1, s2, s3)
        if accept:
            step = np.int32(-2 * spins[i])
            for mu in range(K):
                overlaps[mu] = _add_i32(np.int32(overlaps[mu]),
                                        _mul_i32(step, np.int32(patterns[i, mu])))
            spins[i] = -spins[i]
            accepted += 1
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return accepted


@njit(fastmath={"reassoc", "contract"})
def _row_dot(patterns, i, values):
    """Σ_μ ξ^μ_i v_μ; reassociation is exact here because every partial sum is an integer < 2^53."""
    total = 0.0
    for mu in range(values.shape[0]):
        total += patterns[i, mu] * values[mu]
    return total


@njit(cache=True)
def metropolis(patterns, spins, overlaps, rng_state, n_flips, beta, a_table, b_table, b_values):
    """``n_flips`` random-scan Metropolis proposals for any P ≥ 2; returns the accepted count.

    As :func:`metropolis_p2`, plus the flip tables A, B of :func:`flip_tables` and a work vector
    ``b_values`` (K float64) that holds B(S_μ) during the call, so that a proposal is one dot
    product ξ_i · B(S) and an accepted flip O(K) table look-ups. ``beta`` here multiplies
    2N^{P−1}ΔH = σ_i ξ_i · B(S) − Σ_μ A(S_μ): pass β / (2 N^{P−1}).
    """
    N, K = patterns.shape
    a_total = 0.0
    for mu in range(K):
        a_total += a_table[overlaps[mu] + N]
        b_values[mu] = b_table[overlaps[mu] + N]
    prefetch_rows = K >= _CACHE_LINE
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    accepted = 0
    # sites drawn three ahead as in metropolis_p2 (the same use of the random stream)
    i1, s0, s1, s2, s3 = _draw_site(patterns, prefetch_rows, s0, s1, s2, s3)
    i2, s0, s1, s2, s3 = _draw_site(patterns, prefetch_rows, s0, s1, s2, s3)
    for _ in range(n_flips):
        i3, s0, s1, s2, s3 = _draw_site(patterns, prefetch_rows, s0, s1, s2, s3)
        i, i1, i2 = i1, i2, i3
        excess = spins[i] * _row_dot(patterns, i, b_values) - a_total
        if excess <= 0.0:
            accept = True
        else:
            accept, s0, s1, s2, s3 = _accept_uphill(beta * excess, s0, s1, s2, s3)
        if accept:
            sigma = spins[i]
            for mu in range(K):
                old = overlaps[mu] + N
                new = old - 2 * sigma * patterns[i, mu]
                overlaps[mu] = new - N
                a_total += a_table[new] - a_table[old]
                b_values[mu] = b_table[new]
            spins[i] = -sigma
            accepted += 1
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return accepted


@njit(cache=True)
def recompute_overlaps(patterns, spins):
    """S_μ = Σ_i ξ^μ_i σ_i from scratch (int64), to check the overlaps kept by the kernels."""
    N, K = patterns.shape
    out = np.zeros(K, dtype=np.int64)
    for i in range(N):
        for mu in range(K):
            out[mu] += patterns[i, mu] * spins[i]
    return out


@njit(cache=True)
def energy_per_spin(overlaps, w_table, P):
    """H/N = −Σ_μ W_P(S_μ) / (2 N^P), exact up to the final division."""
    N = (w_table.shape[0] - 1) // 2
    total = 0.0
    for mu in range(overlaps.shape[0]):
        total += w_table[overlaps[mu] + N]
    return -total / (2.0 * float(N) ** P)


@njit(cache=True, parallel=True)
def run_chains(patterns, spins, overlaps, rng_states, P, beta, sweeps, burn_in, measure_every,
               w_table, a_table, b_table, b_values):
    """Run every chain (in parallel) and return its time averages, shape (chains, 6).

    Columns follow ``OBSERVABLES``: m, |m| (overlap with pattern 0, averaged over the two
    replicas), q_ab, |q_ab|, energy per spin (replica average), acceptance rate. Each sweep is N
    proposals on replica a then N on replica b; sweeps ``< burn_in`` are discarded (``burn_in <
    sweeps``) and every ``measure_every``-th sweep after them is measured. ``b_values`` is a
    (chains, K) work array used for P ≥ 3 (any shape for P = 2). The spins, overlaps and
    generator states are updated in place.
    """
    chains, N = patterns.shape[0], patterns.shape[1]
    out = np.zeros((chains, 6))
    beta_general = beta / (2.0 * float(N) ** (P - 1))
    for c in prange(chains):
        # private copies: neighbouring chains' overlaps and generator states share cache lines
        # in the stacked arrays, and a write by one thread would evict them from the other core
        chain_spins = spins[c].copy()
        chain_overlaps = overlaps[c].copy()
        chain_rng = rng_states[c].copy()
        chain_b_values = b_values[c].copy()
        sums = np.zeros(5)
        measured = 0
        accepted = 0
        for sweep in range(sweeps):
            flips = 0
            for r in range(2):
                if P == 2:
                    flips += metropolis_p2(patterns[c], chain_spins[r], chain_overlaps[r],
                                           chain_rng, N, beta)
                else:
                    flips += metropolis(patterns[c], chain_spins[r], chain_overlaps[r], chain_rng,
                                        N, beta_general, a_table, b_table, chain_b_values)
            if sweep < burn_in:
                continue
            accepted += flips
            if (sweep - burn_in) % measure_every != 0:
                continue
            m_a = chain_overlaps[0, 0] / N
            m_b = chain_overlaps[1, 0] / N
            q = 0
            for i in range(N):
                q += chain_spins[0, i] * chain_spins[1, i]
            q_ab = q / N
            sums[0] += 0.5 * (m_a + m_b)
            sums[1] += 0.5 * (abs(m_a) + abs(m_b))
            sums[2] += q_ab
            sums[3] += abs(q_ab)
            sums[4] += 0.5 * (energy_per_spin(chain_overlaps[0], w_table, P)
                              + energy_per_spin(chain_overlaps[1], w_table, P))
            measured += 1
        out[c, :5] = sums / measured
        out[c, 5] = accepted / (2.0 * N * (sweeps - burn_in))
        spins[c] = chain_spins
        overlaps[c] = chain_overlaps
        rng_states[c] = chain_rng
    return out


# --------------------------------------------------------------------------------------------
# Set-up and the public entry point
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainState:
    """The arrays of a set of independent chains (mutated in place by the kernels).

    Attributes
    ----------
    patterns : (chains, N, K) int8
        Each chain's own patterns; column 0 is the condensed pattern.
    spins : (chains, 2, N) int8
        Two replicas per chain.
    overlaps : (chains, 2, K) int16 (N < 2^15) or int32
        Exact S_μ of each replica.
    rng_states : (chains, 4) uint64
        xoshiro256** state of each chain.
    """

    patterns: np.ndarray
    spins: np.ndarray
    overlaps: np.ndarray
    rng_states: np.ndarray


def prepare_chains(N: int, K: int, chains: int, start: str, seed: int) -> ChainState:
    """Draw each chain's patterns and initial spins and seed its generator.

    ``numpy.random.SeedSequence(seed).spawn(chains)`` gives one child per chain; each child spawns
    two: one for a NumPy generator (patterns, random starts), one for the kernel's xoshiro256**.
    ``start="pattern"`` puts both replicas on ξ^0, ``start="random"`` draws them independently.
    """
    overlap_dtype = np.int16 if N <= _INT16_MAX else np.int32
    patterns = np.empty((chains, N, K), dtype=np.int8)
    spins = np.empty((chains, 2, N), dtype=np.int8)
    overlaps = np.empty((chains, 2, K), dtype=overlap_dtype)
    rng_states = np.empty((chains, 4), dtype=np.uint64)
    for c, child in enumerate(np.random.SeedSequence(seed).spawn(chains)):
        numpy_seed, kernel_seed = child.spawn(2)
        rng = np.random.default_rng(numpy_seed)
        patterns[c] = rng.integers(0, 2, size=(N, K), dtype=np.int8)
        patterns[c] *= 2
        patterns[c] -= 1
        for r in range(2):
            if start == "pattern":
                spins[c, r] = patterns[c, :, 0]
            else:
                spins[c, r] = 2 * rng.integers(0, 2, size=N, dtype=np.int8) - 1
            overlaps[c, r] = recompute_overlaps(patterns[c], spins[c, r])
        rng_states[c] = seed_state(kernel_seed)
    return ChainState(patterns, spins, overlaps, rng_states)


def number_of_patterns(P: int, N: int, alpha: float) -> int:
    """K = α N^{P−1} rounded to the nearest integer, at least 1 (the condensed pattern)."""
    return max(1, round(alpha * N ** (P - 1)))


def _check_exact(P: int, N: int, K: int, tables: tuple[np.ndarray, ...]) -> None:
    largest = max(float(np.nanmax(np.abs(t))) for t in tables)
    if K * largest >= _EXACT_FLOAT:
        raise ParameterError(
            f"K·max|W_P| = {K * largest:.3g} reaches 2^53 for P={P}, N={N}: energies would not be "
            "exact in float64; use smaller N or alpha"
        )


def simulate(P: int, N: int, alpha: float, T: float, *, chains: int = 8, sweeps: int = 200,
             start: str = "pattern", seed: int = 0, measure_every: int = 1) -> SimulationResult:
    """Sample the dense Hopfield network with independent Metropolis chains.

    Parameters
    ----------
    P : int
        Interaction order, ≥ 2 (P = 2 is the Hopfield model without self-couplings).
    N : int
        Number of spins, ≥ P.
    alpha : float
        Load, ≥ 0; K = round(α N^{P−1}) patterns (at least 1), reported with K / N^{P−1}.
    T : float
        Temperature, ≥ 0 (T = 0: only moves with ΔH ≤ 0 are accepted).
    chains : int
        Independent chains (own patterns, own random stream), run in parallel.
    sweeps : int
        Sweeps of N proposals per replica; the first ``sweeps // 2`` are discarded.
    start : {"pattern", "random"}
        Both replicas on ξ^0 (retrieval), or independent random spins.
    seed : int
        Root of the ``numpy.random.SeedSequence``; the same seed gives the same result.
    measure_every : int
        Measure every this many sweeps after the burn-in.

    Returns
    -------
    SimulationResult
        Observables ``m``, ``abs_m`` (overlap with the condensed pattern, replica-averaged),
        ``q``, ``abs_q`` (replica overlap q_ab), ``energy`` (H/N) and ``acceptance``: the time
        average of each chain, then mean ± standard error over chains (std(ddof=1)/√chains; NaN
        for one chain).

    Raises
    ------
    ParameterError
        A value outside its range, or a size beyond the memory cap or exact arithmetic.
    """
    P = Parameter("P", "interaction order", kind="int", low=2).check(P)
    N = Parameter("N", "number of spins", kind="int", low=P).check(N)
    alpha = Parameter("alpha", "load K / N^(P-1)", low=0.0).check(alpha)
    T = Parameter("T", "temperature", low=0.0).check(T)
    chains = Parameter("chains", "independent chains", kind="int", low=1).check(chains)
    sweeps = Parameter("sweeps", "sweeps per replica", kind="int", low=1).check(sweeps)
    seed = Parameter("seed", "random seed", kind="int", low=0).check(seed)
    measure_every = Parameter("measure_every", "sweeps between measurements", kind="int",
                              low=1).check(measure_every)
    if start not in ("pattern", "random"):
        raise ParameterError(f"start must be 'pattern' or 'random' (got {start!r})")
    K = number_of_patterns(P, N, alpha)
    if chains * N * K > MAX_PATTERN_BYTES:
        raise ParameterError(
            f"chains·N·K = {chains * N * K:.3g} bytes of patterns exceeds the cap "
            f"{MAX_PATTERN_BYTES:.0e}; use fewer chains, smaller N or alpha"
        )
    w_table = energy_table(P, N)
    a_table, b_table = flip_tables(P, N)
    _check_exact(P, N, K, (w_table, a_table, b_table))

    state = prepare_chains(N, K, chains, start, seed)
    burn_in = sweeps // 2
    b_values = np.empty((chains, K if P > 2 else 0))
    beta = math.inf if T == 0 else 1.0 / T
    per_chain = run_chains(state.patterns, state.spins, state.overlaps, state.rng_states, P,
                           beta, sweeps, burn_in, measure_every, w_table, a_table, b_table,
                           b_values)
    means, stderrs = mean_and_stderr(per_chain)
    return SimulationResult(
        model=MODEL,
        parameters={"P": P, "N": N, "alpha": alpha, "T": T, "K": K,
                    "alpha_effective": K / N ** (P - 1), "start": start},
        observables={name: Estimate(float(mu), float(se))
                     for name, mu, se in zip(OBSERVABLES, means, stderrs, strict=True)},
        seeds=chains,
        sweeps=sweeps,
        settings={"burn_in": burn_in, "seed": seed, "algorithm": ALGORITHM,
                  "measure_every": measure_every,
                  "measurements": len(range(burn_in, sweeps, measure_every)),
                  "replicas": 2, "zero_temperature_rule": "accept dH <= 0",
                  "generator": "xoshiro256** per chain, numpy.random.SeedSequence(seed).spawn"},
    )

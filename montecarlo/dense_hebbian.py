"""Monte Carlo of dense Hebbian networks trained on examples: the exact samplers behind spec §7.

Convention (``shared/specs/dense-hopfield.md`` §1, §7): spins σ_i = ±1, K = round(α N^{P−1})
archetypes ξ^μ ∈ {±1}^N (i.i.d. unbiased; μ = 0 is the condensed one) and M examples of each,
η^{μ,a}_i = χ^{μ,a}_i ξ^μ_i with P(χ = +1) = (1 + r)/2 (drawn by
:func:`montecarlo.multitasking.draw_examples`). With the example sums k^μ_i = Σ_a χ^{μ,a}_i, the
example mean is χ̂^μ_i = k^μ_i / (rM), and ρ = (1 − r²)/(M r²). T = 1/β is the temperature of
exp(−βH); other papers use β' = βP/2 or other normalisations (spec §7.2): convert, do not mix.

* Supervised: H_sup = −(N/2) Σ_μ :n_μ^P:, n_μ = (1/N) Σ_i ξ^μ_i χ̂^μ_i σ_i, repeated indices
  removed. With the integers y^μ_i = ξ^μ_i k^μ_i σ_i = c^μ_i σ_i (c^μ_i = Σ_a η^{μ,a}_i, stored as
  int8, so M ≤ 127) and their power sums p_j(μ) = Σ_i (y^μ_i)^j,

      H_sup = −P! / (2 N^{P−1} (rM)^P) Σ_μ e_P(y^μ),

  e_P the elementary symmetric polynomial (the sum over distinct index tuples is P! e_P), obtained
  from the power sums by Newton's identities e_k = (1/k) Σ_{j=1..k} (−1)^{j−1} e_{k−j} p_j. Every
  p_j and e_k is an integer, kept exactly in int64: the even p_j are constants of the data set,
  the odd ones change by −2 (y^μ_i)^j when σ_i flips. Flipping σ_i changes e_P by
  −2 y Σ_{j=0}^{P−1} (−y)^j e_{P−1−j} (y = y^μ_i), so

      β ΔH = β P! / (N^{P−1} (rM)^P) · D,
      D = (−1)^{P−1} σ_i^P Σ_μ (c^μ_i)^P + Σ_μ c^μ_i Σ_{j=0}^{P−2} V^σ_j(μ) (c^μ_i)^j,

  with V^σ_j(μ) = (−1)^j σ^{j+1} e_{P−1−j}(μ) held as float64 vectors for both signs of σ: a
  proposal is one pass over the int8 row c_i with P − 1 multiply-adds per pattern (the first sum
  is a per-site constant), an accepted flip O(K P) integer work (closed forms for e_{P−1} at
  P = 3, 4, Newton's identities beyond). D is an integer and its partial sums stay below 2^53
  (checked), so the float64 sum is exact. P = 3 integer path (:func:`integer_path`, whenever
  N·M < 2^15 and the 32-bit sums cannot overflow): D = σ_i(Σ_μ c e_2 + Σ_μ c³) − Σ_μ c² p_1 with
  int16 copies of p_1 and of e_2 = 2^15·hi + lo, i.e. three int8 × int16 dot products in 32-bit
  integers (packed multiply-adds); both paths give the same D, hence the same chain. P = 4
  integer path (also :func:`integer_path`: c³, e_1 and the high limbs fit int16 and the 32-bit
  sums cannot overflow, e.g. N = 60, M = 10, K ≤ 3500): with e_3 = 2^15 hi_3 + lo_3 and
  e_2 = 2^8 hi_2 + lo_2 in int16,
  D = σ(Σ_μ c lo_3 + 2^15 Σ_μ c hi_3 + Σ_μ c³ e_1) − (Σ_μ c² lo_2 + 2^8 Σ_μ c² hi_2) − Σ_μ c⁴,
  five int8-derived × int16 dot products in 32-bit integers, combined in int64, again the same D
  as the general path. On AVX-512BW hosts (:data:`_WIDE`) the five run in one pass over the row
  with explicit 512-bit 16-bit multiply-adds (:func:`_wide_dot4`: LLVM's own vectoriser keeps
  such loops at 256 bits and manages only one 16-bit multiply-add reduction per loop), else as
  five loops. An accepted flip gets e_3 from its closed form by multiplying with 3^{−1} mod 2^64
  (no integer division). Measured (benchmarks ``hebbian``, N = 60, K = 2160, M = 10, T = 0.5,
  2.7 % accepted): 4.5–4.6 M flips/s, 0.87–0.93 of the dense Hopfield rate (float64 path
  1.6–1.7 M/s, 0.32–0.40; five 256-bit loops 2.5 M/s, 0.50–0.53); at T = 0 5.3 M/s. What is left
  is the one pass of 5 × 2 int16 loads per 32 patterns (the dense kernel: 4 float64 multiply-adds
  per 32), the row fetch from L2, and accepted flips (≈ 10 % of the time: power sums, e_k,
  repacking, ≈ 0.6 ns per pattern).
* Unsupervised: H_unsup = −(N/2)(1/M) Σ_{μ,a} :(m_{μa}/r)^P: = −1/(2 M r^P N^{P−1}) Σ_{μ,a}
  W_P(S_{μa}), S_{μa} = Σ_i η^{μ,a}_i σ_i: the dense Hopfield kernel
  (:func:`montecarlo.dense_hopfield.metropolis`, integer overlaps, tables W_P, A, B) run on the K·M
  examples as patterns with β rescaled by 1/(M r^P). Example μ, a is column μM + a.

Sampler: random-scan single-spin Metropolis with the acceptance rule of
:mod:`montecarlo.dense_hopfield` (ΔH ≤ 0 accepted without a draw, Taylor bounds before ``exp``,
T = 0 keeps the moves with ΔH ≤ 0). Chains run in parallel (``numba.prange``), each with its own
data set (archetypes and examples from its own NumPy generator) and its own xoshiro256** stream,
both from ``numpy.random.SeedSequence(seed).spawn(chains)``; two replicas a, b per chain share the
data set, for the replica overlap q_ab.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import config, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from montecarlo import dense_hopfield as dh
from montecarlo.dense_hopfield import _accept_uphill, _draw_site
from montecarlo.multitasking import draw_examples
from montecarlo.rng import seed_state
from theorylab.parameters import Parameter, ParameterError
from theorylab.results import Estimate, SimulationResult, mean_and_stderr

MODEL = "dense-hebbian"
ALGORITHM = "random-scan Metropolis"
PROTOCOLS = ("supervised", "unsupervised")
STARTS = ("archetype", "random")
OBSERVABLES = {
    "supervised": ("m", "abs_m", "n", "q", "abs_q", "energy", "acceptance"),
    "unsupervised": ("m", "abs_m", "n", "example_max", "q", "abs_q", "energy", "acceptance"),
}
MAX_M = 127
"""Largest M: the example sums c^μ_i ∈ [−M, M] are stored as int8."""

_EXACT_FLOAT = 2.0**53
_EXACT_INT = 2.0**62


# --------------------------------------------------------------------------------------------
# Supervised: power sums, elementary symmetric polynomials, the kernel
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def power_sums(rows, spins, P):
    """p_j(μ) = Σ_i (c^μ_i σ_i)^j for j = 0..P from scratch, (P + 1, K) int64 (row 0 = N)."""
    N, K = rows.shape
    out = np.zeros((P + 1, K), dtype=np.int64)
    for i in range(N):
        for mu in range(K):
            y = np.int64(rows[i, mu]) * spins[i]
            power = np.int64(1)
            for j in range(P + 1):
                out[j, mu] += power
                power *= y
    return out


@njit(cache=True)
def elementary(sums, mu, P, e):
    """e_0..e_P of pattern μ from its power sums (Newton's identities, exact int64), into ``e``."""
    e[0] = 1
    for k in range(1, P + 1):
        total = np.int64(0)
        for j in range(1, k + 1):
            term = e[k - j] * sums[j, mu]
            total += term if j % 2 == 1 else -term
        e[k] = total // k


@njit(cache=True)
def _refresh(sums, coefficients, mu, P, e):
    """V^σ_j(μ) for both signs of σ: coefficients[0] for σ = +1, coefficients[1] for σ = −1."""
    elementary(sums, mu, P - 1, e)
    for j in range(P - 1):
        value = float(e[P - 1 - j])
        coefficients[0, j, mu] = value if j % 2 == 0 else -value
        coefficients[1, j, mu] = -value


@njit(fastmath={"reassoc", "contract"})
def _horner_dot(rows, i, v, side, P):
    """Σ_μ c_μ Σ_{j<P−1} v[side, j, μ] c_μ^j for the row c = rows[i]; exact (integer partial
    sums below 2^53, so reassociation does not round). Elements are indexed directly, not through
    row views, which would cost reference counting per proposal."""
    K = rows.shape[1]
    total = 0.0
    if P == 3:
        for mu in range(K):
            c = float(rows[i, mu])
            total += c * (v[side, 0, mu] + c * v[side, 1, mu])
    elif P == 4:
        for mu in range(K):
            c = float(rows[i, mu])
            total += c * (v[side, 0, mu] + c * (v[side, 1, mu] + c * v[side, 2, mu]))
    else:
        for mu in range(K):
            c = float(rows[i, mu])
            h = v[side, P - 2, mu]
            for j in range(P - 3, -1, -1):
                h = h * c + v[side, j, mu]
            total += c * h
    return total


@njit(inline="always")
def _odd_sums_after_flip(sums, mu, y):
    """The odd power sums p_1, p_3 of column ``mu`` after the flip of a spin whose term there
    is the integer ``y`` (it becomes −y, so p_k changes by −2y^k): updated in place and
    returned."""
    s1 = sums[1, mu] - 2 * y
    s3 = sums[3, mu] - 2 * y * y * y
    sums[1, mu] = s1
    sums[3, mu] = s3
    return s1, s3


@njit(inline="always")
def _flip(rows, i, sigma, sums, coefficients, packed, P, e_work):
    """Update the odd power sums and V^σ(μ) for the flip of σ_i = ``sigma``: O(K P²).

    P = 3 and 4 use closed forms (e_2 = (p_1² − p_2)/2, e_3 = (p_1³ − 3p_1p_2 + 2p_3)/6, exact:
    the numerators are integers below 2^53, checked, and divisible), other P Newton's identities.
    With the P = 3 or P = 4 integer path (``packed`` non-empty) only its int16 vectors are kept
    (P = 4: e_3 = (numerator / 2) · 3^{−1} mod 2^64, exact since the numerator is divisible by 6,
    and vectorisable, unlike an integer division).
    """
    K = rows.shape[1]
    if P == 3 and packed.shape[1] > 0:
        for mu in range(K):
            s1, _ = _odd_sums_after_flip(sums, mu, np.int64(rows[i, mu]) * sigma)
            _pack(packed, mu, s1, (s1 * s1 - sums[2, mu]) >> 1)
    elif P == 3:
        for mu in range(K):
            s1, _ = _odd_sums_after_flip(sums, mu, np.int64(rows[i, mu]) * sigma)
            e2 = float((s1 * s1 - sums[2, mu]) >> 1)
            e1 = float(s1)
            coefficients[0, 0, mu] = e2
            coefficients[0, 1, mu] = -e1
            coefficients[1, 0, mu] = -e2
            coefficients[1, 1, mu] = -e1
    elif P == 4 and packed.shape[1] > 0:
        for mu in range(K):
            s1, s3 = _odd_sums_after_flip(sums, mu, np.int64(rows[i, mu]) * sigma)
            p2 = sums[2, mu]
            e3 = ((s1 * (s1 * s1 - 3 * p2) + 2 * s3) >> 1) * _INVERSE3
            _pack4(packed, mu, s1, (s1 * s1 - p2) >> 1, e3)
    elif P == 4:
        for mu in range(K):
            s1, s3 = _odd_sums_after_flip(sums, mu, np.int64(rows[i, mu]) * sigma)
            p2 = sums[2, mu]
            e3 = float(s1 * (s1 * s1 - 3 * p2) + 2 * s3) / 6.0
            e2 = float((s1 * s1 - p2) >> 1)
            e1 = float(s1)
            coefficients[0, 0, mu] = e3
            coefficients[0, 1, mu] = -e2
            coefficients[0, 2, mu] = e1
            coefficients[1, 0, mu] = -e3
            coefficients[1, 1, mu] = -e2
            coefficients[1, 2, mu] = -e1
    else:
        for mu in range(K):
            y = np.int64(rows[i, mu]) * sigma
            y2 = y * y
            power = y
            for j in range(1, P + 1, 2):
                sums[j, mu] -= 2 * power
                power *= y2
            _refresh(sums, coefficients, mu, P, e_work)


@njit(inline="always")
def _pack(packed, mu, s1, e2):
    """The int16 vectors of the P = 3 integer path: p_1, and e_2 = 2^15 hi + lo (0 ≤ lo < 2^15)."""
    packed[0, mu] = s1
    packed[1, mu] = e2 & 0x7FFF
    packed[2, mu] = e2 >> 15


_INVERSE3 = -0x5555555555555555
"""3^{−1} mod 2^64 as an int64 (3 · 0xAAAAAAAAAAAAAAAB = 2^65 + 1): n/3 = n · _INVERSE3 in wrapping
int64 arithmetic for every multiple n of 3."""
_SPLIT3 = 15
"""P = 4 integer path: e_3 = 2^15 hi + lo (0 ≤ lo < 2^15)."""
_SPLIT2 = 8
"""P = 4 integer path: e_2 = 2^8 hi + lo (0 ≤ lo < 2^8), so that Σ c² lo fits 32 bits."""


@njit(inline="always")
def _pack4(packed, mu, e1, e2, e3):
    """The int16 vectors of the P = 4 integer path: e_1, e_2 = 2^8 hi + lo, e_3 = 2^15 hi + lo."""
    packed[0, mu] = e1
    packed[1, mu] = e2 & ((1 << _SPLIT2) - 1)
    packed[2, mu] = e2 >> _SPLIT2
    packed[3, mu] = e3 & ((1 << _SPLIT3) - 1)
    packed[4, mu] = e3 >> _SPLIT3


@intrinsic
def _wrap_i16(typingctx, a):
    """The low 16 bits of an int32, sign-extended back to int32: exact when |a| < 2^15 (c³ with
    M ≤ 31, checked by :func:`integer_path`), and it tells LLVM that the value is a 16-bit one,
    so that products with it become packed 16-bit multiply-adds."""
    signature = types.int32(types.int32)

    def codegen(context, builder, sig, args):
        return builder.sext(builder.trunc(args[0], ir.IntType(16)), ir.IntType(32))

    return signature, codegen


def _host_has_avx512bw() -> bool:
    """AVX-512BW on an x86-64 host, with Numba compiling for the host CPU (no NUMBA_CPU_NAME)."""
    try:
        return (config.CPU_NAME is None and llvm.get_process_triple().startswith("x86_64")
                and "+avx512bw" in llvm.get_host_cpu_features().flatten().split(","))
    except RuntimeError:  # features not available: stay portable
        return False


_WIDE = _host_has_avx512bw()
"""Whether Numba compiles for the host and the host has 512-bit 16-bit multiply-adds
(AVX-512BW): then the P = 4 proposal uses :func:`_wide_dot4` (LLVM's own loops stay at 256 bits
and take one such reduction per loop); otherwise five :func:`_int_dot_power` loops."""

_POWERS4 = (3, 2, 2, 1, 1)
"""The power of c that multiplies packed[k] in D for P = 4 (:func:`_pack4`)."""


@intrinsic
def _wide_dot4(typingctx, rows, i, packed, blocks):
    """(Σ_μ c_μ^{π_k} packed[k, μ])_{k < 5} over μ < 32·blocks, π = :data:`_POWERS4`, in 32-bit
    integers: the five dot products of the P = 4 path in one pass, each block of 32 int8 loaded
    and raised to c², c³ (int16, exact) once, one ``llvm.x86.avx512.pmaddw.d.512`` per vector into
    five independent accumulators (LLVM fuses multiply-add and sum into ``vpdpwssd`` where
    AVX-512 VNNI exists). Needs unit stride along rows[i] and the packed rows (checked by the
    caller) and 32·blocks ≤ K: nothing outside the arrays is read. Each int32 lane holds a sum over
    a subset of the terms, so the bounds of :func:`integer_path` cover it."""
    signature = types.UniTuple(types.int32, 5)(rows, types.intp, packed, types.intp)

    def codegen(context, builder, sig, args):
        rows_type, _, packed_type, _ = sig.args
        zero = context.get_constant(types.intp, 0)
        row = cgutils.get_item_pointer(
            context, builder, rows_type, context.make_array(rows_type)(context, builder, args[0]),
            [args[1], zero])
        packed_array = context.make_array(packed_type)(context, builder, args[2])
        i8x32, i16x32, i32x16 = (ir.VectorType(ir.IntType(bits), n)
                                 for bits, n in ((8, 32), (16, 32), (32, 16)))
        row = builder.bitcast(row, i8x32.as_pointer())
        vectors = [builder.bitcast(
            cgutils.get_item_pointer(context, builder, packed_type, packed_array,
                                     [context.get_constant(types.intp, k), zero]),
            i16x32.as_pointer()) for k in range(5)]
        totals = [cgutils.alloca_once_value(builder, ir.Constant(i32x16, None))
                  for _ in range(5)]
        madd = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(i32x16, [i16x32, i16x32]),
            "llvm.x86.avx512.pmaddw.d.512")
        with cgutils.for_range(builder, args[3]) as loop:
            c = builder.sext(builder.load(builder.gep(row, [loop.index]), align=1), i16x32)
            c2 = builder.mul(c, c)
            factors = {1: c, 2: c2, 3: builder.mul(c2, c)}
            for k in range(5):
                v = builder.load(builder.gep(vectors[k], [loop.index]), align=2)
                builder.store(builder.add(builder.load(totals[k]),
                                          builder.call(madd, [factors[_POWERS4[k]], v])),
                              totals[k])
        reduce = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(32), [i32x16]),
            "llvm.vector.reduce.add.v16i32")
        return context.make_tuple(builder, sig.return_type,
                                  [builder.call(reduce, [builder.load(t)]) for t in totals])

    return signature, codegen


@njit(inline="always")
def _int_dot_power(rows, i, packed, k, power):
    """Σ_μ c_μ^power v_μ, v = packed[k] (power 1, 2 or 3; c³ fits int16), in 32-bit integers
    (exact: |sum| < 2^31, checked by :func:`integer_path`). One product per loop, as LLVM turns
    it into packed 16-bit multiply-adds only then (without :data:`_WIDE`)."""
    total = np.int32(0)
    for mu in range(packed.shape[1]):
        c = np.int32(rows[i, mu])
        if power == 2:
            c = dh._mul_i32(c, c)
        elif power == 3:
            c = _wrap_i16(dh._mul_i32(dh._mul_i32(c, c), c))
        total = dh._add_i32(total, dh._mul_i32(c, np.int32(packed[k, mu])))
    return np.int64(total)


@njit(inline="always")
def _int_dot4(rows, i, packed, sigma, site_power):
    """D for P = 4 from the int16 vectors of :func:`_pack4`:

        D = σ (Σ c lo_3 + 2^15 Σ c hi_3 + Σ c³ e_1) − (Σ c² lo_2 + 2^8 Σ c² hi_2) − Σ c⁴,

    five int8-derived × int16 dot products in 32-bit integers (exact: every sum below 2^31, checked
    by :func:`integer_path`), combined in int64: in one pass of 512-bit multiply-adds
    (:func:`_wide_dot4`, K mod 32 remaining terms in a scalar loop) when :data:`_WIDE`, else five
    loops."""
    if _WIDE and rows.strides[1] == 1 and packed.strides[1] == 2:
        K = packed.shape[1]
        blocks = K // 32
        e1, lo2, hi2, lo3, hi3 = _wide_dot4(rows, i, packed, blocks)
        for mu in range(32 * blocks, K):
            c = np.int32(rows[i, mu])
            c2 = dh._mul_i32(c, c)
            e1 = dh._add_i32(e1, dh._mul_i32(dh._mul_i32(c2, c), np.int32(packed[0, mu])))
            lo2 = dh._add_i32(lo2, dh._mul_i32(c2, np.int32(packed[1, mu])))
            hi2 = dh._add_i32(hi2, dh._mul_i32(c2, np.int32(packed[2, mu])))
            lo3 = dh._add_i32(lo3, dh._mul_i32(c, np.int32(packed[3, mu])))
            hi3 = dh._add_i32(hi3, dh._mul_i32(c, np.int32(packed[4, mu])))
        odd = np.int64(lo3) + (np.int64(hi3) << _SPLIT3) + np.int64(e1)
        even = np.int64(lo2) + (np.int64(hi2) << _SPLIT2)
        return float(sigma * odd - even) - site_power[i]
    odd = (_int_dot_power(rows, i, packed, 3, 1)
           + (_int_dot_power(rows, i, packed, 4, 1) << _SPLIT3)
           + _int_dot_power(rows, i, packed, 0, 3))
    even = (_int_dot_power(rows, i, packed, 1, 2)
            + (_int_dot_power(rows, i, packed, 2, 2) << _SPLIT2))
    return float(sigma * odd - even) - site_power[i]


@njit(inline="always")
def _int_dot(rows, i, packed, k, square):
    """Σ_μ c_μ v_μ (or Σ_μ c_μ² v_μ), v = packed[k], in 32-bit integers: packed 16-bit
    multiply-adds as in the P = 2 field of :func:`montecarlo.dense_hopfield.metropolis_p2`; exact
    (|sum| < 2^31, checked by :func:`integer_path`)."""
    total = np.int32(0)
    for mu in range(packed.shape[1]):
        c = np.int32(rows[i, mu])
        if square:
            c = dh._mul_i32(c, c)
        total = dh._add_i32(total, dh._mul_i32(c, np.int32(packed[k, mu])))
    return total


@njit(inline="always")
def _excess(rows, packed, i, sigma, coefficients, site_power, P):
    """D of the module docstring for flipping σ_i = ``sigma`` (coefficients up to date).

    P = 3 integer path (``packed`` (3, K) int16 = p_1, e_2 mod 2^15, e_2 div 2^15, see
    :func:`integer_path`): D = σ (Σ_μ c e_2 + Σ_μ c³) − Σ_μ c² p_1, three int8 × int16 dot products
    in 32-bit integers. P = 4 integer path (``packed`` (5, K) int16, :func:`_pack4`):
    :func:`_int_dot4`.
    """
    if P == 4 and packed.shape[1] > 0:
        return _int_dot4(rows, i, packed, sigma, site_power)
    if P == 3 and packed.shape[1] > 0:
        e2_sum = (32768 * np.int64(_int_dot(rows, i, packed, 2, False))
                  + np.int64(_int_dot(rows, i, packed, 1, False)))
        return (sigma * (float(e2_sum) + site_power[i])
                - float(_int_dot(rows, i, packed, 0, True)))
    top = site_power[i] if P % 2 == 1 else -site_power[i]  # (−1)^{P−1} Σ_μ c^P
    if P % 2 == 1:
        top *= sigma
    return top + _horner_dot(rows, i, coefficients, 0 if sigma > 0 else 1, P)


@njit(cache=True)
def flip_excess(rows, spins, sums, site_power, i, integer):
    """D for flipping σ_i from the power sums, as the kernel computes it: ΔH = D·P!/(N^{P−1}(rM)^P).

    For tests; :func:`metropolis_supervised` evaluates the same expression.
    """
    K = rows.shape[1]
    P = sums.shape[0] - 1
    coefficients = np.empty((2, max(P - 1, 1), K))
    e_work = np.empty(P + 1, dtype=np.int64)
    for mu in range(K):
        _refresh(sums, coefficients, mu, P, e_work)
    packed = _packed(sums, K, P, integer, e_work)
    return _excess(rows, packed, i, spins[i], coefficients, site_power, P)


@njit(cache=True)
def _packed(sums, K, P, integer, e_work):
    """The int16 vectors of the P = 3 (3, K) or P = 4 (5, K) integer path; (·, 0) without it."""
    packed = np.empty((3 if P == 3 else 5, K if integer and (P == 3 or P == 4) else 0),
                      dtype=np.int16)
    for mu in range(packed.shape[1]):
        elementary(sums, mu, P - 1, e_work)
        if P == 3:
            _pack(packed, mu, sums[1, mu], e_work[2])
        else:
            _pack4(packed, mu, sums[1, mu], e_work[2], e_work[3])
    return packed


@njit(cache=True)
def metropolis_supervised(rows, spins, sums, coefficients, site_power, rng_state, n_flips, scale,
                          e_work, integer):
    """``n_flips`` random-scan Metropolis proposals of H_sup; returns the accepted count.

    Parameters
    ----------
    rows : (N, K) int8, C-contiguous
        c^μ_i = Σ_a η^{μ,a}_i = ξ^μ_i k^μ_i; row i is read per proposal.
    spins : (N,) int8
        σ, updated in place.
    sums : (P + 1, K) int64
        Power sums p_j(μ) of y = cσ (:func:`power_sums`), exact; odd rows updated in place.
    coefficients : (2, P − 1, K) float64
        Work array for V^σ_j(μ); filled from ``sums`` on entry.
    site_power : (N,) float64
        Σ_μ (c^μ_i)^P per site.
    rng_state : (4,) uint64
        The chain's xoshiro256** state, advanced in place.
    n_flips : int
        Number of proposals (N make one sweep).
    scale : float
        β P! / (N^{P−1} (rM)^P), so that βΔH = scale · D (module docstring); ``inf`` at T = 0.
    e_work : (P + 1,) int64
        Work vector.
    integer : bool
        Use the P = 3 or P = 4 integer path (only if :func:`integer_path` allows it; ignored for
        other P).
    """
    K = rows.shape[1]
    P = sums.shape[0] - 1
    for mu in range(K):
        _refresh(sums, coefficients, mu, P, e_work)
    packed = _packed(sums, K, P, integer, e_work)
    prefetch_rows = K >= 64
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    accepted = 0
    i1, s0, s1, s2, s3 = _draw_site(rows, prefetch_rows, s0, s1, s2, s3)
    i2, s0, s1, s2, s3 = _draw_site(rows, prefetch_rows, s0, s1, s2, s3)
    for _ in range(n_flips):
        i3, s0, s1, s2, s3 = _draw_site(rows, prefetch_rows, s0, s1, s2, s3)
        i, i1, i2 = i1, i2, i3
        sigma = spins[i]
        excess = _excess(rows, packed, i, sigma, coefficients, site_power, P)
        if excess <= 0.0:
            accept = True
        else:
            accept, s0, s1, s2, s3 = _accept_uphill(scale * excess, s0, s1, s2, s3)
        if accept:
            _flip(rows, i, sigma, sums, coefficients, packed, P, e_work)
            spins[i] = -sigma
            accepted += 1
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return accepted


@njit(cache=True)
def supervised_energy(sums, P, energy_scale, e_work):
    """H_sup = −energy_scale · Σ_μ e_P(μ) with energy_scale = P!/(2 N^{P−1} (rM)^P)."""
    total = 0.0
    for mu in range(sums.shape[1]):
        elementary(sums, mu, P, e_work)
        total += float(e_work[P])
    return -energy_scale * total


@njit(cache=True)
def _archetype_overlap(archetype, spins):
    total = 0
    for i in range(spins.shape[0]):
        total += archetype[i] * spins[i]
    return total


@njit(cache=True)
def _replica_overlap(spins):
    total = 0
    for i in range(spins.shape[1]):
        total += spins[0, i] * spins[1, i]
    return total


@njit(cache=True, parallel=True)
def run_supervised(rows, integer, archetypes0, spins, sums, site_power, rng_states, scale,
                   energy_scale, n_scale, sweeps, burn_in, measure_every):
    """Run every supervised chain (in parallel); time averages, shape (chains, 7).

    Columns follow ``OBSERVABLES["supervised"]``: m, |m| (archetype 0), n = n_0 = p_1(0)·n_scale
    (n_scale = 1/(N r M)), q_ab, |q_ab|, H/N, acceptance; replica averages. Each sweep is N
    proposals on replica a then N on b; sweeps ``< burn_in`` are discarded and every
    ``measure_every``-th after them measured. ``sums`` is (chains, 2, P + 1, K), ``integer``
    selects the P = 3 or P = 4 integer path (:func:`integer_path`); spins, sums and generator
    states are updated in place.
    """
    chains, N, K = rows.shape
    P = sums.shape[2] - 1
    out = np.zeros((chains, 7))
    for c in prange(chains):
        chain_spins = spins[c].copy()
        chain_sums = sums[c].copy()
        chain_rng = rng_states[c].copy()
        coefficients = np.empty((2, max(P - 1, 1), K))
        e_work = np.empty(P + 1, dtype=np.int64)
        totals = np.zeros(6)
        measured = 0
        accepted = 0
        for sweep in range(sweeps):
            flips = 0
            for r in range(2):
                flips += metropolis_supervised(rows[c], chain_spins[r], chain_sums[r],
                                               coefficients, site_power[c], chain_rng, N, scale,
                                               e_work, integer)
            if sweep < burn_in:
                continue
            accepted += flips
            if (sweep - burn_in) % measure_every != 0:
                continue
            for r in range(2):
                m = _archetype_overlap(archetypes0[c], chain_spins[r]) / N
                totals[0] += 0.5 * m
                totals[1] += 0.5 * abs(m)
                totals[2] += 0.5 * chain_sums[r, 1, 0] * n_scale
                totals[5] += 0.5 * supervised_energy(chain_sums[r], P, energy_scale, e_work) / N
            q = _replica_overlap(chain_spins) / N
            totals[3] += q
            totals[4] += abs(q)
            measured += 1
        out[c, :6] = totals / measured
        out[c, 6] = accepted / (2.0 * N * (sweeps - burn_in))
        spins[c] = chain_spins
        sums[c] = chain_sums
        rng_states[c] = chain_rng
    return out


# --------------------------------------------------------------------------------------------
# Unsupervised: the dense Hopfield kernel on the examples
# --------------------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def run_unsupervised(examples, archetypes0, spins, overlaps, rng_states, P, M, beta_scaled,
                     energy_factor, n_scale, sweeps, burn_in, measure_every, w_table, a_table,
                     b_table):
    """Run every unsupervised chain (in parallel); time averages, shape (chains, 8).

    ``examples`` (chains, N, K·M) int8 are the patterns of :func:`montecarlo.dense_hopfield.
    metropolis` (example μ, a in column μM + a), ``overlaps`` (chains, 2, K·M) their exact
    S_{μa}; ``beta_scaled`` = β / (2 N^{P−1} M r^P), ``energy_factor`` = 1/(M r^P) times the
    dense Hopfield H/N, ``n_scale`` = 1/(N r M). Columns follow ``OBSERVABLES["unsupervised"]``:
    m, |m|, n = Σ_a S_{0a}·n_scale, example_max = max_a S_{0a}/N, q_ab, |q_ab|, H/N, acceptance.
    """
    chains, N, KM = examples.shape
    out = np.zeros((chains, 8))
    for c in prange(chains):
        chain_spins = spins[c].copy()
        chain_overlaps = overlaps[c].copy()
        chain_rng = rng_states[c].copy()
        b_values = np.empty(KM)
        totals = np.zeros(7)
        measured = 0
        accepted = 0
        for sweep in range(sweeps):
            flips = 0
            for r in range(2):
                flips += dh.metropolis(examples[c], chain_spins[r], chain_overlaps[r], chain_rng,
                                       N, beta_scaled, a_table, b_table, b_values)
            if sweep < burn_in:
                continue
            accepted += flips
            if (sweep - burn_in) % measure_every != 0:
                continue
            for r in range(2):
                m = _archetype_overlap(archetypes0[c], chain_spins[r]) / N
                total = 0
                largest = -N
                for a in range(M):
                    s = chain_overlaps[r, a]
                    total += s
                    largest = max(largest, s)
                totals[0] += 0.5 * m
                totals[1] += 0.5 * abs(m)
                totals[2] += 0.5 * total * n_scale
                totals[3] += 0.5 * largest / N
                totals[6] += 0.5 * energy_factor * dh.energy_per_spin(chain_overlaps[r], w_table,
                                                                      P)
            q = _replica_overlap(chain_spins) / N
            totals[4] += q
            totals[5] += abs(q)
            measured += 1
        out[c, :7] = totals / measured
        out[c, 7] = accepted / (2.0 * N * (sweeps - burn_in))
        spins[c] = chain_spins
        overlaps[c] = chain_overlaps
        rng_states[c] = chain_rng
    return out


# --------------------------------------------------------------------------------------------
# Set-up and the public entry point
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HebbianChains:
    """The arrays of a set of independent chains (mutated in place by the kernels).

    Attributes
    ----------
    protocol : str
        ``"supervised"`` or ``"unsupervised"``.
    archetypes : (chains, N, K) int8
        ξ^μ_i; column 0 is the condensed archetype.
    rows : (chains, N, K) or (chains, N, K·M) int8, C-contiguous
        Supervised: the example sums c^μ_i = Σ_a η^{μ,a}_i. Unsupervised: the examples η^{μ,a}_i,
        column μM + a.
    spins : (chains, 2, N) int8
        Two replicas per chain.
    state : int64 (chains, 2, P + 1, K) or int16/int32 (chains, 2, K·M)
        Supervised: the power sums p_j(μ) of each replica; unsupervised: the example overlaps.
    rng_states : (chains, 4) uint64
        xoshiro256** state of each chain.
    """

    protocol: str
    archetypes: np.ndarray
    rows: np.ndarray
    spins: np.ndarray
    state: np.ndarray
    rng_states: np.ndarray


def prepare_chains(P: int, N: int, K: int, M: int, r: float, chains: int, protocol: str,
                   start: str, seed: int) -> HebbianChains:
    """Draw each chain's data set and initial spins and seed its generator.

    ``numpy.random.SeedSequence(seed).spawn(chains)`` gives one child per chain; each child spawns
    two: a NumPy generator (archetypes, then examples by
    :func:`montecarlo.multitasking.draw_examples`, then random starts) and the kernel's
    xoshiro256** seed. ``start="archetype"`` puts both replicas on ξ^0.
    """
    width = K if protocol == "supervised" else K * M
    archetypes = np.empty((chains, N, K), dtype=np.int8)
    rows = np.empty((chains, N, width), dtype=np.int8)
    spins = np.empty((chains, 2, N), dtype=np.int8)
    if protocol == "supervised":
        state = np.empty((chains, 2, P + 1, K), dtype=np.int64)
    else:
        state = np.empty((chains, 2, width), dtype=np.int16 if N <= 32767 else np.int32)
    rng_states = np.empty((chains, 4), dtype=np.uint64)
    for c, child in enumerate(np.random.SeedSequence(seed).spawn(chains)):
        numpy_seed, kernel_seed = child.spawn(2)
        rng = np.random.default_rng(numpy_seed)
        archetypes[c] = 2 * rng.integers(0, 2, size=(N, K), dtype=np.int8) - 1
        examples = draw_examples(rng, archetypes[c], r, M)
        if protocol == "supervised":
            rows[c] = examples.sum(axis=2, dtype=np.int16).astype(np.int8)
        else:
            rows[c] = examples.reshape(N, width)
        for rep in range(2):
            if start == "archetype":
                spins[c, rep] = archetypes[c, :, 0]
            else:
                spins[c, rep] = 2 * rng.integers(0, 2, size=N, dtype=np.int8) - 1
            if protocol == "supervised":
                state[c, rep] = power_sums(rows[c], spins[c, rep], P)
            else:
                state[c, rep] = dh.recompute_overlaps(rows[c], spins[c, rep])
        rng_states[c] = seed_state(kernel_seed)
    return HebbianChains(protocol, archetypes, rows, spins, state, rng_states)


def site_powers(rows: np.ndarray, P: int) -> np.ndarray:
    """Σ_μ (c^μ_i)^P per chain and site, (chains, N) float64 (exact integers)."""
    return (rows.astype(np.int64) ** P).sum(axis=-1).astype(np.float64)


def integer_path(P: int, N: int, K: int, M: int) -> bool:
    """Whether the P = 3 or P = 4 integer path is exact (else the float64 Horner path is used).

    P = 3: p_1 fits int16 (N·M < 2^15), e_2 = 2^15 hi + lo with int16 hi (N·M < 2^15 suffices)
    and the 32-bit sums Σ c·lo, Σ c·hi, Σ c²·p_1 stay below 2^31 (K·M·2^15 and K·M³·N).
    P = 4 (bounds |c| ≤ M, |e_k| ≤ C(N, k) M^k =: E_k): c³ and e_1 fit int16 (M³, N·M < 2^15),
    hi_3 = ⌊e_3/2^15⌋ and hi_2 = ⌊e_2/2^8⌋ fit int16, and the five 32-bit sums stay below 2^31:
    Σ c lo_3 ≤ K M (2^15 − 1), Σ c hi_3 ≤ K M (⌊E_3/2^15⌋ + 1), Σ c³ e_1 ≤ K M³ E_1,
    Σ c² lo_2 ≤ K M² (2^8 − 1), Σ c² hi_2 ≤ K M² (⌊E_2/2^8⌋ + 1).
    """
    if P == 3:
        return N * M < 2**15 and K * M * 2**15 < 2**31 and K * M**3 * N < 2**31
    if P != 4:
        return False
    e1, e2, e3 = N * M, math.comb(N, 2) * M**2, math.comb(N, 3) * M**3
    hi2, hi3 = e2 // 2**_SPLIT2 + 1, e3 // 2**_SPLIT3 + 1
    return (M**3 < 2**15 and e1 < 2**15 and hi2 < 2**15 and hi3 < 2**15
            and max(K * M * (2**_SPLIT3 - 1), K * M * hi3, K * M**3 * e1,
                    K * M**2 * (2**_SPLIT2 - 1), K * M**2 * hi2) < 2**31)


def supervised_scales(P: int, N: int, r: float, M: int) -> tuple[float, float]:
    """(P!/(N^{P−1}(rM)^P), P!/(2 N^{P−1}(rM)^P)): βΔH = β·first·D and H = −second·Σ_μ e_P."""
    factor = math.factorial(P) / (float(N) ** (P - 1) * (r * M) ** P)
    return factor, factor / 2


def _check_supervised_exact(P: int, N: int, K: int, M: int) -> None:
    """|e_k| ≤ C(N, k) M^k: the integer recursion stays in int64 and D's partial sums below 2^53."""
    newton = max(float(N * M) ** k * k for k in range(1, P + 1))
    closed_form = 4.0 * float(N * M) ** (P - 1)  # the numerators of e_{P−1} in _flip
    bound = 2.0 * K * sum(math.comb(N, P - 1 - j) * float(M) ** P for j in range(P))
    if newton >= _EXACT_INT or max(bound, closed_form) >= _EXACT_FLOAT:
        raise ParameterError(
            f"P={P}, N={N}, K={K}, M={M}: the power sums or the flip sum would exceed exact "
            "int64/float64 arithmetic; use smaller N, alpha or M"
        )


def simulate(P: int, N: int, alpha: float, T: float, *, protocol: str = "supervised",
             r: float, M: int, chains: int = 8, sweeps: int = 200, start: str = "archetype",
             seed: int = 0, measure_every: int = 1) -> SimulationResult:
    """Sample a dense Hebbian network trained on examples with independent Metropolis chains.

    Parameters
    ----------
    P : int
        Interaction order, ≥ 2 (the theory of spec §7.1 is for P ≥ 3).
    N : int
        Number of spins, ≥ P.
    alpha : float
        Load, ≥ 0; K = round(α N^{P−1}) archetypes (at least 1), reported as K / N^{P−1}.
    T : float
        Temperature, ≥ 0 (T = 0: only moves with ΔH ≤ 0 are accepted).
    protocol : {"supervised", "unsupervised"}
        H_sup on the example means, or H_unsup on the single examples (module docstring).
    r : float
        Example quality in (0, 1]: P(χ = +1) = (1 + r)/2.
    M : int
        Examples per archetype, 1..127.
    chains : int
        Independent chains (own data set, own random stream), run in parallel.
    sweeps : int
        Sweeps of N proposals per replica; the first ``sweeps // 2`` are discarded.
    start : {"archetype", "random"}
        Both replicas on ξ^0 (retrieval), or independent random spins.
    seed : int
        Root of the ``numpy.random.SeedSequence``; the same seed gives the same result.
    measure_every : int
        Measure every this many sweeps after the burn-in.

    Returns
    -------
    SimulationResult
        Observables (time average per chain, then mean ± standard error over chains): ``m``,
        ``abs_m`` (overlap with archetype 0), ``n`` (overlap with the example mean,
        (1/N) Σ_i ξ^0_i χ̂^0_i σ_i; unsupervised: the same, = mean over a of m_{0a}/r),
        ``example_max`` (unsupervised only: max_a m_{0a}, ≈ 1 in an example state), ``q``,
        ``abs_q`` (replica overlap), ``energy`` (H/N) and ``acceptance``; replica averages.

    Raises
    ------
    ParameterError
        A value outside its range, or a size beyond the memory cap or exact arithmetic.
    """
    P = Parameter("P", "interaction order", kind="int", low=2).check(P)
    N = Parameter("N", "number of spins", kind="int", low=P).check(N)
    alpha = Parameter("alpha", "load K / N^(P-1)", low=0.0).check(alpha)
    T = Parameter("T", "temperature", low=0.0).check(T)
    protocol = Parameter("protocol", "training protocol", kind="choice",
                         choices=PROTOCOLS).check(protocol)
    r = Parameter("r", "example quality", low=0.0, high=1.0, low_open=True).check(r)
    M = Parameter("M", "examples per archetype", kind="int", low=1, high=MAX_M).check(M)
    chains = Parameter("chains", "independent chains", kind="int", low=1).check(chains)
    sweeps = Parameter("sweeps", "sweeps per replica", kind="int", low=1).check(sweeps)
    start = Parameter("start", "initial spins", kind="choice", choices=STARTS).check(start)
    seed = Parameter("seed", "random seed", kind="int", low=0).check(seed)
    measure_every = Parameter("measure_every", "sweeps between measurements", kind="int",
                              low=1).check(measure_every)
    K = dh.number_of_patterns(P, N, alpha)
    width = K if protocol == "supervised" else K * M
    if chains * N * (K + width) > dh.MAX_PATTERN_BYTES:
        raise ParameterError(
            f"chains·N·(K + {'K' if protocol == 'supervised' else 'K·M'}) = "
            f"{chains * N * (K + width):.3g} bytes of data exceeds the cap "
            f"{dh.MAX_PATTERN_BYTES:.0e}; use fewer chains, smaller N, alpha or M"
        )
    beta = math.inf if T == 0 else 1.0 / T
    burn_in = sweeps // 2
    if protocol == "supervised":
        _check_supervised_exact(P, N, K, M)
        chains_state = prepare_chains(P, N, K, M, r, chains, protocol, start, seed)
        flip_factor, energy_scale = supervised_scales(P, N, r, M)
        per_chain = run_supervised(
            chains_state.rows, integer_path(P, N, K, M),
            np.ascontiguousarray(chains_state.archetypes[:, :, 0]),
            chains_state.spins, chains_state.state, site_powers(chains_state.rows, P),
            chains_state.rng_states, beta * flip_factor, energy_scale, 1.0 / (N * r * M),
            sweeps, burn_in, measure_every)
    else:
        w_table = dh.energy_table(P, N)
        a_table, b_table = dh.flip_tables(P, N)
        dh._check_exact(P, N, K * M, (w_table, a_table, b_table))
        chains_state = prepare_chains(P, N, K, M, r, chains, protocol, start, seed)
        example_factor = 1.0 / (M * r**P)
        per_chain = run_unsupervised(
            chains_state.rows, np.ascontiguousarray(chains_state.archetypes[:, :, 0]),
            chains_state.spins, chains_state.state, chains_state.rng_states, P, M,
            beta * example_factor / (2.0 * float(N) ** (P - 1)), example_factor,
            1.0 / (N * r * M), sweeps, burn_in, measure_every, w_table, a_table, b_table)
    means, stderrs = mean_and_stderr(per_chain)
    names = OBSERVABLES[protocol]
    return SimulationResult(
        model=MODEL,
        parameters={"P": P, "N": N, "alpha": alpha, "T": T, "K": K,
                    "alpha_effective": K / N ** (P - 1), "protocol": protocol, "r": r, "M": M,
                    "rho": (1.0 - r * r) / (M * r * r), "start": start},
        observables={name: Estimate(float(mu), float(se))
                     for name, mu, se in zip(names, means, stderrs, strict=True)},
        seeds=chains,
        sweeps=sweeps,
        settings={"burn_in": burn_in, "seed": seed, "algorithm": ALGORITHM,
                  "measure_every": measure_every,
                  "measurements": len(range(burn_in, sweeps, measure_every)),
                  "replicas": 2, "zero_temperature_rule": "accept dH <= 0",
                  "generator": "xoshiro256** per chain, numpy.random.SeedSequence(seed).spawn"},
    )

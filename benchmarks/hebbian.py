"""Monte Carlo throughput of the dense Hebbian samplers (section ``hebbian``).

Flips (proposals) per CPU-second of one chain on one thread of
:func:`montecarlo.dense_hebbian.metropolis_supervised` and of the unsupervised sampler (which *is*
:func:`montecarlo.dense_hopfield.metropolis` on the K·M examples, β rescaled by 1/(M r^P)), against
the dense Hopfield kernel :func:`montecarlo.dense_hopfield.metropolis` measured in the same run at
equal N and equal number of overlap terms: K patterns for the supervised sampler, K·M patterns for
the unsupervised one. Chains start in archetype 0 (dense Hopfield: pattern 0); one sweep is run
before timing (compilation, leaving the start). CPU time of the timing thread is used because
the machine is shared; the best of ``repeats`` blocks is kept. The target is supervised ≥ 70 % of
the dense Hopfield rate (``TARGET_SUPERVISED_RATIO``); the T = 0 rows, where no move is accepted
once the chain sits in a local minimum, isolate the cost of a proposal.

What bounds each sampler:

* Supervised, P = 3 (:func:`montecarlo.dense_hebbian.integer_path`, used when N·M < 2^15 and
  the 32-bit sums cannot overflow): a proposal is three dot products of the int8 row c_i (K
  entries) with int16 vectors (p_1; e_2 split as 2^15·hi + lo) in 32-bit integers, which LLVM
  packs into 16-bit multiply-adds, against one int8 × float64 dot product (ξ_i · B(S)) for the
  dense Hopfield kernel: 0.75–0.80 of its rate at equal K at T = 0 (K = 1800, N = 300; the
  float64 Horner form, 2 multiply-adds per pattern, gave 0.52). An accepted flip updates K power
  sums and int16 vectors, ≈ 0.4 ns per pattern (from the T = 1 rate, 59 % accepted). At T = 0.3
  the noisy example means (r < 1) put many more moves near the Metropolis threshold than in the
  dense Hopfield model at the same T (4 % accepted against < 0.1 %): uniform draws, the
  occasional ``exp`` and mispredicted branches cost ≈ 50 ns per proposal, and the ratio drops to
  0.68–0.76 (the spread is the shared machine's load).
* Supervised, P = 4 (:func:`montecarlo.dense_hebbian.integer_path`, used when c³, e_1 and the
  high limbs fit int16 and the 32-bit sums cannot overflow, e.g. N = 60, M = 10, K ≤ 3500): a
  proposal is five dot products of the row (c, c² or c³ in int16) with int16 vectors (e_1;
  e_2 = 2^8·hi + lo; e_3 = 2^15·hi + lo) in 32-bit integers, the same D as the float64 path. On
  AVX-512BW hosts they run in one pass of explicit 512-bit 16-bit multiply-adds (``vpdpwssd``
  with VNNI; :func:`montecarlo.dense_hebbian._wide_dot4`): 4.5–4.6 M flips/s at N = 60,
  K = 2160, T = 0.5, 0.87–0.93 of the kernel (4.9–5.2 M/s), 5.3 M/s at T = 0. Before: the float64
  Horner path (3 multiply-adds per pattern) 1.6–1.7 M/s, 0.32–0.40; the same integer sums as five
  LLVM-vectorised loops (256-bit, one 16-bit multiply-add reduction per loop, which is all LLVM
  emits; still the fallback without AVX-512BW) 2.5 M/s, 0.50–0.53, ≈ 45 ns per pass over K. Left:
  the 10 int16 loads per 32 patterns, the row from L2, and accepted flips (2.7 %, ≈ 10 % of the
  time: power sums, e_3 times 3^{−1} mod 2^64 instead of a division, repacking).
* Supervised, other P (general path): Horner in c with the float64 vectors V^σ_j = ±e_{P−1−j},
  P − 1 multiply-adds per pattern against one: ≈ 0.35 of the kernel's rate at P = 4 (when the
  integer path is not allowed); an accepted flip costs O(P) per pattern (closed forms for e_{P−1}
  at P = 4, Newton's identities beyond).
* Unsupervised: the dense Hopfield kernel itself on K·M patterns, so a proposal is a K·M-term dot
  product: the rate equals the kernel's at K·M patterns (ratio ≈ 1 up to the different
  acceptance) and is M times below the supervised one at equal K. It is bounded by the float64
  dot product over the K·M example overlaps (memory: N·K·M int8 bytes per chain, from L2/L3).
"""

from __future__ import annotations

import math
import os
import time

import numba
import numpy as np

from montecarlo import dense_hebbian as hb
from montecarlo import dense_hopfield as dh

ROWS = (
    # (protocol, P, N, alpha, T, r, M)
    ("supervised", 3, 300, 0.02, 0.3, 0.5, 10),
    ("supervised", 3, 300, 0.02, 0.0, 0.5, 10),
    ("supervised", 4, 60, 0.01, 0.5, 0.5, 10),
    ("unsupervised", 3, 200, 0.01, 0.3, 0.5, 10),
    ("unsupervised", 3, 200, 0.01, 0.0, 0.5, 10),
)
SEED = 2024
TARGET_SUPERVISED_RATIO = 0.7


def _time(function, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def _hopfield_rate(P: int, N: int, K: int, T: float, sweeps: int, repeats: int) -> tuple:
    state = dh.prepare_chains(N, K, 1, "pattern", SEED)
    a_table, b_table = dh.flip_tables(P, N)
    b_values = np.empty(K)
    beta = (math.inf if T == 0 else 1.0 / T) / (2.0 * float(N) ** (P - 1))
    arguments = (state.patterns[0], state.spins[0, 0], state.overlaps[0, 0], state.rng_states[0])
    dh.metropolis(*arguments, N, beta, a_table, b_table, b_values)
    accepted = []

    def block():
        accepted.append(dh.metropolis(*arguments, sweeps * N, beta, a_table, b_table, b_values))

    seconds = _time(block, repeats)
    return sweeps * N / seconds, accepted[-1] / (sweeps * N)


def _hebbian_rate(protocol: str, P: int, N: int, K: int, T: float, r: float, M: int,
                  sweeps: int, repeats: int) -> tuple:
    chains = hb.prepare_chains(P, N, K, M, r, 1, protocol, "archetype", SEED)
    beta = math.inf if T == 0 else 1.0 / T
    rows, spins, state, rng = (chains.rows[0], chains.spins[0, 0], chains.state[0, 0],
                               chains.rng_states[0])
    if protocol == "supervised":
        factor, _ = hb.supervised_scales(P, N, r, M)
        coefficients = np.empty((2, P - 1, K))
        site_power = hb.site_powers(chains.rows, P)[0]
        integer = hb.integer_path(P, N, K, M)
        e_work = np.empty(P + 1, dtype=np.int64)

        def kernel(flips):
            return hb.metropolis_supervised(rows, spins, state, coefficients, site_power, rng,
                                            flips, beta * factor, e_work, integer)
    else:
        a_table, b_table = dh.flip_tables(P, N)
        b_values = np.empty(K * M)
        scaled = beta / (2.0 * float(N) ** (P - 1) * M * r**P)

        def kernel(flips):
            return dh.metropolis(rows, spins, state, rng, flips, scaled, a_table, b_table,
                                 b_values)
    kernel(N)
    accepted = []
    seconds = _time(lambda: accepted.append(kernel(sweeps * N)), repeats)
    return sweeps * N / seconds, accepted[-1] / (sweeps * N)


def run(quick: bool = False) -> list:
    """One dict per row: set-up, flips/s and acceptance of the sampler and of the dense Hopfield
    kernel at the same N and number of overlap terms, their ratio, and the load average."""
    repeats = 2 if quick else 3
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    out = []
    try:
        for protocol, P, N, alpha, T, r, M in ROWS:
            K = dh.number_of_patterns(P, N, alpha)
            terms = K if protocol == "supervised" else K * M
            sweeps = max(5, int((20 if quick else 300) * 2e5 / (N * terms)))
            rate, acceptance = _hebbian_rate(protocol, P, N, K, T, r, M, sweeps, repeats)
            reference, reference_acceptance = _hopfield_rate(P, N, terms, T, sweeps, repeats)
            out.append({"protocol": protocol, "P": P, "N": N, "K": K, "M": M, "r": r, "T": T,
                        "overlap_terms": terms, "sweeps": sweeps,
                        "flips_per_s": rate, "acceptance": acceptance,
                        "dense_hopfield_flips_per_s": reference,
                        "dense_hopfield_acceptance": reference_acceptance,
                        "ratio": rate / reference,
                        "target_ratio": TARGET_SUPERVISED_RATIO if protocol == "supervised"
                        else None,
                        "load_average": os.getloadavg()[0]})
    finally:
        numba.set_num_threads(previous)
    return out


def table(result: list) -> str:
    """The section as text."""
    lines = ["protocol      P    N     K   M    r    T  terms   M flips/s (acc)   dense Hopfield "
             "(acc)   ratio"]
    for row in result:
        target = row["target_ratio"]
        verdict = "" if target is None else (" (target >= {:.0%}: {})".format(
            target, "yes" if row["ratio"] >= target else "NO"))
        lines.append(
            f"{row['protocol']:<12} {row['P']:>2} {row['N']:>4} {row['K']:>5} {row['M']:>3} "
            f"{row['r']:>4} {row['T']:>4} {row['overlap_terms']:>6}   "
            f"{row['flips_per_s'] / 1e6:6.2f} ({row['acceptance']:.3f})   "
            f"{row['dense_hopfield_flips_per_s'] / 1e6:6.2f} "
            f"({row['dense_hopfield_acceptance']:.3f})   {row['ratio']:.2f}{verdict}")
    lines.append(f"(one thread, CPU time, best of repeats; 1-min load average "
                 f"{result[-1]['load_average']:.1f})")
    return "\n".join(lines)

"""Parallel tempering of the dense Hopfield network: round trips and exchange overhead.

One run (one thread) of :func:`montecarlo.tempering.temper` at P = 3, N = 2000, K = 20
(α = K/N² = 5·10⁻⁶: the P-spin ferromagnet with a little pattern noise), a 16-temperature
geometric ladder T = 0.3 ... 0.8 and R = 2 replica sets, one sweep per walker between exchange
rounds, every walker started in the condensed pattern (spec §4). The ladder stays in the retrieval
phase, below the spinodal T ≈ 0.874 (spec §3 row 11): the transition of P = 3 is first order, so
a ladder across it has swap acceptance ≈ 0 at the jump (an extensive energy gap) and no round
trips, and a ladder above it only paramagnets with acceptance ≈ 1; neither measures anything.
Reported: round trips and round trips per wall-clock second, the swap acceptance along the ladder
(it falls towards T_max, where the specific heat grows), and the time split read by the run
itself from the time-stamp counter: the exchange overhead (time in exchanges / time in sweeps,
target ≤ 5 %) and the share of the measurements (P(q), energies, overlaps at every round).

In the same run the plain kernel :func:`montecarlo.dense_hopfield.metropolis` does the same number
of sweeps of one walker at each ladder temperature, fixed (no exchanges, no measurements), from
the same kind of start: its flips per second against those of the tempering run's sweep phase
show what the tempering loop costs the sweeps themselves (nothing, if the ratio is 1). Both are
timed in wall-clock seconds on one thread, the best of ``repeats`` runs, with the 1-minute load
average reported (the machine is shared).
"""

from __future__ import annotations

import os
import time

import numba
import numpy as np

from montecarlo import dense_hopfield as dh
from montecarlo.tempering import geometric_ladder, temper

P, N, K = 3, 2000, 20
LADDER = (0.3, 0.8, 16)
START = "pattern"
REPLICAS = 2
SEED = 2024
TARGET_EXCHANGE_OVERHEAD = 0.05


def _plain_seconds(temperatures: np.ndarray, sweeps: int) -> float:
    """Wall seconds of ``sweeps`` sweeps of the plain kernel at each temperature, one walker each,
    from the condensed pattern (patterns and streams from :func:`~montecarlo.dense_hopfield.
    prepare_chains`; the first sweep, which compiles or loads the kernel, is not timed)."""
    state = dh.prepare_chains(N, K, temperatures.size, START, SEED)
    a_table, b_table = dh.flip_tables(P, N)
    b_values = np.empty(K)
    scale = 1.0 / (2.0 * float(N) ** (P - 1))
    total = 0.0
    for c, T in enumerate(temperatures):
        arguments = (state.patterns[c], state.spins[c, 0], state.overlaps[c, 0],
                     state.rng_states[c])
        dh.metropolis(*arguments, N, scale / T, a_table, b_table, b_values)
        start = time.perf_counter()
        dh.metropolis(*arguments, sweeps * N, scale / T, a_table, b_table, b_values)
        total += time.perf_counter() - start
    return total


def run(quick: bool = False) -> dict:
    """Round trips per second and exchange overhead of one tempering run, and the plain kernel.

    Returns the JSON-ready dict: the set-up (P, N, K, ladder, replicas, rounds), round trips and
    their rate, swap acceptance per pair, time fractions, the exchange overhead and whether it
    meets the target, flips per second of the tempering sweeps and of the plain kernel and their
    ratio, and the load average.
    """
    rounds, repeats = (300, 2) if quick else (4000, 3)
    temperatures = geometric_ladder(*LADDER)
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        results = [temper(P, N, K, temperatures, replicas=REPLICAS, runs=1, rounds=rounds,
                          start=START, seed=SEED) for _ in range(repeats)]
        plain = min(_plain_seconds(temperatures, rounds) for _ in range(repeats))
    finally:
        numba.set_num_threads(previous)
    best = min(results, key=lambda r: r.elapsed_seconds)
    flips = N * REPLICAS * temperatures.size * rounds
    sweep_seconds = best.elapsed_seconds * best.time_fractions["sweeps"]
    plain_flips_per_s = N * temperatures.size * rounds / plain
    return {
        "model": dh.MODEL, "P": P, "N": N, "K": K, "temperatures": temperatures.tolist(),
        "replicas": REPLICAS, "start": START, "rounds": rounds,
        "sweeps_per_round": best.sweeps_per_round,
        "seconds": best.elapsed_seconds,
        "round_trips": int(best.round_trips.sum()),
        "round_trips_per_s": best.round_trips_per_second,
        "swap_acceptance": best.swap_acceptance.mean.tolist(),
        "time_fractions": best.time_fractions,
        "exchange_overhead": best.exchange_overhead,
        "target_exchange_overhead": TARGET_EXCHANGE_OVERHEAD,
        "meets_target": best.exchange_overhead <= TARGET_EXCHANGE_OVERHEAD,
        "tempering_sweep_flips_per_s": flips / sweep_seconds,
        "plain_kernel_flips_per_s": plain_flips_per_s,
        "sweep_rate_ratio": flips / sweep_seconds / plain_flips_per_s,
        "load_average": os.getloadavg()[0],
    }


def table(result: dict) -> str:
    """The section as text."""
    T = result["temperatures"]
    acceptance = result["swap_acceptance"]
    fractions = result["time_fractions"]
    return "\n".join([
        f"parallel tempering, P={result['P']} N={result['N']} K={result['K']}, "
        f"{len(T)} temperatures {T[0]:g}..{T[-1]:g} (geometric) x {result['replicas']} replicas, "
        f"{result['rounds']} rounds of {result['sweeps_per_round']} sweep, "
        f"{result['start']} start, one thread, {result['seconds']:.2f} s "
        f"(1-min load average {result['load_average']:.1f})",
        f"round trips {result['round_trips']} ({result['round_trips_per_s']:.2f}/s); "
        f"swap acceptance {min(acceptance):.3f}..{max(acceptance):.3f} "
        f"(lowest at pair {int(np.argmin(acceptance))})",
        f"time: sweeps {fractions['sweeps']:.2%}, exchanges {fractions['exchanges']:.3%}, "
        f"measurements {fractions['measurements']:.2%}; exchange overhead "
        f"{result['exchange_overhead']:.3%} of sweep time (target <= "
        f"{result['target_exchange_overhead']:.0%}: {'yes' if result['meets_target'] else 'NO'})",
        f"sweep phase {result['tempering_sweep_flips_per_s'] / 1e6:.2f} M flips/s vs plain kernel "
        f"{result['plain_kernel_flips_per_s'] / 1e6:.2f} M flips/s "
        f"(ratio {result['sweep_rate_ratio']:.2f})",
    ])

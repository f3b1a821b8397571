"""Monte Carlo throughput of the multitasking kernel (section ``multitasking``).

Flips (proposals) per CPU-second of one chain on one thread of
:func:`montecarlo.multitasking.update` (storage protocol, heat-bath, cascade start, 20 sweeps of
equilibration) at (N, K, d, T) = (20000, 3, 0.3, 0.05) and (20000, 8, 0.5, 0.05), beside, in the
same run and interleaved with it so that both see the same load: the dense Hopfield P = 2 kernel
(:func:`montecarlo.dense_hopfield.metropolis_p2`, started in a pattern, exactly as section ``mc``
times it) at the same N and K, and a naive heat-bath written with ``np.random`` and ``tanh``.
Target: at least ``TARGET_RATIO`` of the dense kernel's rate. CPU time of the timing thread is
used (the machine is shared); every kernel is compiled before it is timed.

What bounds the kernel (ns per proposal, best of interleaved repeats at 1-min load average ≈ 1,
from stripped-down copies of its loop; the dense kernel takes 3.8 ns at K = 3 and 3.4 ns at K = 8):

* The site draw (one xoshiro256** step and Lemire's multiply-shift) alone: 1.5 ns. The same draw
  supplies the first 32 bits of the heat-bath uniform, so a proposal needs no second draw.
* Draw + field sum F_i = Σ_μ ξ^μ_i p_μ + excess e_i = σ_i F_i − D_i + the decision-table test,
  applying no flip: 3.9 ns (K = 3), 3.6 ns (K = 8), i.e. the dense kernel's work (draw a site,
  sum its field, reject). The two 8 kB tables are read at an address known from the draw alone,
  off the dependency chain; ``exp`` is called for 0.1 % of the proposals (those whose flip
  probability falls inside the uniform's 10-bit bucket); no ``tanh`` is ever evaluated.
* The full kernel: 4.3 ns at both K. The difference, 0.4 and 0.7 ns, is the flips: 2.3 % of the
  proposals at K = 3 (1.35 % on the d³ = 2.7 % all-blank sites, whose field is zero, most of the
  rest on the sites of the weakest level, β m_3 ≈ 1.3) and 4.6 % at K = 8 (the levels
  k ≥ 4 of the cascade, m_k ≤ 0.03 < T, are thermally disordered). Each flip costs ≈ 15–18 ns: a
  mispredicted branch at the end of the chain draw → row load → field → test, and the update of
  the K overlaps that the next field sum reads. The dense rows flip nothing (a pure state of
  unbiased patterns at T = 0.05), so what separates the two kernels is the multitasking state's
  thermal activity, not the heat-bath rule: neither the generator nor ``exp``/``tanh`` bounds it.

In five runs of this section (1-min load average 1.1–1.8, i.e. about one other busy process) the
ratio of the best rates was 0.81–0.88 at K = 3 and 0.74–0.79 at K = 8 (≈ 225 and 205 M flips/s
against the dense kernel's ≈ 255 and 275 M, ≈ 11× the ``np.random`` baseline); once, under a
load average of 2.4, 0.88 and 0.71.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
from numba import njit

from benchmarks.mc import _kernel_step, _threads
from montecarlo import multitasking as mt

ROWS = ((20000, 3, 0.3, 0.05), (20000, 8, 0.5, 0.05))
"""(N, K, d, T) of the rows."""

TARGET_RATIO = 0.7
"""Multitasking over dense Hopfield P = 2 flips per CPU-second at the same N and K."""

SEED = 2024


@njit(cache=True)
def _seed_numpy_random(seed):
    np.random.seed(seed)  # noqa: NPY002 - the global generator the baseline draws from


@njit(cache=True)
def numpy_random_heat_bath(rows, self_coupling, spins, overlaps, n_flips, beta_weight):
    """The kernel's loop written plainly: ``np.random`` draws, the field in floating point,
    σ_i ← +1 with probability (1 + tanh βh_i)/2 on every proposal (``beta_weight`` = βw/N)."""
    N, R = rows.shape
    flips = 0
    for _ in range(n_flips):
        i = np.random.randint(N)  # noqa: NPY002
        sigma = spins[i]
        field = 0.0
        for r in range(R):
            field += rows[i, r] * overlaps[r]
        h = beta_weight * (field - sigma * self_coupling[i])
        new = 1 if np.random.random() < 0.5 * (1.0 + math.tanh(h)) else -1  # noqa: NPY002
        if new != sigma:
            for r in range(R):
                overlaps[r] += 2 * new * rows[i, r]
            spins[i] = new
            flips += 1
    return flips


def _state(N: int, K: int, d: float) -> mt.ChainState:
    return mt.prepare_chains(K, N, d, 1, start="cascade", seed=SEED)


def _multitasking_step(N: int, K: int, d: float, T: float):
    """``step(n) -> flips``: the production kernel on one chain, after 20 sweeps."""
    state = _state(N, K, d)
    scale = 2.0 * state.weight / (T * N)
    no_flip, flip = mt.decision_tables(scale, metropolis=False)

    def step(n):
        return mt.update(state.rows[0], state.self_coupling[0], state.spins[0],
                         state.overlaps[0], state.rng_states[0], n, scale, no_flip, flip, False)

    step(20 * N)
    return step


def _numpy_random_step(N: int, K: int, d: float, T: float):
    state = _state(N, K, d)
    overlaps = state.overlaps[0].astype(np.float64)
    _seed_numpy_random(SEED)

    def step(n):
        return numpy_random_heat_bath(state.rows[0], state.self_coupling[0], state.spins[0],
                                      overlaps, n, state.weight / (T * N))

    step(20 * N)
    return step


def _interleaved_rates(steps: dict, n0: int, seconds: float, repeats: int) -> dict:
    """Best and median flips per CPU-second of this thread for each ``step(n)``.

    Each step's block length is doubled until a block takes ``seconds``; then the steps are
    timed in turn, ``repeats`` rounds, so that all of them see the same background load.
    """
    blocks = {}
    for name, step in steps.items():
        n = n0
        while True:
            start = time.thread_time()
            step(n)
            if time.thread_time() - start >= seconds:
                break
            n *= 2
        blocks[name] = n
    rates = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.thread_time()
            step(blocks[name])
            rates[name].append(blocks[name] / (time.thread_time() - start))
    return {name: (max(r), float(np.median(r))) for name, r in rates.items()}


def run(quick: bool = False) -> list[dict]:
    """One dict per row of ``ROWS``: flips per CPU-second (best and median over the repeats) of
    the multitasking kernel, the dense Hopfield P = 2 kernel and the ``np.random`` baseline, the
    ratio to the dense kernel (best over best, median over median), the flip rate of the
    multitasking kernel, whether the ratio meets ``TARGET_RATIO``, and the 1-minute load average.
    """
    seconds, repeats = (0.1, 3) if quick else (0.3, 7)
    rows = []
    with _threads(1):
        for N, K, d, T in ROWS:
            kernel = _multitasking_step(N, K, d, T)
            steps = {"multitasking": kernel, "dense": _kernel_step(2, N, K, T),
                     "np.random": _numpy_random_step(N, K, d, T)}
            rates = _interleaved_rates(steps, N, seconds, repeats)
            ratio = rates["multitasking"][0] / rates["dense"][0]
            rows.append({
                "model": mt.MODEL, "N": N, "K": K, "d": d, "T": T,
                "flips_per_s": rates["multitasking"][0],
                "median_flips_per_s": rates["multitasking"][1],
                "dense_flips_per_s": rates["dense"][0],
                "dense_median_flips_per_s": rates["dense"][1],
                "numpy_random_flips_per_s": rates["np.random"][0],
                "ratio": ratio,
                "median_ratio": rates["multitasking"][1] / rates["dense"][1],
                "speedup_over_numpy_random": rates["multitasking"][0] / rates["np.random"][0],
                "target_ratio": TARGET_RATIO,
                "acceptance": kernel(100 * N) / (100 * N),
                "meets_target": ratio >= TARGET_RATIO,
                "load_average": os.getloadavg()[0],
            })
    return rows


def table(rows: list[dict]) -> str:
    """The rows as text: M flips per CPU-second (best / median), ratios, flip rate."""
    lines = [
        "multitasking kernel vs dense Hopfield P = 2 at the same N, K: flips per CPU-second, one "
        f"chain, one thread, interleaved ({os.cpu_count()} cores, 1-min load average "
        f"{min(r['load_average'] for r in rows):.1f}-{max(r['load_average'] for r in rows):.1f})",
        f"{'N':>5} {'K':>2} {'d':>4} {'T':>5} {'Mflips/s':>14} {'dense':>14} {'ratio':>11} "
        f"{'np.random':>9} {'speedup':>7} {'flips':>6} {'met':>4}",
    ]
    for r in rows:
        lines.append(
            f"{r['N']:>5} {r['K']:>2} {r['d']:>4g} {r['T']:>5g} "
            f"{r['flips_per_s'] / 1e6:>6.1f} / {r['median_flips_per_s'] / 1e6:>5.1f} "
            f"{r['dense_flips_per_s'] / 1e6:>6.1f} / {r['dense_median_flips_per_s'] / 1e6:>5.1f} "
            f"{r['ratio']:>4.2f} / {r['median_ratio']:>4.2f} "
            f"{r['numpy_random_flips_per_s'] / 1e6:>9.1f} {r['speedup_over_numpy_random']:>7.1f} "
            f"{r['acceptance']:>6.3f} {'yes' if r['meets_target'] else 'NO':>4}"
        )
    lines.append(f"rates best / median over the repeats; target ratio >= {TARGET_RATIO:g}; "
                 "flips = fraction of proposals that flipped")
    return "\n".join(lines)

"""Monte Carlo throughput of the dense Hopfield kernels (sections ``mc`` and ``cores``).

``mc``: flips (proposals) per CPU-second of one chain on one thread, P = 2 from the condensed
pattern at (N, K) = (2000, 20) and (8000, 800), T = 0.3 and 2, and one P = 4 row, against
baselines measured in the same run: the same O(K) loop written plainly with ``np.random``, and an
O(N)-per-flip sampler on the coupling matrix J = ξξᵀ/N. ``cores``: two chains on two threads
against one on one. CPU time of the timing thread is used for ``mc`` because this machine is
shared: wall time would charge other processes' time slices to the kernel.

What bounds each row (:func:`montecarlo.dense_hopfield.metropolis_p2`; ns per proposal, quiet
machine, measured with stripped-down copies of the loop: the site and uniform draws alone, the
site draw plus the field sum h_i = Σ_μ ξ^μ_i S_μ, and that with the rows restricted to 16 so
that they stay in L1):

* (2000, 20, T = 0.3), ≈ 10.5 ns (95 M/s): 0.3 % of moves accepted, so a proposal is a site
  draw, the 20-term field sum, a uniform draw and the Metropolis test. Site + field alone take
  5.7 ns whether or not the 40 kB of patterns are in L1 (they sit in L2); the two draws 2.7 ns.
  The floor (site + field + uniform) is ≈ 7 ns; the kernel reaches ≈ 2/3 of that floor's rate,
  the rest being the Metropolis test. ``exp`` is called for 0.6 % of proposals only (the Taylor
  bounds decide the rest).
* (2000, 20, T = 2), ≈ 30 ns (34 M/s): 94 % accepted, every flip updates the 20 overlaps that
  the next field sum reads at once. 20 = 2·8 + 4 makes the vectorised update end in four scalar
  16-bit stores that the field sum's 64-bit loads cannot forward from (a store-forwarding stall);
  K = 16 or 24 run at ≈ 21 ns. Bound: the update → field dependency, not the RNG or ``exp``.
* (8000, 800, T = 0.3), ≈ 59 ns (17 M/s): the field sum. 800 int8 × int16 products (packed
  multiply-adds) take 37 ns with the row in L1 and 44 ns with random rows; the 800-byte row comes
  from L3 (6.4 MB of patterns) and the prefetch, issued three proposals ahead, hides its latency
  (without prefetch, random rows cost 60–80 ns; one proposal ahead was enough on a quiet machine,
  but when other tenants evict the rows to memory three ahead was 20–25 % faster).
  L3 traffic is 800 B × 17 M/s ≈ 14 GB/s, well below the L3 bandwidth of a core:
  compute-bound, at ≈ 75 % of the field-sum-only loop; the rest is the 4.6 % accepted flips
  (800-overlap updates) and the test. This row is the one most
  sensitive to other processes on the machine (shared L3): 10–17 M/s were measured.
* (8000, 800, T = 2), ≈ 87 ns (11.5 M/s): field sum (44 ns) plus, for 82 % of proposals, the
  update of 800 overlaps (read the row again, read-modify-write 1.6 kB): field and update
  bound in about equal parts.
* P = 4 (60, 2160, T = 0.5), ≈ 370 ns (2.7 M/s): :func:`~montecarlo.dense_hopfield.metropolis`,
  the dot product of the int8 row with the float64 vector B(S_μ) (float64 because the partial
  sums exceed 2^24) costs 285 ns (4-wide FMAs); accepted flips (1.7 %) re-read the A, B tables.

``cores``: each chain owns its patterns and stream and runs on private copies of its spins,
overlaps and generator state (in the stacked arrays, neighbouring chains' overlaps share cache
lines: that false sharing held the speedup to ≈ 1.45). Two chains then share only L3 and memory
bandwidth. A chain's flips per CPU-second beside a second chain equal its rate alone within the
run-to-run scatter of this shared virtual machine (±15 %), so the remaining loss is the machine's:
the section therefore measures, with the same protocol, a compute-only control loop that needs
nothing from memory or from the other thread; no kernel scales better than it. The table reports
the cores the run actually got.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time

import numba
import numpy as np
from numba import njit

from montecarlo import dense_hopfield as dh

REFERENCE_FLIPS_PER_S = {(2000, 0.3): 98e6, (2000, 2.0): 42e6, (8000, 0.3): 19e6, (8000, 2.0): 9e6}
"""A 30-line O(K) kernel on this machine class (spec §4), per core, P = 2, pattern start."""
TARGET_FRACTION_OF_REFERENCE = 0.7

ROWS = (
    # (P, N, K, T, baseline the row is judged against, target speed-up over it or None)
    (2, 2000, 20, 0.3, "np.random sampler", 2.5),
    (2, 2000, 20, 2.0, "np.random sampler", None),
    (2, 8000, 800, 0.3, "coupling-matrix sampler", 8.0),
    (2, 8000, 800, 2.0, "coupling-matrix sampler", 8.0),
    (4, 60, 2160, 0.5, "np.random sampler", None),  # K = 0.01 N^3
)
SEED = 2024


# --------------------------------------------------------------------------------------------
# Baselines: the straightforward samplers the kernel is measured against
# --------------------------------------------------------------------------------------------


# The baselines use Numba's np.random (the legacy global-state interface, the one a first Numba
# kernel calls); hence the NPY002 exemptions below.


@njit(cache=True)
def _seed_numpy_random(seed):
    np.random.seed(seed)  # noqa: NPY002 - the global generator the baselines draw from


@njit(cache=True, fastmath={"reassoc", "contract"})
def numpy_random_sampler_p2(patterns, spins, overlaps, n_flips, beta):
    """The same O(K) loop as the kernel, P = 2, written plainly: ``np.random`` draws, float32
    overlaps (exact integers below 2^24), vectorised field h_i = Σ_μ ξ^μ_i S_μ,
    ΔH = (2/N)(σ_i h_i − K), ``exp`` on every uphill move."""
    N, K = patterns.shape
    accepted = 0
    for _ in range(n_flips):
        i = np.random.randint(N)  # noqa: NPY002
        field = np.float32(0.0)
        for mu in range(K):
            field += patterns[i, mu] * overlaps[mu]
        delta = 2.0 * (spins[i] * field - K) / N
        if delta <= 0.0 or np.random.random() < math.exp(-beta * delta):  # noqa: NPY002
            for mu in range(K):
                overlaps[mu] -= 2 * spins[i] * patterns[i, mu]
            spins[i] = -spins[i]
            accepted += 1
    return accepted


@njit(cache=True)
def numpy_random_sampler(patterns, spins, overlaps, n_flips, beta, w_table, P):
    """Plain O(K) loop for any P: ``np.random`` draws, ΔH = −Σ_μ ΔW_P(S_μ)/(2N^{P−1}) from the
    table of W_P (two look-ups per pattern), ``exp`` on every uphill move."""
    N, K = patterns.shape
    scale = 1.0 / (2.0 * float(N) ** (P - 1))
    accepted = 0
    for _ in range(n_flips):
        i = np.random.randint(N)  # noqa: NPY002
        sigma = spins[i]
        gain = 0.0
        for mu in range(K):
            s = overlaps[mu] + N
            gain += w_table[s - 2 * sigma * patterns[i, mu]] - w_table[s]
        delta = -scale * gain
        if delta <= 0.0 or np.random.random() < math.exp(-beta * delta):  # noqa: NPY002
            for mu in range(K):
                overlaps[mu] -= 2 * sigma * patterns[i, mu]
            spins[i] = -sigma
            accepted += 1
    return accepted


@njit(cache=True, fastmath={"reassoc", "contract"})
def coupling_matrix_sampler(couplings, spins, n_flips, beta):
    """O(N) Metropolis of the P = 2 model from J = ξξᵀ/N (zero diagonal): ΔH = 2σ_i Σ_j J_ij σ_j.

    The field sum is allowed to vectorise (reassociation), which gives this baseline its best case.
    """
    N = spins.shape[0]
    accepted = 0
    for _ in range(n_flips):
        i = np.random.randint(N)  # noqa: NPY002
        field = 0.0
        for j in range(N):
            field += couplings[i, j] * spins[j]
        delta = 2.0 * spins[i] * field
        if delta <= 0.0 or np.random.random() < math.exp(-beta * delta):  # noqa: NPY002
            spins[i] = -spins[i]
            accepted += 1
    return accepted


@functools.lru_cache(maxsize=1)
def _couplings(N: int, K: int) -> np.ndarray:
    """J = ξξᵀ/N with zero diagonal for the benchmark's patterns (kept for the next row)."""
    xi = dh.prepare_chains(N, K, 1, "pattern", SEED).patterns[0].astype(np.float64)
    J = xi @ xi.T / N
    np.fill_diagonal(J, 0.0)
    return J


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _threads(n: int):
    """``with _threads(n):`` run Numba's parallel regions on ``n`` threads, then restore."""
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _rate(step, flips_per_call: int, seconds: float, repeats: int) -> float:
    """Flips per CPU-second of the calling thread: the best of ``repeats`` timed blocks.

    ``step(n)`` runs ``n`` proposals. The block length is doubled until one block takes
    ``seconds``; CPU time of this thread (not wall time) is used so that other load on a shared
    machine does not count against the kernel.
    """
    n = flips_per_call
    while True:
        start = time.thread_time()
        step(n)
        elapsed = time.thread_time() - start
        if elapsed >= seconds:
            break
        n *= 2 if elapsed < seconds / 4 else max(2, math.ceil(seconds / max(elapsed, 1e-9)))
    best = elapsed
    for _ in range(repeats - 1):
        start = time.thread_time()
        step(n)
        best = min(best, time.thread_time() - start)
    return n / best


def _kernel_step(P: int, N: int, K: int, T: float):
    """``step(n) -> accepted``: one replica of one chain under the production kernel, started in
    the pattern and run for 20 sweeps before it is returned."""
    state = dh.prepare_chains(N, K, 1, "pattern", SEED)
    patterns, spins = state.patterns[0], state.spins[0, 0]
    overlaps, rng_state = state.overlaps[0, 0], state.rng_states[0]
    beta = 1.0 / T
    if P == 2:
        def step(n):
            return dh.metropolis_p2(patterns, spins, overlaps, rng_state, n, beta)
    else:
        a_table, b_table = dh.flip_tables(P, N)
        b_values = np.empty(K)
        beta_general = beta / (2.0 * float(N) ** (P - 1))

        def step(n):
            return dh.metropolis(patterns, spins, overlaps, rng_state, n, beta_general, a_table,
                                 b_table, b_values)
    step(20 * N)
    return step


def _numpy_random_step(P: int, N: int, K: int, T: float):
    state = dh.prepare_chains(N, K, 1, "pattern", SEED)
    patterns, spins = state.patterns[0], state.spins[0, 0]
    _seed_numpy_random(SEED)
    if P == 2:
        overlaps = state.overlaps[0, 0].astype(np.float32)

        def step(n):
            numpy_random_sampler_p2(patterns, spins, overlaps, n, 1.0 / T)
    else:
        overlaps = state.overlaps[0, 0].astype(np.int64)
        w_table = dh.energy_table(P, N)

        def step(n):
            numpy_random_sampler(patterns, spins, overlaps, n, 1.0 / T, w_table, P)

    step(20 * N)
    return step


def _coupling_step(P: int, N: int, K: int, T: float):
    state = dh.prepare_chains(N, K, 1, "pattern", SEED)
    couplings, spins = _couplings(N, K), state.spins[0, 0]
    _seed_numpy_random(SEED)

    def step(n):
        coupling_matrix_sampler(couplings, spins, n, 1.0 / T)

    step(2 * N)
    return step


_BASELINES = {"np.random sampler": _numpy_random_step, "coupling-matrix sampler": _coupling_step}


def run(quick: bool = False) -> list[dict]:
    """Flips per second per core of the kernel and of the baselines, one dict per row of ``ROWS``.

    Each row has the JSON keys of the issue (``model, P, N, K, T, flips_per_s, baseline,
    baseline_flips_per_s, ratio``) plus every baseline measured (``baselines``), the reference
    rate of spec §4 and the fraction of it reached (P = 2 rows), the acceptance rate,
    ``meets_targets`` (the row's ratio and reference targets; ``None`` where it has none) and the
    1-minute load average of the machine when the row was measured.
    """
    seconds, repeats = (0.1, 3) if quick else (0.3, 6)
    with _threads(1):
        rows = []
        for P, N, K, T, judged_by, target_ratio in ROWS:
            kernel = _kernel_step(P, N, K, T)
            flips_per_s = _rate(kernel, N, seconds, repeats)
            acceptance = kernel(100 * N) / (100 * N)
            measured = [judged_by]
            if P == 2 and not quick:
                measured = list(_BASELINES)
            baselines = {name: _rate(_BASELINES[name](P, N, K, T), N // 10, seconds, repeats)
                         for name in measured}
            reference = REFERENCE_FLIPS_PER_S.get((N, T)) if P == 2 else None
            ratio = flips_per_s / baselines[judged_by]
            checks = [ratio >= target_ratio] if target_ratio is not None else []
            if reference is not None:
                checks.append(flips_per_s >= TARGET_FRACTION_OF_REFERENCE * reference)
            rows.append({
                "model": dh.MODEL, "P": P, "N": N, "K": K, "T": T,
                "flips_per_s": flips_per_s,
                "baseline": judged_by,
                "baseline_flips_per_s": baselines[judged_by],
                "ratio": ratio,
                "target_ratio": target_ratio,
                "baselines": baselines,
                "reference_flips_per_s": reference,
                "fraction_of_reference": None if reference is None else flips_per_s / reference,
                "acceptance": acceptance,
                "meets_targets": all(checks) if checks else None,
                "load_average": os.getloadavg()[0],
            })
        return rows


def table(rows: list[dict]) -> str:
    """The ``mc`` rows as text: rates in M flips/s per core, ratio to baseline, % of reference."""
    if not rows:
        return "(no rows)"
    lines = [
        "MC flips per CPU-second, one chain, one thread (1-min load average "
        f"{min(r['load_average'] for r in rows):.1f}-{max(r['load_average'] for r in rows):.1f}"
        f" during the rows, {os.cpu_count()} cores)",
        f"{'P':>2} {'N':>5} {'K':>5} {'T':>4} {'Mflips/s':>9} {'ref':>6} {'%ref':>5} "
        f"{'np.random':>9} {'coupling':>9} {'ratio':>6} {'target':>6} {'acc.':>6} {'met':>4}"
        "  baseline",
    ]
    for r in rows:
        ref = r["reference_flips_per_s"]
        target = r["target_ratio"]
        lines.append(
            f"{r['P']:>2} {r['N']:>5} {r['K']:>5} {r['T']:>4g} {r['flips_per_s'] / 1e6:>9.2f} "
            f"{_mega(ref):>6} {_percent(r['fraction_of_reference']):>5} "
            f"{_mega(r['baselines'].get('np.random sampler')):>9} "
            f"{_mega(r['baselines'].get('coupling-matrix sampler')):>9} "
            f"{r['ratio']:>6.1f} {'' if target is None else f'>={target:g}':>6} "
            f"{r['acceptance']:>6.3f} {_yes_no(r['meets_targets']):>4}  {r['baseline']}"
        )
    lines.append(f"targets: >= {TARGET_FRACTION_OF_REFERENCE:.0%} of ref; ratio >= target")
    return "\n".join(lines)


def _yes_no(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "NO")


def _mega(rate: float | None) -> str:
    return "-" if rate is None else f"{rate / 1e6:.2f}"


def _percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.0f}"




# --------------------------------------------------------------------------------------------
# Section "cores": scaling over chains
# --------------------------------------------------------------------------------------------

CORES_CASES = ((2000, 20, 0.3), (8000, 800, 0.3))
"""(N, K, T) of the P = 2 runs used to measure parallel scaling."""

TARGET_SPEEDUP = 1.8
"""Two chains on two threads against one on one (issue 10)."""

CONTROL_STREAMS = 8
"""Independent xorshift streams per thread in the compute-only control (fills the ALUs)."""


@njit(cache=True)
def _control_work(iterations, seed):
    """Compute-only load: ``CONTROL_STREAMS`` independent xorshift64 streams, no memory traffic.

    It needs nothing from the cache hierarchy and nothing from the other thread, so its two-thread
    speed-up is what the machine itself gives two busy cores at that moment.
    """
    state = np.empty(CONTROL_STREAMS, dtype=np.uint64)
    for k in range(CONTROL_STREAMS):
        state[k] = np.uint64(2 * (seed * CONTROL_STREAMS + k) + 1)
    for _ in range(iterations):
        for k in range(CONTROL_STREAMS):
            x = state[k]
            x ^= x << np.uint64(13)
            x ^= x >> np.uint64(7)
            x ^= x << np.uint64(17)
            state[k] = x
    total = np.uint64(0)
    for k in range(CONTROL_STREAMS):
        total ^= state[k]
    return total


@njit(cache=True, parallel=True)
def _control(copies, iterations):
    """``copies`` independent control loads, one per ``prange`` iteration."""
    out = np.empty(copies, dtype=np.uint64)
    for c in numba.prange(copies):
        out[c] = _control_work(iterations, c)
    return out


def _timed(function) -> tuple[float, float]:
    """(wall, process CPU) seconds of ``function()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def _chains_runner(chains: int, N: int, K: int, T: float):
    """``run(sweeps) -> (wall, cpu)`` seconds of the production driver ``run_chains`` on fresh
    chains (P = 2, pattern start, no burn-in, measuring every sweep); ``cpu`` is the CPU time of
    the whole process (all threads)."""
    state = dh.prepare_chains(N, K, chains, "pattern", SEED)
    w_table = dh.energy_table(2, N)
    a_table, b_table = dh.flip_tables(2, N)
    b_values = np.empty((chains, 0))

    def run(sweeps: int) -> tuple[float, float]:
        return _timed(lambda: dh.run_chains(state.patterns, state.spins, state.overlaps,
                                            state.rng_states, 2, 1.0 / T, sweeps, 0, 1, w_table,
                                            a_table, b_table, b_values))

    run(2)
    return run


def _control_runner(copies: int):
    """``run(iterations) -> (wall, cpu)`` of ``copies`` control loads in parallel."""
    _control(copies, 10)
    return lambda iterations: _timed(lambda: _control(copies, iterations))


def _scaling(one, two, seconds: float, repeats: int) -> dict:
    """Speed-up of ``two(work)`` (2 copies, 2 threads) over ``one(work)`` (1 copy, 1 thread).

    ``work`` is doubled until ``one`` takes ``seconds``; the two are then run ``repeats`` times,
    interleaved so that both see the same background load. ``speedup`` compares the fastest run of
    each (the least disturbed), ``median_speedup`` the medians; ``cores_used`` is process CPU time
    over wall time of the fastest two-thread run, ``cpu_efficiency`` the work per CPU-second of
    the two-thread run over the one-thread run (1 = the copies do not slow each other down).
    """
    with _threads(1):
        work = 1
        while one(work)[0] < seconds:
            work *= 2
    ones, twos = [], []
    for _ in range(repeats):
        with _threads(1):
            ones.append(one(work))
        with _threads(2):
            twos.append(two(work))
    (wall_1, cpu_1), (wall_2, cpu_2) = min(ones), min(twos)
    median_1 = float(np.median([wall for wall, _ in ones]))
    median_2 = float(np.median([wall for wall, _ in twos]))
    return {"work": work, "wall_one": wall_1, "wall_two": wall_2,
            "speedup": 2 * wall_1 / wall_2, "median_speedup": 2 * median_1 / median_2,
            "cores_used": cpu_2 / wall_2, "cpu_efficiency": 2 * cpu_1 / cpu_2}


def run_cores(quick: bool = False) -> dict:
    """Total flips/s of 2 chains on 2 threads against 1 chain on 1 thread (wall clock).

    Each case uses the production driver ``run_chains``, with the same number of sweeps per chain
    in both configurations (see :func:`_scaling` for the protocol). The compute-only control
    (:func:`_control_work`), measured the same way right after each case, gives the speed-up the
    machine allows at that time: on a shared virtual machine the two virtual CPUs may share
    physical cores, caches and memory bandwidth with other tenants, and no kernel can scale
    better than the control.
    """
    seconds, repeats = (0.1, 4) if quick else (0.3, 10)
    cases = []
    for N, K, T in CORES_CASES:
        with _threads(1):
            one_chain = _chains_runner(1, N, K, T)
        with _threads(2):
            two_chains = _chains_runner(2, N, K, T)
        kernel = _scaling(one_chain, two_chains, seconds, repeats)
        control = _scaling(_control_runner(1), _control_runner(2), seconds, repeats)
        flips = 2 * N * kernel["work"]
        cases.append({"P": 2, "N": N, "K": K, "T": T, "sweeps": kernel["work"],
                      "one_thread_flips_per_s": flips / kernel["wall_one"],
                      "two_threads_flips_per_s": 2 * flips / kernel["wall_two"],
                      "speedup": kernel["speedup"],
                      "median_speedup": kernel["median_speedup"],
                      "cores_used": kernel["cores_used"],
                      "cpu_efficiency": kernel["cpu_efficiency"],
                      "control_speedup": control["speedup"],
                      "control_median_speedup": control["median_speedup"],
                      "meets_target": kernel["speedup"] >= TARGET_SPEEDUP,
                      "machine_allows_target": control["speedup"] >= TARGET_SPEEDUP})
    return {"cases": cases, "target_speedup": TARGET_SPEEDUP,
            "load_average": os.getloadavg()[0], "cpu_count": os.cpu_count()}


def table_cores(result: dict) -> str:
    """The ``cores`` section as text."""
    lines = [f"chains in parallel: 2 chains on 2 threads vs 1 on 1 (wall clock, 1-min load "
             f"average {result['load_average']:.1f}, {result['cpu_count']} cores)",
             f"{'N':>5} {'K':>5} {'T':>4} {'1 thread':>9} {'2 threads':>9} {'speedup':>8} "
             f"{'median':>7} {'cores used':>10} {'cpu eff.':>8} {'control':>8} {'c. median':>9} "
             f"{'met':>4}"]
    for c in result["cases"]:
        lines.append(f"{c['N']:>5} {c['K']:>5} {c['T']:>4g} "
                     f"{c['one_thread_flips_per_s'] / 1e6:>9.2f} "
                     f"{c['two_threads_flips_per_s'] / 1e6:>9.2f} {c['speedup']:>8.2f} "
                     f"{c['median_speedup']:>7.2f} {c['cores_used']:>10.2f} "
                     f"{c['cpu_efficiency']:>8.2f} {c['control_speedup']:>8.2f} "
                     f"{c['control_median_speedup']:>9.2f} {_yes_no(c['meets_target']):>4}"
                     + ("" if c["machine_allows_target"] else "  (control below target too)"))
    lines.append(f"target speedup >= {result['target_speedup']:g}; rates in M flips/s (fastest "
                 "runs); speedup from the fastest runs, median from the medians; cores used = "
                 "process CPU time / wall time of the 2-thread run; control = the same protocol "
                 "on a compute-only loop (what the machine allows)")
    return "\n".join(lines)

"""Throughput of the generalization-dynamics simulator (section ``linear``).

Samples (seeds) per second at ``N = 1000``, ``alpha = 2`` (P = 2000), 50 log-spaced times
``t ∈ [0.1, 30]`` (``tau = 1``; the errors have relaxed by ``t ≈ 30``), single-threaded BLAS
assumed for both sides, for

* the **exact batched flow** (``montecarlo.generalization_dynamics.gradient_flow``): one
  ``eigh`` of each sample's ``XXᵀ`` on a stack, then every time point in ``O(N)``;
* a **per-sample loop of gradient-descent steps** with the step ``eta`` just small enough to
  reach the accuracy below, written two ways:

  - *data matrix*: ``w ← w + eta X(y − Xᵀw)``, the plain training loop (``2NP`` per step);
  - *Gram matrix*: ``w ← w + eta (Xy − XXᵀw)`` with ``XXᵀ`` precomputed (``N²`` per step;
    ``montecarlo.generalization_dynamics.gradient_descent``) — the strongest baseline.

Accuracy criterion: on the same sample, descent's ``E_g`` and ``E_t`` agree with the exact flow
to a relative ``1e-3`` at every one of the 50 times (a quarter of the standard error of a
64-sample mean at this ``N``). Descent's error is first order in ``eta``; ``eta`` is calibrated
from one run at ``eta = 0.05`` on an ``N = 200`` sample (same ``alpha``, same spectrum edges)
and checked there; the full run checks it at ``N = 1000`` too.

Each step costs the same, so the descent loops are timed over :data:`_TIMED_STEPS` steps (plus
the sample's set-up) and scaled to the required step count; the full run also times one whole
Gram-matrix descent. Target: the flow is at least 50 times faster.
"""

from __future__ import annotations

import time

import numpy as np

from montecarlo import generalization_dynamics as gd

N, ALPHA, TOLERANCE, TARGET_RATIO = 1000, 2.0, 1e-3, 50.0
TIMES = np.geomspace(0.1, 30.0, 50)
_CALIBRATION_N, _FIRST_ETA, _TIMED_STEPS = 200, 0.05, 2000


def _descent_error(n: int, eta: float, seed: int) -> float:
    """Largest relative deviation of descent from the exact flow on one sample (same times)."""
    descent = gd.gradient_descent(n, ALPHA, TIMES, eta, 1, seed)
    flow = gd.gradient_flow(n, ALPHA, descent.times, 1, seed)
    return float(max(np.max(np.abs(descent.E_g / flow.E_g - 1)),
                     np.max(np.abs(descent.E_t / flow.E_t - 1))))


def _calibrate() -> tuple[float, float]:
    """The largest step meeting :data:`TOLERANCE` (first-order scaling, then checked)."""
    eta = _FIRST_ETA * TOLERANCE / _descent_error(_CALIBRATION_N, _FIRST_ETA, seed=0) * 0.9
    error = _descent_error(_CALIBRATION_N, eta, seed=0)
    while error > TOLERANCE:
        eta *= 0.8
        error = _descent_error(_CALIBRATION_N, eta, seed=0)
    return eta, error


def _data_matrix_descent(eta: float, steps: int, seed: int) -> np.ndarray:
    """The plain per-sample loop: gradient from the data matrix, (E_g, E_t) at the 50 times."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    P = gd.examples(N, ALPHA)
    X, teacher, noise, w = (a[0] for a in gd.draw_samples([rng], N, P, 1.0, 0.1, 0.0))
    y = teacher @ X + noise
    record = np.rint(TIMES / eta).astype(int)
    errors = np.full((TIMES.size, 2), np.nan)
    for k in range(1, steps + 1):
        w += eta * (X @ (y - w @ X))
        for j in np.flatnonzero(record == k):
            errors[j] = ((w - teacher) ** 2).sum() / N + 0.1, ((y - w @ X) ** 2).mean()
    return errors


def _seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _per_sample(loop, steps: int) -> float:
    """Set-up plus ``steps`` steps of one sample's descent, from a timed block of steps."""
    setup = _seconds(lambda: loop(0))
    block = _seconds(lambda: loop(_TIMED_STEPS))
    return setup + (block - setup) * steps / _TIMED_STEPS


def run(quick: bool) -> dict:
    """Time the flow and both descents; ``quick`` uses fewer flow samples and no whole descent."""
    eta, calibration_error = _calibrate()
    steps = int(np.rint(TIMES[-1] / eta))
    flow_seeds = 4 if quick else 16
    flow_time = _seconds(lambda: gd.gradient_flow(N, ALPHA, TIMES, flow_seeds, seed=1))
    gram = _per_sample(lambda k: gd.gradient_descent(N, ALPHA, [k * eta], eta, 1, seed=2),
                       steps)
    plain = _per_sample(lambda k: _data_matrix_descent(eta, k, seed=2), steps)
    result = {
        "N": N, "alpha": ALPHA, "time_points": TIMES.size, "t_range": [TIMES[0], TIMES[-1]],
        "criterion": f"max relative |descent - flow| of E_g, E_t over the {TIMES.size} times "
                     f"<= {TOLERANCE:g} on the same sample",
        "eta": eta, "steps": steps, "calibration_error_N200": calibration_error,
        "flow_seeds": flow_seeds, "flow_seeds_per_s": flow_seeds / flow_time,
        "gram_descent_seeds_per_s": 1 / gram, "data_descent_seeds_per_s": 1 / plain,
        "timing": f"descents: {_TIMED_STEPS} steps timed, scaled to {steps}",
    }
    if not quick:
        whole = _seconds(lambda: result.update(
            descent_error_N1000=_descent_error(N, eta, seed=2)))
        result["gram_descent_whole_seconds"] = whole
    result["ratio_gram"] = result["flow_seeds_per_s"] * gram
    result["ratio_data"] = result["flow_seeds_per_s"] * plain
    result["target_ratio"] = TARGET_RATIO
    return result


def table(result: dict) -> str:
    """The rates, the step count the criterion needs, and the ratios."""
    checked = f"error {result['calibration_error_N200']:.2g} at N=200"
    if "descent_error_N1000" in result:
        checked += (f", {result['descent_error_N1000']:.2g} at N=1000; one whole Gram descent "
                    f"{result['gram_descent_whole_seconds']:.1f} s incl. its flow reference")
    rows = [
        f"generalization-dynamics N={result['N']} alpha={result['alpha']:g}, "
        f"{result['time_points']} times in [{result['t_range'][0]:g}, {result['t_range'][1]:g}]",
        f"accuracy criterion: {result['criterion']}",
        f"  descent needs eta = {result['eta']:.3g} -> {result['steps']} steps ({checked})",
        f"{'exact batched flow':<34} {result['flow_seeds_per_s']:>9.3f} seeds/s "
        f"({result['flow_seeds']} seeds)",
    ]
    for label, key, ratio in (("per-seed descent, data matrix", "data", "ratio_data"),
                              ("per-seed descent, Gram matrix", "gram", "ratio_gram")):
        verdict = "met" if result[ratio] >= result["target_ratio"] else "NOT met"
        rows.append(f"{label:<34} {result[f'{key}_descent_seeds_per_s']:>9.4f} seeds/s   "
                    f"ratio {result[ratio]:5.0f}x (target >= {result['target_ratio']:g}x: "
                    f"{verdict})")
    rows.append(f"({result['timing']})")
    return "\n".join(rows)

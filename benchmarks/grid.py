"""Phase-diagram throughput: the vectorised engine against a per-point root-finder loop.

Two rows, each the engine (:func:`theorylab.equilibrium.diagram_block`) on a whole grid against
a naive baseline timed on a random subset of the grid's points (its rate, points/s, is what is
compared), in the same run and interleaved with it (engine, baseline, engine, baseline, ...)
so that both see the same load:

* **AGS** (dense Hopfield, P = 2) on a 200 x 200 (alpha, T) grid, alpha in [0, 0.2], T in
  [0, 1.5]: at every point the three branches (retrieval, spin glass, paramagnet) from the same
  three starts, solved to a residual of 1e-11, with their free and internal energies. The engine
  also retries unconverged points from converged neighbours and computes every branch's
  stability eigenvalue. The baseline calls ``scipy.optimize.fsolve`` once per point and start on
  the same derived fixed-point map (same quadrature, same starts; fsolve's own finite-difference
  Jacobian) and evaluates f and u.
* **Multitasking**, K = 3, storage, on a 100 x 100 (d, T) grid, d and T in [0, 1]: the engine
  solves the six starts of :meth:`theorylab.models.multitasking.Equations.starts` (paramagnet,
  pure, cascade, parallel, partial, majority) everywhere. The baseline calls
  ``scipy.optimize.root`` (``hybr``) once per point and start on the same equations object
  (its ``F`` and derived ``jacobian``, one point at a time), from the same starts; each
  converged start is classified into a phase and its f evaluated. A start counts as converged
  where root says so or its residual max|F(x) - x| is within the engine's tolerance (hybr stops
  with "xtol too small" on most starts it has in fact solved).

Both engines use the quadrature node counts their models' diagrams use. T = 0 rows are solved
by the exact T = 0 equations in the engine; the baselines' subsets are drawn from T > 0 (the
finite-T maps). Every rate is measured after the equations are derived and compiled (a small
grid is solved first). The machine is shared (two cores, other jobs running): each row reports
the best and the median of its repeats and the ratio of the medians, with the load average.

What bounds the engine (cProfile of the 200 x 200 AGS grid): evaluating the derived maps and
Jacobians over (points x 256 quadrature nodes) arrays, 85 % of its time: the lambdified
integrands about 35 %, the quadrature's bookkeeping (:func:`theorylab.gaussian.quadrature`:
tails, node placement) about 35 %, the thermodynamics' log 2cosh about 10 %; numpy elementwise
arithmetic with its temporaries, ~10 ns per node and point. The solver's own work (Anderson
mixing, batched 3 x 3 Newton solves, grid continuation) is the remainder. The baselines are
bound by per-call overhead: fsolve calls the map ~30 times per start, ~0.1 ms a call at one
point, of which the integrand itself is a few percent (argument checks, broadcasting, stacking,
quadrature setup are the rest). The ratio is therefore the baseline's per-call overhead over
the engine's per-point arithmetic, and it moves with the baseline's speed: 44-105 points/s from
run to run on this machine.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from scipy import optimize

from theorylab.equilibrium import classify, diagram_block
from theorylab.gaussian import DEFAULT_NODES as NODES

TARGET_RATIO = 30.0
"""Engine over baseline points/s (ratio of the medians)."""

AGS_BOX = {"alpha": (0.0, 0.2), "T": (0.0, 1.5)}
MULTITASKING_BOX = {"d": (0.0, 1.0), "T": (0.0, 1.0)}
MULTITASKING_K = 3


def interleaved(tasks: dict[str, Callable[[], dict]], repeats: int) -> dict[str, list[dict]]:
    """Run every task once per repeat, in turn (A B A B ...): each one's results in order."""
    out: dict[str, list[dict]] = {name: [] for name in tasks}
    for _ in range(repeats):
        for name, task in tasks.items():
            out[name].append(task())
    return out


def spread(values: list[float]) -> tuple[float, float]:
    """(best, median) of rates (best: the largest)."""
    return max(values), statistics.median(values)


def load_average() -> float:
    """The 1-minute load average (NaN where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def _grid(box: dict[str, tuple[float, float]], n: int) -> tuple[np.ndarray, np.ndarray]:
    (lo_x, hi_x), (lo_y, hi_y) = box.values()
    return np.linspace(lo_x, hi_x, n), np.linspace(lo_y, hi_y, n)


# --- AGS --------------------------------------------------------------------------------------

def ags_engine(n: int) -> dict:
    """The engine on the n x n AGS grid: seconds and points without a selectable state."""
    alpha, T = _grid(AGS_BOX, n)
    start = time.perf_counter()
    out = diagram_block("dense-hopfield", {"P": 2}, "alpha", alpha, "T", T)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "points_per_s": n * n / seconds,
            "flagged": int((~out["converged"]).sum())}


def _baseline(points: int, seed: int = 0) -> tuple[float, int]:
    """Rate (points/s) of a per-point fsolve loop, and how many (point, start) pairs failed."""
    from theorylab.models import dense_hopfield as dh

    sys_ = dh.system(2, False, NODES)
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(0.0, 0.2, points)
    T = rng.uniform(1.5 / 199, 1.5, points)
    failed = 0
    start = time.perf_counter()
    for a, t in zip(alpha, T, strict=True):
        p = {"alpha": np.array([a]), "T": np.array([t])}
        for x0 in sys_.starts(p).values():

            def G(x, p=p):
                return sys_.F(x[:, None], p)[:, 0] - x

            x, _, ier, _ = optimize.fsolve(G, x0[:, 0], full_output=True, xtol=1e-12)
            sys_.thermodynamics(x[:, None], p)
            failed += ier != 1
    return points / (time.perf_counter() - start), failed


def ags_baseline(points: int) -> dict:
    """The fsolve loop on ``points`` random AGS points (T > 0)."""
    rate, failed = _baseline(points)
    return {"points_per_s": rate, "failed_starts": int(failed), "starts": 3 * points}


def _warm_up_ags() -> None:
    alpha, T = _grid(AGS_BOX, 6)  # a T = 0 row and T > 0 rows: both systems, both node counts
    diagram_block("dense-hopfield", {"P": 2}, "alpha", alpha, "T", T)
    ags_baseline(2)


# --- multitasking -----------------------------------------------------------------------------

def _multitasking():
    """(model, the fixed parameters of the (d, T) plane, the finite-T equations object)."""
    from theorylab.models.multitasking import MODEL

    params = MODEL.validate({"K": MULTITASKING_K, "d": 0.5, "T": 0.5})
    others = {k: v for k, v in params.items() if k not in MULTITASKING_BOX}
    equations = MODEL.systems(MODEL.case(params))(False, MODEL.settings.nodes)
    return MODEL, others, equations


def multitasking_engine(n: int) -> dict:
    """The engine on the n x n multitasking (d, T) grid."""
    model, others, _ = _multitasking()
    d, T = _grid(MULTITASKING_BOX, n)
    start = time.perf_counter()
    out = diagram_block(model, others, "d", d, "T", T)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "points_per_s": n * n / seconds,
            "flagged": int((~out["converged"]).sum())}


def multitasking_baseline(points: int, seed: int = 0) -> dict:
    """A per-point ``scipy.optimize.root`` loop on ``points`` random (d, T > 0) points: every
    start solved, each converged one classified and its f evaluated."""
    model, _, eq = _multitasking()
    tol = model.settings.tol
    rng = np.random.default_rng(seed)
    d = rng.uniform(*MULTITASKING_BOX["d"], points)
    T = rng.uniform(MULTITASKING_BOX["T"][1] / 99, MULTITASKING_BOX["T"][1], points)
    identity = np.eye(len(eq.variables))
    failed = flag_failed = starts = 0
    start = time.perf_counter()
    for dv, tv in zip(d, T, strict=True):
        p = {"d": np.array([dv]), "T": np.array([tv])}

        def G(x, p=p):
            return eq.F(x[:, None], p)[:, 0] - x

        def dG(x, p=p):
            return eq.jacobian(x[:, None], p)[0] - identity

        for x0 in eq.starts(p).values():
            sol = optimize.root(G, x0[:, 0], jac=dG, method="hybr", tol=1e-12)
            starts += 1
            flag_failed += not sol.success
            if not (sol.success or np.max(np.abs(sol.fun)) <= tol):
                failed += 1
                continue
            x = sol.x[:, None]
            classify(model.phase_list, eq.order_parameters(x, p), p)
            eq.thermodynamics(x, p)
    return {"points_per_s": points / (time.perf_counter() - start), "failed_starts": failed,
            "flag_failed_starts": flag_failed, "starts": starts}


def _warm_up_multitasking() -> None:
    model, others, _ = _multitasking()
    d, T = _grid(MULTITASKING_BOX, 6)
    diagram_block(model, others, "d", d, "T", T)
    multitasking_baseline(2)


# --- the section ------------------------------------------------------------------------------

def _row(name: str, points: int, engine: list[dict], baseline: list[dict]) -> dict:
    best, median = spread([r["points_per_s"] for r in engine])
    base_best, base_median = spread([r["points_per_s"] for r in baseline])
    ratio = median / base_median
    return {"row": name, "points": points,
            "seconds": statistics.median(r["seconds"] for r in engine),
            "points_per_s": median, "points_per_s_best": best,
            "baseline_points_per_s": base_median, "baseline_points_per_s_best": base_best,
            "baseline_points_per_s_all": [r["points_per_s"] for r in baseline],
            "points_per_s_all": [r["points_per_s"] for r in engine],
            "ratio": ratio, "ratio_best": best / base_best,
            "unconverged": max(r["flagged"] for r in engine),
            "baseline_failed_starts": baseline[-1]["failed_starts"],
            "baseline_starts": baseline[-1]["starts"],
            **({"baseline_flag_failed_starts": baseline[-1]["flag_failed_starts"]}
               if "flag_failed_starts" in baseline[-1] else {}),
            "target_ratio": TARGET_RATIO, "met": bool(ratio >= TARGET_RATIO)}


def run(quick: bool = False) -> dict:
    """Both rows: the engine on the grid and the baseline on a subset, interleaved repeats;
    best and median rates and the ratio of the medians."""
    repeats = 2 if quick else 3
    n_ags, n_mt = (100, 100) if quick else (200, 100)
    sub_ags, sub_mt = (60, 40) if quick else (400, 200)
    _warm_up_ags()
    _warm_up_multitasking()
    load = [load_average()]
    ags = interleaved({"engine": lambda: ags_engine(n_ags),
                       "baseline": lambda: ags_baseline(sub_ags)}, repeats)
    load.append(load_average())
    mt = interleaved({"engine": lambda: multitasking_engine(n_mt),
                      "baseline": lambda: multitasking_baseline(sub_mt)}, repeats)
    load.append(load_average())
    rows = {
        "ags": _row(f"AGS {n_ags}x{n_ags} (alpha, T)", n_ags**2, ags["engine"],
                    ags["baseline"]),
        "multitasking": _row(f"multitasking K={MULTITASKING_K} {n_mt}x{n_mt} (d, T)", n_mt**2,
                             mt["engine"], mt["baseline"]),
    }
    return {**rows["ags"], "rows": rows, "repeats": repeats, "nodes": NODES,
            "baseline_points": {"ags": sub_ags, "multitasking": sub_mt},
            "load_average": load}


def table(result: dict) -> str:
    """One row per diagram: engine best/median, baseline median (best), ratio of medians."""
    head = (f"{'row':32} {'points':>6} {'pts/s best':>10} {'median':>7} {'baseline':>9} "
            f"{'(best)':>7} {'ratio':>6} {'(best)':>7} {'target':>6} {'met':>4} {'flagged':>7} "
            f"{'failed starts':>13}")
    lines = [head]
    for r in result["rows"].values():
        lines.append(
            f"{r['row']:32} {r['points']:6d} {r['points_per_s_best']:10.0f} "
            f"{r['points_per_s']:7.0f} {r['baseline_points_per_s']:9.1f} "
            f"{r['baseline_points_per_s_best']:7.1f} {r['ratio']:5.1f}x {r['ratio_best']:6.1f}x "
            f"{r['target_ratio']:5.0f}x {'yes' if r['met'] else 'NO':>4} {r['unconverged']:7d} "
            f"{r['baseline_failed_starts']:6d}/{r['baseline_starts']:<6d}")
    load = ", ".join(f"{v:.2f}" for v in result["load_average"])
    lines.append(
        f"{result['repeats']} interleaved repeats (engine, baseline, ...); baseline on "
        f"{result['baseline_points']['ags']} / {result['baseline_points']['multitasking']} "
        f"random T > 0 points; ratio = median / median; flagged = grid points without a "
        f"selectable state; failed starts: AGS fsolve ier != 1, multitasking root residual > "
        f"tol ({result['rows']['multitasking'].get('baseline_flag_failed_starts', 0)} with "
        f"success False); 1-min load average {load} (shared 2-core machine: timings are noisy)")
    return "\n".join(lines)

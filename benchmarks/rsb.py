"""The T = 0 1RSB capacity α_c^1RSB(P) of the dense Hopfield network: solver time and cost.

:func:`theorylab.rsb.capacity_1rsb` at P = 3, 4 (not P = 2: its Newton continuation loses the
branch and the fixed-step bisection fallback takes ~30 000 evaluations, ~80 s): the solver time
(process CPU seconds and wall seconds, best of ``repeats`` calls, after one untimed call of the
compiled equations at both node counts so that the one-time derivation/compilation is not
counted), the equation evaluations the result reports, α_c^1RSB against the RS capacity
α_c^RS (spec §2.2, §6, §8), the continuation's bracket and the method. The machine is shared:
the 1-minute load average is reported.
"""

from __future__ import annotations

import os
import time

import numpy as np

from derivations import dense_hopfield_1rsb as derivation
from theorylab import rsb

REFERENCE = {2: 0.1381863, 3: 0.1534435, 4: 0.0381554, 6: 0.0014648}
"""α_c^1RSB(P) to 7 digits (tests/test_rsb.py; P = 2: Steffan & Kühn 0.138186)."""


def _warm_up(P: int) -> None:
    eq = derivation.equations(P, zero_temperature=True)
    x = np.array([0.9, 0.9] if P > 2 else [0.97, 0.99, 0.05, 1.4, 1.41])
    for outer, inner in (rsb.NODES, rsb.COARSE_NODES):
        eq.fixed_point(x, {"alpha": 0.1, "mu": 2.0}, outer=outer, inner=inner)


def run(quick: bool = False) -> list:
    """One row per P: solver CPU and wall seconds (best of repeats), evaluations, α_c^1RSB,
    α_c^RS, their ratio, the reference value, bracket and method."""
    orders, repeats = (3, 4), 1 if quick else 3
    rows = []
    for P in orders:
        _warm_up(P)
        best_cpu = best_wall = float("inf")
        for _ in range(repeats):
            cpu, wall = time.process_time(), time.perf_counter()
            capacity = rsb.capacity_1rsb(P)
            best_cpu = min(best_cpu, time.process_time() - cpu)
            best_wall = min(best_wall, time.perf_counter() - wall)
        rows.append({
            "P": P, "cpu_seconds": best_cpu, "wall_seconds": best_wall,
            "evaluations": capacity.evaluations, "alpha_c_1rsb": capacity.alpha_c,
            "alpha_c_rs": capacity.alpha_rs, "ratio": capacity.alpha_c / capacity.alpha_rs,
            "reference": REFERENCE[P], "bracket": list(capacity.bracket),
            "method": capacity.method, "load_average": os.getloadavg()[0],
        })
    return rows


def table(result: list) -> str:
    """The section as text."""
    lines = [f"{'P':>2} {'cpu s':>7} {'wall s':>7} {'evals':>6} {'alpha_c 1RSB':>13} "
             f"{'(reference)':>11} {'alpha_c RS':>11} {'1RSB/RS':>8}"]
    for row in result:
        lines.append(f"{row['P']:>2} {row['cpu_seconds']:>7.3f} {row['wall_seconds']:>7.3f} "
                     f"{row['evaluations']:>6} {row['alpha_c_1rsb']:>13.7f} "
                     f"{row['reference']:>11.7f} {row['alpha_c_rs']:>11.7f} "
                     f"{row['ratio']:>8.4f}")
    for row in result:
        lines.append(f"P={row['P']}: bracket [{row['bracket'][0]:.6g}, {row['bracket'][1]:.6g}]; "
                     f"{row['method']}")
    if result:
        lines.append(f"(1-min load average {result[-1]['load_average']:.1f}; solver time "
                     "excludes the one-time compilation of the equations)")
    return "\n".join(lines)

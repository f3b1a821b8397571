"""Scheduling overhead of a diagram sweep: the AGS grid's blocks on a 2-worker Dask
``LocalCluster`` and on 2 local processes, against the blocks' own compute time.

Each task is a block of grid rows of the dense Hopfield P = 2 (alpha, T) diagram, exactly as
``theorylab diagram`` cuts it (:func:`theorylab.equilibrium._row_blocks`), wrapped so that it
returns the seconds it computed. The overhead is the fraction of the workers' wall time not
spent computing::

    overhead = 1 - sum(task seconds) / (workers * wall seconds)

which counts scheduling, serialisation, result transfer and the idle tail of the last tasks.
The target is below 10 %. Needs the ``dask`` extra (the Dask row is skipped without it). The
cluster is started before the clock starts; its workers import and compile the equations
during a first, untimed sweep.
"""

from __future__ import annotations

import time

import numpy as np

from theorylab import sweep
from theorylab.equilibrium import _row_blocks, diagram_block

WORKERS = 2
TARGET = 0.10


def timed_block(**task) -> dict:
    """A diagram block and the seconds it took, in the worker."""
    start = time.perf_counter()
    out = dict(diagram_block(**task))
    out["seconds"] = np.asarray(time.perf_counter() - start)
    return out


def _tasks(n: int) -> list[dict]:
    alpha, T = np.linspace(0.0, 0.2, n), np.linspace(0.0, 1.5, n)
    return [{"model": "dense-hopfield", "others": {"P": 2}, "xname": "alpha", "x": alpha,
             "yname": "T", "y": T[b]} for b in _row_blocks(alpha.size, T.size)]


def _overhead(pool, tasks: list[dict]) -> dict:
    sweep.run(timed_block, tasks[:WORKERS], executor=pool)  # workers warm: imports, compiled maps
    start = time.perf_counter()
    parts = sweep.run(timed_block, tasks, executor=pool)
    wall = time.perf_counter() - start
    compute = float(sum(p["seconds"] for p in parts))
    return {"tasks": len(tasks), "wall_s": wall, "compute_s": compute,
            "overhead": 1.0 - compute / (WORKERS * wall)}


def run(quick: bool = False) -> dict:
    n = 60 if quick else 200
    tasks = _tasks(n)
    rows = {}
    with sweep.executor(WORKERS) as pool:
        rows["processes"] = _overhead(pool, tasks)
    try:
        import distributed  # noqa: F401
    except ImportError:
        rows["dask"] = None
    else:
        with sweep.executor(scheduler=f"local:{WORKERS}") as pool:
            rows["dask"] = _overhead(pool, tasks)
    return {"grid": f"{n}x{n}", "workers": WORKERS, "rows": rows}


def table(result: dict) -> str:
    lines = [f"AGS {result['grid']} diagram blocks on {result['workers']} workers "
             "(overhead = 1 - task seconds / (workers x wall); target < 10 %)",
             "executor        tasks   wall s  compute s  overhead  met"]
    for name, row in result["rows"].items():
        if row is None:
            lines.append(f"{name:<14}  skipped: pip install 'theorylab[dask]'")
            continue
        met = "yes" if row["overhead"] < TARGET else "NO"
        lines.append(f"{name:<14} {row['tasks']:>6} {row['wall_s']:>8.2f} {row['compute_s']:>10.2f}"
                     f"  {100 * row['overhead']:>7.1f}%  {met}")
    return "\n".join(lines)

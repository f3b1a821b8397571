"""Line tracing: the time to trace a diagram's transition lines end to end (section ``lines``).

For each preset below, every line of the model whose plane is the preset's diagram plane (and
that exists in its case, exactly the lines :meth:`theorylab.equilibrium.EquilibriumModel.diagram`
traces) is traced by :func:`theorylab.equilibrium.trace_line` over the preset's box, one line
after the other in this process. Reported per line: seconds (best and median of the repeats),
and per traced segment its number of points (found / total), its two ends (coordinates) and
why each end is where it is (the T = 0 point of the exact equations, a declared critical point,
the box, a cusp, ...).

* ``dense-hopfield`` ``ags`` (P = 2; alpha in [0, 0.2], T in [0, 1.5]), ``gardner-P3``
  (alpha in [0, 0.2], T in [0, 1.2]), ``gardner-P4`` (alpha in [0, 0.05], T in [0, 1.2]);
* ``multitasking`` ``storage-K2`` (d in [0, 1], T in [0, 1]).

The equations are derived and compiled before anything is timed (every node count, T = 0 and
T > 0). Repeats are interleaved over the presets (A B C D A B C D ...); the machine is shared
(two cores, other jobs running): medians are the numbers to compare. ``--quick`` traces the
``ags`` and ``storage-K2`` presets once.

What bounds it: locating the seeds. :func:`trace_line` locates the line at 6 values along each
axis (``model.line_point``: for a spinodal a single-point pseudo-arclength continuation to the
fold with a finite-difference Jacobian; for a first-order line a branch-extent scan, a 60-point
selection scan and a brentq refinement) *before* it checks whether the seed already lies on a
traced segment, so of the 12 seeds of a line that is one segment, one starts it and the others
are located only to be discarded. Locating the 12 seeds alone took 61-93 % of the time of
tracing the line (AGS retrieval-spinodal 68 %, retrieval-thermodynamic 72 %; P = 4 lines 61,
65, 77 and 93 %). The rest is the tracing itself (predictor-corrector on the augmented system,
one point at a time, and for a first-order line the check that its points are thermodynamic).
All of it is single-point work (cProfile of the three AGS lines: ~80 000 evaluations of the map
at one point each, ~0.3 ms a call, i.e. per-call numpy overhead, as in the grid benchmark's
baselines). The closed-form spin-glass line (P = 2) takes a fraction of a second.

Before the model kit (commit b561973) a diagram's lines were not traced: each was located at
25 values along its axis (:func:`theorylab.models.dense_hopfield._line_task` there), ≈ 40 s of
a 46 s AGS diagram; ``benchmarks/before_after.py`` times both in one session.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from benchmarks.grid import load_average
from theorylab.equilibrium import trace_line

PRESETS = (("dense-hopfield", "ags"), ("dense-hopfield", "gardner-P3"),
           ("dense-hopfield", "gardner-P4"), ("multitasking", "storage-K2"))
QUICK_PRESETS = (("dense-hopfield", "ags"), ("multitasking", "storage-K2"))


def plane(model_name: str, preset: str):
    """(model, fixed parameters, box {x: (lo, hi), y: (lo, hi)}, axis values, the lines of
    the plane) of a model's preset, as its diagram would trace them."""
    from theorylab.models import get

    model = get(model_name)
    spec = model.presets[preset]
    axes = {k: np.linspace(float(v.split(":")[0]), float(v.split(":")[1]),
                           int(v.split(":")[2]))
            for k, v in spec.items() if ":" in v}
    axes = {k: axes[k] for k in sorted(axes, key=[*model.diagram_axes,
                                                  *(p.name for p in model.parameters)].index)}
    (xname, x), (yname, y) = axes.items()
    fixed = {k: v for k, v in spec.items() if ":" not in v}
    params = model.validate({**fixed, xname: float(x[0]), yname: float(y[0])})
    others = {k: v for k, v in params.items() if k not in axes}
    case = model.case(others)
    names = [n for n, r in model.lines.items() if {r.along, r.solves_for} == {xname, yname}
             and (r.absent is None or r.absent(case) is None)]
    box = {xname: (float(x.min()), float(x.max())), yname: (float(y.min()), float(y.max()))}
    return model, others, box, axes, names


def warm_up(model, others, box) -> None:
    """Derive and compile the case's equations (T = 0 and T > 0, every node count): solve a
    few points of the box, one row at T = 0."""
    (xname, (x_lo, x_hi)), (yname, (y_lo, y_hi)) = box.items()
    x = np.linspace(x_lo, x_hi, 3)
    for yv in (y_lo, 0.5 * (y_lo + y_hi)):
        model.problem(others).solve({xname: x, yname: np.full(3, yv)})


def trace_preset(model, others, box, names) -> dict:
    """Each line traced: seconds and its segments (points, found, ends)."""
    out = {}
    for name in names:
        start = time.perf_counter()
        segments = trace_line(model, name, others, box)
        seconds = time.perf_counter() - start
        out[name] = {"seconds": seconds, "segments": [
            {"points": int(seg.a.size), "found": int(seg.found.sum()), "via": seg.via,
             "ends": list(seg.ends),
             "from": [float(seg.a[0]), float(seg.b[0])],
             "to": [float(seg.a[-1]), float(seg.b[-1])]} for seg in segments]}
    return out


def run(quick: bool = False) -> dict:
    """Every preset's lines traced, ``repeats`` interleaved rounds; best and median seconds."""
    presets = QUICK_PRESETS if quick else PRESETS
    repeats = 1 if quick else 3
    planes = {f"{m} {p}": plane(m, p) for m, p in presets}
    for model, others, box, _, _ in planes.values():
        warm_up(model, others, box)
    load = [load_average()]
    rounds: dict[str, list[dict]] = {key: [] for key in planes}
    for _ in range(repeats):
        for key, (model, others, box, _, names) in planes.items():
            rounds[key].append(trace_preset(model, others, box, names))
        load.append(load_average())
    result = {}
    for key, (_, others, box, _, names) in planes.items():
        lines = {}
        for name in names:
            seconds = [r[name]["seconds"] for r in rounds[key]]
            lines[name] = {"seconds_best": min(seconds), "seconds_median":
                           statistics.median(seconds), "seconds_all": seconds,
                           "segments": rounds[key][-1][name]["segments"]}
        totals = [sum(r[name]["seconds"] for name in names) for r in rounds[key]]
        result[key] = {"box": box, "fixed": {k: others[k] for k in others
                                             if k in ("P", "K", "protocol")},
                       "lines": lines, "total_best": min(totals),
                       "total_median": statistics.median(totals)}
    return {"presets": result, "repeats": repeats, "load_average": load}


def _point(xy: list[float]) -> str:
    return f"({xy[0]:.4g}, {xy[1]:.4g})"


def table(result: dict) -> str:
    """Per preset its total, per line its time and its segments' points and ends."""
    lines = []
    for key, r in result["presets"].items():
        box = ", ".join(f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in r["box"].items())
        lines.append(f"{key} ({box}): all lines {r['total_best']:.1f} s best, "
                     f"{r['total_median']:.1f} s median")
        for name, line in r["lines"].items():
            lines.append(f"  {name:28} {line['seconds_best']:6.2f} s best "
                         f"{line['seconds_median']:6.2f} s median, "
                         f"{len(line['segments'])} segment(s)")
            for seg in line["segments"]:
                lines.append(f"    {seg['found']:3d}/{seg['points']:<3d} points ({seg['via']}): "
                             f"{_point(seg['from'])} [{seg['ends'][0]}] -> {_point(seg['to'])} "
                             f"[{seg['ends'][1]}]")
    load = ", ".join(f"{v:.2f}" for v in result["load_average"])
    lines.append(f"{result['repeats']} interleaved round(s) over the presets; points = found / "
                 f"traced; 1-min load average {load} (shared 2-core machine: timings are noisy)")
    return "\n".join(lines)

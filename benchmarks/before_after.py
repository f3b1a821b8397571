"""``python -m benchmarks.before_after OLD_CHECKOUT [--quick] [--json]``: the dense Hopfield
diagram before and after the model kit, in one session.

A one-off measurement, not a benchmark section: ``OLD_CHECKOUT`` is a checkout of the code
before the kit (commit b561973, e.g. ``git worktree add /tmp/theorylab-before b561973``). Its
code runs in a child process (``PYTHONPATH`` and working directory set to the checkout, so
that its ``theorylab`` and ``derivations`` are imported, not this tree's); this process times
today's code. Both have their equations derived and compiled before anything is timed, then
take turns (old, new, baseline, old, new, baseline, ...), so that all see the same load:

* **grid**: the 200 x 200 AGS (alpha, T) grid, alpha in [0, 0.2], T in [0, 1.5]: old
  ``theorylab.models.dense_hopfield.diagram_block(2, alpha, T, 256)`` against today's
  :func:`benchmarks.grid.ags_engine`, and the per-point fsolve baseline of
  :func:`benchmarks.grid.ags_baseline` (400 random T > 0 points); best and median points/s,
  and engine / baseline (ratio of the medians) before and after.
* **lines**: for the ``ags``, ``gardner-P3`` and ``gardner-P4`` presets, the old diagram's line
  work, every line located at (up to) 25 values of its axis taken from the preset's grid
  (old ``_line_task``, as the old ``diagram`` did it), against today's lines traced end to end
  (:func:`benchmarks.lines.trace_preset`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.grid import AGS_BOX, ags_baseline, ags_engine, load_average, spread
from benchmarks.lines import plane, trace_preset, warm_up

_CHILD = r'''
import json, sys, time
import numpy as np
import theorylab
from theorylab.models import dense_hopfield as dh


def grid(n):
    alpha, T = np.linspace(0.0, 0.2, n), np.linspace(0.0, 1.5, n)
    start = time.perf_counter()
    out = dh.diagram_block(2, alpha, T, 256)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "points_per_s": n * n / seconds,
            "flagged": int((~out["converged"]).sum()),
            "phases": np.bincount(out["phase"] + 1, minlength=4).tolist()}


def lines(P, alpha, T):
    # the old diagram's line tasks: 25 values of each line's axis from the grid
    alpha, T = np.linspace(*alpha), np.linspace(*T)
    at = {"T": np.unique(T[np.linspace(0, T.size - 1, min(T.size, 25)).astype(int)]),
          "alpha": np.unique(alpha[np.linspace(0, alpha.size - 1,
                                               min(alpha.size, 25)).astype(int)])}
    out = {}
    for name, info in dh.MODEL.lines.items():
        start = time.perf_counter()
        points = [dh._line_task(name, P, info.along, float(v)) for v in at[info.along]]
        seconds = time.perf_counter() - start
        found = [p for p in points if p["found"]]
        out[name] = {"seconds": seconds, "values": len(points), "found": len(found),
                     "points": [[float(p["alpha"]), float(p["T"])] for p in found]}
    return out


for P in (2, 3, 4):  # derive and compile: both node counts, T = 0 and T > 0
    dh.diagram_block(P, np.linspace(0.0, 0.05, 4), np.linspace(0.0, 1.0, 4), 256)
print(json.dumps({"ready": theorylab.__file__}), flush=True)
for line in sys.stdin:
    task = json.loads(line)
    result = grid(task["n"]) if task["what"] == "grid" else lines(*task["args"])
    print(json.dumps(result), flush=True)
'''

PRESETS = ("ags", "gardner-P3", "gardner-P4")


class OldCode:
    """The old checkout's code in a child process, answering one task per line."""

    def __init__(self, checkout: Path):
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        self.process = subprocess.Popen([sys.executable, "-c", _CHILD], cwd=checkout, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        self.module = self._read()["ready"]
        if not Path(self.module).resolve().is_relative_to(checkout.resolve()):
            raise RuntimeError(f"the child imported {self.module}, not the old checkout")

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the old code's process ended")
        return json.loads(line)

    def ask(self, task: dict) -> dict:
        self.process.stdin.write(json.dumps(task) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def _state_of_tree() -> dict:
    """The commit and the uncommitted changes of today's tree (others may be editing it)."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              text=True).stdout.strip()

    return {"head": git("rev-parse", "--short", "HEAD"),
            "changed": git("status", "--porcelain", "--", "theorylab", "derivations")}


def measure(checkout: str | os.PathLike, quick: bool = False) -> dict:
    """Both measurements (see the module docstring); ``quick``: a 60 x 60 grid, 2 repeats,
    the ags preset's lines only."""
    import numpy as np

    from theorylab.equilibrium import diagram_block

    checkout = Path(checkout)
    repeats, n, subset = (2, 60, 60) if quick else (3, 200, 400)
    presets = PRESETS[:1] if quick else PRESETS
    old = OldCode(checkout)
    try:
        # today's code: derive and compile every case first
        for P in (2, 3, 4):
            diagram_block("dense-hopfield", {"P": P}, "alpha", np.linspace(0.0, 0.05, 4), "T",
                          np.linspace(0.0, 1.0, 4))
        ags_baseline(2)
        planes = {p: plane("dense-hopfield", p) for p in presets}
        for model, others, box, _, _ in planes.values():
            warm_up(model, others, box)
        load = [load_average()]
        grid = {"old": [], "new": [], "baseline": []}
        for _ in range(repeats):
            grid["old"].append(old.ask({"what": "grid", "n": n}))
            grid["new"].append(ags_engine(n))
            grid["baseline"].append(ags_baseline(subset))
        load.append(load_average())
        lines = {p: {"old": [], "new": []} for p in presets}
        for _ in range(repeats):
            for p, (model, others, box, axes, names) in planes.items():
                spec = [[float(v[0]), float(v[-1]), int(v.size)] for v in axes.values()]
                lines[p]["old"].append(old.ask({"what": "lines",
                                                "args": [int(others["P"]), *spec]}))
                lines[p]["new"].append(trace_preset(model, others, box, names))
            load.append(load_average())
    finally:
        old.close()
    return {"old_module": old.module, "tree": _state_of_tree(), "repeats": repeats,
            "grid": _grid_summary(grid, n, subset), "lines": _lines_summary(lines),
            "load_average": load}


def _grid_summary(grid: dict, n: int, subset: int) -> dict:
    out = {"points": n * n, "box": AGS_BOX, "baseline_points": subset}
    base_best, base_median = spread([r["points_per_s"] for r in grid["baseline"]])
    out["baseline"] = {"best": base_best, "median": base_median,
                       "all": [r["points_per_s"] for r in grid["baseline"]],
                       "failed_starts": grid["baseline"][-1]["failed_starts"]}
    for which in ("old", "new"):
        rates = [r["points_per_s"] for r in grid[which]]
        best, median = spread(rates)
        out[which] = {"best": best, "median": median, "all": rates,
                      "flagged": grid[which][-1]["flagged"],
                      "ratio": median / base_median, "ratio_best": best / base_best}
    out["old"]["phases"] = grid["old"][-1]["phases"]
    return out


def _lines_summary(lines: dict) -> dict:
    out = {}
    for preset, runs in lines.items():
        old_totals = [sum(v["seconds"] for v in r.values()) for r in runs["old"]]
        new_totals = [sum(v["seconds"] for v in r.values()) for r in runs["new"]]
        out[preset] = {
            "old": {"best": min(old_totals), "median": statistics.median(old_totals),
                    "lines": {k: {"seconds_median": statistics.median(
                        r[k]["seconds"] for r in runs["old"]), "found": v["found"],
                        "values": v["values"]} for k, v in runs["old"][-1].items()}},
            "new": {"best": min(new_totals), "median": statistics.median(new_totals),
                    "lines": {k: {"seconds_median": statistics.median(
                        r[k]["seconds"] for r in runs["new"]),
                        "segments": [(s["found"], s["points"]) for s in v["segments"]]}
                        for k, v in runs["new"][-1].items()}}}
    return out


def table(result: dict) -> str:
    g = result["grid"]
    b = g["baseline"]
    rows = [f"old code: {result['old_module']}; today's tree: {result['tree']['head']}"
            + (" with uncommitted changes to " + ", ".join(
                line.split()[-1] for line in result["tree"]["changed"].splitlines())
               if result["tree"]["changed"] else ""),
            f"AGS {g['points']} points; {result['repeats']} interleaved repeats (old, new, "
            "baseline)",
            f"  fsolve baseline ({g['baseline_points']} points): {b['median']:.1f} points/s "
            f"median ({b['best']:.1f} best; all {', '.join(f'{v:.1f}' for v in b['all'])})"]
    for which, label in (("old", "before (b561973)"), ("new", "after (model kit)")):
        r = g[which]
        rows.append(f"  {label:18} {r['best']:7.0f} points/s best {r['median']:7.0f} median; "
                    f"engine/baseline {r['ratio']:.1f}x median ({r['ratio_best']:.1f}x best; "
                    f"target >= 30x: {'met' if r['ratio'] >= 30 else 'NOT met'}); "
                    f"{r['flagged']} flagged")
    rows.append(f"  after / before: {g['new']['median'] / g['old']['median']:.2f} (medians)")
    rows.append("lines (seconds, all lines of the plane): before = located at 25 values of "
                "their axis; after = traced end to end")
    for preset, r in result["lines"].items():
        rows.append(f"  {preset:11} before {r['old']['median']:6.1f} s median "
                    f"({r['old']['best']:.1f} best), after {r['new']['median']:6.1f} s median "
                    f"({r['new']['best']:.1f} best)")
        for k, v in r["old"]["lines"].items():
            rows.append(f"    before {k:26} {v['seconds_median']:6.2f} s, {v['found']}/"
                        f"{v['values']} points found")
        for k, v in r["new"]["lines"].items():
            segs = ", ".join(f"{f}/{p}" for f, p in v["segments"])
            rows.append(f"    after  {k:26} {v['seconds_median']:6.2f} s, segments "
                        f"(found/points): {segs}")
    rows.append("1-min load average " + ", ".join(f"{v:.2f}" for v in result["load_average"])
                + " (shared 2-core machine: timings are noisy)")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.before_after",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("checkout", help="a checkout of the code before the model kit")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.checkout, args.quick)
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

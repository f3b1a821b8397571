"""The dense Hopfield network with one step of replica symmetry breaking: ``ansatz=1rsb``.

Spec ``shared/specs/dense-hopfield.md`` §6 and §8; paper: Albanese, Alemanno, Alessandrelli,
Barra, arXiv 2111.12997. The states are those of :mod:`theorylab.rsb` (its equations derived in
:mod:`derivations.dense_hopfield_1rsb`); this module turns them into the model's answers:

* **The thermodynamic state** at (alpha, T). Candidates: the 1RSB retrieval state (m > 0), the
  1RSB spin glass (m = 0; a proper 1RSB state, theta < 1, or mu finite at T = 0) and the
  paramagnet (q = 0, the same in RS and 1RSB). Where a 1RSB glass exists it replaces the
  paramagnet (below the static transition the paramagnet's free energy is below the glass's
  but it is not the equilibrium state: the replica free energy is *maximised* over theta, spec
  §6); the state is the candidate of lowest f among the rest (retrieval against the glass or
  the paramagnet, Gardner 1987). The reduced free energy f(theta) is maximised over the Parisi
  parameter at every state (:func:`theorylab.rsb.solve_1rsb`).
* **Lines** in (alpha, T) at given T: ``retrieval-spinodal``, the end of the 1RSB retrieval
  branch (T = 0: alpha_c^1RSB of :func:`theorylab.rsb.capacity_1rsb`, the fold at the edge of
  the mu-window; T > 0: the last alpha with a maximising 1RSB retrieval state, by bisection on
  existence), and ``retrieval-thermodynamic``, where f of the 1RSB retrieval state equals that
  of the competitor above (root of the difference along continued branches).

Every point reports how it was found; a state the solver did not find is reported as such,
never replaced by another ansatz.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping

import numpy as np
from scipy import optimize

from theorylab import rsb
from theorylab.results import Solution, package_version

LINES = ("retrieval-spinodal", "retrieval-thermodynamic")
BISECTION_TOL = 1e-4
"""Relative width of the bracket of a bisection on existence (T > 0 spinodal)."""
SCAN_POINTS = 12
"""alpha points of the scan that brackets the 1RSB thermodynamic transition."""


def _proper_glass(state: rsb.RSBState) -> bool:
    """A converged spin glass that breaks replica symmetry (theta < 1, or finite mu)."""
    return state.converged and not state.replica_symmetric


def _continue(P: int, alpha: float, T: float, phase: str,
              previous: rsb.RSBState | None) -> rsb.RSBState:
    """``solve_1rsb`` from the previous state where it is a proper 1RSB state (continuation,
    no scan; if that fails, a scan: next to RS a continuation can fail where the state exists);
    from its order parameters with a scan as fallback where it is RS; else a scan."""
    if previous is None or not previous.converged:
        return rsb.solve_1rsb(P, alpha, T, phase)
    if previous.replica_symmetric:
        return rsb.solve_1rsb(P, alpha, T, phase, start=previous) if math.isinf(
            previous.parisi) else rsb.solve_1rsb(P, alpha, T, phase)
    state = rsb.solve_1rsb(P, alpha, T, phase, start=previous)
    return state if state.converged else rsb.solve_1rsb(P, alpha, T, phase)


def _order_parameters(state: rsb.RSBState) -> dict[str, float]:
    ops = {"m": abs(state.m) if state.m > rsb.RETRIEVAL_OVERLAP * 1e-3 else 0.0,
           "q0": state.q0, "q1": state.q1, state.parisi_name: state.parisi}
    return {k: (0.0 if abs(v) < 1e-12 else float(v)) for k, v in ops.items()}


def _paramagnet(rs_model, P: int, alpha: float, T: float) -> Solution | None:
    """The paramagnet (q = 0 solves the 1RSB equations as the RS ones): the RS engine's
    branch, None where it has none (T = 0)."""
    for branch in rs_model.branches(P=P, alpha=alpha, T=T):
        if branch.phase == "paramagnet":
            return branch
    return None


def _state_dict(state: rsb.RSBState) -> dict[str, object]:
    return {"converged": state.converged,
            "free_energy": state.free_energy if state.converged else None,
            "order_parameters": _order_parameters(state) if state.converged else {},
            "residual": state.residual,
            "message": state.message}


def solve(rs_model, params: Mapping[str, object], phase: str | None) -> Solution:
    """The 1RSB state at one point (module docstring): a :class:`Solution` with order
    parameters m, q0, q1 and the Parisi parameter (theta, or mu = beta theta at T = 0)."""
    P, alpha, T = int(params["P"]), float(params["alpha"]), float(params["T"])
    reported = dict(params)
    if alpha == 0:
        return _no_glass_solution(rs_model, reported, phase)
    states = {ph: rsb.solve_1rsb(P, alpha, T, ph) for ph in rsb.PHASES}
    para = _paramagnet(rs_model, P, alpha, T) if T > 0 else None
    branches = {ph: _state_dict(s) for ph, s in states.items()}
    if para is not None:
        branches["paramagnet"] = {"converged": para.converged, "free_energy": para.free_energy,
                                  "order_parameters": {"m": 0.0, "q0": 0.0, "q1": 0.0},
                                  "message": para.message}
    evaluations = sum(s.evaluations for s in states.values())
    extras = {"ansatz": "1rsb", "branches": branches, "version": package_version()}
    if phase is not None:
        return _branch_solution(reported, phase, states, para, evaluations, extras)
    candidates: dict[str, float] = {}
    if states["retrieval"].converged:
        candidates["retrieval"] = states["retrieval"].free_energy
    glass = states["spin-glass"]
    if _proper_glass(glass) or (glass.converged and para is None):
        candidates["spin-glass"] = glass.free_energy
    elif para is not None and para.converged:
        candidates["paramagnet"] = float(para.free_energy)
    if not candidates:
        return Solution(model=rs_model.name, parameters=reported, order_parameters={},
                        free_energy=None, phase=None, converged=False, residual=math.inf,
                        iterations=evaluations, message="no 1RSB state found: "
                        + "; ".join(f"{ph}: {s.method}" for ph, s in states.items()),
                        extras=extras)
    best = min(candidates, key=candidates.get)
    why = ("thermodynamic state (1RSB): lowest f among the retrieval state and the glass (the "
           "paramagnet where no 1RSB glass exists)")
    return _branch_solution(reported, best, states, para, evaluations, extras, why)


def _branch_solution(reported, phase, states, para, evaluations, extras,
                     why: str | None = None) -> Solution:
    if phase == "paramagnet":
        if para is None:
            return Solution(model="dense-hopfield", parameters=reported, order_parameters={},
                            free_energy=None, phase=None, converged=False, residual=math.inf,
                            iterations=evaluations, extras=extras,
                            message="no paramagnet at T = 0 (the T = 0 equations hold q1 = 1)")
        return Solution(model="dense-hopfield", parameters=reported,
                        order_parameters={"m": 0.0, "q0": 0.0, "q1": 0.0},
                        free_energy=para.free_energy, phase="paramagnet",
                        converged=para.converged, residual=para.residual,
                        iterations=evaluations, energy=para.energy, extras=extras,
                        message=(why or "paramagnet branch") + "; q = 0 (RS and 1RSB agree)")
    state = states[phase]
    head = why or f"{phase} branch (1RSB)"
    return Solution(model="dense-hopfield", parameters=reported,
                    order_parameters=_order_parameters(state) if state.converged else {},
                    free_energy=state.free_energy if state.converged else None,
                    phase=phase if state.converged else None, converged=state.converged,
                    residual=state.residual, iterations=evaluations,
                    message=f"{head}; {state.message}", extras=extras)


def _no_glass_solution(rs_model, reported, phase) -> Solution:
    """alpha = 0 (no glass: the Curie-Weiss / P-spin ferromagnet): 1RSB is RS there."""
    rs = rs_model.solve(phase=phase, **{**reported, "ansatz": "rs"})
    return Solution(model=rs.model, parameters=reported, order_parameters=rs.order_parameters,
                    free_energy=rs.free_energy, phase=rs.phase, converged=rs.converged,
                    residual=rs.residual, iterations=rs.iterations, stable=rs.stable,
                    energy=rs.energy, extras={**rs.extras, "ansatz": "1rsb"},
                    message=rs.message + "; alpha = 0: no disorder, 1RSB reduces to RS")


# --- lines ------------------------------------------------------------------------------------

def _bisect_existence(exists: Callable[[float], bool], lo: float, hi: float,
                      tol: float) -> tuple[float, float]:
    """Shrink [lo, hi] (exists(lo), not exists(hi)) to a relative width tol."""
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if exists(mid) else (lo, mid)
    return lo, hi


def retrieval_spinodal(P: int, T: float, alpha_rs: float | None) -> dict:
    """alpha_c^1RSB(T): the end of the 1RSB retrieval branch (module docstring)."""
    if T == 0:
        cap = rsb.capacity_1rsb(P)
        found = math.isfinite(cap.alpha_c)
        return {"T": 0.0, "alpha": cap.alpha_c if found else None, "found": found,
                "m": cap.state.m, "q0": cap.state.q0, "mu": cap.state.parisi,
                "alpha_rs": cap.alpha_rs, "evaluations": cap.evaluations,
                "method": cap.method}
    if alpha_rs is None:
        return {"T": T, "alpha": None, "found": False,
                "message": "no RS retrieval spinodal at this T to start the 1RSB branch from"}
    last: dict[str, rsb.RSBState] = {}

    def exists(alpha: float) -> bool:
        state = _continue(P, alpha, T, "retrieval", last.get("state"))
        if state.converged:
            last["state"] = state
        return state.converged

    lo = 0.9 * alpha_rs
    if not exists(lo):
        return {"T": T, "alpha": None, "found": False,
                "message": f"no 1RSB retrieval state at alpha = {lo:g} (0.9 of the RS end)"}
    hi = 1.2 * alpha_rs
    while exists(hi):
        lo, hi = hi, 1.2 * hi
        if hi > 10 * alpha_rs:
            return {"T": T, "alpha": None, "found": False,
                    "message": "1RSB retrieval branch followed beyond 10 x the RS end"}
    lo, hi = _bisect_existence(exists, lo, hi, BISECTION_TOL)
    state = last["state"]
    return {"T": T, "alpha": lo, "found": True, "m": state.m, "q0": state.q0, "q1": state.q1,
            state.parisi_name: state.parisi, "alpha_rs": alpha_rs,
            "method": f"bisection on existence of a maximising 1RSB retrieval state, bracket "
                      f"[{lo:.7g}, {hi:.7g}]"}


def _competitor(rs_model, P: int, alpha: float, T: float,
                previous: rsb.RSBState | None) -> tuple[float, rsb.RSBState | None]:
    """f of the retrieval state's competitor: the 1RSB glass where it is proper (or at T = 0),
    else the paramagnet."""
    glass = _continue(P, alpha, T, "spin-glass", previous)
    if _proper_glass(glass) or (T == 0 and glass.converged):
        return glass.free_energy, glass
    para = _paramagnet(rs_model, P, alpha, T) if T > 0 else None
    if para is not None and para.converged:
        return float(para.free_energy), None
    return math.nan, None


def retrieval_thermodynamic(rs_model, P: int, T: float, alpha_end: float) -> dict:
    """alpha at which f of the 1RSB retrieval state equals its competitor's, below the
    branch end ``alpha_end``: scan (continued states), then Brent's root of the difference."""
    grid = np.linspace(0.3 * alpha_end, alpha_end * (1 - 1e-3), SCAN_POINTS)
    retrieval, glass = None, None
    rows = []
    for alpha in grid:
        retrieval = _continue(P, float(alpha), T, "retrieval", retrieval)
        f_other, glass = _competitor(rs_model, P, float(alpha), T, glass)
        diff = retrieval.free_energy - f_other if retrieval.converged else math.nan
        rows.append((float(alpha), diff, retrieval, glass))
    signs = [i for i in range(len(rows) - 1)
             if np.isfinite(rows[i][1]) and np.isfinite(rows[i + 1][1])
             and rows[i][1] < 0 <= rows[i + 1][1]]
    if not signs:
        diffs = ", ".join(f"{a:.4g}: {d:+.2e}" for a, d, *_ in rows)
        return {"T": T, "alpha": None, "found": False,
                "message": f"f_retrieval - f_competitor keeps its sign below the branch end "
                           f"(alpha: difference) {diffs}"}
    i = signs[0]

    def difference(alpha: float) -> float:
        state = _continue(P, alpha, T, "retrieval", rows[i][2])
        f_other, _ = _competitor(rs_model, P, alpha, T, rows[i][3])
        return state.free_energy - f_other if state.converged else math.nan

    alpha = optimize.brentq(difference, rows[i][0], rows[i + 1][0], xtol=1e-7)
    return {"T": T, "alpha": float(alpha), "found": True,
            "competitor": "spin-glass (1RSB)" if rows[i][3] is not None else "paramagnet",
            "method": "scan of f_retrieval - f_competitor along continued 1RSB states, Brent"}


DIAGRAM_TEMPERATURES = {"retrieval-spinodal": 3, "retrieval-thermodynamic": 1}
"""Temperatures at which a diagram with ansatz=1rsb locates each 1RSB line (from the lowest of
its T axis up to 30 % of its span, where 1RSB and RS differ; a 1RSB point at T > 0 costs
0.5-2 min of scans)."""


def add_lines(rs_model, ds, T_axis: np.ndarray, fixed: Mapping[str, object],
              temperatures: Mapping[str, int] | None = None):
    """The diagram ``ds`` (RS grid and lines) with the 1RSB lines at a few temperatures of
    ``T_axis`` (``temperatures``: how many per line, default :data:`DIAGRAM_TEMPERATURES`),
    as line variables the plots draw beside the RS ones (names ending in ``-1rsb``)."""
    counts = DIAGRAM_TEMPERATURES if temperatures is None else temperatures
    names = []
    for name in LINES:
        T_values = np.linspace(T_axis.min(), T_axis.min() + 0.3 * np.ptp(T_axis), counts[name])
        line = rs_model.line(name, **{**fixed, "ansatz": "1rsb", "T": T_values})
        key = f"{name}-1rsb"
        alpha = np.array([np.nan if p["alpha"] is None else p["alpha"] for p in line.points])
        found = np.array([bool(p["found"]) for p in line.points])
        ds[f"{key}__alpha"] = (f"{key}__point", alpha)
        ds[f"{key}__T"] = (f"{key}__point", T_values)
        ds[f"{key}__found"] = (f"{key}__point", found.astype(np.int8))
        ds[f"{key}__segment"] = (f"{key}__point", np.zeros(found.size, dtype=int))
        ds.attrs[f"{key}__segments"] = json.dumps([{
            "ends": ["sampled", "sampled"],
            "via": f"1RSB points at {counts[name]} temperature(s)"}])
        ds.attrs[f"{key}__points"] = json.dumps(line.points, default=str)
        names.append((key, rs_model.lines[name].kind))
    lines = [n for n in ds.attrs.get("lines", "").split(",") if n]
    kinds = [k for k in ds.attrs.get("line_kinds", "").split(",") if k]
    ds.attrs["lines"] = ",".join([*lines, *(n for n, _ in names)])
    ds.attrs["line_kinds"] = ",".join([*kinds, *(k for _, k in names)])
    ds.attrs["lines_1rsb"] = ",".join(n for n, _ in names)  # the grid and others stay RS
    ds.attrs["title"] = ds.attrs["title"].replace("(RS)", "(RS; 1RSB lines)")
    return ds

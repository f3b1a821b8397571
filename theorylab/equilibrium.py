"""The model kit for equilibrium theories: a model declares, the engine solves.

An equilibrium model (a replica-symmetric or mean-field free energy with saddle-point equations)
declares, in its own module and from its derivation:

* its **equations** for one discrete case, as a *system* (:class:`System`): solver variables with
  bounds (and any change of variables hidden inside), the fixed-point map ``F(x, params)`` over
  many points at once, its Jacobian, the free and internal energies, the order parameters, and
  named starting points;
* its **phases** (:class:`Phase`): which starts lead to it, a membership test on the order
  parameters, and the rules that make a branch *selectable* (converged, locally stable, and, where
  required, of non-negative entropy);
* its **lines** (:class:`LineRecipe`): each a kind with a recipe — the fold of a branch
  (``spinodal``), the free-energy crossing of a branch with the best of the others
  (``first-order``; where a competitor appears below the branch the line jumps onto that
  competitor's spinodal), or a stability eigenvalue of a branch crossing one (``continuous``);
* its verification points.

From that alone :class:`EquilibriumModel` provides ``solve``, ``branches``, vectorised solves of
every phase over many points with grid continuation (:func:`solve_points`), the thermodynamic
selection with the reasons why other branches were excluded, ``line`` (located along either
control axis), ``cut`` and ``diagram``. The module never imports a model.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from theorylab import continuation, gaussian, phases, saddle, sweep
from theorylab.model import LineInfo, Model
from theorylab.parameters import ParameterError
from theorylab.results import Comparison, Line, Solution, Verification, provenance

# A stability eigenvalue of the fixed-point map within this of one is marginal (a continuous
# transition, e.g. where the paramagnet and the spin glass meet): counted as stable.
MARGINAL = 1e-6
# A negative entropy within this of zero is rounding.
ENTROPY_TOLERANCE = 1e-9
# Why a branch was not selectable at a point (``<phase>_status``).
STATUS = ("selectable", "not converged", "locally unstable", "negative entropy")
SELECTABLE, NOT_CONVERGED, UNSTABLE, NEGATIVE_ENTROPY = range(4)


class System(Protocol):
    """The derived equations of one discrete case of a model, in solver variables.

    Arrays: ``x`` of shape (n, M) holds the n solver variables at M points; ``params`` maps each
    point parameter (e.g. ``alpha``, ``T``) to an array of shape (M,).
    """

    variables: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray

    def F(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """The fixed-point map, shape (n, M); NaN outside the equations' domain."""

    def jacobian(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """dF_i/dx_j, shape (M, n, n)."""

    def thermodynamics(self, x: np.ndarray,
                       params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Free energy f and internal energy u per spin, shape (M,) each."""

    def order_parameters(self, x: np.ndarray,
                         params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's order parameters (name -> array of shape (M,))."""

    def starts(self, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Named starting points (name -> array of shape (n, M)); a start named ``phase`` or
        ``phase:variant`` is continued over grids as a branch of that phase."""


@dataclass(frozen=True)
class Phase:
    """A phase of a model.

    Attributes
    ----------
    name, description
        How the phase is called and what it is (with the paper's equation).
    member
        ``member(order_parameters, params) -> bool array``: whether a solved state belongs to
        this phase. States are classified by the first phase (in declaration order) whose test
        holds.
    needs_entropy
        Selectable only where its entropy is non-negative (e.g. an RS paramagnet below its
        entropy crisis is a branch, but not a thermodynamic state of Ising spins).
    """

    name: str
    description: str
    member: Callable[[Mapping[str, np.ndarray], Mapping[str, np.ndarray]], np.ndarray]
    needs_entropy: bool = False


@dataclass(frozen=True)
class LineRecipe(LineInfo):
    """A named line with the recipe the engine locates it by.

    Attributes (beyond :class:`theorylab.model.LineInfo`)
    ----------
    branch
        The phase whose branch defines the line (the branch that ends, crosses, or loses
        stability).
    seed
        ``seed(fixed_axis, fixed_value, case) -> (lam0, direction)`` or ``None``: where on the
        free axis the branch surely exists and which way its end lies (spinodal and continuous
        lines, and the range of a first-order scan). ``None``: no such line in this case
        (the recipe's ``absent`` says why).
    exact
        Optional closed form (derived): ``exact(fixed_axis, fixed_value, case) -> dict`` (the
        line's point) used instead of a numerical locator.
    absent
        ``absent(case) -> str | None``: why the line does not exist in a case (``None``: it does).
    """

    branch: str = ""
    seed: Callable[[str, float, Mapping], tuple[float, float] | None] | None = None
    exact: Callable[[str, float, Mapping], dict] | None = None
    absent: Callable[[Mapping], str | None] | None = None


# --- vectorised solves of every phase ----------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """Solver settings of a model (recorded in every diagram's attributes)."""

    tol: float = 1e-11
    patience: int = 30
    nodes: int = gaussian.DEFAULT_NODES
    coarse_nodes: int = 64
    threshold: float = 1e-6


def _phase_of_start(start: str) -> str:
    return start.split(":", 1)[0]


def classify(phase_list: Sequence[Phase], ops: Mapping[str, np.ndarray],
             params: Mapping[str, np.ndarray]) -> np.ndarray:
    """Index (into ``phase_list``) of the first phase whose membership test holds; -1: none."""
    size = np.size(next(iter(ops.values())))
    out = np.full(size, -1)
    for i, ph in enumerate(phase_list):
        out = np.where((out < 0) & np.asarray(ph.member(ops, params), dtype=bool), i, out)
    return out


def solve_points(systems: Callable[[bool, int], System], phase_list: Sequence[Phase],
                 params: Mapping[str, np.ndarray], *, temperature: str = "T",
                 shape: tuple[int, ...] | None = None, settings: Settings = Settings(),
                 starts: Mapping[str, np.ndarray] | None = None,
                 keep: Callable[[str, System], Callable | None] | None = None
                 ) -> dict[str, np.ndarray]:
    """Every phase's branch and the thermodynamic state at many points (T = 0 allowed).

    Parameters
    ----------
    systems
        ``systems(zero_temperature, nodes)`` -> the model's :class:`System` for this case.
    phase_list
        The model's phases.
    params
        Point parameters, flat arrays of equal length M (``temperature`` among them).
    shape
        When the points form a grid (C order), points whose start did not converge are retried
        from converged neighbours on the same branch (:func:`theorylab.phases.continue_over_grid`).
    starts
        Warm starts (start name -> solver variables, shape (n, M)) replacing the system's own.
    keep
        ``keep(start, system)`` -> an iteration predicate (:func:`theorylab.saddle.solve`) or
        ``None``: a start whose iterate fails it has left its branch.

    Returns
    -------
    dict of arrays of shape (M,): for each phase its solver variables ``<phase>_x0``...,
    order parameters ``<phase>_<name>``, ``<phase>_f``, ``_energy``, ``_entropy``, ``_eig``
    (largest real eigenvalue of dF/dx), ``_residual``, ``_iterations``, ``_converged``,
    ``_valid`` (selectable) and ``_status`` (index into :data:`STATUS`); the selected state
    ``phase`` (index, -1 where no branch is selectable) with its ``f``, order parameters,
    ``energy``, ``entropy``, ``eig``, ``residual``, ``iterations``, ``converged``, ``stable``.
    Where a phase was reached from several starts, the lowest-f selectable one is kept.
    """
    T = np.asarray(params[temperature], dtype=float)
    M = T.size
    names = [ph.name for ph in phase_list]
    out: dict[str, np.ndarray] = {}
    op_names: list[str] = []
    zero = T == 0
    for is_zero in (True, False):
        idx = np.flatnonzero(zero == is_zero)
        if idx.size == 0:
            continue
        sys_ = systems(is_zero, settings.nodes)
        rough = systems(is_zero, settings.coarse_nodes)
        p = {k: np.asarray(v, dtype=float)[idx] for k, v in params.items()}
        sub_shape = None
        if shape is not None and len(shape) == 2 and shape[0] == 1:
            sub_shape = (1, idx.size)  # a cut: its points at T = 0 or T > 0 stay a line
        elif shape is not None and len(shape) == 2:
            rows = np.flatnonzero((zero.reshape(shape) == is_zero).all(axis=1))
            if rows.size * shape[1] == idx.size:
                sub_shape = (rows.size, shape[1])
        own = sys_.starts(p)
        for start, x0 in own.items():
            if starts is not None and start in starts:
                x0 = np.asarray(starts[start])[:, idx]
            target = names.index(_phase_of_start(start))

            def on_branch(x, q, target=target, sys_=sys_):
                return classify(phase_list, sys_.order_parameters(x, q), q) == target

            options = {"tol": settings.tol, "lower": sys_.lower, "upper": sys_.upper,
                       "patience": settings.patience,
                       "keep": keep(start, sys_) if keep is not None else None}
            res = saddle.solve_coarse_to_fine(
                (rough.F, rough.jacobian), (sys_.F, sys_.jacobian), x0, p,
                polish_only_converged=sub_shape is not None, **options)
            if sub_shape is not None:
                # warm starts from neighbours are already close: the full map directly
                def warm(x0, q, sys_=sys_, options=options):
                    return saddle.solve(sys_.F, x0, q, exact=sys_.jacobian, **options)

                res = phases.continue_over_grid(warm, res, p, sub_shape, same_branch=on_branch)
            _record(out, phase_list, sys_, start, res, p, idx, M, op_names)
    best, fmin = phases.select({n: out[f"{n}_f"] for n in names},
                               {n: out[f"{n}_valid"] for n in names})
    out["phase"] = best
    out["f"] = fmin
    for key in (*op_names, "energy", "entropy", "eig", "residual", "iterations"):
        stack = np.stack([out[f"{n}_{key}"] for n in names])
        out[key] = np.where(best >= 0, stack[np.maximum(best, 0), np.arange(M)], np.nan)
    out["converged"] = best >= 0
    out["stable"] = out["eig"] < 1.0 + MARGINAL
    return out


def _record(out: dict, phase_list: Sequence[Phase], sys_: System, start: str,
            res: saddle.FixedPointResult, p: Mapping[str, np.ndarray], idx: np.ndarray, M: int,
            op_names: list[str]) -> None:
    """Store one start's solutions at points ``idx`` under the phase each was classified into,
    where it is better (selectable over not, then lower f) than what that phase holds. Where
    the start did not converge, its residual is reported for the phase it was started in, if
    that phase holds nothing there."""
    ops = sys_.order_parameters(res.x, p)
    op_names.extend(k for k in ops if k not in op_names)
    f, u = sys_.thermodynamics(res.x, p)
    T = p.get("T")
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = np.where(T > 0, (u - f) / T, 0.0) if T is not None else np.zeros_like(f)
    label = classify(phase_list, ops, p)
    ok = res.converged & np.isfinite(f) & (label >= 0)
    eig = np.full(idx.size, np.nan)
    if ok.any():
        eig[ok] = saddle.stability(sys_.F, res.x[:, ok], saddle.subset(p, ok),
                                   exact=sys_.jacobian)
    target = _phase_of_start(start)
    for i, ph in enumerate(phase_list):
        name = ph.name
        if f"{name}_f" not in out:
            for key in ("f", "energy", "entropy", "eig", "residual", "iterations"):
                out[f"{name}_{key}"] = np.full(M, np.nan)
            out[f"{name}_converged"] = np.zeros(M, dtype=bool)
            out[f"{name}_valid"] = np.zeros(M, dtype=bool)
            out[f"{name}_status"] = np.full(M, NOT_CONVERGED)
        mine = ok & (label == i)
        status = np.where(~(eig < 1.0 + MARGINAL), UNSTABLE, np.where(
            ph.needs_entropy & (entropy < -ENTROPY_TOLERANCE), NEGATIVE_ENTROPY, SELECTABLE))
        valid = mine & (status == SELECTABLE)
        held_valid = out[f"{name}_valid"][idx]
        held_f = out[f"{name}_f"][idx]
        better = mine & ((valid & ~held_valid) | ((valid == held_valid) & ~(f >= held_f)))
        report = better | ((name == target) & ~out[f"{name}_converged"][idx])
        where = idx[better]
        for j, xj in enumerate(res.x):
            out.setdefault(f"{name}_x{j}", np.full(M, np.nan))[where] = xj[better]
        for k, v in ops.items():
            out.setdefault(f"{name}_{k}", np.full(M, np.nan))[where] = v[better]
        for key, value in (("f", f), ("energy", u), ("entropy", entropy), ("eig", eig),
                           ("valid", valid), ("status", status)):
            out[f"{name}_{key}"][where] = value[better]
        out[f"{name}_converged"][where] = True
        out[f"{name}_residual"][idx[report]] = res.residual[report]
        out[f"{name}_iterations"][idx[report]] = res.iterations[report]


def solution_at(model: str, parameters: Mapping[str, object], phase_list: Sequence[Phase],
                order_parameters: Sequence[str], data: Mapping[str, np.ndarray],
                name: str | None, *, j: int = 0, no_state: str = "no selectable state"
                ) -> Solution:
    """A :class:`Solution` from :func:`solve_points` output at point ``j``: the branch of phase
    ``name``, or (``None``) the thermodynamic state with the reasons why lower-f branches were
    not selected."""
    names = [ph.name for ph in phase_list]
    excluded = []
    if name is None:
        idx = int(data["phase"][j])
        name, key = (names[idx], f"{names[idx]}_") if idx >= 0 else (None, "")
        f_sel = float(data["f"][j]) if idx >= 0 else np.inf
        for other in names:
            f_o = data[f"{other}_f"][j]
            status = int(data[f"{other}_status"][j])
            if other != name and data[f"{other}_converged"][j] and status != SELECTABLE and (
                    f_o < f_sel):
                excluded.append(f"{other} (f = {f_o:.8g}: {STATUS[status]})")
        what = "thermodynamic state: lowest free energy among selectable branches"
    else:
        key, what = f"{name}_", f"{name} branch"
    conv = name is not None and bool(data[f"{key}converged"][j])
    ops = {k: float(data[f"{key}{k}"][j]) for k in order_parameters if f"{key}{k}" in data}
    if name is None:
        message = (f"{no_state}: no branch converged that is locally stable (and, "
                   "where required, of non-negative entropy)")
        if excluded:
            message += "; converged but excluded: " + ", ".join(excluded)
    elif not conv:
        message = f"no converged {name} branch at this point"
    else:
        message = what + (f"; excluded below it: {', '.join(excluded)}" if excluded else "")
        status = int(data[f"{key}status"][j])
        if status != SELECTABLE:
            message += f" (this branch is {STATUS[status]})"

    def value(k: str) -> float | None:
        return float(data[f"{key}{k}"][j]) if conv else None

    eig = value("eig")
    # with no state, the first phase's start reports how far it got
    key_or_first = key or f"{names[0]}_"
    residual, iterations = (data[f"{key_or_first}{k}"][j] for k in ("residual", "iterations"))
    return Solution(
        model=model, parameters=dict(parameters), order_parameters=ops if conv else {},
        free_energy=value("f"), phase=name if conv else None, converged=conv,
        residual=float(residual), iterations=int(np.nan_to_num(iterations)),
        stable=None if eig is None else eig < 1.0 + MARGINAL, message=message,
        energy=value("energy"),
        extras={"stability_eigenvalue": eig, "entropy": value("entropy"),
                "excluded": excluded})



# --- lines: one point at a fixed value of one control parameter --------------------------------

@dataclass(frozen=True)
class Problem:
    """One case of a model set up for the engine: its systems, phases and solver settings, the
    point parameters held fixed, and how a start is kept on its branch."""

    systems: Callable[[bool, int], System]
    phase_list: tuple[Phase, ...]
    fixed: Mapping[str, float]
    settings: Settings = Settings()
    keep: Callable[[str, System], Callable | None] | None = None
    temperature: str = "T"
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def solve(self, points: Mapping[str, np.ndarray], shape=None, starts=None) -> dict:
        """:func:`solve_points` at the given point parameters (the fixed ones filled in)."""
        size = max(np.size(v) for v in points.values())
        params = {k: np.full(size, float(v)) for k, v in self.fixed.items()}
        params.update({k: np.broadcast_to(np.asarray(v, dtype=float), (size,))
                       for k, v in points.items()})
        return solve_points(self.systems, self.phase_list, params,
                            temperature=self.temperature, shape=shape,
                            settings=self.settings, starts=starts, keep=self.keep)

    def point_map(self, point: Mapping[str, float], free: str):
        """(x -> F(x), the system) at one point as a function of the ``free`` parameter, for
        continuation (NaN where the free parameter leaves its domain)."""
        zero = self.temperature in point and point[self.temperature] == 0
        sys_ = self.systems(bool(zero), self.settings.nodes)

        low, high = self.bounds.get(free, (-np.inf, np.inf))

        def F(x: np.ndarray, lam: float) -> np.ndarray:
            if not low <= lam <= high or (free == self.temperature and lam <= 0):
                return np.full(x.size, np.nan)
            params = {**{k: np.array([float(v)]) for k, v in {**self.fixed, **point}.items()},
                      free: np.array([lam])}
            with np.errstate(all="ignore"):
                return sys_.F(x[:, None], params)[:, 0]

        return F, sys_

    def branch_start(self, sys_: System, branch: str, point: Mapping[str, float]) -> np.ndarray:
        """The system's start of ``branch`` at one point, shape (n,)."""
        params = {k: np.array([float(v)]) for k, v in {**self.fixed, **point}.items()}
        starts = sys_.starts(params)
        key = branch if branch in starts else next(k for k in starts
                                                  if _phase_of_start(k) == branch)
        return np.asarray(starts[key], dtype=float)[:, 0]

    def values_at(self, sys_: System, x: np.ndarray, point: Mapping[str, float]) -> dict:
        """Order parameters of the state x (shape (n,)) at one point, as floats."""
        params = {k: np.array([float(v)]) for k, v in {**self.fixed, **point}.items()}
        return {k: float(v[0]) for k, v in sys_.order_parameters(x[:, None], params).items()}


def spinodal_point(problem: Problem, branch: str, fixed: str, value: float, free: str,
                   seed: tuple[float, float], upper: float) -> dict:
    """Where ``branch`` ends (its first fold) along ``free`` at ``fixed = value``, followed by
    pseudo-arclength continuation from ``seed = (lam0, direction)``."""
    lam0, direction = seed
    point = {fixed: value}
    F, sys_ = problem.point_map({**point, free: lam0}, free)
    x0 = problem.branch_start(sys_, branch, {**point, free: lam0})
    # A small first step that grows geometrically: ends span many decades (alpha_c(P)).
    result = continuation.follow(F, x0, lam0, lam_min=problem.bounds.get(free, (0.0,))[0],
                                 lam_max=upper, direction=direction, ds=1e-6, ds_max=0.02)
    names = [ph.name for ph in problem.phase_list]
    on = result.x.size and (classify(problem.phase_list, _ops(problem, sys_, result.x.T, point,
                                                               free, result.lam), {})
                            == names.index(branch)).all()
    if not result.folds or not on:
        return {fixed: value, free: None, "found": False,
                "message": f"no fold of the {branch} branch found ({result.message})"}
    fold = result.folds[0]
    where = {fixed: value, free: fold.lam}
    return {**where, **problem.values_at(sys_, fold.x, where), "found": bool(fold.converged),
            "residual": fold.residual}


def _ops(problem: Problem, sys_: System, x: np.ndarray, point: Mapping[str, float], free: str,
         lam: np.ndarray) -> dict:
    params = {k: np.full(lam.size, float(v)) for k, v in {**problem.fixed, **point}.items()}
    params[free] = np.asarray(lam, dtype=float)
    return sys_.order_parameters(x, params)


# What vanishes on a line of each zero-crossing kind: the stability eigenvalue of the branch
# minus one (continuous), or the branch's entropy (entropy: where an approximation's branch
# stops being admissible, e.g. the RS paramagnet's entropy crisis).
_TEST_QUANTITY = {"continuous": ("eig", 1.0, "stability eigenvalue crosses one"),
                  "entropy": ("entropy", 0.0, "entropy crosses zero")}


def zero_crossing_point(problem: Problem, kind: str, branch: str, fixed: str, value: float,
                        free: str, seed: tuple[float, float], upper: float,
                        samples: int = 64) -> dict:
    """Where the stability eigenvalue of ``branch`` crosses one (``kind`` continuous) or its
    entropy crosses zero (``kind`` entropy) along ``free``: scanned from ``seed`` towards its
    direction (warm starts), refined by brentq."""
    quantity, level, what = _TEST_QUANTITY[kind]
    lam0, direction = seed
    end = upper if direction > 0 else max(problem.bounds.get(free, (0.0,))[0], 0.0)
    grid = np.linspace(lam0, end, samples)
    data = problem.solve({fixed: value, free: grid}, shape=(1, samples))
    eig = np.where(data[f"{branch}_converged"], data[f"{branch}_{quantity}"], np.nan) - level
    sign = np.flatnonzero(np.isfinite(eig[:-1]) & np.isfinite(eig[1:])
                          & (np.sign(eig[:-1]) != np.sign(eig[1:])))
    if sign.size == 0:
        return {fixed: value, free: None, "found": False,
                "message": f"the {branch} branch's {what} nowhere for {free} between "
                           f"{lam0:g} and {end:g}"}
    i = sign[0]
    warm = _warm_starts(data, problem, i)

    def test(lam: float) -> float:
        d = problem.solve({fixed: value, free: np.array([lam])}, starts=warm)
        if not d[f"{branch}_converged"][0]:
            return np.nan
        return float(d[f"{branch}_{quantity}"][0] - level)

    lam = phases.crossing(test, grid[i], grid[i + 1])
    return {fixed: value, free: lam, "found": lam is not None}


def _warm_starts(data: Mapping[str, np.ndarray], problem: Problem, i: int) -> dict:
    """Solver variables of every converged branch at point i, as warm starts by phase name."""
    warm = {}
    for ph in problem.phase_list:
        n = ph.name
        keys = sorted((k for k in data if k.startswith(f"{n}_x") and k[len(n) + 2:].isdigit()),
                      key=lambda k: int(k[len(n) + 2:]))
        if data[f"{n}_converged"][i] and keys:
            warm[n] = np.array([[data[k][i]] for k in keys])
    return warm


def first_order_point(problem: Problem, branch: str, fixed: str, value: float, free: str,
                      lo: float, hi: float, samples: int = 60) -> dict:
    """Where ``branch`` stops being the thermodynamic state along ``free`` in [lo, hi].

    The selected phase is scanned on a grid (with grid continuation); at the first switch to or
    from ``branch``, the line is the free-energy crossing of ``branch`` with the new state
    (brentq on their difference, warm starts) where both are selectable on both sides; where the
    competitor is not selectable on the branch's side, it *appears* below the branch there: the
    line is that competitor's spinodal, located by continuation from its side.
    """
    names = [ph.name for ph in problem.phase_list]
    me = names.index(branch)
    grid = np.linspace(lo, hi, samples)
    data = problem.solve({fixed: value, free: grid}, shape=(1, samples))
    sel = data["phase"]
    switch = np.flatnonzero((sel[:-1] != sel[1:]) & ((sel[:-1] == me) | (sel[1:] == me))
                            & (sel[:-1] >= 0) & (sel[1:] >= 0))
    if switch.size == 0:
        if not (sel == me).any():
            where = "never"
        elif (sel == me).all():
            where = "everywhere"
        else:
            where = "only where no other state is selectable"
        return {fixed: value, free: None, "found": False,
                "message": f"{branch} is {where} the thermodynamic state for {free} in "
                           f"[{lo:g}, {hi:g}]"}
    i = switch[0]
    side_me, side_other = (i, i + 1) if sel[i] == me else (i + 1, i)
    other = names[sel[side_other]]
    if data[f"{other}_valid"][side_me] and data[f"{branch}_valid"][side_other]:
        warm = _warm_starts(data, problem, i)

        def difference(lam: float) -> float:
            d = problem.solve({fixed: value, free: np.array([lam])}, starts=warm)
            if not (d[f"{branch}_converged"][0] and d[f"{other}_converged"][0]):
                return np.nan
            return float(d[f"{branch}_f"][0] - d[f"{other}_f"][0])

        lam = phases.crossing(difference, grid[i], grid[i + 1])
        return {fixed: value, free: lam, "found": lam is not None, "kind": "first-order",
                "competitor": other, "via": "free-energy crossing"}
    if data[f"{other}_valid"][side_me]:
        # the branch itself ends (its spinodal) where the other state takes over
        return {fixed: value, free: None, "found": False,
                "message": f"the {branch} branch ends between {free} = {grid[i]:g} and "
                           f"{grid[i + 1]:g} while above {other}: see its spinodal line"}
    toward = np.sign(grid[side_me] - grid[side_other])
    F, sys_ = problem.point_map({fixed: value, free: grid[side_other]}, free)
    x0 = np.array([data[f"{other}_x{j}"][side_other] for j in range(len(sys_.variables))])
    followed = continuation.follow(F, x0, float(grid[side_other]), lam_min=min(lo, hi) - 1,
                                   lam_max=max(lo, hi) + 1, direction=toward, ds=1e-4,
                                   ds_max=abs(grid[1] - grid[0]) / 4)
    if not followed.folds:
        return {fixed: value, free: None, "found": False,
                "message": f"{other} appears below {branch} between {free} = {grid[i]:g} and "
                           f"{grid[i + 1]:g}, but its fold was not found ({followed.message})"}
    fold = followed.folds[0]
    return {fixed: value, free: fold.lam, "found": bool(fold.converged), "kind": "first-order",
            "competitor": other, "via": f"spinodal of {other} (it appears below {branch})"}


# --- the model kit -------------------------------------------------------------------------------

class EquilibriumModel(Model):
    """A model that declares equations, phases and lines; the engine does the rest.

    Subclasses set :attr:`phase_list`, :attr:`lines` (of :class:`LineRecipe`),
    :attr:`point_parameters` and :attr:`search_box`, and implement :meth:`systems` (and, for
    the independent check, ``simulate`` and :attr:`verify_points`).

    Class attributes
    ----------------
    phase_list : tuple of Phase
    point_parameters : tuple of str
        Control parameters that may differ from point to point of one solve (diagram axes,
        cut axes, the free parameter of a line); the others select the case (:meth:`case`).
    search_box : Mapping[str, float]
        Largest value of each point parameter that a line search follows a branch to.
    settings : Settings
    approximation : str
        The theory's approximation, named where it has no admissible state (e.g. ``RS``).
    metastable_marked : tuple of str
        Phases whose metastable regions (selectable, not selected) diagrams mark.
    """

    phase_list: tuple[Phase, ...] = ()
    point_parameters: tuple[str, ...] = ()
    search_box: Mapping[str, float] = {}
    settings: Settings = Settings()
    approximation: str = ""
    metastable_marked: tuple[str, ...] = ()

    @property
    def phases(self) -> dict[str, str]:  # type: ignore[override]
        return {ph.name: ph.description for ph in self.phase_list}

    # --- what a model implements ---------------------------------------------------------------
    def systems(self, case: Mapping[str, object]) -> Callable[[bool, int], System]:
        """``systems(case)(zero_temperature, nodes)``: the equations of one discrete case."""
        raise NotImplementedError

    def keep(self, start: str, system: System) -> Callable | None:
        """An iteration predicate keeping ``start`` on its branch (default: none)."""
        return None

    def no_state_hint(self, case: Mapping[str, object]) -> str:
        """What to say (appended) where the theory has no selectable state (default: nothing)."""
        return ""

    def case(self, params: Mapping[str, object]) -> dict[str, object]:
        """The parameters that select the equations (those that are not point parameters)."""
        return {k: v for k, v in params.items() if k not in self.point_parameters}

    # --- the engine's side ---------------------------------------------------------------------
    def problem(self, params: Mapping[str, object]) -> Problem:
        """The engine's view of the case ``params`` belongs to (point parameters fixed)."""
        case = self.case(params)
        fixed = {k: float(v) for k, v in params.items() if k in self.point_parameters}
        bounds = {k: (self.parameter(k).low, self.parameter(k).high)
                  for k in self.point_parameters}
        return Problem(self.systems(case), self.phase_list, fixed, self.settings, self.keep,
                       bounds=bounds)

    def _solve_data(self, params: dict) -> dict:
        return self.problem(params).solve({k: np.array([params[k]])
                                           for k in self.point_parameters})

    def solve(self, phase: str | None = None, **params) -> Solution:
        params = self.validate(params)
        self.check_phase(phase)
        approximation = f"{self.approximation} " if self.approximation else ""
        solution = solution_at(self.name, params, self.phase_list, self.order_parameters,
                               self._solve_data(params), phase,
                               no_state=f"no selectable {approximation}state")
        if solution.phase is None and phase is None:
            return dataclasses.replace(solution, message=solution.message
                                       + self.no_state_hint(self.case(params)))
        return solution

    def branches(self, **params) -> list[Solution]:
        params = self.validate(params)
        data = self._solve_data(params)
        return [solution_at(self.name, params, self.phase_list, self.order_parameters, data,
                            ph.name)
                for ph in self.phase_list if data[f"{ph.name}_converged"][0]]

    def line(self, name: str, **params) -> Line:
        recipe = self.check_line(name)
        plane = (recipe.along, recipe.solves_for)
        given = [k for k in plane if k in params]
        if len(given) != 1:
            raise ParameterError(f"line {name} needs exactly one of {plane[0]} or {plane[1]} "
                                 "(a value, a list or a range); the other is located")
        fixed_axis = given[0]
        free = plane[1] if fixed_axis == plane[0] else plane[0]
        values = np.atleast_1d(params.pop(fixed_axis))
        for v in values:
            self.parameter(fixed_axis).check(float(v))
        others = self.validate({**params, fixed_axis: float(values[0]), free: float(
            self.parameter(free).low if np.isfinite(self.parameter(free).low) else 0.0)})
        others.pop(fixed_axis)
        others.pop(free)
        points = tuple(self.line_point(name, fixed_axis, float(v), others) for v in values)
        reported = {k: v for k, v in others.items() if k not in self.point_parameters
                    or v != self.parameter(k).default}
        return Line(model=self.name, line=name, kind=recipe.kind, parameters=reported,
                    points=points, message=recipe.description)

    def line_point(self, name: str, fixed_axis: str, value: float,
                   others: Mapping[str, object]) -> dict:
        """One point of line ``name`` at ``fixed_axis = value`` (the other plane axis free)."""
        recipe = self.lines[name]
        free = recipe.solves_for if fixed_axis == recipe.along else recipe.along
        case = self.case(others)
        why = recipe.absent(case) if recipe.absent is not None else None
        if why:
            return {fixed_axis: value, free: None, "found": False, "message": why}
        if recipe.exact is not None:
            return recipe.exact(fixed_axis, value, case)
        seed = recipe.seed(fixed_axis, value, case) if recipe.seed is not None else None
        if seed is None:
            return {fixed_axis: value, free: None, "found": False,
                    "message": f"{name} is not located at given {fixed_axis} in this case"}
        problem = self.problem({**others, fixed_axis: value})
        upper = float(self.search_box.get(free, 10.0))
        if recipe.kind == "spinodal":
            return spinodal_point(problem, recipe.branch, fixed_axis, value, free, seed, upper)
        if recipe.kind in _TEST_QUANTITY:
            return zero_crossing_point(problem, recipe.kind, recipe.branch, fixed_axis, value,
                                       free, seed, upper)
        end = spinodal_point(problem, recipe.branch, fixed_axis, value, free, seed, upper)
        lam0 = seed[0]
        stop = end[free] if end["found"] else (upper if seed[1] > 0 else 0.0)
        lo = lam0 + 1e-3 * (stop - lam0)
        hi = lam0 + (1 - 1e-6) * (stop - lam0)
        return first_order_point(problem, recipe.branch, fixed_axis, value, free, lo, hi)

    # --- diagrams and cuts ---------------------------------------------------------------------
    def diagram(self, axes, fixed, *, executor=None, store=None, progress=False):
        """Thermodynamic phase, every branch and every line of the diagram's plane over a grid.

        ``axes`` maps the two point parameters spanned (x first) to their values; ``fixed``
        holds the other parameters. The grid is split into blocks of rows (one task each:
        a vectorised solve from every start, then grid continuation); the lines whose plane is
        the diagram's are located at values along their axis.
        """
        import xarray as xr

        (xname, x), (yname, y) = ((k, np.asarray(v, dtype=float)) for k, v in axes.items())
        params = self.validate({**fixed, xname: float(x[0]), yname: float(y[0])})
        others = {k: v for k, v in params.items() if k not in (xname, yname)}
        # Derive and compile the equations here, before an executor forks its workers, so
        # they inherit them instead of each repeating the derivation.
        systems = self.systems(self.case(others))
        for zero in (True, False):
            systems(zero, self.settings.nodes)
            systems(zero, self.settings.coarse_nodes)
        blocks = [b for b in np.array_split(np.arange(y.size), min(y.size, 8)) if b.size]
        tasks = [{"model": self, "others": others, "xname": xname, "x": x,
                  "yname": yname, "y": y[b]} for b in blocks]
        parts = sweep.run(diagram_block, tasks, executor=executor, store=store,
                          progress=progress, description=f"{self.name} grid")
        data = {k: np.concatenate([p[k].reshape(-1, x.size) for p in parts]) for k in parts[0]}
        coords = {yname: (yname, y, {"long_name": self.parameter(yname).description}),
                  xname: (xname, x, {"long_name": self.parameter(xname).description})}
        ds = xr.Dataset({k: ((yname, xname), v) for k, v in data.items()}, coords=coords)
        case = self.case(others)
        names = [n for n, r in self.lines.items() if {r.along, r.solves_for} == {xname, yname}
                 and (r.absent is None or r.absent(case) is None)]
        line_tasks = []
        for n in names:
            r = self.lines[n]
            axis = x if r.along == xname else y
            sample = np.unique(axis[np.linspace(0, axis.size - 1, min(axis.size, 25))
                                    .astype(int)])
            line_tasks += [{"model": self, "name": n, "fixed_axis": r.along,
                            "value": float(v), "others": others} for v in sample]
        points = sweep.run(_line_task, line_tasks, executor=executor,
                           store=None if store is None else f"{store}/lines",
                           progress=progress, description="lines")
        for n in names:
            pts = [p for t, p in zip(line_tasks, points, strict=True) if t["name"] == n]
            for key in (xname, yname):
                ds[f"{n}__{key}"] = (f"{n}__point", np.array(
                    [float(p[key]) if p["found"] else np.nan for p in pts]))
        ds.attrs.update({
            "model": self.name, "title": self.diagram_title(others),
            "parameters": json.dumps(others), "axes": f"{xname},{yname}",
            "phases": ",".join(ph.name for ph in self.phase_list),
            "lines": ",".join(names), "line_kinds": ",".join(self.lines[n].kind for n in names),
            "needs_entropy": ",".join(ph.name for ph in self.phase_list if ph.needs_entropy),
            "metastable": ",".join(self.metastable_marked),
            "approximation": self.approximation,
            "solver": f"saddle.solve (Anderson-accelerated damped iteration, Newton polish, "
                      f"tol {self.settings.tol:g}) + grid continuation; lines by "
                      "pseudo-arclength continuation",
            "quadrature_nodes": str(self.settings.nodes),
            "unconverged_points": int((~data["converged"]).sum()),
            "no_branch_points": int(np.sum(~np.any([data[f"{ph.name}_converged"]
                                                    for ph in self.phase_list], axis=0))),
            **provenance()})
        return ds

    def cut(self, axis: str, values: Sequence[float], **fixed):
        """Every branch along a one-dimensional cut: an ``xarray.Dataset`` over ``axis``.

        Variables: for each phase its order parameters, ``f``, ``energy``, ``entropy``,
        ``eig``, ``converged``, ``valid`` and ``status`` (``<phase>_<name>``); the selected
        ``phase`` and its ``f``. ``attrs["events"]`` (JSON) lists where a branch appears or ends
        between two cut points (spinodals) and where two selectable branches' free energies
        cross (refined by linear interpolation of their difference).
        """
        import xarray as xr

        if axis not in self.point_parameters:
            raise ParameterError(f"a cut runs along one of {', '.join(self.point_parameters)} "
                                 f"(got {axis!r})")
        values = np.asarray(values, dtype=float)
        if values.size < 2:
            raise ParameterError(f"a cut needs at least two values of {axis}")
        for v in values:
            self.parameter(axis).check(float(v))
        params = self.validate({**fixed, axis: float(values[0])})
        others = {k: v for k, v in params.items() if k != axis}
        data = self.problem(others).solve({axis: values}, shape=(1, values.size))
        ds = xr.Dataset({k: (axis, v) for k, v in data.items()
                         if "_x" not in k or not k.rsplit("_x", 1)[1].isdigit()},
                        coords={axis: (axis, values,
                                       {"long_name": self.parameter(axis).description})})
        ds.attrs.update({"model": self.name, "axis": axis, "parameters": json.dumps(others),
                         "phases": ",".join(ph.name for ph in self.phase_list),
                         "order_parameters": ",".join(k for k in self.order_parameters
                                                      if f"{self.phase_list[0].name}_{k}"
                                                      in data),
                         "events": json.dumps(cut_events(data, self.phase_list, values, axis)),
                         "title": self.diagram_title(others), **provenance()})
        return ds

    def diagram_title(self, others: Mapping[str, object]) -> str:
        """The figure title of a diagram at the fixed parameters ``others``."""
        fixed = ", ".join(f"{k} = {v}" for k, v in others.items())
        return f"{self.title}" + (f" ({fixed})" if fixed else "")

    def plot_diagram(self, dataset, path) -> None:
        from theorylab import plot  # matplotlib only when drawing

        plot.phase_diagram(dataset, path)


def diagram_block(model: EquilibriumModel | str, others: Mapping[str, object], xname: str,
                  x: np.ndarray, yname: str, y: np.ndarray) -> dict[str, np.ndarray]:
    """One task of a diagram sweep: the grid x times y (y rows), flattened in C order.
    ``model`` is a model or a registered model's name."""
    m = _model(model)
    YY, XX = np.meshgrid(y, x, indexing="ij")
    return m.problem(others).solve({xname: XX.ravel(), yname: YY.ravel()}, shape=YY.shape)


def _model(model: EquilibriumModel | str) -> EquilibriumModel:
    if isinstance(model, str):
        from theorylab.models import get  # the registry, by name

        return get(model)
    return model


def _line_task(model: EquilibriumModel, name: str, fixed_axis: str, value: float,
               others: Mapping[str, object]) -> dict[str, np.ndarray]:
    """A line point as arrays (for :func:`theorylab.sweep.run` and its store)."""
    m = model
    point = m.line_point(name, fixed_axis, value, others)
    recipe = m.lines[name]
    return {k: np.asarray(np.nan if point.get(k) is None else point[k], dtype=float)
            for k in (recipe.along, recipe.solves_for, "found")}


# --- verification ------------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifyPoint:
    """A theory-vs-simulation point of a model.

    Attributes
    ----------
    theory
        Control parameters of the point.
    simulation
        Simulator parameters (system size, sweeps, start, ...).
    chains
        Independent runs.
    phase
        The branch compared (``None``: the thermodynamic state), e.g. the retrieval branch a
        chain started at the pattern samples, metastable or not.
    rows
        ``(theory quantity, simulation observable, allowance)``: a theory quantity is an order
        parameter's name or ``energy``; the allowance is the stated finite-size allowance.
    """

    theory: Mapping[str, object]
    simulation: Mapping[str, object]
    rows: tuple[tuple[str, str, float], ...]
    chains: int = 8
    phase: str | None = None


def verify_points(model: Model, points: Sequence[VerifyPoint],
                  progress: bool = False) -> Verification:
    """Theory against simulation: each row agrees when |theory - simulation| <= 3 stderr +
    its allowance."""
    from tqdm import tqdm

    rows = []
    for point in tqdm(points, disable=not progress, desc="verify"):
        theory = model.solve(phase=point.phase, **point.theory)
        sim = model.simulate(seeds=point.chains, seed=1, **point.theory, **point.simulation)
        shown = {**point.theory, **{k: v for k, v in point.simulation.items()
                                    if k in ("N", "protocol", "start")}}
        for quantity, observable, allowance in point.rows:
            value = theory.energy if quantity == "energy" else theory.order_parameters[quantity]
            est = sim.observables[observable]
            rows.append(Comparison(point=shown, quantity=observable, theory=float(value),
                                   simulation=est.mean, stderr=est.stderr,
                                   allowance=allowance))
    return Verification(model=model.name, rows=tuple(rows))


def cut_events(data: Mapping[str, np.ndarray], phase_list: Sequence[Phase],
               values: np.ndarray, axis: str) -> list[dict]:
    """Branch ends (a branch converges on one side of an interval and not on the other: a
    spinodal, or the edge of the equations' domain) and
    free-energy crossings of selectable branches along a cut."""
    events = []
    names = [ph.name for ph in phase_list]
    for n in names:
        conv = data[f"{n}_converged"]
        for i in np.flatnonzero(conv[:-1] != conv[1:]):
            events.append({"kind": "branch-end", "branch": n, axis: float(
                0.5 * (values[i] + values[i + 1])), "between": [float(values[i]),
                                                                float(values[i + 1])],
                "appears": bool(conv[i + 1])})
    for a, n in enumerate(names):
        for o in names[a + 1:]:
            both = data[f"{n}_valid"] & data[f"{o}_valid"]
            diff = np.where(both, data[f"{n}_f"] - data[f"{o}_f"], np.nan)
            sign = np.sign(diff)
            # a change of sign between two points, or an exact zero between opposite signs
            between = np.flatnonzero(sign[:-1] * sign[1:] < 0)
            at = 1 + np.flatnonzero((sign[1:-1] == 0) & (sign[:-2] * sign[2:] < 0))
            for i in between:
                t = diff[i] / (diff[i] - diff[i + 1])
                events.append({"kind": "crossing", "branches": [n, o], axis: float(
                    values[i] + t * (values[i + 1] - values[i]))})
            events += [{"kind": "crossing", "branches": [n, o], axis: float(values[i])}
                       for i in at]
    return sorted(events, key=lambda e: e[axis])

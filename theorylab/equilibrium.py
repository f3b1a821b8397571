"""The model kit for equilibrium theories: a model declares, the engine solves.

An equilibrium model (a replica-symmetric or mean-field free energy with saddle-point equations)
declares, in its own module and from its derivation:

* its **equations** for one discrete case, as a *system* (:class:`System`): solver variables with
  bounds (and any change of variables hidden inside), the fixed-point map ``F(x, params)`` over
  many points at once, its Jacobian, the free and internal energies, the order parameters, and
  named starting points; an exact T = 0 system serves T = 0 and the small T > 0 below a
  temperature the finite-T system names;
* its **phases** (:class:`Phase`): which starts lead to it, a membership test on the order
  parameters, the rules that make a branch *selectable* (converged, locally stable, and, where
  required, of non-negative entropy), and where its equations have no state, with the reason
  (:class:`Undefined`);
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
STATUS = ("selectable", "not converged", "locally unstable", "negative entropy", "undefined")
SELECTABLE, NOT_CONVERGED, UNSTABLE, NEGATIVE_ENTROPY, UNDEFINED = range(5)


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

    # Optional. A finite-T system may set ``zero_temperature_below`` (a temperature): below it
    # the engine solves the T = 0 system instead (its starts; the phases it has no start for
    # stay with this one), because there the finite-T equations, as evaluated, are less
    # accurate than the exact T = 0 ones, which differ from them by O(T). A T = 0 system may
    # define ``entropy(x, params) -> (M,)``, the T -> 0 limit s0 of the entropy: the engine
    # reports it at T = 0, and f = e0 - T s0, u = e0 below ``zero_temperature_below``. A system
    # may define ``diagnostics(x, params) -> dict`` of further quantities of a state (e.g. an AT
    # eigenvalue ``lambda_at``, the test quantity of lines of kind "at"): recorded beside the
    # order parameters except on a diagram's grid.


@dataclass(frozen=True)
class Undefined:
    """Where a phase has no state because its equations are not defined, and why.

    ``where(case, params) -> bool array`` over the points (``case``: the parameters selecting
    the equations; ``params``: the point parameters, arrays); ``reason`` names the condition
    of the equations that fails (e.g. a logarithm's argument turning negative).
    """

    where: Callable[[Mapping[str, object], Mapping[str, np.ndarray]], np.ndarray]
    reason: str


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
    undefined
        Where the phase's equations have no state, and why (:class:`Undefined`, the first that
        holds is reported): such a branch is ``undefined`` there, not merely not converged.
    """

    name: str
    description: str
    member: Callable[[Mapping[str, np.ndarray], Mapping[str, np.ndarray]], np.ndarray]
    needs_entropy: bool = False
    undefined: tuple[Undefined, ...] = ()


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
    meets
        ``meets(case) -> ({param: value, ..., "why": str}, ...)``: points where the line is known
        to end although its equations degenerate there (e.g. a spinodal that closes into a
        critical point); a traced curve that stalls next to one is joined to it.
    scale
        ``scale(free_axis, case) -> float`` or ``None`` (1): the natural unit of the free
        parameter in a case; a spinodal is followed in it (e.g. the dense Hopfield load, whose
        critical value is ~1/(P-1)!, far below a first continuation step in alpha itself).
    """

    branch: str = ""
    meets: Callable[[Mapping], tuple[dict, ...]] | None = None
    scale: Callable[[str, Mapping], float] | None = None
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
                 keep: Callable[[str, System], Callable | None] | None = None,
                 only: Sequence[str] | None = None,
                 case: Mapping[str, object] | None = None,
                 diagnostics: bool = True) -> dict[str, np.ndarray]:
    """Every phase's branch and the thermodynamic state at many points (T = 0 allowed).

    Points at T = 0, and at 0 < T below the finite-T system's ``zero_temperature_below``, are
    solved by the T = 0 system (:class:`System`); the phases it has no start for are solved by
    the finite-T one there too.

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
    only
        Solve only the starts of these phases (e.g. the two branches whose crossing is being
        refined); the others are reported as not converged.
    case
        The parameters selecting the equations, for the phases' :class:`Undefined` conditions.
    diagnostics
        Also record the quantities of the systems' optional ``diagnostics(x, params)`` (e.g. an
        AT eigenvalue) beside the order parameters; a diagram's grid leaves them out (they are
        not needed there and cost a quadrature per point).

    Returns
    -------
    dict of arrays of shape (M,): for each phase its solver variables ``<phase>_x0``...,
    order parameters ``<phase>_<name>``, ``<phase>_f``, ``_energy``, ``_entropy``, ``_eig``
    (largest real eigenvalue of dF/dx), ``_residual``, ``_iterations``, ``_converged``,
    ``_valid`` (selectable), ``_status`` (index into :data:`STATUS`) and ``_undefined`` (index
    into the phase's ``undefined``, -1 where it is defined); ``zero_temperature_equations``
    (the point was solved by the T = 0 system) and ``zero_temperature_below``; the selected state
    ``phase`` (index, -1 where no branch is selectable) with its ``f``, order parameters,
    ``energy``, ``entropy``, ``eig``, ``residual``, ``iterations``, ``converged``, ``stable``.
    Where a phase was reached from several starts, the lowest-f selectable one is kept.
    """
    M = max(np.size(v) for v in params.values())
    # a model without a temperature parameter (e.g. one at given inverse temperature beta, which
    # never reaches T = 0) is solved by its finite-T system everywhere
    T = (np.asarray(params[temperature], dtype=float) if temperature in params
         else np.ones(M))
    names = [ph.name for ph in phase_list]
    out: dict[str, np.ndarray] = {}
    op_names: list[str] = []
    below = (getattr(systems(False, settings.nodes), "zero_temperature_below", 0.0)
             if np.any(T > 0) else 0.0)
    zero = (T == 0) | (T < below)
    out["zero_temperature_equations"] = zero & (T > 0)
    out["zero_temperature_below"] = np.full(M, float(below))
    for is_zero in (True, False):
        idx = np.flatnonzero(zero == is_zero)
        if idx.size == 0:
            continue
        sys_ = systems(is_zero, settings.nodes)
        p = {k: np.asarray(v, dtype=float)[idx] for k, v in params.items()}
        _solve_starts(out, phase_list, systems, is_zero, p, idx, M, op_names, settings,
                      starts, keep, only, _sub_shape(shape, zero, is_zero, idx.size),
                      diagnostics)
        if is_zero and np.any(T[idx] > 0):
            # below the handover, the phases the T = 0 system has no start for (e.g. a
            # paramagnet, q = 0) stay with the finite-T system
            have = {_phase_of_start(k) for k in sys_.starts(p)}
            missing = [n for n in names if n not in have and (only is None or n in only)]
            cold = idx[T[idx] > 0]
            if missing:
                q = {k: np.asarray(v, dtype=float)[cold] for k, v in params.items()}
                _solve_starts(out, phase_list, systems, False, q, cold, M, op_names, settings,
                              starts, keep, missing, None, diagnostics)
    _mark_undefined(out, phase_list, case or {}, params, M)
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


def _sub_shape(shape, zero: np.ndarray, is_zero: bool, size: int) -> tuple[int, int] | None:
    """The grid (rows, columns) formed by the points one system (T = 0 or T > 0) solves, or
    ``None`` where they do not form one (they are then not continued over a grid)."""
    if shape is not None and len(shape) == 2 and shape[0] == 1:
        return (1, size)  # a cut: its points at T = 0 or T > 0 stay a line
    if shape is not None and len(shape) == 2:
        rows = np.flatnonzero((zero.reshape(shape) == is_zero).all(axis=1))
        if rows.size * shape[1] == size:
            return (rows.size, shape[1])
    return None


def _solve_starts(out: dict, phase_list: Sequence[Phase], systems, is_zero: bool,
                  p: Mapping[str, np.ndarray], idx: np.ndarray, M: int, op_names: list[str],
                  settings: Settings, starts, keep, only, sub_shape,
                  diagnostics: bool = True) -> None:
    """Solve the starts of one system (T = 0 or T > 0) at the points ``idx`` and record them
    (:func:`solve_points`)."""
    names = [ph.name for ph in phase_list]
    sys_ = systems(is_zero, settings.nodes)
    rough = systems(is_zero, settings.coarse_nodes)
    own = sys_.starts(p)
    if only is not None:
        own = {k: v for k, v in own.items() if _phase_of_start(k) in only}
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
        _record(out, phase_list, sys_, start, res, p, idx, M, op_names, is_zero, diagnostics)


def _mark_undefined(out: dict, phase_list: Sequence[Phase], case: Mapping[str, object],
                    params: Mapping[str, np.ndarray], M: int) -> None:
    """``<phase>_undefined`` (index into the phase's ``undefined``, -1: defined), and status
    ``undefined``, where a phase holds no state and its equations are declared undefined."""
    point = {k: np.broadcast_to(np.asarray(v, dtype=float), (M,)) for k, v in params.items()}
    for ph in phase_list:
        which = np.full(M, -1)
        for i, rule in enumerate(ph.undefined):
            which = np.where((which < 0) & np.asarray(rule.where(case, point), dtype=bool), i,
                             which)
        which = np.where(out[f"{ph.name}_converged"], -1, which)
        out[f"{ph.name}_undefined"] = which
        at = which >= 0
        out[f"{ph.name}_status"][at] = UNDEFINED
        out[f"{ph.name}_residual"][at] = np.nan
        out[f"{ph.name}_iterations"][at] = 0


def _thermodynamics(sys_: System, x: np.ndarray, p: Mapping[str, np.ndarray],
                    is_zero: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f, u and the entropy of states x. A finite-T system: s = (u - f)/T. The T = 0 system
    (also used below ``zero_temperature_below``): u = e0 and, with its T -> 0 entropy s0 where
    it defines one, s = s0 and f = e0 - T s0 (corrections O(T^2) in f, O(T) in u and s);
    without one, f = e0 and s = 0 at T = 0, unknown (NaN) at T > 0."""
    f, u = sys_.thermodynamics(x, p)
    T = p.get("T")
    if T is None:  # a model without a temperature parameter: no entropy from f and u
        return f, u, np.full_like(f, np.nan)
    if is_zero:
        s0 = (sys_.entropy(x, p) if hasattr(sys_, "entropy")
              else np.where(T > 0, np.nan, 0.0))
        return np.where(T > 0, f - T * s0, f), u, s0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return f, u, np.where(T > 0, (u - f) / T, 0.0)


def _record(out: dict, phase_list: Sequence[Phase], sys_: System, start: str,
            res: saddle.FixedPointResult, p: Mapping[str, np.ndarray], idx: np.ndarray, M: int,
            op_names: list[str], is_zero: bool, diagnostics: bool = True) -> None:
    """Store one start's solutions at points ``idx`` under the phase each was classified into,
    where it is better (selectable over not, then lower f) than what that phase holds. Where
    the start did not converge, its residual is reported for the phase it was started in, if
    that phase holds nothing there."""
    ops = sys_.order_parameters(res.x, p)
    if diagnostics and hasattr(sys_, "diagnostics"):
        ops = {**ops, **sys_.diagnostics(res.x, p)}
    op_names.extend(k for k in ops if k not in op_names)
    f, u, entropy = _thermodynamics(sys_, res.x, p, is_zero)
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
        # a lower f wins beyond rounding; on a tie the phase's own start wins (its state is
        # the one continued over grids and reported for that phase)
        tie = 1e-12 * np.maximum(1.0, np.abs(f))
        lower_f = ~(f >= held_f - tie) | ((name == target) & (f <= held_f + tie))
        better = mine & ((valid & ~held_valid) | ((valid == held_valid) & lower_f))
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
    undefined = name is not None and not conv and data[f"{key}undefined"][j] >= 0
    if name is None:
        message = (f"{no_state}: no branch converged that is locally stable (and, "
                   "where required, of non-negative entropy)")
        if excluded:
            message += "; converged but excluded: " + ", ".join(excluded)
    elif undefined:
        rule = phase_list[names.index(name)].undefined[int(data[f"{key}undefined"][j])]
        message = f"{name} undefined at this point: {rule.reason}"
    elif not conv:
        message = f"no converged {name} branch at this point"
    else:
        message = what + (f"; excluded below it: {', '.join(excluded)}" if excluded else "")
        status = int(data[f"{key}status"][j])
        if status != SELECTABLE:
            message += f" (this branch is {STATUS[status]})"

    cold = bool(data["zero_temperature_equations"][j])
    if cold and conv:
        message += ("; solved by the exact T = 0 equations: the temperature is below "
                    f"{float(data['zero_temperature_below'][j]):g}, where the finite-T "
                    "equations, as evaluated, are less accurate than the T = 0 ones (order "
                    "parameters O(T) from the finite-T state; f = e0 - T s0 with the T -> 0 "
                    "entropy s0, energy e0)")

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
                "excluded": excluded, "zero_temperature_equations": cold,
                "undefined": bool(undefined)})



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
    case: Mapping[str, object] = field(default_factory=dict)

    def zero_temperature_equations(self, T: float | None) -> bool:
        """Whether the temperature T is solved by the exact T = 0 equations: T = 0, or below
        the finite-T system's ``zero_temperature_below`` (:func:`solve_points`)."""
        if T is None or T < 0:
            return False
        return T == 0 or T < getattr(self.systems(False, self.settings.nodes),
                                     "zero_temperature_below", 0.0)

    def at_zero_temperature(self, *free: str) -> bool:
        """Whether the temperature is held where the exact T = 0 equations apply (T = 0, or
        below the finite-T system's ``zero_temperature_below``) while ``free`` parameters
        vary."""
        return (self.temperature not in free
                and self.zero_temperature_equations(self.fixed.get(self.temperature)))

    def solve(self, points: Mapping[str, np.ndarray], shape=None, starts=None,
              only=None, diagnostics: bool = True) -> dict:
        """:func:`solve_points` at the given point parameters (the fixed ones filled in)."""
        size = max(np.size(v) for v in points.values())
        params = {k: np.full(size, float(v)) for k, v in self.fixed.items()}
        params.update({k: np.broadcast_to(np.asarray(v, dtype=float), (size,))
                       for k, v in points.items()})
        return solve_points(self.systems, self.phase_list, params,
                            temperature=self.temperature, shape=shape,
                            settings=self.settings, starts=starts, keep=self.keep, only=only,
                            case=self.case, diagnostics=diagnostics)

    def point_map(self, point: Mapping[str, float], free: str):
        """(x -> F(x), the system) at one point as a function of the ``free`` parameter, for
        continuation (NaN where the free parameter leaves its domain)."""
        merged = {**self.fixed, **point}
        zero = (free != self.temperature
                and self.zero_temperature_equations(merged.get(self.temperature)))
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
                   seed: tuple[float, float], upper: float, scale: float = 1.0) -> dict:
    """Where ``branch`` ends (its first fold) along ``free`` at ``fixed = value``, followed by
    pseudo-arclength continuation from ``seed = (lam0, direction)``, in units of ``scale``
    (the free parameter's natural unit in this case, :class:`LineRecipe`)."""
    lam0, direction = seed
    point = {fixed: value}
    F, sys_ = problem.point_map({**point, free: lam0}, free)
    x0 = problem.branch_start(sys_, branch, {**point, free: lam0})
    # A small first step that grows geometrically: ends span many decades (alpha_c(P)).
    result = continuation.follow(lambda x, lam: F(x, lam * scale), x0, lam0 / scale,
                                 lam_min=problem.bounds.get(free, (0.0,))[0] / scale,
                                 lam_max=upper / scale, direction=direction, ds=1e-6,
                                 ds_max=0.02)
    names = [ph.name for ph in problem.phase_list]
    on = result.x.size and (classify(problem.phase_list, _ops(problem, sys_, result.x.T, point,
                                                               free, result.lam * scale), {})
                            == names.index(branch)).all()
    if not result.folds or not on:
        return {fixed: value, free: None, "found": False,
                "message": f"no fold of the {branch} branch found ({result.message})"}
    fold = result.folds[0]
    where = {fixed: value, free: fold.lam * scale}
    return {**where, **problem.values_at(sys_, fold.x, where), "found": bool(fold.converged),
            "residual": fold.residual, "_state": {branch: fold.x}}


def _ops(problem: Problem, sys_: System, x: np.ndarray, point: Mapping[str, float], free: str,
         lam: np.ndarray) -> dict:
    params = {k: np.full(lam.size, float(v)) for k, v in {**problem.fixed, **point}.items()}
    params[free] = np.asarray(lam, dtype=float)
    return sys_.order_parameters(x, params)


# What vanishes on a line of each zero-crossing kind: the stability eigenvalue of the branch
# minus one (continuous), the branch's entropy (entropy: where an approximation's branch
# stops being admissible, e.g. the RS paramagnet's entropy crisis), or its AT eigenvalue minus
# one (at: the RS state turns unstable against replica symmetry breaking; an order parameter
# ``lambda_at`` the model's systems report).
_TEST_QUANTITY = {"continuous": ("eig", 1.0, "stability eigenvalue crosses one"),
                  "entropy": ("entropy", 0.0, "entropy crosses zero"),
                  "at": ("lambda_at", 1.0, "AT eigenvalue crosses one")}


def zero_crossing_point(problem: Problem, kind: str, branch: str, fixed: str, value: float,
                        free: str, seed: tuple[float, float], upper: float,
                        samples: int = 64) -> dict:
    """Where the stability eigenvalue of ``branch`` crosses one (``kind`` continuous) or its
    entropy crosses zero (``kind`` entropy) along ``free``: scanned from ``seed`` towards its
    direction (warm starts), refined by brentq."""
    quantity, level, what = _TEST_QUANTITY[kind]
    lam0, direction = seed
    end = upper if direction > 0 else max(problem.bounds.get(free, (0.0,))[0], 0.0)
    grid = _scan_grid(lam0, end, samples)
    samples = grid.size
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
        d = problem.solve({fixed: value, free: np.array([lam])}, starts=warm, only=(branch,))
        if not d[f"{branch}_converged"][0]:
            return np.nan
        return float(d[f"{branch}_{quantity}"][0] - level)

    lam = phases.crossing(test, grid[i], grid[i + 1])
    if lam is None:
        # the branch did not converge somewhere inside the bracket (next to a symmetry-breaking
        # instability a start may leave its symmetric subspace): locate the line by Newton on
        # its augmented system inside the branch's invariant subspace instead
        return _located_in_subspace(problem, kind, branch, fixed, value, free,
                                    float(grid[i]), warm[branch][:, 0])
    return {fixed: value, free: lam, "found": True,
            "_state": _states(problem.solve({fixed: value, free: np.array([lam])},
                                            starts=warm), problem, (branch,))}


def _located_in_subspace(problem: Problem, kind: str, branch: str, fixed: str, value: float,
                         free: str, lam: float, x: np.ndarray) -> dict:
    """A line point by :func:`theorylab.curves.locate` from a converged state x of ``branch`` at
    ``free = lam`` next to it (the line's augmented system, in the branch's subspace)."""
    from theorylab import curves

    recipe = LineRecipe(kind, "", fixed, free, branch=branch)
    built = line_system(problem, recipe, {fixed: value, free: lam, "_state": {branch: x}},
                        fixed, free)
    if built is None:
        return {fixed: value, free: None, "found": False, "message": "refinement failed"}
    G, y0, embeds = built
    point = curves.locate(G, y0, "a", value)
    if not point.converged:
        return {fixed: value, free: None, "found": False,
                "message": f"refinement failed ({point.message})"}
    (state,) = _embedded(point.y[None], embeds)
    return {fixed: value, free: point.b, "found": True, "_state": {branch: state[:, 0]}}


def _scan_grid(lam0: float, end: float, samples: int) -> np.ndarray:
    """From lam0 to end: evenly spaced, and geometrically refined towards both ends (a
    crossing next to a bound, or a branch that reaches only a small way)."""
    span = end - lam0
    tail = np.geomspace(1e-5, 1.0, samples // 2)
    grid = np.unique(np.concatenate([np.linspace(lam0, end, samples), end - span * tail,
                                     lam0 + span * tail]))
    return grid if end > lam0 else grid[::-1]


def branch_extent(problem: Problem, branch: str, fixed: str, value: float, free: str,
                  seed: tuple[float, float], upper: float, samples: int = 64) -> float:
    """How far from ``seed`` along ``free`` the branch reaches: the first point where it did
    not converge, from a scan (vectorised solves with grid continuation) refined once between
    the last point it reached and the first it did not, or the end of the search range."""
    lam0, direction = seed
    end = upper if direction > 0 else max(problem.bounds.get(free, (0.0,))[0], 0.0)
    grid = _scan_grid(lam0, end, samples)
    for _ in range(2):
        data = problem.solve({fixed: value, free: grid}, shape=(1, grid.size))
        missing = np.flatnonzero(~data[f"{branch}_converged"][1:])
        if not missing.size:
            return float(grid[-1])
        k = missing[0] + 1
        reached, beyond = grid[k - 1], grid[k]
        grid = np.linspace(reached, beyond, samples)
    return float(beyond)


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
        return _crossing_point(problem, branch, other, fixed, value, free, grid[i],
                               grid[i + 1], _warm_starts(data, problem, i))
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
    at_fold = problem.solve({fixed: value, free: np.array([fold.lam])},
                            starts=_warm_starts(data, problem, side_me))
    f_branch = at_fold[f"{branch}_f"][0]
    f_other = float(sys_.thermodynamics(fold.x[:, None], {
        **{k: np.array([float(v)]) for k, v in problem.fixed.items()},
        fixed: np.array([value]), free: np.array([fold.lam])})[0][0])
    if f_other > f_branch:
        # it appears above the branch and crosses it before the grid point where it is below
        warm = _warm_starts(data, problem, side_other)
        warm[branch] = _warm_starts(at_fold, problem, 0)[branch]
        inside = fold.lam + 1e-9 * (grid[side_other] - fold.lam)
        return _crossing_point(problem, branch, other, fixed, value, free, inside,
                               float(grid[side_other]), warm)
    return {fixed: value, free: fold.lam, "found": bool(fold.converged), "kind": "first-order",
            "competitor": other, "via": f"spinodal of {other} (it appears below {branch})",
            "_state": {other: fold.x}}


def _crossing_point(problem: Problem, branch: str, other: str, fixed: str, value: float,
                    free: str, lo: float, hi: float, warm: Mapping[str, np.ndarray]) -> dict:
    """The free-energy crossing of two branches between lo and hi (brentq; both solved from
    warm starts at every step), with the branches' states for tracing."""

    def difference(lam: float) -> float:
        d = problem.solve({fixed: value, free: np.array([lam])}, starts=warm,
                          only=(branch, other))
        if not (d[f"{branch}_converged"][0] and d[f"{other}_converged"][0]):
            return np.nan
        return float(d[f"{branch}_f"][0] - d[f"{other}_f"][0])

    lam = phases.crossing(difference, lo, hi)
    if lam is None:
        return {fixed: value, free: None, "found": False,
                "message": f"the crossing of {branch} and {other} between {free} = {lo:g} and "
                           f"{hi:g} was not refined"}
    return {fixed: value, free: lam, "found": True, "kind": "first-order", "competitor": other,
            "via": "free-energy crossing",
            "_state": _states(problem.solve({fixed: value, free: np.array([lam])}, starts=warm),
                              problem, (branch, other))}


def _states(data: Mapping[str, np.ndarray], problem: Problem,
            names: Sequence[str]) -> dict[str, np.ndarray]:
    """Solver variables of the named branches at the single point of ``data``."""
    warm = _warm_starts(data, problem, 0)
    return {n: warm[n][:, 0] for n in names if n in warm}


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
                       bounds=bounds, case=case)

    def _solve_data(self, params: dict) -> dict:
        return self.problem(params).solve({k: np.array([params[k]])
                                           for k in self.point_parameters})

    def solve(self, phase: str | None = None, **params) -> Solution:
        params = self.validate(params)
        self.check_phase(phase)
        approximation = f"{self.approximation} " if self.approximation else ""
        solution = solution_at(self.name, params, self.problem(params).phase_list,
                               self.order_parameters, self._solve_data(params), phase,
                               no_state=f"no selectable {approximation}state")
        if solution.phase is None and phase is None:
            return dataclasses.replace(solution, message=solution.message
                                       + self.no_state_hint(self.case(params)))
        return solution

    def branches(self, **params) -> list[Solution]:
        params = self.validate(params)
        data = self._solve_data(params)
        phase_list = self.problem(params).phase_list
        return [solution_at(self.name, params, phase_list, self.order_parameters, data,
                            ph.name)
                for ph in phase_list if data[f"{ph.name}_converged"][0]]

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
        points = tuple({k: v for k, v in self.line_point(name, fixed_axis, float(v),
                                                          others).items()
                        if not k.startswith("_")} for v in values)
        reported = {k: v for k, v in others.items() if k not in self.point_parameters
                    or v != self.parameter(k).default}
        return Line(model=self.name, line=name, kind=recipe.kind, parameters=reported,
                    points=points, message=recipe.description)

    def line_point(self, name: str, fixed_axis: str, value: float,
                   others: Mapping[str, object]) -> dict:
        """One point of line ``name`` at ``fixed_axis = value`` (the other plane axis free)."""
        recipe = self.lines[name]
        free = recipe.solves_for if fixed_axis == recipe.along else recipe.along
        case = self.case({**others, fixed_axis: value})
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
            scale = recipe.scale(free, case) if recipe.scale is not None else 1.0
            return spinodal_point(problem, recipe.branch, fixed_axis, value, free, seed, upper,
                                  scale)
        if recipe.kind in _TEST_QUANTITY:
            return zero_crossing_point(problem, recipe.kind, recipe.branch, fixed_axis, value,
                                       free, seed, upper)
        lam0 = seed[0]
        stop = branch_extent(problem, recipe.branch, fixed_axis, value, free, seed, upper)
        lo = lam0 + 1e-3 * (stop - lam0)
        return first_order_point(problem, recipe.branch, fixed_axis, value, free, lo, stop)

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
        problem = self.problem(others)
        phase_list = problem.phase_list
        systems = problem.systems
        for zero in (True, False):
            systems(zero, self.settings.nodes)
            systems(zero, self.settings.coarse_nodes)
        tasks = [{"model": self, "others": others, "xname": xname, "x": x,
                  "yname": yname, "y": y[b]} for b in _row_blocks(x.size, y.size)]
        case = self.case(others)
        names = [n for n, r in self.lines.items() if {r.along, r.solves_for} == {xname, yname}
                 and (r.absent is None or r.absent(case) is None)]
        box = {xname: (float(x.min()), float(x.max())), yname: (float(y.min()), float(y.max()))}
        line_tasks = [{"model": self, "name": n, "others": others, "box": box} for n in names]
        store = sweep.as_store(store)
        parts, traced = sweep.run_each(
            [(diagram_block, tasks, store, f"{self.name} grid"),
             (_trace_task, line_tasks, None if store is None else store.sub("lines"), "lines")],
            executor=executor, progress=progress)
        data = {k: np.concatenate([p[k].reshape(-1, x.size) for p in parts]) for k in parts[0]}
        coords = {yname: (yname, y, {"long_name": self.parameter(yname).description}),
                  xname: (xname, x, {"long_name": self.parameter(xname).description})}
        ds = xr.Dataset({k: ((yname, xname), v) for k, v in data.items()}, coords=coords)
        for n, t in zip(names, traced, strict=True):
            found = t["found"].astype(bool)
            ds[f"{n}__{xname}"] = (f"{n}__point", t["a"])
            ds[f"{n}__{yname}"] = (f"{n}__point", t["b"])
            ds[f"{n}__found"] = (f"{n}__point", found.astype(np.int8))
            ds[f"{n}__segment"] = (f"{n}__point", t["segment"])
            ds.attrs[f"{n}__segments"] = str(t["segments"])
        ds.attrs.update({
            "model": self.name, "title": self.diagram_title(others),
            "parameters": json.dumps(others), "axes": f"{xname},{yname}",
            "log_axes": ",".join(a for a in (xname, yname) if a in self.log_axes),
            "phases": ",".join(ph.name for ph in phase_list),
            "lines": ",".join(names), "line_kinds": ",".join(self.lines[n].kind for n in names),
            "needs_entropy": ",".join(ph.name for ph in phase_list if ph.needs_entropy),
            "metastable": ",".join(self.metastable_marked),
            "approximation": self.approximation,
            "solver": f"saddle.solve (Anderson-accelerated damped iteration, Newton polish, "
                      f"tol {self.settings.tol:g}) + grid continuation; lines by "
                      "pseudo-arclength continuation",
            "quadrature_nodes": str(self.settings.nodes),
            "unconverged_points": int((~data["converged"]).sum()),
            "no_branch_points": int(np.sum(~np.any([data[f"{ph.name}_converged"]
                                                    for ph in phase_list], axis=0))),
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
        problem = self.problem(others)
        phase_list = problem.phase_list
        data = problem.solve({axis: values}, shape=(1, values.size))
        ds = xr.Dataset({k: (axis, v) for k, v in data.items()
                         if "_x" not in k or not k.rsplit("_x", 1)[1].isdigit()},
                        coords={axis: (axis, values,
                                       {"long_name": self.parameter(axis).description})})
        ds.attrs.update({"model": self.name, "axis": axis, "parameters": json.dumps(others),
                         "phases": ",".join(ph.name for ph in phase_list),
                         "order_parameters": ",".join(k for k in self.order_parameters
                                                      if f"{phase_list[0].name}_{k}" in data),
                         "events": json.dumps(cut_events(data, phase_list, values, axis)),
                         "title": self.diagram_title(others), **provenance()})
        return ds

    def diagram_title(self, others: Mapping[str, object]) -> str:
        """The figure title of a diagram at the fixed parameters ``others``."""
        fixed = ", ".join(f"{k} = {v}" for k, v in others.items())
        return f"{self.title}" + (f" ({fixed})" if fixed else "")

    def plot_diagram(self, dataset, path) -> list:
        from theorylab import plot  # matplotlib only when drawing

        return plot.phase_diagram(dataset, path)


def _row_blocks(nx: int, ny: int, points: int = 5000) -> list[np.ndarray]:
    """The grid's rows in blocks, one sweep task each: 8, or more of about ``points`` grid
    points each on large grids (a block's solve takes seconds, so scheduling costs little).
    Fixed by the grid alone, so every executor continues along the same blocks and gives the
    same numbers."""
    count = min(ny, max(8, -(-nx * ny // points)))
    return [b for b in np.array_split(np.arange(ny), count) if b.size]


def diagram_block(model: EquilibriumModel | str, others: Mapping[str, object], xname: str,
                  x: np.ndarray, yname: str, y: np.ndarray) -> dict[str, np.ndarray]:
    """One task of a diagram sweep: the grid x times y (y rows), flattened in C order.
    ``model`` is a model or a registered model's name."""
    m = _model(model)
    YY, XX = np.meshgrid(y, x, indexing="ij")
    return m.problem(others).solve({xname: XX.ravel(), yname: YY.ravel()}, shape=YY.shape,
                                   diagnostics=False)


def _model(model: EquilibriumModel | str) -> EquilibriumModel:
    if isinstance(model, str):
        from theorylab.models import get  # the registry, by name

        return get(model)
    return model


def _trace_task(model: EquilibriumModel, name: str, others: Mapping[str, object],
                box: Mapping[str, tuple[float, float]]) -> dict[str, np.ndarray]:
    """A traced line as arrays (for :func:`theorylab.sweep.run` and its store): the points of
    every segment in order (``segment`` numbers them), whether each is on the line, and the
    segments' ends as JSON."""
    segments = trace_line(model, name, others, box)
    if not segments:
        empty = np.array([], dtype=float)
        return {"a": empty, "b": empty, "found": empty.astype(bool),
                "segment": empty.astype(int), "segments": np.array("[]")}
    return {"a": np.concatenate([seg.a for seg in segments]),
            "b": np.concatenate([seg.b for seg in segments]),
            "found": np.concatenate([seg.found for seg in segments]),
            "segment": np.concatenate([np.full(seg.a.size, k)
                                       for k, seg in enumerate(segments)]),
            "segments": np.array(json.dumps([{"ends": list(seg.ends), "via": seg.via}
                                             for seg in segments]))}


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


# --- lines traced as curves ---------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    """A piece of a line traced as one curve: its points in order, and why it ends.

    ``found`` marks the points that are on the line as defined (for a first-order line: both
    branches selectable and no other state below them); a figure draws the line unbroken only
    through found points.
    """

    a: np.ndarray
    b: np.ndarray
    found: np.ndarray
    ends: tuple[str, str]
    via: str
    message: str


def _branch_functions(problem: Problem, sys_: System, a_name: str, b_name: str,
                      test: str = "entropy"):
    """F(x, a, b), dF/dx, f(x, a, b) and the test quantity ``test`` (the entropy, or an order
    parameter the system reports) of one point of ``sys_`` (for :mod:`theorylab.curves`);
    NaN outside the parameters' domains (and at T <= 0: the finite-T system)."""
    bounds = [problem.bounds.get(k, (-np.inf, np.inf)) for k in (a_name, b_name)]

    def params(a: float, b: float) -> dict | None:
        inside = all(lo <= v <= hi for v, (lo, hi) in zip((a, b), bounds, strict=True))
        if not inside or (problem.temperature in (a_name, b_name)
                          and (a if a_name == problem.temperature else b) <= 0):
            return None  # outside the domain, or T <= 0 on the finite-T equations
        return {**{k: np.array([float(v)]) for k, v in problem.fixed.items()},
                a_name: np.array([a]), b_name: np.array([b])}

    def F(x, a, b):
        p = params(a, b)
        if p is None:
            return np.full(x.size, np.nan)
        with np.errstate(all="ignore"):
            return sys_.F(x[:, None], p)[:, 0]

    def jac(x, a, b):
        p = params(a, b)
        if p is None:
            return np.full((x.size, x.size), np.nan)
        with np.errstate(all="ignore"):
            return sys_.jacobian(x[:, None], p)[0]

    def thermodynamics(x, a, b):
        """(f, entropy) of one state; NaN outside the parameters' or the variables' domain."""
        p = params(a, b)
        if p is None or np.any(x < sys_.lower) or np.any(x > sys_.upper):
            return np.nan, np.nan
        with np.errstate(all="ignore"):
            free, u = sys_.thermodynamics(x[:, None], p)
            T = p[problem.temperature][0]
            return float(free[0]), float((u[0] - free[0]) / T) if T > 0 else 0.0

    def f(x, a, b):
        return thermodynamics(x, a, b)[0]

    def quantity(x, a, b):
        if test == "entropy":
            return thermodynamics(x, a, b)[1]
        p = params(a, b)
        if p is None:
            return np.nan
        with np.errstate(all="ignore"):
            values = sys_.order_parameters(x[:, None], p)
            if test not in values:
                values = sys_.diagnostics(x[:, None], p)
            return float(values[test][0])

    return F, jac, f, quantity


def _subspace(F, x: np.ndarray, ab: Sequence[float], sys_: System,
              tol: float = 1e-8) -> tuple[list[list[int]], np.ndarray]:
    """The invariant subspace a branch's state lies in: components held by the map at a
    symmetry's fixed value 0 or at a bound (q = 0 of a paramagnet), and groups of components
    the map keeps equal (a symmetric mixture m_1 = m_2). The branch is traced inside it: a
    finite difference across a bound would leave the map's domain, and a symmetry-breaking
    instability (a pitchfork) is regular only there.

    Returns the groups of free components (each traced as one variable) and the state with the
    held components set exactly to their values. ``tol`` is loose enough for a state located
    next to a pitchfork, where the decaying component converges slowly (it is then set to its
    held value and the reduced branch is corrected by the tracer).
    """
    held = np.zeros(x.size, dtype=bool)
    exact = x.copy()
    image = F(x, *ab)
    for value in (np.zeros_like(x), sys_.lower, sys_.upper):
        at = ~held & (np.abs(x - value) <= tol) & (np.abs(image - value) <= tol)
        held |= at
        exact = np.where(at, value, exact)
    groups: list[list[int]] = []
    for i in np.flatnonzero(~held):
        for group in groups:
            j = group[0]
            if abs(x[i] - x[j]) <= tol and abs(image[i] - image[j]) <= tol:
                group.append(int(i))
                break
        else:
            groups.append([int(i)])
    return groups, exact


def _reduced(functions, x0: np.ndarray, groups: list[list[int]]):
    """The functions of a branch restricted to its invariant subspace (:func:`_subspace`):
    (F, dF/dz, f, test quantity) of the reduced state z (one variable per group) and the
    embedding z -> x."""
    F, jac, f, test = functions
    first = [g[0] for g in groups]
    # dz_g/dx summed over a group: column h of the reduced Jacobian adds the columns of group h
    columns = np.zeros((x0.size, len(groups)))
    for h, group in enumerate(groups):
        columns[group, h] = 1.0

    def embed(z):
        x = x0.copy()
        for value, group in zip(z, groups, strict=True):
            x[group] = value
        return x

    return (lambda z, a, b: F(embed(z), a, b)[first],
            lambda z, a, b: (jac(embed(z), a, b) @ columns)[first],
            lambda z, a, b: f(embed(z), a, b),
            lambda z, a, b: test(embed(z), a, b)), embed


def line_system(problem: Problem, recipe: LineRecipe, point: Mapping, a_name: str,
                b_name: str):
    """The augmented system of a located line point, its seed y0 and, per branch in y, its
    embedding (reduced state -> full state) and number of reduced variables (``None`` where the
    point carries no state to trace from).

    Each branch is traced in the invariant subspace its state lies in (:func:`_subspace`).
    """
    from theorylab import curves

    state = point.get("_state", {})
    if not state:
        return None
    sys_ = problem.systems(problem.at_zero_temperature(a_name, b_name), problem.settings.nodes)
    quantity, level, _ = _TEST_QUANTITY.get(recipe.kind, ("entropy", 0.0, ""))
    full = _branch_functions(problem, sys_, a_name, b_name, quantity)
    ab = [point[a_name], point[b_name]]
    reduced = []
    for x in state.values():
        groups, x = _subspace(full[0], x, ab, sys_)
        functions, embed = _reduced(full, x, groups)
        reduced.append((functions, np.array([x[g[0]] for g in groups]), embed))
    if recipe.kind == "first-order" and len(state) == 2:
        (g1, z1, e1), (g2, z2, e2) = reduced
        G = curves.crossing_system(g1[0], z1.size, g2[0], z2.size, g1[2], g2[2])
        return G, np.concatenate([z1, z2, ab]), ((e1, z1.size), (e2, z2.size))
    ((F, jac, _, test), z, embed), = reduced
    y0 = np.concatenate([z, ab])
    n = z.size
    if recipe.kind in ("spinodal", "first-order"):
        G = dataclasses.replace(curves.fold_system(F, n, jac, seed=y0),
                                stop=_fold_of_unstable_branch(jac, n))
    elif recipe.kind == "continuous":
        G = curves.eigenvalue_system(full[0], len(sys_.variables), full[1],
                                     embed=curves.Subspace(F, n, embed))
    else:
        def equations(y):
            z, a, b = y[:n], y[n], y[n + 1]
            return np.append(F(z, a, b) - z, test(z, a, b) - level)

        def turned_unstable(previous: np.ndarray, current: np.ndarray) -> str | None:
            """A zero crossing holds on the branch only while it is locally stable: past a fold
            the augmented system goes on along the unstable branch."""
            with np.errstate(all="ignore"):
                J = jac(current[:n], current[n], current[n + 1])
            if J.size == 0:  # every variable held (e.g. a paramagnet): nothing to lose
                return None
            radius = np.max(np.abs(np.linalg.eigvals(J))) if np.all(np.isfinite(J)) else np.inf
            return "branch unstable" if radius >= 1.0 + MARGINAL else None

        G = curves.System(equations, kind=recipe.kind, size=n + 2, stop=turned_unstable)
    return G, y0, ((embed, n),)


def _fold_of_unstable_branch(jac, n: int):
    """Stop rule of a traced spinodal: at a fold of a locally stable branch one eigenvalue of
    dF/dx is one and the others lie inside the unit circle; where a second one reaches one the
    curve has passed (through a cusp) onto a fold between two unstable branches, which is no
    branch's end a state could reach."""
    def stop(previous: np.ndarray, current: np.ndarray) -> str | None:
        if n < 2:
            return None
        with np.errstate(all="ignore"):
            J = jac(current[:n], current[n], current[n + 1])
        if not np.all(np.isfinite(J)):
            return None
        second = np.sort(np.abs(np.linalg.eigvals(J)))[-2]
        return "fold of an unstable branch" if second >= 1.0 + 1e-3 else None

    return stop


def trace_line(model: EquilibriumModel, name: str, others: Mapping[str, object],
               box: Mapping[str, tuple[float, float]], seeds: int = 5,
               max_steps: int = 150) -> list[Segment]:
    """A line of ``model`` in the plane ``box`` (two point parameters, x first) traced end to end.

    Seeds are located at ``seeds`` values along each axis; from each seed not already on a
    traced segment, the line's augmented system is traced both ways
    (:func:`theorylab.curves.trace_both`) with adaptive steps, clipped exactly on the box. A
    first-order line is checked point by point (both branches selectable, nothing below them);
    where it jumps onto a competitor's spinodal, that spinodal is traced as its own segment.
    Closed-form lines are sampled densely. A segment that reaches T_min (the box's temperature
    floor of the finite-T equations) is closed by the line's T = 0 point (exact equations).
    """
    from theorylab import curves

    recipe = model.lines[name]
    (a_name, (a_lo, a_hi)), (b_name, (b_lo, b_hi)) = box.items()
    others = {k: v for k, v in model.validate({**others, a_name: a_lo, b_name: b_lo}).items()
              if k not in box}
    problem = model.problem(others)
    temperature = problem.temperature
    floor = {k: (lo if k != temperature or lo > 0 else 1e-3 * (hi - lo))
             for k, (lo, hi) in box.items()}
    along = recipe.along
    lo, hi = box[along]
    if recipe.exact is not None:
        values = np.linspace(lo, hi, 201)
        pts = [model.line_point(name, along, float(v), others) for v in values]
        free = b_name if along == a_name else a_name
        other = np.array([p[free] if p["found"] and p[free] is not None else np.nan
                          for p in pts], dtype=float)
        a, b = (values, other) if along == a_name else (other, values)
        inside = (a >= a_lo) & (a <= a_hi) & (b >= b_lo) & (b <= b_hi)
        return [Segment(a, b, np.isfinite(a) & np.isfinite(b) & inside, ("box", "box"),
                        "closed form", recipe.description)]
    # seeds along both axes: a line parallel to one axis, or a piece of it (a jump onto a
    # competitor's spinodal), is met by the other
    seed_points = [(axis, float(v)) for axis in (along, *(k for k in box if k != along))
                   for v in np.linspace(max(box[axis][0], floor[axis]), box[axis][1],
                                        seeds + 2)[:-1]]
    segments: list[Segment] = []
    for axis, v in seed_points:
        point = model.line_point(name, axis, v, others)
        if not point.get("found") or not point.get("_state"):
            continue
        if any(_on_segment(seg, point[a_name], point[b_name], box) for seg in segments):
            continue
        built = line_system(problem, recipe, point, a_name, b_name)
        if built is None:
            continue
        G, y0, embeds = built
        halves = [curves.trace(G, y0, lower=[floor[a_name], floor[b_name]],
                               upper=[a_hi, b_hi], ds_max=0.03, max_steps=max_steps,
                               x_scale=10.0 * np.maximum(1.0, np.abs(y0[:-2])),
                               angle_max=0.3, direction=d) for d in (-1.0, 1.0)]
        if not all(h.y.shape[0] for h in halves):
            continue
        y = np.concatenate([halves[0].y[::-1], halves[1].y[1:]])
        found = np.concatenate([halves[0].converged[::-1], halves[1].converged[1:]])
        ends = [halves[0].ends[1], halves[1].ends[1]]
        a, b = y[:, -2].copy(), y[:, -1].copy()
        if recipe.kind == "first-order":
            states = _embedded(y, embeds)
            found &= _thermodynamic(problem, recipe.branch, point["competitor"], states, a, b,
                                    a_name, b_name)
        for k in (0, 1):
            join = _known_end(model, name, others, box, floor, (a[-k], b[-k]) if k else
                              (a[0], b[0]))
            if join is None:
                continue
            (ja, jb), why = join
            at = a.size if k else 0
            a, b = np.insert(a, at, ja), np.insert(b, at, jb)
            found = np.insert(found, at, True)
            ends[k] = why
        message = (f"{halves[0].message} | {halves[1].message}")
        segments.append(Segment(a, b, found, tuple(ends), point.get("via", recipe.kind),
                                message))
    return segments


def _on_segment(seg: Segment, a: float, b: float, box) -> bool:
    """Whether (a, b) lies on a traced segment (within 0.5 % of the box, to its polyline)."""
    (_, (a_lo, a_hi)), (_, (b_lo, b_hi)) = box.items()
    p = np.array([(a - a_lo) / (a_hi - a_lo), (b - b_lo) / (b_hi - b_lo)])
    q = np.c_[(seg.a - a_lo) / (a_hi - a_lo), (seg.b - b_lo) / (b_hi - b_lo)]
    q = q[np.isfinite(q).all(axis=1)]
    if q.shape[0] < 2:
        return False
    start, step = q[:-1], np.diff(q, axis=0)
    t = np.clip(np.einsum("ij,ij->i", p - start, step)
                / np.maximum(np.einsum("ij,ij->i", step, step), 1e-300), 0.0, 1.0)
    return bool(np.min(np.linalg.norm(start + t[:, None] * step - p, axis=1)) < 5e-3)


def _known_end(model, name, others, box, floor, end) -> tuple[tuple[float, float], str] | None:
    """Where a traced end stopped next to the box's edge or a declared meeting point: the exact
    end to join it to (the line located with that edge's value pinned, T = 0 by the exact
    equations; or the meeting point), within 3 % of the box."""
    (a_name, (a_lo, a_hi)), (b_name, (b_lo, b_hi)) = box.items()
    scale = np.array([a_hi - a_lo, b_hi - b_lo])
    here = np.array(end, dtype=float)
    recipe = model.lines[name]
    for meet in (recipe.meets(model.case(others)) if recipe.meets else ()):
        there = np.array([meet[a_name], meet[b_name]])
        if np.all(np.abs(here - there) / scale < 0.03):
            return (float(there[0]), float(there[1])), meet["why"]
    for axis, (lo, hi), k in ((a_name, (a_lo, a_hi), 0), (b_name, (b_lo, b_hi), 1)):
        edge = lo if abs(here[k] - floor[axis]) < 0.03 * (hi - lo) else None
        if edge is None or (here[k] == edge and edge == floor[axis]):
            continue
        point = model.line_point(name, axis, float(edge), others)
        if point.get("found"):
            there = np.array([point[a_name], point[b_name]], dtype=float)
            if np.all(np.abs(here - there) / scale < 0.03):
                why = (f"{axis} = {edge:g} (exact equations)" if axis == model.problem(
                    others).temperature else f"{axis} = {edge:g}")
                return (float(there[0]), float(there[1])), why
    return None


def _embedded(y: np.ndarray, embeds) -> list[np.ndarray]:
    """The full states (n, M) of the branches of traced points y = (z_1, [z_2,] a, b); each
    embedding is (embed, number of free components)."""
    states, start = [], 0
    for embed, width in embeds:
        states.append(np.array([embed(row[start:start + width]) for row in y]).T)
        start += width
    return states


def _thermodynamic(problem: Problem, branch: str, competitor: str, states: list[np.ndarray],
                   a: np.ndarray, b: np.ndarray, a_name: str, b_name: str) -> np.ndarray:
    """Which points of a traced first-order curve are thermodynamic transitions.

    On a crossing (two traced states: branch, competitor) both must be selectable (locally
    stable; non-negative entropy where their phase needs it); on a competitor's spinodal (one
    traced state, the competitor's) the branch, solved afresh, must be selectable and above
    the competitor. In both, no other selectable state (solved afresh) may lie below.
    """
    params = {**{k: np.full(a.size, float(v)) for k, v in problem.fixed.items()},
              a_name: a, b_name: b}
    sys_ = problem.systems(problem.at_zero_temperature(a_name, b_name), problem.settings.nodes)
    names = [ph.name for ph in problem.phase_list]
    data = problem.solve({a_name: a, b_name: b})
    if len(states) == 2:
        ok = np.ones(a.size, dtype=bool)
        for x, name in zip(states, (branch, competitor), strict=True):
            ok &= _selectable(problem, sys_, x, params, names.index(name))
        f_line = sys_.thermodynamics(states[0], params)[0]
    else:
        f_line = data[f"{branch}_f"]
        f_competitor = sys_.thermodynamics(states[0], params)[0]
        ok = data[f"{branch}_valid"] & (f_competitor <= f_line + 1e-12)
    for ph in problem.phase_list:
        if ph.name not in (branch, competitor):
            ok &= ~(data[f"{ph.name}_valid"] & (data[f"{ph.name}_f"] < f_line - 1e-9))
    return ok


def _selectable(problem: Problem, sys_: System, x: np.ndarray, params: Mapping[str, np.ndarray],
                index: int) -> np.ndarray:
    """States x (n, M) that are selectable members of phase ``index``: locally stable and, where
    the phase needs it, of non-negative entropy."""
    phase = problem.phase_list[index]
    ok = np.isfinite(x).all(axis=0)
    eig = np.full(x.shape[1], np.nan)
    if ok.any():
        eig[ok] = saddle.stability(sys_.F, x[:, ok], saddle.subset(params, ok),
                                   exact=sys_.jacobian)
    ok &= eig < 1.0 + MARGINAL
    ok &= classify(problem.phase_list, sys_.order_parameters(x, params), params) == index
    if phase.needs_entropy:
        f, u = sys_.thermodynamics(x, params)
        ok &= (u - f) / params[problem.temperature] >= -ENTROPY_TOLERANCE
    return ok

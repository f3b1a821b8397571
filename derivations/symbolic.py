"""The symbolic engine: from a replica free energy to compiled saddle-point equations.

Generic: nothing here knows a model. A model writes its free energy once as a sympy expression in
which every Gaussian average is a :class:`GaussianAverage`; this module derives from it

* the stationarity conditions ∂f/∂x (:func:`stationarity`), with no z·tanh terms: averages
  commute with differentiation by the heat-equation identity (2) below;
* explicit fixed-point maps, by solving each condition for the variable the model pairs with it
  (:func:`solve_for`, :func:`fixed_point_map`);
* the internal energy u = ∂(βf)/∂β (:func:`internal_energy`);
* the T → 0 limit of a free energy or an energy (:func:`zero_temperature`), and of the entropy
  (:func:`zero_temperature_entropy`: f = e₀ − T s₀ + O(T²));
* conditions with 1 − E[tanh²] rewritten as E[sech²] (:func:`complement_tanh_squared`), for
  variables such as C = β(1 − q) whose map must keep its digits at large β;
* the linearisation of a fixed-point map at a point and the temperatures where it bifurcates
  (:func:`linearised_map`, :func:`bifurcation_temperatures`);
* fast numpy functions of all of these (:func:`compile` → :class:`CompiledEquations`), each
  average evaluated by :func:`theorylab.gaussian.expect` or, for piecewise-polynomial integrands,
  in closed form. Compiling is two steps: :func:`derive` does the (slow) sympy work and returns
  a picklable :class:`Derivation`, whose :meth:`Derivation.compile` only lambdifies (fast);
* a cache of derivations on disk (:func:`cached_on_disk`), so that a new process does not
  repeat the sympy work: a model decorates the function that returns its :class:`Derivation`.

Conventions
-----------
E_{h ~ N(μ, v)}[g(h)] is written ``GaussianAverage(g, h, μ, v)`` with ``h`` a bound (dummy)
symbol, μ the mean and v the *variance* of the local field. Temperatures enter through an
inverse temperature symbol β (positive); compiled functions take T = 1/β or are at T = 0.

The derivative rule. With h = μ + √v z, ∂_μ E g = E g' and, by Stein's lemma E[z φ(z)] = E φ'(z)
(equivalently the heat equation ∂_v p = ½ ∂²_h p of the Gaussian density p),
∂_v E g = ½ E g''. Hence for any symbol θ

    ∂_θ E[g] = E[∂_θ g] + E[∂_h g] ∂_θ μ + ½ E[∂²_h g] ∂_θ v.                           (2)
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, wraps
from pathlib import Path
from typing import TypeVar

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray

from theorylab.gaussian import DEFAULT_NODES, log_2cosh, quadrature


class log2cosh(sp.Function):
    """ln(2 cosh x), the single-spin partition function; its derivative is tanh x."""

    def fdiff(self, argindex=1):
        return sp.tanh(self.args[0])


class sech2(sp.Function):
    """sech²x = 1 − tanh²x, the single-spin susceptibility, as one function: an average of it
    is evaluated without the cancellation 1 − E[tanh²(βh)] suffers where |βh| ≫ 1 almost
    surely (low temperature), see :func:`complement_tanh_squared`."""

    def fdiff(self, argindex=1):
        return -2 * sp.tanh(self.args[0]) * self


def _sech2(x: ArrayLike) -> NDArray[np.float64]:
    """sech²x = 4 e^{−2|x|} / (1 + e^{−2|x|})², finite for every x (no overflow)."""
    decay = np.exp(-2.0 * np.abs(np.asarray(x, dtype=float)))
    return 4.0 * decay / (1.0 + decay) ** 2


_LAMBDIFY_MODULES = [{"log2cosh": log_2cosh, "sech2": _sech2}, "scipy", "numpy"]


class GaussianAverage(sp.Expr):
    """E_{h ~ N(mean, var)}[g(h)] as a sympy expression that differentiates by rule (2).

    Construction normalises by linearity: sums are split, factors free of ``h`` are pulled
    out, an integrand free of ``h`` is returned as is, and var = 0 gives g(mean). So equal
    averages compare equal, and a derived expression is a polynomial in a few canonical atoms
    such as E[tanh(βh)] and E[tanh²(βh)].

    Parameters
    ----------
    g : sympy expression in ``h``
    h : sympy Symbol (use a Dummy), bound by the average
    mean, var : sympy expressions (var is the variance)
    """

    is_commutative = True

    def __new__(cls, g, h, mean, var):
        g, mean, var = sp.sympify(g), sp.sympify(mean), sp.sympify(var)
        if not g.has(h):
            return g
        if var.is_zero:
            return g.subs(h, mean)
        g = sp.expand(g, deep=False)
        if isinstance(g, sp.Add):
            return sp.Add(*(cls(term, h, mean, var) for term in g.args))
        coefficient, rest = g.as_independent(h, as_Add=False)
        if coefficient != 1:
            return coefficient * cls(rest, h, mean, var)
        return sp.Expr.__new__(cls, g, h, mean, var)

    @property
    def integrand(self) -> sp.Expr:
        return self.args[0]

    @property
    def variable(self) -> sp.Symbol:
        return self.args[1]

    @property
    def mean(self) -> sp.Expr:
        return self.args[2]

    @property
    def var(self) -> sp.Expr:
        return self.args[3]

    @property
    def free_symbols(self):
        g, h, mean, var = self.args
        return (g.free_symbols - {h}) | mean.free_symbols | var.free_symbols

    def _eval_derivative(self, s):
        g, h, mean, var = self.args
        average = type(self)
        return (average(sp.diff(g, s), h, mean, var)
                + average(sp.diff(g, h), h, mean, var) * sp.diff(mean, s)
                + average(sp.diff(g, h, 2), h, mean, var) * sp.diff(var, s) / 2)

    def _sympystr(self, printer):
        g, h, mean, var = (printer._print(a) for a in self.args)
        return f"E[{g} | {h} ~ N({mean}, {var})]"


def averages(expr: sp.Expr) -> set[GaussianAverage]:
    """The Gaussian averages appearing in ``expr``."""
    return expr.atoms(GaussianAverage)


# --- closed forms -----------------------------------------------------------------------------

_PIECEWISE_POLYNOMIAL = (sp.Abs, sp.sign, sp.DiracDelta)


def has_closed_form(average: GaussianAverage) -> bool:
    """Whether the integrand is built from polynomials in h, |h|, sign h and δ(h) only.

    Those averages are integrated exactly by :func:`closed_form`; any other function of h
    (tanh, ln 2cosh, ...) is left to quadrature.
    """
    h = average.variable
    return all(isinstance(f, _PIECEWISE_POLYNOMIAL) for f in average.integrand.atoms(sp.Function)
               if f.has(h))


_H = sp.Dummy("h", real=True)
_MEAN, _VAR = sp.Dummy("mean", real=True), sp.Dummy("var", positive=True)


@cache
def _standard_closed_form(g: sp.Expr) -> sp.Expr:
    """∫ g(h) N(h; mean, var) dh for a piecewise-polynomial g of the generic field ``_H``, as an
    expression in the generic ``_MEAN`` and ``_VAR`` (so each integrand is integrated once).

    |h| and sign h are split at h = 0 (each half integrated with h of definite sign); δ(h) is
    integrated over the whole line.
    """
    density = sp.exp(-(_H - _MEAN) ** 2 / (2 * _VAR)) / sp.sqrt(2 * sp.pi * _VAR)
    if g.has(sp.DiracDelta):
        result = sp.integrate(g * density, (_H, -sp.oo, sp.oo))
    else:
        positive, negative = sp.Dummy(positive=True), sp.Dummy(negative=True)
        result = (sp.integrate((g * density).subs(_H, positive), (positive, 0, sp.oo))
                  + sp.integrate((g * density).subs(_H, negative), (negative, -sp.oo, 0)))
    if result.has(sp.Integral):
        raise ValueError(f"sympy could not integrate the Gaussian average of {g}")
    return sp.simplify(result.rewrite(sp.erf))


def closed_form(average: GaussianAverage) -> sp.Expr:
    """The exact value (erf / exp) of an average with :func:`has_closed_form` integrand."""
    if not has_closed_form(average):
        raise ValueError(f"no closed form for {average}")
    value = _standard_closed_form(average.integrand.xreplace({average.variable: _H}))
    return value.subs({_MEAN: average.mean, _VAR: average.var})


# --- derivation -------------------------------------------------------------------------------

def stationarity(f: sp.Expr, variables: Sequence[sp.Symbol]) -> tuple[sp.Expr, ...]:
    """∂f/∂x for every order parameter x, averages differentiated by rule (2)."""
    return tuple(sp.diff(f, x) for x in variables)


def internal_energy(f: sp.Expr, beta: sp.Symbol) -> sp.Expr:
    """u = ∂(βf)/∂β at fixed order parameters (the energy per spin at a saddle point)."""
    return sp.diff(beta * f, beta)


def _is_trivial_factor(factor: sp.Expr) -> bool:
    """A factor vanishing only where a single symbol does (m^{P−2}, β, α) or never (numbers)."""
    base = factor.base if isinstance(factor, sp.Pow) and factor.exp.is_number else factor
    return base.is_number or isinstance(base, sp.Symbol)


def solve_for(condition: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Solve ``condition = 0`` for ``x`` explicitly, the averages treated as opaque symbols.

    The condition is brought over a common denominator; of its numerator, factors that vanish
    only at trivial points (numbers and powers of one symbol: m^{P−2}, q^{P−2}, β, α) are
    removed, and what remains is solved for ``x`` with sympy.

    Raises
    ------
    ValueError
        If the remaining equation does not have exactly one solution for ``x``.
    """
    opaque = {a: sp.Dummy("E") for a in averages(condition)}
    numerator = sp.together(condition.xreplace(opaque)).as_numer_denom()[0]
    _, factors = sp.factor_list(numerator)
    kept = [base ** power for base, power in factors if not _is_trivial_factor(base)]
    solutions = sp.solve(sp.Mul(*kept), x, dict=False)
    if len(solutions) != 1:
        raise ValueError(f"{condition} = 0 has {len(solutions)} solutions for {x}: {solutions}")
    # Factored, not expanded: q/(1 - β(1 - q))² rather than q/(β²q² - 2β²q + ...), which
    # would lose digits to cancellation near the pole the AGS spin glass sits next to.
    return sp.factor(solutions[0]).xreplace({d: a for a, d in opaque.items()})


def complement_tanh_squared(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every Gaussian average of tanh²(a) written 1 − E[sech²(a)], expanded.

    Where a condition holds β(1 − E[tanh²(βh)]) (the map of C = β(1 − q), or a susceptibility),
    the constant terms cancel symbolically and β E[sech²(βh)] is left, which keeps its relative
    precision at any β; evaluated as written, 1 − E[tanh²] loses all digits below the rounding
    of E[tanh²] ≈ 1, an absolute error ~1e-16 β in C.
    """
    def complemented(g: sp.Expr) -> sp.Expr:
        return g.replace(
            lambda e: e.is_Pow and isinstance(e.base, sp.tanh) and e.exp == 2,
            lambda e: 1 - sech2(e.base.args[0]))

    rewritten = {a: GaussianAverage(complemented(a.integrand), *a.args[1:])
                 for a in averages(expr) if a.integrand.has(sp.tanh)}
    return sp.expand(expr.xreplace(rewritten)) if rewritten else expr


def fixed_point_map(
    f: sp.Expr, pairing: Mapping[sp.Symbol, sp.Symbol]
) -> dict[sp.Symbol, sp.Expr]:
    """x ↦ F(x): each variable x solved from the stationarity condition ∂f/∂y = 0 it is paired
    with (``pairing[x] = y``), e.g. AGS: m from ∂f/∂m, q from ∂f/∂r, r from ∂f/∂q."""
    return {x: solve_for(sp.diff(f, y), x) for x, y in pairing.items()}


def _saturate(g: sp.Expr, h: sp.Symbol, beta: sp.Symbol) -> sp.Expr:
    """β → ∞ limit of an integrand of the field h: tanh(βa) → sign(a), ln 2cosh(βa) → β|a|
    (pointwise), and sech²(βa) → (2/β) δ(a) (a nascent delta: mass 2/β, width 1/β, so the
    limit holds under the average); h sign h is written |h|, so that the spin entropy
    ln 2cosh(βh) − βh tanh(βh) → β(|h| − h sign h) cancels to 0.

    Each argument must be β times a β-free expression (the local field, up to constants).
    """
    def check(arg):
        rest = sp.simplify(arg / beta)
        if rest.has(beta) or rest.is_zero:
            raise ValueError(f"T -> 0 rule needs arguments proportional to {beta}, got {arg}")
        return rest

    limit = g.replace(log2cosh, lambda a: beta * sp.Abs(check(a))).replace(
        sp.tanh, lambda a: sp.sign(check(a))).replace(
        sech2, lambda a: 2 * sp.DiracDelta(check(a)) / beta)
    return limit.subs(h * sp.sign(h), sp.Abs(h))


def zero_temperature(
    expr: sp.Expr, beta: sp.Symbol, substitutions: Mapping[sp.Symbol, sp.Expr] | None = None
) -> sp.Expr:
    """The β → ∞ limit of a free energy or energy, as an expression with β-free averages.

    The rule, in order:

    1. apply the model's scaling ``substitutions`` (e.g. q = 1 − C/β, C = β(1 − q) finite);
    2. in every average, replace the integrand by its pointwise limit: (1/β) ln 2cosh(βa) → |a|
       (the error ln(1 + e^{−2β|a|})/β ≤ ln 2/β is uniform) and tanh(βa) → sign a (bounded,
       converging except at a = 0, a null set when the variance is positive); by dominated
       convergence the averages converge;
    3. the expression is then linear in the averages: each coefficient and the remainder are
       sent to β → ∞ with ``sympy.limit`` (each must be finite), and the averages' means and
       variances are replaced by their limits (an average is continuous in (mean, var) for
       var > 0).

    The averages left (of |h|, sign h, h sign h) have closed forms (:func:`closed_form`) and are
    differentiated by rule (2) like any other.
    """
    expr = expr.subs(substitutions or {})
    saturated = {}
    for a in averages(expr):
        g, h, mean, var = a.args
        saturated[a] = GaussianAverage(_saturate(g, h, beta), h, mean, var)
    expr = expr.xreplace(saturated)
    atoms = sorted(averages(expr), key=sp.default_sort_key)
    placeholders = [sp.Dummy("E") for _ in atoms]
    linear = expr.xreplace(dict(zip(atoms, placeholders, strict=True)))
    terms = [(linear.subs(dict.fromkeys(placeholders, 0)), sp.S.One)]
    for a, p in zip(atoms, placeholders, strict=True):
        coefficient = sp.diff(linear, p)
        if coefficient.has(*placeholders) or a.integrand.has(beta):
            raise ValueError(f"T -> 0 rule needs an expression linear in beta-free averages: {a}")
        limits = (sp.limit(e, beta, sp.oo) for e in (a.mean, a.var))
        terms.append((coefficient, GaussianAverage(a.integrand, a.variable, *limits)))
    result = sp.S.Zero
    for coefficient, average in terms:
        c = sp.limit(coefficient, beta, sp.oo)
        if c.has(sp.oo, -sp.oo, sp.zoo, sp.nan, beta):
            raise ValueError(f"no finite T -> 0 limit of the coefficient of {average}")
        result += c * average
    return result


def zero_temperature_entropy(
    f: sp.Expr, beta: sp.Symbol, substitutions: Mapping[sp.Symbol, sp.Expr] | None = None
) -> sp.Expr:
    """The β → ∞ limit of the entropy per spin s = β² ∂f/∂β = −∂f/∂T at fixed order parameters
    (the entropy at a saddle point, where f is stationary), by :func:`zero_temperature`.

    Its spin part E[ln 2cosh(βh) − βh tanh(βh)] vanishes in the limit (it is O(T)); what is
    left comes from the replica terms, e.g. the famous negative RS entropy of the AGS spin
    glass. f must be written in variables in which s stays finite termwise (for AGS: C =
    β(1 − q) and the noise variance, not q and r, whose terms diverge separately like β and
    cancel only on the saddle).
    """
    return zero_temperature(beta**2 * sp.diff(f, beta), beta, substitutions)


def linearised_map(
    fixed_point: Sequence[sp.Expr], variables: Sequence[sp.Symbol], at: Mapping[sp.Symbol, sp.Expr]
) -> sp.Matrix:
    """Jacobian ∂F_i/∂x_j of a fixed-point map at a point (e.g. the paramagnet m = q = 0).

    Averages are differentiated by rule (2); at a point where an average's variance vanishes it
    becomes its integrand at the mean (the lowest Gaussian moment), so the small-order-parameter
    expansion needs no integral.
    """
    jacobian = sp.Matrix([[sp.diff(F, x) for x in variables] for F in fixed_point])
    return jacobian.subs(at)


def bifurcation_temperatures(jacobian: sp.Matrix, beta: sp.Symbol) -> list[sp.Expr]:
    """Temperatures T = 1/β at which the linearised map has an eigenvalue 1.

    There a fixed point stops being isolated and a new branch bifurcates continuously from it:
    the positive roots T of the numerator of det(J − 1) with β = 1/T. An empty list means the
    point is never critical.
    """
    temperature = sp.Dummy("T", positive=True)
    identity = sp.eye(jacobian.shape[0])
    condition = (jacobian - identity).det().subs(beta, 1 / temperature)
    numerator = sp.together(condition).as_numer_denom()[0]
    if not numerator.has(temperature):
        return []
    return [sp.simplify(root) for root in sp.solve(numerator, temperature)]


# --- compilation ------------------------------------------------------------------------------

def broadcast_stack(values: Sequence[ArrayLike], shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Values (scalars or arrays) broadcast to ``shape`` and stacked: (len(values), *shape)."""
    return np.stack([np.broadcast_to(np.asarray(v, dtype=float), shape) for v in values])


def checked_point(x: ArrayLike, params: Mapping[str, ArrayLike], variables: Sequence[str],
                  parameters: Sequence[str]) -> NDArray[np.float64]:
    """``x`` as a float array of shape (len(variables), *G), after checking it and that
    ``params`` holds every one of ``parameters`` (the compiled equations' common entry check)."""
    x = np.asarray(x, dtype=float)
    if x.shape[:1] != (len(variables),):
        raise ValueError(f"x must have shape ({len(variables)}, *G), got {x.shape}")
    missing = set(parameters) - set(params)
    if missing:
        raise ValueError(f"missing parameters: {', '.join(sorted(missing))}")
    return x


def regular_delta(x, order=0):
    """δ^(k)(x) off x = 0, where it vanishes: the value lambdified for ``DiracDelta`` in T = 0
    maps (a model that needs the mass at a zero field adds it apart)."""
    return np.zeros(np.shape(x))


AVERAGE_MODULES = [{"log2cosh": log_2cosh, "sech2": _sech2, "DiracDelta": regular_delta},
                   "scipy", "numpy"]
"""``sympy.lambdify`` modules for expressions with averages, at finite T and at T = 0."""


class GaussianAverages:
    """The Gaussian averages of some expressions, evaluated on arrays (one value per point).

    ``replacements`` maps each average to a placeholder symbol (``placeholders``, in order), so
    that the rest of an expression can be lambdified with the averages as arguments.

    Finite T: grouped by (mean, var) and integrated by the split tanh–sinh rule of
    :func:`theorylab.gaussian.quadrature` (a step at h = 0 resolved at any β). T = 0: each in
    closed form (:func:`closed_form`) where var > 0, and as its integrand at the mean where
    var = 0 (δ(h) taken as its regular part, :func:`regular_delta`).
    """

    def __init__(self, exprs: Sequence[sp.Expr], arguments: Sequence[sp.Symbol],
                 zero_temperature: bool):
        atoms = sorted(set().union(*(averages(e) for e in exprs)), key=sp.default_sort_key)
        self.replacements = {a: sp.Dummy("E") for a in atoms}
        self.zero_temperature = zero_temperature
        groups: dict[tuple[sp.Expr, sp.Expr], list[GaussianAverage]] = {}
        for a in atoms:
            groups.setdefault((a.mean, a.var), []).append(a)
        self._groups = []
        for (mean, var), members in groups.items():
            moments = sp.lambdify(arguments, [mean, var], modules=AVERAGE_MODULES)
            standard = [a.integrand.xreplace({a.variable: _H}) for a in members]
            if zero_temperature:
                closed = [closed_form(GaussianAverage(g, _H, _MEAN, _VAR)) for g in standard]
                integrals = (sp.lambdify([_MEAN, _VAR], closed, modules=AVERAGE_MODULES),
                             sp.lambdify([_MEAN], [g.subs(_H, _MEAN) for g in standard],
                                         modules=AVERAGE_MODULES))
            else:
                integrals = sp.lambdify([_H, *arguments], standard, modules=AVERAGE_MODULES,
                                        cse=True)
            self._groups.append((moments, integrals))

    @property
    def placeholders(self) -> list[sp.Dummy]:
        return list(self.replacements.values())

    def size_per_row(self, nodes: int) -> int:
        """Values computed per point: the quadrature nodes at finite T, else one."""
        return nodes if self._groups and not self.zero_temperature else 1

    def __call__(self, arguments: Sequence[ArrayLike], nodes: int) -> list:
        shape = np.broadcast_shapes(*(np.shape(a) for a in arguments))
        values = []
        for moments, integrals in self._groups:
            mean, var = (np.broadcast_to(np.asarray(v, dtype=float), shape)
                         for v in moments(*arguments))
            if self.zero_temperature:
                closed, at_mean = integrals
                positive = var > 0
                inside = closed(mean, np.where(positive, var, 1.0))
                values += [np.where(positive, c, m)
                           for c, m in zip(inside, at_mean(mean), strict=True)]
            else:
                h, w = quadrature(mean, var, nodes=nodes)
                on_nodes = [np.asarray(a, dtype=float)[..., None] for a in arguments]
                values += [np.sum(w * np.broadcast_to(g, h.shape), axis=-1)
                           for g in integrals(h, *on_nodes)]
        return values


@dataclass(frozen=True)
class _GaussianGroup:
    """Averages over one Gaussian (same mean and variance): one quadrature rule serves them."""

    mean: Callable
    var: Callable
    integrands: Callable
    """All the group's integrands at once, ``(h, *arguments) -> list``, with common
    subexpressions (e.g. tanh(βh)) computed once per node."""


class _NumericExpressions:
    """A tuple of expressions with averages, evaluated on numpy arrays.

    The averages (those left once :func:`derive` has integrated the closed forms) are grouped by
    (mean, var) and computed with :func:`theorylab.gaussian.quadrature`, their integrands
    lambdified as functions of (h, *arguments); the rest of each expression is lambdified with
    the averages as inputs.
    """

    def __init__(self, exprs: Sequence[sp.Expr], arguments: Sequence[sp.Symbol]):
        numeric = sorted(set().union(*(averages(e) for e in exprs)), key=sp.default_sort_key)
        h = sp.Dummy("h", real=True)
        groups: dict[tuple[sp.Expr, sp.Expr], list[GaussianAverage]] = {}
        for a in numeric:
            groups.setdefault((a.mean, a.var), []).append(a)
        self._groups = tuple(
            _GaussianGroup(
                mean=sp.lambdify(arguments, mean, modules=_LAMBDIFY_MODULES),
                var=sp.lambdify(arguments, var, modules=_LAMBDIFY_MODULES),
                integrands=sp.lambdify(
                    [h, *arguments], [a.integrand.subs(a.variable, h) for a in members],
                    modules=_LAMBDIFY_MODULES, cse=True))
            for (mean, var), members in groups.items())
        order = [a for members in groups.values() for a in members]
        placeholders = [sp.Dummy("E") for _ in order]
        self._outer = sp.lambdify(
            [*arguments, *placeholders],
            [e.xreplace(dict(zip(order, placeholders, strict=True))) for e in exprs],
            modules=_LAMBDIFY_MODULES)

    def __call__(self, arguments: Sequence[NDArray[np.float64]], nodes: int) -> list:
        values = []
        on_nodes = [np.asarray(a, dtype=float)[..., None] for a in arguments]
        for group in self._groups:
            h, w = quadrature(group.mean(*arguments), group.var(*arguments), nodes=nodes)
            values += [np.sum(w * g, axis=-1) for g in group.integrands(h, *on_nodes)]
        return self._outer(*arguments, *values)


@dataclass(frozen=True)
class CompiledEquations:
    """Saddle-point equations compiled to vectorised numpy functions.

    Every callable takes ``x`` of shape (n_vars, *G) (order parameters in the order of
    :attr:`variables`) and ``params``, a mapping from each name in :attr:`parameters` to an
    array broadcastable to G, and an optional ``nodes`` (quadrature nodes per average, see
    :func:`theorylab.gaussian.expect`).

    Attributes
    ----------
    variables, parameters
        Names of the order parameters and of the control parameters.
    symbols
        The sympy symbols of the variables followed by those of the parameters.
    free_energy_expr, energy_expr
        f and u = ∂(βf)/∂β as sympy expressions (averages as :class:`GaussianAverage`).
    stationarity_exprs
        ∂f/∂x for each variable.
    fixed_point_exprs
        F(x) for each variable, solved from the paired stationarity condition.
    """

    variables: tuple[str, ...]
    parameters: tuple[str, ...]
    symbols: tuple[sp.Symbol, ...]
    free_energy_expr: sp.Expr
    energy_expr: sp.Expr
    stationarity_exprs: tuple[sp.Expr, ...]
    fixed_point_exprs: tuple[sp.Expr, ...]
    _numeric: Mapping[str, _NumericExpressions] = field(repr=False, compare=False)

    def _evaluate(self, which: str, x: ArrayLike, params: Mapping[str, ArrayLike],
                  nodes: int) -> NDArray[np.float64]:
        """The expressions of group ``which``, stacked: shape (n_expressions, *G)."""
        x = checked_point(x, params, self.variables, self.parameters)
        arguments = [*x, *(np.asarray(params[p], dtype=float) for p in self.parameters)]
        shape = np.broadcast_shapes(*(a.shape for a in arguments))
        return broadcast_stack(self._numeric[which](arguments, nodes), shape)

    def fixed_point(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
                    nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
        """F(x), shape (n_vars, *G)."""
        return self._evaluate("fixed_point", x, params, nodes)

    def stationarity(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
                     nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
        """∂f/∂x, shape (n_vars, *G)."""
        return self._evaluate("stationarity", x, params, nodes)

    def free_energy(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
                    nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
        """f per spin, shape G."""
        return self._evaluate("free_energy", x, params, nodes)[0]

    def energy(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
               nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
        """u = ∂(βf)/∂β per spin, shape G."""
        return self._evaluate("energy", x, params, nodes)[0]

    def thermodynamics(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
                       nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
        """f and u together (their averages share the quadrature), shape (2, *G)."""
        return self._evaluate("thermodynamics", x, params, nodes)

    def jacobian(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
                 nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
        """dF_i/dx_j of the fixed-point map, derived symbolically; shape (n_vars, n_vars, *G)."""
        stacked = self._evaluate("jacobian", x, params, nodes)
        n = len(self.variables)
        return stacked.reshape(n, n, *stacked.shape[1:])


@dataclass(frozen=True)
class Derivation:
    """Saddle-point equations derived by :func:`derive`, not yet compiled.

    Plain (picklable) sympy data, so a model can keep it across processes with
    :func:`cached_on_disk`; :meth:`compile` turns it into numpy functions by lambdify alone.

    Attributes
    ----------
    variables
        The order parameters, in the order of the compiled arrays.
    parameters
        Public name -> symbol of each control parameter.
    free_energy, energy, stationarity, fixed_point
        f, u, ∂f/∂x and F(x), averages as :class:`GaussianAverage`.
    evaluated
        The same four groups ready to be evaluated (keys "free_energy", "energy",
        "stationarity", "fixed_point"): definitions substituted and every average with a closed
        form integrated; and "jacobian", dF_i/dx_j (row-major), derived from them.
    """

    variables: tuple[sp.Symbol, ...]
    parameters: dict[str, sp.Symbol]
    free_energy: sp.Expr
    energy: sp.Expr
    stationarity: tuple[sp.Expr, ...]
    fixed_point: tuple[sp.Expr, ...]
    evaluated: dict[str, tuple[sp.Expr, ...]]

    def compile(self) -> CompiledEquations:
        """The derived expressions as vectorised numpy functions."""
        symbols = (*self.variables, *self.parameters.values())
        return CompiledEquations(
            variables=tuple(str(x) for x in self.variables),
            parameters=tuple(self.parameters),
            symbols=symbols,
            free_energy_expr=self.free_energy,
            energy_expr=self.energy,
            stationarity_exprs=self.stationarity,
            fixed_point_exprs=self.fixed_point,
            _numeric={
                **{name: _NumericExpressions(group, symbols)
                   for name, group in self.evaluated.items()},
                # f and u together share one quadrature per Gaussian
                "thermodynamics": _NumericExpressions(
                    (*self.evaluated["free_energy"], *self.evaluated["energy"]), symbols)},
        )


def derive(
    free_energy: sp.Expr,
    energy: sp.Expr,
    variables: Sequence[sp.Symbol],
    pairing: Mapping[sp.Symbol, sp.Symbol],
    parameters: Mapping[str, sp.Symbol],
    definitions: Mapping[sp.Symbol, sp.Expr] | None = None,
    complement: bool = False,
) -> Derivation:
    """Derive the stationarity conditions and the fixed-point map of ``free_energy``, and
    integrate the closed-form averages of all expressions (the sympy work of :func:`compile`).

    Parameters
    ----------
    free_energy, energy
        f and u as sympy expressions in the variables and parameters (and the symbols defined
        by ``definitions``).
    variables
        The order parameters, in the order of the compiled arrays.
    pairing
        variable x -> variable y: x is solved from ∂f/∂y = 0 (see :func:`fixed_point_map`).
    parameters
        Public name -> symbol of each control parameter (e.g. ``{"alpha": α, "T": T}``).
    definitions
        Symbols expressed through the parameters, substituted before evaluation (e.g. β = 1/T).
    complement
        Write the averages of tanh² in the conditions as 1 − E[sech²]
        (:func:`complement_tanh_squared`), for variables such as C = β(1 − q) whose map is
        β E[sech²(βh)].

    Raises
    ------
    ValueError
        If the pairing does not cover the variables, a condition cannot be solved uniquely, or
        an expression depends on symbols that are neither variables nor parameters.
    """
    variables = tuple(variables)
    if set(pairing) != set(variables) or set(pairing.values()) != set(variables):
        raise ValueError("pairing must map the variables one-to-one onto the variables")
    conditions = stationarity(free_energy, variables)
    if complement:
        conditions = tuple(complement_tanh_squared(c) for c in conditions)
    condition_of = dict(zip(variables, conditions, strict=True))
    fixed_point = tuple(solve_for(condition_of[pairing[x]], x) for x in variables)
    symbols = {*variables, *parameters.values()}
    definitions = definitions or {}
    groups = {"free_energy": (free_energy,), "energy": (energy,),
              "stationarity": conditions, "fixed_point": fixed_point}
    groups = {name: tuple(e.subs(definitions) for e in group) for name, group in groups.items()}
    for name, group in groups.items():
        extra = set().union(*(e.free_symbols for e in group)) - symbols
        if extra:
            raise ValueError(f"{name} depends on undeclared symbols {extra}")
    closed = {a: closed_form(a) for group in groups.values() for e in group
              for a in averages(e) if has_closed_form(a)}
    evaluated = {name: tuple(e.xreplace(closed) for e in group)
                 for name, group in groups.items()}
    # dF_i/dx_j, differentiated after the closed forms are in (their derivatives are ordinary
    # functions; the remaining averages differentiate by the heat-equation rule and share the
    # quadrature of F's averages, having the same mean and variance).
    evaluated["jacobian"] = tuple(sp.diff(F, x) for F in evaluated["fixed_point"]
                                  for x in variables)
    return Derivation(
        variables=variables,
        parameters=dict(parameters),
        free_energy=free_energy,
        energy=energy,
        stationarity=conditions,
        fixed_point=fixed_point,
        evaluated=evaluated,
    )


def compile(
    free_energy: sp.Expr,
    energy: sp.Expr,
    variables: Sequence[sp.Symbol],
    pairing: Mapping[sp.Symbol, sp.Symbol],
    parameters: Mapping[str, sp.Symbol],
    definitions: Mapping[sp.Symbol, sp.Expr] | None = None,
) -> CompiledEquations:
    """Derive the stationarity conditions and the fixed-point map of ``free_energy`` and compile
    them, with f and u, to numpy: ``derive(...).compile()`` (arguments and errors of
    :func:`derive`).
    """
    return derive(free_energy, energy, variables, pairing, parameters, definitions).compile()


# --- a cache of derivations on disk -----------------------------------------------------------

_Result = TypeVar("_Result")


def cache_directory() -> Path:
    """Where derivations are kept: ``$THEORYLAB_CACHE``, else ``$XDG_CACHE_HOME/theorylab``,
    else ``~/.cache/theorylab``."""
    explicit = os.environ.get("THEORYLAB_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "theorylab"


def _source_digest(module: str) -> str:
    """SHA-256 of the source file of the imported module ``module``."""
    return hashlib.sha256(Path(sys.modules[module].__file__).read_bytes()).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place, so a reader
    never sees a partial file; if the disk refuses (read-only, full), nothing is written."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def cached_on_disk(function: Callable[..., _Result]) -> Callable[..., _Result]:
    """Keep the results of a derivation in files, so that later processes load them.

    For a function of a few plain arguments (ints, bools, strings: their ``repr`` identifies
    them) returning picklable sympy data, such as a :class:`Derivation` or an expression.
    An entry lives in ``cache_directory()/derivations`` and is keyed by a SHA-256 hash of

    * the source text of this module and of the function's module (as read when the function
      is decorated, i.e. imported), so that editing the derivation code never reuses an entry;
    * the sympy and Python versions;
    * the function's name and its arguments as bound to its signature (defaults applied).

    The key itself is stored in the entry and compared on loading. An entry that is missing,
    unreadable, corrupt or of another key is derived afresh and (re)written atomically (a
    temporary file renamed into place); if it cannot be written the result is still returned.
    Entries are pickles: the cache directory must be trusted, like ``__pycache__``.
    """
    signature = inspect.signature(function)
    context = (_source_digest(__name__), _source_digest(function.__module__), sp.__version__,
               sys.version_info[:2], function.__module__, function.__qualname__)

    @wraps(function)
    def cached(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        key = repr((*context, tuple(bound.arguments.items())))
        digest = hashlib.sha256(key.encode()).hexdigest()
        path = (cache_directory() / "derivations"
                / f"{function.__module__}.{function.__name__}-{digest[:32]}.pickle")
        with contextlib.suppress(Exception):  # missing, unreadable or corrupt: derive afresh
            with path.open("rb") as file:
                stored, value = pickle.load(file)
            if stored == key:
                return value
        value = function(*args, **kwargs)
        _write_atomically(path, pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL))
        return value

    return cached

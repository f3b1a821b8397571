"""The dense (P-spin) Hopfield network at one step of replica symmetry breaking (1RSB).

The 1RSB free energy is written once, :func:`free_energy`; its stationarity conditions, the
fixed-point map, the T → 0 limit at fixed μ = βθ and the continuous-limit AT condition are
derived from it here with sympy, and compiled to vectorised numpy functions
(:func:`equations`). The RS free energy of :mod:`derivations.dense_hopfield` is its reduction at
θ = 1 or q₀ = q₁ (``tests/test_derivations_1rsb.py``).

Convention (``shared/specs/dense-hopfield.md`` §1, §2, §6, §8): spins σ_i = ±1,
K = αN^{P−1} patterns, H = −(N/2) Σ_μ :m_μ^P: (repeated indices removed), T = 1/β,
β' = βP/2. One condensed pattern with overlap m; Parisi's overlap matrix has q₁ inside the
diagonal blocks of size θ ∈ (0, 1] (the Parisi parameter) and q₀ ≤ q₁ outside. 1RSB for dense
networks: Albanese, Alemanno, Alessandrelli, Barra, *Replica symmetry breaking in dense neural
networks*, J. Stat. Phys. (2022), arXiv 2111.12997 (even P > 2; odd P is the spec's extension).
All averages over the 1RSB field are written with the nested operator

    Φ_θ[g] = (1/θ) E_{z₀} ln E_{z₁} e^{θ g(h)},      h = mean + √v₀ z₀ + √(v₁ − v₀) z₁,   (1)

(:class:`ReplicaLog`) and its tilted averages E_{z₀}[⟨G⟩_θ^k], ⟨G⟩_θ = E_{z₁}[G e^{θg}] /
E_{z₁}[e^{θg}] (:class:`TiltedAverage`, k = 1, 2).

* P ≥ 3 (spec §6 [DER]; the non-condensed patterns act as a Gaussian P-spin glass, §2.2),
  variables (m, q₀, q₁, θ), c = α(P−1)!, field h = m^{P−1} + √(c q₀^{P−1}) z₀ + √(c(q₁^{P−1} −
  q₀^{P−1})) z₁:

      f = (P−1)/2 · m^P − (βαP!/8)[1 − P q₁^{P−1} + (P−1)((1−θ) q₁^P + θ q₀^P)]
          − (1/β) Φ_θ[ln 2cosh(β'h)].

* P = 2 (the 1RSB Hopfield model of Crisanti, Amit, Gutfreund, Europhys. Lett. 2, 337 (1986),
  [MEM: not checked against the paper]; derived for this module from the eigenvalues 1 − q₁,
  1 − q₁ + θ(q₁ − q₀), 1 − q₁ + θ(q₁ − q₀) + nq₀ of the 1RSB overlap matrix in
  (α/2) Tr ln(1 − βQ); not in the spec), variables (m, q₀, q₁, r₀, r₁, θ),
  D₁ = 1 − β(1 − q₁), D₀ = D₁ − βθ(q₁ − q₀), field h = m + √(αr₀) z₀ + √(α(r₁ − r₀)) z₁:

      f = m²/2 + α/2 + (α/2β)[(1 − 1/θ) ln D₁ + (1/θ) ln D₀ − βq₀/D₀]
          + (αβ/2)[r₁ − (1−θ) r₁q₁ − θ r₀q₀] − (1/β) Φ_θ[ln 2cosh(βh)],

  the self-coupling constant α/2 as in the RS module.

Derivative rule of (1), with φ(y) = (1/θ) ln E_{z₁} e^{θ g(y + √(v₁−v₀) z₁)} and the heat
equation in each Gaussian (the nested form of rule (2) of :mod:`derivations.symbolic`):

    ∂Φ = E⟨∂g⟩ + E⟨g'⟩ ∂mean − (θ/2) E⟨g'⟩² ∂v₀ + [½E⟨g''⟩ + (θ/2)E⟨g'²⟩] ∂v₁
         + (1/θ)(E⟨g⟩ − Φ) ∂θ.                                                           (2)

Stationarity then gives (spec §6) m = E⟨tanh⟩_θ, q₁ = E⟨tanh²⟩_θ, q₀ = E⟨tanh⟩_θ², and θ from
∂f/∂θ = 0; the physical θ *maximises* f (spec §6, for Ising P-spin glasses). For P = 2 also
r₀ = q₀/D₀² and r₁ (rational in q₀, q₁, θ, β), the AGS form at each level. θ's condition is
implicit (θ sits inside the averages), so the fixed-point map is in the overlaps at given θ,
and θ is found outside (root of ∂f/∂θ, or maximum of f), as spec §6 prescribes at T = 0.

T → 0 (spec §8 [DER]): q₁ = 1 − C/β and θ = μ/β with C, μ finite; θ ln 2cosh(βx) → μ|x|, so
Φ_θ[ln 2cosh(β'h)] → β Φ_μ[(P/2)|h|], and for P ≥ 3 C drops out:

    e = (P−1)/2 · m^P + μαP!(P−1)(1 − q₀^P)/8 − Φ_μ[(P/2)|h|],

which is the spec's e = (P−1)/2 m^P − (1/μ)E ln G + (μ/2)[ξ'(1) − ξ(1) − q₀ξ'(q₀) + ξ(q₀)],
ξ(q) = αP!q^P/4 (§8, the spec's own derivation [DER]; agreement to 1e-14 is a test). The physical
μ maximises e; μ → ∞ is RS. P = 2 keeps C = β(1 − q₁), with C = 2E⟨δ(h)⟩_μ, and
D₀ → 1 − C − μ(1 − q₀).

The continuous-limit AT condition (:func:`continuous_at_condition`) is derived from the 1RSB map
linearised in the splitting q₁ − q₀ at an RS point; it reproduces the spec's §6 [DER] form and,
for P = 2, the AGS line.

Numerics (:class:`Compiled1RSB`): every nested average is evaluated in logs. The inner tilt is
split at h = 0 into e^{±κ h} ρ(h), κ = θ·lim g(h)/|h| (θβ' for ln 2cosh(β'h), μP/2 at T = 0)
and ρ = e^{θ(g − κ|h|/θ)} ≤ 2^θ; the exponential factor shifts each half-Gaussian's mean by ±κ
(v₁ − v₀), and each half is integrated with the split tanh–sinh rule of
:func:`theorylab.gaussian.quadrature`. So no exponential is formed that can overflow, the
integrand left is bounded, and the tilted measure's mass, far in the Gaussian's tail when κ² (v₁
− v₀) is large (low T), is where the nodes are. The outer average uses the same rule,
split at h = 0 (the step of ⟨tanh⟩ at low T).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from math import factorial

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray
from scipy import special

from derivations import symbolic
from derivations.dense_hopfield import T as temperature
from derivations.dense_hopfield import _check_order, alpha, beta, m
from derivations.symbolic import GaussianAverage, log2cosh
from theorylab.gaussian import log_2cosh, quadrature

q0, q1, r0, r1, C = sp.symbols("q0 q1 r0 r1 C", real=True)
theta = sp.Symbol("theta", positive=True)
mu = sp.Symbol("mu", positive=True)
_h = sp.Dummy("h", real=True)

DEFAULT_OUTER_NODES = 128
"""Nodes of the outer (z₀) average, half on each side of h = 0."""

DEFAULT_INNER_NODES = 96
"""Nodes of each half (h > 0, h < 0) of the inner (z₁) average."""

_LAMBDIFY_MODULES = [{"log2cosh": log_2cosh}, "scipy", "numpy"]


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.expand(a - b) == 0


class TiltedAverage(sp.Expr):
    """E_{z₀}[⟨G⟩_θ^power], ⟨G⟩_θ = E_{z₁}[G(h) e^{θg(h)}] / E_{z₁}[e^{θg(h)}], the field h of (1).

    Normalised on construction: an integrand free of ``h`` is returned as its power; v₁ = v₀
    (no inner noise) gives the plain :class:`~derivations.symbolic.GaussianAverage` of G^power;
    power 1 is split over sums and constant factors are pulled out (for any power).

    Not differentiable here: the equations need only first derivatives of f (rule (2)); the
    small-splitting expansion of the AT condition is :func:`_split_first_order`.
    """

    is_commutative = True

    def __new__(cls, G, g, h, mean, v0, v1, theta, power=1):
        G, power = sp.sympify(G), sp.Integer(power)
        if not G.has(h):
            return G**power
        if _same(v1, v0):
            return GaussianAverage(G**power, h, mean, v0)
        G = sp.expand(G, deep=False)
        if power == 1 and isinstance(G, sp.Add):
            return sp.Add(*(cls(t, g, h, mean, v0, v1, theta) for t in G.args))
        coefficient, rest = G.as_independent(h, as_Add=False)
        if coefficient != 1:
            return coefficient**power * cls(rest, g, h, mean, v0, v1, theta, power)
        return sp.Expr.__new__(cls, G, *map(sp.sympify, (g, h, mean, v0, v1, theta)), power)

    @property
    def free_symbols(self):
        G, g, h, *rest = self.args
        return ((G.free_symbols | g.free_symbols) - {h}).union(*(a.free_symbols for a in rest))

    def _eval_derivative(self, s):
        raise NotImplementedError("second derivatives of the 1RSB free energy are not derived")

    def _sympystr(self, printer):
        G, g, h, mean, v0, v1, th, power = (printer._print(a) for a in self.args)
        return f"E0[<{G}>^{power} | {h}; {mean}, {v0}, {v1}; tilt e^({th} {g})]"


class ReplicaLog(sp.Expr):
    """Φ_θ[g] = (1/θ) E_{z₀} ln E_{z₁} e^{θ g(h)}, eq. (1), differentiated by rule (2).

    Normalised on construction: v₁ = v₀ gives E g(h) (a
    :class:`~derivations.symbolic.GaussianAverage`, the RS term); θ = 1 with g = ln 2cosh(kh)
    gives E ln 2cosh(k(mean + √v₀ z₀)) + k²(v₁ − v₀)/2, since E cosh(k(y + sz)) =
    cosh(ky) e^{k²s²/2}.
    """

    is_commutative = True

    def __new__(cls, g, h, mean, v0, v1, theta):
        g, mean, v0, v1, theta = map(sp.sympify, (g, mean, v0, v1, theta))
        if _same(v1, v0):
            return GaussianAverage(g, h, mean, v0)
        if theta == 1 and isinstance(g, log2cosh):
            k = sp.simplify(g.args[0] / h)
            if not k.has(h):
                return GaussianAverage(g, h, mean, v0) + k**2 * (v1 - v0) / 2
        return sp.Expr.__new__(cls, g, h, mean, v0, v1, theta)

    @property
    def free_symbols(self):
        g, h, *rest = self.args
        return (g.free_symbols - {h}).union(*(a.free_symbols for a in rest))

    def _eval_derivative(self, s):
        g, h, mean, v0, v1, th = self.args

        def E(G, power=1):
            return TiltedAverage(G, g, h, mean, v0, v1, th, power)

        g1, g2 = sp.diff(g, h), sp.diff(g, h, 2)
        return (E(sp.diff(g, s)) + E(g1) * sp.diff(mean, s)
                - th / 2 * E(g1, 2) * sp.diff(v0, s)
                + (E(g2) / 2 + th / 2 * E(g1**2)) * sp.diff(v1, s)
                + (E(g) - self) / th * sp.diff(th, s))

    def _sympystr(self, printer):
        g, h, mean, v0, v1, th = (printer._print(a) for a in self.args)
        return f"Phi[{g} | {h}; {mean}, {v0}, {v1}; {th}]"


def nested_averages(expr: sp.Expr) -> set[sp.Expr]:
    """The :class:`ReplicaLog` and :class:`TiltedAverage` atoms of ``expr``."""
    return expr.atoms(ReplicaLog) | expr.atoms(TiltedAverage)


def free_energy(P: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """The 1RSB free energy per spin f at finite temperature (module docstring), and its variables.

    Returns
    -------
    f : sympy expression in the variables, ``alpha`` and ``beta``
    variables : (m, q0, q1, r0, r1, theta) for P = 2, (m, q0, q1, theta) for P >= 3; θ last
    """
    _check_order(P)
    if P == 2:
        d1 = 1 - beta * (1 - q1)
        d0 = d1 - beta * theta * (q1 - q0)
        f = (m**2 / 2 + alpha / 2
             + alpha / (2 * beta) * ((1 - 1 / theta) * sp.log(d1) + sp.log(d0) / theta
                                     - beta * q0 / d0)
             + alpha * beta / 2 * (r1 - (1 - theta) * r1 * q1 - theta * r0 * q0)
             - ReplicaLog(log2cosh(beta * _h), _h, m, alpha * r0, alpha * r1, theta) / beta)
        return f, (m, q0, q1, r0, r1, theta)
    c = alpha * factorial(P - 1)
    # the RS part factored as in derivations.dense_hopfield (no cancellation as q1 -> 1),
    # the 1RSB part (P−1)θ(q1^P − q0^P) beside it
    spin_glass = (sp.factor(1 - P * q1 ** (P - 1) + (P - 1) * q1**P)
                  - (P - 1) * theta * (q1**P - q0**P))
    f = ((P - 1) * m**P / 2
         - beta * alpha * factorial(P) / 8 * spin_glass
         - ReplicaLog(log2cosh(beta * P * _h / 2), _h, m ** (P - 1), c * q0 ** (P - 1),
                      c * q1 ** (P - 1), theta) / beta)
    return f, (m, q0, q1, theta)


def _saturate(atom: ReplicaLog) -> sp.Expr:
    """β → ∞ of Φ_θ[ln 2cosh(βX)] at θ = μ/β: θ ln 2cosh(βX) → μ|X| uniformly (error ≤ θ ln 2),
    so Φ → β Φ_μ[|X|]."""
    g, h, mean, v0, v1, th = atom.args
    if not isinstance(g, log2cosh):
        raise ValueError(f"T -> 0 rule needs ln 2cosh integrands, got {g}")
    field, tilt = sp.simplify(g.args[0] / beta), sp.simplify(th * beta)
    if field.has(beta) or tilt.has(beta):
        raise ValueError(f"T -> 0 rule needs g = ln 2cosh(beta X), theta = mu/beta: {atom}")
    return beta * ReplicaLog(sp.Abs(field), h, mean, v0, v1, tilt)


def zero_temperature_free_energy(P: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """The T → 0 limit of :func:`free_energy` at q₁ = 1 − C/β, θ = μ/β (C, μ finite).

    Every nested average is saturated (:func:`_saturate`); the expression is then linear in
    β-free averages, and each coefficient and each average's mean and variances are sent to
    β → ∞ with ``sympy.limit`` (as :func:`derivations.symbolic.zero_temperature` does for RS).

    Returns
    -------
    e : the ground-state energy per spin as a function of the variables, ``alpha`` and ``mu``
    variables : (m, q0, C, r0, r1, mu) for P = 2, (m, q0, mu) for P >= 3 (C drops out); μ last
    """
    f, _ = free_energy(P)
    f = f.subs({q1: 1 - C / beta, theta: mu / beta})
    f = f.xreplace({a: _saturate(a) for a in f.atoms(ReplicaLog)})
    atoms = sorted(f.atoms(ReplicaLog), key=sp.default_sort_key)
    placeholders = [sp.Dummy("E") for _ in atoms]
    linear = f.xreplace(dict(zip(atoms, placeholders, strict=True)))
    result = sp.limit(linear.subs(dict.fromkeys(placeholders, 0)), beta, sp.oo)
    for a, p in zip(atoms, placeholders, strict=True):
        coefficient = sp.limit(sp.diff(linear, p), beta, sp.oo)
        g, h, mean, v0, v1, th = a.args
        limits = (sp.limit(e, beta, sp.oo) for e in (mean, v0, v1))
        result += coefficient * ReplicaLog(g, h, *limits, th)
    if result.has(sp.oo, -sp.oo, sp.zoo, sp.nan, beta):
        raise ValueError("no finite T -> 0 limit")
    variables = (m, q0, C, r0, r1, mu) if P == 2 else (m, q0, mu)
    return result, variables


def _pairing(P: int, zero_temperature: bool) -> dict[sp.Symbol, sp.Symbol]:
    """Which stationarity condition each variable is solved from (x -> y: x from ∂f/∂y = 0).

    P = 2: m from ∂f/∂m, q₀ (q₁, or C at T = 0) from ∂f/∂r₀ (∂f/∂r₁), r₀ (r₁) from ∂f/∂q₀
    (∂f/∂q₁ or ∂f/∂C), the AGS form at each level. P >= 3: each variable from its own condition.
    The Parisi parameter (θ, μ at T = 0) is not in the map: its condition is implicit, and the
    physical value maximises f, so it is a parameter of the map, optimised outside.
    """
    if P == 2:
        second = C if zero_temperature else q1
        return {m: m, q0: r0, second: r1, r0: q0, r1: second}
    return {m: m, q0: q0} if zero_temperature else {m: m, q0: q0, q1: q1}


def _solve_for(condition: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """:func:`derivations.symbolic.solve_for` with the nested averages held opaque too, and
    common factors cancelled first (the T = 0 limit leaves e.g. (1 − C − μ(1 − q₀)) above and
    below, whose zero is not a solution)."""
    opaque = {a: sp.Dummy("E") for a in nested_averages(condition)}
    solved = symbolic.solve_for(sp.cancel(condition.xreplace(opaque)), x)
    return solved.xreplace({d: a for a, d in opaque.items()})


@dataclass(frozen=True)
class Derivation1RSB:
    """The 1RSB equations of one P and temperature regime, derived but not compiled.

    Attributes
    ----------
    variables
        Order parameters of the fixed-point map, in array order.
    parameters
        Public name -> symbol of each control parameter; the Parisi parameter ("theta", or
        "mu" = βθ at T = 0) is the last.
    free_energy, energy
        f and u = ∂(βf)/∂β at fixed order parameters and θ (at T = 0 both are e).
    stationarity
        ∂f/∂x for each variable, then ∂f/∂θ (∂e/∂μ).
    fixed_point
        F(x) for each variable, solved from its paired condition (:func:`_pairing`).
    definitions
        Symbols substituted before evaluation (β = 1/T).
    """

    variables: tuple[sp.Symbol, ...]
    parameters: dict[str, sp.Symbol]
    free_energy: sp.Expr
    energy: sp.Expr
    stationarity: tuple[sp.Expr, ...]
    fixed_point: tuple[sp.Expr, ...]
    definitions: dict[sp.Symbol, sp.Expr]

    def compile(self) -> Compiled1RSB:
        """The derived expressions as vectorised numpy functions."""
        symbols = (*self.variables, *self.parameters.values())
        groups = {"free_energy": (self.free_energy,), "stationarity": self.stationarity,
                  "fixed_point": self.fixed_point,
                  "thermodynamics": (self.free_energy, self.energy)}
        return Compiled1RSB(
            variables=tuple(str(x) for x in self.variables),
            parameters=tuple(self.parameters),
            derivation=self,
            _numeric={name: _NestedExpressions(
                tuple(e.subs(self.definitions) for e in group), symbols)
                for name, group in groups.items()})


@symbolic.cached_on_disk
def symbolic_equations(P: int, zero_temperature: bool = False) -> Derivation1RSB:
    """The 1RSB equations of :func:`equations`, derived but not compiled (kept on disk)."""
    if zero_temperature:
        f, variables = zero_temperature_free_energy(P)
        parameters, definitions = {"alpha": alpha, "mu": mu}, {}
    else:
        f, variables = free_energy(P)
        parameters, definitions = {"alpha": alpha, "T": temperature, "theta": theta}, \
            {beta: 1 / temperature}
    order = variables[:-1]
    conditions = tuple(sp.diff(f, x) for x in variables)
    condition_of = dict(zip(variables, conditions, strict=True))
    pairing = _pairing(P, zero_temperature)
    return Derivation1RSB(
        variables=order,
        parameters=parameters,
        free_energy=f,
        energy=f if zero_temperature else symbolic.internal_energy(f, beta),
        stationarity=conditions,
        fixed_point=tuple(_solve_for(condition_of[pairing[x]], x) for x in order),
        definitions=definitions)


@cache
def equations(P: int, zero_temperature: bool = False) -> Compiled1RSB:
    """The 1RSB saddle-point equations of order P, derived and compiled (cached).

    Parameters
    ----------
    P
        Interaction order, >= 2.
    zero_temperature
        The exact T → 0 equations at fixed μ = βθ (module docstring) instead of finite T.

    Returns
    -------
    Compiled1RSB
        variables (m, q0, q1) [P >= 3], (m, q0, q1, r0, r1) [P = 2], (m, q0) [P >= 3, T = 0,
        q₁ = 1], (m, q0, C, r0, r1) [P = 2, T = 0, C = β(1 − q₁)]; parameters ("alpha", "T",
        "theta") or, at T = 0, ("alpha", "mu").
    """
    _check_order(P)
    return symbolic_equations(P, zero_temperature).compile()


# --- the continuous-limit AT condition -------------------------------------------------------

def _split_first_order(expr: sp.Expr) -> sp.Expr:
    """``expr`` with each tilted average expanded to first order in the inner variance
    Δ = v₁ − v₀ (then exact for a quantity that vanishes at Δ = 0, differentiated at Δ = 0).

    From ∂_Δ E_{z₁}[X] = ½ E_{z₁}[X''] (heat equation) at Δ = 0, with w = e^{θg}:
    ∂_Δ⟨G⟩ = ½[(Gw)'' − G w'']/w = ½G'' + θG'g', hence
    E⟨G⟩ ≈ E[G] + Δ E[½G'' + θG'g'] and E⟨G⟩² ≈ E[G²] + Δ E[G G'' + 2θ G G' g'],
    all averages now over h ~ N(mean, v₀).
    """
    expanded = {}
    for a in expr.atoms(TiltedAverage):
        G, g, h, mean, v0, v1, th, power = a.args
        G1, G2, g1 = sp.diff(G, h), sp.diff(G, h, 2), sp.diff(g, h)
        slope = G2 / 2 + th * G1 * g1 if power == 1 else G * G2 + 2 * th * G * G1 * g1
        expanded[a] = (GaussianAverage(G**power, h, mean, v0)
                       + (v1 - v0) * GaussianAverage(slope, h, mean, v0))
    return expr.xreplace(expanded)


@symbolic.cached_on_disk
def continuous_at_condition(P: int) -> sp.Expr:
    """λ(RS state; α, β): the RS solution is unstable to a continuous splitting q₁ − q₀ where
    λ > 1; λ = 1 is the continuous-limit AT line (spec §6; for P ≥ 3 not "where RS first
    fails": 1RSB may set in discontinuously).

    Derived from the finite-T 1RSB fixed-point map at the RS point (q₀ = q₁ = q, r₀ = r₁ = r):
    the splittings δq = q₁ − q₀ (and δr = r₁ − r₀ for P = 2) vanish identically on the RS
    manifold, so at first order they map among themselves, with the Jacobian J of
    (F_{q₁} − F_{q₀}, F_{r₁} − F_{r₀}) in (δq, δr) (:func:`_split_first_order`). P >= 3: λ = J
    (1 × 1); P = 2: J has a zero diagonal and λ = J_qr J_rq (eigenvalues ±√λ). The result is
    independent of θ and is expressed by the RS variables (m, q[, r]) of
    :mod:`derivations.dense_hopfield`. Expected (spec §6 [DER]; AGS [LIT] for P = 2):
    λ = β'² α(P−1)!(P−1) q^{P−2} E sech⁴(β'h), P = 2: λ = αβ² E sech⁴(βh) / (1 − β(1−q))².
    """
    from derivations.dense_hopfield import q, r

    derivation = symbolic_equations(P)
    F = dict(zip(derivation.variables, derivation.fixed_point, strict=True))
    pairs = [(q1, q0, q)] + ([(r1, r0, r)] if P == 2 else [])
    eps = [sp.Dummy("eps") for _ in pairs]
    point = {}
    for (upper, lower, rs), e in zip(pairs, eps, strict=True):
        point.update({upper: rs + e, lower: rs})
    splits = [_split_first_order(sp.expand(F[upper] - F[lower]).subs(point))
              for upper, lower, _ in pairs]
    at_rs = dict.fromkeys(eps, 0)
    J = sp.Matrix([[sp.diff(s, e).subs(at_rs) for e in eps] for s in splits])
    if P > 2:
        return sp.simplify(J[0, 0])
    if sp.simplify(J[0, 0]) != 0 or sp.simplify(J[1, 1]) != 0:
        raise ValueError(f"unexpected diagonal in the P = 2 splitting map: {J}")
    return sp.simplify(J[0, 1] * J[1, 0])


@cache
def at_eigenvalue(P: int):
    """λ of :func:`continuous_at_condition` compiled for the RS solver's variables: a function
    ``(m, q, r, alpha, T, nodes=...) -> λ`` on arrays (finite T; ``r`` is used for P = 2 only).

    Evaluated with the split tanh–sinh rule of :class:`derivations.symbolic.GaussianAverages`
    (the average of sech⁴ is a spike of width T at the field's zero, which that rule resolves).
    λ > 1: the RS state is unstable to a continuous splitting q₁ − q₀ (the AT line is λ = 1).
    """
    from derivations.dense_hopfield import T, q, r

    expr = continuous_at_condition(P).subs(beta, 1 / T)
    arguments = [m, q, r, alpha, T]
    averages = symbolic.GaussianAverages([expr], arguments, zero_temperature=False)
    outer = sp.lambdify([*arguments, *averages.placeholders],
                        expr.xreplace(averages.replacements), modules="numpy")

    def evaluate(m_, q_, r_, alpha_, T_, nodes: int = symbolic.DEFAULT_NODES):
        values = [np.asarray(v, dtype=float) for v in (m_, q_, r_, alpha_, T_)]
        return np.asarray(outer(*values, *averages(values, nodes)), dtype=float)

    return evaluate


# --- numerics --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _NestedGroup:
    """Nested averages sharing one field and tilt (g, h, mean, v₀, v₁, θ): one quadrature."""

    mean: object
    v0: object
    v1: object
    theta: object
    slope: object
    """lim g(h)/|h| (β' for ln 2cosh(β'h)), so that the tilt is e^{θ slope |h|} ρ(h)."""
    tilt: object
    """g(h), lambdified as (h, *arguments)."""
    tilt_at_zero: object
    logs: tuple[int, ...]
    """Positions (in the group's output) of the Φ atoms."""
    smooth: tuple[tuple[int, int], ...]
    """(position, power) of the tilted averages of smooth integrands."""
    integrands: object
    """The smooth integrands G(h), lambdified together as (h, *arguments) -> list."""
    deltas: tuple[tuple[int, object], ...]
    """(position, c(arguments)) of tilted averages of c·δ(h)."""


def _tilted_inner(group, arguments, y, s2, inner, th, slope):
    """ln E_{z₁} e^{θg} and the tilted measure's nodes and probabilities, per outer node.

    Split at h = 0: on h > 0, e^{θg} = e^{κh} ρ(h) with κ = θ·slope, and e^{κ(y + s z)} φ(z) =
    e^{κy + κ²s²/2} φ(z − κs): the upper half of N(y + κs², s²) with weight e^{κy}; on h < 0 the
    lower half of N(y − κs², s²) with weight e^{−κy}; the common e^{κ²s²/2} is added to ln Z.
    """
    th, slope = th[:, None], slope[:, None]
    kappa = th * slope
    half = inner
    up_h, up_w = quadrature(y + kappa * s2, s2, nodes=2 * inner)
    down_h, down_w = quadrature(y - kappa * s2, s2, nodes=2 * inner)
    h = np.concatenate([up_h[..., half:], down_h[..., :half]], axis=-1)
    with np.errstate(divide="ignore"):
        log_w = np.concatenate([np.log(up_w[..., half:]) + (kappa * y)[..., None],
                                np.log(down_w[..., :half]) - (kappa * y)[..., None]], axis=-1)
    on_nodes = [a[:, None, None] for a in arguments]
    log_w += th[..., None] * (group.tilt(h, *on_nodes) - slope[..., None] * np.abs(h))
    top = special.logsumexp(log_w, axis=-1)
    return top + kappa**2 * s2 / 2, h, np.exp(log_w - top[..., None])


class _NestedExpressions:
    """A tuple of expressions with nested averages, evaluated on numpy arrays (as
    ``symbolic._NumericExpressions`` does for plain Gaussian averages)."""

    def __init__(self, exprs: Sequence[sp.Expr], arguments: Sequence[sp.Symbol]):
        atoms = sorted(set().union(*(nested_averages(e) for e in exprs)), key=sp.default_sort_key)
        if any(e.atoms(GaussianAverage) for e in exprs):
            raise ValueError("plain Gaussian averages are not evaluated here")
        grouped: dict[tuple, list] = {}
        for a in atoms:
            key = a.args if isinstance(a, ReplicaLog) else a.args[1:7]
            grouped.setdefault(key, []).append(a)
        h = sp.Dummy("h", real=True)

        def numeric(expr):
            return sp.lambdify(arguments, expr, modules=_LAMBDIFY_MODULES)

        self._groups, order = [], []
        for (g, hb, mean, v0, v1, th), members in grouped.items():
            g = g.xreplace({hb: h})
            slope = sp.simplify(g.replace(log2cosh, sp.Abs).subs(h, 1))
            logs, smooth, smooth_G, deltas = [], [], [], []
            for a in members:
                position = len(order)
                order.append(a)
                if isinstance(a, ReplicaLog):
                    logs.append(position)
                    continue
                G = a.args[0].xreplace({hb: h})
                if G.has(sp.DiracDelta):
                    coefficient = sp.simplify(G / sp.DiracDelta(h))
                    if coefficient.has(h) or a.args[7] != 1:
                        raise ValueError(f"cannot evaluate {a}")
                    deltas.append((position, numeric(coefficient)))
                else:
                    smooth.append((position, int(a.args[7])))
                    smooth_G.append(G)
            self._groups.append(_NestedGroup(
                mean=numeric(mean), v0=numeric(v0), v1=numeric(v1), theta=numeric(th),
                slope=numeric(slope),
                tilt=sp.lambdify([h, *arguments], g, modules=_LAMBDIFY_MODULES),
                tilt_at_zero=numeric(g.subs(h, 0)),
                logs=tuple(logs), smooth=tuple(smooth),
                integrands=sp.lambdify([h, *arguments], smooth_G, modules=_LAMBDIFY_MODULES,
                                       cse=True),
                deltas=tuple(deltas)))
        placeholders = [sp.Dummy("E") for _ in order]
        self._outer = sp.lambdify(
            [*arguments, *placeholders],
            [e.xreplace(dict(zip(order, placeholders, strict=True))) for e in exprs],
            modules=_LAMBDIFY_MODULES)
        self._size = len(order)

    def __call__(self, arguments: Sequence[NDArray[np.float64]], outer: int,
                 inner: int) -> list:
        values: list = [None] * self._size
        shape = np.broadcast_shapes(*(np.shape(x) for x in arguments))
        flat = [np.broadcast_to(np.asarray(x, dtype=float), shape).reshape(-1)
                for x in arguments]

        def at(f, *args):
            return np.broadcast_to(np.asarray(f(*args), dtype=float), flat[0].shape)

        for group in self._groups:
            v0, v1, th = at(group.v0, *flat), at(group.v1, *flat), at(group.theta, *flat)
            y, w0 = quadrature(at(group.mean, *flat), v0, nodes=outer)
            s2 = np.broadcast_to((v1 - v0)[:, None], y.shape)
            per_node = [a[:, None] for a in flat]
            log_z, h, p = _tilted_inner(group, flat, y, s2, inner, th, at(group.slope, *flat))
            bare = s2 == 0  # no inner noise: the tilted measure is a point mass at y
            log_z = np.where(bare, th[:, None] * group.tilt(y, *per_node), log_z)
            for position in group.logs:
                values[position] = (np.sum(w0 * log_z, axis=-1) / th).reshape(shape)
            on_nodes = [a[:, None, None] for a in flat]
            smooth_inner = group.integrands(h, *on_nodes)
            smooth_bare = group.integrands(y, *per_node)
            for (position, power), G, G_bare in zip(group.smooth, smooth_inner, smooth_bare,
                                                    strict=True):
                inside = np.where(bare, G_bare, np.sum(p * G, axis=-1))
                values[position] = np.sum(w0 * inside**power, axis=-1).reshape(shape)
            for position, coefficient in group.deltas:
                # ⟨c δ(h)⟩ = c φ(y/s)/s e^{θ g(0)} / Z (undefined without inner noise)
                s = np.sqrt(s2)
                with np.errstate(divide="ignore", invalid="ignore"):
                    log_density = -0.5 * (y / s) ** 2 - 0.5 * np.log(2 * np.pi) - np.log(s)
                    inside = np.exp(log_density + (th * at(group.tilt_at_zero, *flat))[:, None]
                                    - log_z)
                inside = np.where(bare, np.nan, inside)
                values[position] = (at(coefficient, *flat)
                                    * np.sum(w0 * inside, axis=-1)).reshape(shape)
        return self._outer(*arguments, *values)


@dataclass(frozen=True)
class Compiled1RSB:
    """1RSB saddle-point equations compiled to vectorised numpy functions.

    Every callable takes ``x`` of shape (n_vars, *G) (order parameters in the order of
    :attr:`variables`), ``params`` mapping each name in :attr:`parameters` (the Parisi
    parameter included) to an array broadcastable to G, and the node counts ``outer`` (z₀) and
    ``inner`` (per half of z₁) of the nested quadrature (module docstring).

    Attributes
    ----------
    variables, parameters
        Names of the order parameters and of the control parameters.
    derivation
        The sympy expressions behind the functions (:class:`Derivation1RSB`).
    """

    variables: tuple[str, ...]
    parameters: tuple[str, ...]
    derivation: Derivation1RSB
    _numeric: Mapping[str, _NestedExpressions]

    def _evaluate(self, which: str, x: ArrayLike, params: Mapping[str, ArrayLike],
                  outer: int, inner: int) -> NDArray[np.float64]:
        x = symbolic.checked_point(x, params, self.variables, self.parameters)
        arguments = [*x, *(np.asarray(params[p], dtype=float) for p in self.parameters)]
        shape = np.broadcast_shapes(*(a.shape for a in arguments))
        return symbolic.broadcast_stack(self._numeric[which](arguments, outer, inner), shape)

    def fixed_point(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
                    outer: int = DEFAULT_OUTER_NODES,
                    inner: int = DEFAULT_INNER_NODES) -> NDArray[np.float64]:
        """F(x) at the given Parisi parameter, shape (n_vars, *G)."""
        return self._evaluate("fixed_point", x, params, outer, inner)

    def stationarity(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
                     outer: int = DEFAULT_OUTER_NODES,
                     inner: int = DEFAULT_INNER_NODES) -> NDArray[np.float64]:
        """∂f/∂x for each variable, then ∂f/∂θ (∂e/∂μ at T = 0): shape (n_vars + 1, *G)."""
        return self._evaluate("stationarity", x, params, outer, inner)

    def free_energy(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
                    outer: int = DEFAULT_OUTER_NODES,
                    inner: int = DEFAULT_INNER_NODES) -> NDArray[np.float64]:
        """f per spin (the ground-state energy e at T = 0), shape G."""
        return self._evaluate("free_energy", x, params, outer, inner)[0]

    def thermodynamics(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
                       outer: int = DEFAULT_OUTER_NODES,
                       inner: int = DEFAULT_INNER_NODES) -> NDArray[np.float64]:
        """f and u = ∂(βf)/∂β together (one nested quadrature), shape (2, *G)."""
        return self._evaluate("thermodynamics", x, params, outer, inner)

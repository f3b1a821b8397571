"""Dense (P-spin) Hebbian networks trained on examples: the RS free energy, written once.

Everything else — the fixed-point map, the stationarity conditions, the archetype overlap m and
the exact T = 0 equations — is derived from :func:`free_energy` with sympy and compiled here;
hand-written equations of the spec are tests of it (``tests/test_derivations_dense_hebbian.py``).

Model (``shared/specs/dense-hopfield.md`` §7; Agliari, Albanese, Alemanno, Alessandrelli, Barra,
Giannotti, Lotito, Pedreschi, *Dense Hebbian neural networks: a replica symmetric picture of
supervised learning*, arXiv 2212.00606, and *... of unsupervised learning*, arXiv 2211.14067).
K = αN^{P−1} archetypes ξ^μ ∈ {±1}^N, M examples each, η^{μ,a}_i = χ^{μ,a}_i ξ^μ_i with
P(χ = +1) = (1 + r)/2; χ̂ = Σ_a χ^a/(rM) has mean 1 and variance ρ = (1 − r²)/(M r²).

Convention: the spec's own (§7, §7.2 "default to ours"), T = 1/β, β' = βP/2,

    supervised    H = −(N/2) Σ_μ :n_μ^P:,                     n_μ = (1/N) Σ_i ξ^μ_i χ̂^μ_i σ_i,
    unsupervised  H = −(N/2)(1/M) Σ_{μ,a} :(m_{μa}/r)^P:,     m_{μa} = (1/N) Σ_i η^{μ,a}_i σ_i,

repeated indices removed (``:·:``). The papers' costs differ by a constant factor c (§7.2: c =
(1 + ρ)^{−P/2} or (1 + ρ)^{−P} supervised): a paper's temperature T' is ours at T = T'/c; α and
every T = 0 result are unchanged. Interaction order P ≥ 3 only: §7.1 is stated for P ≥ 3 (for
P = 2 the non-condensed patterns add AGS's soft part, which the spec does not derive here).

RS free energy (spec §7.1, its own derivation [DER]; the papers' bodies were not read), one
condensed class with n = n_1 (unsupervised: the symmetric saddle m_{1a} = r n), q the two-replica
overlap, λ a source field conjugate to the archetype, −λ Σ_i ξ^1_i σ_i added to H:

    f = (P−1)/2 · n^P − (βαP!A/8)(1 − P q^{P−1} + (P−1) q^P)
        − (1/β) E_{χ̂,z} ln 2cosh β(P h/2 + λ),      h = n^{P−1} χ̂ + √(α(P−1)! A q^{P−1}) z,

with A = (E χ̂²)^P = (1 + ρ)^P supervised and A = 1 + (1 − r^{2P})/(M r^{2P})
= 1 + ρ Σ_{j<P} r^{−2j} unsupervised (the second form, with ρ = (1 − r²)/(M r²), is finite at
r = 1). The data average over χ̂ is

* ``exact`` (finite M): χ̂ = (M − 2k)/(rM), k ~ Binomial(M, (1 − r)/2), a sum of M + 1 terms
  (:class:`ExampleAverage`), parameters (r, M);
* ``gaussian`` (large M): χ̂ = 1 + √ρ w, w ~ N(0, 1). h is then one Gaussian of mean n^{P−1} and
  variance ρ n^{2(P−1)} + α(P−1)! A q^{P−1}, the same average exactly, parameters ρ
  (unsupervised also r: A is not a function of ρ alone).

Derived here (:func:`symbolic_equations`):

* stationarity ∂f/∂n and ∂f/∂q (Gaussian averages by the heat-equation rule of
  :mod:`derivations.symbolic`, example averages commute with derivatives);
* the fixed-point map: each condition is κ_x (x − F_x) with κ_n = P(P−1) n^{P−2}/2 (the
  curvature of the signal term) and κ_q = −βαP!A P(P−1) q^{P−2}/8 (that of the spin-glass term),
  so F_x = x − (∂f/∂x)/κ_x, checked to be free of 1/κ_x. It reads n = E[χ̂ tanh β'h],
  q = E tanh² β'h; with the Gaussian average the first takes the Stein form
  n = E tanh β'h + β'ρ n^{P−1} E sech² β'h;
* the archetype overlap m = −∂f/∂λ at λ = 0, = E tanh β'h;
* T = 0 (q = 1 − C/β, β → ∞; C drops out for P ≥ 3 and q = 1): (1/β) ln 2cosh(βa) → |a|,
  tanh(βa) → sign a inside the averages (dominated convergence),

      f₀ = (P−1)/2 · n^P − (P/2) E|h|,    n = E[χ̂ sign h],    m = E sign h,

  with E|h|, E sign h (and δ(h) terms of the Gaussian-average map) in closed form (erf, exp),
  never a quadrature at large β. At a solution f₀ = −n^P/2 − P s E φ(n^{P−1}χ̂/s), s² = α(P−1)!A,
  the spec's e. At s = 0 (α = 0, exact average) an average is its integrand at the mean, with
  sign 0 = 0 (a site of zero field is unbiased). The finite-T solution approaches it as O(T)
  (q = 1 − CT shifts the noise variance by O(T)).

Example states (unsupervised, exact average; spec §7.1 [DER, heuristic]), outside the symmetric
saddle (:func:`example_free_energy`, ``state="example"``): one distinguished example of the
condensed class with overlap m_e, the other M − 1 symmetric with m_o; in the gauge ξ = 1 the
example entries are χ_1 = ±1 and S' = Σ_{a≥2} χ_a (:class:`DistinguishedExampleAverage`, a sum
over (χ_1, k), S' = M − 1 − 2k). The non-condensed classes give the symmetric saddle's noise:

    f = (P−1)/2 · (m_e^P + (M−1) m_o^P)/(M r^P) − (βαP!A_u/8)(1 − P q^{P−1} + (P−1) q^P)
        − (1/β) E ln 2cosh β(P h/2 + λ),
    h = (m_e^{P−1}χ_1 + m_o^{P−1}S')/(M r^P) + √(α(P−1)!A_u q^{P−1}) z,

with κ_{m_e} = P(P−1) m_e^{P−2}/(2M r^P), κ_{m_o} = (M−1) P(P−1) m_o^{P−2}/(2M r^P): m_e =
E[χ_1 tanh β'h], m_o = E[S' tanh β'h]/(M − 1) (M >= 2), q = E tanh² β'h, m = E tanh β'h; at
T = 0 tanh → sign as above. At m_e = m_o = r n it is the symmetric saddle (χ_1 + S' = rMχ̂,
E[χ_1 | χ̂] = rχ̂): tested symbolically. At α = 0, T = 0 the pure example m_e = 1, m_o = r² is a
fixed point iff (M − 1) r^{2(P−1)} < 1, of energy −½[1 + (M−1) r^{2P}]/(M r^P) (the spec's).

Not here: P = 2 and 1RSB (spec §6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from math import factorial

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from derivations import symbolic
from derivations.symbolic import GaussianAverage, log2cosh
from theorylab.gaussian import DEFAULT_NODES, log_2cosh

PROTOCOLS = ("supervised", "unsupervised")
AVERAGES = ("exact", "gaussian")

alpha = sp.Symbol("alpha", positive=True)
T = sp.Symbol("T", positive=True)
beta = sp.Symbol("beta", positive=True)
rho = sp.Symbol("rho", nonnegative=True)
r = sp.Symbol("r", positive=True)
M = sp.Symbol("M", positive=True)
n, q, C, lam = sp.symbols("n q C lambda", real=True)
m_e, m_o = sp.symbols("m_e m_o", real=True)
"""The example overlaps of an example state: m_e with the distinguished example η^{1,1},
m_o with each of the other M − 1 examples of the condensed class."""
chi = sp.Symbol("chi", real=True)
"""χ̂, the example average of one site, bound by :class:`ExampleAverage`."""
_h = sp.Dummy("h", real=True)


class ExampleAverage(sp.Expr):
    """E_χ̂[g(χ̂)] over the exact finite-M law of χ̂ = (M − 2k)/(rM), k ~ Bin(M, (1 − r)/2),
    as a sympy expression, evaluated numerically as a sum over k = 0..M.

    A linear operator whose weights do not depend on the order parameters, β or λ, so it commutes
    with differentiation in them. Construction normalises by linearity (as
    :class:`~derivations.symbolic.GaussianAverage`): sums are split, factors free of χ̂ are pulled
    out and an integrand free of χ̂ is returned as is (the weights sum to one).

    Subclasses average over other laws of the examples: they name the symbols they bind
    (:attr:`bound`) and their rows and weights (:meth:`rows`).
    """

    is_commutative = True
    bound: tuple[sp.Symbol, ...] = (chi,)

    def __new__(cls, g):
        g = sp.sympify(g)
        if not g.has(*cls.bound):
            return g
        g = sp.expand(g, deep=False)
        if isinstance(g, sp.Add):
            return sp.Add(*(cls(term) for term in g.args))
        coefficient, rest = g.as_independent(*cls.bound, as_Add=False)
        if coefficient != 1:
            return coefficient * cls(rest)
        return sp.Expr.__new__(cls, g)

    @property
    def integrand(self) -> sp.Expr:
        return self.args[0]

    @property
    def free_symbols(self):
        return self.args[0].free_symbols - set(self.bound)

    def _eval_derivative(self, s):
        return type(self)(sp.diff(self.args[0], s))

    def _sympystr(self, printer):
        return f"<{printer._print(self.args[0])}>_{','.join(map(str, self.bound))}"

    @staticmethod
    def rows(examples: int, qualities: NDArray[np.float64]
             ) -> tuple[list[NDArray[np.float64]], NDArray[np.float64]]:
        """The values of the bound symbols on the rows of the sum (each broadcastable to
        (rows, G)) and the weights, shape (rows, G), for M = ``examples`` and r =
        ``qualities`` (shape (G,))."""
        k = np.arange(examples + 1)[:, None]
        weights = stats.binom.pmf(k, examples, (1 - qualities[None, :]) / 2)
        return [(examples - 2.0 * k) / (qualities[None, :] * examples)], weights


chi1 = sp.Symbol("chi_1", real=True)
"""χ_1 = ±1, the distinguished example's entry at one site (example states)."""
others = sp.Symbol("S", real=True)
"""S' = Σ_{a≥2} χ_a, the sum of the other M − 1 examples' entries at one site."""


class DistinguishedExampleAverage(ExampleAverage):
    """E_{χ_1, S'}[g(χ_1, S')] over the exact law of one distinguished example's entry
    χ_1 = ±1 (P(+1) = (1 + r)/2) and the sum S' = (M − 1) − 2k, k ~ Bin(M − 1, (1 − r)/2), of
    the other M − 1 entries, independent of it: a sum over 2M rows (example states, spec §7.1).
    At χ_1 + S' = rMχ̂ it is the average of :class:`ExampleAverage` (M >= 1; M = 1: S' = 0)."""

    bound = (chi1, others)

    @staticmethod
    def rows(examples, qualities):
        k = np.arange(examples)[:, None]
        rest = stats.binom.pmf(k, examples - 1, (1 - qualities[None, :]) / 2)
        up = (1 + qualities[None, :]) / 2
        weights = np.concatenate([up * rest, (1 - up) * rest])
        sums = np.concatenate([examples - 1 - 2.0 * k] * 2)
        signs = np.repeat([1.0, -1.0], examples)[:, None]
        return [signs, sums], weights


def _check_case(P: int, protocol: str, average: str) -> None:
    if not isinstance(P, int) or P < 3:
        raise ValueError(f"P must be an integer >= 3 (spec §7.1; got {P!r})")
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)} (got {protocol!r})")
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {', '.join(AVERAGES)} (got {average!r})")


def dataset_entropy(average: str) -> sp.Expr:
    """ρ: the parameter ``rho`` (Gaussian average) or (1 − r²)/(M r²) (exact average)."""
    return rho if average == "gaussian" else (1 - r**2) / (M * r**2)


def noise_amplification(P: int, protocol: str, average: str) -> sp.Expr:
    """A, the factor of the non-condensed patterns' noise (spec §7.1): (1 + ρ)^P supervised,
    1 + ρ Σ_{j<P} r^{−2j} = 1 + (1 − r^{2P})/(M r^{2P}) unsupervised."""
    entropy = dataset_entropy(average)
    if protocol == "supervised":
        return (1 + entropy) ** P
    return 1 + entropy * sum(r ** (-2 * j) for j in range(P))


def free_energy(P: int, protocol: str, average: str) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """The RS free energy per spin at finite temperature with the source λ, and its variables.

    Parameters
    ----------
    P
        Interaction order, >= 3.
    protocol
        ``"supervised"`` or ``"unsupervised"`` (its symmetric saddle).
    average
        ``"exact"`` (binomial χ̂) or ``"gaussian"`` (χ̂ = 1 + √ρ w).

    Returns
    -------
    f : sympy expression in (n, q), ``lam``, ``alpha``, ``beta`` and the data parameters:
        ``rho`` (supervised Gaussian), ``rho`` and ``r`` (unsupervised Gaussian), ``r`` and
        ``M`` (exact)
    variables : (n, q)
    """
    _check_case(P, protocol, average)
    A = noise_amplification(P, protocol, average)
    noise = alpha * factorial(P - 1) * A * q ** (P - 1)
    # Factored, as in derivations.dense_hopfield: (1 − q)² Σ_k (k+1) q^k keeps its digits at q ≈ 1.
    spin_glass = sp.factor(1 - P * q ** (P - 1) + (P - 1) * q**P)
    local = log2cosh(beta * (P * _h / 2 + lam))
    if average == "exact":
        pressure = ExampleAverage(GaussianAverage(local, _h, n ** (P - 1) * chi, noise))
    else:
        pressure = GaussianAverage(local, _h, n ** (P - 1), rho * n ** (2 * P - 2) + noise)
    f = ((P - 1) * n**P / 2 - beta * alpha * factorial(P) * A / 8 * spin_glass
         - pressure / beta)
    return f, (n, q)


STATES = ("symmetric", "example")


def example_free_energy(P: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """The RS free energy of the unsupervised protocol outside the symmetric saddle (spec §7.1,
    example states), exact average, with the source λ, and its variables.

    The condensed class keeps one distinguished example (overlap m_e) and the other M − 1
    symmetric (overlap m_o each); in the gauge ξ = 1 the entries are χ_1 and S' = Σ_{a≥2} χ_a
    (:class:`DistinguishedExampleAverage`). The non-condensed classes give the noise of the
    symmetric saddle (A = A_u), which does not depend on the condensed state:

        f = (P−1)/2 · (m_e^P + (M−1) m_o^P)/(M r^P) − (βαP!A_u/8)(1 − P q^{P−1} + (P−1) q^P)
            − (1/β) E ln 2cosh β(P h/2 + λ),
        h = (m_e^{P−1} χ_1 + m_o^{P−1} S')/(M r^P) + √(α(P−1)! A_u q^{P−1}) z.

    At m_e = m_o = r n it is :func:`free_energy` of the unsupervised exact case (χ_1 + S' =
    rMχ̂). Returns f in (m_e, m_o, q), ``lam``, ``alpha``, ``beta``, ``r``, ``M``, and the
    variables (m_e, m_o, q).
    """
    _check_case(P, "unsupervised", "exact")
    A = noise_amplification(P, "unsupervised", "exact")
    noise = alpha * factorial(P - 1) * A * q ** (P - 1)
    spin_glass = sp.factor(1 - P * q ** (P - 1) + (P - 1) * q**P)
    scale = M * r**P
    signal = (m_e ** (P - 1) * chi1 + m_o ** (P - 1) * others) / scale
    local = log2cosh(beta * (P * _h / 2 + lam))
    pressure = DistinguishedExampleAverage(GaussianAverage(local, _h, signal, noise))
    f = ((P - 1) * (m_e**P + (M - 1) * m_o**P) / (2 * scale)
         - beta * alpha * factorial(P) * A / 8 * spin_glass - pressure / beta)
    return f, (m_e, m_o, q)


def _opaque(expr: sp.Expr) -> tuple[sp.Expr, dict[sp.Dummy, sp.Expr]]:
    """``expr`` with its outermost averages replaced by dummies, and the way back."""
    replaced = {a: sp.Dummy("E") for a in expr.atoms(ExampleAverage)}
    expr = expr.xreplace(replaced)
    replaced.update({a: sp.Dummy("E") for a in symbolic.averages(expr)})
    return expr.xreplace(replaced), {d: a for a, d in replaced.items()}


def _solved(condition: sp.Expr, x: sp.Symbol, curvature: sp.Expr) -> sp.Expr:
    """F_x = x − condition/κ_x, cancelled with the averages opaque and collected in them.

    Raises
    ------
    ValueError
        If κ_x does not divide the condition (a denominator in the variables is left).
    """
    opaque, back = _opaque(condition)
    solved = sp.cancel(x - opaque / curvature)
    if solved.as_numer_denom()[1].has(n, m_e, m_o, q, alpha, beta):
        raise ValueError(f"{curvature} does not divide the condition for {x}: {solved}")
    return sp.collect(sp.expand(solved), list(back)).xreplace(back)


def _saturate(expr: sp.Expr) -> sp.Expr:
    """Inside every average, ln 2cosh(βa) → β|a| and tanh(βa) → sign a (pointwise β → ∞).

    The averages' constructors pull the factor β out of the integrands, where it cancels the 1/β
    of f. Each argument must be β times a β-free expression.
    """
    def field(argument):
        a = sp.expand(argument / beta)
        if a.has(beta):
            raise ValueError(f"T -> 0 rule needs arguments proportional to beta, got {argument}")
        return a

    return expr.replace(log2cosh, lambda a: beta * sp.Abs(field(a))).replace(
        sp.tanh, lambda a: sp.sign(field(a)))


def _zero_temperature(f: sp.Expr) -> sp.Expr:
    """The β → ∞ limit of f at q = 1 − C/β (derivations.symbolic.zero_temperature, extended to
    Gaussian averages nested in example averages): saturate the integrands, then send the
    coefficients of the (now linear) averages and the averages' means and variances to the
    limit."""
    expr = _saturate(f.subs(q, 1 - C / beta))
    opaque, back = _opaque(expr)

    def limit_inside(average):
        return average.replace(
            lambda e: isinstance(e, GaussianAverage),
            lambda e: GaussianAverage(e.integrand, e.variable, sp.limit(e.mean, beta, sp.oo),
                                      sp.limit(e.var, beta, sp.oo)))

    result = sp.limit(opaque.subs(dict.fromkeys(back, 0)), beta, sp.oo)
    for placeholder, average in back.items():
        coefficient = sp.limit(sp.diff(opaque, placeholder), beta, sp.oo)
        if coefficient.has(sp.oo, -sp.oo, sp.zoo, sp.nan, beta, C):
            raise ValueError(f"no finite T -> 0 limit of the coefficient of {average}")
        result += coefficient * limit_inside(average)
    if result.has(beta, C):
        raise ValueError(f"the T -> 0 limit of f still depends on beta or C: {result}")
    return result


@dataclass(frozen=True)
class Derivation:
    """The equations of one case, derived from :func:`free_energy` but not compiled.

    Plain (picklable) sympy data at λ = 0, kept on disk by :func:`symbolic_equations`.

    Attributes
    ----------
    variables
        (n, q) at finite T; (n,) at T = 0 (where q = 1); example states (m_e, m_o, q) and
        (m_e, m_o).
    parameters
        Public name -> symbol: alpha, T (finite T), then rho (Gaussian), r (exact, unsupervised
        Gaussian), M (exact).
    free_energy, stationarity, fixed_point
        f, ∂f/∂x and F(x), one per variable.
    overlap
        The archetype overlap m = −∂f/∂λ.
    """

    variables: tuple[sp.Symbol, ...]
    parameters: dict[str, sp.Symbol]
    free_energy: sp.Expr
    stationarity: tuple[sp.Expr, ...]
    fixed_point: tuple[sp.Expr, ...]
    overlap: sp.Expr


def _parameters(protocol: str, average: str, zero_temperature: bool) -> dict[str, sp.Symbol]:
    names = {"alpha": alpha} if zero_temperature else {"alpha": alpha, "T": T}
    if average == "gaussian":
        names["rho"] = rho
        if protocol == "unsupervised":
            names["r"] = r
    else:
        names.update(r=r, M=M)
    return names


def _check_state(protocol: str, average: str, state: str) -> None:
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)} (got {state!r})")
    if state == "example" and (protocol, average) != ("unsupervised", "exact"):
        raise ValueError("example states are those of the unsupervised protocol with the "
                         "exact average (spec §7.1)")


@symbolic.cached_on_disk
def symbolic_equations(P: int, protocol: str, average: str, zero_temperature: bool = False,
                       state: str = "symmetric") -> Derivation:
    """Derive the equations of one case from :func:`free_energy` (``state="symmetric"``) or
    :func:`example_free_energy` (``"example"``: unsupervised, exact average) (see
    :class:`Derivation`).

    Kept on disk across processes (:func:`derivations.symbolic.cached_on_disk`).
    """
    _check_state(protocol, average, state)
    A = noise_amplification(P, protocol, average)
    curvature = {n: sp.Rational(P * (P - 1), 2) * n ** (P - 2),
                 q: -beta * alpha * factorial(P) * A * P * (P - 1) / 8 * q ** (P - 2)}
    if state == "example":
        f, variables = example_free_energy(P)
        # the signal term's curvatures, (P−1)P/2 · x^{P−2} times the weight of x in it
        curvature.update({m_e: sp.Rational(P * (P - 1), 2) * m_e ** (P - 2) / (M * r**P),
                          m_o: sp.Rational(P * (P - 1), 2) * (M - 1) * m_o ** (P - 2)
                          / (M * r**P)})
    else:
        f, variables = free_energy(P, protocol, average)
    if zero_temperature:
        f, variables = _zero_temperature(f), tuple(x for x in variables if x != q)
    at_zero = {lam: 0}
    conditions = tuple(sp.diff(f, x).subs(at_zero) for x in variables)
    fixed_point = tuple(_solved(c, x, curvature[x])
                        for c, x in zip(conditions, variables, strict=True))
    definitions = {} if zero_temperature else {beta: 1 / T}

    def ready(e):
        return e.subs(at_zero).subs(definitions)

    return Derivation(
        variables=variables,
        parameters=_parameters(protocol, average, zero_temperature),
        free_energy=ready(f),
        stationarity=tuple(ready(c) for c in conditions),
        fixed_point=tuple(ready(F) for F in fixed_point),
        overlap=ready(-sp.diff(f, lam)),
    )


# --- compiled, vectorised evaluation -----------------------------------------------------------

def _regular_delta(x, order=0):
    """δ(x) away from x = 0, where it vanishes: used only where a field's variance is zero (then
    the average is its integrand at the mean, an unbiased site of zero field)."""
    return np.zeros(np.shape(x))


_MODULES = [{"log2cosh": log_2cosh, "DiracDelta": _regular_delta}, "scipy", "numpy"]


class _Expressions:
    """Expressions linear in example averages (and Gaussian averages), evaluated on arrays.

    Each example average's integrand is evaluated on the rows of its law
    (:meth:`ExampleAverage.rows`: k = 0..M, or (χ_1, S') for example states; its Gaussian
    averages by :class:`derivations.symbolic.GaussianAverages` on shape (rows, G)) and summed
    with the row weights.
    """

    def __init__(self, exprs: Sequence[sp.Expr], arguments: Sequence[sp.Symbol],
                 zero_temperature: bool):
        examples = sorted(set().union(*(e.atoms(ExampleAverage) for e in exprs)),
                          key=sp.default_sort_key)
        sums = [sp.Dummy("A") for _ in examples]
        outer = [e.xreplace(dict(zip(examples, sums, strict=True))) for e in exprs]
        self._gaussians = symbolic.GaussianAverages(outer, arguments, zero_temperature)
        self._outer = sp.lambdify(
            [*arguments, *sums, *self._gaussians.placeholders],
            [e.xreplace(self._gaussians.replacements) for e in outer], modules=_MODULES)
        self._laws = []  # (law, indices into sums, inner Gaussian averages, integrands)
        for law in sorted({type(a) for a in examples}, key=lambda c: c.__name__):
            indices = [i for i, a in enumerate(examples) if type(a) is law]
            integrands = [examples[i].integrand for i in indices]
            inner = symbolic.GaussianAverages(integrands, [*arguments, *law.bound],
                                              zero_temperature)
            compiled = sp.lambdify(
                [*arguments, *law.bound, *inner.placeholders],
                [g.xreplace(inner.replacements) for g in integrands],
                modules=_MODULES, cse=True)
            self._laws.append((law, indices, inner, compiled))
        self._size = len(examples)

    def __call__(self, arguments: list[NDArray[np.float64]], examples: int | None,
                 qualities: NDArray[np.float64] | None, nodes: int) -> list:
        sums: list = [None] * self._size
        on_rows = [a[None, :] for a in arguments]
        for law, indices, inner, compiled in self._laws:
            values, weights = law.rows(examples, qualities)
            averages = inner([*on_rows, *values], nodes)
            for i, g in zip(indices, compiled(*on_rows, *values, *averages), strict=True):
                sums[i] = np.sum(weights * np.broadcast_to(g, weights.shape), axis=0)
        gaussians = self._gaussians(arguments, nodes)
        return self._outer(*arguments, *sums, *gaussians)


@dataclass(frozen=True)
class CompiledEquations:
    """The equations of one case as vectorised numpy functions.

    Every method takes ``x`` of shape (n_vars, *G) (order parameters in the order of
    :attr:`variables`), ``params`` (each name of :attr:`parameters`; arrays broadcastable to G,
    except ``M``, one integer >= 1 per call) and ``nodes`` (quadrature nodes per Gaussian
    average, finite T).
    """

    P: int
    protocol: str
    average: str
    zero_temperature: bool
    derivation: Derivation = field(repr=False)
    _compiled: Mapping[str, _Expressions] = field(repr=False, compare=False)
    state: str = "symmetric"

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(str(x) for x in self.derivation.variables)

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(self.derivation.parameters)

    def _evaluate(self, which: str, x: ArrayLike, params: Mapping[str, ArrayLike],
                  nodes: int) -> NDArray[np.float64]:
        x = symbolic.checked_point(x, params, self.variables, self.parameters)
        values = [np.asarray(params[p], dtype=float) for p in self.parameters if p != "M"]
        shape = np.broadcast_shapes(x.shape[1:], *(v.shape for v in values))
        arguments = [np.broadcast_to(a, shape).ravel() for a in (*x, *values)]
        examples = qualities = None
        if self.average == "exact":
            examples = params["M"]
            if not isinstance(examples, (int, np.integer)) or examples < 1:
                raise ValueError(f"M must be one integer >= 1 (got {examples!r})")
            qualities = np.broadcast_to(np.asarray(params["r"], dtype=float), shape).ravel()
            arguments.append(np.full(qualities.shape, float(examples)))
        out = self._compiled[which](arguments, examples, qualities, nodes)
        return np.stack([np.broadcast_to(np.asarray(v, dtype=float), (arguments[0].size,))
                         .reshape(shape) for v in out])

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
        """f per spin (T = 0: the ground-state energy), shape G."""
        return self._evaluate("free_energy", x, params, nodes)[0]

    def overlap(self, x: ArrayLike, params: Mapping[str, ArrayLike], *,
                nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
        """The archetype overlap m = −∂f/∂λ, shape G."""
        return self._evaluate("overlap", x, params, nodes)[0]


@cache
def equations(P: int, protocol: str, average: str, zero_temperature: bool = False,
              state: str = "symmetric") -> CompiledEquations:
    """The RS equations of one case, derived (kept on disk) and compiled (cached).

    Parameters
    ----------
    P
        Interaction order, >= 3.
    protocol
        ``"supervised"`` or ``"unsupervised"`` (symmetric saddle).
    average
        ``"exact"`` (binomial χ̂, parameters r and M) or ``"gaussian"`` (parameter rho; the
        unsupervised protocol also r).
    zero_temperature
        The exact T = 0 equations (variables (n,), q = 1; no parameter T).
    state
        ``"symmetric"`` (the symmetric saddle, variables (n, q)) or ``"example"`` (unsupervised,
        exact average: one distinguished example, variables (m_e, m_o, q); M >= 2, at M = 1
        the map of m_o is 0/0).
    """
    _check_case(P, protocol, average)
    _check_state(protocol, average, state)
    derivation = symbolic_equations(P, protocol, average, zero_temperature, state)
    # M is not an array argument: it sets the number of rows k = 0..M of the example averages.
    symbols = [*derivation.variables,
               *(s for name, s in derivation.parameters.items() if name != "M")]
    if average == "exact":
        symbols.append(M)
    groups = {"free_energy": (derivation.free_energy,), "stationarity": derivation.stationarity,
              "fixed_point": derivation.fixed_point, "overlap": (derivation.overlap,)}
    compiled = {name: _Expressions(group, symbols, zero_temperature)
                for name, group in groups.items()}
    return CompiledEquations(P, protocol, average, zero_temperature, derivation, compiled, state)

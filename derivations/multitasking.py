"""The multitasking Hebbian network in low storage: its free energy, written once per site class.

Everything else — the self-consistency equations as a fixed-point map, the Hessian of f, the
internal energy, the magnetisations of the archetypes and the exact T = 0 equations — is derived
from :func:`free_energy` with sympy and compiled here into vectorised :class:`System` objects for
the engine (:func:`theorylab.saddle.solve`). Hand-written equations of the spec are tests of it
(``tests/test_derivations_multitasking.py``).

Model (``shared/specs/multitasking.md`` §1–§3; Agliari, Alessandrelli, Barra, Ricci-Tersenghi,
arXiv 2308.04106; Agliari, Barra, Galluzzi, Guerra, Moauro, PRL 109, 268101 (2012),
arXiv 1111.5191). K archetypes ξ^μ ∈ {−1, 0, +1}^N with i.i.d. entries, P(ξ = ±1) = (1 − d)/2,
P(ξ = 0) = d. In low storage (K finite) the theory is exact without replicas (§2): the free energy
per neuron is a finite average over the 3^K *site classes* ξ = (ξ^1..ξ^K), with weights
P(ξ) = Π_μ [d·1(ξ^μ = 0) + ((1 − d)/2)·1(ξ^μ ≠ 0)]. Every case is one statement,

    f(x) = (c/2)|x|² − (1/β) Σ_ξ P(ξ) E ln 2cosh(βh),     h ~ N(a_ξ, v_ξ),             (1)

with the class average a sympy operator, :class:`ClassAverage` (done numerically over the
enumerated classes, :func:`site_classes`), and the data average a
:class:`~derivations.symbolic.GaussianAverage` (a plain function of the mean when v = 0):

* storage (§3.1): x = m, c = 1, a = Σ_ν ξ^ν m_ν, v = 0;
* supervised learning, exact finite-M data (§3.2): x = n, c = 1 + ρ, a = Σ_ν ξ^ν χ̂^ν n_ν, v = 0,
  where the class average also runs over χ̂^ν = S^ν/(rM), S^ν = 2B − M, B ~ Bin(M, (1 + r)/2)
  (one per non-blank entry), and ρ = (1 − r²)/(M r²);
* supervised learning, Gaussian (CLT) data (§3.3): χ̂ = 1 + √ρ z, so a = Σ_ν ξ^ν n_ν and
  v = ρ Σ_ν (ξ^ν)² n_ν².

Conventions. T = 1/β. The learning equations are in *convention A* (couplings divided by
𝓡 = r²(1 + ρ), §1.3), where T_c = 1 − d for every (r, M). *Convention B* (couplings divided by
𝓡(1 + ρ)) has H_B = H_A/(1 + ρ): a convention-B system at temperature T is the convention-A
system here at T_A = (1 + ρ)T (§1.3), so its T_c is (1 − d)/(1 + ρ); the model layer rescales T.
The unsupervised protocol has the same equations on its archetype-symmetric saddle (§3.4), with
example overlaps n_{μa} = r(1 + ρ) n_μ. Sources λ_μ, a field conjugate to the archetype
magnetisations (a → a + Σ_μ λ_μ ξ^μ), give m_μ = −∂f/∂λ_μ at λ = 0: m itself for storage, and
m_μ = Σ_ξ P(ξ) E[ξ^μ tanh βh] for learning (§3.2, §3.3).

Derived here (:func:`symbolic_equations`):

* the fixed-point map F(x) = x − ∇f/c: storage m_μ = Σ_ξ P(ξ) ξ^μ tanh(βh); learning
  (1 + ρ) n_μ = E[ξ^μ χ̂^μ tanh βh], which for Gaussian data the heat-equation rule of
  :mod:`derivations.symbolic` turns into the Stein form of §3.3. Its Jacobian is
  dF/dx = 1 − H/c, H the Hessian of f, so the engine's stability test (eigenvalues of dF/dx
  below one) is exactly the thermodynamic one (H positive definite, §3.1);
* the internal energy u = ∂(βf)/∂β (−c|x|²/2 at a solution);
* the T = 0 limit, pointwise in each class: (1/β) ln 2cosh(βh) → |h|, tanh(βh) → sign h with
  sign 0 = 0 (a site of zero field is unbiased), and E|h| → G(a, s) = a erf(a/(√2 s)) +
  s √(2/π) e^{−a²/(2s²)} in closed form (never a quadrature at large β, §3.3). Its derivatives
  carry δ(h); away from h = 0 it vanishes. A class whose field is identically zero
  (E h² = a² + v = 0) with ξ ≠ 0 is the one singular case: at finite β it adds
  −β·(½∇²E h²) to the Hessian, so its T = 0 limit is a direction of curvature −∞ (spec §4.2:
  the blank sites of ξ^1 make the pure state unstable at T = 0). The T = 0 Hessian is this
  entrywise limit, with ±inf entries there (:func:`smallest_eigenvalue` reads it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp
from numpy.typing import NDArray
from scipy import stats

from derivations import symbolic
from derivations.symbolic import GaussianAverage, log2cosh
from theorylab.gaussian import DEFAULT_NODES, log_2cosh

PROTOCOLS = ("storage", "learning")
AVERAGES = ("gaussian", "exact")
MAX_PATTERNS = 10
"""Largest K: 3^10 = 59049 classes (29525 up to the gauge ξ → −ξ)."""

beta = sp.Symbol("beta", positive=True)
rho = sp.Symbol("rho", nonnegative=True)
_h = sp.Dummy("h", real=True)
_BLOCK = 1 << 21
"""Elements of one row-block array (rows x points x quadrature nodes): bounds the memory."""


def _regular_delta(x, order=0):
    """δ^(k)(x) off x = 0, where it vanishes; the mass at a zero field is the singular part of the
    T = 0 Hessian, added by :meth:`CompiledEquations.hessian` (module docstring)."""
    return np.zeros(np.shape(x))


_MODULES = [{"log2cosh": log_2cosh, "DiracDelta": _regular_delta}, "scipy", "numpy"]


class ClassAverage(sp.Expr):
    """Σ_ξ P(ξ) g(ξ): the average over site classes (and, for exact data, over the example sums)
    as a sympy expression, evaluated numerically over the enumerated classes.

    A linear operator whose weights do not depend on the order parameters, β or ρ, so it
    commutes with differentiation in them. Construction normalises by linearity like
    :class:`~derivations.symbolic.GaussianAverage`: sums are split, factors free of the site
    symbols are pulled out, and an integrand free of them is returned as is (the weights sum to
    one).

    Parameters
    ----------
    g : sympy expression in the site symbols
    sites : sequence of sympy Symbols, bound by the average (ξ^1..ξ^K, and χ̂^1..χ̂^K)
    """

    is_commutative = True

    def __new__(cls, g, sites):
        g, sites = sp.sympify(g), sp.Tuple(*sites)
        if not g.has(*sites):
            return g
        g = sp.expand(g, deep=False)
        if isinstance(g, sp.Add):
            return sp.Add(*(cls(term, sites) for term in g.args))
        coefficient, rest = g.as_independent(*sites, as_Add=False)
        if coefficient != 1:
            return coefficient * cls(rest, sites)
        return sp.Expr.__new__(cls, g, sites)

    @property
    def integrand(self) -> sp.Expr:
        return self.args[0]

    @property
    def free_symbols(self):
        g, sites = self.args
        return g.free_symbols - set(sites)

    def _eval_derivative(self, s):
        g, sites = self.args
        return type(self)(sp.diff(g, s), sites)

    def _sympystr(self, printer):
        return f"<{printer._print(self.args[0])}>_xi"


# --- the free energy, once --------------------------------------------------------------------

def _check_case(K: int, protocol: str, average: str | None) -> None:
    if not isinstance(K, int) or not 1 <= K <= MAX_PATTERNS:
        raise ValueError(f"K must be an integer in 1..{MAX_PATTERNS} (got {K!r})")
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)} (got {protocol!r})")
    if protocol == "learning" and average not in AVERAGES:
        raise ValueError(f"average must be one of {', '.join(AVERAGES)} (got {average!r})")
    if protocol == "storage" and average is not None:
        raise ValueError(f"storage has no data average (got average={average!r})")


def _indexed(name: str, K: int) -> tuple[sp.Symbol, ...]:
    return sp.symbols(f"{name}1:{K + 1}", real=True)


def variables(K: int, protocol: str) -> tuple[sp.Symbol, ...]:
    """The order parameters: m1..mK (storage) or n1..nK (learning, spec §2)."""
    return _indexed("m" if protocol == "storage" else "n", K)


def site_symbols(K: int, average: str | None) -> tuple[sp.Symbol, ...]:
    """The class variables: ξ^1..ξ^K, and χ̂^1..χ̂^K for exact data."""
    xi = _indexed("xi", K)
    return (*xi, *_indexed("chi", K)) if average == "exact" else xi


def sources(K: int) -> tuple[sp.Symbol, ...]:
    """The fields λ_μ conjugate to the archetype magnetisations m_μ."""
    return _indexed("lambda", K)


def _local_field(K: int, protocol: str, average: str | None) -> tuple[sp.Expr, ...]:
    """c of (1), and the mean a and variance v of a class's field h at λ = 0."""
    x, sites = variables(K, protocol), site_symbols(K, average)
    xi = sites[:K]
    if protocol == "storage":
        return sp.S.One, sum(s * m for s, m in zip(xi, x, strict=True)), sp.S.Zero
    if average == "exact":
        chi = sites[K:]
        return 1 + rho, sum(s * q * n for s, q, n in zip(xi, chi, x, strict=True)), sp.S.Zero
    return (1 + rho, sum(s * n for s, n in zip(xi, x, strict=True)),
            rho * sum(s**2 * n**2 for s, n in zip(xi, x, strict=True)))


def free_energy(K: int, protocol: str = "storage", average: str | None = None) -> sp.Expr:
    """The free energy per neuron (1) at finite temperature, with sources λ.

    Parameters
    ----------
    K
        Number of archetypes, 1..10.
    protocol
        ``"storage"`` (§3.1) or ``"learning"`` (supervised; unsupervised on its symmetric
        saddle, §3.4).
    average
        Learning only: ``"gaussian"`` (CLT, §3.3) or ``"exact"`` (binomial, §3.2).

    Returns
    -------
    sympy expression in :func:`variables`, :func:`sources`, ``beta`` and (learning) ``rho``
    """
    _check_case(K, protocol, average)
    c, mean, var = _local_field(K, protocol, average)
    sites = site_symbols(K, average)
    source = sum(l * s for l, s in zip(sources(K), sites[:K], strict=True))
    pressure = ClassAverage(GaussianAverage(log2cosh(beta * _h), _h, mean + source, var), sites)
    return c / 2 * sum(v**2 for v in variables(K, protocol)) - pressure / beta


def _saturate(expr: sp.Expr) -> sp.Expr:
    """Pointwise β → ∞ limit inside every average: ln 2cosh(βa) → β|a|, tanh(βa) → sign a.

    (1/β) ln 2cosh(βa) − |a| ≤ ln 2/β uniformly and tanh(βa) → sign a with sign 0 = 0 (exact at
    a = 0 for every β), so the limit passes through the class and data averages (dominated
    convergence). The averages' constructors pull the factor β out, which cancels the 1/β of (1).
    """
    def field(argument):
        a = sp.expand(argument / beta)
        if a.has(beta):
            raise ValueError(f"T -> 0 rule needs arguments proportional to beta, got {argument}")
        return a

    limit = sp.expand(expr.replace(log2cosh, lambda a: beta * sp.Abs(field(a))).replace(
        sp.tanh, lambda a: sp.sign(field(a))))
    if limit.has(beta):
        raise ValueError(f"no beta-free T -> 0 limit of {expr}")
    return limit


@dataclass(frozen=True)
class Derivation:
    """The equations of one case, derived from :func:`free_energy` but not yet compiled.

    Plain (picklable) sympy data, kept on disk by :func:`symbolic_equations`. Expressions are in
    the variables x, ``beta`` (absent at T = 0) and ``rho``, at λ = 0; class averages are
    :class:`ClassAverage` atoms.

    Attributes
    ----------
    variables, sites
        Order parameters and class variables.
    free_energy, energy
        f and u = ∂(βf)/∂β (T = 0: their common limit).
    coefficient
        c, the coefficient of |x|²/2 in f (1 or 1 + ρ).
    fixed_point
        F(x) = x − ∇f/c, one expression per variable.
    hessian
        ∂²f/∂x_μ∂x_ν for μ <= ν, row-major.
    magnetisations
        m_μ = −∂f/∂λ_μ at λ = 0.
    field_moment, singular
        Per class (not averaged): E h² at λ = 0, and ½ ∂²(E h²)/∂x_μ∂x_ν for μ <= ν, the
        direction of a class of identically zero field (module docstring).
    """

    variables: tuple[sp.Symbol, ...]
    sites: tuple[sp.Symbol, ...]
    free_energy: sp.Expr
    energy: sp.Expr
    coefficient: sp.Expr
    fixed_point: tuple[sp.Expr, ...]
    hessian: tuple[sp.Expr, ...]
    magnetisations: tuple[sp.Expr, ...]
    field_moment: sp.Expr
    singular: tuple[sp.Expr, ...]


def _upper(K: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(K) for j in range(i, K)]


@symbolic.cached_on_disk
def symbolic_equations(K: int, protocol: str = "storage", average: str | None = None,
                       zero_temperature: bool = False) -> Derivation:
    """Derive the equations of one case from :func:`free_energy` (see :class:`Derivation`).

    Kept on disk across processes (:func:`derivations.symbolic.cached_on_disk`).

    Raises
    ------
    ValueError
        If f is not (c/2)|x|² plus class averages (the form (1) the fixed-point map assumes).
    """
    f = free_energy(K, protocol, average)
    u = symbolic.internal_energy(f, beta)
    if zero_temperature:
        f, u = _saturate(f), _saturate(u)
    x, lam = variables(K, protocol), sources(K)
    at_zero = dict.fromkeys(lam, 0)
    quadratic = f.xreplace(dict.fromkeys(f.atoms(ClassAverage), 0))
    c = sp.diff(quadratic, x[0], 2)
    if sp.simplify(quadratic - c / 2 * sum(v**2 for v in x)) != 0:
        raise ValueError(f"f is not (c/2)|x|^2 plus class averages: {quadratic}")
    interaction = (f - quadratic).subs(at_zero)
    _, mean, var = _local_field(K, protocol, average)
    moment = mean**2 + var  # E h², zero iff the class's field vanishes identically
    return Derivation(
        variables=x,
        sites=site_symbols(K, average),
        free_energy=f.subs(at_zero),
        energy=u.subs(at_zero),
        coefficient=c,
        fixed_point=tuple(-sp.diff(interaction, v) / c for v in x),
        hessian=tuple(sp.diff(f, x[i], x[j]).subs(at_zero) for i, j in _upper(K)),
        magnetisations=tuple(-sp.diff(f, l).subs(at_zero) for l in lam),
        field_moment=moment,
        singular=tuple(sp.diff(moment, x[i], x[j]) / 2 for i, j in _upper(K)),
    )


# --- the site classes, enumerated once ------------------------------------------------------

@cache
def site_classes(K: int) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """The 3^K site classes up to the gauge ξ → −ξ, which leaves every class summand of (1) and
    its derivatives unchanged (spec §3.1): the blank class and the classes whose first non-blank
    entry is +1.

    Returns
    -------
    classes : ndarray of int8, shape ((3^K + 1)/2, K)
    multiplicity : ndarray, shape ((3^K + 1)/2,)
        1 for the blank class, 2 for the others (each stands for itself and its mirror).
    """
    _check_case(K, "storage", None)
    every = np.array(list(itertools.product((0, 1, -1), repeat=K)), dtype=np.int8)
    nonblank = every != 0
    first = every[np.arange(len(every)), np.argmax(nonblank, axis=1)]
    keep = ~nonblank.any(axis=1) | (first == 1)
    classes = every[keep]
    multiplicity = np.where(classes.any(axis=1), 2.0, 1.0)
    for array in (classes, multiplicity):
        array.setflags(write=False)
    return classes, multiplicity


def class_weights(d: NDArray[np.float64], K: int) -> NDArray[np.float64]:
    """P(ξ) times the gauge multiplicity of each class of :func:`site_classes`, at dilutions
    ``d`` of shape (G,): shape (n_classes, G). They sum to one."""
    classes, multiplicity = site_classes(K)
    return _dilution_weights(np.asarray(d, dtype=float), (classes == 0).sum(axis=1), K,
                             multiplicity)


def _dilution_weights(d, blanks, K, multiplicity):
    """Π_μ P(ξ^μ) from the number of blank entries of each row, shape (rows, G)."""
    per_count = d[None, :] ** np.arange(K + 1)[:, None] * (
        (1.0 - d[None, :]) / 2) ** (K - np.arange(K + 1))[:, None]
    return multiplicity[:, None] * per_count[blanks]


@dataclass(frozen=True)
class _Rows:
    """The enumerated class variables of one case: a class (and, for exact data, the example
    sums of its non-blank entries) per row, with its gauge multiplicity."""

    K: int
    xi: NDArray[np.int8]
    successes: NDArray[np.int32] | None
    """B = (S + M)/2 of each entry (exact data; 0 on blank entries)."""
    multiplicity: NDArray[np.float64]
    M: int | None

    @property
    def blanks(self) -> NDArray[np.int64]:
        return (self.xi == 0).sum(axis=1)

    def blocks(self, d: NDArray[np.float64], r: NDArray[np.float64] | None,
               width: int) -> Iterator[tuple[list[NDArray[np.float64]], NDArray[np.float64]]]:
        """Rows in blocks of ``width``: the site arrays (ξ of shape (rows, 1); χ̂ = S/(rM) of
        shape (rows, G)) and the weights, shape (rows, G)."""
        blanks = self.blanks
        pmf = None
        if self.successes is not None:
            pmf = stats.binom.pmf(np.arange(self.M + 1)[:, None], self.M, (1 + r[None, :]) / 2)
        for start in range(0, len(self.xi), width):
            rows = slice(start, start + width)
            xi = self.xi[rows].astype(float)
            w = _dilution_weights(d, blanks[rows], self.K, self.multiplicity[rows])
            sites = [column[:, None] for column in xi.T]
            if pmf is not None:
                B = self.successes[rows]
                for nu in range(self.K):
                    w = w * np.where(xi[:, nu, None] != 0, pmf[B[:, nu]], 1.0)
                    sites.append((2.0 * B[:, nu, None] - self.M) / (r[None, :] * self.M))
            yield sites, w


@cache
def _rows(K: int, M: int | None) -> _Rows:
    """The rows of a case: the classes, each expanded over the binomial outcomes of its
    non-blank entries when ``M`` is given (a class with s non-blank entries has (M + 1)^s)."""
    classes, multiplicity = site_classes(K)
    if M is None:
        return _Rows(K, classes, None, multiplicity, None)
    xi, successes, weight = [], [], []
    for row, mult in zip(classes, multiplicity, strict=True):
        support = np.flatnonzero(row)
        outcomes = list(itertools.product(range(M + 1), repeat=support.size))
        B = np.zeros((len(outcomes), K), dtype=np.int32)
        B[:, support] = np.array(outcomes, dtype=np.int32).reshape(len(outcomes), support.size)
        xi.append(np.repeat(row[None, :], len(outcomes), axis=0))
        successes.append(B)
        weight.append(np.full(len(outcomes), mult))
    return _Rows(K, np.concatenate(xi), np.concatenate(successes), np.concatenate(weight), M)


# --- compiled, vectorised evaluation -----------------------------------------------------------

def _stack(values: Sequence, shape: tuple[int, ...]) -> NDArray[np.float64]:
    return np.stack([np.broadcast_to(np.asarray(v, dtype=float), shape) for v in values])


class _ClassSums:
    """Expressions linear in class averages, evaluated on numpy arrays: each class integrand on
    every row (its data averages by :class:`derivations.symbolic.GaussianAverages`), summed
    with the row weights, then the outer expression of the sums."""

    def __init__(self, exprs: Sequence[sp.Expr], points: Sequence[sp.Symbol],
                 sites: Sequence[sp.Symbol], zero_temperature: bool):
        atoms = sorted(set().union(*(e.atoms(ClassAverage) for e in exprs)),
                       key=sp.default_sort_key)
        sums = [sp.Dummy("A") for _ in atoms]
        self._outer = sp.lambdify(
            [*points, *sums], [e.xreplace(dict(zip(atoms, sums, strict=True))) for e in exprs],
            modules=_MODULES)
        integrands = [a.integrand for a in atoms]
        self._data = symbolic.GaussianAverages(integrands, [*points, *sites], zero_temperature)
        self._integrands = sp.lambdify(
            [*points, *sites, *self._data.placeholders],
            [g.xreplace(self._data.replacements) for g in integrands],
            modules=_MODULES, cse=True)
        self.size = len(atoms)

    def __call__(self, points: list[NDArray[np.float64]], rows: _Rows, d, r,
                 nodes: int) -> list:
        G = points[0].size
        totals = np.zeros((self.size, G))
        on_rows = [p[None, :] for p in points]
        width = max(1, _BLOCK // (G * self._data.size_per_row(nodes)))
        for sites, w in rows.blocks(d, r, width):
            data = self._data([*on_rows, *sites], nodes)
            values = _stack(self._integrands(*on_rows, *sites, *data), w.shape)
            totals += np.einsum("arg,rg->ag", values, w)
        return self._outer(*points, *totals)


class CompiledEquations:
    """A :class:`Derivation` compiled to vectorised numpy functions of (x, β, ρ) and the rows.

    Each method takes ``points`` = [x_1..x_K, β, ρ] (arrays of shape (G,)), the case's rows,
    dilutions ``d`` and qualities ``r`` (exact data; else ``None``) of shape (G,), and ``nodes``
    (quadrature nodes per data average, finite T).
    """

    def __init__(self, derivation: Derivation, zero_temperature: bool):
        self.derivation = derivation
        self.zero_temperature = zero_temperature
        points = [*derivation.variables, beta, rho]
        sites = derivation.sites

        def sums(exprs):
            return _ClassSums(exprs, points, sites, zero_temperature)

        self._fixed_point = sums(derivation.fixed_point)
        self._hessian = sums(derivation.hessian)
        self._thermodynamics = sums((derivation.free_energy, derivation.energy))
        self._magnetisations = sums(derivation.magnetisations)
        self._coefficient = sp.lambdify(points, derivation.coefficient, modules=_MODULES)
        self._moment = sp.lambdify([*points, *sites], derivation.field_moment, modules=_MODULES)
        self._singular = sp.lambdify([*points, *sites], list(derivation.singular),
                                     modules=_MODULES)

    @property
    def K(self) -> int:
        return len(self.derivation.variables)

    def fixed_point(self, points, rows, d, r, nodes) -> NDArray[np.float64]:
        """F(x), shape (K, G)."""
        return _stack(self._fixed_point(points, rows, d, r, nodes), points[0].shape)

    def magnetisations(self, points, rows, d, r, nodes) -> NDArray[np.float64]:
        """m_μ = −∂f/∂λ_μ, shape (K, G)."""
        return _stack(self._magnetisations(points, rows, d, r, nodes), points[0].shape)

    def thermodynamics(self, points, rows, d, r, nodes) -> NDArray[np.float64]:
        """f and u, shape (2, G)."""
        return _stack(self._thermodynamics(points, rows, d, r, nodes), points[0].shape)

    def coefficient(self, points) -> NDArray[np.float64]:
        """c of (1), shape (G,)."""
        return np.broadcast_to(np.asarray(self._coefficient(*points), dtype=float),
                               points[0].shape)

    def hessian(self, points, rows, d, r, nodes) -> NDArray[np.float64]:
        """∂²f/∂x∂x, shape (K, K, G); at T = 0 the entrywise β → ∞ limit (module docstring):
        −inf·Q added, Q = Σ w·½∇²E h² over the rows of identically zero field."""
        K, G = self.K, points[0].size
        upper = _stack(self._hessian(points, rows, d, r, nodes), (G,))
        if self.zero_temperature:
            Q = self._zero_field(points, rows, d, r)
            upper = np.where(Q > 0, -np.inf, np.where(Q < 0, np.inf, upper))
        H = np.empty((K, K, G))
        for k, (i, j) in enumerate(_upper(K)):
            H[i, j] = H[j, i] = upper[k]
        return H

    def jacobian(self, points, rows, d, r, nodes) -> NDArray[np.float64]:
        """dF/dx = 1 − H/c, shape (K, K, G): F = x − ∇f/c by construction."""
        identity = np.eye(self.K)[:, :, None]
        return identity - self.hessian(points, rows, d, r, nodes) / self.coefficient(points)

    def _zero_field(self, points, rows, d, r) -> NDArray[np.float64]:
        """Σ over rows with E h² = 0 of w·½∂²E h²/∂x_μ∂x_ν (μ <= ν), shape (K(K+1)/2, G)."""
        G = points[0].size
        on_rows = [p[None, :] for p in points]
        Q = np.zeros((len(self.derivation.singular), G))
        for sites, w in rows.blocks(d, r, max(1, _BLOCK // G)):
            zero = np.broadcast_to(self._moment(*on_rows, *sites), w.shape) == 0
            direction = _stack(self._singular(*on_rows, *sites), w.shape)
            Q += np.einsum("arg,rg->ag", direction, w * zero)
        return Q


@cache
def equations(K: int, protocol: str = "storage", average: str | None = None,
              zero_temperature: bool = False) -> CompiledEquations:
    """The equations of one case, compiled once per process from :func:`symbolic_equations`
    (derived once per machine and kept on disk)."""
    return CompiledEquations(symbolic_equations(K, protocol, average, zero_temperature),
                             zero_temperature)


# --- the engine's view ----------------------------------------------------------------------

def smallest_eigenvalue(hessian: NDArray[np.float64]) -> NDArray[np.float64]:
    """Smallest eigenvalue of each Hessian of shape (G, n, n), −inf where a diagonal entry is −inf.

    The T = 0 Hessian is the entrywise β → ∞ limit H − ∞·Q with Q >= 0 (:class:`System`); when
    Q ≠ 0 some Q_μμ > 0, so the diagonal entry −inf is the Rayleigh quotient of a direction of
    curvature −∞, and every infinite entry comes with one. Otherwise the matrix is finite.
    """
    H = np.asarray(hessian, dtype=float)
    diverging = np.any(np.diagonal(H, axis1=1, axis2=2) == -np.inf, axis=1)
    out = np.full(H.shape[0], -np.inf)
    finite = ~diverging & np.all(np.isfinite(H), axis=(1, 2))
    out[finite] = np.linalg.eigvalsh(H[finite])[:, 0]
    out[~diverging & ~finite] = np.nan
    return out


@dataclass(frozen=True)
class System:
    """The derived equations of one case, as the engine (:func:`theorylab.saddle.solve`) uses them.

    Every method takes ``x`` of shape (n, G) (n = K order parameters at G points) and
    ``params``, a mapping of arrays of shape (G,) (or scalars): ``d`` always; ``T`` at finite
    temperature (ignored at T = 0); ``rho`` (Gaussian data) or ``r`` (exact data, with the case's
    M). Points with parameters outside their domain (d ∉ [0, 1], T <= 0 at finite temperature,
    ρ < 0, r ∉ (0, 1]) give NaN.

    Attributes
    ----------
    K, protocol, average, M, zero_temperature
        The case (see :func:`system`).
    variables
        ``("m1", .., "mK")`` (storage) or ``("n1", .., "nK")`` (learning, convention A).
    lower, upper
        Bounds of the variables, shape (n,): |m_μ| <= 1 − d <= 1 and |n_μ| <= 1.
    nodes
        Quadrature nodes per data average (Gaussian data at finite T).
    """

    K: int
    protocol: str
    average: str | None
    M: int | None
    zero_temperature: bool
    variables: tuple[str, ...]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    nodes: int = DEFAULT_NODES

    @property
    def equations(self) -> CompiledEquations:
        return equations(self.K, self.protocol, self.average, self.zero_temperature)

    def _prepare(self, x, params):
        """The points [x, β, ρ], rows, d, r and the mask of points outside the domain."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[0] != self.K:
            raise ValueError(f"x must have shape ({self.K}, G), got {x.shape}")
        G = x.shape[1]

        def get(name):
            if name not in params:
                raise ValueError(f"missing parameter {name!r}")
            return np.broadcast_to(np.asarray(params[name], dtype=float), (G,))

        d = get("d")
        outside = ~((d >= 0) & (d <= 1))
        if self.zero_temperature:
            b = np.full(G, np.inf)
        else:
            T = get("T")
            outside |= ~(T > 0)
            b = 1.0 / np.where(T > 0, T, np.nan)
        r = None
        if self.average == "exact":
            r = get("r")
            outside |= ~((r > 0) & (r <= 1))
            r = np.where(outside, 1.0, r)
            q = (1 - r**2) / (self.M * r**2)
        elif self.average == "gaussian":
            q = get("rho")
            outside |= ~(q >= 0)
        else:
            q = np.zeros(G)
        d = np.where(outside, 0.5, d)
        q = np.where(outside, 0.0, q)
        b = np.where(outside, 1.0, b)
        return [*x, b, q], _rows(self.K, self.M), d, r, outside

    def _evaluate(self, method: str, x, params) -> NDArray[np.float64]:
        """A method of the compiled equations, NaN at points outside the domain (last axis)."""
        points, rows, d, r, outside = self._prepare(x, params)
        with np.errstate(all="ignore"):
            out = getattr(self.equations, method)(points, rows, d, r, self.nodes)
        out[..., outside] = np.nan
        return out

    def F(self, x, params) -> NDArray[np.float64]:
        """The fixed-point map F(x) = x − ∇f/c, shape (n, G)."""
        return self._evaluate("fixed_point", x, params)

    def hessian(self, x, params) -> NDArray[np.float64]:
        """∂²f/∂x_μ∂x_ν, shape (G, n, n).

        At T = 0 the entrywise β → ∞ limit: a class with ξ ≠ 0 whose field is identically zero
        (storage: ξ·m = 0; Gaussian data: n = 0 on its support; exact data: Σ ξχ̂n = 0) gives
        −inf along its direction (±inf entries), e.g. along m_2 at the pure state (spec §4.2).
        Use :func:`smallest_eigenvalue` on it.
        """
        return np.moveaxis(self._evaluate("hessian", x, params), -1, 0)

    def jacobian(self, x, params) -> NDArray[np.float64]:
        """dF/dx = 1 − H/c (F = x − ∇f/c), shape (G, n, n)."""
        return np.moveaxis(self._evaluate("jacobian", x, params), -1, 0)

    def curvature(self, x, params) -> NDArray[np.float64]:
        """Smallest eigenvalue of the Hessian, shape (G,): > 0 where the state is locally
        stable (−inf at T = 0 along a zero-field class)."""
        return smallest_eigenvalue(self.hessian(x, params))

    def thermodynamics(self, x, params) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Free energy f and internal energy u = ∂(βf)/∂β per neuron, each of shape (G,)."""
        f, u = self._evaluate("thermodynamics", x, params)
        return f, u

    def order_parameters(self, x, params) -> dict[str, NDArray[np.float64]]:
        """``m1``..``mK`` (and ``n1``..``nK`` for learning, with m_μ = −∂f/∂λ_μ)."""
        x = np.asarray(x, dtype=float)
        if self.protocol == "storage":
            return {f"m{k + 1}": x[k] for k in range(self.K)}
        m = self._evaluate("magnetisations", x, params)
        return {**{f"m{k + 1}": m[k] for k in range(self.K)},
                **{f"n{k + 1}": x[k] for k in range(self.K)}}


@cache
def system(K: int, protocol: str = "storage", average: str | None = None, M: int | None = None,
           zero_temperature: bool = False, nodes: int = DEFAULT_NODES) -> System:
    """The compiled equations of one case, for the engine (cached per case).

    Parameters
    ----------
    K
        Number of archetypes, 1..10.
    protocol
        ``"storage"`` (variables m) or ``"learning"`` (variables n, convention A).
    average
        Learning only: ``"gaussian"`` (parameter ``rho``) or ``"exact"`` (parameter ``r``).
    M
        Examples per archetype, exact data only (a class with s non-blank entries costs
        (M + 1)^s rows, spec §3.2).
    zero_temperature
        The exact T = 0 equations instead of the finite-T ones.
    nodes
        Quadrature nodes per data average (Gaussian data at finite T).
    """
    _check_case(K, protocol, average)
    if (average == "exact") != (M is not None):
        raise ValueError("M is required for exact data and only for it")
    if M is not None and (not isinstance(M, int) or M < 1):
        raise ValueError(f"M must be an integer >= 1 (got {M!r})")
    names = tuple(str(v) for v in variables(K, protocol))
    return System(K, protocol, average, M, zero_temperature, names, -np.ones(K), np.ones(K),
                  nodes)

"""Franz–Parisi continual learning by a binary perceptron: the RS free entropies, written once.

Model (``shared/specs/franz-parisi.md``; Li, Huang, Zou, Huang, *Statistical mechanics of continual
learning: variational principle and mean-field potential*, arXiv 2212.02846, Phys. Rev. E 108,
014309 (2023)). The paper's body could not be read (spec §0), so **its equation numbers are
unknown**: the free entropies below are the spec's §2 and §3.2 (its re-derivation of the authors'
replica scripts, [DER]); a reader with the PDF should attach the numbers here.

Conventions (spec §1). Mean-field variational weights m = tanh θ ∈ (−1, 1), Gibbs measure on m with
the *flat* measure dm at inverse temperature β; the Gaussian-field likelihood enters as H(·)^β with
H(x) = ∫_x^∞ Dt (:class:`H`), in the scripts' sign convention (the label symmetry y → −y taken, so
the teacher weight is H(+rz/√(q − r²))). S(m) is the binary entropy (:func:`binary_entropy`),
KL(m‖m') the Bernoulli divergence (:func:`kl_divergence`). A task-1 entropic prior of strength
k₁ (k₁ = 0 in the main text, k₁ = β for the appendix's KL to the uniform prior); task 2 is
coupled to an equilibrium reference m¹ of task 1 by −k KL(m‖m¹), k = βγ. Teacher gauge w¹* = +1;
teacher 2 is w²*_i = B_i with P(B = ±1) = (1 ± r₀)/2.

Stated (once):

* the single-site term (:func:`single_site_term`), house convention of
  :mod:`derivations.symbolic`: the field h = √q̂ z + r̂ is written h ~ N(r̂, q̂),

      G_S = E_h ln ∫_{−1}^{1} dm exp[(Q̂ − q̂/2) m² + h m + k₁ S(m)],

  the m-integral an unevaluated linear operator, :class:`SiteIntegral`;
* the energetic term (:func:`energetic_term`), with z, x ~ N(0, 1),

      G_E = 2 E_z H(r z/√(q − r²)) ln E_x H(g)^β,   g = (√(Q − q) x + √q z)/√(1 − Q);

* task 1 (:func:`task1_free_entropy`, spec §2): φ₁ = −Q̂Q + ½q̂q − r̂r + G_S + α₁G_E(q, r, Q);
* task 2 (:func:`task2_free_entropy`, spec §3.2): φ₂ = −Q̂₂Q₂ + ½q̂₂q₂ − r̂₂r₂ + G_S2 + α₂G_E(q₂, r₂,
  Q₂), with G_S2 = E_{h₁} E_{m¹|h₁} Σ_B (1 + B r₀)/2 E_x ln ∫dm exp[(Q̂₂ − q̂₂/2)m² + (√q̂₂ x
  + r̂₂B)m − k KL(m‖m¹)], the reference m¹ drawn from the task-1 single-site measure at the frozen
  task-1 hats (parameters here, spec §3.3).

Both carry source fields (λ sign m, λ₁ sign m + λ₂ B sign m + μ m) whose derivatives at zero are
the observables.

Derived (:func:`task1_equations`, :func:`task2_equations`, from the statements above only):

* the stationarity conditions ∂φ/∂x, Gaussian averages differentiated by the heat-equation rule
  (Stein's lemma) of :mod:`derivations.symbolic`, the m-integral under the integral sign;
* the fixed-point map, each variable solved from its paired condition: the conjugates from
  ∂φ/∂(q, r, Q) = 0, i.e. q̂ = −2α ∂G_E/∂q, r̂ = α ∂G_E/∂r, Q̂ = α ∂G_E/∂Q (the same G_E for both
  tasks), and the order parameters from ∂φ/∂(q̂, r̂, Q̂) = 0: q = E⟨m⟩², r = E⟨m⟩, Q = E⟨m²⟩ for task
  1 (Stein: the ½E[⟨m²⟩ − ⟨m⟩²] of ∂_q̂ E_h cancels the −½E⟨m²⟩ of ∂_q̂(Q̂ − q̂/2)), and for task 2
  q₂ = E⟨m⟩², r₂ = E[B⟨m⟩], Q₂ = E⟨m²⟩ with E over (h₁, m¹|h₁, B, x);
* the observables as source derivatives: p = E⟨sign m⟩ (task 1); p₁ = E⟨sign m⟩, p₂ = E[B⟨sign m⟩],
  R₂₁ = E⟨m⟩ (task 2), and (:func:`clipped_overlaps_from_conditional`) p₁ = (1+r₀)/2·A₊ +
  (1−r₀)/2·A₋, p₂ = (1+r₀)/2·A₊ − (1−r₀)/2·A₋ with A_B = E[⟨sign m⟩ | B];
* the identities of spec §1.2 and §3.2 (:func:`kl_entropy_identity`, :func:`kl_field_gradient`,
  :func:`effective_field_identity`): −KL(m‖m') = S(m) + m atanh m' + ½ ln[(1 − m'²)/4], ∂KL/∂θ =
  (θ − θ')(1 − m²), and the task-2 exponent = (Q̂₂ − q̂₂/2)m² + b m + k S(m) + (k/2) ln[(1−m¹²)/4]
  with the effective field b = √q̂₂ x + r̂₂ B + k atanh m¹;
* the Q → 1 limit of the kernel (:func:`kernel_limit`, spec §7.2): E_x H(g)^β → H(√q z/√(1 − q))
  for every β > 0 (pointwise limit of the integrand, then the Gaussian integral, by sympy).

Checked numerically (``tests/test_derivations_franz_parisi.py``, scipy quadrature to 1e-8): the
derived maps against the stated forms; Stein on the actual single-site integrand; spec §7a's
normalisation q̂ = α·2E_z H(rz/√(q − r²)) (∂_ω ln Z_out)², ω = √q z (exact: integration by parts
in the joint teacher–student Gaussian); the α → 0 and γ → 0 limits; the Q → 1 kernel.

Numbers. :func:`evaluate` computes any of these expressions by nested deterministic quadrature
(split tanh–sinh for Gaussian averages, tanh–sinh in m); it is a reference for moderate parameters
(fields of a few tens), not the solver of spec §4. Cheap numpy callables: :func:`entropy`,
:func:`kl`, :func:`kl_gradient`, :func:`log_weight`.

The derivations are cached per process only: their bound variables are Dummies, which do not
keep their identity through a pickle, so :func:`derivations.symbolic.cached_on_disk` does not
apply as is (about 1 s for task 1 and 3 s for task 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray
from scipy import special

from derivations import symbolic
from derivations.symbolic import GaussianAverage
from theorylab import gaussian

# --- symbols ----------------------------------------------------------------------------------

alpha1, alpha2, beta = sp.symbols("alpha1 alpha2 beta", positive=True)
k1, gamma = sp.symbols("k1 gamma", nonnegative=True)
r0 = sp.Symbol("r0", real=True)
q1, r1, Q1, qh1, rh1, Qh1 = sp.symbols("q1 r1 Q1 qh1 rh1 Qh1", real=True)
q2, r2, Q2, qh2, rh2, Qh2 = sp.symbols("q2 r2 Q2 qh2 rh2 Qh2", real=True)
lam, lam1, lam2, mu = sp.symbols("lambda lambda1 lambda2 mu", real=True)
"""Sources: λ sign m (task 1); λ₁ sign m, λ₂ B sign m, μ m (task 2)."""

TASK1_VARIABLES = (q1, r1, Q1, qh1, rh1, Qh1)
TASK2_VARIABLES = (q2, r2, Q2, qh2, rh2, Qh2)

# Bound variables of the operators (Dummies: never confused with a parameter).
_m = sp.Dummy("m", real=True)
_m1 = sp.Dummy("m1", real=True)
_h = sp.Dummy("h", real=True)
_h1 = sp.Dummy("h1", real=True)
_b = sp.Dummy("b", real=True)
_z = sp.Dummy("z", real=True)
_x = sp.Dummy("x", real=True)


class H(sp.Function):
    """Gaussian tail H(x) = ∫_x^∞ Dt = ½ erfc(x/√2); H'(x) = −e^{−x²/2}/√(2π)."""

    def fdiff(self, argindex=1):
        x = self.args[0]
        return -sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return sp.erfc(x / sp.sqrt(2)) / 2


_MODULES = [{"H": gaussian.H}, "scipy", "numpy"]


def binary_entropy(m: sp.Expr) -> sp.Expr:
    """S(m) = −(1+m)/2 ln((1+m)/2) − (1−m)/2 ln((1−m)/2) (spec §1.2), written
    ln 2 − ½[(1+m) ln(1+m) + (1−m) ln(1−m)]: logs of 1 ± m only, a form sympy does not split
    further, so derivatives of the site integrals stay canonical."""
    return sp.log(2) - ((1 + m) * sp.log(1 + m) + (1 - m) * sp.log(1 - m)) / 2


def kl_divergence(m: sp.Expr, m_ref: sp.Expr) -> sp.Expr:
    """KL(m‖m') between the Bernoulli factors (1 + m w)/2 and (1 + m' w)/2 (spec §1.2)."""
    return ((1 + m) * (sp.log(1 + m) - sp.log(1 + m_ref))
            + (1 - m) * (sp.log(1 - m) - sp.log(1 - m_ref))) / 2


class SiteIntegral(sp.Expr):
    """∫_{−1}^{1} g(m) dm, the flat single-site measure of spec §1.3, as a linear sympy operator.

    Like :class:`~derivations.symbolic.GaussianAverage`, construction normalises by linearity
    (sums split, m-free factors pulled out, an m-free integrand integrated to 2g), so equal
    integrals compare equal; it differentiates under the integral sign (constant limits).
    :meth:`as_integral` gives the plain ``sympy.Integral``.

    Parameters
    ----------
    g : sympy expression in ``m``
    m : sympy Symbol (use a Dummy), bound by the integral
    """

    is_commutative = True

    def __new__(cls, g, m):
        g = sp.sympify(g)
        if not g.has(m):
            return 2 * g
        # Fully expanded (exponents included, exp(a + b) kept whole): one canonical form, so the
        # integrals reached by different derivatives (e.g. ∂²_h vs ∂_q̂) compare equal.
        g = sp.expand(g, power_exp=False)
        if isinstance(g, sp.Add):
            return sp.Add(*(cls(term, m) for term in g.args))
        coefficient, rest = g.as_independent(m, as_Add=False)
        if coefficient != 1:
            return coefficient * cls(rest, m)
        return sp.Expr.__new__(cls, g, m)

    @property
    def integrand(self) -> sp.Expr:
        return self.args[0]

    @property
    def variable(self) -> sp.Symbol:
        return self.args[1]

    @property
    def free_symbols(self):
        g, m = self.args
        return g.free_symbols - {m}

    def _eval_derivative(self, s):
        g, m = self.args
        return type(self)(sp.diff(g, s), m)

    def as_integral(self) -> sp.Integral:
        g, m = self.args
        return sp.Integral(g, (m, -1, 1))

    def _sympystr(self, printer):
        g, m = (printer._print(a) for a in self.args)
        return f"Int[{g} d{m}, -1..1]"


def site_exponent(A: sp.Expr, b: sp.Expr, k: sp.Expr, m: sp.Expr = _m) -> sp.Expr:
    """The single-site log-weight A m² + b m + k S(m) (task 1: A = Q̂ − q̂/2, b = h, k = k₁)."""
    return A * m**2 + b * m + k * binary_entropy(m)


def site_average(f: sp.Expr, exponent: sp.Expr, m: sp.Symbol = _m) -> sp.Expr:
    """⟨f⟩ = ∫dm f e^{exponent} / ∫dm e^{exponent} (the thermal average of a site)."""
    weight = sp.exp(exponent)
    return SiteIntegral(f * weight, m) / SiteIntegral(weight, m)


# --- the free entropies, once -----------------------------------------------------------------

def single_site_term(qhat: sp.Expr, rhat: sp.Expr, Qhat: sp.Expr, k: sp.Expr = k1,
                     source: sp.Expr = 0) -> sp.Expr:
    """G_S of spec §2, h = √q̂ z + r̂ written h ~ N(r̂, q̂); ``source`` is added to the exponent."""
    exponent = site_exponent(Qhat - qhat / 2, _h, k) + source
    return GaussianAverage(sp.log(SiteIntegral(sp.exp(exponent), _m)), _h, rhat, qhat)


def energetic_term(q: sp.Expr, r: sp.Expr, Q: sp.Expr) -> sp.Expr:
    """G_E of spec §2: 2 E_z H(rz/√(q − r²)) ln E_x H(g)^β, g = (√(Q−q) x + √q z)/√(1 − Q)."""
    g = (sp.sqrt(Q - q) * _x + sp.sqrt(q) * _z) / sp.sqrt(1 - Q)
    z_out = GaussianAverage(H(g) ** beta, _x, 0, 1)
    return 2 * GaussianAverage(H(r * _z / sp.sqrt(q - r**2)) * sp.log(z_out), _z, 0, 1)


def task1_free_entropy(sources: bool = False) -> sp.Expr:
    """φ₁ of spec §2 (without the extremum), with the source λ sign m if ``sources``."""
    source = lam * sp.sign(_m) if sources else 0
    return (-Qh1 * Q1 + qh1 * q1 / 2 - rh1 * r1
            + single_site_term(qh1, rh1, Qh1, k1, source)
            + alpha1 * energetic_term(q1, r1, Q1))


def reference_average(f: sp.Expr) -> sp.Expr:
    """E_{h₁} E_{m¹|h₁}[f(m¹)]: the task-1 reference measure P₁(m¹|h₁) ∝ exp[(Q̂₁ − q̂₁/2)m¹²
    + h₁m¹ + k₁S(m¹)], h₁ ~ N(r̂₁, q̂₁), at the task-1 hats (parameters for task 2, spec §3.3)."""
    return GaussianAverage(site_average(f, site_exponent(Qh1 - qh1 / 2, _h1, k1, _m1), _m1),
                           _h1, rh1, qh1)


def task2_exponent(B: sp.Expr) -> sp.Expr:
    """The task-2 single-site exponent of spec §3.2 in the KL form, x-field written b:
    (Q̂₂ − q̂₂/2)m² + (b + r̂₂B)m − βγ KL(m‖m¹) with b = √q̂₂ x, x ~ N(0, 1)."""
    return (Qh2 - qh2 / 2) * _m**2 + (_b + rh2 * B) * _m - beta * gamma * kl_divergence(_m, _m1)


def task2_free_entropy(sources: bool = False) -> sp.Expr:
    """φ₂ of spec §3.2 (the FP potential before the extremum over the task-2 order parameters),
    with the sources λ₁ sign m + λ₂ B sign m + μ m if ``sources``."""
    terms = []
    for B in (1, -1):
        source = (lam1 + lam2 * B) * sp.sign(_m) + mu * _m if sources else 0
        inner = GaussianAverage(sp.log(SiteIntegral(sp.exp(task2_exponent(B) + source), _m)),
                                _b, 0, qh2)
        terms.append(sp.Rational(1, 2) * (1 + B * r0) * inner)
    return (-Qh2 * Q2 + qh2 * q2 / 2 - rh2 * r2 + reference_average(sp.Add(*terms))
            + alpha2 * energetic_term(q2, r2, Q2))


# --- the derivations ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Derivation:
    """Saddle-point equations derived from a free entropy (plain, picklable sympy data).

    Attributes
    ----------
    free_entropy
        φ at zero sources.
    variables
        The order parameters and conjugates, (q, r, Q, q̂, r̂, Q̂).
    stationarity
        ∂φ/∂x for each variable, at zero sources.
    fixed_point
        x = F(x), each variable solved from its paired condition (hats from ∂φ/∂(q, r, Q),
        order parameters from ∂φ/∂(q̂, r̂, Q̂)), in the order of ``variables``.
    observables
        name -> ∂φ/∂(source) at zero sources.
    """

    free_entropy: sp.Expr
    variables: tuple[sp.Symbol, ...]
    stationarity: tuple[sp.Expr, ...]
    fixed_point: tuple[sp.Expr, ...]
    observables: dict[str, sp.Expr]

    def map(self) -> dict[sp.Symbol, sp.Expr]:
        """variable -> F(variable)."""
        return dict(zip(self.variables, self.fixed_point, strict=True))


def _solve(condition: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """x from ``condition = 0``. Every condition of φ is a x + b with a a number (a = ±1, ±½: φ is
    bilinear in each order parameter and its conjugate), solved as x − condition/a, which
    cancels x without expanding the averages; anything else goes to
    :func:`derivations.symbolic.solve_for`."""
    a = sp.diff(condition, x)
    if a.is_number and a != 0:
        solution = x - condition / a
        if not solution.has(x):
            return solution
    return symbolic.solve_for(condition, x)


def _derive(phi: sp.Expr, variables: tuple[sp.Symbol, ...],
            sources: Mapping[str, sp.Symbol]) -> Derivation:
    q, r, Q, qh, rh, Qh = variables
    at_zero = dict.fromkeys(sources.values(), 0)
    phi0 = phi.subs(at_zero)
    conditions = dict(zip(variables, symbolic.stationarity(phi0, variables), strict=True))
    # x is solved from ∂φ/∂(pairing[x]) = 0: hats from ∂φ/∂(q, r, Q), order parameters from
    # ∂φ/∂(q̂, r̂, Q̂)
    pairing = {qh: q, rh: r, Qh: Q, q: qh, r: rh, Q: Qh}
    return Derivation(
        free_entropy=phi0,
        variables=variables,
        stationarity=tuple(conditions.values()),
        fixed_point=tuple(_solve(conditions[pairing[v]], v) for v in variables),
        observables={name: sp.diff(phi, s).subs(at_zero) for name, s in sources.items()},
    )


@cache
def task1_equations() -> Derivation:
    """The task-1 RS saddle point derived from :func:`task1_free_entropy` (cached per process;
    the sympy work takes about a second). Observable ``p`` = E⟨sign m⟩."""
    return _derive(task1_free_entropy(sources=True), TASK1_VARIABLES, {"p": lam})


@cache
def task2_equations() -> Derivation:
    """The task-2 (Franz–Parisi) RS saddle point derived from :func:`task2_free_entropy`.

    Observables ``p1`` = E⟨sign m⟩, ``p2`` = E[B⟨sign m⟩], ``R21`` = E⟨m⟩ (cached per process).
    """
    return _derive(task2_free_entropy(sources=True), TASK2_VARIABLES,
                   {"p1": lam1, "p2": lam2, "R21": mu})


def clipped_overlaps_from_conditional() -> tuple[sp.Expr, sp.Expr, sp.Symbol, sp.Symbol]:
    """p₁ and p₂ of :func:`task2_equations` written with A_B = E[⟨sign m⟩ | B] (spec §3.4).

    Every average under the B-sum whose integrand is ⟨sign m⟩ at teacher bit B is replaced by a
    symbol A_B, so the result is what the B-average alone implies.

    Returns
    -------
    p1, p2, A_plus, A_minus
    """
    A = {1: sp.Symbol("A_plus", real=True), -1: sp.Symbol("A_minus", real=True)}
    conditional = {}
    for B, symbol in A.items():
        sign_average = site_average(sp.sign(_m), task2_exponent(B))
        conditional[reference_average(GaussianAverage(sign_average, _b, 0, qh2))] = symbol
    obs = task2_equations().observables
    p1, p2 = (obs[name].xreplace(conditional) for name in ("p1", "p2"))
    return p1, p2, A[1], A[-1]


# --- the identities ---------------------------------------------------------------------------

def _in_open_interval(expr: sp.Expr, *pairs: tuple[sp.Symbol, sp.Symbol]) -> sp.Expr:
    """``expr`` with m = 2u − 1 for each (m, u), u ∈ (0, 1) written u = 1/(1 + e^{−s}): every
    log then has a positive argument and sympy may split it."""
    for m, s in pairs:
        expr = expr.subs(m, 2 / (1 + sp.exp(-s)) - 1)
    expr = sp.simplify(expr.rewrite(sp.log))
    expr = expr.replace(sp.log, lambda a: sp.log(sp.factor(sp.together(a))))
    return sp.simplify(sp.expand_log(expr, force=True))


def kl_entropy_identity() -> sp.Expr:
    """−KL(m‖m') − [S(m) + m atanh m' + ½ ln((1 − m'²)/4)], simplified: 0 (spec §1.2).

    Shown on m = tanh(s/2), m' = tanh(s'/2), s, s' real (so that logs split).
    """
    m, mp = sp.symbols("m m'", real=True)
    s, sp_ = sp.symbols("s s'", real=True)
    difference = (-kl_divergence(m, mp)
                  - (binary_entropy(m) + m * sp.atanh(mp) + sp.log((1 - mp**2) / 4) / 2))
    return _in_open_interval(difference, (m, s), (mp, sp_))


def kl_field_gradient() -> sp.Expr:
    """∂KL(tanh θ‖tanh θ')/∂θ − (θ − θ')(1 − tanh²θ), simplified: 0 (spec §1.2, ``KL_grad``).

    By the chain rule ∂_θ = (1 − m²)∂_m, and ∂_m KL = atanh m − atanh m' (shown with logs split).
    """
    m, mp = sp.symbols("m m'", real=True)
    s, sp_ = sp.symbols("s s'", real=True)
    dkl_dm = sp.diff(kl_divergence(m, mp), m)
    rest = _in_open_interval(dkl_dm - (sp.atanh(m) - sp.atanh(mp)), (m, s), (mp, sp_))
    theta, theta_ref = sp.symbols("theta theta'", real=True)
    chain = sp.diff(sp.tanh(theta), theta) * (theta - theta_ref)
    return rest + sp.simplify(chain - (theta - theta_ref) * (1 - sp.tanh(theta) ** 2))


def effective_field() -> sp.Expr:
    """b = √q̂₂ x + r̂₂ B + k atanh m¹ (spec §3.2), with the x-field written ``b`` as in
    :func:`task2_exponent` and the teacher bit as the symbol ``B``."""
    return _b + rh2 * sp.Symbol("B") + beta * gamma * sp.atanh(_m1)


def effective_field_identity() -> sp.Expr:
    """The task-2 exponent minus [(Q̂₂ − q̂₂/2)m² + b m + k S(m) + (k/2) ln((1 − m¹²)/4)],
    simplified: 0 (spec §3.2). So the KL coupling is an entropy k S(m) plus the linear field
    k atanh m¹ of :func:`effective_field`, plus a constant of V that does not involve m."""
    B = sp.Symbol("B")
    k = beta * gamma
    difference = (task2_exponent(B) - site_exponent(Qh2 - qh2 / 2, effective_field(), k)
                  - k * sp.log((1 - _m1**2) / 4) / 2)
    s, s1 = sp.symbols("s s1", real=True)
    return _in_open_interval(difference, (_m, s), (_m1, s1))


def kernel_limit() -> sp.Expr:
    """lim_{Q→1⁻} E_x H(g)^β, g = (√(Q − q) x + √q z)/√(1 − Q), derived (spec §7.2).

    Pointwise: the numerator tends to s = √(1 − q) x + √q z and √(1 − Q) → 0⁺, so g → +∞ (H^β → 0)
    for s > 0 and g → −∞ (H^β → 1) for s < 0, each limit taken by sympy for β > 0; H^β ≤ 1, so by
    dominated convergence the average tends to E_x Θ(−s) = P(x < −√q z/√(1 − q)), integrated by
    sympy. The result is H(√q z/√(1 − q)) (as erfc); the classical Gardner kernel.
    """
    y = sp.Symbol("y", real=True)
    tail = H(y).rewrite(sp.erfc) ** beta
    upper, lower = sp.limit(tail, y, sp.oo), sp.limit(tail, y, -sp.oo)
    if (upper, lower) != (0, 1):
        raise ValueError(f"unexpected limits of H^beta: {upper}, {lower}")
    q, z = sp.Symbol("q", positive=True), sp.Symbol("z", real=True)
    x = sp.Symbol("x", real=True)
    edge = sp.solve(sp.sqrt(1 - q) * x + sp.sqrt(q) * z, x)[0]  # s < 0 ⇔ x < edge
    density = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    return sp.simplify(sp.integrate(density, (x, -sp.oo, edge)))


# --- numbers ----------------------------------------------------------------------------------

def entropy(m: ArrayLike) -> NDArray[np.float64]:
    """S(m), finite on the closed interval [−1, 1] (S(±1) = 0)."""
    m = np.asarray(m, dtype=float)
    return special.entr((1 + m) / 2) + special.entr((1 - m) / 2)


def kl(m: ArrayLike, m_ref: ArrayLike) -> NDArray[np.float64]:
    """KL(m‖m'), m ∈ [−1, 1], m' ∈ (−1, 1)."""
    m, m_ref = np.asarray(m, dtype=float), np.asarray(m_ref, dtype=float)
    return (special.rel_entr((1 + m) / 2, (1 + m_ref) / 2)
            + special.rel_entr((1 - m) / 2, (1 - m_ref) / 2))


def kl_gradient(theta: ArrayLike, theta_ref: ArrayLike) -> NDArray[np.float64]:
    """∂KL(tanh θ‖tanh θ')/∂θ = (θ − θ') sech²θ (spec §1.2, the scripts' ``KL_grad``)."""
    theta = np.asarray(theta, dtype=float)
    return (theta - np.asarray(theta_ref, dtype=float)) / np.cosh(theta) ** 2


def log_weight(m: ArrayLike, A: ArrayLike, b: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """The single-site log-weight A m² + b m + k S(m) of :func:`site_exponent`, on [−1, 1]."""
    m = np.asarray(m, dtype=float)
    return A * m**2 + b * m + np.asarray(k, dtype=float) * entropy(m)


SITE_NODES = 81
"""Default nodes per half, (−1, 0) and (0, 1), of the tanh–sinh rule in m of :func:`evaluate`."""

_SITE_T = 3.0
"""Half-width of the tanh–sinh grid in t: m = expit(π sinh t) on (0, 1) keeps 1 − m ≥ ~1e-14 (no
m = ±1 in floating point, where ln(1 ∓ m) diverges) and leaves out ~1e-14 of [−1, 1]."""


@lru_cache(maxsize=8)
def site_rule(n: int = SITE_NODES) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Tanh–sinh nodes and weights on (−1, 0) ∪ (0, 1), ``n`` per half: Σ w g(m) ≈ ∫_{−1}^{1}
    g(m) dm, exponentially accurate for g analytic on each half, including the end-point
    behaviour of e^{kS(m)} and the jump of sign m at 0 (never a node)."""
    t = np.linspace(-_SITE_T, _SITE_T, n)
    u = np.pi * np.sinh(t)
    half = special.expit(u)
    w = (t[1] - t[0]) * np.pi * np.cosh(t) * half * special.expit(-u)
    m = np.concatenate([-half[::-1], half])
    w = np.concatenate([w[::-1], w])
    for array in (m, w):
        array.setflags(write=False)
    return m, w


def _operators(expr: sp.Expr) -> list[sp.Expr]:
    """The outermost GaussianAverage / SiteIntegral atoms of ``expr`` (not those inside them)."""
    if isinstance(expr, GaussianAverage | SiteIntegral):
        return [expr]
    found = []
    for arg in expr.args:
        found += [a for a in _operators(arg) if a not in found]
    return found


def _evaluate(expr: sp.Expr, env: dict, nodes: int, site_nodes: int) -> NDArray[np.float64]:
    expr = sp.sympify(expr)
    atoms = _operators(expr)
    values = [_operator(a, env, nodes, site_nodes) for a in atoms]
    placeholders = [sp.Dummy("E") for _ in atoms]
    body = expr.xreplace(dict(zip(atoms, placeholders, strict=True)))
    missing = body.free_symbols - set(env) - set(placeholders)
    if missing:
        raise ValueError(f"no value for {missing}")
    keys = list(env)
    f = sp.lambdify([*keys, *placeholders], body, modules=_MODULES)
    return np.asarray(f(*(env[k] for k in keys), *values), dtype=float)


def _operator(a: sp.Expr, env: dict, nodes: int, site_nodes: int) -> NDArray[np.float64]:
    if isinstance(a, GaussianAverage):
        mean = _evaluate(a.mean, env, nodes, site_nodes)
        var = _evaluate(a.var, env, nodes, site_nodes)
        shape = np.broadcast_shapes(mean.shape, var.shape, *(np.shape(v) for v in env.values()))
        points, w = gaussian.quadrature(np.broadcast_to(mean, shape), np.broadcast_to(var, shape),
                                        nodes=nodes)
    else:
        shape = np.broadcast_shapes(*(np.shape(v) for v in env.values()))
        m, w = site_rule(site_nodes)
        points = np.broadcast_to(m, (*shape, m.size))
    inner = {k: np.broadcast_to(v, shape)[..., None] for k, v in env.items()}
    inner[a.args[1]] = points
    return np.sum(w * _evaluate(a.args[0], inner, nodes, site_nodes), axis=-1)


def evaluate(expr: sp.Expr, values: Mapping[sp.Symbol, ArrayLike], *,
             nodes: int = gaussian.DEFAULT_NODES,
             site_nodes: int = SITE_NODES) -> NDArray[np.float64]:
    """The value of ``expr`` (nested Gaussian averages and site integrals allowed) at ``values``.

    Each Gaussian average is done with the split tanh–sinh rule of
    :func:`theorylab.gaussian.quadrature` (``nodes`` nodes, breakpoint 0: the teacher's step), each
    site integral with :func:`site_rule`; values broadcast together. Cost: the product of the node
    counts of the nested levels, so task 2 (four levels) needs small ``nodes``/``site_nodes``.
    Accurate to ~1e-10 for fields of order ten; not the solver of spec §4 (boundary layers at
    m = ±1 under fields ~10³, tail-dominated x averages).
    """
    env = {s: np.asarray(v, dtype=float) for s, v in values.items()}
    return _evaluate(expr, env, nodes, site_nodes)

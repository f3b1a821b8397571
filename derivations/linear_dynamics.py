"""Learning dynamics of linear networks, stated once and derived with sympy.

Two families (spec ``linear-dynamics.md``):

* **Deep linear networks** (Saxe, McClelland & Ganguli, ICLR 2014, arXiv 1312.6120). Whitened
  inputs, full-batch gradient flow on ``½‖y − W_D⋯W_1 x‖²`` with time constant ``tau``. In the SVD
  basis of the input–output correlation ``Σ31 = U S Vᵀ`` an aligned, balanced network decouples
  into one scalar per mode; its strength ``u = a^D`` (``a`` the per-layer strength) obeys the
  mode ODE (spec ``linear-dynamics.md`` §1.2; the paper's two-layer and deep-network sections)

      tau du/dt = D u^(2 − 2/D) (s − u).

  For ``D = 2`` it is the logistic equation with the closed form
  ``u(t) = s e^(2st/tau) / (e^(2st/tau) − 1 + s/u0)``; for every ``D`` the time to go from ``u0``
  to ``u`` is an integral done here symbolically (a hypergeometric function for ``D > 2``).
  ``W21 W21ᵀ − W32ᵀ W32`` is conserved by the matrix flow for any initial condition.

* **Generalization dynamics of linear regression** (Advani, Saxe & Sompolinsky,
  arXiv 1710.03667, the linear student–teacher model).
  Student ``w`` trained by ``tau dw/dt = X(y − Xᵀw)`` on ``P = alpha N`` examples with
  ``N(0, 1/N)`` inputs, teacher ``N(0, sigma_w2)``, label noise ``N(0, sigma_eps2)``,
  initial weights ``N(0, sigma_02)``. Each eigendirection of ``XXᵀ`` relaxes independently; the
  per-eigenvalue errors averaged over the Marchenko–Pastur law of ``XXᵀ`` (plus its zero atom
  for ``alpha < 1``) give ``E_g(t)`` and ``E_t(t)`` (spec §2.2), and the
  ``t → ∞`` limits follow from the MP moments, computed here by residues.

Every closed form is produced by sympy from the ODE it solves and is checked against it by the
``check_*`` functions (tests call them). The numerical models import the ``numeric_*``
functions, which lambdify the derived expressions; nothing is written twice by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import sympy as sp
from scipy.special import hyp2f1
from sympy.codegen.rewriting import expm1_opt, optimize

from derivations import symbolic

# --- symbols ---------------------------------------------------------------------------------
t = sp.Symbol("t", nonnegative=True)
tau = sp.Symbol("tau", positive=True)
s, u, u0, a = sp.symbols("s u u_0 a", positive=True)
D = sp.Symbol("D", positive=True, integer=True)
lam, theta = sp.symbols("lambda theta", positive=True)
alpha = sp.Symbol("alpha", positive=True)
S, noise = sp.symbols("S sigma_eps2", nonnegative=True)  # S = sigma_w2 + sigma_02
r, z = sp.Symbol("r", positive=True), sp.Symbol("z")      # r = sqrt(alpha); contour variable


# =============================================================================================
# 1. Deep linear networks: mode ODEs and their solutions
# =============================================================================================

@cache
def balanced_layer_flow() -> sp.Expr:
    """``da/dt`` of one layer's mode strength at a balanced point, for symbolic depth ``D``.

    The per-mode loss is ``L = ½ (s − a_1⋯a_D)²`` (whitened inputs, the training loss projected
    on one mode). Gradient flow ``tau da_l/dt = −∂L/∂a_l`` evaluated where every other layer has
    strength ``a``, then ``a_l = a``: the product is ``a_l a^(D−1)``.
    """
    a_l = sp.Symbol("a_l", positive=True)
    loss = (s - a_l * a ** (D - 1)) ** 2 / 2
    return sp.simplify(-sp.diff(loss, a_l).subs(a_l, a) / tau)


@cache
def mode_ode(depth: int | sp.Symbol = D) -> sp.Expr:
    """``du/dt`` for the product mode strength ``u = a^D`` of a balanced, aligned network.

    Derived by the chain rule ``du/dt = D a^(D−1) da/dt`` with ``a = u^(1/D)``; the result is
    ``D u^(2−2/D) (s − u) / tau`` (``2u(s − u)/tau`` at ``D = 2``; spec §1.2).
    """
    dudt = (D * a ** (D - 1) * balanced_layer_flow()).subs(a, u ** (1 / D))
    return sp.powsimp(sp.expand_power_base(sp.simplify(dudt.subs(D, depth)), force=True),
                      force=True)


def mode_ode_from_layers(depth: int) -> sp.Expr:
    """The same mode ODE derived with ``depth`` distinct layer symbols (no balance assumed first).

    ``tau da_l/dt = (s − Π a) Π_{k≠l} a_k``; ``du/dt = Σ_l (Π_{k≠l} a_k) da_l/dt``, then all
    ``a_l = u^(1/D)``. Tests compare it with :func:`mode_ode` for small depths.
    """
    layers = sp.symbols(f"a_1:{depth + 1}", positive=True)
    product = sp.Mul(*layers)
    loss = (s - product) ** 2 / 2
    dudt = sum(sp.diff(product, a_l) * (-sp.diff(loss, a_l) / tau) for a_l in layers)
    return sp.simplify(dudt.subs({a_l: u ** sp.Rational(1, depth) for a_l in layers}))


@cache
def two_layer_solution() -> sp.Expr:
    """``u(t)`` for ``D = 2`` from separation of variables (spec §1.2).

    ``t = tau ∫_{u0}^{u} dv / (2 v (s − v))`` is integrated by sympy and solved for ``u``.
    """
    v, uf = sp.symbols("v u_f", positive=True)
    elapsed = sp.integrate(1 / mode_ode(2).subs(u, v), (v, u0, uf))
    elapsed = sp.logcombine(sp.expand_log(sp.simplify(elapsed), force=True), force=True)
    (sol,) = sp.solve(sp.Eq(t, elapsed), uf)
    return sp.simplify(sol)


@cache
def two_layer_solution_decaying() -> sp.Expr:
    """:func:`two_layer_solution` in terms of ``e^{−2st/tau}`` only, which cannot overflow:
    ``s u0 / (u0 + (s − u0) e^{−2st/tau})``."""
    decay = sp.Symbol("d", positive=True)
    in_decay = two_layer_solution().subs(sp.exp(2 * s * t / tau), 1 / decay)
    return sp.factor(sp.cancel(in_decay)).subs(decay, sp.exp(-2 * s * t / tau))


def check_two_layer_solution() -> tuple[sp.Expr, sp.Expr]:
    """(ODE residual ``du/dt − f(u)``, ``u(0) − u0``) of :func:`two_layer_solution`: both 0."""
    sol = two_layer_solution()
    residual = sp.simplify(sp.diff(sol, t) - mode_ode(2).subs(u, sol))
    return residual, sp.simplify(sol.subs(t, 0) - u0)


def _lerchphi_to_hyper(expr: sp.Expr) -> sp.Expr:
    """Rewrite sympy's ``lerchphi(z, 1, b)`` as ``₂F₁(1, b; 1 + b; z) / b`` (series identity).

    ``lerchphi(z, 1, b) = Σ_n zⁿ/(n + b)`` and ``₂F₁(1, b; 1+b; z) = Σ_n b zⁿ/(n + b)``. The
    polar factor ``exp_polar(2πi)`` sympy attaches to the argument is 1 on the principal branch
    we need (``0 ≤ z < 1``).
    """
    expr = expr.replace(sp.exp_polar, lambda arg: sp.exp(arg))

    def swap(zz, order, b):
        if order != 1:
            raise ValueError("only lerchphi(z, 1, b) appears in the learning time")
        return sp.hyper([1, b], [1 + b], zz) / b

    return sp.gammasimp(expr.replace(sp.lerchphi, swap))


@cache
@symbolic.cached_on_disk
def learning_time_antiderivative(depth: int | None = None) -> sp.Expr:
    """``A(u)``: the time to go from ``u_0`` to ``u_f`` is ``tau (A(u_f) − A(u_0))``.

    ``A = ∫ du / (D u^(2−2/D) (s − u))``. With ``u = a^D`` the integrand becomes
    ``da / (a^(D−1) (s − a^D)) = (1/s) [a^(1−D) + a / (s − a^D)]`` (partial fractions, checked in
    :func:`check_partial_fractions`); sympy integrates both terms, the second one to a Lerch
    transcendent which is rewritten as ``₂F₁(1, 2/D; 1 + 2/D; u/s)``. ``depth = None`` keeps
    ``D`` symbolic (valid for ``D > 2``); ``depth = 2`` integrates the logistic case (logs).
    """
    if depth == 2:
        # sympy returns log(u − s); on 0 < u < s the real antiderivative is log(s − u) (the two
        # differ by the constant iπ, which cancels in A(u_f) − A(u_0))
        logistic = sp.integrate(1 / mode_ode(2).subs(tau, 1), u)
        return sp.simplify(logistic.subs(sp.log(u - s), sp.log(s - u)))
    first = sp.integrate(a ** (1 - D), a, conds="none")
    second = _lerchphi_to_hyper(sp.integrate(a / (s - a**D), a))
    antiderivative = ((first + second) / s).subs(a, u ** (1 / D))
    antiderivative = sp.powsimp(sp.expand_power_base(antiderivative, force=True), force=True)
    return antiderivative if depth is None else antiderivative.subs(D, depth)


def check_partial_fractions() -> sp.Expr:
    """``1/(a^(D−1)(s − a^D)) − (1/s)(a^(1−D) + a/(s − a^D))``, which simplifies to 0."""
    return sp.simplify(1 / (a ** (D - 1) * (s - a**D)) - (a ** (1 - D) + a / (s - a**D)) / s)


def check_learning_time(depth: int) -> sp.Expr:
    """``dA/du − 1/f(u)`` for the antiderivative at an integer depth (hypergeometric functions
    expanded); it simplifies to 0."""
    antiderivative = learning_time_antiderivative(depth)
    derivative = sp.hyperexpand(sp.diff(antiderivative, u))
    return sp.simplify(derivative - 1 / mode_ode(depth).subs(tau, 1))


# --- conserved quantity ----------------------------------------------------------------------

def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}"))


def conserved_rates(widths: tuple[int, ...] = (3, 2, 2)) -> list[sp.Matrix]:
    """Time derivatives of ``W_l W_lᵀ − W_{l+1}ᵀ W_{l+1}`` under the full matrix flow.

    ``widths = (N_1, ..., N_{D+1})`` (input, hidden..., output). The flow is not typed in: sympy
    differentiates the loss ``½ tr(W Σ11 Wᵀ) − tr(Σ31 Wᵀ)`` (the training loss up to a
    constant; ``W = W_D⋯W_1``, symbolic symmetric ``Σ11`` and general ``Σ31``) with respect to
    every entry, ``tau dW_l/dt = −∂L/∂W_l`` (spec §1.1 with ``tau = 1``). Every returned
    matrix is identically zero: the conservation law needs neither whitening nor balance
    (Saxe et al. 2014; Tanaka & Kunin 2021, arXiv 2105.02716).
    """
    depth = len(widths) - 1
    weights = [_matrix(f"w{l}", widths[l], widths[l - 1]) for l in range(1, depth + 1)]
    sigma11 = sp.Matrix(widths[0], widths[0],
                        lambda i, j: sp.Symbol(f"c_{min(i, j)}{max(i, j)}"))  # symmetric
    sigma31 = _matrix("y", widths[-1], widths[0])
    total = sp.eye(widths[-1])
    for w in reversed(weights):
        total = total * w
    loss = ((total * sigma11 * total.T).trace() / 2 - (sigma31 * total.T).trace())
    flows = [w.applyfunc(lambda x: -sp.diff(loss, x)) for w in weights]  # times 1/tau
    rates = []
    for l in range(depth - 1):
        lower, upper = weights[l], weights[l + 1]
        d_lower, d_upper = flows[l], flows[l + 1]
        rate = (d_lower * lower.T + lower * d_lower.T
                - d_upper.T * upper - upper.T * d_upper)
        rates.append(rate.applyfunc(sp.expand))
    return rates


# =============================================================================================
# 2. Generalization dynamics: per-eigenvalue errors and the Marchenko–Pastur average
# =============================================================================================

@cache
def eigenmode_errors() -> tuple[sp.Expr, sp.Expr]:
    """Per-eigendirection contributions to ``E_g`` and ``E_t`` at eigenvalue ``lam`` of ``XXᵀ``.

    In the eigenbasis of ``XXᵀ`` the error ``e = w − w̄`` obeys ``tau de/dt = −lam e + g`` with
    ``g = (Xε)`` projected, ``⟨g²⟩ = sigma_eps2 lam``; sympy solves it. Averaging
    ``e(t)²`` over ``⟨e(0)²⟩ = S = sigma_w2 + sigma_02`` and the independent noise gives the
    generalization contribution. The matching training residual along the left singular vector
    is ``ε̃ − √lam e`` with ``g = √lam ε̃``, ``⟨ε̃²⟩ = sigma_eps2``.

    Returns
    -------
    (eg, et)
        ``⟨e(t)²⟩`` and ``⟨(ε̃ − √lam e(t))²⟩`` (the integrands of spec §2.2 before the
        spectral average).
    """
    e0, eps = sp.symbols("e_0 epsilon", real=True)
    e = sp.Function("e")
    g = sp.sqrt(lam) * eps
    ode = sp.Eq(tau * e(t).diff(t), -lam * e(t) + g)
    e_t = sp.dsolve(ode, e(t), ics={e(0): e0}).rhs
    moments = {e0**2: S, eps**2: noise, e0 * eps: 0}

    def average(expr):
        poly = sp.Poly(sp.expand(expr), e0, eps)
        return _tidy(sum(coeff * moments[e0**i * eps**j] for (i, j), coeff in poly.terms()))

    return average(e_t**2), average((eps - sp.sqrt(lam) * e_t) ** 2)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """Collect ``expr`` by variance (``S``, ``sigma_eps2``), each coefficient a factored
    polynomial in ``e^{−lam t/tau}``: the form stays free of growing exponentials (no overflow
    at large ``t``) and exposes ``1 − e^{−x}`` to the expm1 rewrite."""
    decay = sp.Symbol("E", positive=True)
    polynomial = sp.expand(sp.expand(expr).subs(sp.exp(-lam * t / tau), decay)
                           .subs(sp.exp(-2 * lam * t / tau), decay**2))
    if polynomial.has(sp.exp):
        raise ArithmeticError(f"unexpected exponential in {expr}")
    parts = sp.collect(polynomial, [S, noise], evaluate=False)
    return sum(sp.factor(coeff) * var for var, coeff in parts.items()).subs(
        decay, sp.exp(-lam * t / tau))


def mp_edges() -> tuple[sp.Expr, sp.Expr]:
    """Edges ``λ∓ = (1 ∓ √alpha)²`` of the MP bulk of ``XXᵀ`` (entries of X with variance 1/N)."""
    return (1 - sp.sqrt(alpha)) ** 2, (1 + sp.sqrt(alpha)) ** 2


def mp_density() -> sp.Expr:
    """Bulk density ``ρ(λ) = √((λ₊ − λ)(λ − λ₋)) / (2πλ)`` (mass ``min(1, alpha)``)."""
    lo, hi = mp_edges()
    return sp.sqrt((hi - lam) * (lam - lo)) / (2 * sp.pi * lam)


@cache
def theta_weight() -> sp.Expr:
    """``ρ(λ(θ)) dλ/dθ`` for ``λ = λ₋ + (λ₊ − λ₋) sin²θ``, ``θ ∈ (0, π/2)``.

    The substitution removes both inverse-square-root edges (and the ``1/√λ`` divergence at
    ``alpha = 1``): the weight is ``(λ₊ − λ₋)² sin²θ cos²θ / (π λ)``, smooth on the interval.
    """
    lo, hi = mp_edges()
    sn, cs = sp.symbols("sin_theta cos_theta", positive=True)
    lam_theta = lo + (hi - lo) * sn**2
    # (λ₊ − λ)(λ − λ₋) = (λ₊ − λ₋)² sin²θ (1 − sin²θ): its root on (0, π/2) is (λ₊ − λ₋) sinθ cosθ
    root = (hi - lo) * sn * cs
    mismatch = sp.expand((hi - lam_theta) * (lam_theta - lo) - root**2).subs(cs**2, 1 - sn**2)
    if sp.simplify(mismatch) != 0:
        raise ArithmeticError("the MP bulk root does not factor as expected")
    jacobian = 2 * (hi - lo) * sn * cs                       # dλ/dθ
    # left unexpanded: λ = λ₋ + (λ₊ − λ₋) sin²θ keeps its relative precision as θ → 0 at alpha = 1
    weight = root * jacobian / (2 * sp.pi * lam_theta)
    return weight.subs({sn: sp.sin(theta), cs: sp.cos(theta)})


def lam_of_theta() -> sp.Expr:
    lo, hi = mp_edges()
    return lo + (hi - lo) * sp.sin(theta) ** 2


def check_theta_weight() -> sp.Expr:
    """``theta_weight − ρ(λ(θ)) dλ/dθ`` squared-difference on (0, π/2): simplifies to 0."""
    lam_t = lam_of_theta()
    direct = mp_density().subs(lam, lam_t) * sp.diff(lam_t, theta)
    # both sides are positive on (0, π/2); compare squares to avoid branch choices in sqrt
    return sp.simplify(sp.expand_trig(theta_weight() ** 2 - direct**2))


@cache
@symbolic.cached_on_disk
def error_integrands(expm1: bool = False) -> dict[str, sp.Expr]:
    """Integrands over ``θ ∈ (0, π/2)`` of the MP bulk part of ``E_g``, ``E_t`` and ``dE_g/dt``.

    ``E_g(t) = ∫ w(θ) ⟨e²⟩ dθ + (1 − alpha)₊ S + sigma_eps2`` and
    ``E_t(t) = (1/alpha) ∫ w(θ) ⟨r²⟩ dθ + sigma_eps2 (1 − 1/alpha)₊``: the zero atom of
    ``XXᵀ`` (``alpha < 1``) keeps its initial error ``S``; the ``P − N`` directions of label
    space outside the range of ``Xᵀ`` (``alpha > 1``) keep their noise. With ``expm1`` the
    per-eigenvalue parts have ``1 − e^{−x}`` rewritten as ``−expm1(−x)`` (sympy codegen), for
    full relative precision at small ``λt``.
    """
    eg, et = eigenmode_errors()
    rate = _tidy(sp.diff(eg, t))
    w, lam_t = theta_weight(), lam_of_theta()

    def bulk(per_mode):
        if expm1:
            per_mode = optimize(per_mode, [expm1_opt])
        return w * per_mode.subs(lam, lam_t)

    return {"E_g": bulk(eg), "E_t": bulk(et) / alpha, "dE_g/dt": bulk(rate)}


def atoms() -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """The non-bulk parts of ``E_g`` and ``E_t`` as (alpha < 1, alpha > 1) pairs."""
    return {"E_g": ((1 - alpha) * S + noise, noise),
            "E_t": (sp.Integer(0), noise * (1 - 1 / alpha))}


@cache
def mp_moment(power: int, below_one: bool) -> sp.Expr:
    """``∫ ρ(λ) λ^power dλ`` over the MP bulk, by residues.

    With ``λ = 1 + alpha + 2√alpha cos φ`` the bulk becomes ``φ ∈ (0, π)`` and
    ``ρ dλ = (2 alpha/π) sin²φ / λ dφ``; extending to the full circle ``z = e^{iφ}`` gives a
    rational integrand with poles at ``0``, ``−√alpha`` and ``−1/√alpha``. Inside the unit circle
    are ``0`` and ``−√alpha`` when ``alpha < 1``, ``0`` and ``−1/√alpha`` when ``alpha > 1``.
    """
    lam_z = (r * z + 1) * (z + r) / z
    sin2 = -((z - 1 / z) ** 2) / 4
    integrand = sp.cancel(sin2 * lam_z ** (power - 1) / z)   # dφ = dz / (i z)
    poles = (0, -r) if below_one else (0, -1 / r)
    residues = sum(_residue(integrand, p) for p in poles)
    # (2 alpha/π) · ½ ∮ dz/(i z) (...) = (alpha/π) · 2π Σ Res
    return sp.factor(sp.simplify(2 * r**2 * residues)).subs(r, sp.sqrt(alpha))


def _residue(rational: sp.Expr, pole: sp.Expr) -> sp.Expr:
    """Residue of a rational function of ``z`` at ``pole``: with ``(z − pole)^k`` the pole's
    factor of the denominator, ``d^{k−1}/dz^{k−1} [(z − pole)^k f] / (k − 1)!`` at the pole
    (several times faster than ``sympy.residue``'s series expansion here)."""
    num, den = sp.fraction(sp.cancel(rational))
    den, order = sp.Poly(den, z), 0
    while sp.simplify(den.eval(pole)) == 0:
        den, order = sp.Poly(sp.quo(den.as_expr(), z - pole, z), z), order + 1
    if order == 0:
        return sp.Integer(0)
    regular = num / den.as_expr()
    return sp.simplify(sp.diff(regular, z, order - 1).subs(z, pole) / sp.factorial(order - 1))


@cache
@symbolic.cached_on_disk
def asymptotic_errors() -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """``E_g(∞)`` and ``E_t(∞)`` as (alpha < 1, alpha > 1) pairs.

    For ``λ ≥ λ₋ > 0`` (``alpha ≠ 1``) the per-eigenvalue errors converge as ``t → ∞`` to Laurent
    polynomials in ``λ`` (``sigma_eps2/λ`` and 0); their bulk averages are MP moments
    (:func:`mp_moment`), to which the atoms are added. Result (spec §2.2):
    ``sigma_eps2 alpha/(alpha − 1)`` for ``alpha > 1`` and
    ``sigma_eps2/(1 − alpha) + (1 − alpha) S`` for ``alpha < 1``, diverging at ``alpha = 1``.
    """
    out = {}
    for name, per_mode in zip(("E_g", "E_t"), eigenmode_errors(), strict=True):
        limit = sp.expand(sp.limit(per_mode, t, sp.oo))
        branches = []
        for below, atom in zip((True, False), atoms()[name], strict=True):
            bulk = sum(coeff * mp_moment(int(k), below)
                       for k, coeff in _laurent(limit).items())
            if name == "E_t":
                bulk = bulk / alpha
            branches.append(sp.factor(sp.simplify(bulk + atom)))
        out[name] = tuple(branches)
    return out


def _laurent(expr: sp.Expr) -> dict[int, sp.Expr]:
    """Coefficients of a finite Laurent polynomial in ``lam``."""
    terms: dict[int, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, power = term.as_coeff_exponent(lam)
        if coeff.has(lam):
            raise ValueError(f"not a Laurent polynomial in lambda: {expr}")
        terms[int(power)] = terms.get(int(power), 0) + coeff
    return terms


# =============================================================================================
# 3. Numerical functions for the models (lambdified from the expressions above)
# =============================================================================================

_HYPER = {"hyper": lambda upper, lower, x: hyp2f1(upper[0], upper[1], lower[0], x)}


@cache
def numeric_two_layer_solution() -> Callable:
    """``u(t, s, u0, tau)`` for ``D = 2`` (vectorised, overflow-free form)."""
    return sp.lambdify((t, s, u0, tau), two_layer_solution_decaying(), "numpy")


@cache
def numeric_learning_time(depth: int) -> Callable:
    """``A(u, s)`` of :func:`learning_time_antiderivative` at an integer depth (vectorised):
    the time from ``u0`` to ``u`` is ``tau (A(u, s) − A(u0, s))``."""
    return sp.lambdify((u, s), learning_time_antiderivative(depth), [_HYPER, "scipy", "numpy"])


@cache
def numeric_error_integrands() -> dict[str, Callable]:
    """``f(theta, alpha, t, tau, S, sigma_eps2)`` for each of :func:`error_integrands`.

    Vectorised (broadcasting) with common subexpressions shared.
    """
    return {name: sp.lambdify((theta, alpha, t, tau, S, noise), expr, "numpy", cse=True)
            for name, expr in error_integrands(expm1=True).items()}


@cache
def numeric_asymptotic_errors() -> dict[str, tuple[Callable, Callable]]:
    """``f(alpha, S, sigma_eps2)`` for the (alpha < 1, alpha > 1) branches of ``E_g(∞), E_t(∞)``."""
    return {name: tuple(sp.lambdify((alpha, S, noise), branch, "numpy") for branch in pair)
            for name, pair in asymptotic_errors().items()}


@cache
def numeric_atoms() -> dict[str, tuple[Callable, Callable]]:
    """``f(alpha, S, sigma_eps2)`` for the (alpha < 1, alpha > 1) atoms of :func:`atoms`."""
    return {name: tuple(sp.lambdify((alpha, S, noise), branch, "numpy") for branch in pair)
            for name, pair in atoms().items()}

"""Curl descent: the learning flow of a linear two-layer network with rule-flipped plasticity.

Spec ``shared/specs/curl-descent.md`` §1, §2.1, §2.4 (model read from the authors' code,
github ``caycogajiclab/Curl_Descent``); paper: H. Ninou, J. Kadmon, N. A. Cayco-Gajic, *Curl
Descent: Non-Gradient Learning Dynamics with Sign-Diverse Plasticity*, arXiv 2510.02765 (2025).

Network (one output, K = 1, no biases, phi = lin): y_hat = w2 W1 x with W1 in R^{N x M} and
w2 in R^{1 x N}; teacher y = w_star^T x. Full batch, eta -> 0 (gradient flow, no norm reset),
input covariance Sigma = <x x^T>_train. With the error row E = w2 W1 - w_star^T, the flow with
flip matrices D1 = diag(d1) (M x M, inputs: columns of W1) and D2 = diag(d2) (N x N, readout
synapses) is

    dW1/dt = -w2^T E Sigma D1,        dw2/dt = -E Sigma W1^T D2,

minus the gradient of L = (1/2) E Sigma E^T with each update multiplied by its flips. Derived here
(:func:`error_flow`): dE/dt = -E Sigma X exactly, X = |w2|^2 D1 + W1^T D2 W1 (symmetric). So on the
solution manifold (E Sigma = 0) the Jacobian of the full weight flow has the M eigenvalues of
-Sigma X and N M + N - M zeros (:func:`jacobian`; the tests hold its characteristic
polynomial against lambda^(NM+N-M) det(lambda + Sigma X)). Without flips the Jacobian is minus
the Hessian of L, symmetric; a flipped synapse gives it an antisymmetric part: the curl.

The origin (spec §2.4): at W1 = 0, w2 = 0 the non-zero eigenvalues are +-sqrt(kappa d2_i), kappa =
v^T D1 v, v = Sigma w_star; the scalar chain (M = N = 1) is a saddle if d1 d2 = 1, a centre if
exactly one synapse is flipped (:func:`origin_eigenvalues`).

Sizes here are small and explicit (every weight a sympy symbol): the identities are proved at
those sizes and tested numerically at random ones.

Large-N spectrum of X (spec §2.2-2.3; units sigma^2 = 1, rho = s/sigma^2): X is the free sum of
rho D1 (a +-rho Bernoulli law, weight alpha_h on -rho) and W1^T D2 W1 = A - B, two free Wisharts
(rates (1 - alpha_r)/c and alpha_r/c). Its Blue function (the inverse of the Cauchy transform,
R-transforms add) is :func:`blue_function`. Derived here from it, never typed: the polynomial
whose roots are its critical points (:func:`critical_polynomial`, the square root removed by
squaring, with the sign condition that tells true roots from the squaring's), the polynomial in
G whose complex roots give the density at z (:func:`density_polynomial`), and, for readout flips
only, the discriminant in z of the cubic z = B(G) (:func:`readout_discriminant`): the authors'
route to the edges (their Fig. 2 notebook).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import sympy as sp

# --- symbols of the spectral theory ----------------------------------------------------------
G, z = sp.symbols("G z")                                   # Cauchy variable, spectral variable
c, rho = sp.symbols("c rho", positive=True)                # c = M/N; rho = |w2|^2 / sigma^2
alpha_h, alpha_r = sp.symbols("alpha_h alpha_r", nonnegative=True)  # flipped fractions
_S = sp.Symbol("S")                                        # the square root of radicand()


@dataclass(frozen=True)
class LinearFlow:
    """The learning flow of one (N, M, flips) case, symbolically.

    Attributes
    ----------
    W1, w2
        The weights: (N, M) and (1, N) matrices of symbols.
    w_star
        The teacher's effective weights, (M, 1) symbols.
    Sigma
        The input covariance, a symmetric (M, M) matrix of symbols.
    D1, D2
        The flip matrices (diagonal, entries +-1).
    field
        (dW1/dt, dw2/dt).
    """

    W1: sp.Matrix
    w2: sp.Matrix
    w_star: sp.Matrix
    Sigma: sp.Matrix
    D1: sp.Matrix
    D2: sp.Matrix
    field: tuple[sp.Matrix, sp.Matrix]

    @property
    def error(self) -> sp.Matrix:
        """E = w2 W1 - w_star^T (1 x M)."""
        return self.w2 * self.W1 - self.w_star.T

    @property
    def weights(self) -> list[sp.Symbol]:
        """vec(W1) (row by row), then w2: the coordinates of :func:`jacobian`."""
        return [*self.W1, *self.w2]

    @property
    def X(self) -> sp.Matrix:
        """X = |w2|^2 D1 + W1^T D2 W1 (M x M, spec §2.1)."""
        return (self.w2 * self.w2.T)[0, 0] * self.D1 + self.W1.T * self.D2 * self.W1


def _check_flips(flips: Sequence[int], size: int, name: str) -> list[int]:
    flips = [int(d) for d in flips]
    if len(flips) != size or any(d not in (-1, 1) for d in flips):
        raise ValueError(f"{name} must hold {size} entries, each +1 or -1 (got {flips})")
    return flips


def linear_flow(N: int, M: int, d1: Sequence[int] | None = None,
                d2: Sequence[int] | None = None) -> LinearFlow:
    """The gradient-flow field of the linear network with flips d1 (inputs, length M) and d2
    (hidden units, length N); none flipped by default (gradient descent)."""
    if N < 1 or M < 1:
        raise ValueError(f"need N >= 1 and M >= 1 (got N = {N}, M = {M})")
    D1 = sp.diag(*_check_flips([1] * M if d1 is None else d1, M, "d1"))
    D2 = sp.diag(*_check_flips([1] * N if d2 is None else d2, N, "d2"))
    W1 = sp.Matrix(N, M, lambda i, j: sp.Symbol(f"W1_{i}_{j}", real=True))
    w2 = sp.Matrix(1, N, lambda _, i: sp.Symbol(f"w2_{i}", real=True))
    w_star = sp.Matrix(M, 1, lambda j, _: sp.Symbol(f"wstar_{j}", real=True))
    Sigma = sp.Matrix(M, M, lambda i, j: sp.Symbol(f"S_{min(i, j)}_{max(i, j)}", real=True))
    loss = (sp.Rational(1, 2) * (w2 * W1 - w_star.T) * Sigma * (w2 * W1 - w_star.T).T)[0, 0]
    # minus the gradient of the loss, each update multiplied by its flips (spec §1)
    dW1 = -sp.Matrix(N, M, lambda i, j: sp.diff(loss, W1[i, j])) * D1
    dw2 = -sp.Matrix(1, N, lambda _, i: sp.diff(loss, w2[i])) * D2
    return LinearFlow(W1, w2, w_star, Sigma, D1, D2, (dW1, dw2))


def error_flow(flow: LinearFlow) -> sp.Matrix:
    """dE/dt along the flow (chain rule, 1 x M): equal to -E Sigma X (spec §2.1), which
    :func:`error_flow_residual` checks."""
    dW1, dw2 = flow.field
    return dw2 * flow.W1 + flow.w2 * dW1


def error_flow_residual(flow: LinearFlow) -> sp.Matrix:
    """dE/dt + E Sigma X, expanded: the zero matrix (a proof at these sizes)."""
    return sp.expand(error_flow(flow) + flow.error * flow.Sigma * flow.X)


def jacobian(flow: LinearFlow) -> sp.Matrix:
    """d(field)/d(weights) in the coordinates of :attr:`LinearFlow.weights`."""
    dW1, dw2 = flow.field
    return sp.Matrix([*dW1, *dw2]).jacobian(flow.weights)


def origin_eigenvalues(d1: int, d2: int) -> tuple[sp.Expr, sp.Expr]:
    """The Jacobian eigenvalues of the scalar chain (M = N = 1) at the origin, in terms of
    v = Sigma w_star: +-v sqrt(d1 d2) (spec §2.4: real, a saddle, if d1 d2 = 1; imaginary, a
    centre, if exactly one synapse is flipped)."""
    flow = linear_flow(1, 1, [d1], [d2])
    J = jacobian(flow).subs({s: 0 for s in flow.weights})
    return tuple(J.eigenvals(multiple=True))


# =============================================================================================
# Large-N spectrum of X (spec §2.3)
# =============================================================================================

def radicand() -> sp.Expr:
    """1 + 4 rho G (rho G + Delta), Delta = 1 - 2 alpha_h: from inverting the Cauchy transform
    G_D(z) = (z + rho Delta)/(z^2 - rho^2) of the +-rho Bernoulli law of rho D1 (a quadratic in
    z). Equal to (2 rho G + Delta)^2 + 1 - Delta^2 >= 0 for real G."""
    Delta = 1 - 2 * alpha_h
    return 1 + 4 * rho * G * (rho * G + Delta)


def wishart_r_transform() -> sp.Expr:
    """R-transform of W1^T D2 W1 = A - B (spec §2.3): free Poisson laws of rates
    (1 - alpha_r)/c (unflipped rows) and alpha_r/c (flipped rows, entering with a minus sign),
    R_A(G) = rate/(1 - G), R_{-B}(G) = -rate/(1 + G)."""
    return (1 - alpha_r) / (c * (1 - G)) - alpha_r / (c * (1 + G))


def blue_function(root: sp.Expr | None = None) -> sp.Expr:
    """B(G) = 1/G + R_X(G): the Blue function of X = rho D1 + W1^T D2 W1 (spec §2.3),

        B(G) = (1 + S)/(2 G) + (1 - alpha_r)/(c (1 - G)) - alpha_r/(c (1 + G)),

    S the root of :func:`radicand` on the branch S -> 1 as G -> 0 (the positive one for
    0 < alpha_h; with no flipped input, alpha_h = 0, the analytic branch S = 1 + 2 rho G, and
    B = 1/G + rho + R_A + R_{-B}). ``root`` replaces S (default: the symbol S)."""
    S = _S if root is None else root
    return (1 + S) / (2 * G) + wishart_r_transform()


def _linear_in_root(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(a, b) with numer(expr) = a S + b, using S^2 = radicand()."""
    numerator = sp.expand(sp.numer(sp.together(expr)))
    reduced = sp.Poly(numerator, _S).rem(sp.Poly(_S**2 - radicand(), _S))
    return sp.expand(reduced.coeff_monomial(_S)), sp.expand(reduced.coeff_monomial(1))


@cache
def critical_polynomial(analytic_root: bool) -> tuple[list[sp.Expr], sp.Expr, sp.Expr]:
    """The critical points of B: coefficients (highest power first) of a polynomial in G whose
    real roots contain them, and the pair (a, b) of dB/dG ∝ a S + b.

    dB/dG is taken with dS/dG = radicand'/(2 S), multiplied by 2 G^2 S and the Wishart
    denominators, and reduced with S^2 = radicand() to a S + b. With the positive root
    (``analytic_root=False``, flipped inputs) the polynomial is a^2 radicand - b^2, of degree
    10, and a root is a true critical point iff -b/a >= 0 (then S = -b/a); its leading
    coefficient vanishes at alpha_h = 1/c and 1 - 1/c, where atoms at -rho, +rho appear. With
    ``analytic_root=True`` (alpha_h = 0, S = 1 + 2 rho G, no root to remove) it is the
    numerator of dB/dG, a quartic.
    """
    dS = sp.diff(radicand(), G) / (2 * _S)
    derivative = sp.diff(blue_function(), G) + sp.diff(blue_function(), _S) * dS
    a, b = _linear_in_root(derivative * 2 * G**2 * _S)
    if analytic_root:
        derivative = sp.diff(blue_function(1 + 2 * rho * G), G)
        polynomial = sp.numer(sp.together(derivative))
    else:
        polynomial = a**2 * radicand() - b**2
    return sp.Poly(sp.expand(polynomial), G).all_coeffs(), a, b


@cache
def density_polynomial(analytic_root: bool) -> list[sp.Expr]:
    """Coefficients in G (highest first) of the polynomial whose roots solve z = B(G): the
    Cauchy transform at z is one of them, and the density is |Im G|/pi where it is complex.
    Positive root: (2 G (z - R) - 1)^2 = radicand(), cleared of denominators; analytic root:
    2 G (z - R) - 1 = 1 + 2 rho G (a cubic for readout flips)."""
    lhs = 2 * G * (z - wishart_r_transform()) - 1
    if analytic_root:
        equation = (lhs - (1 + 2 * rho * G)).subs(alpha_h, 0)
    else:
        equation = lhs**2 - radicand()
    return sp.Poly(sp.expand(sp.numer(sp.together(equation))), G).all_coeffs()


@cache
def readout_discriminant() -> list[sp.Expr]:
    """Coefficients in z (highest first) of the discriminant of the readout cubic
    (:func:`density_polynomial` with ``analytic_root=True``): it vanishes where two roots
    G of z = B(G) merge, at the spectral edges (the authors' route, spec §2.3). It is of
    degree 4 in z: the spec's eta^2 - 4 zeta^3 equals -27 g3^2 times it, g3 (linear in z) the
    cubic's leading coefficient, whose double root is no edge."""
    cubic = sp.Poly(sp.Add(*[coefficient * G**k for k, coefficient in
                             enumerate(reversed(density_polynomial(True)))]), G)
    return sp.Poly(sp.expand(sp.discriminant(cubic, G)), z).all_coeffs()


def _lambdify_list(expressions: Sequence[sp.Expr], args: Sequence[sp.Symbol]) -> Callable:
    return sp.lambdify(args, list(expressions), modules="numpy")


@cache
def numeric_spectral_theory() -> dict[str, Callable]:
    """NumPy callables of the expressions above (arguments in the order of their names):

    ``blue(G, S, c, alpha_r)``; ``radicand(G, rho, alpha_h)``;
    ``critical(c, rho, alpha_h, alpha_r)`` and ``critical_analytic(c, rho, alpha_r)``: lists of
    coefficients; ``critical_sign(G, c, rho, alpha_h, alpha_r)``: (a, b);
    ``density(z, c, rho, alpha_h, alpha_r)`` and ``density_analytic(z, c, rho, alpha_r)``;
    ``discriminant(c, rho, alpha_r)``: coefficients in z;
    ``slope`` and ``curvature`` (arguments ``G, c, rho, alpha_h, alpha_r``) and their
    ``_analytic`` versions (``G, c, rho, alpha_r``): dB/dG and d^2B/dG^2 on the physical branch
    (a polynomial root is a critical point only where the slope vanishes: clearing denominators
    adds roots, e.g. a double one at the pole G = -1 when alpha_r = 0; it is the lower edge only
    where the curvature is < 0).
    """
    coefficients, a, b = critical_polynomial(False)
    positive, analytic_blue = blue_function(sp.sqrt(radicand())), blue_function(1 + 2 * rho * G)
    analytic, _, _ = critical_polynomial(True)
    functions = {
        "blue": sp.lambdify((G, _S, c, alpha_r), blue_function(), modules="numpy"),
        "radicand": sp.lambdify((G, rho, alpha_h), radicand(), modules="numpy"),
        "critical": _lambdify_list(coefficients, (c, rho, alpha_h, alpha_r)),
        "critical_analytic": _lambdify_list(analytic, (c, rho, alpha_r)),
        "critical_sign": _lambdify_list((a, b), (G, c, rho, alpha_h, alpha_r)),
        "density": _lambdify_list(density_polynomial(False), (z, c, rho, alpha_h, alpha_r)),
        "density_analytic": _lambdify_list(density_polynomial(True), (z, c, rho, alpha_r)),
        "discriminant": _lambdify_list(readout_discriminant(), (c, rho, alpha_r)),
    }
    for name, order in (("slope", 1), ("curvature", 2)):
        functions[name] = sp.lambdify((G, c, rho, alpha_h, alpha_r), sp.diff(positive, G, order),
                                      modules="numpy")
        functions[name + "_analytic"] = sp.lambdify(
            (G, c, rho, alpha_r), sp.diff(analytic_blue, G, order), modules="numpy")
    return functions

"""Curl descent: the learning flow of a two-layer network with rule-flipped plasticity.

Spec ``shared/specs/curl-descent.md`` §1, §2.1, §2.4, §2.5 (model read from the authors' code,
github ``caycogajiclab/Curl_Descent``); paper: H. Ninou, J. Kadmon, N. A. Cayco-Gajic, *Curl
Descent: Non-Gradient Learning Dynamics with Sign-Diverse Plasticity*, arXiv 2510.02765 (2025).

Linear network (no biases, phi = lin, K outputs): y_hat = w2 W1 x with W1 in R^{N x M} and
w2 in R^{K x N}; teacher y = w_star^T x, w_star in R^{M x K}. Full batch, eta -> 0 (gradient
flow, no norm reset), input covariance Sigma = <x x^T>_train. With the error E = w2 W1 - w_star^T
(K x M), the flow with flip matrices D1 = diag(d1) (M x M, inputs: columns of W1) and
D2 = diag(d2) (N x N, readout synapses) is

    dW1/dt = -w2^T E Sigma D1,        dw2/dt = -E Sigma W1^T D2,

minus the gradient of L = (1/2) tr(E Sigma E^T) with each update multiplied by its flips. Derived
here (:func:`error_flow`): with vec stacking the columns of E,

    d vec(E)/dt = -Y (Sigma (x) I_K) vec(E),   Y = D1 (x) w2 w2^T + (W1^T D2 W1) (x) I_K

(symmetric, spec §2.5; for K = 1, Y = X = |w2|^2 D1 + W1^T D2 W1, spec §2.1). So on the solution
manifold (E Sigma = 0) the non-zero eigenvalues of the Jacobian of the full weight flow are those
of -Y (Sigma (x) I_K) (:func:`jacobian`; the tests hold its characteristic polynomial against
lambda^(NM+N-M) det(lambda + Sigma X) at K = 1, and its spectrum numerically at K = 2). Y is the
Kronecker sum :attr:`LinearFlow.kronecker_sum` (eigenvalues lambda_i + mu_j of w2 w2^T and
W1^T D2 W1) only if D1 = I. Without flips the Jacobian is minus the Hessian of L, symmetric; a
flipped synapse gives it an antisymmetric part: the curl.

Nonlinear network with the authors' output rule (spec §1, "No phi' at the output";
:func:`nonlinear_flow`): h = phi(W1 x), y_hat = phi(w2 h), e = y_hat - y, delta = (f e) * phi'(W1 x)
with feedback f = w2^T (backprop) or a fixed vector b (feedback alignment), over P symbolic data
points: dW1/dt = -<delta x^T> D1, dw2/dt = -<e h^T> D2. Without flips and with backprop this is
minus the gradient of the matching loss <Phi(w2 h) - y w2 h>, Phi' = phi
(:func:`matching_loss_residual`), so its Jacobian is minus a Hessian, symmetric (spec §2.1).

The origin (spec §2.4; phi(0) = 0, phi'(0) = 1): at W1 = 0, w2 = 0 the non-zero eigenvalues are
+-sqrt(kappa d2_i), kappa = v^T D1 v, v = <y x>_train (= Sigma w_star for lin;
:func:`origin_spectrum`); the scalar chain (M = N = 1) is a saddle if d1 d2 = 1, a centre if
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
    """The learning flow of one (N, M, K, flips) case of the linear network, symbolically
    (spec §2.1, §2.5).

    Attributes
    ----------
    W1, w2
        The weights: (N, M) and (K, N) matrices of symbols.
    w_star
        The teacher's effective weights, (M, K) symbols.
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
    def K(self) -> int:
        """The number of outputs."""
        return self.w2.shape[0]

    @property
    def error(self) -> sp.Matrix:
        """E = w2 W1 - w_star^T (K x M)."""
        return self.w2 * self.W1 - self.w_star.T

    @property
    def weights(self) -> list[sp.Symbol]:
        """vec(W1) (row by row), then w2 (row by row): the coordinates of :func:`jacobian`."""
        return [*self.W1, *self.w2]

    @property
    def X(self) -> sp.Matrix:
        """X = |w2|^2 D1 + W1^T D2 W1 (M x M, spec §2.1): :attr:`Y` for K = 1."""
        if self.K != 1:
            raise ValueError(f"X is defined for K = 1 only (K = {self.K}); use Y (spec §2.5)")
        return (self.w2 * self.w2.T)[0, 0] * self.D1 + self.W1.T * self.D2 * self.W1

    @property
    def v(self) -> sp.Matrix:
        """v = Sigma w_star (M x 1, K = 1): <y x> of the linear teacher (spec §2.4)."""
        if self.K != 1:
            raise ValueError(f"v is defined for K = 1 only (K = {self.K})")
        return self.Sigma * self.w_star

    @property
    def Y(self) -> sp.Matrix:
        """Y = D1 (x) w2 w2^T + (W1^T D2 W1) (x) I_K (MK x MK, spec §2.5), in the ordering of
        vec(E) with the columns of E stacked (entry E[k, j] at j K + k), as is Sigma (x) I_K."""
        return (sp.kronecker_product(self.D1, self.w2 * self.w2.T)
                + sp.kronecker_product(self.W1.T * self.D2 * self.W1, sp.eye(self.K)))

    @property
    def kronecker_sum(self) -> sp.Matrix:
        """I_M (x) w2 w2^T + (W1^T D2 W1) (x) I_K: :attr:`Y` with D1 replaced by I, whose
        eigenvalues are lambda_i + mu_j (lambda_i of w2 w2^T, mu_j of W1^T D2 W1). Equal to Y
        only if D1 = I (spec §2.5)."""
        return (sp.kronecker_product(sp.eye(self.D1.shape[0]), self.w2 * self.w2.T)
                + sp.kronecker_product(self.W1.T * self.D2 * self.W1, sp.eye(self.K)))


def _check_flips(flips: Sequence[int], size: int, name: str) -> list[int]:
    flips = [int(d) for d in flips]
    if len(flips) != size or any(d not in (-1, 1) for d in flips):
        raise ValueError(f"{name} must hold {size} entries, each +1 or -1 (got {flips})")
    return flips


def _flip_matrices(N: int, M: int, d1: Sequence[int] | None,
                   d2: Sequence[int] | None) -> tuple[sp.Matrix, sp.Matrix]:
    """D1 = diag(d1) (M x M) and D2 = diag(d2) (N x N); none flipped by default."""
    if N < 1 or M < 1:
        raise ValueError(f"need N >= 1 and M >= 1 (got N = {N}, M = {M})")
    return (sp.diag(*_check_flips([1] * M if d1 is None else d1, M, "d1")),
            sp.diag(*_check_flips([1] * N if d2 is None else d2, N, "d2")))


def _readout(K: int, N: int) -> sp.Matrix:
    """The (K, N) readout symbols: w2_i for K = 1, w2_k_i otherwise."""
    if K == 1:
        return sp.Matrix(1, N, lambda _, i: sp.Symbol(f"w2_{i}", real=True))
    return sp.Matrix(K, N, lambda k, i: sp.Symbol(f"w2_{k}_{i}", real=True))


def linear_flow(N: int, M: int, d1: Sequence[int] | None = None,
                d2: Sequence[int] | None = None, *, K: int = 1) -> LinearFlow:
    """The gradient-flow field of the linear network with K outputs (spec §2.1, §2.5) and
    flips d1 (inputs, length M) and d2 (hidden units, length N); none flipped by default
    (gradient descent).

    Parameters
    ----------
    N, M, K
        Hidden units, inputs, outputs.
    d1, d2
        The diagonals of D1 and D2, entries +-1.

    Returns
    -------
    LinearFlow
        dW1/dt = -grad_W1 L D1 and dw2/dt = -grad_w2 L D2, L = (1/2) tr(E Sigma E^T).
    """
    D1, D2 = _flip_matrices(N, M, d1, d2)
    if K < 1:
        raise ValueError(f"need K >= 1 (got K = {K})")
    W1 = sp.Matrix(N, M, lambda i, j: sp.Symbol(f"W1_{i}_{j}", real=True))
    w2 = _readout(K, N)
    w_star = sp.Matrix(M, K, lambda j, k: sp.Symbol(f"wstar_{j}" if K == 1 else f"wstar_{j}_{k}",
                                                    real=True))
    Sigma = sp.Matrix(M, M, lambda i, j: sp.Symbol(f"S_{min(i, j)}_{max(i, j)}", real=True))
    E = w2 * W1 - w_star.T
    loss = sp.Rational(1, 2) * (E * Sigma * E.T).trace()
    # minus the gradient of the loss, each update multiplied by its flips (spec §1)
    dW1 = -sp.Matrix(N, M, lambda i, j: sp.diff(loss, W1[i, j])) * D1
    dw2 = -sp.Matrix(K, N, lambda k, i: sp.diff(loss, w2[k, i])) * D2
    return LinearFlow(W1, w2, w_star, Sigma, D1, D2, (dW1, dw2))


def error_flow(flow: LinearFlow) -> sp.Matrix:
    """dE/dt along the flow (chain rule, K x M): equal to -E Sigma X for K = 1 (spec §2.1) and
    to -Y (Sigma (x) I_K) vec(E) in vec form (spec §2.5), which :func:`error_flow_residual`
    checks."""
    dW1, dw2 = flow.field
    return dw2 * flow.W1 + flow.w2 * dW1


def error_flow_residual(flow: LinearFlow) -> sp.Matrix:
    """dE/dt + unvec(Y (Sigma (x) I_K) vec(E)), expanded (K x M; for K = 1, dE/dt + E Sigma X):
    the zero matrix (a proof at these sizes). vec stacks the columns of E."""
    K, M = flow.error.shape
    rate = flow.Y * sp.kronecker_product(flow.Sigma, sp.eye(K)) * flow.error.vec()
    return sp.expand(error_flow(flow) + rate.reshape(M, K).T)


def jacobian(flow: LinearFlow | NonlinearFlow) -> sp.Matrix:
    """d(field)/d(weights) in the coordinates of the flow's ``weights``. The linear network's
    field is differentiated as a polynomial in the weights (about 4x faster than sp.diff)."""
    dW1, dw2 = flow.field
    field, weights = [*dW1, *dw2], flow.weights
    if isinstance(flow, LinearFlow):
        polynomials = [sp.Poly(rate, *weights) for rate in field]
        return sp.Matrix(len(field), len(weights),
                         lambda i, j: polynomials[i].diff(weights[j]).as_expr())
    # entry by entry: sp.Matrix.jacobian is an order of magnitude slower on these expressions
    return sp.Matrix(len(field), len(weights), lambda i, j: sp.diff(field[i], weights[j]))


def origin_eigenvalues(d1: int, d2: int) -> tuple[sp.Expr, sp.Expr]:
    """The Jacobian eigenvalues of the scalar chain (M = N = 1) at the origin, in terms of
    v = Sigma w_star: +-v sqrt(d1 d2) (spec §2.4: real, a saddle, if d1 d2 = 1; imaginary, a
    centre, if exactly one synapse is flipped)."""
    flow = linear_flow(1, 1, [d1], [d2])
    J = jacobian(flow).subs({s: 0 for s in flow.weights})
    return tuple(J.eigenvals(multiple=True))


def origin_spectrum(flow: LinearFlow | NonlinearFlow) -> list[sp.Expr]:
    """The 2N non-zero Jacobian eigenvalues at W1 = 0, w2 = 0 (spec §2.4): +-sqrt(kappa d2_i),
    kappa = v^T D1 v, v = <y x>_train (one output; phi(0) = 0, phi'(0) = 1). The remaining
    N (M - 1) eigenvalues are 0."""
    if isinstance(flow, NonlinearFlow) and flow.phi == "relu":
        raise ValueError("the origin spectrum needs phi(0) = 0 and phi'(0) = 1: not relu")
    kappa = (flow.v.T * flow.D1 * flow.v)[0, 0]
    return [sign * sp.sqrt(kappa * flow.D2[i, i]) for i in range(flow.D2.shape[0])
            for sign in (1, -1)]


# =============================================================================================
# Nonlinear network with the authors' output rule (spec §1)
# =============================================================================================

_u = sp.Symbol("u", real=True)
# phi and the matching-loss potential Phi with Phi' = phi (spec §1: log cosh, relu^2/2, u^2/2);
# relu as a Piecewise, whose derivatives sympy takes piece by piece
ACTIVATIONS: dict[str, tuple[sp.Expr, sp.Expr]] = {
    "tanh": (sp.tanh(_u), sp.log(sp.cosh(_u))),
    "relu": (sp.Piecewise((_u, _u > 0), (0, True)),
             sp.Piecewise((_u**2 / 2, _u > 0), (0, True))),
    "lin": (_u, _u**2 / 2),
}


@dataclass(frozen=True)
class NonlinearFlow:
    """The full-batch learning flow of the network y_hat = phi(w2 phi(W1 x)) (one output) with
    the authors' output rule (spec §1), symbolically.

    Attributes
    ----------
    W1, w2
        The weights: (N, M) and (1, N) matrices of symbols.
    x, y
        The P training inputs (columns of an (M, P) matrix) and teacher outputs ((1, P)).
    phi
        The activation: "tanh", "relu" or "lin" (a key of :data:`ACTIVATIONS`).
    f
        The feedback vector, (N, 1): w2^T (backprop) or symbols b_i (feedback alignment).
    D1, D2
        The flip matrices (diagonal, entries +-1).
    field
        (dW1/dt, dw2/dt).
    """

    W1: sp.Matrix
    w2: sp.Matrix
    x: sp.Matrix
    y: sp.Matrix
    phi: str
    f: sp.Matrix
    D1: sp.Matrix
    D2: sp.Matrix
    field: tuple[sp.Matrix, sp.Matrix]

    @property
    def weights(self) -> list[sp.Symbol]:
        """vec(W1) (row by row), then w2: the coordinates of :func:`jacobian`."""
        return [*self.W1, *self.w2]

    @property
    def v(self) -> sp.Matrix:
        """v = <y x>_train (M x 1, spec §2.4)."""
        return self.x * self.y.T / self.x.shape[1]

    @property
    def matching_loss(self) -> sp.Expr:
        """L = <Phi(w2 h) - y w2 h>_train, Phi' = phi (spec §1): minimised at y_hat = y."""
        _, potential = ACTIVATIONS[self.phi]
        total = 0
        for p in range(self.x.shape[1]):
            u = (self.w2 * _activate(self.phi, self.W1 * self.x[:, p]))[0, 0]
            total += potential.subs(_u, u) - self.y[p] * u
        return total / self.x.shape[1]


def _activate(phi: str, a: sp.Matrix, order: int = 0) -> sp.Matrix:
    """phi (order 0) or phi' (order 1) entrywise."""
    function = sp.diff(ACTIVATIONS[phi][0], _u, order)
    return a.applyfunc(lambda entry: function.subs(_u, entry))


def nonlinear_flow(N: int, M: int, P: int, phi: str, d1: Sequence[int] | None = None,
                   d2: Sequence[int] | None = None,
                   feedback: str = "backprop") -> NonlinearFlow:
    """The eta -> 0 full-batch flow of the authors' update (spec §1), no norm reset, on P
    symbolic data points x_p (M-vectors) with teacher outputs y_p.

    h = phi(a), a = W1 x, y_hat = phi(w2 h), e = y_hat - y, delta = (f e) * phi'(a) and

        dW1/dt = -<delta x^T> D1,        dw2/dt = -<e h^T> D2,

    with no phi' at the output.

    Parameters
    ----------
    N, M, P
        Hidden units, inputs, training points.
    phi
        "tanh", "relu" or "lin", the same at both layers.
    d1, d2
        The diagonals of D1 (inputs) and D2 (hidden units), entries +-1; none flipped by
        default.
    feedback
        "backprop" (f = w2^T) or "feedback" (feedback alignment: f = b, a fixed vector of
        symbols b_i).
    """
    if phi not in ACTIVATIONS:
        raise ValueError(f"phi must be one of {sorted(ACTIVATIONS)} (got {phi!r})")
    if P < 1:
        raise ValueError(f"need P >= 1 (got P = {P})")
    D1, D2 = _flip_matrices(N, M, d1, d2)
    W1 = sp.Matrix(N, M, lambda i, j: sp.Symbol(f"W1_{i}_{j}", real=True))
    w2 = _readout(1, N)
    x = sp.Matrix(M, P, lambda j, p: sp.Symbol(f"x_{p}_{j}", real=True))
    y = sp.Matrix(1, P, lambda _, p: sp.Symbol(f"y_{p}", real=True))
    if feedback == "backprop":
        f = w2.T
    elif feedback == "feedback":
        f = sp.Matrix(N, 1, lambda i, _: sp.Symbol(f"b_{i}", real=True))
    else:
        raise ValueError(f"feedback must be 'backprop' or 'feedback' (got {feedback!r})")
    dW1, dw2 = sp.zeros(N, M), sp.zeros(1, N)
    for p in range(P):
        a = W1 * x[:, p]
        h = _activate(phi, a)
        e = _activate(phi, w2 * h)[0, 0] - y[p]
        delta = (f * e).multiply_elementwise(_activate(phi, a, 1))
        dW1 -= delta * x[:, p].T / P
        dw2 -= e * h.T / P
    return NonlinearFlow(W1, w2, x, y, phi, f, D1, D2, (dW1 * D1, dw2 * D2))


def _case(expr: sp.Expr, condition: sp.Basic, holds: bool) -> sp.Expr:
    """expr with every Piecewise that tests ``condition`` first replaced by its value where
    the condition holds (``holds``) or fails."""
    return expr.replace(
        lambda e: isinstance(e, sp.Piecewise) and e.args[0].cond == condition,
        lambda e: e.args[0].expr if holds else sp.Piecewise(*e.args[1:]))


def _simplify_by_cases(expr: sp.Expr) -> sp.Expr:
    """expr with its Piecewise (relu) split into cases, innermost condition first, and each
    Piecewise-free case expanded in exponentials (tanh); cases that agree are merged, so the
    result is 0 iff expr vanishes in every activation pattern."""
    innermost = [piece.args[0].cond for piece in expr.atoms(sp.Piecewise)
                 if not piece.args[0].cond.has(sp.Piecewise)]
    if not innermost:
        return sp.expand(expr.rewrite(sp.exp))
    condition = min(innermost, key=sp.default_sort_key)
    holds, fails = (_simplify_by_cases(_case(expr, condition, truth)) for truth in (True, False))
    return holds if holds == fails else sp.Piecewise((holds, condition), (fails, True))


def matching_loss_residual(flow: NonlinearFlow) -> sp.Matrix:
    """field + grad L (L the matching loss, spec §1), simplified case by case, in the
    coordinates of :func:`jacobian`: zero without flips and with backprop feedback (a proof at
    these sizes: the field is then minus a gradient, its Jacobian minus a Hessian, spec §2.1)."""
    dW1, dw2 = flow.field
    loss = flow.matching_loss
    return sp.Matrix([_simplify_by_cases(rate + sp.diff(loss, w))
                      for rate, w in zip([*dW1, *dw2], flow.weights, strict=True)])


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
def critical_polynomial(analytic_root: bool,
                        readout_flips: bool = True) -> tuple[list[sp.Expr], sp.Expr, sp.Expr]:
    """The critical points of B: coefficients (highest power first) of a polynomial in G whose
    real roots contain them, and the pair (a, b) of dB/dG ∝ a S + b.

    dB/dG is taken with dS/dG = radicand'/(2 S), multiplied by 2 G^2 S and the Wishart
    denominators, and reduced with S^2 = radicand() to a S + b. With the positive root
    (``analytic_root=False``, flipped inputs) the polynomial is a^2 radicand - b^2, of degree
    10, and a root is a true critical point iff -b/a >= 0 (then S = -b/a); its leading
    coefficient vanishes at alpha_h = 1/c and 1 - 1/c, where atoms at -rho, +rho appear. With
    ``analytic_root=True`` (alpha_h = 0, S = 1 + 2 rho G, no root to remove) it is the
    numerator of dB/dG, a quartic. ``readout_flips=False`` sets alpha_r = 0 before the
    denominators are cleared, so the pole of R_{-B} at G = -1 adds no spurious roots there.
    """
    blue = blue_function() if readout_flips else blue_function().subs(alpha_r, 0)
    dS = sp.diff(radicand(), G) / (2 * _S)
    derivative = sp.diff(blue, G) + sp.diff(blue, _S) * dS
    a, b = _linear_in_root(derivative * 2 * G**2 * _S)
    if analytic_root:
        derivative = sp.diff(blue.subs(_S, 1 + 2 * rho * G), G)
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
    coefficients, and ``critical_no_readout(c, rho, alpha_h)``,
    ``critical_analytic_no_readout(c, rho)`` for alpha_r = 0 (no pole at G = -1);
    ``density(z, c, rho, alpha_h, alpha_r)`` and ``density_analytic(z, c, rho, alpha_r)``;
    ``discriminant(c, rho, alpha_r)``: coefficients in z;
    ``slope`` and ``curvature`` (arguments ``G, c, rho, alpha_h, alpha_r``) and their
    ``_analytic`` versions (``G, c, rho, alpha_r``): dB/dG and d^2B/dG^2 on the physical branch
    (a polynomial root is a critical point only where the slope vanishes: clearing denominators
    adds roots, e.g. a double one at the pole G = -1 when alpha_r = 0; it is the lower edge only
    where the curvature is < 0).
    """
    positive, analytic_blue = blue_function(sp.sqrt(radicand())), blue_function(1 + 2 * rho * G)
    functions = {
        "blue": sp.lambdify((G, _S, c, alpha_r), blue_function(), modules="numpy"),
        "radicand": sp.lambdify((G, rho, alpha_h), radicand(), modules="numpy"),
        "critical": _lambdify_list(critical_polynomial(False)[0], (c, rho, alpha_h, alpha_r)),
        "critical_analytic": _lambdify_list(critical_polynomial(True)[0], (c, rho, alpha_r)),
        "critical_no_readout": _lambdify_list(critical_polynomial(False, False)[0],
                                              (c, rho, alpha_h)),
        "critical_analytic_no_readout": _lambdify_list(critical_polynomial(True, False)[0],
                                                       (c, rho)),
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

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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp


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

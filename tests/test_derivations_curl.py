"""The curl-descent learning flow (derivations/curl_descent.py) against spec §2.1, §2.4 and §4.1-2:
exact identities at small sizes, and numerically at random sizes (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations import curl_descent as cd


def _manifold_point(flow: cd.LinearFlow, rng: np.random.Generator, exact: bool) -> dict:
    """Random weights, a random positive-definite Sigma, and the teacher w_star^T = w2 W1
    (E = 0)."""
    def number(x: float):
        return sp.Rational(round(4 * x), 4) if exact else float(x)

    values = {s: number(rng.normal()) for s in flow.weights}
    M = flow.Sigma.shape[0]
    A = rng.normal(size=(M, M))
    S = A @ A.T + M * np.eye(M)
    for i in range(M):
        for j in range(i, M):
            values[flow.Sigma[i, j]] = number(S[i, j])
    teacher = (flow.w2 * flow.W1).subs(values)
    values.update({flow.w_star[j]: teacher[j] for j in range(M)})
    return values


@pytest.mark.parametrize(("N", "M", "d1", "d2"), [
    (1, 1, [-1], [1]), (2, 3, [1, -1, 1], [-1, 1]), (3, 2, [-1, -1], [1, -1, 1]),
])
def test_error_follows_minus_E_sigma_X(N, M, d1, d2):
    """Spec §2.1: dE/dt = -E Sigma X exactly, X = |w2|^2 D1 + W1^T D2 W1."""
    flow = cd.linear_flow(N, M, d1, d2)
    assert cd.error_flow_residual(flow) == sp.zeros(1, M)
    assert flow.X == flow.X.T


@pytest.mark.parametrize(("N", "M", "d1", "d2"), [
    (2, 3, [1, -1, 1], [-1, 1]), (3, 2, [-1, 1], [1, -1, -1]), (2, 2, [1, 1], [1, 1]),
])
def test_manifold_spectrum_is_that_of_minus_sigma_X(N, M, d1, d2):
    """Spec §2.1: on E = 0 the characteristic polynomial of the full Jacobian is
    lambda^(NM + N - M) det(lambda I + Sigma X), in exact rational arithmetic."""
    flow = cd.linear_flow(N, M, d1, d2)
    point = _manifold_point(flow, np.random.default_rng(N * 10 + M), exact=True)
    lam = sp.Symbol("lambda")
    J = cd.jacobian(flow).subs(point)
    reduced = (flow.Sigma * flow.X).subs(point)
    expected = lam ** (N * M + N - M) * (lam * sp.eye(M) + reduced).det()
    assert sp.expand(J.charpoly(lam).as_expr() - expected) == 0


@settings(max_examples=15, deadline=None)
@given(N=st.integers(1, 4), M=st.integers(1, 4), seed=st.integers(0, 2**31 - 1),
       flips=st.data())
def test_manifold_spectrum_at_random_sizes(N, M, seed, flips):
    """The same identity numerically at random sizes and flips (spec §4.1: to 1e-6)."""
    d1 = flips.draw(st.lists(st.sampled_from([-1, 1]), min_size=M, max_size=M))
    d2 = flips.draw(st.lists(st.sampled_from([-1, 1]), min_size=N, max_size=N))
    flow = cd.linear_flow(N, M, d1, d2)
    point = _manifold_point(flow, np.random.default_rng(seed), exact=False)
    J = np.array(cd.jacobian(flow).subs(point), dtype=float)
    reduced = np.array((flow.Sigma * flow.X).subs(point), dtype=float)
    eig_J = np.linalg.eigvals(J)
    theory = np.linalg.eigvals(-reduced)
    scale = max(1.0, np.max(np.abs(theory)))
    # the M eigenvalues of -Sigma X, then zeros: match each theory value to a distinct one of J
    remaining = list(eig_J)
    for value in theory:
        k = int(np.argmin([abs(v - value) for v in remaining]))
        assert abs(remaining.pop(k) - value) <= 1e-6 * scale
    assert np.max(np.abs(remaining), initial=0.0) <= 1e-6 * scale


def test_jacobian_is_symmetric_without_flips_and_not_with():
    """Spec §2.1, §4.1: gradient descent's Jacobian is minus a Hessian (symmetric, anywhere);
    one flipped synapse gives it an O(1) antisymmetric part (the curl)."""
    rng = np.random.default_rng(7)
    for d1, d2, curl in (([1, 1, 1], [1, 1], False), ([1, -1, 1], [1, 1], True),
                         ([1, 1, 1], [1, -1], True)):
        flow = cd.linear_flow(2, 3, d1, d2)
        point = _manifold_point(flow, rng, exact=False)
        point.update({s: float(v) + 0.3 for s, v in point.items() if s in flow.weights})
        J = np.array(cd.jacobian(flow).subs(point), dtype=float)
        antisymmetric = np.linalg.norm(J - J.T) / np.linalg.norm(J)
        assert (antisymmetric > 1e-2) if curl else (antisymmetric < 1e-12)


@pytest.mark.parametrize(("d1", "d2", "kind"), [(1, 1, "saddle"), (-1, -1, "saddle"),
                                                (1, -1, "centre"), (-1, 1, "centre")])
def test_scalar_chain_origin(d1, d2, kind):
    """Spec §2.4: +-v sqrt(d1 d2), v = Sigma w_star: real (saddle) if d1 d2 = 1, imaginary
    (centre) if exactly one synapse is flipped."""
    values = cd.origin_eigenvalues(d1, d2)
    v = sp.Symbol("S_0_0", real=True) * sp.Symbol("wstar_0", real=True)
    expected = {v, -v} if kind == "saddle" else {sp.I * v, -sp.I * v}
    assert set(values) == expected


def test_bad_flips_are_refused():
    with pytest.raises(ValueError, match="d1"):
        cd.linear_flow(2, 2, [1, 0])
    with pytest.raises(ValueError, match="N >= 1"):
        cd.linear_flow(0, 2)

"""The curl-descent learning flow (derivations/curl_descent.py) against spec §1, §2.1, §2.4, §2.5
and §4.1-2: exact identities at small sizes, and numerically at random sizes (hypothesis)."""

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
    teacher = (flow.w2 * flow.W1).xreplace(values)
    values.update({flow.w_star[j, k]: teacher[k, j] for j in range(M) for k in range(flow.K)})
    return values


def _numeric(matrix: sp.Matrix, point: dict) -> np.ndarray:
    """matrix at a point that gives every symbol a float."""
    return np.array(matrix.xreplace(point), dtype=float)


def _spectrum(matrix: np.ndarray) -> np.ndarray:
    return np.sort_complex(np.linalg.eigvals(matrix))


def _assert_spectrum(eigenvalues, theory, tol: float) -> None:
    """theory, padded with zeros, matches eigenvalues one to one to tol (relative to the
    largest theory value, at least 1)."""
    scale = max(1.0, np.max(np.abs(theory), initial=0.0))
    theory = [*theory, *[0.0] * (len(eigenvalues) - len(theory))]
    remaining = [*eigenvalues, *[0.0] * (len(theory) - len(eigenvalues))]
    for value in theory:
        k = int(np.argmin([abs(v - value) for v in remaining]))
        assert abs(remaining.pop(k) - value) <= tol * scale, (value, eigenvalues)


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
    # the M eigenvalues of -Sigma X, then zeros
    _assert_spectrum(np.linalg.eigvals(_numeric(cd.jacobian(flow), point)),
                     np.linalg.eigvals(-_numeric(flow.Sigma * flow.X, point)), 1e-6)


def test_jacobian_is_symmetric_without_flips_and_not_with():
    """Spec §2.1, §4.1: gradient descent's Jacobian is minus a Hessian (symmetric, anywhere);
    one flipped synapse gives it an O(1) antisymmetric part (the curl)."""
    rng = np.random.default_rng(7)
    for d1, d2, curl in (([1, 1, 1], [1, 1], False), ([1, -1, 1], [1, 1], True),
                         ([1, 1, 1], [1, -1], True)):
        flow = cd.linear_flow(2, 3, d1, d2)
        point = _manifold_point(flow, rng, exact=False)
        point.update({s: float(v) + 0.3 for s, v in point.items() if s in flow.weights})
        J = _numeric(cd.jacobian(flow), point)
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


# --- K outputs (spec §2.5) -------------------------------------------------------------------

@pytest.mark.parametrize(("N", "M", "K", "d1", "d2"), [
    (2, 2, 2, [1, -1], [-1, 1]), (1, 3, 2, [-1, 1, 1], [1]), (2, 2, 3, [-1, 1], [1, -1]),
])
def test_error_follows_minus_Y_sigma_at_several_outputs(N, M, K, d1, d2):
    """Spec §2.5: d vec(E)/dt = -Y (Sigma (x) I_K) vec(E) exactly, vec stacking the columns of E;
    Y is symmetric."""
    flow = cd.linear_flow(N, M, d1, d2, K=K)
    assert cd.error_flow_residual(flow) == sp.zeros(K, M)
    assert flow.Y == flow.Y.T


def test_Y_is_X_at_one_output():
    flow = cd.linear_flow(2, 3, [1, -1, 1], [-1, 1])
    assert sp.expand(flow.Y - flow.X) == sp.zeros(3, 3)
    with pytest.raises(ValueError, match="K = 1"):
        _ = cd.linear_flow(2, 3, K=2).X


@settings(max_examples=10, deadline=None)
@given(N=st.integers(1, 3), M=st.integers(1, 3), seed=st.integers(0, 2**31 - 1),
       flips=st.data())
def test_manifold_spectrum_at_two_outputs(N, M, seed, flips):
    """Spec §2.5, §4.1: on the manifold (w_star^T = w2 W1) the non-zero Jacobian eigenvalues are
    those of -Y (Sigma (x) I_K), at K = 2, to 1e-8."""
    d1 = flips.draw(st.lists(st.sampled_from([-1, 1]), min_size=M, max_size=M))
    d2 = flips.draw(st.lists(st.sampled_from([-1, 1]), min_size=N, max_size=N))
    flow = cd.linear_flow(N, M, d1, d2, K=2)
    point = _manifold_point(flow, np.random.default_rng(seed), exact=False)
    reduced = flow.Y * sp.kronecker_product(flow.Sigma, sp.eye(2))
    _assert_spectrum(np.linalg.eigvals(_numeric(cd.jacobian(flow), point)),
                     np.linalg.eigvals(-_numeric(reduced, point)), 1e-8)


def test_kronecker_sum_is_Y_only_without_input_flips():
    """Spec §2.5: Y = I (x) w2 w2^T + (W1^T D2 W1) (x) I_K iff D1 = I."""
    unflipped = cd.linear_flow(2, 2, [1, 1], [1, -1], K=2)
    assert unflipped.kronecker_sum == unflipped.Y
    flipped = cd.linear_flow(2, 2, [1, -1], [1, -1], K=2)
    assert sp.expand(flipped.kronecker_sum - flipped.Y) != sp.zeros(4, 4)


def test_vec_ordering_must_match():
    """Spec §2.5: Y and Sigma (x) I_K in the other (row-stacking) ordering give the same spectrum
    of Y (Sigma (x) I_K), being permuted together; Y with the row-stacked Sigma does not."""
    flow = cd.linear_flow(2, 3, [1, -1, 1], [-1, 1], K=2)
    point = _manifold_point(flow, np.random.default_rng(2), exact=False)
    Y = _numeric(flow.Y, point)
    Sigma = _numeric(flow.Sigma, point)
    rows = _numeric(sp.kronecker_product(flow.w2 * flow.w2.T, flow.D1)
                    + sp.kronecker_product(sp.eye(2), flow.W1.T * flow.D2 * flow.W1), point)
    columns = _spectrum(Y @ np.kron(Sigma, np.eye(2)))
    np.testing.assert_allclose(_spectrum(rows @ np.kron(np.eye(2), Sigma)), columns, atol=1e-9)
    assert not np.allclose(_spectrum(Y @ np.kron(np.eye(2), Sigma)), columns, atol=1e-3)


def _inertia_case(rng: np.random.Generator, d1: list[int],
                  d2: list[int]) -> tuple[int, int, int]:
    """(negative eigenvalues of Y, of the Kronecker-sum guess lambda_i + mu_j, unstable
    Jacobian directions) at a random manifold point, K = 2."""
    flow = cd.linear_flow(len(d2), len(d1), d1, d2, K=2)
    point = _manifold_point(flow, rng, exact=False)
    lam = np.linalg.eigvalsh(_numeric(flow.w2 * flow.w2.T, point))
    mu = np.linalg.eigvalsh(_numeric(flow.W1.T * flow.D2 * flow.W1, point))
    guess = (lam[:, None] + mu[None, :]).ravel()
    np.testing.assert_allclose(np.sort(guess),
                               np.linalg.eigvalsh(_numeric(flow.kronecker_sum, point)),
                               atol=1e-10)
    Y = np.linalg.eigvalsh(_numeric(flow.Y, point))
    J = np.linalg.eigvals(_numeric(cd.jacobian(flow), point))
    tol = 1e-9 * max(1.0, np.max(np.abs(Y)))
    return (int(np.sum(Y < -tol)), int(np.sum(guess < -tol)), int(np.sum(J.real > tol)))


def test_kronecker_sum_counts_unstable_directions_without_input_flips():
    """Spec §2.5: with D1 = I the guess lambda_i + mu_j has as many negative values as the flow
    has unstable directions on the manifold (Sylvester: as many as Y has negative eigenvalues)."""
    rng = np.random.default_rng(11)
    unstable_seen = 0
    for N, M in [(2, 2), (2, 3), (3, 2), (3, 3)]:
        d2 = [int(d) for d in rng.choice([-1, 1], N)]
        negative_Y, negative_guess, unstable = _inertia_case(rng, [1] * M, d2)
        assert negative_guess == negative_Y == unstable
        unstable_seen += unstable
    assert unstable_seen > 0


def test_kronecker_sum_guess_gets_the_inertia_wrong_with_input_flips():
    """Spec §2.5, §4.1: a seeded search finds D1 != I where lambda_i + mu_j miscounts the negative
    eigenvalues of Y; Y still counts the unstable directions."""
    rng = np.random.default_rng(5)
    for _ in range(50):
        N, M = (int(n) for n in rng.integers(2, 4, size=2))
        d1 = [int(d) for d in rng.choice([-1, 1], M)]
        if all(d == 1 for d in d1):
            continue
        d2 = [int(d) for d in rng.choice([-1, 1], N)]
        negative_Y, negative_guess, unstable = _inertia_case(rng, d1, d2)
        assert negative_Y == unstable
        if negative_guess != negative_Y:
            return
    pytest.fail("no D1 != I found where the Kronecker-sum guess gets the inertia wrong")


# --- nonlinear networks, the authors' output rule (spec §1) -----------------------------------

@pytest.mark.parametrize("phi", ["lin", "tanh", "relu"])
def test_field_is_minus_the_matching_loss_gradient(phi):
    """Spec §1, §2.1: without flips and with backprop the field is -grad <Phi(w2 h) - y w2 h>,
    Phi' = phi, exactly (N = M = P = 2; relu case by case)."""
    assert cd.matching_loss_residual(cd.nonlinear_flow(2, 2, 2, phi)) == sp.zeros(6, 1)


def _random_point(flow: cd.NonlinearFlow, rng: np.random.Generator) -> dict:
    """Normal weights and data, drawn until every hidden unit is active (a > 0) on some training
    points and not on others (relu in its mixed regime); w2 > 0, so a relu output is active
    wherever a hidden unit is."""
    symbols = [*flow.weights, *flow.x, *flow.y]
    while True:
        point = {s: float(v) for s, v in zip(symbols, rng.normal(size=len(symbols)), strict=True)}
        a = _numeric(flow.W1 * flow.x, point)
        if np.all(np.any(a > 0, axis=1) & np.any(a < 0, axis=1)):
            return point | {w: abs(point[w]) for w in flow.w2}


def _antisymmetry(flow: cd.NonlinearFlow, point: dict) -> float:
    J = _numeric(cd.jacobian(flow), point)
    return np.linalg.norm(J - J.T) / np.linalg.norm(J)


@pytest.mark.parametrize("phi", ["lin", "tanh", "relu"])
def test_nonlinear_jacobian_is_symmetric_only_for_gradient_descent(phi):
    """Spec §2.1, §4.1: GD's Jacobian is minus a Hessian (symmetric to 1e-12); any single flip,
    and feedback alignment (b != w2) without flips, give a relative antisymmetric part > 0.1."""
    N, M, P = 2, 2, 3
    rng = np.random.default_rng(3)
    point = _random_point(cd.nonlinear_flow(N, M, P, phi), rng)
    assert _antisymmetry(cd.nonlinear_flow(N, M, P, phi), point) < 1e-12
    for k in range(M + N):
        flips = [-1 if i == k else 1 for i in range(M + N)]
        assert _antisymmetry(cd.nonlinear_flow(N, M, P, phi, flips[:M], flips[M:]), point) > 0.1
    alignment = cd.nonlinear_flow(N, M, P, phi, feedback="feedback")
    point.update({b: float(v) for b, v in zip(alignment.f, rng.normal(size=N), strict=True)})
    assert _antisymmetry(alignment, point) > 0.1


# --- the origin (spec §2.4) ------------------------------------------------------------------

@pytest.mark.parametrize(("phi", "seed"), [("lin", 0), ("tanh", 2)])
def test_origin_spectrum(phi, seed):
    """Spec §2.4, §4.2: at W = 0 the non-zero Jacobian eigenvalues are +-sqrt(kappa d2_i),
    kappa = v^T D1 v, v = <y x>; 3 inputs, 4 hidden units, random flips and data."""
    rng = np.random.default_rng(seed)
    d1 = [int(d) for d in rng.choice([-1, 1], 3)]
    d2 = [int(d) for d in rng.permutation([1, 1, -1, -1])]   # both saddle and centre pairs
    flow = cd.nonlinear_flow(4, 3, 3, phi, d1, d2)
    point = _random_point(flow, rng) | {w: 0.0 for w in flow.weights}
    theory = [complex(value.xreplace(point)) for value in cd.origin_spectrum(flow)]
    _assert_spectrum(np.linalg.eigvals(_numeric(cd.jacobian(flow), point)), theory, 1e-9)


def test_linear_origin_spectrum_uses_sigma_w_star():
    """Spec §2.4: for the linear teacher v = Sigma w_star."""
    flow = cd.linear_flow(3, 2, [1, -1], [-1, 1, -1])
    point = _manifold_point(flow, np.random.default_rng(4), exact=False)
    point.update({w: 0.0 for w in flow.weights} | {s: float(v) for s, v in zip(
        flow.w_star, np.random.default_rng(5).normal(size=2), strict=True)})
    theory = [complex(value.xreplace(point)) for value in cd.origin_spectrum(flow)]
    _assert_spectrum(np.linalg.eigvals(_numeric(cd.jacobian(flow), point)), theory, 1e-9)


def test_bad_nonlinear_arguments_are_refused():
    with pytest.raises(ValueError, match="phi"):
        cd.nonlinear_flow(2, 2, 2, "sigmoid")
    with pytest.raises(ValueError, match="feedback"):
        cd.nonlinear_flow(2, 2, 2, "tanh", feedback="dfa")
    with pytest.raises(ValueError, match="not relu"):
        cd.origin_spectrum(cd.nonlinear_flow(1, 1, 1, "relu"))
    with pytest.raises(ValueError, match="K >= 1"):
        cd.linear_flow(2, 2, K=0)

"""Curl-descent simulator (montecarlo/curl_descent.py, spec shared/specs/curl-descent.md §1, §3).

The Numba kernel against the plain NumPy loop, invariants of the update (norm reset, seeds, flips
that do nothing when no unit is flipped, true gradient descent without flips), the linear
stability picture of spec §2.3 at two points far from the threshold (started at the teacher), the
returned spectrum, and argument checks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from montecarlo import curl_descent as cd

EPS = np.finfo(float).eps
AGREEMENT = 1e-10
"""Kernel vs NumPy loop: both take the same steps in a different order of floating-point
operations (≈ 1e-16 per step, 20 epochs of a tiny net: far below 1e-10; the brief's bound)."""
ROUNDING = 64 * EPS
"""Relative rounding of one step's sums over at most 64 terms (norms, errors)."""

TINY = dict(alpha_h=0.5, alpha_r=0.5, seeds=2, batch=5, epochs=20, n_log=8, keep_last=6)
TINY_SIZE = (6, 4, 20)  # M, N, P: 3 flipped inputs, 2 flipped hidden units
SIZES = (TINY_SIZE, (3, 17, 20), (17, 3, 20))
"""M ≥ N and M < N (tanh/relu steps on Vᵀ), odd sizes that leave every register block a tail."""


def _flat(run):
    """(rules, seeds, NM + N): all weights of each network."""
    R, S = run.w2.shape[:2]
    return np.concatenate([run.W1.reshape(R, S, -1), run.w2], axis=-1)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("nonlinearity", cd.NONLINEARITIES)
@pytest.mark.parametrize("start,norm_reset", [("random", True), ("random", False),
                                              ("teacher-W1", True), ("teacher-w2", False)])
def test_kernel_matches_numpy_loop(size, nonlinearity, start, norm_reset):
    options = dict(TINY, nonlinearity=nonlinearity, start=start, norm_reset=norm_reset,
                   lyapunov=True)
    fast, slow = cd.train(*size, **options), cd.train_numpy(*size, **options)
    assert fast.rules == slow.rules == cd.RULES
    np.testing.assert_array_equal(fast.epochs, slow.epochs)
    np.testing.assert_allclose(fast.W1, slow.W1, rtol=0, atol=AGREEMENT)
    np.testing.assert_allclose(fast.w2, slow.w2, rtol=0, atol=AGREEMENT)
    # RMS residuals sqrt(2·error) are Lipschitz in the weights (errors near the teacher are
    # ~1e-30, where relative comparisons only see rounding)
    for a, b in ((fast.train_error, slow.train_error), (fast.test_error, slow.test_error)):
        np.testing.assert_allclose(np.sqrt(2 * a), np.sqrt(2 * b), rtol=0, atol=AGREEMENT)
    if start == "random":
        # q = V / Var_k(w̄): with weight errors δ, δV ≤ 2√V δ, so δq/q ≤ 2δ/√V
        V = fast.q_var * _flat(fast).var(axis=-1)
        np.testing.assert_allclose(fast.q_var, slow.q_var, rtol=4 * AGREEMENT / np.sqrt(V.min()))
        np.testing.assert_allclose(fast.q_std, slow.q_std, rtol=4 * AGREEMENT / np.sqrt(V.min()))
    # each log(d/d0) sees the weights' rounding through d: |δ log d| ≤ 2√K·δw/d0 per epoch
    weights = _flat(fast).shape[-1]
    log_resolution = 2 * math.sqrt(weights) * ROUNDING * np.abs(_flat(fast)).max() / cd.LYAPUNOV_D0
    np.testing.assert_allclose(fast.lyapunov, slow.lyapunov, rtol=0,
                               atol=log_resolution / TINY.get("eta", 0.1))


@pytest.mark.parametrize("nonlinearity", ["lin", "tanh"])
def test_norm_reset_keeps_the_start_norms(nonlinearity):
    options = dict(nonlinearity=nonlinearity, alpha_h=0.3, alpha_r=0.3, seeds=3, epochs=30,
                   start="random")
    run = cd.train(12, 9, 40, **options)
    start = cd._draw(cd._settings(12, 9, 40, **options))
    np.testing.assert_allclose(np.linalg.norm(run.W1, axis=(2, 3)),
                               np.broadcast_to(np.linalg.norm(start.W1, axis=(1, 2)), (4, 3)),
                               rtol=ROUNDING)
    np.testing.assert_allclose(np.linalg.norm(run.w2, axis=2),
                               np.broadcast_to(np.linalg.norm(start.w2, axis=1), (4, 3)),
                               rtol=ROUNDING)
    # and the weights did move
    assert np.abs(run.W1 - start.W1).max() > 1e3 * ROUNDING


def test_same_seed_same_run_other_seed_other_run():
    options = dict(nonlinearity="tanh", alpha_h=0.4, seeds=2, epochs=15, keep_last=5,
                   lyapunov=True)
    a, b = cd.train(7, 5, 30, seed=3, **options), cd.train(7, 5, 30, seed=3, **options)
    c = cd.train(7, 5, 30, seed=4, **options)
    for name in ("train_error", "test_error", "q_var", "q_std", "X_spectrum", "lyapunov", "W1",
                 "w2"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))


def test_without_flips_curl_is_gd_and_fa_flip_is_fa():
    run = cd.train(8, 6, 30, nonlinearity="tanh", alpha_h=0.0, alpha_r=0.0, seeds=2, epochs=20)
    gd, fa, fa_flip, curl = (run.rules.index(rule) for rule in ("gd", "fa", "fa-flip", "curl"))
    for name in ("train_error", "W1", "w2"):
        values = getattr(run, name)
        np.testing.assert_array_equal(values[curl], values[gd])
        np.testing.assert_array_equal(values[fa_flip], values[fa])
        assert not np.array_equal(values[fa], values[gd])


def test_full_batch_linear_gd_descends():
    """Without flips and reset, full-batch lin GD is gradient descent on ½⟨(ŷ − y)²⟩ with
    η = 0.1 far below 2/L (L ≈ (‖w2‖² + ‖W1‖²_F) λ_max(Σ̂) ≈ 2.5): the error never rises."""
    epochs = 300
    run = cd.train(8, 6, 40, rules=("gd",), batch=40, norm_reset=False, seeds=3, epochs=epochs,
                   n_log=10 * epochs)
    errors = run.train_error[0]
    assert run.epochs.size == epochs  # geomspace this dense hits every epoch
    assert np.all(np.diff(errors, axis=-1) <= ROUNDING * errors[:, :-1])
    assert np.all(errors[:, -1] < errors[:, 0])


def _fixed_point_q_bound(run, offset):
    """q of a run that relaxes from an offset ``offset`` per weight: V ≤ offset², so
    q_var ≤ (10 offset)² / Var_k(w̄) with room for rounding."""
    return (10 * offset) ** 2 / _flat(run).var(axis=-1)


def test_hidden_flips_below_threshold_keep_the_teacher():
    """c = M/N = 0.2 ≤ 1/4: α_h* = 1 (spec §2.3), so half the inputs flipped is stable. Started
    at the teacher (1e-15 on every entry of W1), curl descent stays there."""
    M, N, P = 10, 50, 100
    run = cd.train(M, N, P, alpha_h=0.5, start="teacher-W1", rules=("gd", "curl"), seeds=3,
                   epochs=200, keep_last=50)
    start = cd._draw(cd._settings(M, N, P, start="teacher-W1", seeds=3))
    # the start error: the offset 1e-15 on W1 moves ŷ by 1e-15 (Σ_i w2_i)(Σ_j x_j)
    offset_error = 0.5 * (1e-15 * start.w2.sum(axis=1)) ** 2 * M * 0.5
    assert np.all(run.X_spectrum[:, :, 0] > 0)
    assert np.all(run.test_error.max(axis=-1) < 100 * offset_error)
    assert np.all(run.q_var < _fixed_point_q_bound(run, 1e-15))


def test_hidden_flips_above_threshold_leave_the_teacher():
    """c = 0.4: α_h*(0.4) ≈ 0.18 (spec §2.3); α_h = 0.8 destabilises the manifold. From the
    rescaled teacher (1e-10 on w2), full batch: curl descent's error grows by many decades, q > 0
    and λ_max > 0; GD stays at the teacher with λ_max ≈ 0."""
    run = cd.train(40, 100, 200, alpha_h=0.8, start="teacher-w2", rescale_teacher=True,
                   batch=200, rules=("gd", "curl"), seeds=3, epochs=1500, keep_last=200,
                   n_log=30, lyapunov=True)
    gd, curl = 0, 1
    growth = run.test_error[:, :, -1] / run.test_error[:, :, 0]
    assert np.all(growth[curl] > 1e10)
    assert np.all(growth[gd] < 1)
    assert np.all(run.X_spectrum[curl, :, 0] < 0) and np.all(run.X_spectrum[gd, :, 0] > 0)
    bound = _fixed_point_q_bound(run, 1e-10)
    assert np.all(run.q_var[curl] > bound[curl]) and np.all(run.q_var[gd] < bound[gd])
    # the estimate resolves exponents down to ≈ √K·eps/d0 per epoch
    resolution = 2 * math.sqrt(40 * 100 + 100) * ROUNDING / cd.LYAPUNOV_D0 / 0.1
    assert np.all(run.lyapunov[curl] > resolution)
    assert np.all(np.abs(run.lyapunov[gd]) < resolution)


def test_X_spectrum_from_the_final_weights():
    M, N = 6, 8
    run = cd.train(M, N, 30, alpha_h=0.5, alpha_r=0.25, nonlinearity="relu", seeds=2, epochs=10)
    for k, rule in enumerate(run.rules):
        flipped = rule in ("fa-flip", "curl")
        d1 = np.where((np.arange(M) < 3) & flipped, -1.0, 1.0)
        d2 = np.where((np.arange(N) < 2) & flipped, -1.0, 1.0)
        for s in range(2):
            W1, w2 = run.W1[k, s], run.w2[k, s]
            X = (w2 @ w2) * np.diag(d1) + W1.T @ (d2[:, None] * W1)
            scale = np.abs(X).sum(axis=1).max()
            np.testing.assert_allclose(run.X_spectrum[k, s], np.linalg.eigvalsh(X), rtol=0,
                                       atol=M * ROUNDING * scale)


def test_epochs_to_target():
    run = cd.train(5, 4, 20, rules=("gd",), seeds=2, epochs=50, n_log=10, norm_reset=False)
    np.testing.assert_array_equal(run.epochs_to(np.inf), np.full((1, 2), run.epochs[0]))
    assert np.all(np.isnan(run.epochs_to(0.0)))
    target = np.median(run.test_error)
    reached = run.epochs_to(target)
    for s in range(2):
        below = np.flatnonzero(run.test_error[0, s] < target)
        expected = run.epochs[below[0]] if below.size else np.nan
        np.testing.assert_array_equal(reached[0, s], expected)


@pytest.mark.parametrize("name,value", [
    ("M", 0), ("N", -1), ("P", 2.5), ("seeds", 0), ("epochs", 0), ("n_log", 0),
    ("test_points", 0), ("alpha_h", 1.5), ("alpha_r", -0.1), ("nonlinearity", "sigmoid"),
    ("rules", ("gd", "sgd")), ("rules", ()), ("init", "xavier"), ("start", "teacher"),
    ("batch", 21), ("eta", 0.0), ("r", -1.0), ("r_teacher", math.inf), ("keep_last", 11),
])
def test_bad_arguments_name_the_parameter(name, value):
    arguments = dict(M=5, N=4, P=20, epochs=10, seeds=1)
    arguments[name] = value
    with pytest.raises(ValueError, match=rf"^{name} "):
        cd.train(**arguments)


def test_vectorised_tanh_within_two_ulp():
    """The kernel's branch-free tanh (montecarlo.curl_descent._tanh) is documented to 2 ulp."""
    x = np.concatenate([np.linspace(-25, 25, 100_001), np.logspace(-300, 1.5, 3000),
                        -np.logspace(-300, 1.5, 3000), [0.0, -0.0, 0.625, -0.625, 20.0]])
    A, H = x[None].copy(), np.empty((1, x.size))
    cd._activate(A, H, 1.0, cd._TANH)
    reference = np.tanh(x)
    assert np.all(np.abs(H[0] - reference) <= 2 * np.spacing(np.abs(reference)))


@pytest.mark.parametrize("nonlinearity", ["lin", "tanh"])
def test_full_batch_steps_converge_to_the_flow_at_first_order(nonlinearity):
    """Full-batch steps are Euler steps of the flow (with the reset ↔ tangent projection): the
    distance to the flow at t = 5 is C η + O(η²), so halving η halves it (here η t L ≈ 0.05, so
    the ratio is 2 to a few per cent)."""
    M, N, P, t = 8, 6, 40, 5.0
    options = dict(nonlinearity=nonlinearity, alpha_h=0.5, alpha_r=0.3, seeds=2)
    exact = cd.flow(M, N, P, times=[1.0, t], **options)
    start = cd._draw(cd._settings(M, N, P, **options))
    np.testing.assert_allclose(np.linalg.norm(exact.W1, axis=(2, 3)),
                               np.broadcast_to(np.linalg.norm(start.W1, axis=(1, 2)), (4, 2)),
                               rtol=1e-6)  # the flow keeps the norms up to its rtol = 1e-8 · t
    distance = []
    for eta in (0.01, 0.005):
        run = cd.train(M, N, P, batch=P, eta=eta, epochs=round(t / eta), n_log=2, **options)
        distance.append(np.abs(run.W1 - exact.W1).max())
    assert distance[0] / distance[1] == pytest.approx(2.0, rel=0.05)
    assert distance[1] < 1e-2


def test_flow_rejects_discrete_only_arguments():
    with pytest.raises(ValueError, match=r"^keep_last "):
        cd.flow(5, 4, 20, times=[1.0], keep_last=3)
    with pytest.raises(ValueError, match=r"^times "):
        cd.flow(5, 4, 20, times=[-1.0])


def test_progress_chunks_give_the_same_run():
    """With ``progress`` the epochs run in 50 kernel calls; the state carried between them is
    complete, so the run is bit-identical (q sums and Lyapunov shadow included)."""
    options = dict(nonlinearity="lin", alpha_h=0.5, seeds=2, epochs=60, keep_last=25,
                   lyapunov=True)
    one, chunked = cd.train(6, 5, 20, **options), cd.train(6, 5, 20, progress=True, **options)
    for name in ("train_error", "test_error", "q_var", "lyapunov", "W1", "w2"):
        np.testing.assert_array_equal(getattr(one, name), getattr(chunked, name))


def test_tanh_input_flips_above_threshold_fluctuate_while_gradient_descent_learns():
    """Spec §4.6 / issue 18: tanh, c = 0.4 (alpha_h* = 0.18 for the linear net), alpha_h = 0.8,
    random start, B = 10: curl descent keeps a high error, persistent weight fluctuations
    (q > 0) and a positive Lyapunov exponent; gradient descent converges with λ_max ≈ 0.
    Measured (1500 epochs, 3 seeds): curl error 0.02-0.03, q_var 0.02, λ_max 2-3e-3;
    gd error < 1e-3, q_var ~ 3e-6, |λ_max| ~ 1e-5."""
    run = cd.train(40, 100, 250, alpha_h=0.8, nonlinearity="tanh", rules=("gd", "curl"),
                   seeds=3, seed=1, epochs=1500, keep_last=500, lyapunov=True, n_log=5)
    gd, curl = 0, 1
    assert np.all(run.test_error[curl, :, -1] > 1e-2)
    assert np.all(run.test_error[gd, :, -1] < 1e-3)
    assert np.all(run.q_var[curl] > 100 * run.q_var[gd].max())
    assert np.all(run.lyapunov[curl] > 10 * np.abs(run.lyapunov[gd]).max())
    assert np.all(run.lyapunov[curl] > 0)


def test_tanh_readout_flips_above_threshold_can_still_learn():
    """Spec §4.6: readout flips above alpha_r* (here alpha_r = 0.5 at c = 10, alpha_r* =
    0.006) need not destroy learning in a tanh network: curl descent's test error still falls
    by more than a factor 10 from its start (measured: 0.05 -> 1e-3 in 2000 epochs)."""
    run = cd.train(100, 10, 250, alpha_r=0.5, nonlinearity="tanh", rules=("curl",), seeds=3,
                   seed=1, epochs=2000, n_log=5)
    assert np.all(run.test_error[0, :, -1] < run.test_error[0, :, 0] / 10)

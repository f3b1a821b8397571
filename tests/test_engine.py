"""The generic engine on problems whose answers are known in closed form."""

import numpy as np
import pytest
from scipy import optimize

from theorylab import continuation, phases, saddle, sweep


def curie_weiss(x, params):
    """m = tanh(beta m): the mean-field ferromagnet (alpha = 0 limit of the Hopfield model)."""
    return np.tanh(params["beta"] * x)


def test_saddle_solves_curie_weiss_on_a_grid():
    beta = np.linspace(0.2, 5.0, 97)
    res = saddle.solve(curie_weiss, np.array([1.0]), {"beta": beta})
    assert res.converged.all()
    assert (res.residual <= res.tol).all()
    exact = np.array([optimize.brentq(lambda m, b=b: m - np.tanh(b * m), 1e-9, 1.0)
                      if b > 1 else 0.0 for b in beta])
    # Near beta = 1 the fixed point is marginal: at beta = 1, m - tanh(m) ~ m^3/3, so a residual
    # tol leaves m ~ (3 tol)^(1/3); elsewhere the fixed point is regular.
    far = np.abs(beta - 1) > 0.05
    np.testing.assert_allclose(res.x[0][far], exact[far], atol=1e-10)
    np.testing.assert_allclose(res.x[0][~far], exact[~far], atol=2 * (3 * res.tol) ** (1 / 3))


def test_saddle_reports_no_fixed_point_as_unconverged():
    res = saddle.solve(lambda x, p: x + 1.0, np.zeros(1), {"a": np.zeros(3)}, maxiter=50)
    assert not res.converged.any()
    assert (res.residual >= 1.0).all()
    assert "did not converge" in res.message


def test_stability_eigenvalue_of_curie_weiss():
    # dF/dm = beta (1 - m^2): at the paramagnet m = 0 the eigenvalue is beta.
    beta = np.array([0.5, 2.0])
    eig = saddle.stability(curie_weiss, np.zeros((1, 2)), {"beta": beta})
    np.testing.assert_allclose(eig, beta, rtol=1e-6)


def test_continuation_finds_the_fold_of_the_saddle_node_normal_form():
    # Fixed points of F(x, lam) = x + lam - x^2 are x = +-sqrt(lam): a fold at lam = 0.
    def F(x, lam):
        return x + lam - x**2

    branch = continuation.follow(F, np.array([1.0]), 1.0, lam_min=-1, lam_max=2,
                                 direction=-1.0, ds=0.05)
    assert len(branch.folds) == 1
    fold = branch.folds[0]
    assert fold.converged
    assert abs(fold.lam) < 1e-9
    assert abs(fold.x[0]) < 1e-4  # x ~ sqrt(lam): error sqrt of the lam error


def test_select_and_crossing():
    f = {"a": np.array([0.0, 1.0, np.nan]), "b": np.array([1.0, 0.0, 2.0])}
    valid = {"a": np.array([True, True, False]), "b": np.array([True, False, False])}
    best, fmin = phases.select(f, valid)
    np.testing.assert_array_equal(best, [0, 0, -1])
    assert fmin[0] == 0.0 and fmin[1] == 1.0 and np.isnan(fmin[2])
    assert phases.crossing(lambda x: x**3 - 2, 0, 2) == pytest.approx(2 ** (1 / 3), abs=1e-11)
    assert phases.crossing(lambda x: x**2 + 1, -1, 1) is None


def test_continue_over_grid_rescues_points_from_neighbours():
    # x = F(x) = x - (x - c)^3 converges from far only slowly; a neighbour's solution is a
    # perfect start. Points with maxiter=1 from x=0 fail; grid continuation fixes them.
    def F(x, p):
        return x - 0.5 * (x - p["c"])

    c = np.linspace(0, 1, 12)
    first = saddle.solve(F, np.zeros(1), {"c": c}, maxiter=1, memory=0, newton_below=0)
    assert first.converged[0] and not first.converged[1:].all()
    fixed = phases.continue_over_grid(lambda x0, p: saddle.solve(F, x0, p, maxiter=200),
                                      first, {"c": c}, (3, 4))
    assert fixed.converged.all()
    np.testing.assert_allclose(fixed.x[0], c, atol=1e-10)


def _square(x):
    return {"y": np.asarray(x) ** 2}


class _Interrupt(RuntimeError):
    pass


def test_sweep_keeps_finished_tasks_and_resumes(tmp_path):
    tasks = [{"x": float(i)} for i in range(5)]
    calls = []

    def flaky(x):
        calls.append(x)
        if x == 2.0 and calls.count(2.0) == 1:  # interrupted once, at the third task
            raise _Interrupt
        return _square(x)

    with pytest.raises(_Interrupt):
        sweep.run(flaky, tasks, store=tmp_path)
    assert len(list(tmp_path.glob("task-*.npz"))) == 2
    results = sweep.run(flaky, tasks, store=tmp_path)
    assert calls == [0.0, 1.0, 2.0, 2.0, 3.0, 4.0]  # tasks 0, 1 were kept, not run again
    assert [float(r["y"]) for r in results] == [0.0, 1.0, 4.0, 9.0, 16.0]


def test_coarse_to_fine_converges_to_the_fine_map():
    # Coarse map: a slightly wrong slope; the result must be the fine map's fixed point.
    def fine(x, p):
        return np.tanh(p["beta"] * x)

    def coarse(x, p):
        return np.tanh(0.999 * p["beta"] * x)

    beta = np.linspace(1.5, 4.0, 11)
    res = saddle.solve_coarse_to_fine((coarse, None), (fine, None), np.array([1.0]),
                                      {"beta": beta})
    assert res.converged.all()
    exact = [optimize.brentq(lambda m, b=b: m - np.tanh(b * m), 1e-6, 1.0) for b in beta]
    np.testing.assert_allclose(res.x[0], exact, atol=1e-10)

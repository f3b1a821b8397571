"""generalization-dynamics: Marchenko–Pastur theory vs spec values, identities and simulations.

Reference values: spec ``linear-dynamics.md`` §2.3 (sigma_w2 = 1, sigma_eps2 = 0.1, sigma_02 = 0,
tau = 1; [NUM] quadrature of the §2.2 expressions, Advani, Saxe & Sompolinsky,
arXiv 1710.03667).
"""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from montecarlo import generalization_dynamics as sim
from theorylab.models.generalization_dynamics import MODEL
from theorylab.parameters import ParameterError
from theorylab.results import dumps


# --- spec §2.3 ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alpha", "t", "E_g", "E_t"),
    [(1.0, 10, 0.38768, 0.01570),          # row 1
     (2.0, 100, 0.20000, 0.05000),         # row 2
     (0.5, "inf", 0.70000, 0.0)])          # row 3
def test_spec_reference_values(alpha, t, E_g, E_t):
    sol = MODEL.solve(alpha=alpha, t=t, sigma_w2=1, sigma_eps2=0.1)
    assert sol.order_parameters["E_g"] == pytest.approx(E_g, abs=5e-6)
    assert sol.order_parameters["E_t"] == pytest.approx(E_t, abs=5e-6)
    assert sol.converged and sol.residual < 1e-10 and sol.free_energy is None


def test_alpha_one_at_infinite_time_diverges_without_crashing():
    sol = MODEL.solve(alpha=1, t="inf")
    assert math.isinf(sol.order_parameters["E_g"]) and sol.order_parameters["E_t"] == 0
    assert "diverges" in sol.message
    data = json.loads(dumps(sol.to_dict()))
    assert data["order_parameters"]["E_g"] == "inf"
    # without label noise there is nothing to overfit: E_g(inf) = 0 at alpha = 1
    assert MODEL.solve(alpha=1, t="inf", sigma_eps2=0).order_parameters["E_g"] == 0


def test_quadrature_rules_agree():
    """Adaptive quad (solve) and the graded Gauss-Legendre rule (diagrams, lines)."""
    alphas = [0.01, 0.5, 0.99, 0.9999, 1.0, 1.0001, 1.01, 2.0, 30.0]
    times = [0.0, 1e-3, 1.0, 10.0, 1e3, 1e5]
    grid = MODEL.errors(np.array(alphas)[:, None], np.array(times)[None, :])
    for i, alpha in enumerate(alphas):
        for j, t in enumerate(times):
            sol = MODEL.solve(alpha=alpha, t=t).order_parameters
            for name in ("E_g", "E_t"):
                assert grid[name][i, j] == pytest.approx(sol[name], rel=1e-10, abs=1e-14)


def test_spec_values_on_the_vectorised_grid():
    e = MODEL.errors([1.0, 2.0, 0.5], [10.0, 100.0, np.inf])
    assert e["E_g"] == pytest.approx([0.38768, 0.2, 0.7], abs=5e-6)
    assert e["E_t"] == pytest.approx([0.01570, 0.05, 0.0], abs=5e-6)


# --- properties (hypothesis) ------------------------------------------------------------------
alphas_off_one = st.one_of(st.floats(0.02, 0.9), st.floats(1.1, 20.0))
variances = st.floats(0.0, 3.0)


@settings(max_examples=40, deadline=None)
@given(alpha=alphas_off_one, sw=variances, se=variances, s0=variances)
def test_long_time_limit_is_the_asymptotic_formula(alpha, sw, se, s0):
    fixed = {"sigma_w2": sw, "sigma_eps2": se, "sigma_02": s0}
    edge = (1 - math.sqrt(alpha)) ** 2                     # slowest relaxation rate λ₋
    late = MODEL.errors(alpha, 40 / edge, **fixed)         # e^{-λ₋ t} = e^{-40}
    end = MODEL.errors(alpha, np.inf, **fixed)
    for name in ("E_g", "E_t"):
        assert late[name] == pytest.approx(end[name], rel=1e-9, abs=1e-12)
    expected = se * alpha / (alpha - 1) if alpha > 1 else se / (1 - alpha) + (1 - alpha) * (
        sw + s0)
    assert end["E_g"] == pytest.approx(expected, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(alpha=st.floats(0.02, 20.0), t=st.floats(0.0, 1e4), sw=variances, se=variances,
       s0=variances)
def test_training_error_never_exceeds_generalization_error(alpha, t, sw, se, s0):
    e = MODEL.errors(alpha, t, sigma_w2=sw, sigma_eps2=se, sigma_02=s0)
    assert e["E_t"] <= e["E_g"] + 1e-12 * (1 + e["E_g"])
    assert e["E_t"] >= 0


@settings(max_examples=25, deadline=None)
@given(alpha=st.floats(0.1, 5.0), se=st.floats(0.01, 2.0))
def test_optimal_stopping_is_the_minimum(alpha, se):
    (t_star,), (E_star,) = MODEL.optimal_stopping(alpha, sigma_eps2=se)
    assert 0 < t_star < np.inf
    nearby = MODEL.errors(alpha, np.array([t_star / 2, t_star * 0.9, t_star * 1.1, 2 * t_star,
                                           np.inf]), sigma_eps2=se)["E_g"]
    assert np.all(E_star <= nearby * (1 + 1e-12))


def test_no_label_noise_no_early_stopping():
    (point,) = MODEL.line("optimal-stopping", alpha=2, sigma_eps2=0).points
    assert point["t"] == math.inf
    assert point["E_g"] == pytest.approx(0.0, abs=1e-15)


def test_optimal_stopping_line():
    line = MODEL.line("optimal-stopping", alpha="0.5,1,2")
    data = json.loads(dumps(line.to_dict()))
    assert [p["alpha"] for p in data["points"]] == [0.5, 1.0, 2.0]
    at_one = data["points"][1]
    assert at_one["E_g"] < MODEL.solve(alpha=1, t=10).order_parameters["E_g"] + 1e-12
    assert at_one["E_g"] == pytest.approx(
        MODEL.solve(alpha=1, t=at_one["t"]).order_parameters["E_g"], rel=1e-10)
    assert data["kind"] == "time"


@pytest.mark.parametrize(
    ("params", "name"),
    [({"alpha": 0, "t": 1}, "alpha"), ({"alpha": -1, "t": 1}, "alpha"),
     ({"alpha": 1, "t": -1}, "t"), ({"alpha": 1, "t": 1, "sigma_eps2": -0.1}, "sigma_eps2"),
     ({"alpha": 1, "t": 1, "tau": 0}, "tau"), ({"alpha": 1}, "t"),
     ({"alpha": 1, "t": 1, "P": 2}, "P")])
def test_bad_inputs_are_one_line_parameter_errors(params, name):
    with pytest.raises(ParameterError) as info:
        MODEL.solve(**params)
    assert "\n" not in str(info.value) and name in str(info.value)


def test_bad_line_and_simulation_inputs():
    with pytest.raises(ParameterError, match="alpha"):
        MODEL.line("optimal-stopping", alpha="1,-2")
    with pytest.raises(ParameterError, match="alpha"):
        MODEL.errors([1.0, 0.0], 1.0)
    with pytest.raises(ParameterError, match="t must be"):
        MODEL.errors(1.0, [-1.0, 2.0])
    with pytest.raises(ParameterError, match="t must be finite"):
        MODEL.simulate(seeds=2, N=20, alpha=1, t="inf", eta=0.01)
    with pytest.raises(ParameterError, match="no example"):
        MODEL.simulate(seeds=2, N=10, alpha=0.01, t=1)


def test_diagram_has_the_ridge_and_plots(tmp_path):
    ds = MODEL.diagram({"alpha": np.linspace(0.2, 3, 15), "t": np.geomspace(0.1, 1e3, 12)}, {})
    assert ds["E_g"].dims == ("alpha", "t") and ds["t_opt"].dims == ("alpha",)
    assert json.loads(ds.attrs["parameters"])["sigma_eps2"] == 0.1
    assert np.all(ds["E_g_opt"] <= ds["E_g"].min("t") + 1e-12)
    MODEL.plot_diagram(ds, tmp_path / "landscape.png")
    assert (tmp_path / "landscape.png").stat().st_size > 20_000


def test_presets_name_only_parameters_and_log_axes_are_diagram_axes():
    for preset in MODEL.presets.values():
        for key, value in preset.items():
            parameter = MODEL.parameter(key)
            if key not in MODEL.diagram_axes:
                parameter.check(value)
    assert set(MODEL.log_axes) <= set(MODEL.diagram_axes)


# --- simulations ------------------------------------------------------------------------------
def test_simulator_is_independent_of_the_theory():
    """The finite-N check must not import the Marchenko-Pastur theory or any model."""
    code = ("import sys, montecarlo.generalization_dynamics, montecarlo.deep_linear; "
            "print(sorted(m for m in sys.modules if m.startswith(('theorylab', 'derivations', "
            "'sympy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=pathlib.Path(__file__).parents[1])
    assert out.stdout.strip() == "[]"


def test_same_seed_same_result_and_streams_do_not_depend_on_the_count():
    a = sim.gradient_flow(60, 1.5, [1.0, 10.0], 4, seed=3)
    b = sim.gradient_flow(60, 1.5, [1.0, 10.0], 4, seed=3)
    c = sim.gradient_flow(60, 1.5, [1.0, 10.0], 2, seed=3)
    np.testing.assert_array_equal(a.E_g, b.E_g)
    np.testing.assert_array_equal(a.E_g[:2], c.E_g)
    assert not np.array_equal(a.E_g, sim.gradient_flow(60, 1.5, [1.0, 10.0], 4, seed=4).E_g)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_gradient_descent_converges_to_the_exact_flow(alpha):
    times = [0.0, 1.0, 10.0]
    flow = sim.gradient_flow(80, alpha, times, 3, seed=1)
    gaps = []
    for eta in (0.02, 0.01):
        descent = sim.gradient_descent(80, alpha, times, eta, 3, seed=1)
        gaps.append(max(np.abs(descent.E_g - flow.E_g).max(),
                        np.abs(descent.E_t - flow.E_t).max()))
    assert gaps[0] / gaps[1] == pytest.approx(2.0, rel=0.1)        # first order in eta
    assert gaps[1] < 3e-3


def test_interpolation_below_alpha_one():
    run = sim.gradient_flow(100, 0.5, [np.inf], 3, seed=0)
    assert np.all(run.E_t < 1e-12)                        # interpolates, up to round-off
    assert run.P == 50


def test_simulate_json_contract():
    result = MODEL.simulate(seeds=6, N=100, alpha=2, t=10)
    data = json.loads(dumps(result.to_dict()))
    assert set(data["observables"]) == {"E_g", "E_t"}
    assert data["parameters"]["P"] == 200 and data["sweeps"] == 0
    theory = MODEL.solve(alpha=2, t=10).order_parameters
    for name in ("E_g", "E_t"):
        obs = data["observables"][name]
        assert abs(obs["mean"] - theory[name]) <= 3 * obs["stderr"] + 1.1 / 100


def test_simulation_matches_theory_small_N():
    """N = 200, 64 samples, alpha in {0.5, 1, 2}, t in {1, 10, 100, inf}: within 3 standard
    errors + (sigma_w2 + sigma_02 + sigma_eps2)/N."""
    verification = MODEL.verify(quick=True)
    assert verification.passed, verification.table()
    points = {(r.point["alpha"], r.point["t"]) for r in verification.rows}
    assert len(points) >= 6


@pytest.mark.slow
def test_spec_finite_size_check_N400():
    """Spec §2.3: N = 400, 20 samples, alpha in {0.5, 1, 2}, t in {1, 10, 100}."""
    for alpha in (0.5, 1.0, 2.0):
        run = sim.gradient_flow(400, alpha, [1.0, 10.0, 100.0], 20, seed=400)
        theory = MODEL.errors(alpha, np.array([1.0, 10.0, 100.0]))
        for name in ("E_g", "E_t"):
            mean, stderr = run.mean_stderr(name)
            assert np.all(np.abs(mean - theory[name]) <= 3 * stderr + 1.1 / 400)


@pytest.mark.slow
def test_verify_full():
    verification = MODEL.verify(quick=False)
    assert verification.passed, verification.table()


@pytest.mark.slow
def test_reproduce_quick(tmp_path):
    import papers.advani_saxe_2017 as paper

    written = paper.reproduce(tmp_path, quick=True)
    assert {p.suffix for p in written} == {".png", ".pdf", ".nc"} and len(written) == 12
    assert all(p.stat().st_size > 1000 for p in written)

"""deep-linear: Saxe et al.'s exact mode dynamics against spec values, properties, simulations.

Reference values: spec ``linear-dynamics.md`` §1.3 (rows 1-4, [NUM] from DOP853 at rtol 1e-11 and
scipy quad), from Saxe, McClelland & Ganguli, arXiv 1312.6120.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from montecarlo import deep_linear as sim
from theorylab.models.deep_linear import MODEL, learning_time, mode_strength
from theorylab.parameters import ParameterError
from theorylab.results import dumps

FIVE_MODES = (5.0, 3.0, 2.0, 1.0, 0.5)


# --- spec §1.3 ---------------------------------------------------------------------------------
def test_row1_learning_time_two_layers():
    line = MODEL.line("learning-time", s=5, u0=1e-3, tau=1)
    (point,) = line.points
    assert point["s"] == 5.0
    assert point["t"] == pytest.approx(0.8516993, abs=5e-8)
    assert point["t"] == pytest.approx(np.log(4999) / 10, rel=1e-13)


def test_row2_five_mode_strengths_at_t2():
    sol = MODEL.solve(s="5,3,2,1,0.5", u0=1e-3, t=2)
    expected = (4.99995, 2.94572, 1.19718, 0.05182, 0.00730)
    values = [sol.order_parameters[f"u_{i}"] for i in range(1, 6)]
    assert values == pytest.approx(expected, abs=5e-6)
    assert sol.converged and sol.residual == 0 and sol.free_energy is None


def test_row2_full_matrix_flow_matches_closed_form():
    # spec: the full-matrix ODE agrees with the closed form to 2e-11 (measured here: 1.6e-11)
    run = sim.simulate(FIVE_MODES, 1e-3, 2, [2.0], (6, 8, 6), 1, seed=5, rtol=1e-11)
    theory, _ = mode_strength(np.array(FIVE_MODES), 1e-3, 2, 1.0, 2.0)
    assert np.abs(run.modes[0, 0] - theory).max() < 5e-11


def test_row3_three_layer_learning_time():
    (point,) = MODEL.line("learning-time", s=3, u0=1e-3, D=3).points
    assert point["t"] == pytest.approx(3.136267, abs=5e-7)
    # the same number from quadrature of the mode ODE tau du/dt = D u^(2-2/D) (s - u)
    direct, _ = quad(lambda u: 1 / (3 * u ** (4 / 3) * (3 - u)), 1e-3, 1.5, epsabs=1e-13)
    assert point["t"] == pytest.approx(direct, rel=1e-10)
    # ... and from the full-matrix three-layer flow
    run = sim.simulate((3.0,), 1e-3, 3, [4.0], (3, 3, 3, 3), 1, seed=1, rtol=1e-11)
    assert run.half_times[0, 0] == pytest.approx(point["t"], abs=1e-8)


@pytest.mark.parametrize("init", ["aligned", "random"])
def test_row4_conserved_matrices(init):
    # spec: constant to 1e-14 at rtol 1e-11. Measured max |C(t) - C(0)|: 1.6e-15 (aligned),
    # 9.2e-15 (random); an explicit Runge-Kutta step keeps quadratic invariants only up to its
    # local error, so the bound leaves a factor 3 for other BLAS summation orders.
    run = sim.simulate(FIVE_MODES, 1e-3, 2, [1.0, 4.0, 8.0], (8, 16, 8), 2, seed=3,
                       init=init, rtol=1e-11)
    assert run.drift.max() < 3e-14


# --- the model's surface ---------------------------------------------------------------------
def test_single_mode_is_named_u_and_list_modes_u_i():
    assert set(MODEL.solve(s=5, u0=1e-3, t=2).order_parameters) == {"u"}
    assert set(MODEL.solve(s=[2, 1], u0=1e-3, t=2).order_parameters) == {"u_1", "u_2"}


def test_t_inf_gives_the_singular_values():
    sol = MODEL.solve(s="3,1", u0=1e-3, D=4, t="inf")
    assert sol.order_parameters == {"u_1": 3.0, "u_2": 1.0}
    assert json.loads(dumps(sol.to_dict()))["parameters"]["t"] == "inf"


def test_line_points_in_order_and_json():
    line = MODEL.line("learning-time", s=list(FIVE_MODES), u0=1e-3)
    data = json.loads(dumps(line.to_dict()))
    assert [p["s"] for p in data["points"]] == list(FIVE_MODES)
    assert data["kind"] == "time" and data["line"] == "learning-time"


@pytest.mark.parametrize(
    ("params", "name"),
    [({"s": 1, "u0": 2, "t": 1}, "u0"), ({"s": 1, "u0": 1, "t": 1}, "u0"),
     ({"s": "3,0.5", "u0": 0.7, "t": 1}, "u0"), ({"s": 1, "u0": 0, "t": 1}, "u0"),
     ({"s": 1, "u0": -1e-3, "t": 1}, "u0"), ({"s": 1, "D": 1, "t": 1}, "D"),
     ({"s": 1, "D": 2.5, "t": 1}, "D"), ({"s": 1, "t": -1}, "t"), ({"s": 0, "t": 1}, "s"),
     ({"s": 1, "tau": 0, "t": 1}, "tau"), ({"s": 1, "t": 1, "beta": 2}, "beta")])
def test_bad_inputs_are_one_line_parameter_errors(params, name):
    with pytest.raises(ParameterError) as info:
        MODEL.solve(**params)
    message = str(info.value)
    assert "\n" not in message and name in message


def test_learning_time_is_zero_for_a_mode_already_half_learned():
    points = MODEL.line("learning-time", s="3,1", u0=0.7, D=3).points
    assert points[0]["t"] > 0 and points[1]["t"] == 0.0


def test_u0_error_names_its_range():
    with pytest.raises(ParameterError, match=r"u0 must be a number in \(0, 0\.5\)"):
        MODEL.line("learning-time", s="3,0.5", u0=0.7)


def test_diagram_and_plot(tmp_path):
    ds = MODEL.diagram({"s": np.linspace(0.5, 5, 10), "t": np.linspace(0, 6, 25)},
                       {"u0": 1e-3, "D": 3})
    assert ds["u"].dims == ("s", "t") and ds["t_half"].dims == ("s",)
    assert ds.attrs["model"] == "deep-linear"
    assert float(ds["t_half"].sel(s=5.0)) == pytest.approx(
        float(learning_time(5.0, 1e-3, 3, 1.0)))
    MODEL.plot_diagram(ds, tmp_path / "stages.png")
    assert (tmp_path / "stages.png").stat().st_size > 10_000


# --- properties (hypothesis) ------------------------------------------------------------------
strengths = st.floats(0.2, 8.0)
initial = st.floats(1e-6, 0.9)           # as a fraction of s
times = st.floats(0.0, 20.0)
depths = st.integers(2, 6)


@settings(max_examples=40, deadline=None)
@given(s=strengths, frac=initial, t=times, D=depths)
def test_closed_form_solves_the_mode_ode(s, frac, t, D):
    u0 = frac * s
    h = 1e-5 / s
    t = max(t, 2 * h)
    (u_minus, u_mid, u_plus), _ = mode_strength(s, u0, D, 1.0, np.array([t - h, t, t + h]))
    slope = (u_plus - u_minus) / (2 * h)
    rhs = D * u_mid ** (2 - 2 / D) * (s - u_mid)
    assert slope == pytest.approx(rhs, rel=1e-4, abs=1e-9 * s)


@settings(max_examples=40, deadline=None)
@given(s=strengths, frac=initial, D=depths)
def test_trajectory_starts_at_u0_rises_monotonically_to_s(s, frac, D):
    u0 = frac * s
    # out to 50 learning times (deep nets from tiny u0 learn on ~ u0^(2/D - 1) / s)
    horizon = 50 * learning_time(s, min(u0, s / 4), D, 1.0)
    grid = np.concatenate([[0.0], np.geomspace(1e-4 * horizon, horizon, 200)])
    u, _ = mode_strength(s, u0, D, 1.0, grid)
    assert u[0] == pytest.approx(u0, rel=1e-12)
    assert np.all(np.diff(u) >= -1e-12 * s)
    assert np.all(u <= s * (1 + 1e-15))                   # up to rounding
    assert u[-1] == pytest.approx(s, rel=1e-9)
    assert mode_strength(s, u0, D, 1.0, np.inf)[0] == s


@settings(max_examples=40, deadline=None)
@given(s=strengths, ratio=st.floats(1.01, 10.0), frac=st.floats(1e-6, 0.05), D=depths)
def test_learning_time_decreases_with_s(s, ratio, frac, D):
    """Stronger modes are learned first — from a small start. (With u0 comparable to s the
    time to s/2 is short because little is left to learn: at D = 2 the time decreases with s
    only while ln(s/u0 - 1) > s/(s - u0), i.e. s/u0 > 4.6.)"""
    u0 = frac * s
    assert learning_time(s * ratio, u0, D, 1.0) < learning_time(s, u0, D, 1.0)


@settings(max_examples=30, deadline=None)
@given(s=strengths, frac=initial, D=depths, tau=st.floats(0.1, 10.0))
def test_mode_is_half_learned_at_the_learning_time(s, frac, D, tau):
    u0 = frac * s / 2
    half = learning_time(s, u0, D, tau)
    assert half >= 0
    assert mode_strength(s, u0, D, tau, half)[0] == pytest.approx(s / 2, rel=1e-9)


# --- simulations ------------------------------------------------------------------------------
def test_same_seed_same_result():
    a = MODEL.simulate(seeds=2, seed=7, s="3,1", t=1.5, init="random", width=4, hidden=8)
    b = MODEL.simulate(seeds=2, seed=7, s="3,1", t=1.5, init="random", width=4, hidden=8)
    c = MODEL.simulate(seeds=2, seed=8, s="3,1", t=1.5, init="random", width=4, hidden=8)
    assert a.to_dict()["observables"] == b.to_dict()["observables"]
    assert a.observables["u_1"].mean != c.observables["u_1"].mean


def test_gradient_descent_approaches_the_flow():
    theory, _ = mode_strength(np.array(FIVE_MODES), 1e-3, 2, 1.0, 2.0)
    errors = []
    for eta in (4e-3, 2e-3, 1e-3):
        run = sim.simulate(FIVE_MODES, 1e-3, 2, [2.0], (6, 6, 6), 1, seed=1, eta=eta)
        errors.append(np.abs(run.modes[0, 0] - theory).max())
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 1.8) & (ratios < 2.2))          # first order in eta
    assert errors[-1] < 3e-3


def test_random_start_learning_times_follow_the_aligned_formula():
    # after alignment each mode follows the aligned solution from u0_eff = |a + b|²/4;
    # crosstalk through a 64-wide hidden layer keeps the error within 5 % (measured <= 1.3 %)
    run = sim.simulate(FIVE_MODES, 1e-3, 2, [14.0], (8, 64, 8), 2, seed=11, init="random")
    predicted = learning_time(np.array(FIVE_MODES), run.effective_u0, 2, 1.0)
    assert np.all(np.abs(run.half_times / predicted - 1) < 0.05)


def test_simulate_reports_modes_and_drift():
    result = MODEL.simulate(seeds=2, s="5,3,2,1,0.5", u0=1e-3, t=2)
    data = json.loads(dumps(result.to_dict()))
    assert set(data["observables"]) == {"u_1", "u_2", "u_3", "u_4", "u_5", "drift"}
    assert data["observables"]["u_3"]["mean"] == pytest.approx(1.19718, abs=5e-6)
    with pytest.raises(ParameterError, match="t must be a finite"):
        MODEL.simulate(seeds=2, s=1, t="inf")
    with pytest.raises(ParameterError, match="widths"):
        MODEL.simulate(seeds=2, s="3,2,1", t=1, width=2)


def test_verify_quick_passes():
    verification = MODEL.verify(quick=True)
    assert verification.passed, verification.table()
    assert len(verification.rows) >= 20
    quantities = {r.quantity for r in verification.rows}
    assert quantities == {"u", "drift", "t_half"}


def test_presets_name_only_parameters():
    for preset in MODEL.presets.values():
        for key, value in preset.items():
            parameter = MODEL.parameter(key)
            if key not in MODEL.diagram_axes:
                parameter.check(value)


@pytest.mark.slow
def test_reproduce_quick(tmp_path):
    import papers.saxe_2014 as paper

    written = paper.reproduce(tmp_path, quick=True)
    assert {p.suffix for p in written} == {".png", ".pdf", ".nc"} and len(written) == 6
    assert all(p.stat().st_size > 1000 for p in written)

"""The multitasking model on the kit: the engine's solve, lines, diagram and verify against the
spec's §13 values (shared/specs/multitasking.md; every value there is the spec's own derivation
[DER]/[NUM], not a number quoted by the papers). The equations themselves are tested in
tests/test_derivations_multitasking.py, the simulator in tests/test_montecarlo_multitasking.py.
"""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import theorylab as tl
from theorylab.cli import main
from theorylab.models import multitasking as mt


def point(line, **kw):
    (p,) = tl.line("multitasking", line, **kw).points
    assert p["found"], p
    return p


def test_zero_temperature_cascade():  # spec §4.1, §13 row 4
    sol = tl.solve("multitasking", K=3, d=0.3, T=0)
    assert sol.phase == "hierarchical" and sol.converged and sol.stable
    m = [sol.order_parameters[f"m{k}"] for k in (1, 2, 3)]
    np.testing.assert_allclose(m, mt.cascade(0.3, 3), atol=1e-12)
    np.testing.assert_allclose(m, [0.7, 0.21, 0.063], atol=1e-12)
    assert sol.extras["smallest_hessian_eigenvalue"] == pytest.approx(1.0)


@pytest.mark.parametrize("K, d_c", [(3, 0.6180340), (4, 0.5436890), (5, 0.5187901),
                                    (6, 0.5086604)])
def test_cascade_fixed_point_line(K, d_c):  # row 5
    assert point("cascade-fixed-point", K=K)["d"] == pytest.approx(d_c, abs=1e-6)
    assert point("cascade-fixed-point", K=3)["d"] == pytest.approx((5**0.5 - 1) / 2, abs=1e-12)


@pytest.mark.parametrize("K, d_star", [(3, 0.54692), (4, 0.51868), (5, 0.50720)])
def test_ground_state_departure_line(K, d_star):  # row 6
    assert point("ground-state-departure", K=K)["d"] == pytest.approx(d_star, abs=2e-4)


@pytest.mark.parametrize("d", [0.1, 0.3, 0.6])
def test_paramagnet_instability_convention_a_and_b(d):  # rows 3, 3B
    assert point("paramagnet-instability", K=2, d=d)["T"] == pytest.approx(1 - d, abs=1e-9)
    rho = 0.5
    T = point("paramagnet-instability", K=2, d=d, protocol="supervised", rho=rho,
              convention="B")["T"]
    assert T == pytest.approx((1 - d) / (1 + rho), abs=1e-9)


@pytest.mark.parametrize("line, d, T", [
    ("pure-instability", 0.2, 0.160117), ("pure-instability", 0.5, 0.287210),
    ("parallel-instability", 0.8, 0.040081), ("parallel-instability", 0.7, 0.093764),
    ("parallel-instability", 0.65, 0.32725),  # the upper end of the re-entrant S window
])
def test_k2_storage_lines(line, d, T):  # row 10
    assert point(line, K=2, d=d)["T"] == pytest.approx(T, abs=1e-4)


def test_k2_parallel_window_is_re_entrant_with_a_cusp_at_d0():  # row 10: d_0 = 0.60159
    from theorylab.equilibrium import trace_line

    segments = trace_line(mt.MODEL, "parallel-instability", {"K": 2},
                          {"d": (0.0, 1.0), "T": (0.0, 1.0)})
    d = np.concatenate([s.a[s.found] for s in segments])
    T = np.concatenate([s.b[s.found] for s in segments])
    # the window's tip: the smallest d of the traced curve, refined by a parabola d(T) through
    # the traced points around it
    i = int(np.argmin(d))
    near = slice(i - 1, i + 2)
    c2, c1, c0 = np.polyfit(T[near], d[near], 2)
    assert c0 - c1**2 / (4 * c2) == pytest.approx(0.60159, abs=1e-4)
    assert -c1 / (2 * c2) == pytest.approx(0.244, abs=5e-3)  # the tip's T (spec §5.2)
    # re-entrant: the traced line crosses d = 0.65 twice, at both ends of the S window
    # (linear interpolation between traced points)
    side = np.sign(d - 0.65)
    cross = np.flatnonzero(side[:-1] * side[1:] < 0)
    t = (0.65 - d[cross]) / (d[cross + 1] - d[cross])
    ends = np.sort(T[cross] + t * (T[cross + 1] - T[cross]))
    np.testing.assert_allclose(ends, [0.13698, 0.32725], atol=2e-3)


@pytest.mark.parametrize("K, d, T, phase, m, f", [  # row 11
    (2, 0.3, 0.1, "hierarchical", (0.699976, 0.202886), -0.27362417),
    (2, 0.5, 0.35, "pure", (0.414317, 0.0), -0.25830607),
    (2, 0.8, 0.1, "parallel", (0.169525, 0.169525), -0.07910063),
    (2, 0.7, 0.05, "hierarchical", (0.296982, 0.212931), -0.08410210),
    (3, 0.5, 0.05, "hierarchical", (0.499584, 0.249569, 0.124542), -0.16846882),
])
def test_storage_states(K, d, T, phase, m, f):
    sol = tl.solve("multitasking", K=K, d=d, T=T)
    assert sol.phase == phase
    got = sorted((abs(sol.order_parameters[f"m{k}"]) for k in range(1, K + 1)), reverse=True)
    np.testing.assert_allclose(got, m, atol=1e-5)
    assert sol.free_energy == pytest.approx(f, abs=1e-5)


@pytest.mark.parametrize("d, rho_c", [(0.2, 0.58982), (0.5, 0.14132), (0.8, 0.01572)])
def test_k2_hierarchical_to_parallel_in_rho(d, rho_c):  # row 13
    p = point("parallel-instability-rho", K=2, protocol="supervised", d=d)
    assert p["rho"] == pytest.approx(rho_c, abs=2e-4)


@pytest.mark.parametrize("d, rho", [(0.5, 0.09139), (0.3, 0.33805)])
def test_k3_hierarchical_to_partial_is_continuous(d, rho):  # row 14 (continuous part)
    p = point("partial-instability-rho", K=3, protocol="supervised", d=d)
    assert p["rho"] == pytest.approx(rho, abs=5e-4)


@pytest.mark.parametrize("d", [0.53, 0.6, 0.7])
def test_k4_zero_temperature_state_is_the_ground_state(d):
    # the engine's T = 0 state against the model's independent ground-state search
    # (spec §4.2: e_0 = -max |m|^2/2 over T = 0 fixed points); beyond d*(4) = 0.5187 it is no
    # longer the cascade
    sol = tl.solve("multitasking", K=4, d=d, T=0)
    ground = mt.ground_state(d, 4)
    assert sol.free_energy == pytest.approx(-0.5 * float(ground @ ground), abs=1e-12)
    assert sol.free_energy < -0.5 * float(np.sum(mt.cascade(d, 4) ** 2)) - 1e-6


@pytest.mark.parametrize("d, rho", [(0.5, 0.16396), (0.3, 0.39996)])
def test_k3_partial_to_parallel_is_first_order(d, rho):  # row 14 (first-order part)
    p = point("parallel-thermodynamic-rho", K=3, protocol="supervised", d=d)
    assert p["rho"] == pytest.approx(rho, abs=5e-4)
    assert p["competitor"] == "partial" and p["via"] == "free-energy crossing"


def test_learning_states():  # rows 15, 16 (convention A)
    sol = tl.solve("multitasking", K=2, d=0.2, T=0, protocol="supervised", rho=0.4)
    assert sol.phase == "hierarchical"
    np.testing.assert_allclose([sol.order_parameters["m1"], sol.order_parameters["m2"]],
                               [0.641482, 0.257583], atol=1e-5)
    assert sol.free_energy == pytest.approx(-0.26028536, abs=1e-5)
    sol = tl.solve("multitasking", K=3, d=0.5, T=0, protocol="supervised", rho=0.12)
    assert sol.phase == "partial"
    m = sorted((sol.order_parameters[f"m{k}"] for k in (1, 2, 3)), reverse=True)
    np.testing.assert_allclose(m, [0.357214, 0.357214, 0.203592], atol=1e-5)
    exact = tl.solve("multitasking", K=2, d=0.2, T=0.02, protocol="supervised",
                     average="exact", r=0.2, M=24)
    assert exact.phase == "hierarchical"  # while the Gaussian average at rho = 1 is parallel
    np.testing.assert_allclose([exact.order_parameters["m1"], exact.order_parameters["m2"]],
                               [0.40514, 0.34532], atol=1e-4)
    assert exact.free_energy == pytest.approx(-0.24906881, abs=1e-4)
    gaussian = tl.solve("multitasking", K=2, d=0.2, T=0.02, protocol="supervised", r=0.2, M=24)
    assert gaussian.parameters["rho"] == pytest.approx(1.0)
    assert gaussian.phase == "parallel"


def test_curie_weiss_and_hopfield_limits():  # rows 1, 2
    sol = tl.solve("multitasking", K=1, d=0.0, T=0.5)
    assert sol.order_parameters["m1"] == pytest.approx(0.957504, abs=1e-6)
    assert sol.free_energy == pytest.approx(-0.50983553, abs=1e-6)
    found = {s.phase: s for s in tl.branches("multitasking", K=3, d=0.0, T=0.0)}
    assert found["pure"].free_energy == pytest.approx(-0.5, abs=1e-12)
    assert found["parallel"].free_energy == pytest.approx(-0.375, abs=1e-12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(K=st.sampled_from([2, 3]), d=st.floats(0.0, 0.95),
       T=st.one_of(st.just(0.0), st.floats(1e-3, 1.0)))
def test_selected_state_is_the_lowest_selectable_branch(K, d, T):
    found = tl.branches("multitasking", K=K, d=d, T=T)
    state = tl.solve("multitasking", K=K, d=d, T=T)
    selectable = [s for s in found if s.stable]
    assert selectable, "the thermodynamic state exists"
    assert state.free_energy == pytest.approx(min(s.free_energy for s in selectable), abs=1e-12)
    for s in found:  # |m_mu| <= 1 - d
        assert all(abs(v) <= 1 - d + 1e-12 for v in s.order_parameters.values())


def test_small_diagram_and_its_lines(tmp_path):
    code = main(["diagram", "multitasking", "K=2", "d=0:1:11", "T=0:1:9", "--out",
                 str(tmp_path), "--workers", "1", "--no-progress"])
    assert code == 0
    import xarray as xr

    (nc,) = tmp_path.glob("*.nc")
    ds = xr.open_dataset(nc, engine="scipy")
    assert set(ds.attrs["lines"].split(",")) == {"paramagnet-instability", "pure-instability",
                                                 "parallel-instability"}
    a, b = ds["paramagnet-instability__d"].values, ds["paramagnet-instability__T"].values
    found = ds["paramagnet-instability__found"].values.astype(bool)
    np.testing.assert_allclose(b[found], 1 - a[found], atol=1e-9)  # T_c = 1 - d traced
    assert (tmp_path / nc.name.replace(".nc", ".pdf")).exists()


def test_verify_quick_passes():
    result = tl.verify("multitasking", quick=True)
    assert result.passed, result.table()
    protocols = {r.point["protocol"] for r in result.rows}
    assert protocols == {"storage", "supervised", "unsupervised"}


@pytest.mark.slow
def test_verify_full_passes():
    result = tl.verify("multitasking", quick=False)
    assert result.passed, result.table()


@pytest.mark.parametrize("argv, names", [
    (["solve", "multitasking", "K=0", "d=0.3"], "K"),
    (["solve", "multitasking", "K=11", "d=0.3"], "K"),
    (["solve", "multitasking", "K=3", "d=1.2"], "d"),
    (["solve", "multitasking", "K=3", "d=0.3", "protocol=supervised", "average=exact", "r=0",
      "M=4"], "r"),
    (["solve", "multitasking", "K=3", "d=0.3", "protocol=supervised", "average=exact",
      "r=0.5", "M=0"], "M"),
    (["solve", "multitasking", "K=3", "d=0.3", "protocol=foo"], "protocol"),
    (["solve", "multitasking", "K=3", "d=0.3", "rho=0.2"], "rho"),
    (["solve", "multitasking", "K=3", "d=0.3", "protocol=supervised", "rho=0.2", "r=0.5"],
     "rho"),
    (["diagram", "multitasking", "K=2", "d=0:1:1", "T=0:1:5"], "cut"),
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, names):
    monkeypatch.chdir(tmp_path)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("theorylab: error:") and names in line
    assert list(tmp_path.iterdir()) == []


def test_cut_along_rho_shows_the_hierarchy_merging(capsys):
    code = main(["cut", "multitasking", "K=2", "protocol=supervised", "d=0.5", "T=0",
                 "rho=0:0.3:31", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    states = [p["state"] for p in data["points"]]
    assert states[1] == "hierarchical" and states[-1] == "parallel"

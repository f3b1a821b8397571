"""The dense Hopfield model with ``ansatz=1rsb`` and the AT line of its RS retrieval branch.

References: spec ``shared/specs/dense-hopfield.md`` §6, §8 (1RSB, the AT condition);
the 1RSB capacities are this package's (``tests/test_rsb.py``: P = 2 against Steffan and Kühn
1994, 0.138186); the AT eigenvalue is checked against an independent quadrature of the spec's
hand-written forms.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from theorylab.cli import main
from theorylab.models.dense_hopfield import MODEL
from theorylab.parameters import ParameterError
from theorylab.rsb import rs_capacity


def _hand_at(P: int, m: float, q: float, r: float, alpha: float, T: float) -> float:
    """Spec §6 [DER] / AGS [LIT]: lambda = beta'^2 alpha (P-1)! (P-1) q^(P-2) E sech^4(beta' h),
    h ~ N(m^(P-1), alpha (P-1)! q^(P-1)), beta' = beta P/2; P = 2: alpha beta^2 E sech^4(beta h)
    / (1 - beta (1 - q))^2, h ~ N(m, alpha r). Adaptive quadrature (scipy.quad)."""
    beta = 1.0 / T
    if P == 2:
        mean, var, scale = m, alpha * r, beta
        prefactor = alpha * beta**2 / (1 - beta * (1 - q)) ** 2
    else:
        mean, var, scale = m ** (P - 1), alpha * math.factorial(P - 1) * q ** (P - 1), beta * P / 2
        prefactor = scale**2 * alpha * math.factorial(P - 1) * (P - 1) * q ** (P - 2)
    sd = math.sqrt(var)

    def integrand(z):
        a = abs(scale * (mean + sd * z))
        sech = 2 * math.exp(-a) / (1 + math.exp(-2 * a))
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * sech**4

    value, _ = integrate.quad(integrand, -12, 12, points=[-mean / sd], limit=400,
                              epsabs=1e-13, epsrel=1e-11)
    return prefactor * value


@pytest.mark.parametrize(("P", "alpha", "T"), [(2, 0.1, 0.05), (2, 0.13, 0.02), (3, 0.1, 0.1),
                                               (3, 0.05, 0.3), (4, 0.02, 0.2)])
def test_at_eigenvalue_is_the_spec_form(P, alpha, T):
    state = MODEL.solve(P=P, alpha=alpha, T=T, phase="retrieval")
    ops = state.order_parameters
    expected = _hand_at(P, ops["m"], ops["q"], ops.get("r", 0.0), alpha, T)
    assert ops["lambda_at"] == pytest.approx(expected, rel=1e-7)


def test_at_line_is_where_the_eigenvalue_crosses_one_below_the_spinodal():
    (point,) = MODEL.line("retrieval-at", P=3, T=0.1).points
    assert point["found"]
    state = MODEL.solve(P=3, alpha=point["alpha"], T=0.1, phase="retrieval")
    assert state.order_parameters["lambda_at"] == pytest.approx(1.0, abs=1e-6)
    (end,) = MODEL.line("retrieval-spinodal", P=3, T=0.1).points
    assert point["alpha"] < end["alpha"]


def test_rs_without_a_state_points_to_1rsb_which_gives_the_glass():
    """The issue's example: P = 3, alpha = 0.16, T = 0.4 has no selectable RS state (the RS
    paramagnet's entropy is negative, the RS glass has ended)."""
    rs = MODEL.solve(P=3, alpha=0.16, T=0.4)
    assert rs.phase is None and "--ansatz 1rsb" in rs.message
    state = MODEL.solve(P=3, alpha=0.16, T=0.4, ansatz="1rsb")
    assert state.converged and state.phase == "spin-glass"
    ops = state.order_parameters
    assert 0 < ops["theta"] < 1 and ops["q0"] < 1e-6 < ops["q1"] < 1
    # the replica free energy is maximised over theta: the glass lies above the paramagnet
    # it replaces, f = -T ln 2 - alpha P!/(8 T) (spec §8)
    assert state.free_energy > -0.4 * math.log(2) - 0.16 * 6 / (8 * 0.4)


def test_1rsb_reduces_to_rs_where_rs_is_stable():
    """alpha = 0.05, T = 0.3, P = 3: lambda_at < 1, the 1RSB state is the RS one."""
    rs = MODEL.solve(P=3, alpha=0.05, T=0.3)
    assert rs.order_parameters["lambda_at"] < 1
    state = MODEL.solve(P=3, alpha=0.05, T=0.3, ansatz="1rsb")
    ops = state.order_parameters
    assert state.phase == "retrieval"
    assert ops["m"] == pytest.approx(rs.order_parameters["m"], abs=1e-8)
    assert ops["q1"] - ops["q0"] < 1e-8
    assert state.free_energy == pytest.approx(rs.free_energy, abs=1e-10)


@pytest.mark.parametrize("P", [3, 4])
def test_1rsb_capacity_line_exceeds_rs(P):
    (point,) = MODEL.line("retrieval-spinodal", P=P, T=0.0, ansatz="1rsb").points
    assert point["found"]
    assert point["alpha_rs"] == pytest.approx(rs_capacity(P), rel=1e-9)
    assert point["alpha"] > 1.1 * point["alpha_rs"]
    # this package's values (tests/test_rsb.py holds them to 1e-6)
    assert point["alpha"] == pytest.approx({3: 0.1534435, 4: 0.0381554}[P], abs=2e-6)


def test_1rsb_thermodynamic_transition_at_zero_temperature():
    """P = 3, T = 0: the 1RSB retrieval energy equals the 1RSB glass's at alpha = 0.14081
    (ours), between the RS capacity 0.1261 and the 1RSB one 0.15344; retrieval is lower
    below it."""
    (point,) = MODEL.line("retrieval-thermodynamic", P=3, T=0.0, ansatz="1rsb").points
    assert point["found"] and point["competitor"] == "spin-glass (1RSB)"
    assert 0.1261 < point["alpha"] < 0.15344
    assert point["alpha"] == pytest.approx(0.1408069, abs=1e-5)


@settings(max_examples=2, deadline=None)
@given(T=st.floats(0.06, 0.14))
def test_free_energy_is_continuous_across_the_at_line(T):
    """Crossing the AT line the 1RSB retrieval state splits off the RS one continuously:
    f_1RSB = f_RS below it, and f_1RSB - f_RS = O(delta^3) >= 0 above (the replica free
    energy is maximised), here below 1e-6 at delta = 2 % of alpha_AT."""
    (point,) = MODEL.line("retrieval-at", P=3, T=T).points
    assert point["found"]
    for factor, sign in ((0.98, 0), (1.02, 1)):
        alpha = factor * point["alpha"]
        rs = MODEL.solve(P=3, alpha=alpha, T=T, phase="retrieval")
        rsb = MODEL.solve(P=3, alpha=alpha, T=T, phase="retrieval", ansatz="1rsb")
        gap = rsb.free_energy - rs.free_energy
        assert -1e-9 <= gap < (1e-9 if sign == 0 else 1e-6)


@pytest.mark.parametrize("argv", [
    ["solve", "dense-hopfield", "P=3", "alpha=0.1", "T=0.1", "ansatz=2rsb"],
    ["solve", "dense-hopfield", "P=3", "alpha=0.1", "T=0.1", "--ansatz", "2rsb"],
    ["line", "dense-hopfield", "retrieval-at", "P=3", "T=0.1", "--ansatz", "1rsb"],
    ["line", "dense-hopfield", "retrieval-spinodal", "P=3", "alpha=0.1", "--ansatz", "1rsb"],
    ["cut", "dense-hopfield", "P=3", "alpha=0:0.1:5", "T=0.1", "--ansatz", "1rsb"],
    ["solve", "dense-hopfield", "P=3", "alpha=0.1", "T=0.1", "ansatz=rs", "--ansatz", "1rsb"],
])
def test_bad_ansatz_input_is_one_line(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("theorylab: error:") and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


def test_ansatz_is_refused_by_models_without_one():
    from theorylab.models.multitasking import MODEL as other

    with pytest.raises(ParameterError):
        other.solve(K=2, T=0.1, ansatz="1rsb")


def test_solve_json_has_the_1rsb_branches(capsys):
    assert main(["solve", "dense-hopfield", "P=3", "alpha=0.1", "T=0", "--ansatz", "1rsb",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ansatz"] == "1rsb" and out["phase"] == "retrieval"
    assert set(out["branches"]) == {"retrieval", "spin-glass"}
    assert 0 < out["order_parameters"]["mu"] < math.inf

"""The dense Hopfield model against the reference values of shared/specs/dense-hopfield.md.

Row numbers refer to the spec's §3 table; "AGS" is Amit, Gutfreund, Sompolinsky, Ann. Phys.
173, 30 (1987); P >= 3 values are from the spec's §2.2 equations [NUM] and §8 (an independent
second derivation).
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import theorylab as tl
from theorylab.models import dense_hopfield as dh


def point(line, **kw):
    (p,) = tl.line("dense-hopfield", line, **kw).points
    return p


# --- reference values --------------------------------------------------------------------------

def test_ags_critical_capacity_and_overlap():  # rows 1, 2
    p = point("retrieval-spinodal", P=2, T=0)
    assert p["found"]
    assert p["alpha"] == pytest.approx(0.1379056, abs=2e-7)
    assert p["m"] == pytest.approx(0.967417, abs=2e-6)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_ags_spin_glass_line(alpha):  # row 3: T_g = 1 + sqrt(alpha)
    p = point("spin-glass", P=2, alpha=alpha)
    assert p["T"] == pytest.approx(1 + math.sqrt(alpha), rel=1e-12)
    # ... and independently of the derived formula: the paramagnet's stability eigenvalue of
    # the fixed-point map crosses one there.
    Tg = p["T"]
    out = dh.MODEL.problem({"P": 2}).solve({"alpha": np.full(2, alpha),
                                         "T": np.array([0.99 * Tg, 1.01 * Tg])})
    assert out["paramagnet_eig"][0] > 1 > out["paramagnet_eig"][1]


def test_ags_thermodynamic_transition_at_zero_temperature():  # row 4
    p = point("retrieval-thermodynamic", P=2, T=0)
    assert p["alpha"] == pytest.approx(0.051854, abs=2e-6)


@pytest.mark.parametrize("T", [0.3, 0.7, 0.95])
def test_curie_weiss_limit(T):  # row 5: alpha -> 0, P = 2 gives m = tanh(m / T)
    sol = tl.solve("dense-hopfield", P=2, alpha=0.0, T=T)
    assert sol.phase == "retrieval"
    m = sol.order_parameters["m"]
    assert m == pytest.approx(math.tanh(m / T), abs=1e-10)
    assert tl.solve("dense-hopfield", P=2, alpha=0.0, T=1.05).phase == "paramagnet"


def test_curie_weiss_critical_point():
    # alpha = 0, T = 1: the paramagnet m = q = 0 is the state, with f = -T ln 2, and it is
    # marginal: the map's eigenvalue there is beta (1 - tanh^2 0) = beta = 1 exactly. The AGS
    # terms (their pole 1 - beta (1 - q) vanishes on this paramagnet) carry a factor alpha.
    sol = tl.solve("dense-hopfield", P=2, alpha=0.0, T=1.0)
    assert sol.converged and sol.phase == "paramagnet" and sol.stable
    assert sol.free_energy == pytest.approx(-math.log(2), abs=1e-12)
    assert sol.extras["stability_eigenvalue"] == pytest.approx(1.0, abs=1e-9)
    # below T_c the Curie-Weiss paramagnet is a branch, unstable with eigenvalue beta
    out = dh.MODEL.problem({"P": 2}).solve({"alpha": np.zeros(2), "T": np.array([0.5, 0.8])})
    assert out["paramagnet_converged"].all()
    np.testing.assert_allclose(out["paramagnet_eig"], [2.0, 1.25], rtol=1e-9)
    np.testing.assert_allclose(out["paramagnet_f"], -np.array([0.5, 0.8]) * math.log(2),
                               rtol=1e-12)


@pytest.mark.parametrize("P, alpha_c, m_c", [(3, 0.1260952, 0.838482), (4, 0.0329767, 0.917922)])
def test_p_spin_critical_capacity(P, alpha_c, m_c):  # rows 6, 7
    p = point("retrieval-spinodal", P=P, T=0)
    assert p["alpha"] == pytest.approx(alpha_c, abs=2e-7)
    assert p["m"] == pytest.approx(m_c, abs=2e-6)


@pytest.mark.parametrize("P, alpha, T, m, q, f", [
    (4, 0.02, 0.3, 0.991844, 0.990330, -0.5018179),  # row 8
    (3, 0.1, 0.2, 0.958507, 0.970509, -0.5088301),  # row 9
])
def test_p_spin_retrieval_states(P, alpha, T, m, q, f):
    sol = tl.solve("dense-hopfield", phase="retrieval", P=P, alpha=alpha, T=T)
    assert sol.converged and sol.stable
    assert sol.order_parameters["m"] == pytest.approx(m, abs=2e-6)
    assert sol.order_parameters["q"] == pytest.approx(q, abs=2e-6)
    assert sol.free_energy == pytest.approx(f, abs=2e-7)


@pytest.mark.parametrize("P, T, m", [(4, 0.991573, 0.889437), (3, 0.873874, 0.796389)])
def test_zero_load_retrieval_spinodal(P, T, m):  # rows 10, 11
    p = point("retrieval-spinodal", P=P, alpha=0.0)
    assert p["T"] == pytest.approx(T, abs=2e-6)
    assert p["m"] == pytest.approx(m, abs=2e-6)


def test_nishimori_line():  # §8: on T = alpha P!/2, m = q and u = -1/2 exactly
    sol = tl.solve("dense-hopfield", phase="retrieval", P=3, alpha=0.1, T=0.3)
    m, q = sol.order_parameters["m"], sol.order_parameters["q"]
    assert m == pytest.approx(0.948732, abs=2e-6)
    assert q == pytest.approx(m, abs=1e-9)
    assert sol.energy == pytest.approx(-0.5, abs=1e-9)


def test_zero_load_first_order_transition_p3():  # §8: T_c = 0.743954 at alpha = 0
    sols = {s.phase: s for s in tl.branches("dense-hopfield", P=3, alpha=0.0, T=0.743954)}
    assert sols["retrieval"].order_parameters["m"] == pytest.approx(0.948059, abs=2e-5)
    assert sols["retrieval"].free_energy == pytest.approx(-0.743954 * math.log(2), abs=2e-6)
    assert sols["paramagnet"].free_energy == pytest.approx(-0.743954 * math.log(2), abs=1e-12)


@pytest.mark.parametrize("P, alpha, T", [(3, 0.05, 2.0), (4, 0.01, 1.5)])
def test_paramagnet_free_energy(P, alpha, T):  # §8: f = -T ln 2 - alpha P!/(8 T)
    sol = tl.solve("dense-hopfield", phase="paramagnet", P=P, alpha=alpha, T=T)
    assert sol.free_energy == pytest.approx(-T * math.log(2) - alpha * math.factorial(P) / (8 * T),
                                            abs=1e-12)


def test_p3_rs_paramagnet_below_its_entropy_crisis_is_not_selected():
    # At P = 3, alpha = 0.1, T = 0.2 the RS paramagnet has f = -0.5136 < f_retrieval but
    # entropy ln 2 - alpha P!/(8 T^2) < 0: unphysical, so retrieval is the state (row 9).
    sol = tl.solve("dense-hopfield", P=3, alpha=0.1, T=0.2)
    assert sol.phase == "retrieval"
    para = [b for b in tl.branches("dense-hopfield", P=3, alpha=0.1, T=0.2)
            if b.phase == "paramagnet"]
    assert para and para[0].free_energy < sol.free_energy


def test_spin_glass_below_t_g_despite_higher_free_energy():
    # RS (n -> 0): f is maximal in q, so the unstable paramagnet has the lower f below T_g;
    # the stable spin glass is the state (AGS).
    sols = {s.phase: s for s in tl.branches("dense-hopfield", P=2, alpha=0.1, T=1.2)}
    assert sols["paramagnet"].free_energy < sols["spin-glass"].free_energy
    assert not sols["paramagnet"].stable and sols["spin-glass"].stable
    assert tl.solve("dense-hopfield", P=2, alpha=0.1, T=1.2).phase == "spin-glass"


def test_unknown_phase_and_line_are_rejected():
    with pytest.raises(tl.ParameterError, match="phase must be one of"):
        tl.solve("dense-hopfield", phase="ferro", P=2, alpha=0.1, T=0.1)
    with pytest.raises(tl.ParameterError, match="line must be one of"):
        tl.line("dense-hopfield", "nope", P=2, T=0)


# --- properties --------------------------------------------------------------------------------

def _residual(sol):
    """Re-evaluate the derived fixed-point map at the reported state (independent of solve):
    the T = 0 one at T = 0 and where the engine handed a small T over to it."""
    P, alpha, T = (sol.parameters[k] for k in ("P", "alpha", "T"))
    zero = T == 0 or sol.extras["zero_temperature_equations"]
    sys_ = dh.system(P, zero)
    ops = sol.order_parameters
    if P == 2 and zero:
        return None  # C is not recoverable from q = 1 at T = 0
    if P == 2:  # T > 0: (m, C, v) with C = (1 - q)/T, v = alpha r
        x = [ops["m"], (1 - ops["q"]) / T, alpha * ops["r"]]
    else:
        x = [ops["m"]] if zero else [ops["m"], ops["q"]]
    x = np.array(x)[:, None]
    p = {"alpha": np.array([alpha]), "T": np.array([T])}
    return float(np.max(np.abs(sys_.F(x, p) - x)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(P=st.sampled_from([2, 3, 4]), alpha=st.floats(0.0, 0.2), T=st.floats(0.05, 1.6))
def test_properties_of_every_branch(P, alpha, T):
    if P == 4:
        alpha /= 4  # the P = 4 retrieval region lies below alpha_c = 0.033
    found = tl.branches("dense-hopfield", P=P, alpha=alpha, T=T)
    assert found, "at least one branch converges"
    for sol in found:
        m, q = sol.order_parameters["m"], sol.order_parameters["q"]
        assert sol.converged
        assert abs(m) <= 1 and 0 <= q <= 1
        # Jensen: E tanh^2 >= (E tanh)^2, to the solution's residual (q = 1 - C T at P = 2)
        assert q >= m**2 - max(1e-12, 2 * sol.residual)
        res = _residual(sol)
        # a returned solution solves its equations to about its reported residual (the
        # reported one is measured in the solver's variables)
        assert res is None or res <= max(1e-8, 1e3 * sol.residual)
    state = tl.solve("dense-hopfield", P=P, alpha=alpha, T=T)
    selectable = [s for s in found if s.stable and not (
        s.phase == "paramagnet" and T > 0 and (s.energy - s.free_energy) / T < -1e-9)]
    if not selectable:
        # e.g. P = 3 above the RS spin glass's spinodal but below the paramagnet's entropy
        # crisis: RS has no physical state there (1RSB does); reported, not invented.
        assert state.phase is None and not state.converged
        assert "no selectable RS state" in state.message
        return
    assert state.phase in {s.phase for s in selectable}
    assert state.free_energy == pytest.approx(min(s.free_energy for s in selectable), abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(T=st.floats(0.1, 0.95))
def test_limit_alpha_to_zero_is_curie_weiss(T):
    m = tl.solve("dense-hopfield", phase="retrieval", P=2, alpha=1e-9, T=T).order_parameters["m"]
    assert m == pytest.approx(math.tanh(m / T), abs=1e-6)


def test_diagram_small_grid_agrees_with_pointwise_solves():
    ds = tl.diagram("dense-hopfield", P=2, alpha=(0.0, 0.15, 4), T=(0.0, 1.5, 4))
    names = ds.attrs["phases"].split(",")
    assert ds.attrs["unconverged_points"] == 0  # (alpha, T) = (0, 1), the CW critical point, too
    for a in ds.alpha.values:
        for T in ds.T.values:
            sol = tl.solve("dense-hopfield", P=2, alpha=float(a), T=float(T))
            cell = ds.sel(alpha=a, T=T)
            assert names[int(cell.phase)] == sol.phase
            assert float(cell.m) == pytest.approx(sol.order_parameters["m"], abs=1e-9)
    assert ds["retrieval-spinodal__alpha"].sel({"retrieval-spinodal__point": 0}) == \
        pytest.approx(0.1379056, abs=1e-6)


def test_p4_first_order_temperature_at_zero_load():
    # alpha = 0: retrieval and paramagnet free energies cross where f_retrieval = -T ln 2 (the
    # paramagnet's f at alpha = 0, closed form): the landmark T_c ~ 0.7259 of dense networks
    p = point("retrieval-thermodynamic", P=4, alpha=0.0)
    assert p["found"] and p["competitor"] == "paramagnet"
    T = p["T"]
    retrieval = tl.solve("dense-hopfield", phase="retrieval", P=4, alpha=0.0, T=T)
    assert retrieval.free_energy == pytest.approx(-T * math.log(2), abs=1e-10)
    assert T == pytest.approx(0.7259, abs=1e-4)


def test_thermodynamic_line_jumps_onto_the_spin_glass_spinodal():
    # P = 3, T = 0.3: the RS spin glass appears (its spinodal) already below retrieval, so the
    # thermodynamic state switches there, not at a free-energy crossing
    p = point("retrieval-thermodynamic", P=3, T=0.3)
    assert p["found"] and p["competitor"] == "spin-glass" and "spinodal" in p["via"]
    spinodal = point("spin-glass-spinodal", P=3, T=0.3)
    assert p["alpha"] == pytest.approx(spinodal["alpha"], abs=1e-8)
    below = tl.solve("dense-hopfield", P=3, alpha=p["alpha"] - 1e-6, T=0.3)
    above = tl.solve("dense-hopfield", P=3, alpha=p["alpha"] + 1e-6, T=0.3)
    assert (below.phase, above.phase) == ("retrieval", "spin-glass")


@pytest.mark.parametrize("P, alpha", [(3, 0.05), (3, 0.16), (4, 0.02)])
def test_paramagnet_entropy_crisis_line(P, alpha):  # s = ln 2 - alpha P!/(8 T^2) = 0
    p = point("paramagnet-entropy-crisis", P=P, alpha=alpha)
    assert p["T"] == pytest.approx(math.sqrt(alpha * math.factorial(P) / (8 * math.log(2))),
                                   abs=1e-9)


def test_selection_message_names_what_it_excluded():
    # P = 3, alpha = 0.15, T = 0.4: the RS paramagnet has the lower f but a negative entropy
    sol = tl.solve("dense-hopfield", P=3, alpha=0.15, T=0.4)
    assert sol.phase == "retrieval"
    assert "paramagnet" in sol.message and "negative entropy" in sol.message
    assert sol.extras["excluded"]


def test_line_kinds_are_one_per_line():
    # the P = 2 continuous instability and the P >= 3 spin-glass spinodal are separate lines
    assert tl.line("dense-hopfield", "spin-glass", P=2, alpha=0.1).kind == "continuous"
    assert tl.line("dense-hopfield", "spin-glass-spinodal", P=3, alpha=0.05).kind == "spinodal"
    (absent,) = tl.line("dense-hopfield", "spin-glass", P=3, alpha=0.05).points
    assert not absent["found"] and "spin-glass-spinodal" in absent["message"]


def test_cut_crossing_agrees_with_the_line():
    import json

    ds = tl.cut("dense-hopfield", "T", np.linspace(0, 1.2, 121), P=2, alpha=0.05)
    (crossing,) = [e for e in json.loads(ds.attrs["events"]) if e["kind"] == "crossing"]
    p = point("retrieval-thermodynamic", P=2, alpha=0.05)
    assert crossing["T"] == pytest.approx(p["T"], abs=2e-4)  # linear interpolation on 0.01


def test_traced_ags_lines_reach_their_ends_and_match_located_points():
    from theorylab.equilibrium import trace_line

    box = {"alpha": (0.0, 0.2), "T": (0.0, 1.5)}
    for name, alpha_at_zero in (("retrieval-spinodal", 0.1379056),
                                ("retrieval-thermodynamic", 0.0518543)):
        (segment,) = trace_line(dh.MODEL, name, {"P": 2}, box)
        assert segment.found.all()
        # from the T = 0 value (exact equations) to the Curie-Weiss critical point (0, 1)
        assert (segment.a[0], segment.b[0]) == pytest.approx((alpha_at_zero, 0.0), abs=2e-7)
        assert (segment.a[-1], segment.b[-1]) == (0.0, 1.0)
        assert "Curie-Weiss" in segment.ends[1]
        # traced points are points of the line located at their own T, to 1e-8
        inner = np.flatnonzero((segment.b > 0.05) & (segment.b < 0.9))
        for i in inner[:: max(1, inner.size // 4)]:
            p = point(name, P=2, T=float(segment.b[i]))
            assert p["alpha"] == pytest.approx(segment.a[i], abs=1e-8)


def test_traced_p4_first_order_line_reaches_zero_load():
    from theorylab.equilibrium import trace_line

    segments = trace_line(dh.MODEL, "retrieval-thermodynamic", {"P": 4},
                          {"alpha": (0.0, 0.05), "T": (0.0, 1.2)})
    ends = [(s.a[k], s.b[k]) for s in segments for k in (0, -1) if s.found[k]]
    Tc = point("retrieval-thermodynamic", P=4, alpha=0.0)["T"]
    assert any(a == 0.0 and b == pytest.approx(Tc, abs=1e-9) for a, b in ends)


# --- theory against Monte Carlo ----------------------------------------------------------------

def test_verify_quick_theory_against_monte_carlo():
    """P = 2 at N = 4000 and P = 3, 4 at small N, retrieval and paramagnet: every row agrees
    within 3 standard errors plus the finite-size allowance (spec §4, §8)."""
    result = tl.verify("dense-hopfield", quick=True)
    assert {r.point["P"] for r in result.rows} == {2, 3, 4}
    assert {r.quantity for r in result.rows} == {"m", "abs_m", "energy"}
    assert result.passed, result.table()
    p2 = next(r for r in result.rows if r.point["P"] == 2 and r.quantity == "m")
    # AGS retrieval at N = 4000 agrees to about 0.01 or better (spec §4)
    assert abs(p2.theory - p2.simulation) < 0.01


@pytest.mark.slow
def test_verify_full_theory_against_monte_carlo():
    result = tl.verify("dense-hopfield", quick=False)
    assert result.passed, result.table()


def test_finite_size_allowance_is_the_signal_deficit():
    # prod_{k<P} (1 - k/N) for P = 3, N = 200 is 0.985 (spec §8)
    assert dh.finite_size_allowance("m", 3, 200) == pytest.approx(1 - 199 * 198 / 200**2)


@pytest.mark.parametrize("P, alpha", [(3, 0.15), (4, 0.05)])
def test_rs_spin_glass_ground_state_energy(P, alpha):
    # §8: at T = 0 the RS glass (m = 0, q = 1) has e = -sqrt(2 xi'(1) / pi), with the noise
    # covariance xi(q) = alpha P! q^P / 4 of this convention (lambda = 1/2).
    sol = tl.solve("dense-hopfield", phase="spin-glass", P=P, alpha=alpha, T=0)
    xi_prime = alpha * math.factorial(P) * P / 4
    assert sol.free_energy == pytest.approx(-math.sqrt(2 * xi_prime / math.pi), abs=1e-12)


@pytest.mark.parametrize("P", [3, 5, 6, 7, 8])
def test_critical_capacity_up_to_p8_against_the_zero_temperature_formula(P):
    """alpha_c(P) = max_y erf(y)^(2(P-1)) / (2 (P-1)! y^2), m_c = erf(y*) (spec §2.2), maximised
    here independently of the engine, which finds alpha_c as a fold of the T = 0 equations.
    Spec §8 (a second derivation): alpha_c(6) = 0.00131400."""
    from scipy import optimize, special

    def minus(y):
        return -special.erf(y) ** (2 * (P - 1)) / (2 * math.factorial(P - 1) * y * y)

    best = optimize.minimize_scalar(minus, bounds=(0.1, 5.0), method="bounded",
                                    options={"xatol": 1e-12})
    p = point("retrieval-spinodal", P=P, T=0)
    assert p["alpha"] == pytest.approx(-best.fun, rel=1e-7)
    assert p["m"] == pytest.approx(float(special.erf(best.x)), abs=1e-6)
    if P == 6:
        assert p["alpha"] == pytest.approx(0.00131400, abs=5e-9)

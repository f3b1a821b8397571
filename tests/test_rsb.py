"""1RSB states and the T = 0 capacity of the dense Hopfield network (theorylab.rsb).

References: spec = shared/specs/dense-hopfield.md; Steffan & Kühn, Z. Phys. B 95, 249 (1994)
(1RSB Hopfield capacity 0.138186, not Crisanti–Amit–Gutfreund's 0.144).
"""

import math

import numpy as np
import pytest
from scipy import optimize

from derivations import dense_hopfield as dh
from derivations import dense_hopfield_1rsb as derivation
from theorylab import rsb

# spec §3 rows 1, 6, 7 and §8 (α_c^RS(6))
RS_CAPACITY = {2: 0.1379056, 3: 0.1260952, 4: 0.0329767, 6: 0.00131400}


def stationarity_by_differences(state, nodes, eps=1e-6):
    """Central differences of f in each order parameter and in ln p at the state."""
    eq = rsb._Equations(derivation.equations(state.P, zero_temperature=state.T == 0), *nodes)
    x = np.array([state.overlaps[n] for n in eq.variables])
    params = {"alpha": state.alpha, state.parisi_name: state.parisi}
    if state.T > 0:
        params["T"] = state.T
    slopes = []
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        slopes.append((eq.free_energy(x + step, params) - eq.free_energy(x - step, params))
                      / (2 * eps))
    up = {**params, state.parisi_name: state.parisi * math.exp(eps)}
    down = {**params, state.parisi_name: state.parisi * math.exp(-eps)}
    slopes.append((eq.free_energy(x, up) - eq.free_energy(x, down)) / (2 * eps))
    return np.array(slopes)


def reduced_free_energy(state, p):
    """f̄(p): f at the solution of the fixed-point equations at Parisi parameter p (hybr from
    the state's overlaps)."""
    eq = derivation.equations(state.P, zero_temperature=state.T == 0)
    x0 = np.array([state.overlaps[n] for n in eq.variables])
    params = {"alpha": state.alpha, state.parisi_name: p}
    sol = optimize.root(lambda x: eq.fixed_point(x, params) - x, x0, method="hybr", tol=1e-13)
    assert sol.success and sol.x[0] > 0.3
    return float(eq.free_energy(sol.x, params))


def test_p3_zero_temperature_state_is_the_spec_one():
    # Spec §8: P = 3, T = 0, α = 0.15 (> α_c^RS = 0.1260952): m = 0.7639, q0 = 0.8295;
    # tests/test_derivations_1rsb.py: μ* = 2.509, m = 0.76388, q0 = 0.82948, e = −0.5372.
    state = rsb.solve_1rsb(3, 0.15, 0.0, "retrieval")
    assert state.converged and state.residual < 1e-12 and state.curvature < 0
    assert state.m == pytest.approx(0.76388, abs=1e-5)
    assert state.q0 == pytest.approx(0.82948, abs=1e-5)
    assert state.parisi == pytest.approx(2.509, abs=1e-3)
    assert state.free_energy == pytest.approx(-0.5372, abs=1e-4)
    assert not state.replica_symmetric


@pytest.mark.parametrize(("P", "alpha", "start", "nodes", "atol"), [
    (3, 0.15, ((0.76, 0.83), 2.5), rsb.NODES, 1e-8),
    (4, 0.036, ((0.9, 0.93), 3.0), rsb.NODES, 1e-8),
    # P = 2 at μ ≈ 42: the default nodes leave ~1e-7 in ∂f/∂r0 (the map and f integrate
    # different integrands), 256/192 nodes agree with 512/384 to 1e-13; f itself carries
    # ~1e-14 of rounding, so its differences at ε = 1e-6 scatter by ~2e-8
    (2, 0.138, ((0.97, 0.997, 0.0475, 1.436, 1.4395), 42.0), (256, 192), 5e-8),
])
def test_state_is_stationary_and_mu_maximises(P, alpha, start, nodes, atol):
    # ∂f/∂x = 0 and ∂f/∂ln μ = 0 by central differences of f (not the derived gradient), and
    # μ* a maximum of the reduced f̄ (spec §6), with a negative curvature reported.
    state = rsb.solve_1rsb(P, alpha, 0.0, "retrieval", start=start, nodes=nodes)
    assert state.converged and state.curvature < 0 and math.isfinite(state.parisi)
    np.testing.assert_allclose(stationarity_by_differences(state, nodes), 0, atol=atol)
    for factor in (0.97, 1.03):
        assert reduced_free_energy(state, state.parisi * factor) < state.free_energy


def test_finite_temperature_retrieval_is_replica_symmetric():
    # Spec §6: the retrieval state at small α and T > 0 is RS (q0 = q1); spec §3 row 8:
    # P = 4, α = 0.02, T = 0.3: m = 0.991844, q = 0.990330, f = −0.5018179.
    state = rsb.solve_1rsb(4, 0.02, 0.3, "retrieval")
    assert state.converged and state.replica_symmetric
    assert state.q1 - state.q0 < 1e-8
    assert state.m == pytest.approx(0.991844, abs=1e-6)
    assert state.q1 == pytest.approx(0.990330, abs=1e-6)
    assert state.free_energy == pytest.approx(-0.5018179, abs=1e-7)
    rs = dh.equations(4)
    params = {"alpha": 0.02, "T": 0.3}
    x = optimize.root(lambda x: rs.fixed_point(x, params) - x, [0.99, 0.99], tol=1e-13).x
    assert state.free_energy == pytest.approx(float(rs.free_energy(x, params)), abs=1e-8)


def test_zero_temperature_small_load_is_replica_symmetric():
    # Spec §6: at P = 3, small α, μ* is so large the state is RS to solver precision
    # (q0 = 1 to 1e-8, f = f_RS to 1e-8; μ* itself is not resolved, f̄ being flat to 1e-12).
    state = rsb.solve_1rsb(3, 0.02, 0.0, "retrieval")
    assert state.converged and state.replica_symmetric and state.parisi > 100
    rs = dh.equations(3, zero_temperature=True)
    x = optimize.root(lambda x: rs.fixed_point(x, {"alpha": 0.02}) - x, [0.99], tol=1e-13).x
    assert state.m == pytest.approx(x[0], abs=1e-10)
    assert state.free_energy == pytest.approx(float(rs.free_energy(x, {"alpha": 0.02})),
                                              abs=1e-8)


def test_spin_glass_state_is_the_spec_one():
    # Spec §6 [NUM]: P = 4, α = 0.05, T = 0.3: the m = 0 glass has q0 = 0, q1 ≈ 0.979, θ ≈ 0.60.
    state = rsb.solve_1rsb(4, 0.05, 0.3, "spin-glass")
    assert state.converged and state.curvature < 0
    assert abs(state.m) < 1e-12 and state.q0 < 1e-12
    assert state.q1 == pytest.approx(0.979, abs=1e-3)
    assert state.parisi == pytest.approx(0.60, abs=0.01)


@pytest.mark.parametrize("P", [2, 3, 4, 6])
def test_rs_capacity_closed_forms(P):
    # to the reference's last digit (P = 6: 0.00131400 is 0.001313996 rounded)
    assert rsb.rs_capacity(P) == pytest.approx(RS_CAPACITY[P], rel=4e-6)


def test_p3_retrieval_survives_beyond_the_rs_capacity():
    # Between α_c^RS(3) = 0.1261 and α_c^1RSB(3) = 0.15344: RS retrieval is gone (spec §2.2:
    # no nonzero root of m = erf(m²/√(4α))), a 1RSB one exists; past α_c^1RSB none.
    rs = dh.equations(3, zero_temperature=True)
    m = 1.0
    for _ in range(2000):
        m = float(rs.fixed_point([m], {"alpha": 0.13})[0])
    assert m < 0.1
    state = rsb.solve_1rsb(3, 0.13, 0.0, "retrieval", start=((0.9, 0.93), 5.0))
    assert state.converged and state.m > 0.8
    beyond = rsb.solve_1rsb(3, 0.1545, 0.0, "retrieval",
                            start=((0.6853, 0.7363), 2.118))
    assert not beyond.converged


@pytest.mark.slow
@pytest.mark.parametrize(("P", "expected"), [(3, 0.1534435), (4, 0.0381555), (6, 0.0014648)])
def test_one_step_capacity_exceeds_rs(P, expected):
    # α_c^1RSB ≥ α_c^RS (spec §3, §8), found on the fold (3) inside the continuation's bracket;
    # a state exists just below α_c and none just above (the branch's end).
    capacity = rsb.capacity_1rsb(P)
    assert capacity.alpha_c > RS_CAPACITY[P]
    assert capacity.alpha_c == pytest.approx(expected, rel=1e-5)
    assert capacity.bracket[0] - 1e-6 <= capacity.alpha_c <= capacity.bracket[1] + 1e-6
    assert capacity.state.converged and "fold" in capacity.method
    end = capacity.state
    below = rsb.solve_1rsb(P, capacity.alpha_c * (1 - 1e-4), 0.0, "retrieval", start=end)
    assert below.converged and below.m > 0.5
    above = rsb.solve_1rsb(P, capacity.alpha_c * (1 + 1e-4), 0.0, "retrieval", start=below)
    assert not above.converged


def test_p3_capacity_fast_path():
    # The default path: continuation at COARSE_NODES, fold Newton there, finished at the full
    # nodes; α_c^1RSB(3) = 0.1534435 as by the fixed-step bisection to 1e-5 (0.15344350646,
    # before the fast path). The evaluation count guards the cost (it was 2704).
    capacity = rsb.capacity_1rsb(3)
    assert capacity.alpha_c == pytest.approx(0.1534435, abs=1e-6)
    assert capacity.alpha_c == pytest.approx(0.15344350646, abs=1e-9)
    assert "fold" in capacity.method and "retried" not in capacity.method
    assert str(rsb.COARSE_NODES) in capacity.method and str(rsb.NODES) in capacity.method
    assert capacity.state.curvature == -math.inf and capacity.state.residual < 1e-8
    assert capacity.bracket[0] <= capacity.alpha_c <= capacity.bracket[1]
    assert capacity.bracket[1] - capacity.bracket[0] <= 1e-2 * capacity.alpha_rs
    assert capacity.evaluations < 2000


def test_capacity_falls_back_to_the_bracket(monkeypatch):
    # A fold Newton that cannot start (NaN) leaves the bracket's lower end, with its state
    # polished at the full nodes, and a method that says so.
    monkeypatch.setattr(rsb, "_fold_start", lambda *args: np.full(4, np.nan))
    alpha_rs = rsb.rs_capacity(3)
    capacity = rsb._capacity(3, 1e-2, 0.9, rsb.NODES, rsb.COARSE_NODES, rsb.CAPACITY_SCAN[2],
                             alpha_rs)
    assert "fold Newton failed" in capacity.method and "lower end" in capacity.method
    assert capacity.alpha_c == capacity.bracket[0] < 0.1534435 < capacity.bracket[1]
    assert capacity.state.converged and capacity.state.curvature < 0


@pytest.mark.slow
def test_capacity_coarse_nodes_do_not_change_it():
    # The continuation at the full nodes (no coarse stage) gives the same fold.
    fast = rsb.capacity_1rsb(3)
    full = rsb.capacity_1rsb(3, coarse_nodes=rsb.NODES)
    assert full.alpha_c == pytest.approx(fast.alpha_c, abs=1e-10)
    assert "retried" not in full.method


@pytest.mark.slow
def test_p2_capacity_is_steffan_kuehn():
    # Steffan & Kühn (1994): α_c^1RSB = 0.138186 (RS 0.137905); Crisanti–Amit–Gutfreund's 0.144
    # is not confirmed there either. The P = 2 T = 0 1RSB equations are derived in
    # derivations/dense_hopfield_1rsb.py, independent of that paper.
    capacity = rsb.capacity_1rsb(2)
    assert capacity.alpha_c == pytest.approx(0.138186, abs=2e-6)
    assert "fold" in capacity.method


def test_p2_finite_temperature_retrieval_is_ags():
    # Spec §2.1 [LIT]: below the AT line the P = 2 retrieval state is the RS (AGS) one; the
    # 1RSB solve from the split start q ± 0.05 returns q0 = q1, r0 = r1 and the AGS f.
    state = rsb.solve_1rsb(2, 0.05, 0.3, "retrieval")
    assert state.converged and state.replica_symmetric
    assert state.overlaps["r1"] - state.overlaps["r0"] < 1e-8
    rs = dh.equations(2)
    params = {"alpha": 0.05, "T": 0.3}
    x = optimize.root(lambda x: rs.fixed_point(x, params) - x, [state.m, state.q1,
                                                                 state.overlaps["r1"]],
                      tol=1e-13).x
    assert state.m == pytest.approx(x[0], abs=1e-9)
    assert state.free_energy == pytest.approx(float(rs.free_energy(x, params)), abs=1e-9)

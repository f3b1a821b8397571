"""The extremes of the dense Hopfield parameter space (spec shared/specs/dense-hopfield.md).

* T -> 0: below ``zero_temperature_below`` the engine solves the exact T = 0 equations, with
  f = e0 - T s0 from the derived T -> 0 entropy s0; above it the finite-T equations. References:
  the same engine's states at T = 0 (exact equations) and T = 1e-3, between which a state at
  small T must lie to O(T); s0 against its closed forms and against the finite-T free energy.
* The T = 0 capacity at any P: alpha_c(P) = max_y erf(y)^(2(P-1)) / (2 (P-1)! y^2), m_c = erf(y*)
  (spec §2.2), maximised here independently of the engine, which finds alpha_c as a fold.
* The Curie-Weiss corner (P = 2, alpha -> 0, T -> 1, spec §3 row 5): every point has a state;
  retrieval against m = tanh(m/T) plus the first-order correction in alpha derived below.
* Where the RS paramagnet does not exist (P = 2, T <= 1 at alpha > 0; T = 0): reported as
  undefined, with the reason, not as "not converged".
"""

import math

import numpy as np
import pytest
from scipy import optimize, special

import theorylab as tl
from derivations import dense_hopfield as derivation
from theorylab.cli import main
from theorylab.equilibrium import UNDEFINED
from theorylab.models import dense_hopfield as dh

# No RuntimeWarning (overflow, invalid value) may escape, at T = 1e-300 least of all.
pytestmark = pytest.mark.filterwarnings("error")


def solve(T, **params):
    sol = tl.solve("dense-hopfield", T=T, **params)
    assert sol.converged, sol.message
    return sol


# --- T -> 0 -------------------------------------------------------------------------------------

LOW_T = [
    ({"P": 2, "alpha": 0.1, "phase": "spin-glass"}, ("q", "r")),
    ({"P": 2, "alpha": 0.1, "phase": "retrieval"}, ("m", "q", "r")),
    ({"P": 3, "alpha": 0.1, "phase": "retrieval"}, ("m", "q")),
    ({"P": 4, "alpha": 0.02, "phase": "retrieval"}, ("m", "q")),
]


@pytest.mark.parametrize("params, names", LOW_T)
def test_small_temperatures_lie_between_zero_temperature_and_1e_3(params, names):
    """Every order parameter at T in (0, 1e-3) lies on the line from its T = 0 value to its
    T = 1e-3 value up to O(T^2) (the states are analytic in T; 1e-6 relative allows the
    quadrature error at T = 1e-4, ~3e-6 in C); f = e0 - T s0 + O(T^2) (measured: -0.28 T^2 for
    the AGS spin glass, -0.06 T^2 for P = 3) and the entropy s0 + O(T) (0.56 T, 0.12 T): both
    checked against the finite-T formulas at T = 1e-4 and 1e-3."""
    zero, ref = solve(0.0, **params), solve(1e-3, **params)
    below = dh.system(params["P"], False).zero_temperature_below
    e0, s0 = zero.free_energy, zero.extras["entropy"]
    assert s0 < 0  # the RS artefact: negative entropy at T = 0
    for T in (1e-300, 1e-6, 1e-4):
        sol = solve(T, **params)
        assert sol.extras["zero_temperature_equations"] == (T < below)
        assert ("exact T = 0 equations" in sol.message) == (T < below)
        for k in names:
            x0, x1, x = (s.order_parameters[k] for s in (zero, ref, sol))
            line = x0 + (x1 - x0) * T / 1e-3
            assert x == pytest.approx(line, abs=1e-6 * max(1.0, abs(x0)) + abs(x1 - x0) * T / 1e-2)
        assert sol.free_energy == pytest.approx(e0 - T * s0, abs=T**2 + 1e-15)
        assert sol.energy == pytest.approx(zero.energy, abs=1e-3 * T + 1e-15)
    for T in (1e-4, 1e-3):  # finite-T formulas: s0 is their T -> 0 limit
        sol = solve(T, **params)
        assert not sol.extras["zero_temperature_equations"]
        assert sol.free_energy - (e0 - T * s0) == pytest.approx(0.0, abs=T**2)
        assert sol.extras["entropy"] == pytest.approx(s0, abs=2 * T)


@pytest.mark.parametrize("P, alpha", [(2, 0.1), (3, 0.1)])
def test_thermodynamic_state_is_continuous_down_to_1e_300(P, alpha):
    """The state of the brief's commands (alpha = 0.1 lies beyond the AGS thermodynamic load
    0.0519 and the P = 3 RS one: the RS spin glass is the state at low T; retrieval is a
    metastable branch, checked above)."""
    phases = {solve(T, P=P, alpha=alpha).phase for T in (0.0, 1e-300, 1e-8, 1e-6, 1e-4, 1e-3)}
    assert phases == {"spin-glass"}


@pytest.mark.parametrize("P, alpha", [(2, 0.1), (2, 1.0), (3, 0.1), (4, 0.02), (5, 0.005)])
def test_derived_zero_temperature_entropy_against_its_closed_form(P, alpha):
    """s0 derived symbolically from f against the forms derived by hand: AGS
    s0 = -(alpha/2)[ln(1 - C) + C/(1 - C)] (from -df/dT at fixed (m, C, v)); P >= 3
    s0 = -(P-1) phi(m^(P-1)/sigma)^2, sigma^2 = alpha (P-1)! (from -df/dT at fixed (m, q),
    with C = beta (1 - q) -> 4 phi/(P sigma))."""
    for phase in ("retrieval", "spin-glass"):
        sol = tl.solve("dense-hopfield", phase=phase, P=P, alpha=alpha, T=0)
        if not sol.converged:
            continue
        m = sol.order_parameters["m"]
        if P == 2:
            C = 1 - 1 / math.sqrt(sol.order_parameters["r"])  # T = 0: r = (1 - C)^-2
            expected = -alpha / 2 * (math.log(1 - C) + C / (1 - C))
        else:
            sigma = math.sqrt(alpha * math.factorial(P - 1))
            phi = math.exp(-0.5 * (m ** (P - 1) / sigma) ** 2) / math.sqrt(2 * math.pi)
            expected = -(P - 1) * phi**2
        assert sol.extras["entropy"] == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_hand_over_temperature_is_where_the_quadrature_loses_to_the_zero_temperature_equations():
    """P = 2, alpha = 0.1, spin glass: above T_h = 3e-5 the finite-T equations at 256 nodes are
    closer to their own 2048-node solution than to the T = 0 state (O(T) away); below, the
    quadrature error (growing ~beta^2) exceeds that distance."""
    from theorylab import saddle

    def state(T, nodes):
        sys_ = dh.system(2, T == 0, nodes)
        p = {"alpha": np.array([0.1]), "T": np.array([T])}
        res = saddle.solve(sys_.F, sys_.starts(p)["spin-glass"], p, tol=1e-13,
                           lower=sys_.lower, upper=sys_.upper, patience=60)
        assert res.converged[0]
        x = res.x[:, 0]
        return x if T > 0 else x * np.array([1.0, 1.0, 0.1])  # r -> v = alpha r

    x0 = state(0.0, 256)
    below = dh.system(2, False).zero_temperature_below
    assert 1e-5 < below < 1e-4
    for T, finite_is_better in ((1e-4, True), (1e-5, False)):
        fine = state(T, 2048)
        quadrature = np.max(np.abs(state(T, 256) - fine))
        distance = np.max(np.abs(fine - x0))
        assert (quadrature < distance) == finite_is_better


def test_no_warning_and_a_state_at_1e_300_on_the_command_line(capsys):
    for argv in (("P=2", "alpha=0.1", "T=1e-300"), ("P=2", "alpha=0.1", "T=1e-4"),
                 ("P=2", "alpha=0.1", "T=1e-6"), ("P=3", "alpha=0.1", "T=1e-8")):
        code = main(["solve", "dense-hopfield", *argv])
        out, err = capsys.readouterr()
        assert code == 0 and err == ""
        assert "phase=spin-glass" in out and "[converged" in out


# --- the T = 0 capacity at any P ----------------------------------------------------------------

def closed_form_capacity(P):
    """alpha_c(P), m_c: the maximum over y of erf(y)^(2(P-1)) / (2 (P-1)! y^2) (spec §2.2), in
    logarithms ((P-1)! overflows nothing, but alpha_c ~ 1e-48 at P = 40)."""
    def minus_log(y):
        return -(2 * (P - 1) * math.log(special.erf(y)) - math.log(2.0) - math.lgamma(P)
                 - 2 * math.log(y))

    best = optimize.minimize_scalar(minus_log, bounds=(0.1, 6.0), method="bounded",
                                    options={"xatol": 1e-12})
    return math.exp(-best.fun), float(special.erf(best.x))


@pytest.mark.parametrize("P, quoted", [(3, None), (4, None), (5, None), (10, None),
                                       (20, 8.664e-19), (40, 4.412e-48)])
def test_zero_temperature_capacity_at_any_P(P, quoted):
    """The retrieval spinodal at T = 0, followed in the natural load alpha (P-1)!, against the
    closed form to 1e-7 (and the issue's quoted values to their four digits); the fold solves the
    model's own T = 0 equation m = erf(m^(P-1)/sqrt(2 alpha (P-1)!)) with slope one."""
    (p,) = tl.line("dense-hopfield", "retrieval-spinodal", P=P, T=0).points
    assert p["found"]
    alpha_c, m_c = closed_form_capacity(P)
    assert p["alpha"] == pytest.approx(alpha_c, rel=1e-7)
    assert p["m"] == pytest.approx(m_c, abs=1e-6)
    if quoted is not None:
        assert p["alpha"] == pytest.approx(quoted, rel=1e-3)
    sys_ = dh.system(P, True)
    x, params = np.array([[p["m"]]]), {"alpha": np.array([p["alpha"]]), "T": np.array([0.0])}
    assert sys_.F(x, params)[0, 0] == pytest.approx(p["m"], abs=1e-10)
    assert sys_.jacobian(x, params)[0, 0, 0] == pytest.approx(1.0, abs=1e-4)
    # the natural load alpha_c (P-1)! = erf(y*)^(2(P-1)) / (2 y*^2) falls only slowly with P
    assert 0.08 < p["alpha"] * math.factorial(P - 1) < 0.26


# --- the Curie-Weiss corner ---------------------------------------------------------------------

def curie_weiss(T):
    return optimize.brentq(lambda m: m - math.tanh(m / T), 1e-12, 1.0, xtol=1e-15)


def first_order_in_alpha(T):
    """m - m_CW to first order in alpha (derived for this test): with v = alpha q/(1 - C)^2,
    q = m^2, C = beta (1 - m^2) at alpha = 0, E tanh(beta(m + sqrt(v) z)) = tanh(beta m)
    - v beta^2 tanh(beta m) sech^2(beta m) + O(v^2), so
    dm = -alpha beta^2 m^3 (1 - m^2) / (1 - beta (1 - m^2))^3 (per unit alpha here)."""
    m, beta = curie_weiss(T), 1.0 / T
    return m, -beta**2 * m**3 * (1 - m**2) / (1 - beta * (1 - m**2)) ** 3


ALPHAS = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3)


def test_curie_weiss_corner_has_a_state_everywhere():
    """P = 2, 0 < alpha <= 1e-3, |T - 1| <= 0.03 (formerly a known solver limit): every point has
    a selectable state; above T_g = 1 + sqrt(alpha) the paramagnet, below it a frozen one."""
    T = np.round(np.arange(0.97, 1.03 + 1e-9, 0.0025), 6)
    TT, AA = np.meshgrid(T, ALPHAS, indexing="ij")
    data = dh.MODEL.problem({"P": 2}).solve({"alpha": AA.ravel(), "T": TT.ravel()})
    names = [ph.name for ph in dh.PHASES]
    assert (data["phase"] >= 0).all()
    Tg = 1 + np.sqrt(AA.ravel())
    state = np.array(names)[data["phase"]]
    assert (state[TT.ravel() > Tg + 1e-9] == "paramagnet").all()
    assert (state[TT.ravel() < Tg - 1e-9] != "paramagnet").all()


@pytest.mark.parametrize("alpha", ALPHAS)
def test_curie_weiss_corner_retrieval_against_curie_weiss(alpha):
    """Retrieval exists up to its spinodal T_M(alpha) ~ 1 - 1.95 sqrt(alpha) (AGS) and there m
    is the Curie-Weiss m = tanh(m/T) plus alpha dm (first order), to second order:
    |m - m_CW - alpha dm| <= 6 (alpha dm)^2 / m_CW where |alpha dm| <= m_CW / 20 (measured
    coefficient -3.3 as alpha -> 0, growing to -5 at |alpha dm| = m_CW / 20 by higher orders,
    which take over next to the spinodal)."""
    (spinodal,) = tl.line("dense-hopfield", "retrieval-spinodal", P=2, alpha=alpha).points
    T_M = spinodal["T"]
    assert T_M == pytest.approx(1 - 1.95 * math.sqrt(alpha), abs=0.2 * math.sqrt(alpha))
    T = np.round(np.arange(0.97, 1.0, 0.0025), 6)
    data = dh.MODEL.problem({"P": 2}).solve({"alpha": np.full(T.size, alpha), "T": T})
    found = data["retrieval_converged"]
    assert found[T < T_M - 2e-3].all() and not found[T > T_M + 2e-3].any()
    for t, m in zip(T[found], data["retrieval_m"][found], strict=True):
        m_cw, dm = first_order_in_alpha(t)
        first = alpha * dm
        assert abs(m - m_cw) <= 2 * abs(first) + 1e-12
        if abs(first) <= 0.05 * m_cw:
            assert m - m_cw - first == pytest.approx(0.0, abs=6 * first**2 / m_cw + 1e-12)


@pytest.mark.parametrize("alpha, T, phase", [(1e-4, 0.99, "spin-glass"),
                                             (1e-4, 1.01, "paramagnet"),
                                             (1e-3, 0.98, "spin-glass"),
                                             (1e-5, 0.99, "retrieval")])
def test_points_of_the_issue(alpha, T, phase):
    """Single solves at the issue's points (T_g = 1 + sqrt(alpha); T_M(1e-4) = 0.9804, so no
    retrieval at 0.99 there); the spin glass has q = T_g - T + O((T_g - T)^2) (its small-q
    expansion)."""
    sol = solve(T, P=2, alpha=alpha)
    assert sol.phase == phase
    Tg = 1 + math.sqrt(alpha)
    if phase == "spin-glass":
        assert sol.order_parameters["q"] == pytest.approx(Tg - T, abs=2 * (Tg - T) ** 2)


# --- where the RS paramagnet does not exist -----------------------------------------------------

def test_ags_paramagnet_is_undefined_below_T_1():
    """The AGS free energy holds ln(1 - beta (1 - q)): at q = 0 it is defined only for T > 1
    (alpha > 0). Below, the paramagnet is reported undefined with that reason; at alpha = 0
    (Curie-Weiss, the term carries alpha) and above T = 1 it is a branch."""
    with np.errstate(invalid="ignore"):
        f = derivation.equations(2).free_energy([0.0, 0.0, 0.0], {"alpha": 0.1, "T": 0.5})
    assert np.isnan(f)
    for T in (0.5, 1.0, 1e-300):
        sol = tl.solve("dense-hopfield", phase="paramagnet", P=2, alpha=0.1, T=T)
        assert not sol.converged and sol.phase is None
        assert "paramagnet undefined" in sol.message and "T > 1" in sol.message
        assert math.isnan(sol.residual) and sol.iterations == 0
    assert tl.solve("dense-hopfield", phase="paramagnet", P=2, alpha=0.1, T=1.2).converged
    assert tl.solve("dense-hopfield", phase="paramagnet", P=2, alpha=0.0, T=0.5).converged
    data = dh.MODEL.problem({"P": 2}).solve({"alpha": np.array([0.1, 0.1]),
                                            "T": np.array([0.5, 1.5])})
    assert data["paramagnet_status"][0] == UNDEFINED
    assert list(data["paramagnet_undefined"]) == [0, -1]


def test_paramagnet_is_undefined_at_zero_temperature(capsys):
    sol = tl.solve("dense-hopfield", phase="paramagnet", P=3, alpha=0.1, T=0)
    assert not sol.converged and "T = 0 equations have no paramagnet" in sol.message
    main(["solve", "dense-hopfield", "P=2", "alpha=0.1", "T=0.5", "--phase", "paramagnet"])
    out, err = capsys.readouterr()
    assert err == "" and "paramagnet undefined at this point" in out and "inf" not in out

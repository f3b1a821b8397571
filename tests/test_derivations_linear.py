"""The symbolic derivations of linear-network dynamics (derivations/linear_dynamics.py).

Each closed form is checked against the equation it solves, symbolically where sympy can and by
quadrature otherwise; spec ``linear-dynamics.md`` §1.2 and §2.2 give the targets.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad

from derivations import linear_dynamics as L


def test_two_layer_mode_ode_is_logistic():
    # spec §1.2: tau du/dt = 2u(s - u)
    assert sp.simplify(L.mode_ode(2) - 2 * L.u * (L.s - L.u) / L.tau) == 0


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_balanced_mode_ode_matches_layer_by_layer_derivation(depth):
    assert sp.simplify(L.mode_ode(depth) - L.mode_ode_from_layers(depth)) == 0


def test_general_depth_mode_ode():
    # spec §1.2 [DER]: tau du/dt = D u^(2-2/D) (s - u) from tau da/dt = a^(D-1)(s - a^D)
    assert sp.simplify(L.balanced_layer_flow() - L.a ** (L.D - 1) * (L.s - L.a**L.D) / L.tau) == 0
    expected = L.D * L.u ** (2 - 2 / L.D) * (L.s - L.u) / L.tau
    assert sp.simplify(sp.powsimp(L.mode_ode() - expected, force=True)) == 0


def test_two_layer_closed_form_solves_the_ode():
    residual, initial = L.check_two_layer_solution()
    assert residual == 0 and initial == 0
    growth = sp.exp(2 * L.s * L.t / L.tau)
    spec_form = L.s * growth / (growth - 1 + L.s / L.u0)       # spec §1.2
    assert sp.simplify(L.two_layer_solution() - spec_form) == 0
    decaying = L.two_layer_solution_decaying()
    assert not decaying.has(sp.exp(2 * L.s * L.t / L.tau))
    assert sp.simplify(decaying - spec_form) == 0


def test_partial_fractions_of_the_depth_integrand():
    assert L.check_partial_fractions() == 0


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_learning_time_antiderivative_differentiates_back(depth):
    assert L.check_learning_time(depth) == 0


@pytest.mark.slow
@pytest.mark.parametrize("depth", [5, 6, 8])
def test_learning_time_antiderivative_differentiates_back_deeper(depth):
    assert L.check_learning_time(depth) == 0


@pytest.mark.parametrize("depth", [2, 3, 5, 9, 16])
def test_learning_time_closed_form_equals_quadrature_of_the_ode(depth):
    s, u0, uf = 2.3, 1e-3, 1.7
    A = L.numeric_learning_time(depth)
    direct, _ = quad(lambda x: 1 / (depth * x ** (2 - 2 / depth) * (s - x)), u0, uf,
                     epsabs=1e-13, epsrel=1e-12, limit=200)
    assert A(uf, s) - A(u0, s) == pytest.approx(direct, rel=1e-10)


def test_spec_reference_learning_times():
    # spec §1.3 row 1 (s = 5, u0 = 1e-3, tau = 1): (1/10) ln 4999; row 3 (D = 3, s = 3): 3.136267
    A2, A3 = L.numeric_learning_time(2), L.numeric_learning_time(3)
    assert A2(2.5, 5.0) - A2(1e-3, 5.0) == pytest.approx(np.log(4999) / 10, rel=1e-13)
    assert A3(1.5, 3.0) - A3(1e-3, 3.0) == pytest.approx(3.136267, abs=5e-7)


def test_conserved_quantity_two_layers_general_correlations():
    # W21 W21ᵀ - W32ᵀ W32 on 3 inputs, 2 hidden, 2 outputs, with a symbolic symmetric Σ11
    (rate,) = L.conserved_rates((3, 2, 2))
    assert rate.shape == (2, 2)
    assert rate.is_zero_matrix


def test_conserved_quantities_three_layers():
    rates = L.conserved_rates((2, 2, 2, 2))
    assert len(rates) == 2 and all(r.is_zero_matrix for r in rates)


def test_theta_substitution_weight():
    assert L.check_theta_weight() == 0


@pytest.mark.parametrize("alpha", [0.3, 1.0, 2.5])
def test_theta_weight_integrates_to_the_bulk_mass(alpha):
    w = sp.lambdify((L.theta, L.alpha), L.theta_weight(), "numpy")
    mass, _ = quad(w, 0, np.pi / 2, args=(alpha,), epsabs=1e-14)
    assert mass == pytest.approx(min(1.0, alpha), rel=1e-12)


def test_mp_moments_by_residues():
    al = L.alpha
    assert sp.simplify(L.mp_moment(0, True) - al) == 0          # bulk mass alpha (atom 1-alpha)
    assert sp.simplify(L.mp_moment(0, False) - 1) == 0
    assert sp.simplify(L.mp_moment(1, True) - al) == 0          # mean eigenvalue: trace/N
    assert sp.simplify(L.mp_moment(1, False) - al) == 0
    assert sp.simplify(L.mp_moment(-1, True) - al / (1 - al)) == 0
    assert sp.simplify(L.mp_moment(-1, False) - 1 / (al - 1)) == 0


@pytest.mark.parametrize("alpha", [0.4, 3.0])
def test_inverse_moment_against_quadrature(alpha):
    lo, hi = (1 - np.sqrt(alpha)) ** 2, (1 + np.sqrt(alpha)) ** 2
    rho = sp.lambdify((L.lam, L.alpha), L.mp_density(), "numpy")
    direct, _ = quad(lambda x: rho(x, alpha) / x, lo, hi, epsabs=1e-13, limit=200)
    below = alpha < 1
    exact = float(L.mp_moment(-1, below).subs(L.alpha, alpha))
    assert direct == pytest.approx(exact, rel=1e-9)


def test_eigenmode_errors_limits():
    eg, et = L.eigenmode_errors()
    assert sp.simplify(eg.subs(L.t, 0) - L.S) == 0
    assert sp.simplify(et.subs(L.t, 0) - (L.S * L.lam + L.noise)) == 0
    assert sp.simplify(sp.limit(eg, L.t, sp.oo) - L.noise / L.lam) == 0
    assert sp.limit(et, L.t, sp.oo) == 0


def test_asymptotic_errors_match_the_spec():
    # spec §2.2: E_g(inf) = s² α/(α-1) (α > 1), s²/(1-α) + (1-α) S (α < 1); E_t(inf) = s²(1-1/α)₊
    al, S, n = L.alpha, L.S, L.noise
    (g_below, g_above), (t_below, t_above) = (L.asymptotic_errors()["E_g"],
                                              L.asymptotic_errors()["E_t"])
    assert sp.simplify(g_above - n * al / (al - 1)) == 0
    assert sp.simplify(g_below - (n / (1 - al) + (1 - al) * S)) == 0
    assert t_below == 0
    assert sp.simplify(t_above - n * (1 - 1 / al)) == 0


def test_errors_start_from_the_prior():
    # at t = 0: E_g = E_t = S + sigma_eps2 (nothing learned), for alpha on both sides of 1
    f = L.numeric_error_integrands()
    atoms = L.numeric_atoms()
    for alpha in (0.5, 2.0):
        branch = 0 if alpha < 1 else 1
        for name in ("E_g", "E_t"):
            bulk, _ = quad(f[name], 0, np.pi / 2, args=(alpha, 0.0, 1.0, 1.3, 0.2))
            total = bulk + atoms[name][branch](alpha, 1.3, 0.2)
            assert total == pytest.approx(1.5, rel=1e-12)


def test_rate_integrand_is_the_time_derivative():
    f = L.numeric_error_integrands()
    args = (0.8, 1.0, 1.0, 0.1)   # alpha, tau, S, noise around t = 3
    h = 1e-5

    def bulk(name, t):
        return quad(f[name], 0, np.pi / 2, args=(args[0], t, *args[1:]), epsabs=1e-14)[0]

    slope = (bulk("E_g", 3 + h) - bulk("E_g", 3 - h)) / (2 * h)
    assert bulk("dE_g/dt", 3.0) == pytest.approx(slope, rel=1e-6)

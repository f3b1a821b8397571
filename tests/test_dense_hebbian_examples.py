"""Example-retrieval states of the unsupervised dense Hebbian network (spec §7.1), on the kit.

Conventions: ``shared/specs/dense-hopfield.md`` §7 (unsupervised H = −(N/2)(1/M) Σ_{μ,a}
:(m_{μa}/r)^P:, K = αN^{P−1}, T = 1/β), exact average over the examples. The example states
(σ ≈ η^{1,1}: one distinguished example, overlap m_e, the other M − 1 symmetric, m_o) are the
spec's [DER, heuristic] bullet of §7.1; their equations are derived in
:func:`derivations.dense_hebbian.example_free_energy` (tested there, including the reduction to
the symmetric saddle at m_e = m_o = r n). Sources of the numbers: the spec's pure-configuration
energies −½[1 + (M−1) r^{2P}]/(M r^P) (example) and −½ (σ = ξ) at α = 0, T = 0, and the
closed forms of the majority-vote state of §7.3; the rest are this model's own values.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

import theorylab as tl
from theorylab.cli import main

P, R = 3, 0.5
EXACT = {"P": P, "r": R, "protocol": "unsupervised", "average": "exact"}


def pure_example_energy(M: int, r: float = R, p: int = P) -> float:
    """Spec §7.1: −½[1 + (M−1) r^{2P}]/(M r^P), σ = η^{1,1} at α = 0, T = 0."""
    return -0.5 * (1 + (M - 1) * r ** (2 * p)) / (M * r**p)


def test_cli_solve_example_retrieval(capsys):
    # P = 3, α = 0.001, T = 0.05, r = 0.5, M = 3: the example state is the pure example to
    # 1e-9 (every field has the sign of χ_1: (M − 1) r^4 < 1), f = −½(1 + 2/64)/(3/8) = −1.375
    # up to the noise's O(αβ e^{−β'...}) terms, and it is the thermodynamic state.
    code = main(["solve", "dense-hebbian", "P=3", "alpha=0.001", "T=0.05", "r=0.5", "M=3",
                 "protocol=unsupervised", "average=exact", "--phase", "example-retrieval",
                 "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    sol = json.loads(out)
    assert sol["converged"] and sol["stable"] and sol["phase"] == "example-retrieval"
    ops = sol["order_parameters"]
    assert ops["m_e"] == pytest.approx(1.0, abs=1e-9)
    assert ops["m_o"] == pytest.approx(R**2, abs=1e-9)
    assert ops["m"] == pytest.approx(R, abs=1e-9)  # the archetype overlap E χ_1 = r
    assert ops["n"] == pytest.approx((1 + 2 * R**2) / (3 * R), abs=1e-9)
    assert ops["q"] == pytest.approx(1.0, abs=1e-9)
    assert sol["free_energy"] == pytest.approx(pure_example_energy(3), abs=1e-12)
    best = tl.solve("dense-hebbian", alpha=0.001, T=0.05, M=3, **EXACT)
    assert best.phase == "example-retrieval"
    assert best.free_energy == pytest.approx(sol["free_energy"], abs=1e-14)
    archetype = tl.solve("dense-hebbian", phase="retrieval", alpha=0.001, T=0.05, M=3, **EXACT)
    assert archetype.converged and archetype.free_energy > best.free_energy + 0.3


@pytest.mark.parametrize(("alpha", "T"), [(0.0, 0.0), (0.001, 0.05)])
def test_selection_crossing_in_M(alpha, T):
    # P = 3, r = 0.5: the thermodynamic state is example retrieval for M <= 7 and archetype
    # retrieval for M >= 8, below the spec's heuristic crossing (1 + r^P)/r^P = 9 (pure
    # configurations σ = η^{1,1} against σ = ξ): the RS archetype state is the majority vote
    # (and for even M its zero-field sites follow the distinguished example), of energy below
    # −½. The example branch is the pure example for M <= 16 at α = 0, T = 0 (its energy the
    # spec's exactly) and within 1e-4 of it at α = 0.001, T = 0.05 (M <= 12).
    assert (1 + R**P) / R**P == 9
    for M in range(2, 13):
        sol = tl.solve("dense-hebbian", alpha=alpha, T=T, M=M, **EXACT)
        example = tl.solve("dense-hebbian", phase="example-retrieval", alpha=alpha, T=T, M=M,
                           **EXACT)
        assert sol.phase == ("example-retrieval" if M <= 7 else "retrieval"), M
        assert example.converged and example.stable
        assert example.free_energy == pytest.approx(pure_example_energy(M),
                                                    abs=1e-12 if alpha == 0 else 1e-4)
        if M >= 8:
            assert sol.free_energy < example.free_energy
            assert sol.order_parameters["m"] > 0.85


def _binomial(M: int, r: float = R):
    k = np.arange(M + 1)
    return (M - 2 * k) / (r * M), stats.binom.pmf(k, M, (1 - r) / 2)


def test_archetype_states_without_load():
    # α = 0, T = 0. Odd M = 9: the symmetric majority vote σ = sign χ̂, m_e = m_o = r E|χ̂|,
    # e = −½ (E|χ̂|)^3 = −0.5494268 (spec §7.3). Even M = 8: the symmetric state is unstable
    # to aligning its zero-field sites (χ̂ = 0, probability p₀ = C(8,4)(3/16)^4 = 0.0865) with
    # the distinguished example: m_e = r E|χ̂| + p₀, m_o = r E|χ̂| − p₀/(M − 1),
    # e = −(m_e³ + 7 m_o³)/(2 M r³) = −0.5563647, below the pure example's −0.5546875.
    chi, w = _binomial(9)
    odd = tl.solve("dense-hebbian", alpha=0.0, T=0.0, M=9, **EXACT)
    mean_abs = np.sum(w * np.abs(chi))
    assert odd.phase == "retrieval" and odd.stable
    assert odd.order_parameters["m_e"] == pytest.approx(R * mean_abs, abs=1e-9)
    assert odd.order_parameters["m_o"] == pytest.approx(R * mean_abs, abs=1e-9)
    assert odd.free_energy == pytest.approx(-0.5 * mean_abs**3, abs=1e-9)
    assert odd.free_energy == pytest.approx(-0.5494268, abs=1e-7)
    chi, w = _binomial(8)
    tie = math.comb(8, 4) * (3 / 16) ** 4
    m_e = R * np.sum(w * np.abs(chi)) + tie
    m_o = R * np.sum(w * np.abs(chi)) - tie / 7
    even = tl.solve("dense-hebbian", alpha=0.0, T=0.0, M=8, **EXACT)
    assert even.phase == "retrieval" and even.stable
    assert even.order_parameters["m_e"] == pytest.approx(m_e, abs=1e-9)
    assert even.order_parameters["m_o"] == pytest.approx(m_o, abs=1e-9)
    assert even.free_energy == pytest.approx(-(m_e**3 + 7 * m_o**3) / (2 * 8 * R**3), abs=1e-9)
    assert even.free_energy == pytest.approx(-0.5563647, abs=1e-7)


@pytest.mark.parametrize("data", [{"average": "gaussian", "rho": 0.3},
                                  {"average": "exact", "r": 0.5, "M": 1},
                                  {"average": "exact", "r": 0.5, "M": 3,
                                   "protocol": "supervised"}])
def test_example_phase_undefined_elsewhere(data):
    # Gaussian average, M = 1 and the supervised protocol: no example states (one
    # distinguished example needs the exact average over M >= 2 stored examples); the symmetric
    # saddle as before (variables (n, q), no m_e, m_o).
    params = {"P": 3, "alpha": 0.001, "T": 0.05, "protocol": "unsupervised", **data}
    sol = tl.solve("dense-hebbian", phase="example-retrieval", **params)
    assert not sol.converged and "undefined" in sol.message and "exact average" in sol.message
    best = tl.solve("dense-hebbian", **params)
    assert best.phase == "retrieval" and set(best.order_parameters) == {"m", "n", "q"}


def test_symmetric_branch_is_the_symmetric_saddle():
    # The unsupervised exact retrieval branch, now solved in (m_e, m_o, q), is the symmetric
    # saddle's state: m_e = m_o = r n with (n, q) the fixed point of the symmetric equations
    # (derivations.dense_hebbian), and m, f the same.
    from derivations import dense_hebbian as hebb

    point = {"alpha": 0.01, "T": 0.4, "r": 0.6, "M": 5}
    sol = tl.solve("dense-hebbian", phase="retrieval", P=3, protocol="unsupervised",
                   average="exact", **point)
    ops = sol.order_parameters
    assert sol.converged and sol.stable
    assert ops["m_e"] == pytest.approx(ops["m_o"], abs=1e-12)
    assert ops["m_e"] == pytest.approx(0.6 * ops["n"], abs=1e-12)
    eq = hebb.equations(3, "unsupervised", "exact")
    x = np.array([ops["n"], ops["q"]])
    np.testing.assert_allclose(eq.fixed_point(x, point), x, atol=1e-10)
    assert eq.overlap(x, point) == pytest.approx(ops["m"], abs=1e-10)
    assert eq.free_energy(x, point) == pytest.approx(sol.free_energy, abs=1e-10)


def test_example_energy_is_the_temperature_derivative():
    # u = f − T df/dT along the example branch (P = 3, α = 0.01, r = 0.6, M = 4, T = 0.5): the
    # model's u = −(m_e^P + (M−1) m_o^P)/(2 M r^P) − βαP!A_u(1 − q^P)/4 against differences.
    T, h = 0.5, 1e-4
    point = {"P": 3, "alpha": 0.01, "r": 0.6, "M": 4, "protocol": "unsupervised",
             "average": "exact"}

    def f(t):
        sol = tl.solve("dense-hebbian", phase="example-retrieval", T=t, **point)
        assert sol.converged and sol.order_parameters["m_e"] > 0.9
        return sol

    mid = f(T)
    slope = (f(T + h).free_energy - f(T - h).free_energy) / (2 * h)
    assert mid.energy == pytest.approx(mid.free_energy - T * slope, abs=1e-7)


@pytest.mark.parametrize("M", [3, 8])
def test_example_branch_ends(M):
    # The example branch's spinodals and its thermodynamic line (P = 3, r = 0.5; this model's
    # numbers): M = 3: at T = 0 it ends at α = 0.04308 and is the thermodynamic state below
    # α = 0.03066 (then the RS spin glass); at α = 0 it ends at T = 2.4002, thermodynamic below
    # T = 2.0519 (then the paramagnet). M = 8: it ends at α = 0.01120 (T = 0), T = 0.78477
    # (α = 0), and is nowhere the thermodynamic state (the archetype lies below).
    expected = {3: (0.043083, 2.400151), 8: (0.011202, 0.784773)}[M]
    params = {**EXACT, "M": M}
    (load,) = tl.line("dense-hebbian", "example-spinodal", T=0.0, **params).points
    (temperature,) = tl.line("dense-hebbian", "example-spinodal", alpha=0.0, **params).points
    assert load["found"] and temperature["found"]
    assert load["alpha"] == pytest.approx(expected[0], abs=2e-6)
    assert temperature["T"] == pytest.approx(expected[1], abs=2e-6)
    (first,) = tl.line("dense-hebbian", "example-thermodynamic", T=0.0, **params).points
    if M == 3:
        assert first["found"] and first["alpha"] == pytest.approx(0.030656, abs=2e-6)
        assert first["competitor"] == "spin-glass"
    else:
        assert not first["found"]
    (none,) = tl.line("dense-hebbian", "example-spinodal", T=0.0, P=3, rho=0.1).points
    assert not none["found"] and "exact average" in none["message"]


def test_monte_carlo_leaves_the_archetype_for_an_example():
    # P = 3, α = 0.001, T = 0.05, r = 0.5, M = 2: the symmetric (archetype) state is locally
    # unstable in the RS equations with one distinguished example and the thermodynamic state
    # is the pure example (m_e = 1, m_o = r², n = (1 + r²)/(2r) = 1.25, e = −2.03125). Exact
    # Metropolis (montecarlo.dense_hebbian) started on the archetype, N = 150, six chains, 200
    # sweeps: every chain ends on one example (max_a m_{0a} = 1; measured: 1.0 ± 0, energy
    # −1.9853 ± 0.0124, n = 1.242 ± 0.029 at seed 0). The energy is compared with the theory
    # times the finite-N factor Π_{k<P}(1 − k/N) (spec §8) within 3 stderr + 0.01.
    from montecarlo import dense_hebbian as mc

    point = {"alpha": 0.001, "T": 0.05, "M": 2}
    theory = tl.solve("dense-hebbian", **point, **EXACT)
    assert theory.phase == "example-retrieval"
    archetype = tl.solve("dense-hebbian", phase="retrieval", **point, **EXACT)
    assert archetype.converged and not archetype.stable
    N = 150
    result = mc.simulate(P, N, point["alpha"], point["T"], protocol="unsupervised", r=R, M=2,
                         chains=6, sweeps=200, start="archetype", seed=0)
    obs = result.observables
    assert obs["example_max"].mean > 0.99
    finite_n = (1 - 1 / N) * (1 - 2 / N)
    assert abs(obs["energy"].mean - finite_n * theory.energy) <= 3 * obs["energy"].stderr + 0.01
    assert abs(obs["n"].mean - theory.order_parameters["n"]) <= 3 * obs["n"].stderr + 0.02

"""Gaussian expectations: exactness, closed forms, mpmath references, node convergence."""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from theorylab.gaussian import (
    DEFAULT_NODES,
    H,
    expect,
    gauss_hermite,
    log_2cosh,
    log_H,
    quadrature,
)

means = st.floats(-5.0, 5.0)
variances = st.floats(1e-8, 1e2)


def reference(g, mean: float, var: float, beta: float) -> float:
    """E[g(h)] by mpmath quad (30 digits), split at 0 and at the Gaussian's scales."""
    with mp.workdps(30):
        mu, s, b = mp.mpf(mean), mp.sqrt(var), mp.mpf(beta)
        cuts = {mu + k * s for k in (-12, -6, -3, -1, 0, 1, 3, 6, 12)}
        cuts |= {k / b for k in (-30, -3, -1, 0, 1, 3, 30)}
        points = [-mp.inf, *sorted(cuts), mp.inf]
        return float(mp.quad(lambda h: g(h) * mp.npdf(h, mu, s), points))


# (mean, var): breakpoint at the mean, a few standard deviations away, and far in the tail;
# variances from 1e-6 to 4.
GAUSSIANS = [(0.0, 1.0), (0.3, 0.01), (0.9, 0.02), (-0.5, 2.0), (1e-3, 1e-2), (0.5, 0.5),
             (1e-4, 1e-6), (0.05, 4.0), (0.01, 1e-4), (2.0, 0.1)]
BETAS = [1.0, 10.0, 100.0, 1000.0]


def test_zero_variance_is_exact():
    mean = np.array([-1.3, 0.0, 2e-4, 0.7])
    for g in (lambda h: np.tanh(1e3 * h), np.abs, np.sin, lambda h: h**2):
        np.testing.assert_array_equal(expect(g, mean, 0.0), g(mean))


def test_grid_broadcasting():
    mean = np.linspace(-1, 1, 3)[:, None]
    var = np.array([[0.0, 0.1, 1.0, 10.0]])
    result = expect(lambda h: h**2, mean, var)
    assert result.shape == (3, 4)
    np.testing.assert_allclose(result, mean**2 + var, rtol=1e-13)


@settings(max_examples=200, deadline=None)
@given(means, variances)
def test_second_moment(mean, var):
    assert expect(lambda h: h**2, mean, var) == pytest.approx(mean**2 + var, rel=1e-13)
    assert expect(lambda h: np.ones_like(h), mean, var) == pytest.approx(1.0, rel=1e-15)


@settings(max_examples=200, deadline=None)
@given(means, variances)
def test_absolute_value_closed_form(mean, var):
    # E|h| = s √(2/π) exp(−μ²/2s²) + μ erf(μ/(√2 s)), h ~ N(μ, s²)
    s = math.sqrt(var)
    exact = s * math.sqrt(2 / math.pi) * math.exp(-(mean**2) / (2 * var)) + mean * math.erf(
        mean / (math.sqrt(2) * s))
    assert expect(np.abs, mean, var) == pytest.approx(exact, rel=1e-13, abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(st.floats(-2.0, 2.0), st.floats(0.3, 2.0))
def test_tanh_at_large_beta_against_erf(mean, s):
    # E tanh(βh) = erf(μ/(√2 s)) − (π²/12β²) p'(0) + O(β⁻⁴), p the density of h: the step
    # limit plus its first correction (∫_0^∞ x(1 − tanh x) dx = π²/24); the next term, of order
    # p'''(0)/β⁴, is below 1e-10 for s >= 0.3.
    beta = 1000.0
    density_slope = mean / s**2 * math.exp(-(mean**2) / (2 * s**2)) / (s * math.sqrt(2 * math.pi))
    exact = math.erf(mean / (math.sqrt(2) * s)) - math.pi**2 / (12 * beta**2) * density_slope
    assert expect(lambda h: np.tanh(beta * h), mean, s**2) == pytest.approx(exact, abs=1e-10)


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize(("mean", "var"), GAUSSIANS)
def test_tanh_against_mpmath(mean, var, beta):
    exact = reference(lambda h: mp.tanh(beta * h), mean, var, beta)
    tolerance = 1e-13 if beta * math.sqrt(var) <= 10 else 3e-12
    assert expect(lambda h: np.tanh(beta * h), mean, var) == pytest.approx(exact, abs=tolerance)


@pytest.mark.parametrize("beta", [1.0, 1000.0])
@pytest.mark.parametrize(("mean", "var"), GAUSSIANS[:6])
def test_log_2cosh_and_tanh_squared_against_mpmath(mean, var, beta):
    exact = reference(lambda h: mp.log(2 * mp.cosh(beta * h)) / beta, mean, var, beta)
    assert expect(lambda h: log_2cosh(beta * h) / beta, mean, var) == pytest.approx(
        exact, rel=1e-12, abs=1e-14)
    exact = reference(lambda h: mp.tanh(beta * h) ** 2, mean, var, beta)
    assert expect(lambda h: np.tanh(beta * h) ** 2, mean, var) == pytest.approx(exact, abs=3e-11)


def test_convergence_in_node_count():
    # A hard case at β = 1000 (breakpoint three standard deviations below the mean, β·s = 100):
    # the error falls by an order of magnitude or more at each step in the node count.
    mean, var, beta = 0.3, 0.01, 1000.0
    exact = reference(lambda h: mp.tanh(beta * h), mean, var, beta)
    errors = [abs(expect(lambda h: np.tanh(beta * h), mean, var, nodes=n) - exact)
              for n in (32, 64, 128, 200, 256, 320)]
    assert errors[0] > 1e-6
    assert all(later < earlier / 10 for earlier, later in itertools.pairwise(errors))
    assert errors[-1] < 1e-13


def test_smooth_integrands_need_few_nodes():
    exact = reference(lambda h: mp.tanh(h), 0.4, 0.8, 1.0)
    assert expect(np.tanh, 0.4, 0.8, nodes=128) == pytest.approx(exact, abs=3e-14)


def test_quadrature_rejects_bad_input():
    with pytest.raises(ValueError, match="nodes"):
        quadrature(0.0, 1.0, nodes=7)
    with pytest.raises(ValueError, match="var"):
        quadrature(0.0, -1.0)
    h, w = quadrature([0.0, 1.0], [1.0, 0.0])
    assert h.shape == w.shape == (2, DEFAULT_NODES)


def test_breakpoint_away_from_zero():
    # A step at h = 0.25: E[sign(h − 0.25)] = 1 − 2Φ((0.25 − μ)/s).
    mean, var = 0.1, 0.3
    exact = 1 - 2 * special.ndtr((0.25 - mean) / math.sqrt(var))
    assert expect(lambda h: np.sign(h - 0.25), mean, var, breakpoint=0.25) == pytest.approx(
        exact, abs=1e-15)


def test_gauss_hermite_moments():
    z, w = gauss_hermite(40)
    assert w.sum() == pytest.approx(1.0, rel=1e-14)
    for k in range(1, 20):  # E z^{2k} = (2k − 1)!!
        assert np.sum(w * z ** (2 * k)) == pytest.approx(special.factorial2(2 * k - 1), rel=1e-11)
        assert abs(np.sum(w * z ** (2 * k - 1))) < 1e-10 * special.factorial2(2 * k - 1)


def test_tail_and_log_cosh():
    assert H(0.0) == 0.5
    assert H(np.array([-40.0, 40.0])) == pytest.approx([1.0, float(mp.ncdf(-40))], rel=1e-14)
    x = np.array([-3.0, 0.0, 5.0, 40.0, 1e3])
    with mp.workdps(40):
        exact = [float(mp.log(mp.ncdf(-mp.mpf(v)))) for v in x]
    np.testing.assert_allclose(log_H(x), exact, rtol=1e-14)
    x = np.array([-1e300, -800.0, -1.0, 0.0, 1e-8, 2.5, 800.0, 1e300])
    with mp.workdps(40):
        exact = [float(mp.log(2 * mp.cosh(mp.mpf(v)))) for v in x]
    np.testing.assert_allclose(log_2cosh(x), exact, rtol=1e-15)

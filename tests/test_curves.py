"""Transition lines traced as curves, against lines known in closed form."""

import numpy as np
import pytest
from scipy import optimize

from theorylab import curves

BOX = {"lower": (-1.5, 0.05), "upper": (1.5, 1.5)}


def curie_weiss(x, h, T):
    """m = tanh((m + h) / T): the mean-field ferromagnet in a field, a = h, b = T."""
    return np.tanh((x + h) / T)


def curie_weiss_jac(x, h, T):
    return np.array([[(1 - np.tanh((x[0] + h) / T) ** 2) / T]])


def curie_weiss_f(x, h, T):
    """Free energy per spin at the fixed point: m^2 / 2 - T log(2 cosh((m + h) / T))."""
    return 0.5 * x[0] ** 2 - T * np.log(2 * np.cosh((x[0] + h) / T))


def spinodal_h(m):
    """Fold of the m > 0 branch, parametrised by m: T = 1 - m^2, h = T artanh(m) - m."""
    return (1 - m**2) * np.arctanh(m) - m


def spinodal_seed(T, offset=1e-3):
    m = np.sqrt(1 - T)
    return np.array([m + offset, spinodal_h(m) - offset, T])


def assert_on_spinodal(y, atol=1e-8):
    m, h, T = y[:, 0], y[:, 1], y[:, 2]
    np.testing.assert_allclose(m**2, 1 - T, atol=atol)
    np.testing.assert_allclose(h, T * np.arctanh(m) - m, atol=atol)


def ellipse_map(x, a, b):
    """x = x + (x - ab)^2 / 2 + g(a, b) / 2: fixed points x = ab +- sqrt(-g), folds on g = 0.

    g = ((a - 0.5) / 0.3)^2 + ((b - 0.5) / 0.1)^2 - 1, so the fold line is an ellipse: a line
    a = const inside it is crossed twice (a re-entrant line).
    """
    return x + 0.5 * ((x - a * b) ** 2 + ellipse_g(a, b))


def ellipse_g(a, b):
    return ((a - 0.5) / 0.3) ** 2 + ((b - 0.5) / 0.1) ** 2 - 1


ELLIPSE_SEED = np.array([0.25, 0.5, 0.4 + 1e-3])
UNIT_BOX = {"lower": (0.0, 0.0), "upper": (1.0, 1.0)}


def test_spinodal_of_curie_weiss_runs_from_the_box_to_the_cusp():
    G = curves.fold_system(curie_weiss, 1, curie_weiss_jac)
    curve = curves.trace_both(G, spinodal_seed(0.5), **BOX)
    assert curve.ends == ("box", "cusp")
    assert curve.converged.all()
    assert_on_spinodal(curve.y)
    # Clipped exactly on T = 0.05, at the closed-form h there.
    assert curve.b[0] == 0.05
    assert curve.a[0] == pytest.approx(spinodal_h(np.sqrt(0.95)), abs=1e-9)
    # The cusp is the critical point (h, T) = (0, 1), where the m > 0 and m < 0 spinodals meet.
    assert curve.a[-1] == pytest.approx(0.0, abs=1e-9)
    assert curve.b[-1] == pytest.approx(1.0, abs=1e-9)
    assert curve.y[-1, 0] == pytest.approx(0.0, abs=1e-5)
    assert "cusp" in curve.message and "box" in curve.message
    # Towards the cusp the curve turns in m only: its points crowd in the (h, T) plane. In box
    # units, count the points within 0.02 of the cusp and of the middle of the line.
    ab = np.column_stack([curve.a / 3.0, curve.b / 1.45])
    step = np.linalg.norm(np.diff(ab, axis=0), axis=1)
    assert (np.diff(step[-4:]) < 0).all() and step[-1] < 0.1 * np.median(step)
    middle = ab[np.argmin(np.abs(curve.b - 0.25))]  # away from the seed's first short steps
    assert (np.linalg.norm(ab - ab[-1], axis=1) < 0.02).sum() >= 4
    assert (np.linalg.norm(ab - middle, axis=1) < 0.02).sum() <= 2


def test_spinodal_from_a_finite_difference_jacobian_in_rotated_coordinates():
    # Two order parameters, rotated so the fold's null vector is (1, -1)/sqrt(2): the borders
    # come from the seed's singular vectors. m is Curie-Weiss, w = w/2 + 0.1 sits at 0.2.
    R = np.array([[1.0, 1.0], [-1.0, 1.0]]) / np.sqrt(2)

    def F(x, h, T):
        m, w = R.T @ x
        return R @ np.array([np.tanh((m + h) / T), 0.5 * w + 0.1])

    m0 = np.sqrt(0.6)
    seed = np.array([*(R @ [m0, 0.2]), spinodal_h(m0), 0.4])
    G = curves.fold_system(F, 2, seed=seed)
    curve = curves.trace_both(G, seed + 1e-3, **BOX)
    assert curve.ends == ("box", "cusp")
    mw = curve.y[:, :2] @ R  # rows R^T x
    np.testing.assert_allclose(mw[:, 1], 0.2, atol=1e-8)
    assert_on_spinodal(np.column_stack([mw[:, 0], curve.y[:, 2:]]))


def test_locate_and_intersect_agree_with_the_traced_spinodal():
    G = curves.fold_system(curie_weiss, 1, curie_weiss_jac)
    curve = curves.trace_both(G, spinodal_seed(0.5), **BOX)
    for i in range(1, curve.y.shape[0] - 1, 5):
        point = curves.locate(G, curve.y[i] + 2e-3, "b", curve.b[i])
        assert point.converged and point.b == curve.b[i]
        np.testing.assert_allclose(point.y, curve.y[i], atol=1e-8)
        point = curves.locate(G, curve.y[i] - 2e-3, "a", curve.a[i])
        np.testing.assert_allclose(point.y, curve.y[i], atol=1e-8)
    (hit,) = curves.intersect(curve, "b", 0.5)
    assert hit.converged
    assert hit.a == pytest.approx(spinodal_h(np.sqrt(0.5)), abs=1e-10)


def test_first_order_line_of_curie_weiss_ends_where_the_branches_merge():
    G = curves.crossing_system(curie_weiss, 1, curie_weiss, 1, curie_weiss_f, curie_weiss_f)
    m0 = optimize.brentq(lambda m: m - np.tanh(m / 0.5), 0.5, 1.0)
    curve = curves.trace_both(G, np.array([m0, -m0, 0.01, 0.5]), **BOX)
    assert curve.ends == ("box", "merged")
    assert G.kind == "first-order"
    assert curve.converged.all()
    # h = 0 for T < 1, the two states being m0(T) and -m0(T).
    np.testing.assert_allclose(curve.a, 0.0, atol=1e-8)
    m1, m2, T = curve.y[:, 0], curve.y[:, 1], curve.b
    assert (m1 > 0).all()
    # Each state solves its branch equation to the residual tol; near the critical point the
    # branch is marginal, d(m - tanh(m/T))/dm = 1 - (1 - m^2)/T ~ 2 m^2 / 3, so m is known to
    # tol / that (as for the saddle-point solver next to beta = 1).
    slope = 1 - (1 - m1**2) / T
    assert (np.abs(m1 + m2) <= np.maximum(1e-8, 2 * curve.tol / slope)).all()
    np.testing.assert_allclose(m1, np.tanh(m1 / T), atol=curve.tol)
    assert curve.b[0] == 0.05
    # The end: the states within merge_tol = 1e-2 of each other, m1 ~ sqrt(3 (1 - T)).
    assert 1 - 1e-4 < curve.b[-1] < 1
    assert m1[-1] - m2[-1] == pytest.approx(1e-2, rel=1e-3)


def test_paramagnet_of_curie_weiss_loses_stability_on_T_equal_J():
    # m = tanh(J m / T); the branch m = 0 is a point (a subspace of dimension 0).
    def F(x, J, T):
        return np.tanh(J * x / T)

    def jac(x, J, T):
        return np.array([[(1 - np.tanh(J * x[0] / T) ** 2) * J / T]])

    paramagnet = curves.Subspace(F=lambda z, J, T: z, n=0, embed=lambda z: np.zeros(1))
    G = curves.eigenvalue_system(F, 1, jac, embed=paramagnet)
    curve = curves.trace_both(G, np.array([0.5, 0.52]), lower=(0.2, 0.05), upper=(2.0, 1.5))
    assert curve.ends == ("box", "box")
    np.testing.assert_allclose(curve.b, curve.a, atol=1e-10)
    np.testing.assert_allclose(curve.y[[0, -1]], [[0.2, 0.2], [1.5, 1.5]], atol=1e-10)


def test_paramagnet_of_two_coupled_magnets_loses_stability_on_a_curve():
    # m1 = tanh((m1 + a m2)/T), m2 = tanh(a m1/T): at m = 0, J = [[1, a], [a, 0]] / T, whose
    # leading eigenvalue reaches one at T = (1 + sqrt(1 + 4 a^2)) / 2.
    def F(x, a, T):
        return np.tanh(np.array([x[0] + a * x[1], a * x[0]]) / T)

    paramagnet = curves.Subspace(F=lambda z, a, T: z, n=0, embed=lambda z: np.zeros(2))
    G = curves.eigenvalue_system(F, 2, embed=paramagnet)
    curve = curves.trace_both(G, np.array([1.0, 1.6]), lower=(0.0, 0.05), upper=(2.0, 3.0))
    assert curve.ends == ("box", "box")
    np.testing.assert_allclose(curve.b, (1 + np.sqrt(1 + 4 * curve.a**2)) / 2, atol=1e-8)
    assert curve.a[0] == 0.0 and curve.a[-1] == 2.0


def test_symmetric_state_loses_stability_in_the_antisymmetric_direction():
    # m1 = tanh((m1 + c m2)/T), m2 = tanh((m2 + c m1)/T). On the symmetric branch m1 = m2 = m,
    # m = tanh((1 + c) m / T), J = (1 - m^2) [[1, c], [c, 1]] / T; for c < 0 the leading
    # eigenvalue is the antisymmetric one, (1 - m^2)(1 - c) / T. With u = artanh(m) the line is
    # c = (1 - m^2 - m/u) / (1 - m^2 + m/u), T = (1 + c) m / u.
    def F(x, c, T):
        return np.tanh((x + c * x[::-1]) / T)

    symmetric = curves.Subspace(F=lambda z, c, T: np.tanh((1 + c) * z / T), n=1,
                                embed=lambda z: np.array([z[0], z[0]]))
    G = curves.eigenvalue_system(F, 2, embed=symmetric)
    m = np.tanh(1.0)
    c = (1 - m**2 - m) / (1 - m**2 + m)
    seed = np.array([m + 1e-3, c, (1 + c) * m - 1e-3])
    curve = curves.trace_both(G, seed, lower=(-0.9, 0.05), upper=(-0.05, 1.5))
    assert curve.ends == ("box", "box")
    assert curve.b[0] == 0.05 and curve.a[-1] == -0.05
    m = curve.y[:, 0]
    u = np.arctanh(m)
    c = (1 - m**2 - m / u) / (1 - m**2 + m / u)
    np.testing.assert_allclose(curve.a, c, atol=1e-8)
    np.testing.assert_allclose(curve.b, (1 + c) * m / u, atol=1e-8)


def test_eigenvalue_system_without_subspace_is_the_fold_line():
    G = curves.eigenvalue_system(curie_weiss, 1, curie_weiss_jac)
    curve = curves.trace_both(G, spinodal_seed(0.5), **BOX)
    assert curve.ends == ("box", "cusp")
    assert_on_spinodal(curve.y)


def test_reentrant_line_is_closed_and_crossed_twice():
    G = curves.fold_system(ellipse_map, 1)
    curve = curves.trace_both(G, ELLIPSE_SEED, **UNIT_BOX)
    assert curve.ends == ("closed", "closed")
    np.testing.assert_array_equal(curve.y[0], curve.y[-1])
    x, a, b = curve.y.T
    np.testing.assert_allclose(ellipse_g(a, b), 0.0, atol=1e-8)
    np.testing.assert_allclose(x, a * b, atol=1e-8)
    # Re-entrance: a = 0.65 is crossed at b = 0.5 +- 0.1 sqrt(3)/2, b = 0.5 at a = 0.2 and 0.8.
    hits = curves.intersect(curve, "a", 0.65)
    assert all(p.converged for p in hits)
    np.testing.assert_allclose(sorted(p.b for p in hits), 0.5 + np.array([-1, 1]) * 0.05 * 3**0.5,
                               atol=1e-10)
    hits = curves.intersect(curve, "b", 0.5)
    np.testing.assert_allclose(sorted(p.a for p in hits), [0.2, 0.8], atol=1e-10)
    # Adaptive steps: short at the tips (radius of curvature 0.1^2/0.3), long on the flanks.
    step = np.hypot(np.diff(a), np.diff(b))
    tips = np.abs(a[1:] - 0.5) > 0.28
    far_flank = (np.abs(a[1:] - 0.5) < 0.1) & (b[1:] > 0.5)  # away from the seed's first steps
    assert step[tips].max() < 0.25 * step[far_flank].min()


def test_steps_follow_the_box_not_the_units_of_the_parameters():
    def stretched(x, a, b):  # the same map with a in units a thousand times smaller
        return ellipse_map(x, a / 1000, b)

    curve = curves.trace(curves.fold_system(ellipse_map, 1), ELLIPSE_SEED, **UNIT_BOX)
    seed = ELLIPSE_SEED * [1, 1000, 1]
    wide = curves.trace(curves.fold_system(stretched, 1), seed, lower=(0, 0), upper=(1000, 1))
    assert wide.ends == curve.ends == ("closed", "closed")
    # The same sampling (up to the rounding that a / 1000 brings into the step control), and
    # every point on the line.
    assert wide.y.shape == curve.y.shape
    np.testing.assert_allclose(wide.a / 1000, curve.a, atol=1e-3)
    np.testing.assert_allclose(wide.b, curve.b, atol=1e-3)
    np.testing.assert_allclose(ellipse_g(wide.a / 1000, wide.b), 0.0, atol=1e-8)


def test_line_ends_at_the_edge_of_the_map_domain():
    def cut(x, a, b):
        return ellipse_map(x, a, b) if a <= 0.7 else np.full_like(x, np.nan)

    curve = curves.trace_both(curves.fold_system(cut, 1), ELLIPSE_SEED, **UNIT_BOX)
    assert curve.ends == ("domain", "domain")
    assert curve.converged.all()
    assert (curve.a <= 0.7).all()
    np.testing.assert_allclose(curve.a[[0, -1]], 0.7, atol=1e-5)
    assert "domain" in curve.message


def test_step_budget_is_reported():
    G = curves.fold_system(curie_weiss, 1, curie_weiss_jac)
    curve = curves.trace(G, spinodal_seed(0.5), max_steps=3, **BOX)
    assert curve.ends == ("seed", "max_steps")
    assert curve.y.shape == (4, 3)
    assert "budget" in curve.message


def test_failures_are_reported_not_raised():
    def no_fixed_point(x, a, b):
        return x + 1.0

    curve = curves.trace_both(curves.fold_system(no_fixed_point, 1), np.array([0.0, 0.5, 0.5]),
                              **UNIT_BOX)
    assert curve.y.shape == (0, 3) and curve.ends == ("seed", "seed")
    assert "did not converge" in curve.message

    def nowhere(x, a, b):
        return np.full_like(x, np.nan)

    curve = curves.trace(curves.fold_system(nowhere, 1), np.array([0.0, 0.5, 0.5]), **UNIT_BOX)
    assert curve.y.shape == (0, 3) and "did not converge" in curve.message
    outside = curves.trace(curves.fold_system(curie_weiss, 1), spinodal_seed(0.5),
                           lower=(-1.0, 0.6), upper=(1.0, 1.5))
    assert outside.y.shape == (0, 3) and "outside the box" in outside.message
    point = curves.locate(curves.fold_system(no_fixed_point, 1), np.zeros(3), "a", 0.5)
    assert not point.converged and "did not converge" in point.message
    assert curves.intersect(curve, "a", 0.5) == ()


def test_bad_input_is_an_error():
    G = curves.fold_system(curie_weiss, 1, curie_weiss_jac)
    with pytest.raises(ValueError, match="'a' or 'b'"):
        curves.locate(G, spinodal_seed(0.5), "T", 0.5)
    with pytest.raises(ValueError, match="3 coordinates"):
        curves.trace(G, np.zeros(4), **BOX)
    with pytest.raises(ValueError, match="upper > lower"):
        curves.trace(G, spinodal_seed(0.5), lower=(0.0, 1.0), upper=(1.0, 0.5))

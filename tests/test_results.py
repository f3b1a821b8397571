"""Result containers: the mean and standard error over independent runs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from theorylab.results import Estimate, mean_and_stderr


def test_mean_and_stderr_over_runs():
    values = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])
    mean, stderr = mean_and_stderr(values)
    np.testing.assert_allclose(mean, [7 / 3, 70 / 3])
    np.testing.assert_allclose(stderr, values.std(axis=0, ddof=1) / math.sqrt(3))


def test_one_run_has_no_error_and_no_runs_have_neither():
    assert Estimate.from_samples([2.5]).mean == 2.5
    assert math.isnan(Estimate.from_samples([2.5]).stderr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no "mean of empty slice"
        empty = Estimate.from_samples(np.array([]))
        mean, stderr = mean_and_stderr(np.zeros((3, 0)), axis=1)
    assert math.isnan(empty.mean) and math.isnan(empty.stderr)
    assert mean.shape == stderr.shape == (3,) and np.isnan(mean).all()
    assert np.isnan(stderr).all()


def test_stderr_scales_as_one_over_root_n():
    rng = np.random.default_rng(0)
    small = mean_and_stderr(rng.normal(size=400))[1]
    large = mean_and_stderr(rng.normal(size=40000))[1]
    assert small / large == pytest.approx(10.0, rel=0.05)

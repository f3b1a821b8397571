"""The recipe ``curl-descent-2025`` (papers/curl_descent_2025.py): reference rows and output.

The references are the spec's own computations ([NUM]) and derivations ([DER]) and the
authors' printed means (their fig5bc notebook); the paper's body could not be read.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from papers import curl_descent_2025 as recipe


def test_threshold_rows_agree_with_the_spec():
    rows = recipe._threshold_rows()
    assert len(rows) == 15
    for row in rows:
        assert row.agrees, (row.quantity, row.spec, row.ours)


def test_sizes_follow_the_authors_c_sweeps():
    """M + N = 220 up to flooring: N = floor(220/(1 + c)), M = floor(220/(1 + 1/c))."""
    assert recipe.sweep_sizes(1.0) == (110, 110)
    assert recipe.sweep_sizes(0.01) == (2, 217)
    for c in np.geomspace(0.01, 100, 13):
        M, N = recipe.sweep_sizes(c)
        assert 218 <= M + N <= 220


def test_resolved_cells_are_on_the_theory_side():
    c, alphas = np.geomspace(0.1, 10, 5), np.linspace(0, 1, 11)
    stable, unstable = recipe._resolved(c, "alpha_h", alphas)
    star = recipe.threshold(c, "alpha_h")[:, None]
    assert not (stable & unstable).any()
    assert (alphas[None, :] <= star)[stable].all() and (alphas[None, :] >= star)[unstable].all()


def test_ratio_row_is_a_ratio_of_means_with_a_delta_method_error():
    gd, curl = np.array([3000.0, 2000.0, 4000.0]), np.array([1000.0, 1200.0, 800.0])
    row = recipe._ratio_row(np.array([gd, curl]), 6000)
    assert row.ours == pytest.approx(3.0)
    relative = np.hypot(gd.std(ddof=1) / 3000, curl.std(ddof=1) / 1000) / np.sqrt(3)
    assert row.stderr == pytest.approx(3.0 * relative)
    assert row.spec == pytest.approx(2972 / 1090)


@pytest.mark.slow
def test_quick_reproduction_writes_figures_and_an_agreeing_report(tmp_path):
    paths = recipe.reproduce(tmp_path, quick=True)
    names = {p.name for p in paths}
    for stem in ("theory", "spectra", "heatmaps", "q", "speedup"):
        assert {f"ninou2025_{stem}.png", f"ninou2025_{stem}.pdf",
                f"ninou2025_{stem}.nc"} <= names
    reference = xr.open_dataset(tmp_path / "ninou2025_reference.nc", engine="scipy")
    assert bool(reference["agrees"].all())

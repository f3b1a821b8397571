"""The recipe ``rsb-dense-2022`` (papers/rsb_dense_2022.py): its reference rows and its output.

The references are the spec's own computations and classic literature values (the paper's body
could not be read, spec §6); each row's tolerance is the precision the value is printed to.
"""

from __future__ import annotations

import pytest
import xarray as xr

from papers import rsb_dense_2022 as recipe
from theorylab import rsb


def test_state_rows_agree_with_the_spec():
    rows = recipe._state_rows()
    assert len(rows) == 5
    for row in rows:
        assert row.agrees, (row.quantity, row.spec, row.ours)


def test_capacity_rows_agree_and_1rsb_exceeds_rs():
    capacities = {P: rsb.capacity_1rsb(P) for P in (3, 4)}
    for row in recipe._capacity_rows(capacities):
        assert row.agrees, (row.quantity, row.spec, row.ours)
    assert all(c.alpha_c > c.alpha_rs for c in capacities.values())


@pytest.mark.slow
def test_quick_reproduction_writes_figures_and_an_agreeing_report(tmp_path):
    paths = recipe.reproduce(tmp_path, quick=True)
    names = {p.name for p in paths}
    for stem in ("albanese2022_capacity", "albanese2022_diagram_P4", "albanese2022_overlaps"):
        assert {f"{stem}.png", f"{stem}.pdf", f"{stem}.nc"} <= names
    reference = xr.open_dataset(tmp_path / "albanese2022_reference.nc", engine="scipy")
    assert bool(reference["agrees"].all())
    diagram = xr.open_dataset(tmp_path / "albanese2022_diagram_P4.nc", engine="scipy")
    assert "retrieval-spinodal-1rsb" in diagram.attrs["lines"]
    assert "retrieval-at" in diagram.attrs["lines"]

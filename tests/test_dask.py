"""Sweeps on a Dask cluster: the same netCDF as local processes, for every diagram-capable model.

Needs the ``dask`` extra (``pip install -e ".[dev,dask]"``, which ``.ci/run`` installs); without
it these tests are skipped with that reason.
"""

import pytest
import xarray as xr

from theorylab.cli import main

pytest.importorskip("distributed", reason="the dask extra is not installed")

# A small diagram of every model with one: (model, its parameters).
SMALL = {
    "dense-hopfield": ["P=2", "alpha=0:0.2:6", "T=0:1.5:5"],
    "multitasking": ["K=2", "d=0:1:6", "T=0:1:5"],
    "dense-hebbian": ["P=3", "rho=0.1", "alpha=0:0.12:6", "T=0:0.6:5"],
    "generalization-dynamics": ["alpha=0.2:3:6", "t=0.1:100:5"],
    "deep-linear": ["s=0.5:4:6", "t=0:6:5"],
}


def _diagram(tmp_path, name, model, *executor):
    out = tmp_path / name
    code = main(["diagram", model, *SMALL[model], "--out", str(out), "--no-progress",
                 *executor])
    assert code == 0
    (nc,) = out.glob("*.nc")
    assert not list(out.glob(".sweep-*")), "a finished sweep removes its store"
    with xr.open_dataset(nc, engine="scipy") as ds:
        return ds.load()


@pytest.mark.parametrize("model", SMALL)
def test_local_cluster_gives_the_netcdf_of_local_processes(tmp_path, model):
    dask = _diagram(tmp_path, "dask", model, "--scheduler", "local:2")
    pool = _diagram(tmp_path, "pool", model, "--workers", "2")
    # everything but the command line that made each file
    assert "--scheduler local:2" in dask.attrs.pop("command")
    assert "--workers 2" in pool.attrs.pop("command")
    xr.testing.assert_identical(dask, pool)

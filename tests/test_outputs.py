"""Safe outputs: --out checked before any work, stores keyed by the code, shards and merge,
file names that keep different grids apart, exports of lines, redrawing without recomputing."""

import dataclasses
import json
import sys

import numpy as np
import pytest
import xarray as xr

from theorylab import sweep
from theorylab.cli import main
from theorylab.models import get

GRID = ["P=2", "alpha=0:0.2:5", "T=0:1.5:4"]
# a plane without lines (seconds, not tens of seconds), where the lines do not matter
PLANE = ["multitasking", "K=2", "protocol=supervised", "d=0.5", "rho=0:1:5"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _refused(capsys, argv, names):
    """One line naming ``names`` on standard error, exit 2, nothing on standard output."""
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("theorylab: error:"), err
    assert names in lines[0]
    return lines[0]


@pytest.fixture
def no_compute(monkeypatch):
    """Any solve fails the test: a refused command must stop before computing."""
    def boom(*args, **kwargs):
        raise AssertionError("computed before the output was checked")

    monkeypatch.setattr("theorylab.equilibrium.EquilibriumModel.diagram", boom)
    monkeypatch.setattr("theorylab.equilibrium.EquilibriumModel.cut", boom)


@pytest.mark.parametrize("command", [
    ["diagram", "dense-hopfield", *GRID, "--workers", "1", "--out"],
    ["cut", "dense-hopfield", "P=2", "alpha=0.05", "T=0:1:3", "--out"],
    ["reproduce", "saxe-2014", "--quick", "--out"],
])
@pytest.mark.parametrize("where, names", [
    ("missing/parent/out", "does not exist"),
    ("a-file", "existing file"),
    ("/proc/theorylab-out", "cannot write"),   # not writable, even by root
])
def test_a_bad_out_is_refused_before_any_work(capsys, tmp_path, monkeypatch, no_compute,
                                              command, where, names):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("mine")
    _refused(capsys, [*command, where], names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    assert (tmp_path / "a-file").read_text() == "mine"


@pytest.mark.parametrize("argv, names", [
    (["solve", "dense-hopfield", "P=2", "alpha=0.1", "alpha=0.2", "T=0"], "alpha is given twice"),
    (["diagram", "dense-hopfield", *GRID, "T=0:1:3"], "T is given twice"),
    (["diagram", "dense-hopfield", "P=2,3", "alpha=0:0.1:3", "T=0:1:3"], "P=2,3"),
    (["diagram", "dense-hopfield", *GRID, "--shard", "2/2"], "--shard"),
    (["diagram", "dense-hopfield", *GRID, "--shard", "x"], "--shard"),
    (["diagram", "dense-hopfield", *GRID, "--scheduler", "local:0"], "local:N"),
    (["diagram", "dense-hopfield", *GRID, "--format", "gif"], "--format"),
    (["diagram", "dense-hopfield", *GRID, "--dpi", "0"], "--dpi"),
    (["merge", "."], "no sharded sweep"),
    (["plot", "nothing.nc"], "netCDF"),
])
def test_bad_options_are_one_line(capsys, tmp_path, monkeypatch, no_compute, argv, names):
    monkeypatch.chdir(tmp_path)
    _refused(capsys, argv, names)
    assert list(tmp_path.iterdir()) == []


def test_scheduler_without_dask_is_one_line(capsys, tmp_path, monkeypatch, no_compute):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    line = _refused(capsys, ["diagram", "dense-hopfield", *GRID, "--scheduler", "local:2"],
                    "dask")
    assert "pip install 'theorylab[dask]'" in line


def test_a_python_array_is_named_as_a_list():
    import theorylab as tl

    with pytest.raises(tl.ParameterError, match=r"got \[0.1, 0.2\]"):
        tl.solve("dense-hopfield", P=2, alpha=np.array([0.1, 0.2]), T=0.5)


def _nc(folder):
    (nc,) = folder.glob("*.nc")
    with xr.open_dataset(nc, engine="scipy") as ds:
        return nc, ds.load()


def test_store_is_keyed_by_the_settings_and_removed_when_done(capsys, tmp_path, monkeypatch):
    out = tmp_path / "d"
    argv = ["diagram", *PLANE, "T=0:0.5:4", "--out", str(out), "--workers", "1",
            "--no-progress"]
    assert run(capsys, *argv)[0] == 0
    assert not list(out.glob(".sweep-*"))          # removed once finished
    assert run(capsys, *argv, "--keep-store")[0] == 0
    (kept,) = out.glob(".sweep-*")
    assert len(list(kept.glob("task-*.npz"))) == 5  # one block per row: 5 values of rho (y)
    # other solver settings: another store, computed afresh (the kept one is not reused)
    model = get("multitasking")
    monkeypatch.setattr(model, "settings", dataclasses.replace(model.settings,
                                                               tol=model.settings.tol / 10))
    assert run(capsys, *argv, "--keep-store")[0] == 0
    assert len(list(out.glob(".sweep-*"))) == 2


def test_different_grids_get_their_own_files(capsys, tmp_path):
    out = tmp_path / "d"
    for T in ("T=0:0.5:4", "T=0:0.4:4"):
        assert run(capsys, "diagram", *PLANE, T, "--out", str(out), "--workers", "1",
                   "--no-progress")[0] == 0
    names = sorted(p.name for p in out.glob("*.nc"))
    assert names == ["multitasking_T0-0.4x4_rho0-1x5_K2_protocolsupervised_d0.5.nc",
                     "multitasking_T0-0.5x4_rho0-1x5_K2_protocolsupervised_d0.5.nc"]


def test_shards_and_merge_give_the_unsharded_diagram(capsys, tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    common = ["diagram", "dense-hopfield", *GRID, "--workers", "1", "--no-progress"]
    assert run(capsys, *common, "--out", str(whole))[0] == 0
    for i in range(3):
        code, out, err = run(capsys, *common, "--out", str(parts), "--shard", f"{i}/3")
        assert code == 0 and out == ""
        assert f"shard {i}/3 done" in err
    assert not list(parts.glob("*.nc"))
    code, _out, _ = run(capsys, "merge", str(parts))
    assert code == 0
    _, a = _nc(whole)
    _, b = _nc(parts)
    assert "--shard" not in b.attrs["command"]
    a.attrs.pop("command"), b.attrs.pop("command")
    xr.testing.assert_identical(a, b)


def test_merge_before_every_shard_is_done_is_refused(capsys, tmp_path):
    parts = tmp_path / "parts"
    common = ["diagram", "dense-hopfield", *GRID, "--workers", "1", "--no-progress"]
    assert run(capsys, *common, "--out", str(parts), "--shard", "0/2")[0] == 0
    _refused(capsys, ["merge", str(parts)], "run the missing shards")


def test_lines_are_exported_as_csv_and_json(capsys, tmp_path):
    out = tmp_path / "d"
    assert run(capsys, "diagram", "dense-hopfield", *GRID, "--out", str(out), "--workers", "1",
               "--no-progress")[0] == 0
    nc, ds = _nc(out)
    data = json.loads(nc.with_suffix(".lines.json").read_text())
    names = [line["line"] for line in data["lines"]]
    assert names == ds.attrs["lines"].split(",")
    header, *rows = nc.with_suffix(".lines.csv").read_text().splitlines()
    assert header == "line,kind,segment,alpha,T,found"
    spin_glass = [r.split(",") for r in rows if r.startswith("spin-glass,")]
    # the P = 2 spin-glass line is T = 1 + sqrt(alpha) (AGS 1987), exactly, where found
    for _, _, _, alpha, T, found in spin_glass:
        if found == "1":
            assert float(T) == pytest.approx(1 + np.sqrt(float(alpha)), abs=1e-8)
    assert len(rows) == sum(len(s["points"]) for line in data["lines"]
                            for s in line["segments"])


def test_line_csv(capsys):
    code, out, _ = run(capsys, "line", "dense-hopfield", "spin-glass", "P=2", "alpha=0:0.16:3",
                       "--csv")
    assert code == 0
    header, *rows = out.strip().splitlines()
    assert header.split(",")[:2] == ["alpha", "T"]
    assert [float(r.split(",")[1]) for r in rows] == pytest.approx([1.0, 1.2828427, 1.4])


def test_reproduce_list_and_refusal_to_mix_commands(capsys, tmp_path):
    code, out, _ = run(capsys, "reproduce", "--list")
    assert code == 0 and out.splitlines()[0].startswith("saxe-2014: Exact solutions")
    out_dir = tmp_path / "r"
    out_dir.mkdir()
    (out_dir / "command.txt").write_text("theorylab reproduce saxe-2014\n{}\n")
    _refused(capsys, ["reproduce", "saxe-2014", "--quick", "--out", str(out_dir)], "--force")


def test_store_key_changes_with_the_code():
    spec = {"alpha": np.linspace(0, 1, 3)}
    a = sweep.store_key(spec, {"theorylab": "0.1.0", "sources": "x", "settings": "s"})
    assert a == sweep.store_key(spec, {"theorylab": "0.1.0", "sources": "x", "settings": "s"})
    assert a != sweep.store_key(spec, {"theorylab": "0.1.0", "sources": "y", "settings": "s"})
    assert a != sweep.store_key(spec, {"theorylab": "0.1.1", "sources": "x", "settings": "s"})
    assert a != sweep.store_key({"alpha": np.linspace(0, 1, 4)},
                                {"theorylab": "0.1.0", "sources": "x", "settings": "s"})


def test_task_keywords_do_not_clash_with_an_executor(monkeypatch):
    """A task keyword named like an option of ``Client.submit`` (``key``) reaches the task."""
    import concurrent.futures as cf

    class Strict(cf.ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            assert not kwargs, "task keywords were passed to submit"
            return super().submit(fn, *args)

    with Strict(2) as pool:
        out = sweep.run(_keyed, [{"key": 1.0}, {"key": 1.0}, {"key": 2.0}], executor=pool)
    assert [float(r["y"]) for r in out] == [2.0, 2.0, 4.0]


def _keyed(key):
    return {"y": np.asarray(2 * key)}

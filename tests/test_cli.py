"""The command line: the --json contract of DESIGN.md and one-line errors for bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from theorylab.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_line_json_gives_the_ags_capacity(capsys):
    code, out, _err = run(capsys, "line", "dense-hopfield", "retrieval-spinodal", "P=2", "T=0",
                         "--json")
    assert code == 0
    data = json.loads(out)
    assert {"model", "line", "parameters", "points"} <= set(data)
    (p,) = data["points"]
    assert p["T"] == 0.0
    assert p["alpha"] == pytest.approx(0.1379056, abs=2e-7)  # AGS, spec row 1


def test_line_accepts_a_range(capsys):
    code, out, _ = run(capsys, "line", "dense-hopfield", "spin-glass", "P=2", "alpha=0:0.16:3",
                       "--json")
    assert code == 0
    pts = json.loads(out)["points"]
    assert [p["T"] for p in pts] == pytest.approx([1.0, 1.2828427, 1.4])  # 1 + sqrt(alpha)


def test_solve_json_contract(capsys):
    code, out, _ = run(capsys, "solve", "dense-hopfield", "P=4", "alpha=0.02", "T=0.3", "--json")
    assert code == 0
    data = json.loads(out)
    for key in ("model", "parameters", "phase", "order_parameters", "free_energy", "converged",
                "residual", "iterations", "stable", "version"):
        assert key in data
    assert data["phase"] == "retrieval" and data["converged"] is True
    assert data["order_parameters"]["m"] == pytest.approx(0.991844, abs=2e-6)  # spec row 8


def test_models_lists_every_model(capsys):
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0
    names = [m["name"] for m in json.loads(out)["models"]]
    assert "dense-hopfield" in names


def test_cite_prints_bibtex(capsys):
    code, out, _ = run(capsys, "cite", "dense-hopfield")
    assert code == 0 and "@article{Amit1985" in out


@pytest.mark.parametrize("argv, names", [
    (["solve", "nosuchmodel", "alpha=0.1"], "model"),
    (["solve", "dense-hopfield", "P=2", "alpha=0.1", "T=0", "beta=2"], "beta"),
    (["solve", "dense-hopfield", "P=1", "alpha=0.1", "T=0"], "P"),
    (["solve", "dense-hopfield", "P=2.5", "alpha=0.1", "T=0"], "P"),
    (["solve", "dense-hopfield", "P=2", "alpha=-0.1", "T=0"], "alpha"),
    (["solve", "dense-hopfield", "P=2", "alpha=0.1", "T=-1"], "T"),
    (["solve", "dense-hopfield", "P=2", "alpha=0.1", "T=abc"], "T"),
    (["solve", "dense-hopfield", "P=2", "alpha=0.1", "T=0", "--phase", "ferro"], "phase"),
    (["line", "dense-hopfield", "retrieval-spinodal", "P=2", "T=0:1:x"], "T"),
    (["line", "dense-hopfield", "nosuchline", "P=2", "T=0"], "line"),
    (["diagram", "dense-hopfield", "P=2", "alpha=0:1:x", "T=0:1:3"], "alpha"),
    (["diagram", "dense-hopfield", "P=2", "alpha=0:0.1:3"], "T"),
    (["diagram", "dense-hopfield", "--preset", "nope"], "preset"),
    (["diagram", "dense-hopfield", "P=2", "alpha=0.1:0.1:1", "T=0:1:3"], "cut"),
    (["cut", "dense-hopfield", "P=2", "alpha=0:0.1:3", "T=0:1:3"], "range"),
    (["cut", "dense-hopfield", "P=2", "alpha=0.1", "T=0:1:1"], "two values"),
    (["cut", "deep-linear", "s=1", "t=0:1:3"], "cut"),
    (["simulate", "dense-hopfield", "P=2", "alpha=0.1", "T=0.1", "N=1"], "N"),
    (["nosuchcommand"], "command"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(capsys, tmp_path, monkeypatch, argv, names):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("theorylab: error:")
    assert names in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_diagram_writes_netcdf_png_and_command(capsys, tmp_path):
    out_dir = tmp_path / "d"
    code, _out, _ = run(capsys, "diagram", "dense-hopfield", "P=2", "alpha=0:0.2:5", "T=0:1.5:4",
                       "--out", str(out_dir), "--workers", "1", "--no-progress")
    assert code == 0
    (nc,) = out_dir.glob("*.nc")
    (png,) = out_dir.glob("*.png")
    assert png.stat().st_size > 10_000
    ds = xr.open_dataset(nc, engine="scipy")
    assert ds.attrs["model"] == "dense-hopfield"
    assert "diagram dense-hopfield" in ds.attrs["command"]
    # P = 2: the spin glass bifurcates continuously (no spin-glass spinodal, no entropy crisis)
    assert set(ds.attrs["lines"].split(",")) == {"retrieval-spinodal", "retrieval-thermodynamic",
                                                 "retrieval-at", "spin-glass"}
    assert ds.phase.shape == (4, 5)
    # a rerun resumes from the store: same data
    code, _, _ = run(capsys, "diagram", "dense-hopfield", "P=2", "alpha=0:0.2:5", "T=0:1.5:4",
                     "--out", str(out_dir), "--workers", "1", "--no-progress")
    assert code == 0
    assert (xr.open_dataset(nc, engine="scipy").phase.values == ds.phase.values).all()


def test_console_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "theorylab", "solve", "dense-hopfield", "P=0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "theorylab: error: P must be an integer >= 2 (got '0')"
    assert "Traceback" not in proc.stderr


def test_cut_table_json_and_csv(capsys, tmp_path):
    argv = ["cut", "dense-hopfield", "P=2", "alpha=0.05", "T=0:1.2:25"]
    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["axis"] == "T" and len(data["points"]) == 25
    first = data["points"][0]
    assert first["state"] == "retrieval" and {"retrieval", "spin-glass"} <= set(first["branches"])
    assert first["branches"]["retrieval"]["m"] == pytest.approx(0.99999, abs=1e-4)
    kinds = {e["kind"] for e in data["events"]}
    assert kinds == {"crossing", "branch-end"}
    code, out, _ = run(capsys, *argv, "--csv")
    header, *rows = out.strip().splitlines()
    assert header.startswith("T,branch,selected,")
    assert len(rows) == sum(len(p["branches"]) for p in data["points"])
    code, out, _err = run(capsys, *argv, "--out", str(tmp_path / "c"))
    assert code == 0 and "T=0 " in out
    for suffix in (".nc", ".csv", ".png", ".pdf", ".command.txt"):
        assert (tmp_path / "c" / f"dense-hopfield_cut_T0-1.2x25_P2_alpha0.05{suffix}").exists()


def test_simulate_with_parallel_tempering(capsys):
    code, out, _ = run(capsys, "simulate", "dense-hopfield", "P=2", "N=40", "alpha=0.1",
                       "sweeps=60", "--tempering", "T=0.3:1.5:4", "--seeds", "2", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["temperatures"] == pytest.approx(np.geomspace(0.3, 1.5, 4))
    assert data["parameters"]["K"] == 4 and data["replicas"] == 2 and data["runs"] == 2
    # P(q) is a distribution at every temperature, on the N + 1 values of q
    assert len(data["q_values"]) == 41
    assert np.sum(data["q_distribution"]["mean"], axis=1) == pytest.approx(np.ones(4))
    assert len(data["swap_acceptance"]["mean"]) == 3


@pytest.mark.parametrize("argv, names", [
    (["simulate", "dense-hopfield", "P=2", "alpha=0.1", "--tempering", "T=0.3:1.5"], "--tempering"),
    (["simulate", "dense-hopfield", "P=2", "alpha=0.1", "--tempering", "T=0.3:1.5:1"], "n >= 2"),
    (["simulate", "dense-hopfield", "P=2", "alpha=0.1", "T=0.5", "--tempering", "T=0.3:1:3"],
     "drop T="),
    (["simulate", "multitasking", "K=2", "d=0.2", "--tempering", "T=0.3:1:3"], "dense-hopfield"),
])
def test_bad_tempering_is_one_line(capsys, argv, names):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and names in err

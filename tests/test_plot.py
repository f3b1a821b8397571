"""Figures: one writer for every format, options checked like command-line input, redrawing a
saved diagram or cut without recomputing it, mathtext labels."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.mathtext import MathTextParser

import theorylab as tl
from theorylab import plot
from theorylab.cli import main
from theorylab.models import get
from theorylab.parameters import ParameterError
from theorylab.results import save_dataset

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-"}


def _is(path, suffix: str) -> bool:
    """Whether a file is non-empty and of the type its suffix says, by its first bytes."""
    head = path.read_bytes()[:400]
    if suffix == ".svg":
        return head.startswith(b"<?xml") and b"<svg" in path.read_bytes()
    return head.startswith(MAGIC[suffix])


def _figure() -> Figure:
    fig = Figure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [1, 2])
    return fig


@pytest.mark.parametrize("formats, dpi, names", [
    (["gif"], None, "--format"),
    ("png,jpg", None, "--format"),
    ([], None, "--format"),
    (None, 0, "--dpi"),
    (None, -72, "--dpi"),
    (None, 150.0, "--dpi"),
    (None, "300", "--dpi"),
    (None, True, "--dpi"),
])
def test_options_refuse_bad_formats_and_dpi_in_one_line(formats, dpi, names):
    with pytest.raises(ParameterError) as refused, plot.options(formats=formats, dpi=dpi):
        pass
    message = str(refused.value)
    assert names in message and "\n" not in message
    if names == "--format":
        assert "png, pdf, svg" in message


def test_a_refused_option_changes_nothing(tmp_path):
    with pytest.raises(ParameterError, match="--dpi"), plot.options(formats=["svg"], dpi=0):
        pass
    written = plot.save(_figure(), tmp_path / "f.png")
    assert [p.suffix for p in written] == [".png", ".pdf"]


@pytest.mark.parametrize("formats, suffixes", [
    (None, [".png", ".pdf"]),
    (["svg"], [".svg"]),
    ("pdf", [".pdf"]),
    (("png", "pdf", "svg"), [".png", ".pdf", ".svg"]),
])
def test_save_writes_exactly_the_requested_formats(tmp_path, formats, suffixes):
    with plot.options(formats=formats):
        written = plot.save(_figure(), tmp_path / "figure.png")
    assert written == [tmp_path / f"figure{s}" for s in suffixes]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    for path in written:
        assert path.stat().st_size > 0 and _is(path, path.suffix), path


def test_png_resolution_follows_dpi_and_is_restored(tmp_path):
    def width(png) -> int:   # the IHDR chunk: width in pixels at bytes 16-20
        return int.from_bytes(png.read_bytes()[16:20], "big")

    with plot.options(formats=["png"], dpi=50), plot.options(dpi=120):
        (inner,) = plot.save(_figure(), tmp_path / "inner.png")
    (default,) = [p for p in plot.save(_figure(), tmp_path / "default.png") if p.suffix == ".png"]
    assert width(inner) == 2 * 120
    assert width(default) == 2 * 200


def test_save_releases_a_pyplot_figure(tmp_path):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    plot.save(fig, tmp_path / "f.png")
    assert not plt.fignum_exists(fig.number)


def test_log_axes_label_no_minor_ticks(tmp_path):
    fig = Figure()
    narrow, wide = fig.subplots(1, 2)
    narrow.semilogy([1, 2], [0.15, 3.0])    # under two decades: 1-2-5 steps in plain numbers
    wide.semilogy([1, 2], [1e-4, 10.0])
    plot.save(fig, tmp_path / "f.png")
    for ax in (narrow, wide):
        assert not any(t.get_text() for t in ax.yaxis.get_minorticklabels())
    lo, hi = narrow.get_ylim()
    shown = [t.get_text() for t in narrow.yaxis.get_majorticklabels()
             if lo <= t.get_position()[1] <= hi]
    assert shown == ["0.2", "0.5", "1", "2"]


def _forbid_recomputing(monkeypatch) -> None:
    """Solving anything fails the test: a redraw must only read the file."""
    def boom(*args, **kwargs):
        raise AssertionError("recomputed while redrawing")

    for name in ("solve", "branches", "diagram", "cut", "line"):
        monkeypatch.setattr(f"theorylab.equilibrium.EquilibriumModel.{name}", boom)
    dynamics = type(get("generalization-dynamics"))
    for name in ("solve", "diagram", "errors", "optimal_stopping"):
        monkeypatch.setattr(dynamics, name, boom)


@pytest.fixture(scope="module")
def phases():
    """A small phase diagram in a plane without transition lines (tracing lines costs most of
    a diagram's time, whatever its grid)."""
    return tl.diagram("multitasking", K=2, protocol="supervised", d=0.5, T=(0, 0.3, 5),
                      rho=(0, 0.5, 5))


def test_redraw_a_saved_cut_and_diagrams_without_recomputing(tmp_path, monkeypatch, capsys,
                                                              phases):
    made = tmp_path / "made"
    assert main(["cut", "dense-hopfield", "P=2", "alpha=0.05", "T=0:1.2:5", "--out", str(made),
                 "--json"]) == 0
    (cut_nc,) = made.glob("*cut*.nc")
    landscape = get("generalization-dynamics").diagram(
        {"alpha": np.linspace(0.5, 2, 7), "t": np.geomspace(0.1, 100, 6)}, {})
    files = [cut_nc, save_dataset(phases, made, "phases"), save_dataset(landscape, made, "gd")]
    _forbid_recomputing(monkeypatch)
    out = tmp_path / "redrawn"
    with plot.options(formats=["png", "svg"], dpi=60):
        written = [p for nc in files for p in plot.redraw(nc, out)]
    assert written == [out / f"{nc.stem}{s}" for nc in files for s in (".png", ".svg")]
    assert all(_is(p, p.suffix) for p in written)
    assert plot.redraw(files[-1]) == [made / "gd.png", made / "gd.pdf"]   # beside the file


def test_redraw_refuses_what_it_cannot_draw(tmp_path):
    import xarray as xr

    paper = save_dataset(xr.Dataset({"y": ("x", [1.0, 2.0])}, attrs={"paper": "p"}), tmp_path,
                         "figure")
    with pytest.raises(ParameterError, match="not a diagram or cut"):
        plot.redraw(paper)
    garbage = tmp_path / "garbage.nc"
    garbage.write_text("not netCDF")
    with pytest.raises(ParameterError, match="cannot read"):
        plot.redraw(garbage)


def test_labels_are_mathtext():
    assert plot.symbol("alpha") == r"$\alpha$"
    assert plot.symbol("T") == "$T$"
    assert plot.symbol("rho") == r"$\rho$"
    assert plot.symbol("m2") == "$m_{2}$"
    assert plot.symbol("sigma_02") == r"$\sigma_0^2$"
    assert plot.symbol("E_g") == "$E_g$"
    assert plot.symbol("protocol") == "protocol"
    assert plot.axis_label("alpha", {"P": 2}) == r"load $\alpha = K/N$"
    assert plot.axis_label("alpha", {"P": 4}) == r"load $\alpha = K/N^{3}$"
    assert plot.axis_label("alpha", {}) == r"$\alpha$"
    assert plot.mathtext("dense Hopfield network, P = 2 (RS)") == (
        "dense Hopfield network, $P = 2$ (RS)")
    assert plot.mathtext("$K = 2$: T = 0, protocol = storage") == (
        "$K = 2$: $T = 0$, protocol = storage")
    assert plot.assignments({"sigma_eps2": 0.1, "tau": 1.0}) == (
        r"$\sigma_\varepsilon^2 = 0.1$, $\tau = 1$")
    parser = MathTextParser("path")
    for text in plot.SYMBOLS.values():   # every symbol is valid mathtext
        parser.parse(text)


def test_a_diagram_title_and_axes_are_mathtext_when_drawn(tmp_path, monkeypatch, phases):
    drawn = {}

    def keep(fig, path):
        ax = fig.axes[0]
        drawn.update(x=ax.get_xlabel(), y=ax.get_ylabel(), title=ax.get_title())
        return []

    monkeypatch.setattr(plot, "save", keep)
    plot.phase_diagram(phases, tmp_path / "f.png")
    assert drawn["x"] == "$T$" and drawn["y"] == r"$\rho$"
    assert "$K = 2$" in drawn["title"]

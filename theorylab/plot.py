"""Matplotlib figures: phase diagrams with labelled lines, cuts, theory-vs-simulation comparisons.

Figures are drawn from result objects (``xarray.Dataset`` diagrams and cuts, :class:`Verification`
rows) and written by :func:`save`, the one writer of every figure of the package: each figure goes
out in every format of :func:`options` (PNG and PDF by default, SVG on request) at its resolution.
Drawing happens inside :func:`style` (fonts and sizes for a journal column); axis labels are
mathtext (:func:`symbol`, :func:`axis_label`). Nothing here computes physics.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from theorylab.parameters import ParameterError

FORMATS = ("png", "pdf", "svg")
"""The formats :func:`save` can write."""
_OPTIONS = {"formats": ("png", "pdf"), "dpi": 200}   # PNG resolution; PDF and SVG are vector

#: fonts and sizes for a figure printed at its size in a journal (text width 6.5 in)
STYLE = {
    "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 9, "figure.titlesize": 9,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 7,
    "legend.title_fontsize": 7, "legend.handlelength": 1.8, "legend.columnspacing": 1.2,
    "legend.borderaxespad": 0.3, "legend.framealpha": 0.85, "lines.linewidth": 1.5,
    "lines.markersize": 4, "axes.linewidth": 0.7, "mathtext.fontset": "dejavusans",
    "pdf.fonttype": 42,   # TrueType in the PDF: text stays text, as journals ask
}
WIDTH = 6.5
"""The text width of a page (inches): the widest figure."""

PHASE_COLOURS = ("#9ecae1", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fff7bc", "#fcc5c0")
PARAMAGNET_COLOUR = "#ececec"  # a phase named paramagnet is grey in every model
METASTABLE_HATCHES = ("///", "\\\\\\", "...")
"""Hatches of the metastable regions of the first, second, ... marked phase."""
LINE_STYLES = {"spinodal": "--", "first-order": "-", "continuous": ":", "entropy": "-.",
               "at": (0, (5, 1, 1, 1, 1, 1))}
LINE_COLOURS = ("#08519c", "#a50f15", "#006d2c", "#54278f", "#252525")
EXCLUDED_COLOUR = "#bdbdbd"

SYMBOLS = {
    "alpha": r"$\alpha$", "beta": r"$\beta$", "delta": r"$\delta$", "eta": r"$\eta$",
    "rho": r"$\rho$", "tau": r"$\tau$", "D": "$D$", "K": "$K$", "M": "$M$", "N": "$N$",
    "P": "$P$", "T": "$T$", "d": "$d$", "f": "$f$", "m": "$m$", "q": "$q$", "r": "$r$",
    "s": "$s$", "t": "$t$", "u": "$u$", "u0": "$u_0$", "E_g": "$E_g$", "E_t": "$E_t$",
    "t_opt": "$t^*$", "sigma_02": r"$\sigma_0^2$", "sigma_w2": r"$\sigma_w^2$",
    "sigma_eps2": r"$\sigma_\varepsilon^2$", "alpha_h": r"$\alpha_h$", "alpha_r": r"$\alpha_r$",
    "c": "$c$",
}
_INDEXED = ("m", "n", "u")   # m1 -> m_1 (several patterns or modes)


# --- writing --------------------------------------------------------------------------------


@contextmanager
def options(formats: Iterable[str] | str | None = None, dpi: int | None = None):
    """Formats and PNG resolution of every figure written inside the block (restored after).

    Parameters
    ----------
    formats
        Names from :data:`FORMATS` (a sequence, or one comma-separated string); ``None`` keeps
        the current ones (``png``, ``pdf`` by default).
    dpi
        Resolution of PNG files, a positive integer; ``None`` keeps the current one (200).

    Raises
    ------
    ParameterError
        One line naming ``--format`` or ``--dpi`` and the allowed values.
    """
    chosen = {"formats": None if formats is None else _checked_formats(formats),
              "dpi": None if dpi is None else _checked_dpi(dpi)}
    saved = dict(_OPTIONS)
    _OPTIONS.update({k: v for k, v in chosen.items() if v is not None})
    try:
        yield
    finally:
        _OPTIONS.update(saved)


def _checked_formats(formats: Iterable[str] | str) -> tuple[str, ...]:
    names = formats.split(",") if isinstance(formats, str) else list(formats)
    chosen = tuple(dict.fromkeys(str(n).strip().lower() for n in names))
    if not chosen or not set(chosen) <= set(FORMATS):
        raise ParameterError(f"--format must be one or more of {', '.join(FORMATS)}, "
                             f"comma-separated (got {','.join(map(str, names))!r})")
    return chosen


def _checked_dpi(dpi: object) -> int:
    if isinstance(dpi, bool) or not isinstance(dpi, int | np.integer) or dpi < 1:
        raise ParameterError(f"--dpi must be a positive integer, e.g. 200 or 300 (got {dpi!r})")
    return int(dpi)


def style():
    """The house style (:data:`STYLE`) as an rc context: ``with plot.style():`` around the
    drawing of a figure, or ``@plot.style()`` on the function that draws it."""
    return matplotlib.rc_context(STYLE)


def save(fig: Figure, path: str | os.PathLike) -> list[Path]:
    """Write ``fig`` to ``path`` with its suffix replaced by each current format and close it.

    Log axes get their ticks tidied first (:func:`tidy_log_axes`). PNG is written at the
    current resolution; PDF and SVG are vector. Returns the paths written, in the order of
    the formats.
    """
    tidy_log_axes(fig)
    written = []
    with style():
        for fmt in _OPTIONS["formats"]:
            target = Path(path).with_suffix(f".{fmt}")
            target.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(target, format=fmt, dpi=_OPTIONS["dpi"])
            written.append(target)
    if fig.canvas.manager is not None:   # a pyplot figure: release it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return written


def tidy_log_axes(fig: Figure) -> None:
    """Ticks of every log axis (colour bars included): labelled decades where the axis spans
    three or more of them, labelled 1-2-5 steps in plain numbers where it spans fewer; minor
    ticks never labelled."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() != "log":
                continue
            lo, hi = sorted(axis.get_view_interval())
            axis.set_minor_formatter(NullFormatter())
            if not (lo > 0 and np.isfinite(hi)):
                continue
            subs = next((s for s in ((1.0,), (1.0, 2.0, 5.0)) if _ticks_within(s, lo, hi) >= 3),
                        tuple(range(1, 10)))
            if subs != (1.0,):
                axis.set_major_locator(LogLocator(subs=subs))
                axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _ticks_within(subs: tuple[float, ...], lo: float, hi: float) -> int:
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    return sum(lo <= s * 10.0**k <= hi for k in decades for s in subs)


def redraw(path_nc: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """Redraw a saved diagram or cut from its netCDF file, without recomputing anything.

    The model comes from the file's ``model`` attribute; a cut (``theorylab cut --out``) is
    recognised by its ``axis`` and ``events`` attributes. The figures are written beside the
    file, or into the folder ``out``, under the file's stem, in the current formats.

    Raises
    ------
    ParameterError
        The file cannot be read, or is not a diagram or cut written by theorylab.
    """
    import xarray as xr

    from theorylab.models import get

    path = Path(path_nc)
    try:
        with xr.open_dataset(path, engine="scipy") as ds:
            ds = ds.load()
    except (OSError, ValueError, TypeError) as err:
        raise ParameterError(f"cannot read {path} as netCDF ({err})") from None
    target = (Path(out) if out is not None else path.parent) / f"{path.stem}.png"
    if "axis" in ds.attrs and "events" in ds.attrs:
        return cut(ds, target)
    if "model" not in ds.attrs:
        raise ParameterError(f"{path} is not a diagram or cut written by theorylab (it has no "
                             "model attribute; a paper's figures are redrawn by theorylab "
                             "reproduce)")
    return get(ds.attrs["model"]).plot_diagram(ds, target)


# --- labels ----------------------------------------------------------------------------------


def symbol(name: str) -> str:
    """Mathtext for a parameter or order-parameter name (``alpha`` -> α, ``m1`` -> m_1,
    ``sigma_02`` -> σ_0²); an unknown name is returned as it is."""
    if name in SYMBOLS:
        return SYMBOLS[name]
    head = name.rstrip("0123456789")
    if head != name and head in _INDEXED:
        return f"${head}_{{{name[len(head):]}}}$"
    return name


def axis_label(name: str, parameters: Mapping[str, object] | None = None) -> str:
    """The label of an axis: :func:`symbol`, and for the load ``alpha`` of a P-spin network
    (``P`` among ``parameters``) its definition, α = K/N^(P−1) with P's value."""
    P = (parameters or {}).get("P")
    if name == "alpha" and isinstance(P, int | float) and P >= 2:
        power = "" if P == 2 else f"^{{{int(P) - 1}}}"
        return rf"load $\alpha = K/N{power}$"
    return symbol(name)


def assignments(values: Mapping[str, object]) -> str:
    """``{"sigma_w2": 1, "tau": 1}`` as mathtext ``σ_w² = 1, τ = 1`` (numbers with ``:g``)."""
    return ", ".join(_assignment(key, f"{value:g}" if isinstance(value, int | float)
                                 else str(value)) for key, value in values.items())


def _assignment(name: str, value: str) -> str:
    """``name = value``, in mathtext where the name has a symbol."""
    sym = symbol(name)
    return f"{sym[:-1]} = {value}$" if sym.startswith("$") else f"{name} = {value}"


_ASSIGNMENT = re.compile(r"(?<![\w\\])(alpha|beta|delta|rho|tau|[A-Za-z])\s=\s"
                         r"(-?\d+(?:\.\d+)?(?:e-?\d+)?)(?![\w.])")


def mathtext(text: str) -> str:
    """A title with its ``name = number`` assignments (single letters and Greek names) set in
    mathtext, e.g. ``P = 2`` -> ``$P = 2$``; text already between ``$`` is left alone."""
    pieces = text.split("$")
    for i in range(0, len(pieces), 2):   # even pieces are outside mathtext
        pieces[i] = _ASSIGNMENT.sub(lambda m: _assignment(m[1], m[2]), pieces[i])
    return "$".join(pieces)


def legend_columns(labels: list[str], width: float, fontsize: float = 7.0) -> int:
    """How many legend columns of these labels fit across ``width`` inches."""
    if not labels:
        return 1
    char = 0.5 * fontsize / 72   # an average character, inches
    widest = max(len(_shown(s)) for s in labels) * char + 0.45   # + the handle and spacing
    return max(1, min(len(labels), int(0.95 * width / widest)))


def _shown(label: str) -> str:
    """A label roughly as many characters wide as it is drawn: a mathtext command is one
    symbol, markup is nothing."""
    return re.sub(r"[${}_^]", "", re.sub(r"\\[A-Za-z]+|\\.", "x", label))


def divergence(ax, x: float, text: str, *, colour: str = "0.3") -> None:
    """Mark a divergence at ``x``: a dotted vertical asymptote, and an arrow up to the top of
    the axes with ``text`` beside it (the curve leaves the frame there: it is not clipped
    silently)."""
    ax.axvline(x, color=colour, ls=":", lw=1.0)
    ax.annotate(text, xy=(x, 1.0), xycoords=("data", "axes fraction"), xytext=(12, -20),
                textcoords="offset points", ha="left", va="top", fontsize=7, color=colour,
                arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.8,
                            "shrinkA": 1, "shrinkB": 0},
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})


# --- phase diagrams --------------------------------------------------------------------------


@style()
def phase_diagram(ds, path: str | os.PathLike, *, title: str | None = None) -> list[Path]:
    """Draw a phase diagram dataset; returns the files written (:func:`save`).

    * Each phase's region is where its *margin* is positive: the smallest of its free-energy
      lead over every other selectable branch, 1 minus its stability eigenvalue, and (where
      the phase needs it) its entropy. These fields are continuous, so the drawn boundaries are
      their interpolated zero lines, not the grid's pixels. A phase is named inside its region
      where the name fits, in the legend otherwise.
    * Metastable regions of the phases named in ``attrs["metastable"]`` (selectable, not
      selected) are hatched; where no state is selectable (e.g. below an RS entropy crisis)
      the region is shaded grey and labelled; grid points where no branch converged at all are
      black crosses.
    * Lines (``L__<x>``, ``L__<y>`` along ``L__point``, NaN between separately found pieces)
      are drawn in order, unbroken only where they were found, styled by kind.

    The dataset has coordinates named in ``attrs["axes"]`` (x, y), an integer variable
    ``phase`` (index into ``attrs["phases"]``, -1 = none selectable) and, per phase ``p``,
    ``p_f``, ``p_eig``, ``p_entropy``, ``p_converged``, ``p_valid``, ``p_status``.
    """
    xname, yname = ds.attrs["axes"].split(",")
    names = ds.attrs["phases"].split(",")
    x, y = ds[xname].values, ds[yname].values
    field = {k: ds[k].transpose(yname, xname).values for k in ds.data_vars
             if set(ds[k].dims) == {xname, yname}}
    fig = Figure(figsize=(5.0, 4.3), layout="constrained")
    ax = fig.subplots()
    # the grid's phase map underneath: it shows where a margin's contour cannot (next to a
    # branch's end, where its margin is undefined); the smooth regions are drawn over it
    excluded = (field["phase"] < 0) & np.any([field[f"{n}_converged"] for n in names], axis=0)
    base = np.where(excluded, len(names), field["phase"]).astype(float)
    colours = [*_phase_colours(names), EXCLUDED_COLOUR]
    ax.pcolormesh(x, y, np.where(base >= 0, base, np.nan), shading="nearest",
                  cmap=ListedColormap(colours), vmin=-0.5, vmax=len(names) + 0.5)
    margins = _margins(field, names, ds.attrs.get("needs_entropy", "").split(","))
    for g, colour in zip(margins, colours, strict=False):
        if np.nanmax(np.where(np.isfinite(g), g, -np.inf), initial=-np.inf) > 0:
            ax.contourf(x, y, g, levels=[0, np.inf], colors=[colour])
    best = np.nanmax(np.where(np.isfinite(margins), margins, -np.inf), axis=0)
    if excluded.any():
        none = np.where(np.isfinite(best), best, np.where(excluded, -1.0, np.nan))
        ax.contourf(x, y, -none, levels=[0, np.inf], colors=[EXCLUDED_COLOUR], hatches=["xx"])
        ax.fill_between([], [], facecolor=EXCLUDED_COLOUR, edgecolor="k", lw=0, hatch="xx",
                        label=f"no selectable {ds.attrs.get('approximation', '')} state".replace(
                            "  ", " "))
    _metastable(ax, ds, field, names, x, y)
    unconverged = (field["phase"] < 0) & ~excluded
    if unconverged.any():
        yy, xx = np.nonzero(unconverged)
        ax.plot(x[xx], y[yy], "kx", ms=3, label="no branch converged (flagged)")
    drawn = _lines(ax, ds, xname, yname)
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    for name, set_scale in ((xname, ax.set_xscale), (yname, ax.set_yscale)):
        if name in ds.attrs.get("log_axes", "").split(","):
            set_scale("log")
    parameters = json.loads(ds.attrs.get("parameters", "{}"))
    ax.set_xlabel(axis_label(xname, parameters))
    ax.set_ylabel(axis_label(yname, parameters))
    ax.set_title(mathtext(title or ds.attrs.get("title", "")))
    unplaced = _name_regions(ax, x, y, field["phase"], names, drawn)
    _legend_below(fig, ax, [Patch(color=colours[i], label=names[i]) for i in unplaced])
    return save(fig, path)


def _metastable(ax, ds, field: dict, names: list[str], x: np.ndarray, y: np.ndarray) -> None:
    """Hatch where a phase named in ``attrs["metastable"]`` is selectable but not selected (one
    hatch direction per such phase, so that overlapping metastable regions stay apart)."""
    marked = [n for n in names if n in ds.attrs.get("metastable", "").split(",")]
    for i, name in enumerate(names):
        if name not in marked:
            continue
        hatch = METASTABLE_HATCHES[marked.index(name) % len(METASTABLE_HATCHES)]
        lead = np.where(field[f"{name}_valid"].astype(bool) & (field["phase"] != i),
                        1.0 - field[f"{name}_eig"], np.nan)
        if np.isfinite(lead).any():
            ax.contourf(x, y, lead, levels=[0, np.inf], colors="none", hatches=[hatch])
            ax.fill_between([], [], facecolor="none", hatch=hatch,
                            label=f"{name} metastable")


def _lines(ax, ds, xname: str, yname: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Draw the traced lines in order, styled by kind; returns their drawn coordinates."""
    lines = [s for s in ds.attrs.get("lines", "").split(",") if s]
    kinds = ds.attrs.get("line_kinds", "").split(",")
    drawn = []
    for k, (line, kind) in enumerate(zip(lines, kinds, strict=False)):
        lx, ly = _drawn(ds, line, xname), _drawn(ds, line, yname)
        if np.isfinite(lx).any():
            label = line if kind in line else f"{line} ({kind})"
            sampled = np.isfinite(lx).sum() < 8  # a few located points: show them
            ax.plot(lx, ly, linestyle=LINE_STYLES.get(kind, "-"), lw=1.8,
                    marker="o" if sampled else None, ms=5,
                    color=LINE_COLOURS[k % len(LINE_COLOURS)], label=label)
            drawn.append((lx, ly))
    return drawn


def _legend_below(fig: Figure, ax, first: list) -> None:
    """The handles ``first``, then the axes' legend entries, under the figure in as many
    columns as fit."""
    handles = [*first, *ax.get_legend_handles_labels()[0]]
    labels = [h.get_label() for h in handles]
    if handles:
        fig.legend(handles, labels, loc="outside lower center", frameon=False,
                   ncols=legend_columns(labels, fig.get_figwidth()))


def _name_regions(ax, x: np.ndarray, y: np.ndarray, phase: np.ndarray, names: list[str],
                  lines: list[tuple[np.ndarray, np.ndarray]]) -> list[int]:
    """Write each phase's name at the point of its grid region farthest from the region's
    edges, the frame and the drawn lines, where the name fits there; returns the indices of
    the phases present but not named (they go to the legend)."""
    from scipy import ndimage

    fig = ax.figure
    width, height = 0.8 * fig.get_figwidth(), 0.65 * fig.get_figheight()  # the axes, roughly
    blocked = _rasterised(lines, x, y)
    unplaced = []
    for i, name in enumerate(names):
        if not (phase == i).any():
            continue
        region = (phase == i) & ~blocked
        region[[0, -1], :] = region[:, [0, -1]] = False   # the frame runs through these cells
        for size in (8.0, 6.5):   # a smaller name where the larger does not fit
            text_height = 1.3 * size / 72
            text_width = 0.55 * size / 72 * len(name) + 0.08
            # distances with x shrunk by the text's aspect: a circle of radius r is then an
            # ellipse of the text's aspect, which holds the text's box when r >= height/sqrt(2)
            sampling = (height / max(y.size - 1, 1),
                        width / max(x.size - 1, 1) * text_height / text_width)
            clearance = ndimage.distance_transform_edt(region, sampling=sampling)
            if clearance.max() >= text_height / math.sqrt(2):
                j, k = np.unravel_index(np.argmax(clearance), clearance.shape)
                ax.text(x[k], y[j], name, ha="center", va="center", fontsize=size,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                              "alpha": 0.6})
                break
        else:
            unplaced.append(i)
    return unplaced


def _rasterised(lines: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray,
                y: np.ndarray) -> np.ndarray:
    """The grid cells (y rows, x columns) that the drawn lines pass through."""
    hit = np.zeros((y.size, x.size), dtype=bool)
    for lx, ly in lines:
        ok = np.isfinite(lx) & np.isfinite(ly)
        # densify between consecutive found points so that no crossed cell is skipped
        s = np.linspace(0, 1, 12)
        for a in np.flatnonzero(ok[:-1] & ok[1:]):
            cx = np.interp(lx[a] + s * (lx[a + 1] - lx[a]), x, np.arange(x.size))
            cy = np.interp(ly[a] + s * (ly[a + 1] - ly[a]), y, np.arange(y.size))
            hit[np.round(cy).astype(int), np.round(cx).astype(int)] = True
    return hit


def _phase_colours(names: list[str]) -> list[str]:
    """One colour per phase: grey for a paramagnet, the palette in order for the others."""
    palette = iter(PHASE_COLOURS * 2)
    return [PARAMAGNET_COLOUR if name == "paramagnet" else next(palette) for name in names]


def _drawn(ds, line: str, axis: str) -> np.ndarray:
    """A line's coordinate along ``axis`` in drawing order: NaN where a point was not found on
    the line and between segments, so that the drawn line is unbroken only where found."""
    values = ds[f"{line}__{axis}"].values.astype(float)
    if f"{line}__found" in ds:
        values = np.where(ds[f"{line}__found"].values.astype(bool), values, np.nan)
    if f"{line}__segment" in ds:
        segment = ds[f"{line}__segment"].values
        cut = np.flatnonzero(np.diff(segment)) + 1
        values = np.insert(values, cut, np.nan)
    return values


def _margins(field: dict, names: list[str], needs_entropy: list[str]) -> np.ndarray:
    """Per phase, a continuous field positive where that phase is the thermodynamic state and
    zero on its boundaries (NaN where its branch did not converge): the smallest of its
    free-energy lead over every other selectable branch, 1 - its stability eigenvalue, and its
    entropy where the phase needs it."""
    out = []
    for name in names:
        f = np.where(field[f"{name}_converged"].astype(bool), field[f"{name}_f"], np.nan)
        terms = [1.0 - field[f"{name}_eig"]]
        if name in needs_entropy:
            terms.append(field[f"{name}_entropy"])
        for other in names:
            if other != name:
                lead = field[f"{other}_f"] - f
                terms.append(np.where(field[f"{other}_valid"].astype(bool), lead, np.inf))
        out.append(np.where(np.isfinite(f), np.min(terms, axis=0), np.nan))
    out = np.array(out)
    # Where a branch does not exist but another phase is selected, its margin continues as
    # minus that phase's margin: a branch that merges continuously into another (a pitchfork)
    # then has a region edge interpolated between two continuous fields, not cut along grid
    # cells. Where no phase is selected (no admissible state) it stays undefined.
    others_best = np.array([np.max(np.where(np.isfinite(np.delete(out, i, axis=0)),
                                            np.delete(out, i, axis=0), -np.inf), axis=0)
                            for i in range(len(names))])
    return np.where(np.isfinite(out), out,
                    np.where(others_best > 0, -others_best, np.nan))


# --- cuts and comparisons --------------------------------------------------------------------


@style()
def cut(ds, path: str | os.PathLike) -> list[Path]:
    """Every branch along a cut, one panel per order parameter and one of the free energy
    relative to the thermodynamic state: solid where selectable, faint and dashed where
    metastable or excluded; branch ends (dotted) and free-energy crossings (solid) as vertical
    lines. Returns the files written (:func:`save`)."""
    axis = ds.attrs["axis"]
    x = ds[axis].values
    names = ds.attrs["phases"].split(",")
    ops = ds.attrs["order_parameters"].split(",")
    parameters = json.loads(ds.attrs.get("parameters", "{}"))
    fig, axes = _cut_panels(len(ops) + 1, axis_label(axis, parameters))
    handles = []
    for i, name in enumerate(names):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        conv = ds[f"{name}_converged"].values.astype(bool)
        valid = ds[f"{name}_valid"].values.astype(bool)
        curves = [ds[f"{name}_{op}"].values for op in ops]
        curves.append(ds[f"{name}_f"].values - ds["f"].values)
        for ax, y in zip(axes, curves, strict=True):
            ax.plot(x, np.where(valid, y, np.nan), "-", color=colour)
            ax.plot(x, np.where(conv & ~valid, y, np.nan), "--", color=colour, alpha=0.4)
        if conv.any():
            handles.append(Line2D([], [], color=colour, label=name))
    selectable = np.concatenate([np.where(ds[f"{n}_valid"].values.astype(bool),
                                          ds[f"{n}_f"].values - ds["f"].values, np.nan)
                                 for n in names])
    if np.isfinite(selectable).any():  # an excluded branch far below must not flatten it
        top = max(np.nanmax(selectable), 1e-3)
        axes[-1].set_ylim(-0.25 * top, 1.25 * top)
    for ax, op in zip(axes, ops, strict=False):
        ax.set_ylabel(symbol(op))
    axes[-1].set_ylabel(r"$f - f_{\mathrm{state}}$")
    events = json.loads(ds.attrs["events"])
    for event in events:
        for ax in axes:
            ax.axvline(event[axis], ls=":" if event["kind"] == "branch-end" else "-",
                       color="0.4", lw=0.8)
    fig.suptitle(_cut_title(ds, axis, parameters))
    kinds = {e["kind"] for e in events}
    excluded = any((ds[f"{n}_converged"].values.astype(bool)
                    & ~ds[f"{n}_valid"].values.astype(bool)).any() for n in names)
    for shown, handle in ((excluded, Line2D([], [], color="0.5", ls="--", alpha=0.6,
                                            label="not selectable")),
                          ("branch-end" in kinds, Line2D([], [], color="0.4", ls=":", lw=0.8,
                                                         label="branch ends")),
                          (kinds - {"branch-end"}, Line2D([], [], color="0.4", lw=0.8,
                                                          label="free energies cross"))):
        if shown:
            handles.append(handle)
    labels = [h.get_label() for h in handles]
    fig.legend(handles=handles, loc="outside lower center", frameon=False,
               ncols=legend_columns(labels, fig.get_figwidth()))
    return save(fig, path)


def _cut_panels(n: int, xlabel: str) -> tuple[Figure, list]:
    """``n`` panels sharing x: one column up to three, two columns beyond; the lowest panel
    of each column carries the x label."""
    cols = 1 if n <= 3 else 2
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.8 if cols == 1 else WIDTH, 1.25 * rows + 1.1),
                 layout="constrained")
    grid = fig.subplots(rows, cols, sharex=True, squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax in axes[n:]:   # an odd count in two columns: the panel above the gap keeps its ticks
        ax.set_visible(False)
        axes[axes.index(ax) - cols].xaxis.set_tick_params(labelbottom=True)
    for ax in axes[n - cols:n]:
        ax.set_xlabel(xlabel)
    return fig, axes[:n]


def _cut_title(ds, axis: str, parameters: Mapping[str, object]) -> str:
    """The cut's title and where it cuts: the model's other diagram axis at its value."""
    from theorylab.models import get

    title = mathtext(ds.attrs.get("title", ""))
    try:
        plane = get(ds.attrs["model"]).diagram_axes
    except (KeyError, ParameterError):
        return title
    fixed = {k: parameters[k] for k in plane if k != axis and k in parameters}
    return f"{title}: cut at {assignments(fixed)}" if fixed else title


@style()
def comparison(rows, path: str | os.PathLike, *, title: str = "") -> list[Path]:
    """Theory (open circles) against simulation (points with 3-sigma error bars), one panel;
    returns the files written (:func:`save`)."""
    fig = Figure(figsize=(WIDTH, 3.6), layout="constrained")
    ax = fig.subplots()
    idx = np.arange(len(rows))
    ax.plot(idx, [r.theory for r in rows], "o", mfc="none", ms=7, label="theory")
    ax.errorbar(idx, [r.simulation for r in rows], yerr=[3 * r.stderr for r in rows], fmt=".",
                capsize=3, label="simulation ± 3 s.e.")
    labels = [f"{r.quantity}\n" + " ".join(f"{k}={v}" for k, v in r.point.items())
              for r in rows]
    ax.set_xticks(idx, labels, fontsize=6, rotation=30, ha="right")
    ax.set_title(mathtext(title))
    ax.legend()
    return save(fig, path)

"""Matplotlib figures: phase diagrams with labelled lines, theory-vs-simulation comparisons.

Figures are drawn from result objects (``xarray.Dataset`` diagrams, :class:`Verification`
tables) and written to a file; nothing here computes physics.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

PHASE_COLOURS = ("#9ecae1", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fff7bc", "#fcc5c0")
PARAMAGNET_COLOUR = "#ececec"  # a phase named paramagnet is grey in every model
LINE_STYLES = {"spinodal": "--", "first-order": "-", "continuous": ":", "entropy": "-."}
LINE_COLOURS = ("#08519c", "#a50f15", "#006d2c", "#54278f", "#252525")


def phase_diagram(ds, path: str | os.PathLike, *, title: str | None = None) -> None:
    """Draw a phase diagram dataset as PNG and PDF.

    * Each phase's region is where its *margin* is positive: the smallest of its free-energy
      lead over every other selectable branch, 1 minus its stability eigenvalue, and (where
      the phase needs it) its entropy. These fields are continuous, so the drawn boundaries are
      their interpolated zero lines, not the grid's pixels.
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
    fig, ax = plt.subplots(figsize=(8.4, 4.8), layout="constrained")
    # the grid's phase map underneath: it shows where a margin's contour cannot (next to a
    # branch's end, where its margin is undefined); the smooth regions are drawn over it
    excluded = (field["phase"] < 0) & np.any([field[f"{n}_converged"] for n in names], axis=0)
    base = np.where(excluded, len(names), field["phase"]).astype(float)
    colours = [*_phase_colours(names), "#bdbdbd"]
    ax.pcolormesh(x, y, np.where(base >= 0, base, np.nan), shading="nearest",
                  cmap=ListedColormap(colours), vmin=-0.5, vmax=len(names) + 0.5)
    margins = _margins(field, names, ds.attrs.get("needs_entropy", "").split(","))
    for i, name in enumerate(names):
        g = margins[i]
        if np.nanmax(np.where(np.isfinite(g), g, -np.inf), initial=-np.inf) > 0:
            ax.contourf(x, y, g, levels=[0, np.inf], colors=[colours[i]])
            ax.fill_between([], [], color=colours[i], label=f"{name}")
    best = np.nanmax(np.where(np.isfinite(margins), margins, -np.inf), axis=0)
    if excluded.any():
        none = np.where(np.isfinite(best), best, np.where(excluded, -1.0, np.nan))
        ax.contourf(x, y, -none, levels=[0, np.inf], colors=["#bdbdbd"], hatches=["xx"])
        ax.fill_between([], [], color="#bdbdbd", hatch="xx",
                        label=f"no selectable {ds.attrs.get('approximation', '')} state".replace(
                            "  ", " "))
    for i, name in enumerate(names):
        if name not in ds.attrs.get("metastable", "").split(","):
            continue
        lead = np.where(field[f"{name}_valid"].astype(bool) & (field["phase"] != i),
                        1.0 - field[f"{name}_eig"], np.nan)
        if np.isfinite(lead).any():
            ax.contourf(x, y, lead, levels=[0, np.inf], colors="none", hatches=["///"])
            ax.fill_between([], [], facecolor="none", hatch="///",
                            label=f"{name} metastable")
    unconverged = (field["phase"] < 0) & ~excluded
    if unconverged.any():
        yy, xx = np.nonzero(unconverged)
        ax.plot(x[xx], y[yy], "kx", ms=3, label="no branch converged (flagged)")
    lines = [s for s in ds.attrs.get("lines", "").split(",") if s]
    kinds = ds.attrs.get("line_kinds", "").split(",")
    for k, (line, kind) in enumerate(zip(lines, kinds, strict=False)):
        lx, ly = _drawn(ds, line, xname), _drawn(ds, line, yname)
        if np.isfinite(lx).any():
            ax.plot(lx, ly, LINE_STYLES.get(kind, "-"), lw=2,
                    color=LINE_COLOURS[k % len(LINE_COLOURS)], label=f"{line} ({kind})")
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    ax.set_xlabel(symbol(xname))
    ax.set_ylabel(symbol(yname))
    ax.set_title(title or ds.attrs.get("title", ""), fontsize=10)
    fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    fig.savefig(path, dpi=130)
    fig.savefig(Path(path).with_suffix(".pdf"))
    plt.close(fig)


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


def comparison(rows, path: str | os.PathLike, *, title: str = "") -> None:
    """Theory (open circles) against simulation (points with 3-sigma error bars), one panel."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), constrained_layout=True)
    idx = np.arange(len(rows))
    ax.plot(idx, [r.theory for r in rows], "o", mfc="none", ms=9, label="theory")
    ax.errorbar(idx, [r.simulation for r in rows], yerr=[3 * r.stderr for r in rows], fmt=".",
                capsize=3, label="simulation ± 3 s.e.")
    labels = [f"{r.quantity}\n" + " ".join(f"{k}={v}" for k, v in r.point.items())
              for r in rows]
    ax.set_xticks(idx, labels, fontsize=6, rotation=30, ha="right")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=130)
    plt.close(fig)


SYMBOLS = {"alpha": r"$\alpha$", "rho": r"$\rho$", "beta": r"$\beta$", "T": "$T$", "d": "$d$",
           "m": "$m$", "q": "$q$", "r": "$r$"}


def symbol(name: str) -> str:
    """Mathtext for a parameter or order-parameter name (``alpha`` -> α, ``m1`` -> m_1)."""
    if name in SYMBOLS:
        return SYMBOLS[name]
    head = name.rstrip("0123456789")
    if head != name and head in ("m", "n"):
        return f"${head}_{{{name[len(head):]}}}$"
    return name


def cut(ds, path: str | os.PathLike) -> None:
    """Every branch along a cut, one panel per order parameter and one of the free energy
    relative to the thermodynamic state: solid where selectable, faint where metastable or
    excluded; branch ends (dotted) and free-energy crossings (solid) as vertical lines. Written
    as PNG and PDF."""
    import json

    axis = ds.attrs["axis"]
    x = ds[axis].values
    names = ds.attrs["phases"].split(",")
    ops = ds.attrs["order_parameters"].split(",")
    fig, axes = plt.subplots(len(ops) + 1, 1, figsize=(7.0, 2.0 * (len(ops) + 1)),
                             sharex=True, layout="constrained")
    for i, name in enumerate(names):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        conv = ds[f"{name}_converged"].values.astype(bool)
        valid = ds[f"{name}_valid"].values.astype(bool)
        curves = [ds[f"{name}_{op}"].values for op in ops]
        curves.append(ds[f"{name}_f"].values - ds["f"].values)
        for ax, y in zip(axes, curves, strict=True):
            ax.plot(x, np.where(valid, y, np.nan), "-", color=colour, label=name)
            ax.plot(x, np.where(conv & ~valid, y, np.nan), "--", color=colour, alpha=0.4)
    selectable = np.concatenate([np.where(ds[f"{n}_valid"].values.astype(bool),
                                          ds[f"{n}_f"].values - ds["f"].values, np.nan)
                                 for n in names])
    if np.isfinite(selectable).any():  # an excluded branch far below must not flatten it
        top = max(np.nanmax(selectable), 1e-3)
        axes[-1].set_ylim(-0.25 * top, 1.25 * top)
    for ax, op in zip(axes, ops, strict=False):
        ax.set_ylabel(symbol(op))
    axes[-1].set_ylabel(r"$f - f_{\mathrm{state}}$")
    for event in json.loads(ds.attrs["events"]):
        for ax in axes:
            ax.axvline(event[axis], ls=":" if event["kind"] == "branch-end" else "-",
                       color="0.4", lw=0.8)
    axes[-1].set_xlabel(symbol(axis))
    axes[0].set_title(ds.attrs.get("title", ""), fontsize=10)
    axes[0].legend(fontsize=7, title="dashed: not selectable", title_fontsize=7)
    fig.savefig(path, dpi=130)
    fig.savefig(Path(path).with_suffix(".pdf"))
    plt.close(fig)

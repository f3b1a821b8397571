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
from matplotlib.colors import BoundaryNorm, ListedColormap

PHASE_COLOURS = ("#9ecae1", "#fdd0a2", "#e5e5e5", "#c7e9c0", "#dadaeb")
LINE_STYLES = {"spinodal": "--", "first-order": "-", "continuous": ":"}
LINE_COLOURS = ("#08519c", "#a50f15", "#006d2c", "#54278f", "#252525")


def phase_diagram(ds, path: str | os.PathLike, *, title: str | None = None) -> None:
    """Draw a phase diagram dataset: the thermodynamic phase as coloured regions, every line
    in ``ds.attrs["lines"]`` with its kind in the legend, unconverged points as black crosses.

    The dataset has coordinates ``x``, ``y`` named in ``attrs["axes"]``, an integer variable
    ``phase`` (index into ``attrs["phases"]``, -1 = no converged branch) and, for each line
    ``L``, variables ``L__<x>`` and ``L__<y>`` along dimension ``L__point``.
    """
    xname, yname = ds.attrs["axes"].split(",")
    names = ds.attrs["phases"].split(",")
    x, y = ds[xname].values, ds[yname].values
    phase = ds["phase"].transpose(yname, xname).values
    fig, ax = plt.subplots(figsize=(8.4, 4.8), layout="constrained")
    cmap = ListedColormap(["#000000", *PHASE_COLOURS[: len(names)]])
    norm = BoundaryNorm(np.arange(-1.5, len(names)), cmap.N)
    ax.pcolormesh(x, y, phase, cmap=cmap, norm=norm, shading="nearest")
    for i, name in enumerate(names):
        if (phase == i).any():
            ax.fill_between([], [], color=PHASE_COLOURS[i], label=f"{name} (phase)")
    bad = np.argwhere(phase < 0)
    if bad.size:
        ax.plot(x[bad[:, 1]], y[bad[:, 0]], "kx", ms=3, label="no selectable state (flagged)")
    lines = [s for s in ds.attrs.get("lines", "").split(",") if s]
    kinds = ds.attrs.get("line_kinds", "").split(",")
    for k, (line, kind) in enumerate(zip(lines, kinds, strict=False)):
        lx, ly = ds[f"{line}__{xname}"].values, ds[f"{line}__{yname}"].values
        ok = np.isfinite(lx) & np.isfinite(ly)
        if ok.any():
            order = np.argsort(ly[ok]) if np.ptp(ly[ok]) > np.ptp(lx[ok]) else np.argsort(lx[ok])
            ax.plot(lx[ok][order], ly[ok][order], LINE_STYLES.get(kind, "-"), lw=2,
                    color=LINE_COLOURS[k % len(LINE_COLOURS)], label=f"{line} ({kind})")
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    ax.set_xlabel(ds[xname].attrs.get("long_name", xname))
    ax.set_ylabel(ds[yname].attrs.get("long_name", yname))
    ax.set_title(title or ds.attrs.get("title", ""), fontsize=10)
    fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    fig.savefig(path, dpi=130)
    plt.close(fig)


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

"""Matplotlib figures: phase diagrams with labelled lines, theory-vs-simulation comparisons.

Figures are drawn from result objects (``xarray.Dataset`` diagrams, :class:`Verification`
tables) and written to a file; nothing here computes physics.
"""

from __future__ import annotations

import os

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

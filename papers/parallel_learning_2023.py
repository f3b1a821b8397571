"""Agliari, Alessandrelli, Barra & Ricci-Tersenghi: parallel learning by multitasking networks.

arXiv 2308.04106; J. Stat. Mech. (2023), DOI 10.1088/1742-5468/ad0a86. The ``multitasking`` model
(low storage, diluted archetypes) and ``montecarlo.multitasking`` regenerate the paper's themes
as its abstract states them (spec ``shared/specs/multitasking.md`` §0, [SRC]): a hierarchical
regime under mild dilution, whose amplitudes fall as powers of d; a parallel regime where all
archetypes are raised with equal strength; supervised and unsupervised learning alike in low
storage; theory and Monte Carlo in agreement.

**The body of the paper could not be read** (spec §0 and review note 3): its figures, axes,
parameters and numbers are unknown. Every number used or compared here is the spec's *own*
derivation ([DER]) or computation ([NUM]) — in particular d_c(K), d*(K), rho_c(d) and the
exact finite-M values — and is never presented as the paper's.

Figures (in the formats of :func:`theorylab.plot.options`, PNG and PDF by default; the data of
each in a netCDF file of the same stem):

1. ``agliari2023_cascade`` — T = 0 storage, K = 3 and K = 4: the engine's thermodynamic state
   (sorted |m_k| along d, ``tl.cut``; solid, broken where the state jumps), the cascade
   (1 − d) d^(k−1) (dashed, up to d_c(K)), a direct search of the ground state
   (:func:`theorylab.models.multitasking.ground_state`, dotted), d_c(K) (``cascade-fixed-point``)
   and d*(K) (``ground-state-departure``) as vertical lines, and zero-temperature Monte Carlo
   from the cascade (circles; K = 3 also from sign(Σ_μ ξ^μ), squares).
2. ``agliari2023_learning_K2`` (and ``_K3`` in the full run) — the (d, ρ) diagram of supervised
   learning at T = 0 with the Gaussian data average, drawn by the model (``MODEL.plot_diagram``).
   The K = 3 diagram's first-order line costs about 40 s to trace whatever the grid, so
   ``--quick`` draws K = 2 only (its K = 3 reference values are still computed).
3. ``agliari2023_learning_mc`` — exact finite-M theory (lines) against supervised and
   unsupervised Monte Carlo (points, mean ± standard error over chains) at the spec's §9.2
   points, with the storage check of spec §13 row 18 beside them.
4. ``agliari2023_report.md`` and ``agliari2023_reference.nc`` — the reference table: spec value,
   ours, |difference|, the spec's §13 tolerance and the source of each reference; and how far
   the engine's T = 0 state lies above the direct ground-state search along the cascade cut.

Conventions: convention A for the learning couplings (spec §1.3), sorted |m| (gauge and
permutation symmetry, spec §1.4). Every random draw is seeded. The reference table
(:class:`Reference`, :func:`write_report`), the figure helpers (:func:`write_figure`,
:func:`comparison_figure`) and the Monte Carlo helpers (:func:`simulated_overlaps`,
:func:`mc_reference`) are shared with :mod:`papers.multitasking_2012`.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import optimize

import theorylab as tl
from derivations import multitasking as derivation
from montecarlo import multitasking as simulator
from theorylab import plot
from theorylab.models.multitasking import MODEL, cascade, classify, ground_state
from theorylab.results import save_dataset

KEY = "parallel-learning-2023"
TITLE = ("Parallel learning by multitasking neural networks (Agliari, Alessandrelli, Barra, "
         "Ricci-Tersenghi; arXiv 2308.04106, J. Stat. Mech. 2023)")
CITATION = MODEL.citations[0]
__all__ = ["CITATION", "COLOURS", "KEY", "TITLE", "UNREAD", "Reference", "comparison_figure",
           "mc_reference", "mc_tolerance", "reproduce", "simulated_overlaps", "sorted_overlaps",
           "write_figure", "write_report"]

SPEC = "shared/specs/multitasking.md"
REFERENCE_N = 20000
"""The N at which the spec's Monte Carlo tolerances (§13 rows 17, 18) are stated."""
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red")
UNREAD = (
    "The bodies of the papers could not be read (spec §0): only their abstracts were "
    "reachable. Every reference value below is the spec's own derivation ([DER]) or "
    f"computation ([NUM]) in `{SPEC}`, or a qualitative statement of an abstract ([SRC]); "
    "none is a number printed in the paper. In particular d_c(K), d*(K), d_L = 2/3 and d_0 "
    "are the spec's derivations, and nothing reachable shows that the papers quote them "
    "(spec review note 3).")


@dataclass(frozen=True)
class Settings:
    """Sizes of one run (``--quick`` or full)."""

    N: int
    chains: int
    sweeps: int        # finite-T Monte Carlo; the first half is burn-in
    zero_sweeps: int   # zero-temperature dynamics (reaches its fixed point within a few sweeps)
    d_line: int        # points of the T = 0 cut along d
    d_mc: tuple[float, ...]
    grid: tuple[int, int]   # (d, rho) points of the learning diagrams
    learning_K: tuple[int, ...]


QUICK = Settings(N=6000, chains=8, sweeps=40, zero_sweeps=16, d_line=49,
                 d_mc=(0.1, 0.3, 0.5, 0.58, 0.7, 0.9), grid=(17, 13), learning_K=(2,))
FULL = Settings(N=REFERENCE_N, chains=16, sweeps=100, zero_sweeps=30, d_line=197,
                d_mc=tuple(np.round(np.arange(0.05, 0.951, 0.05), 2)), grid=(49, 61),
                learning_K=(2, 3))

# Spec §9.2 learning points (K = 2, convention A): (d, r, M, T), the exact finite-M theory
# (§6.4) and the spec's own Monte Carlo, supervised and unsupervised (N = 2e4).
LEARNING_POINTS = (
    {"d": 0.2, "r": 0.2, "M": 24, "T": 0.02, "m": (0.40514, 0.34532),
     "spec_mc": {"supervised": (0.4012, 0.3467), "unsupervised": (0.4079, 0.341)}},
    {"d": 0.5, "r": 0.5, "M": 8, "T": 0.05, "m": (0.34947, 0.32087),
     "spec_mc": {"supervised": (0.3532, 0.3114), "unsupervised": (0.354, 0.311)}},
    {"d": 0.5, "r": 0.5, "M": 30, "T": 0.02, "m": (0.45839, 0.28974),
     "spec_mc": {"supervised": (0.4531, 0.2999), "unsupervised": (0.4528, 0.3003)}},
)
STORAGE_CHECK = {"K": 3, "d": 0.3, "T": 0.02, "m": (0.7, 0.21, 0.0628),
                 "spec_mc": (0.7053, 0.2146, 0.0664)}   # spec §9.2, §13 row 18


def reproduce(out_dir: pathlib.Path, quick: bool = False) -> list[pathlib.Path]:
    """Write the figures, their data and the report into ``out_dir``; return the paths."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = QUICK if quick else FULL
    cascade_paths, excess = _cascade_figure(out_dir, run)
    diagram_paths = [p for K in run.learning_K for p in _learning_diagram(out_dir, run, K)]
    mc_paths, mc_rows = _learning_mc(out_dir, run)
    rows = [*_storage_rows(), *_learning_rows(), *mc_rows]
    report = write_report(out_dir, "agliari2023", TITLE, _preamble(run, excess), rows)
    return [*cascade_paths, *diagram_paths, *mc_paths, *report]


# --- shared helpers (also used by papers.multitasking_2012) -----------------------------------


@dataclass(frozen=True)
class Reference:
    """One row of a reference table: the spec's value, ours, and how each was obtained.

    ``tolerance`` is the spec's §13 tolerance (for Monte Carlo rows, scaled to the run's N and
    widened by three standard errors, :func:`mc_reference`; ``basis`` says which);
    ``stderr`` is the standard error of a Monte Carlo value (NaN otherwise).
    """

    quantity: str
    spec: float
    ours: float
    tolerance: float
    source: str
    method: str
    basis: str
    stderr: float = math.nan

    @property
    def difference(self) -> float:
        return abs(self.ours - self.spec)

    @property
    def agrees(self) -> bool:
        return bool(self.difference <= self.tolerance)


def write_report(out_dir: pathlib.Path, stem: str, title: str, preamble: str,
                 rows: Sequence[Reference], *, note: str = UNREAD,
                 spec: str = SPEC) -> list[pathlib.Path]:
    """The reference table as ``<stem>_report.md`` (for reading) and ``<stem>_reference.nc``
    (for programs: spec, ours, difference, tolerance, agrees, stderr; quantity, source, method
    and basis as strings along ``row``). ``note`` (what the references are) and ``spec`` (the
    spec they come from) go into the data's attributes."""
    ds = xr.Dataset(
        {"spec": ("row", [r.spec for r in rows]), "ours": ("row", [r.ours for r in rows]),
         "difference": ("row", [r.difference for r in rows]),
         "tolerance": ("row", [r.tolerance for r in rows]),
         "stderr": ("row", [r.stderr for r in rows]),
         "agrees": ("row", np.array([r.agrees for r in rows])),
         "source": ("row", [r.source for r in rows]),
         "method": ("row", [r.method for r in rows]),
         "basis": ("row", [r.basis for r in rows])},
        coords={"quantity": ("row", [r.quantity for r in rows])},
        attrs={"title": title, "note": note, "spec": spec})
    nc = save_dataset(ds, out_dir, f"{stem}_reference")
    agree = sum(r.agrees for r in rows)
    lines = [f"# {title}: reference values", "", preamble, "",
             f"{agree} of {len(rows)} rows agree within their tolerance.", "",
             "| quantity | spec value | ours | abs. difference | tolerance | source of the "
             "reference | how ours was computed |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        ours = f"{r.ours:.7g}" + (f" ± {r.stderr:.2g}" if np.isfinite(r.stderr) else "")
        flag = "" if r.agrees else " **(outside)**"
        lines.append(f"| {r.quantity} | {r.spec:.7g} | {ours} | {r.difference:.2g}{flag} | "
                     f"{r.tolerance:.2g} ({r.basis}) | {r.source} | {r.method} |")
    lines += ["", f"The same table, as data: `{nc.name}` (variables spec, ours, difference, "
              "tolerance, agrees, stderr; coordinate quantity; strings source, method, basis).",
              ""]
    report = out_dir / f"{stem}_report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return [report, nc]


def write_figure(fig: Figure, ds: xr.Dataset, out_dir: pathlib.Path,
                 stem: str) -> list[pathlib.Path]:
    """The figure as ``stem`` in every format of :func:`theorylab.plot.options` (PNG and PDF by
    default) and its data as ``stem``.nc."""
    return [*plot.save(fig, out_dir / f"{stem}.png"), save_dataset(ds, out_dir, stem)]


def sorted_overlaps(solution, K: int) -> np.ndarray:
    """The sorted |m_1| >= .. >= |m_K| of a converged solution (gauge and permutation
    symmetry, spec §1.4)."""
    m = np.abs([solution.order_parameters[f"m{k}"] for k in range(1, K + 1)])
    return np.sort(m)[::-1]


def simulated_overlaps(K: int, d: float, T: float, run, seed: int,
                       sweeps: int | None = None, **options) -> np.ndarray:
    """Sorted |m_k| of ``run.chains`` chains of ``run.N`` spins (``run``: any settings with N,
    chains and sweeps): (2, K), mean and standard error over chains, each chain with its own
    archetypes and data drawn from ``seed``. ``options`` go to
    :func:`montecarlo.multitasking.simulate` (start, protocol, r, M, ...)."""
    result = simulator.simulate(K, run.N, d, T, chains=run.chains,
                                sweeps=run.sweeps if sweeps is None else sweeps, seed=seed,
                                **options)
    return np.array([[result.observables[f"m{k}"].mean for k in range(1, K + 1)],
                     [result.observables[f"m{k}"].stderr for k in range(1, K + 1)]])


def mc_tolerance(tolerance: float, N: int) -> float:
    """A §13 Monte Carlo tolerance stated at N = 2e4, scaled as 1/sqrt(N) (quenched pattern
    fluctuations, spec §9.3) to the run's N."""
    return tolerance * math.sqrt(REFERENCE_N / N)


def mc_reference(quantity: str, spec: float, mean: float, stderr: float, tolerance: float,
                 N: int, row: str, source: str, method: str) -> Reference:
    """A Monte Carlo row: it agrees when |mean − spec| <= the §13 ``tolerance`` (stated at
    N = 2e4, :func:`mc_tolerance`) + 3 standard errors, as in the model's ``verify``."""
    return Reference(quantity, spec, float(mean), mc_tolerance(tolerance, N) + 3 * stderr,
                     source, method,
                     f"§13 row {row}: {tolerance:g} at N = 2e4, x sqrt(2e4/N), + 3 s.e.",
                     float(stderr))


@plot.style()
def comparison_figure(labels: Sequence[str], theory: Sequence[np.ndarray],
                      simulations: dict[str, Sequence[np.ndarray | None]],
                      tolerances: Sequence[float], title: str) -> Figure:
    """Theory (a short line per level k) against Monte Carlo (points with standard-error bars)
    at a few points, and below it Monte Carlo minus theory with the tolerance as a band.

    ``theory[i]`` is the sorted m of point i; ``simulations[name][i]`` is (2, K), mean and
    standard error, or None where that simulation was not run.
    """
    markers = {"storage": "D", "supervised": "o", "unsupervised": "s"}
    fig = Figure(figsize=(plot.WIDTH, 4.4), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    names = list(simulations)
    offsets = np.linspace(-0.12, 0.12, len(names)) if len(names) > 1 else np.zeros(1)
    for i, (m, tol) in enumerate(zip(theory, tolerances, strict=True)):
        bottom.fill_between([i - 0.35, i + 0.35], -tol, tol, color="0.88", lw=0)
        for k, value in enumerate(m):  # thinner for later levels: equal values stay visible
            top.plot([i - 0.3, i + 0.3], [value, value], "-", color=COLOURS[k], lw=3.2 - 0.7 * k)
        for name, offset in zip(names, offsets, strict=True):
            sim = simulations[name][i]
            if sim is None:
                continue
            for k in range(sim.shape[1]):
                style = {"fmt": markers.get(name, "o"), "color": COLOURS[k], "mfc": "white",
                         "ms": 4, "capsize": 2}
                top.errorbar(i + offset, sim[0, k], sim[1, k], **style)
                bottom.errorbar(i + offset, sim[0, k] - m[k], sim[1, k], **style)
    bottom.axhline(0.0, color="k", lw=0.8)
    top.set_ylabel(r"sorted $|m_k|$")
    bottom.set_ylabel(r"MC $-$ theory")
    bottom.set_xticks(range(len(labels)), labels, fontsize=7)
    top.set_title(title)
    levels = max(len(m) for m in theory)
    handles = [Line2D([], [], color=COLOURS[k], lw=2, label=f"$m_{k + 1}$ theory")
               for k in range(levels)]
    handles += [Line2D([], [], ls="none", marker=markers.get(n, "o"), color="k", mfc="white",
                       label=f"MC, {n}") for n in names]
    handles.append(Line2D([], [], color="0.8", lw=6, label="tolerance (scaled to $N$)"))
    fig.legend(handles=handles, loc="outside lower center", frameon=False,
               ncols=plot.legend_columns([h.get_label() for h in handles], plot.WIDTH))
    return fig


# --- figure 1: the T = 0 storage cascade --------------------------------------------------------


def _joined(d: np.ndarray, m: np.ndarray, K: int) -> np.ndarray:
    """Whether the T = 0 state m (K, G) is one continuous branch from d[i] to d[i + 1].

    At T = 0 a state is fixed by its spins per site class, σ_ξ = sign(ξ·m), and on a branch
    m(d) = Σ_ξ P(ξ|d) ξ σ_ξ (spec §3.1). Two neighbours are joined when their spin patterns give
    the same m at the midpoint, so a jump (a first-order change of state, e.g. at d*) is not
    drawn across.
    """
    classes = derivation.site_classes(K)[0].astype(float)
    mid = 0.5 * (d[:-1] + d[1:])
    weights = derivation.class_weights(mid, K)

    def spins(field):  # sign 0 = 0 (spec §3.1), with rounding of equal amplitudes read as a tie
        return np.where(np.abs(field) < 1e-9, 0.0, np.sign(field))

    left = classes.T @ (weights * spins(classes @ m[:, :-1]))
    right = classes.T @ (weights * spins(classes @ m[:, 1:]))
    finite = np.all(np.isfinite(m[:, :-1]) & np.isfinite(m[:, 1:]), axis=0)
    return np.append(finite & np.all(np.abs(left - right) < 1e-9, axis=0), False)


def _draw_pieces(ax, x: np.ndarray, y: np.ndarray, joined: np.ndarray, style: str,
                 **kwargs) -> None:
    """y(x) drawn as a line only between joined neighbours (a NaN after every point not joined
    to the next); a point joined to neither neighbour is drawn as a dot, not dropped."""
    cut = np.flatnonzero(~joined[:-1]) + 1
    ax.plot(np.insert(x, cut, np.nan), np.insert(y, cut, np.nan), style, **kwargs)
    alone = ~joined & ~np.concatenate([[False], joined[:-1]])
    colour = kwargs.get("color", "k")
    ax.plot(x[alone], y[alone], ".", color=colour, ms=3)


def _cascade_figure(out_dir: pathlib.Path, run: Settings) -> tuple[list[pathlib.Path], str]:
    """The figure, and a sentence on how far the engine's T = 0 state lies above the direct
    ground-state search (its energy excess, −|m_state|²/2 + |m_search|²/2)."""
    Ks = (3, 4)
    d_c = {p["K"]: p["d"] for p in tl.line("multitasking", "cascade-fixed-point",
                                             K=list(Ks)).points}
    d_star = {p["K"]: p["d"] for p in tl.line("multitasking", "ground-state-departure",
                                                K=list(Ks)).points}
    # the grid reaches both sides of d* and d_c, so the drawn pieces end where the state changes
    marks = [v + s for K in Ks for v in (d_c[K], d_star[K]) for s in (-1e-7, 1e-7)]
    d = np.unique(np.concatenate([np.linspace(0.01, 0.99, run.d_line), marks]))
    d_mc = np.array(run.d_mc)
    levels = max(Ks)
    shape = (len(Ks), levels)
    state, search = np.full((*shape, d.size), np.nan), np.full((*shape, d.size), np.nan)
    closed = np.full((*shape, d.size), np.nan)
    joined_state = np.zeros((len(Ks), d.size), dtype=bool)
    joined_search = np.zeros_like(joined_state)
    mc = {start: np.full((2, *shape, d_mc.size), np.nan) for start in ("cascade", "majority")}
    for i, K in enumerate(Ks):
        cut = tl.cut("multitasking", "d", d, K=K, T=0)
        m = np.abs(np.array([cut[f"m{k}"].values for k in range(1, K + 1)]))
        state[i, :K] = -np.sort(-m, axis=0)
        joined_state[i] = _joined(d, state[i, :K], K) & cut["converged"].values
        search[i, :K] = np.array([ground_state(v, K) for v in d]).T
        joined_search[i] = _joined(d, search[i, :K], K)
        closed[i, :K] = np.where(d <= d_c[K], cascade(d, K), np.nan)
        for j, v in enumerate(d_mc):
            mc["cascade"][:, i, :K, j] = simulated_overlaps(
                K, v, 0.0, run, seed=100 * K + j, sweeps=run.zero_sweeps, start="cascade")
            if K == 3 and v > d_star[K]:  # the majority state: the ground state (spec §4.2)
                mc["majority"][:, i, :K, j] = simulated_overlaps(
                    K, v, 0.0, run, seed=100 * K + j, sweeps=run.zero_sweeps, start="majority")
    dims = ("K", "k", "d")
    ds = xr.Dataset(
        {"m_state": (dims, state), "state_joined_to_next": (("K", "d"), joined_state),
         "m_ground_search": (dims, search),
         "search_joined_to_next": (("K", "d"), joined_search),
         "m_cascade": (dims, closed),
         "d_c": ("K", [d_c[K] for K in Ks]), "d_star": ("K", [d_star[K] for K in Ks]),
         **{f"m_mc_{start}{suffix}": (("K", "k", "d_mc"), value[j])
            for start, value in mc.items() for j, suffix in enumerate(("", "_stderr"))}},
        coords={"K": list(Ks), "k": np.arange(1, levels + 1), "d": d, "d_mc": d_mc},
        attrs={"paper": KEY, "T": 0.0, "N": run.N, "chains": run.chains,
               "sweeps": run.zero_sweeps,
               "simulation": "zero-temperature random-scan dynamics (sigma = sign(h), random "
                             "where h = 0), mean and standard error over chains, each chain "
                             "its own archetypes; sorted |m|",
               "m_state": "thermodynamic state of the engine along d (tl.cut, T = 0)",
               "m_ground_search": "theorylab.models.multitasking.ground_state (fixed-point "
                                  "ascent from 512 directions)",
               "reference": "d_c, d*: the spec's own derivations (§4.1, §4.2), not the paper's"})
    fig = _cascade_drawing(ds)
    excess = np.where(np.isfinite(state[:, 0]),  # (K, d); NaN where the engine found no state
                      0.5 * (np.nansum(search**2, axis=1) - np.nansum(state**2, axis=1)), np.nan)
    ds["energy_excess_of_state"] = (("K", "d"), excess)
    worst = [(K, float(np.nanmax(excess[i])), float(d[np.nanargmax(excess[i])]))
             for i, K in enumerate(Ks)]
    sentence = "; ".join(f"K = {K}: largest {e:.2g} (at d = {v:.3f})" for K, e, v in worst)
    return write_figure(fig, ds, out_dir, "agliari2023_cascade"), (
        "Energy per neuron by which the engine's T = 0 state lies above the direct "
        f"ground-state search along the cut of figure `agliari2023_cascade`: {sentence} "
        "(variable energy_excess_of_state; a positive value means the engine's thermodynamic "
        "state is not the ground state there).")


@plot.style()
def _cascade_drawing(ds: xr.Dataset) -> Figure:
    """The cascade figure from its data: per K, the engine's state (solid, in pieces), the
    cascade (dashed), the ground-state search (dotted), Monte Carlo (points), d_c and d*."""
    d, d_mc = ds["d"].values, ds["d_mc"].values
    fig = Figure(figsize=(plot.WIDTH, 4.0), layout="constrained")
    fig.get_layout_engine().set(wspace=0.06)   # keep the panels' 1.0 and 0.0 apart
    axes = fig.subplots(1, ds["K"].size, sharey=True)
    for ax, i, K in zip(axes, range(ds["K"].size), ds["K"].values.tolist(), strict=True):
        panel = ds.isel(K=i)
        for k in range(K):
            colour = COLOURS[k]
            _draw_pieces(ax, d, panel["m_state"].values[k], panel["state_joined_to_next"].values,
                         "-", color=colour, lw=1.8)
            ax.plot(d, panel["m_cascade"].values[k], "--", color=colour, lw=1.2)
            _draw_pieces(ax, d, panel["m_ground_search"].values[k],
                         panel["search_joined_to_next"].values, ":", color="k", lw=1)
            for start, marker in (("cascade", "o"), ("majority", "s")):
                ax.errorbar(d_mc, panel[f"m_mc_{start}"].values[k],
                            panel[f"m_mc_{start}_stderr"].values[k], fmt=marker, color=colour,
                            mfc="white", ms=4, capsize=2)
        d_c, d_star = float(panel["d_c"]), float(panel["d_star"])
        ax.axvline(d_c, color="0.35", ls="-.", lw=1)
        ax.axvline(d_star, color="0.35", ls=(0, (5, 2)), lw=1)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="$d$",
               title=f"$K = {K}$: $d_c = {d_c:.4f}$, $d^* = {d_star:.4f}$")
    axes[0].set_ylabel(r"sorted $|m_k|$")
    handles = [Line2D([], [], color=COLOURS[k], lw=2, label=f"$m_{k + 1}$")
               for k in range(ds["k"].size)]
    handles += [
        Line2D([], [], color="k", lw=2, label="state (engine)"),
        Line2D([], [], color="k", lw=1.2, ls="--", label=r"cascade $(1-d)\,d^{k-1}$"),
        Line2D([], [], color="k", lw=1, ls=":", label="ground state (search)"),
        Line2D([], [], color="0.35", ls="-.", label=r"$d_c$: cascade no fixed point"),
        Line2D([], [], color="0.35", ls=(0, (5, 2)), label=r"$d^*$: ground state leaves it"),
        Line2D([], [], ls="none", marker="o", color="k", mfc="white",
               label=f"MC, cascade start ($N = {ds.attrs['N']}$)"),
        Line2D([], [], ls="none", marker="s", color="k", mfc="white",
               label=r"MC, start sign$(\Sigma_\mu \xi^\mu)$, $d > d^*$")]
    fig.legend(handles=handles, loc="outside lower center", frameon=False,
               ncols=plot.legend_columns([h.get_label() for h in handles], plot.WIDTH))
    fig.suptitle("Storage at $T = 0$: the cascade and the ground state (Agliari et al. 2012)")
    return fig

# --- figure 2: the (d, rho) learning diagrams ----------------------------------------------------


def _learning_diagram(out_dir: pathlib.Path, run: Settings, K: int) -> list[pathlib.Path]:
    nd, nrho = run.grid
    ds = tl.diagram("multitasking", K=K, protocol="supervised", T=0, d=(0.02, 0.98, nd),
                    rho=(0.0, 1.2, nrho))
    ds.attrs["title"] = (f"$K = {K}$: supervised learning at $T = 0$, Gaussian data average "
                         "(spec §6)")
    ds.attrs["paper"] = KEY
    stem = f"agliari2023_learning_K{K}"
    return [*MODEL.plot_diagram(ds, out_dir / f"{stem}.png"), save_dataset(ds, out_dir, stem)]


# --- figure 3: learning, theory vs Monte Carlo ----------------------------------------------------


def _learning_mc(out_dir: pathlib.Path, run: Settings) -> tuple[list[pathlib.Path],
                                                                 list[Reference]]:
    protocols = ("supervised", "unsupervised")
    storage_tol = mc_tolerance(0.01, run.N)
    learning_tol = mc_tolerance(0.02, run.N)
    check = STORAGE_CHECK
    labels = [f"storage, $K = {check['K']}$\n$d = {check['d']}$, $T = {check['T']}$"]
    theory = [sorted_overlaps(tl.solve("multitasking", K=check["K"], d=check["d"],
                                       T=check["T"]), check["K"])]
    sims = {"storage": [simulated_overlaps(check["K"], check["d"], check["T"], run, seed=2023,
                                           start="cascade")],
            **{p: [None] for p in protocols}}
    tolerances = [storage_tol]
    rows = [mc_reference(f"MC storage m{k + 1} (K=3, d=0.3, T=0.02, N={run.N})",
                         check["m"][k], *sims["storage"][0][:, k], 0.01, run.N, "18",
                         f"[NUM] spec §9.2 theory, §13 row 18 (the spec's own MC: "
                         f"{check['spec_mc'][k]})",
                         "montecarlo.multitasking, heat bath, cascade start")
            for k in range(check["K"])]
    for j, point in enumerate(LEARNING_POINTS):
        d, r, M, T = (point[k] for k in ("d", "r", "M", "T"))
        labels.append(f"$d = {d}$, $r = {r}$\n$M = {M}$, $T = {T}$")
        solution = tl.solve("multitasking", K=2, d=d, T=T, protocol="supervised",
                            average="exact", r=r, M=M)
        theory.append(sorted_overlaps(solution, 2))
        sims["storage"].append(None)
        tolerances.append(learning_tol)
        where = f"d={d}, r={r}, M={M}, T={T}, N={run.N}"
        for protocol in protocols:
            # one seed for both protocols: the same archetypes, data sets and starts
            sim = simulated_overlaps(2, d, T, run, seed=2308 + j, start="cascade",
                                     protocol=protocol, r=r, M=M)
            sims[protocol].append(sim)
            rows += [mc_reference(f"MC {protocol} m{k + 1} ({where})", point["m"][k],
                                  *sim[:, k], 0.02, run.N, "17",
                                  f"[NUM] spec §6.4/§9.2 exact-M theory (the spec's own MC: "
                                  f"{point['spec_mc'][protocol][k]})",
                                  f"montecarlo.multitasking, {protocol} couplings, "
                                  "convention A")
                     for k in range(2)]
        sup, unsup = sims["supervised"][-1], sims["unsupervised"][-1]
        rows += [mc_reference(f"MC unsupervised - supervised m{k + 1} ({where})", 0.0,
                              unsup[0, k] - sup[0, k], np.hypot(unsup[1, k], sup[1, k]), 0.01,
                              run.N, "17",
                              "[SRC] abstract: a teacher changes nothing in low storage; "
                              "[NUM] spec §13 row 17 (equal within 0.01)",
                              "difference of the two MC means (common random numbers)")
                 for k in range(2)]
    fig = comparison_figure(labels, theory, sims, tolerances,
                            "Theory (lines; learning: exact finite-$M$ average, convention A)\n"
                            f"vs Monte Carlo ($N = {run.N}$, {run.chains} chains; mean ± s.e.)")
    names = ["storage", *protocols]
    padded = np.full((len(names), 2, len(labels), 3), np.nan)
    for a, name in enumerate(names):
        for i, sim in enumerate(sims[name]):
            if sim is not None:
                padded[a, :, i, : sim.shape[1]] = sim
    theory_padded = np.full((len(labels), 3), np.nan)
    for i, m in enumerate(theory):
        theory_padded[i, : m.size] = m
    ds = xr.Dataset(
        {"m_theory": (("point", "k"), theory_padded),
         "m_mc": (("protocol", "point", "k"), padded[:, 0]),
         "m_mc_stderr": (("protocol", "point", "k"), padded[:, 1]),
         "tolerance": ("point", tolerances),
         "K": ("point", [check["K"]] + [2] * len(LEARNING_POINTS)),
         "d": ("point", [check["d"]] + [p["d"] for p in LEARNING_POINTS]),
         "T": ("point", [check["T"]] + [p["T"] for p in LEARNING_POINTS]),
         "r": ("point", [np.nan] + [p["r"] for p in LEARNING_POINTS]),
         "M": ("point", [np.nan] + [float(p["M"]) for p in LEARNING_POINTS])},
        coords={"protocol": names, "point": np.arange(len(labels)), "k": [1, 2, 3]},
        attrs={"paper": KEY, "N": run.N, "chains": run.chains, "sweeps": run.sweeps,
               "theory": "tl.solve: storage, or supervised with the exact binomial data "
                         "average (unsupervised has the same equations, spec §3.4)",
               "simulation": "heat bath from the cascade start; sorted |m|, time average over "
                             "the second half, mean and standard error over chains",
               "convention": "A"})
    return write_figure(fig, ds, out_dir, "agliari2023_learning_mc"), rows


# --- the reference table ------------------------------------------------------------------------


def _line_values(name: str, free: str, **params) -> list[float]:
    """The value of ``free`` at each point of the named line (NaN where not found)."""
    return [float(p[free]) if p.get("found") and p.get(free) is not None else math.nan
            for p in tl.line("multitasking", name, **params).points]


def _storage_rows() -> list[Reference]:
    rows = []
    d_c_spec = {3: 0.6180340, 4: 0.5436890, 5: 0.5187901, 6: 0.5086604}
    for p in tl.line("multitasking", "cascade-fixed-point", K=list(d_c_spec)).points:
        rows.append(Reference(f"d_c(K={p['K']})", d_c_spec[p["K"]], p["d"], 1e-6,
                              "[DER] spec §4.1 (root of 1 - 2d + d^K), §13 row 5",
                              "tl.line cascade-fixed-point", "§13 row 5"))
    d_star_spec = {3: 0.54692, 4: 0.51868, 5: 0.50720}
    for p in tl.line("multitasking", "ground-state-departure", K=list(d_star_spec)).points:
        rows.append(Reference(f"d*(K={p['K']})", d_star_spec[p["K"]], p["d"], 2e-4,
                              "[NUM] spec §4.2 (sphere search + Nelder-Mead), §13 row 6",
                              "tl.line ground-state-departure", "§13 row 6"))
    for K, d, spec, what in ((3, 0.3, (0.7, 0.21, 0.063), "[DER] spec §4.1 cascade"),
                             (4, 0.3, (0.7, 0.21, 0.063, 0.0189), "[DER] spec §4.1 cascade"),
                             (3, 0.5, (0.5, 0.25, 0.125), "[DER] spec §4.1 cascade"),
                             (3, 0.6, (0.368, 0.272, 0.176),
                              "[DER] spec §4.2 majority state, §13 row 7")):
        m = sorted_overlaps(tl.solve("multitasking", K=K, d=d, T=0), K)
        rows += [Reference(f"T=0 storage m{k + 1} (K={K}, d={d})", spec[k], m[k],
                           1e-9, what, "tl.solve (thermodynamic state)",
                           "§13 rows 4, 7 (1e-9 on the value)")
                 for k in range(K)]
    return rows


def _partial_onset(d: float, lo: float, hi: float) -> float:
    """K = 3, T = 0, Gaussian: the rho where the thermodynamic state turns from hierarchical to
    partial (m_1 = m_2 > m_3; continuous, spec §6.3), by bisection on the state's kind."""
    def kind(rho: float) -> str:
        solution = tl.solve("multitasking", K=3, d=d, T=0, protocol="supervised", rho=rho)
        return str(classify(sorted_overlaps(solution, 3)[:, None])[0])

    if kind(lo) != "hierarchical" or kind(hi) != "partial":
        return math.nan
    return optimize.bisect(lambda rho: 1.0 if kind(rho) == "partial" else -1.0, lo, hi,
                           xtol=1e-7)


def _learning_rows() -> list[Reference]:
    rows = []
    rho_c = {0.2: 0.58982, 0.5: 0.14132, 0.8: 0.01572}
    found = _line_values("parallel-instability-rho", "rho", K=2, protocol="supervised", T=0,
                         d=list(rho_c))
    rows += [Reference(f"rho_c(d={d}), K=2, T=0", spec, ours, 2e-4,
                       "[NUM] spec §6.2 (hierarchical -> parallel, continuous), §13 row 13",
                       "tl.line parallel-instability-rho", "§13 row 13")
             for (d, spec), ours in zip(rho_c.items(), found, strict=True)]
    first_order = {0.3: 0.39996, 0.5: 0.16396}
    found = _line_values("parallel-thermodynamic-rho", "rho", K=3, protocol="supervised", T=0,
                         d=list(first_order))
    rows += [Reference(f"rho partial->parallel (d={d}), K=3, T=0", spec, ours, 5e-4,
                       "[NUM] spec §6.3 (first order, f crossing), §13 row 14",
                       "tl.line parallel-thermodynamic-rho", "§13 row 14")
             for (d, spec), ours in zip(first_order.items(), found, strict=True)]
    for d, spec, bracket in ((0.3, 0.33805, (0.25, 0.39)), (0.5, 0.09139, (0.05, 0.16))):
        rows.append(Reference(f"rho hierarchical->partial (d={d}), K=3, T=0", spec,
                              _partial_onset(d, *bracket), 5e-4,
                              "[NUM] spec §6.3 (continuous), §13 row 14",
                              "bisection on the kind of tl.solve's state", "§13 row 14"))
    gaussian = (
        ({"K": 2, "d": 0.2, "rho": 0.4}, (0.641482, 0.257583), -0.26028536),
        ({"K": 3, "d": 0.5, "rho": 0.12}, (0.357214, 0.357214, 0.203592), -0.15323828))
    for params, m_spec, f_spec in gaussian:
        solution = tl.solve("multitasking", protocol="supervised", T=0, **params)
        where = ", ".join(f"{k}={v}" for k, v in params.items())
        m = sorted_overlaps(solution, params["K"])
        rows += [Reference(f"T=0 Gaussian m{k + 1} ({where})", spec, m[k], 1e-5,
                           "[NUM] spec §6.2/§6.3 sample solutions, §13 row 15",
                           "tl.solve supervised, Gaussian", "§13 row 15")
                 for k, spec in enumerate(m_spec)]
        rows.append(Reference(f"T=0 Gaussian f ({where})", f_spec, solution.free_energy, 1e-5,
                              "[NUM] spec §6.2/§6.3, §13 row 15",
                              "tl.solve supervised, Gaussian", "§13 row 15"))
    exact = (
        ({"d": 0.2, "r": 0.2, "M": 24, "T": 0.02}, (0.40514, 0.34532), (0.37468, 0.32782),
         -0.24906881),
        ({"d": 0.5, "r": 0.5, "M": 8, "T": 0.05}, (0.34947, 0.32087), (0.32240, 0.29634),
         -0.14301564),
        ({"d": 0.5, "r": 0.5, "M": 30, "T": 0.02}, (0.45839, 0.28974), (0.43331, 0.27292),
         -0.14783490),
        ({"d": 0.3, "r": 0.6, "M": 10, "T": 0.1}, (0.63725, 0.23920), (0.58327, 0.22478),
         -0.24210226))
    for params, m_spec, n_spec, f_spec in exact:
        solution = tl.solve("multitasking", K=2, protocol="supervised", average="exact",
                            **params)
        where = ", ".join(f"{k}={v}" for k, v in params.items())
        m = sorted_overlaps(solution, 2)
        n = np.sort(np.abs([solution.order_parameters[f"n{k}"] for k in (1, 2)]))[::-1]
        source = "[NUM] spec §6.4 exact finite M, convention A, §13 row 16"
        method = "tl.solve supervised, exact binomial average"
        rows += [Reference(f"exact-M {name}{k + 1} ({where})", spec, value[k], 1e-4,
                           source, method, "§13 row 16")
                 for name, spec_values, value in (("m", m_spec, m), ("n", n_spec, n))
                 for k, spec in enumerate(spec_values)]
        rows.append(Reference(f"exact-M f ({where})", f_spec, solution.free_energy, 1e-4,
                              source, method, "§13 row 16"))
    return rows


def _preamble(run: Settings, excess: str) -> str:
    return "\n".join([
        UNREAD, "",
        "What the abstract of arXiv 2308.04106 states [SRC], and where it is looked at here:",
        "",
        "* mild dilution gives a hierarchical regime, amplitudes as powers of d: figure "
        "`agliari2023_cascade` (the T = 0 cascade (1 - d) d^(k-1), rows d_c, cascade values);",
        "* strong dilution (or noisy data) gives a parallel regime of equal amplitudes: the "
        "(d, rho) diagrams `agliari2023_learning_K*` (rows rho_c, partial -> parallel);",
        "* supervised and unsupervised learning agree in low storage: figure "
        "`agliari2023_learning_mc` (rows 'unsupervised - supervised');",
        "* theory and Monte Carlo agree: the MC rows.",
        "",
        excess,
        "",
        f"Run: {'--quick' if run is QUICK else 'full'}; Monte Carlo N = {run.N}, "
        f"{run.chains} chains, {run.sweeps} sweeps (half burn-in; zero-temperature runs "
        f"{run.zero_sweeps}). Monte Carlo tolerances are the spec's §13 values at N = 2e4 "
        "scaled by sqrt(2e4/N); the spec's own Monte Carlo numbers are quoted in the source "
        "column. Learning couplings in convention A (spec §1.3).",
    ])

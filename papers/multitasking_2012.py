"""Agliari, Barra, Galluzzi, Guerra & Moauro: multitasking associative networks.

PRL 109, 268101 (2012), arXiv 1111.5191. The storage side of the ``multitasking`` model — K
diluted archetypes, H = −(N/2) Σ_μ m_μ², low storage — regenerated with the engine and checked
with ``montecarlo.multitasking``. What could be read of the paper is its abstract (spec
``shared/specs/multitasking.md`` §0, [SRC]): a diluted bipartite network, equivalent to an
associative memory that retrieves several patterns in parallel without falling into spurious
states; low storage; statistical mechanics, signal-to-noise and Monte Carlo in agreement.

**The body of the paper could not be read**: its figures, parameters and numbers are unknown.
Every number compared here — the (d, T) lines of spec §5.2, the re-entrant window, d_0, the
Landau point d_L = 2/3 — is the spec's *own* derivation ([DER]) or computation ([NUM]), never a
value quoted by the paper (spec review note 3). The temperature is that of the unnormalised
Hamiltonian above (T_c = 1 − d); a paper writing the bipartite form with unit-variance hidden
units may use another β scale (spec review note 4), so no axis here is claimed to be the paper's.

Figures (in the formats of :func:`theorylab.plot.options`, PNG and PDF by default; the data of
each in a netCDF file of the same stem):

1. ``agliari2012_storage_K2`` (and ``_K3`` in the full run) — the (d, T) storage diagram drawn by
   the model (``tl.diagram``, ``MODEL.plot_diagram``): paramagnet, pure, hierarchical and
   parallel regions with the traced lines. The K = 3 lines cost about 35 s to trace whatever the
   grid, so ``--quick`` draws K = 2 only.
2. ``agliari2012_cut`` — K = 2 along T at d = 0.63, through the re-entrant parallel window
   (``tl.cut``): the thermodynamic state's m_1, m_2 (lines, drawn only where a state was found),
   the phases as bands, the window's ends from the parallel branch's Hessian, and heat-bath Monte
   Carlo (points).
3. ``agliari2012_landau`` — the Landau point: (f_parallel − f_pure)/δ² against d at
   T = (1 − δ)(1 − d) for K = 2 (and K = 3 in the full run); the sign flips at d_L(δ), which
   tends to 2/3 as δ → 0 (extrapolated linearly in δ).
4. ``agliari2012_storage_mc`` — storage theory (lines) against Monte Carlo (points) at the spec's
   §9.2 points.
5. ``agliari2012_report.md`` and ``agliari2012_reference.nc`` — the reference table (spec value,
   ours, |difference|, §13 tolerance, source).
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from scipy import optimize

import theorylab as tl
from montecarlo import multitasking as simulator
from papers.parallel_learning_2023 import (
    COLOURS,
    UNREAD,
    Reference,
    comparison_figure,
    mc_reference,
    mc_tolerance,
    simulated_overlaps,
    sorted_overlaps,
    write_figure,
    write_report,
)
from theorylab import plot
from theorylab.models.multitasking import MODEL
from theorylab.results import save_dataset

KEY = "multitasking-2012"
TITLE = ("Multitasking associative networks (Agliari, Barra, Galluzzi, Guerra, Moauro; "
         "PRL 109, 268101 (2012), arXiv 1111.5191)")
CITATION = MODEL.citations[1]
__all__ = ["CITATION", "KEY", "TITLE", "reproduce"]

CUT_D = 0.63
"""The dilution of the cut: inside the K = 2 re-entrant parallel window d_0 < d < 2/3 (§5.2)."""
PHASE_COLOURS = {"paramagnet": "#e6e6e6", "pure": "#cfe3f3", "hierarchical": "#fbe0c3",
                 "partial": "#d9efd5", "parallel": "#e4e1f0"}


@dataclass(frozen=True)
class Settings:
    """Sizes of one run (``--quick`` or full)."""

    N: int
    chains: int
    sweeps: int        # heat-bath sweeps; the first half is burn-in
    grid: tuple[int, int]   # (d, T) points of the diagrams
    diagram_K: tuple[int, ...]
    cut_points: int
    cut_N: int         # the cut's Monte Carlo: near the parallel state's soft mode, N matters
    cut_mc: tuple[float, ...]
    landau_deltas: tuple[float, ...]
    landau_d: int
    landau_K: tuple[int, ...]


QUICK = Settings(N=6000, chains=8, sweeps=40, grid=(21, 17), diagram_K=(2,), cut_points=85,
                 cut_N=6000, cut_mc=(0.08, 0.2, 0.28, 0.345, 0.43), landau_deltas=(0.004, 0.002),
                 landau_d=4, landau_K=(2,))
FULL = Settings(N=20000, chains=16, sweeps=100, grid=(101, 81), diagram_K=(2, 3),
                cut_points=421, cut_N=80000,
                cut_mc=tuple(np.round(np.arange(0.02, 0.441, 0.02), 2)),
                landau_deltas=(0.004, 0.002), landau_d=10, landau_K=(2, 3))

# Spec §9.2 storage points (T = 0.02 and 0.1, cascade start): theory and the spec's own MC.
STORAGE_POINTS = (
    {"K": 3, "d": 0.3, "T": 0.02, "m": (0.7, 0.21, 0.0628), "spec_mc": (0.7053, 0.2146, 0.0664)},
    {"K": 3, "d": 0.5, "T": 0.02, "m": (0.5, 0.25, 0.125), "spec_mc": (0.497, 0.2516, 0.1301)},
    {"K": 3, "d": 0.6, "T": 0.02, "m": (0.368, 0.272, 0.176), "spec_mc": (0.368, 0.2687, 0.172)},
    {"K": 2, "d": 0.8, "T": 0.1, "m": (0.1695, 0.1695), "spec_mc": (0.164, 0.173)},
)


def reproduce(out_dir: pathlib.Path, quick: bool = False) -> list[pathlib.Path]:
    """Write the figures, their data and the report into ``out_dir``; return the paths."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = QUICK if quick else FULL
    diagrams = [p for K in run.diagram_K for p in _storage_diagram(out_dir, run, K)]
    cut_paths, window, missing = _cut_figure(out_dir, run)
    landau_paths, landau_rows = _landau_figure(out_dir, run)
    mc_paths, mc_rows = _storage_mc(out_dir, run)
    rows = [*_line_rows(window), *landau_rows, *_value_rows(), *mc_rows]
    report = write_report(out_dir, "agliari2012", TITLE, _preamble(run, missing), rows)
    return [*diagrams, *cut_paths, *landau_paths, *mc_paths, *report]


# --- figure 1: the (d, T) storage diagrams -------------------------------------------------------


def _storage_diagram(out_dir: pathlib.Path, run: Settings, K: int) -> list[pathlib.Path]:
    nd, nT = run.grid
    ds = tl.diagram("multitasking", K=K, d=(0.0, 1.0, nd), T=(0.0, 1.0, nT))
    ds.attrs["title"] = (f"$K = {K}$: storage, $H = -(N/2)\\Sigma_\\mu m_\\mu^2$, "
                         "$T_c = 1 - d$ (spec §5)")
    ds.attrs["paper"] = KEY
    stem = f"agliari2012_storage_K{K}"
    return [*MODEL.plot_diagram(ds, out_dir / f"{stem}.png"), save_dataset(ds, out_dir, stem)]


# --- figure 2: the cut through the re-entrant window ---------------------------------------------


def _parallel_curvature(d: float, T: float) -> float:
    """The smallest Hessian eigenvalue of f on the K = 2 parallel branch (m_1 = m_2): positive
    where the symmetric state is a local minimum (spec §5.2)."""
    solution = tl.solve("multitasking", K=2, d=d, T=T, phase="parallel")
    if not solution.converged:
        return math.nan
    return float(solution.extras["smallest_hessian_eigenvalue"])


def parallel_window(d: float, inside: float = 0.23) -> tuple[float, float]:
    """The T interval in which the K = 2 parallel state is locally stable at d, for d_0 < d <
    2/3 (spec §5.2): the zeros of its smallest Hessian eigenvalue below and above ``inside``."""
    low = optimize.brentq(lambda T: _parallel_curvature(d, T), 0.05, inside, xtol=1e-10)
    high = optimize.brentq(lambda T: _parallel_curvature(d, T), inside, 1 - d - 1e-6,
                           xtol=1e-10)
    return low, high


def window_cusp() -> tuple[float, float]:
    """(d_0, T_0): the re-entrant window closes where the largest curvature of the parallel
    branch along T touches zero (spec §5.2: d_0 = 0.60159, T ≈ 0.244)."""
    def peak(d: float) -> tuple[float, float]:
        best = optimize.minimize_scalar(lambda T: -_parallel_curvature(d, T),
                                        bounds=(0.2, 0.29), method="bounded",
                                        options={"xatol": 1e-8})
        return -best.fun, best.x

    d0 = optimize.brentq(lambda d: peak(d)[0], 0.59, 0.62, xtol=1e-9)
    return d0, peak(d0)[1]


def _cut_figure(out_dir: pathlib.Path, run: Settings) -> tuple[list[pathlib.Path], dict, str]:
    """The figure, the window's ends at the cut's d, and a sentence on the temperatures where
    the engine found no selectable state."""
    T = np.linspace(0.0, 0.45, run.cut_points)
    cut = tl.cut("multitasking", "T", T, K=2, d=CUT_D)
    phase = cut["phase"].values
    found = cut["converged"].values & (phase >= 0)
    m = np.abs(np.array([cut["m1"].values, cut["m2"].values]))
    m = np.where(found, -np.sort(-m, axis=0), np.nan)
    low, high = parallel_window(CUT_D)
    T_c = 1.0 - CUT_D
    T_mc = np.array(run.cut_mc)
    # sorted m and the symmetric sum of m^2, which finite N biases far less near the parallel
    # state's soft mode (spec §9.3)
    results = [simulator.simulate(2, run.cut_N, CUT_D, v, chains=run.chains, sweeps=run.sweeps,
                                  start="cascade", seed=1111 + j) for j, v in enumerate(T_mc)]
    stats = [(o.mean, o.stderr) for r in results
             for o in (r.observables["m1"], r.observables["m2"], r.observables["sum_m2"])]
    mc = np.array(stats).reshape(T_mc.size, 3, 2)            # (T, [m1, m2, sum m^2], stat)
    ds = xr.Dataset(
        {"m_state": (("k", "T"), m), "sum_m2_state": ("T", np.sum(m**2, axis=0)),
         "phase": ("T", phase),
         "m_mc": (("T_mc", "k"), mc[:, :2, 0]), "m_mc_stderr": (("T_mc", "k"), mc[:, :2, 1]),
         "sum_m2_mc": ("T_mc", mc[:, 2, 0]), "sum_m2_mc_stderr": ("T_mc", mc[:, 2, 1]),
         "window_low": low, "window_high": high, "T_c": T_c},
        coords={"T": T, "k": [1, 2], "T_mc": T_mc},
        attrs={"paper": KEY, "K": 2, "d": CUT_D, "phases": cut.attrs["phases"],
               "phase_note": "index into phases; -1: no selectable state found by the engine",
               "events": cut.attrs["events"], "N": run.cut_N, "chains": run.chains,
               "sweeps": run.sweeps,
               "window": "zeros of the parallel branch's smallest Hessian eigenvalue",
               "simulation": "heat bath from the cascade start; sorted |m| and sum_mu m_mu^2, "
                             "mean and standard error over chains"})
    fig = _cut_drawing(ds)
    gaps = T[phase < 0]
    missing = (f"Along the cut at d = {CUT_D} the engine found no selectable state at "
               f"{gaps.size} of {T.size} temperatures"
               + (f" (T = {', '.join(f'{v:.4f}' for v in gaps[:8])}"
                  + (", ..." if gaps.size > 8 else "") + ")" if gaps.size else "") + ".")
    return write_figure(fig, ds, out_dir, "agliari2012_cut"), {CUT_D: (low, high)}, missing


@plot.style()
def _cut_drawing(ds: xr.Dataset) -> Figure:
    """The cut figure from its data: the phases as bands, the state's sorted m_k and their
    sum of squares (lines) against Monte Carlo (points), the window's ends and T_c."""
    T, phase, T_mc = ds["T"].values, ds["phase"].values, ds["T_mc"].values
    names = ds.attrs["phases"].split(",")
    m = ds["m_state"].values
    fig = Figure(figsize=(plot.WIDTH, 4.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    runs = np.flatnonzero(np.diff(phase)) + 1
    step = T[1] - T[0]
    shown = set()
    for lo, hi in zip(np.r_[0, runs], np.r_[runs, T.size], strict=True):
        label = names[phase[lo]] if phase[lo] >= 0 else "no state found (engine)"
        for ax in (top, bottom):
            ax.axvspan(max(T[lo] - step / 2, T[0]), min(T[hi - 1] + step / 2, T[-1]),
                       facecolor=PHASE_COLOURS.get(label, "white"), lw=0,
                       hatch=None if label in PHASE_COLOURS else "xx",
                       label=None if label in shown or ax is bottom else label)
        shown.add(label)
    N = ds.attrs["N"]
    for k in range(2):
        top.plot(T, m[k], "-", color=COLOURS[k], lw=1.8,
                 label=f"$m_{k + 1}$ (thermodynamic state)")
        top.errorbar(T_mc, ds["m_mc"].values[:, k], ds["m_mc_stderr"].values[:, k], fmt="o",
                     color=COLOURS[k], mfc="white", ms=4, capsize=2,
                     label=f"$m_{k + 1}$, MC ($N = {N}$)")
    bottom.plot(T, ds["sum_m2_state"].values, "-", color="k", lw=1.8)
    bottom.errorbar(T_mc, ds["sum_m2_mc"].values, ds["sum_m2_mc_stderr"].values, fmt="o",
                    color="k", mfc="white", ms=4, capsize=2)
    for value, style, text in ((float(ds["window_low"]), "--", "parallel window (Hessian)"),
                               (float(ds["window_high"]), "--", None),
                               (float(ds["T_c"]), ":", r"$T_c = 1 - d$")):
        for ax in (top, bottom):
            ax.axvline(value, color="0.3", ls=style, lw=1, label=None if ax is bottom else text)
    top.set(ylim=(0, 0.42), ylabel=r"sorted $|m_k|$",
            title=f"$K = 2$, $d = {ds.attrs['d']}$: hierarchical, parallel (re-entrant), "
                  "hierarchical, pure, paramagnet")
    bottom.set(xlim=(T[0], T[-1]), ylim=(0, 0.21), xlabel="$T$", ylabel=r"$\sum_k m_k^2$")
    handles, labels = top.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", frameon=False,
               ncols=plot.legend_columns(labels, plot.WIDTH),
               title="finite $N$ splits the sorted $m_k$ near the soft parallel mode; "
                     r"$\Sigma_k m_k^2$ is hardly biased (spec §9.3)")
    return fig

# --- figure 3: the Landau point ------------------------------------------------------------------


def _landau_gap(d: float, delta: float, K: int) -> tuple[float, int]:
    """(f_parallel − f_pure)/δ² at T = (1 − δ)(1 − d), negative where a symmetric mixture is
    selected just below T_c (spec §5.1), and the number of archetypes in that mixture (the
    engine's parallel branch is its lowest symmetric mixture: for K = 3 the 2-mixture below
    d ≈ 2/3, the 3-mixture above, as the quartic coefficient orders them)."""
    T = (1.0 - delta) * (1.0 - d)
    pure = tl.solve("multitasking", K=K, d=d, T=T, phase="pure")
    parallel = tl.solve("multitasking", K=K, d=d, T=T, phase="parallel")
    if not (pure.converged and parallel.converged):
        return math.nan, 0
    condensed = int(np.sum(sorted_overlaps(parallel, K) > 1e-6))
    return (parallel.free_energy - pure.free_energy) / delta**2, condensed


def _landau_root(d: np.ndarray, gap: np.ndarray, delta: float, K: int) -> float:
    """d_L(δ): the zero of the gap, by linear interpolation between the bracketing grid points
    and one regula-falsi refinement (the gap is nearly linear in d there)."""
    change = np.flatnonzero(np.sign(gap[:-1]) * np.sign(gap[1:]) < 0)
    if not change.size:
        return math.nan
    (a, fa), (b, fb) = (d[change[0]], gap[change[0]]), (d[change[0] + 1], gap[change[0] + 1])
    guess = a - fa * (b - a) / (fb - fa)
    f_guess = _landau_gap(guess, delta, K)[0]
    (a, fa), (b, fb) = ((a, fa), (guess, f_guess)) if fa * f_guess < 0 else (
        (guess, f_guess), (b, fb))
    return float(a - fa * (b - a) / (fb - fa))


def _landau_figure(out_dir: pathlib.Path, run: Settings) -> tuple[list[pathlib.Path],
                                                                  list[Reference]]:
    Ks = run.landau_K
    deltas = np.array(run.landau_deltas)
    # a coarse grid, with points 0.01 either side of 2/3 to bracket the zero closely
    d = np.unique(np.r_[np.linspace(0.58, 0.76, run.landau_d), 2 / 3 - 0.01, 2 / 3 + 0.01])
    evaluated = np.array([[[_landau_gap(v, delta, K) for v in d] for delta in deltas]
                          for K in Ks])
    gap, condensed = evaluated[..., 0], evaluated[..., 1].astype(int)
    roots = np.array([[_landau_root(d, gap[i, j], delta, K) for j, delta in enumerate(deltas)]
                      for i, K in enumerate(Ks)])
    # d_L(δ) = d_L + c δ + O(δ²): Richardson from the two smallest δ
    ratio = deltas[-2] / deltas[-1]
    extrapolated = (ratio * roots[:, -1] - roots[:, -2]) / (ratio - 1)
    ds = xr.Dataset(
        {"gap": (("K", "delta", "d"), gap),
         "parallel_condensed": (("K", "delta", "d"), condensed),
         "d_L_at_delta": (("K", "delta"), roots),
         "d_L_extrapolated": ("K", extrapolated)},
        coords={"K": list(Ks), "delta": deltas, "d": d},
        attrs={"paper": KEY, "gap": "(f_parallel - f_pure)/delta^2 at T = (1 - delta)(1 - d)",
               "extrapolation": "Richardson, linear in delta, from the two smallest delta",
               "reference": "d_L = 2/3: the spec's derivation (§5.1), not the paper's"})
    fig = _landau_drawing(ds)
    rows = [Reference(f"d_L (Landau point, K={K}, no data)", 2 / 3, float(extrapolated[i]),
                      1e-3, "[DER] spec §5.1 (sign of the quartic coefficient), §13 row 9",
                      "f crossing of the pure and parallel branches at T = (1 - delta) T_c, "
                      "extrapolated to delta -> 0", "§13 row 9")
            for i, K in enumerate(Ks)]
    return write_figure(fig, ds, out_dir, "agliari2012_landau"), rows


@plot.style()
def _landau_drawing(ds: xr.Dataset) -> Figure:
    """The Landau figure from its data: the scaled gap against d per K and delta, its zeros
    d_L(delta), and d_L = 2/3; the delta curves nearly coincide, so each has its own dash."""
    d, deltas, Ks = ds["d"].values, ds["delta"].values, ds["K"].values.tolist()
    gap, roots = ds["gap"].values, ds["d_L_at_delta"].values
    extrapolated, condensed = ds["d_L_extrapolated"].values, ds["parallel_condensed"].values
    fig = Figure(figsize=(min(plot.WIDTH, 3.2 * len(Ks) + 1.4), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(Ks), sharey=True))
    for i, (ax, K) in enumerate(zip(axes, Ks, strict=True)):
        for j, delta in enumerate(deltas):
            ax.plot(d, gap[i, j], ("-", "--", ":")[j % 3], color=COLOURS[j],
                    label=rf"$\delta = {delta:g}$: $d_L(\delta) = {roots[i, j]:.5f}$")
        ax.axhline(0.0, color="k", lw=0.8)
        ax.axvline(2 / 3, color="0.3", ls="--", lw=1, label=r"$d_L = 2/3$ (Landau point)")
        sizes = sorted({int(n) for n in np.unique(condensed[i]) if n > 0})
        mixture = ("" if sizes == [K] else "\n(parallel: the lowest symmetric mixture, of "
                   + " or ".join(str(n) for n in sizes) + " archetypes)")
        ax.set(xlabel="$d$",
               title=f"$K = {K}$: extrapolated $d_L = {extrapolated[i]:.6f}${mixture}")
        ax.legend(loc="upper right")
    axes[0].set_ylabel(r"$(f_{\mathrm{parallel}} - f_{\mathrm{pure}})/\delta^2$, "
                       r"$T = (1-\delta)(1-d)$")
    fig.suptitle("Landau point: pure state selected just below $T_c$ for $d < d_L$,\n"
                 "symmetric mixture above")
    return fig


# --- figure 4: storage, theory vs Monte Carlo ----------------------------------------------------


def _storage_mc(out_dir: pathlib.Path, run: Settings) -> tuple[list[pathlib.Path],
                                                              list[Reference]]:
    labels, theory, sims, rows = [], [], [], []
    for j, point in enumerate(STORAGE_POINTS):
        K, d, T = point["K"], point["d"], point["T"]
        labels.append(f"$K = {K}$, $d = {d}$\n$T = {T}$")
        theory.append(sorted_overlaps(tl.solve("multitasking", K=K, d=d, T=T), K))
        sim = simulated_overlaps(K, d, T, run, seed=2012 + j, start="cascade")
        sims.append(sim)
        rows += [mc_reference(f"MC storage m{k + 1} (K={K}, d={d}, T={T}, N={run.N})",
                              point["m"][k], *sim[:, k], 0.01, run.N, "18",
                              f"[NUM] spec §9.2 theory (the spec's own MC: "
                              f"{point['spec_mc'][k]})",
                              "montecarlo.multitasking, heat bath, cascade start")
                 for k in range(K)]
    tolerances = [mc_tolerance(0.01, run.N)] * len(labels)
    fig = comparison_figure(labels, theory, {"storage": sims}, tolerances,
                            f"Storage: theory (lines) vs Monte Carlo ($N = {run.N}$, "
                            f"{run.chains} chains; mean ± s.e.)")
    padded = np.full((len(labels), 2, 3), np.nan)
    theory_padded = np.full((len(labels), 3), np.nan)
    for i, (m, sim) in enumerate(zip(theory, sims, strict=True)):
        theory_padded[i, : m.size] = m
        padded[i, :, : m.size] = sim
    ds = xr.Dataset(
        {"m_theory": (("point", "k"), theory_padded), "m_mc": (("point", "k"), padded[:, 0]),
         "m_mc_stderr": (("point", "k"), padded[:, 1]), "tolerance": ("point", tolerances),
         "K": ("point", [p["K"] for p in STORAGE_POINTS]),
         "d": ("point", [p["d"] for p in STORAGE_POINTS]),
         "T": ("point", [p["T"] for p in STORAGE_POINTS])},
        coords={"point": np.arange(len(labels)), "k": [1, 2, 3]},
        attrs={"paper": KEY, "N": run.N, "chains": run.chains, "sweeps": run.sweeps,
               "theory": "tl.solve, thermodynamic state, sorted |m|",
               "simulation": "heat bath from the cascade start; time average over the second "
                             "half, mean and standard error over chains"})
    return write_figure(fig, ds, out_dir, "agliari2012_storage_mc"), rows


# --- the reference table ------------------------------------------------------------------------


def _located(name: str, **params) -> list[float]:
    """T at each point of a named K = 2 storage line located at given d (NaN where not
    found)."""
    return [float(p["T"]) if p.get("found") and p.get("T") is not None else math.nan
            for p in tl.line("multitasking", name, K=2, **params).points]


def _line_rows(window: dict) -> list[Reference]:
    rows = []
    tol, basis = 1e-4, "§13 row 10"
    T_c = {0.3: 0.7, 0.6: 0.4}
    rows += [Reference(f"T_c(d={d})", spec, ours, 1e-9, "[DER] spec §5.1 (T_c = 1 - d), "
                       "§13 row 3", "tl.line paramagnet-instability", "§13 row 3 (exact)")
             for (d, spec), ours in zip(T_c.items(),
                                        _located("paramagnet-instability", d=list(T_c)),
                                        strict=True)]
    pure = {0.05: 0.047500, 0.1: 0.090000, 0.2: 0.160117, 0.3: 0.212763, 0.4: 0.253631,
            0.5: 0.287210, 0.6: 0.316030, 0.65: 0.329129}
    rows += [Reference(f"T_P->H(d={d}), K=2", spec, ours, tol, "[NUM] spec §5.2 table, "
                       "§13 row 10", "tl.line pure-instability", basis)
             for (d, spec), ours in zip(pure.items(), _located("pure-instability", d=list(pure)),
                                        strict=True)]
    parallel = {0.67: 0.117462, 0.7: 0.093764, 0.75: 0.063251, 0.8: 0.040081, 0.85: 0.022502,
                0.9: 0.010000}
    rows += [Reference(f"T_S->H(d={d}), K=2", spec, ours, tol, "[NUM] spec §5.2 table, "
                       "§13 row 10", "tl.line parallel-instability", basis)
             for (d, spec), ours in zip(parallel.items(),
                                        _located("parallel-instability", d=list(parallel)),
                                        strict=True)]
    spec_window = {0.61: (0.19938, 0.28492), 0.63: (0.16175, 0.31339),
                   0.65: (0.13698, 0.32725)}
    for d, spec in spec_window.items():
        ours = window[d] if d in window else parallel_window(d)
        rows += [Reference(f"S window {end} end (d={d}), K=2", spec[i], ours[i], tol,
                           "[NUM] spec §5.2 window table, §13 row 10",
                           "zero of the parallel branch's smallest Hessian eigenvalue "
                           "(tl.solve phase=parallel)", basis)
                 for i, end in enumerate(("lower", "upper"))]
    upper = _located("parallel-instability", d=list(spec_window))
    rows += [Reference(f"S window upper end (d={d}), K=2, traced line", spec[1], ours, tol,
                       "[NUM] spec §5.2 window table, §13 row 10",
                       "tl.line parallel-instability", basis)
             for (d, spec), ours in zip(spec_window.items(), upper, strict=True)]
    d0, T0 = window_cusp()
    rows.append(Reference("d_0 (cusp of the re-entrant window), K=2", 0.60159, d0, tol,
                          "[NUM] spec §5.2, §13 row 10",
                          "largest curvature of the parallel branch along T reaches zero",
                          basis))
    rows.append(Reference("T at the cusp d_0, K=2", 0.244, T0, 1e-3,
                          "[NUM] spec §5.2 ('T ≈ 0.244', three digits)",
                          "maximiser of that curvature", "three digits given: 1e-3"))
    return rows


def _value_rows() -> list[Reference]:
    rows = []
    values = (  # spec §13 row 11 (and §5.2/§5.3): (K, d, T), phase, sorted m, f
        (2, 0.3, 0.1, "hierarchical", (0.699976, 0.202886), -0.27362417),
        (2, 0.5, 0.35, "pure", (0.414317, 0.0), -0.25830607),
        (2, 0.8, 0.1, "parallel", (0.169525, 0.169525), -0.07910063),
        (2, 0.7, 0.05, "hierarchical", (0.296982, 0.212931), -0.08410210),
        (3, 0.5, 0.05, "hierarchical", (0.499584, 0.249569, 0.124542), -0.16846882))
    for K, d, T, phase, m_spec, f_spec in values:
        solution = tl.solve("multitasking", K=K, d=d, T=T)
        m = sorted_overlaps(solution, K)
        where = f"K={K}, d={d}, T={T}"
        method = f"tl.solve (thermodynamic state: {solution.phase}; spec: {phase})"
        rows += [Reference(f"storage m{k + 1} ({where})", spec, m[k], 1e-5,
                           "[NUM] spec §13 row 11", method, "§13 row 11")
                 for k, spec in enumerate(m_spec)]
        rows.append(Reference(f"storage f ({where})", f_spec, solution.free_energy, 1e-5,
                              "[NUM] spec §13 row 11", method, "§13 row 11"))
    snapshot = (  # spec §5.3: K = 3, global minimum at (d, T/(1 - d)), five digits
        (0.5, 0.2, (0.49527, 0.24396, 0.11441)), (0.3, 0.4, (0.68994, 0.0, 0.0)),
        (0.7, 0.4, (0.2151, 0.2151, 0.2151)), (0.6, 0.6, (0.27702, 0.25782, 0.08958)))
    for d, scaled, m_spec in snapshot:
        T = scaled * (1 - d)
        solution = tl.solve("multitasking", K=3, d=d, T=T)
        m = sorted_overlaps(solution, 3)
        rows += [Reference(f"K=3 snapshot m{k + 1} (d={d}, T/(1-d)={scaled})", spec, m[k],
                           1e-4, "[NUM] spec §5.3 snapshot", f"tl.solve ({solution.phase})",
                           "four to five digits given: 1e-4")
                 for k, spec in enumerate(m_spec)]
    for K, d, spec in ((2, 0.3, 0.455), (3, 0.3, 0.3815)):
        m = sorted_overlaps(tl.solve("multitasking", K=K, d=d, T=0, phase="parallel"), K)
        rows.append(Reference(f"T=0 symmetric state m (K={K}, d={d})", spec, m[0], 1e-12,
                              "[DER] spec §4.2 closed form, §13 row 8",
                              "tl.solve phase=parallel, T = 0", "§13 row 8"))
    return rows


def _preamble(run: Settings, missing: str) -> str:
    events = "the cut's branch ends are in `agliari2012_cut.nc` (attribute events)"
    return "\n".join([
        UNREAD, "",
        "What the abstract of arXiv 1111.5191 states [SRC], and where it is looked at here:",
        "",
        "* the diluted network retrieves several patterns in parallel, without spurious "
        "states: the diagrams `agliari2012_storage_K*` (hierarchical and parallel regions), "
        f"the cut `agliari2012_cut` at d = {CUT_D} ({events});",
        "* statistical mechanics and Monte Carlo agree: `agliari2012_storage_mc`, "
        "`agliari2012_cut` and the MC rows.",
        "",
        missing,
        "",
        "The temperature is that of H = -(N/2) sum_mu m_mu^2 (T_c = 1 - d); a bipartite "
        "form with unit-variance hidden units may run at beta^2 (spec review note 4).",
        "",
        f"Run: {'--quick' if run is QUICK else 'full'}; Monte Carlo N = {run.N}, "
        f"{run.chains} chains, {run.sweeps} sweeps (half burn-in), heat bath from the cascade "
        "start. Monte Carlo tolerances are the spec's §13 row 18 value (0.01 at N = 2e4) "
        "scaled by sqrt(2e4/N), plus three standard errors; the spec's own Monte Carlo "
        "numbers are quoted in the source column.",
        "",
        "Landau point: the free energies of the pure and parallel branches cross at "
        "d_L(delta) at T = (1 - delta)(1 - d), for delta = "
        + ", ".join(f"{v:g}" for v in run.landau_deltas)
        + "; d_L is extrapolated linearly in delta from the two smallest.",
    ])

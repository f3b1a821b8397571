"""Agliari, Albanese, Alemanno, Alessandrelli, Barra, Giannotti, Lotito & Pedreschi: dense Hebbian
neural networks, a replica symmetric picture of supervised (arXiv 2212.00606, Physica A 2023) and
unsupervised (arXiv 2211.14067) learning.

The ``dense-hebbian`` model (RS theory, P-spin Hebbian couplings built from noisy examples) and
``montecarlo.dense_hebbian`` (exact Metropolis sampling of H) regenerate the papers' themes as
their abstracts state them (spec ``shared/specs/dense-hopfield.md`` §7): a dense network can learn
archetypes it never sees from examples of quality r, M per archetype, with or without a teacher;
retrieval needs enough examples (a learning threshold in M); theory and Monte Carlo agree.

**The bodies of the papers could not be read** (spec §7): their figures, parameters, numbers and
their threshold criterion are unknown. Every number compared here is the spec's *own* derivation
([DER]) or computation ([NUM]), or ours: the P = 3 points, the learning threshold M_x (spec §7.3,
our definition: the lower end, in M, of the retrieval branch continued from M = inf) and the
Monte Carlo of the exact H (the papers' Monte Carlo used Plefka's approximation, spec §7.4).

Figures (in the formats of :func:`theorylab.plot.options`, PNG and PDF by default; the data of
each in a netCDF file of the same stem):

1. ``agliari2023_dense_alphaT_supervised`` and ``_unsupervised`` — the (alpha, T) diagram at
   P = 3 with noisy examples (r = 0.6, M = 10, Gaussian average), drawn by the model
   (``MODEL.diagram`` + ``MODEL.plot_diagram``) with its traced ``retrieval-spinodal``. The
   retrieval branch ends on the part running from the T = 0 critical load up to the cusp and on
   to alpha = 0; the tracer also follows, past the cusp, a fold of the unstable branch (down
   to alpha = T = 0, and up from near the T = 0 spin-glass side), which the figure shows as
   drawn by the model.
2. ``agliari2023_learning_supervised`` and ``_unsupervised`` — the (r, M) learning diagram at
   P = 3, T = 0, alpha = 0.08 (Gaussian average; M on a log axis), with our learning threshold
   M_x(r) (the ``learning-threshold`` line, one fold per r; dashed) overlaid. At alpha <= 0.02
   the retrieval branch does not fold in (r, M) for either protocol at any T tried (0 to 0.8,
   r = 0.6): the diagram there is all retrieval (spec §7.3), so a load where a threshold
   exists is drawn. The hatched (metastable) region ends one grid cell above M_x: the grid
   cannot resolve the fold. The retrieval / spin-glass boundary compares RS free energies,
   and RS is wrong in the glass phase for P >= 3 (spec §8).
3. ``agliari2023_learning_mc`` — overlaps against M at r = 0.4 (P = 3, alpha = 0.005,
   T = 0.3): exact finite-M theory (lines, both protocols) against Monte Carlo of the exact H from
   the archetype (points, mean ± standard error over chains), the unsupervised example overlap
   max_a m_1a, and MC minus theory for M > (1 + r^P)/r^P. This is where the unsupervised noise
   amplification A_u (spec §7.1) and the supervised (1 + rho)^P predict clearly different m.
   Below M = (1 + r^P)/r^P a single example lies below the archetype (spec §7.1) and the
   unsupervised chains fall into example states, outside the symmetric RS ansatz (the model's
   ``example-retrieval`` phase; its m and m_e are in the report): drawn, not compared. At the
   diagrams' alpha = 0.08 the unsupervised sampler would need K·M = 0.08 N^2 M example columns
   per proposal, too many for a reproduction.
4. ``agliari2023_dense_report.md`` and ``agliari2023_dense_reference.nc`` — the reference table
   (:func:`papers.parallel_learning_2023.write_report`).

Conventions: the spec's own (§7, §7.2): supervised H = -(N/2) sum_mu :n_mu^P:, unsupervised
H = -(N/2)(1/M) sum_{mu,a} :(m_{mu a}/r)^P:, T = 1/beta; a paper's temperature differs by its
cost's constant factor (spec §7.2, unverified), alpha and T = 0 results do not. Every random draw
is seeded.
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from montecarlo import dense_hebbian as simulator
from papers.parallel_learning_2023 import Reference, write_figure, write_report
from theorylab import plot
from theorylab.models import dense_hopfield
from theorylab.models.dense_hebbian import CITATIONS, MODEL
from theorylab.models.dense_hopfield import finite_size_allowance
from theorylab.results import save_dataset

KEY = "dense-hebbian-2023"
TITLE = ("Dense Hebbian neural networks: a replica symmetric picture of supervised and "
         "unsupervised learning (Agliari, Albanese, Alemanno, Alessandrelli, Barra, Giannotti, "
         "Lotito, Pedreschi; arXiv 2212.00606, Physica A 2023, and arXiv 2211.14067)")
CITATION = "\n\n".join(CITATIONS)
__all__ = ["CITATION", "FULL", "KEY", "NOTE", "QUICK", "TITLE", "Settings", "example_crossover",
           "reference_rows", "reproduce"]

SPEC = "shared/specs/dense-hopfield.md"
STEM = "agliari2023"
PROTOCOLS = ("supervised", "unsupervised")
COLOURS = {"supervised": "tab:blue", "unsupervised": "tab:orange"}
MARKERS = {"supervised": "o", "unsupervised": "s"}
P = 3
NOTE = (
    "The bodies of the papers (arXiv 2212.00606, 2211.14067) could not be read: only their "
    f"abstracts were reachable. Every reference value below is the spec's own derivation "
    f"([DER]) or computation ([NUM]) in `{SPEC}` §7 (or §3 for the clean limit), or our own "
    "(the P = 3 points, the learning threshold M_x, the Monte Carlo of the exact H); none is "
    "a number printed in the papers.")

# figure 1: the (alpha, T) diagrams
EXAMPLES = {"r": 0.6, "M": 10}
# figure 2: the (r, M) learning diagrams
LEARNING = {"alpha": 0.08, "T": 0.0}
# figure 3 and the MC rows: where A_u and (1 + rho)^P predict different m (the model's verify)
MC_POINT = {"alpha": 0.005, "T": 0.3, "r": 0.4}


@dataclass(frozen=True)
class Settings:
    """Sizes of one run (``--quick`` or full)."""

    alpha_T: tuple[int, int]       # (alpha, T) grid points of figure 1
    r_M: tuple[int, int]           # (r, M) grid points of figure 2
    threshold_r: int               # r values at which the unsupervised M_x is located
    mc_M: tuple[int, ...]          # M of the Monte Carlo points (figure 3)
    N: int
    chains: int
    sweeps: int                    # the first half is burn-in


QUICK = Settings(alpha_T=(16, 16), r_M=(21, 33), threshold_r=15, mc_M=(8, 25, 40, 60), N=300,
                 chains=12, sweeps=200)
FULL = Settings(alpha_T=(46, 46), r_M=(61, 81), threshold_r=43,
                mc_M=(4, 8, 12, 25, 30, 40, 60, 90), N=400, chains=16, sweeps=300)


def reproduce(out_dir: pathlib.Path, quick: bool = False) -> list[pathlib.Path]:
    """Write the figures, their data and the report into ``out_dir``; return the paths."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = QUICK if quick else FULL
    paths = [p for protocol in PROTOCOLS for p in _alpha_T_diagram(out_dir, run, protocol)]
    thresholds = {}
    for protocol in PROTOCOLS:
        written, thresholds[protocol] = _learning_diagram(out_dir, run, protocol)
        paths += written
    mc_paths, mc_rows, separation = _learning_mc(out_dir, run)
    rows = [*reference_rows(), *mc_rows]
    report = write_report(out_dir, f"{STEM}_dense", TITLE,
                          _preamble(run, thresholds, separation), rows, note=NOTE, spec=SPEC)
    return [*paths, *mc_paths, *report]


def _rho(r: float, M: float) -> float:
    """The data-set entropy rho = (1 - r^2)/(M r^2) (spec §7)."""
    return (1 - r * r) / (M * r * r)


def _gaussian_data(protocol: str, r: float, M: float) -> dict:
    """The Gaussian average's data parameters: rho (and r, unsupervised: A_u needs both).

    Given as rho rather than (r, M): the model's line tracer re-validates the fixed parameters
    with rho filled in, which it refuses beside a finite M."""
    return {"rho": _rho(r, M), **({"r": r} if protocol == "unsupervised" else {})}


# --- figure 1: the (alpha, T) diagrams --------------------------------------------------------


def _alpha_T_diagram(out_dir: pathlib.Path, run: Settings, protocol: str) -> list[pathlib.Path]:
    na, nT = run.alpha_T
    r, M = EXAMPLES["r"], EXAMPLES["M"]
    ds = MODEL.diagram({"alpha": np.linspace(0.0, 0.15, na), "T": np.linspace(0.0, 1.2, nT)},
                       {"P": P, "protocol": protocol, **_gaussian_data(protocol, r, M)})
    ds.attrs["title"] = (f"$P = {P}$, {protocol}: $r = {r}$, $M = {M}$ "
                         f"($\\rho = {_rho(r, M):.3f}$), Gaussian average (RS)")
    ds.attrs.update({"paper": KEY, "r": r, "M": M})
    stem = f"{STEM}_dense_alphaT_{protocol}"
    return [*MODEL.plot_diagram(ds, out_dir / f"{stem}.png"), save_dataset(ds, out_dir, stem)]


# --- figure 2: the (r, M) learning diagrams ---------------------------------------------------


def _threshold(protocol: str, r: np.ndarray) -> np.ndarray:
    """Our learning threshold M_x(r) at P = 3 and :data:`LEARNING` (NaN where the retrieval
    branch does not fold). Supervised: (r, M) enter through rho alone, so one rho_c serves
    every r (spec §7.3); unsupervised: one fold per r (A_u depends on r and M separately)."""
    if protocol == "supervised":
        point = MODEL.line("learning-threshold", P=P, protocol=protocol, **LEARNING).points[0]
        rho_c = point.get("rho") if point.get("found") else None
        return np.array([math.nan if rho_c is None else _rho(float(x), 1.0) / rho_c
                         for x in r])
    out = []
    for x in r:
        point = MODEL.line("learning-threshold", P=P, protocol=protocol, r=float(x),
                           **LEARNING).points[0]
        found = point.get("found") and point.get("M_x") is not None
        out.append(float(point["M_x"]) if found else math.nan)
    return np.array(out)


def _learning_diagram(out_dir: pathlib.Path, run: Settings,
                      protocol: str) -> tuple[list[pathlib.Path], dict[float, float]]:
    nr, nM = run.r_M
    r_axis = np.linspace(0.25, 1.0, nr)
    M_axis = np.geomspace(1.0, 1e4, nM)
    ds = MODEL.diagram({"r": r_axis, "M": M_axis},
                       {"P": P, "protocol": protocol, **LEARNING})
    r_line = np.linspace(0.25, 0.95, run.threshold_r)
    M_x = _threshold(protocol, r_line)
    inside = np.isfinite(M_x) & (M_x >= M_axis[0]) & (M_x <= M_axis[-1])
    name = "learning-threshold"
    ds[f"{name}__r"] = (f"{name}__point", r_line)
    ds[f"{name}__M"] = (f"{name}__point", np.where(inside, M_x, np.nan))
    ds[f"{name}__found"] = (f"{name}__point", inside.astype(np.int8))
    ds[f"{name}__segment"] = (f"{name}__point", np.zeros(r_line.size, dtype=np.int64))
    ds[f"{name}__M_x"] = (f"{name}__point", M_x)
    ds.attrs.update({
        "lines": name, "line_kinds": "spinodal", f"{name}__segments": "1",
        "title": (f"$P = {P}$, {protocol}, $T = 0$, $\\alpha = {LEARNING['alpha']}$: $M$ "
                  "examples of quality $r$\n(Gaussian average, RS); dashed: our $M_x(r)$"),
        "threshold": "M_x(r): lower end in M of the retrieval branch continued from M = inf "
                     "(spec §7.3, our definition; the papers' criterion was not recovered)",
        "paper": KEY})
    stem = f"{STEM}_learning_{protocol}"
    figures = MODEL.plot_diagram(ds, out_dir / f"{stem}.png")  # M: the model's log axis
    shown = {0.5: math.nan, 0.6: math.nan, 0.8: math.nan}
    for r, value in zip(shown, _threshold(protocol, np.array(list(shown))), strict=True):
        shown[r] = float(value)
    return [*figures, save_dataset(ds, out_dir, stem)], shown


# --- figure 3: m against M, theory and Monte Carlo --------------------------------------------


def _theory_m(protocol: str, M: int) -> float:
    """The retrieval branch's m at :data:`MC_POINT`, exact finite-M average."""
    solution = MODEL.solve(phase="retrieval", P=P, protocol=protocol, average="exact", M=int(M),
                           **MC_POINT)
    return float(solution.order_parameters["m"]) if solution.converged else math.nan


def _example_state(M: int) -> tuple[float, float]:
    """(m, m_e) of the unsupervised example-retrieval state at the Monte Carlo point (exact
    average; NaN where it does not exist)."""
    state = MODEL.solve(phase="example-retrieval", P=P, protocol="unsupervised",
                        average="exact", M=M, **{k: MC_POINT[k] for k in ("alpha", "T", "r")})
    if not state.converged:
        return math.nan, math.nan
    return state.order_parameters["m"], state.order_parameters["m_e"]


def example_crossover(r: float) -> float:
    """M above which the archetype configuration lies below a single example's at T = 0,
    alpha = 0, unsupervised: (1 + r^P)/r^P (spec §7.1, heuristic). Below it the chains leave the
    symmetric state for an example state (the model's ``example-retrieval`` phase)."""
    return (1 + r**P) / r**P


def _learning_mc(out_dir: pathlib.Path, run: Settings):
    alpha, T, r = MC_POINT["alpha"], MC_POINT["T"], MC_POINT["r"]
    M_line = np.unique(np.round(np.geomspace(3, 100, 26)).astype(int))
    M_mc = np.array(run.mc_M)
    theory_line = np.array([[_theory_m(p, M) for M in M_line] for p in PROTOCOLS])
    theory = np.array([[_theory_m(p, M) for M in M_mc] for p in PROTOCOLS])
    mc = np.full((len(PROTOCOLS), 2, M_mc.size), np.nan)
    example_max = np.full((2, M_mc.size), np.nan)
    for j, M in enumerate(M_mc):
        for i, protocol in enumerate(PROTOCOLS):
            # one seed per M for both protocols: the same archetypes and examples
            result = simulator.simulate(P, run.N, alpha, T, protocol=protocol, r=r, M=int(M),
                                        chains=run.chains, sweeps=run.sweeps,
                                        start="archetype", seed=2212 + int(M))
            mc[i, :, j] = result.observables["m"].mean, result.observables["m"].stderr
            if protocol == "unsupervised":
                example_max[:, j] = (result.observables["example_max"].mean,
                                     result.observables["example_max"].stderr)
    allowance = finite_size_allowance("m", P, run.N)
    crossover = example_crossover(r)
    compared = M_mc > crossover
    where = f"alpha={alpha}, T={T}, r={r}"
    rows = []
    for j in np.flatnonzero(compared):
        M = int(M_mc[j])
        for i, protocol in enumerate(PROTOCOLS):
            rows.append(Reference(
                f"MC {protocol} m ({where}, M={M}, N={run.N})", theory[i, j], mc[i, 0, j],
                allowance + 3 * mc[i, 1, j],
                "[DER] spec §7.1 RS equations, exact finite-M average (our solver; "
                + ("A = (1+rho)^P" if protocol == "supervised" else "A = A_u, not yet "
                   "MC-checked in the spec") + ")",
                f"montecarlo.dense_hebbian, exact H ({protocol}), archetype start, "
                f"{run.chains} chains x {run.sweeps} sweeps",
                "3 s.e. + finite-size allowance (dense_hopfield.finite_size_allowance)",
                mc[i, 1, j]))
        diff, se = mc[1, 0, j] - mc[0, 0, j], float(np.hypot(mc[0, 1, j], mc[1, 1, j]))
        rows.append(Reference(
            f"MC unsupervised - supervised m ({where}, M={M}, N={run.N})",
            theory[1, j] - theory[0, j], diff, allowance + 3 * se,
            "[DER] spec §7.1: the protocols differ only through A (A_u vs (1+rho)^P)",
            "difference of the two MC means (same data sets)",
            "3 s.e. + finite-size allowance", se))
    # how far the unsupervised MC lies from the theory with the supervised A = (1+rho)^P
    separation = {int(M): (float(abs(mc[1, 0, j] - theory[0, j]) / mc[1, 1, j]),
                           bool(abs(mc[1, 0, j] - theory[0, j]) > allowance + 3 * mc[1, 1, j]))
                  for j, M in enumerate(M_mc) if compared[j]}
    examples = {int(M): (float(mc[1, 0, j]), float(example_max[0, j]), float(theory[1, j]),
                         _example_state(int(M)))
                for j, M in enumerate(M_mc) if not compared[j]}
    fig = _mc_figure(M_line, theory_line, M_mc, theory, mc, example_max, allowance, crossover,
                     run)
    ds = xr.Dataset(
        {"m_theory_line": (("protocol", "M_line"), theory_line),
         "m_theory": (("protocol", "M"), theory),
         "m_mc": (("protocol", "M"), mc[:, 0]),
         "m_mc_stderr": (("protocol", "M"), mc[:, 1]),
         "example_max_mc": ("M", example_max[0]),
         "example_max_mc_stderr": ("M", example_max[1]),
         "compared": ("M", compared.astype(np.int8)),
         "allowance": allowance, "example_crossover": crossover},
        coords={"protocol": list(PROTOCOLS), "M": M_mc, "M_line": M_line},
        attrs={"paper": KEY, "P": P, "alpha": alpha, "T": T, "r": r, "N": run.N,
               "chains": run.chains, "sweeps": run.sweeps, "start": "archetype",
               "theory": "MODEL.solve(phase='retrieval', average='exact'): RS, exact binomial "
                         "average over the M examples (symmetric in the examples)",
               "simulation": "montecarlo.dense_hebbian.simulate: exact Metropolis on H (not "
                             "Plefka's approximation); time average over the second half, mean "
                             "and standard error over chains (each its own data set)",
               "compared": "M > example_crossover = (1 + r^P)/r^P (spec §7.1): below it the "
                           "unsupervised chains fall into example states"})
    return write_figure(fig, ds, out_dir, f"{STEM}_learning_mc"), rows, (separation, examples)


@plot.style()
def _mc_figure(M_line, theory_line, M_mc, theory, mc, example_max, allowance, crossover,
               run) -> Figure:
    """Left: m against M, theory lines and MC points, with the unsupervised example overlap;
    right: MC minus theory where they are compared (M above the example crossover)."""
    fig = Figure(figsize=(plot.WIDTH, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1.5, 1))
    offsets = {"supervised": 0.97, "unsupervised": 1.03}   # side by side on the log axis
    lo = min(M_line[0], M_mc.min()) / 1.2
    left.axvspan(lo, crossover, color="0.92", lw=0)
    compared = M_mc > crossover
    for i, protocol in enumerate(PROTOCOLS):
        style = {"fmt": MARKERS[protocol], "color": COLOURS[protocol], "mfc": "white", "ms": 4,
                 "capsize": 2}
        left.plot(M_line, theory_line[i], "-", color=COLOURS[protocol])
        left.errorbar(M_mc * offsets[protocol], mc[i, 0], mc[i, 1], **style)
        right.errorbar(M_mc[compared] * offsets[protocol], (mc[i, 0] - theory[i])[compared],
                       mc[i, 1][compared], **style)
    left.errorbar(M_mc * offsets["unsupervised"], example_max[0], example_max[1], fmt="^",
                  color="0.35", mfc="white", ms=4, capsize=2)
    left.text(math.sqrt(lo * crossover), 0.33, "example\nstates", ha="center", va="bottom",
              fontsize=7, color="0.3")
    right.axhspan(-allowance, allowance, color="0.85", lw=0)
    right.axhline(0.0, color="k", lw=0.8)
    left.set_xlim(lo, M_line[-1] * 1.2)
    shown = M_mc[compared] if compared.any() else M_mc
    right.set_xlim(shown.min() / 1.3, shown.max() * 1.3)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("examples per archetype $M$")
    left.set_ylim(0.3, 1.03)
    left.set_ylabel("overlap")
    right.set_ylabel(r"$m$: MC $-$ theory")
    left.set_title(f"$P = {P}$, $\\alpha = {MC_POINT['alpha']}$, $T = {MC_POINT['T']}$, "
                   f"$r = {MC_POINT['r']}$")
    right.set_title(f"$M > (1 + r^P)/r^P$; $N = {run.N}$, {run.chains} chains")
    handles = [Line2D([], [], color=COLOURS[p], label=f"$m$, RS theory, {p}")
               for p in PROTOCOLS]
    handles += [Line2D([], [], ls="none", marker=MARKERS[p], color=COLOURS[p], mfc="white",
                       label=f"$m$, Monte Carlo, {p}") for p in PROTOCOLS]
    handles += [Line2D([], [], ls="none", marker="^", color="0.35", mfc="white",
                       label=r"MC unsupervised: $\mathrm{max}_a\, m_{1a}$"),
                Patch(color="0.92", label=r"$M < (1 + r^P)/r^P$ (spec §7.1)"),
                Patch(color="0.85", label="finite-size allowance")]
    fig.legend(handles=handles, loc="outside lower center", frameon=False, ncols=3)
    return fig


# --- the reference table ----------------------------------------------------------------------


def _m(solution) -> float:
    return float(solution.order_parameters["m"])


def reference_rows() -> list[Reference]:
    """The rows that need no Monte Carlo: the spec's §7.4 points, the alpha = 0 identity of the
    protocols and the clean (rho = 0) limit."""
    rows = []
    for params, spec in (({"alpha": 0.01, "T": 0.5, "rho": 0.5}, 0.79273),
                         ({"alpha": 0.02, "T": 0.3, "rho": 0.1}, 0.97906)):
        solution = MODEL.solve(phase="retrieval", P=P, protocol="supervised", **params)
        where = ", ".join(f"{k}={v}" for k, v in params.items())
        rows.append(Reference(f"supervised m (P=3, {where}), Gaussian", spec, _m(solution),
                              1e-4, "[NUM] spec §7.4 (theory value beside the spec's scratch MC)",
                              "MODEL.solve, retrieval branch", "1e-4 (five digits quoted)"))
    for average, data in (("exact", {"r": 0.6, "M": 10}), ("gaussian", {"r": 0.6, "M": 10}),
                          ("exact", {"r": 0.4, "M": 3})):
        params = {"P": P, "alpha": 0.0, "T": 0.5, "average": average, **data}
        sup, unsup = (MODEL.solve(phase="retrieval", protocol=p, **params) for p in PROTOCOLS)
        where = f"alpha=0, T=0.5, r={data['r']}, M={data['M']}, {average}"
        for name, value in (("m", lambda s: _m(s)), ("f", lambda s: s.free_energy)):
            rows.append(Reference(f"unsupervised - supervised {name} ({where})", 0.0,
                                  value(unsup) - value(sup), 1e-12,
                                  "[DER] spec §7.1: at alpha = 0 the protocols have identical "
                                  "equations", "MODEL.solve, both protocols", "1e-12"))
    clean = MODEL.solve(phase="retrieval", P=P, alpha=0.1, T=0.2, rho=0.0)
    hopfield = dense_hopfield.MODEL.solve(phase="retrieval", P=P, alpha=0.1, T=0.2)
    rows.append(Reference("rho=0: m (P=3, alpha=0.1, T=0.2)", 0.958507, _m(clean), 1e-5,
                          "[NUM] spec §3 row 9 (dense Hopfield model)",
                          "MODEL.solve supervised, rho = 0", "1e-5 (six digits quoted)"))
    for name, value in (("m", _m), ("f", lambda s: s.free_energy)):
        rows.append(Reference(f"rho=0: {name} dense-hebbian - dense-hopfield "
                              "(P=3, alpha=0.1, T=0.2)", 0.0, value(clean) - value(hopfield),
                              1e-8, "[DER] spec §7.1: rho = 0 reduces to §2.2",
                              "MODEL.solve against theorylab.models.dense_hopfield", "1e-8"))
    return rows


def _preamble(run: Settings, thresholds: dict[str, dict[float, float]], mc) -> str:
    separation, examples = mc
    def shown(value: float) -> str:
        return "none (no fold)" if not math.isfinite(value) else f"{value:.4g}"

    table = ["| r | M_x supervised | M_x unsupervised |", "|---|---|---|"]
    table += [f"| {r} | {shown(thresholds['supervised'][r])} | "
              f"{shown(thresholds['unsupervised'][r])} |" for r in thresholds["supervised"]]
    return "\n".join([
        NOTE, "",
        "What the abstracts state (the papers' claims, qualitative only), and where it is "
        "looked at here:", "",
        "* a dense (P-spin) Hebbian network learns archetypes it never sees from noisy "
        "examples, supervised (examples grouped by a teacher) or not: the (alpha, T) diagrams "
        "`agliari2023_dense_alphaT_*` and the (r, M) diagrams `agliari2023_learning_*`;",
        "* retrieval needs enough examples (a threshold in M): our M_x(r) on the (r, M) "
        "diagrams, and the values below;",
        "* the replica symmetric theory agrees with Monte Carlo: `agliari2023_learning_mc` and "
        "the MC rows.", "",
        "Ours, not the papers': the P = 3 points and all numbers; the learning threshold M_x "
        "(spec §7.3, our definition: the lower end in M of the retrieval branch continued from "
        "M = inf, Gaussian average; the papers' criterion was not recovered); the Monte Carlo, "
        "which samples the exact H (the papers' used Plefka's approximation, spec §7.4); our "
        "temperature convention (spec §7.2: a paper's T may differ by a constant factor).", "",
        f"Learning threshold M_x at P = 3, T = {LEARNING['T']}, alpha = {LEARNING['alpha']} "
        "(ours, no reference value; the curves of the (r, M) diagrams):", "",
        *table, "",
        "With the Gaussian average and this convention, the retrieval branch does not fold for "
        "either protocol at alpha <= 0.02 and T = 0 ... 0.8 (r = 0.6): noisier data raise the "
        "signal n together with the noise, and there is no threshold there (spec §7.3). "
        "The unsupervised threshold lies far above the supervised one at equal r, as spec §7.3 "
        "states.", "",
        "A_u check (spec §7.4), unsupervised Monte Carlo against the theory with the "
        "supervised amplification (1 + rho)^P instead of A_u: "
        + ", ".join(f"M = {M}: {z:.1f} s.e. ({'outside' if out else 'inside'} the tolerance)"
                    for M, (z, out) in separation.items())
        + "; against the theory with A_u it agrees (rows 'MC unsupervised'). The difference "
        "rows (unsupervised - supervised) agree too, but their tolerance is as large as the "
        "predicted difference: they are consistency checks, not the discriminating test.", "",
        f"Below M = (1 + r^P)/r^P = {example_crossover(MC_POINT['r']):.3g} (r = "
        f"{MC_POINT['r']}; spec §7.1, a T = 0, alpha = 0 estimate) a single example lies below "
        "the archetype, and the unsupervised chains started on the archetype fall into example "
        "states (max_a m_1a near 1), outside the symmetric RS ansatz; the model's "
        "example-retrieval phase (exact average, one distinguished example) describes them. "
        "No rows there (the chains' archetype start is not the example state's basin). "
        + "; ".join(f"M = {M}: MC m = {m:.3f}, max_a m_1a = {e:.3f}; symmetric theory m = "
                    f"{t:.3f}; example-retrieval theory m = {x[0]:.3f}, m_e = {x[1]:.3f}"
                    for M, (m, e, t, x) in examples.items()) + ".", "",
        f"Run: {'--quick' if run is QUICK else 'full'}; Monte Carlo N = {run.N}, {run.chains} "
        f"chains, {run.sweeps} sweeps (half burn-in), archetype start; MC tolerance 3 standard "
        "errors + the dense Hopfield finite-size allowance "
        f"({finite_size_allowance('m', P, run.N):.3g} on m at N = {run.N}).",
    ])

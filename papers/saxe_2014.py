"""Saxe, McClelland & Ganguli (ICLR 2014): exact nonlinear learning dynamics of deep linear nets.

arXiv 1312.6120. Two signature results are regenerated with ``theorylab`` (theory) and
``montecarlo.deep_linear`` (full-matrix simulations):

1. ``saxe2014_stages`` — stage-like, sigmoidal learning of the modes of a five-mode task
   (``s = 5, 3, 2, 1, 0.5``; the paper shows the same behaviour for its simulations): the
   aligned closed form ``u(t)`` against full-matrix gradient flow from a *small random* start
   (dots), the theory evaluated at each run's effective initial strength ``|a + b|²/4``.
2. ``saxe2014_depth`` — learning time (to ``s/2``) against the number of weight layers ``D``
   from the mode ODE ``tau du/dt = D u^(2−2/D)(s − u)``: with a fixed per-layer scale ``a0`` well
   below 1 it grows like ``a0^(2−D)`` (exponentially in depth), with ``a0`` near 1 it is nearly
   depth-independent, and with a fixed small product ``u0`` it saturates — the paper's
   point that deep nets learn fast only from initial conditions that keep the product of the
   layers away from zero; dots: full-matrix ``D``-layer gradient flow from the aligned balanced
   start.

Figures are written in the formats of :func:`theorylab.plot.options` (PNG and PDF by default);
the data of each go to a netCDF file of the same stem (``theorylab.results.save_dataset``).
"""

from __future__ import annotations

import pathlib

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from montecarlo import deep_linear as simulator
from theorylab import plot
from theorylab.models.deep_linear import CITATION, learning_time, mode_strength
from theorylab.results import save_dataset

KEY = "saxe-2014"
TITLE = ("Exact solutions to the nonlinear dynamics of learning in deep linear neural "
         "networks (Saxe, McClelland, Ganguli, ICLR 2014)")
__all__ = ["CITATION", "KEY", "TITLE", "reproduce"]

_S = (5.0, 3.0, 2.0, 1.0, 0.5)
_U0 = 1e-3
_SCALES = (0.3, 0.5, 0.8)          # per-layer initial strengths a0 for the depth figure
_S_DEPTH = 3.0


def reproduce(out_dir: pathlib.Path, quick: bool = False) -> list[pathlib.Path]:
    """Write the two figures and their data into ``out_dir``; return the paths written."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [*_stages(out_dir, quick), *_depth(out_dir, quick)]


def _stages(out_dir: pathlib.Path, quick: bool) -> list[pathlib.Path]:
    runs = 4 if quick else 16
    dots = np.linspace(0.0, 9.0, 31 if quick else 61)
    sim = simulator.simulate(_S, _U0, 2, dots, (8, 64, 8), runs, seed=2014, init="random")
    curve_t = np.linspace(0.0, 9.0, 361)
    s = np.array(_S)
    # theory at each run's effective initial strength, averaged over runs like the dots
    theory = np.mean([mode_strength(s[None, :], u0_run[None, :], 2, 1.0, curve_t[:, None])[0]
                      for u0_run in sim.effective_u0], axis=0)
    ds = xr.Dataset(
        {"u_theory": (("t_theory", "s"), theory),
         "u_simulation": (("t", "s"), sim.modes.mean(axis=0)),
         "u_simulation_stderr": (("t", "s"), sim.modes.std(axis=0, ddof=1) / np.sqrt(runs)),
         "effective_u0": (("run", "s"), sim.effective_u0)},
        coords={"t_theory": curve_t, "t": dots, "s": s},
        attrs={"paper": KEY, "runs": runs, "widths": "8,64,8",
               "init": f"small random Gaussian, entries N(0, {_U0:g}/fan_in)"})
    with plot.style():
        fig = Figure(figsize=(4.8, 3.3), layout="constrained")
        ax = fig.subplots()
        for i, sv in enumerate(_S):
            line, = ax.plot(curve_t, theory[:, i], label=f"$s = {sv:g}$")
            ax.errorbar(dots, ds["u_simulation"][:, i], ds["u_simulation_stderr"][:, i],
                        fmt="o", ms=3, color=line.get_color(), mfc="white")
            # each curve named at its plateau u = s, right of the frame
            ax.annotate(f"$s = {sv:g}$", (curve_t[-1], theory[-1, i]), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=7,
                        color=line.get_color(), annotation_clip=False)
        ax.set(xlabel=r"training time $t/\tau$", ylabel="mode strength $u(t)$",
               xlim=(curve_t[0], curve_t[-1]),
               title="Stage-like learning: theory (lines), full-matrix flow from a small\n"
                     f"random start (dots, mean ± s.e. of {runs} runs)")
    return _write(fig, ds, out_dir, "saxe2014_stages")


def _depth(out_dir: pathlib.Path, quick: bool) -> list[pathlib.Path]:
    depths = np.arange(2, 11)
    simulated = np.arange(2, 6 if quick else 9)
    starts = {"u0 = 1e-3 (product)": lambda d: _U0}
    starts.update({f"a0 = {a0:g} (per layer)": (lambda d, a0=a0: a0**d) for a0 in _SCALES})
    labels = [r"$u_0 = 10^{-3}$ (product)", *(f"$a_0 = {a0:g}$ (per layer)" for a0 in _SCALES)]
    curves = np.array([[learning_time(_S_DEPTH, u0_of(d), int(d), 1.0) for d in depths]
                       for u0_of in starts.values()])
    dots = np.empty((len(starts), simulated.size))
    for i, u0_of in enumerate(starts.values()):
        for j, d in enumerate(simulated):
            horizon = 1.5 * curves[i, d - depths[0]]
            run = simulator.simulate((_S_DEPTH,), u0_of(d), int(d), (horizon,),
                                     (2,) * (int(d) + 1), 1, seed=int(d))
            dots[i, j] = run.half_times[0, 0]
    ds = xr.Dataset(
        {"t_half": (("init", "D"), curves), "t_half_simulation": (("init", "D_simulated"), dots)},
        coords={"init": list(starts), "D": depths, "D_simulated": simulated},
        attrs={"paper": KEY, "s": _S_DEPTH, "tau": 1.0,
               "simulation": "full-matrix gradient flow, aligned balanced start, width 2"})
    with plot.style():
        fig = Figure(figsize=(4.8, 3.3), layout="constrained")
        ax = fig.subplots()
        for i, label in enumerate(labels):
            line, = ax.plot(depths, curves[i], label=label)
            ax.plot(simulated, dots[i], "o", color=line.get_color(), mfc="white")
        ax.set_yscale("log")
        ax.set(xlabel="number of weight layers $D$",
               ylabel=r"learning time to $u = s/2$, $t_{1/2}/\tau$",
               title=f"Learning time against depth ($s = {_S_DEPTH:g}$); "
                     "dots: full-matrix flow")
        ax.legend(title="initial strength", loc="upper left")
    return _write(fig, ds, out_dir, "saxe2014_depth")


def _write(fig: Figure, ds: xr.Dataset, out_dir: pathlib.Path, stem: str) -> list[pathlib.Path]:
    """The figure in every format of :func:`theorylab.plot.options`, and its data."""
    return [*plot.save(fig, out_dir / f"{stem}.png"), save_dataset(ds, out_dir, stem)]

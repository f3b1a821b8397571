"""Advani, Saxe & Sompolinsky: high-dimensional dynamics of generalization error.

arXiv 1710.03667 (2017; Neural Networks 132, 428-446, 2020). The linear-regression results
(its student–teacher model), regenerated with the ``generalization-dynamics`` model
(Marchenko–Pastur theory) and the exact finite-``N`` gradient flow of
``montecarlo.generalization_dynamics`` (dots, mean ± standard error):

1. ``advani2017_dynamics`` — ``E_g(t)`` and ``E_t(t)`` for several ``alpha``: the training
   error falls monotonically, the generalization error has an early-stopping minimum and, near
   ``alpha = 1``, overfits strongly.
2. ``advani2017_asymptotic`` — ``E_g`` at the end of training against ``alpha``: the peak at
   ``alpha = 1`` (``sigma_eps2 alpha/(alpha − 1)`` and ``sigma_eps2/(1 − alpha) + (1 − alpha)S``),
   removed by optimal early stopping.
3. ``advani2017_initial_norm`` — the effect of the initial weight variance ``sigma_02``:
   it adds to the error of directions the data do not constrain, for ever when ``alpha < 1``
   (the zero-eigenvalue atom), transiently when ``alpha > 1`` (the paper's point that in the
   high-dimensional regime good generalization needs small initial weights).
4. ``advani2017_landscape`` — the model's diagram: ``E_g(alpha, t)`` with the early-stopping
   ridge (``theorylab diagram generalization-dynamics --preset double-descent``).

Parameters: ``sigma_w2 = 1``, ``sigma_eps2 = 0.1`` (SNR 10), ``tau = 1``. Figures are written in the
formats of :func:`theorylab.plot.options` (PNG and PDF by default); the data of each go to a
netCDF file of the same stem (``theorylab.results.save_dataset``).
"""

from __future__ import annotations

import pathlib

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from montecarlo import generalization_dynamics as simulator
from theorylab import plot
from theorylab.models.generalization_dynamics import CITATION, MODEL
from theorylab.results import save_dataset

KEY = "advani-saxe-2017"
TITLE = ("High-dimensional dynamics of generalization error in neural networks "
         "(Advani, Saxe, Sompolinsky; arXiv 1710.03667)")
__all__ = ["CITATION", "KEY", "TITLE", "reproduce"]

_FIXED = {"sigma_w2": 1.0, "sigma_eps2": 0.1, "sigma_02": 0.0, "tau": 1.0}


def reproduce(out_dir: pathlib.Path, quick: bool = False) -> list[pathlib.Path]:
    """Write the four figures and their data into ``out_dir``; return the paths written."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    N, seeds = (200, 24) if quick else (800, 32)
    return [*_dynamics(out_dir, N, seeds), *_asymptotic(out_dir, N, seeds),
            *_initial_norm(out_dir, N, seeds), *_landscape(out_dir)]


def _simulated(alpha: float, times, N: int, seeds: int, seed: int, **fixed) -> np.ndarray:
    """``[[E_g mean, E_g stderr], [E_t mean, E_t stderr]]`` at ``times`` (exact flow)."""
    run = simulator.gradient_flow(N, alpha, times, seeds, seed, **{**_FIXED, **fixed})
    return np.array([run.mean_stderr("E_g"), run.mean_stderr("E_t")])


def _dynamics(out_dir: pathlib.Path, N: int, seeds: int) -> list[pathlib.Path]:
    alphas = np.array([0.5, 0.9, 1.0, 2.0])
    t_line, t_dots = np.geomspace(1e-2, 1e3, 300), np.geomspace(1e-2, 1e3, 11)
    theory = MODEL.errors(alphas[:, None], t_line[None, :], **_FIXED)
    sim = np.array([_simulated(alpha, t_dots, N, seeds, seed=k)
                    for k, alpha in enumerate(alphas)])        # (alpha, error, stat, t)
    ds = xr.Dataset(
        {f"{name}_theory": (("alpha", "t"), theory[name]) for name in ("E_g", "E_t")}
        | {f"{name}_simulation{suffix}": (("alpha", "t_simulation"), sim[:, i, j])
           for i, name in enumerate(("E_g", "E_t"))
           for j, suffix in enumerate(("", "_stderr"))},
        coords={"alpha": alphas, "t": t_line, "t_simulation": t_dots},
        attrs=_attrs(N, seeds))
    with plot.style():
        fig = Figure(figsize=(plot.WIDTH, 3.0), layout="constrained")
        axes = fig.subplots(1, 2)
        titles = ("(a) generalization error", "(b) training error")
        for i, (ax, name, title) in enumerate(zip(axes, ("E_g", "E_t"), titles, strict=True)):
            for k, alpha in enumerate(alphas):
                line, = ax.plot(t_line, theory[name][k], label=rf"$\alpha = {alpha:g}$")
                ax.errorbar(t_dots, sim[k, i, 0], sim[k, i, 1], fmt="o", ms=3, mfc="white",
                            color=line.get_color())
            ax.set(xscale="log", yscale="log", xlabel=r"training time $t/\tau$",
                   ylabel=plot.symbol(name), title=title)
        # E_t of alpha < 1 falls exponentially to 0 (interpolation); show the first four decades
        axes[1].set_ylim(1e-4, 2)
        _legend_below(fig, axes[0], N)
    return _write(fig, ds, out_dir, "advani2017_dynamics")


def _asymptotic(out_dir: pathlib.Path, N: int, seeds: int) -> list[pathlib.Path]:
    alpha_line = np.concatenate([np.linspace(0.05, 0.999, 200), np.linspace(1.001, 4, 200)])
    alpha_dots = np.array([0.2, 0.4, 0.6, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0])
    E_inf = MODEL.errors(alpha_line, np.inf, **_FIXED)["E_g"]
    t_opt, E_opt = MODEL.optimal_stopping(alpha_line, **_FIXED)
    t_opt_dots, _ = MODEL.optimal_stopping(alpha_dots, **_FIXED)
    # E_g (mean, stderr) at t = inf and at t*(alpha), per alpha
    sim = np.array([_simulated(alpha, [np.inf, t_star], N, seeds, seed=100 + k)[0]
                    for k, (alpha, t_star) in enumerate(zip(alpha_dots, t_opt_dots,
                                                            strict=True))])
    ds = xr.Dataset(
        {"E_g_inf": ("alpha", E_inf), "t_opt": ("alpha", t_opt), "E_g_opt": ("alpha", E_opt),
         "t_opt_simulation": ("alpha_simulation", t_opt_dots),
         "E_g_inf_simulation": ("alpha_simulation", sim[:, 0, 0]),
         "E_g_inf_simulation_stderr": ("alpha_simulation", sim[:, 1, 0]),
         "E_g_stopped_simulation": ("alpha_simulation", sim[:, 0, 1]),
         "E_g_stopped_simulation_stderr": ("alpha_simulation", sim[:, 1, 1])},
        coords={"alpha": alpha_line, "alpha_simulation": alpha_dots}, attrs=_attrs(N, seeds))
    with plot.style():
        fig = Figure(figsize=(4.8, 3.4), layout="constrained")
        ax = fig.subplots()
        ax.plot(alpha_line, E_inf, "k-", label=r"$t = \infty$ (theory)")
        ax.errorbar(alpha_dots, sim[:, 0, 0], sim[:, 1, 0], fmt="ko", mfc="white",
                    label=rf"$t = \infty$ ($N = {N}$)")
        ax.plot(alpha_line, E_opt, "-", color="tab:red", label="optimal stopping (theory)")
        ax.errorbar(alpha_dots, sim[:, 0, 1], sim[:, 1, 1], fmt="s", color="tab:red",
                    mfc="white", label=rf"stopped at $t^*(\alpha)$ ($N = {N}$)")
        ax.set(yscale="log", ylim=(0.05, 20), xlabel=r"$\alpha = P/N$",
               ylabel="generalization error $E_g$",
               title=r"Double descent at $\alpha = 1$ and its cure by early stopping")
        plot.divergence(ax, 1.0, r"$E_g \to \infty$ as $\alpha \to 1$ ($t = \infty$)")
        ax.legend(loc="center right")
    return _write(fig, ds, out_dir, "advani2017_asymptotic")


def _initial_norm(out_dir: pathlib.Path, N: int, seeds: int) -> list[pathlib.Path]:
    alphas, variances = np.array([0.5, 2.0]), np.array([0.0, 0.25, 1.0, 4.0])
    t_line, t_dots = np.geomspace(1e-2, 1e3, 300), np.geomspace(1e-2, 1e3, 9)
    theory = np.array([[MODEL.errors(alpha, t_line, **{**_FIXED, "sigma_02": var})["E_g"]
                        for var in variances] for alpha in alphas])
    sim = np.array([[_simulated(alpha, t_dots, N, seeds, seed=200 + k, sigma_02=var)[0]
                     for k, var in enumerate(variances)] for alpha in alphas])
    dims = ("alpha", "sigma_02")
    ds = xr.Dataset(
        {"E_g_theory": ((*dims, "t"), theory),
         "E_g_simulation": ((*dims, "t_simulation"), sim[:, :, 0]),
         "E_g_simulation_stderr": ((*dims, "t_simulation"), sim[:, :, 1])},
        coords={"alpha": alphas, "sigma_02": variances, "t": t_line, "t_simulation": t_dots},
        attrs=_attrs(N, seeds))
    with plot.style():
        fig = Figure(figsize=(plot.WIDTH, 3.0), layout="constrained")
        axes = fig.subplots(1, 2)
        for panel, ax, alpha, curves, dots in zip("ab", axes, alphas, theory, sim, strict=True):
            for var, curve, (mean, stderr) in zip(variances, curves, dots, strict=True):
                line, = ax.plot(t_line, curve, label=rf"$\sigma_0^2 = {var:g}$")
                ax.errorbar(t_dots, mean, stderr, fmt="o", ms=3, mfc="white",
                            color=line.get_color())
            ax.set(xscale="log", yscale="log", xlabel=r"training time $t/\tau$",
                   ylabel="generalization error $E_g$", title=rf"({panel}) $\alpha = {alpha:g}$")
        fig.suptitle(r"Generalization error for several initial weight variances $\sigma_0^2$")
        _legend_below(fig, axes[0], N)
    return _write(fig, ds, out_dir, "advani2017_initial_norm")


def _landscape(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """``theorylab diagram generalization-dynamics --preset double-descent``."""
    preset = MODEL.presets["double-descent"]
    axes = {name: (np.geomspace if name in MODEL.log_axes else np.linspace)(*_range(preset[name]))
            for name in MODEL.diagram_axes}
    ds = MODEL.diagram(axes, {k: v for k, v in preset.items() if k not in axes})
    return [*MODEL.plot_diagram(ds, out_dir / "advani2017_landscape.png"),
            save_dataset(ds, out_dir, "advani2017_landscape")]


def _range(text: str) -> tuple[float, float, int]:
    start, stop, num = text.split(":")
    return float(start), float(stop), int(num)


def _attrs(N: int, seeds: int) -> dict:
    return {"paper": KEY, "N": N, "seeds": seeds, **_FIXED,
            "simulation": "exact finite-N gradient flow, mean and standard error over seeds"}


def _legend_below(fig: Figure, ax, N: int) -> None:
    """The curves of ``ax`` and what lines and dots are, in one row under the figure."""
    handles = [*ax.get_legend_handles_labels()[0],
               Line2D([], [], color="0.4", label="theory"),
               Line2D([], [], color="0.4", ls="none", marker="o", mfc="white",
                      label=f"simulation, $N = {N}$")]
    labels = [h.get_label() for h in handles]
    fig.legend(handles=handles, loc="outside lower center", frameon=False,
               ncols=plot.legend_columns(labels, plot.WIDTH))


def _write(fig: Figure, ds: xr.Dataset, out_dir: pathlib.Path, stem: str) -> list[pathlib.Path]:
    """The figure in every format of :func:`theorylab.plot.options`, and its data."""
    return [*plot.save(fig, out_dir / f"{stem}.png"), save_dataset(ds, out_dir, stem)]

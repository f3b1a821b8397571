"""Generalization dynamics of linear regression trained by gradient flow (Advani & Saxe).

High-dimensional limit ``N, P → ∞`` at ``alpha = P/N`` (spec ``linear-dynamics.md`` §2; M. S.
Advani, A. M. Saxe, H. Sompolinsky, arXiv 1710.03667, linear student–teacher model). Inputs have
``N(0, 1/N)`` entries, teacher ``N(0, sigma_w2)``, label noise ``N(0, sigma_eps2)``, student
initialised at ``N(0, sigma_02)``, gradient flow ``tau dw/dt = X(y − Xᵀw)``. With the
Marchenko–Pastur bulk ``ρ`` of ``XXᵀ`` (edges ``(1 ± √alpha)²``) and ``S = sigma_w2 + sigma_02``:

    E_g(t) = ∫ρ(λ)[S e^{−2λt/tau} + sigma_eps2 (1 − e^{−λt/tau})²/λ] dλ
             + (1 − alpha)₊ S + sigma_eps2
    E_t(t) = (1/alpha) ∫ρ(λ) e^{−2λt/tau} (λS + sigma_eps2) dλ + sigma_eps2 (1 − 1/alpha)₊

The integrands, the change of variable ``λ = λ₋ + (λ₊ − λ₋) sin²θ`` and the ``t → ∞`` limits
``E_g = sigma_eps2 alpha/(alpha − 1)`` (``alpha > 1``), ``sigma_eps2/(1 − alpha) + (1 − alpha) S``
(``alpha < 1``) are derived in :mod:`derivations.linear_dynamics`; this module only evaluates
them. ``E_g(∞)`` diverges at ``alpha = 1`` when ``sigma_eps2 > 0`` (the double-descent peak) and
is reported as ``inf``. With label noise ``E_g(t)`` has its minimum at a finite time: the
optimal early-stopping time ``t*(alpha)`` (line ``optimal-stopping``).

Quadrature: :meth:`GeneralizationDynamics.solve` uses adaptive ``scipy.integrate.quad`` in ``θ``
(its error estimate is the reported residual); diagrams and lines use a fixed graded
Gauss–Legendre rule in ``θ`` (panels shrinking by ``√10`` towards ``θ = 0``, where ``λ → λ₋``
and, at ``alpha ≈ 1``, the ``1/λ`` factor and long times concentrate the integrand), vectorised
over the whole ``(alpha, t)`` grid. The two agree to ``2e-13`` relative over
``alpha ∈ [0.01, 100]`` (including ``alpha = 1 ± 1e-4``), ``t ∈ [0, 1e5]`` (tested to ``1e-10``).

Diagram axes and ``log_axes``: :meth:`diagram` uses the axis values it is given as they are.
The class attribute ``log_axes = ("t",)`` names the axes the command line spaces
log-uniformly (``numpy.geomspace``) when they are given as ``start:stop:num`` (and in the
``double-descent`` preset); the plot uses a log ``t`` axis when the ``t`` values are
geometrically spaced, a linear one otherwise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq
from tqdm import tqdm

from theorylab import lazy
from theorylab.model import LineInfo, Model
from theorylab.parameters import Parameter, ParameterError, validate, values_along
from theorylab.results import (
    Comparison,
    Estimate,
    Line,
    SimulationResult,
    Solution,
    Verification,
    package_version,
    provenance,
)

derivation = lazy.module("derivations.linear_dynamics")  # sympy: on first use
simulator = lazy.module("montecarlo.generalization_dynamics")  # Numba: on first use
xr = lazy.module("xarray")

CITATION = """@article{advani2020high,
  title   = {High-dimensional dynamics of generalization error in neural networks},
  author  = {Advani, Madhu S. and Saxe, Andrew M. and Sompolinsky, Haim},
  journal = {Neural Networks},
  volume  = {132},
  pages   = {428--446},
  year    = {2020},
  doi     = {10.1016/j.neunet.2020.08.022},
  eprint  = {1710.03667},
  archivePrefix = {arXiv}
}"""

#: graded Gauss–Legendre panels in θ: edges (π/2)·10^(−k/2), k = 0..16, then 0
_PANEL_EDGES = np.concatenate([[0.0], (np.pi / 2) * 10.0 ** (-np.arange(16, -1, -1) / 2)])
_NODES_PER_PANEL = 16


def _graded_rule() -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(_NODES_PER_PANEL)
    lo, hi = _PANEL_EDGES[:-1, None], _PANEL_EDGES[1:, None]
    return ((lo + hi) / 2 + (hi - lo) / 2 * x).ravel(), ((hi - lo) / 2 * w).ravel()


_THETA, _WEIGHTS = _graded_rule()


class GeneralizationDynamics(Model):
    """Advani & Saxe's generalization and training error of linear regression vs time.

    Observables ``E_g`` (generalization error, ``‖w̄ − w‖²/N + sigma_eps2``) and ``E_t``
    (training error, mean squared residual), time in units of ``tau``.
    """

    name = "generalization-dynamics"
    title = "Linear regression under gradient flow: E_g(t), E_t(t), double descent, early stopping"
    parameters = (
        Parameter("alpha", "examples per input dimension P/N", low=0.0, low_open=True),
        Parameter("t", "training time (units of tau); inf for the end of training",
                  low=0.0, allow_inf=True),
        Parameter("sigma_w2", "teacher weight variance", low=0.0, default=1.0),
        Parameter("sigma_eps2", "label-noise variance", low=0.0, default=0.1),
        Parameter("sigma_02", "initial student weight variance", low=0.0, default=0.0),
        Parameter("tau", "time constant (1/learning rate)", low=0.0, low_open=True, default=1.0),
    )
    simulation_parameters = (
        Parameter("N", "input dimension of the finite-size simulation", kind="int", low=2,
                  default=400),
        Parameter("eta", "gradient-descent step (units of tau); 0 = exact gradient flow",
                  low=0.0, default=0.0),
    )
    order_parameters = ("E_g", "E_t")
    lines = MappingProxyType({
        "optimal-stopping": LineInfo(
            kind="time",
            description="time t* minimising E_g(t) at each alpha, and E_g there (early "
                        "stopping); t* = inf without label noise",
            along="alpha", solves_for="t"),
    })
    citations = (CITATION,)
    diagram_axes = ("alpha", "t")
    log_axes = ("t",)
    presets = MappingProxyType({
        "double-descent": MappingProxyType({
            "alpha": "0.2:3:57", "t": "0.1:1000:61",
            "sigma_w2": "1", "sigma_eps2": "0.1", "sigma_02": "0", "tau": "1"}),
    })

    # --- the theory ---------------------------------------------------------------------------
    def solve(self, phase: str | None = None, **params) -> Solution:
        """``E_g`` and ``E_t`` at one ``(alpha, t)`` by adaptive quadrature (``t = inf``: closed
        forms, ``inf`` at ``alpha = 1`` with label noise)."""
        self.check_phase(phase)
        p = self.validate(params)
        S = p["sigma_w2"] + p["sigma_02"]
        alpha, t = p["alpha"], p["t"]
        if math.isinf(t):
            E_g, E_t = _asymptotic(alpha, S, p["sigma_eps2"])
            message = ("t = inf: closed form from the MP moments"
                       + ("; E_g diverges at alpha = 1 (interpolation threshold)"
                          if math.isinf(E_g) else ""))
            values, residual, evaluations = {"E_g": E_g, "E_t": E_t}, 0.0, 0
        else:
            values, residual, evaluations = {}, 0.0, 0
            integrands = derivation.numeric_error_integrands()
            atoms = _atoms(alpha, S, p["sigma_eps2"])
            for name in self.order_parameters:
                value, error, info = quad(
                    integrands[name], 0.0, np.pi / 2,
                    args=(alpha, t, p["tau"], S, p["sigma_eps2"]),
                    points=_PANEL_EDGES[1:-1], limit=1000, epsabs=1e-14, epsrel=1e-12,
                    full_output=1)[:3]
                values[name] = float(value + atoms[name])
                residual = max(residual, float(error))
                evaluations += int(info["neval"])
            message = "Marchenko-Pastur average by adaptive quadrature in theta (scipy quad)"
        return Solution(self.name, p, values, None, None, True, residual, evaluations,
                        message=message)

    def errors(self, alpha, t, **fixed) -> dict[str, np.ndarray]:
        """``E_g`` and ``E_t`` on the broadcast grid of ``alpha`` and ``t`` (graded rule)."""
        p = validate([q for q in self.parameters if q.name not in ("alpha", "t")], fixed)
        alpha_v, t_v = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(t, float))
        values_along(self.parameter("alpha"), alpha_v.ravel())
        values_along(self.parameter("t"), t_v.ravel())
        return _errors(alpha_v, t_v, p)

    def optimal_stopping(self, alpha, **fixed) -> tuple[np.ndarray, np.ndarray]:
        """``(t*, E_g(t*))`` for each ``alpha``; ``t* = inf`` when ``E_g`` decreases forever
        (no label noise), ``0`` when it never decreases (no teacher, no initial weights)."""
        p = validate([q for q in self.parameters if q.name not in ("alpha", "t")], fixed)
        return _optimal_stopping(values_along(self.parameter("alpha"), alpha), p)

    def line(self, name: str, **params) -> Line:
        """``optimal-stopping``: ``{"alpha", "t", "E_g"}`` at each ``alpha`` given."""
        info = self.check_line(name)
        if "alpha" not in params:
            raise ParameterError(f"missing parameter alpha: {self.parameter('alpha').domain}")
        alphas = values_along(self.parameter("alpha"), params.pop("alpha"))
        p = validate([q for q in self.parameters if q.name not in ("alpha", "t")], params)
        t_opt, E_opt = _optimal_stopping(alphas, p)
        points = tuple({"alpha": float(al), "t": float(ts), "E_g": float(e)}
                       for al, ts, e in zip(alphas, t_opt, E_opt, strict=True))
        return Line(self.name, name, info.kind, {**p, "alpha": alphas.tolist()}, points,
                    message="root of dE_g/dt (graded Gauss-Legendre in theta), bracketed on a "
                            "log-t scan")

    def check_axes(self, names: Sequence[str]) -> None:
        """A diagram spans ``alpha`` and ``t``."""
        if set(names) != set(self.diagram_axes):
            raise ParameterError(f"diagram axes must be alpha and t (got {', '.join(names)})")

    def diagram(self, axes: Mapping[str, Sequence[float]], fixed: Mapping[str, object],
                *, executor=None, store=None, progress: bool = False) -> xr.Dataset:
        """``E_g``, ``E_t`` over ``(alpha, t)`` and the early-stopping ridge ``t*(alpha)``.

        The whole grid is one vectorised quadrature (milliseconds), so ``executor``, ``store``
        and ``progress`` have nothing to distribute, resume or report and are not used.
        """
        self.check_axes(list(axes))
        alphas = values_along(self.parameter("alpha"), axes["alpha"])
        times = values_along(self.parameter("t"), axes["t"])
        p = validate([q for q in self.parameters if q.name not in self.diagram_axes], fixed)
        grid = _errors(alphas[:, None], times[None, :], p)
        t_opt, E_opt = _optimal_stopping(alphas, p)
        E_inf = _errors(alphas, np.full_like(alphas, np.inf), p)["E_g"]
        return xr.Dataset(
            {
                "E_g": (("alpha", "t"), grid["E_g"], {"long_name": "generalization error"}),
                "E_t": (("alpha", "t"), grid["E_t"], {"long_name": "training error"}),
                "t_opt": ("alpha", t_opt, {"long_name": "optimal early-stopping time",
                                           "units": "tau"}),
                "E_g_opt": ("alpha", E_opt, {"long_name": "E_g at the optimal stopping time"}),
                "E_g_inf": ("alpha", E_inf, {"long_name": "E_g at t = inf"}),
            },
            coords={"alpha": ("alpha", alphas, {"long_name": "P/N"}),
                    "t": ("t", times, {"long_name": "training time", "units": "tau"})},
            attrs={"model": self.name, "parameters": json.dumps(p),
                   "version": package_version(), "method": "graded Gauss-Legendre in theta",
                   **provenance()},
        )

    def plot_diagram(self, dataset: xr.Dataset, path) -> list:
        """Heat map of ``E_g(alpha, t)`` (log colour, log ``t`` when the times are geometric),
        its contours and the early-stopping ridge ``t*(alpha)``; beside it ``E_g(alpha)`` at a
        few times, at ``t = inf`` and at ``t*``. With label noise ``E_g(inf)`` diverges at
        ``alpha = 1``: a dotted asymptote and an arrow mark where its curve leaves the frame.
        Returns the files written (:func:`theorylab.plot.save`)."""
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure

        from theorylab import plot

        with plot.style():
            fig = Figure(figsize=(plot.WIDTH, 3.2), layout="constrained")
            heat, slices = fig.subplots(1, 2, sharex=True, width_ratios=(1.15, 1))
            E_g = dataset["E_g"].values
            finite = E_g[np.isfinite(E_g)]
            norm = LogNorm(vmin=finite.min(), vmax=finite.max())
            params = json.loads(dataset.attrs["parameters"])
            alphas = dataset["alpha"].values
            # E_g(inf) = sigma_eps2 alpha/(alpha - 1) or sigma_eps2/(1 - alpha) + ...: a pole
            diverges = params["sigma_eps2"] > 0 and alphas.min() <= 1.0 <= alphas.max()
            _draw_landscape(fig, heat, dataset, norm, diverges)
            _draw_slices(slices, dataset, norm, diverges)
            fig.suptitle("Linear regression under gradient flow (Advani & Saxe): "
                         + plot.assignments(params))
            handles, labels = slices.get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside lower center", frameon=False,
                       ncols=plot.legend_columns(labels, plot.WIDTH))
            return plot.save(fig, path)

    # --- the independent check ----------------------------------------------------------------
    def simulate(self, seeds: int = 8, seed: int = 0, progress: bool = False,
                 **params) -> SimulationResult:
        """Finite-``N`` regression: exact gradient flow (``eta = 0``) or gradient descent."""
        p = validate((*self.parameters, *self.simulation_parameters), params)
        if seeds < 2:
            raise ParameterError(f"seeds must be an integer >= 2 (got {seeds}): a standard "
                                 "error needs two samples")
        kwargs = {k: p[k] for k in ("sigma_w2", "sigma_eps2", "sigma_02", "tau")}
        try:
            if p["eta"] == 0:
                run = simulator.gradient_flow(p["N"], p["alpha"], [p["t"]], seeds, seed,
                                              progress=progress, **kwargs)
            else:
                if math.isinf(p["t"]):
                    raise ParameterError("t must be finite for gradient descent (eta > 0)")
                run = simulator.gradient_descent(p["N"], p["alpha"], [p["t"]], p["eta"], seeds,
                                                 seed, progress=progress, **kwargs)
        except ValueError as error:
            raise ParameterError(str(error)) from None
        observables = {}
        for name in self.order_parameters:
            mean, stderr = run.mean_stderr(name)
            observables[name] = Estimate(float(mean[0]), float(stderr[0]))
        return SimulationResult(
            self.name, {**p, "P": run.P, "alpha_realised": run.P / run.N, "t_realised":
                        float(run.times[0])},
            observables, seeds, run.steps,
            settings={"seed": seed, "method": "exact gradient flow (eigendecomposition)"
                      if p["eta"] == 0 else f"gradient descent, eta = {p['eta']:g}",
                      "zero_eigenvalue": simulator.ZERO_EIGENVALUE})

    def verify(self, quick: bool = True, progress: bool = False) -> Verification:
        """Theory vs exact finite-``N`` gradient flow at ``alpha ∈ {0.5, 1, 2}``,
        ``t ∈ {1, 10, 100}`` (and ``t = inf`` for ``alpha ≠ 1``), ``E_g`` and ``E_t``.

        Agreement: within 3 standard errors plus the finite-size allowance
        ``(sigma_w2 + sigma_02 + sigma_eps2)/N`` (the measured bias of both errors is
        ``|N ΔE| ≲ 1`` at ``N = 50…400``, well inside it).
        """
        N, seeds = (200, 64) if quick else (1000, 64)
        fixed = {"sigma_w2": 1.0, "sigma_eps2": 0.1, "sigma_02": 0.0, "tau": 1.0}
        allowance = (fixed["sigma_w2"] + fixed["sigma_02"] + fixed["sigma_eps2"]) / N
        rows = []
        for k, alpha in enumerate(tqdm((0.5, 1.0, 2.0), disable=not progress, desc="alpha")):
            times = [1.0, 10.0, 100.0] + ([] if alpha == 1.0 else [math.inf])
            run = simulator.gradient_flow(N, alpha, times, seeds, seed=k, **fixed)
            theory = _errors(np.full(len(times), run.P / N), np.array(times), fixed)
            for name in self.order_parameters:
                mean, stderr = run.mean_stderr(name)
                for j, t in enumerate(times):
                    rows.append(Comparison({"alpha": alpha, "t": t, "N": N}, name,
                                           float(theory[name][j]), float(mean[j]),
                                           float(stderr[j]), allowance))
        return Verification(self.name, tuple(rows))


def _draw_landscape(fig, ax, dataset: xr.Dataset, norm, diverges: bool) -> None:
    """Panel (a): the heat map of ``E_g(alpha, t)``, its contours, the ridge ``t*(alpha)``
    (labelled on the curve) and, where ``E_g(inf)`` diverges, the line ``alpha = 1``."""
    alphas, times = dataset["alpha"].values, dataset["t"].values
    E_g = dataset["E_g"].values
    mesh = ax.pcolormesh(alphas, times, E_g.T, norm=norm, shading="nearest", cmap="viridis")
    ax.contour(alphas, times, E_g.T, levels=np.geomspace(norm.vmin, norm.vmax, 9)[1:-1],
               colors="white", linewidths=0.5, alpha=0.6)
    ridge = dataset["t_opt"].values
    inside = (ridge >= times.min()) & (ridge <= times.max())
    ax.plot(alphas, np.where(inside, ridge, np.nan), color="tab:red", lw=1.8)
    if inside.any():
        last = np.flatnonzero(inside)[-1]
        ax.annotate(r"$t^*(\alpha)$", (alphas[last], ridge[last]), xytext=(-4, 5),
                    textcoords="offset points", ha="right", va="bottom", color="white",
                    fontsize=8)
    if diverges:
        ax.axvline(1.0, color="white", ls=":", lw=1.0)
    if _geometric(times):
        ax.set_yscale("log")
    ax.set(xlabel=r"$\alpha = P/N$", ylabel=r"training time $t/\tau$",
           title=r"(a) $E_g(\alpha, t)$")
    colourbar = fig.colorbar(mesh, ax=ax, pad=0.02)
    colourbar.ax.set_title("$E_g$", fontsize=8)


def _draw_slices(ax, dataset: xr.Dataset, norm, diverges: bool) -> None:
    """Panel (b): ``E_g(alpha)`` at four times of the grid, at ``t = inf`` and at the optimal
    stopping time; the pole of ``E_g(inf)`` at ``alpha = 1`` marked, not clipped silently."""
    from matplotlib import colormaps

    from theorylab import plot

    alphas, times = dataset["alpha"].values, dataset["t"].values
    E_g = dataset["E_g"].values
    picks = np.unique(np.linspace(0, times.size - 1, 4).round().astype(int))
    shades = colormaps["Blues"](np.linspace(0.45, 1.0, picks.size))
    for j, shade in zip(picks, shades, strict=True):
        t = np.format_float_positional(times[j], precision=3, unique=False, fractional=False,
                                       trim="-")
        ax.plot(alphas, E_g[:, j], color=shade, label=f"$t = {t}$")
    ax.plot(alphas, dataset["E_g_inf"].values, "k--", label=r"$t = \infty$")
    ax.plot(alphas, dataset["E_g_opt"].values, color="tab:red", lw=1.8,
            label=r"$E_g(t^*)$: optimal stopping")
    ax.set_yscale("log")
    ax.set_ylim(norm.vmin / 1.5, 1.5 * norm.vmax)
    ax.set(xlabel=r"$\alpha = P/N$", ylabel="$E_g$", title=r"(b) $E_g(\alpha)$ at fixed $t$")
    if diverges:
        plot.divergence(ax, 1.0, r"$E_g \to \infty$ as $\alpha \to 1$ ($t = \infty$)")


def _geometric(values: np.ndarray) -> bool:
    """Whether positive values are evenly spaced in log (a log axis then shows the grid)."""
    if values.size < 3 or values.min() <= 0:
        return False
    steps = np.diff(np.log(values))
    return bool(np.allclose(steps, steps[0], rtol=1e-6))


def _atoms(alpha, S, noise) -> dict[str, np.ndarray]:
    """Non-bulk parts of ``E_g`` and ``E_t`` (zero atom of ``XXᵀ`` / unfittable label noise)."""
    below = np.asarray(alpha) < 1
    return {name: np.where(below, lo(alpha, S, noise), hi(alpha, S, noise))
            for name, (lo, hi) in derivation.numeric_atoms().items()}


def _asymptotic(alpha, S, noise) -> tuple[np.ndarray, np.ndarray]:
    """``E_g(∞), E_t(∞)``; at ``alpha = 1``: ``E_g = inf`` with label noise (else 0)."""
    alpha = np.asarray(alpha, float)
    branches = derivation.numeric_asymptotic_errors()
    below, at_one = alpha < 1, alpha == 1
    safe = np.where(at_one, 0.5, alpha)        # either branch is finite away from alpha = 1
    out = []
    for name in ("E_g", "E_t"):
        lo, hi = branches[name]
        value = np.where(below, lo(safe, S, noise), hi(safe, S, noise)) * np.ones_like(alpha)
        if name == "E_g":
            value = np.where(at_one, np.inf if noise > 0 else 0.0, value)
        else:
            value = np.where(at_one, 0.0, value)
        out.append(value[()] if value.ndim == 0 else value)
    return out[0], out[1]


def _bulk(name: str, alpha: np.ndarray, t: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    """Graded Gauss–Legendre θ-integral of one derived integrand, broadcast over alpha, t."""
    f = derivation.numeric_error_integrands()[name]
    S = p["sigma_w2"] + p["sigma_02"]
    values = f(_THETA, alpha[..., None], t[..., None], p["tau"], S, p["sigma_eps2"])
    return values @ _WEIGHTS


def _errors(alpha: np.ndarray, t: np.ndarray, p: Mapping[str, float]) -> dict[str, np.ndarray]:
    alpha, t = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(t, float))
    S, noise = p["sigma_w2"] + p["sigma_02"], p["sigma_eps2"]
    finite = np.isfinite(t)
    t_finite = np.where(finite, t, 0.0)
    atoms = _atoms(alpha, S, noise)
    E_g_inf, E_t_inf = _asymptotic(alpha, S, noise)
    return {
        "E_g": np.where(finite, _bulk("E_g", alpha, t_finite, p) + atoms["E_g"], E_g_inf),
        "E_t": np.where(finite, _bulk("E_t", alpha, t_finite, p) + atoms["E_t"], E_t_inf),
    }


#: log-t scan bracketing the minimum of E_g(t)
_SCAN = np.geomspace(1e-4, 1e7, 221)


def _optimal_stopping(alphas: np.ndarray, p: Mapping[str, float]) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """``t*`` from the first sign change (− to +) of ``dE_g/dt`` on a log-t scan, refined by
    ``brentq`` on the same graded rule; ``E_g(t*)`` there."""
    rate = _bulk("dE_g/dt", alphas[:, None], _SCAN[None, :], p)
    t_opt = np.empty(alphas.size)
    for i, alpha in enumerate(alphas):
        rising = np.nonzero(rate[i] > 0)[0]
        if rising.size == 0:
            t_opt[i] = np.inf
        elif rising[0] == 0:
            t_opt[i] = 0.0
        else:
            lo, hi = _SCAN[rising[0] - 1], _SCAN[rising[0]]
            t_opt[i] = brentq(lambda x, a=alpha: float(_bulk("dE_g/dt", np.array(a),
                                                             np.array(x), p)),
                              lo, hi, xtol=1e-12, rtol=1e-12)
    E_opt = _errors(alphas, t_opt, p)["E_g"]
    return t_opt, E_opt


MODEL = GeneralizationDynamics()

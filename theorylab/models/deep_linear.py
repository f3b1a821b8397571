"""Exact learning dynamics of deep linear networks (Saxe, McClelland & Ganguli, ICLR 2014).

Spec ``linear-dynamics.md`` §1; arXiv 1312.6120. Whitened inputs, input–output correlation
``Σ31 = U S Vᵀ``, full-batch gradient flow with time constant ``tau``. From a balanced start
aligned with the singular vectors each mode ``α`` evolves on its own; with ``D`` weight layers
its strength ``u = a^D`` obeys

    tau du/dt = D u^(2 − 2/D) (s − u)

so that for ``D = 2`` ``u(t) = s e^(2st/tau) / (e^(2st/tau) − 1 + s/u0)``: sigmoidal
stages, the strongest modes first, each lasting ``~ tau/s``. For ``D > 2`` the time to reach ``u``
is a hypergeometric closed form (derived in :mod:`derivations.linear_dynamics`), inverted here
by bisection. Learning time (line ``learning-time``): the time for a mode to go from ``u0`` to
``s/2``, ``(tau/2s) ln((s − u0)/u0)`` at ``D = 2``.

Observables: the mode strength ``u`` (``u_1 … u_n`` when several singular values ``s`` are
given, in the order given). ``t = inf`` gives ``u = s``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from scipy.special import expit, logit

from theorylab import lazy
from theorylab.model import LineInfo, Model
from theorylab.parameters import Parameter, ParameterError, validate
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
simulator = lazy.module("montecarlo.deep_linear")  # Numba: on first use
xr = lazy.module("xarray")

CITATION = """@inproceedings{saxe2014exact,
  title     = {Exact solutions to the nonlinear dynamics of learning in deep linear neural
               networks},
  author    = {Saxe, Andrew M. and McClelland, James L. and Ganguli, Surya},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2014},
  eprint    = {1312.6120},
  archivePrefix = {arXiv}
}"""

#: bisection steps in logit(u/s) for D > 2: the bracket (width < 80) shrinks below 1e-17
_BISECTIONS = 64

#: the integrator tolerance of the deterministic full-matrix checks, and what it buys
_RTOL, _ODE_ALLOWANCE, _DRIFT_ALLOWANCE = 1e-11, 1e-8, 1e-10


def _modes_names(n: int) -> tuple[str, ...]:
    return ("u",) if n == 1 else tuple(f"u_{i}" for i in range(1, n + 1))


def mode_strength(s, u0: float, D: int, tau: float, t) -> tuple[np.ndarray, np.ndarray]:
    """``u(t)`` for singular values ``s`` and times ``t`` (broadcast), with its error bound.

    ``D = 2``: the derived logistic closed form (bound 0). ``D > 2``: bisection in
    ``logit(u/s)`` on ``A(u) − A(u0) = t/tau`` with the derived antiderivative ``A``; the bound is
    the final bracket width in ``u``. ``t = inf`` gives ``s``.
    """
    s, t = np.broadcast_arrays(np.asarray(s, float), np.asarray(t, float))
    finite = np.isfinite(t)
    t_f = np.where(finite, t, 0.0)
    if D == 2:
        u = derivation.numeric_two_layer_solution()(t_f, s, u0, tau)
        return np.where(finite, u, s), np.zeros_like(s)
    A = derivation.numeric_learning_time(D)
    goal = A(u0, s) + t_f / tau
    lo, hi = logit(u0 / s), np.full_like(s, 40.0)     # expit(40) = 1 to double precision
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2
        with np.errstate(all="ignore"):               # A(s) = inf: the mode never gets there
            short = np.nan_to_num(A(s * expit(mid), s), nan=np.inf) < goal
        lo, hi = np.where(short, mid, lo), np.where(short, hi, mid)
    u = s * expit((lo + hi) / 2)
    return np.where(finite, u, s), np.where(finite, s * (expit(hi) - expit(lo)), 0.0)


def learning_time(s, u0: float, D: int, tau: float) -> np.ndarray:
    """First time at which modes of strengths ``s`` reach ``s/2`` from ``u0`` (closed form, any
    D); 0 for a mode that starts at or above ``s/2`` (``u`` only grows)."""
    s = np.asarray(s, float)
    A = derivation.numeric_learning_time(D)
    return np.maximum(tau * (A(s / 2, s) - A(u0, s)), 0.0)


def _check_u0(u0: float, s) -> None:
    smallest = float(np.min(s))
    if not 0 < u0 < smallest:
        raise ParameterError(f"u0 must be a number in (0, {smallest:g}) (got {u0!r}): the "
                             "initial mode strength must lie below the singular value s")


class DeepLinear(Model):
    """Saxe et al.'s mode strengths of a deep linear network under gradient flow."""

    name = "deep-linear"
    title = "Deep linear networks: exact mode trajectories u(t) and learning times"
    parameters = (
        Parameter("s", "singular value(s) of the input-output correlation (a list: one mode "
                  "each)", kind="floats", low=0.0, low_open=True),
        Parameter("u0", "initial strength of every mode (balanced, aligned start), in (0, s)",
                  low=0.0, low_open=True, default=1e-3),
        Parameter("D", "number of weight layers", kind="int", low=2, default=2),
        Parameter("tau", "time constant (1/learning rate)", low=0.0, low_open=True, default=1.0),
        Parameter("t", "training time (units of tau); inf for the end of training",
                  low=0.0, allow_inf=True),
    )
    simulation_parameters = (
        Parameter("width", "input and output width of the simulated network (>= number of "
                  "modes)", kind="int", low=1, default=8),
        Parameter("hidden", "width of every hidden layer (>= number of modes)", kind="int",
                  low=1, default=16),
        Parameter("init", "aligned: balanced start aligned with the task (the exact decoupled "
                  "solution); random: small Gaussian start, per-layer scale u0^(1/D)",
                  kind="choice", choices=("aligned", "random"), default="aligned"),
        Parameter("eta", "gradient-descent step (units of tau); 0 = gradient flow (DOP853, "
                  "rtol 1e-11)", low=0.0, default=0.0),
    )
    order_parameters = ("u",)
    lines = MappingProxyType({
        "learning-time": LineInfo(
            kind="time",
            description="time for a mode to grow from u0 to s/2 (Saxe et al. 2014, "
                        "arXiv 1312.6120: tau/(2s) ln((s-u0)/u0) for D = 2)",
            along="s", solves_for="t"),
    })
    citations = (CITATION,)
    diagram_axes = ("s", "t")
    presets = MappingProxyType({
        "stages": MappingProxyType({"s": "0.25:5:39", "t": "0:8:161", "u0": "0.001", "D": "2",
                                    "tau": "1"}),
    })

    def validate(self, given: Mapping[str, object]) -> dict[str, object]:
        """Checked parameters; also ``u0 < min(s)``."""
        p = super().validate(given)
        _check_u0(p["u0"], p["s"])
        return p

    # --- the theory ---------------------------------------------------------------------------
    def solve(self, phase: str | None = None, **params) -> Solution:
        """Mode strengths at time ``t`` (closed form for D = 2, inverted closed-form time for
        D > 2)."""
        self.check_phase(phase)
        p = self.validate(params)
        u, bound = mode_strength(p["s"], p["u0"], p["D"], p["tau"], p["t"])
        names = _modes_names(len(p["s"]))
        if math.isinf(p["t"]):
            message, iterations = "t = inf: every mode has learned its singular value", 0
        elif p["D"] == 2:
            message, iterations = "closed form u(t) of the logistic mode equation (D = 2)", 0
        else:
            message = (f"D = {p['D']}: closed-form learning time t(u) (hypergeometric) inverted "
                       "by bisection")
            iterations = _BISECTIONS
        return Solution(self.name, p, {k: float(v) for k, v in zip(names, u, strict=True)},
                        None, None, True, float(bound.max()), iterations, message=message)

    def line(self, name: str, **params) -> Line:
        """``learning-time``: ``{"s", "t"}`` for each singular value given."""
        info = self.check_line(name)
        p = validate([q for q in self.parameters if q.name != "t"], params)
        _check_u0(p["u0"], p["s"])
        times = learning_time(p["s"], p["u0"], p["D"], p["tau"])
        points = tuple({"s": float(sv), "t": float(tv)}
                       for sv, tv in zip(p["s"], times, strict=True))
        return Line(self.name, name, info.kind, p, points,
                    message="closed-form learning time from u0 to s/2")

    def diagram(self, axes: Mapping[str, Sequence[float]], fixed: Mapping[str, object],
                *, executor=None, store=None, progress: bool = False) -> xr.Dataset:
        """``u(s, t)`` and ``u/s`` over the grid, with the learning time ``t_half(s)``.

        One vectorised evaluation; ``executor``, ``store`` and ``progress`` have nothing to
        distribute, resume or report and are not used.
        """
        if set(axes) != set(self.diagram_axes):
            raise ParameterError(f"diagram axes must be s and t (got {', '.join(axes)})")
        s = np.array(self.parameter("s").check(list(np.atleast_1d(axes["s"]))))
        t_param = self.parameter("t")
        t = np.array([t_param.check(v) for v in np.atleast_1d(axes["t"])])
        p = validate([q for q in self.parameters if q.name not in self.diagram_axes], fixed)
        _check_u0(p["u0"], s)
        u, _ = mode_strength(s[:, None], p["u0"], p["D"], p["tau"], t[None, :])
        half = learning_time(s, p["u0"], p["D"], p["tau"])
        return xr.Dataset(
            {"u": (("s", "t"), u, {"long_name": "mode strength"}),
             "u_over_s": (("s", "t"), u / s[:, None], {"long_name": "fraction learned u/s"}),
             "t_half": ("s", half, {"long_name": "learning time (u = s/2)", "units": "tau"})},
            coords={"s": ("s", s, {"long_name": "singular value"}),
                    "t": ("t", t, {"long_name": "training time", "units": "tau"})},
            attrs={"model": self.name, "parameters": json.dumps(p),
                   "version": package_version(), **provenance()},
        )

    def plot_diagram(self, dataset: xr.Dataset, path) -> list:
        """Heat map of ``u/s`` over ``(s, t)`` with the learning-time curve; beside it the
        sigmoidal stages ``u(t)/s`` of a few modes. Returns the files written
        (:func:`theorylab.plot.save`)."""
        from matplotlib.figure import Figure

        from theorylab import plot

        with plot.style():
            fig = Figure(figsize=(plot.WIDTH, 3.0), layout="constrained")
            heat, stages = fig.subplots(1, 2)
            _draw_fraction(fig, heat, dataset)
            _draw_stages(stages, dataset)
            fig.suptitle("Deep linear network (Saxe et al.): "
                         + plot.assignments(json.loads(dataset.attrs["parameters"])))
            handles = [*heat.get_legend_handles_labels()[0],
                       *stages.get_legend_handles_labels()[0]]
            labels = [h.get_label() for h in handles]
            fig.legend(handles, labels, loc="outside lower center", frameon=False,
                       ncols=plot.legend_columns(labels, plot.WIDTH))
            return plot.save(fig, path)

    # --- the independent check ----------------------------------------------------------------
    def simulate(self, seeds: int = 8, seed: int = 0, progress: bool = False,
                 **params) -> SimulationResult:
        """Full-matrix flow (or descent) of ``seeds`` networks; mode strengths at ``t`` and the
        largest change of the conserved matrices ``W_l W_lᵀ − W_{l+1}ᵀ W_{l+1}``.

        ``progress`` is not used: the runs are one batched integration.
        """
        p = validate((*self.parameters, *self.simulation_parameters), params)
        _check_u0(p["u0"], p["s"])
        if math.isinf(p["t"]):
            raise ParameterError("t must be a finite number >= 0 for a simulation (got inf)")
        if seeds < 1:
            raise ParameterError(f"seeds must be an integer >= 1 (got {seeds})")
        widths = (p["width"], *([p["hidden"]] * (p["D"] - 1)), p["width"])
        try:
            run = simulator.simulate(p["s"], p["u0"], p["D"], [p["t"]], widths, seeds, seed,
                                     tau=p["tau"], init=p["init"], eta=p["eta"], rtol=_RTOL)
        except ValueError as error:
            raise ParameterError(str(error)) from None
        observables = {name: Estimate.from_samples(run.modes[:, 0, i])
                       for i, name in enumerate(_modes_names(len(p["s"])))}
        observables["drift"] = Estimate.from_samples(run.drift[:, 0])
        return SimulationResult(
            self.name, {**p, "t_realised": float(run.times[0])}, observables, seeds, run.work,
            settings={"seed": seed, "widths": list(widths),
                      "method": "DOP853 gradient flow, rtol 1e-11" if p["eta"] == 0
                      else f"gradient descent, eta = {p['eta']:g}"})

    def verify(self, quick: bool = True, progress: bool = False) -> Verification:
        """Theory vs full-matrix simulations.

        * aligned balanced start, ``D = 2`` (5 modes) and ``D = 3`` (2 modes): the mode strengths
          must equal the closed forms to the integrator's accuracy (deterministic: stderr 0,
          allowance ``1e-8`` for DOP853 at rtol ``1e-11``);
        * conserved matrices: largest change ``< 1e-10`` (same integrator);
        * small random start, ``D = 2``, hidden width 64: the time to ``s/2`` against the aligned
          formula with the run's effective initial strength ``|a + b|²/4`` (the amplitude of the
          growing mode once the decaying one has died out); mean over runs, stderr of the
          paired difference, allowance 5 % of the prediction (crosstalk between modes through
          the shared hidden layer, measured ≤ 1.3 %).
        """
        rows = []
        s2, u0 = (5.0, 3.0, 2.0, 1.0, 0.5), 1e-3
        times2 = (1.0, 2.0) if quick else (0.5, 1.0, 2.0, 4.0)
        run = simulator.simulate(s2, u0, 2, times2, (6, 8, 6), 1, seed=2, rtol=_RTOL)
        theory, _ = mode_strength(np.array(s2)[None, :], u0, 2, 1.0, np.array(times2)[:, None])
        rows += _mode_rows(run, theory, s2, times2, depth=2)
        s3 = (3.0, 1.5)
        times3 = (2.0, 3.136267, 5.0)
        run3 = simulator.simulate(s3, u0, 3, times3, (4, 5, 5, 4), 1, seed=3, rtol=_RTOL)
        theory3, _ = mode_strength(np.array(s3)[None, :], u0, 3, 1.0, np.array(times3)[:, None])
        rows += _mode_rows(run3, theory3, s3, times3, depth=3)
        for depth, r in ((2, run), (3, run3)):
            rows.append(Comparison({"D": depth, "init": "aligned"}, "drift", 0.0,
                                   float(r.drift.max()), 0.0, _DRIFT_ALLOWANCE))
        runs = 4 if quick else 16
        rand = simulator.simulate(s2, u0, 2, (14.0,), (8, 64, 8), runs, seed=4,
                                  init="random", rtol=_RTOL)
        predicted = learning_time(np.array(s2), rand.effective_u0, 2, 1.0)
        rows.append(Comparison({"D": 2, "init": "random"}, "drift", 0.0,
                               float(rand.drift.max()), 0.0, _DRIFT_ALLOWANCE))
        for i, sv in enumerate(s2):
            paired = rand.half_times[:, i] - predicted[:, i]
            rows.append(Comparison({"D": 2, "init": "random", "s": sv}, "t_half",
                                   float(predicted[:, i].mean()),
                                   float(rand.half_times[:, i].mean()),
                                   float(paired.std(ddof=1) / np.sqrt(runs)),
                                   0.05 * float(predicted[:, i].mean())))
        return Verification(self.name, tuple(rows))


def _mode_rows(run, theory, s, times, depth) -> list[Comparison]:
    return [Comparison({"D": depth, "s": sv, "t": tv}, "u", float(theory[j, i]),
                       float(run.modes[0, j, i]), 0.0, _ODE_ALLOWANCE)
            for j, tv in enumerate(times) for i, sv in enumerate(s)]


def _draw_fraction(fig, ax, dataset: xr.Dataset) -> None:
    """Panel (a): the fraction learned ``u/s`` over ``(s, t)`` and the learning time."""
    s, t = dataset["s"].values, dataset["t"].values
    mesh = ax.pcolormesh(s, t, dataset["u_over_s"].values.T, shading="nearest", cmap="magma",
                         vmin=0, vmax=1)
    half = dataset["t_half"].values
    ax.plot(s, np.where(half <= t.max(), half, np.nan), color="cyan", lw=1.8,
            label=r"(a) learning time: $u = s/2$")
    ax.set(xlabel="singular value $s$", ylabel=r"$t/\tau$", title=r"(a) fraction learned $u/s$")
    colourbar = fig.colorbar(mesh, ax=ax, pad=0.02)
    colourbar.ax.set_title("$u/s$", fontsize=8)


def _draw_stages(ax, dataset: xr.Dataset) -> None:
    """Panel (b): ``u(t)/s`` of five modes spread over the grid's singular values."""
    s, t = dataset["s"].values, dataset["t"].values
    for i in np.unique(np.linspace(0, s.size - 1, 5).round().astype(int)):
        ax.plot(t, dataset["u_over_s"].values[i], label=f"$s = {s[i]:.3g}$")
    ax.set(xlabel=r"$t/\tau$", ylabel="$u/s$", title="(b) stage-like learning of modes",
           ylim=(-0.02, 1.02))


MODEL = DeepLinear()

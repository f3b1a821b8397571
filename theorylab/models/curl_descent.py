"""Curl descent: when rule-flipped plasticity destabilises the teacher's solution manifold.

Paper: H. Ninou, J. Kadmon, N. A. Cayco-Gajic, *Curl Descent: Non-Gradient Learning Dynamics
with Sign-Diverse Plasticity*, arXiv 2510.02765 (2025); spec ``shared/specs/curl-descent.md``
(model read from the authors' code, github ``caycogajiclab/Curl_Descent``; the paper's body could
not be read, so no equation numbers are given).

A two-layer network ``ŷ = φ(w2 φ(W1 x))`` (M inputs, N hidden units, ``c = M/N``) learns a
teacher of the same form. A fraction ``alpha_h`` of the *inputs* flips the sign of the update of
its column of ``W1`` (``D1``), a fraction ``alpha_r`` of the hidden units flips its readout update
(``D2``). For the linear network under gradient flow the error obeys ``dE/dt = −E Σ X`` with

    X = |w2|² D1 + W1ᵀ D2 W1        (M × M; :mod:`derivations.curl_descent`),

so the solution manifold is stable iff ``λ_min(X) > 0`` (spec §2.1). At large N, with ``W1`` at
initialisation statistics (variance ``sigma²/M``) and ``|w2|² = rho sigma²`` (spec §2.2; units
``sigma² = 1``), ``X`` is a free sum whose lower spectral edge follows from its Blue function
``B(G) = 1/G + R_X(G)``: as ``G`` goes from ``0⁻`` to negative values ``B`` rises to a first local
maximum ``G*`` and ``λ_min = B(G*)`` (spec §2.3). Atoms at ``±rho`` (when ``c > 1``) come from the
Bercovici–Voiculescu rule: ``a + b`` is an atom of a free sum iff the two masses add up to more
than one. The thresholds ``alpha_r*(c)``, ``alpha_h*(c)`` are the roots of ``λ_min = 0`` in the
flipped fraction (X decreases in the Loewner order as flips are added, so the root is single).

Numerics: the critical points of ``B`` are the real roots of a polynomial derived symbolically
(degree 4 without flipped inputs, 10 with them; its coefficients vectorised over every point and
its roots the eigenvalues of stacked companion matrices). Near-real roots are polished by Newton
steps on dB/dG itself and kept if they are true critical points (zero slope: clearing
denominators and squaring add roots) and maxima (negative curvature); the one nearest ``0⁻`` is
``G*``. Thresholds come from a vectorised false-position search (Illinois) in the fraction, to
``1e-13`` in the bracket or in ``λ_min``. Fractions below ``ALPHA_FLOOR`` are not resolved: a
threshold below it is reported as 0 (any flip destabilises; the exact statement for ``alpha_h``
at ``c ≥ 2/3``, spec §2.3).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
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

derivation = lazy.module("derivations.curl_descent")  # sympy: on first use
simulator = lazy.module("montecarlo.curl_descent")    # Numba: on first use
spectra = lazy.module("montecarlo.curl_spectra")
xr = lazy.module("xarray")

CITATION = """@article{ninou2025curl,
  title   = {Curl Descent: Non-Gradient Learning Dynamics with Sign-Diverse Plasticity},
  author  = {Ninou, Hugo and Kadmon, Jonathan and Cayco-Gajic, N. Alex},
  journal = {arXiv preprint},
  year    = {2025},
  eprint  = {2510.02765},
  archivePrefix = {arXiv}
}"""

#: smallest flipped fraction resolved by the threshold search (a root below it is reported as 0)
ALPHA_FLOOR = 1e-6
#: a polynomial root is a candidate (then polished) when |Im G| <= this times (1 + |Re G|)
_REAL_TOLERANCE = 1e-2
#: a root is a critical point when |dB/dG| G^2 <= this, a maximum when d^2B/dG^2 G^2 < -that
#: (B ~ 1/G sets the scale)
_SLOPE_TOLERANCE = 1e-6
_CURVATURE_TOLERANCE = 1e-9
_NEWTON_STEPS = 4
#: damped subordination iterations that pick the density's sheet
_SUBORDINATION_STEPS = 2000
#: the threshold search (Illinois false position in the fraction): bracket width or |lambda_min|
#: at which it stops, and its step limit
_ROOT_TOLERANCE = 1e-13
_ROOT_STEPS = 200


# --- the spectrum ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Edge:
    """Lower edge of the large-N spectrum of X at each point (arrays of the broadcast shape).

    Attributes
    ----------
    lambda_min
        The lowest point of the spectrum, ``min(bulk edge, atoms)`` (units ``sigma²``).
    bulk
        ``B(G*)``: the lower edge of the continuous part (``nan`` if ``B`` has no critical
        point: the spectrum then starts with an atom).
    G_star
        The critical point ``G*`` (``nan`` without one).
    atom
        The lowest atom (``-rho`` or ``+rho``) or ``nan`` if there is none.
    """

    lambda_min: np.ndarray
    bulk: np.ndarray
    G_star: np.ndarray
    atom: np.ndarray


def _poly_roots(coefficients: Sequence[np.ndarray]) -> np.ndarray:
    """Roots of many polynomials at once: ``coefficients`` highest power first, each an array
    of shape (n,); returns (n, degree) complex, from the eigenvalues of the stacked companion
    matrices."""
    coefficients = np.stack(np.broadcast_arrays(*coefficients), axis=-1).astype(float)
    scale = np.abs(coefficients).max(axis=-1, keepdims=True)
    scale[scale == 0] = 1.0
    coefficients = coefficients / scale
    # a vanishing leading coefficient (e.g. the quartic's 1 - c at c = 1) is a root at
    # infinity: drop it, which multiplies the polynomial by G (a root at 0, never negative)
    for _ in range(coefficients.shape[1] - 2):
        tiny = np.abs(coefficients[:, 0]) < 1e-13
        if not tiny.any():
            break
        coefficients[tiny] = np.roll(coefficients[tiny], -1, axis=1)
        coefficients[tiny, -1] = 0.0
    lead = coefficients[:, :1]
    n, degree = coefficients.shape[0], coefficients.shape[1] - 1
    companion = np.zeros((n, degree, degree))
    companion[:, 0, :] = -coefficients[:, 1:] / lead
    companion[:, np.arange(1, degree), np.arange(degree - 1)] = 1.0
    return np.linalg.eigvals(companion)


def lower_edge(c, alpha_h=0.0, alpha_r=0.0, rho=1.0) -> Edge:
    """The lower edge of the large-N spectrum of ``X = rho D1 + W1ᵀ D2 W1`` (spec §2.3).

    Parameters
    ----------
    c
        Compression ratio ``M/N`` (> 0).
    alpha_h
        Fraction of flipped inputs (columns of ``W1``), in [0, 1].
    alpha_r
        Fraction of flipped readout synapses (hidden units), in [0, 1].
    rho
        ``|w2|²/sigma²`` (1 at initialisation statistics, the authors' choice).

    All four broadcast together. A fraction in ``(0, ALPHA_FLOOR)`` is evaluated at
    ``ALPHA_FLOOR``: the critical point then sits within ``sqrt(alpha)`` of a pole and a
    network flips at least one neuron (``alpha >= 1/N``).
    """
    numeric = derivation.numeric_spectral_theory()
    shape = np.broadcast_shapes(*(np.shape(v) for v in (c, alpha_h, alpha_r, rho)))
    c, alpha_h, alpha_r, rho = (a.ravel() for a in np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (c, alpha_h, alpha_r, rho))))
    # a flipped fraction in (0, ALPHA_FLOOR) is evaluated at ALPHA_FLOOR (one flip in 10^6)
    alpha_h, alpha_r = (np.where((a > 0) & (a < ALPHA_FLOOR), ALPHA_FLOOR, a)
                        for a in (alpha_h, alpha_r))
    G_star = np.full(c.size, np.nan)
    flipped, readout = alpha_h > 0, alpha_r > 0
    for analytic, with_readout in itertools.product((True, False), (True, False)):
        mask = (flipped != analytic) & (readout == with_readout)
        if not mask.any():
            continue
        cm, hm, rm, pm = (v[mask, None] for v in (c, alpha_h, alpha_r, rho))
        arguments = [cm[:, 0], pm[:, 0]] + ([] if analytic else [hm[:, 0]])
        name = "critical" + ("_analytic" if analytic else "")
        if with_readout:
            roots = _poly_roots(numeric[name](*arguments, rm[:, 0]))
        else:
            roots = _poly_roots(numeric[name + "_no_readout"](*arguments))
        G = roots.real
        valid = (np.abs(roots.imag) <= _REAL_TOLERANCE * (1 + np.abs(G))) & (G < 0)
        valid &= (G > -1) | (rm == 0)                      # R_{-B} has its pole at G = -1
        # a true critical point (clearing denominators and squaring add roots) and a local
        # maximum, not an inflection (a double root, e.g. the hard edge at c = 1)
        # maximum, not an inflection (a double root, e.g. the hard edge at c = 1); roots in a
        # cluster are inaccurate, so each is first polished by Newton steps on dB/dG itself
        fixed = (cm, pm, rm) if analytic else (cm, pm, hm, rm)
        slope, curvature = (numeric[name + ("_analytic" if analytic else "")]
                            for name in ("slope", "curvature"))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for _ in range(_NEWTON_STEPS):
                polished = G - slope(G, *fixed) / curvature(G, *fixed)
                keep = np.isfinite(polished) & (polished < 0) & ((polished > -1) | (rm == 0))
                G = np.where(keep, polished, G)
            valid &= np.abs(slope(G, *fixed)) * G**2 <= _SLOPE_TOLERANCE
            valid &= curvature(G, *fixed) * G**2 < -_CURVATURE_TOLERANCE
        G_star[mask] = np.where(valid, G, -np.inf).max(axis=1)
    G_star[~np.isfinite(G_star)] = np.nan
    bulk = _blue(G_star, c, alpha_h, alpha_r, rho, numeric) * np.ones_like(c)
    # no critical point (only possible without readout flips): B rises monotonically to its
    # limit at G -> -inf, rho without flipped inputs (a hard edge), -rho with them
    bulk = np.where(np.isnan(G_star) & (alpha_r == 0), np.where(flipped, -rho, rho), bulk)
    # atoms of the free sum (Bercovici-Voiculescu): rank-N part has mass 1 - 1/c at 0
    null = np.clip(1 - 1 / c, 0, None)
    atom = np.where(alpha_h + null > 1, -rho, np.where((1 - alpha_h) + null > 1, rho, np.nan))
    lam = np.fmin(bulk, atom)
    return Edge(*(v.reshape(shape)[()] for v in (lam, bulk, G_star, atom)))


def _blue(G, c, alpha_h, alpha_r, rho, numeric) -> np.ndarray:
    """``B(G)`` on the physical branch: the positive root of the radicand with flipped
    inputs, ``S = 1 + 2 rho G`` without (:func:`derivations.curl_descent.blue_function`)."""
    root = np.where(alpha_h > 0, np.sqrt(np.abs(numeric["radicand"](G, rho, alpha_h))),
                    1 + 2 * rho * G)
    return numeric["blue"](G, root, c, alpha_r)


def threshold(c, flipped: str, *, alpha_h=0.0, alpha_r=0.0, rho=1.0) -> np.ndarray:
    """The critical fraction of ``flipped`` (``"alpha_h"`` or ``"alpha_r"``) at which
    ``λ_min(X)`` crosses zero, at the other fraction given (spec §2.3): 1 if the manifold stays
    stable with every neuron of that layer flipped, 0 if it is unstable from the first flips
    (below ``ALPHA_FLOOR``) or already without them. Vectorised over ``c`` (and the others)."""
    if flipped not in ("alpha_h", "alpha_r"):
        raise ValueError(f"flipped must be alpha_h or alpha_r (got {flipped!r})")
    fixed = {"alpha_h": alpha_h, "alpha_r": alpha_r}
    c, other, rho = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (c, fixed["alpha_r" if flipped == "alpha_h"
                                                      else "alpha_h"], rho)))
    shape = c.shape
    c, other, rho = (np.atleast_1d(v).ravel() for v in (c, other, rho))

    def edge(alpha, where):
        kwargs = {flipped: alpha, ("alpha_r" if flipped == "alpha_h" else "alpha_h"):
                  other[where]}
        return lower_edge(c[where], rho=rho[where], **kwargs).lambda_min

    everywhere = np.ones(c.shape, dtype=bool)
    lo, hi = np.full(c.shape, ALPHA_FLOOR), np.ones(c.shape)
    f_lo, f_hi = edge(lo, everywhere), edge(hi, everywhere)
    stable_all, unstable_first = f_hi > 0, ~(f_lo > 0)
    root = np.where(stable_all, 1.0, 0.0)
    active = ~stable_all & ~unstable_first
    side = np.zeros(c.shape, dtype=int)       # which end moved last: -1 lo, +1 hi
    for _ in range(_ROOT_STEPS):
        if not active.any():
            break
        a, b, fa, fb = lo[active], hi[active], f_lo[active], f_hi[active]
        x = np.clip((a * fb - b * fa) / (fb - fa), a, b)
        fx = edge(x, active)
        root[active] = x
        up = fx > 0
        last = side[active]
        # Illinois: halve the far end's value when the same end moves twice in a row
        fb = np.where(up & (last == -1), fb / 2, fb)
        fa = np.where(~up & (last == 1), fa / 2, fa)
        a, fa = np.where(up, x, a), np.where(up, fx, fa)
        b, fb = np.where(up, b, x), np.where(up, fb, fx)
        lo[active], hi[active], f_lo[active], f_hi[active] = a, b, fa, fb
        side[active] = np.where(up, -1, 1)
        done = (b - a < _ROOT_TOLERANCE) | (np.abs(fx) < _ROOT_TOLERANCE)
        active[np.flatnonzero(active)[done]] = False
    if active.any():
        raise RuntimeError(f"threshold: the root search did not converge in {_ROOT_STEPS} "
                           f"steps at c = {c[active][:3]}")
    return root.reshape(shape)[()]


def readout_edge_by_discriminant(c, alpha_r, rho=1.0) -> np.ndarray:
    """The lower edge for readout flips alone by the authors' route (spec §2.3): the smallest
    real root ``z`` of the discriminant of the readout cubic at which the cubic's roots turn
    complex (the density switches on: the discriminant changes sign to negative). An
    independent check of :func:`lower_edge` at ``alpha_h = 0``."""
    numeric = derivation.numeric_spectral_theory()
    c, alpha_r, rho = (a.ravel() for a in np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (c, alpha_r, rho))))
    coefficients = numeric["discriminant"](c, rho, alpha_r)
    roots = _poly_roots(coefficients)
    z = np.where(np.abs(roots.imag) <= 1e-7 * (1 + np.abs(roots.real)), roots.real, np.nan)
    table = np.stack(np.broadcast_arrays(*coefficients, c)[:-1], axis=-1)  # (n, 5)
    above = z + 1e-7 * (1 + np.abs(z))
    values = (above[..., None] ** np.arange(table.shape[1] - 1, -1, -1)
              * table[:, None, :]).sum(axis=-1)
    opens = np.where(values < 0, z, np.inf)
    return opens.min(axis=1)


def density(z, c, alpha_h=0.0, alpha_r=0.0, rho=1.0) -> np.ndarray:
    """The continuous part of the large-N spectral density of X at real ``z`` (one point
    ``(c, alpha_h, alpha_r, rho)``; atoms are not included, see :func:`lower_edge`).

    ``|Im G(z)|/pi`` with ``G`` the root of ``z = B(G)`` (:func:`derivations.curl_descent.
    density_polynomial`) on the physical sheet. The sheet is picked by the subordination fixed
    point ``G = G_D(z + i eta - R_W(G))`` (``G_D`` the Cauchy transform of the ±rho Bernoulli
    law, ``R_W`` of ``W1ᵀ D2 W1``), iterated with damping from ``G = 1/z`` at ``eta = 0.01``;
    the root nearest to it is the value at ``eta = 0``.
    """
    numeric = derivation.numeric_spectral_theory()
    z = np.asarray(z, dtype=float)
    flat = z.ravel()
    shifted = flat + 0.01j
    G = 1 / shifted
    for _ in range(_SUBORDINATION_STEPS):
        w = shifted - ((1 - alpha_r) / (c * (1 - G)) - alpha_r / (c * (1 + G)))
        G = 0.5 * G + 0.5 * ((1 - alpha_h) / (w - rho) + alpha_h / (w + rho))
    if alpha_h > 0:
        roots = _poly_roots(numeric["density"](flat, c, rho, alpha_h, alpha_r))
    else:
        roots = _poly_roots(numeric["density_analytic"](flat, c, rho, alpha_r))
    nearest = roots[np.arange(flat.size), np.abs(roots - G[:, None]).argmin(axis=1)]
    return (np.clip(-nearest.imag, 0, None) / np.pi).reshape(z.shape)


def edge_spacing(M: int, c: float, alpha_h: float = 0.0, alpha_r: float = 0.0,
                 rho: float = 1.0) -> float:
    """The distance above the lower edge within which the large-N density holds one of M
    eigenvalues, ``M ∫_edge^{edge + δ} ρ = 1``: the finite-size scale of the smallest
    eigenvalue (Tracy-Widom regime, ``δ ∝ M^(-2/3)`` at a square-root edge; on average it lies
    inside the support by a fraction of ``δ``). Trapezoid rule on 4000 geometrically spaced
    points from 1e-7 to 10 above the edge (``inf`` if they hold less than one eigenvalue)."""
    edge = float(lower_edge(c, alpha_h, alpha_r, rho).lambda_min)
    offsets = np.concatenate([[0.0], np.geomspace(1e-7, 10.0, 4000)])
    rho_z = density(edge + offsets, c, alpha_h, alpha_r, rho)
    mass = np.concatenate([[0.0], np.cumsum((rho_z[1:] + rho_z[:-1]) / 2 * np.diff(offsets))])
    index = np.searchsorted(mass, 1 / M)
    return float(offsets[index]) if index < offsets.size else math.inf


_FRACTIONS = ("alpha_h", "alpha_r")
#: the simulator's rules, in its order (:data:`montecarlo.curl_descent.RULES`)
RULES = ("gd", "fa", "fa-flip", "curl")
#: a run has converged when its final test error is below this (spec §4.5: the phase-diagram
#: notebooks use 1e-10; 1e-8 leaves room for rounding in the norm-reset steps)
CONVERGED = 1e-8


class CurlDescent(Model):
    """Stability of the teacher's solution manifold under rule-flipped plasticity.

    Order parameters of :meth:`solve`: ``lambda_min`` (lower edge of the spectrum of ``X``,
    units ``sigma²``; the manifold is stable iff it is > 0), ``alpha_h_star`` (the flipped-input
    fraction at which it crosses zero, at the given ``alpha_r``) and ``alpha_r_star`` (the
    readout threshold at the given ``alpha_h``).
    """

    name = "curl-descent"
    title = ("Curl descent: stability of learning with rule-flipped plasticity "
             "(Ninou, Kadmon & Cayco-Gajic)")
    parameters = (
        Parameter("c", "compression ratio M/N (inputs per hidden unit)", low=0.0,
                  low_open=True),
        Parameter("alpha_h", "fraction of inputs whose W1 column update is flipped (D1)",
                  low=0.0, high=1.0, default=0.0),
        Parameter("alpha_r", "fraction of hidden units whose readout update is flipped (D2)",
                  low=0.0, high=1.0, default=0.0),
        Parameter("rho", "|w2|^2 / sigma^2 on the manifold (1: initialisation statistics, as "
                         "in the authors' phase diagram)", low=0.0, low_open=True, default=1.0),
    )
    order_parameters = ("lambda_min", "alpha_h_star", "alpha_r_star")
    lines = MappingProxyType({
        "readout-threshold": LineInfo(
            kind="continuous",
            description="alpha_r*(c): readout flips at which lambda_min(X) = 0 (at the given "
                        "alpha_h; spec §2.3, difference of free Wisharts)",
            along="c", solves_for="alpha_r"),
        "hidden-threshold": LineInfo(
            kind="continuous",
            description="alpha_h*(c): flipped inputs at which lambda_min(X) = 0 (at the given "
                        "alpha_r; spec §2.3, Bernoulli freely added to Marchenko-Pastur)",
            along="c", solves_for="alpha_h"),
        "joint-threshold": LineInfo(
            kind="continuous",
            description="the boundary alpha_r*(alpha_h) at fixed c when both layers flip",
            along="alpha_h", solves_for="alpha_r"),
    })
    simulation_parameters = (
        Parameter("M", "inputs of the simulated network", kind="int", low=1),
        Parameter("N", "hidden units of the simulated network", kind="int", low=1),
        Parameter("P", "training points (one data set x ~ N(0, I/2) per call)", kind="int",
                  low=1, default=250),
        Parameter("nonlinearity", "phi at both layers", kind="choice",
                  choices=("lin", "tanh", "relu"), default="lin"),
        Parameter("eta", "learning rate (one epoch ~ one full-batch step of eta)", low=0.0,
                  low_open=True, default=0.1),
        Parameter("batch", "mini-batch size B <= P (B = P: full batch)", kind="int", low=1,
                  default=10),
        Parameter("epochs", "training epochs (the paper: 1e5)", kind="int", low=1,
                  default=2000),
        Parameter("r", "student scale: U(+-r/sqrt(fan-in)) or N(0, r^2/fan-in)", low=0.0,
                  low_open=True, default=1.0),
        Parameter("init", "weight law of student and teacher", kind="choice",
                  choices=("uniform", "normal"), default="uniform"),
        Parameter("start", "start point: random student, or the teacher + 1e-10 on w2 / "
                           "+ 1e-15 on W1 (fig3b / fig4)", kind="choice",
                  choices=("random", "teacher-w2", "teacher-W1"), default="random"),
        Parameter("norm_reset", "reset |W1|_F and |w2| after every step (the paper's model)",
                  kind="choice", choices=("on", "off"), default="on"),
        Parameter("lyapunov", "also estimate the largest Lyapunov exponent (twice the cost)",
                  kind="choice", choices=("off", "on"), default="off"),
    )
    citations = (CITATION,)
    diagram_axes = ("c", "alpha_h")
    log_axes = ("c",)
    presets = MappingProxyType({
        "hidden": MappingProxyType({"c": "0.001:100:201", "alpha_h": "0:1:101"}),
        "readout": MappingProxyType({"c": "0.001:100:201", "alpha_r": "0:1:101"}),
    })

    # --- the theory ---------------------------------------------------------------------------
    def solve(self, phase: str | None = None, **params) -> Solution:
        """The lower spectral edge of ``X`` at one point and both thresholds there."""
        self.check_phase(phase)
        p = self.validate(params)
        edge = lower_edge(p["c"], p["alpha_h"], p["alpha_r"], p["rho"])
        lam = float(edge.lambda_min)
        stars = {f"{name}_star": float(threshold(p["c"], name, rho=p["rho"], **{
            other: p[other] for other in _FRACTIONS if other != name})) for name in _FRACTIONS}
        where = ("an atom" if np.isfinite(edge.atom) and edge.atom <= edge.bulk
                 else f"B(G*), G* = {float(edge.G_star):.6g}" if np.isfinite(edge.G_star)
                 else "the limit of B at G -> -inf (no critical point)")
        return Solution(
            self.name, p, {"lambda_min": lam, **stars}, None, None, bool(np.isfinite(lam)),
            0.0, 0, stable=bool(lam > 0),
            message=f"large-N lower edge of spec(X) from {where}; stable iff lambda_min > 0",
            extras={"bulk_edge": float(edge.bulk), "atom": float(edge.atom),
                    "G_star": float(edge.G_star)})

    def line(self, name: str, **params) -> Line:
        """A threshold line: ``{along: value, solves_for: threshold}`` at each value given."""
        info = self.check_line(name)
        if info.along not in params:
            raise ParameterError(f"missing parameter {info.along}: "
                                 f"{self.parameter(info.along).domain}")
        values = values_along(self.parameter(info.along), params.pop(info.along))
        if info.solves_for in params:
            raise ParameterError(f"{info.solves_for} is what {name} solves for: leave it out")
        p = validate([q for q in self.parameters if q.name not in (info.along, info.solves_for)],
                     params)
        stars = threshold(**{info.along: values}, **{k: v for k, v in p.items()},
                          flipped=info.solves_for) if info.along == "c" else threshold(
            p["c"], info.solves_for, rho=p["rho"], alpha_h=values)
        points = tuple({info.along: float(v), info.solves_for: float(s)}
                       for v, s in zip(values, np.atleast_1d(stars), strict=True))
        return Line(self.name, name, info.kind, {**p, info.along: values.tolist()}, points,
                    message=f"root of the large-N lambda_min(X) in {info.solves_for} by "
                            f"false position to {_ROOT_TOLERANCE:g}; 0 means unstable from the "
                            f"first flips (below {ALPHA_FLOOR:g}), 1 stable at every fraction")

    def check_axes(self, names: Sequence[str]) -> None:
        """A diagram spans ``c`` and one flipped fraction."""
        if sorted(names) not in (["alpha_h", "c"], ["alpha_r", "c"]):
            raise ParameterError("diagram axes must be c and one of alpha_h, alpha_r "
                                 f"(got {', '.join(names)})")

    def diagram(self, axes: Mapping[str, Sequence[float]], fixed: Mapping[str, object],
                *, executor=None, store=None, progress: bool = False) -> xr.Dataset:
        """``lambda_min`` of ``X`` over ``c`` and one flipped fraction, and the threshold line.

        The whole grid is one vectorised root computation (about a second), so ``executor``,
        ``store`` and ``progress`` have nothing to distribute, resume or report and are unused.
        """
        names = list(axes)
        self.check_axes(names)
        fraction = next(n for n in names if n in _FRACTIONS)
        c = values_along(self.parameter("c"), axes["c"])
        alphas = values_along(self.parameter(fraction), axes[fraction])
        p = validate([q for q in self.parameters if q.name not in names], fixed)
        others = {k: v for k, v in p.items() if k in _FRACTIONS}
        edge = lower_edge(c[:, None], **{fraction: alphas[None, :]}, **others, rho=p["rho"])
        star = threshold(c, fraction, rho=p["rho"], **others)
        return xr.Dataset(
            {
                "lambda_min": (("c", fraction), edge.lambda_min,
                               {"long_name": "lower edge of spec(X)", "units": "sigma^2"}),
                f"{fraction}_star": ("c", star, {"long_name": f"threshold {fraction}*(c)"}),
            },
            coords={"c": ("c", c, {"long_name": "M/N"}),
                    fraction: (fraction, alphas, {"long_name": self.parameter(fraction)
                                                  .description})},
            attrs={"model": self.name, "parameters": json.dumps(p), "fraction": fraction,
                   "version": package_version(), "method": "Blue function, companion roots",
                   **provenance()},
        )

    def plot_diagram(self, dataset: xr.Dataset, path) -> list:
        """``lambda_min(X)`` as a diverging heat map over ``(c, fraction)`` (log ``c``, symmetric
        log colour, linear within ±0.01) and the threshold line. Returns the files written
        (:func:`theorylab.plot.save`)."""
        from matplotlib.colors import SymLogNorm
        from matplotlib.figure import Figure

        from theorylab import plot

        fraction = dataset.attrs["fraction"]
        c, alphas = dataset["c"].values, dataset[fraction].values
        lam = dataset["lambda_min"].values
        with plot.style():
            fig = Figure(figsize=(plot.WIDTH * 0.62, 3.2), layout="constrained")
            ax = fig.subplots()
            limit = float(np.nanmax(np.abs(lam)))
            norm = SymLogNorm(linthresh=0.01, vmin=-limit, vmax=limit, base=10)
            mesh = ax.pcolormesh(c, alphas, lam.T, norm=norm, cmap="RdBu", shading="nearest",
                                 rasterized=True)
            star = plot.symbol(fraction).rstrip("$") + "^*(c)$"
            ax.plot(c, dataset[f"{fraction}_star"].values, color="k", lw=1.6, label=star)
            ax.set_xscale("log")
            ax.set(xlabel="$c = M/N$", ylabel=plot.symbol(fraction),
                   ylim=(alphas.min(), alphas.max()), xlim=(c.min(), c.max()))
            layer = "input (hidden-layer)" if fraction == "alpha_h" else "readout"
            ax.set_title(f"{layer} flips: stable (blue) below {star}", fontsize=9)
            ax.legend(loc="upper right", frameon=True, fontsize=7)
            fig.colorbar(mesh, ax=ax, pad=0.02, label=r"$\lambda_{\min}(X)$ (symmetric log)")
            return plot.save(fig, path)

    # --- the independent check ----------------------------------------------------------------
    def simulate(self, seeds: int = 8, seed: int = 0, progress: bool = False,
                 **params) -> SimulationResult:
        """Train ``seeds`` teacher-student draws by the four rules (spec §1) and report, per
        rule, the final errors (and the seed mean of log10 of the test error, the paper's heat
        map statistic), the end-point ``λ_min(X)``, the order parameter q over the last
        min(999, epochs/2) epochs (both variants, spec §3.3), the epochs to a test error of
        1e-3 over the seeds that reached it, and the Lyapunov exponent when asked.
        ``c = M/N`` comes from the network; the large-N theory at it is in ``settings``."""
        if "c" in params:
            raise ParameterError("c is M/N of the simulated network: give M and N, not c")
        declared = [q for q in (*self.parameters, *self.simulation_parameters) if q.name != "c"]
        p = validate(declared, params)
        if p["batch"] > p["P"]:
            raise ParameterError(f"batch must be between 1 and P = {p['P']} "
                                 f"(got {p['batch']})")
        if seeds < 2:
            raise ParameterError(f"seeds must be an integer >= 2 (got {seeds}): a standard "
                                 "error needs two samples")
        keep = min(999, p["epochs"] // 2)
        run = simulator.train(
            p["M"], p["N"], p["P"], alpha_h=p["alpha_h"], alpha_r=p["alpha_r"],
            nonlinearity=p["nonlinearity"], seeds=seeds, seed=seed, eta=p["eta"],
            batch=p["batch"], epochs=p["epochs"], init=p["init"], r=p["r"], start=p["start"],
            norm_reset=p["norm_reset"] == "on", keep_last=keep,
            lyapunov=p["lyapunov"] == "on", progress=progress)
        observables, censored = {}, {}
        reached = run.epochs_to(1e-3)
        for k, rule in enumerate(run.rules):
            per_seed = {
                "test_error": run.test_error[k, :, -1],
                "train_error": run.train_error[k, :, -1],
                "log10_test_error": np.log10(run.test_error[k, :, -1]),
                "lambda_min_X": run.X_spectrum[k, :, 0],
                "q_var": run.q_var[k], "q_std": run.q_std[k],
                "epochs_to_1e-3": reached[k][np.isfinite(reached[k])],
            }
            if run.lyapunov is not None:
                per_seed["lyapunov"] = run.lyapunov[k]
            for name, values in per_seed.items():
                observables[f"{name}[{rule}]"] = Estimate.from_samples(values)
            censored[rule] = int(np.isnan(reached[k]).sum())
        c = p["M"] / p["N"]
        edge = lower_edge(c, p["alpha_h"], p["alpha_r"], p["rho"])
        return SimulationResult(
            self.name, {**p, "c": c}, observables, seeds, run.steps,
            settings={"seed": seed, "q_epochs": keep, "rules": list(run.rules),
                      "epochs_to_1e-3_censored": censored,
                      "large_N_theory": {"lambda_min": float(edge.lambda_min),
                                         "stable": bool(edge.lambda_min > 0)},
                      "method": f"{p['nonlinearity']} network, B = {p['batch']}, eta = "
                                f"{p['eta']:g}, norm reset {p['norm_reset']}"})

    def verify(self, quick: bool = True, progress: bool = False) -> Verification:
        """Theory against finite-size numerics (spec §4.4-4.6).

        1. Spectra: ``λ_min(X)`` of diagonalised Gaussian draws at 0.8 and 1.2 times the
           threshold (hidden flips at c = 0.35, M = 1200; readout flips at c = 0.5, N = 2000)
           against the large-N edge; allowance twice :func:`edge_spacing` (the smallest of M
           eigenvalues sits inside the support by up to about one spacing; measured: 0.6 to
           0.9 spacings here); and the fraction of draws with ``λ_min > 0``: all below the
           threshold, none above (spec §4.4: the sign changes between 0.8 and 1.2 alpha*).
        2. Learning (linear network, B = P, eta = 0.1): below threshold (c = 0.2, alpha_h =
           0.5, alpha_h* = 1; random start) every seed of gradient descent and curl descent
           converges (final test error < :data:`CONVERGED`); above it (c = 0.4, alpha_h = 0.8,
           alpha_h* = 0.18; start at the rescaled teacher) curl descent leaves the manifold and
           no seed converges, while gradient descent stays. Quantity: the fraction of seeds
           that converged, exact (the theory says all or none).
        """
        draws = 3 if quick else 8
        rows = []
        cases = (("alpha_h", 0.35, 1200), ("alpha_r", 0.5, 1000))
        for flipped, c, M in tqdm(cases, disable=not progress, desc="spectra"):
            star = float(threshold(c, flipped))
            for factor in (0.8, 1.2):
                fractions = {flipped: factor * star}
                edge = float(lower_edge(c, **fractions).lambda_min)
                sampled = spectra.smallest_eigenvalues(M, round(M / c), **fractions,
                                                       draws=draws, seed=len(rows))
                estimate = Estimate.from_samples(sampled)
                where = {"c": c, flipped: round(factor * star, 6), "M": M}
                rows.append(Comparison(where, "lambda_min(X)", edge, estimate.mean,
                                       estimate.stderr, 2 * edge_spacing(M, c, **fractions)))
                rows.append(Comparison(where, "fraction of draws stable", float(edge > 0),
                                       float(np.mean(sampled > 0)), 0.0, 0.0))
        seeds = 4 if quick else 10
        for point, start, expected in (
                ({"M": 20, "N": 100, "alpha_h": 0.5}, "random", {"gd": 1.0, "curl": 1.0}),
                ({"M": 40, "N": 100, "alpha_h": 0.8}, "teacher-w2", {"gd": 1.0, "curl": 0.0})):
            run = simulator.train(point["M"], point["N"], 200, alpha_h=point["alpha_h"],
                                  rules=tuple(expected), seeds=seeds, seed=len(rows),
                                  batch=200, epochs=3000 if quick else 10000, start=start,
                                  rescale_teacher=start != "random", n_log=20)
            for k, rule in enumerate(run.rules):
                converged = run.test_error[k, :, -1] < CONVERGED
                fraction = float(converged.mean())
                rows.append(Comparison({**point, "c": point["M"] / point["N"], "rule": rule,
                                        "start": start}, f"fraction converged ({rule})",
                                       expected[rule], fraction, 0.0, 0.0))
        return Verification(self.name, tuple(rows))


MODEL = CurlDescent()

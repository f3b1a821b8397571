"""Gibbs sampling of the Franz–Parisi continual-learning measure: the independent check of spec §7.

The measure is that of ``shared/specs/franz-parisi.md`` §1.2–1.3 and §3.1 (Li, Huang, Zou and
Huang, arXiv 2212.02846): a binary-perceptron teacher w¹* ∈ {±1}^N, inputs x^μ_i i.i.d. N(0, 1)
(or ±1), labels y^μ = sign(w*·x^μ) with sign(0) = +1, P = round(α N) examples. The variational
student m ∈ (−1, 1)^N enters through the Gaussian-field likelihood of each example,

    u^μ = Σ_i m_i x^μ_i / √N,   (σ^μ)² = Σ_i (1 − m_i²)(x^μ_i)² / N,   P(y | x, m) = H(−y u/σ),

H(x) = ∫_x^∞ Dt. The sampled density on m is, with the **flat (Lebesgue) measure dm**,

    P(m) ∝ exp[ β Σ_μ ln H(−y^μ u^μ/σ^μ) + Σ_i (k S(m_i) + b_i m_i) ],

S the binary entropy. Task 1: k = k₁ (0 in the main text), b = 0. Task 2 (spec §3.1): teacher
w²*_i = B_i w¹*_i with P(B_i = +1) = (1 + r₀)/2, α₂N fresh examples labelled by teacher 2, and the
KL coupling −βγ Σ_i KL(m_i ‖ m¹_i) to a reference m¹ = one equilibrium sample of task 1; by the
identity −KL(m‖m¹) = S(m) + m atanh(m¹) + const (spec §1.2) this is k = βγ, b_i = βγ atanh(m¹_i).
A chain of tasks (:func:`sample_chain`) repeats the step: task t has teacher w^t* = B^t ⊙ w^(t−1)*,
α₂N fresh examples and the KL coupling to a sample m^(t−1) of task t − 1.
Nothing here imports the theory (``theorylab``, ``derivations``).

Sampler (spec §7 item 7). The chain lives in t = atanh m; the density of t carries the Jacobian
dm/dt = 1 − m² (so that the measure is flat in m): log p(t) = log P(tanh t) + ln(1 − tanh² t).
One sweep visits every site i in order and makes two Metropolis–Hastings moves there:

1. a one-dimensional MALA move t_i → t_i + (h_j²/2) ∂_i log p + h_j ξ (ξ ~ N(0, 1)), accepted with
   the Hastings ratio of the Langevin proposal (the gradient at the proposed point is needed).
   The step is h_j = h·2^−j with j drawn uniformly from {0, …, :data:`STEP_SCALES` − 1} for every
   proposal, independently of the state (a mixture of reversible kernels, hence reversible).
   Sites differ widely in stiffness: those pinned near ±1 sit in the slowly decaying tail of the
   t density (log p ≈ −2|t|) and want steps of a few units, those in frustrated examples want
   steps of a few tenths. With a single step tuned to 0.57 acceptance (h ≈ 1), a quarter to a half
   of the chains at N = 20, α = 1, β = 20 stayed for 20 000 sweeps in states whose log-likelihood
   was lower by ~80 than that of the equilibrium (Q 0.73 instead of 0.85), which a plain random-walk
   Metropolis in m (step 0.15) left in 50 sweeps; with the four scales every chain agreed with the
   random walk (Q within 0.01 on three data sets);
2. a flip m_i → −m_i (t_i → −t_i), proposed when |m_i| ≥ :data:`FLIP_FROM` and accepted by
   Metropolis. Local moves almost never carry a site across the barrier between m ≈ +1 and m ≈ −1
   at β = 20 (spec §7 item 7); the flip does. The proposal rule depends on |m_i| only, which the
   flip leaves unchanged, so the move is its own reverse and keeps detailed balance. A flip keeps
   σ² and the site term k S(m) + ln(1 − m²) and changes u^μ by −2 m_i x^μ_i / √N.

A move at site i changes u^μ and σ^μ of every example by one term, so its proposal costs O(P)
(one log H and, for MALA, one φ/H per example); the per-example caches u, σ², ln H and the ratio
G = φ/H are kept up to date and rebuilt from scratch at the start of every sweep (no drift).
With a = −y u/σ, ∂ ln H(a)/∂m_i = G(a) y [x_i/(√N σ) + u m_i x_i²/(N σ³)], and
∂/∂t_i = (1 − m_i²) ∂/∂m_i; the site term contributes (1 − m²)(b − k t) − 2m (its gradient in t).

Chains: ``data_sets × replicas``, run in parallel (``numba.prange``); the replicas of a data set
share its teacher(s), examples (and, for task 2, reference) and start from independent uniform
m, so that q is the overlap of two replicas. The first half of the sweeps is burn-in, during which
each chain's step h is adapted (Robbins–Monro on log h, gain (1 + sweep)^−0.6) so that the
MALA acceptance of the mixture approaches ``target_acceptance``; h is frozen for the second half,
over which every observable is averaged.
Random numbers: ``SeedSequence(seed).spawn(data_sets)``; data set d spawns 1 + replicas children:
child 0 is the NumPy generator of its data (teacher 1, inputs, labels, then B and the task-2
inputs), child 1 + a spawns two sequences for replica a: the NumPy generator of its start and
its xoshiro256** stream (:mod:`montecarlo.rng`) of proposals. Task 2 samples task 1 first (the
same tree, hence the same run as :func:`sample_task1` with this seed, for ``reference_sweeps``
sweeps) and takes the last state of replica 0 as m¹; its chains get the replica sequences of the
children ``SeedSequence(seed).spawn(2 · data_sets)[data_sets:]`` (SeedSequence children depend on
their index only, so the first ``data_sets`` are those of task 1). A chain of T tasks
(:func:`sample_chain`) spawns T · data_sets children; task t gets the replica sequences of
children (t − 1)·data_sets … t·data_sets − 1, and data set d's generator (child 0 of its task-1
child) draws, after the task-1 data, B^t and the task-t inputs for t = 2, …, T in order, so that
T = 2 is bitwise :func:`sample_task2` and the first T′ tasks of a chain are those of the chain of
T′ tasks.

log H is evaluated in Numba (:func:`log_h`) without underflow on the whole real line:
ln(1 − ½ erfc(−x/√2)) by log1p for x < 0, ln(½ erfc(x/√2)) for 0 ≤ x < 12 and the asymptotic
series H(x) = φ(x)/x · Σ_k (−1)^k (2k − 1)!!/x^{2k} (14 terms, truncation below 2e-16) beyond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numba import njit, prange
from tqdm import tqdm

from montecarlo.rng import next_index, next_uniform, seed_state
from theorylab.parameters import Parameter
from theorylab.results import mean_and_stderr

MODEL = "franz-parisi"
ALGORITHM = "single-site MALA in atanh m + single-site flips (Metropolis)"
INPUTS = ("gaussian", "binary")
TARGET_ACCEPTANCE = 0.57
"""Default MALA acceptance aimed at during burn-in."""
FLIP_FROM = 0.25
"""Flips m_i → −m_i are proposed only when |m_i| ≥ FLIP_FROM (smaller |m| cross by MALA)."""
STEP_SCALES = 4
"""Each MALA proposal uses the step h·2^−j, j uniform in {0, …, STEP_SCALES − 1}."""
INITIAL_STEP = 0.5
"""Starting MALA step h in t = atanh m when ``step`` is adapted."""
TASK1_OBSERVABLES = ("Q", "q", "r", "p", "eps", "acceptance_mala", "acceptance_flip")
TASK2_OBSERVABLES = ("Q2", "q2", "r2", "R21", "p1", "p2", "eps1", "eps2", "acceptance_mala",
                     "acceptance_flip")
PAIR_OBSERVABLES = ("q", "q2")
"""Observables defined per pair of replicas (shape (data_sets, replicas·(replicas − 1)/2))."""

_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_ASYMPTOTIC_FROM = 12.0
_ASYMPTOTIC_TERMS = 14
_TINY_VARIANCE = 1e-300
_SNAPSHOT_FLOATS = 2_000_000
"""Largest number of snapshot values (chains × sweeps × N) held per kernel call."""


# --------------------------------------------------------------------------------------------
# log H and G = φ/H
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _asymptotic_series(x):
    """Σ_{k<14} (−1)^k (2k − 1)!!/x^{2k}, so that H(x) = φ(x)/x · series (x ≥ 12)."""
    inv = 1.0 / (x * x)
    total = 1.0
    term = 1.0
    for k in range(1, _ASYMPTOTIC_TERMS):
        term *= -(2.0 * k - 1.0) * inv
        total += term
    return total


@njit(cache=True)
def log_h_and_ratio(x):
    """(ln H(x), φ(x)/H(x)), H(x) = ∫_x^∞ Dt = ½ erfc(x/√2), accurate on the whole real line.

    φ/H = −d ln H/dx is the ratio used by the gradient; neither value underflows or overflows
    (for x → −∞: ln H → 0⁻, φ/H → 0; for x → +∞: ln H ≈ −x²/2, φ/H ≈ x).
    """
    if x < 0.0:
        e = 0.5 * math.erfc(-x / _SQRT2)
        h = 1.0 - e
        return math.log1p(-e), math.exp(-0.5 * x * x) * _INV_SQRT_2PI / h
    if x < _ASYMPTOTIC_FROM:
        h = 0.5 * math.erfc(x / _SQRT2)
        return math.log(h), math.exp(-0.5 * x * x) * _INV_SQRT_2PI / h
    series = _asymptotic_series(x)
    return -0.5 * x * x - _LOG_SQRT_2PI - math.log(x) + math.log(series), x / series


@njit(cache=True)
def _log_h_only(x):
    """ln H(x) alone (the branches of :func:`log_h_and_ratio` without φ/H)."""
    if x < 0.0:
        return math.log1p(-0.5 * math.erfc(-x / _SQRT2))
    if x < _ASYMPTOTIC_FROM:
        return math.log(0.5 * math.erfc(x / _SQRT2))
    return -0.5 * x * x - _LOG_SQRT_2PI - math.log(x) + math.log(_asymptotic_series(x))


@njit(cache=True)
def _log_h_array(x, out):
    for j in range(x.size):
        out[j] = log_h_and_ratio(x[j])[0]


def log_h(x) -> np.ndarray:
    """ln H(x) elementwise (the Numba routine the sampler uses), H(x) = ∫_x^∞ Dt.

    Equal to ``scipy.special.log_ndtr(-x)``; returns an array of the shape of ``x``.
    """
    x = np.asarray(x, dtype=float)
    flat = np.ascontiguousarray(x.ravel())
    out = np.empty_like(flat)
    _log_h_array(flat, out)
    return out.reshape(x.shape)


# --------------------------------------------------------------------------------------------
# The kernel
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _normal(s0, s1, s2, s3):
    """A standard normal (Box–Muller, one of the pair) from two xoshiro256** uniforms."""
    a, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
    b, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
    return math.sqrt(-2.0 * math.log(1.0 - a)) * math.cos(2.0 * math.pi * b), s0, s1, s2, s3


@njit(cache=True, inline="always")
def _log_cosh(t):
    a = abs(t)
    return a + math.log1p(math.exp(-2.0 * a)) - math.log(2.0)


@njit(cache=True, inline="always")
def _site_log_density(t, k, b, jacobian):
    """k S(m) + b m + jacobian · ln(1 − m²) at m = tanh t, with S(m) = ln(2 cosh t) − m t."""
    m = math.tanh(t)
    log_cosh = _log_cosh(t)
    return k * (math.log(2.0) + log_cosh - m * t) + b * m - 2.0 * jacobian * log_cosh


@njit(cache=True, inline="always")
def _site_gradient(t, k, b, jacobian):
    """d/dt of :func:`_site_log_density`: (1 − m²)(b − k t) − 2 jacobian · m."""
    m = math.tanh(t)
    return (1.0 - m * m) * (b - k * t) - 2.0 * jacobian * m


@njit(cache=True)
def _rebuild(t, xs, x2, y, u, s2, lh, g):
    """u, σ², ln H(a), G(a) of every example from scratch (a = −y u/σ), for one chain."""
    N, P = xs.shape
    for mu in range(P):
        u[mu] = 0.0
        s2[mu] = 0.0
    for i in range(N):
        m = math.tanh(t[i])
        c = 1.0 - m * m
        for mu in range(P):
            u[mu] += m * xs[i, mu]
            s2[mu] += c * x2[i, mu]
    for mu in range(P):
        s2[mu] = max(s2[mu], _TINY_VARIANCE)
        lh[mu], g[mu] = log_h_and_ratio(-y[mu] * u[mu] / math.sqrt(s2[mu]))


@njit(cache=True, parallel=True)
def _sweeps(T, xs_all, x2_all, y_all, which, fields, k, beta, jacobian, steps, states, counts,
            snapshots, adapt, adapt_offset, target, flip_from, n_scales, work):
    """``snapshots.shape[1]`` sweeps of every chain (parallel over chains), in place.

    T (C, N) t = atanh m; xs_all, x2_all (D, N, P) x/√N and x²/N; y_all (D, P); which (C,) data
    set of each chain; fields (C, N) b_i; steps (C,) MALA steps h; states (C, 4) xoshiro256**;
    counts (C, 4) int64: MALA accepted, MALA proposed, flips accepted, flips proposed (added to);
    snapshots (C, n, N) receives t after each sweep; adapt: adapt h after each sweep with gain
    (1 + adapt_offset + sweep)^−0.6; work (C, 8, P) scratch.
    """
    C, N = T.shape
    P = xs_all.shape[2]
    n_sweeps = snapshots.shape[1]
    for c in prange(C):
        d = which[c]
        xs = xs_all[d]
        x2 = x2_all[d]
        y = y_all[d]
        t = T[c]
        b = fields[c]
        u = work[c, 0]
        s2 = work[c, 1]
        lh = work[c, 2]
        g = work[c, 3]
        u_new = work[c, 4]
        s2_new = work[c, 5]
        lh_new = work[c, 6]
        g_new = work[c, 7]
        s0, s1, s2r, s3 = states[c, 0], states[c, 1], states[c, 2], states[c, 3]
        h = steps[c]
        for sweep in range(n_sweeps):
            _rebuild(t, xs, x2, y, u, s2, lh, g)
            accepted_this_sweep = 0
            for i in range(N):
                # --- one-dimensional MALA move of t_i -------------------------------------
                ti = t[i]
                m = math.tanh(ti)
                c_old = 1.0 - m * m
                grad = 0.0
                for mu in range(P):
                    sigma = math.sqrt(s2[mu])
                    grad += g[mu] * y[mu] * (xs[i, mu] / sigma
                                             + u[mu] * m * x2[i, mu] / (sigma * s2[mu]))
                grad = beta * c_old * grad + _site_gradient(ti, k, b[i], jacobian)
                scale, s0, s1, s2r, s3 = next_index(n_scales, s0, s1, s2r, s3)
                hs = h * 0.5**scale
                xi, s0, s1, s2r, s3 = _normal(s0, s1, s2r, s3)
                tn = ti + 0.5 * hs * hs * grad + hs * xi
                mn = math.tanh(tn)
                c_new = 1.0 - mn * mn
                dm = mn - m
                dc = c_new - c_old
                delta = 0.0
                grad_new = 0.0
                for mu in range(P):
                    un = u[mu] + dm * xs[i, mu]
                    sn = max(s2[mu] + dc * x2[i, mu], _TINY_VARIANCE)
                    sigma = math.sqrt(sn)
                    ln, gn = log_h_and_ratio(-y[mu] * un / sigma)
                    delta += ln - lh[mu]
                    grad_new += gn * y[mu] * (xs[i, mu] / sigma
                                              + un * mn * x2[i, mu] / (sigma * sn))
                    u_new[mu] = un
                    s2_new[mu] = sn
                    lh_new[mu] = ln
                    g_new[mu] = gn
                grad_new = beta * c_new * grad_new + _site_gradient(tn, k, b[i], jacobian)
                log_ratio = (beta * delta + _site_log_density(tn, k, b[i], jacobian)
                             - _site_log_density(ti, k, b[i], jacobian))
                forward = tn - ti - 0.5 * hs * hs * grad
                backward = ti - tn - 0.5 * hs * hs * grad_new
                log_ratio += (forward * forward - backward * backward) / (2.0 * hs * hs)
                counts[c, 1] += 1
                accept = log_ratio >= 0.0
                if not accept:
                    r, s0, s1, s2r, s3 = next_uniform(s0, s1, s2r, s3)
                    accept = math.log(1.0 - r) < log_ratio
                if accept and math.isfinite(tn):
                    counts[c, 0] += 1
                    accepted_this_sweep += 1
                    t[i] = tn
                    m = mn
                    for mu in range(P):
                        u[mu] = u_new[mu]
                        s2[mu] = s2_new[mu]
                        lh[mu] = lh_new[mu]
                        g[mu] = g_new[mu]
                # --- flip m_i -> -m_i ------------------------------------------------------
                if abs(m) >= flip_from:
                    delta = 0.0
                    for mu in range(P):
                        un = u[mu] - 2.0 * m * xs[i, mu]
                        ln = _log_h_only(-y[mu] * un / math.sqrt(s2[mu]))
                        delta += ln - lh[mu]
                        u_new[mu] = un
                        lh_new[mu] = ln
                    log_ratio = beta * delta - 2.0 * b[i] * m
                    counts[c, 3] += 1
                    accept = log_ratio >= 0.0
                    if not accept:
                        r, s0, s1, s2r, s3 = next_uniform(s0, s1, s2r, s3)
                        accept = math.log(1.0 - r) < log_ratio
                    if accept:
                        counts[c, 2] += 1
                        t[i] = -t[i]
                        for mu in range(P):  # G only now: flips are rarely accepted
                            u[mu] = u_new[mu]
                            lh[mu], g[mu] = log_h_and_ratio(-y[mu] * u[mu] / math.sqrt(s2[mu]))
            if adapt:
                gain = (1.0 + adapt_offset + sweep) ** -0.6
                h *= math.exp(gain * (accepted_this_sweep / N - target))
            for i in range(N):
                snapshots[c, sweep, i] = t[i]
        steps[c] = h
        states[c, 0], states[c, 1], states[c, 2], states[c, 3] = s0, s1, s2r, s3


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class GibbsRun:
    """Time averages of the Gibbs chains of one call, per (data set, replica).

    Attributes
    ----------
    task : int
        1 (task-1 measure), 2 (Franz–Parisi measure given a task-1 reference), t ≥ 2 (task t
        of a chain, :func:`sample_chain`) or 0 (fixed data, :func:`sample_data`).
    observables : dict of str -> ndarray
        Averages over the second half of the sweeps: shape (data_sets, replicas) for one-chain
        quantities, (data_sets, replicas·(replicas − 1)/2) for the pair overlaps
        :data:`PAIR_OBSERVABLES`. Task 1: Q = Σm²/N, q = Σm^a m^b/N, r = Σ m w¹*/N,
        p = Σ sign(m) w¹*/N, eps = arccos(p)/π (of the chain's mean p); task 2: Q2, q2,
        r2 = Σ m w²*/N, R21 = Σ m w¹*/N, p1, p2 (clipped overlaps with teachers 1, 2),
        eps1, eps2; task t of a chain: the task-2 names with 2 → the current teacher t, plus
        overlap_j = Σ m w^j*/N, p_j, eps_j for every teacher j ≤ t (:func:`chain_observables`).
        Always: acceptance_mala, acceptance_flip (fractions over the second half;
        acceptance_flip is nan when no flip was proposed).
    site_mean, site_square : (data_sets, replicas, N)
        Time averages of m_i and m_i².
    m : (data_sets, replicas, N)
        Last state of every chain.
    steps : (data_sets, replicas)
        Largest MALA step h in t = atanh m used in the second half (proposals use h·2^−j).
    teachers : (data_sets, tasks, N)
        w¹* (and w²*, …, w^t* for task t ≥ 2), ±1; empty for fixed data.
    settings : dict
        Every argument of the call.
    reference : GibbsRun or None
        Task t ≥ 2: the run of task t − 1 the references were drawn from (replica 0's last
        state); for task 2 the task-1 run.
    """

    task: int
    observables: dict
    site_mean: np.ndarray
    site_square: np.ndarray
    m: np.ndarray
    steps: np.ndarray
    teachers: np.ndarray
    settings: dict = field(default_factory=dict)
    reference: GibbsRun | None = None

    def mean_stderr(self, name: str) -> tuple[float, float]:
        """Mean of an observable and its standard error.

        Replicas (or replica pairs) of a data set are averaged first; the error is the standard
        error over independent data sets. With one data set the replicas are the independent
        units (fixed data). The error is nan when there is only one unit.
        """
        if name not in self.observables:
            raise ValueError(f"name must be one of {sorted(self.observables)} (got {name!r})")
        values = np.asarray(self.observables[name], dtype=float)
        units = values.mean(axis=1) if values.shape[0] > 1 else values[0]
        mean, stderr = mean_and_stderr(units[np.isfinite(units)])
        return float(mean), float(stderr)

    def __repr__(self) -> str:
        s = self.settings
        head = (f"GibbsRun(task {self.task}, N={s.get('N')}, beta={s.get('beta')}, "
                f"{self.m.shape[0]} data sets x {self.m.shape[1]} replicas, "
                f"{s.get('sweeps')} sweeps)")
        lines = [head]
        for name in self.observables:
            mean, err = self.mean_stderr(name)
            lines.append(f"  {name:<16} {mean: .5f} ± {err:.5f}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Argument checks and data
# --------------------------------------------------------------------------------------------


def _integer(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} (got {value!r})")
    return int(value)


def _real(name, value, *, low=None, high=None, open_low=False):
    """A finite real number within the bounds (:meth:`theorylab.parameters.Parameter.check`)."""
    return Parameter(name, "", low=-math.inf if low is None else low,
                     high=math.inf if high is None else high, low_open=open_low).check(value)


def _common(beta, data_sets, replicas, sweeps, seed, step, target_acceptance, inputs):
    out = dict(beta=_real("beta", beta, low=0.0, open_low=True),
               data_sets=_integer("data_sets", data_sets, 1),
               replicas=_integer("replicas", replicas, 1),
               sweeps=_integer("sweeps", sweeps, 2),
               seed=_integer("seed", seed, 0),
               target_acceptance=_real("target_acceptance", target_acceptance, low=0.0,
                                       high=1.0, open_low=True))
    if step is not None:
        step = _real("step", step, low=0.0, open_low=True)
    out["step"] = step
    if inputs not in INPUTS:
        raise ValueError(f"inputs must be one of {INPUTS} (got {inputs!r})")
    out["inputs"] = inputs
    return out


def _inputs(rng, N, P, kind):
    if kind == "binary":
        return rng.choice(np.array([-1.0, 1.0]), size=(N, P))
    return rng.standard_normal((N, P))


def _labels(teacher, x):
    """y = sign(w*·x) with sign(0) = +1; x is (N, P)."""
    return np.where(teacher @ x >= 0.0, 1.0, -1.0)


def _start(seq, N):
    """Uniform m on (−1, 1) as t = atanh m (the α = 0 equilibrium)."""
    m = np.random.default_rng(seq).uniform(-1.0, 1.0, N)
    return np.arctanh(np.clip(m, -1.0 + 1e-12, 1.0 - 1e-12))


def _pairs(R):
    return [(a, b) for a in range(R) for b in range(a + 1, R)]


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def _chains(x, y, fields, k, beta, starts, states, s, projections, progress, desc):
    """Run D × R chains (x (D, N, P), y (D, P), fields (D, R, N)) and return time averages.

    ``projections`` (D, V, N): vectors v (teachers); per chain the second-half means of
    m·v/N and sign(m)·v/N are returned as (D, R, V) arrays, with Q, the pair overlaps, site
    means and squares, acceptance rates, steps and last states.
    """
    D, N, P = x.shape
    R = s["replicas"]
    C = D * R
    xs = np.ascontiguousarray(x / math.sqrt(N))
    x2 = np.ascontiguousarray(x * x / N)
    y = np.ascontiguousarray(y, dtype=float)
    which = np.repeat(np.arange(D), R)
    T = np.ascontiguousarray(starts.reshape(C, N), dtype=float)
    b = np.ascontiguousarray(fields.reshape(C, N), dtype=float)
    adapt = s["step"] is None
    steps = np.full(C, INITIAL_STEP if adapt else s["step"])
    states = np.ascontiguousarray(states.reshape(C, 4))
    work = np.zeros((C, 8, P))
    sweeps = s["sweeps"]
    burn = sweeps // 2
    measured = sweeps - burn
    chunk = max(1, min(sweeps, _SNAPSHOT_FLOATS // (C * N)))
    if progress:
        chunk = max(1, min(chunk, sweeps // 20))
    pairs = _pairs(R)
    V = projections.shape[1]
    sums = dict(Q=np.zeros(C), mv=np.zeros((C, V)), sv=np.zeros((C, V)),
                q=np.zeros((D, len(pairs))), site=np.zeros((C, N)), square=np.zeros((C, N)))
    counts = np.zeros((C, 4), dtype=np.int64)
    proj = np.repeat(projections, R, axis=0)  # (C, V, N)
    bar = tqdm(total=sweeps, disable=not progress, desc=desc, unit="sweep")
    done = 0
    for phase_sweeps, phase_adapt, record in ((burn, adapt, False), (measured, False, True)):
        if record:
            counts[:] = 0
        left = phase_sweeps
        while left > 0:
            n = min(chunk, left)
            snaps = np.empty((C, n, N))
            _sweeps(T, xs, x2, y, which, b, float(k), float(beta), 1.0, steps, states, counts,
                    snaps, phase_adapt, float(done), s["target_acceptance"], FLIP_FROM,
                    STEP_SCALES, work)
            if record:
                m = np.tanh(snaps)
                sums["Q"] += np.einsum("cni,cni->c", m, m) / N
                sums["mv"] += np.einsum("cni,cvi->cv", m, proj) / N
                sums["sv"] += np.einsum("cni,cvi->cv", np.sign(m), proj) / N
                sums["site"] += m.sum(axis=1)
                sums["square"] += (m * m).sum(axis=1)
                mr = m.reshape(D, R, n, N)
                for j, (a, bb) in enumerate(pairs):
                    sums["q"][:, j] += np.einsum("dni,dni->d", mr[:, a], mr[:, bb]) / N
            done += n
            left -= n
            bar.update(n)
    bar.close()
    with np.errstate(invalid="ignore", divide="ignore"):
        mala = counts[:, 0] / counts[:, 1]
        flip = np.where(counts[:, 3] > 0, counts[:, 2] / np.maximum(counts[:, 3], 1), np.nan)
    return dict(Q=(sums["Q"] / measured).reshape(D, R),
                q=sums["q"] / measured,
                mv=(sums["mv"] / measured).reshape(D, R, V),
                sv=(sums["sv"] / measured).reshape(D, R, V),
                site_mean=(sums["site"] / measured).reshape(D, R, N),
                site_square=(sums["square"] / measured).reshape(D, R, N),
                acceptance_mala=mala.reshape(D, R), acceptance_flip=flip.reshape(D, R),
                steps=steps.reshape(D, R), m=np.tanh(T).reshape(D, R, N))


def _eps(p):
    return np.arccos(np.clip(p, -1.0, 1.0)) / math.pi


def _seed_tree(children, R):
    """Per data-set child: its data sequence (child 0) and its R replica sequences (1 + a)."""
    trees = [child.spawn(1 + R) for child in children]
    return [tree[0] for tree in trees], [tree[1:] for tree in trees]


def _replica_seeds(replica_seqs, N):
    """Starts (D, R, N) and xoshiro states (D, R, 4) from the replica sequences."""
    starts, states = [], []
    for kids in replica_seqs:
        s_row, r_row = [], []
        for kid in kids:
            start_seq, stream_seq = kid.spawn(2)
            s_row.append(_start(start_seq, N))
            r_row.append(seed_state(stream_seq))
        starts.append(s_row)
        states.append(r_row)
    return np.array(starts), np.array(states)


def _task1_run(N, P, s, replica_seqs, rngs, progress):
    D, R = s["data_sets"], s["replicas"]
    teachers, xs, ys = [], [], []
    for rng in rngs:
        w = rng.choice(np.array([-1.0, 1.0]), size=N)
        x = _inputs(rng, N, P, s["inputs"])
        teachers.append(w)
        xs.append(x)
        ys.append(_labels(w, x))
    teachers = np.array(teachers)
    starts, states = _replica_seeds(replica_seqs, N)
    out = _chains(np.array(xs).reshape(D, N, P), np.array(ys).reshape(D, P),
                  np.zeros((D, R, N)), s["k1"], s["beta"], starts, states, s,
                  teachers[:, None, :], progress, "task 1")
    p = out["sv"][..., 0]
    observables = dict(Q=out["Q"], q=out["q"], r=out["mv"][..., 0], p=p, eps=_eps(p),
                       acceptance_mala=out["acceptance_mala"],
                       acceptance_flip=out["acceptance_flip"])
    return GibbsRun(task=1, observables=observables, site_mean=out["site_mean"],
                    site_square=out["site_square"], m=out["m"], steps=out["steps"],
                    teachers=teachers[:, None, :], settings=dict(s))


def sample_task1(N: int, alpha: float, *, beta: float = 20.0, k1: float = 0.0,
                 data_sets: int = 4, replicas: int = 2, sweeps: int = 400, seed: int = 0,
                 step: float | None = None, target_acceptance: float = TARGET_ACCEPTANCE,
                 inputs: str = "gaussian", progress: bool = False) -> GibbsRun:
    """Gibbs-sample the task-1 measure P(m) ∝ exp[β Σ_μ ln H(−y u/σ) + k₁ Σ_i S(m_i)] dm.

    Parameters
    ----------
    N
        Number of weights (≥ 1).
    alpha
        Load α ≥ 0; P = round(α N) examples per data set.
    beta
        Inverse temperature β > 0 (20 in the paper's main text).
    k1
        Strength k₁ ≥ 0 of the entropic prior (0 main text; β for the appendix KL-to-uniform).
    data_sets, replicas
        Independent data sets (teacher + examples), and chains per data set (≥ 2 for q).
    sweeps
        Sweeps per chain (≥ 2); the first half is burn-in, the second half is averaged.
    seed
        Root of the ``SeedSequence`` tree (module docstring).
    step
        Largest MALA step h in t = atanh m (proposals use h·2^−j, module docstring); None:
        adapted during burn-in towards ``target_acceptance``.
    target_acceptance
        MALA acceptance aimed at by the adaptation, in (0, 1].
    inputs
        ``"gaussian"`` (the theory's N(0, 1)) or ``"binary"`` (±1, the authors' simulations).
    progress
        Show a progress bar.

    Returns
    -------
    GibbsRun
        Task-1 observables Q, q, r, p, eps and acceptance rates per (data set, replica).
    """
    N = _integer("N", N, 1)
    alpha = _real("alpha", alpha, low=0.0)
    s = _common(beta, data_sets, replicas, sweeps, seed, step, target_acceptance, inputs)
    s.update(N=N, alpha=alpha, k1=_real("k1", k1, low=0.0))
    P = round(alpha * N)
    s["P"] = P
    data_seqs, replica_seqs = _seed_tree(
        np.random.SeedSequence(s["seed"]).spawn(s["data_sets"]), s["replicas"])
    rngs = [np.random.default_rng(seq) for seq in data_seqs]
    return _task1_run(N, P, s, replica_seqs, rngs, progress)


def _chain_settings(N, alpha1, alpha2, r0, gamma, beta, k1, data_sets, replicas, sweeps,
                    reference_sweeps, seed, step, target_acceptance, inputs):
    """Checked arguments of :func:`sample_task2` and :func:`sample_chain` (without ``tasks``)."""
    N = _integer("N", N, 1)
    alpha1 = _real("alpha1", alpha1, low=0.0)
    alpha2 = _real("alpha2", alpha2, low=0.0)
    r0 = _real("r0", r0, low=-1.0, high=1.0)
    gamma = _real("gamma", gamma, low=0.0)
    s = _common(beta, data_sets, replicas, sweeps, seed, step, target_acceptance, inputs)
    reference_sweeps = sweeps if reference_sweeps is None else reference_sweeps
    reference_sweeps = _integer("reference_sweeps", reference_sweeps, 2)
    s.update(N=N, alpha1=alpha1, alpha2=alpha2, r0=r0, gamma=gamma,
             k1=_real("k1", k1, low=0.0), reference_sweeps=reference_sweeps)
    s.update(P1=round(alpha1 * N), P2=round(alpha2 * N))
    return s


def _later_task(task, previous, rngs, replica_roots, s, progress):
    """Task ``task`` ≥ 2 of a chain, given the GibbsRun ``previous`` of task − 1.

    Draws, from each data set's generator in ``rngs`` (after all earlier draws), B and the
    round(α₂ N) inputs of teacher w^task = B ⊙ w^(task−1); couples the chains by k = βγ to the
    reference m^(task−1) = last state of replica 0 of ``previous``; the chains get the replica
    sequences of ``replica_roots`` (one root per data set).
    """
    N, D, R, P2 = s["N"], s["data_sets"], s["replicas"], s["P2"]
    w_last = previous.teachers[:, -1, :]
    w_new, xs, ys = [], [], []
    for d, rng in enumerate(rngs):  # the earlier tasks' draws of this generator are done
        B = np.where(rng.uniform(size=N) < 0.5 * (1.0 + s["r0"]), 1.0, -1.0)
        w = B * w_last[d]
        x = _inputs(rng, N, P2, s["inputs"])
        w_new.append(w)
        xs.append(x)
        ys.append(_labels(w, x))
    teachers = np.concatenate([previous.teachers, np.array(w_new)[:, None, :]], axis=1)
    k = s["beta"] * s["gamma"]
    theta = np.arctanh(np.clip(previous.m[:, 0, :], -1.0 + 1e-16, 1.0 - 1e-16))
    fields = np.repeat((k * theta)[:, None, :], R, axis=1)
    starts, states = _replica_seeds(_seed_tree(replica_roots, R)[1], N)
    out = _chains(np.array(xs).reshape(D, N, P2), np.array(ys).reshape(D, P2), fields, k,
                  s["beta"], starts, states, s, teachers, progress, f"task {task}")
    p1, p_last = out["sv"][..., 0], out["sv"][..., -1]
    observables = dict(Q2=out["Q"], q2=out["q"], r2=out["mv"][..., -1], R21=out["mv"][..., 0],
                       p1=p1, p2=p_last, eps1=_eps(p1), eps2=_eps(p_last),
                       acceptance_mala=out["acceptance_mala"],
                       acceptance_flip=out["acceptance_flip"])
    for j in range(1, task + 1):
        p = out["sv"][..., j - 1]
        observables.update({f"overlap_{j}": out["mv"][..., j - 1], f"p_{j}": p,
                            f"eps_{j}": _eps(p)})
    return GibbsRun(task=task, observables=observables, site_mean=out["site_mean"],
                    site_square=out["site_square"], m=out["m"], steps=out["steps"],
                    teachers=teachers, settings=dict(s, tasks=task), reference=previous)


def _run_chain(s, tasks, progress):
    """Task 1, then tasks 2, …, ``tasks`` (module docstring, Random numbers); the last run."""
    N, D, R = s["N"], s["data_sets"], s["replicas"]
    roots = np.random.SeedSequence(s["seed"]).spawn(tasks * D)
    data_seqs, replica_seqs = _seed_tree(roots[:D], R)
    rngs = [np.random.default_rng(seq) for seq in data_seqs]
    s1 = dict(s, N=N, alpha=s["alpha1"], P=s["P1"], sweeps=s["reference_sweeps"])
    s1.pop("tasks", None)
    run = _task1_run(N, s["P1"], s1, replica_seqs, rngs, progress)
    for task in range(2, tasks + 1):
        run = _later_task(task, run, rngs, roots[(task - 1) * D:task * D], s, progress)
    return run


def chain_observables(tasks: int) -> tuple[str, ...]:
    """Names of the observables of :func:`sample_chain` with ``tasks`` tasks (≥ 2).

    :data:`TASK2_OBSERVABLES` (teacher 1 and the current teacher ``tasks``), then
    ``overlap_j``, ``p_j``, ``eps_j`` for every teacher j = 1, …, ``tasks``.
    """
    tasks = _integer("tasks", tasks, 2)
    return TASK2_OBSERVABLES + tuple(f"{name}_{j}" for j in range(1, tasks + 1)
                                     for name in ("overlap", "p", "eps"))


def sample_task2(N: int, alpha1: float, alpha2: float, r0: float, gamma: float, *,
                 beta: float = 20.0, k1: float = 0.0, data_sets: int = 4, replicas: int = 2,
                 sweeps: int = 400, reference_sweeps: int | None = None, seed: int = 0,
                 step: float | None = None, target_acceptance: float = TARGET_ACCEPTANCE,
                 inputs: str = "gaussian", progress: bool = False) -> GibbsRun:
    """Gibbs-sample the Franz–Parisi measure of task 2 given a task-1 reference (spec §3.1).

    For each data set: task 1 is sampled at (α₁, β, k₁) with ``replicas`` chains for
    ``reference_sweeps`` sweeps (default ``sweeps``); the last state of replica 0 is the
    reference m¹. Teacher 2 is w²*_i = B_i w¹*_i, P(B_i = +1) = (1 + r₀)/2, with round(α₂ N) fresh
    examples labelled by it; the task-2 chains sample
    P(m | m¹) ∝ exp[β Σ_μ ln H(−y² u/σ) − βγ Σ_i KL(m_i ‖ m¹_i)] dm.
    The same run as :func:`sample_chain` with ``tasks=2`` (bitwise), restricted to
    :data:`TASK2_OBSERVABLES`.

    Parameters are those of :func:`sample_task1`, plus ``alpha1``, ``alpha2`` ≥ 0,
    ``r0`` ∈ [−1, 1] (teacher similarity), ``gamma`` ≥ 0 (KL strength; k = βγ).

    Returns
    -------
    GibbsRun
        Task-2 observables Q2, q2, r2, R21, p1, p2, eps1, eps2 and acceptance rates, with the
        task-1 run as ``reference``.
    """
    s = _chain_settings(N, alpha1, alpha2, r0, gamma, beta, k1, data_sets, replicas, sweeps,
                        reference_sweeps, seed, step, target_acceptance, inputs)
    run = _run_chain(s, 2, progress)
    return replace(run, observables={name: run.observables[name] for name in TASK2_OBSERVABLES},
                   settings=s)


def sample_chain(N: int, alpha1: float, alpha2: float, r0: float, gamma: float, tasks: int, *,
                 beta: float = 20.0, k1: float = 0.0, data_sets: int = 4, replicas: int = 2,
                 sweeps: int = 400, reference_sweeps: int | None = None, seed: int = 0,
                 step: float | None = None, target_acceptance: float = TARGET_ACCEPTANCE,
                 inputs: str = "gaussian", progress: bool = False) -> GibbsRun:
    """Gibbs-sample a chain of ``tasks`` tasks, each coupled by KL to a sample of the previous.

    For each data set: task 1 is sampled as in :func:`sample_task2` (``reference_sweeps``
    sweeps, default ``sweeps``). Then, for t = 2, …, T (T = ``tasks``), in order: teacher
    w^t*_i = B^t_i w^(t−1)*_i with fresh B^t, P(B^t_i = +1) = (1 + r₀)/2, round(α₂ N) fresh
    examples labelled by w^t*, and the chains of task t sample
    P(m | m^(t−1)) ∝ exp[β Σ_μ ln H(−y^t u/σ) − βγ Σ_i KL(m_i ‖ m^(t−1)_i)] dm for ``sweeps``
    sweeps, with the reference m^(t−1) the last state of replica 0 of task t − 1 (k = βγ,
    b = βγ atanh m^(t−1)). With ``tasks=2`` the run is bitwise that of :func:`sample_task2`
    (module docstring, Random numbers).

    Parameters
    ----------
    N, alpha1, alpha2, r0, gamma
        As in :func:`sample_task2`; ``alpha2`` is the load of every task t ≥ 2.
    tasks
        Number T ≥ 2 of tasks in the chain.
    beta, k1, data_sets, replicas, sweeps, reference_sweeps, seed, step, target_acceptance, \
inputs, progress
        As in :func:`sample_task2`.

    Returns
    -------
    GibbsRun
        The run of task T (``task`` = T, ``teachers`` (data_sets, T, N)) with observables
        :func:`chain_observables`: Q2, q2 (self- and pair overlap of task T), r2 = m·w^T*/N,
        p2 = sign(m)·w^T*/N, eps2 (current teacher T), R21 = m·w¹*/N, p1, eps1 (teacher 1,
        forgetting of the first task), ``overlap_j`` = m·w^j*/N, ``p_j`` = sign(m)·w^j*/N,
        ``eps_j`` for every teacher j = 1, …, T, and acceptance rates. ``reference`` is the
        run of task T − 1 (of the same form, down to the task-1 run), so the whole chain is
        reachable.
    """
    s = _chain_settings(N, alpha1, alpha2, r0, gamma, beta, k1, data_sets, replicas, sweeps,
                        reference_sweeps, seed, step, target_acceptance, inputs)
    s["tasks"] = _integer("tasks", tasks, 2)
    return _run_chain(s, s["tasks"], progress)


def sample_data(inputs, labels, *, beta: float, k: float = 0.0, field=None, chains: int = 8,
                sweeps: int = 2000, seed: int = 0, step: float | None = None,
                target_acceptance: float = TARGET_ACCEPTANCE) -> GibbsRun:
    """Sample P(m) ∝ exp[β Σ_μ ln H(−y^μ u^μ/σ^μ) + Σ_i (k S(m_i) + b_i m_i)] dm on fixed data.

    The general measure of the module (task 1: k = k₁, b = 0; task 2: k = βγ,
    b = βγ atanh m¹), for small checks against quadrature.

    Parameters
    ----------
    inputs
        (P, N) examples x^μ.
    labels
        (P,) labels y^μ = ±1.
    beta
        β > 0.
    k, field
        Entropy strength k ≥ 0 and site fields b (N,) (default 0).
    chains
        Independent chains (replicas of the one data set).
    sweeps, seed, step, target_acceptance
        As in :func:`sample_task1`.

    Returns
    -------
    GibbsRun
        task 0, one data set, ``chains`` replicas: observables Q, q, acceptance rates; site
        means and squares.
    """
    x = np.asarray(inputs, dtype=float)
    if x.ndim != 2 or x.shape[1] < 1 or not np.isfinite(x).all():
        raise ValueError(f"inputs must be a finite (P, N) array with N >= 1 (got shape {x.shape})")
    P, N = x.shape
    y = np.asarray(labels, dtype=float)
    if y.shape != (P,) or not np.isin(y, (-1.0, 1.0)).all():
        raise ValueError(f"labels must be P = {P} values ±1")
    b = np.zeros(N) if field is None else np.asarray(field, dtype=float)
    if b.shape != (N,) or not np.isfinite(b).all():
        raise ValueError(f"field must be a finite array of N = {N} values")
    s = _common(beta, 1, chains, sweeps, seed, step, target_acceptance, "gaussian")
    s.pop("data_sets")
    s.update(N=N, P=P, k=_real("k", k, low=0.0), data_sets=1)
    s["chains"] = s.pop("replicas")
    s["replicas"] = s["chains"]
    replica_seqs = _seed_tree(np.random.SeedSequence(s["seed"]).spawn(1), s["chains"])[1]
    starts, states = _replica_seeds(replica_seqs, N)
    out = _chains(x.T[None].copy(), y[None], np.broadcast_to(b, (1, s["chains"], N)), s["k"],
                  s["beta"], starts, states, s, np.zeros((1, 0, N)), False, "chains")
    observables = dict(Q=out["Q"], q=out["q"], acceptance_mala=out["acceptance_mala"],
                       acceptance_flip=out["acceptance_flip"])
    return GibbsRun(task=0, observables=observables, site_mean=out["site_mean"],
                    site_square=out["site_square"], m=out["m"], steps=out["steps"],
                    teachers=np.zeros((1, 0, N)), settings=s)

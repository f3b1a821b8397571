"""Student–teacher networks trained with rule-flipped ("curl descent") plasticity.

The model of ``shared/specs/curl-descent.md`` §1 (Ninou, Kadmon & Cayco-Gajic, arXiv 2510.02765,
as run by the authors' scripts): M inputs, N hidden units, one output, no biases,

    a = W1 x,   h = φ(a),   ŷ = φ(w2·h),   φ ∈ {lin, tanh, relu} at both layers,

and a teacher of the same form and width, y = φ(w2ᵗ·φ(W1ᵗ x)). Inputs x ~ N(0, ½ I_M); one
training set (P points) and one test set per call, shared by every seed and rule. A mini-batch 𝓑
of size B makes the step (η_s = ηB/P, e = ŷ − y, δ = (f e) ⊙ φ'(a))

    W1 ← W1 − η_s ⟨δ xᵀ⟩_𝓑 D1,    w2 ← w2 − η_s ⟨e hᵀ⟩_𝓑 D2,

with no φ' at the output: for tanh/relu this is the gradient of the matching loss Φ(w2·h) − y w2·h
(Φ' = φ), so the unflipped backprop rule is a true gradient descent (spec §1). D1 = diag(d1) flips
the columns of W1 belonging to the first ⌊α_h M⌋ inputs ("hidden-layer flips"), D2 = diag(d2) the
readout synapses of the first ⌊α_r N⌋ hidden units. Four rules per seed share the initial point
and the teacher (:data:`RULES`): ``gd`` (f = w2, no flips), ``fa`` (f = b, a fixed random
feedback vector, no flips), ``fa-flip`` (f = b, flips) and ``curl`` (f = w2, flips). After every
step the norm reset puts ‖W1‖_F and ‖w2‖ back to their values at the start point. Each epoch
reshuffles the P points and takes ⌊P/B⌋ steps (the P mod B points left over by a shuffle are not
used in that epoch).

Random numbers: ``SeedSequence(seed).spawn(seeds + 1)``; child 0 draws the data sets, child k + 1
spawns two sequences for seed k: a NumPy generator (teacher, student, feedback b, Lyapunov
direction, in that order; the student and b are drawn even when unused, so the other draws do not
depend on ``start`` or ``rules``) and the xoshiro256** stream (:mod:`montecarlo.rng`) of its
mini-batch shuffles, the same for every rule of the seed.

:func:`train` runs every network (rules × seeds) in one Numba kernel, parallel over networks. The
true weights are kept as W1 = σ V with a scalar σ, so the norm reset is a change of σ, folded into
the next step (V is rescaled once per epoch). For φ = lin the step uses the rank-one structure
⟨δ xᵀ⟩ = f ⊗ ⟨e x⟩: ŷ = u·x with u = W1ᵀ w2, ⟨e h⟩ = W1 ⟨e x⟩, and one pass over W1 per step
updates a row, its norm and the next u (8NM flops per step instead of O(NMB)). For tanh/relu a
step is the pre-activations and the rank-B update of W1, register-blocked (two rows of W1 times
four samples per pass) and contiguous over M (4NMB flops), with a branch-free tanh (≤ 2 ulp) that
vectorises; when M < N the steps of an epoch run on V's transpose instead (copied at the start and
end of the epoch), register-blocked likewise (four rows of Vᵀ times two samples, two times four)
but contiguous over the N hidden units, so that the short side is never the vectorised one.
:func:`flow` integrates the η → 0, full-batch limit with scipy.
:func:`train_numpy` is the same dynamics written as a plain per-network NumPy loop (full matrix
products, explicit norm reset): the reference of the tests and the naive baseline of the
benchmark (``python -m benchmarks --only curl``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic
from scipy.integrate import solve_ivp
from tqdm import tqdm

from montecarlo.rng import next_index, seed_state

MODEL = "curl-descent"
RULES = ("gd", "fa", "fa-flip", "curl")
NONLINEARITIES = ("lin", "tanh", "relu")
INITS = ("uniform", "normal")
STARTS = ("random", "teacher-w2", "teacher-W1")

_FEEDBACK_B = {"gd": False, "fa": True, "fa-flip": True, "curl": False}
_FLIPPED = {"gd": False, "fa": False, "fa-flip": True, "curl": True}
_START_OFFSET = {"teacher-w2": 1e-10, "teacher-W1": 1e-15}
"""Offset added to every entry of w2 (teacher-w2, fig3b) or of W1 (teacher-W1, fig4/fig8)."""
LYAPUNOV_D0 = 1e-7
"""Distance of the shadow copy (all NM + N weights) in the Benettin estimate (spec §3.4)."""
_FLIP_GUARD = 1e-9
"""⌊α M⌋ is taken as floor(α M + 1e-9), so that 0.29·100 (= 28.999999999999996) flips 29."""

_FAST = {"reassoc", "contract"}
"""Reassociation lets LLVM vectorise the dot products (and fuse multiply-adds); results change
at rounding level only (the tests compare with :func:`train_numpy` to 1e-10)."""


@dataclass(frozen=True, repr=False)
class CurlRun:
    """The learning curves and end state of rules × seeds networks.

    Attributes
    ----------
    rules : tuple of str
        The rules run, in this order along the first axis of every array.
    epochs : (n,) int
        Epochs completed at each logged point (1-based): unique(round(geomspace(1, E, n_log))).
    train_error, test_error : (rules, seeds, n)
        ½⟨(ŷ − y)²⟩ on all P training points and on the test set.
    q_var, q_std : (rules, seeds) or None
        Order parameter of spec §3.3 over the last ``keep_last`` epochs: V / Var_k(w̄_k) (the
        fig3b script's, used in the final plots) and V / Std_k(w̄_k) (the notebook's variant);
        ``None`` when ``keep_last = 0``.
    X_spectrum : (rules, seeds, M)
        Eigenvalues (ascending) of X = ‖w2‖² D1 + W1ᵀ D2 W1 at the end, with the rule's flips
        (D = I for gd, fa); the linear manifold is stable iff λ_min(X) > 0 (spec §2.1).
    lyapunov : (rules, seeds) or None
        Largest Lyapunov exponent per unit time t = η·epochs (Benettin, d0 = 1e-7, renormalised
        every epoch, averaged over the second half of the epochs); ``-inf`` if the two copies
        coincided to rounding.
    W1 : (rules, seeds, N, M)
    w2 : (rules, seeds, N)
        Final weights.
    settings : dict
        Every argument of the call (and ``M``, ``N``, ``P``), plus ``steps_per_epoch``.
    steps : int
        Steps taken by each network: epochs × ⌊P/B⌋.
    """

    rules: tuple
    epochs: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    q_var: np.ndarray | None
    q_std: np.ndarray | None
    X_spectrum: np.ndarray
    lyapunov: np.ndarray | None
    W1: np.ndarray
    w2: np.ndarray
    settings: dict = field(default_factory=dict)
    steps: int = 0

    def epochs_to(self, target: float) -> np.ndarray:
        """(rules, seeds): first logged epoch with test error < ``target``; nan if never
        (censored: the run did not reach the target by its last logged epoch)."""
        below = self.test_error < target
        first = self.epochs[np.argmax(below, axis=-1)].astype(float)
        return np.where(below.any(axis=-1), first, np.nan)

    def __repr__(self) -> str:
        s = self.settings
        lines = [f"CurlRun(M={s['M']}, N={s['N']}, P={s['P']}, {s['nonlinearity']}, "
                 f"alpha_h={s['alpha_h']}, alpha_r={s['alpha_r']}, {s['seeds']} seeds, "
                 f"{int(self.epochs[-1])} epochs, {self.steps} steps per network)"]
        for k, rule in enumerate(self.rules):
            line = (f"  {rule:<8} median final test error "
                    f"{np.median(self.test_error[k, :, -1]):.3g}, "
                    f"median λ_min(X) {np.median(self.X_spectrum[k, :, 0]):.3g}")
            if self.q_var is not None:
                line += f", median q_var {np.median(self.q_var[k]):.3g}"
            if self.lyapunov is not None:
                line += f", median λ_max {np.median(self.lyapunov[k]):.3g}"
            lines.append(line)
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Arguments and random draws (shared by train and train_numpy)
# --------------------------------------------------------------------------------------------


_DEFAULTS = dict(alpha_h=0.0, alpha_r=0.0, nonlinearity="lin", rules=RULES, seeds=8, seed=0,
                 eta=0.1, batch=10, epochs=1000, init="uniform", r=1.0, r_teacher=1.0,
                 rescale_teacher=False, start="random", norm_reset=True, n_log=100, keep_last=0,
                 test_points=100, lyapunov=False)


def _settings(M, N, P, **options) -> dict:
    """The checked arguments (defaults of :func:`train` filled in) as a dict; ValueError naming
    the first bad one."""
    unknown = set(options) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown arguments {sorted(unknown)}")
    o = {**_DEFAULTS, **options}
    alpha_h, alpha_r, nonlinearity = o["alpha_h"], o["alpha_r"], o["nonlinearity"]
    rules = o["rules"]
    seeds, seed, eta, batch, epochs = o["seeds"], o["seed"], o["eta"], o["batch"], o["epochs"]
    init, r, r_teacher, start = o["init"], o["r"], o["r_teacher"], o["start"]
    n_log, keep_last, test_points = o["n_log"], o["keep_last"], o["test_points"]
    for name, value in (("M", M), ("N", N), ("P", P), ("seeds", seeds), ("batch", batch),
                        ("epochs", epochs), ("n_log", n_log), ("test_points", test_points)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1 (got {value!r})")
    if batch > P:
        raise ValueError(f"batch must be between 1 and P = {P} (got {batch})")
    for name, value in (("alpha_h", alpha_h), ("alpha_r", alpha_r)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be a fraction in [0, 1] (got {value!r})")
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES} (got {nonlinearity!r})")
    rules = (rules,) if isinstance(rules, str) else tuple(rules)
    if not rules or any(rule not in RULES for rule in rules) or len(set(rules)) != len(rules):
        raise ValueError(f"rules must be distinct names from {RULES} (got {rules!r})")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS} (got {init!r})")
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS} (got {start!r})")
    for name, value in (("eta", eta), ("r", r), ("r_teacher", r_teacher)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be finite and > 0 (got {value!r})")
    if isinstance(keep_last, bool) or not isinstance(keep_last, (int, np.integer)) or not (
            0 <= keep_last <= epochs):
        raise ValueError(f"keep_last must be an integer in [0, epochs = {epochs}] "
                         f"(got {keep_last!r})")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 (got {seed!r})")
    return {"M": int(M), "N": int(N), "P": int(P), "alpha_h": float(alpha_h),
            "alpha_r": float(alpha_r), "nonlinearity": nonlinearity, "rules": rules,
            "seeds": int(seeds), "seed": int(seed), "eta": float(eta), "batch": int(batch),
            "epochs": int(epochs), "init": init, "r": float(r), "r_teacher": float(r_teacher),
            "rescale_teacher": bool(o["rescale_teacher"]), "start": start,
            "norm_reset": bool(o["norm_reset"]), "n_log": int(n_log), "keep_last": int(keep_last),
            "test_points": int(test_points), "lyapunov": bool(o["lyapunov"]),
            "steps_per_epoch": int(P) // int(batch)}


def _phi(name: str, a: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(a)
    if name == "relu":
        return np.maximum(a, 0.0)
    return a


def _dphi(name: str, a: np.ndarray, h: np.ndarray) -> np.ndarray | float:
    if name == "tanh":
        return 1.0 - h * h
    if name == "relu":
        return (a > 0).astype(float)
    return 1.0


def _weights(rng: np.random.Generator, N: int, M: int, law: str, scale: float):
    if law == "uniform":
        return (rng.uniform(-scale / math.sqrt(M), scale / math.sqrt(M), (N, M)),
                rng.uniform(-scale / math.sqrt(N), scale / math.sqrt(N), N))
    return rng.normal(0.0, scale / math.sqrt(M), (N, M)), rng.normal(0.0, scale / math.sqrt(N), N)


@dataclass(frozen=True)
class _Draws:
    X: np.ndarray        # (P, M) training inputs
    Y: np.ndarray        # (S, P) teacher labels
    X_test: np.ndarray   # (T, M)
    Y_test: np.ndarray   # (S, T)
    W1: np.ndarray       # (S, N, M) start point
    w2: np.ndarray       # (S, N)
    b: np.ndarray        # (S, N) fixed random feedback
    rng: np.ndarray      # (S, 4) uint64 xoshiro256** states of the shuffles
    direction: np.ndarray | None  # (S, NM + N) unit vectors (Lyapunov)
    d1: np.ndarray       # (rules, M) ±1
    d2: np.ndarray       # (rules, N) ±1
    use_b: np.ndarray    # (rules,) bool
    log_index: np.ndarray  # (n,) 0-based epochs at whose end errors are logged


def _draw(s: dict) -> _Draws:
    M, N, P, S = s["M"], s["N"], s["P"], s["seeds"]
    children = np.random.SeedSequence(s["seed"]).spawn(S + 1)
    data = np.random.default_rng(children[0])
    X = data.normal(0.0, math.sqrt(0.5), (P, M))
    X_test = data.normal(0.0, math.sqrt(0.5), (s["test_points"], M))
    W1, w2, b, states, directions, Y, Y_test = [], [], [], [], [], [], []
    for child in children[1:]:
        numpy_seq, shuffle_seq = child.spawn(2)
        rng = np.random.default_rng(numpy_seq)
        W1t, w2t = _weights(rng, N, M, s["init"], s["r_teacher"])
        if s["rescale_teacher"]:
            W1t *= math.sqrt(N) / np.linalg.norm(W1t)
            w2t /= np.linalg.norm(w2t)
        W1s, w2s = _weights(rng, N, M, s["init"], s["r"])
        b.append(rng.uniform(-1.0 / math.sqrt(N), 1.0 / math.sqrt(N), N))
        if s["lyapunov"]:
            d = rng.standard_normal(N * M + N)
            directions.append(d / np.linalg.norm(d))
        if s["start"] == "teacher-w2":
            W1s, w2s = W1t.copy(), w2t + _START_OFFSET["teacher-w2"]
        elif s["start"] == "teacher-W1":
            W1s, w2s = W1t + _START_OFFSET["teacher-W1"], w2t.copy()
        W1.append(W1s)
        w2.append(w2s)
        states.append(seed_state(shuffle_seq))
        Y.append(_phi(s["nonlinearity"], _phi(s["nonlinearity"], X @ W1t.T) @ w2t))
        Y_test.append(_phi(s["nonlinearity"], _phi(s["nonlinearity"], X_test @ W1t.T) @ w2t))
    flips1 = math.floor(s["alpha_h"] * M + _FLIP_GUARD)
    flips2 = math.floor(s["alpha_r"] * N + _FLIP_GUARD)
    d1 = np.ones((len(s["rules"]), M))
    d2 = np.ones((len(s["rules"]), N))
    for k, rule in enumerate(s["rules"]):
        if _FLIPPED[rule]:
            d1[k, :flips1] = -1.0
            d2[k, :flips2] = -1.0
    log_index = np.unique(np.round(np.geomspace(1, s["epochs"], s["n_log"]))).astype(np.int64) - 1
    return _Draws(X, np.array(Y), X_test, np.array(Y_test), np.array(W1), np.array(w2),
                  np.array(b), np.array(states), np.array(directions) if directions else None,
                  d1, d2, np.array([_FEEDBACK_B[rule] for rule in s["rules"]]), log_index)


def _result(s: dict, draws: _Draws, W1, w2, train_error, test_error, q_moments, lyap_sum):
    """Assemble the :class:`CurlRun` (arrays indexed network = rule · seeds + seed);
    ``q_moments`` = (V, w̄) per network (spec §3.3) or None."""
    R, S, N, M = len(s["rules"]), s["seeds"], s["N"], s["M"]
    W1, w2 = W1.reshape(R, S, N, M), w2.reshape(R, S, N)
    X = (np.einsum("rsi,rsi->rs", w2, w2)[..., None, None] * np.eye(M) * draws.d1[:, None, :, None]
         + np.einsum("rsim,ri,rsin->rsmn", W1, draws.d2, W1))
    q_var = q_std = None
    if q_moments is not None:
        V, wbar = q_moments
        q_var = (V / wbar.var(axis=-1)).reshape(R, S)
        q_std = (V / wbar.std(axis=-1)).reshape(R, S)
    lyapunov = None
    if lyap_sum is not None:
        counted = s["epochs"] - s["epochs"] // 2
        lyapunov = (lyap_sum / (s["eta"] * counted)).reshape(R, S)
    return CurlRun(rules=s["rules"], epochs=draws.log_index + 1,
                   train_error=train_error.reshape(R, S, -1),
                   test_error=test_error.reshape(R, S, -1), q_var=q_var, q_std=q_std,
                   X_spectrum=np.linalg.eigvalsh(X), lyapunov=lyapunov, W1=W1, w2=w2,
                   settings=s, steps=s["epochs"] * s["steps_per_epoch"])


# --------------------------------------------------------------------------------------------
# Numba kernels
# --------------------------------------------------------------------------------------------

_LIN, _TANH, _RELU = 0, 1, 2


@njit(cache=True, error_model="numpy")
def _shuffle(order, state):
    """A uniform permutation of range(P) into ``order`` (Fisher–Yates from the identity),
    advancing the xoshiro256** ``state`` in place."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for i in range(order.size):
        order[i] = i
    for i in range(order.size - 1, 0, -1):
        j, s0, s1, s2, s3 = next_index(i + 1, s0, s1, s2, s3)
        t = order[i]
        order[i] = order[j]
        order[j] = t
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _step_linear(V, sigma, w2, u, xb, yb, feedback, use_b, d1, d2, c, norms, reset, g, gd,
                 w2new):
    """One linear step on W1 = σV; ``u`` = W1ᵀw2 on entry and on exit. Returns the new σ.

    ŷ_b = u·x_b, g = Σ_b e_b x_b; the update W1 −= c f ⊗ (g ∘ d1) and ⟨e h⟩ = W1 g (old W1) take
    one pass per pair of rows, which also accumulates ‖V‖² and the unnormalised
    u' = Σ_i w2'_i V_i.
    """
    N, M = V.shape
    for j in range(M):
        g[j] = 0.0
    for b in range(yb.size):
        yhat = 0.0
        for j in range(M):
            yhat += u[j] * xb[b, j]
        e = yhat - yb[b]
        for j in range(M):
            g[j] += e * xb[b, j]
    for j in range(M):
        gd[j] = g[j] * d1[j]
        u[j] = 0.0
    norm1 = 0.0
    norm2 = 0.0
    # rows in pairs: the loads of g, gd and u are shared by two rows
    for i in range(0, N, 2):
        pair = i + 1 < N
        k = i + 1 if pair else i
        hs = hk = 0.0
        for j in range(M):
            hs += V[i, j] * g[j]
            hk += V[k, j] * g[j]
        w = w2[i] - c * sigma * hs * d2[i]
        coefficient = c * (feedback[i] if use_b else w2[i]) / sigma
        w2new[i] = w
        norm2 += w * w
        if pair:
            wk = w2[k] - c * sigma * hk * d2[k]
            coefficient_k = c * (feedback[k] if use_b else w2[k]) / sigma
            w2new[k] = wk
            norm2 += wk * wk
            row = 0.0
            for j in range(M):
                v = V[i, j] - coefficient * gd[j]
                vk = V[k, j] - coefficient_k * gd[j]
                V[i, j] = v
                V[k, j] = vk
                row += v * v + vk * vk
                u[j] += w * v + wk * vk
            norm1 += row
        else:
            row = 0.0
            for j in range(M):
                v = V[i, j] - coefficient * gd[j]
                V[i, j] = v
                row += v * v
                u[j] += w * v
            norm1 += row
    sigma, tau = _reset_norms(sigma, norm1, norm2, norms, reset, w2, w2new)
    for j in range(M):
        u[j] *= sigma * tau
    return sigma


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _preactivations(V, X, A):
    """A[i, p] = V_i · X_p for the rows p of X: two rows of V times four rows of X per pass,
    contiguous over M (6 loads per 8 multiply-adds; the loads, not the arithmetic, bound it)."""
    N, M = V.shape
    rows = X.shape[0]
    blocked = rows - rows % 4
    for i in range(0, N - N % 2, 2):
        for p in range(0, blocked, 4):
            a0 = a1 = a2 = a3 = c0 = c1 = c2 = c3 = 0.0
            for j in range(M):
                v, w = V[i, j], V[i + 1, j]
                x0, x1, x2, x3 = X[p, j], X[p + 1, j], X[p + 2, j], X[p + 3, j]
                a0 += v * x0
                a1 += v * x1
                a2 += v * x2
                a3 += v * x3
                c0 += w * x0
                c1 += w * x1
                c2 += w * x2
                c3 += w * x3
            A[i, p], A[i, p + 1], A[i, p + 2], A[i, p + 3] = a0, a1, a2, a3
            A[i + 1, p], A[i + 1, p + 1], A[i + 1, p + 2], A[i + 1, p + 3] = c0, c1, c2, c3
        for p in range(blocked, rows):
            a = c = 0.0
            for j in range(M):
                x = X[p, j]
                a += V[i, j] * x
                c += V[i + 1, j] * x
            A[i, p], A[i + 1, p] = a, c
    for i in range(N - N % 2, N):
        for p in range(rows):
            a = 0.0
            for j in range(M):
                a += V[i, j] * X[p, j]
            A[i, p] = a


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _subtract_outer(V, K, X):
    """V −= K X (K: (N, rows), X: (rows, M)), two rows of V times four rows of X per pass."""
    N, M = V.shape
    rows = X.shape[0]
    blocked = rows - rows % 4
    for i in range(0, N - N % 2, 2):
        for p in range(0, blocked, 4):
            k0, k1, k2, k3 = K[i, p], K[i, p + 1], K[i, p + 2], K[i, p + 3]
            m0, m1, m2, m3 = K[i + 1, p], K[i + 1, p + 1], K[i + 1, p + 2], K[i + 1, p + 3]
            for j in range(M):
                x0, x1, x2, x3 = X[p, j], X[p + 1, j], X[p + 2, j], X[p + 3, j]
                V[i, j] -= (k0 * x0 + k1 * x1) + (k2 * x2 + k3 * x3)
                V[i + 1, j] -= (m0 * x0 + m1 * x1) + (m2 * x2 + m3 * x3)
        for p in range(blocked, rows):
            k, m = K[i, p], K[i + 1, p]
            for j in range(M):
                x = X[p, j]
                V[i, j] -= k * x
                V[i + 1, j] -= m * x
    for i in range(N - N % 2, N):
        for p in range(rows):
            k = K[i, p]
            for j in range(M):
                V[i, j] -= k * X[p, j]


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _preactivations_columns(VT, X, A):
    """A[p, i] = V_i · X_p from VT = Vᵀ (M, N): four rows of VT times two rows of X per pass,
    contiguous over N (6 loads and 2 stores per 8 multiply-adds)."""
    M, N = VT.shape
    rows = X.shape[0]
    blocked = M - M % 4
    for p in range(rows):
        for i in range(N):
            A[p, i] = 0.0
    for p in range(0, rows - rows % 2, 2):
        for j in range(0, blocked, 4):
            x0, x1, x2, x3 = X[p, j], X[p, j + 1], X[p, j + 2], X[p, j + 3]
            y0, y1, y2, y3 = X[p + 1, j], X[p + 1, j + 1], X[p + 1, j + 2], X[p + 1, j + 3]
            for i in range(N):
                v0, v1, v2, v3 = VT[j, i], VT[j + 1, i], VT[j + 2, i], VT[j + 3, i]
                A[p, i] += (x0 * v0 + x1 * v1) + (x2 * v2 + x3 * v3)
                A[p + 1, i] += (y0 * v0 + y1 * v1) + (y2 * v2 + y3 * v3)
        for j in range(blocked, M):
            x, y = X[p, j], X[p + 1, j]
            for i in range(N):
                v = VT[j, i]
                A[p, i] += x * v
                A[p + 1, i] += y * v
    for p in range(rows - rows % 2, rows):
        for j in range(M):
            x = X[p, j]
            for i in range(N):
                A[p, i] += x * VT[j, i]


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _subtract_outer_columns(VT, K, X):
    """Vᵀ −= Xᵀ K on VT = Vᵀ (M, N) (K: (rows, N), X: (rows, M)): two rows of VT times four
    rows of X per pass, contiguous over N."""
    M, N = VT.shape
    rows = X.shape[0]
    blocked = rows - rows % 4
    for j in range(0, M - M % 2, 2):
        for p in range(0, blocked, 4):
            x0, x1, x2, x3 = X[p, j], X[p + 1, j], X[p + 2, j], X[p + 3, j]
            y0, y1, y2, y3 = X[p, j + 1], X[p + 1, j + 1], X[p + 2, j + 1], X[p + 3, j + 1]
            for i in range(N):
                k0, k1, k2, k3 = K[p, i], K[p + 1, i], K[p + 2, i], K[p + 3, i]
                VT[j, i] -= (x0 * k0 + x1 * k1) + (x2 * k2 + x3 * k3)
                VT[j + 1, i] -= (y0 * k0 + y1 * k1) + (y2 * k2 + y3 * k3)
        for p in range(blocked, rows):
            x, y = X[p, j], X[p, j + 1]
            for i in range(N):
                k = K[p, i]
                VT[j, i] -= x * k
                VT[j + 1, i] -= y * k
    for j in range(M - M % 2, M):
        for p in range(rows):
            x = X[p, j]
            for i in range(N):
                VT[j, i] -= x * K[p, i]


@intrinsic
def _float_bits(typingctx, x):
    """The IEEE-754 bits of a float64 as an int64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx, bits):
    """The float64 with the given IEEE-754 bits."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


_LOG2E = 1.4426950408889634
_ROUNDER = 6755399441055744.0
"""1.5·2^52: y + 1.5·2^52 rounds y to an integer held in the low bits (|y| < 2^51)."""
_LN2_HIGH, _LN2_LOW = 6.93145751953125e-1, 1.42860682030941723212e-6
"""ln 2 split so that k·ln2_high is exact for |k| < 2^11 (Cody–Waite, as in Cephes)."""


@njit(inline="always", error_model="numpy")
def _tanh(x):
    """tanh to ≤ 2 ulp (checked against numpy on 4·10^6 points), branch-free so that loops over
    it vectorise (glibc's tanh is a call per element, ≈ 10 ns). Cephes: |x| < 0.625 the rational
    x + x³P(x²)/Q(x²); else 1 − 2/(e^{2|x|} + 1), e^y = 2^k e^r with r = y − k ln2 (Cody–Waite)
    and e^r = (q + p)/(q − p) from Cephes' Padé form, 2^k built from its exponent bits, so that
    2/(e^y + 1) = 2(q − p)/(2^k(q + p) + q − p) and both branches share one division (the
    slowest operation of the vector loop). |x| is capped at 20, where tanh rounds to 1. Must not
    be compiled with fastmath (the rounding constant would be reassociated away): only inline it
    into functions without fastmath."""
    t = abs(x)
    t = t if t < 20.0 else 20.0
    z = x * x
    y = 2.0 * t
    shifted = y * _LOG2E + _ROUNDER
    k = shifted - _ROUNDER
    r = (y - k * _LN2_HIGH) - k * _LN2_LOW
    rr = r * r
    p = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr
             + 9.99999999999999999910e-1)
    q = (((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr
          + 2.27265548208155028766e-1) * rr + 2.0)
    power = _bits_float((_float_bits(shifted) - _float_bits(_ROUNDER) + 1023) << 52)
    # one division for both branches: x³P(x²)/Q(x²), or 2/(e^y + 1) = 2(q − p)/(2^k(q + p) + q − p)
    small = t < 0.625
    numerator = x * z * ((-9.64399179425052238628e-1 * z - 9.92877231001918586564e1) * z
                         - 1.61468768441708447952e3) if small else 2.0 * (q - p)
    denominator = (((z + 1.12811678491632931402e2) * z + 2.23548839060100448583e3) * z
                   + 4.84406305325125486048e3) if small else power * (q + p) + (q - p)
    ratio = numerator / denominator
    large = 1.0 - ratio
    return x + ratio if small else (-large if x < 0.0 else large)


@njit(cache=True, error_model="numpy")
def _activation(a, phi):
    """φ(a) for tanh/relu (compiled without fastmath, see :func:`_tanh`)."""
    if phi == _TANH:
        return _tanh(a)
    return a if a > 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def _activate(A, H, sigma, phi):
    """A ← σA (pre-activations of W1 = σV) and H = φ(A), elementwise (either layout of A):
    a vectorised loop."""
    rows, columns = A.shape
    for i in range(rows):
        for b in range(columns):
            a = sigma * A[i, b]
            A[i, b] = a
            if phi == _TANH:
                H[i, b] = _tanh(a)
            else:
                H[i, b] = a if a > 0.0 else 0.0


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _step_nonlinear(V, sigma, w2, xb, xd, yb, feedback, use_b, d2, c, norms, reset, phi, A,
                    H, e, w2new):
    """One tanh/relu step on W1 = σV (``xd`` = batch inputs times d1). Returns the new σ."""
    N = V.shape[0]
    B = yb.size
    _preactivations(V, xb, A)
    _activate(A, H, sigma, phi)
    for b in range(B):
        z = 0.0
        for i in range(N):
            z += w2[i] * H[i, b]
        e[b] = _activation(z, phi) - yb[b]
    norm2 = 0.0
    for i in range(N):
        scale = c * (feedback[i] if use_b else w2[i]) / sigma
        s = 0.0
        for b in range(B):
            s += e[b] * H[i, b]
            # A becomes the update's coefficients c δ_ib / σ
            if phi == _TANH:
                A[i, b] = scale * e[b] * (1.0 - H[i, b] * H[i, b])
            else:
                A[i, b] = scale * e[b] if A[i, b] > 0.0 else 0.0
        w = w2[i] - c * s * d2[i]
        w2new[i] = w
        norm2 += w * w
    _subtract_outer(V, A, xd)
    return _reset_norms(sigma, _squared_norm(V), norm2, norms, reset, w2, w2new)[0]


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _step_nonlinear_columns(VT, sigma, w2, xb, xd, yb, feedback, use_b, d2, c, norms, reset,
                            phi, A, H, e, w2new):
    """:func:`_step_nonlinear` on VT = Vᵀ (M, N) with A, H of shape (B, N): every inner loop
    runs over the hidden units, the fast layout when M < N. Returns the new σ."""
    N = VT.shape[1]
    B = yb.size
    f = feedback if use_b else w2
    _preactivations_columns(VT, xb, A)
    _activate(A, H, sigma, phi)
    for i in range(N):
        w2new[i] = 0.0
    for b in range(B):
        z = 0.0
        for i in range(N):
            z += w2[i] * H[b, i]
        e[b] = _activation(z, phi) - yb[b]
        scale = c * e[b] / sigma
        # w2new accumulates ⟨e h⟩; A becomes the update's coefficients c δ_bi / σ
        for i in range(N):
            w2new[i] += e[b] * H[b, i]
            if phi == _TANH:
                A[b, i] = scale * f[i] * (1.0 - H[b, i] * H[b, i])
            else:
                A[b, i] = scale * f[i] if A[b, i] > 0.0 else 0.0
    norm2 = 0.0
    for i in range(N):
        w = w2[i] - c * w2new[i] * d2[i]
        w2new[i] = w
        norm2 += w * w
    _subtract_outer_columns(VT, A, xd)
    return _reset_norms(sigma, _squared_norm(VT), norm2, norms, reset, w2, w2new)[0]


@njit(cache=True, fastmath=_FAST, error_model="numpy", inline="always")
def _squared_norm(V):
    """Σ V_ij² (the Frobenius norm squared, any layout)."""
    total = 0.0
    rows, columns = V.shape
    for i in range(rows):
        for j in range(columns):
            total += V[i, j] * V[i, j]
    return total


@njit(cache=True, error_model="numpy", inline="always")
def _reset_norms(sigma, norm1, norm2, norms, reset, w2, w2new):
    """The norm reset after a step: σ and the readout scale τ that put ‖W1‖_F and ‖w2‖ back to
    ``norms`` (σ unchanged and τ = 1 without reset); writes w2 = τ w2new. Returns (σ, τ);
    ``norm1`` is ‖V‖_F² (W1 = σV), ``norm2`` = ‖w2new‖²."""
    tau = 1.0
    if reset:
        sigma = norms[0] / math.sqrt(norm1)
        tau = norms[1] / math.sqrt(norm2)
    for i in range(w2.size):
        w2[i] = tau * w2new[i]
    return sigma, tau


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _transpose(source, target, scale):
    """target = scale · sourceᵀ."""
    rows, columns = source.shape
    for i in range(rows):
        for j in range(columns):
            target[j, i] = scale * source[i, j]


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _readout(W1, w2, u):
    """u = W1ᵀ w2 (the linear network's end-to-end vector)."""
    for j in range(u.size):
        u[j] = 0.0
    for i in range(w2.size):
        for j in range(u.size):
            u[j] += w2[i] * W1[i, j]


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _error(W1, w2, X, y, phi, u, A):
    """½⟨(ŷ − y)²⟩ over the rows of X (``A``: an (N, chunk) work array)."""
    N, M = W1.shape
    total = 0.0
    if phi == _LIN:
        _readout(W1, w2, u)
        for p in range(X.shape[0]):
            z = 0.0
            for j in range(M):
                z += u[j] * X[p, j]
            total += (z - y[p]) ** 2
        return 0.5 * total / X.shape[0]
    chunk = A.shape[1]
    for start in range(0, X.shape[0], chunk):
        stop = min(start + chunk, X.shape[0])
        _preactivations(W1, X[start:stop], A)
        for p in range(stop - start):
            z = 0.0
            for i in range(N):
                z += w2[i] * _activation(A[i, p], phi)
            total += (_activation(z, phi) - y[start + p]) ** 2
    return 0.5 * total / X.shape[0]


@njit(cache=True, parallel=True, fastmath=_FAST, error_model="numpy")
def _kernel(W1, w2, feedback, use_b, d1, d2, X, Y, X_test, Y_test, norms, rng, first, stop,
            steps, batch, eta_s, phi, reset, log_index, train_error, test_error, q_from, q_ref,
            q_s1, q_s2, lyap, shadow_W1, shadow_w2, d0, lyap_from, lyap_sum):
    """Epochs ``first`` ≤ epoch < ``stop`` of every network n = rule · S + seed, in place.

    Between calls the state is the true weights ``W1[n]``, ``w2[n]``, the shuffle stream
    ``rng[n]`` (a copy of the seed's, so all rules of a seed see the same batches), the q sums and
    the Lyapunov shadow and sum. For tanh/relu with M < N the steps of an epoch run on Vᵀ
    (:func:`_step_nonlinear_columns`), copied from V at its start and back at its end.
    """
    networks, N, M = W1.shape
    S, P = Y.shape
    c = eta_s / batch
    columns = phi != _LIN and M < N
    for n in prange(networks):
        rule, seed = n // S, n % S
        V = W1[n]
        w = w2[n]
        f = feedback[seed]
        flip1, flip2 = d1[rule], d2[rule]
        order = np.empty(P, dtype=np.int64)
        xb = np.empty((batch, M))
        xd = np.empty((batch, M))
        yb = np.empty(batch)
        u = np.empty(M)
        g = np.empty(M)
        gd = np.empty(M)
        w2new = np.empty(N)
        A = np.empty((batch, N)) if columns else np.empty((N, batch))
        H = np.empty_like(A)
        VT = np.empty((M, N) if columns else (0, 0))
        SVT = np.empty((M, N) if columns and lyap else (0, 0))
        e = np.empty(batch)
        work = np.empty((N, 16))
        su = np.empty(M)
        SV = shadow_W1[n]
        sw = shadow_w2[n]
        slot = 0
        while slot < log_index.size and log_index[slot] < first:
            slot += 1
        for epoch in range(first, stop):
            # u = W1ᵀw2 afresh each epoch (NM flops against 8NM per step), so that a run split
            # into chunks (progress bar) is bit-identical to one call
            if phi == _LIN:
                _readout(V, w, u)
                if lyap:
                    _readout(SV, sw, su)
            if columns:
                _transpose(V, VT, 1.0)
                if lyap:
                    _transpose(SV, SVT, 1.0)
            _shuffle(order, rng[n])
            sigma = 1.0
            shadow_sigma = 1.0
            for k in range(steps):
                for b in range(batch):
                    p = order[k * batch + b]
                    yb[b] = Y[seed, p]
                    for j in range(M):
                        xb[b, j] = X[p, j]
                        xd[b, j] = X[p, j] * flip1[j]
                if phi == _LIN:
                    sigma = _step_linear(V, sigma, w, u, xb, yb, f, use_b[rule], flip1, flip2,
                                         c, norms[n], reset, g, gd, w2new)
                    if lyap:
                        shadow_sigma = _step_linear(SV, shadow_sigma, sw, su, xb, yb, f,
                                                    use_b[rule], flip1, flip2, c, norms[n],
                                                    reset, g, gd, w2new)
                elif columns:
                    sigma = _step_nonlinear_columns(VT, sigma, w, xb, xd, yb, f, use_b[rule],
                                                    flip2, c, norms[n], reset, phi, A, H, e,
                                                    w2new)
                    if lyap:
                        shadow_sigma = _step_nonlinear_columns(SVT, shadow_sigma, sw, xb, xd, yb,
                                                               f, use_b[rule], flip2, c, norms[n],
                                                               reset, phi, A, H, e, w2new)
                else:
                    sigma = _step_nonlinear(V, sigma, w, xb, xd, yb, f, use_b[rule], flip2, c,
                                            norms[n], reset, phi, A, H, e, w2new)
                    if lyap:
                        shadow_sigma = _step_nonlinear(SV, shadow_sigma, sw, xb, xd, yb, f,
                                                       use_b[rule], flip2, c, norms[n], reset,
                                                       phi, A, H, e, w2new)
            if columns:
                _transpose(VT, V, sigma)
                if lyap:
                    _transpose(SVT, SV, shadow_sigma)
            elif sigma != 1.0:
                for i in range(N):
                    for j in range(M):
                        V[i, j] *= sigma
            if lyap:
                if shadow_sigma != 1.0 and not columns:
                    for i in range(N):
                        for j in range(M):
                            SV[i, j] *= shadow_sigma
                d2sum = 0.0
                for i in range(N):
                    diff = sw[i] - w[i]
                    d2sum += diff * diff
                    for j in range(M):
                        diff = SV[i, j] - V[i, j]
                        d2sum += diff * diff
                d = math.sqrt(d2sum)
                if epoch >= lyap_from:
                    lyap_sum[n] += math.log(d / d0)
                if d > 0.0:
                    ratio = d0 / d
                    for i in range(N):
                        sw[i] = w[i] + ratio * (sw[i] - w[i])
                        for j in range(M):
                            SV[i, j] = V[i, j] + ratio * (SV[i, j] - V[i, j])
            if slot < log_index.size and log_index[slot] == epoch:
                train_error[n, slot] = _error(V, w, X, Y[seed], phi, g, work)
                test_error[n, slot] = _error(V, w, X_test, Y_test[seed], phi, g, work)
                slot += 1
            if epoch >= q_from:
                ref, s1, s2 = q_ref[n], q_s1[n], q_s2[n]
                for k in range(N * M + N):
                    value = V[k // M, k % M] if k < N * M else w[k - N * M]
                    if epoch == q_from:
                        ref[k] = value
                    shift = value - ref[k]
                    s1[k] += shift
                    s2[k] += shift * shift


_PHI_CODE = {"lin": _LIN, "tanh": _TANH, "relu": _RELU}


def train(M: int, N: int, P: int, *, alpha_h: float = 0.0, alpha_r: float = 0.0,
          nonlinearity: str = "lin", rules=RULES, seeds: int = 8, seed: int = 0,
          eta: float = 0.1, batch: int = 10, epochs: int = 1000, init: str = "uniform",
          r: float = 1.0, r_teacher: float = 1.0, rescale_teacher: bool = False,
          start: str = "random", norm_reset: bool = True, n_log: int = 100, keep_last: int = 0,
          test_points: int = 100, lyapunov: bool = False, progress: bool = False) -> CurlRun:
    """Train rules × seeds student networks on their seeds' teachers (Numba kernel).

    Parameters
    ----------
    M, N, P
        Inputs, hidden units, training points (c = M/N).
    alpha_h, alpha_r
        Fractions of flipped inputs (columns of W1) and hidden units (entries of w2), in [0, 1];
        only the ``fa-flip`` and ``curl`` rules use them.
    nonlinearity
        φ at both layers: ``"lin"``, ``"tanh"`` or ``"relu"``.
    rules
        A subset of :data:`RULES`, in the order wanted along the first axis of the result.
    seeds, seed
        Number of (teacher, student, feedback, shuffles) draws, and the root seed.
    eta, batch, epochs
        Learning rate η (step η·B/P), mini-batch size B ≤ P (⌊P/B⌋ steps per epoch), epochs.
    init, r, r_teacher, rescale_teacher
        Weight law (``"uniform"``: U(±r/√fan-in); ``"normal"``: N(0, r²/fan-in)), student and
        teacher scales; ``rescale_teacher`` sets ‖W1ᵗ‖_F = √N, ‖w2ᵗ‖ = 1 (fig3b).
    start
        ``"random"`` (own student draw), ``"teacher-w2"`` (teacher + 1e-10 on every entry of w2)
        or ``"teacher-W1"`` (teacher + 1e-15 on every entry of W1).
    norm_reset
        Reset ‖W1‖_F and ‖w2‖ to their start values after every step.
    n_log
        Errors are logged after epochs unique(round(geomspace(1, epochs, n_log))).
    keep_last
        Epochs (ending at the last) over which q is measured; 0: no q.
    test_points
        Size of the test set.
    lyapunov
        Also estimate the largest Lyapunov exponent (doubles the cost).
    progress
        Show a progress bar (the epochs then run in 50 chunks).
    """
    s = _settings(M, N, P, alpha_h=alpha_h, alpha_r=alpha_r, nonlinearity=nonlinearity,
                  rules=rules, seeds=seeds, seed=seed, eta=eta, batch=batch, epochs=epochs,
                  init=init, r=r, r_teacher=r_teacher, rescale_teacher=rescale_teacher,
                  start=start, norm_reset=norm_reset, n_log=n_log, keep_last=keep_last,
                  test_points=test_points, lyapunov=lyapunov)
    s["progress"] = bool(progress)
    draws = _draw(s)
    R, S = len(s["rules"]), s["seeds"]
    W1 = np.ascontiguousarray(np.tile(draws.W1, (R, 1, 1)))
    w2 = np.ascontiguousarray(np.tile(draws.w2, (R, 1)))
    norms = np.stack([np.linalg.norm(W1, axis=(1, 2)), np.linalg.norm(w2, axis=1)], axis=1)
    rng = np.ascontiguousarray(np.tile(draws.rng, (R, 1)))
    n_log_points = draws.log_index.size
    train_error = np.full((R * S, n_log_points), np.nan)
    test_error = np.full((R * S, n_log_points), np.nan)
    width = s["N"] * s["M"] + s["N"] if s["keep_last"] else 0
    q_parts = tuple(np.zeros((R * S, width)) for _ in range(3))
    if s["lyapunov"]:
        shift = LYAPUNOV_D0 * np.tile(draws.direction, (R, 1))
        shadow_W1 = W1 + shift[:, :-s["N"]].reshape(W1.shape)
        shadow_w2 = w2 + shift[:, -s["N"]:]
    else:
        shadow_W1, shadow_w2 = np.empty((R * S, 0, 0)), np.empty((R * S, 0))
    lyap_sum = np.zeros(R * S)
    bounds = np.unique(np.linspace(0, s["epochs"], 51 if progress else 2).astype(int))
    for first, stop in tqdm(list(itertools.pairwise(bounds)), disable=not progress,
                            desc="epoch chunks", unit="chunk"):
        _kernel(W1, w2, draws.b, draws.use_b, draws.d1, draws.d2, draws.X, draws.Y, draws.X_test,
                draws.Y_test, norms, rng, int(first), int(stop), s["steps_per_epoch"], s["batch"],
                s["eta"] * s["batch"] / s["P"], _PHI_CODE[s["nonlinearity"]], s["norm_reset"],
                draws.log_index, train_error, test_error, s["epochs"] - s["keep_last"],
                *q_parts, s["lyapunov"], shadow_W1, shadow_w2, LYAPUNOV_D0,
                s["epochs"] // 2, lyap_sum)
    q_moments = None
    if s["keep_last"]:
        # shifted sums over T = keep_last snapshots about the first one (ref):
        # w̄ = ref + S1/T and V = mean_k (S2_k/T − (S1_k/T)²), free of cancellation at a fixed point
        ref, s1, s2 = q_parts
        shift = s1 / s["keep_last"]
        q_moments = (np.maximum(s2 / s["keep_last"] - shift**2, 0.0).mean(axis=-1), ref + shift)
    return _result(s, draws, W1, w2, train_error, test_error, q_moments,
                   lyap_sum if s["lyapunov"] else None)


# --------------------------------------------------------------------------------------------
# Plain NumPy reference
# --------------------------------------------------------------------------------------------


def _numpy_step(W1, w2, Xb, yb, b, d1, d2, eta_s, phi, norms):
    A = Xb @ W1.T
    H = _phi(phi, A)
    e = _phi(phi, H @ w2) - yb
    f = w2 if b is None else b
    delta = e[:, None] * f * _dphi(phi, A, H)
    W1 = W1 - eta_s * (delta.T @ Xb / len(yb)) * d1
    w2 = w2 - eta_s * (e @ H / len(yb)) * d2
    if norms is not None:
        W1 = W1 * (norms[0] / np.linalg.norm(W1))
        w2 = w2 * (norms[1] / np.linalg.norm(w2))
    return W1, w2


def train_numpy(M: int, N: int, P: int, **options) -> CurlRun:
    """:func:`train` written as a plain NumPy loop, one network (rule, seed) at a time.

    Same arguments (except ``progress``), same random draws and batches, so the result agrees
    with :func:`train` to rounding (≈1e-12 over short runs; chaotic runs separate as e^{λt}).
    Each step is the textbook update with full matrix products and an explicit norm reset, q comes
    directly from stored snapshots: the reference of the tests and the naive baseline of the
    benchmark.
    """
    options.pop("progress", None)
    s = _settings(M, N, P, **options)
    draws = _draw(s)
    phi, B, E, S = s["nonlinearity"], s["batch"], s["epochs"], s["seeds"]
    eta_s = s["eta"] * B / P
    networks = len(s["rules"]) * S
    out_W1, out_w2 = np.empty((networks, N, M)), np.empty((networks, N))
    train_error = np.empty((networks, draws.log_index.size))
    test_error = np.empty_like(train_error)
    q_V, q_mean = np.empty(networks), np.empty((networks, N * M + N))
    lyap_sum = np.zeros(networks)
    order = np.empty(P, dtype=np.int64)

    def error(W1, w2, X, y):
        return 0.5 * np.mean((_phi(phi, _phi(phi, X @ W1.T) @ w2) - y) ** 2)

    for k in range(len(s["rules"])):
        for seed in range(S):
            n = k * S + seed
            W1, w2 = draws.W1[seed], draws.w2[seed]
            norms = (np.linalg.norm(W1), np.linalg.norm(w2)) if s["norm_reset"] else None
            b = draws.b[seed] if draws.use_b[k] else None
            state = draws.rng[seed].copy()
            if s["lyapunov"]:
                shift = LYAPUNOV_D0 * draws.direction[seed]
                shadow = (W1 + shift[:-N].reshape(N, M), w2 + shift[-N:])
            snapshots, logged = [], 0
            for epoch in range(E):
                _shuffle(order, state)
                for step in range(s["steps_per_epoch"]):
                    batch = order[step * B:(step + 1) * B]
                    Xb, yb = draws.X[batch], draws.Y[seed, batch]
                    W1, w2 = _numpy_step(W1, w2, Xb, yb, b, draws.d1[k], draws.d2[k], eta_s,
                                         phi, norms)
                    if s["lyapunov"]:
                        shadow = _numpy_step(*shadow, Xb, yb, b, draws.d1[k], draws.d2[k],
                                             eta_s, phi, norms)
                if s["lyapunov"]:
                    diff = np.concatenate([(shadow[0] - W1).ravel(), shadow[1] - w2])
                    d = np.linalg.norm(diff)
                    if epoch >= E // 2:
                        lyap_sum[n] += math.log(d / LYAPUNOV_D0)
                    shadow = (W1 + LYAPUNOV_D0 / d * (shadow[0] - W1),
                              w2 + LYAPUNOV_D0 / d * (shadow[1] - w2))
                if logged < draws.log_index.size and draws.log_index[logged] == epoch:
                    train_error[n, logged] = error(W1, w2, draws.X, draws.Y[seed])
                    test_error[n, logged] = error(W1, w2, draws.X_test, draws.Y_test[seed])
                    logged += 1
                if epoch >= E - s["keep_last"]:
                    snapshots.append(np.concatenate([W1.ravel(), w2]))
            out_W1[n], out_w2[n] = W1, w2
            if s["keep_last"]:
                snaps = np.array(snapshots)
                q_mean[n] = snaps.mean(axis=0)
                q_V[n] = np.mean((snaps - q_mean[n]) ** 2)
    return _result(s, draws, out_W1, out_w2, train_error, test_error,
                   (q_V, q_mean) if s["keep_last"] else None,
                   lyap_sum if s["lyapunov"] else None)


# --------------------------------------------------------------------------------------------
# η → 0: the flow
# --------------------------------------------------------------------------------------------


def flow(M: int, N: int, P: int, *, times, rtol: float = 1e-8, atol: float = 1e-10,
         **options) -> CurlRun:
    """The η → 0 limit of full-batch training: the flow, integrated for all networks at once.

    dW1/dt = −⟨δ xᵀ⟩_P D1, dw2/dt = −⟨e hᵀ⟩_P D2 (the step of :func:`train` with B = P divided
    by η, time t = η·epochs); with ``norm_reset`` the field is projected on the tangent space of
    the spheres ‖W1‖_F = ‖W1(0)‖_F, ‖w2‖ = ‖w2(0)‖ (the η → 0 limit of the reset). DOP853 at
    ``rtol``, ``atol`` on the stacked weights of rules × seeds networks (``scipy.integrate``).

    Parameters
    ----------
    times
        Non-negative times t at which the errors are recorded (sorted on output).
    options
        As :func:`train`; ``batch``, ``n_log``, ``keep_last``, ``lyapunov`` and ``progress`` do
        not apply. ``eta`` only converts times to epochs (``epochs`` = t/η in the result).

    Returns
    -------
    CurlRun
        ``epochs`` = times/η (floats), errors at those times, the end state at max(times),
        ``q_var`` = ``q_std`` = ``lyapunov`` = ``None``, ``steps`` = right-hand-side
        evaluations, ``settings["flow"]`` = the times, tolerances and the solver's message.
    """
    times = np.sort(np.asarray(times, dtype=float).ravel())
    if times.size == 0 or not np.all(np.isfinite(times)) or times[0] < 0:
        raise ValueError("times must be a non-empty set of finite times >= 0")
    for name in ("batch", "n_log", "keep_last", "lyapunov", "progress"):
        if name in options:
            raise ValueError(f"{name} does not apply to the flow (full batch, errors at the given "
                             f"times, no q, no Lyapunov exponent)")
    s = _settings(M, N, P, batch=P, **options)
    draws = _draw(s)
    R, S = len(s["rules"]), s["seeds"]
    phi = s["nonlinearity"]
    W1 = np.tile(draws.W1, (R, 1, 1))
    w2 = np.tile(draws.w2, (R, 1))
    K = R * S
    seed_of = np.tile(np.arange(S), R)
    use_b = np.repeat(draws.use_b, S)
    d1, d2 = np.repeat(draws.d1, S, axis=0), np.repeat(draws.d2, S, axis=0)
    Y = draws.Y[seed_of]
    feedback = draws.b[seed_of]
    split = N * M

    def unpack(state):
        state = state.reshape(K, split + N)
        return state[:, :split].reshape(K, N, M), state[:, split:]

    def rhs(_t, state):
        W1, w2 = unpack(state)
        A = np.einsum("pm,knm->kpn", draws.X, W1)
        H = _phi(phi, A)
        e = _phi(phi, np.einsum("kpn,kn->kp", H, w2)) - Y
        f = np.where(use_b[:, None], feedback, w2)
        delta = e[:, :, None] * f[:, None, :] * _dphi(phi, A, H)
        dW1 = -np.einsum("kpn,pm->knm", delta, draws.X) / P * d1[:, None, :]
        dw2 = -np.einsum("kp,kpn->kn", e, H) / P * d2
        if s["norm_reset"]:
            dW1 -= (np.einsum("knm,knm->k", dW1, W1)
                    / np.einsum("knm,knm->k", W1, W1))[:, None, None] * W1
            dw2 -= (np.einsum("kn,kn->k", dw2, w2) / np.einsum("kn,kn->k", w2, w2))[:, None] * w2
        return np.concatenate([dW1.reshape(K, split), dw2], axis=1).ravel()

    start = np.concatenate([W1.reshape(K, split), w2], axis=1).ravel()
    solution = solve_ivp(rhs, (0.0, float(times[-1])), start, method="DOP853", t_eval=times,
                         rtol=rtol, atol=atol)
    if not solution.success:
        raise RuntimeError(f"flow integration failed: {solution.message}")

    def errors(X, labels):
        out = np.empty((K, times.size))
        for column, state in enumerate(solution.y.T):
            W1, w2 = unpack(state)
            yhat = _phi(phi, np.einsum("kpn,kn->kp", _phi(phi, np.einsum("pm,knm->kpn", X, W1)),
                                       w2))
            out[:, column] = 0.5 * np.mean((yhat - labels) ** 2, axis=1)
        return out

    train_error = errors(draws.X, Y)
    test_error = errors(draws.X_test, draws.Y_test[seed_of])
    W1_end, w2_end = unpack(solution.y[:, -1])
    s = {**s, "flow": {"times": times, "rtol": rtol, "atol": atol,
                       "message": solution.message}}
    run = _result(s, draws, W1_end.copy(), w2_end.copy(), train_error, test_error, None, None)
    return dataclasses.replace(run, epochs=times / s["eta"], steps=int(solution.nfev))

"""Full-matrix learning dynamics of deep linear networks (the check of the ``deep-linear`` model).

A network ``ŷ = W_D ⋯ W_1 x`` of given layer widths ``(N_0, ..., N_D)`` learns a target map
with input–output correlation ``Σ31 = U diag(s) Vᵀ`` (random orthogonal ``U``, ``V``) from whitened
inputs (``Σ11 = I``), by full-batch gradient flow on ``½‖Σ31 − W_D⋯W_1‖²_F`` — Saxe, McClelland
& Ganguli (arXiv 1312.6120; spec §1.1) with ``Σ11 = I``,

    tau dW_l/dt = (W_D⋯W_{l+1})ᵀ (Σ31 − W_D⋯W_1) (W_{l−1}⋯W_1)ᵀ,

integrated with DOP853 (``eta = 0``) or by gradient-descent steps of size ``eta``
(``t = eta · steps``). Nothing here knows the mode solution: the mode strengths
``u_α = U_αᵀ W_D⋯W_1 V_α`` are read off the full matrices. Also tracked: the change of the
matrices ``C_l = W_l W_lᵀ − W_{l+1}ᵀ W_{l+1}`` that gradient flow conserves.

Initialisations: ``"aligned"`` — balanced and aligned with the task, every layer of strength
``a0 = u0^(1/D)`` on the first ``len(s)`` directions, chained by random orthogonal hidden
bases (the paper's decoupled solution); ``"random"`` — i.i.d. Gaussian entries of
variance ``a0²/N_{l−1}``. Runs are batched (one ODE for all); run ``k`` of ``seed`` draws from
``numpy.random.SeedSequence(seed).spawn(runs)[k]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq


@dataclass(frozen=True)
class Trajectories:
    """Mode strengths and conservation of a batch of runs.

    Attributes
    ----------
    times
        Times of the rows of ``modes`` / ``drift`` (gradient descent: rounded to whole steps).
    modes
        ``(runs, times, n)``: ``u_α(t)`` for each singular value ``s_α``.
    drift
        ``(runs, times)``: ``max_l max|C_l(t) − C_l(0)|`` over hidden layers.
    half_times
        ``(runs, n)``: first time ``u_α = s_α/2`` (``nan`` if not reached by ``times[-1]``).
    effective_u0
        ``(runs, n)`` for ``D = 2``: ``|a + b|²/4`` with ``a = W_1 V_α``, ``b = W_2ᵀ U_α`` — the
        amplitude of the growing solution of the linearised early flow, ``u ≈ |a + b|²/4
        e^{2st/tau}`` once ``a − b`` has decayed (equals ``u0`` for the aligned start);
        ``None`` for deeper nets.
    work
        Right-hand-side evaluations (flow) or steps (descent).
    """

    times: np.ndarray
    modes: np.ndarray
    drift: np.ndarray
    half_times: np.ndarray
    effective_u0: np.ndarray | None
    work: int


def haar_orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A Haar-random orthogonal ``n × n`` matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _setup(s: np.ndarray, u0: float, widths: Sequence[int], rng: np.random.Generator,
           init: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Target ``Σ31``, the singular bases ``U``, ``V`` and the initial weights of one run."""
    n, depth = s.size, len(widths) - 1
    U, V = haar_orthogonal(rng, widths[-1])[:, :n], haar_orthogonal(rng, widths[0])[:, :n]
    target = (U * s) @ V.T
    a0 = u0 ** (1 / depth)
    if init == "aligned":
        bases = [V] + [haar_orthogonal(rng, w)[:, :n] for w in widths[1:-1]] + [U]
        weights = [a0 * bases[l + 1] @ bases[l].T for l in range(depth)]
    elif init == "random":
        weights = [rng.standard_normal((widths[l + 1], widths[l])) * a0 / np.sqrt(widths[l])
                   for l in range(depth)]
    else:
        raise ValueError(f"init must be 'aligned' or 'random' (got {init!r})")
    return target, U, V, weights


def _transpose(m: np.ndarray) -> np.ndarray:
    return np.swapaxes(m, -1, -2)


def descent_direction(weights: Sequence[np.ndarray], target: np.ndarray) -> list[np.ndarray]:
    """``−∂L/∂W_l`` for ``L = ½‖target − W_D⋯W_1‖²_F``, batched over a leading run axis."""
    below = [weights[0]]                                    # W_l ⋯ W_1
    for w in weights[1:]:
        below.append(w @ below[-1])
    back = target - below[-1]                               # (W_D⋯W_{l+1})ᵀ E, from the top
    directions = [np.empty(0)] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        directions[l] = back @ _transpose(below[l - 1]) if l > 0 else back
        back = _transpose(weights[l]) @ back
    return directions


def _modes(weights: Sequence[np.ndarray], U: np.ndarray, V: np.ndarray) -> np.ndarray:
    total = weights[0]
    for w in weights[1:]:
        total = w @ total
    return np.einsum("ria,rij,rja->ra", U, total, V)


def _conserved(weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [weights[l] @ _transpose(weights[l]) - _transpose(weights[l + 1]) @ weights[l + 1]
            for l in range(len(weights) - 1)]


def _drift(weights, start) -> np.ndarray:
    return np.max([np.abs(c - c0).max(axis=(1, 2)) for c, c0 in zip(_conserved(weights), start,
                                                                     strict=True)], axis=0)


def simulate(s: Sequence[float], u0: float, depth: int, times: Sequence[float],
             widths: Sequence[int], runs: int, seed: int = 0, *, tau: float = 1.0,
             init: str = "aligned", eta: float = 0.0, rtol: float = 1e-11,
             atol: float = 1e-14) -> Trajectories:
    """Train ``runs`` networks and record their mode strengths at ``times``.

    Parameters
    ----------
    s
        Singular values of the target (``n = len(s)`` modes).
    u0
        Initial product strength per mode (aligned), or the scale ``u0^(1/D)`` per layer
        (random).
    depth
        Number of weight layers ``D``; ``widths`` has ``D + 1`` entries, each ``>= n``.
    times
        Non-negative, finite; the flow is integrated to ``max(times)``.
    eta
        0: DOP853 gradient flow at ``rtol``/``atol``; otherwise gradient descent with step
        ``eta`` (units of ``tau``).
    """
    s = np.asarray(s, dtype=float)
    times = np.asarray(times, dtype=float)
    if depth < 2 or len(widths) != depth + 1 or min(widths) < s.size:
        raise ValueError(f"depth must be >= 2 and widths {depth + 1} layer sizes, each >= "
                         f"{s.size} (the number of modes); got {tuple(widths)}")
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError("simulation times must be finite and >= 0")
    rngs = [np.random.default_rng(c) for c in np.random.SeedSequence(seed).spawn(runs)]
    setups = [_setup(s, u0, widths, rng, init) for rng in rngs]
    target = np.stack([st[0] for st in setups])
    U, V = np.stack([st[1] for st in setups]), np.stack([st[2] for st in setups])
    weights = [np.stack([st[3][l] for st in setups]) for l in range(depth)]
    start = _conserved(weights)
    effective = None
    if depth == 2:
        a = np.einsum("rij,rja->rai", weights[0], V)
        b = np.einsum("rji,rja->rai", weights[1], U)
        effective = ((a + b) ** 2).sum(axis=-1) / 4
    if eta == 0:
        rows, modes, drift, half, work = _flow(weights, target, U, V, start, s, times, tau,
                                               rtol, atol)
    else:
        rows, modes, drift, half, work = _descent(weights, target, U, V, start, s, times, tau,
                                                  eta)
    return Trajectories(rows, modes, drift, half, effective, work)


def _flow(weights, target, U, V, start, s, times, tau, rtol, atol):
    shapes = [w.shape for w in weights]
    splits = np.cumsum([w.size for w in weights])[:-1]

    def unpack(y):
        return [part.reshape(shape) for part, shape in zip(np.split(y, splits), shapes,
                                                           strict=True)]

    def rhs(_t, y):
        return np.concatenate([d.ravel() for d in descent_direction(unpack(y), target)]) / tau

    y0 = np.concatenate([w.ravel() for w in weights])
    sol = solve_ivp(rhs, (0.0, float(times.max(initial=0.0))), y0, method="DOP853", rtol=rtol,
                    atol=atol, dense_output=True)
    if not sol.success:
        raise RuntimeError(f"gradient-flow integration failed: {sol.message}")
    modes = np.stack([_modes(unpack(sol.sol(t)), U, V) for t in times], axis=1)
    drift = np.stack([_drift(unpack(sol.sol(t)), start) for t in times], axis=1)
    # first crossing of s/2 on the solver's own steps, refined on its dense output
    stepped = np.stack([_modes(unpack(y), U, V) for y in sol.y.T], axis=1) - s / 2
    half = np.full(stepped[:, 0, :].shape, np.nan)
    for r, m in zip(*np.nonzero(np.any(stepped >= 0, axis=1)), strict=True):
        k = int(np.argmax(stepped[r, :, m] >= 0))
        if k == 0:
            half[r, m] = 0.0
            continue
        half[r, m] = brentq(lambda t, r=r, m=m: _modes(unpack(sol.sol(t)), U, V)[r, m]
                            - s[m] / 2, sol.t[k - 1], sol.t[k], xtol=1e-13, rtol=1e-13)
    return times, modes, drift, half, sol.nfev


def _descent(weights, target, U, V, start, s, times, tau, eta):
    steps_at = np.rint(times / eta).astype(int)
    wanted = set(steps_at.tolist())
    weights = [w.copy() for w in weights]
    path, snapshots = [], {}
    for k in range(int(steps_at.max(initial=0)) + 1):
        if k:
            for w, d in zip(weights, descent_direction(weights, target), strict=True):
                w += (eta / tau) * d
        path.append(_modes(weights, U, V))
        if k in wanted:
            snapshots[k] = (path[-1], _drift(weights, start))
    path = np.stack(path, axis=1) - s / 2                   # (runs, steps + 1, n)
    # first crossing of s/2, linearly interpolated between steps
    first = np.argmax(path >= 0, axis=1)
    before = np.maximum(first - 1, 0)
    lo = np.take_along_axis(path, before[:, None, :], axis=1)[:, 0]
    hi = np.take_along_axis(path, first[:, None, :], axis=1)[:, 0]
    fraction = np.where(first > 0, -lo / np.where(hi > lo, hi - lo, 1.0), 0.0)
    half = np.where(np.any(path >= 0, axis=1), eta * (before + fraction), np.nan)
    modes = np.stack([snapshots[k][0] for k in steps_at], axis=1)
    drift = np.stack([snapshots[k][1] for k in steps_at], axis=1)
    return steps_at * eta, modes, drift, half, len(path[0]) - 1

"""Finite-N linear regression trained by gradient flow or gradient descent, many seeds at once.

The independent check of the ``generalization-dynamics`` model (Advani & Saxe, arXiv 1710.03667):
draw ``P = round(alpha N)`` examples ``x ~ N(0, I/N)``, a teacher ``w̄ ~ N(0, sigma_w2 I)``,
labels ``y = w̄·x + ε`` with ``ε ~ N(0, sigma_eps2)``, a student ``w(0) ~ N(0, sigma_02 I)``, and
train on ``½ Σ_μ (y^μ − w·x^μ)²``. Nothing here knows the Marchenko–Pastur law: the spectrum is
that of the sample's own ``XXᵀ``.

* :func:`gradient_flow` is exact at finite ``N``: ``tau dw/dt = X(y − Xᵀw)`` is linear, so in the
  eigenbasis of each sample's ``XXᵀ`` (``numpy.linalg.eigh`` on a stack of samples) every
  component relaxes as ``e^{−λt/tau}``; there is no step size.
* :func:`gradient_descent` takes ``w ← w + (eta/tau) X(y − Xᵀw)`` steps, ``t = eta · steps``,
  and measures the errors from the weights directly (a check of the flow, and of the step-size
  error, which vanishes as ``eta → 0``).

Every sample ``k`` of a call with ``seed`` uses its own stream
``numpy.random.SeedSequence(seed).spawn(seeds)[k]``, so results are reproducible and sample ``k``
does not depend on how many samples are drawn.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

#: an eigenvalue of XXᵀ below this fraction of the largest is a zero (round-off ~1e-13 for
#: alpha < 1; the smallest true eigenvalue at alpha = 1 is ~1/N², far above for any N < 1e4)
ZERO_EIGENVALUE = 1e-9

#: memory budget of one batch of samples (X and XXᵀ), bytes
BATCH_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Trajectories:
    """Errors of each sample at each time.

    Attributes
    ----------
    times
        The times (in units of ``tau``) at which the errors were measured; for gradient descent,
        the requested times rounded to whole steps, ``eta · steps``.
    E_g, E_t
        Arrays ``(samples, times)``: ``‖w − w̄‖²/N + sigma_eps2`` (the exact test error for the
        sample's ``w``) and ``(1/P) Σ_μ (y^μ − w·x^μ)²``.
    N, P
        Input dimension and number of examples.
    steps
        Gradient-descent steps to the last time (0 for the exact flow).
    """

    times: np.ndarray
    E_g: np.ndarray
    E_t: np.ndarray
    N: int
    P: int
    steps: int

    def mean_stderr(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Mean over samples and its standard error (``ddof = 1``) of ``E_g`` or ``E_t``."""
        values = getattr(self, name)
        count = values.shape[0]
        stderr = values.std(axis=0, ddof=1) / np.sqrt(count) if count > 1 else np.full(
            values.shape[1], np.nan)
        return values.mean(axis=0), stderr


def examples(N: int, alpha: float) -> int:
    """``P = round(alpha N)``, at least one example."""
    P = round(alpha * N)
    if P < 1:
        raise ValueError(f"alpha N = {alpha * N:g} gives no example; raise N or alpha")
    return P


def _batches(N: int, P: int, seeds: int, seed: int,
             progress: bool) -> Iterator[list[np.random.Generator]]:
    """Generators of the samples, in batches that fit :data:`BATCH_BYTES`."""
    children = np.random.SeedSequence(seed).spawn(seeds)
    size = max(1, min(seeds, BATCH_BYTES // (8 * (N * N + N * P))))
    starts = range(0, seeds, size)
    for start in tqdm(starts, disable=not progress, desc="samples", unit="batch"):
        yield [np.random.default_rng(c) for c in children[start:start + size]]


def draw_samples(rngs: Sequence[np.random.Generator], N: int, P: int, sigma_w2: float,
                 sigma_eps2: float, sigma_02: float):
    """Inputs ``X (b, N, P)``, teacher ``(b, N)``, label noise ``(b, P)`` and initial student
    ``(b, N)`` of each sample, drawn in this order from the sample's own generator."""
    X = np.empty((len(rngs), N, P))
    teacher, noise, student = np.empty((len(rngs), N)), np.empty((len(rngs), P)), np.empty(
        (len(rngs), N))
    for k, rng in enumerate(rngs):
        rng.standard_normal(out=X[k])
        X[k] *= 1 / np.sqrt(N)
        teacher[k] = rng.standard_normal(N) * np.sqrt(sigma_w2)
        noise[k] = rng.standard_normal(P) * np.sqrt(sigma_eps2)
        student[k] = rng.standard_normal(N) * np.sqrt(sigma_02)
    return X, teacher, noise, student


def gradient_flow(N: int, alpha: float, times: Sequence[float], seeds: int, seed: int = 0, *,
                  sigma_w2: float = 1.0, sigma_eps2: float = 0.1, sigma_02: float = 0.0,
                  tau: float = 1.0, progress: bool = False) -> Trajectories:
    """Exact gradient flow of ``seeds`` independent samples, errors at ``times`` (``inf`` allowed).

    With ``XXᵀ = V diag(λ) Vᵀ``, ``c = Vᵀ(w(0) − w̄)`` and ``g = Vᵀ X ε`` the error is, per
    eigendirection, ``c e^{−λt/tau} + g (1 − e^{−λt/tau})/λ`` (``c`` alone for ``λ = 0``, where
    ``g = 0``). The training residual splits into ``e^{−λt/tau} (g/√λ − √λ c)`` along each left
    singular vector of ``X`` plus the part of ``ε`` outside the range of ``Xᵀ``, which no
    student can fit. ``t = inf`` is the end point of the flow (the minimum-distance
    interpolator / least-squares solution from ``w(0)``).
    """
    times = np.asarray(times, dtype=float)
    P = examples(N, alpha)
    E_g, E_t = [], []
    for rngs in _batches(N, P, seeds, seed, progress):
        X, teacher, noise, student = draw_samples(rngs, N, P, sigma_w2, sigma_eps2,
                                                  sigma_02)
        lam, V = np.linalg.eigh(X @ np.swapaxes(X, 1, 2))
        zero = lam <= ZERO_EIGENVALUE * lam[:, -1:]
        lam = np.where(zero, 0.0, lam)
        safe = np.where(zero, 1.0, lam)                       # λ where it divides
        c = np.einsum("bij,bi->bj", V, student - teacher)
        g = np.where(zero, 0.0, np.einsum("bij,bi->bj", V, np.einsum("bip,bp->bi", X, noise)))
        fitted = np.where(zero, 0.0, g / np.sqrt(safe) - np.sqrt(lam) * c)
        unfittable = np.maximum((noise**2).sum(axis=1) - (g**2 / safe).sum(axis=1), 0.0)
        eg, et = np.empty((len(rngs), times.size)), np.empty((len(rngs), times.size))
        for j, t in enumerate(times):
            x = lam * (t / tau) if np.isfinite(t) else np.where(zero, 0.0, np.inf)
            decay = np.exp(-x)
            relaxed = np.where(zero, 0.0, -np.expm1(-x) / safe)
            error = c * decay + g * relaxed
            eg[:, j] = (error**2).sum(axis=1) / N + sigma_eps2
            et[:, j] = (((decay * fitted) ** 2).sum(axis=1) + unfittable) / P
        E_g.append(eg)
        E_t.append(et)
    return Trajectories(times, np.concatenate(E_g), np.concatenate(E_t), N, P, 0)


def gradient_descent(N: int, alpha: float, times: Sequence[float], eta: float, seeds: int,
                     seed: int = 0, *, sigma_w2: float = 1.0, sigma_eps2: float = 0.1,
                     sigma_02: float = 0.0, tau: float = 1.0,
                     progress: bool = False) -> Trajectories:
    """Discrete gradient descent ``w ← w + (eta/tau)(Xy − XXᵀw)`` on the same samples as
    :func:`gradient_flow` (same ``seed``), errors measured from ``w`` at ``t = eta · steps``.

    Stable only for ``eta λ_max / tau < 2`` (``λ_max ≈ (1 + √alpha)²``); it approximates the
    flow when ``eta λ_max / tau ≪ 1``.
    """
    times = np.asarray(times, dtype=float)
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError("gradient descent needs finite times t >= 0")
    steps_at = np.rint(times / eta).astype(int)
    P = examples(N, alpha)
    E_g, E_t = [], []
    for rngs in _batches(N, P, seeds, seed, progress):
        X, teacher, noise, student = draw_samples(rngs, N, P, sigma_w2, sigma_eps2,
                                                  sigma_02)
        labels = np.einsum("bip,bi->bp", X, teacher) + noise
        gram = X @ np.swapaxes(X, 1, 2)
        drive = np.einsum("bip,bp->bi", X, labels)
        w = student.copy()
        eg, et = np.empty((len(rngs), times.size)), np.empty((len(rngs), times.size))
        done = 0
        for j in np.argsort(steps_at, kind="stable"):
            for _ in range(steps_at[j] - done):
                w += (eta / tau) * (drive - (gram @ w[..., None])[..., 0])
            done = steps_at[j]
            eg[:, j] = ((w - teacher) ** 2).sum(axis=1) / N + sigma_eps2
            et[:, j] = ((labels - np.einsum("bip,bi->bp", X, w)) ** 2).sum(axis=1) / P
        if not (np.all(np.isfinite(eg)) and np.all(np.isfinite(et))):
            raise FloatingPointError("gradient descent diverged: eta λ_max / tau must be < 2")
        E_g.append(eg)
        E_t.append(et)
    return Trajectories(steps_at * eta, np.concatenate(E_g), np.concatenate(E_t), N, P,
                        int(steps_at.max(initial=0)))

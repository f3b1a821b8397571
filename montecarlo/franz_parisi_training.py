"""Field-space (variational mean-field) training of the binary perceptron in continual learning.

The simulations of Li, Huang, Zou and Huang, *Statistical mechanics of continual learning:
variational principle and mean-field potential*, arXiv 2212.02846 (Phys. Rev. E 108, 014309,
2023), spec ``shared/specs/franz-parisi.md`` §1, §5, §6, re-implemented in NumPy.

Model
-----
Teacher–student setting with N binary weights. Teacher 1: w¹* uniform in {±1}^N; teacher 2:
w²*_i = B_i w¹*_i with P(B_i = +1) = (1 + r₀)/2. Task t has P_t = round(α_t N) examples with inputs
x_i = ±1 with probability ½ (``inputs="binary"``, the authors' choice) or N(0, 1)
(``inputs="gaussian"``, the theory's), labels y = sign(w*·x) with sign(0) = +1.
The student is the variational distribution q(w) = Π_i (1 + m_i w_i)/2, m_i = tanh θ_i; the
fields θ are trained. With the Gaussian-field approximation of h = w·x/√N under q,

    u = Σ_i m_i x_i/√N,  σ² = Σ_i (1 − m_i²) x_i²/N,  P(y | x, m) = H(−y u/σ),

H(x) = erfc(x/√2)/2, the objective of a task is

    L(θ) = −Σ_μ ln H(−y^μ u^μ/σ^μ) + γ Σ_i KL(m_i ‖ m'_i),

KL(m‖m') = (1+m)/2 ln[(1+m)/(1+m')] + (1−m)/2 ln[(1−m)/(1−m')], ∂KL/∂θ = (θ − θ')(1 − m²).
Task 1 (main text): γ = 0 (``gamma1`` > 0 gives the appendix variant, KL to the uniform prior
θ' = 0). Task 2: θ' = θ at the end of task 1, γ = ``gamma``. The deterministic network whose
errors are reported is the clipped student sign(θ) (sign(0) = +1): p = sign(θ)·w*/N and
ε = arccos(p)/π, the large-N test error of sign(θ) (exact for Gaussian inputs), which is what the
authors save and plot (``arccos(mean(sign(h)·w*))/π``); no test sets are drawn.

What was read off the authors' scripts
--------------------------------------
Repository github ``Chan-Li/VCL``, folder ``Continual learning with binary perceptron/``, files
``SecondTaskGD.py``, ``FirstTaskSGD.py`` and ``FirstTaskReplicaAndSGDWithKL.py`` (all three carry
the same ``Perceptron`` and ``Adamoptim`` classes):

* **Likelihood gradient, summed over examples.** ``Perceptron.exp_grad`` returns, per example,
  the θ-gradient of −ln H(−y Σ_i m_i x_i / √(Σ_i (1 − m_i²))) (the √N of u and σ cancels), and
  the optimiser uses ``grad_exp.sum(0)``: the NLL is a **sum** over the (full) batch, not a mean.
  (``Perceptron.energy`` is a mean, but it is only a diagnostic and never differentiated.)
  Their σ² is Σ_i (1 − m_i²)/N, i.e. x_i² = 1 is assumed; identical for ±1 inputs.
* **KL weight.** ``KL_grad`` = β²(θ − θ_last)(1 − tanh² βθ) with β = 1, i.e. exactly
  (θ − θ')(1 − m²), added as ``grad_exp.sum(0) + grad_KL * opt.batch``: the KL summed over sites
  enters with weight γ = ``opt.batch`` next to the summed NLL. ``SecondTaskGD.py`` sets
  ``opt.batch = N_data_2/N_data_2`` (γ = 1) in its first part and ``N_data_2/N_data_2 * 0.1``
  (γ = 0.1) in its second; the KL reference ``h_last`` is θ at the end of task 1.
  (Mini-batch scripts use ``opt.batch = batch_size/P``: γ = 1 per epoch; the appendix
  ``FirstTaskReplicaAndSGDWithKL.py`` zeroes ``h_last``: KL to θ' = 0.)
* **Adam, hand-written** (``Adamoptim``, not ``torch.optim.Adam``): moments of the gradient with
  (β₁, β₂) = (0.9, 0.999), bias corrections with t starting at 1, and the update
  θ ← θ − lr [m̂/(√ŝ + 10⁻²⁰) + wd θ]. The **weight decay is decoupled** (AdamW-like: lr·wd·θ is
  subtracted directly, it does not enter the moments), unlike torch's Adam ``weight_decay``.
  A new optimiser (fresh moments, t = 1) is created for task 2.
* **Initialisation**: θ_i ~ N(0, 1) (``torch.randn`` in ``Perceptron.__init__``); task 2
  continues from the task-1 θ.
* **Settings of** ``SecondTaskGD.py``: N = 1000, P = int(α N), 20 seeds, task 1 full batch,
  5000 epochs, lr 10⁻³, wd 10⁻³, no KL; task 2 full batch, 20 000 epochs, lr 0.005 (hard-coded;
  the per-point ``lr_list`` passed in is ignored), wd 10⁻³; α₁ = 2. These are the defaults here.
  ``FirstTaskSGD.py`` uses mini-batches with per-α batch size / lr / weight decay and stops at
  test accuracy 1 or 2000 epochs; that protocol is not reproduced (full batch only).
* Errors saved: arccos(p)/π and p of sign(θ) against w¹* and w²* (10 000-example test sets are
  drawn but only used for monitoring).

Deviations (intended)
---------------------
* ln H and φ/H are evaluated without the scripts' regularisers (+10⁻¹⁵ inside the log, +10⁻¹⁰ in
  the denominators): ln H(a) = ``log_ndtr(−a)``, φ(a)/H(a) = √(2/π)/erfcx(a/√2), exact on the
  whole real line; 1 − m² is computed as sech² θ (no cancellation at large |θ|).
* σ² = Σ_i (1 − m_i²) x_i²/N (the Gaussian-field variance given x); the scripts drop x_i², which
  only matters for ``inputs="gaussian"``.
* P = round(α N) (the scripts' int(α N) gives the same P at all of their settings).
* Seeds (the scripts set none): ``SeedSequence(seed).spawn(seeds)``, one sequence per seed; each
  spawns two children: child 0 draws, in this order, teacher 1, the task-1 inputs and the initial
  θ; child 1 draws B and the task-2 inputs. So the task-1 part of :func:`train_task2` equals
  :func:`train_task1` with the same arguments, and seed s's result does not depend on how many
  seeds are run. Seeds are processed in batches of stacked arrays (:data:`BATCH_FLOATS`);
  the stacked and the one-seed-at-a-time computations give bit-identical results (tested).
* Added: ``record_every`` records ε (task 1) or ε¹, ε² (task 2) along the training, to judge
  whether the fixed number of epochs has reached a plateau.

Cost: one epoch is two matrix-vector products with the P × N inputs (±1 inputs; four for
Gaussian inputs), about 1 ms per seed at N = 1000, P = 2000 on one core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import erfcx, log_ndtr
from tqdm import tqdm

from theorylab.parameters import Parameter, ParameterError
from theorylab.results import mean_and_stderr

INPUTS = ("binary", "gaussian")
ADAM_BETAS = (0.9, 0.999)
"""Adam moment decay rates (the scripts' ``beta = [0.9, 0.999]``)."""
ADAM_EPS = 1e-20
"""Adam's ε in m̂/(√ŝ + ε), as in the scripts."""
BATCH_FLOATS = 2 ** 21
"""Largest number of input values (seeds × P × N) in one batch of seeds (16 MB of float64).

The epoch is memory-bound (two matrix-vector products with the P × N inputs); a batch that fits
in the last-level cache is faster per seed than a large stacked one (measured at N = 1000,
P = 2000 on a 32 MB L3: 1.0 ms per seed and epoch alone, 1.8 ms in stacks of 2–8 seeds), so
only small problems are stacked over seeds."""

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_TINY_VARIANCE = 1e-300


# --------------------------------------------------------------------------------------------
# Elementary functions
# --------------------------------------------------------------------------------------------


def log_h(x) -> np.ndarray:
    """ln H(x), H(x) = ∫_x^∞ Dt = erfc(x/√2)/2, accurate on the whole real line."""
    return log_ndtr(-np.asarray(x, dtype=float))


def mills_ratio(x) -> np.ndarray:
    """φ(x)/H(x) = −d ln H(x)/dx, without overflow or underflow (→ 0 as x → −∞, ≈ x as x → ∞)."""
    return _SQRT_2_OVER_PI / erfcx(np.asarray(x, dtype=float) / math.sqrt(2.0))


def sech2(theta) -> np.ndarray:
    """1 − tanh²θ = sech²θ, computed as 4e^{−2|θ|}/(1 + e^{−2|θ|})² (no cancellation)."""
    e = np.exp(-2.0 * np.abs(np.asarray(theta, dtype=float)))
    return 4.0 * e / (1.0 + e) ** 2


def _log_sigmoid(z):
    return -np.logaddexp(0.0, -z)


def kl_bernoulli(theta, theta_ref) -> np.ndarray:
    """Elementwise KL(m ‖ m') of the factors (1 + m w)/2, m = tanh θ, m' = tanh θ'.

    KL = (1+m)/2 ln[(1+m)/(1+m')] + (1−m)/2 ln[(1−m)/(1−m')], written with (1 ± m)/2 = σ(±2θ)
    (σ the logistic function) so that it stays finite for large |θ|, |θ'|.
    """
    theta = np.asarray(theta, dtype=float)
    theta_ref = np.asarray(theta_ref, dtype=float)
    plus, minus = 0.5 * (1.0 + np.tanh(theta)), 0.5 * (1.0 - np.tanh(theta))
    return (plus * (_log_sigmoid(2.0 * theta) - _log_sigmoid(2.0 * theta_ref))
            + minus * (_log_sigmoid(-2.0 * theta) - _log_sigmoid(-2.0 * theta_ref)))


def kl_gradient(theta, theta_ref) -> np.ndarray:
    """∂KL(m‖m')/∂θ = (θ − θ')(1 − m²) elementwise (the scripts' ``KL_grad`` at β = 1)."""
    theta = np.asarray(theta, dtype=float)
    return (theta - np.asarray(theta_ref, dtype=float)) * sech2(theta)


def loss_and_gradient(theta, x, y, *, gamma: float = 0.0, theta_ref=None,
                      unit_inputs: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The training objective L(θ) = −Σ_μ ln H(−y^μ u^μ/σ^μ) + γ Σ_i KL(m_i‖m'_i) and ∂L/∂θ.

    Parameters
    ----------
    theta : (..., N) array
        Fields; m = tanh θ.
    x : (..., P, N) array
        Inputs (leading axes broadcast with those of ``theta``, e.g. one axis of seeds).
    y : (..., P) array
        Labels ±1.
    gamma
        KL weight γ ≥ 0 (the term is skipped when γ = 0).
    theta_ref : (..., N) array or None
        Reference fields θ' of the KL; None means θ' = 0 (KL to the uniform prior).
    unit_inputs
        If True, x_i² = 1 is assumed (±1 inputs): σ² = Σ_i (1 − m_i²)/N, saving two
        matrix-vector products.

    Returns
    -------
    loss : (...) array
        L(θ), NLL summed over examples plus γ times the KL summed over sites.
    grad : (..., N) array
        ∂L/∂θ. With a = −y u/σ and G = φ(a)/H(a):
        ∂L/∂θ_i = −(1 − m_i²) Σ_μ G_μ y_μ [x_μi/(√N σ_μ) + m_i u_μ x_μi²/(N σ_μ³)]
        + γ (θ_i − θ'_i)(1 − m_i²).
    """
    theta = np.asarray(theta, dtype=float)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    N = theta.shape[-1]
    m = np.tanh(theta)
    s = sech2(theta)
    u = np.matmul(x, m[..., None])[..., 0] / math.sqrt(N)
    if unit_inputs:
        var = np.broadcast_to((s.sum(axis=-1) / N)[..., None], u.shape)
    else:
        var = np.matmul(x * x, s[..., None])[..., 0] / N
    sigma = np.sqrt(np.maximum(var, _TINY_VARIANCE))
    a = -y * u / sigma
    loss = -log_h(a).sum(axis=-1)
    g = mills_ratio(a) * y
    first = np.matmul((g / sigma)[..., None, :], x)[..., 0, :] / math.sqrt(N)
    c2 = g * u / sigma ** 3 / N
    if unit_inputs:
        second = c2.sum(axis=-1)[..., None]
    else:
        second = np.matmul(c2[..., None, :], x * x)[..., 0, :]
    grad = -s * (first + m * second)
    if gamma:
        ref = np.zeros_like(theta) if theta_ref is None else np.asarray(theta_ref, dtype=float)
        loss = loss + gamma * kl_bernoulli(theta, ref).sum(axis=-1)
        grad = grad + gamma * (theta - ref) * s
    return loss, grad


def clipped_overlap(theta, teacher) -> np.ndarray:
    """p = sign(θ)·w*/N along the last axis, with sign(0) = +1."""
    student = np.where(np.asarray(theta) >= 0.0, 1.0, -1.0)
    return (student * np.asarray(teacher, dtype=float)).mean(axis=-1)


def clipped_error(p) -> np.ndarray:
    """ε = arccos(p)/π, the large-N test error of a student with overlap p (exact for Gaussian
    inputs)."""
    return np.arccos(np.clip(np.asarray(p, dtype=float), -1.0, 1.0)) / math.pi


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


class _MeanStderr:
    def mean_stderr(self, name: str) -> tuple[float, float]:
        """Mean over seeds of a per-seed array attribute and its standard error."""
        values = getattr(self, name, None)
        if not isinstance(values, np.ndarray) or values.ndim != 1:
            raise ValueError(f"name must be a per-seed observable (got {name!r})")
        mean, stderr = mean_and_stderr(values)
        return float(mean), float(stderr)


@dataclass(frozen=True, repr=False)
class Task1Training(_MeanStderr):
    """Result of :func:`train_task1`; arrays are per seed (first axis = seed).

    Attributes
    ----------
    eps, p : (seeds,)
        ε = arccos(p)/π and p = sign(θ)·w¹*/N of the clipped student.
    loss : (seeds,)
        Final objective Σ_μ −ln H + γ₁ Σ_i KL(m_i ‖ 0) (weight decay not included).
    train_error : (seeds,)
        Fraction of training examples misclassified by sign(θ).
    Q, r : (seeds,)
        Σ m_i²/N and Σ m_i w¹*_i/N, m = tanh θ.
    theta : (seeds, N)
        Final fields.
    teachers : (seeds, N)
        w¹*.
    settings : dict
        Every (validated) argument of the call, plus P.
    history : dict
        With ``record_every``: ``epoch`` (n,) and ``eps`` (seeds, n) after those epochs;
        else empty.
    """

    eps: np.ndarray
    p: np.ndarray
    loss: np.ndarray
    train_error: np.ndarray
    Q: np.ndarray
    r: np.ndarray
    theta: np.ndarray
    teachers: np.ndarray
    settings: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        s = self.settings
        lines = [f"Task1Training(N={s.get('N')}, alpha={s.get('alpha')}, "
                 f"{self.eps.size} seeds, {s.get('epochs')} epochs)"]
        for name in ("eps", "p", "Q", "r", "train_error"):
            mean, err = self.mean_stderr(name)
            lines.append(f"  {name:<12} {mean: .5f} ± {err:.5f}")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class Task2Training(_MeanStderr):
    """Result of :func:`train_task2`; arrays are per seed (first axis = seed).

    Attributes
    ----------
    eps1, eps2, p1, p2 : (seeds,)
        Clipped student sign(θ) against teacher 1 and teacher 2: p_t = sign(θ)·w^t*/N,
        ε_t = arccos(p_t)/π.
    R21, r2, Q2 : (seeds,)
        Σ m w¹*/N, Σ m w²*/N, Σ m²/N after task 2.
    loss : (seeds,)
        Final task-2 objective Σ_μ −ln H + γ Σ_i KL(m_i ‖ m¹_i).
    theta : (seeds, N)
        Final fields.
    teachers : (seeds, 2, N)
        w¹*, w²*.
    task1 : Task1Training
        The task-1 run (identical to :func:`train_task1` with the same seed and settings).
    settings : dict
        Every (validated) argument of the call, plus P1, P2.
    history : dict
        With ``record_every``: ``epoch`` (n,), ``eps1``, ``eps2`` (seeds, n) during task 2.
    """

    eps1: np.ndarray
    eps2: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    R21: np.ndarray
    r2: np.ndarray
    Q2: np.ndarray
    loss: np.ndarray
    theta: np.ndarray
    teachers: np.ndarray
    task1: Task1Training
    settings: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        s = self.settings
        lines = [f"Task2Training(N={s.get('N')}, alpha1={s.get('alpha1')}, "
                 f"alpha2={s.get('alpha2')}, r0={s.get('r0')}, gamma={s.get('gamma')}, "
                 f"{self.eps1.size} seeds)"]
        for name in ("eps1", "eps2", "p1", "p2", "R21", "r2", "Q2"):
            mean, err = self.mean_stderr(name)
            lines.append(f"  {name:<12} {mean: .5f} ± {err:.5f}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _int(name, value, low):
    return Parameter(name, "", kind="int", low=low).check(value)


def _float(name, value, low=-math.inf, high=math.inf, low_open=False):
    return Parameter(name, "", kind="float", low=low, high=high, low_open=low_open).check(value)


def _choice(name, value, choices):
    return Parameter(name, "", kind="choice", choices=choices).check(value)


def _flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} must be True or False (got {value!r})")
    return bool(value)


def _record(value):
    return None if value is None else _int("record_every", value, 1)


# --------------------------------------------------------------------------------------------
# Data and optimiser
# --------------------------------------------------------------------------------------------


def _child(seq, k):
    """Child k of a SeedSequence, independent of how often ``spawn`` was called on it."""
    return np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, k),
                                  pool_size=seq.pool_size)


def _signs(rng, shape):
    return 2.0 * rng.integers(0, 2, size=shape) - 1.0


def _inputs(rng, P, N, kind):
    return _signs(rng, (P, N)) if kind == "binary" else rng.standard_normal((P, N))


def _labels(x, teacher):
    """y = sign(x·w*) with sign(0) = +1; x is (P, N)."""
    return np.where(x @ teacher >= 0.0, 1.0, -1.0)


def _task1_data(seq, N, P, kind):
    rng = np.random.default_rng(seq)
    teacher = _signs(rng, N)
    x = _inputs(rng, P, N, kind)
    theta0 = rng.standard_normal(N)
    return teacher, x, _labels(x, teacher), theta0


def _task2_data(seq, teacher1, P, r0, kind):
    rng = np.random.default_rng(seq)
    N = teacher1.size
    B = np.where(rng.random(N) < 0.5 * (1.0 + r0), 1.0, -1.0)
    teacher2 = B * teacher1
    x = _inputs(rng, P, N, kind)
    return teacher2, x, _labels(x, teacher2)


def adam(theta0, x, y, *, epochs: int, lr: float, weight_decay: float, gamma: float = 0.0,
         theta_ref=None, unit_inputs: bool = False, record_every: int | None = None,
         teachers=(), bar=None) -> tuple[np.ndarray, list]:
    """Full-batch Adam on the fields, the scripts' ``Adamoptim`` (module docstring).

    g = ∂L/∂θ (:func:`loss_and_gradient`), m ← β₁m + (1−β₁)g, s ← β₂s + (1−β₂)g²,
    θ ← θ − lr [m̂/(√ŝ + ε) + wd θ] with m̂ = m/(1−β₁^t), ŝ = s/(1−β₂^t), t = 1, 2, …

    Parameters
    ----------
    theta0 : (..., N) array
        Start (not modified).
    x, y, gamma, theta_ref, unit_inputs
        As in :func:`loss_and_gradient`.
    epochs, lr, weight_decay
        Number of full-batch steps, learning rate, decoupled weight decay.
    record_every, teachers
        Every ``record_every`` epochs, the clipped overlaps p with each array of ``teachers``
        ((..., N) each) are recorded.
    bar
        A tqdm bar updated once per epoch, or None.

    Returns
    -------
    theta : (..., N) array
        Final fields.
    records : list of (epoch, [p per teacher])
    """
    b1, b2 = ADAM_BETAS
    theta = np.array(theta0, dtype=float, copy=True)
    first = np.zeros_like(theta)
    second = np.zeros_like(theta)
    records = []
    for t in range(1, epochs + 1):
        _, g = loss_and_gradient(theta, x, y, gamma=gamma, theta_ref=theta_ref,
                                 unit_inputs=unit_inputs)
        first = b1 * first + (1.0 - b1) * g
        second = b2 * second + (1.0 - b2) * g * g
        step = (first / (1.0 - b1 ** t)) / (np.sqrt(second / (1.0 - b2 ** t)) + ADAM_EPS)
        theta = theta - lr * (step + weight_decay * theta)
        if record_every is not None and t % record_every == 0:
            records.append((t, [clipped_overlap(theta, w) for w in teachers]))
        if bar is not None:
            bar.update(1)
    return theta, records


def _batches(seeds, P, N):
    size = max(1, BATCH_FLOATS // max(1, P * N))
    return [range(i, min(i + size, seeds)) for i in range(0, seeds, size)]


def _history(records, names):
    if not records:
        return {}
    out = {"epoch": np.array([t for t, _ in records])}
    for k, name in enumerate(names):
        out[name] = np.stack([ps[k] for _, ps in records], axis=-1)
    return out


def _join_histories(parts):
    parts = [h for h in parts if h]
    if not parts:
        return {}
    out = {"epoch": parts[0]["epoch"]}
    for name in parts[0]:
        if name != "epoch":
            out[name] = np.concatenate([h[name] for h in parts], axis=0)
    return out


def _train_error(theta, x, y):
    student = np.where(theta >= 0.0, 1.0, -1.0)
    pred = np.where(np.matmul(x, student[..., None])[..., 0] >= 0.0, 1.0, -1.0)
    return (pred != y).mean(axis=-1) if y.shape[-1] else np.zeros(theta.shape[:-1])


# --------------------------------------------------------------------------------------------
# Drivers
# --------------------------------------------------------------------------------------------


def _task1_settings(N, alpha, seeds, seed, epochs, lr, weight_decay, gamma1, inputs, progress,
                    record_every):
    s = dict(N=_int("N", N, 1), alpha=_float("alpha", alpha, low=0.0),
             seeds=_int("seeds", seeds, 1), seed=_int("seed", seed, 0),
             epochs=_int("epochs", epochs, 0), lr=_float("lr", lr, low=0.0, low_open=True),
             weight_decay=_float("weight_decay", weight_decay, low=0.0),
             gamma1=_float("gamma1", gamma1, low=0.0), inputs=_choice("inputs", inputs, INPUTS),
             progress=_flag("progress", progress), record_every=_record(record_every))
    s["P"] = round(s["alpha"] * s["N"])
    return s


def _run_task1(s, seqs, bar):
    """Task 1 for the seed sequences ``seqs`` (children 0 used); returns per-seed arrays."""
    N, P = s["N"], s["P"]
    unit = s["inputs"] == "binary"
    out = {k: [] for k in ("theta", "teachers", "loss", "train_error")}
    histories = []
    for batch in _batches(len(seqs), P, N):
        data = [_task1_data(_child(seqs[i], 0), N, P, s["inputs"]) for i in batch]
        teacher, x, y, theta0 = (np.stack(parts) for parts in zip(*data, strict=True))
        theta, records = adam(theta0, x, y, epochs=s["epochs"], lr=s["lr"],
                              weight_decay=s["weight_decay"], gamma=s["gamma1"],
                              unit_inputs=unit, record_every=s["record_every"],
                              teachers=(teacher,), bar=bar)
        loss, _ = loss_and_gradient(theta, x, y, gamma=s["gamma1"], unit_inputs=unit)
        out["theta"].append(theta)
        out["teachers"].append(teacher)
        out["loss"].append(loss)
        out["train_error"].append(_train_error(theta, x, y))
        histories.append(_history(records, ("p",)))
    res = {k: np.concatenate(v, axis=0) for k, v in out.items()}
    history = _join_histories(histories)
    if history:
        history = {"epoch": history["epoch"], "eps": clipped_error(history["p"])}
    return res, history


def _task1_result(s, res, history):
    theta, teacher = res["theta"], res["teachers"]
    m = np.tanh(theta)
    p = clipped_overlap(theta, teacher)
    return Task1Training(eps=clipped_error(p), p=p, loss=res["loss"],
                         train_error=res["train_error"], Q=(m * m).mean(axis=-1),
                         r=(m * teacher).mean(axis=-1), theta=theta, teachers=teacher,
                         settings=s, history=history)


def _bar(progress, total, desc):
    return tqdm(total=total, desc=desc, disable=not progress, leave=False)


def train_task1(N: int, alpha: float, *, seeds: int = 20, seed: int = 0, epochs: int = 5000,
                lr: float = 1e-3, weight_decay: float = 1e-3, gamma1: float = 0.0,
                inputs: str = "binary", progress: bool = False,
                record_every: int | None = None) -> Task1Training:
    """Train task 1 by full-batch Adam on the fields θ (``SecondTaskGD.py``'s first stage).

    Parameters
    ----------
    N
        Number of weights (≥ 1).
    alpha
        Load α ≥ 0; P = round(α N) examples.
    seeds
        Number of independent runs (teacher, data, initial θ ~ N(0, 1)); ≥ 1.
    seed
        Root of ``SeedSequence(seed).spawn(seeds)``; ≥ 0.
    epochs
        Full-batch Adam steps (≥ 0).
    lr, weight_decay
        Adam learning rate (> 0) and decoupled weight decay (≥ 0).
    gamma1
        Weight of Σ_i KL(m_i ‖ 0) (appendix variant, KL to the uniform prior); 0 in the main text.
    inputs
        ``"binary"`` (±1, the authors') or ``"gaussian"``.
    progress
        Show a tqdm progress bar (one tick per epoch and batch of seeds).
    record_every
        If given, record ε of sign(θ) every that many epochs (``history``).

    Returns
    -------
    Task1Training
        Per-seed eps, p, loss, train_error, Q, r, final θ and teachers.

    Raises
    ------
    ParameterError
        A parameter outside its domain (the message names it and its range).
    """
    s = _task1_settings(N, alpha, seeds, seed, epochs, lr, weight_decay, gamma1, inputs,
                        progress, record_every)
    seqs = np.random.SeedSequence(s["seed"]).spawn(s["seeds"])
    total = s["epochs"] * len(_batches(s["seeds"], s["P"], s["N"]))
    with _bar(s["progress"], total, "task 1") as bar:
        res, history = _run_task1(s, seqs, bar)
    return _task1_result(s, res, history)


def train_task2(N: int, alpha1: float, alpha2: float, r0: float, gamma: float, *,
                seeds: int = 20, seed: int = 0, epochs1: int = 5000, epochs2: int = 20000,
                lr1: float = 1e-3, lr2: float = 5e-3, weight_decay: float = 1e-3,
                inputs: str = "binary", progress: bool = False,
                record_every: int | None = None) -> Task2Training:
    """Train task 1 (no KL), then task 2 with γ Σ_i KL(m_i ‖ m¹_i) to the task-1 solution.

    The protocol of ``SecondTaskGD.py``: task 1 as :func:`train_task1` (``epochs1``, ``lr1``,
    ``weight_decay``, γ₁ = 0); then a fresh Adam (``epochs2``, ``lr2``, ``weight_decay``)
    from θ¹ on −Σ_μ ln H(−y²u/σ) + γ Σ_i KL(m_i ‖ m¹_i), θ' = θ¹, with P₂ = round(α₂ N) fresh
    examples labelled by teacher 2, w²*_i = B_i w¹*_i, P(B_i = +1) = (1 + r₀)/2.

    Parameters
    ----------
    N, seeds, seed, weight_decay, inputs, progress
        As in :func:`train_task1`.
    alpha1, alpha2
        Loads α₁, α₂ ≥ 0.
    r0
        Teacher similarity r₀ ∈ [−1, 1].
    gamma
        KL weight γ ≥ 0 (1 and 0.1 in the paper).
    epochs1, epochs2, lr1, lr2
        Adam steps and learning rates of the two tasks.
    record_every
        If given, record ε¹, ε² every that many task-2 epochs (and ε during task 1, in
        ``task1.history``).

    Returns
    -------
    Task2Training
        Per-seed eps1, eps2, p1, p2, R21, r2, Q2, loss, final θ, both teachers and the task-1
        result.

    Raises
    ------
    ParameterError
        A parameter outside its domain (the message names it and its range).
    """
    s1 = _task1_settings(N, alpha1, seeds, seed, epochs1, lr1, weight_decay, 0.0, inputs,
                         progress, record_every)
    s1 = {("alpha1" if k == "alpha" else k): v for k, v in s1.items()}
    s = dict(N=s1["N"], alpha1=s1["alpha1"], alpha2=_float("alpha2", alpha2, low=0.0),
             r0=_float("r0", r0, low=-1.0, high=1.0), gamma=_float("gamma", gamma, low=0.0),
             seeds=s1["seeds"], seed=s1["seed"], epochs1=_int("epochs1", epochs1, 0),
             epochs2=_int("epochs2", epochs2, 0), lr1=_float("lr1", lr1, low=0.0, low_open=True),
             lr2=_float("lr2", lr2, low=0.0, low_open=True), weight_decay=s1["weight_decay"],
             inputs=s1["inputs"], progress=s1["progress"], record_every=s1["record_every"])
    N = s["N"]
    s.update(P1=s1["P"], P2=round(s["alpha2"] * N))
    task1_settings = dict(N=N, alpha=s["alpha1"], seeds=s["seeds"], seed=s["seed"],
                          epochs=s["epochs1"], lr=s["lr1"], weight_decay=s["weight_decay"],
                          gamma1=0.0, inputs=s["inputs"], progress=s["progress"],
                          record_every=s["record_every"], P=s["P1"])
    seqs = np.random.SeedSequence(s["seed"]).spawn(s["seeds"])
    total = s["epochs1"] * len(_batches(s["seeds"], s["P1"], N))
    with _bar(s["progress"], total, "task 1") as bar:
        res1, history1 = _run_task1(task1_settings, seqs, bar)
    task1 = _task1_result(task1_settings, res1, history1)

    unit = s["inputs"] == "binary"
    P2 = s["P2"]
    out = {k: [] for k in ("theta", "teachers2", "loss")}
    histories = []
    batches = _batches(s["seeds"], P2, N)
    with _bar(s["progress"], s["epochs2"] * len(batches), "task 2") as bar:
        for batch in batches:
            data = [_task2_data(_child(seqs[i], 1), task1.teachers[i], P2, s["r0"],
                                s["inputs"]) for i in batch]
            teacher2, x, y = (np.stack(parts) for parts in zip(*data, strict=True))
            theta1 = task1.theta[batch.start:batch.stop]
            teacher1 = task1.teachers[batch.start:batch.stop]
            theta, records = adam(theta1, x, y, epochs=s["epochs2"], lr=s["lr2"],
                                  weight_decay=s["weight_decay"], gamma=s["gamma"],
                                  theta_ref=theta1, unit_inputs=unit,
                                  record_every=s["record_every"], teachers=(teacher1, teacher2),
                                  bar=bar)
            loss, _ = loss_and_gradient(theta, x, y, gamma=s["gamma"], theta_ref=theta1,
                                        unit_inputs=unit)
            out["theta"].append(theta)
            out["teachers2"].append(teacher2)
            out["loss"].append(loss)
            histories.append(_history(records, ("p1", "p2")))
    theta = np.concatenate(out["theta"], axis=0)
    w1 = task1.teachers
    w2 = np.concatenate(out["teachers2"], axis=0)
    m = np.tanh(theta)
    p1, p2 = clipped_overlap(theta, w1), clipped_overlap(theta, w2)
    history = _join_histories(histories)
    if history:
        history = {"epoch": history["epoch"], "eps1": clipped_error(history["p1"]),
                   "eps2": clipped_error(history["p2"])}
    return Task2Training(eps1=clipped_error(p1), eps2=clipped_error(p2), p1=p1, p2=p2,
                         R21=(m * w1).mean(axis=-1), r2=(m * w2).mean(axis=-1),
                         Q2=(m * m).mean(axis=-1), loss=np.concatenate(out["loss"]),
                         theta=theta, teachers=np.stack([w1, w2], axis=1), task1=task1,
                         settings=s, history=history)

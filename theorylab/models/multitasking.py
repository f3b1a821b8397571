"""Multitasking Hebbian network (diluted patterns, parallel retrieval and learning), low storage.

Spec: ``shared/specs/multitasking.md``. Papers: Agliari, Alessandrelli, Barra, Ricci-Tersenghi,
*Parallel learning by multitasking neural networks*, arXiv 2308.04106; Agliari, Barra, Galluzzi,
Guerra, Moauro, *Multitasking associative networks*, PRL 109, 268101 (2012), arXiv 1111.5191.
Conventions as in :mod:`derivations.multitasking` (which derives the self-consistency equations):
K archetypes with entries ±1 w.p. (1 − d)/2 and 0 w.p. d, T = 1/β, learning in convention A.

The closed forms and analyses below are the spec's [DER] results (§4, §5.1, §7, §11, §1.2),
not numbers quoted by the papers (spec review note 3): d_c(K), d*(K), the Landau point and the
thresholds are this package's derivations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from theorylab import lazy
from theorylab.equilibrium import (
    EquilibriumModel,
    LineRecipe,
    Phase,
    Settings,
    VerifyPoint,
    verify_points,
)
from theorylab.parameters import Parameter, ParameterError, validate

derivation = lazy.module("derivations.multitasking")  # sympy: on first use
stats = lazy.module("scipy.stats")

# === physics: closed forms and analyses (no model declaration) ================================

# --- zero temperature, storage (spec §4) -------------------------------------------------------

def cascade(d: ArrayLike, K: int) -> NDArray[np.float64]:
    """The T = 0 hierarchical state m_k = (1 − d) d^{k−1}, k = 1..K (spec §4.1): σ_i follows the
    first non-blank pattern of site i. Shape (K, *shape(d))."""
    d = np.asarray(d, dtype=float)
    k = np.arange(K).reshape(K, *([1] * d.ndim))
    return (1 - d) * d**k


def cascade_is_fixed_point(d: ArrayLike, K: int) -> NDArray[np.bool_]:
    """Whether the cascade is a T = 0 fixed point: 1 − 2d + d^K > 0, i.e. d < d_c(K) (spec §4.1:
    m_k > Σ_{l>k} m_l at every level, so the first non-blank pattern always wins the field)."""
    d = np.asarray(d, dtype=float)
    return 1 - 2 * d + d**K > 0


def critical_dilution(K: int) -> float:
    """d_c(K), the root in (0, 1) of 1 − 2d + d^K (spec §4.1 table), 1 for K <= 2 (never leaves).

    1 − 2d + d^K = (1 − d)(1 − d − d² − .. − d^{K−1}), and the second factor decreases from 1
    to 2 − K on [0, 1]: one root for K >= 3, the inverse of the K-bonacci constant.
    """
    if K <= 2:
        return 1.0
    return optimize.brentq(lambda d: 1 - sum(d**k for k in range(1, K)), 0.0, 1.0, xtol=1e-15)


def cascade_energy(d: ArrayLike, K: int) -> NDArray[np.float64]:
    """T = 0 energy per neuron of the cascade, −((1 − d)²/2)(1 − d^{2K})/(1 − d²) = −|m|²/2."""
    return -0.5 * np.sum(cascade(d, K) ** 2, axis=0)


def majority_state(d: ArrayLike) -> NDArray[np.float64]:
    """The K = 3 "majority" T = 0 state (spec §4.2), q = 1 − d: m_1 = qd² + 2q²d + q³/2,
    m_2 = qd² + q²d + q³/2, m_3 = qd² + q³/2 (three-overlap sites follow the majority,
    two-overlap sites the higher-ranked pattern). The ground state for d > d*(3). Shape (3, ...)."""
    d = np.asarray(d, dtype=float)
    q = 1 - d
    base = q * d**2 + q**3 / 2
    return np.stack([base + 2 * q**2 * d, base + q**2 * d, base])


def symmetric_state(d: ArrayLike, K: int) -> NDArray[np.float64]:
    """Every m_μ of the T = 0 symmetric K-mixture, m = Σ_ξ P(ξ) ξ^1 sign(Σ_ν ξ^ν), sign 0 = 0.

    A site with s non-blank entries, pattern 1 among them (probability C(K−1, s−1) q^s d^{K−s},
    q = 1 − d), gives E[ξ^1 sign(ξ^1 + S')] = P(S' = 0) + P(|S'| = 1)/2
    = C(s−1, ⌊(s−1)/2⌋)/2^{s−1}, with S' the sum of the other s − 1 signs.
    K = 2: (1 − d²)/2; K = 3: (1 − d)(1 + d²)/2 (spec §4.2).
    """
    d = np.asarray(d, dtype=float)
    q = 1 - d
    return sum(math.comb(K - 1, s - 1) * q**s * d ** (K - s)
               * math.comb(s - 1, (s - 1) // 2) / 2 ** (s - 1) for s in range(1, K + 1))


_ASCENT_STEPS = 1000
"""Bound on the ascent of :func:`ground_state` (it stops after a few steps in practice)."""


def _zero_temperature_map(u: NDArray[np.float64], classes, weights) -> NDArray[np.float64]:
    """m = Σ_ξ P(ξ) ξ sign(ξ·u) for directions u of shape (K, S) (spec §3.1, T = 0)."""
    return classes.T @ (weights[:, None] * np.sign(classes @ u))


def ground_state(d: float, K: int, *, starts: int = 512, seed: int = 0) -> NDArray[np.float64]:
    """The T = 0 storage ground state, sorted |m| (spec §4.2): e_0 = −½ max_{|u|=1} Φ(u)²,
    Φ(u) = Σ_ξ P(ξ)|ξ·u|.

    Φ is convex and positively homogeneous, Φ(v) = max_σ m(σ)·v over class-wise spins σ with
    m(σ) = Σ_ξ P(ξ) σ_ξ ξ, so the maximum is max_σ |m(σ)|, reached at a T = 0 fixed point
    m = Σ_ξ P(ξ) ξ sign(ξ·m). The iteration u ← m(sign(Ξu)) never decreases Φ(u/|u|)
    (Φ(v) >= m_k·v for every v) and stops after finitely many steps; it is run from the cascade
    direction and ``starts`` Gaussian directions drawn with ``seed`` (deterministic), and the
    largest |m| is kept.
    """
    xi = derivation.site_classes(K)[0].astype(float)
    weights = derivation.class_weights(np.array([d]), K)[:, 0]
    rng = np.random.default_rng(seed)
    u = np.column_stack([0.1 ** np.arange(K), rng.standard_normal((K, starts))])
    for _ in range(_ASCENT_STEPS):
        new = _zero_temperature_map(u, xi, weights)
        if np.array_equal(new, u):
            break
        u = new
    best = u[:, np.argmax(np.sum(u**2, axis=0))]
    return np.sort(np.abs(best))[::-1]


def ground_state_departure(K: int, *, grid: int = 64, tol: float = 1e-12) -> float:
    """d*(K): the dilution above which the T = 0 ground state is no longer the cascade (spec
    §4.2 table: 0.54692 for K = 3, 0.51868 for K = 4, 0.50720 for K = 5); ``inf`` if it never
    leaves it (K <= 2).

    The gap |m_0(d)|² − |m_cascade(d)|² (:func:`ground_state`) is zero up to d* and positive
    after. It is scanned on ``grid`` points of (0, d_c(K)] (beyond d_c the cascade is not even a
    fixed point); the first positive interval is bisected to 1e-9, and d* is then the crossing of
    the winning configuration σ, whose m(σ, d) = Σ_ξ P(ξ|d) σ_ξ ξ is a polynomial in d, with the
    cascade (brentq).
    """
    def gap(d):
        return float(np.sum(ground_state(d, K) ** 2) - np.sum(cascade(d, K) ** 2))

    points = critical_dilution(K) * np.arange(1, grid + 1) / grid
    above = [i for i, d in enumerate(points) if gap(d) > tol]
    if not above:
        return math.inf
    hi = points[above[0]]
    lo = points[above[0] - 1] if above[0] else 0.0
    while hi - lo > 1e-9:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if gap(mid) > tol else (mid, hi)
    xi = derivation.site_classes(K)[0].astype(float)
    # the sorted ground state is itself a T = 0 fixed point (the map commutes with relabelling
    # and flipping patterns), so its spins are those of its own fields
    spins = np.sign(xi @ ground_state(hi, K))

    def branch(d):
        m = xi.T @ (derivation.class_weights(np.array([d]), K)[:, 0] * spins)
        return float(np.sum(m**2) - np.sum(cascade(d, K) ** 2))

    return optimize.brentq(branch, lo, hi, xtol=1e-14)


# --- the Landau point (spec §5.1) and the data moments (spec §1.2) ----------------------------

def chi_hat_moments(r: ArrayLike, M: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    """E[χ̂], E[χ̂²], E[χ̂⁴] of χ̂ = S/(rM), S = 2B − M, B ~ Bin(M, (1 + r)/2) (spec §1.2):

        E S = Mr,  E S² = M + M(M−1) r²,
        E S⁴ = M + 3M(M−1) + 4M(M−1)r² + 6M(M−1)(M−2)r² + M(M−1)(M−2)(M−3)r⁴,

    so E χ̂ = 1 and E χ̂² = 1 + ρ with ρ = (1 − r²)/(M r²).
    """
    r, M = np.asarray(r, dtype=float), np.asarray(M, dtype=float)
    s2 = M + M * (M - 1) * r**2
    s4 = (M + 3 * M * (M - 1) + 4 * M * (M - 1) * r**2 + 6 * M * (M - 1) * (M - 2) * r**2
          + M * (M - 1) * (M - 2) * (M - 3) * r**4)
    scale = r * M
    return M * r / scale, s2 / scale**2, s4 / scale**4


def landau_dilution(chi2: ArrayLike, chi4: ArrayLike) -> NDArray[np.float64]:
    """d_L = 1 − E[χ̂⁴]/(3 E[χ̂²]²): the pure state is selected just below T_c for d < d_L, the
    symmetric mixture for d > d_L (spec §5.1, any K >= 2). The quartic coefficient of f is
    ∝ E[(Σ ξχ̂x)⁴] = (1 − d)E[χ̂⁴]Σx⁴ + 3(1 − d)²E[χ̂²]² Σ_{μ≠ν}x_μ²x_ν²; at equal |x| the pure
    direction is lower iff (1 − d)E χ̂⁴ < 3(1 − d)²(E χ̂²)². Without data d_L = 2/3."""
    return 1 - np.asarray(chi4, dtype=float) / (3 * np.asarray(chi2, dtype=float) ** 2)


def landau_dilution_gaussian(rho: ArrayLike) -> NDArray[np.float64]:
    """d_L(ρ) = 1 − (1 + 6ρ + 3ρ²)/(3(1 + ρ)²) for χ̂ = 1 + √ρ z (spec §5.1: 2/3 at ρ = 0,
    0.2963 at ρ = 0.5, 1/6 at ρ = 1)."""
    rho = np.asarray(rho, dtype=float)
    return landau_dilution(1 + rho, 1 + 6 * rho + 3 * rho**2)


def landau_dilution_exact(r: ArrayLike, M: ArrayLike) -> NDArray[np.float64]:
    """d_L for the exact binomial χ̂ (spec §5.1: 0.4208 at r = 0.5, M = 8)."""
    _, chi2, chi4 = chi_hat_moments(r, M)
    return landau_dilution(chi2, chi4)


# --- data sets and learning thresholds (spec §1.2, §1.3, §7) ----------------------------------

def dataset_entropy(r: ArrayLike, M: ArrayLike) -> NDArray[np.float64]:
    """ρ = (1 − r²)/(M r²) (spec §1.2)."""
    r = np.asarray(r, dtype=float)
    return (1 - r**2) / (np.asarray(M, dtype=float) * r**2)


def examples_for_entropy(r: ArrayLike, rho: ArrayLike) -> NDArray[np.float64]:
    """M = (1 − r²)/(r² ρ), the number of examples of quality r giving entropy ρ (e.g. the regime
    threshold M_c from ρ_c, spec §7.1)."""
    r = np.asarray(r, dtype=float)
    return (1 - r**2) / (r**2 * np.asarray(rho, dtype=float))


def quality_for_entropy(rho: ArrayLike, M: ArrayLike) -> NDArray[np.float64]:
    """r = (1 + ρM)^{−1/2} (spec §1.2, the group's convention)."""
    return (1 + np.asarray(rho, dtype=float) * np.asarray(M, dtype=float)) ** -0.5


def convention_a_temperature(T: ArrayLike, rho: ArrayLike) -> NDArray[np.float64]:
    """The convention-A temperature (1 + ρ)T equivalent to a convention-B system at T
    (H_B = H_A/(1 + ρ), spec §1.3)."""
    return (1 + np.asarray(rho, dtype=float)) * np.asarray(T, dtype=float)


def critical_temperature(d: ArrayLike, rho: ArrayLike = 0.0,
                         convention: str = "A") -> NDArray[np.float64]:
    """T_c where the paramagnet becomes unstable: 1 − d in convention A (any r, M; storage),
    (1 − d)/(1 + ρ) in convention B (spec §5.1, §7.1)."""
    if convention not in ("A", "B"):
        raise ValueError(f"convention must be 'A' or 'B' (got {convention!r})")
    Tc = 1 - np.asarray(d, dtype=float)
    return Tc if convention == "A" else Tc / (1 + np.asarray(rho, dtype=float))


def convention_b_threshold(r: ArrayLike, d: ArrayLike, beta: ArrayLike) -> NDArray[np.float64]:
    """M_⊗ = (1 − r²)/(r²[β(1 − d) − 1]): convention B retrieves for M > M_⊗ (spec §7.1; r = 0.5,
    d = 0.3, β = 5 gives 1.2). ``inf`` where β(1 − d) <= 1 (no M suffices)."""
    r, d, beta = (np.asarray(a, dtype=float) for a in (r, d, beta))
    excess = beta * (1 - d) - 1
    with np.errstate(divide="ignore"):
        return np.where(excess > 0, (1 - r**2) / (r**2 * np.where(excess > 0, excess, 1.0)),
                        np.inf)


def tolerance_threshold(r: ArrayLike, epsilon: ArrayLike = 0.01) -> NDArray[np.float64]:
    """M >= θ_ε²(1 − r²)/r², θ_ε = Φ⁻¹(1 − ε): a lone site of the cascade flips with probability
    Φ(−1/√ρ) <= ε (spec §7.2; ε = 0.01 gives θ = 2.326, M >= 5.41(1 − r²)/r²)."""
    r = np.asarray(r, dtype=float)
    theta = special.ndtri(1 - np.asarray(epsilon, dtype=float))
    return theta**2 * (1 - r**2) / r**2


@dataclass(frozen=True)
class SignalToNoise:
    """One-step stability of the cascade configuration σ^(h) under Gaussian data (spec §7.2).

    Attributes
    ----------
    classes : ndarray, shape (C, K)
        The non-blank site classes up to the gauge (first non-blank entry +1).
    weights : ndarray, shape (C,)
        Their probabilities (gauge multiplicity included).
    level : ndarray of int, shape (C,)
        k, the first non-blank pattern (1-based): σ^(h) = ξ^k there.
    mean, std : ndarray, shape (C,)
        Of σ_i h_i ∝ d^{k−1} χ̂^k + Σ_{μ∈A} s_μ d^{μ−1} χ̂^μ (later non-blank levels A,
        s_μ = ξ^k ξ^μ).
    stable : ndarray, shape (C,)
        P(σ_i h_i > 0) = Φ(mean/std) (at ρ = 0: 1, 0 or ½ by the sign of the mean).
    magnetisation : ndarray, shape (K,)
        m after one zero-T sweep from σ^(h): Σ_ξ P(ξ) ξ^μ erf(mean/(√2 std)).
    """

    classes: NDArray[np.int8]
    weights: NDArray[np.float64]
    level: NDArray[np.int64]
    mean: NDArray[np.float64]
    std: NDArray[np.float64]
    stable: NDArray[np.float64]
    magnetisation: NDArray[np.float64]


def signal_to_noise(d: float, K: int, rho: float) -> SignalToNoise:
    """The signal-to-noise analysis of spec §7.2 at dilution d and data entropy ρ.

    The field on σ^(h) is h_i ∝ Σ_μ d^{μ−1} ξ_i^μ χ̂_i^μ, χ̂ = 1 + √ρ z (the factor r(1 − d) of
    p_μ drops out). K = 1 gives m = (1 − d) erf(1/√(2ρ)), the stat-mech T = 0 value; at ρ = 0
    every class is stable iff 1 − 2d + d^K > 0 (§4.1). Lone sites have SNR 1/√ρ.
    """
    classes, _ = derivation.site_classes(K)
    weights = derivation.class_weights(np.array([float(d)]), K)[:, 0]
    nonblank = classes.any(axis=1)
    classes, weights = classes[nonblank], weights[nonblank]
    amplitude = float(d) ** np.arange(K)
    mean = classes @ amplitude
    std = np.sqrt(rho * (classes**2 @ amplitude**2))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(std > 0, mean / np.where(std > 0, std, 1.0), np.sign(mean) * np.inf)
    stable = np.where(np.isnan(ratio) | ((std == 0) & (mean == 0)), 0.5, stats.norm.cdf(ratio))
    magnetisation = classes.T @ (weights * (2 * stable - 1))
    return SignalToNoise(classes=classes, weights=weights,
                         level=np.argmax(classes != 0, axis=1) + 1, mean=mean, std=std,
                         stable=stable, magnetisation=magnetisation)


# --- classifying a state (spec §11) -----------------------------------------------------------

def classify(m: ArrayLike, tol: float = 1e-6) -> NDArray[np.str_]:
    """The kind of each state m of shape (K, ...) (spec §11), from its sorted |m|:

    * ``paramagnet``: every |m_μ| <= tol;
    * ``pure``: one condensed pattern;
    * ``parallel``: two or more condensed, all equal (the symmetric mixture);
    * ``hierarchical``: two or more condensed, all different (the cascade, the K = 3 majority
      state, or fewer levels with the rest zero);
    * ``partial``: two or more condensed, some equal and some not (e.g. m_1 = m_2 > m_3).

    Values within ``tol`` count as equal. Returns an array of labels of shape m.shape[1:].
    """
    s = -np.sort(-np.abs(np.asarray(m, dtype=float)), axis=0)
    condensed = np.sum(s > tol, axis=0)
    steps = s[:-1] - s[1:]
    among = np.arange(s.shape[0] - 1).reshape(-1, *([1] * (s.ndim - 1))) < condensed - 1
    equal = np.sum(among & (steps <= tol), axis=0)
    pairs = np.maximum(condensed - 1, 0)
    label = np.where(equal == pairs, "parallel", np.where(equal == 0, "hierarchical", "partial"))
    return np.where(condensed == 0, "paramagnet", np.where(condensed == 1, "pure", label))


def hierarchy_type(m: ArrayLike, d: float, tol: float = 1e-6) -> str | None:
    """For a T = 0 storage state: ``"cascade"`` if its sorted |m| is (1 − d)d^{k−1}
    (:func:`cascade`), ``"majority"`` if K = 3 and it is :func:`majority_state`, else ``None``
    (spec §4, §5.3's H vs H*)."""
    s = np.sort(np.abs(np.asarray(m, dtype=float)))[::-1]
    if np.all(np.abs(s - cascade(d, s.size)) <= tol):
        return "cascade"
    if s.size == 3 and np.all(np.abs(s - majority_state(d)) <= tol):
        return "majority"
    return None


# === the model declaration (the engine does the rest: theorylab.equilibrium) ===================

PROTOCOLS = ("storage", "supervised", "unsupervised")
THRESHOLD = 1e-6  # |m| below this counts as zero, differences below it as equal (classify)


@dataclass(frozen=True)
class Equations:
    """The engine's view of one case: the derived system plus the model's starts and the
    convention's temperature scale.

    Convention B is convention A at the temperature T (1 + rho) (spec §1.3: H_B = H_A/(1 + rho));
    the derived equations are in convention A, so a B temperature is mapped before they are
    evaluated. Unsupervised learning shares the supervised equations on the archetype-symmetric
    saddle (spec §3.4); its example overlaps are n_{mu a} = r (1 + rho) n_mu.
    """

    system: derivation.System
    convention: str
    M: int | None

    @property
    def variables(self) -> tuple[str, ...]:
        return self.system.variables

    @property
    def lower(self) -> NDArray[np.float64]:
        return self.system.lower

    @property
    def upper(self) -> NDArray[np.float64]:
        return self.system.upper

    def _rho(self, params) -> NDArray[np.float64]:
        if self.system.average == "gaussian":
            return np.asarray(params["rho"], dtype=float)
        if self.system.average == "exact":
            return dataset_entropy(np.asarray(params["r"], dtype=float), self.M)
        return np.zeros_like(np.asarray(params["d"], dtype=float))

    def _params(self, params) -> dict:
        if self.convention == "A" or self.system.zero_temperature:
            return params
        return {**params, "T": np.asarray(params["T"], dtype=float) * (1.0 + self._rho(params))}

    def F(self, x, params):
        return self.system.F(x, self._params(params))

    def jacobian(self, x, params):
        return self.system.jacobian(x, self._params(params))

    def thermodynamics(self, x, params):
        """f and u per neuron in the chosen convention (B: those of A divided by 1 + rho)."""
        f, u = self.system.thermodynamics(x, self._params(params))
        if self.convention == "B":
            scale = 1.0 + self._rho(params)
            return f / scale, u / scale
        return f, u

    def order_parameters(self, x, params):
        return self.system.order_parameters(x, self._params(params))

    def starts(self, params) -> dict[str, NDArray[np.float64]]:
        """Spec §11: the cascade, the pure state, the symmetric mixture, (1, 1, 1/2, ..) and a
        split version of it, all scaled by (1 - d); for K = 3 the majority state (spec §4.2),
        for K >= 4 the T = 0 ground state (:func:`ground_state`); the paramagnet."""
        d = np.asarray(params["d"], dtype=float)
        K = self.system.K
        level = np.arange(K)[:, None]
        scale = np.maximum(1.0 - d, 1e-3)
        starts = {"paramagnet": np.zeros((K, d.size)),
                  "pure": np.where(level == 0, scale, 0.0)}
        if K > 1:
            starts["hierarchical:cascade"] = scale * np.maximum(d, 0.05) ** level
            starts["parallel"] = np.broadcast_to(0.6 * scale, (K, d.size)).copy()
        if K > 2:
            starts["partial"] = np.where(level < 2, 1.0, 0.5) * 0.6 * scale
            # a hierarchy next to the partial state (its pair split): where partial -> H is
            # continuous, the cascade start runs off to other mixtures
            starts["hierarchical:split"] = np.select([level == 0, level == 1], [1.1, 0.9],
                                                     0.2) * 0.6 * scale
        if K == 3:
            starts["hierarchical:majority"] = np.array([majority_state(v) for v in d]).T
        if K > 3:
            # for K >= 4 the T = 0 ground state beyond d*(K) mixes cascade and majority levels
            # in ways no closed form above covers: start from the ground-state search itself
            values, where = np.unique(d, return_inverse=True)
            ground = np.array([ground_state(v, K, starts=64) for v in values])
            starts["hierarchical:ground"] = ground[where.ravel()].T
        return starts


def _member(label: str):
    def member(ops, params):
        m = np.array([v for k, v in ops.items() if k.startswith("m")])
        return classify(m, THRESHOLD) == label

    return member


PHASES = (
    Phase("paramagnet", "every m_mu = 0", _member("paramagnet")),
    Phase("pure", "one archetype retrieved, m = (m_1, 0, ..)", _member("pure")),
    Phase("hierarchical", "several archetypes at different amplitudes (the T = 0 cascade "
          "m_k = (1 - d) d^(k-1) of Agliari et al. 2012, or the K = 3 majority state)",
          _member("hierarchical")),
    Phase("partial", "several archetypes, some at equal amplitude (K = 3: m_1 = m_2 > m_3)",
          _member("partial")),
    Phase("parallel", "every condensed archetype at the same amplitude (the symmetric "
          "mixture)", _member("parallel")),
)


def _exact_in_K(function, kind_of_value: str):
    """A line located in closed form as a function of K (T = 0, storage)."""

    def exact(fixed: str, value: float, case: Mapping) -> dict:
        K = int(value)
        d = function(K)
        found = bool(np.isfinite(d) and d < 1)
        return {"K": K, "d": float(d) if found else None, "found": found,
                **({} if found else {"message": f"no {kind_of_value} for K = {K}"})}

    return exact


def _paramagnet_seed(fixed, value, case):
    """The paramagnet at high T (given d) or at d close to one (given T)."""
    return (2.0, -1.0) if fixed == "d" else (1.0, -1.0)


def _needs_learning(case):
    if case["protocol"] == "storage":
        return "a line of the learning protocols (supervised, unsupervised)"
    if case["average"] != "gaussian":
        return "traced with the Gaussian data average (average=gaussian, parameter rho)"
    return None


def _needs_storage(case):
    return None if case["protocol"] == "storage" else "a line of the storage protocol"


def _landau_point(case: Mapping) -> tuple[dict, ...]:
    """Storage: the pure and parallel instability lines end at the Landau point
    (d, T) = (2/3, 1/3) on T_c = 1 - d, where the selection just below T_c flips (spec §5.1)."""
    if case["protocol"] != "storage":
        return ()
    return ({"d": 2.0 / 3.0, "T": 1.0 / 3.0,
             "why": "the Landau point (d, T) = (2/3, 1/3) on T_c = 1 - d"},)


LINES = {
    "cascade-fixed-point": LineRecipe(
        "spinodal", "T = 0, storage: the cascade m_k = (1 - d) d^(k-1) stops being a fixed "
        "point at d_c(K), the root of 1 - 2d + d^K (from the T = 0 fixed-point equation)", "K", "d",
        exact=_exact_in_K(critical_dilution, "critical dilution (the cascade is always a fixed "
                          "point)")),
    "ground-state-departure": LineRecipe(
        "first-order", "T = 0, storage: the ground state leaves the cascade (for the majority "
        "state) at d*(K) (from the T = 0 ground-state search)", "K", "d",
        exact=_exact_in_K(ground_state_departure, "departure (the cascade is the ground state)")),
    "paramagnet-instability": LineRecipe(
        "continuous", "the paramagnet's instability T_c = 1 - d (convention A; B: "
        "(1 - d)/(1 + rho); the paramagnet's Hessian)", "d", "T", branch="paramagnet",
        seed=_paramagnet_seed),
    "pure-instability": LineRecipe(
        "continuous", "the pure state loses stability towards a second archetype (K = 2: "
        "T_{P->H}(d) -> d(1 - d) at low T)", "d", "T", branch="pure",
        seed=lambda fixed, value, case: (1e-3, 1.0), meets=_landau_point,
        absent=lambda case: None if case["K"] > 1 else "K = 1 has no other archetype"),
    "parallel-instability": LineRecipe(
        "continuous", "the symmetric (parallel) state loses stability towards a hierarchy "
        "(K = 2: T_{S->H}(d) -> (1 - d)^2)", "d", "T", branch="parallel",
        meets=_landau_point,
        seed=lambda fixed, value, case: (0.99 * (1 - value), -1.0) if fixed == "d" else None,
        absent=lambda case: None if case["K"] > 1 else "K = 1 has no mixture"),
    "parallel-instability-rho": LineRecipe(
        "continuous", "learning: the parallel state loses stability towards a hierarchy as "
        "the data entropy rho falls, rho_c(d) (K = 3: the partial state "
        "appears first)", "d", "rho", branch="parallel",
        seed=lambda fixed, value, case: (3.0, -1.0) if fixed == "d" else None,
        absent=lambda case: _needs_learning(case) or (
            None if case["K"] > 1 else "K = 1 has no mixture")),
    "partial-instability-rho": LineRecipe(
        "continuous", "learning, K >= 3: the partial state m_1 = m_2 > m_3 loses stability "
        "towards a hierarchy as rho falls (K = 3: hierarchical -> partial is continuous)",
        "d", "rho", branch="partial",
        seed=lambda fixed, value, case: (3.0, -1.0) if fixed == "d" else None,
        absent=lambda case: _needs_learning(case) or (
            None if case["K"] > 2 else "K = 2 has no partial state")),
    "parallel-thermodynamic-rho": LineRecipe(
        "first-order", "learning: where the parallel state stops being the thermodynamic state "
        "as rho falls (K = 3: partial -> parallel is first order)", "d", "rho",
        branch="parallel", seed=lambda fixed, value, case: (3.0, -1.0) if fixed == "d" else None,
        absent=lambda case: _needs_learning(case) or (
            None if case["K"] > 2 else "continuous for K = 2: parallel-instability-rho")),
    "tolerance-threshold": LineRecipe(
        "signal-to-noise", "examples needed for a lone site to be stable with probability "
        "1 - epsilon (epsilon = 0.01): M = theta^2 (1 - r^2)/r^2, theta = Phi^-1(1 - epsilon) "
        "(a site's signal-to-noise ratio, Agliari et al. 2023)", "r", "M",
        exact=lambda fixed, value, case: _threshold_point(fixed, value, tolerance_threshold)),
    "paramagnetic-threshold-B": LineRecipe(
        "continuous", "convention B: the paramagnet becomes unstable (learning starts) for "
        "M > M_x(r, d, beta) = (1 - r^2)/(r^2 [beta (1 - d) - 1]) (the paramagnet's Hessian)",
        "r", "M",
        exact=lambda fixed, value, case: _threshold_point(
            fixed, value, lambda r: convention_b_threshold(r, case["d"], 1.0 / case["T"])
            if case["T"] > 0 else np.nan),
        absent=lambda case: None if case["protocol"] != "storage" and case["T"] > 0 else (
            "a finite-T threshold of the learning protocols")),
}


def _threshold_point(fixed: str, value: float, threshold) -> dict:
    """A threshold M(r) at given r, or the r at which it equals a given M (monotone in r)."""
    if fixed == "r":
        M = float(threshold(value))
        found = bool(np.isfinite(M) and M > 0)
        return {"r": value, "M": M if found else None, "found": found}
    r = optimize.brentq(lambda r: float(threshold(r)) - value, 1e-6, 1.0 - 1e-12) if float(
        threshold(1e-6)) > value > float(threshold(1.0 - 1e-12)) else None
    return {"M": value, "r": r, "found": r is not None}


def allowance(N: int) -> float:
    """Finite-N allowance on a sorted overlap away from transitions: quenched pattern
    fluctuations of order 1/sqrt(N) (spec §9.3: about 0.01 at N = 2e4)."""
    return 2.0 / math.sqrt(N)


def _verify_point(theory: dict, N: int, sweeps: int, protocol: str = "storage",
                  **simulation) -> VerifyPoint:
    K = theory["K"]
    return VerifyPoint(
        theory={**theory, "protocol": protocol},
        simulation={"N": N, "sweeps": sweeps, **simulation},
        rows=tuple((f"m{k}", f"m{k}", allowance(N)) for k in range(1, K + 1)))


# Spec §13 rows 17-18 and §9.2: storage at the T = 0.02 cascade, supervised and unsupervised
# (exact finite-M theory, convention A) at the §9.2 points; larger N in the full run.
VERIFY_POINTS = (
    _verify_point({"K": 3, "d": 0.3, "T": 0.02}, 20000, 100, start="cascade"),
    _verify_point({"K": 2, "d": 0.5, "T": 0.05, "r": 0.5, "M": 8, "average": "exact"}, 20000,
                  100, "supervised", start="cascade"),
    _verify_point({"K": 2, "d": 0.5, "T": 0.05, "r": 0.5, "M": 8, "average": "exact"}, 20000,
                  100, "unsupervised", start="cascade"),
)
VERIFY_POINTS_FULL = (
    _verify_point({"K": 3, "d": 0.3, "T": 0.02}, 80000, 200, start="cascade"),
    _verify_point({"K": 3, "d": 0.6, "T": 0.02}, 80000, 200, start="cascade"),
    _verify_point({"K": 2, "d": 0.2, "T": 0.02, "r": 0.2, "M": 24, "average": "exact"}, 80000,
                  200, "supervised", start="cascade"),
    _verify_point({"K": 2, "d": 0.2, "T": 0.02, "r": 0.2, "M": 24, "average": "exact"}, 80000,
                  200, "unsupervised", start="cascade"),
    _verify_point({"K": 2, "d": 0.5, "T": 0.02, "r": 0.5, "M": 30, "average": "exact"}, 80000,
                  200, "supervised", start="cascade"),
)

CITATIONS = (
    """@article{Agliari2023parallel,
  author = {Agliari, Elena and Alessandrelli, Andrea and Barra, Adriano and
            Ricci-Tersenghi, Federico},
  title = {Parallel learning by multitasking neural networks},
  journal = {Journal of Statistical Mechanics: Theory and Experiment}, year = {2023},
  doi = {10.1088/1742-5468/ad0a86}, eprint = {2308.04106}, archivePrefix = {arXiv}
}""",
    """@article{Agliari2012multitasking,
  author = {Agliari, Elena and Barra, Adriano and Galluzzi, Andrea and Guerra, Francesco and
            Moauro, Francesco},
  title = {Multitasking associative networks},
  journal = {Physical Review Letters}, volume = {109}, pages = {268101}, year = {2012},
  eprint = {1111.5191}, archivePrefix = {arXiv}
}""",
    """@article{Agliari2014noise,
  author = {Agliari, Elena and Barra, Adriano and Galluzzi, Andrea and Isopi, Marco},
  title = {Multitasking attractor networks with neuronal threshold noise},
  journal = {Neural Networks}, volume = {49}, pages = {19--29}, year = {2014},
  eprint = {1304.4488}, archivePrefix = {arXiv}
}""",
)

LEARNING_ONLY = ("rho", "r", "M", "average", "convention")


class Multitasking(EquilibriumModel):
    """The multitasking Hebbian network, low storage; see the module docstring."""

    name = "multitasking"
    title = "multitasking Hebbian network (diluted patterns), low storage"
    parameters = (
        Parameter("K", "number of archetypes (low storage: finite K)", "int", 1, 10, default=3),
        Parameter("d", "dilution: P(xi = 0)", "float", 0.0, 1.0),
        Parameter("T", "temperature T = 1/beta (H = -(N/2) sum_mu m_mu^2 for storage); T = 0 "
                  "uses the exact zero-temperature equations", "float", 0.0, default=0.0),
        Parameter("protocol", "couplings from the archetypes (storage), from each archetype's "
                  "example mean (supervised) or from every example (unsupervised)", "choice",
                  choices=PROTOCOLS, default="storage"),
        Parameter("average", "average over the examples' noise: gaussian (CLT, parameter rho) "
                  "or exact (binomial, parameters r and M)", "choice",
                  choices=("gaussian", "exact"), default="gaussian"),
        Parameter("rho", "data-set entropy rho = (1 - r^2)/(M r^2) (Gaussian average)",
                  "float", 0.0, default=0.0),
        Parameter("r", "example quality: P(an entry is kept) = (1 + r)/2", "float", 0.0, 1.0,
                  low_open=True, default=1.0),
        Parameter("M", "examples per archetype", "int", 1, default=1),
        Parameter("convention", "normalisation of the learning couplings: A, c = r^2 (1 + rho); "
                  "B, c = r^2 (1 + rho)^2 (Agliari et al. 2023, arXiv 2308.04106)", "choice",
                  choices=("A", "B"),
                  default="A"),
    )
    simulation_parameters = (
        Parameter("N", "number of neurons", "int", 2, default=4000),
        Parameter("sweeps", "sweeps (N proposals each); the first half is burn-in", "int", 2,
                  default=100),
        Parameter("start", "initial state", "choice",
                  choices=("cascade", "pure", "majority", "random"), default="cascade"),
        Parameter("dynamics", "single-spin dynamics", "choice",
                  choices=("heat-bath", "metropolis"), default="heat-bath"),
    )
    order_parameters = (*(f"m{k}" for k in range(1, 11)), *(f"n{k}" for k in range(1, 11)))
    phase_list = PHASES
    point_parameters = ("d", "T", "rho", "r")
    search_box = {"d": 1.0, "T": 3.0, "rho": 5.0, "r": 1.0}
    # next to a continuous transition the map's eigenvalue nears one and the damped iteration
    # slows down before Newton takes over: more patience than the default
    settings = Settings(patience=100)
    lines = LINES
    citations = CITATIONS
    diagram_axes = ("d", "T")
    presets = {
        "storage-K2": {"K": "2", "d": "0:1:101", "T": "0:1:81"},
        "storage-K3": {"K": "3", "d": "0:1:101", "T": "0:1:81"},
        "learning-K2": {"K": "2", "protocol": "supervised", "T": "0", "d": "0.02:0.98:49",
                        "rho": "0:1.2:61"},
        "learning-K3": {"K": "3", "protocol": "supervised", "T": "0", "d": "0.02:0.98:49",
                        "rho": "0:1.2:61"},
    }

    def validate(self, given):
        """Parameters checked together: rho, r and M belong to the learning protocols; with
        the Gaussian average, rho is given, or computed from r and M."""
        values = super().validate(given)
        learning = values["protocol"] != "storage"
        named = [k for k in LEARNING_ONLY if k in given and values[k] != self.parameter(k).default]
        if not learning and named:
            raise ParameterError(f"{named[0]} applies to the learning protocols (supervised, "
                                 "unsupervised), not to storage")
        from_data = "r" in named or "M" in named
        implied = float(dataset_entropy(values["r"], values["M"]))
        # a rho that (r, M) imply is accepted with them, so validated values validate again
        if from_data and "rho" in named and not math.isclose(values["rho"], implied,
                                                             rel_tol=1e-12, abs_tol=1e-15):
            raise ParameterError("give rho, or r and M (rho = (1 - r^2)/(M r^2)), not both")
        if learning and from_data:  # the exact average reports the rho its (r, M) imply
            values["rho"] = implied
        if learning and values["average"] == "exact" and "rho" in named and not from_data:
            raise ParameterError("the exact average takes r and M (rho is derived from them)")
        return values

    def case(self, params):
        learning = params["protocol"] != "storage"
        return {"K": int(params["K"]), "protocol": params["protocol"],
                "average": params["average"] if learning else None,
                "M": int(params["M"]) if learning and params["average"] == "exact" else None,
                "convention": params["convention"], "d": params.get("d"),
                "T": params.get("T")}

    def systems(self, case):
        protocol = "storage" if case["protocol"] == "storage" else "learning"

        def build(zero_temperature: bool, nodes: int) -> Equations:
            return _equations(case["K"], protocol, case["average"], case["M"],
                              zero_temperature, nodes, case["convention"])

        return build

    def diagram_title(self, others) -> str:
        fixed = ", ".join(f"{k} = {v}" for k, v in others.items()
                          if k in ("K", "protocol", "T", "rho", "r", "M", "convention")
                          and (k in ("K", "protocol") or v != self.parameter(k).default))
        return f"multitasking Hebbian network ({fixed})"

    def solve(self, phase=None, **params):
        """The state, with the smallest eigenvalue of the free energy's Hessian in ``extras``
        (positive: a local minimum; spec §3.1)."""
        solution = super().solve(phase=phase, **params)
        if not solution.converged:
            return solution
        values = self.validate(params)
        eq = self.systems(self.case(values))(values["T"] == 0, self.settings.nodes)
        K = values["K"]
        name = "m" if values["protocol"] == "storage" else "n"
        x = np.array([[solution.order_parameters[f"{name}{k}"]] for k in range(1, K + 1)])
        point = {k: np.array([float(values[k])]) for k in self.point_parameters}
        curvature = float(eq.system.curvature(x, eq._params(point))[0])
        return _with_extras(solution, smallest_hessian_eigenvalue=curvature)

    def simulate(self, seeds: int = 8, seed: int = 0, progress: bool = False, **params):
        """Monte Carlo of the network (:mod:`montecarlo.multitasking`) at one point; learning
        protocols need r and M (the data set is generated)."""
        from montecarlo import multitasking as mc

        theory = self.validate({k: params.pop(k) for k in list(params)
                                if k in {p.name for p in self.parameters}})
        sim = validate(self.simulation_parameters, params)
        return mc.simulate(theory["K"], sim["N"], theory["d"], theory["T"],
                           protocol=theory["protocol"], r=theory["r"], M=theory["M"],
                           convention=theory["convention"], chains=seeds,
                           sweeps=sim["sweeps"], start=sim["start"],
                           dynamics=sim["dynamics"], seed=seed)

    def verify(self, quick: bool = True, progress: bool = False):
        """Theory against Monte Carlo: sorted |m| of storage, supervised and unsupervised
        chains against the theory's state; |Delta| <= 3 stderr + :func:`allowance`."""
        points = VERIFY_POINTS if quick else VERIFY_POINTS + VERIFY_POINTS_FULL
        return verify_points(self, points, progress)


def _with_extras(solution, **extras):
    import dataclasses

    return dataclasses.replace(solution, extras={**solution.extras, **extras})


@cache
def _equations(K, protocol, average, M, zero_temperature, nodes, convention) -> Equations:
    """The case's :class:`Equations` (cached per process)."""
    return Equations(derivation.system(K, protocol, average, M, zero_temperature, nodes),
                     convention, M)


MODEL = Multitasking()

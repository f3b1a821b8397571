"""Deterministic solver of the Franz–Parisi model: task 1, the RS saddle point of the variational
binary perceptron (``shared/specs/franz-parisi.md`` §2), and task 2, the RS Franz–Parisi potential
given a task-1 state (§3); numerics of §4 (Li, Huang, Zou, Huang, arXiv 2212.02846, paper
equation numbers unknown, spec §0).

The equations are those derived in :mod:`derivations.franz_parisi` (:func:`task1_equations`,
:func:`task2_equations`); this module evaluates them by quadrature designed for their integrands,
and iterates them.

Free entropy (spec §2), A = Q̂ − q̂/2, h = √q̂ z + r̂,

    φ₁ = −Q̂Q + ½q̂q − r̂r + G_S + αG_E,
    G_S = E_h ln ∫_{−1}^{1} dm exp[A m² + h m + k₁ S(m)],
    G_E = 2 E_z W(z) ln Z_out(√q z),   W(z) = H(c z),  c = r/√(q − r²),
    Z_out(ω) = E_x H(g)^β,  g = (ω + √(Q − q) x)/√(1 − Q).

Conjugates, by differentiating G_E under the integral (derivation below): with s = √(1 − Q),
R(u) = φ(u)/H(u) the inverse Mills ratio and ⟨·⟩_x the average over Dx H(g)^β/Z_out,

    ∂_ω ln Z_out = −(β/s)⟨R(g)⟩_x,
    q̂ = −2α ∂G_E/∂q = 2α E_z W (β/s)² ⟨R⟩_x²,
    r̂ =   α ∂G_E/∂r = 2α (√q/√(q − r²)) E_z φ(c z) (β/s) ⟨R⟩_x,
    Q̂ =   α ∂G_E/∂Q = 2α E_z W β(β − 1)/(2s²) ⟨R²⟩_x.

Derivation. Z_out(ω; V, s) is the Gaussian smoothing, of variance V = Q − q, of f(y) = H(y/s)^β,
so ∂_V Z_out = ½∂²_ω Z_out (heat equation). (q̂) At fixed r the joint Gaussian (teacher field,
ω = √q z) changes its ω-variance with q while V = Q − q shrinks: ∂_q E[W ln Z] = ½E[W ∂²_ω ln Z]
− ½E[W ∂²_ω Z/Z] = −½E[W (∂_ω ln Z)²]. (Q̂) At fixed q, V and s move: ∂_Q ln Z = ½∂²_ωZ/Z
− (1/2s)·∂_s ln Z with ∂_s H(y/s)^β = βH^{β−1}φ(g) g/s; as ∂²_ωZ/Z = (β/s²)⟨(β − 1)R² + gR⟩ the
g R terms cancel, leaving (β(β − 1)/2s²)⟨R²⟩. (r̂) Only W depends on r, ∂_r W = −φ(cz) z q/(q −
r²)^{3/2}; integrating z φ(z)φ(cz) by parts (it is −∂_z[φ(z)φ(cz)]/(1 + c²)) moves the derivative
onto ln Z_out(√q z). The tests check all three against finite differences of G_E and against
:func:`derivations.franz_parisi.evaluate` of the derived map.

Quadrature (spec §4); every grid is set by :class:`Grids`:

* m-integrals in t = atanh m (dm = sech²t dt) on a uniform grid |t| ≤ ``t_max``, step ``dt``, in
  log space: the trapezoid rule is spectrally accurate for these smooth, doubly-decaying
  integrands, including the boundary layers at m = ±1 under fields ~10³ (here at t ≈ ½ ln 2h).
  ⟨sign m⟩ needs the half-lines t ≷ 0, on which the trapezoid rule is only O(dt²) at the end
  t = 0 (badly so when the measure is a narrow peak next to m = 0, A ≪ 0): each half is done in
  y = ln t, uniform step 5·dt, where the end point is gone and the rule is spectral again.
* Z_out(ω): log-concave integrand ℓ(x) = −x²/2 + β ln H(u), u = (ω + √(Q − q) x)/√(1 − Q), of
  curvature 1 + βκ²R'(u) (κ² = (Q − q)/(1 − Q), R' rising from 0 to 1 across the edge u ≈ 0 of
  H^β), whose mass sits far in the Gaussian tail when z is misclassified. Per ω: the maximum x*
  by Newton (monotone from x = 0: ℓ' is decreasing and concave), the two ends where ℓ is
  ``_DROP`` = 46 below it by Newton (monotone from x* ± √92, outside them by concavity), then a
  trapezoid rule uniform in v(x) = x + 2√βλ asinh(e^{u/2λ}), v' = 1 + √βκ expit(u/λ)^{1/2}: nodes
  at spacing ~1 where the integrand is the plain Gaussian, ~1/(√βκ) where H^β cuts it off (the
  local width there), and already ~λ units of u before the edge, where β ln H(u) is small but
  varies on the u-scale (λ = ``_SMOOTH`` = 4 keeps the stretch's own complex singularities, at
  Im u = ±πλ, away from the real axis). In log space with ``scipy.special.log_ndtr``. With the
  default 96 nodes: ~1e-13 relative for κ² ≲ 50 (the task-1 solutions have κ² ≲ 1), ~1e-6 at
  κ² ~ 700 (1e-9 with 192 nodes).
* z- and h-averages: the split tanh–sinh rule of :func:`theorylab.gaussian.quadrature`, with its
  breakpoint at the features: z = 0 for the energetic term (the teacher step W of width
  √(q − r²)/r and the crossover of Z_out at ω = 0 of width ~√(1 − Q)/√q, both at z = 0), h = 0 for
  the single-site term (the switch of ⟨m⟩ between the modes at m = ±1).

The saddle point is found on the order parameters (q, r, Q) only, x ↦ moments(hats(x)), by
:func:`theorylab.saddle.solve` (damped iteration with Anderson mixing, Newton polish); the
conjugates are O(10³) at α = 2, so a residual on them would not be comparable.

Task 2 (spec §3.2). The task-1 hats are frozen (§3.3); (q₂, r₂, Q₂) and their conjugates — the
same G_E, :func:`conjugates` — are solved with the site measure ∝ exp[A₂m² + b m + kS(m)],
A₂ = Q̂₂ − q̂₂/2, k = βγ, b = √q̂₂ x + r̂₂B + kθ¹ (the KL written as an entropy plus the field
kθ¹, θ¹ = atanh m¹, and the constant (k/2) ln[(1 − m¹²)/4] kept in φ₂). Quadrature:

* the reference enters only through the density of θ¹ (:func:`reference_density`): the task-1
  site measure in t averaged over h₁ on the task-1 grids, so its moments are task 1's; its step
  is divided when k is large so that the fields kθ¹ stay ≤ ``mu_step`` apart;
* the site moments of the task-2 measure are analytic in b for |Im b| < π/2 (Z(b) = ∫e^{bm}μ(dm)
  with |m| ≤ 1 has no zero there), with features of width ~1 at b = 0 and ≳ √|A₂|, k further
  out: they are tabulated exactly (:func:`site_moments`) on a uniform grid of
  u = asinh(b/``b_scale``) and interpolated by a degree-7 spline (~1e-12);
* per mean field μ = kθ¹ + r̂₂B, the x-average is the split tanh–sinh rule with its breakpoint at
  the switch b = 0 (a Gauss–Hermite rule misses it when √q̂₂ ≫ 1: spec §7.8); these averages,
  smoother than the moments, are tabulated in μ on the same lattice and summed over θ¹ and B.

Task 2 is iterated in the free variables (logit Q₂, logit(q₂/Q₂), atanh(r₂/√q₂)): when task 2 is
learnt well the gaps 1 − Q₂, Q₂ − q₂, q₂ − r₂² are ~10⁻⁶ and the map is curved on that scale in
(q, r, Q), where the finite-difference Newton of the task-1 iteration stalls; a Newton polish on
y ↦ y + F(x(y)) − x(y) then brings the residual on (q₂, r₂, Q₂) itself below ``tol``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import interpolate, special

from theorylab import gaussian, saddle

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_DROP = 46.0
"""The x-grid of Z_out ends where its log-integrand is this far below its maximum (e^{−46})."""
_SMOOTH = 4.0
"""Scale λ (in units of u) of the stretch of the x-grid across the edge of H(u)^β; see
:func:`output_channel`."""


@dataclass(frozen=True)
class Grids:
    """Quadrature settings (spec §4).

    Attributes
    ----------
    t_max, dt
        Uniform grid of t = atanh m on [−t_max, t_max].
    x_nodes
        Nodes of the per-ω sinh-mapped trapezoid rule of Z_out.
    z_nodes
        Nodes of the z-average of the energetic term (split tanh–sinh, breakpoint z = 0).
    h_nodes
        Nodes of the h-average of the single-site term (split tanh–sinh, breakpoint h = 0);
        also of the x-average of the task-2 site term (breakpoint b = 0).
    b_scale, b_step
        Task 2: the site moments are tabulated (degree-7 spline) on a uniform grid of
        u = asinh(b/b_scale) with step ``b_step`` (b-spacing b_scale·b_step at b = 0, ∝ |b|
        beyond), and so are their x-averages as functions of the mean field μ.
    mu_step
        Task 2: largest spacing of the reference fields kθ¹ (the θ¹-grid is the t-grid, its step
        divided until k·step ≤ ``mu_step``).
    """

    t_max: float = 22.0
    dt: float = 0.01
    x_nodes: int = 96
    z_nodes: int = 256
    h_nodes: int = 256
    b_scale: float = 2.0
    b_step: float = 0.015
    mu_step: float = 0.25

    def refined(self, t: float = 2.0, x: float = 1.5, z: float = 1.7) -> Grids:
        """Each grid refined: t-step / ``t``, x-nodes × ``x``, z- and h-nodes × ``z``; the task-2
        tables (``b_step``, ``mu_step``) with the t-grid, / ``t``."""
        def even(n: float) -> int:
            return 2 * math.ceil(n / 2)

        return replace(self, dt=self.dt / t, x_nodes=math.ceil(self.x_nodes * x),
                       z_nodes=even(self.z_nodes * z), h_nodes=even(self.h_nodes * z),
                       b_step=self.b_step / t, mu_step=self.mu_step / t)


# --- single site ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SiteMoments:
    """Per field h: ln ∫dm e^{A m² + h m + k₁S(m)}, ⟨m⟩, ⟨m²⟩, ⟨sign m⟩."""

    log_z: NDArray[np.float64]
    mean: NDArray[np.float64]
    square: NDArray[np.float64]
    sign: NDArray[np.float64]


def _site_base(t: NDArray, k1: float) -> NDArray:
    """The h- and A-free part of the site log-integrand in t = atanh m: k₁ S(m) + ln(1 − m²),
    with (1 ± m)/2 = expit(±2t) and ln(1 − m²) = −2 ln cosh t, exact at any |t|."""
    plus, minus = special.expit(2 * t), special.expit(-2 * t)
    entropy = -(plus * special.log_expit(2 * t) + minus * special.log_expit(-2 * t))
    log_jacobian = -2 * (np.abs(t) + np.log1p(np.exp(-2 * np.abs(t))) - math.log(2))
    return k1 * entropy + log_jacobian


def _t_grid(grids: Grids) -> tuple[NDArray, NDArray]:
    """Uniform t nodes on [−t_max, t_max] and m = tanh t."""
    n = round(grids.t_max / grids.dt)
    t = grids.dt * np.arange(-n, n + 1)
    return t, np.tanh(t)


def _log_t_grid(grids: Grids) -> tuple[NDArray, NDArray]:
    """The half-line t > 0 as y = ln t, uniform with step 5·dt from ln t_max down to −40 (the
    sliver t < e^{−40} is negligible): t and m = tanh t."""
    y = np.arange(math.log(grids.t_max), -40.0, -5 * grids.dt)
    t = np.exp(y)
    return t, np.tanh(t)


def site_moments(A: float, h: ArrayLike, k1: float = 0.0, grids: Grids = Grids()) -> SiteMoments:
    """Moments of the single-site measure ∝ exp[A m² + h m + k₁ S(m)] on [−1, 1], per field h.

    Exponents of any size (fields ~10³) are handled in log space; ``log_z`` is the log of the
    m-integral itself (flat dm, so ln 2 at A = h = k₁ = 0). ⟨sign m⟩ = (P₊ − P₋)/(P₊ + P₋) with
    P± = ∫_0^∞ f(±t) dt, each a trapezoid rule in y = ln t: spectrally accurate up to the end
    point t = 0 (where the plain half-line trapezoid rule is O(dt²)), also when the measure is a
    narrow peak next to m = 0.
    """
    h = np.asarray(h, dtype=float)
    t, m = _t_grid(grids)
    base = _site_base(t, k1)
    L = h[..., None] * m + (A * m * m + base)
    top = L.max(axis=-1)
    e = np.exp(L - top[..., None])
    total = e.sum(axis=-1)
    th, mh = _log_t_grid(grids)
    even = A * mh * mh + _site_base(th, k1) + np.log(th)  # dt = t dy
    odd = h[..., None] * mh
    half_top = np.maximum(top, (even + np.abs(odd)).max(axis=-1))[..., None]
    plus = np.exp(even + odd - half_top).sum(axis=-1)
    minus = np.exp(even - odd - half_top).sum(axis=-1)
    return SiteMoments(
        log_z=top + np.log(grids.dt * total),
        mean=(e @ m) / total,
        square=(e @ (m * m)) / total,
        sign=(plus - minus) / (plus + minus),
    )


@dataclass(frozen=True)
class SiteAverages:
    """E_h over h ~ N(r̂, q̂) of the single-site quantities: the order-parameter map."""

    q: float
    r: float
    Q: float
    p: float
    G_S: float
    variance_squared: float
    """E_h(⟨m²⟩ − ⟨m⟩²)², the site factor of the replicon (spec §7a)."""


def site_averages(qhat: float, rhat: float, Qhat: float, k1: float = 0.0,
                  grids: Grids = Grids()) -> SiteAverages:
    """q = E⟨m⟩², r = E⟨m⟩, Q = E⟨m²⟩, p = E⟨sign m⟩ and G_S at the conjugates (spec §2)."""
    h, w = gaussian.quadrature(rhat, max(qhat, 0.0), nodes=grids.h_nodes, breakpoint=0.0)
    s = site_moments(Qhat - qhat / 2, h, k1, grids)
    variance = s.square - s.mean**2
    return SiteAverages(q=float(w @ s.mean**2), r=float(w @ s.mean), Q=float(w @ s.square),
                        p=float(w @ s.sign), G_S=float(w @ s.log_z),
                        variance_squared=float(w @ variance**2))


# --- energetic term ---------------------------------------------------------------------------

def _mills(u: NDArray) -> NDArray:
    """R(u) = φ(u)/H(u), finite for every finite u (≈ u for large u)."""
    return np.exp(-u * u / 2 - _LOG_SQRT_2PI - special.log_ndtr(-u))


@dataclass(frozen=True)
class OutputChannel:
    """Per ω: ln Z_out(ω) and the averages over Dx H(g)^β/Z_out of R(g), R(g)², g R(g)."""

    log_z: NDArray[np.float64]
    R: NDArray[np.float64]
    R2: NDArray[np.float64]
    gR: NDArray[np.float64]


def output_channel(omega: ArrayLike, q: float, Q: float, beta: float,
                   grids: Grids = Grids()) -> OutputChannel:
    """ln E_x H((ω + √(Q − q) x)/√(1 − Q))^β and its x-averages, per ω (0 ≤ q ≤ Q < 1)."""
    omega = np.asarray(omega, dtype=float)
    a, s = math.sqrt(Q - q), math.sqrt(1 - Q)
    kappa = a / s
    # ℓ(x) = −x²/2 + β ln H(u), u = (ω + a x)/s: ℓ' = −x − βκR(u) is decreasing and concave, so
    # Newton from x = 0 (where ℓ' ≤ 0) descends monotonically onto the maximum x* ≤ 0
    x = np.zeros_like(omega)
    for _ in range(100):
        u = (omega + a * x) / s
        R = _mills(u)
        slope = -x - beta * kappa * R
        curvature = -1 - beta * kappa**2 * R * (R - u)
        step = slope / curvature
        x = x - step
        if np.all(np.abs(step) <= 1e-13 * (1 + np.abs(x))):
            break
    u = (omega + a * x) / s
    peak = -x * x / 2 + beta * special.log_ndtr(-u)

    def ell(x: NDArray) -> tuple[NDArray, NDArray]:
        u = (omega + a * x) / s
        return -x * x / 2 + beta * special.log_ndtr(-u), -x - beta * kappa * _mills(u)

    # the ends ℓ(x) = ℓ(x*) − _DROP: concave ℓ lies below −(x − x*)²/2, so x* ± √(2·_DROP) are
    # outside them, and Newton from there approaches each end monotonically
    ends = []
    for side in (-1.0, 1.0):
        xe = x + side * math.sqrt(2 * _DROP)
        for _ in range(200):
            value, slope = ell(xe)
            step = (value - (peak - _DROP)) / slope
            xe = xe - step
            if np.all(np.abs(step) <= 1e-10 * (1 + np.abs(xe))):
                break
        ends.append(xe)
    c = math.sqrt(beta) * _SMOOTH

    def stretch(x: NDArray, omega: NDArray) -> tuple[NDArray, NDArray]:
        """v(x) = x + 2√βλ asinh(e^{u/2λ}) and v' = 1 + √βκ expit(u/λ)^{1/2} (λ = _SMOOTH)."""
        w = (omega + a * x) / (s * _SMOOTH)
        tail = np.exp(-np.abs(w) / 2)
        arc = np.where(w > 0, w / 2 + np.log1p(np.sqrt(1 + tail * tail)), np.arcsinh(tail))
        return x + 2 * c * arc, 1 + math.sqrt(beta) * kappa * np.exp(special.log_expit(w) / 2)

    v_lo, _ = stretch(ends[0], omega)
    v_hi, _ = stretch(ends[1], omega)
    frac = np.linspace(0.0, 1.0, grids.x_nodes)
    v = v_lo[..., None] + (v_hi - v_lo)[..., None] * frac
    hv = (v_hi - v_lo) / (grids.x_nodes - 1)
    # x(v) by Newton from the right of the root (v is increasing and convex: monotone
    # convergence). As asinh(y) ≥ max(ln 2y, 0), v(x) ≥ max(x, x + c(ω + a x)/(sλ) + 2c ln 2),
    # whose inverse, a few steps from x(v), bounds it from the right.
    om = omega[..., None]
    linear = (v - 2 * c * math.log(2) - c * om / (s * _SMOOTH)) / (1 + c * a / (s * _SMOOTH))
    xs = np.minimum(np.minimum(v, linear), ends[1][..., None])
    for _ in range(200):
        value, slope = stretch(xs, om)
        step = (value - v) / slope
        xs -= step
        if np.all(np.abs(step) <= 1e-12 * (1 + np.abs(xs))):  # quadratic: the error is ~ step²
            break
    _, slope = stretch(xs, om)
    g = (om + a * xs) / s
    log_h = special.log_ndtr(-g)
    ell = -xs * xs / 2 + beta * log_h - np.log(slope)
    top = ell.max(axis=-1)
    e = np.exp(ell - top[..., None])
    total = e.sum(axis=-1)
    Rg = np.exp(-g * g / 2 - _LOG_SQRT_2PI - log_h)
    return OutputChannel(
        log_z=top + np.log(total * hv) - _LOG_SQRT_2PI,
        R=np.sum(e * Rg, axis=-1) / total,
        R2=np.sum(e * Rg * Rg, axis=-1) / total,
        gR=np.sum(e * g * Rg, axis=-1) / total,
    )


@dataclass(frozen=True)
class Energetic:
    """G_E, its gradient, and the replicon factor at (q, r, Q, β)."""

    G_E: float
    dq: float
    dr: float
    dQ: float
    curvature_squared: float
    """2 E_z W (∂²_ω ln Z_out)², the energetic factor of the replicon (spec §7a)."""


def energetic(q: float, r: float, Q: float, beta: float, grids: Grids = Grids()) -> Energetic:
    """G_E(q, r, Q) of spec §2 and its analytic derivatives (module docstring).

    Requires 0 < q, r² < q ≤ Q < 1."""
    if not (0 < q and r * r < q <= Q < 1):
        raise ValueError(f"need r² < q <= Q < 1 and q > 0 (got q={q}, r={r}, Q={Q})")
    z, w = gaussian.quadrature(0.0, 1.0, nodes=grids.z_nodes, breakpoint=0.0)
    spread = math.sqrt(q - r * r)
    c = r / spread
    W = special.ndtr(-c * z)
    out = output_channel(math.sqrt(q) * z, q, Q, beta, grids)
    s2 = 1 - Q
    d_omega = -beta / math.sqrt(s2) * out.R
    d2_omega = beta / s2 * ((beta - 1) * out.R2 + out.gR) - d_omega**2
    gauss_cz = np.exp(-(c * z) ** 2 / 2 - _LOG_SQRT_2PI)
    return Energetic(
        G_E=float(2 * w @ (W * out.log_z)),
        dq=float(-(w @ (W * d_omega**2))),
        dr=float(-2 * math.sqrt(q) / spread * (w @ (gauss_cz * d_omega))),
        dQ=float(w @ (W * out.R2)) * beta * (beta - 1) / s2,
        curvature_squared=float(2 * w @ (W * d2_omega**2)),
    )


def conjugates(q: float, r: float, Q: float, alpha: float, beta: float,
               grids: Grids = Grids()) -> tuple[float, float, float]:
    """(q̂, r̂, Q̂) = (−2α ∂G_E/∂q, α ∂G_E/∂r, α ∂G_E/∂Q)."""
    e = energetic(q, r, Q, beta, grids)
    return -2 * alpha * e.dq, alpha * e.dr, alpha * e.dQ


# --- the saddle point -------------------------------------------------------------------------

BRANCH_STARTS = {"poor": (0.05, 0.1, 0.5), "good": (0.97, 0.98, 0.99)}
"""Starting (q, r, Q) of the two task-1 branches: poor (small r) and good (r near 1)."""


@dataclass(frozen=True)
class Task1State:
    """The task-1 RS saddle point at (α, β, k₁), and how well it was solved.

    ``branch`` names the start; where it converged is in r (poor: small r, good: r near 1).
    ``replicon`` is α · 2E_zW(∂²_ω ln Z_out)² · E_h(⟨m²⟩ − ⟨m⟩²)² (spec §7a); ``stable`` is
    ``replicon < 1`` (RS locally stable).
    """

    alpha: float
    beta: float
    k1: float
    branch: str
    q: float
    r: float
    Q: float
    qhat: float
    rhat: float
    Qhat: float
    p: float
    eps_g: float
    phi: float
    replicon: float
    stable: bool
    residual: float
    iterations: int
    converged: bool
    message: str
    grids: Grids = field(default_factory=Grids)

    @property
    def order_parameters(self) -> dict[str, float]:
        return {"q": self.q, "r": self.r, "Q": self.Q, "qhat": self.qhat, "rhat": self.rhat,
                "Qhat": self.Qhat, "p": self.p, "eps_g": self.eps_g}


def _in_domain(q: float, r: float, Q: float) -> bool:
    return 0 < q and r * r < q < Q < 1


def order_parameter_map(x: ArrayLike, alpha: float, beta: float, k1: float = 0.0,
                        grids: Grids = Grids()) -> NDArray[np.float64]:
    """(q, r, Q) ↦ moments of the site measure at the conjugates of (q, r, Q); NaN outside
    r² < q < Q < 1."""
    q, r, Q = (float(v) for v in x)
    if not _in_domain(q, r, Q):
        return np.full(3, np.nan)
    s = site_averages(*conjugates(q, r, Q, alpha, beta, grids), k1, grids)
    return np.array([s.q, s.r, s.Q])


def solve_task1(alpha: float, beta: float = 20.0, k1: float = 0.0, *, branch: str = "poor",
                start: tuple[float, float, float] | None = None, grids: Grids = Grids(),
                tol: float = 1e-11, maxiter: int = 300, damping: float = 0.5) -> Task1State:
    """The task-1 RS saddle point (spec §2) from the start of ``branch`` (or ``start`` = (q, r,
    Q)), by damped iteration with Anderson mixing and a Newton polish on (q, r, Q).

    A start that does not converge within ``maxiter`` (or stalls) is returned with
    ``converged=False`` and the last iterate; nothing is substituted.
    """
    if alpha < 0 or beta <= 0 or k1 < 0:
        raise ValueError(f"need alpha >= 0, beta > 0, k1 >= 0 (got {alpha}, {beta}, {k1})")
    x0 = np.asarray(BRANCH_STARTS[branch] if start is None else start, dtype=float)
    if alpha == 0:
        s = site_averages(0.0, 0.0, 0.0, k1, grids)
        x, iterations, converged = np.array([0.0, 0.0, s.Q]), 0, True
    else:
        def x_map(x):
            return order_parameter_map(x, alpha, beta, k1, grids)

        x, iterations, converged = iterate_free(x_map, x0, tol=tol, maxiter=maxiter,
                                                damping=damping)
    q, r, Q = (float(v) for v in x)
    if not (alpha == 0 or _in_domain(q, r, Q)):
        return Task1State(alpha, beta, k1, branch, q, r, Q, *(math.nan,) * 7, False, math.inf,
                          iterations, False, "left the domain r² < q < Q < 1", grids)
    with np.errstate(all="ignore"):  # an iterate at the domain's edge gives NaN, not converged
        o = task1_observables(q, r, Q, alpha, beta, k1, grids)
    # the residual reported is that of the map on (q, r, Q), from the same site averages
    residual = o.pop("residual")
    converged, message = _verdict(converged, residual, tol, o["phi"], iterations)
    return Task1State(alpha=alpha, beta=beta, k1=k1, branch=branch, q=q, r=r, Q=Q, **o,
                      stable=o["replicon"] < 1, residual=residual, iterations=iterations,
                      converged=converged, message=message, grids=grids)


def _verdict(iterated: bool, residual: float, tol: float, phi: float, iterations: int
             ) -> tuple[bool, str]:
    """Whether a solve converged (the iteration did, the map's residual at the end state is
    ≤ ``tol`` and the free entropy is finite) and the message saying so."""
    converged = iterated and residual <= tol and bool(np.isfinite(phi))
    if converged:
        return True, (f"converged: residual {residual:.1e} <= {tol:g} in {iterations} map "
                      "evaluations")
    return False, (f"did not converge: residual {residual:.1e} (tol {tol:g}) after "
                   f"{iterations} map evaluations")


def error(p: float) -> float:
    """Generalisation error arccos(p)/π of a student at overlap p with its teacher (spec §2),
    p clipped to [−1, 1] against rounding."""
    return math.acos(min(max(p, -1.0), 1.0)) / math.pi


def task1_observables(q: float, r: float, Q: float, alpha: float, beta: float, k1: float = 0.0,
                      grids: Grids = Grids()) -> dict[str, float]:
    """Conjugates (q̂, r̂, Q̂), p = E⟨sign m⟩, ε_g = arccos(p)/π, the free entropy φ₁, the
    replicon (:class:`Task1State`) and the residual max|F(x) − x| of the map at the task-1 order
    parameters (q, r, Q); at α = 0 the conjugates vanish."""
    if alpha == 0:
        e_G, qh, rh, Qh, curvature = 0.0, 0.0, 0.0, 0.0, 0.0
    else:
        e = energetic(q, r, Q, beta, grids)
        e_G, curvature = e.G_E, e.curvature_squared
        qh, rh, Qh = -2 * alpha * e.dq, alpha * e.dr, alpha * e.dQ
    s = site_averages(qh, rh, Qh, k1, grids)
    return {"qhat": qh, "rhat": rh, "Qhat": Qh, "p": s.p, "eps_g": error(s.p),
            "phi": -Qh * Q + qh * q / 2 - rh * r + s.G_S + alpha * e_G,
            "replicon": alpha * curvature * s.variance_squared,
            "residual": max(abs(s.q - q), abs(s.r - r), abs(s.Q - Q))}


# --- task 2: the Franz–Parisi potential -------------------------------------------------------

_SPLINE_DEGREE = 7
_DENSITY_FLOOR = 1e-16
"""θ¹-nodes where the reference density is below this are dropped (their total weight is
< 1e-14)."""


@dataclass(frozen=True)
class Reference:
    """The reference as the next task's site sees it (spec §4): the density of θ = s·atanh m of
    the previous task's equilibrium configuration, in the gauge s = ±1 of the previous task's
    teacher (task 2: θ¹ = atanh m¹, teacher 1 = +1), as nodes ``theta`` with weights
    ``weight`` (Σ weight g(θ) ≈ E g(θ)), and the signed weights ``teachers`` (J, nodes) of the
    earlier teachers j = 1…J (J = the previous task): E[s_j s δ(θ − ·)], whose last row is
    ``weight`` itself. They give the overlaps with every earlier teacher (a chain of tasks,
    :func:`next_reference`)."""

    theta: NDArray[np.float64]
    weight: NDArray[np.float64]
    teachers: NDArray[np.float64]

    @property
    def task(self) -> int:
        """The task this reference is for (one after the last teacher it knows)."""
        return self.teachers.shape[0] + 1


def _tabulate(density: Callable[[NDArray], NDArray], k: float, grids: Grids
              ) -> tuple[NDArray, NDArray]:
    """Nodes and weights of the densities ``density(t)`` (rows; row 0 the probability density,
    which decides the nodes kept) on the t-grid, its step divided so that the fields kθ of the
    next task's site are at most ``grids.mu_step`` apart: (t, step · density(t))."""
    t, _ = _t_grid(grids)
    rows = density(t)
    kept = np.flatnonzero(rows[0] > _DENSITY_FLOOR)
    step = grids.dt
    sub = math.ceil(k * grids.dt / grids.mu_step)
    if sub > 1:
        step = grids.dt / sub
        t = t[kept[0]] + step * np.arange((kept[-1] - kept[0]) * sub + 1)
        rows = density(t)
        kept = np.flatnonzero(rows[0] > _DENSITY_FLOOR)
    return t[kept], step * rows[:, kept]


def _site_density(A: float, k: float, b: NDArray, log_z: NDArray, weights: NDArray,
                  t: NDArray) -> NDArray:
    """Σ_l weights[:, l] e^{L(t, b_l)}/Z(b_l): mixtures of the site density of t = atanh m,
    L = A tanh²t + b tanh t + kS + ln sech²t, over the fields b_l (in blocks of ~2²¹)."""
    m = np.tanh(t)
    out = np.zeros((weights.shape[0], t.size))
    even = A * m * m + _site_base(t, k)
    for block in np.array_split(np.arange(b.size), max(1, t.size * b.size // 2**21)):
        out += weights[:, block] @ np.exp(b[block, None] * m + (even - log_z[block, None]))
    return out


def reference_density(task1: Task1State, k: float, grids: Grids = Grids()) -> Reference:
    """Tabulate the density of θ¹ = atanh m¹, m¹ drawn from the task-1 site measure at the frozen
    task-1 hats (spec §3.3): ρ(θ) = E_{h₁} e^{L₁(θ, h₁)}/Z₁(h₁), L₁ = A₁ tanh²θ + h₁ tanh θ + k₁S
    + ln sech²θ, h₁ ~ N(r̂₁, q̂₁), on the task-1 t-grid (its step divided so that the fields kθ¹
    are at most ``grids.mu_step`` apart). Z₁ is the task-1 quadrature's, so on the plain t-grid
    Σ weight = 1 and Σ weight tanh θ = r₁ to rounding. At k = 0 the reference drops out of the
    task-2 site (b has no kθ¹ term): one node θ = 0 of weight 1.
    """
    if k == 0:
        return Reference(np.zeros(1), np.ones(1), np.ones((1, 1)))
    A1 = task1.Qhat - task1.qhat / 2
    h, w = gaussian.quadrature(task1.rhat, max(task1.qhat, 0.0), nodes=grids.h_nodes,
                               breakpoint=0.0)
    log_z = site_moments(A1, h, task1.k1, grids).log_z
    theta, weights = _tabulate(lambda t: _site_density(A1, task1.k1, h, log_z, w[None], t),
                               k, grids)
    return Reference(theta, weights[0], weights)


def _log_2cosh(b: NDArray) -> NDArray:
    a = np.abs(b)
    return a + np.log1p(np.exp(-2 * a))


def _lattice(lo: float, hi: float, grids: Grids) -> NDArray:
    """The u = asinh(b/b_scale) lattice j·b_step covering [lo, hi] with a margin of spline
    degree + 2 nodes each side (a fixed lattice: the tables do not shift with the range)."""
    step, pad = grids.b_step, _SPLINE_DEGREE + 2
    u_lo = math.floor(math.asinh(lo / grids.b_scale) / step) - pad
    u_hi = math.ceil(math.asinh(hi / grids.b_scale) / step) + pad
    return step * np.arange(u_lo, u_hi + 1)


@dataclass(frozen=True)
class _SiteTable:
    """Site moments of exp[A m² + b m + kS(m)] as splines in u = asinh(b/b_scale): ln Z − ln 2cosh b
    (slowly varying: −ln|b| + const at large |b|), ⟨m⟩, ⟨m²⟩, ⟨sign m⟩."""

    spline: interpolate.BSpline
    scale: float

    @classmethod
    def build(cls, A: float, k: float, lo: float, hi: float, grids: Grids) -> _SiteTable | None:
        """The table, or None where the moments overflow (conjugates ~10⁹, far outside any
        solution, which an iteration may visit on its way)."""
        u = _lattice(lo, hi, grids)
        b = grids.b_scale * np.sinh(u)
        with np.errstate(all="ignore"):
            s = site_moments(A, b, k, grids)
            values = np.stack([s.log_z - _log_2cosh(b), s.mean, s.square, s.sign], axis=-1)
        if not np.isfinite(values).all():
            return None
        return cls(interpolate.make_interp_spline(u, values, k=_SPLINE_DEGREE), grids.b_scale)

    def x_average(self, mu: NDArray, qhat: float, grids: Grids) -> NDArray:
        """E_x over b = μ + √q̂ x, x ~ N(0, 1) (split tanh–sinh, breakpoint b = 0) of ln Z, ⟨m⟩,
        ⟨m⟩², ⟨m²⟩, ⟨sign m⟩, per μ: shape (5,) + μ.shape."""
        b, w = gaussian.quadrature(mu, qhat, nodes=grids.h_nodes, breakpoint=0.0)
        v = self.spline(np.arcsinh(b / self.scale))
        log_z, mean, square, sign = (v[..., i] for i in range(4))
        return np.stack([np.sum(w * f, axis=-1) for f in
                         (log_z + _log_2cosh(b), mean, mean * mean, square, sign)])


@dataclass(frozen=True)
class Task2SiteAverages:
    """Averages over (θ¹, B, x) of the task-2 site measure: the order-parameter map and the
    observables of spec §3.2, §3.4. ``G_S`` includes the constant (k/2)E ln[(1 − m¹²)/4]."""

    q: float
    r: float
    Q: float
    p2: float
    G_S: float
    p_earlier: tuple[float, ...]
    """E[s_j⟨sign m⟩] for the earlier teachers j = 1…J of the reference (p₁ first)."""
    R_earlier: tuple[float, ...]
    """E[s_j⟨m⟩] for the earlier teachers (R₂₁ first)."""

    @property
    def p1(self) -> float:
        """E[s₁⟨sign m⟩]: the clipped overlap with teacher 1."""
        return self.p_earlier[0]

    @property
    def R21(self) -> float:
        """E[s₁⟨m⟩]: the mean overlap with teacher 1."""
        return self.R_earlier[0]


def _overflowed(reference: Reference) -> Task2SiteAverages:
    """NaN averages where the site moments overflow: the iteration reads NaN as outside the
    domain, and a solve ending there is not converged."""
    nan = (math.nan,) * reference.teachers.shape[0]
    return Task2SiteAverages(*(math.nan,) * 5, p_earlier=nan, R_earlier=nan)


def task2_site_averages(qhat: float, rhat: float, Qhat: float, k: float, r0: float,
                        reference: Reference, grids: Grids = Grids()) -> Task2SiteAverages:
    """q₂ = E⟨m⟩², r₂ = E[B⟨m⟩], Q₂ = E⟨m²⟩, p₁ = E⟨sign m⟩, p₂ = E[B⟨sign m⟩], R₂₁ = E⟨m⟩ and
    G_S2 at the task-2 conjugates (spec §3.2), the site measure ∝ exp[(Q̂ − q̂/2)m² + b m + kS(m)],
    b = √q̂ x + r̂B + kθ¹, B = ±1 with weights (1 ± r₀)/2.

    For a later task t of a chain (``reference`` from :func:`next_reference`) the same
    equations hold in the gauge of teacher t − 1: θ¹ stands for s_{t−1}θ^{t−1}, B = s_t s_{t−1},
    and p₁, R₂₁ are the overlaps with teacher 1 (E[s₁s_{t−1}⟨·⟩], by the signed weights
    ``reference.teachers``); ``p_earlier``, ``R_earlier`` hold those with every earlier teacher.

    Per mean field μ = kθ¹ + r̂B the x-average is a Gaussian average with its breakpoint at the
    switch b = 0 of the moments (a fixed rule such as Gauss–Hermite misses it, spec §7.8), of
    splines of the exact site moments. For k > 0 the x-averages are themselves tabulated in μ (a
    spline on the same lattice: they are smoother than the moments) and summed over the θ¹-nodes;
    at k = 0 they are taken at μ = ±r̂ directly.
    """
    A = Qhat - qhat / 2
    theta, weight = reference.theta, reference.weight
    mu = np.stack([k * theta + rhat, k * theta - rhat])  # B = +1, −1
    spread = math.sqrt(max(qhat, 0.0))
    x_far = 11.0  # beyond the far nodes of the split tanh–sinh rule, |x| ≲ 10.3
    if k == 0:
        lo, hi = float(mu.min()) - spread * x_far, float(mu.max()) + spread * x_far
        table = _SiteTable.build(A, k, lo, hi, grids)
        if table is None:
            return _overflowed(reference)
        averages = table.x_average(mu, qhat, grids)
    else:
        u = _lattice(float(mu.min()), float(mu.max()), grids)
        nodes = grids.b_scale * np.sinh(u)
        table = _SiteTable.build(A, k, nodes[0] - spread * x_far, nodes[-1] + spread * x_far,
                                 grids)
        if table is None:
            return _overflowed(reference)
        smooth = table.x_average(nodes, qhat, grids)
        smooth[0] -= _log_2cosh(nodes)
        spline = interpolate.make_interp_spline(u, smooth.T, k=_SPLINE_DEGREE)
        averages = np.moveaxis(spline(np.arcsinh(mu / grids.b_scale)), -1, 0)
        averages[0] += _log_2cosh(mu)
    log_z, mean, mean2, square, sign = averages @ weight  # each (2,): B = +1, −1
    plus, minus = (1 + r0) / 2, (1 - r0) / 2
    # −KL(m‖m¹) = kS(m) + k m θ¹ + (k/2) ln[(1 − m¹²)/4], and (1 − m¹²)/4 = 1/(2cosh θ¹)²
    constant = -k * float(weight @ _log_2cosh(theta)) if k else 0.0
    earlier = averages[[1, 4]] @ reference.teachers.T  # (mean, sign) × B × teacher
    R_earlier, p_earlier = (tuple(float(v) for v in plus * a[0] + minus * a[1])
                            for a in earlier)
    return Task2SiteAverages(
        q=float(plus * mean2[0] + minus * mean2[1]),
        r=float(plus * mean[0] - minus * mean[1]),
        Q=float(plus * square[0] + minus * square[1]),
        p2=float(plus * sign[0] - minus * sign[1]),
        G_S=float(plus * log_z[0] + minus * log_z[1]) + constant,
        p_earlier=p_earlier, R_earlier=R_earlier,
    )


@dataclass(frozen=True)
class Task2State:
    """The task-2 (Franz–Parisi) RS saddle point at (α₂, r₀, γ) given the task-1 state
    ``task1`` (α₁, β, k₁), and how well it was solved (spec §3).

    ``k`` = βγ. Observables: p₁ = E⟨sign m⟩ and p₂ = E[B⟨sign m⟩] (clipped student against
    teachers 1 and 2), ε¹ = arccos(p₁)/π, ε² = arccos(p₂)/π, R₂₁ = E⟨m⟩, the forgetting
    F = ε¹ − ε_g(α₁). ``phi`` is the FP potential φ₂ including (k/2)E ln[(1 − m¹²)/4], so that
    γ = 0 gives φ₁(α₂).

    In a chain (:func:`solve_chain`) this is task ``task`` ≥ 2, learnt with the coupling to an
    equilibrium configuration of task − 1: (q₂, r₂, Q₂), p₂, ε² are those of the current task
    and its teacher, p₁, ε¹, R₂₁ and the forgetting those of task 1 and its teacher;
    ``p_teachers`` and ``R_teachers`` hold the clipped and mean overlaps with every teacher
    1…task (the last is the current one).
    """

    task1: Task1State
    alpha2: float
    r0: float
    gamma: float
    k: float
    q2: float
    r2: float
    Q2: float
    qhat2: float
    rhat2: float
    Qhat2: float
    p1: float
    p2: float
    eps1: float
    eps2: float
    R21: float
    forgetting: float
    phi: float
    residual: float
    iterations: int
    converged: bool
    message: str
    grids: Grids = field(default_factory=Grids)
    task: int = 2
    p_teachers: tuple[float, ...] = ()
    R_teachers: tuple[float, ...] = ()

    @property
    def eps_teachers(self) -> tuple[float, ...]:
        """Errors arccos(p)/π of the clipped student on every task 1…``task``."""
        return tuple(error(p) for p in self.p_teachers)

    @property
    def order_parameters(self) -> dict[str, float]:
        return {"q2": self.q2, "r2": self.r2, "Q2": self.Q2, "qhat2": self.qhat2,
                "rhat2": self.rhat2, "Qhat2": self.Qhat2, "p1": self.p1, "p2": self.p2,
                "eps1": self.eps1, "eps2": self.eps2, "R21": self.R21,
                "forgetting": self.forgetting}


def task2_order_parameter_map(x: ArrayLike, alpha2: float, beta: float, k: float, r0: float,
                              reference: Reference, grids: Grids = Grids()) -> NDArray[np.float64]:
    """(q₂, r₂, Q₂) ↦ moments of the task-2 site measure at the conjugates of (q₂, r₂, Q₂) (the
    task-1 :func:`conjugates`: the same G_E); NaN outside r² < q < Q < 1."""
    q, r, Q = (float(v) for v in x)
    if not _in_domain(q, r, Q):
        return np.full(3, np.nan)
    s = task2_site_averages(*conjugates(q, r, Q, alpha2, beta, grids), k, r0, reference, grids)
    return np.array([s.q, s.r, s.Q])


_APPROACH = 1e-8
"""Residual of the free-variable map (:func:`to_free`) down to which task 2 is iterated before
the Newton polish on (q₂, r₂, Q₂)."""
_POLISH = 20
"""Newton steps of the polish."""


def to_free(x: NDArray) -> NDArray:
    """(q, r, Q) ↦ (logit Q, logit(q/Q), atanh(r/√q)): the domain r² < q < Q < 1 becomes R³, and
    the gaps 1 − Q, Q − q, q − r² (all ~10⁻⁶ when task 2 is learnt well, α₂ ≳ 5) become logs."""
    q, r, Q = x
    return np.array([special.logit(Q), special.logit(q / Q), np.arctanh(r / np.sqrt(q))])


def from_free(y: NDArray) -> NDArray:
    """The inverse of :func:`to_free`: (q, r, Q) from the free variables."""
    Q = special.expit(y[0])
    q = Q * special.expit(y[1])
    return np.array([q, np.sqrt(q) * np.tanh(y[2]), Q])


def iterate_free(x_map: Callable[[NDArray], NDArray], x0: ArrayLike, *, tol: float,
                 maxiter: int, damping: float) -> tuple[NDArray, int, bool]:
    """The fixed point of x ↦ ``x_map(x)`` on (q, r, Q), iterated in the free variables of
    :func:`to_free`: (x, map evaluations, converged).

    On (q, r, Q) a difference step of 10⁻⁷ crosses the map's curvature scale when the gaps are
    ~10⁻⁶ (a task learnt well), and Newton stalls; in the free variables the map is smooth on
    the scale of the gaps. The free map itself only resolves a gap to ~10⁻¹⁶/gap, so it is
    taken down to ``_APPROACH`` (damped iteration with Anderson mixing); Newton then finishes on
    y ↦ y + F(x(y)) − x(y), whose residual is that of (q, r, Q), to ``tol``.
    """
    def x_pair(ys: NDArray) -> tuple[NDArray, NDArray]:
        # far from the fixed point the quadrature may overflow: NaN, which the iteration
        # treats as outside the domain
        with np.errstate(all="ignore"):
            xs = np.stack([from_free(col) for col in ys.T], axis=1)
            return xs, np.stack([x_map(col) for col in xs.T], axis=1)

    def natural(ys, params):
        with np.errstate(all="ignore"):
            return np.stack([to_free(col) for col in x_pair(ys)[1].T], axis=1)

    def increment(ys, params):
        xs, fx = x_pair(ys)
        return ys + (fx - xs)

    first = saddle.solve(natural, to_free(np.asarray(x0, dtype=float))[:, None], {},
                         tol=_APPROACH, maxiter=maxiter, damping=damping, memory=4,
                         newton_below=1e-4)
    second = saddle.solve(increment, first.x, {}, tol=tol, maxiter=min(_POLISH, maxiter),
                          memory=0, newton_below=np.inf)
    return (from_free(second.x[:, 0]), int(first.iterations[0] + second.iterations[0]),
            bool(second.converged[0]))


def solve_task2(task1: Task1State, alpha2: float, r0: float, gamma: float, *,
                start: tuple[float, float, float] | None = None, grids: Grids | None = None,
                tol: float = 1e-11, maxiter: int = 300, damping: float = 0.5,
                reference: Reference | None = None) -> Task2State:
    """The task-2 Franz–Parisi RS saddle point (spec §3.2) given a converged task-1 state, whose
    hats are frozen (spec §3.3), at k = βγ.

    Starts from ``start`` = (q₂, r₂, Q₂), else from the α₂ = 0 solution (the reference smeared
    by the KL, spec §7.4) when γ > 0, else from the task-1 poor-branch start. Iterated on
    (q₂, r₂, Q₂) like task 1; non-convergence is reported, never replaced. ``grids`` defaults to
    the task-1 state's. ``reference`` (default: task 1's, :func:`reference_density`) may be that
    of a later task of a chain (:func:`next_reference`, at the same k and grids): the state is
    then that of task ``reference.task``.
    """
    if alpha2 < 0 or not -1 <= r0 <= 1 or gamma < 0:
        raise ValueError(f"need alpha2 >= 0, -1 <= r0 <= 1, gamma >= 0 (got {alpha2}, {r0}, "
                         f"{gamma})")
    if not task1.converged:
        raise ValueError(f"the task-1 state is not converged ({task1.message})")
    grids = task1.grids if grids is None else grids
    beta = task1.beta
    k = beta * gamma
    if reference is None:
        reference = reference_density(task1, k, grids)
    at_zero = task2_site_averages(0.0, 0.0, 0.0, k, r0, reference, grids)
    if alpha2 == 0:  # no task-2 data: the hats vanish and the site map is the answer
        x, iterations, free_converged = np.array([at_zero.q, at_zero.r, at_zero.Q]), 1, True
    else:
        if start is not None:
            x0 = np.asarray(start, dtype=float)
        elif k > 0:
            x0 = np.array([at_zero.q, at_zero.r, at_zero.Q])
        else:
            x0 = np.asarray(BRANCH_STARTS["poor"], dtype=float)

        x, iterations, free_converged = iterate_free(
            lambda x: task2_order_parameter_map(x, alpha2, beta, k, r0, reference, grids), x0,
            tol=tol, maxiter=maxiter, damping=damping)
    q, r, Q = (float(v) for v in x)
    common = dict(task1=task1, alpha2=alpha2, r0=r0, gamma=gamma, k=k, q2=q, r2=r, Q2=Q,
                  iterations=iterations, grids=grids, task=reference.task)
    if not (alpha2 == 0 or _in_domain(q, r, Q)):
        return Task2State(**common, **dict.fromkeys(
            ("qhat2", "rhat2", "Qhat2", "p1", "p2", "eps1", "eps2", "R21", "forgetting", "phi"),
            math.nan), residual=math.inf, converged=False,
            message="left the domain r² < q < Q < 1")
    with np.errstate(all="ignore"):  # an iterate at the domain's edge gives NaN, not converged
        o = task2_observables(q, r, Q, alpha2, task1, k, r0, reference, grids)
    # the residual reported is that of the map on (q₂, r₂, Q₂) itself, like task 1's
    residual = o.pop("residual")
    converged, message = _verdict(free_converged, residual, tol, o["phi"], iterations)
    return Task2State(**common, **o, residual=residual, converged=converged, message=message)


def task2_observables(q: float, r: float, Q: float, alpha2: float, task1: Task1State, k: float,
                      r0: float, reference: Reference, grids: Grids = Grids()
                      ) -> dict[str, float]:
    """Conjugates (q̂₂, r̂₂, Q̂₂), p₁, p₂, ε¹, ε², R₂₁, the forgetting F = ε¹ − ε_g(α₁), the FP
    potential φ₂ (:class:`Task2State`) and the residual max|F(x) − x| of the map at the task-2
    order parameters (q₂, r₂, Q₂); at α₂ = 0 the conjugates vanish."""
    if alpha2 == 0:
        e_G, qh, rh, Qh = 0.0, 0.0, 0.0, 0.0
    else:
        e = energetic(q, r, Q, task1.beta, grids)
        e_G = e.G_E
        qh, rh, Qh = -2 * alpha2 * e.dq, alpha2 * e.dr, alpha2 * e.dQ
    s = task2_site_averages(qh, rh, Qh, k, r0, reference, grids)
    eps1 = error(s.p1)
    return {"qhat2": qh, "rhat2": rh, "Qhat2": Qh, "p1": s.p1, "p2": s.p2, "eps1": eps1,
            "eps2": error(s.p2), "R21": s.R21, "forgetting": eps1 - task1.eps_g,
            "p_teachers": (*s.p_earlier, s.p2), "R_teachers": (*s.R_earlier, s.r),
            "phi": -Qh * Q + qh * q / 2 - rh * r + s.G_S + alpha2 * e_G,
            "residual": max(abs(s.q - q), abs(s.r - r), abs(s.Q - Q))}


# --- a chain of tasks ---------------------------------------------------------------------------

def next_reference(state: Task2State, reference: Reference) -> Reference:
    """The reference of task t + 1 from the converged state of task t = ``state.task`` (solved
    with ``reference``): the density of θ' = s_t atanh m, m an equilibrium configuration of
    task t, in the gauge of teacher t, and the signed weights of teachers 1…t.

    The task-t site is b = μ + √q̂ x, μ = kθ + r̂B in the gauge of teacher t − 1; its draw m̃ has
    the density e^{L(t', b)}/Z(b) in t' = atanh m̃ (:func:`_site_density`), and s_t = B s_{t−1}
    mirrors the B = −1 draws, θ' = −t', i.e. b → −b. So every density wanted is a mixture of
    e^{L(·, b)}/Z(b) over the fields b of the task-t site, with weights P(B)·ρ(θ)·w(x) (the
    density), ±P(B)·σ_j(θ)·w(x) (teacher j < t: s_j s_t = s_j s_{t−1}·B) and P(B)·ρ(θ)·w(x)
    (teacher t). The ~10⁶ fields are folded onto the spline lattice of u = asinh(b/b_scale):
    a mixture over b of a function of b smooth on that lattice is the same mixture of its
    degree-7 spline interpolant, Σ_l W_l f(b_l), with W = Cᵀ Σ_b w_b B(u_b) (B the B-spline
    basis, C the interpolation matrix), to the interpolation error (~1e-12, as the site tables).
    So m ↦ tanh θ' averages to r_t, tanh²θ' to Q_t, sign to p_t, and the teacher-1 row gives
    R_{t1}, p₁ (the tests check these).
    """
    if not state.converged:
        raise ValueError(f"task {state.task} is not converged ({state.message})")
    grids, k, r0 = state.grids, state.k, state.r0
    qhat, rhat, A = state.qhat2, state.rhat2, state.Qhat2 - state.qhat2 / 2
    plus, minus = (1 + r0) / 2, (1 - r0) / 2
    rho, sigma = reference.weight, reference.teachers
    if k == 0:  # the next site does not see the reference: only the overlaps' totals matter
        totals = np.concatenate([(plus - minus) * sigma.sum(axis=1), [1.0]])
        return Reference(np.zeros(1), np.ones(1), totals[:, None])
    # mean fields of both channels, B = −1 mirrored, and the weights of the rows
    # [density, teacher 1, …, teacher t − 1]
    mu = np.concatenate([k * reference.theta + rhat, -(k * reference.theta - rhat)])
    rows = np.concatenate([np.concatenate([plus * rho, minus * rho])[None],
                           np.concatenate([plus * sigma, -minus * sigma], axis=1)])
    spread = math.sqrt(max(qhat, 0.0))
    u = _lattice(float(mu.min()) - 11.0 * spread, float(mu.max()) + 11.0 * spread, grids)
    interpolation = interpolate.make_interp_spline(u, np.eye(u.size), k=_SPLINE_DEGREE)
    folded = np.zeros((rows.shape[0], u.size))
    for block in np.array_split(np.arange(mu.size), max(1, mu.size * grids.h_nodes // 2**18)):
        b, w = gaussian.quadrature(mu[block], qhat, nodes=grids.h_nodes, breakpoint=0.0)
        basis = interpolate.BSpline.design_matrix(np.arcsinh(b.ravel() / grids.b_scale),
                                                  interpolation.t, _SPLINE_DEGREE)
        folded += (basis.T @ (w[None] * rows[:, block, None]).reshape(rows.shape[0], -1).T).T
    lattice_weights = folded @ interpolation.c  # rows × lattice: Cᵀ g for every row
    b = grids.b_scale * np.sinh(u)
    log_z = site_moments(A, b, k, grids).log_z
    theta, weights = _tabulate(lambda t: _site_density(A, k, b, log_z, lattice_weights, t),
                               k, grids)
    return Reference(theta, weights[0], np.concatenate([weights[1:], weights[:1]]))


def solve_chain(task1: Task1State, alpha2: float, r0: float, gamma: float, tasks: int, *,
                grids: Grids | None = None, tol: float = 1e-11, maxiter: int = 300
                ) -> tuple[Task2State, ...]:
    """Tasks 2…``tasks`` of a chain (the issue's extension of spec §3): task t has its own
    teacher, w^t_i = B_i w^{t−1}_i with P(B_i = +1) = (1 + r₀)/2, α₂N fresh examples, and the KL
    coupling γ to an equilibrium configuration of task t − 1, whose density
    (:func:`next_reference`) is the reference of task t. Every task is solved from its α₂ = 0
    start (:func:`solve_task2`: the compromise branch that continues the reference); the chain
    stops at the first task that does not converge (its state is the last returned).
    """
    if tasks < 2 or int(tasks) != tasks:
        raise ValueError(f"need an integer tasks >= 2 (got {tasks})")
    grids = task1.grids if grids is None else grids
    reference = reference_density(task1, task1.beta * gamma, grids)
    states: list[Task2State] = []
    for _ in range(2, int(tasks) + 1):
        if states:
            reference = next_reference(states[-1], reference)
        states.append(solve_task2(task1, alpha2, r0, gamma, grids=grids, tol=tol,
                                  maxiter=maxiter, reference=reference))
        if not states[-1].converged:
            break
    return tuple(states)

"""Deterministic solver of the Franz–Parisi task 1: the RS saddle point of the variational binary
perceptron (``shared/specs/franz-parisi.md`` §2, numerics of §4; Li, Huang, Zou, Huang, arXiv
2212.02846, paper equation numbers unknown, spec §0).

The equations are those derived in :mod:`derivations.franz_parisi` (:func:`task1_equations`); this
module evaluates them by quadrature designed for their integrands, and iterates them.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

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
        Nodes of the h-average of the single-site term (split tanh–sinh, breakpoint h = 0).
    """

    t_max: float = 22.0
    dt: float = 0.01
    x_nodes: int = 96
    z_nodes: int = 256
    h_nodes: int = 256

    def refined(self, t: float = 2.0, x: float = 1.5, z: float = 1.7) -> Grids:
        """Each grid refined: t-step / ``t``, x-nodes × ``x``, z- and h-nodes × ``z``."""
        def even(n: float) -> int:
            return 2 * math.ceil(n / 2)

        return replace(self, dt=self.dt / t, x_nodes=math.ceil(self.x_nodes * x),
                       z_nodes=even(self.z_nodes * z), h_nodes=even(self.h_nodes * z))


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
    # x(v) by Newton from the right end (v is increasing and convex: monotone convergence)
    xs = np.broadcast_to(ends[1][..., None], v.shape).copy()
    om = omega[..., None]
    for _ in range(200):
        value, slope = stretch(xs, om)
        step = (value - v) / slope
        xs -= step
        if np.all(np.abs(step) <= 1e-14 * (1 + np.abs(xs))):
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
        x, residual, iterations, converged = np.array([0.0, 0.0, s.Q]), 0.0, 0, True
    else:
        def F(xs, params):
            return np.stack([order_parameter_map(col, alpha, beta, k1, grids) for col in xs.T],
                            axis=1)

        result = saddle.solve(F, x0[:, None], {}, tol=tol, maxiter=maxiter, damping=damping,
                              memory=4, newton_below=1e-4, lower=np.array([0.0, -1.0, 0.0]),
                              upper=np.array([1.0, 1.0, 1.0]))
        x, residual = result.x[:, 0], float(result.residual[0])
        iterations, converged = int(result.iterations[0]), bool(result.converged[0])
    q, r, Q = (float(v) for v in x)
    if not (alpha == 0 or _in_domain(q, r, Q)):
        return Task1State(alpha, beta, k1, branch, q, r, Q, *(math.nan,) * 7, False, residual,
                          iterations, False, "left the domain r² < q < Q < 1", grids)
    if alpha == 0:
        e_G, qh, rh, Qh, curvature = 0.0, 0.0, 0.0, 0.0, 0.0
    else:
        e = energetic(q, r, Q, beta, grids)
        e_G, curvature = e.G_E, e.curvature_squared
        qh, rh, Qh = -2 * alpha * e.dq, alpha * e.dr, alpha * e.dQ
    s = site_averages(qh, rh, Qh, k1, grids)
    phi = -Qh * Q + qh * q / 2 - rh * r + s.G_S + alpha * e_G
    replicon = alpha * curvature * s.variance_squared
    p = min(max(s.p, -1.0), 1.0)
    message = (f"converged: residual {residual:.1e} <= {tol:g} in {iterations} map evaluations"
               if converged else
               f"did not converge: residual {residual:.1e} > {tol:g} after {iterations} map "
               "evaluations")
    return Task1State(alpha=alpha, beta=beta, k1=k1, branch=branch, q=q, r=r, Q=Q, qhat=qh,
                      rhat=rh, Qhat=Qh, p=s.p, eps_g=math.acos(p) / math.pi, phi=phi,
                      replicon=replicon, stable=replicon < 1, residual=residual,
                      iterations=iterations, converged=converged, message=message, grids=grids)

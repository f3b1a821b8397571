"""Dense (P-spin) Hopfield network in the high-storage regime, replica symmetric.

Convention (``shared/specs/dense-hopfield.md`` §1): spins sigma_i = +-1, K = alpha N^(P-1)
unbiased patterns, H = -(N/2) sum_mu :m_mu^P: with repeated indices removed, temperature
T = 1/beta. Papers that write H = -(N/P) sum_mu m_mu^P use beta' = beta P/2 (Albanese et al.,
arXiv 2111.12997); P = 2 is the Amit-Gutfreund-Sompolinsky (AGS) model without self-couplings.

The RS free energy is written once in :mod:`derivations.dense_hopfield`; its saddle-point
equations, T = 0 limit, internal energy and paramagnet instability are derived there and used
here. Solver variables: P = 2 uses (m, C, r) with C = beta (1 - q) at every T (the AGS spin-glass
state at low T sits just inside the pole 1 - beta (1 - q) = 0, which (m, q, r) resolves badly;
C is also the variable of the exact T = 0 equations, so T = 0 and T > 0 share one parametrisation);
P >= 3 uses (m, q) at T > 0 and m alone at T = 0 (q = 1).

Phases: ``retrieval`` (m > 0), ``spin-glass`` (m = 0, q > 0), ``paramagnet`` (m = q = 0).
Lines: ``retrieval-spinodal`` (the retrieval branch ends: a fold), ``retrieval-thermodynamic``
(f_retrieval equals the lowest other free energy), ``spin-glass`` (P = 2: the paramagnet's
continuous instability T_g = 1 + sqrt(alpha); P >= 3: the spinodal of the RS spin-glass branch).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import sympy as sp
from tqdm import tqdm

from derivations import dense_hopfield as derivation
from theorylab import continuation, gaussian, phases, saddle, sweep
from theorylab.model import LineInfo, Model
from theorylab.parameters import Parameter, ParameterError, validate
from theorylab.results import Comparison, Line, Solution, Verification, provenance

THRESHOLD = 1e-6  # |m| or q below this counts as zero when classifying a state
# A stability eigenvalue within this of one is marginal (a continuous transition, where the
# paramagnet and the spin glass meet): counted as stable.
MARGINAL = 1e-6
# A start beyond the end of its branch crawls along the fold's ghost; give up on it after this
# many iterations without progress (grid continuation retries it from a converged neighbour).
PATIENCE = 30
# Quadrature nodes on diagram grids. 128 would halve the cost (m within 3e-9 of 256 nodes on a
# 60 x 60 P = 2 grid) but at T = 0.0075 (beta = 133) the derived Jacobian's steeper integrands
# are resolved too poorly for Newton and the stability eigenvalue (71 points of a 200 x 200 AGS
# grid failed); the default, 256, converges them all.
DIAGRAM_NODES = gaussian.DEFAULT_NODES
# The approach to a fixed point iterates a 64-node quadrature of the map (cheap, m within ~2e-7
# of 256 nodes), then Newton on the full map settles it (saddle.solve_coarse_to_fine).
COARSE_NODES = 64
PHASES = ("retrieval", "spin-glass", "paramagnet")


@dataclass(frozen=True)
class System:
    """The derived equations of one (P, T = 0 or T > 0) case, in solver variables.

    ``F(x, params)`` is the fixed-point map on x of shape (n, M); ``params`` holds ``alpha``
    and ``T`` arrays of shape (M,). NaN marks points outside the equations' domain (a negative
    variance, or P = 2 with C >= 1). ``lower``/``upper`` bound the solver's iterates.
    """

    P: int
    zero_temperature: bool
    variables: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    nodes: int = gaussian.DEFAULT_NODES

    @property
    def equations(self):
        return derivation.equations(self.P, self.zero_temperature)

    def _native(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """Solver variables -> the derivation's variables (P = 2, T > 0: C -> q = 1 - C T).

        P = 2, T > 0, alpha = 0 (Curie-Weiss): q and r enter f and the maps of m and q only
        through terms carrying a factor alpha, but 1 - beta (1 - q) = 1 - C, which those terms
        divide by or take the log of, vanishes on the paramagnet at T = 1 and is negative below.
        There they are evaluated at (q, r) = (1, 0), where every alpha term is finite and so
        exactly zero: the alpha -> 0 limit, whatever C and r are.
        """
        if self.P == 2 and not self.zero_temperature:
            m, C, r = x
            curie_weiss = self._decoupled_r(params)
            return np.array([m, np.where(curie_weiss, 1.0, 1.0 - C * params["T"]),
                             np.where(curie_weiss, 0.0, r)])
        return x

    def _decoupled_r(self, params: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """P = 2, T > 0: the points at alpha = 0, where r (the noise variance over alpha) drops
        out of every other equation; its map is set to r -> 0 there, so that it stays a fixed
        point the solver can settle. ``None`` where the case has no such points."""
        if self.P == 2 and not self.zero_temperature:
            return params["alpha"] == 0
        return None

    def _args(self, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        args = {k: params[k] for k in self.equations.parameters}
        if self.zero_temperature:
            # The T = 0 equations hold m / sqrt(alpha r) and exp(-m^2 / (2 alpha r)); at alpha = 0
            # they are taken as their (continuous) limit alpha -> 0+, i.e. at the smallest
            # positive double, where erf -> 1 and C -> 0 come out exactly.
            args["alpha"] = np.maximum(args["alpha"], np.finfo(float).tiny)
        return args

    def F(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        outside = self._outside(x, params)
        x = np.maximum(x, self.lower[:, None])
        with np.errstate(all="ignore"):
            out = np.array(self.equations.fixed_point(self._native(x, params),
                                                      self._args(params), nodes=self.nodes))
        if self.P == 2 and not self.zero_temperature:
            out[1] = (1.0 - out[1]) / params["T"]
            out[2] = np.where(self._decoupled_r(params), 0.0, out[2])
        out[:, outside] = np.nan
        return out

    def jacobian(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """dF_i/dx_j in solver variables, shape (M, n, n), from the derived Jacobian.

        P = 2, T > 0: x = (m, C, r) maps affinely to (m, q = 1 - C T, r) and F_C = (1 - F_q)/T,
        so J = D J_native A with A = diag(1, -T, 1), D = diag(1, -1/T, 1).
        """
        outside = self._outside(x, params)
        x = np.maximum(x, self.lower[:, None])
        with np.errstate(all="ignore"):
            J = np.array(self.equations.jacobian(self._native(x, params), self._args(params),
                                                 nodes=self.nodes))
        if self.P == 2 and not self.zero_temperature:
            T = params["T"]
            J[1, :] /= -T
            J[:, 1] *= -T
            J[2] = np.where(self._decoupled_r(params), 0.0, J[2])
        if self.zero_temperature:
            # At alpha = 0 (taken as alpha -> 0+, see _args) the T = 0 map is flat: every
            # derivative carries exp(-m^2/(2 alpha r)), which beats its powers of 1/alpha; the
            # limit 0 is used where inf * 0 would give NaN.
            J = np.where(np.isfinite(J) | (params["alpha"] > 0), J, 0.0)
        J[:, :, outside] = np.nan
        return np.moveaxis(J, 2, 0)

    def _outside(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """Points outside the equations' domain: a negative variance (r, q) or, P = 2, C >= 1
        (an m slightly beyond +-1, a finite-difference step, is harmless and allowed). At
        alpha = 0, P = 2, T > 0 only m matters (see :meth:`_native`): C and r are unrestricted."""
        outside = np.any(x[1:] < self.lower[1:, None], axis=0)
        if self.P == 2:
            outside |= x[1] >= 1.0
        decoupled = self._decoupled_r(params)
        return outside if decoupled is None else outside & ~decoupled

    def thermodynamics(self, x: np.ndarray,
                       params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Free energy f and internal energy u per spin (NaN outside the domain)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            f, u = self.equations.thermodynamics(self._native(x, params), self._args(params),
                                                 nodes=self.nodes)
        return np.asarray(f, dtype=float), np.asarray(u, dtype=float)

    def order_parameters(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> dict:
        """m, q (and r for P = 2) from solver variables."""
        if self.P == 2:
            m, C, r = x
            return {"m": m, "q": 1.0 - C * params["T"], "r": r}
        if self.zero_temperature:
            return {"m": x[0], "q": np.ones_like(x[0])}
        return {"m": x[0], "q": x[1]}

    def starts(self, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Starting points of each phase (arrays of shape (n, M))."""
        alpha, T = params["alpha"], params["T"]
        one, zero = np.ones_like(alpha), np.zeros_like(alpha)
        if self.P == 2:
            # spin glass: the T = 0 solution C = k/(1+k), k = sqrt(2/(pi alpha)) (spec §2.1 with
            # m = 0),
            # capped so that q = 1 - C T stays positive and r finite as alpha -> 0.
            C_sg = np.minimum(1.0 / (1.0 + np.sqrt(np.pi * alpha / 2)),
                              np.minimum(0.5 / np.maximum(T, 1e-300), 0.99))
            starts = {
                "retrieval": np.array([one, 0.1 * one, one]),
                "spin-glass": np.array([zero, C_sg, 1.0 / (1.0 - C_sg) ** 2]),
            }
            if not self.zero_temperature:
                starts["paramagnet"] = np.array([zero, 1.0 / T, zero])
            return starts
        if self.zero_temperature:
            return {"retrieval": np.array([one]), "spin-glass": np.array([zero])}
        return {"retrieval": np.array([one, one]), "spin-glass": np.array([zero, one]),
                "paramagnet": np.array([zero, zero])}

    def keep(self, phase: str):
        """Predicate for :func:`theorylab.saddle.solve`: an iterate from ``phase``'s start that
        fails it has left that branch (a retrieval start whose m collapsed below 1e-3 will end
        on the spin-glass or paramagnetic branch, which are solved from their own starts)."""
        if phase != "retrieval":
            return None
        return lambda x, params: np.abs(x[0]) > 1e3 * THRESHOLD

    def classify(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """Phase index (into PHASES) of each state."""
        ops = self.order_parameters(x, params)
        return np.where(np.abs(ops["m"]) > THRESHOLD, 0, np.where(ops["q"] > THRESHOLD, 1, 2))


@cache
def system(P: int, zero_temperature: bool, nodes: int = gaussian.DEFAULT_NODES) -> System:
    """The solver's view of the derived equations (cached per case); ``nodes`` is the
    quadrature's node count (:func:`theorylab.gaussian.expect`)."""
    if P == 2:
        variables = ("m", "C", "r")
        lower, upper = np.array([-1.0, 0.0, 0.0]), np.array([1.0, np.inf, np.inf])
    elif zero_temperature:
        variables, lower, upper = ("m",), np.array([-1.0]), np.array([1.0])
    else:
        variables = ("m", "q")
        lower, upper = np.array([-1.0, 0.0]), np.array([1.0, 1.0])
    return System(P, zero_temperature, variables, lower, upper, nodes)


# --- vectorised solves over many points ------------------------------------------------------

def solve_points(P: int, alpha: np.ndarray, T: np.ndarray, shape: tuple[int, ...] | None = None,
                 tol: float = 1e-11, starts: Mapping[str, np.ndarray] | None = None,
                 nodes: int = gaussian.DEFAULT_NODES) -> dict[str, np.ndarray]:
    """Every phase's branch and the thermodynamic state at many points (T = 0 allowed).

    Parameters
    ----------
    alpha, T
        Flat arrays of equal length M.
    shape
        When the points form a grid (C order), unconverged points are retried from converged
        neighbours on the same branch (:func:`theorylab.phases.continue_over_grid`).
    starts
        Warm starts (phase -> solver variables, shape (n, M)) replacing the phases' own starts.
    nodes
        Quadrature nodes per Gaussian average.

    Returns
    -------
    dict of arrays of shape (M,): for each phase the solver variables ``<phase>_x0``,
    ``<phase>_x1``..., ``<phase>_m``, ``<phase>_q``, ``<phase>_f``,
    ``<phase>_converged`` (converged *and* on that phase's branch); and the selected state
    ``phase`` (index into PHASES, -1 if no branch converged), ``m``, ``q``, ``f``, ``energy``,
    ``converged``, ``stable`` (stability eigenvalue of the fixed-point map below one). The
    selected state is the branch of lowest free energy among the *selectable* ones
    (``<phase>_valid``: converged, locally stable, and for the paramagnet non-negative entropy).
    """
    alpha, T = np.asarray(alpha, dtype=float), np.asarray(T, dtype=float)
    M = alpha.size
    out: dict[str, np.ndarray] = {}
    for name in PHASES:
        for key in ("m", "q", "r", "f", "energy", "entropy", "eig", "residual", "iterations"):
            out[f"{name}_{key}"] = np.full(M, np.nan)
        out[f"{name}_converged"] = np.zeros(M, dtype=bool)
        out[f"{name}_valid"] = np.zeros(M, dtype=bool)
    zero = T == 0
    for is_zero in (True, False):
        idx = np.flatnonzero(zero == is_zero)
        if idx.size == 0:
            continue
        sys_ = system(P, is_zero, nodes)
        params = {"alpha": alpha[idx], "T": T[idx]}
        sub_shape = None
        if shape is not None and len(shape) == 2 and (zero.reshape(shape) == is_zero).any():
            rows = np.flatnonzero((zero.reshape(shape) == is_zero).all(axis=1))
            if rows.size * shape[1] == idx.size:
                sub_shape = (rows.size, shape[1])
        own = sys_.starts(params)
        for name, x0 in own.items():
            if starts is not None and name in starts:
                x0 = np.asarray(starts[name])[:, idx]
            label = PHASES.index(name)

            def on_branch(x, p, label=label, sys_=sys_):
                return sys_.classify(x, p) == label

            options = {"tol": tol, "lower": sys_.lower, "upper": sys_.upper,
                       "patience": PATIENCE, "keep": sys_.keep(name)}
            rough = system(P, is_zero, COARSE_NODES)

            res = saddle.solve_coarse_to_fine(
                (rough.F, rough.jacobian), (sys_.F, sys_.jacobian), x0, params,
                polish_only_converged=sub_shape is not None, **options)
            if sub_shape is not None:
                # warm starts from neighbours are already close: the full map directly
                def warm(x0, p, sys_=sys_, options=options):
                    return saddle.solve(sys_.F, x0, p, exact=sys_.jacobian, **options)

                res = phases.continue_over_grid(warm, res, params, sub_shape,
                                                same_branch=on_branch)
            ok = res.converged & on_branch(res.x, params)
            ops = sys_.order_parameters(res.x, params)
            f, u = sys_.thermodynamics(res.x, params)
            # Which branches may be the thermodynamic state. (1) Only locally stable ones: in the
            # replica limit n -> 0 the RS free energy is *maximal* in q, so below T_g the
            # unstable paramagnet has a lower f than the spin glass (AGS); stability, not f,
            # decides there. (2) The paramagnet's entropy s = (u - f)/T = ln 2 - alpha P!/(8 T^2)
            # (P >= 3) turns
            # negative at low T: an entropy crisis, below which the RS paramagnet is unphysical
            # for Ising spins (the true state freezes, 1RSB). Such a paramagnet is kept as a
            # branch but never selected. The RS spin glass's own small negative entropy (the
            # classic RS artefact, AGS) is not used to discard it: RS lines compare with it.
            with np.errstate(divide="ignore", invalid="ignore"):
                entropy = np.where(params["T"] > 0, (u - f) / params["T"], 0.0)
            ok &= np.isfinite(f)
            eig = np.full(idx.size, np.nan)
            if ok.any():
                eig[ok] = saddle.stability(sys_.F, res.x[:, ok], saddle.subset(params, ok),
                                           exact=sys_.jacobian)
            for j, xj in enumerate(res.x):
                out.setdefault(f"{name}_x{j}", np.full(M, np.nan))[idx] = xj
            out[f"{name}_m"][idx] = np.abs(ops["m"])
            out[f"{name}_q"][idx] = ops["q"]
            out[f"{name}_r"][idx] = ops.get("r", np.nan)
            out[f"{name}_residual"][idx] = res.residual
            out[f"{name}_iterations"][idx] = res.iterations
            out[f"{name}_f"][idx] = f
            out[f"{name}_energy"][idx] = u
            out[f"{name}_entropy"][idx] = entropy
            out[f"{name}_eig"][idx] = eig
            out[f"{name}_converged"][idx] = ok
            out[f"{name}_valid"][idx] = ok & (eig < 1.0 + MARGINAL) & (
                (entropy >= -1e-9) if name == "paramagnet" else True)
    best, fmin = phases.select({n: out[f"{n}_f"] for n in PHASES},
                               {n: out[f"{n}_valid"] for n in PHASES})
    out["phase"] = best
    out["f"] = fmin
    for key in ("m", "q", "r", "energy", "entropy", "eig", "residual", "iterations"):
        stack = np.stack([out[f"{n}_{key}"] for n in PHASES])
        out[key] = np.where(best >= 0, stack[np.maximum(best, 0), np.arange(M)], np.nan)
    out["converged"] = best >= 0
    out["stable"] = out["eig"] < 1.0 + MARGINAL
    return out


def diagram_block(P: int, alpha: np.ndarray, T: np.ndarray,
                  nodes: int = gaussian.DEFAULT_NODES) -> dict[str, np.ndarray]:
    """One task of a diagram sweep: the grid alpha x T (T rows), flattened in C order."""
    TT, AA = np.meshgrid(T, alpha, indexing="ij")
    return solve_points(P, AA.ravel(), TT.ravel(), shape=TT.shape, nodes=nodes)


# --- single-point helpers for lines -----------------------------------------------------------

def _point_map(sys_: System, fixed: Mapping[str, float], free: str):
    """x -> F(x) at one point as a function of the free control parameter (for continuation)."""

    def F(x: np.ndarray, lam: float) -> np.ndarray:
        params = {**{k: np.array([v]) for k, v in fixed.items()}, free: np.array([lam])}
        if (free == "alpha" and lam < 0) or (free == "T" and lam <= 0):
            return np.full(x.size, np.nan)
        with np.errstate(all="ignore"):
            return sys_.F(x[:, None], params)[:, 0]

    return F


def _branch_value(sys_: System, x: np.ndarray, params: Mapping[str, float]) -> dict:
    p = {k: np.array([v]) for k, v in params.items()}
    ops = sys_.order_parameters(x[:, None], p)
    return {k: float(np.abs(v[0]) if k == "m" else v[0]) for k, v in ops.items()}


def retrieval_spinodal(P: int, *, T: float | None = None, alpha: float | None = None) -> dict:
    """Where the retrieval branch ends: alpha_c(T) (given T) or T_c(alpha) (given alpha).

    The branch is followed by pseudo-arclength continuation from a point deep in retrieval
    (small alpha, or low T) until its fold.
    """
    if (T is None) == (alpha is None):
        raise ParameterError("retrieval-spinodal needs exactly one of T or alpha")
    if T is not None:
        sys_ = system(P, T == 0)
        fixed, free, lam0, lo, hi = {"T": T}, "alpha", 1e-4 if P == 2 else 0.0, 0.0, 10.0
    else:
        sys_ = system(P, False)
        fixed, free, lam0, lo, hi = {"alpha": alpha}, "T", 0.05, 1e-3, 10.0
    F = _point_map(sys_, fixed, free)
    x0 = sys_.starts({k: np.array([v]) for k, v in {**fixed, free: lam0}.items()})
    # A small first step that grows geometrically: alpha_c spans 0.14 (P = 2) to 3e-5 (P = 8).
    branch = continuation.follow(F, x0["retrieval"][:, 0], lam0, lam_min=lo, lam_max=hi,
                                 ds=1e-6, ds_max=0.02)
    on = branch.x.size and np.abs(branch.x[:, 0]).min() > THRESHOLD
    if not branch.folds or not on:
        return {**fixed, free: None, "found": False,
                "message": f"no retrieval fold found ({branch.message})"}
    fold = branch.folds[0]
    point = {**fixed, free: fold.lam}
    return {**point, **_branch_value(sys_, fold.x, point), "found": bool(fold.converged),
            "residual": fold.residual}


def spin_glass_line(P: int, *, alpha: float | None = None, T: float | None = None) -> dict:
    """P = 2: the derived continuous instability T_g(alpha) of the paramagnet.
    P >= 3: the spinodal (fold) of the RS spin-glass branch, followed in T at given alpha."""
    if P == 2:
        Tg = sp.lambdify(derivation.alpha, derivation.paramagnet_instability(2))
        if T is not None:  # T_g = 1 + sqrt(alpha) is monotone: invert numerically
            a = phases.crossing(lambda a: float(Tg(a)) - T, 0.0, 1e3)
            return {"T": T, "alpha": a, "found": a is not None, "kind": "continuous"}
        return {"alpha": alpha, "T": float(Tg(alpha)), "found": True, "kind": "continuous"}
    if alpha is None:
        raise ParameterError("for P >= 3 the spin-glass line is located at given alpha")
    sys_ = system(P, False)
    F = _point_map(sys_, {"alpha": alpha}, "T")
    branch = continuation.follow(F, np.array([0.0, 1.0]), 0.02, lam_min=1e-3, lam_max=20.0,
                                 ds=0.005, ds_max=0.05)
    if not branch.folds:
        return {"alpha": alpha, "T": None, "found": False, "kind": "spinodal",
                "message": branch.message}
    fold = branch.folds[0]
    return {"alpha": alpha, "T": fold.lam, **_branch_value(sys_, fold.x, {"alpha": alpha,
                                                                          "T": fold.lam}),
            "found": bool(fold.converged), "kind": "spinodal"}


def _retrieval_advantage(data: dict) -> np.ndarray:
    """f_retrieval minus the lowest free energy of the other selectable phases (NaN where
    either is missing)."""
    other = np.fmin(*(np.where(data[f"{n}_valid"], data[f"{n}_f"], np.nan)
                      for n in ("spin-glass", "paramagnet")))
    return np.where(data["retrieval_valid"], data["retrieval_f"], np.nan) - other


def retrieval_thermodynamic(P: int, *, T: float) -> dict:
    """alpha at which f_retrieval equals the lowest free energy of the other phases (given T).

    The retrieval branch is followed in alpha (warm starts), the other phases are solved at
    each alpha, and the sign change of their free-energy difference is refined by brentq.
    """
    spin = retrieval_spinodal(P, T=T)
    if not spin["found"]:
        return {"T": T, "alpha": None, "found": False, "message": "no retrieval branch"}
    a_c = spin["alpha"]
    grid = np.linspace(a_c * 1e-3, a_c * (1 - 1e-6), 60)
    data = solve_points(P, grid, np.full(grid.size, T), shape=(1, grid.size))
    diff = _retrieval_advantage(data)
    sign = np.flatnonzero(np.isfinite(diff[:-1]) & np.isfinite(diff[1:])
                          & (np.sign(diff[:-1]) != np.sign(diff[1:])))
    if not np.isfinite(diff).any():
        return {"T": T, "alpha": None, "found": False,
                "message": "no other selectable phase to compare with along the branch"}
    if sign.size == 0:
        where = "below" if np.nanmax(diff) < 0 else "above"
        return {"T": T, "alpha": None, "found": False,
                "message": f"retrieval is {where} the other phases on the whole branch"}

    i = sign[0]
    # Warm starts from the bracket's left end, where every branch converged on the grid.
    warm = {n: np.array([[data[f"{n}_x{j}"][i]] for j in range(len(system(P, T == 0).variables))])
            for n in PHASES if data[f"{n}_converged"][i]}

    def difference(a: float) -> float:
        d = solve_points(P, np.array([a]), np.array([T]), starts=warm)
        return float(_retrieval_advantage(d)[0])

    a = phases.crossing(difference, grid[i], grid[i + 1])
    return {"T": T, "alpha": a, "found": a is not None, "kind": "first-order"}


def line_point(name: str, P: int, key: str, value: float) -> dict:
    """One point of a named line, at ``key = value`` (``key`` is alpha or T)."""
    if name == "retrieval-spinodal":
        return retrieval_spinodal(P, **{key: value})
    if name == "spin-glass":
        return spin_glass_line(P, **{key: value})
    return retrieval_thermodynamic(P, T=value)


def _line_task(name: str, P: int, key: str, value: float) -> dict[str, np.ndarray]:
    """A line point as arrays (for :func:`theorylab.sweep.run` and its store)."""
    point = line_point(name, P, key, value)
    return {k: np.asarray(np.nan if point.get(k) is None else point[k], dtype=float)
            for k in ("alpha", "T", "found")}


# --- the model ----------------------------------------------------------------------------------

LINES = {
    "retrieval-spinodal": LineInfo(
        "spinodal", "end of the retrieval branch: alpha_c(T) (T = 0: the critical capacity); "
        "located as a fold of the RS equations (spec §2)", "T", "alpha"),
    "retrieval-thermodynamic": LineInfo(
        "first-order", "retrieval becomes the global free-energy minimum below it "
        "(f_retrieval = min(f_spin-glass, f_paramagnet)); AGS: alpha = 0.0519 at T = 0",
        "T", "alpha"),
    "spin-glass": LineInfo(
        "continuous", "P = 2: the paramagnet's instability T_g = 1 + sqrt(alpha) (derived); "
        "P >= 3: spinodal of the RS spin-glass branch (located in T at given alpha)",
        "alpha", "T"),
}

CITATIONS = (
    """@article{Albanese2022,
  author = {Albanese, Linda and Alemanno, Francesco and Alessandrelli, Andrea and Barra, Adriano},
  title = {Replica Symmetry Breaking in Dense Hebbian Neural Networks},
  journal = {Journal of Statistical Physics}, volume = {189}, pages = {24}, year = {2022},
  eprint = {2111.12997}, archivePrefix = {arXiv}
}""",
    """@article{Amit1985,
  author = {Amit, Daniel J. and Gutfreund, Hanoch and Sompolinsky, Haim},
  title = {Storing Infinite Numbers of Patterns in a Spin-Glass Model of Neural Networks},
  journal = {Physical Review Letters}, volume = {55}, pages = {1530}, year = {1985}
}""",
    """@article{Amit1987,
  author = {Amit, Daniel J. and Gutfreund, Hanoch and Sompolinsky, Haim},
  title = {Statistical mechanics of neural networks near saturation},
  journal = {Annals of Physics}, volume = {173}, pages = {30}, year = {1987}
}""",
    """@article{Gardner1987,
  author = {Gardner, Elizabeth},
  title = {Multiconnected neural network models},
  journal = {Journal of Physics A}, volume = {20}, pages = {3453}, year = {1987}
}""",
    """@article{Baldi1987,
  author = {Baldi, Pierre and Venkatesh, Santosh S.},
  title = {Number of stable points for spin-glasses and neural networks of higher orders},
  journal = {Physical Review Letters}, volume = {58}, pages = {913}, year = {1987}
}""",
)


class DenseHopfield(Model):
    """The dense (P-spin) Hopfield network, RS theory; see the module docstring."""

    name = "dense-hopfield"
    title = "dense (P-spin) Hopfield network, high storage K = alpha N^(P-1), replica symmetric"
    parameters = (
        Parameter("P", "interaction order (P = 2: the AGS Hopfield model)", "int", 2,
                  default=2),
        Parameter("alpha", "load K / N^(P-1)", "float", 0.0),
        Parameter("T", "temperature 1/beta in the convention H = -(N/2) sum :m^P:; T = 0 "
                  "uses the exact zero-temperature equations", "float", 0.0),
    )
    simulation_parameters = (
        Parameter("N", "number of spins", "int", 4, default=1000),
        Parameter("sweeps", "Monte Carlo sweeps (N proposals each); the first half is burn-in",
                  "int", 2, default=200),
        Parameter("start", "initial state: 'pattern' (retrieval) or 'random'", "choice",
                  choices=("pattern", "random"), default="pattern"),
    )
    order_parameters = ("m", "q", "r")
    phases = {
        "retrieval": "m > 0: the network recalls the condensed pattern",
        "spin-glass": "m = 0, q > 0: frozen states uncorrelated with the patterns",
        "paramagnet": "m = q = 0",
    }
    lines = LINES
    citations = CITATIONS
    diagram_axes = ("alpha", "T")
    presets = {
        "ags": {"P": "2", "alpha": "0:0.2:101", "T": "0:1.5:76"},
        "gardner-P3": {"P": "3", "alpha": "0:0.2:81", "T": "0:1.2:61"},
        "gardner-P4": {"P": "4", "alpha": "0:0.05:81", "T": "0:1.2:61"},
    }

    # --- theory --------------------------------------------------------------------------------
    def _solution(self, params: dict, data: dict, name: str | None) -> Solution:
        """A Solution from :func:`solve_points` output at one point (``name``: one branch;
        ``None``: the thermodynamic state)."""
        if name is None:
            idx = int(data["phase"][0])
            name, key = (PHASES[idx], "") if idx >= 0 else (None, "retrieval_")
            what = "thermodynamic state (lowest free energy among converged branches)"
        else:
            key, what = f"{name}_", f"{name} branch"
        conv = name is not None and bool(data[f"{key}converged"][0])

        def value(k: str) -> float | None:
            return float(data[f"{key}{k}"][0]) if conv else None

        ops = {"m": float(data[f"{key}m"][0]), "q": float(data[f"{key}q"][0])}
        if params["P"] == 2:
            ops["r"] = float(data[f"{key}r"][0])
        eig = value("eig")
        return Solution(
            model=self.name, parameters=params, order_parameters=ops,
            free_energy=value("f"), phase=name if conv else None, converged=conv,
            residual=float(data[f"{key}residual"][0]),
            iterations=int(np.nan_to_num(data[f"{key}iterations"][0])),
            stable=None if eig is None else eig < 1.0 + MARGINAL,
            message=what if conv else (
                f"no converged {name} branch at this point" if name else
                "no selectable RS state: no branch converged that is locally stable (and, for "
                "the paramagnet, of non-negative entropy)" + (
                    "; below the RS entropy crisis the glass needs 1RSB" if params["P"] > 2
                    else "")),
            energy=value("energy"), extras={"stability_eigenvalue": eig})

    def solve(self, phase: str | None = None, **params) -> Solution:
        params = self.validate(params)
        self.check_phase(phase)
        data = solve_points(params["P"], np.array([params["alpha"]]), np.array([params["T"]]))
        return self._solution(params, data, phase)

    def branches(self, **params) -> list[Solution]:
        params = self.validate(params)
        data = solve_points(params["P"], np.array([params["alpha"]]), np.array([params["T"]]))
        return [self._solution(params, data, name) for name in PHASES
                if data[f"{name}_converged"][0]]

    def line(self, name: str, **params) -> Line:
        info = self.check_line(name)
        given = dict(params)
        P = int(self.parameter("P").check(given.pop("P", 2)))
        unknown = set(given) - {"alpha", "T"}
        if unknown:
            raise ParameterError(f"unknown parameter {sorted(unknown)[0]!r}; a line takes P "
                                 "and one of alpha, T")
        if len(given) != 1:
            raise ParameterError(f"line {name} needs exactly one of alpha or T (a value, a "
                                 "list or a range)")
        (key, values), = given.items()
        values = np.atleast_1d(values)
        for v in values:
            self.parameter(key).check(float(v))
        if name == "retrieval-thermodynamic" and key != "T":
            raise ParameterError("retrieval-thermodynamic is located in alpha at given T")
        points = [line_point(name, P, key, float(v)) for v in values]
        return Line(model=self.name, line=name, kind=info.kind, parameters={"P": P},
                    points=tuple(points), message=info.description)


    # --- diagrams ------------------------------------------------------------------------------
    def diagram(self, axes, fixed, *, executor=None, store=None, progress=False):
        """Thermodynamic phase, order parameters and the three lines over (alpha, T).

        The grid is split into blocks of T rows, each one task (vectorised solve from every
        phase's start, then grid continuation for points that did not converge); the lines are
        located at up to 41 values along their ``along`` axis.
        """
        import xarray as xr

        P = int(self.parameter("P").check(fixed.get("P", 2)))
        alpha = np.asarray(axes["alpha"], dtype=float)
        T = np.asarray(axes["T"], dtype=float)
        # Derive and compile the equations here, before the executor forks its workers, so
        # they inherit them instead of each repeating the sympy derivation.
        for zero_temperature in (True, False):
            system(P, zero_temperature, DIAGRAM_NODES).equations  # noqa: B018
        blocks = np.array_split(np.arange(T.size), min(T.size, 8))
        tasks = [{"P": P, "alpha": alpha, "T": T[b], "nodes": DIAGRAM_NODES}
                 for b in blocks if b.size]
        parts = sweep.run(diagram_block, tasks, executor=executor, store=store,
                          progress=progress, description=f"{self.name} P={P}")
        data = {k: np.concatenate([p[k].reshape(-1, alpha.size) for p in parts]) for k in parts[0]}
        coords = {"T": ("T", T, {"long_name": "temperature T"}),
                  "alpha": ("alpha", alpha, {"long_name": "load alpha = K / N^(P-1)"})}
        ds = xr.Dataset({k: (("T", "alpha"), v) for k, v in data.items()}, coords=coords)
        line_at = {"T": np.unique(T[np.linspace(0, T.size - 1, min(T.size, 25)).astype(int)]),
                   "alpha": np.unique(alpha[np.linspace(0, alpha.size - 1,
                                                        min(alpha.size, 25)).astype(int)])}
        line_tasks = [{"name": name, "P": P, "key": info.along, "value": float(v)}
                      for name, info in self.lines.items() for v in line_at[info.along]]
        points = sweep.run(_line_task, line_tasks, executor=executor,
                           store=None if store is None else Path(store) / "lines",
                           progress=progress, description="lines")
        for name in self.lines:
            pts = [p for t, p in zip(line_tasks, points, strict=True) if t["name"] == name]
            for key in ("alpha", "T"):
                ds[f"{name}__{key}"] = (f"{name}__point", np.array(
                    [float(p[key]) if p["found"] else np.nan for p in pts]))
        ds.attrs.update({
            "model": self.name, "title": f"dense Hopfield network, P = {P} (RS)",
            "parameters": json.dumps({"P": P}), "axes": "alpha,T", "phases": ",".join(PHASES),
            "lines": ",".join(self.lines), "line_kinds": ",".join(
                "spinodal" if (P > 2 and n == "spin-glass") else i.kind
                for n, i in self.lines.items()),
            "solver": "saddle.solve (Anderson-accelerated damped iteration, Newton polish, "
                      "tol 1e-11) + grid continuation; lines by pseudo-arclength continuation",
            "quadrature_nodes": f"grid {DIAGRAM_NODES}, lines {gaussian.DEFAULT_NODES}",
            "unconverged_points": int((~data["converged"]).sum()),
            **provenance()})
        return ds

    def plot_diagram(self, dataset, path) -> None:
        from theorylab import plot  # matplotlib only when drawing

        plot.phase_diagram(dataset, path)

    # --- simulation ----------------------------------------------------------------------------
    def simulate(self, seeds: int = 8, seed: int = 0, progress: bool = False, **params):
        """Random-scan Metropolis Monte Carlo (:mod:`montecarlo.dense_hopfield`) at one point."""
        from montecarlo import dense_hopfield as mc

        theory = self.validate({k: params.pop(k) for k in list(params) if k in
                                ("P", "alpha", "T")})
        sim = validate(self.simulation_parameters, params)
        return mc.simulate(theory["P"], sim["N"], theory["alpha"], theory["T"], chains=seeds,
                           sweeps=sim["sweeps"], start=sim["start"], seed=seed)

    def verify(self, quick: bool = True, progress: bool = False) -> Verification:
        """Theory against Monte Carlo at retrieval and paramagnetic points, P = 2 and P >= 3.

        Pattern starts are compared with the retrieval branch (the state the chain samples,
        metastable or not), random starts at high T with the thermodynamic state. Agreement:
        |theory - MC| <= 3 stderr + a finite-size allowance :func:`finite_size_allowance`.
        """
        rows = []
        points = VERIFY_POINTS if quick else VERIFY_POINTS + VERIFY_POINTS_FULL
        for point in tqdm(points, disable=not progress, desc="verify"):
            theory = self.solve(phase=point["phase"], **point["theory"])
            sim = self.simulate(seeds=point["chains"], seed=1, **point["theory"],
                                N=point["N"], sweeps=point["sweeps"], start=point["start"])
            N, P = point["N"], point["theory"]["P"]
            for quantity, value in (("m", theory.order_parameters["m"]),
                                    ("energy", theory.energy)):
                key = "abs_m" if (quantity == "m" and point["start"] == "random") else quantity
                est = sim.observables[key]
                rows.append(Comparison(
                    point={**point["theory"], "N": N}, quantity=key, theory=float(value),
                    simulation=est.mean, stderr=est.stderr,
                    allowance=finite_size_allowance(key, P, N)))
        return Verification(model=self.name, rows=tuple(rows))


def finite_size_allowance(quantity: str, P: int, N: int) -> float:
    """Finite-N allowance for comparing an N-spin simulation with the N = inf theory.

    With repeated indices removed, a retrieved pattern's signal is prod_{k<P} (1 - k/N) of its
    N = inf value (spec §8), a relative deficit d ~ P(P-1)/(2N): allowed on m in full and on the
    energy (|u| <= 1/2 in retrieval) as d/2, plus 1/N for the fluctuation terms. A paramagnet's
    |m| is O(1/sqrt(N)) (about sqrt(2/(pi N)) at T = inf): allowed 3/sqrt(N).
    """
    deficit = 1.0 - math.prod(1.0 - k / N for k in range(1, P))
    if quantity == "abs_m":
        return 3.0 / math.sqrt(N)
    if quantity == "m":
        return deficit
    return deficit / 2 + 1.0 / N


# Verification points: well inside retrieval (spec §4: finite-N retrieval beyond alpha_c is
# long-lived, and at N = 60, P = 4 a chain can leave the pattern at alpha = 0.01, T = 0.5) and in
# the paramagnet from random starts.
VERIFY_POINTS = (
    {"theory": {"P": 2, "alpha": 0.05, "T": 0.3}, "phase": "retrieval", "N": 4000, "chains": 8,
     "sweeps": 300, "start": "pattern"},
    {"theory": {"P": 2, "alpha": 0.05, "T": 2.0}, "phase": None, "N": 2000, "chains": 8,
     "sweeps": 200, "start": "random"},
    {"theory": {"P": 3, "alpha": 0.05, "T": 0.3}, "phase": "retrieval", "N": 200, "chains": 8,
     "sweeps": 300, "start": "pattern"},
    {"theory": {"P": 4, "alpha": 0.01, "T": 0.3}, "phase": "retrieval", "N": 80, "chains": 8,
     "sweeps": 400, "start": "pattern"},
    {"theory": {"P": 3, "alpha": 0.01, "T": 2.0}, "phase": None, "N": 100, "chains": 8,
     "sweeps": 200, "start": "random"},
)
VERIFY_POINTS_FULL = (
    {"theory": {"P": 2, "alpha": 0.1, "T": 0.2}, "phase": "retrieval", "N": 8000, "chains": 8,
     "sweeps": 400, "start": "pattern"},
    {"theory": {"P": 3, "alpha": 0.1, "T": 0.2}, "phase": "retrieval", "N": 300, "chains": 8,
     "sweeps": 400, "start": "pattern"},
    {"theory": {"P": 4, "alpha": 0.02, "T": 0.3}, "phase": "retrieval", "N": 100, "chains": 8,
     "sweeps": 400, "start": "pattern"},
)


MODEL = DenseHopfield()

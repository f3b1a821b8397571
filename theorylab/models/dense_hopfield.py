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

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from derivations import dense_hopfield as derivation
from theorylab import continuation, phases, saddle
from theorylab.model import LineInfo, Model
from theorylab.parameters import Parameter, ParameterError
from theorylab.results import Line, Solution

THRESHOLD = 1e-6  # |m| or q below this counts as zero when classifying a state
PHASES = ("retrieval", "spin-glass", "paramagnet")


@dataclass(frozen=True)
class System:
    """The derived equations of one (P, T = 0 or T > 0) case, in solver variables.

    ``F(x, params)`` is the fixed-point map on x of shape (n, M); ``params`` holds ``alpha``
    and ``T`` arrays of shape (M,). NaN marks points outside the physical domain (P = 2: C >= 1).
    """

    P: int
    zero_temperature: bool
    variables: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray

    @property
    def equations(self):
        return derivation.equations(self.P, self.zero_temperature)

    def _native(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """Solver variables -> the derivation's variables (P = 2, T > 0: C -> q = 1 - C T)."""
        if self.P == 2 and not self.zero_temperature:
            m, C, r = x
            return np.array([m, 1.0 - C * params["T"], r])
        return x

    def _args(self, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: params[k] for k in self.equations.parameters}

    def F(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        out = np.array(self.equations.fixed_point(self._native(x, params), self._args(params)))
        if self.P == 2 and not self.zero_temperature:
            out[1] = (1.0 - out[1]) / params["T"]
        if self.P == 2:
            out[:, x[1] >= 1.0] = np.nan
        return out

    def free_energy(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self.equations.free_energy(self._native(x, params),
                                                         self._args(params)), dtype=float)

    def energy(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self.equations.energy(self._native(x, params),
                                                    self._args(params)), dtype=float)

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
            # m = 0), capped so that q = 1 - C T stays positive.
            with np.errstate(divide="ignore"):
                k = np.sqrt(2.0 / (np.pi * np.maximum(alpha, 1e-300)))
            C_sg = np.minimum(k / (1 + k), 0.5 / np.maximum(T, 1e-300))
            starts = {
                "retrieval": np.array([one, 0.1 * one, one]),
                "spin-glass": np.array([zero, C_sg, 1.0 / (1.0 - C_sg) ** 2]),
            }
            if not self.zero_temperature:
                starts["paramagnet"] = np.array([zero, 1.0 / T, zero])
            return starts
        if self.zero_temperature:
            return {"retrieval": np.array([one])}
        return {"retrieval": np.array([one, one]), "spin-glass": np.array([zero, one]),
                "paramagnet": np.array([zero, zero])}

    def classify(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """Phase index (into PHASES) of each state."""
        ops = self.order_parameters(x, params)
        return np.where(np.abs(ops["m"]) > THRESHOLD, 0, np.where(ops["q"] > THRESHOLD, 1, 2))


@cache
def system(P: int, zero_temperature: bool) -> System:
    """The solver's view of the derived equations (cached per case)."""
    if P == 2:
        variables = ("m", "C", "r")
        lower, upper = np.array([-1.0, 0.0, 0.0]), np.array([1.0, np.inf, np.inf])
    elif zero_temperature:
        variables, lower, upper = ("m",), np.array([-1.0]), np.array([1.0])
    else:
        variables = ("m", "q")
        lower, upper = np.array([-1.0, 0.0]), np.array([1.0, 1.0])
    return System(P, zero_temperature, variables, lower, upper)


# --- vectorised solves over many points ------------------------------------------------------

def solve_points(P: int, alpha: np.ndarray, T: np.ndarray, shape: tuple[int, ...] | None = None,
                 tol: float = 1e-11) -> dict[str, np.ndarray]:
    """Every phase's branch and the thermodynamic state at many points (T = 0 allowed).

    Parameters
    ----------
    alpha, T
        Flat arrays of equal length M.
    shape
        When the points form a grid (C order), unconverged points are retried from converged
        neighbours on the same branch (:func:`theorylab.phases.continue_over_grid`).

    Returns
    -------
    dict of arrays of shape (M,): for each phase ``<phase>_m``, ``<phase>_q``, ``<phase>_f``,
    ``<phase>_converged`` (converged *and* on that phase's branch); and the selected state
    ``phase`` (index into PHASES, -1 if no branch converged), ``m``, ``q``, ``f``, ``energy``,
    ``converged``, ``stable`` (stability eigenvalue of the fixed-point map below one).
    """
    alpha, T = np.asarray(alpha, dtype=float), np.asarray(T, dtype=float)
    M = alpha.size
    out: dict[str, np.ndarray] = {}
    for name in PHASES:
        for key in ("m", "q", "r", "f", "energy", "entropy", "eig", "residual", "iterations"):
            out[f"{name}_{key}"] = np.full(M, np.nan)
        out[f"{name}_converged"] = np.zeros(M, dtype=bool)
    zero = T == 0
    for is_zero in (True, False):
        idx = np.flatnonzero(zero == is_zero)
        if idx.size == 0:
            continue
        sys_ = system(P, is_zero)
        params = {"alpha": alpha[idx], "T": T[idx]}
        sub_shape = None
        if shape is not None and len(shape) == 2 and (zero.reshape(shape) == is_zero).any():
            rows = np.flatnonzero((zero.reshape(shape) == is_zero).all(axis=1))
            if rows.size * shape[1] == idx.size:
                sub_shape = (rows.size, shape[1])
        for name, x0 in sys_.starts(params).items():
            label = PHASES.index(name)

            def on_branch(x, p, label=label, sys_=sys_):
                return sys_.classify(x, p) == label

            res = saddle.solve(sys_.F, x0, params, tol=tol, lower=sys_.lower, upper=sys_.upper)
            if sub_shape is not None:
                res = phases.continue_over_grid(sys_.F, res, params, sub_shape,
                                                same_branch=on_branch, tol=tol,
                                                lower=sys_.lower, upper=sys_.upper)
            ok = res.converged & on_branch(res.x, params)
            ops = sys_.order_parameters(res.x, params)
            f = sys_.free_energy(res.x, params)
            u = sys_.energy(res.x, params)
            # An RS state of negative entropy s = (u - f)/T is unphysical for Ising spins (for
            # P >= 3 the RS paramagnet and spin glass reach it at low T: spec §8); it is kept
            # as a branch but never selected. T = 0 states have no entropy to check.
            with np.errstate(divide="ignore", invalid="ignore"):
                entropy = np.where(params["T"] > 0, (u - f) / params["T"], 0.0)
            ok &= np.isfinite(f)
            eig = np.full(idx.size, np.nan)
            if ok.any():
                eig[ok] = saddle.stability(sys_.F, res.x[:, ok], saddle.subset(params, ok),
                                          sys_.lower, sys_.upper)
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
    best, fmin = phases.select({n: out[f"{n}_f"] for n in PHASES},
                               {n: out[f"{n}_converged"] & (out[f"{n}_entropy"] >= -1e-9)
                                for n in PHASES})
    out["phase"] = best
    out["f"] = fmin
    for key in ("m", "q", "r", "energy", "entropy", "eig", "residual", "iterations"):
        stack = np.stack([out[f"{n}_{key}"] for n in PHASES])
        out[key] = np.where(best >= 0, stack[np.maximum(best, 0), np.arange(M)], np.nan)
    out["converged"] = best >= 0
    out["stable"] = out["eig"] < 1.0
    return out


def diagram_block(P: int, alpha: np.ndarray, T: np.ndarray) -> dict[str, np.ndarray]:
    """One task of a diagram sweep: the grid alpha x T (T rows), flattened in C order."""
    TT, AA = np.meshgrid(T, alpha, indexing="ij")
    return solve_points(P, AA.ravel(), TT.ravel(), shape=TT.shape)


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
    branch = continuation.follow(F, x0["retrieval"][:, 0], lam0, lam_min=lo, lam_max=hi,
                                 ds=0.005, ds_max=0.02)
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
    other = np.fmin(np.where(data["spin-glass_converged"], data["spin-glass_f"], np.nan),
                    np.where(data["paramagnet_converged"], data["paramagnet_f"], np.nan))
    diff = np.where(data["retrieval_converged"], data["retrieval_f"], np.nan) - other
    sign = np.flatnonzero(np.isfinite(diff[:-1]) & np.isfinite(diff[1:])
                          & (np.sign(diff[:-1]) != np.sign(diff[1:])))
    if sign.size == 0:
        where = "below" if np.nanmax(diff) < 0 else "above"
        return {"T": T, "alpha": None, "found": False,
                "message": f"retrieval is {where} the other phases on the whole branch"}

    def difference(a: float) -> float:
        d = solve_points(P, np.array([a]), np.array([T]))
        oth = np.fmin(np.where(d["spin-glass_converged"], d["spin-glass_f"], np.nan),
                      np.where(d["paramagnet_converged"], d["paramagnet_f"], np.nan))
        return float(d["retrieval_f"][0] - oth[0])

    i = sign[0]
    a = phases.crossing(difference, grid[i], grid[i + 1])
    return {"T": T, "alpha": a, "found": a is not None, "kind": "first-order"}


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
        "P >= 3: spinodal of the RS spin-glass branch", "alpha", "T"),
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
            stable=None if eig is None else eig < 1.0,
            message=what if conv else f"no converged {name or 'branch'} at this point",
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
        points = []
        for v in values:
            v = float(v)
            if name == "retrieval-spinodal":
                points.append(retrieval_spinodal(P, **{key: v}))
            elif name == "spin-glass":
                points.append(spin_glass_line(P, **{key: v}))
            else:
                if key != "T":
                    raise ParameterError("retrieval-thermodynamic is located in alpha at given T")
                points.append(retrieval_thermodynamic(P, T=v))
        return Line(model=self.name, line=name, kind=info.kind, parameters={"P": P},
                    points=tuple(points), message=info.description)


MODEL = DenseHopfield()

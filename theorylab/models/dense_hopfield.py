"""Dense (P-spin) Hopfield network in the high-storage regime, replica symmetric.

Convention (``shared/specs/dense-hopfield.md`` §1): spins sigma_i = +-1, K = alpha N^(P-1)
unbiased patterns, H = -(N/2) sum_mu :m_mu^P: with repeated indices removed, temperature
T = 1/beta. Papers that write H = -(N/P) sum_mu m_mu^P use beta' = beta P/2 (Albanese et al.,
arXiv 2111.12997); P = 2 is the Amit-Gutfreund-Sompolinsky (AGS) model without self-couplings.

The RS free energy is written once in :mod:`derivations.dense_hopfield`; its saddle-point
equations, T = 0 limit, internal energy and paramagnet instability are derived there and used
here. Solver variables: P = 2 uses C = beta (1 - q) at every T (the AGS spin-glass state at low T
sits just inside the pole 1 - beta (1 - q) = 1 - C = 0, which (m, q, r) resolves badly; C is
also the variable of the exact T = 0 equations): (m, C, r) at T = 0 and (m, C, v) at T > 0,
v = alpha r the noise variance, derived in these variables (so that the map of C is
beta E sech^2(beta h), without the cancellation of beta (1 - E tanh^2) at large beta, and every
variable stays O(1) near the Curie-Weiss point, where r ~ q/alpha diverges). P >= 3 uses
(m, q) at T > 0 and m alone at T = 0 (q = 1). Below a small temperature
(``ZERO_TEMPERATURE_BELOW``) the engine solves the exact T = 0 equations instead, with
f = e0 - T s0 from the derived T -> 0 entropy s0.

Phases: ``retrieval`` (m > 0), ``spin-glass`` (m = 0, q > 0), ``paramagnet`` (m = q = 0).
Lines: ``retrieval-spinodal`` (the retrieval branch ends: a fold), ``retrieval-thermodynamic``
(f_retrieval equals the lowest other free energy), ``retrieval-at`` (the AT eigenvalue
``lambda_at`` of the RS retrieval state, reported with every state, crosses one), ``spin-glass``
(P = 2: the paramagnet's continuous instability T_g = 1 + sqrt(alpha); P >= 3: the spinodal of
the RS spin-glass branch).

``ansatz=1rsb`` (spec §6): solve, the retrieval spinodal and the retrieval-thermodynamic line
with one step of replica symmetry breaking (:mod:`theorylab.models.dense_hopfield_1rsb`, states
of :mod:`theorylab.rsb`); diagrams keep the RS grid and RS lines and add the 1RSB lines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from theorylab import gaussian, lazy, phases, saddle
from theorylab.equilibrium import (
    EquilibriumModel,
    LineRecipe,
    Phase,
    Settings,
    Undefined,
    VerifyPoint,
    verify_points,
)
from theorylab.parameters import Parameter, ParameterError, validate
from theorylab.results import Line

sp = lazy.module("sympy")  # the derivation and sympy: on first use
derivation = lazy.module("derivations.dense_hopfield")
rsb_derivation = lazy.module("derivations.dense_hopfield_1rsb")
rsb_model = lazy.module("theorylab.models.dense_hopfield_1rsb")  # 1RSB answers: on first use
ANSATZES = ("rs", "1rsb")

THRESHOLD = 1e-6  # |m| or q below this counts as zero when classifying a state
# Below these temperatures the engine solves the exact T = 0 equations instead of the finite-T
# ones (``System.zero_temperature_below``): there the finite-T equations, as evaluated, are less
# accurate than the T = 0 ones, which differ from them by O(T) in the order parameters (and
# f = e0 - T s0 + O(T^2) with the derived T -> 0 entropy s0).
# * P = 2: the map of C, beta E sech^2(beta h), is a quadrature of a spike of width T at the
#   field's zero, which the split tanh-sinh rule (theorylab.gaussian) resolves less well as beta
#   grows: the error of (m, C, v) with 256 nodes (against 2048) is ~1e-9 at T = 1e-3, 1e-7 to
#   3e-6 at 1e-4, 1e-5 to 6e-5 at 1e-5, while the finite-T state lies 0.08 T (alpha = 0.01)
#   to 1.1 T (alpha = 2) from the T = 0 one in the spin glass, 0.05 T (alpha = 0.13) or less in
#   retrieval. They cross between T = 1e-5 and 1e-4: 3e-5.
# * P >= 3, in (m, q): m is resolved to ~1e-11 at any T, but u and f only to ~1e-13, so the
#   entropy (u - f)/T loses 1e-13/T and crosses its O(T) correction (~0.1 T) near T = 1e-6.
ZERO_TEMPERATURE_BELOW = {2: 3e-5}
ZERO_TEMPERATURE_BELOW_DENSE = 1e-6
# The derived Jacobian's averages hold derivatives of tanh(beta' h): odd spikes of height
# beta'^2 and width 1/beta' whose lobes cancel, so the quadrature's error in them is amplified
# like (beta' sqrt(var))^2. Against central differences of the map it is within ~1e-8 up to
# beta' sqrt(var) ~ 20 and off by 1e-4 at 30 (AGS retrieval, alpha = 0.1, T = 0.01) and by O(1)
# at 300 (T = 1e-3; a stable branch reported unstable): beyond SHARP the Jacobian (Newton, the
# stability eigenvalue, the lines' augmented systems) is taken by central differences.
SHARP = 20.0


@dataclass(frozen=True)
class System:
    """The derived equations of one (P, T = 0 or T > 0) case, in solver variables.

    ``F(x, params)`` is the fixed-point map on x of shape (n, M); ``params`` holds ``alpha``
    and ``T`` arrays of shape (M,). NaN marks points outside the equations' domain (a negative
    variance, or P = 2 with C >= 1). ``lower``/``upper`` bound the solver's iterates.
    ``zero_temperature_below``: the temperature below which the engine uses the T = 0 system
    instead of this finite-T one (0 for a T = 0 system).
    """

    P: int
    zero_temperature: bool
    variables: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    nodes: int = gaussian.DEFAULT_NODES
    zero_temperature_below: float = 0.0

    @property
    def equations(self):
        return derivation.solver_equations(self.P, self.zero_temperature)

    @property
    def _ags(self) -> bool:
        """P = 2 at T > 0: the variables (m, C, v), C = beta (1 - q), v = alpha r."""
        return self.P == 2 and not self.zero_temperature

    def _curie_weiss(self, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """P = 2, T > 0: the points at alpha = 0 (Curie-Weiss), where C and v drop out of the
        maps of m and C and of f (every term holding them carries a factor alpha, or is
        v C / 2 with v = 0)."""
        return params["alpha"] == 0 if self._ags else np.zeros(np.shape(params["alpha"]), bool)

    def _native(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """Solver variables as passed to the derivation. P = 2, T > 0, alpha = 0: the terms
        carrying alpha take the log of, or divide by, 1 - C, which vanishes on the paramagnet
        at T = 1 (C = beta) and is negative below; they are evaluated at (C, v) = (0, 0),
        where they are finite and so exactly zero: the alpha -> 0 limit, whatever C and v are.
        """
        if not self._ags:
            return x
        curie_weiss = self._curie_weiss(params)
        return np.array([x[0], np.where(curie_weiss, 0.0, x[1]), np.where(curie_weiss, 0.0,
                                                                          x[2])])

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
        out[:, outside] = np.nan
        return out

    def jacobian(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """dF_i/dx_j in solver variables, shape (M, n, n), from the derived Jacobian (P = 2,
        T > 0, alpha = 0: the columns of C and v are zero, see :meth:`_native`), or by central
        differences of F where the field is sharp (:data:`SHARP`)."""
        outside = self._outside(x, params)
        x = np.maximum(x, self.lower[:, None])
        with np.errstate(all="ignore"):
            J = np.array(self.equations.jacobian(self._native(x, params), self._args(params),
                                                 nodes=self.nodes))
        if self._ags:
            J[:, 1:] = np.where(self._curie_weiss(params), 0.0, J[:, 1:])
        if self.zero_temperature:
            # At alpha = 0 (taken as alpha -> 0+, see _args) the T = 0 map is flat: every
            # derivative carries exp(-m^2/(2 alpha r)), which beats its powers of 1/alpha; the
            # limit 0 is used where inf * 0 would give NaN.
            J = np.where(np.isfinite(J) | (params["alpha"] > 0), J, 0.0)
        J[:, :, outside] = np.nan
        J = np.moveaxis(J, 2, 0)
        sharp = ~outside & (self._sharpness(x, params) > SHARP)
        if sharp.any():
            J[sharp] = saddle.jacobian(self.F, x[:, sharp], saddle.subset(params, sharp),
                                       central=True, lower=self.lower, upper=self.upper)
        return J

    def _sharpness(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """beta' sqrt(var): the width of the field's Gaussian over that of the step of
        tanh(beta' h) (0 at T = 0, where the averages are closed forms)."""
        if self.zero_temperature:
            return np.zeros(x.shape[1])
        if self._ags:
            var = np.where(self._curie_weiss(params), 0.0, x[2])
        else:
            var = params["alpha"] * math.factorial(self.P - 1) * x[1] ** (self.P - 1)
        return self.P / (2 * params["T"]) * np.sqrt(np.maximum(var, 0.0))

    def _outside(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """Points outside the equations' domain: a negative variance (C, r, v, q) or, P = 2,
        C >= 1 (an m slightly beyond +-1, a finite-difference step, is harmless and allowed).
        At alpha = 0, P = 2, T > 0 only m matters (see :meth:`_native`)."""
        outside = np.any(x[1:] < self.lower[1:, None], axis=0)
        if self.P == 2:
            outside |= x[1] >= 1.0
        return outside & ~self._curie_weiss(params)

    def thermodynamics(self, x: np.ndarray,
                       params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Free energy f and internal energy u per spin (NaN outside the domain)."""
        with np.errstate(all="ignore"):
            f, u = self.equations.thermodynamics(self._native(x, params), self._args(params),
                                                 nodes=self.nodes)
        return np.asarray(f, dtype=float), np.asarray(u, dtype=float)

    def entropy(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """T = 0 systems: the T -> 0 limit s0 of the RS entropy per spin at the state x
        (derived, :func:`derivations.dense_hopfield.zero_temperature_entropy`; negative: the
        RS artefact of AGS, and for P >= 3 -(P-1) phi(m^(P-1)/sigma)^2)."""
        with np.errstate(all="ignore"):
            s0 = _entropy_function(self.P)(*x, self._args(params)["alpha"])
        return np.broadcast_to(np.asarray(s0, dtype=float), x.shape[1:]).copy()

    def diagnostics(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> dict:
        """``lambda_at``, the AT eigenvalue of the state (:meth:`at_eigenvalue`)."""
        return {"lambda_at": self.at_eigenvalue(self.order_parameters(x, params), params)}

    def at_eigenvalue(self, ops: Mapping[str, np.ndarray],
                      params: Mapping[str, np.ndarray]) -> np.ndarray:
        """lambda of the continuous-limit AT condition (derived,
        :func:`derivations.dense_hopfield_1rsb.at_eigenvalue`; spec §6): above one the RS state
        is unstable against replica symmetry breaking. At T = 0 it diverges like beta wherever
        the field has a density at zero (alpha > 0): inf; 0 at alpha = 0."""
        alpha = np.asarray(params["alpha"], dtype=float)
        if self.zero_temperature:
            return np.where(alpha > 0, np.inf, 0.0) * np.ones_like(ops["m"])
        r = ops.get("r", np.zeros_like(ops["m"]))
        with np.errstate(all="ignore"):
            lam = rsb_derivation.at_eigenvalue(self.P)(ops["m"], ops["q"], r, alpha,
                                                       params["T"], nodes=self.nodes)
        return np.broadcast_to(lam, np.shape(ops["m"])).copy()

    def order_parameters(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> dict:
        """m >= 0 (the gauge m -> -m), q (and r for P = 2) from solver variables."""
        if self._ags:
            m, C, v = x
            alpha = params["alpha"]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                r = np.where(alpha > 0, v / alpha, 0.0)
            return {"m": np.abs(m), "q": 1.0 - C * params["T"], "r": r}
        if self.P == 2:
            m, C, r = x
            return {"m": np.abs(m), "q": 1.0 - C * params["T"], "r": r}
        if self.zero_temperature:
            return {"m": np.abs(x[0]), "q": np.ones_like(x[0])}
        return {"m": np.abs(x[0]), "q": x[1]}

    def starts(self, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Starting points of each phase (arrays of shape (n, M))."""
        alpha, T = params["alpha"], params["T"]
        one, zero = np.ones_like(alpha), np.zeros_like(alpha)
        if self.P == 2:
            C, v = _spin_glass_start(alpha, T)
            if self.zero_temperature:  # in (m, C, r)
                return {"retrieval": np.array([one, 0.1 * one, one]),
                        "spin-glass": np.array([zero, C, 1.0 / (1.0 - C) ** 2])}
            return {"retrieval": np.array([one, 0.1 * one, alpha]),
                    "spin-glass": np.array([zero, C, v]),
                    "paramagnet": np.array([zero, 1.0 / T, zero])}
        if self.zero_temperature:
            return {"retrieval": np.array([one]), "spin-glass": np.array([zero])}
        return {"retrieval": np.array([one, one]), "spin-glass": np.array([zero, one]),
                "paramagnet": np.array([zero, zero])}


def _spin_glass_start(alpha: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P = 2 spin-glass start (C, v = alpha r). Low T: the T = 0 solution C = k/(1+k),
    k = sqrt(2/(pi alpha)) (spec §2.1 with m = 0), r = 1/(1 - C)^2, C capped so that q = 1 - C T
    stays positive and r finite as alpha -> 0. Within 0.25 below T_g = 1 + sqrt(alpha), where
    that start falls into the paramagnet: the branch's small-q expansion (E tanh^2 and
    beta E sech^2 linear in the variance v), q = T_g - T, C = 1 - beta sqrt(alpha), v = q T^2."""
    with np.errstate(divide="ignore", over="ignore"):
        beta = 1.0 / T
        C_low = np.minimum(1.0 / (1.0 + np.sqrt(np.pi * alpha / 2)), np.minimum(0.5 * beta, 0.99))
    depth = 1.0 + np.sqrt(alpha) - T
    near = (depth > 0) & (depth < 0.25)
    C = np.where(near, 1.0 - np.sqrt(alpha) / np.where(near, T, 1.0), C_low)
    v = np.where(near, depth * T**2, alpha / (1.0 - C_low) ** 2)
    return C, v


@cache
def _entropy_function(P: int):
    """s0 of :func:`derivations.dense_hopfield.zero_temperature_entropy` as a numpy function
    of the T = 0 variables and alpha."""
    variables = (derivation.m, derivation.C, derivation.r) if P == 2 else (derivation.m,)
    return sp.lambdify([*variables, derivation.alpha],
                       derivation.zero_temperature_entropy(P), modules=["scipy", "numpy"])


@cache
def system(P: int, zero_temperature: bool, nodes: int = gaussian.DEFAULT_NODES) -> System:
    """The solver's view of the derived equations (cached per case); ``nodes`` is the
    quadrature's node count (:func:`theorylab.gaussian.expect`)."""
    if P == 2:
        variables = ("m", "C", "r") if zero_temperature else ("m", "C", "v")
        lower, upper = np.array([-1.0, 0.0, 0.0]), np.array([1.0, np.inf, np.inf])
    elif zero_temperature:
        variables, lower, upper = ("m",), np.array([-1.0]), np.array([1.0])
    else:
        variables = ("m", "q")
        lower, upper = np.array([-1.0, 0.0]), np.array([1.0, 1.0])
    below = 0.0 if zero_temperature else ZERO_TEMPERATURE_BELOW.get(
        P, ZERO_TEMPERATURE_BELOW_DENSE)
    return System(P, zero_temperature, variables, lower, upper, nodes, below)


def _keep(start: str, sys_: System):
    """A retrieval start whose m collapsed below 1e-3 will end on the spin-glass or
    paramagnetic branch, which are solved from their own starts: it is dropped."""
    if start != "retrieval":
        return None
    return lambda x, params: np.abs(x[0]) > 1e3 * THRESHOLD


PHASES = (
    Phase("retrieval", "m > 0: the network recalls the condensed pattern",
          lambda ops, p: ops["m"] > THRESHOLD),
    Phase("spin-glass", "m = 0, q > 0: frozen states uncorrelated with the patterns",
          lambda ops, p: ops["q"] > THRESHOLD),
    # The RS paramagnet's entropy ln 2 - alpha P!/(8 T^2) (P >= 3) turns negative at low T: an
    # entropy crisis below which it is unphysical for Ising spins (the true state freezes,
    # 1RSB); it is kept as a branch but never selected there. The RS spin glass's own small
    # negative entropy (the classic RS artefact, AGS) does not discard it: RS lines compare
    # with it.
    Phase("paramagnet", "m = q = 0", lambda ops, p: np.ones_like(ops["m"], dtype=bool),
          needs_entropy=True, undefined=(
              Undefined(lambda case, p: (case["P"] == 2) & (p["alpha"] > 0) & (p["T"] <= 1),
                        "for P = 2 and alpha > 0 the RS paramagnet needs 1 - beta (1 - q) > 0 "
                        "(the AGS free energy holds ln(1 - beta (1 - q))), i.e. T > 1 at q = 0 "
                        "(AGS 1987)"),
              Undefined(lambda case, p: p["T"] == 0,
                        "the T = 0 equations have no paramagnet (they hold q = 1; the RS "
                        "paramagnet's f = -T ln 2 - alpha P!/(8 T) has no T -> 0 limit at "
                        "alpha > 0)"))),
)


# --- lines ---------------------------------------------------------------------------------------

def _retrieval_seed(fixed: str, value: float, case: Mapping) -> tuple[float, float]:
    """Deep in retrieval: small alpha at given T (P = 2 starts just off alpha = 0, where the
    AGS variables are degenerate), low T at given alpha; the branch ends towards larger."""
    if fixed == "T":
        return (1e-4 if case["P"] == 2 else 0.0), 1.0
    return 0.05, 1.0


def _spin_glass_seed(fixed: str, value: float, case: Mapping) -> tuple[float, float]:
    """The P >= 3 RS spin glass: low T at given alpha, large alpha at given T."""
    return (0.02, 1.0) if fixed == "alpha" else (1.0, -1.0)


def _paramagnet_instability(fixed: str, value: float, case: Mapping) -> dict:
    """P = 2: the paramagnet's continuous instability T_g(alpha), derived symbolically
    (:func:`derivations.dense_hopfield.paramagnet_instability`: T_g = 1 + sqrt(alpha))."""
    Tg = sp.lambdify(derivation.alpha, derivation.paramagnet_instability(2))
    if fixed == "T":  # T_g is monotone in alpha: invert numerically
        a = phases.crossing(lambda a: float(Tg(a)) - value, 0.0, 1e3)
        return {"T": value, "alpha": a, "found": a is not None}
    return {"alpha": value, "T": float(Tg(value)), "found": True}


def _curie_weiss_point(case: Mapping) -> tuple[dict, ...]:
    """P = 2: at alpha -> 0 the retrieval lines end at the Curie-Weiss critical point (0, 1),
    where the retrieval fold degenerates into the continuous transition (m -> 0)."""
    if case["P"] != 2:
        return ()
    return ({"alpha": 0.0, "T": 1.0, "why": "the Curie-Weiss critical point (alpha, T) = (0, 1)"},)


def _natural_load(free: str, case: Mapping) -> float:
    """The unit of alpha in which P-spin spinodals are followed: 1/(P-1)!, so that the
    continuation runs in the natural load alpha (P-1)! (the noise variance at q = 1, spec §2.2).
    At T = 0, alpha_c(P) (P-1)! = erf(y*)^(2(P-1)) / (2 y*^2) with y*^2 ~ ln(2 (P-1) y*/sqrt(pi))
    falls only logarithmically (0.252 at P = 3, 0.090 at P = 40) while alpha_c is 8.7e-19 at
    P = 20, far below a first continuation step in alpha itself."""
    return 1.0 / math.factorial(case["P"] - 1) if free == "alpha" else 1.0


def _at_seed(fixed: str, value: float, case: Mapping) -> tuple[float, float]:
    """The AT eigenvalue is large at low T (it diverges like beta) and zero at alpha = 0: scan
    T upwards from near zero at given alpha, alpha upwards from zero at given T."""
    return (1e-4, 1.0) if fixed == "alpha" else (0.0, 1.0)


LINES = {
    "retrieval-spinodal": LineRecipe(
        "spinodal", "end of the retrieval branch: alpha_c(T) (T = 0: the critical capacity); "
        "a fold of the RS equations (AGS 1987 for P = 2; Gardner 1987)", "T", "alpha",
        branch="retrieval",
        seed=_retrieval_seed, meets=_curie_weiss_point, scale=_natural_load),
    "retrieval-thermodynamic": LineRecipe(
        "first-order", "retrieval is the thermodynamic state on its low-load side: f_retrieval "
        "equals the lowest selectable other f, or a competitor appears below it at its "
        "spinodal (P = 2 at T = 0: alpha = 0.0519, AGS 1987)", "T", "alpha", branch="retrieval",
        seed=_retrieval_seed, meets=_curie_weiss_point),
    "retrieval-at": LineRecipe(
        "at", "de Almeida-Thouless line of the RS retrieval branch: its AT eigenvalue "
        "lambda_at (derived from the 1RSB map, spec §6; AGS 1987 for P = 2) crosses one; below "
        "it RS retrieval is unstable against replica symmetry breaking (the continuous limit; "
        "for P >= 3 1RSB can set in discontinuously before it)", "alpha", "T",
        branch="retrieval", seed=_at_seed),
    "spin-glass": LineRecipe(
        "continuous", "P = 2: the paramagnet's continuous instability T_g = 1 + sqrt(alpha) "
        "(derived), where the spin glass bifurcates from it", "alpha", "T",
        branch="paramagnet", exact=_paramagnet_instability,
        absent=lambda case: None if case["P"] == 2 else (
            "for P >= 3 the paramagnet is locally stable at every T (its linearised map "
            "vanishes): the RS spin glass appears at its own spinodal, line "
            "spin-glass-spinodal")),
    "paramagnet-entropy-crisis": LineRecipe(
        "entropy", "P >= 3: the RS paramagnet's entropy ln 2 - alpha P!/(8 T^2) vanishes, "
        "T = sqrt(alpha P!/(8 ln 2)); below it RS has no admissible paramagnet (the true state "
        "freezes, 1RSB)", "alpha", "T", branch="paramagnet",
        seed=lambda fixed, value, case: (10.0, -1.0) if fixed == "alpha" else (1e-6, 1.0),
        absent=lambda case: None if case["P"] > 2 else (
            "for P = 2 the RS paramagnet's entropy is ln 2 at every T")),
    "spin-glass-spinodal": LineRecipe(
        "spinodal", "P >= 3: end of the RS spin-glass branch (it appears discontinuously, "
        "Gardner 1987)", "alpha", "T", branch="spin-glass", seed=_spin_glass_seed,
        absent=lambda case: None if case["P"] > 2 else (
            "for P = 2 the spin glass bifurcates continuously from the paramagnet: line "
            "spin-glass")),
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


def _verify_point(P: int, alpha: float, T: float, N: int, sweeps: int,
                  start: str) -> VerifyPoint:
    """Pattern starts are compared with the retrieval branch (the state the chain samples,
    metastable or not), random starts at high T with the thermodynamic state (|m|)."""
    m_key = "abs_m" if start == "random" else "m"
    return VerifyPoint(
        theory={"P": P, "alpha": alpha, "T": T},
        simulation={"N": N, "sweeps": sweeps, "start": start},
        rows=(("m", m_key, finite_size_allowance(m_key, P, N)),
              ("energy", "energy", finite_size_allowance("energy", P, N))),
        phase="retrieval" if start == "pattern" else None)


# Verification points: well inside retrieval (spec §4: finite-N retrieval beyond alpha_c is
# long-lived, and at N = 60, P = 4 a chain can leave the pattern at alpha = 0.01, T = 0.5) and in
# the paramagnet from random starts.
VERIFY_POINTS = (
    _verify_point(2, 0.05, 0.3, 4000, 300, "pattern"),
    _verify_point(2, 0.05, 2.0, 2000, 200, "random"),
    _verify_point(3, 0.05, 0.3, 200, 300, "pattern"),
    _verify_point(4, 0.01, 0.3, 80, 400, "pattern"),
    _verify_point(3, 0.01, 2.0, 100, 200, "random"),
)
VERIFY_POINTS_FULL = (
    _verify_point(2, 0.1, 0.2, 8000, 400, "pattern"),
    _verify_point(3, 0.1, 0.2, 300, 400, "pattern"),
    _verify_point(4, 0.02, 0.3, 100, 400, "pattern"),
)


class DenseHopfield(EquilibriumModel):
    """The dense (P-spin) Hopfield network, RS theory; see the module docstring."""

    name = "dense-hopfield"
    title = "dense (P-spin) Hopfield network, high storage K = alpha N^(P-1), replica symmetric"
    parameters = (
        Parameter("P", "interaction order (P = 2: the AGS Hopfield model)", "int", 2,
                  default=2),
        Parameter("alpha", "load alpha = K / N^(P-1)", "float", 0.0),
        Parameter("T", "temperature T = 1/beta in the convention H = -(N/2) sum :m^P:; T = 0 "
                  "uses the exact zero-temperature equations", "float", 0.0),
        Parameter("ansatz", "replica ansatz: rs (replica symmetric) or 1rsb (one step of "
                  "replica symmetry breaking, spec §6; solve and lines at given T)", "choice",
                  choices=ANSATZES, default="rs"),
    )
    simulation_parameters = (
        Parameter("N", "number of spins", "int", 4, default=1000),
        Parameter("sweeps", "Monte Carlo sweeps (N proposals each); the first half is burn-in",
                  "int", 2, default=200),
        Parameter("start", "initial state: 'pattern' (retrieval) or 'random'", "choice",
                  choices=("pattern", "random"), default="pattern"),
    )
    order_parameters = ("m", "q", "r", "lambda_at")
    phase_list = PHASES
    point_parameters = ("alpha", "T")
    search_box = {"alpha": 10.0, "T": 10.0}
    settings = Settings(patience=30)
    lines = LINES
    citations = CITATIONS
    diagram_axes = ("alpha", "T")
    approximation = "RS"
    metastable_marked = ("retrieval",)
    presets = {
        "ags": {"P": "2", "alpha": "0:0.2:101", "T": "0:1.5:76"},
        "gardner-P3": {"P": "3", "alpha": "0:0.2:81", "T": "0:1.2:61"},
        "gardner-P4": {"P": "4", "alpha": "0:0.05:81", "T": "0:1.2:61"},
    }

    def systems(self, case):
        P = int(case["P"])
        return lambda zero_temperature, nodes: system(P, zero_temperature, nodes)

    def keep(self, start, system):
        return _keep(start, system)

    def no_state_hint(self, case) -> str:
        return ("; below the RS entropy crisis the glass needs 1RSB: use --ansatz 1rsb "
                "(ansatz=1rsb)") if case["P"] > 2 else ""

    def diagram_title(self, others) -> str:
        return f"dense Hopfield network, P = {others['P']} (RS)"

    # --- the 1RSB ansatz (theorylab.models.dense_hopfield_1rsb) --------------------------------
    def _ansatz(self, params: Mapping[str, object]) -> str:
        return self.parameter("ansatz").check(params.get("ansatz", "rs"))

    def solve(self, phase: str | None = None, **params):
        if self._ansatz(params) == "rs":
            return super().solve(phase=phase, **params)
        params = self.validate(params)
        self.check_phase(phase)
        return rsb_model.solve(self, params, phase)

    def branches(self, **params):
        if self._ansatz(params) == "rs":
            return super().branches(**params)
        return [s for s in (self.solve(phase=ph.name, **params) for ph in self.phase_list)
                if s.converged]

    def cut(self, axis, values, **fixed):
        if self._ansatz(fixed) != "rs":
            raise ParameterError("cut follows RS branches only; with ansatz=1rsb use solve at "
                                 "points, or line")
        return super().cut(axis, values, **fixed)

    def line(self, name: str, **params) -> Line:
        if self._ansatz(params) == "rs":
            return super().line(name, **params)
        recipe = self.check_line(name)
        if name not in rsb_model.LINES:
            raise ParameterError(f"line {name} with ansatz=1rsb: only "
                                 f"{', '.join(rsb_model.LINES)} (the others are RS lines)")
        if "T" not in params or "alpha" in params:
            raise ParameterError(f"line {name} with ansatz=1rsb is located at given T (a "
                                 "value, a list or a range); alpha is found")
        values = np.atleast_1d(params.pop("T"))
        others = self.validate({**params, "T": float(values[0]), "alpha": 0.0})
        points = tuple(self._line_point_1rsb(name, float(self.parameter("T").check(float(T))),
                                             others) for T in values)
        reported = {k: v for k, v in others.items() if k not in self.point_parameters}
        return Line(model=self.name, line=name, kind=recipe.kind, parameters=reported,
                    points=points, message=recipe.description + "; here with 1RSB states "
                    "(module theorylab.models.dense_hopfield_1rsb)")

    def _line_point_1rsb(self, name: str, T: float, others: Mapping[str, object]) -> dict:
        P = int(others["P"])
        rs = {**others, "ansatz": "rs"}
        rs.pop("alpha", None)
        rs.pop("T", None)
        # the RS end seeds the T > 0 continuation; at T = 0 the 1RSB capacity has its own
        rs_end = self.line_point("retrieval-spinodal", "T", T, rs).get("alpha") if T > 0 else None
        spinodal = rsb_model.retrieval_spinodal(P, T, rs_end)
        if name == "retrieval-spinodal" or not spinodal["found"]:
            return spinodal
        return rsb_model.retrieval_thermodynamic(self, P, T, spinodal["alpha"])

    def diagram(self, axes, fixed, *, executor=None, store=None, progress=False):
        """RS grid and lines; with ansatz=1rsb also the 1RSB retrieval lines at a few
        temperatures (in the (alpha, T) plane), drawn with them."""
        if self._ansatz(fixed) == "rs":
            return super().diagram(axes, fixed, executor=executor, store=store,
                                   progress=progress)
        ds = super().diagram(axes, {**fixed, "ansatz": "rs"}, executor=executor, store=store,
                             progress=progress)
        if set(axes) != {"alpha", "T"}:
            return ds
        return rsb_model.add_lines(self, ds, np.asarray(axes["T"], dtype=float),
                                   {k: v for k, v in fixed.items() if k != "ansatz"})

    def simulate(self, seeds: int = 8, seed: int = 0, progress: bool = False, **params):
        """Random-scan Metropolis Monte Carlo (:mod:`montecarlo.dense_hopfield`) at one point."""
        from montecarlo import dense_hopfield as mc

        theory = self.validate({k: params.pop(k) for k in list(params) if k in
                                ("P", "alpha", "T")})
        sim = validate(self.simulation_parameters, params)
        return mc.simulate(theory["P"], sim["N"], theory["alpha"], theory["T"], chains=seeds,
                           sweeps=sim["sweeps"], start=sim["start"], seed=seed)

    def temper(self, temperatures, seeds: int = 4, seed: int = 0, **params):
        """Parallel tempering (:func:`montecarlo.tempering.temper`) over a temperature ladder
        at (P, alpha): ``seeds`` independent runs, two replicas per temperature (for P(q)),
        ``sweeps`` exchange rounds of one sweep each (the first half burn-in)."""
        from montecarlo import dense_hopfield as mc
        from montecarlo import tempering

        theory = self.validate({**{k: params.pop(k) for k in list(params) if k in
                                   ("P", "alpha")}, "T": float(temperatures[0])})
        sim = validate(self.simulation_parameters, params)
        K = mc.number_of_patterns(theory["P"], sim["N"], theory["alpha"])
        return tempering.temper(theory["P"], sim["N"], K, temperatures, runs=seeds,
                                rounds=sim["sweeps"], start=sim["start"], seed=seed)

    def verify(self, quick: bool = True, progress: bool = False):
        """Theory against Monte Carlo at retrieval and paramagnetic points, P = 2 and P >= 3:
        |theory - MC| <= 3 stderr + :func:`finite_size_allowance`."""
        points = VERIFY_POINTS if quick else VERIFY_POINTS + VERIFY_POINTS_FULL
        return verify_points(self, points, progress)


MODEL = DenseHopfield()

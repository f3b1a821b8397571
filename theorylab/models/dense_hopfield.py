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

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from derivations import dense_hopfield as derivation
from theorylab import gaussian, phases
from theorylab.equilibrium import (
    EquilibriumModel,
    LineRecipe,
    Phase,
    Settings,
    VerifyPoint,
    verify_points,
)
from theorylab.parameters import Parameter, validate

THRESHOLD = 1e-6  # |m| or q below this counts as zero when classifying a state
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
        """m >= 0 (the gauge m -> -m), q (and r for P = 2) from solver variables."""
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
          needs_entropy=True),
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


LINES = {
    "retrieval-spinodal": LineRecipe(
        "spinodal", "end of the retrieval branch: alpha_c(T) (T = 0: the critical capacity); "
        "a fold of the RS equations (spec §2)", "T", "alpha", branch="retrieval",
        seed=_retrieval_seed, meets=_curie_weiss_point),
    "retrieval-thermodynamic": LineRecipe(
        "first-order", "retrieval is the thermodynamic state on its low-load side: f_retrieval "
        "equals the lowest selectable other f, or a competitor appears below it at its "
        "spinodal; AGS: alpha = 0.0519 at T = 0", "T", "alpha", branch="retrieval",
        seed=_retrieval_seed, meets=_curie_weiss_point),
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
        "spec §2.2)", "alpha", "T", branch="spin-glass", seed=_spin_glass_seed,
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
    )
    simulation_parameters = (
        Parameter("N", "number of spins", "int", 4, default=1000),
        Parameter("sweeps", "Monte Carlo sweeps (N proposals each); the first half is burn-in",
                  "int", 2, default=200),
        Parameter("start", "initial state: 'pattern' (retrieval) or 'random'", "choice",
                  choices=("pattern", "random"), default="pattern"),
    )
    order_parameters = ("m", "q", "r")
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
        return "; below the RS entropy crisis the glass needs 1RSB" if case["P"] > 2 else ""

    def diagram_title(self, others) -> str:
        return f"dense Hopfield network, P = {others['P']} (RS)"

    def simulate(self, seeds: int = 8, seed: int = 0, progress: bool = False, **params):
        """Random-scan Metropolis Monte Carlo (:mod:`montecarlo.dense_hopfield`) at one point."""
        from montecarlo import dense_hopfield as mc

        theory = self.validate({k: params.pop(k) for k in list(params) if k in
                                ("P", "alpha", "T")})
        sim = validate(self.simulation_parameters, params)
        return mc.simulate(theory["P"], sim["N"], theory["alpha"], theory["T"], chains=seeds,
                           sweeps=sim["sweeps"], start=sim["start"], seed=seed)

    def verify(self, quick: bool = True, progress: bool = False):
        """Theory against Monte Carlo at retrieval and paramagnetic points, P = 2 and P >= 3:
        |theory - MC| <= 3 stderr + :func:`finite_size_allowance`."""
        points = VERIFY_POINTS if quick else VERIFY_POINTS + VERIFY_POINTS_FULL
        return verify_points(self, points, progress)


MODEL = DenseHopfield()

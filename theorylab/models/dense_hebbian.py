"""Dense (P-spin) Hebbian networks trained on examples, high storage, replica symmetric.

Spec: ``shared/specs/dense-hopfield.md`` §7. Papers: Agliari, Albanese, Alemanno, Alessandrelli,
Barra, Giannotti, Lotito, Pedreschi, *Dense Hebbian neural networks: a replica symmetric picture
of supervised learning*, arXiv 2212.00606, and *... of unsupervised learning*, arXiv 2211.14067.

Convention (the spec's own, §7 and §7.2; that of :mod:`derivations.dense_hebbian`): K =
alpha N^(P-1) archetypes xi^mu, M examples each with entries kept w.p. (1 + r)/2, chi_hat the
example mean over r (mean 1, variance rho = (1 - r^2)/(M r^2)); supervised
H = -(N/2) sum_mu :n_mu^P:, unsupervised H = -(N/2)(1/M) sum_{mu,a} :(m_{mu a}/r)^P:, repeated
indices removed, T = 1/beta. A paper's temperature T' is ours at T = T'/c for its cost's
constant factor c (spec §7.2); alpha and every T = 0 result are unchanged. P >= 3 only.

The RS free energy is written once in :mod:`derivations.dense_hebbian`; its fixed-point map,
free energy, archetype overlap and exact T = 0 equations are derived there and used here.
Solver variables: (n, q) at T > 0 (n the overlap with the example mean, the signal; q the
two-replica overlap), n alone at T = 0 (q = 1). The archetype overlap m = E tanh(beta' h) is
reported beside them. The Jacobian is taken by central differences of the derived map
(:data:`STEP`). The internal energy is u = d(beta f)/d(beta) at a solution,
u = -n^P/2 - beta alpha P! A (1 - q^P)/4 (the dense Hopfield energy of spec §8 with the noise
amplification A of §7.1; checked against the temperature derivative of the derived f in
``tests/test_dense_hebbian.py``).

Phases: ``retrieval`` (archetype retrieval, m > 0), ``spin-glass`` (m = 0, q > 0),
``paramagnet`` (q = 0) and ``example-retrieval`` (unsupervised protocol, exact average,
M >= 2 only: sigma ~ eta^{1,1}, spec §7.1). Lines (folds of the retrieval branch):
``retrieval-spinodal`` in (alpha, T) and ``learning-threshold`` in (alpha, rho) (Gaussian
average; spec §7.3's rho_c; the exact average by continuation in integer M); of the example
branch: ``example-spinodal`` and ``example-thermodynamic`` in (alpha, T).

Example states (:class:`ExampleSystem`, from
:func:`derivations.dense_hebbian.example_free_energy`): for the unsupervised protocol with the
exact average and M >= 2 the solver variables are (m_e, m_o, q) at T > 0 and (m_e, m_o) at
T = 0, the overlaps of one distinguished example of the condensed class and of each of its
other M - 1 examples; the symmetric states (archetype retrieval, spin glass, paramagnet) are
m_e = m_o = r n, and m, n, q are reported as in every other case, with m_e and m_o beside them
(only in this case). A state is an example state if m_e - m_o > :data:`EXAMPLE_GAP` and m_e > m
(closer to the example than to the archetype); a slightly asymmetric state closer to the
archetype is archetype retrieval (at alpha = 0, T = 0 and even M the symmetric state is
unstable to aligning its sites of zero field with the distinguished example). With the Gaussian
average, for the supervised protocol and at M = 1 the example phase is reported undefined.
Not here: the T -> 0 entropy and 1RSB.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from theorylab import gaussian, lazy
from theorylab.equilibrium import (
    EquilibriumModel,
    LineRecipe,
    Phase,
    Settings,
    Undefined,
    VerifyPoint,
    verify_points,
)
from theorylab.models.dense_hopfield import finite_size_allowance
from theorylab.parameters import Parameter, ParameterError, validate

sp = lazy.module("sympy")  # the derivation and sympy: on first use
derivation = lazy.module("derivations.dense_hebbian")

THRESHOLD = 1e-6  # |m| or q below this counts as zero when classifying a state
# Difference step of the Jacobian: ~ eps^(1/3) balances truncation and rounding (as
# theorylab.curves); the fold and eigenvalue systems of the lines differentiate it again.
STEP = 6e-6
PROTOCOLS = ("supervised", "unsupervised")  # as the derivation's, which is imported lazily


@dataclass(frozen=True)
class System:
    """The derived equations of one (P, protocol, average, M, T = 0 or T > 0) case.

    ``F(x, params)`` is the fixed-point map on x of shape (n, G); ``params`` holds arrays of
    shape (G,) of the point parameters (``alpha``, ``T``, ``rho``, ``r``); ``M`` (exact average)
    is part of the case. ``lower``/``upper`` bound the solver's iterates (n is not bounded by
    one: with noisy examples |n| <= E|chi_hat|).
    """

    P: int
    protocol: str
    average: str
    M: int | None
    zero_temperature: bool
    variables: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    nodes: int = gaussian.DEFAULT_NODES

    @property
    def equations(self):
        return derivation.equations(self.P, self.protocol, self.average, self.zero_temperature)

    def _args(self, params: Mapping[str, np.ndarray]) -> dict:
        params = self.point(params)
        args = {k: params[k] for k in self.equations.parameters if k != "M"}
        if self.M is not None:
            args["M"] = self.M
        return args

    def point(self, params: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        """The point parameters with the Gaussian average's rho taken from (r, M) where M is
        finite: rho = (1 - r^2)/(M r^2) (spec §7); M = inf keeps the given rho."""
        if self.M is not None or "M" not in params:
            return params
        M = np.asarray(params["M"], dtype=float)
        r = np.asarray(params["r"], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(np.isfinite(M), (1 - r * r) / (M * r * r), params["rho"])
        return {**params, "rho": rho}

    def _clipped(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.lower[:, None], self.upper[:, None])

    def F(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.equations.fixed_point(self._clipped(x), self._args(params),
                                              nodes=self.nodes)

    def jacobian(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """dF_i/dx_j, shape (G, n, n), by differences of the derived map: central, one-sided
        next to a bound, with the step :data:`STEP` (the map is a fixed quadrature rule, smooth
        in x to rounding)."""
        n, size = x.shape
        J = np.empty((size, n, n))
        for j in range(n):
            h = STEP * np.maximum(1.0, np.abs(x[j]))
            up = np.where(x[j] + h <= self.upper[j], h, 0.0)
            down = np.where(x[j] - h >= self.lower[j], h, 0.0)
            xp, xm = x.copy(), x.copy()
            xp[j] += up
            xm[j] -= down
            J[:, :, j] = ((self.F(xp, params) - self.F(xm, params)) / (up + down)).T
        return J

    def _signal(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """The signal term's n^P (of u = -signal/2 - ...)."""
        return x[0] ** self.P

    def thermodynamics(self, x: np.ndarray,
                       params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Free energy f and internal energy u per spin (T = 0: both the ground-state energy);
        u = -signal/2 - beta alpha P! A (1 - q^P)/4, q the last variable."""
        x = self._clipped(x)
        with np.errstate(all="ignore"):
            f = np.asarray(self.equations.free_energy(x, self._args(params), nodes=self.nodes),
                           dtype=float)
        if self.zero_temperature:
            return f, f.copy()
        amplification = _amplification(self.P, self.protocol, self.average)(
            *(self.point(params)[k] for k in ("rho", "r")), float(self.M or 1))
        with np.errstate(all="ignore"):
            u = (-self._signal(x, params) / 2 - params["alpha"] * math.factorial(self.P)
                 / (4 * params["T"]) * amplification * (1 - x[-1] ** self.P))
        return f, np.asarray(u, dtype=float)

    def order_parameters(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> dict:
        """The archetype overlap m, the signal n and q; m and n as magnitudes (for even P,
        sigma -> -sigma maps a state of n < 0 onto one of n > 0; for odd P, n >= 0 at every
        fixed point)."""
        x = self._clipped(x)
        with np.errstate(all="ignore"):
            m = self.equations.overlap(x, self._args(params), nodes=self.nodes)
        q = np.ones_like(x[0]) if self.zero_temperature else x[1]
        return {"m": np.abs(m), "n": np.abs(x[0]), "q": q}

    def starts(self, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Starting points of each phase (arrays of shape (n, G))."""
        one = np.ones_like(np.asarray(params["alpha"], dtype=float))
        zero = np.zeros_like(one)
        if self.zero_temperature:
            return {"retrieval": np.array([one]), "spin-glass": np.array([zero])}
        return {"retrieval": np.array([one, one]), "spin-glass": np.array([zero, one]),
                "paramagnet": np.array([zero, zero])}


@dataclass(frozen=True)
class ExampleSystem(System):
    """The unsupervised protocol with the exact average at M >= 2: the symmetric saddle and
    the example states in one system (spec §7.1), from
    :func:`derivations.dense_hebbian.example_free_energy`.

    Variables (m_e, m_o, q) at T > 0, (m_e, m_o) at T = 0: the overlaps of the condensed
    class's distinguished example and of each of its other M - 1 examples. The symmetric
    states (archetype retrieval, spin glass, paramagnet) are m_e = m_o = r n; example states
    have m_e > m_o (and m_e above the archetype overlap m).
    """

    @property
    def equations(self):
        return derivation.equations(self.P, self.protocol, self.average, self.zero_temperature,
                                    "example")

    def _signal(self, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """(m_e^P + (M-1) m_o^P)/(M r^P), n^P in the symmetric saddle (u by the same
        derivation as the symmetric one, n^P replaced by this signal term)."""
        return ((x[0] ** self.P + (self.M - 1) * x[1] ** self.P)
                / (self.M * np.asarray(params["r"], dtype=float) ** self.P))

    def order_parameters(self, x, params):
        """m, n = (m_e + (M-1) m_o)/(M r) (the overlap with the example mean over r; m_e/r in
        the symmetric saddle), q, m_e and m_o; the sign of the state fixed by n >= 0 (for
        even P, sigma -> -sigma maps a state onto its reverse)."""
        x = self._clipped(x)
        r = np.asarray(params["r"], dtype=float)
        with np.errstate(all="ignore"):
            m = self.equations.overlap(x, self._args(params), nodes=self.nodes)
            n = (x[0] + (self.M - 1) * x[1]) / (self.M * r)
        sign = np.where(n < 0, -1.0, 1.0)
        q = np.ones_like(x[0]) if self.zero_temperature else x[2]
        return {"m": sign * m, "n": sign * n, "q": q, "m_e": sign * x[0], "m_o": sign * x[1]}

    def starts(self, params):
        """Archetype retrieval (m_e = m_o = r, and tilted towards the distinguished example,
        m_e = r + 0.05: where the symmetric state is unstable to it, at small alpha and T
        with even M, sites of zero field align with that example), an example (m_e = 1,
        m_o = r^2: the pure example sigma = eta^{1,1}), the spin glass and (T > 0) the
        paramagnet."""
        r = np.asarray(params["r"], dtype=float) * np.ones_like(
            np.asarray(params["alpha"], dtype=float))
        one, zero = np.ones_like(r), np.zeros_like(r)
        q = [] if self.zero_temperature else [one]
        starts = {"retrieval": np.array([r, r, *q]),
                  "retrieval:tilted": np.array([r + 0.05, r, *q]),
                  "example-retrieval": np.array([one, r * r, *q]),
                  "spin-glass": np.array([zero, zero, *q])}
        if not self.zero_temperature:
            starts["paramagnet"] = np.array([zero, zero, zero])
        return starts


def with_examples(protocol: str, average: str, M: int | None) -> bool:
    """Whether a case has example states (:class:`ExampleSystem`): the unsupervised protocol
    with the exact average and M >= 2 examples per class (spec §7.1)."""
    return protocol == "unsupervised" and average == "exact" and M is not None and M >= 2


@cache
def _amplification(P: int, protocol: str, average: str):
    """A(rho, r, M) of :func:`derivations.dense_hebbian.noise_amplification` as a numpy
    function (spec §7.1: (1 + rho)^P supervised, 1 + rho sum_{j<P} r^(-2j) unsupervised)."""
    return sp.lambdify([derivation.rho, derivation.r, derivation.M],
                       derivation.noise_amplification(P, protocol, average), modules="numpy")


@cache
def system(P: int, protocol: str, average: str, M: int | None, zero_temperature: bool,
           nodes: int = gaussian.DEFAULT_NODES) -> System:
    """The solver's view of the derived equations (cached per case): :class:`ExampleSystem`
    where the case has example states (:func:`with_examples`), else the symmetric saddle."""
    kind, first = (ExampleSystem, ("m_e", "m_o")) if with_examples(protocol, average, M) else (
        System, ("n",))
    variables = first if zero_temperature else (*first, "q")
    lower = np.array([-np.inf] * len(first) + ([] if zero_temperature else [0.0]))
    upper = np.array([np.inf] * len(first) + ([] if zero_temperature else [1.0]))
    return kind(P, protocol, average, M, zero_temperature, variables, lower, upper, nodes)


def _keep(start: str, sys_: System):
    """A retrieval start whose n (m_e) collapsed below 1e-3 will end on the spin-glass or
    paramagnetic branch, which are solved from their own starts: it is dropped; so is an
    example start whose m_e - m_o fell below :data:`EXAMPLE_GAP` (it ends on a symmetric
    branch)."""
    if start == "example-retrieval":
        return lambda x, params: x[0] - x[1] > EXAMPLE_GAP
    if start.split(":")[0] != "retrieval":
        return None
    return lambda x, params: np.abs(x[0]) > 1e3 * THRESHOLD


EXAMPLE_GAP = 1e-3
"""An example state has m_e - m_o above this (and m_e > m)."""


def _example(ops, params=None) -> np.ndarray:
    """Example states: closer to the distinguished example than to the archetype (m_e > m)
    and m_e - m_o > :data:`EXAMPLE_GAP`. Without m_e (no example states in the case): none.
    A slightly asymmetric state closer to the archetype (at alpha = 0 and even M, sites of
    zero field of the symmetric state aligned with the distinguished example) is archetype
    retrieval."""
    if "m_e" not in ops:
        return np.zeros(np.shape(ops["m"]), dtype=bool)
    with np.errstate(invalid="ignore"):
        return (ops["m_e"] - ops["m_o"] > EXAMPLE_GAP) & (ops["m_e"] > ops["m"])


def _symmetric_only(case, p) -> np.ndarray:
    return np.full(np.shape(p["alpha"]), not with_examples(
        case.get("protocol"), case.get("average"), case.get("M")))


PHASES = (
    Phase("retrieval", "m > 0: the network recalls the archetype (never shown) of the "
          "condensed class", lambda ops, p: (ops["m"] > THRESHOLD) & ~_example(ops)),
    Phase("spin-glass", "m = 0, q > 0: frozen states uncorrelated with the archetypes",
          lambda ops, p: (ops["q"] > THRESHOLD) & ~_example(ops)),
    # As for the dense Hopfield model: the RS paramagnet's entropy
    # ln 2 - alpha P! A/(8 T^2) turns negative at low T, where it is unphysical for Ising spins.
    Phase("paramagnet", "q = 0 (and m = 0)", lambda ops, p: ~_example(ops),
          needs_entropy=True, undefined=(
              Undefined(lambda case, p: p["T"] == 0,
                        "the T = 0 equations have no paramagnet (they hold q = 1; the RS "
                        "paramagnet's f = -T ln 2 - alpha P! A/(8 T) has no T -> 0 limit at "
                        "alpha > 0)"),)),
    Phase("example-retrieval", "m_e > m_o, m_e > m: the network recalls one stored example "
          "(sigma ~ eta^{1,1}, m_e ~ 1, the other examples m_o ~ r^2) rather than the archetype "
          "(spec §7.1; unsupervised protocol, exact average, M >= 2)", _example, undefined=(
              Undefined(_symmetric_only,
                        "example states are solved for the unsupervised protocol with the "
                        "exact average and M >= 2 only (spec §7.1: one distinguished example, "
                        "the rest symmetric; not with the Gaussian average, and the supervised "
                        "protocol does not store the examples one by one)"),)),
)


MAX_EXAMPLES = 512
"""Where the exact average's learning threshold is continued down from (close to M = inf)."""


def _rho(r: float, M: float) -> float:
    """rho = (1 - r^2)/(M r^2) (spec §7)."""
    return (1 - r * r) / (M * r * r)


def _examples(r: float, rho: float | None) -> float | None:
    """M = (1 - r^2)/(r^2 rho): the number of examples of quality r with entropy rho (spec §7);
    None where rho was not found, inf at rho = 0."""
    if rho is None:
        return None
    return math.inf if rho == 0 else (1 - r * r) / (r * r * rho)


def _retrieval_seed(fixed: str, value: float, case: Mapping) -> tuple[float, float]:
    """Deep in retrieval: alpha = 0 at given T, low T at given alpha; the end lies beyond."""
    return (0.0, 1.0) if fixed == "T" else (0.05, 1.0)


def _clean_data_seed(fixed: str, value: float, case: Mapping) -> tuple[float, float]:
    """From the clean limit: rho = 0 (M = inf) at given alpha, alpha = 0 at given rho."""
    return 0.0, 1.0


def _no_examples(case: Mapping) -> str | None:
    """Why a case has no example states (None: it has)."""
    if with_examples(case["protocol"], case["average"], case["M"]):
        return None
    return ("example states are solved for the unsupervised protocol with the exact average "
            "and M >= 2 only (spec §7.1)")


def _natural_load(free: str, case: Mapping) -> float:
    """alpha is followed in units of 1/(P-1)!, the scale of the critical load (spec §2.2)."""
    return 1.0 / math.factorial(case["P"] - 1) if free == "alpha" else 1.0


LINES = {
    "retrieval-spinodal": LineRecipe(
        "spinodal", "end of the archetype-retrieval branch: alpha_c(T) at the given data set "
        "(T = 0: the critical load); a fold of the RS equations (spec §7.1)", "T", "alpha",
        branch="retrieval", seed=_retrieval_seed, scale=_natural_load),
    "retrieval-thermodynamic": LineRecipe(
        "first-order", "archetype retrieval is the thermodynamic state on its low-load side: "
        "f of the retrieval state equals the lowest selectable other f, or a competitor appears "
        "below it at its spinodal (RS; spec §7.1); at rho = 0 the dense Hopfield line",
        "T", "alpha", branch="retrieval", seed=_retrieval_seed),
    "example-spinodal": LineRecipe(
        "spinodal", "end of the example-retrieval branch (unsupervised, exact average, M >= 2; "
        "spec §7.1): the load (T = 0: the examples' critical load) or the temperature where "
        "the states sigma ~ eta^{mu,a} cease to exist; a fold of the RS equations with one "
        "distinguished example", "T", "alpha", branch="example-retrieval",
        seed=_retrieval_seed, scale=_natural_load, absent=_no_examples),
    "example-thermodynamic": LineRecipe(
        "first-order", "example retrieval is the thermodynamic state on its low-load "
        "(low-temperature) side: f of the example states equals the lowest selectable other "
        "f, or a competitor appears below it at its spinodal (unsupervised, exact average, "
        "M >= 2; spec §7.1)", "T", "alpha", branch="example-retrieval", seed=_retrieval_seed,
        absent=_no_examples),
    "learning-threshold": LineRecipe(
        "spinodal", "rho_c(alpha) at the given T (and r): the archetype-retrieval branch, "
        "continued from rho = 0 (M = inf) towards noisier data, ends; M_x = (1 - r^2)/(r^2 rho_c) "
        "(spec §7.3, ours: the papers' criterion was not recovered); with the exact average "
        "M_x is the smallest integer M on the branch continued down from M = 512", "alpha",
        "rho",
        branch="retrieval", seed=_clean_data_seed, scale=_natural_load,
    ),
}
CITATIONS = (
    """@article{Agliari2023supervised,
  author = {Agliari, Elena and Albanese, Linda and Alemanno, Francesco and Alessandrelli, Andrea
            and Barra, Adriano and Giannotti, Fosca and Lotito, Daniele and Pedreschi, Dino},
  title = {Dense {Hebbian} neural networks: a replica symmetric picture of supervised learning},
  journal = {Physica A}, year = {2023},
  eprint = {2212.00606}, archivePrefix = {arXiv}
}""",
    """@article{Agliari2023unsupervised,
  author = {Agliari, Elena and Albanese, Linda and Alemanno, Francesco and Alessandrelli, Andrea
            and Barra, Adriano and Giannotti, Fosca and Lotito, Daniele and Pedreschi, Dino},
  title = {Dense {Hebbian} neural networks: a replica symmetric picture of unsupervised
           learning},
  year = {2022},
  eprint = {2211.14067}, archivePrefix = {arXiv}
}""",
)


def _verify_point(protocol: str, alpha: float, T: float, r: float, M: int, N: int,
                  chains: int, sweeps: int = 200) -> VerifyPoint:
    """An archetype start compared with the retrieval branch (P = 3, exact average)."""
    return VerifyPoint(
        theory={"P": 3, "alpha": alpha, "T": T, "r": r, "M": M, "protocol": protocol,
                "average": "exact"},
        simulation={"N": N, "sweeps": sweeps, "start": "archetype"},
        rows=(("m", "m", finite_size_allowance("m", 3, N)),
              ("energy", "energy", finite_size_allowance("energy", 3, N))),
        chains=chains, phase="retrieval")


# Quick points: alpha = 0.005, T = 0.3, r = 0.4, M = 20 is where the protocols' theories differ
# (m = 0.9180 supervised, 0.8716 unsupervised: A_u = 13.2 against (1 + rho)^3 = 2.01), and
# tests/test_montecarlo_dense_hebbian.py shows the Monte Carlo tells them apart; twelve chains,
# since the energy's chain-to-chain spread is heavy-tailed with eight.
VERIFY_POINTS = tuple(_verify_point(protocol, 0.005, 0.3, 0.4, 20, 300, 12)
                      for protocol in PROTOCOLS)
VERIFY_POINTS_FULL = (
    *(_verify_point(protocol, 0.01, 0.5, 0.6, 10, 200, 16) for protocol in PROTOCOLS),
    *(_verify_point(protocol, 0.02, 0.3, 0.5, 10, 300, 16, 300) for protocol in PROTOCOLS),
)


class DenseHebbian(EquilibriumModel):
    """Dense Hebbian networks trained on examples, RS theory; see the module docstring."""

    name = "dense-hebbian"
    title = ("dense (P-spin) Hebbian network trained on examples, high storage "
             "K = alpha N^(P-1), replica symmetric")
    parameters = (
        Parameter("P", "interaction order (P >= 3, spec §7.1)", "int", 3, default=3),
        Parameter("alpha", "load alpha = K / N^(P-1)", "float", 0.0),
        Parameter("T", "temperature T = 1/beta in the convention H = -(N/2) sum :n^P: "
                  "(supervised); T = 0 uses the exact zero-temperature equations", "float", 0.0),
        Parameter("protocol", "supervised (examples grouped by archetype) or unsupervised "
                  "(every example its own pattern; symmetric saddle)", "choice",
                  choices=PROTOCOLS, default="supervised"),
        Parameter("average", "average over the examples: gaussian (large M, parameter rho; "
                  "unsupervised also r) or exact (binomial, parameters r and M)", "choice",
                  choices=("gaussian", "exact"), default="gaussian"),
        Parameter("rho", "data-set entropy rho = (1 - r^2)/(M r^2) (Gaussian average)",
                  "float", 0.0, default=0.0),
        Parameter("r", "example quality: an entry is kept w.p. (1 + r)/2", "float", 0.0, 1.0,
                  low_open=True, default=1.0),
        Parameter("M", "examples per archetype: the exact average's (required there); with the "
                  "Gaussian average it gives rho = (1 - r^2)/(M r^2) (default inf: rho as given)",
                  "int", 1, default=math.inf, allow_inf=True),
    )
    simulation_parameters = (
        Parameter("N", "number of spins", "int", 4, default=200),
        Parameter("sweeps", "Monte Carlo sweeps (N proposals each); the first half is burn-in",
                  "int", 2, default=200),
        Parameter("start", "initial state: 'archetype' (retrieval) or 'random'", "choice",
                  choices=("archetype", "random"), default="archetype"),
    )
    order_parameters = ("m", "n", "q", "m_e", "m_o")
    phase_list = PHASES
    point_parameters = ("alpha", "T", "rho", "r", "M")
    search_box = {"alpha": 10.0, "T": 10.0, "rho": 10.0, "r": 1.0, "M": 1e6}
    log_axes = ("M",)
    settings = Settings(patience=30)
    lines = LINES
    citations = CITATIONS
    diagram_axes = ("alpha", "T")
    approximation = "RS"
    metastable_marked = ("retrieval", "example-retrieval")
    presets = {
        **{f"{protocol}-P3": {"P": "3", "protocol": protocol, "r": "0.6", "M": "10",
                              "alpha": "0:0.15:61", "T": "0:1.2:49"} for protocol in PROTOCOLS},
        **{f"learning-{protocol}-P3": {"P": "3", "protocol": protocol, "T": "0",
                                       "alpha": "0.01", "r": "0.05:1:48", "M": "1:1000:49"}
           for protocol in PROTOCOLS},
        "learning-P3": {"P": "3", "T": "0", "alpha": "0:0.15:61", "rho": "0:0.5:51"},
    }

    def validate(self, given):
        """Parameters checked together: the exact average takes r and a finite M; the
        Gaussian one rho, or (r, M) for rho = (1 - r^2)/(M r^2); r enters the supervised
        Gaussian average only through that rho."""
        values = super().validate(given)

        def named(k):
            return k in given and values[k] != self.parameter(k).default

        finite_M = math.isfinite(values["M"])
        if values["average"] == "exact":
            if named("rho"):
                raise ParameterError("rho applies to the Gaussian average; the exact average "
                                     "takes r and M")
            if not finite_M:
                raise ParameterError("the exact average needs the number of examples M (an "
                                     "integer >= 1)")
        elif finite_M and named("rho") and not math.isclose(
                values["rho"], _rho(values["r"], values["M"]), rel_tol=1e-12, abs_tol=1e-15):
            # (the rho that M sets is accepted: the engine re-validates validated parameters)
            raise ParameterError("give rho or M (with r), not both: M sets rho = "
                                 "(1 - r^2)/(M r^2)")
        elif values["protocol"] == "supervised" and named("r") and not finite_M:
            raise ParameterError("r does not enter the supervised Gaussian average alone (it "
                                 "takes rho, or r with M)")
        elif finite_M:
            r = values["r"]
            values["rho"] = (1 - r * r) / (values["M"] * r * r)
        return values

    def line(self, name: str, **params):
        """As the engine's; the ``learning-threshold`` also takes the example quality r (for
        the supervised Gaussian average only to convert) and reports the number of examples
        M_x = (1 - r^2)/(r^2 rho_c) beside rho_c (spec §7.3)."""
        if name != "learning-threshold" or "r" not in params:
            return super().line(name, **params)
        r = float(self.parameter("r").check(params["r"]))
        convert_only = (params.get("protocol", "supervised") == "supervised"
                        and params.get("average", "gaussian") == "gaussian")
        given = {k: v for k, v in params.items() if not (k == "r" and convert_only)}
        line = super().line(name, **given)
        points = tuple({**p, "r": r, "M_x": p.get("M_x", _examples(r, p.get("rho")))}
                       for p in line.points)
        return dataclasses.replace(line, points=points,
                                   parameters={**line.parameters, "r": r})

    def line_point(self, name, fixed_axis, value, others):
        """The engine's; the exact average's learning threshold by continuation in integer M
        (:meth:`threshold_in_M`)."""
        if name == "learning-threshold" and others.get("average") == "exact":
            return self.threshold_in_M({**others, fixed_axis: value})
        return super().line_point(name, fixed_axis, value, others)

    def threshold_in_M(self, params: Mapping[str, object], M_start: int = MAX_EXAMPLES) -> dict:
        """M_x with the exact average (spec §7.3): the smallest M on the archetype-retrieval
        branch continued down from ``M_start`` examples (at given P, alpha, T, r and protocol).

        The branch is followed in integer M, each solve warm-started from the state at the
        previous M: steps M -> ceil(M / 1.25) while it exists, then bisection between the
        last M on the branch and the first one off it (also warm-started from the last on
        it). Where the branch reaches M = 1 there is no threshold (found: False)."""
        base = {k: v for k, v in params.items() if k not in ("M", "rho")}
        point = {k: float(base[k]) for k in ("alpha", "T")}

        def follow(M: int, start: np.ndarray | None) -> np.ndarray | None:
            problem = self.problem(self.validate({**base, "M": M}))
            if start is not None and not with_examples(str(base.get("protocol")), "exact", M):
                # down to M = 1 from the example states' variables (m_e, m_o[, q]): n = m_e/r
                start = (start if start.shape[0] == (1 if point["T"] == 0 else 2) else
                         np.array([start[0] / float(base["r"]), *start[2:]]))
            data = problem.solve({k: np.array([v]) for k, v in point.items()},
                                 starts=None if start is None else {"retrieval": start},
                                 only=("retrieval",))
            if not data["retrieval_converged"][0]:
                return None
            keys = sorted(k for k in data if k.startswith("retrieval_x"))
            return np.array([[data[k][0]] for k in keys])

        state = follow(M_start, None)
        if state is None:
            return {"alpha": point["alpha"], "rho": None, "M_x": None, "found": False,
                    "message": f"no archetype-retrieval state at M = {M_start}"}
        on, off = M_start, None
        while on > 1:
            M = max(1, math.ceil(on / 1.25) if on > 5 else on - 1)
            nxt = follow(M, state)
            if nxt is None:
                off = M
                break
            on, state = M, nxt
        if off is None:
            return {"alpha": point["alpha"], "rho": None, "M_x": None, "found": False,
                    "message": f"the archetype branch continued from M = {M_start} reaches "
                               "M = 1: no learning threshold at this point"}
        while on - off > 1:
            mid = (on + off) // 2
            nxt = follow(mid, state)
            on, off, state = (mid, off, nxt) if nxt is not None else (on, mid, state)
        r = float(base["r"])
        ops = self.solve(phase="retrieval", **{**base, "M": on}).order_parameters
        return {"alpha": point["alpha"], "rho": _rho(r, on), "M_x": on, "found": True, **ops,
                "method": f"continuation in integer M from {M_start} (warm starts), "
                          f"bisection: on the branch at M = {on}, off at {off}"}

    def case(self, params):
        exact = params["average"] == "exact"
        return {"P": int(params["P"]), "protocol": params["protocol"],
                "average": params["average"], "M": int(params["M"]) if exact else None}

    def _check_examples_fixed(self, varying, params) -> None:
        """The exact average is one system per M: M cannot vary along a diagram or a cut."""
        if "M" in varying and params.get("average", "gaussian") == "exact":
            raise ParameterError("with the exact average M selects the equations and cannot be "
                                 "an axis: use average=gaussian for (r, M) diagrams")

    def diagram(self, axes, fixed, *, executor=None, store=None, progress=False):
        self._check_examples_fixed(axes, fixed)
        return super().diagram(axes, fixed, executor=executor, store=store, progress=progress)

    def cut(self, axis, values, **fixed):
        self._check_examples_fixed((axis,), fixed)
        return super().cut(axis, values, **fixed)

    def systems(self, case):
        def build(zero_temperature: bool, nodes: int) -> System:
            return system(case["P"], case["protocol"], case["average"], case["M"],
                          zero_temperature, nodes)

        return build

    def keep(self, start, system):
        return _keep(start, system)

    def no_state_hint(self, case) -> str:
        return "; below the RS entropy crisis the glass needs 1RSB"

    def simulate(self, seeds: int = 8, seed: int = 0, progress: bool = False, **params):
        """Exact Metropolis Monte Carlo of a network built from a drawn data set
        (:mod:`montecarlo.dense_hebbian`) at one point: needs r and a finite M (the data set);
        ``average`` selects the theory's average only (the sampler is exact either way) and
        ``rho`` cannot define a data set."""
        from montecarlo import dense_hebbian as mc

        sim = validate(self.simulation_parameters,
                       {k: params.pop(k) for k in list(params) if k in ("N", "sweeps", "start")})
        if "rho" in params:
            raise ParameterError("rho belongs to the Gaussian theory; simulate draws the data "
                                 "set from r and M")
        theory = self.validate({**params, "average": "exact"})
        return mc.simulate(theory["P"], sim["N"], theory["alpha"], theory["T"],
                           protocol=theory["protocol"], r=theory["r"], M=theory["M"],
                           chains=seeds, sweeps=sim["sweeps"], start=sim["start"], seed=seed)

    def verify(self, quick: bool = True, progress: bool = False):
        """Theory (exact average over the examples) against Monte Carlo of drawn data sets,
        both protocols, at points where their theories differ by more than the Monte Carlo
        error: |theory - MC| <= 3 stderr + the finite-size allowance of the dense Hopfield
        model (:func:`theorylab.models.dense_hopfield.finite_size_allowance`)."""
        points = VERIFY_POINTS if quick else VERIFY_POINTS + VERIFY_POINTS_FULL
        return verify_points(self, points, progress)

    def diagram_title(self, others) -> str:
        # rho was derived from (r, M) unless M is inf (given rho, or the default)
        shown = ("alpha", "T", "r", "M", *(("rho",) if math.isinf(others.get("M", 0.0)) else ()))
        data = ", ".join(f"{k} = {others[k]:g}" if isinstance(others[k], float)
                         else f"{k} = {others[k]}" for k in shown if k in others
                         and others[k] != self.parameter(k).default)
        return (f"dense Hebbian network, P = {others['P']}, {others['protocol']}, "
                f"{others['average']}" + (f", {data}" if data else "") + " (RS)")


MODEL = DenseHebbian()

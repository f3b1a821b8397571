"""The model kit on a toy model with a closed-form phase diagram: Curie–Weiss in a field.

m = tanh((m + h)/T) (T > 0) or m = sign(m + h) (T = 0), f = m²/2 − T ln 2cosh((m + h)/T).
Closed forms: the minus branch (m < 0 at h > 0) ends at its spinodal
h_s(T) = m_s − T artanh(m_s) with m_s = √(1 − T) (T < 1; the fold of m = −m_s); the plus and
minus branches cross at h = 0 for T < 1 (first order); the paramagnet m = 0 (h = 0) loses
stability at T = 1 (continuous). The kit must find all of them from the declaration alone, so
an engine defect is caught without a real model.
"""

import math
from functools import cache

import numpy as np
import pytest

from theorylab.equilibrium import EquilibriumModel, LineRecipe, Phase, Settings
from theorylab.gaussian import log_2cosh
from theorylab.parameters import Parameter


class _CurieWeissSystem:
    """m = tanh((m + h)/T); one variable, closed-form Jacobian."""

    variables = ("m",)
    lower, upper = np.array([-1.0]), np.array([1.0])

    def __init__(self, zero_temperature: bool):
        self.zero_temperature = zero_temperature

    def F(self, x, params):
        field = x[0] + params["h"]
        if self.zero_temperature:
            return np.sign(field)[None]
        return np.tanh(field / params["T"])[None]

    def jacobian(self, x, params):
        if self.zero_temperature:
            return np.zeros((x.shape[1], 1, 1))
        t = np.tanh((x[0] + params["h"]) / params["T"])
        return ((1 - t**2) / params["T"])[:, None, None]

    def thermodynamics(self, x, params):
        m, h, T = x[0], params["h"], params["T"]
        if self.zero_temperature:
            f = m**2 / 2 - np.abs(m + h)
            return f, f
        f = m**2 / 2 - T * log_2cosh((m + h) / T)
        u = m**2 / 2 - (m + h) * np.tanh((m + h) / T)
        return f, u

    def order_parameters(self, x, params):
        return {"m": x[0].copy()}

    def starts(self, params):
        one = np.ones_like(params["h"])
        return {"plus": one[None], "minus": -one[None], "paramagnet": 0 * one[None]}


@cache
def _system(zero_temperature: bool, nodes: int) -> _CurieWeissSystem:
    return _CurieWeissSystem(zero_temperature)


def _seed_minus(fixed, value, case):
    # the minus branch exists at small h > 0 below T = 1; it ends towards larger h
    return (1e-3, 1.0) if fixed == "T" else None


class CurieWeiss(EquilibriumModel):
    name = "curie-weiss-toy"
    title = "Curie-Weiss ferromagnet in a field"
    parameters = (Parameter("h", "field"), Parameter("T", "temperature", "float", 0.0))
    order_parameters = ("m",)
    phase_list = (
        Phase("plus", "m > 0", lambda ops, p: ops["m"] > 1e-9),
        Phase("minus", "m < 0", lambda ops, p: ops["m"] < -1e-9),
        Phase("paramagnet", "m = 0", lambda ops, p: np.abs(ops["m"]) <= 1e-9),
    )
    point_parameters = ("h", "T")
    search_box = {"h": 2.0, "T": 2.0}
    settings = Settings()
    diagram_axes = ("h", "T")
    lines = {
        "minus-spinodal": LineRecipe("spinodal", "end of the minus branch", "T", "h",
                                     branch="minus", seed=_seed_minus),
        "paramagnet-instability": LineRecipe(
            "continuous", "the paramagnet's eigenvalue crosses one", "h", "T",
            branch="paramagnet", seed=lambda fixed, value, case: (2.0, -1.0)),
    }

    def systems(self, case):
        return _system


MODEL = CurieWeiss()


def h_spinodal(T: float) -> float:
    m = math.sqrt(1 - T)
    return m - T * math.atanh(m)


@pytest.mark.parametrize("T", [0.2, 0.5, 0.8])
def test_spinodal_is_the_closed_form(T):
    (p,) = MODEL.line("minus-spinodal", T=T).points
    assert p["found"]
    assert p["h"] == pytest.approx(h_spinodal(T), abs=1e-9)
    assert p["m"] == pytest.approx(-math.sqrt(1 - T), abs=1e-6)  # the fold's m: sqrt error


def test_continuous_line_is_T_equals_one():
    (p,) = MODEL.line("paramagnet-instability", h=0.0).points
    assert p["found"] and p["T"] == pytest.approx(1.0, abs=1e-9)


def test_selection_and_metastability():
    # at h > 0, T < 1 inside the spinodal: plus selected, minus metastable (higher f), the
    # paramagnet absent (m = 0 is no solution in a field)
    sol = MODEL.solve(h=0.05, T=0.5)
    assert sol.phase == "plus"
    found = {s.phase: s for s in MODEL.branches(h=0.05, T=0.5)}
    assert set(found) == {"plus", "minus"}
    assert found["minus"].free_energy > found["plus"].free_energy and found["minus"].stable
    # at h = 0 below T = 1 the paramagnet is a converged but unstable branch (a maximum of
    # f(m)): never selected, and its own solution says why
    sol = MODEL.solve(h=0.0, T=0.5)
    assert sol.phase in ("plus", "minus")
    para = MODEL.solve(phase="paramagnet", h=0.0, T=0.5)
    assert para.converged and not para.stable and "locally unstable" in para.message
    assert para.extras["stability_eigenvalue"] == pytest.approx(2.0)  # beta (1 - tanh^2 0)


def test_zero_temperature_branches():
    found = {s.phase: s for s in MODEL.branches(h=0.5, T=0.0)}
    assert found["plus"].order_parameters["m"] == 1.0
    assert found["plus"].free_energy == pytest.approx(0.5 - 1.5)
    assert found["minus"].free_energy == pytest.approx(0.5 - 0.5)


def test_cut_finds_the_spinodal_and_the_crossing():
    import json

    ds = MODEL.cut("h", np.linspace(-0.3, 0.3, 61), T=0.5)
    events = json.loads(ds.attrs["events"])
    crossing = [e for e in events if e["kind"] == "crossing"]
    assert len(crossing) == 1 and crossing[0]["h"] == pytest.approx(0.0, abs=1e-9)
    ends = [e for e in events if e["kind"] == "branch-end" and e["branch"] == "minus"]
    assert len(ends) == 1
    lo, hi = ends[0]["between"]
    assert lo <= h_spinodal(0.5) <= hi


def test_diagram_phase_map_follows_the_closed_forms():
    h, T = np.linspace(-0.2, 0.2, 9), np.linspace(0.1, 1.5, 8)
    ds = MODEL.diagram({"h": h, "T": T}, {})
    assert ds.attrs["unconverged_points"] == 0
    names = ds.attrs["phases"].split(",")
    for a in h:
        for t in T:
            phase = names[int(ds.phase.sel(h=a, T=t))]
            expected = "plus" if a > 0 else "minus" if a < 0 else (
                "paramagnet" if t > 1 else phase)
            assert phase == expected
    # the spinodal line of the diagram is the closed form wherever it was found
    hs, ts = ds["minus-spinodal__h"].values, ds["minus-spinodal__T"].values
    ok = np.isfinite(hs)
    assert ok.sum() >= 4
    np.testing.assert_allclose(hs[ok], [h_spinodal(t) for t in ts[ok]], atol=1e-8)

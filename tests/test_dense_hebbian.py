"""The dense-Hebbian model (``theorylab.models.dense_hebbian``) through the kit and the CLI.

Conventions and reference values: ``shared/specs/dense-hopfield.md`` §7 (H = −(N/2)Σ_μ :n_μ^P:
supervised, K = αN^{P−1}, T = 1/β; ρ = (1 − r²)/(M r²)); the RS equations are the spec's own
derivation [DER] of the models of Agliari et al., arXiv 2212.00606 (supervised) and 2211.14067
(unsupervised). Sources of the numbers: §7.4's theory values beside its scratch Monte Carlo
[NUM] (also ``tests/test_derivations_dense_hebbian.py``); at ρ = 0 the dense Hopfield model
(``theorylab.models.dense_hopfield``), whose P = 3 critical load is the spec's §3 row 6.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theorylab as tl
from theorylab.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_solve_json_is_retrieval(capsys):
    code, out, _ = run(capsys, "solve", "dense-hebbian", "P=3", "alpha=0.01", "T=0.3", "rho=0.1",
                       "--json")
    assert code == 0
    sol = json.loads(out)
    assert sol["converged"] and sol["stable"] and sol["phase"] == "retrieval"
    assert 0.9 < sol["order_parameters"]["m"] < sol["order_parameters"]["n"]
    assert sol["residual"] < 1e-10


@pytest.mark.parametrize(("alpha", "T", "m"), [(0.01, 0.5, 0.79273), (0.02, 0.3, 0.97906)])
def test_spec_supervised_retrieval(alpha, T, m):
    # Spec §7.4 [NUM], P = 3 supervised, Gaussian average, ρ = 0.5 and 0.1 (five digits; the
    # second is 0.97905496, see tests/test_derivations_dense_hebbian.py).
    rho = 0.5 if T == 0.5 else 0.1
    sol = tl.solve("dense-hebbian", P=3, alpha=alpha, T=T, rho=rho)
    assert sol.phase == "retrieval"
    assert sol.order_parameters["m"] == pytest.approx(m, abs=6e-6)


@pytest.mark.parametrize(("alpha", "T"), [(0.05, 0.3), (0.1, 0.6), (0.05, 1.0), (0.05, 0.0)])
def test_no_data_noise_is_dense_hopfield(alpha, T):
    # ρ = 0: χ̂ = 1 and A = 1, the dense Hopfield model of spec §2.2 (retrieval, paramagnet, and
    # T = 0 through the exact zero-temperature equations).
    ours = tl.solve("dense-hebbian", P=3, alpha=alpha, T=T, rho=0.0)
    reference = tl.solve("dense-hopfield", P=3, alpha=alpha, T=T)
    assert ours.phase == reference.phase
    for k in ("m", "q"):
        assert ours.order_parameters[k] == pytest.approx(reference.order_parameters[k], abs=1e-8)
    assert ours.free_energy == pytest.approx(reference.free_energy, abs=1e-8)
    if T > 0:
        assert ours.energy == pytest.approx(reference.energy, abs=1e-8)


@pytest.mark.parametrize("data", [{"average": "gaussian", "rho": 0.3},
                                  {"average": "exact", "r": 0.6, "M": 5}])
def test_protocols_agree_without_load(data):
    # Spec §7.1 "Relations": at α = 0 the protocols differ only through A, which multiplies α
    # (the unsupervised Gaussian A also holds r, which the supervised one does not take).
    s = tl.solve("dense-hebbian", P=3, alpha=0.0, T=0.4, protocol="supervised", **data)
    u = tl.solve("dense-hebbian", P=3, alpha=0.0, T=0.4, protocol="unsupervised",
                 **{"r": 0.6, **data})
    assert s.phase == u.phase == "retrieval"
    for k in ("m", "n", "q"):
        assert s.order_parameters[k] == pytest.approx(u.order_parameters[k], abs=1e-12)
    assert s.free_energy == pytest.approx(u.free_energy, abs=1e-12)


def test_energy_is_the_temperature_derivative():
    # u = f − T df/dT along the solved branch (df/dT = ∂f/∂T at a stationary point): the
    # model's closed-form u against central differences of the derived f.
    T, h = 0.4, 1e-4
    for protocol, data in (("supervised", {"rho": 0.2}),
                           ("unsupervised", {"average": "exact", "r": 0.8, "M": 4})):
        def f(t, protocol=protocol, data=data):
            return tl.solve("dense-hebbian", P=3, alpha=0.02, T=t, protocol=protocol, **data)

        mid = f(T)
        slope = (f(T + h).free_energy - f(T - h).free_energy) / (2 * h)
        assert mid.energy == pytest.approx(mid.free_energy - T * slope, abs=1e-7)


def test_paramagnet_and_spin_glass():
    # Spec §7.1: the paramagnet's f = −T ln 2 − αP!A/(8T), A = (1 + ρ)^3 (supervised, P = 3).
    alpha, T, rho = 0.05, 1.5, 0.2
    sol = tl.solve("dense-hebbian", P=3, alpha=alpha, T=T, rho=rho)
    assert sol.phase == "paramagnet"
    assert sol.free_energy == pytest.approx(-T * np.log(2) - alpha * 6 * (1 + rho) ** 3 / (8 * T),
                                            rel=1e-12)
    glass = tl.solve("dense-hebbian", phase="spin-glass", P=3, alpha=0.5, T=0.3, rho=0.2)
    assert glass.converged and glass.order_parameters["m"] == 0
    assert glass.order_parameters["q"] > 0.5


def test_zero_temperature_retrieval_spinodal():
    # ρ = 0: the dense Hopfield critical load α_c(3) = 0.1260952 (spec §3 row 6); noisier
    # examples lower it.
    loads = []
    for rho in (0.0, 0.05, 0.2):
        (p,) = tl.line("dense-hebbian", "retrieval-spinodal", P=3, T=0.0, rho=rho).points
        assert p["found"]
        loads.append(p["alpha"])
    assert loads[0] == pytest.approx(0.1260952, abs=2e-7)
    assert loads[0] > loads[1] > loads[2] > 0


def test_finite_temperature_spinodal_reduces_to_dense_hopfield():
    # At T = 0.3 the fold of the finite-T equations, traced by continuation (the Jacobian by
    # differences of the derived map), against the dense Hopfield one at ρ = 0.
    (ours,) = tl.line("dense-hebbian", "retrieval-spinodal", P=3, T=0.3, rho=0.0).points
    (reference,) = tl.line("dense-hopfield", "retrieval-spinodal", P=3, T=0.3).points
    assert ours["found"] and reference["found"]
    assert ours["alpha"] == pytest.approx(reference["alpha"], abs=1e-7)
    assert ours["m"] == pytest.approx(reference["m"], abs=1e-5)


@pytest.mark.parametrize(("protocol", "rho_c"), [("supervised", 0.0976783),
                                                ("unsupervised", 0.0568299)])
def test_learning_threshold(protocol, rho_c):
    # Spec §7.3 (ours): P = 3, α = 0.1, T = 0, r = 0.8, Gaussian average; the values of
    # tests/test_derivations_dense_hebbian.py (a ρ scan with warm starts refined by brentq),
    # here the fold of the branch continued from ρ = 0. M_⊗ = (1 − r²)/(r² ρ_c).
    data = {"r": 0.8} if protocol == "unsupervised" else {}
    (p,) = tl.line("dense-hebbian", "learning-threshold", P=3, T=0.0, alpha=0.1,
                   protocol=protocol, **data).points
    assert p["found"]
    assert p["rho"] == pytest.approx(rho_c, abs=1e-6)
    # the exact average, by continuation in integer M from M = 512 (ours): unsupervised the
    # branch ends between M = 8 and 9, next to the Gaussian M_x = 0.36/(0.64 rho_c) = 9.90;
    # supervised it reaches M = 1 (the exact example mean keeps a majority-vote state at every
    # M, spec §7.3), although the Gaussian average has a fold at M_x = 5.76
    (exact,) = tl.line("dense-hebbian", "learning-threshold", P=3, T=0.0, average="exact",
                       r=0.8, M=1, alpha=0.1, protocol=protocol).points
    if protocol == "unsupervised":
        assert exact["found"] and exact["M_x"] == 9
        assert exact["M_x"] < 0.36 / (0.64 * p["rho"]) < exact["M_x"] + 1
    else:
        assert not exact["found"] and "reaches M = 1" in exact["message"]


@pytest.mark.parametrize(("argv", "says"), [
    (["simulate", "dense-hebbian", "alpha=0.01", "T=0.3"], "needs the number of examples M"),
    (["simulate", "dense-hebbian", "alpha=0.01", "T=0.3", "rho=0.1"], "rho belongs"),
    (["simulate", "dense-hebbian", "alpha=0.01", "T=0.3", "r=0.5", "M=200"], "M"),
    (["simulate", "dense-hebbian", "alpha=0.01", "T=0.3", "r=0.5", "M=5", "N=2"], "N"),
])
def test_simulate_bad_input_is_one_line(capsys, argv, says):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("theorylab: error:") and says in lines[0]


def test_verify_quick_passes_for_both_protocols(capsys):
    """The Monte Carlo of drawn data sets (montecarlo.dense_hebbian) against the exact-average
    theory at a point where the protocols' theories differ (m = 0.9180 supervised, 0.8716
    unsupervised)."""
    code, out, _ = run(capsys, "verify", "dense-hebbian", "--quick", "--json")
    assert code == 0
    rows = json.loads(out)["rows"]
    assert {row["point"]["protocol"] for row in rows} == {"supervised", "unsupervised"}
    assert all(row["agree"] for row in rows)


def test_gaussian_average_takes_r_and_M_for_rho():
    """rho = (1 - r^2)/(M r^2) (spec §7): the Gaussian state at (r, M) is the one at that rho."""
    by_examples = tl.solve("dense-hebbian", P=3, alpha=0.01, T=0.3, r=0.6, M=10)
    by_rho = tl.solve("dense-hebbian", P=3, alpha=0.01, T=0.3, rho=0.64 / 3.6)
    assert by_examples.order_parameters["m"] == pytest.approx(by_rho.order_parameters["m"],
                                                              abs=1e-12)


@pytest.mark.parametrize(("args", "names"), [
    (["P=2"], "P"), (["r=0", "protocol=unsupervised"], "r"),
    (["r=1.5", "protocol=unsupervised"], "r"), (["average=exact", "M=0"], "M"),
    (["average=exact", "M=2.5"], "M"), (["rho=-1"], "rho"), (["protocol=foo"], "protocol"),
    (["average=exact", "rho=0.1"], "rho"), (["M=3", "rho=0.1"], "rho"),
    (["r=0.5"], "r"), (["average=exact", "r=0.5"], "M"),
])
def test_bad_input_is_one_line(capsys, args, names):
    code, out, err = run(capsys, "solve", "dense-hebbian", "alpha=0.01", "T=0.3", *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("theorylab: error:")
    assert names in lines[0]


def _threshold(protocol: str, alpha: float, r: float) -> float | None:
    (point,) = tl.line("dense-hebbian", "learning-threshold", P=3, T=0.0, alpha=alpha, r=r,
                       protocol=protocol).points
    return point["M_x"]


@settings(max_examples=5, deadline=None)
@given(alpha=st.floats(0.1, 0.12), r=st.floats(0.4, 0.9), dr=st.floats(0.02, 0.08))
def test_thresholds_fall_with_r_and_unsupervised_needs_more_examples(alpha, r, dr):
    """Spec §7.3 [NUM] properties of M_x (ours), Gaussian average, P = 3, T = 0: it falls with
    the example quality r, and at equal (P, alpha, r) unsupervised learning needs more examples
    than supervised (A_u = 1 + rho sum_j r^(-2j) against (1 + rho)^P)."""
    supervised, better, unsupervised = (_threshold("supervised", alpha, r),
                                        _threshold("supervised", alpha, r + dr),
                                        _threshold("unsupervised", alpha, r))
    assert supervised is not None and better is not None and unsupervised is not None
    assert better < supervised < unsupervised


def test_validated_parameters_validate_again():
    """The engine re-validates validated parameters (line tracing in diagrams): the rho that
    (r, M) set is accepted beside M, a different rho is not."""
    from theorylab.models.dense_hebbian import MODEL

    once = MODEL.validate({"P": 3, "alpha": 0.01, "T": 0.3, "protocol": "unsupervised",
                           "r": 0.6, "M": 10})
    assert once["rho"] == pytest.approx(0.64 / 3.6, rel=1e-15)
    assert MODEL.validate(once) == once
    with pytest.raises(tl.ParameterError, match="not both"):
        MODEL.validate({**once, "rho": 0.2})


def test_first_order_line_reduces_to_the_dense_hopfield_one():
    """rho = 0: the retrieval-thermodynamic line of the trained network is the dense Hopfield
    one (spec §7.1: both reduce to §2.2); at alpha = 0 it is T_c = 0.743954 (spec §8 [DER/NUM],
    P = 3)."""
    (ours,) = tl.line("dense-hebbian", "retrieval-thermodynamic", P=3, T=0.5).points
    (hopfield,) = tl.line("dense-hopfield", "retrieval-thermodynamic", P=3, T=0.5).points
    assert ours["found"] and ours["alpha"] == pytest.approx(hopfield["alpha"], abs=1e-9)
    (clean,) = tl.line("dense-hebbian", "retrieval-thermodynamic", P=3, alpha=0.0).points
    assert clean["T"] == pytest.approx(0.743954, abs=1e-6)
    # noisy examples lower the load at which retrieval stops being the thermodynamic state
    (noisy,) = tl.line("dense-hebbian", "retrieval-thermodynamic", P=3, T=0.5, rho=0.1).points
    assert noisy["found"] and noisy["alpha"] < ours["alpha"]


@pytest.mark.parametrize("protocol", ["supervised", "unsupervised"])
@pytest.mark.parametrize(("alpha", "T"), [(0.05, 0.3), (0.05, 0.0)])
def test_perfect_examples_are_dense_hopfield(protocol, alpha, T):
    """r = 1: every example is its archetype (chi = 1, A = 1), at any M and with the exact
    average, for both protocols: the dense Hopfield model of spec §2.2 (spec §7: both tend to
    §1 at r = 1)."""
    ours = tl.solve("dense-hebbian", P=3, alpha=alpha, T=T, r=1.0, M=4, average="exact",
                    protocol=protocol)
    reference = tl.solve("dense-hopfield", P=3, alpha=alpha, T=T)
    assert ours.phase == reference.phase == "retrieval"
    assert ours.order_parameters["m"] == pytest.approx(reference.order_parameters["m"],
                                                       abs=1e-8)
    assert ours.free_energy == pytest.approx(reference.free_energy, abs=1e-8)

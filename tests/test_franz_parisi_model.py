"""The franz-parisi model on the kit: one point, cuts, lines, the command line and properties of
the theory (spec ``franz-parisi.md`` §3, §6, §7)."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theorylab import franz_parisi_solver as fp
from theorylab.cli import cut_rows, main
from theorylab.models import get
from theorylab.models.franz_parisi import task1_state

MODEL = get("franz-parisi")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_solve_is_the_solver_at_the_check_point():
    """The kit's solution (free variables, coarse-to-fine, tol 1e-9) is the solver's fixed point
    (task 1 on the good branch at alpha1 = 2; task 2 at the spec's check point alpha2 = 1,
    r0 = 0, gamma = 1: the compromise branch, eps1 = 0.1505, eps2 = 0.4688)."""
    sol = MODEL.solve(alpha1=2.0, alpha2=1.0, r0=0.0, gamma=1.0)
    one = fp.solve_task1(2.0, branch="good")
    two = fp.solve_task2(one, 1.0, 0.0, 1.0)
    assert sol.converged and sol.phase == "compromise"
    assert sol.extras["task1_phase"] == "good" and sol.extras["rs_stable"]
    ops = sol.order_parameters
    for name, value in (("q1", one.q), ("r1", one.r), ("Q1", one.Q), ("p", one.p),
                        ("q2", two.q2), ("r2", two.r2), ("Q2", two.Q2), ("p1", two.p1),
                        ("p2", two.p2), ("R21", two.R21), ("phi2", two.phi)):
        assert ops[name] == pytest.approx(value, abs=1e-8), name
    assert ops["forgetting"] == pytest.approx(ops["eps1"] - ops["eps_g"], abs=1e-15)
    assert sol.free_energy == pytest.approx(-two.phi / 20.0, abs=1e-9)


def test_cut_through_the_relearning_transition():
    """At alpha1 = 2, r0 = 0, gamma = 1 the learn branch (r2/sqrt(q2) > 0.95) appears between
    alpha2 = 3.5 and 4 and the compromise branch ends between 5 and 5.5; their FP potentials
    cross near 4.91 (``line relearning``). A cut at 3, 4.5, 6 sees the compromise branch alone,
    both (compromise selected), the learn branch alone."""
    ds = MODEL.cut("alpha2", [3.0, 4.5, 6.0], alpha1=2.0, r0=0.0, gamma=1.0)
    rows = cut_rows(ds)
    assert [sorted(r["branches"]) for r in rows] == [["compromise"], ["compromise", "learn"],
                                                     ["learn"]]
    assert [r["state"] for r in rows] == ["compromise", "compromise", "learn"]
    learn = rows[2]["branches"]["learn"]
    assert learn["p2"] > 0.999999 and learn["eps1"] == pytest.approx(0.5, abs=1e-3)
    kinds = {(e["kind"], tuple(e.get("branches", [e.get("branch")])))
             for e in json.loads(ds.attrs["events"])}
    assert ("branch-end", ("learn",)) in kinds and ("branch-end", ("compromise",)) in kinds


def test_chain_solve_is_the_solvers_chain():
    """tasks = 3: the kit's last task is the solver's task 3 (each task of the chain from its
    alpha2 = 0 start: the compromise branch, the only one at alpha2 = 0.5), and eps_tasks lists
    the errors on tasks 1, 2, 3 of its clipped student."""
    sol = MODEL.solve(alpha1=0.5, alpha2=0.5, r0=0.3, gamma=1.0, tasks=3)
    chain = fp.solve_chain(fp.solve_task1(0.5), 0.5, 0.3, 1.0, 3)
    last = chain[-1]
    assert sol.converged and sol.phase == "compromise" and last.converged and last.task == 3
    ops = sol.order_parameters
    for name in ("q2", "r2", "Q2", "p1", "p2", "R21", "forgetting"):
        assert ops[name] == pytest.approx(getattr(last, name), abs=1e-8), name
    assert sol.extras["eps_tasks"] == pytest.approx(list(last.eps_teachers), abs=1e-8)
    assert sol.extras["eps_tasks"][-1] == pytest.approx(ops["eps2"], abs=1e-12)


def test_verify_quick_agrees_with_gibbs_sampling():
    """Theory against Gibbs sampling at the RS-stable point alpha1 = alpha2 = 0.5 (N = 200,
    4 data sets): task 1 and task 2, and the last task of a chain of three (r0 = 0.3), each row
    within 3 stderr + 4/N."""
    result = MODEL.verify(quick=True)
    assert result.passed, result.table()
    assert any(r.point.get("tasks") == 3 for r in result.rows)


@pytest.mark.slow
def test_verify_full_agrees_with_gibbs_sampling():
    """The larger check: the quick points and, at N = 400 with 8 data sets, alpha1 = alpha2 =
    0.5 at r0 = 0.5, beta = 5 at alpha1 = alpha2 = 1 (RS stable there), and the weak coupling
    gamma = 0.1; each row within 3 stderr + 4/N."""
    result = MODEL.verify(quick=False)
    assert result.passed, result.table()
    assert {r.point.get("N") for r in result.rows} == {200, 400}


def test_forgetting_level_on_a_known_branch():
    """The locator of line forgetting on a branch with F = 0.2 (1 - exp(-alpha2)) that ends at
    alpha2 = 5: the level 0.1 is at ln 2; a level above the branch's reach is not found, with
    the largest F followed in the message; a level already exceeded at alpha2 = 0 is reported
    there."""
    from types import SimpleNamespace

    from theorylab.models.franz_parisi import forgetting_level

    def branch(offset):
        def state(alpha2, warm):
            if alpha2 > 5.0:
                return None
            return SimpleNamespace(forgetting=offset + 0.2 * (1 - math.exp(-alpha2)))
        return state

    point = forgetting_level(branch(0.0), 0.1, 10.0)
    assert point["found"] and point["alpha2"] == pytest.approx(math.log(2), abs=1e-8)
    assert point["bracket"] == [0.4, 0.8]
    missed = forgetting_level(branch(0.0), 0.25, 10.0)
    # the largest F followed: at alpha2 = 3.2, the last scanned value before the end
    assert not missed["found"] and "0.1918" in missed["message"]
    assert "ends" in missed["message"]
    start = forgetting_level(branch(0.3), 0.1, 10.0)
    assert start["found"] and start["alpha2"] == 0.0


@pytest.mark.slow
def test_forgetting_line_is_where_the_forgetting_reaches_the_level():
    """alpha1 = 2, r0 = 0, gamma = 1: the forgetting reaches 0.1 at alpha2 = 0.5143, where the
    solver's compromise state has F = 0.1."""
    point = MODEL.line("forgetting", gamma=1.0, alpha1=2.0, r0=0.0,
                       forgetting_max=0.1).points[0]
    assert point["found"] and point["alpha2"] == pytest.approx(0.5143, abs=1e-3)
    state = fp.solve_task2(task1_state(2.0, 20.0, "none"), point["alpha2"], 0.0, 1.0)
    assert state.forgetting == pytest.approx(0.1, abs=1e-7)


@pytest.mark.slow
def test_task1_lines_at_beta_20():
    """The poor branch ends at alpha1 = 1.906, the good one starts at 1.499, and their free
    entropies cross at 1.6502, where the two branches' phi agree (beta = 20, spec §7:
    'a jump between 1.5 and 2')."""
    spinodal = MODEL.line("poor-spinodal", beta=20.0).points[0]
    assert spinodal["found"] and spinodal["alpha1"] == pytest.approx(1.9059, abs=2e-3)
    transition = MODEL.line("transition", beta=20.0).points[0]
    assert transition["found"]
    a = transition["alpha1"]
    assert transition["coexistence"][0] == pytest.approx(1.4994, abs=2e-3)
    assert a == pytest.approx(1.6502, abs=1e-3)
    poor, good = fp.solve_task1(a, branch="poor"), fp.solve_task1(a, branch="good")
    assert poor.r < 0.9 < good.r
    assert poor.phi == pytest.approx(good.phi, abs=1e-7)


@pytest.mark.slow
def test_no_spinodal_above_the_critical_point():
    """At beta = 15 (between the single-branch beta = 10 and beta = 20) task 1 has one branch,
    whose r/sqrt(q) passes the membership threshold 0.95 continuously near alpha1 = 1.574: no
    spinodal (before the crossover test, both spinodals were reported there)."""
    point = MODEL.line("poor-spinodal", beta=15.0).points[0]
    assert not point["found"] and "crosses over continuously" in point["message"]
    assert "1.574" in point["message"]


def test_crossover_tells_a_continuous_membership_change_from_a_jump():
    from types import SimpleNamespace

    from theorylab.models.franz_parisi import crossover

    def state(ratio):
        return SimpleNamespace(r=ratio, q=1.0)

    inside = state(0.949)
    assert crossover((1.0, 1.001, inside), lambda a, warm: state(0.951))
    assert not crossover((1.0, 1.001, inside), lambda a, warm: state(0.99))  # a jump
    assert not crossover((1.0, 1.001, inside), lambda a, warm: None)  # nothing beyond


@pytest.mark.slow
def test_relearning_line_agrees_with_the_branches():
    point = MODEL.line("relearning", gamma=1.0, alpha1=2.0, r0=0.0).points[0]
    assert point["found"]
    a2 = point["alpha2"]
    assert 4.5 < a2 < 5.0
    task1 = task1_state(2.0, 20.0, "none")
    compromise = fp.solve_task2(task1, a2, 0.0, 1.0)
    learn = fp.solve_task2(task1, a2, 0.0, 1.0, start=(0.99499, 0.99749, 0.995))
    assert learn.p2 > 0.9999 > compromise.p2
    assert compromise.phi == pytest.approx(learn.phi, abs=1e-7)


@pytest.mark.parametrize("argv, name", [
    (["solve", "franz-parisi", "alpha1=-1"], "alpha1"),
    (["solve", "franz-parisi", "r0=1.5"], "r0"),
    (["solve", "franz-parisi", "r0=-2"], "r0"),
    (["solve", "franz-parisi", "beta=0"], "beta"),
    (["solve", "franz-parisi", "gamma=-1"], "gamma"),
    (["cut", "franz-parisi", "alpha1=-0.5", "alpha2=0:1:3"], "alpha1"),
    (["simulate", "franz-parisi", "N=0"], "N"),
    (["simulate", "franz-parisi", "method=sgd"], "method"),
    (["solve", "franz-parisi", "tasks=1"], "tasks"),
    (["solve", "franz-parisi", "tasks=2.5"], "tasks"),
    (["line", "franz-parisi", "forgetting", "gamma=1", "forgetting_max=0.7"], "forgetting_max"),
    (["simulate", "franz-parisi", "tasks=3", "method=adam"], "tasks"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(capsys, tmp_path, argv, name):
    out = tmp_path / "out"
    extra = ["--out", str(out)] if argv[0] == "cut" else []
    code, stdout, err = run(capsys, *argv, *extra)
    assert code == 2 and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("theorylab: error:") and name in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_simulate_adam_json_contract(capsys):
    code, out, _ = run(capsys, "simulate", "franz-parisi", "N=60", "alpha1=1", "alpha2=0.5",
                       "method=adam", "epochs1=50", "epochs2=50", "--seeds", "3", "--json")
    assert code == 0
    data = json.loads(out)
    obs = data["observables"]
    assert {"eps_g", "eps1", "eps2", "p1", "p2", "R21", "forgetting"} <= set(obs)
    assert data["settings"]["method"] == "adam" and data["parameters"]["P2"] == 30
    assert obs["forgetting"]["mean"] == pytest.approx(
        obs["eps1"]["mean"] - obs["eps_g"]["mean"], abs=1e-12)


# --- properties of the theory (spec §7) ------------------------------------------------------

@pytest.fixture(scope="module")
def task1():
    return task1_state(1.0, 20.0, "none")


@settings(max_examples=4, deadline=None)
@given(alpha2=st.floats(0.2, 2.5), r0=st.floats(-1.0, 0.0))
def test_errors_in_range_and_forgetting_non_negative_for_dissimilar_tasks(task1, alpha2, r0):
    """eps1, eps2 in [0, 1/2] wherever p1, p2 >= 0, and learning a task no more similar to the
    first than a random one (r0 <= 0) never improves on it: F >= 0."""
    s = fp.solve_task2(task1, alpha2, r0, 1.0)
    assert s.converged
    for eps, p in ((s.eps1, s.p1), (s.eps2, s.p2)):
        assert 0.0 <= eps <= 1.0
        assert (eps <= 0.5) == (p >= 0) or math.isclose(p, 0.0, abs_tol=1e-12)
    assert s.forgetting >= -1e-12


@settings(max_examples=3, deadline=None)
@given(alpha2=st.floats(0.2, 2.0), r0=st.floats(-0.8, 0.0))
def test_forgetting_grows_with_alpha2_at_gamma_one(task1, alpha2, r0):
    """For a new task no more similar than a random one (r0 <= 0) the old one is forgotten
    further with every new example. Not so for similar tasks: at r0 = 0.75 the forgetting is
    negative and falls, -0.0093 at alpha2 = 1 and -0.0134 at 1.25 (the new teacher's data
    also teach the old one)."""
    a = fp.solve_task2(task1, alpha2, r0, 1.0)
    b = fp.solve_task2(task1, alpha2 + 0.25, r0, 1.0, start=(a.q2, a.r2, a.Q2))
    assert a.converged and b.converged
    assert b.forgetting > a.forgetting


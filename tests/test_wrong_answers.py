"""The hidden tests catch the plausible wrong answers.

For every wrong answer in ``tests/wrong_answers/``, the master's test cells of its exercise run
against it in place of the solution, once as students see them (visible tests only) and once as
grading runs them (hidden tests too). Every wrong answer must fail grading; the table written to
``tests/artifacts/wrong_answers.md`` (and counted at the end of the run) says which of them only
the hidden tests catch. The masters' own solutions pass the same harness, so a failure is the
wrong answer's, not the harness's.

Notebooks whose test cells call Ray (03, and 04 with Modin) are judged in a fresh interpreter
with a Ray session of its own, once for all their wrong answers (marker ``ray``: slow). The
run starts those judges in the background first, while the quick tests run (tests/ordering.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from tests.wrong_answers import Master, all_wrong_answers, judge, memorised, outcome_with_ray

WRONG = all_wrong_answers()
NOTEBOOKS = sorted({w.notebook for w in WRONG})
WITH_RAY = {w.notebook for w in WRONG if w.needs_ray}
REPORT: dict[str, tuple] = {}
ARTIFACT = Path(__file__).parent / "artifacts" / "wrong_answers.md"


@cache
def master(name: str) -> Master:
    return Master.load(name)


@cache
def outcome(name: str) -> dict:
    """{"master": {exercise: failures}, "wrong": {id: (visible, graded)}} for one notebook."""
    if name in WITH_RAY:
        return outcome_with_ray(name)  # started at the beginning of the run (tests/ordering.py)
    m = master(name)
    return {"master": {e: m.failures(e) for e in m.exercises()},
            "wrong": judge(m, [w for w in WRONG if w.notebook == name]),
            "untouched": m.untouched(),
            "memorised": {e: memorised(m, e) for e in sorted(m.exercises())}}


def _slow_if_ray(values, notebook_of):
    slow = [pytest.mark.ray, pytest.mark.timeout(900)]  # run_with_ray's own limit
    return [pytest.param(v, marks=slow) if notebook_of(v) in WITH_RAY else v
            for v in values]


@pytest.mark.filterwarnings("ignore")  # judging runs the wrong answers too
@pytest.mark.parametrize("name", _slow_if_ray(NOTEBOOKS, lambda n: n))
def test_every_exercise_has_wrong_answers_and_its_solution_passes(name):
    exercises = master(name).exercises()
    assert exercises, f"{name}: no autograded exercises found"
    covered = {w.exercise for w in WRONG if w.notebook == name}
    assert covered == exercises, (f"{name}: wrong answers missing for {exercises - covered}, "
                                  f"or for exercises that do not exist: {covered - exercises}")
    failing = {e: f for e, f in outcome(name)["master"].items() if f}
    assert not failing, f"{name}: the master's solutions fail their own tests: {failing}"


@pytest.mark.filterwarnings("ignore")  # judging runs the stubs too
@pytest.mark.parametrize("name", _slow_if_ray(NOTEBOOKS, lambda n: n))
def test_the_untouched_student_notebook_fails_every_test_cell(name):
    """Each exercise's stub, as the student notebook has it, judged like a wrong answer: every
    test cell of every exercise fails (an untouched notebook scores 0), and no graded test
    cell is outside an exercise, where this would not see it."""
    m = master(name)
    assert not m.orphan_tests(), f"{name}: test cells of no exercise: {m.orphan_tests()}"
    for exercise, failed in outcome(name)["untouched"].items():
        passing = set(m.tests_of(exercise)) - set(failed)
        assert not passing, f"{name}: the untouched {exercise} passes {sorted(passing)}"


@pytest.mark.filterwarnings("ignore")  # the replay runs the tests too
@pytest.mark.parametrize("name", _slow_if_ray(NOTEBOOKS, lambda n: n))
def test_an_answer_memorised_from_a_classmates_feedback_fails(name):
    """Each exercise's hidden tests draw cases per student (course_lib.cases): an answer that
    replays the master's results on the cases drawn for student A passes A's tests (so it is a
    faithful memory of everything A's feedback could show) and fails B's, where the master
    passes. Classes (Ray actors too) and generators are not replayed call by call: they are
    not judged here (their hidden tests draw per-student cases all the same)."""
    found = outcome(name)["memorised"]
    problems = []
    for exercise, r in sorted(found.items()):
        if r["kind"] in ("class", "generator"):
            continue
        if r["master_other"]:
            problems.append(f"{exercise}: the master fails under another seed: "
                            f"{r['master_other']}")
        elif r["own"]:
            problems.append(f"{exercise}: the replay fails its own seed's tests, so this "
                            f"check cannot judge it: {r['own']}")
        elif not r["other"]:
            problems.append(f"{exercise}: an answer memorised from another student's cases "
                            "passes (no per-student random cases in its hidden tests)")
    assert not problems, f"{name}:\n" + "\n".join(problems)
    assert any(r["kind"] == "function" for r in found.values()), f"{name}: nothing judged"


@pytest.mark.filterwarnings("ignore")  # wrong answers may divide by zero, overflow, ...
@pytest.mark.parametrize("w", _slow_if_ray(WRONG, lambda w: w.notebook), ids=lambda w: w.id)
def test_wrong_answer_fails_grading(w):
    visible, graded = outcome(w.notebook)["wrong"][w.id]
    REPORT[w.id] = (w, visible, graded)
    assert graded, f"{w.notebook} {w.exercise}: the wrong answer '{w.description}' earns full marks"


def report_table() -> str:
    """The table of which tests catch which wrong answer (markdown)."""
    lines = ["| notebook | exercise | wrong answer | visible tests | grading (with hidden) |",
             "|---|---|---|---|---|"]
    for w, visible, graded in (REPORT[k] for k in sorted(REPORT)):
        def cell(failed):
            return "caught: " + ", ".join(sorted(failed)) if failed else "**passes**"
        lines.append(f"| {w.notebook[:2]} | `{w.exercise}` | {w.description} | {cell(visible)} "
                     f"| {cell(graded)} |")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module", autouse=True)
def _write_report():
    yield
    if REPORT:
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        ARTIFACT.write_text(report_table())


def test_the_untouched_check_would_see_a_solution_left_in_the_student_notebook():
    """The check above can fail: with the solutions in place of the stubs, nothing fails."""
    import dataclasses

    m = master("00_welcome")
    leaked = dataclasses.replace(m, stubs=dict(m.solutions), _base=None)
    assert all(not failed for failed in leaked.untouched().values())
    assert all(failed for failed in m.untouched().values())


def test_the_seed_stress_tool_runs_a_master_under_many_seeds(capsys):
    from tests.wrong_answers.stress import stress

    assert stress("00_welcome", 3) == {}
    assert "3 seeds" in capsys.readouterr().out

"""The hidden tests catch the plausible wrong answers.

For every wrong answer in ``tests/wrong_answers/``, the master's test cells of its exercise run
against it in place of the solution, once as students see them (visible tests only) and once as
grading runs them (hidden tests too). Every wrong answer must fail grading; the table written to
``tests/artifacts/wrong_answers.md`` (and printed at the end of the run) says which of them only
the hidden tests catch. The masters' own solutions pass the same harness, so a failure is the
wrong answer's, not the harness's.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from tests.wrong_answers import Master, all_wrong_answers

WRONG = all_wrong_answers()
NOTEBOOKS = sorted({w.notebook for w in WRONG})
REPORT: dict[str, tuple] = {}
ARTIFACT = Path(__file__).parent / "artifacts" / "wrong_answers.md"


@cache
def master(name: str) -> Master:
    return Master.load(name)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_exercise_has_wrong_answers_and_its_solution_passes(name):
    m = master(name)
    exercises = {gid for gid in m.solutions if any(
        t == f"test_{gid}" or t.startswith(f"test_{gid}_") for t in m.tests)}
    assert exercises, f"{name}: no autograded exercises found"
    covered = {w.exercise for w in WRONG if w.notebook == name}
    assert covered == exercises, (f"{name}: wrong answers missing for {exercises - covered}, "
                                  f"or for exercises that do not exist: {covered - exercises}")
    for exercise in sorted(exercises):
        assert m.failures(exercise) == {}, f"{name}: the master's {exercise} fails its own tests"


@pytest.mark.filterwarnings("ignore")  # wrong answers may divide by zero, overflow, ...
@pytest.mark.parametrize("w", WRONG, ids=lambda w: w.id)
def test_wrong_answer_fails_grading(w):
    m = master(w.notebook)
    visible = m.failures(w.exercise, {w.exercise: w.fn}, hidden=False)
    graded = m.failures(w.exercise, {w.exercise: w.fn}, hidden=True)
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

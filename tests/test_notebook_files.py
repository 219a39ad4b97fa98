"""Static checks of the committed notebooks (no execution): nbgrader metadata
conventions in the masters, nothing left in the student notebooks, no outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autograde import conventions, course, index
from tests.conftest import ASSIGNMENTS

BEGIN_SOL, END_SOL = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HID, END_HID = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _src(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _nbg(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def test_there_are_masters_and_student_notebooks():
    assert ASSIGNMENTS[:2] == ["00_welcome", "01_metrics_and_models"]
    for name in ASSIGNMENTS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", name), name
        student = course.NOTEBOOKS_DIR / f"{name}.ipynb"
        assert student.exists(), f"notebooks/{name}.ipynb is missing: run `make release`"
    extra = {p.stem for p in course.NOTEBOOKS_DIR.glob("*.ipynb")} - set(ASSIGNMENTS)
    extra.discard(Path(index.INDEX_NAME).stem)  # the landing page, generated (test_index.py)
    assert not extra, f"student notebooks without a master: {extra}"


def _all_notebooks():
    for name in ASSIGNMENTS:
        yield pytest.param(course.master_path(name), id=f"master-{name}")
        yield pytest.param(course.NOTEBOOKS_DIR / f"{name}.ipynb", id=f"student-{name}")


@pytest.mark.parametrize("path", list(_all_notebooks()))
def test_no_outputs_or_execution_counts(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has a count"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_master_follows_the_exercise_conventions(name):
    assert conventions.problems_in_file(course.master_path(name)) == []


@pytest.mark.parametrize("broken", ["no_hidden", "unlocked", "no_points", "misnamed", "dupe"])
def test_conventions_catch_a_broken_master(broken):
    nb = json.loads(course.master_path("01_metrics_and_models").read_text())
    tests = [c for c in nb["cells"] if _nbg(c).get("grade") and not _nbg(c).get("solution")]
    first = tests[0]
    if broken == "no_hidden":
        for c in tests:
            c["source"] = _src(c).split(BEGIN_HID)[0]
    elif broken == "unlocked":
        _nbg(first)["locked"] = False
    elif broken == "no_points":
        _nbg(first)["points"] = 0
    elif broken == "misnamed":
        _nbg(first)["grade_id"] = first["id"] = "test_something_else"
    else:
        nb["cells"].append(json.loads(json.dumps(first)))
    assert conventions.problems(nb, "01"), f"{broken} went unnoticed"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_notebook_has_no_solutions_or_hidden_tests(name):
    master = {c["id"]: c for c in _cells(course.master_path(name))}
    student = _cells(course.NOTEBOOKS_DIR / f"{name}.ipynb")
    assert [c["id"] for c in student] == list(master) + [course.SELF_CHECK_CELL_ID], \
        "cells differ from the master (plus the self-check cell at the end)"
    for cell in student:
        src, meta = _src(cell), _nbg(cell)
        for marker in (BEGIN_SOL, END_SOL, BEGIN_HID, END_HID):
            assert marker not in src, f"{name} {cell['id']}: {marker!r} left in"
        if meta.get("solution") and cell["cell_type"] == "code":
            assert "raise NotImplementedError()" in src, f"{cell['id']}: no stub"
            solution = _src(master[cell["id"]]).split(BEGIN_SOL)[1].split(END_SOL)[0]
            body = [ln for ln in solution.splitlines() if ln.strip()]
            assert not any(ln in src.splitlines() for ln in body if len(ln.strip()) > 12), \
                f"{cell['id']}: solution code left in the student notebook"
        if meta.get("solution") and cell["cell_type"] == "markdown":
            assert "YOUR ANSWER HERE" in src and "rubric" not in src.lower(), cell["id"]

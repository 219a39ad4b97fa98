"""Static checks of the committed notebooks (no execution): nbgrader metadata
conventions in the masters, nothing left in the student notebooks, no outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autograde import pipeline
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
        student = pipeline.NOTEBOOKS_DIR / f"{name}.ipynb"
        assert student.exists(), f"notebooks/{name}.ipynb is missing: run `make release`"
    extra = {p.stem for p in pipeline.NOTEBOOKS_DIR.glob("*.ipynb")} - set(ASSIGNMENTS)
    assert not extra, f"student notebooks without a master: {extra}"


def _all_notebooks():
    for name in ASSIGNMENTS:
        yield pytest.param(pipeline.master_path(name), id=f"master-{name}")
        yield pytest.param(pipeline.NOTEBOOKS_DIR / f"{name}.ipynb", id=f"student-{name}")


@pytest.mark.parametrize("path", list(_all_notebooks()))
def test_no_outputs_or_execution_counts(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has a count"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_master_follows_the_exercise_conventions(name):
    cells = _cells(pipeline.master_path(name))
    ids = [_nbg(c)["grade_id"] for c in cells if _nbg(c)]
    assert len(ids) == len(set(ids)), f"duplicate grade_ids in {name}: {ids}"
    assert sum(1 for c in cells if c["cell_type"] == "code" and "import course_lib as cl" in
               _src(c)) == 1, "the imports cell (import course_lib as cl) must appear once"

    current = None  # the exercise whose tests may follow
    tested: dict[str, int] = {}
    for i, cell in enumerate(cells):
        meta, src = _nbg(cell), _src(cell)
        where = f"{name} cell {i} ({meta.get('grade_id', cell['cell_type'])})"
        assert src.count(BEGIN_SOL) == src.count(END_SOL), f"{where}: unbalanced solution markers"
        assert src.count(BEGIN_HID) == src.count(END_HID), f"{where}: unbalanced hidden tests"
        if not meta:
            assert BEGIN_SOL not in src and BEGIN_HID not in src, f"{where}: markers, no metadata"
            continue
        assert meta.get("schema_version") == 3, where
        assert cell.get("id") == meta["grade_id"], f"{where}: cell id should be the grade_id"
        if meta["solution"] and not meta["grade"]:  # an exercise
            assert cell["cell_type"] == "code", where
            assert BEGIN_SOL in src, f"{where}: no solution region"
            assert re.search(rf"^(def|class) {meta['grade_id']}\b", src, re.M), \
                f"{where}: must define {meta['grade_id']}"
            assert current is None or tested.get(current), f"{where}: {current} has no tests"
            current = meta["grade_id"]
            tested[current] = 0
        elif meta["grade"] and not meta["solution"]:  # a test cell
            assert cell["cell_type"] == "code" and meta["locked"], f"{where}: must be locked code"
            assert meta.get("points", 0) > 0, f"{where}: needs points > 0"
            assert current is not None and re.fullmatch(
                rf"test_{current}(_\w+)?", meta["grade_id"]), \
                f"{where}: test cells must follow their exercise and be named test_{current}[_...]"
            assert BEGIN_SOL not in src, where
            tested[current] += 1
        elif meta["grade"] and meta["solution"]:  # a manually graded answer
            assert meta.get("points", 0) > 0, f"{where}: needs points > 0"
            assert BEGIN_SOL in src and "rubric" in src.lower(), \
                f"{where}: the master must hold a model answer and a rubric"
    assert all(tested.values()), f"exercises without tests: {tested}"
    for exercise in tested:
        assert any(BEGIN_HID in _src(c) for c in cells
                   if re.fullmatch(rf"test_{exercise}(_\w+)?", _nbg(c).get("grade_id", ""))), \
            f"{name}: {exercise} has no hidden tests"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_notebook_has_no_solutions_or_hidden_tests(name):
    master = {c["id"]: c for c in _cells(pipeline.master_path(name))}
    student = _cells(pipeline.NOTEBOOKS_DIR / f"{name}.ipynb")
    assert [c["id"] for c in student] == list(master), "cells differ from the master"
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

"""The nbgrader pipeline as an instructor runs it: masters -> student notebooks (committed in
notebooks/) -> autograded submissions, and nbgrader's stderr rule as the course bends it.

That every master earns full marks is tested on the session's one grading of the masters
(tests/test_notebooks_run.py); that untouched student notebooks earn nothing, by judging
each exercise's stub like a wrong answer (tests/test_wrong_answers.py) and by one blank
submission graded end to end (tests/test_notebooks_run.py, tests/test_instructor.py)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from autograde import course
from tests.conftest import ASSIGNMENTS

pytestmark = pytest.mark.grading


def test_notebooks_folder_is_what_nbgrader_makes_of_the_masters(tmp_path):
    made = course.generate_student_notebooks(tmp_path)
    assert sorted(p.name for p in made) == sorted(f"{n}.ipynb" for n in ASSIGNMENTS)
    for path in made:
        committed = course.NOTEBOOKS_DIR / path.name
        assert course.normalized(path) == json.loads(committed.read_text()), (
            f"notebooks/{path.name} is out of date with its master: run `make release`")


def _welcome_with(tmp_path: Path, code: str) -> Path:
    """Notebook 00's master with ``code`` run at the top of the speedup solution."""
    nb = nbformat.read(course.master_path("00_welcome"), as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == "speedup")
    indented = "\n".join("    " + line for line in code.strip().splitlines())
    cell.source = cell.source.replace("### BEGIN SOLUTION", "### BEGIN SOLUTION\n" + indented)
    path = tmp_path / "00_welcome.ipynb"
    nbformat.write(nb, path)
    return path


def _grade_welcome(path: Path):
    return course.autograde({"00_welcome": path})["00_welcome"]["test_speedup"]


def test_library_warnings_on_stderr_do_not_cost_a_correct_solution(tmp_path):
    noisy = _welcome_with(tmp_path, """
import sys, warnings
warnings.warn('this API will change', FutureWarning)
warnings.warn('object store is small', UserWarning)
print('(raylet) [2026-11-22 10:00:00,000 I 123 123] started', file=sys.stderr)
print('(square pid=4242) worker says hello', file=sys.stderr)
""")
    grade = _grade_welcome(noisy)
    assert grade.full, grade


def test_ignoring_warnings_does_not_pass_a_wrong_solution(tmp_path):
    wrong = _welcome_with(tmp_path, """
import warnings
warnings.warn('noise', UserWarning)
return T_new / T_baseline
""")
    assert _grade_welcome(wrong).score == 0


def test_other_stderr_output_still_scores_zero(tmp_path):
    """nbgrader's own rule (stderr in a test cell scores 0) stays for what is not library noise."""
    odd = _welcome_with(tmp_path, """
import sys
print('something odd happened', file=sys.stderr)
""")
    assert _grade_welcome(odd).score == 0


def test_new_gradebooks_get_the_revision_alembic_reports(tmp_path):
    """nbgrader stamps a new gradebook with `alembic heads` (a 5 s subprocess); the course
    reads the same revision in-process, and nbgrader's migrations accept the result."""
    import subprocess

    import nbgrader.api
    from nbgrader.dbutil import _temp_alembic_ini

    from autograde.course import Course

    course.ensure_tools_on_path()
    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'unused.db'}") as ini:
        heads = subprocess.run(["alembic", "-c", ini, "heads"], capture_output=True, text=True,
                               check=True).stdout
    assert heads.split()[0] == course.alembic_head_in_process()
    assert nbgrader.api.get_alembic_version is course.alembic_head_in_process
    (tmp_path / "course" / "source").mkdir(parents=True)
    with Course(tmp_path / "course").gradebook() as gb:  # a new gradebook, stamped
        gb.add_student("someone")
    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'course' / 'gradebook.db'}") as ini:
        current = subprocess.run(["alembic", "-c", ini, "current"], capture_output=True,
                                 text=True, check=True).stdout
    assert course.alembic_head_in_process() in current and "(head)" in current

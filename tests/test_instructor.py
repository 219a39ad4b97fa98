"""The instructor's tooling end to end: collect a class from a zip, grade it in
parallel, feedback without hidden-test source, export, report, resume after a
kill, self-check. Uses notebooks 00 and 01 (fast). A Ray notebook graded beside others
(its master full marks, its blank 0, no process left) is in tests/test_notebooks_run.py."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograde import synthetic
from autograde.collect import collect
from autograde.course import SOURCE_DIR, Course
from autograde.course import autograde as nbgrader_autograde
from autograde.feedback import export, feedback
from autograde.grade import grade, journal, marked_pids
from autograde.report import report

pytestmark = pytest.mark.grading

A0, A1 = "00_welcome", "01_metrics_and_models"
MARKER = "HIDDEN-TEST-MARKER-7f3a9c"
DUE = "2026-11-20 17:00:00.000000 UTC"


def _points(assignment: str) -> dict[str, float]:
    """Autograded points per test cell of a master."""
    nb = synthetic.correct(assignment)
    return {c["id"]: float(c["metadata"]["nbgrader"]["points"]) for c in nb["cells"]
            if c["metadata"].get("nbgrader", {}).get("grade")
            and not c["metadata"]["nbgrader"].get("solution")}


def _make_course(tmp: Path, names=(A0, A1)) -> Course:
    """A private course with copies of the masters; a marker planted in a hidden test of 01."""
    root = tmp / "course"
    for name in names:
        shutil.copytree(SOURCE_DIR / name, root / "source" / name)
    master = root / "source" / A1 / f"{A1}.ipynb"
    if master.exists():
        plant_in_hidden_test(master, MARKER)
    return Course(root)


def plant_in_hidden_test(master: Path, text: str, grade_id: str | None = None) -> str:
    """Write the comment ``# text`` into the hidden region of a master's test cell (the
    first, or ``grade_id``), as an instructor editing a hidden test would; its grade_id."""
    nb = json.loads(master.read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if "### BEGIN HIDDEN TESTS" in src and grade_id in (None, gid):
            cell["source"] = src.replace("### BEGIN HIDDEN TESTS",
                                         f"### BEGIN HIDDEN TESTS\n# {text}", 1)
            master.write_text(json.dumps(nb, indent=1))
            return gid
    raise AssertionError(f"{master.name} has no hidden test {grade_id or ''}")


def _class_zip(tmp: Path) -> Path:
    """alice correct, bob partly wrong (01: predict_time), carol blank, dave late,
    plus files that cannot be placed."""
    inbox = tmp / "inbox"
    synthetic.write(synthetic.correct(A0), inbox / "alice" / f"{A0}.ipynb")
    synthetic.write(synthetic.correct(A1), inbox / "alice" / A1 / f"{A1}.ipynb")
    (inbox / "alice" / A1 / "timestamp.txt").write_text("2026-11-20 09:00:00.000000 UTC")
    synthetic.write(synthetic.correct(A0), inbox / "bob" / f"{A0}.ipynb")
    synthetic.write(synthetic.partly_wrong(A1, ["predict_time"]), inbox / "bob" / f"{A1}.ipynb")
    synthetic.write(synthetic.blank(A0), inbox / "carol" / f"{A0}.ipynb")
    synthetic.write(synthetic.blank(A1), inbox / "carol" / f"{A1}.ipynb")
    synthetic.write(synthetic.correct(A0), inbox / "dave" / A0 / f"{A0}.ipynb")
    (inbox / "dave" / A0 / "timestamp.txt").write_text("2026-11-21 12:00:00.000000 UTC")
    (inbox / "erin").mkdir()
    (inbox / "erin" / "notes.txt").write_text("not a notebook")
    synthetic.write(synthetic.correct(A0), inbox / "erin" / "99_unknown.ipynb")
    synthetic.write(synthetic.correct(A0), inbox / "erin" / A1 / f"{A0}.ipynb")  # misplaced
    path = tmp / "class.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(inbox.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(inbox).as_posix())
    return path


def _gradebook_scores(course: Course) -> dict[tuple[str, str], tuple[float, float]]:
    with course.gradebook() as gb:
        return {(s.student.id, a.name): (float(s.score), float(s.max_score))
                for a in gb.assignments for s in gb.assignment_submissions(a.name)}


def test_a_class_end_to_end(tmp_path):
    course = _make_course(tmp_path)
    course.release(log=lambda *_: None)
    from autograde.cli import main

    assert main(["--course", str(course.root), "due", A0, DUE]) == 0
    # one student is already known to the gradebook; the others are registered by collect
    with course.gradebook() as gb:
        gb.update_or_create_student("alice", first_name="Alice")

    got = collect(course, _class_zip(tmp_path), log=lambda *_: None)
    assert sorted(got.new_students) == ["bob", "carol", "dave"]
    assert len(got.placed) == 7, got.placed
    reasons = "\n".join(got.unplaced)
    assert "erin/notes.txt: not a notebook" in reasons
    assert "erin/99_unknown.ipynb" in reasons and "not a notebook of this course" in reasons
    assert f"erin/{A1}/{A0}.ipynb" in reasons and "renamed" in reasons
    assert len(got.unplaced) == 3

    lines: list[str] = []
    results = grade(course, workers=2, log=lines.append, progress=False)
    assert len(results) == 7 and all(r.status == "ok" for r in results), results
    assert sum("/" in ln and " ok " in ln for ln in lines) == 7, lines  # one line each

    p0, p1 = _points(A0), _points(A1)
    full0, full1 = sum(p0.values()), sum(p1.values())
    wrong = sum(v for k, v in p1.items() if k.startswith("test_predict_time"))
    scores = {k: v[0] for k, v in _gradebook_scores(course).items()}
    assert scores[("alice", A0)] == full0 and scores[("alice", A1)] == full1
    assert scores[("bob", A0)] == full0 and scores[("bob", A1)] == full1 - wrong
    assert scores[("carol", A0)] == 0 and scores[("carol", A1)] == 0
    assert scores[("dave", A0)] == full0
    with course.gradebook() as gb:
        assert gb.find_submission(A0, "dave").total_seconds_late > 0
        assert gb.find_submission(A1, "alice").total_seconds_late == 0  # no due date
        assert gb.find_student("alice").first_name == "Alice"

    # the same as plain `nbgrader autograde` on the same notebook
    plain = nbgrader_autograde({A1: course.submitted("bob", A1) / f"{A1}.ipynb"})[A1]
    with course.gradebook() as gb:
        ours = {g.name: float(g.score) for g in
                gb.find_submission_notebook(A1, A1, "bob").grades}
    assert ours == {k: g.score for k, g in plain.items()}

    # feedback: every test's outcome, never a hidden test's source
    pages = feedback(course, log=lambda *_: None)
    assert len(pages) == 7
    text = "".join(p.read_text() for p in pages)
    assert MARKER not in text
    assert "BEGIN HIDDEN TESTS" not in text
    bob = (course.root / "feedback" / "bob" / A1 / f"{A1}.html").read_text()
    assert "NotImplementedError" in bob

    # export: nbgrader's CSV, one row per student and assignment
    rows = list(csv.DictReader(export(course, tmp_path / "grades.csv", log=lambda *_: None)
                               .open()))
    by = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    for key, score in scores.items():
        assert by[key] == score, key

    # report: plots, the cells, nothing failed
    (page,) = report(course, [A1], log=lambda *_: None)
    html = page.read_text()
    assert html.count("data:image/png;base64,") >= 3 and "test_predict_time" in html

    # grading again changes nothing; a lost record is graded again, to the same score
    assert grade(course, workers=2, log=lambda *_: None, progress=False)
    assert {k: v[0] for k, v in _gradebook_scores(course).items()} == scores
    (course.state / "journal" / "bob" / f"{A1}.json").unlink()
    again = grade(course, workers=2, log=lines.append, progress=False)
    assert "grading 1 submission(s)" in "\n".join(lines)
    assert len(again) == 7
    assert {k: v[0] for k, v in _gradebook_scores(course).items()} == scores


def test_collect_never_loses_a_submission(tmp_path):
    course = _make_course(tmp_path, names=(A0,))
    first = tmp_path / "first"
    synthetic.write(synthetic.blank(A0), first / "alice" / A0 / f"{A0}.ipynb")
    (first / "alice" / A0 / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    collect(course, first, log=lambda *_: None)
    assert collect(course, first, log=lambda *_: None).skipped  # identical: skipped

    newer = tmp_path / "newer"
    synthetic.write(synthetic.correct(A0), newer / "alice" / A0 / f"{A0}.ipynb")
    (newer / "alice" / A0 / "timestamp.txt").write_text("2026-11-20 11:00:00.000000 UTC")
    lines: list[str] = []
    got = collect(course, newer, log=lines.append)
    assert got.replaced == [f"alice/{A0}"] and any("replaced" in ln for ln in lines)
    kept = list((course.state / "replaced" / "alice" / A0).glob(f"*/{A0}.ipynb"))
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == synthetic.blank(A0)

    older = tmp_path / "older"
    synthetic.write(synthetic.partly_wrong(A0, synthetic.exercises(A0)),
                    older / "alice" / A0 / f"{A0}.ipynb")
    (older / "alice" / A0 / "timestamp.txt").write_text("2026-11-19 11:00:00.000000 UTC")
    got = collect(course, older, log=lambda *_: None)
    assert got.skipped and not got.replaced
    current = course.submitted("alice", A0) / f"{A0}.ipynb"
    assert json.loads(current.read_text()) == synthetic.correct(A0)


def test_release_refuses_a_broken_master(tmp_path):
    course = _make_course(tmp_path, names=(A0,))
    master = course.master(A0)
    nb = json.loads(master.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            cell["metadata"]["nbgrader"]["points"] = 0
    master.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="needs points > 0"):
        course.release()
    assert not (course.root / "release").exists()


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_an_interrupted_run_resumes(tmp_path, how):
    """kill -9 (or Ctrl-C) the grader mid-run: the next run grades the rest, each once, and no
    process of the killed run survives."""
    course = _make_course(tmp_path, names=(A0,))
    for s in ("s1", "s2", "s3", "s4"):
        synthetic.write(synthetic.correct(A0), course.submitted(s, A0) / f"{A0}.ipynb")
    course.release(log=lambda *_: None)
    proc = subprocess.Popen([sys.executable, "-m", "autograde", "--course", str(course.root),
                             "grade", "--workers", "1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while not journal(course) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, getattr(signal, how))  # Ctrl-C reaches the terminal's process group
    proc.wait(timeout=120)
    done_before = {r.student for r in journal(course)}
    assert 1 <= len(done_before) < 4, "the kill should land mid-run"

    lines: list[str] = []
    results = grade(course, workers=2, log=lines.append, progress=False)
    assert f"grading {4 - len(done_before)} submission(s)" in "\n".join(lines)
    assert sorted(r.student for r in results) == ["s1", "s2", "s3", "s4"]
    full = sum(_points(A0).values())
    assert all(v == (full, full) for v in _gradebook_scores(course).values())
    assert not marked_pids(f"AUTOGRADE_COURSE_STATE={course.state}")
    assert not (course.state / "jobs").exists()


def test_a_hung_submission_times_out_and_the_next_one_is_graded(tmp_path):
    """A notebook that never ends is stopped at the time limit, with everything it started;
    the slot's fork server carries on with the next submission."""
    course = _make_course(tmp_path, names=(A0,))
    hung = synthetic.correct(A0)
    solution = next(c for c in hung["cells"] if c["cell_type"] == "code"
                    and c["metadata"].get("nbgrader", {}).get("solution"))
    solution["source"] = ("import subprocess, time\n"
                          "subprocess.Popen(['sleep', '600'])  # a child of its own, too\n"
                          "while True:\n    time.sleep(0.1)\n")
    synthetic.write(hung, course.submitted("a_hung", A0) / f"{A0}.ipynb")
    synthetic.write(synthetic.correct(A0), course.submitted("b_fine", A0) / f"{A0}.ipynb")
    # a correct 00 grades in ~3 s here: 15 s leaves it a wide margin
    results = {r.student: r for r in grade(course, workers=1, timeout_s=15,
                                           log=lambda *_: None, progress=False)}
    hung_r, fine = results["a_hung"], results["b_fine"]
    assert hung_r.status == "timeout" and "15 s" in hung_r.reason, hung_r
    assert hung_r.score == 0 and hung_r.max_score > 0, hung_r
    full = sum(_points(A0).values())
    assert fine.status == "ok" and fine.score == full, fine
    assert not marked_pids(f"AUTOGRADE_COURSE_STATE={course.state}")


def test_self_check_prints_scores_and_leaves_nothing(tmp_path, capsys):
    import tempfile

    from autograde.selfcheck import self_check

    before = set(Path(tempfile.gettempdir()).glob("autograde-selfcheck-*"))
    nb = synthetic.write(synthetic.blank(A0), tmp_path / f"{A0}-Copy1.ipynb")
    result = self_check(nb)
    out = capsys.readouterr().out
    assert result["status"] == "ok" and result["score"] == 0 and result["max_score"] > 0
    assert "NotImplementedError" in out and f"{A0}: 0/" in out
    assert set(Path(tempfile.gettempdir()).glob("autograde-selfcheck-*")) == before

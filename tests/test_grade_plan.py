"""What ``autograde grade`` decides before any notebook runs: which submissions it grades
again (the journal's key: the submission, its assignment's master, the limits), releasing a
changed master again, the command line's settings (``--timeout``, ``--cluster``) and its
one-line errors. No notebook is executed here; the tests marked ``grading`` run nbgrader's
release (a few seconds)."""

from __future__ import annotations

import dataclasses
import fcntl
import sys
from pathlib import Path

import pytest

import autograde.grade as grade_pkg
from autograde import synthetic
from autograde.cli import main
from autograde.course import Course
from autograde.errors import UsageError
from autograde.grade import Limits, Result, grade, journal, plan
from autograde.grade.plan import limits_sha256, write_journal
from tests.test_instructor import A0, _make_course, plant_in_hidden_test

FIX = "FIXED-HIDDEN-TEST-4b1e"


def _submit(course: Course, *students: str) -> None:
    for student in students:
        synthetic.write(synthetic.correct(A0), course.submitted(student, A0) / f"{A0}.ipynb")


def _fix_a_hidden_test(course: Course, text: str = FIX) -> str:
    """Edit a hidden test of the master, as an instructor fixing it would; its grade_id."""
    return plant_in_hidden_test(course.master(A0), text)


def _graded(course: Course, limits: Limits) -> None:
    """Journal records for every submission, as `grade` writes them."""
    jobs, _ = plan(course, limits=limits)
    for job in jobs:
        write_journal(course, job.result("ok", score=1.0, max_score=1.0))


def _empty_course(tmp_path: Path) -> Course:
    (tmp_path / "empty" / "source").mkdir(parents=True)
    return Course(tmp_path / "empty")


def _one_line_error(capsys, argv: list[str], *words: str) -> str:
    """Run the command line: exit status 2 and one line on stderr, no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"autograde {argv[2]}: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return lines[0]


# ---------------------------------------------------------------------------- the journal's key
def test_a_record_counts_for_the_same_submission_master_and_limits(tmp_path):
    course = _make_course(tmp_path, names=(A0,))
    _submit(course, "alice", "bob")
    limits = Limits()
    jobs, kept = plan(course, limits=limits)
    assert [j.student for j in jobs] == ["alice", "bob"] and not kept
    assert all(not j.regrade for j in jobs)
    _graded(course, limits)
    record = journal(course)[0]
    assert record.master_sha256 and record.limits_sha256 == limits_sha256(limits)

    jobs, kept = plan(course, limits=limits)  # the same content: nothing to do
    assert not jobs and sorted(r.student for r in kept) == ["alice", "bob"]

    jobs, kept = plan(course, limits=limits, force=True)  # --force: everything again
    assert [j.student for j in jobs] == ["alice", "bob"] and not kept

    synthetic.write(synthetic.blank(A0), course.submitted("bob", A0) / f"{A0}.ipynb")
    jobs, kept = plan(course, limits=limits)  # a new submission: graded, not "regraded"
    assert [(j.student, j.regrade) for j in jobs] == [("bob", "")]
    assert [r.student for r in kept] == ["alice"]


def test_a_changed_master_or_limits_grades_again(tmp_path, monkeypatch):
    course = _make_course(tmp_path, names=(A0,))
    _submit(course, "alice", "bob")
    monkeypatch.delenv("AUTOGRADE_LIMITS", raising=False)
    _graded(course, Limits())

    jobs, _ = plan(course, limits=Limits(notebook_timeout_s=60))
    assert [(j.student, j.regrade) for j in jobs] == [
        ("alice", "the limits changed since they were graded"),
        ("bob", "the limits changed since they were graded")]
    monkeypatch.setenv("AUTOGRADE_LIMITS", '{"memory_mb": 1024}')  # plan's default limits
    assert len(plan(course)[0]) == 2
    monkeypatch.delenv("AUTOGRADE_LIMITS")
    assert plan(course) == ([], journal(course))

    _fix_a_hidden_test(course)
    jobs, kept = plan(course, limits=Limits())
    assert not kept
    assert {j.regrade for j in jobs} == {"the master changed since they were graded"}
    jobs, _ = plan(course, limits=Limits(notebook_timeout_s=60))
    assert {j.regrade for j in jobs} == {"the master and the limits changed since they were "
                                         "graded"}


def test_a_record_without_master_and_limits_grades_again(tmp_path):
    """A journal written before the master and the limits were recorded."""
    course = _make_course(tmp_path, names=(A0,))
    _submit(course, "alice")
    (job,), _ = plan(course, limits=Limits())
    write_journal(course, dataclasses.replace(job.result("ok"), master_sha256="",
                                              limits_sha256=""))
    (job,), kept = plan(course, limits=Limits())
    assert not kept and "do not say which master and limits" in job.regrade


def test_no_submissions_of_a_student_is_a_usage_error(tmp_path):
    course = _make_course(tmp_path, names=(A0,))
    _submit(course, "alice")
    with pytest.raises(UsageError, match="no submissions of zed for 00_welcome"):
        plan(course, students=["zed"], limits=Limits())
    with pytest.raises(UsageError, match="unknown assignment '99_nope'"):
        plan(course, ["99_nope"], limits=Limits())


# ---------------------------------------------------------------------------- the command line
def test_timeout_is_passed_only_when_given(tmp_path, monkeypatch):
    course = _empty_course(tmp_path)
    calls = []
    monkeypatch.setattr(grade_pkg, "grade", lambda *a, **kw: calls.append(kw) or [])
    assert main(["--course", str(course.root), "grade"]) == 0
    assert main(["--course", str(course.root), "grade", "--timeout", "40"]) == 0
    assert [c["timeout_s"] for c in calls] == [None, 40.0]
    assert [c["cluster"] for c in calls] == [False, False]


def test_ray_address_without_cluster_grades_locally(tmp_path, monkeypatch, capsys):
    """RAY_ADDRESS alone does not send the grading to a cluster: Ray is never imported."""
    course = _empty_course(tmp_path)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails
    assert grade(course, log=lambda *_: None, progress=False) == []
    assert main(["--course", str(course.root), "grade"]) == 0
    assert "nothing to grade" in capsys.readouterr().out


def test_cluster_without_ray_address_is_one_line(tmp_path, monkeypatch, capsys):
    course = _empty_course(tmp_path)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setitem(sys.modules, "ray", None)
    _one_line_error(capsys, ["--course", str(course.root), "grade", "--cluster"],
                    "RAY_ADDRESS", "--cluster")


def test_errors_for_a_person_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    course = _make_course(tmp_path, names=(A0,))
    empty = _empty_course(tmp_path)
    monkeypatch.delenv("AUTOGRADE_LIMITS", raising=False)
    _one_line_error(capsys, ["--course", str(course.root), "grade", "99_nope"],
                    "unknown assignment '99_nope'", A0)
    _one_line_error(capsys, ["--course", str(empty.root), "grade", "--student", "zed"],
                    "no submissions of zed")
    _one_line_error(capsys, ["--course", str(tmp_path / "nowhere"), "grade"],
                    "is not a course directory")
    monkeypatch.setenv("AUTOGRADE_LIMITS", '{"notebook_timeout_s": 60,')
    _one_line_error(capsys, ["--course", str(empty.root), "grade"],
                    "AUTOGRADE_LIMITS is not valid JSON")
    monkeypatch.setenv("AUTOGRADE_LIMITS", '{"memory": 1024}')
    _one_line_error(capsys, ["--course", str(empty.root), "grade"],
                    "AUTOGRADE_LIMITS", "'memory'")
    monkeypatch.delenv("AUTOGRADE_LIMITS")

    empty.state.mkdir(parents=True, exist_ok=True)
    with open(empty.state / "grade.lock", "w") as lock:  # another run holds the course
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _one_line_error(capsys, ["--course", str(empty.root), "grade"],
                        "another `autograde grade` is running on")
    assert main(["--course", str(empty.root), "grade"]) == 0  # released: runs


# ---------------------------------------------------------------------------- releasing again
@pytest.mark.grading
def test_a_changed_master_is_released_again(tmp_path, capsys):
    """The gradebook's copy of the tests (what nbgrader restores before grading) follows
    the master: a fixed hidden test is released again before the next grading."""
    course = _make_course(tmp_path, names=(A0,))
    assert course.ensure_released([A0]) == {}  # new: released, nothing refreshed
    assert (course.state / "released" / f"{A0}.sha256").exists()
    assert course.ensure_released([A0]) == {}  # unchanged: nothing to do

    grade_id = _fix_a_hidden_test(course)
    assert course.ensure_released([A0]) == {A0: "the master changed since it was last released"}
    with course.gradebook() as gb:
        assert FIX in gb.find_source_cell(grade_id, A0, A0).source
    assert course.ensure_released([A0]) == {}

    _fix_a_hidden_test(course, "fixed once more")
    assert main(["--course", str(course.root), "release"]) == 0
    out = capsys.readouterr().out
    assert f"refreshed {A0} -> release/{A0} (the master changed since it was last released)" \
        in out, out
    assert main(["--course", str(course.root), "release"]) == 0
    assert capsys.readouterr().out.strip() == f"released {A0} -> release/{A0}"

    (course.state / "released" / f"{A0}.sha256").unlink()  # released by an older autograde
    assert course.ensure_released([A0]) == {A0: "its last release was not recorded"}


@pytest.mark.grading
def test_grade_regrades_what_changed_and_keeps_the_limits(tmp_path, monkeypatch, capsys):
    """`autograde grade` without --timeout keeps AUTOGRADE_LIMITS's notebook_timeout_s, grades
    locally with RAY_ADDRESS set, and after a master is fixed releases it again and says which
    submissions it grades again. The submissions are invalid (no notebook under the
    assignment's name), so nothing is executed."""
    course = _make_course(tmp_path, names=(A0,))
    for student in ("alice", "bob"):
        synthetic.write(synthetic.correct(A0), course.submitted(student, A0) / "renamed.ipynb")
    monkeypatch.setenv("AUTOGRADE_LIMITS", '{"notebook_timeout_s": 123}')
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    monkeypatch.setitem(sys.modules, "ray", None)
    argv = ["--course", str(course.root), "grade", "--workers", "1"]

    assert main(argv) == 2  # graded, not ok: invalid
    records = journal(course)
    assert [(r.student, r.status) for r in records] == [("alice", "invalid"), ("bob", "invalid")]
    assert {r.limits_sha256 for r in records} == {limits_sha256(Limits(notebook_timeout_s=123))}
    capsys.readouterr()

    assert main(argv) == 2  # nothing changed: nothing graded, the records kept
    out = capsys.readouterr().out
    assert "2 submission(s) already graded and unchanged" in out and "nothing to grade" in out

    _fix_a_hidden_test(course)
    main(argv)
    out = capsys.readouterr().out
    assert f"released {A0} again: the master changed since it was last released" in out, out
    assert (f"2 submission(s) of {A0} regraded: the master changed since they were graded"
            in out), out
    assert "grading 2 submission(s)" in out


# ---------------------------------------------------------------------------- order and templates
def _jobs(assignment: str, n: int) -> list:
    return [grade_pkg.Job(f"s{i}", assignment, Path(f"{assignment}-{i}.ipynb"), "")
            for i in range(n)]


def test_the_queue_learns_each_assignment_first_then_takes_the_longest_first():
    """Unknown assignments go first, one job each (the fewest handed out first); once their
    times are known, the longest expected job goes next, and short ones fill the end."""
    from autograde.grade.schedule import JobQueue

    q = JobQueue(_jobs("short", 3) + _jobs("long", 3))
    first, second = q.take(), q.take()
    assert (first.assignment, second.assignment) == ("short", "long")  # one of each: learning
    q.done(first, first.result("ok", seconds=10.0))
    q.done(second, second.result("ok", seconds=15.0))
    assert [q.take().assignment for _ in range(4)] == ["long", "long", "short", "short"]
    assert q.take() is None and len(q) == 0


def test_the_queue_learns_only_from_runs_to_the_end_and_from_the_journal():
    from autograde.grade.schedule import JobQueue

    q = JobQueue(_jobs("a", 2) + _jobs("b", 2),
                 history=[Result("x", "a", "ok", seconds=5.0),
                          Result("y", "b", "ok", seconds=20.0),
                          Result("z", "a", "timeout", seconds=900.0)])  # not a run's time
    assert q.expected("a") == 5.0 and q.expected("b") == 20.0
    job = q.take()
    assert job.assignment == "b"
    q.done(job, job.result("crash", seconds=1.0))  # not learned from
    assert q.expected("b") == 20.0
    assert [q.take().assignment for _ in range(3)] == ["b", "a", "a"]


@pytest.mark.grading
def test_release_makes_the_grading_template_once_per_master(tmp_path):
    """The template each submission is graded in a copy of: made at release, kept while the
    master is unchanged, made again (and the old one removed) when it changes; it holds the
    assignment in a gradebook of its own, with no students."""
    course = _make_course(tmp_path, names=(A0,))
    course.release(log=lambda *_: None)
    made = sorted((course.state / "templates").iterdir())
    assert len(made) == 1 and made[0] == course.template(A0)
    stamp = (made[0] / "gradebook.db").stat().st_mtime_ns
    course.release(log=lambda *_: None)
    assert (made[0] / "gradebook.db").stat().st_mtime_ns == stamp  # unchanged: kept
    with Course(made[0]).gradebook() as gb:
        assert [a.name for a in gb.assignments] == [A0] and gb.students == []

    _fix_a_hidden_test(course)
    fresh = course.template(A0)
    assert fresh != made[0] and not made[0].exists()
    assert sorted((course.state / "templates").iterdir()) == [fresh]
    assert FIX in (fresh / "source" / A0 / f"{A0}.ipynb").read_text()

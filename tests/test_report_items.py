"""``autograde report``'s item analysis on a synthetic class with a planted bad test cell
(weak submissions pass it, strong ones fail it): it is flagged, the good cells are not,
each cell's most frequent failing messages are listed with their counts, and every
submission is counted whatever its status. The class is written as the grader leaves it
(journal records, autograded notebooks, submitted folders); nothing is graded."""

from __future__ import annotations

import json
from pathlib import Path

from autograde.cli import main
from autograde.course import Course
from autograde.grade.plan import Result, write_journal
from autograde.item_analysis import analyse, message_shape, point_biserial, upper_minus_lower
from autograde.report import assignment_summary

A = "09_synthetic"
# test cell -> (points, the lowest ability that passes it); test_bad is passed by the
# weakest half and failed by the strongest
CELLS = {"test_easy": (1, 3), "test_mid": (2, 8), "test_hard": (2, 13), "test_harder": (1, 16),
         "test_bad": (1, None)}
N = 20


def _passes(cell: str, i: int) -> bool:
    low = CELLS[cell][1]
    return i < N // 2 if low is None else i >= low


def _master() -> dict:
    cells = [{"cell_type": "code", "id": "f", "source": "def f():\n    return 1",
              "metadata": {"nbgrader": {"grade_id": "f", "solution": True, "grade": False}},
              "outputs": [], "execution_count": None}]
    for gid, (pts, _) in CELLS.items():
        cells.append({"cell_type": "code", "id": gid, "source": "assert f() == 1",
                      "metadata": {"nbgrader": {"grade_id": gid, "grade": True,
                                                "solution": False, "points": pts}},
                      "outputs": [], "execution_count": None})
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _error(cell: dict, count: int, ename: str, evalue: str, trusted: bool) -> None:
    frames = [f"Cell In[{count}], line 1\n----> 1 assert f() == 1"]
    if not trusted:  # raised inside the student's function
        frames.append("Cell In[1], line 2, in f()\n----> 2 raise NotImplementedError()")
    cell["execution_count"] = count
    cell["outputs"] = [{"output_type": "error", "ename": ename, "evalue": evalue,
                        "traceback": [*frames, f"{ename}: {evalue}"]}]


def _class(tmp: Path) -> Course:
    root = tmp / "course"
    (root / "source" / A).mkdir(parents=True)
    (root / "source" / A / f"{A}.ipynb").write_text(json.dumps(_master()))
    course = Course(root)
    top = sum(p for p, _ in CELLS.values())
    for i in range(N):
        student = f"s{i:02d}"
        (root / "submitted" / student / A).mkdir(parents=True)
        nb = _master()
        scores = {}
        for n, cell in enumerate(nb["cells"][1:], start=2):
            gid = cell["id"]
            ok = _passes(gid, i)
            scores[gid] = float(CELLS[gid][0]) if ok else 0.0
            if ok:
                cell["execution_count"] = n
            elif i < 2:  # the two weakest left the stub: raised inside their code
                _error(cell, n, "NotImplementedError", "", trusted=False)
            else:
                _error(cell, n, "AssertionError", f"f() returned {i}, expected {i + 1}", True)
        out = course.autograded(student, A) / f"{A}.ipynb"
        out.parent.mkdir(parents=True)
        out.write_text(json.dumps(nb))
        write_journal(course, Result(student, A, "ok", score=sum(scores.values()),
                                     max_score=top, seconds=1.0 + i / 10, cells=scores,
                                     repairs=[REPAIR] if i == 5 else []))
    for student, status, reason in (("t1", "timeout", "ran past 900 s"),
                                    ("t2", "timeout", "ran past 900 s"),
                                    ("x1", "invalid", "not a notebook")):
        (root / "submitted" / student / A).mkdir(parents=True)
        write_journal(course, Result(student, A, status, max_score=top, reason=reason))
    (root / "submitted" / "late" / A).mkdir(parents=True)  # collected, not graded yet
    return course


REPAIR = "test cell `test_mid` was missing and was restored"


def test_discrimination_measures():
    assert point_biserial([1, 1, 0, 0], [4, 3, 2, 1]) > 0.8
    assert point_biserial([0, 0, 1, 1], [4, 3, 2, 1]) < -0.8
    assert upper_minus_lower([1, 0, 1, 0, 1, 0, 1, 0], [8, 7, 6, 5, 4, 3, 2, 1]) == 0
    assert message_shape("x=3, got -2.5e3") == message_shape("x=10, got 7")


def test_the_planted_bad_cell_is_flagged_and_the_good_ones_are_not(tmp_path):
    summary = assignment_summary(_class(tmp_path), A)
    items = {i.cell: i for i in summary["items"]}
    assert [c for c, i in items.items() if i.flagged] == ["test_bad"]
    assert items["test_bad"].r_pb < -0.5 and items["test_bad"].d < 0
    assert "NEGATIVE" in items["test_bad"].verdict
    for cell in ("test_easy", "test_mid", "test_hard", "test_harder"):
        assert items[cell].r_pb > 0.3 and items[cell].d > 0, items[cell]
    assert items["test_easy"].passed == N - 3 and items["test_easy"].n == N
    # most frequent failing messages, numbers set aside, with their counts
    (shape, n, example), (shape2, n2, _) = items["test_mid"].messages[:2]
    assert n == 6 and shape == "AssertionError: f() returned #, expected #"
    assert example.startswith("AssertionError: f() returned ")
    assert n2 == 2 and "NotImplementedError (raised inside the student's code)" in shape2
    # every submission counted, whatever its status
    assert summary["statuses"] == {"ok": 20, "timeout": 2, "invalid": 1, "not graded yet": 1}
    assert len(summary["scores"]) == 23  # all but the one not graded yet
    assert {s.student for s in summary["failed"]} == {"t1", "t2", "x1"}


def test_the_page_says_it(tmp_path, capsys):
    course = _class(tmp_path)
    assert main(["--course", str(course.root), "report", A]) == 0
    assert "check test cells test_bad" in capsys.readouterr().out
    text = (course.root / "reports" / f"{A}.html").read_text()
    assert "24 submissions: 20 ok, 2 timeout, 1 invalid, 1 not graded yet" in text
    assert text.count("data:image/png;base64,") == 4  # scores, pass rates, items, times
    assert "<tr class='bad'><td>test_bad</td>" in text
    assert "Check these test cells:</b> test_bad" in text
    assert "6 × <code>AssertionError: f() returned" in text
    assert "ran past 900 s" in text and "late" in text
    # what was repaired, for whom (the journal keeps it)
    assert "Repaired before grading" in text
    assert "<tr><td>s05</td><td>test cell `test_mid` was missing and was restored</td>" in text


def test_analyse_without_failures_or_variance():
    items = analyse({"a": {"t": 1.0}, "b": {"t": 1.0}}, {"t": 1.0})
    assert items[0].r_pb is None and "everyone passed" in items[0].verdict
    assert not items[0].flagged and items[0].messages == []


def test_an_unknown_assignment_is_said_in_one_line(tmp_path, capsys):
    course = _class(tmp_path)
    assert main(["--course", str(course.root), "report", "99_nope"]) == 2
    assert "unknown assignment '99_nope'" in capsys.readouterr().err

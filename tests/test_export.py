"""``autograde export --format canvas|moodle``: the files have the columns and ids the
platforms' import documentation describes (see autograde/export.py for the sources), every
unmatched student is listed, points or percentages. The gradebook is built directly (no
release, no grading)."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pytest

from autograde.cli import main
from autograde.course import Course
from autograde.errors import UsageError
from autograde.export import Roster, export_lms, lms_table, read_roster

A1, A2 = "01_first", "02_second"
# Canvas's gradebook import: these five columns, then one per assignment; a student is
# matched by ID, SIS User ID or SIS Login ID
CANVAS_HEAD = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Moodle's CSV import: any header; "Map from" one identifying column to useremail,
# useridnumber, username or userid
MOODLE_IDS = {"Email address", "ID number", "Username", "User ID"}

SCORES = {A1: {"ann": 8.0, "ben": 5.5, "cat": 10.0, "zoe": 3.0},
          A2: {"ann": 2.0, "cat": 1.0}}
MAXES = {A1: 10.0, A2: 3.0}


def _roster(tmp: Path, text: str) -> Path:
    path = tmp / "roster.csv"
    path.write_text(text)
    return path


ROSTER = ("student_id,name,lms_id,sis_id,login_id,email,section\n"
          "ann,\"Lee, Ann\",101,S-1,ann.lee,ann@uni.example,A\n"
          "ben,Ben Ng,102,S-2,ben.ng,ben@uni.example,A\n"
          "cat,Cat Wu,103,S-3,cat.wu,cat@uni.example,B\n"
          "dan,Dan Ox,,,,,B\n")  # dan: nothing a platform could match


def test_canvas_columns_points_row_and_every_unmatched_student(tmp_path):
    roster = read_roster(_roster(tmp_path, ROSTER))
    rows, report = lms_table("canvas", roster, SCORES, MAXES,
                             titles={A1: "Lab 1 (4711)"})
    assert rows[0] == CANVAS_HEAD + ["Lab 1 (4711)", A2]
    assert rows[1] == ["Points Possible", "", "", "", "", "10", "3"]
    by = {r[1]: r for r in rows[2:]}
    assert by["101"] == ["Lee, Ann", "101", "S-1", "ann.lee", "A", "8", "2"]
    assert by["102"][-2:] == ["5.5", "0"]  # ben: no submission of A2 -> 0 (nbgrader's rule)
    assert report.not_in_roster == ["zoe"]  # graded, not exported
    assert report.no_platform_id == ["dan"]
    assert report.no_submission == ["ben: 02_second"]
    assert report.unmatched and report.rows == 3
    # percentages, blanks for missing: no points row
    rows, _ = lms_table("canvas", roster, SCORES, MAXES, percent=True, missing="blank")
    by = {r[1]: r for r in rows[1:]}
    assert by["101"][-2:] == ["80", "66.67"] and by["102"][-2:] == ["55", ""]


def test_moodle_has_the_identifying_columns_the_roster_holds(tmp_path):
    roster = Roster({"ann": {"student_id": "ann", "name": "", "lms_id": "", "sis_id": "",
                             "login_id": "", "email": "ann@uni.example", "section": ""}})
    rows, report = lms_table("moodle", roster, {A1: {"ann": 7.25}}, {A1: 10.0})
    assert rows == [["Full name", "Email address", A1], ["ann", "ann@uni.example", "7.25"]]
    full = read_roster(_roster(tmp_path, ROSTER))
    rows, _ = lms_table("moodle", full, SCORES, MAXES)
    assert set(rows[0][1:5]) == MOODLE_IDS and rows[0][0] == "Full name"
    assert rows[0][5:] == [A1, A2] and not any(r[0] == "Points Possible" for r in rows)


def test_the_platforms_own_export_headers_work_as_a_roster(tmp_path):
    # Canvas's gradebook export with a student_id column added
    canvas = _roster(tmp_path, "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,student_id\n"
                               "\"Lee, Ann\",101,S-1,ann.lee,A,ann\n")
    assert read_roster(canvas).rows["ann"]["lms_id"] == "101"
    moodle = _roster(tmp_path, "First name,ID number,Email address,student_id\n"
                               "Ann,S-1,ann@uni.example,ann\n")
    row = read_roster(moodle).rows["ann"]
    assert row["sis_id"] == "S-1" and row["email"] == "ann@uni.example"


@pytest.mark.parametrize("text, why", [
    ("name,email\nAnn,a@x\n", "no student_id column"),
    ("student_id,email\nann,a@x\nann,b@x\n", "listed twice"),
    ("student_id,email\nann,a@x\nben,A@x\n", "given to both 'ann' and 'ben'"),
    ("student_id,email\n", "lists no student"),
])
def test_a_bad_roster_is_refused_with_the_reason(tmp_path, text, why):
    with pytest.raises(UsageError, match=why):
        read_roster(_roster(tmp_path, text))


def _course_with_gradebook(tmp: Path) -> Course:
    """Two assignments in a gradebook made directly: ann 8/10 late by a 1-point penalty
    and 2/3, ben 5.5/10, zoe 3/10."""
    root = tmp / "course"
    for name in (A1, A2):
        (root / "source" / name).mkdir(parents=True)
        (root / "source" / name / f"{name}.ipynb").write_text(json.dumps({"cells": []}))
    course = Course(root)
    got = {A1: {"ann": 8.0, "ben": 5.5, "zoe": 3.0}, A2: {"ann": 2.0}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with course.gradebook() as gb:
            for name, top in ((A1, 10), (A2, 3)):
                gb.add_assignment(name)
                gb.add_notebook(name, name)
                gb.add_grade_cell(f"test_{name}", name, name, max_score=top, cell_type="code")
            for name, per in got.items():
                for student, score in per.items():
                    gb.update_or_create_student(student)
                    gb.add_submission(name, student)
                    nb = gb.find_submission_notebook(name, name, student)
                    for g in nb.grades:
                        g.auto_score = score
                    if student == "ann" and name == A1:
                        nb.late_submission_penalty = 1.0
                    gb.db.commit()
    return course


def test_export_from_the_gradebook_by_the_command_line(tmp_path, capsys):
    course = _course_with_gradebook(tmp_path)
    roster = _roster(tmp_path, ROSTER)
    out = tmp_path / "canvas.csv"
    code = main(["--course", str(course.root), "export", "--format", "canvas", "--roster",
                 str(roster), "--to", str(out), "--title", f"{A1}=Lab 1 (4711)"])
    said = capsys.readouterr().out
    assert code == 1  # zoe is graded but not in the roster
    assert "NOT EXPORTED, graded but not in the roster" in said and "zoe" in said
    assert "without a ID, SIS User ID or SIS Login ID: dan" in said
    rows = list(csv.reader(out.open()))
    assert rows[0] == CANVAS_HEAD + ["Lab 1 (4711)", A2]
    by = {r[1]: r[-2:] for r in rows[2:]}
    assert by == {"101": ["7", "2"], "102": ["5.5", "0"], "103": ["0", "0"]}  # 8 - 1 late
    # only one assignment, as percentages, Moodle
    assert main(["--course", str(course.root), "export", A2, "--format", "moodle",
                 "--roster", str(roster), "--percent"]) == 1
    rows = list(csv.reader((course.root / "exports" / "grades-moodle.csv").open()))
    assert rows[0][-1] == A2 and {r[0]: r[-1] for r in rows[1:]}["Lee, Ann"] == "66.67"


def test_bad_input_is_said_in_one_line(tmp_path, capsys):
    course = _course_with_gradebook(tmp_path)
    cli = ["--course", str(course.root), "export"]
    assert main(cli + ["--format", "canvas"]) == 2
    assert "needs --roster FILE" in capsys.readouterr().err
    assert main(cli + ["--format", "canvas", "--roster", str(tmp_path / "none.csv")]) == 2
    assert "no roster at" in capsys.readouterr().err
    roster = str(_roster(tmp_path, ROSTER))
    assert main(cli + ["99_nope", "--format", "moodle", "--roster", roster]) == 2
    assert "unknown assignment '99_nope'" in capsys.readouterr().err
    assert main(cli + ["--format", "canvas", "--roster", roster, "--title", "x"]) == 2
    assert "ASSIGNMENT=COLUMN" in capsys.readouterr().err
    assert main(cli + ["--roster", roster]) == 2  # nbgrader's CSV takes no roster
    assert "go with --format canvas or moodle" in capsys.readouterr().err
    with pytest.raises(UsageError, match="unknown format"):
        export_lms(course, "blackboard", roster)

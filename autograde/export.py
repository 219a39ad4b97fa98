"""``autograde export --format canvas|moodle --roster ROSTER``: grades as a learning
platform imports them.

The gradebook knows students by the id their submission folder had
(``submitted/<student>/...``); the platform knows them by its own ids. The **roster** is a
CSV file that links the two, one row per student, with a ``student_id`` column (the
gradebook's id) and any of these (headers in any case; Canvas's and Moodle's own export
headers are accepted as they are):

=============  ===========================================  ===========================
column         what                                         also accepted as header
=============  ===========================================  ===========================
``name``       the student's name, shown only               Student, Full name
``lms_id``     the platform's user id (Canvas: ID)          ID, User ID, canvas_id
``sis_id``     the institution's id (Canvas: SIS User ID;   SIS User ID, ID number
               Moodle: ID number)
``login_id``   the login (Canvas: SIS Login ID; Moodle:     SIS Login ID, Username
               username)
``email``      e-mail address (Moodle can match on it)      Email, Email address
``section``    Canvas's section, shown only                 Section
=============  ===========================================  ===========================

**Canvas** (Grades → Import; documented in Canvas's instructor guide "How do I import
grades in the Gradebook?", and as summarised by the Ohio State University's guide,
https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades
): the file has the columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID`` and
``Section``, then one column per assignment; a student is matched by ``ID``, ``SIS User
ID`` or ``SIS Login ID``, so each row needs one of them; an assignment column whose header
is ``Name (number)`` updates the Canvas assignment of that number, any other header creates
a new assignment). The second row is ``Points Possible``, as in Canvas's own export, when
points are exported.

**Moodle** (Grade administration → Import → CSV file; documented at
https://docs.moodle.org/311/en/Grade_import : a header row, then one row per student; on
import, "Map from" picks the identifying column and "Map to" the user field it matches,
``useremail``, ``useridnumber``, ``username`` or ``userid``, and each grade column is mapped
to a grade item). The file has the identifying columns the roster holds (``Email
address``, ``ID number``, ``Username``, ``User ID``), ``Full name``, then one column per
assignment.

Scores are nbgrader's: the submission's score less its late penalty, never below 0
(nbgrader's own CSV export does the same), in points or (``--percent``) as a percentage
of the assignment's points. A roster student with no submission gets 0 (nbgrader's rule),
or an empty cell with ``--missing blank`` (the platform then leaves the grade as it is).
Every student who could not be matched is listed: graded but not in the roster (their
grades are NOT in the file), in the roster without an id the platform can match, in the
roster without a submission.

LTI 1.3 grade passback (Assignment and Grade Services) is not done here; it would need the
course registered as an LTI 1.3 tool with the platform (client id, deployment id, the
platform's key set, token and auth URLs, and a private key of the tool's own to sign its
token requests), a line item per assignment (created once through AGS, its URL kept), and
each student's LTI ``sub`` (user id) in the roster; then one signed ``POST`` of a score
(``scoreGiven``, ``scoreMaximum``, ``activityProgress``, ``gradingProgress``, timestamp)
per student and assignment to the line item's ``/scores`` endpoint. nbgrader's own LTI
work (its issue #530) was never finished; a CSV import needs no registration at all.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course
from .errors import UsageError

__all__ = ["FORMATS", "ExportReport", "Roster", "export_lms", "gradebook_scores", "lms_table",
           "read_roster"]

FORMATS = ("canvas", "moodle")
FIELDS = ("student_id", "name", "lms_id", "sis_id", "login_id", "email", "section")
_ALIASES = {
    "student_id": "student_id", "student id (gradebook)": "student_id", "student": "name",
    "name": "name", "full name": "name", "id": "lms_id", "lms_id": "lms_id",
    "user id": "lms_id", "canvas_id": "lms_id", "sis_id": "sis_id", "sis user id": "sis_id",
    "id number": "sis_id", "login_id": "login_id", "sis login id": "login_id",
    "username": "login_id", "email": "email", "email address": "email", "section": "section",
}
CANVAS_IDS = (("ID", "lms_id"), ("SIS User ID", "sis_id"), ("SIS Login ID", "login_id"))
MOODLE_IDS = (("Email address", "email"), ("ID number", "sis_id"), ("Username", "login_id"),
              ("User ID", "lms_id"))


@dataclass
class Roster:
    rows: dict[str, dict[str, str]]  # student_id -> {field: value}
    path: Path | None = None


@dataclass
class ExportReport:
    path: Path
    rows: int = 0
    not_in_roster: list[str] = field(default_factory=list)  # graded, not exported
    no_platform_id: list[str] = field(default_factory=list)  # in the roster, unusable
    no_submission: list[str] = field(default_factory=list)  # "student: assignment, ..."
    needs_manual: list[str] = field(default_factory=list)  # "student/assignment"

    @property
    def unmatched(self) -> bool:
        return bool(self.not_in_roster or self.no_platform_id)


def read_roster(path: str | Path) -> Roster:
    """The roster file (see the module's docstring); every problem in one error."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no roster at {path}: a CSV file with a student_id column (the "
                         "gradebook's ids) and the platform's ids (lms_id, sis_id, "
                         "login_id or email); see `autograde export --help`")
    text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not a header
    reader = csv.DictReader(io.StringIO(text))
    header = {h: _ALIASES.get(h.strip().lower()) for h in (reader.fieldnames or [])}
    if "student_id" not in header.values():
        raise UsageError(f"{path}: no student_id column (the id each student has in the "
                         f"gradebook, their submission folder's name); found: "
                         f"{', '.join(reader.fieldnames or []) or 'no header'}")
    rows: dict[str, dict[str, str]] = {}
    problems = []
    seen: dict[tuple[str, str], str] = {}
    for n, raw in enumerate(reader, start=2):
        row = {f: "" for f in FIELDS}
        for h, f in header.items():
            if f and raw.get(h):
                row[f] = raw[h].strip()
        sid = row["student_id"]
        if not sid:
            if any(row.values()):
                problems.append(f"line {n}: no student_id")
            continue
        if sid in rows:
            problems.append(f"line {n}: student {sid!r} is listed twice")
        for f in ("lms_id", "sis_id", "login_id", "email"):
            if row[f]:
                other = seen.setdefault((f, row[f].lower()), sid)
                if other != sid:
                    problems.append(f"line {n}: {f} {row[f]!r} is given to both {other!r} "
                                    f"and {sid!r}")
        rows[sid] = row
    if problems:
        raise UsageError(f"{path}: " + "; ".join(problems))
    if not rows:
        raise UsageError(f"{path}: the roster lists no student")
    return Roster(rows, path)


def gradebook_scores(course: Course, assignments: list[str] | None = None) -> tuple[
        dict[str, dict[str, float]], dict[str, float], list[str]]:
    """({assignment: {student: score}}, {assignment: max points}, [student/assignment still
    waiting for manual grading]) from the gradebook; a score is nbgrader's, less the late
    penalty, never below 0. ``assignments`` default: those the gradebook holds."""
    if not (course.root / "gradebook.db").exists():
        raise UsageError(f"no gradebook in {course.root}: nothing has been released or "
                         "graded yet (autograde release, collect, grade)")
    scores: dict[str, dict[str, float]] = {}
    maxes: dict[str, float] = {}
    manual = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with course.gradebook() as gb:
            known = {a.name: a for a in gb.assignments}
            for name in assignments or [a for a in course.assignments() if a in known]:
                if name not in known:
                    raise UsageError(f"{name} is not in the gradebook (not released yet?); it "
                                     f"has: {', '.join(sorted(known)) or 'nothing'}")
                maxes[name] = float(known[name].max_score)
                scores[name] = {}
                for sub in gb.assignment_submissions(name):
                    penalty = float(sub.late_submission_penalty or 0)
                    scores[name][sub.student.id] = max(0.0, float(sub.score) - penalty)
                    if sub.needs_manual_grade:
                        manual.append(f"{sub.student.id}/{name}")
    return scores, maxes, manual


def _number(x: float) -> str:
    """Two decimals at most, no trailing zeros: 7, 7.5, 66.67."""
    return f"{round(x, 2):.2f}".rstrip("0").rstrip(".")


def lms_table(fmt: str, roster: Roster, scores: dict[str, dict[str, float]],
              maxes: dict[str, float], percent: bool = False, missing: str = "zero",
              titles: dict[str, str] | None = None) -> tuple[list[list[str]], ExportReport]:
    """The rows of the file (header first) and what could not be matched."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    if missing not in ("zero", "blank"):
        raise UsageError(f"--missing must be zero or blank, not {missing!r}")
    titles = titles or {}
    names = list(scores)
    report = ExportReport(Path())
    graded = sorted({s for per in scores.values() for s in per})
    report.not_in_roster = [s for s in graded if s not in roster.rows]
    ids = CANVAS_IDS if fmt == "canvas" else MOODLE_IDS
    columns = [(h, f) for h, f in ids if fmt == "canvas" or
               any(r[f] for r in roster.rows.values())]
    if fmt == "canvas":
        head = ["Student"] + [h for h, _ in columns] + ["Section"]
    else:
        head = ["Full name"] + [h for h, _ in columns]
    header = head + [titles.get(n, n) for n in names]
    rows = [header]
    if fmt == "canvas" and not percent:
        rows.append(["Points Possible"] + [""] * (len(head) - 1)
                    + [_number(maxes[n]) for n in names])
    for sid, r in sorted(roster.rows.items()):
        if not any(r[f] for _, f in columns):
            report.no_platform_id.append(sid)
            continue
        cells = []
        lacking = []
        for n in names:
            if sid in scores[n]:
                value = scores[n][sid]
                if percent:
                    value = 100 * value / maxes[n] if maxes[n] else 0.0
                cells.append(_number(value))
            else:
                lacking.append(n)
                cells.append("0" if missing == "zero" else "")
        if lacking:
            report.no_submission.append(f"{sid}: {', '.join(lacking)}")
        line = [r["name"] or sid] + [r[f] for _, f in columns]
        if fmt == "canvas":
            line.append(r["section"])
        rows.append(line + cells)
        report.rows += 1
    return rows, report


def export_lms(course: Course, fmt: str, roster: str | Path | None,
               assignments: list[str] | None = None, to: str | Path | None = None,
               percent: bool = False, missing: str = "zero",
               titles: dict[str, str] | None = None, log=print) -> ExportReport:
    """Write ``<course>/exports/grades-<fmt>.csv`` (or ``to``) for the platform; log every
    student who could not be matched."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    if roster is None:
        raise UsageError(f"--format {fmt} needs --roster FILE: a CSV with a student_id column "
                         "and the platform's ids (see `autograde export --help`)")
    for name in assignments or []:
        course.master(name)  # a clear error for an unknown assignment
    table = read_roster(roster)
    scores, maxes, manual = gradebook_scores(course, assignments)
    names = list(scores)
    for name in titles or {}:
        if name not in names:
            raise UsageError(f"--title {name}=...: {name} is not one of the exported "
                             f"assignments ({', '.join(names) or 'none'})")
    rows, report = lms_table(fmt, table, scores, maxes, percent, missing, titles)
    report.needs_manual = manual
    path = Path(to) if to else course.root / "exports" / f"grades-{fmt}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    report.path = path
    unit = "% of the points" if percent else "points"
    log(f"{fmt}: {report.rows} student(s) x {len(names)} assignment(s), in {unit} -> {path}")
    if report.not_in_roster:
        log(f"NOT EXPORTED, graded but not in the roster {table.path}: "
            + ", ".join(report.not_in_roster))
    if report.no_platform_id:
        what = "ID, SIS User ID or SIS Login ID" if fmt == "canvas" else \
            "email, ID number, username or user id"
        log(f"NOT EXPORTED, in the roster without a {what}: "
            + ", ".join(report.no_platform_id))
    if report.no_submission:
        log(f"no submission ({'0' if missing == 'zero' else 'left empty'}): "
            + "; ".join(report.no_submission))
    if manual:
        log("still to be graded by hand (their written answers count 0 so far): "
            + ", ".join(manual))
    return report

"""``autograde collect PATH``: bring a class's submissions into the course.

PATH is a folder or a ``.zip`` laid out as an LMS export or nbgrader's exchange
gives it::

    <student>/<assignment>.ipynb
    <student>/<assignment>/<assignment>.ipynb     (optionally with timestamp.txt)

Each notebook lands where nbgrader expects it,
``submitted/<student>/<assignment>/<assignment>.ipynb``, with a
``timestamp.txt`` (from the submission's own ``timestamp.txt``, else the file's
modification time, in UTC). Unknown students are registered in the gradebook.
Nothing is lost: an identical resubmission is skipped; a newer one replaces an
older one and the older is kept under ``.autograde/replaced/``; an older one
never replaces a newer one. Every file that could not be placed is reported
with the reason. Symbolic links are never followed (one could bring in a master).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .course import Course, sha256_file
from .errors import UsageError

__all__ = ["CollectReport", "collect", "parse_timestamp"]

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # what nbgrader writes
IGNORED = ("__MACOSX", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db")


@dataclass
class CollectReport:
    placed: list[str] = field(default_factory=list)  # "student/assignment"
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # with the reason
    unplaced: list[str] = field(default_factory=list)  # "path: reason"
    new_students: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.log.append(line)


def parse_timestamp(text: str) -> dt.datetime:
    """A submission time as nbgrader writes it (or ISO 8601), as an aware UTC datetime.

    >>> parse_timestamp("2026-11-20 17:00:00.000000 UTC").isoformat()
    '2026-11-20T17:00:00+00:00'
    """
    from nbgrader.utils import parse_utc

    value = parse_utc(text.strip())
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _format(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime(TIMESTAMP_FORMAT)


@dataclass
class _Candidate:
    path: Path  # where the notebook is now (extracted)
    shown: str  # how to name it in messages
    student: str
    assignment: str
    timestamp: dt.datetime


def _place(rel: PurePosixPath, assignments: set[str]) -> tuple[str, str] | str:
    """(student, assignment) for a notebook at ``rel``, or the reason it cannot be placed."""
    parts = rel.parts
    if len(parts) == 2:
        student, assignment = parts[0], PurePosixPath(parts[1]).stem
        if assignment not in assignments:
            return (f"{parts[1]} is not a notebook of this course "
                    f"(expected one of: {', '.join(sorted(assignments))}.ipynb)")
    elif len(parts) == 3:
        student, assignment, nb = parts[0], parts[1], PurePosixPath(parts[2]).stem
        if assignment not in assignments:
            return f"{assignment} is not an assignment of this course"
        if nb != assignment:
            return (f"assignment {assignment} has one notebook, {assignment}.ipynb; "
                    f"{parts[2]} is not it (renamed?)")
    else:
        return ("not laid out as <student>/<assignment>.ipynb or "
                "<student>/<assignment>/<assignment>.ipynb")
    if not STUDENT_ID.fullmatch(student):
        return f"{student!r} is not a usable student id (letters, digits, _ . @ + -)"
    return student, assignment


def _timestamp_for(path: Path) -> dt.datetime:
    stamp = path.parent / "timestamp.txt"  # nbgrader's exchange writes one per submission
    if stamp.exists():
        try:
            return parse_timestamp(stamp.read_text())
        except (ValueError, OSError):
            pass
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)


def _extract(zip_path: Path, dest: Path) -> None:
    """Extract a zip safely: no absolute paths or ``..`` escapes, file times kept."""
    import os
    import time

    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir() or name.is_absolute() or ".." in name.parts:
                continue
            target = dest.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            # zip times carry no time zone; LMS exports write UTC
            mtime = dt.datetime(*info.date_time, tzinfo=dt.UTC).timestamp()
            os.utime(target, (time.time(), mtime))


def collect(course: Course, source: str | Path, log=print) -> CollectReport:
    """Import the submissions in ``source`` (a folder or a zip) into ``course``."""
    source = Path(source)
    if not source.exists():
        raise UsageError(f"collect: {source} does not exist")
    report = CollectReport()
    assignments = set(course.assignments())
    with tempfile.TemporaryDirectory(prefix="autograde-collect-") as tmp:
        if source.is_file():
            if not zipfile.is_zipfile(source):
                raise UsageError(f"collect: {source} is neither a folder nor a zip file")
            base = Path(tmp)
            _extract(source, base)
        else:
            base = source
        candidates: list[_Candidate] = []
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = PurePosixPath(path.relative_to(base).as_posix())
            if any(part in IGNORED or part.startswith(".") for part in rel.parts):
                continue
            if path.name == "timestamp.txt":
                continue
            if any(p.is_symlink() for p in [path, *path.parents] if base in p.parents):
                # a link could bring in any file the instructor can read (a master, say)
                report.unplaced.append(f"{rel}: a symbolic link, not followed")
                continue
            if path.suffix != ".ipynb":
                report.unplaced.append(f"{rel}: not a notebook (.ipynb)")
                continue
            where = _place(rel, assignments)
            if isinstance(where, str):
                report.unplaced.append(f"{rel}: {where}")
                continue
            candidates.append(_Candidate(path, str(rel), *where, _timestamp_for(path)))

        course.ensure_released(sorted({c.assignment for c in candidates}))
        with course.gradebook() as gb:
            known = {s.id for s in gb.students}
            for student in sorted({c.student for c in candidates} - known):
                gb.update_or_create_student(student)
                report.new_students.append(student)
                report.say(f"registered new student {student}")

        # oldest first, so that within one batch the newest submission wins
        for c in sorted(candidates, key=lambda c: (c.student, c.assignment, c.timestamp)):
            _accept(course, c, report)
    for line in report.log:
        log(line)
    for line in report.unplaced:
        log(f"could not place {line}")
    log(f"collected {len(report.placed)} submission(s); replaced {len(report.replaced)}, "
        f"skipped {len(report.skipped)}, could not place {len(report.unplaced)}; "
        f"{len(report.new_students)} new student(s)")
    return report


def _accept(course: Course, c: _Candidate, report: CollectReport) -> None:
    folder = course.submitted(c.student, c.assignment)
    target = folder / f"{c.assignment}.ipynb"
    key = f"{c.student}/{c.assignment}"
    if target.exists():
        stamp = folder / "timestamp.txt"
        try:
            old_ts = parse_timestamp(stamp.read_text()) if stamp.exists() else None
        except ValueError:
            old_ts = None
        if sha256_file(target) == sha256_file(c.path):
            report.skipped.append(f"{key}: identical to the submission already collected")
            report.say(f"skipped {c.shown}: identical to the submission already collected")
            return
        if old_ts is not None and c.timestamp <= old_ts:
            report.skipped.append(f"{key}: older than the submission already collected")
            report.say(f"skipped {c.shown} (submitted {_format(c.timestamp)}): the submission "
                       f"already collected is newer ({_format(old_ts)}) and stays")
            return
        keep = (course.state / "replaced" / c.student / c.assignment
                / (old_ts or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S%fZ"))
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(folder), str(keep))
        report.replaced.append(key)
        report.say(f"replaced {key}: the submission from {_format(c.timestamp)} is newer than "
                   f"the one from {_format(old_ts) if old_ts else 'an unknown time'} "
                   f"(kept in {keep.relative_to(course.root)})")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(c.path, target)
    (folder / "timestamp.txt").write_text(_format(c.timestamp))
    if key not in report.placed:
        report.placed.append(key)
    report.say(f"collected {c.shown} -> submitted/{key}/ (submitted {_format(c.timestamp)})")

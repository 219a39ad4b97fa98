"""Recording a job's outcome in the real course, one job at a time.

The executed notebook goes through the rest of ``nbgrader autograde`` against the
real course: cells restored from the master (``OverwriteCells``), grades saved
(``SaveAutoGrades``), late penalties assigned. Only execution is skipped, so the
gradebook and ``autograded/`` hold exactly what ``nbgrader autograde`` would have
put there, and formgrader, manual grading, ``generate_feedback`` and ``export``
work as usual. Then the journal record (:func:`autograde.grade.plan.write_journal`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import threading
import uuid
import warnings
from pathlib import Path

from .. import integrity, repair
from ..course import Course
from .plan import Job, Result, write_journal

__all__ = ["not_graded_notebook", "record_failure", "record_grades"]

_IMPORT_LOCK = threading.Lock()


def record_grades(course: Course, job: Job, executed: Path, result: Result) -> Result:
    """The rest of ``nbgrader autograde`` (everything but execution) on the executed
    notebook, against the real course; then the journal record."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    staging_rel = Path(".autograde") / "staging"
    staging = course.root / staging_rel / job.student / job.assignment
    with _IMPORT_LOCK:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copy2(executed, staging / executed.name)
        stamp = job.notebook.parent / "timestamp.txt"
        links = stamp.is_symlink() or stamp.parent.is_symlink() or stamp.parent.parent.is_symlink()
        if stamp.is_file() and not links:  # a link is never followed (it could reach anywhere)
            shutil.copy2(stamp, staging / "timestamp.txt")
        api = course.api(**{
            "CourseDirectory.submitted_directory": str(staging_rel),
            "Autograde.sanitize_preprocessors": [DeduplicateIds, OverwriteKernelspec,
                                                 OverwriteCells, CheckCellMetadata],
            "Autograde.autograde_preprocessors": [IgnorePattern, ClearMetadataPreprocessor,
                                                  LimitOutput, SaveAutoGrades,
                                                  AssignLatePenalties, CheckCellMetadata],
        })
        with warnings.catch_warnings():  # SQLAlchemy's SAWarnings from inside nbgrader
            warnings.simplefilter("ignore")
            outcome = api.autograde(job.assignment, job.student, force=True, create=True)
        shutil.rmtree(staging, ignore_errors=True)
        if not outcome.get("success"):
            result.status = "crash"
            result.reason = ("nbgrader could not record the grades: "
                             + (outcome.get("error") or outcome.get("log") or "")[-500:])
            return result
        with course.gradebook() as gb:
            nb = gb.find_submission_notebook(job.assignment, job.assignment, job.student)
            result.cells = {g.name: float(g.auto_score or 0) for g in nb.grades
                            if g.auto_score is not None}
            result.score = float(nb.score)
            result.max_score = float(nb.max_score)
        result.graded_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        write_journal(course, result)
    return result


def not_graded_notebook(course: Course, job: Job, result: Result) -> dict:
    """The notebook recorded for a submission that did not run to the end: the submission
    itself, repaired (:mod:`autograde.repair`), where it is a notebook (its written answers
    stay for formgrader), else the released student version; outputs cleared, and every
    test cell failed by the grader's own error (:data:`integrity.NOT_GRADED`), so nbgrader
    records 0 for each and the feedback says why."""
    master = course.master(job.assignment)
    nb = None
    if not job.problem and repair.unreadable(job.notebook) is None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            nb, _ = repair.repair(json.loads(job.notebook.read_text()),
                                  json.loads(master.read_text()))
    if nb is None:
        nb = json.loads((course.root / "release" / job.assignment /
                         f"{job.assignment}.ipynb").read_text())
    why = f"not graded: {result.status}: {result.reason}"[:integrity.MAX_EVALUE]
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        cell["execution_count"] = None
        cell["outputs"] = [{"output_type": "error", "ename": integrity.NOT_GRADED,
                            "evalue": why, "traceback": []}] if integrity.is_test_cell(
                                cell) else []
    return nb


def record_failure(course: Course, job: Job, result: Result) -> Result:
    """A submission that did not run to the end (``timeout``, ``memory``, ``crash``,
    ``invalid``): 0 for its autograded cells in the gradebook, ``autograded/`` and so the
    feedback and the export, exactly as for a run that failed every test (the newest
    submission counts, as in nbgrader); the journal keeps the status and the reason."""
    folder = course.state / "jobs" / f"not-graded-{uuid.uuid4().hex[:8]}"
    executed = folder / f"{job.assignment}.ipynb"
    reason, status = result.reason, result.status
    try:
        folder.mkdir(parents=True, exist_ok=True)
        executed.write_text(json.dumps(not_graded_notebook(course, job, result)))
        result = record_grades(course, job, executed, result)
    except (OSError, ValueError) as exc:
        result.status, result.reason = "crash", f"{reason} (not recorded: {exc})"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if result.status != status:  # nbgrader could not record it: the journal still does
        result.status, result.reason = status, f"{reason} ({result.reason})"
        with contextlib.suppress(Exception), course.gradebook() as gb:
            result.max_score = float(sum(n.max_score for n in
                                         gb.find_assignment(job.assignment).notebooks))
        result.score, result.cells = 0.0, {}
        result.graded_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        write_journal(course, result)
    return result

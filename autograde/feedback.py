"""``autograde feedback`` and ``autograde export``.

Feedback is nbgrader's own (``generate_feedback``: one HTML page per student
and assignment, under ``feedback/``), with two changes so it never reveals a
hidden test: the hidden-test regions are cleared from the test cells'
source, and the traceback of a failing test cell is replaced by its last
line (the exception and its message), since a traceback quotes the failing
line of the hidden test.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from .course import Course

__all__ = ["HideTestTracebacks", "export", "feedback"]


class HideTestTracebacks(NbGraderPreprocessor):
    """In test cells, keep only ``ExceptionName: message`` of an error output."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    message = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".rstrip(": ")
                    out["traceback"] = [message]
        return cell, resources


def feedback(course: Course, assignments: list[str] | None = None,
             students: list[str] | None = None, log=print) -> list[Path]:
    """Write the HTML feedback of every autograded submission (or the chosen ones)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    api = course.api(**{"GenerateFeedback.preprocessors": [
        GetGrades, ClearHiddenTests, HideTestTracebacks, CSSHTMLHeaderPreprocessor]})
    written = []
    graded = course.root / "autograded"
    for folder in sorted(graded.glob("*/*")) if graded.exists() else []:
        student, assignment = folder.parent.name, folder.name
        if ((assignments and assignment not in assignments)
                or (students and student not in students)):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = api.generate_feedback(assignment, student, force=True)
        if not result.get("success"):
            log(f"feedback {student}/{assignment}: FAILED\n"
                f"{result.get('error') or result.get('log')}")
            continue
        for page in sorted((course.root / "feedback" / student / assignment).glob("*.html")):
            written.append(page)
            log(f"feedback {student}/{assignment} -> {page.relative_to(course.root)}")
    if not written:
        log("no feedback written: nothing has been autograded yet (run `autograde grade`)")
    return written


def export(course: Course, to: str | Path | None = None, log=print) -> Path:
    """The gradebook as CSV, by nbgrader's own exporter (one row per student and assignment)."""
    from nbgrader.plugins import CsvExportPlugin

    path = Path(to) if to else course.root / "grades.csv"
    plugin = CsvExportPlugin()
    plugin.to = str(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with course.gradebook() as gb:
            plugin.export(gb)
    log(f"grades -> {path}")
    return path

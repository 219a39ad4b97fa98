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

from .conventions import BEGIN_HIDDEN, END_HIDDEN
from .course import Course

__all__ = ["HideTestTracebacks", "export", "feedback"]

REDACTED = "[autograde: a line of a hidden test was removed from this output]"


class HideTestTracebacks(NbGraderPreprocessor):
    """In test cells, keep only ``ExceptionName: message`` of an error output; in every
    cell, blank out any output line that quotes a line of a hidden test (code run while
    grading can print the source of the cells that follow it)."""

    def preprocess(self, nb, resources):
        hidden = set()
        for cell in nb.cells:
            src = cell.get("source", "")
            if cell.cell_type == "code" and BEGIN_HIDDEN in src:
                inside = False
                for line in src.splitlines():
                    if BEGIN_HIDDEN in line:
                        inside = True
                    elif END_HIDDEN in line:
                        inside = False
                    elif inside and len(line.strip()) >= 8:
                        hidden.add(line.strip())
        self._hidden = hidden
        return super().preprocess(nb, resources)

    def _scrub(self, text: str) -> str:
        lines = text.split("\n")
        out = [REDACTED if any(h in ln for h in self._hidden) or BEGIN_HIDDEN in ln else ln
               for ln in lines]
        return "\n".join(out)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and getattr(self, "_hidden", None) is not None:
            for out in cell.get("outputs", []):
                if "text" in out:
                    out["text"] = self._scrub("".join(out["text"]))
                for mime, value in (out.get("data") or {}).items():
                    if mime.startswith("text/") and isinstance(value, str | list):
                        out["data"][mime] = self._scrub("".join(value))
                if out.get("output_type") == "error":
                    out["evalue"] = self._scrub(str(out.get("evalue", "")))
                    out["traceback"] = [self._scrub(t) for t in out.get("traceback", [])]
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
        GetGrades, HideTestTracebacks, ClearHiddenTests, CSSHTMLHeaderPreprocessor]})
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

"""``autograde feedback`` and ``autograde export``.

Feedback is nbgrader's own (``generate_feedback``: one HTML page per student and
assignment, under ``feedback/``, with each test cell's score from the gradebook), made
safe to hand to a student whose submission may be hostile. A submission runs before and
while the hidden tests run: it can read the source of the test cell that calls it (its
caller's frame, ``inspect``, ``linecache``, IPython's ``In``, a cell hook, the code
object's constants) and print it in any encoding (base64, hex, an image), at once or
in a later cell of its own. No filter over what it printed can tell such an encoding
from honest output, so the page shows none of it:

* every cell's **source** as the student wrote it; test cells as nbgrader restored them
  from the master, with the hidden region removed (nbgrader's ``ClearHiddenTests``, which
  runs after :class:`FeedbackVerdicts`); markdown as is;
* **no output of any code cell** (streams, displays, results, images, errors): anything
  printed after the first test began can carry the hidden tests;
* for each **test cell**, one line, the verdict: ``passed``, or ``failed:`` and why. The
  failure's message is shown only when it is trustworthy: raised by the test cell itself
  or by the course's test helpers (``course_lib/checks.py``) called from the test cell,
  as the executed notebook's IPython traceback says (its frames, ``Cell In[n], line k``
  for the test cell of execution count ``n`` and ``File .../course_lib/checks.py:57, in
  check_close(...)`` for a helper). A message raised inside the student's own code (which
  they fully control) is replaced by the exception's name and a fixed note. A shown
  message is its first line, printable characters only, at most 300 of them.

Known limit, the one channel left: a trusted message can still carry text the submission
chose: the value its function returned, where a check says "got ..." (``checks._short``
keeps 200 characters of it), the message of a wrong exception it raised
(``check_raises``), a name it defined, or (with effort) a frame it made to look like the
test's or a helper's. So a submission can place up to 300 characters of anything it read,
the hidden tests included, into a failing test's message: per test cell, per submission.

Autograded notebooks (``autograded/``) keep every output, for the instructor; only the
feedback page is cut down.
"""

from __future__ import annotations

import builtins
import re
import warnings
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from .course import Course
from .integrity import INTEGRITY_MESSAGE, NOT_GRADED

__all__ = ["FeedbackVerdicts", "export", "feedback", "verdict"]

MAX_MESSAGE = 300
UNTRUSTED = "(raised inside your code; its message is not shown in feedback)"
TIMED_OUT = "failed: the cell ran past the time limit"
TAMPERED = (f"failed: {INTEGRITY_MESSAGE} (the submission replaced or added something the "
            "tests rely on)")
NO_REPLY = "failed: the kernel sent no reply for this test (it died or stopped answering)"
STDERR = "failed: the cell wrote to standard error (its text is not shown in feedback)"

# ANSI escape sequences (IPython colours its tracebacks): CSI ... final byte, or ESC + one
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
# the first line of a traceback entry that starts a frame (IPython 8.x/9.x):
#   "Cell In[7], line 3"  /  "Cell In[2], line 4, in speedup(T_baseline, T_new)"
#   "Input In [7], in <cell line: 3>()"  (IPython 8.0 to 8.5)
#   "File /srv/course/course_lib/checks.py:188, in check_close(got, expected, ...)"
#   "  File <string>:1"  (the SyntaxError layout: indented, no comma before "in")
_CELL_FRAME = re.compile(r"\s*(?:Cell In\s*\[(\d+)\]|Input In \[(\d+)\])")
_FILE_FRAME = re.compile(r"\s*File (.*?):(\d+)(?:[,\s]|$)")
_CHAIN_START = "Traceback (most recent call last)"
_HELPERS = "course_lib/checks.py"


def _plain(text) -> str:
    return _ANSI.sub("", text if isinstance(text, str) else "".join(text or []))


def _first_line(entry: str) -> str:
    return entry.lstrip("\n").split("\n", 1)[0]


def _last_chain(traceback) -> list[str]:
    """The entries of an IPython ``traceback`` (ANSI codes removed) after the header of its
    last exception: a chained one lists the earlier exceptions first."""
    entries = [_plain(t) for t in traceback or []]
    starts = [i for i, e in enumerate(entries) if _CHAIN_START in _first_line(e)]
    return entries[starts[-1] + 1:] if starts else entries


def _frame(entry: str) -> tuple[str, str] | None:
    """("cell", n) or ("file", path) when the entry starts a frame; else None."""
    first = _first_line(entry)
    if m := _CELL_FRAME.match(first):
        return "cell", m.group(1) or m.group(2)
    if m := _FILE_FRAME.match(first):
        return "file", m.group(1).replace("\\", "/")
    return None


def _frames(traceback) -> list[tuple[str, str]]:
    """The frames of the last exception in an IPython ``traceback``, outermost first."""
    return [f for f in map(_frame, _last_chain(traceback)) if f]


def _trusted(error: dict, execution_count) -> bool:
    """Whether the error was raised by the test cell itself, or by the course's test
    helpers called from it. The last exception's traceback must be exactly: frames of the
    test cell (``Cell In[n]``, ``n`` its execution count), then none or more frames of
    ``course_lib/checks.py``, then the line ``ename: evalue`` of a built-in exception.
    Anything else is not trusted: a frame of the student's code or of any other file,
    a hidden frame (``[... skipping hidden 1 frame]``: a function of the student's that
    sets ``__tracebackhide__``), frames dropped to cap the size, no frames at all, an
    exception class of the submission's (its name is text it chose)."""
    ename = str(error.get("ename", ""))
    if execution_count is None or not _is_builtin_exception(ename):
        return False
    chain = _last_chain(error.get("traceback"))
    if len(chain) < 2 or not chain[-1].lstrip("\n").startswith(ename):
        return False
    frames = [_frame(entry) for entry in chain[:-1]]
    if None in frames:
        return False
    while frames and frames[-1][0] == "file" and frames[-1][1].endswith(_HELPERS):
        frames.pop()
    return bool(frames) and all(f == ("cell", str(execution_count)) for f in frames)


def _is_builtin_exception(ename: str) -> bool:
    cls = getattr(builtins, ename, None)
    return isinstance(cls, type) and issubclass(cls, BaseException)


def _exception_name(ename) -> str:
    """A built-in exception's name as is; any other class is the submission's (or a
    library's) and its name is text it may have chosen."""
    ename = str(ename)
    return ename if _is_builtin_exception(ename) else (
        "an exception of a class defined outside Python's built-ins")


def _message(evalue) -> str:
    """The first line of ``evalue``, printable characters only, at most MAX_MESSAGE."""
    lines = _plain(str(evalue or "")).strip().splitlines()
    text = "".join(ch for ch in (lines[0] if lines else "") if ch.isprintable()).strip()
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _timed_out(error: dict) -> bool:
    value = str(error.get("evalue", "")).lower()
    return (error.get("ename") in ("CellTimeoutError", "KeyboardInterrupt")
            or "time limit" in value or "timed out" in value)


def verdict(cell) -> str:
    """The one line the feedback page shows under a test cell, from its executed outputs
    (nbgrader's rule: an error or anything on stderr fails the test)."""
    outputs = cell.get("outputs", []) or []
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors:
        if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outputs):
            return STDERR
        return "passed"
    first = errors[0]
    if (first.get("ename") == NOT_GRADED and not _frames(first.get("traceback"))
            and cell.get("execution_count") is None):  # written by the grader, never run
        return _message(first.get("evalue")) or "not graded"
    if any(_timed_out(e) for e in errors):
        return TIMED_OUT
    if any(INTEGRITY_MESSAGE in str(e.get("evalue", "")) for e in errors):
        return TAMPERED
    error = errors[0]
    if error.get("ename") == "CellExecutionError" and not _frames(error.get("traceback")):
        return NO_REPLY
    name = _exception_name(error.get("ename"))
    if not _trusted(error, cell.get("execution_count")):
        return f"failed: {name} {UNTRUSTED}"
    message = _message(error.get("evalue"))
    return f"failed: {name}: {message}" if message else f"failed: {name}"


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


class FeedbackVerdicts(NbGraderPreprocessor):
    """Every code cell loses its outputs; a test cell gets one ``stdout`` stream instead,
    its :func:`verdict`. Prompts are renumbered 1, 2, ... (a submission can run extra
    cells to move the execution counts), the notebook's widget state is dropped (a widget
    can hold any text) and so is each cell's execution timing. Sources are untouched:
    ``ClearHiddenTests`` must run after this, and nbgrader's ``GetGrades`` (the scores)
    may run before or after."""

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        self._count = 0
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        outputs = []
        if _is_test(cell):
            outputs.append(NotebookNode(output_type="stream", name="stdout",
                                        text=verdict(cell) + "\n"))
        cell.outputs = outputs
        self._count += 1
        cell.execution_count = self._count
        cell.metadata.pop("execution", None)
        return cell, resources


def feedback(course: Course, assignments: list[str] | None = None,
             students: list[str] | None = None, log=print) -> list[Path]:
    """Write the HTML feedback of every autograded submission (or the chosen ones)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    api = course.api(**{"GenerateFeedback.preprocessors": [
        GetGrades, FeedbackVerdicts, ClearHiddenTests, CSSHTMLHeaderPreprocessor]})
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

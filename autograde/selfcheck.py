"""``autograde self-check NOTEBOOK``: grade your own notebook, no instructor needed.

For self-study learners: the notebook is graded exactly as an instructor's
``autograde grade`` would (nbgrader, the hidden tests included) in a
temporary course that is deleted afterwards, with every process it started
stopped. It prints a table of the graded cells with each failing test's
message; the source of the hidden tests is never shown.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from .course import SOURCE_DIR, repository
from .errors import UsageError
from .grade import grade

__all__ = ["guess_assignment", "self_check"]


def guess_assignment(notebook: Path, known: list[str]) -> str:
    """The assignment a notebook belongs to, from its file name (``01_…`` or a copy of it).

    >>> guess_assignment(Path("01_metrics_and_models-Copy1.ipynb"), ["01_metrics_and_models"])
    '01_metrics_and_models'
    """
    if notebook.stem in known:
        return notebook.stem
    m = re.match(r"(\d\d)_", notebook.name)
    matches = [a for a in known if m and a.startswith(m.group(1) + "_")]
    if len(matches) == 1:
        return matches[0]
    raise UsageError(f"cannot tell which notebook {notebook.name} is: name it like one of "
                     f"{', '.join(known)}.ipynb, or pass --assignment")


def _messages(executed: Path) -> dict[str, str]:
    """grade_id -> the failing test's message (exception name and text)."""
    out = {}
    for cell in json.loads(executed.read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade") or cell.get("cell_type") != "code":
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out[meta["grade_id"]] = f"{o.get('ename')}: {o.get('evalue', '')}".strip(": ")
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                out.setdefault(meta["grade_id"], "wrote to stderr (a test cell must not): "
                               + "".join(o.get("text", ""))[:200])
    return out


def self_check(notebook: str | Path, assignment: str | None = None, log=print) -> dict:
    """Grade ``notebook``; returns ``{"score", "max_score", "status", "cells": [(grade_id, score,
    max, message)]}`` and prints the table."""
    notebook = Path(notebook)
    if not notebook.is_file():
        raise UsageError(f"self-check: no notebook at {notebook}")
    known = repository().assignments() if SOURCE_DIR.is_dir() else []
    if not known:
        raise UsageError("self-check needs the master notebooks (autograde/source), which this "
                         "copy of the course does not have")
    assignment = assignment or guess_assignment(notebook, known)
    with tempfile.TemporaryDirectory(prefix="autograde-selfcheck-") as tmp:
        course = repository().copy_masters([assignment], tmp)
        target = course.submitted("me", assignment)
        target.mkdir(parents=True)
        shutil.copy2(notebook, target / f"{assignment}.ipynb")
        log(f"grading {notebook} as {assignment} (hidden tests included; about a minute)...")
        (result,) = grade(course, [assignment], workers=1, log=lambda *_: None, progress=False)
        executed = course.autograded("me", assignment) / f"{assignment}.ipynb"
        messages = _messages(executed) if executed.exists() else {}
        with course.gradebook() as gb:
            nb = gb.find_submission_notebook(assignment, assignment, "me") \
                if result.status == "ok" else None
            rows = []
            for g in (nb.grades if nb else []):
                manual = g.auto_score is None
                rows.append((g.name, None if manual else float(g.auto_score),
                             float(g.max_score), "graded by hand" if manual else
                             messages.get(g.name, "") if g.auto_score < g.max_score else ""))
    auto = [r for r in rows if r[1] is not None]
    score, total = sum(r[1] for r in auto), sum(r[2] for r in auto)
    width = max([len(r[0]) for r in rows] + [10])
    log(f"\n{'cell':<{width}}  {'points':>9}  message")
    for gid, s, m, msg in rows:
        pts = f"-/{m:g}" if s is None else f"{s:g}/{m:g}"
        log(f"{gid:<{width}}  {pts:>9}  {msg}")
    if result.status != "ok":
        log(f"\nthe notebook did not run to the end ({result.status}): {result.reason}")
    log(f"\n{assignment}: {score:g}/{total:g} autograded points"
        + (" — all tests pass" if auto and score == total else ""))
    return {"score": score, "max_score": total, "status": result.status, "cells": rows}

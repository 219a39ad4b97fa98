"""Checks of a submission before it runs, and of its executed notebook after.

Before it runs, a submission's structure is repaired from the master (:mod:`autograde.repair`:
nbgrader would silently drop a duplicated test cell, and a deleted or renamed one would lose
its points without saying why); only a file that is not a notebook is ``invalid``.

While it runs (:func:`graded_outputs`, :func:`cap_error`): what a test cell is graded
on, and bounded error outputs. After (:func:`scan_executed`): a test cell whose integrity
check failed (:mod:`autograde.guard`) makes the job ``invalid`` (tampering: the tests could
not be trusted). A cell stopped at the per-cell time limit is only that cell's error.
"""

from __future__ import annotations

import json
from pathlib import Path

from nbformat.notebooknode import NotebookNode

from .conventions import nbgrader_meta

__all__ = ["INTEGRITY_MESSAGE", "NOT_GRADED", "cap_error", "graded_outputs", "is_test_cell",
           "scan_executed", "timed_out_cells"]

INTEGRITY_MESSAGE = "grading integrity check failed"


def is_test_cell(cell) -> bool:
    """A test cell: graded, not a solution (nbgrader's ``grade`` without ``solution``)."""
    meta = nbgrader_meta(cell) if isinstance(cell, dict) else {}
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get(
        "solution")


# caps of one error output: a 40 MB exception message must not become a 40 MB notebook
MAX_ENAME, MAX_EVALUE, MAX_FRAMES, MAX_FRAME = 120, 4000, 40, 4000


def _cut(text, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit} more]"


def cap_error(content: dict) -> dict:
    """An error's ``ename``, ``evalue`` and ``traceback`` cut to bounded sizes (the frames
    kept are the first and the last ones, where the test and the raise are).

    >>> e = cap_error({"ename": "E", "evalue": "x" * 10**6, "traceback": ["t"] * 1000})
    >>> len(e["evalue"]) < 4100, len(e["traceback"])
    (True, 41)
    """
    frames = [str(t) for t in (content.get("traceback") or []) if isinstance(t, str)]
    if len(frames) > MAX_FRAMES:
        half = MAX_FRAMES // 2
        frames = frames[:half] + [f"[... {len(frames) - MAX_FRAMES} frames dropped]"] + \
            frames[-half:]
    return {**content, "ename": _cut(content.get("ename", ""), MAX_ENAME),
            "evalue": _cut(content.get("evalue", ""), MAX_EVALUE),
            "traceback": [_cut(t, MAX_FRAME) for t in frames]}


# the error the grader writes into every test cell of a submission that did not run to the
# end (status timeout, memory, crash or invalid): 0 points each; the feedback says why
NOT_GRADED = "AutogradeNotGraded"

FORGEABLE = ("execute_result", "display_data", "update_display_data")


def graded_outputs(outputs: list, reply: dict, tampered: str = "",
                      unanswered: str = "") -> list:
    """The outputs a test cell is graded on (nbgrader's ``determine_grade`` reads them).

    Points come only from the kernel's reply and the guard's checks: results and displays
    the submission produced are dropped (nbgrader would read them as points); a test that
    failed (``reply`` status ``error``, a check that found tampering or was not answered)
    ends with an ``error`` output even when the submission cleared its own; ``stream``
    outputs are kept (nbgrader scores stderr as a failure, which only lowers a grade).

    >>> out = graded_outputs([{"output_type": "execute_result", "data": {}}],
    ...                         {"status": "ok"})
    >>> out
    []
    >>> out = graded_outputs([], {"status": "error", "ename": "AssertionError",
    ...                              "evalue": "no", "traceback": []})
    >>> [(o["output_type"], o["ename"]) for o in out]
    [('error', 'AssertionError')]
    """
    kept = [o for o in outputs if o.get("output_type") not in FORGEABLE]
    errors = [o for o in kept if o.get("output_type") == "error"]
    if reply.get("status") != "ok" and not errors:
        content = cap_error(reply) if reply.get("status") == "error" else {
            "ename": "CellExecutionError", "evalue": "the kernel sent no reply for this test",
            "traceback": []}
        kept.append(NotebookNode(output_type="error", ename=content["ename"],
                                 evalue=content["evalue"],
                                 traceback=content["traceback"] or [content["ename"]]))
    if unanswered and not tampered:
        kept.append(NotebookNode(output_type="error", ename="CellTimeoutError",
                                 evalue=unanswered, traceback=[unanswered]))
    if tampered and not any(INTEGRITY_MESSAGE in str(o.get("evalue", "")) for o in kept):
        kept.append(NotebookNode(output_type="error", ename="AssertionError",
                                 evalue=tampered[:MAX_EVALUE], traceback=[tampered[:MAX_EVALUE]]))
    return kept


def scan_executed(path: Path) -> tuple[str, str] | None:
    """("invalid", reason) when a test cell of the executed notebook found tampering; else
    None. A cell that ran past the per-cell time limit is that cell's error (its test scores
    0), as in ``nbgrader autograde``: see :func:`timed_out_cells`."""
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    tampered = []
    for i, cell in enumerate(nb.get("cells", [])):
        name = nbgrader_meta(cell).get("grade_id") or cell.get("id") or f"cell {i}"
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "error" and INTEGRITY_MESSAGE in str(
                    out.get("evalue", "")):
                tampered.append((name, str(out.get("evalue"))))
    if tampered:
        name, message = tampered[0]
        detail = message.split(":", 2)[-1].strip()
        return "invalid", (f"tampering detected in {len(tampered)} test cell(s), first in "
                           f"{name}: {detail[:300]}")
    return None


def timed_out_cells(path: Path) -> list[str]:
    """The cells (grade_id, id or position) the per-cell time limit interrupted."""
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [nbgrader_meta(c).get("grade_id") or c.get("id") or f"cell {i}"
            for i, c in enumerate(nb.get("cells", []))
            if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError"
                   for o in c.get("outputs", []) or [])]

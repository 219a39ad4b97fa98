"""Checks of a submission before it runs, and of its executed notebook after.

Before (:func:`check_submission`): the file must be a version-4 notebook whose test cells
are those of the master, each once, in the master's order, with the master's points,
type and flags. nbgrader itself restores the *source* of locked and test cells from the
gradebook (``OverwriteCells``), so an edited test is simply graded as the master's; but it
silently drops a duplicated cell, and a deleted or renamed test cell would lose its points
without saying why. Those are ``invalid``, with the cell named, and score 0: the
instructor can look, and regrade a fixed copy.

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

__all__ = ["INTEGRITY_MESSAGE", "NOT_GRADED", "cap_error", "check_submission", "graded_outputs",
           "is_test_cell", "scan_executed", "timed_out_cells"]

INTEGRITY_MESSAGE = "grading integrity check failed"
FLAGS = ("grade", "solution", "locked", "points", "grade_id")


def _graded(nb: dict) -> list[dict]:
    """The test cells (graded, not solutions) of a notebook, in order."""
    return [c for c in nb.get("cells", []) if isinstance(c, dict)
            and nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]


def check_submission(path: Path, master: Path) -> str | None:
    """None when the submission at ``path`` can be graded against ``master``; else why not."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return f"cannot read the notebook: {exc}"
    try:
        nb = json.loads(raw)
    except ValueError as exc:
        return f"not valid JSON ({exc}); the file is damaged"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "valid JSON, but not a Jupyter notebook (no list of cells)"
    if nb.get("nbformat") != 4:
        return f"not a version-4 Jupyter notebook (nbformat={nb.get('nbformat')!r})"
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            return f"cell {i} is not a notebook cell"
        if not isinstance(cell.get("metadata", {}), dict) or not isinstance(
                cell.get("metadata", {}).get("nbgrader", {}), dict):
            return f"cell {i} has damaged metadata"
    expected = _graded(json.loads(master.read_text()))
    got = _graded(nb)
    want_ids = [nbgrader_meta(c)["grade_id"] for c in expected]
    got_ids = [nbgrader_meta(c).get("grade_id") for c in got]
    for gid in want_ids:
        n = got_ids.count(gid)
        if n == 0:
            return (f"test cell {gid} is missing (deleted, or its metadata changed); "
                    "a notebook without all its test cells is not graded")
        if n > 1:
            return f"test cell {gid} appears {n} times (duplicated)"
    extra = [g for g in got_ids if g not in want_ids]
    if extra:
        return ("cells marked as tests that the assignment does not have: "
                + ", ".join(map(str, extra)))
    known = [nbgrader_meta(c).get("grade_id") for c in json.loads(master.read_text())["cells"]
             if nbgrader_meta(c).get("grade_id")]
    order = list(dict.fromkeys(g for g in (nbgrader_meta(c).get("grade_id") for c in nb["cells"])
                               if g in known))
    if got_ids != want_ids or order != [g for g in known if g in order]:
        return "the graded cells are not in the assignment's order (reordered)"
    for want, have in zip(expected, got, strict=True):
        w, h = nbgrader_meta(want), nbgrader_meta(have)
        for key in FLAGS:
            if w.get(key) != h.get(key):
                return (f"test cell {w['grade_id']}: its nbgrader metadata was changed "
                        f"({key}: {w.get(key)!r} in the assignment, {h.get(key)!r} here)")
        if have.get("cell_type") != want.get("cell_type"):
            return f"test cell {w['grade_id']} was changed into a {have.get('cell_type')} cell"
    return None


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

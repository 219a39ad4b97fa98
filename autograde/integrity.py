"""Checks of a submission before it runs, and of its executed notebook after.

Before (:func:`check_submission`): the file must be a version-4 notebook whose test cells
are those of the master, each once, in the master's order, with the master's points,
type and flags. nbgrader itself restores the *source* of locked and test cells from the
gradebook (``OverwriteCells``), so an edited test is simply graded as the master's; but it
silently drops a duplicated cell, and a deleted or renamed test cell would lose its points
without saying why. Those are ``invalid``, with the cell named, and score 0: the
instructor can look, and regrade a fixed copy.

After (:func:`scan_executed`): a cell stopped at the per-cell time limit makes the job a
``timeout``; a test cell whose integrity check failed (:mod:`autograde.guard`) makes it
``invalid`` (tampering: the tests could not be trusted).
"""

from __future__ import annotations

import json
from pathlib import Path

from .conventions import nbgrader_meta

__all__ = ["INTEGRITY_MESSAGE", "check_submission", "scan_executed"]

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


def scan_executed(path: Path) -> tuple[str, str] | None:
    """(status, reason) when the executed notebook shows a timeout or tampering; else None."""
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    tampered, timed_out = [], []
    for i, cell in enumerate(nb.get("cells", [])):
        name = nbgrader_meta(cell).get("grade_id") or cell.get("id") or f"cell {i}"
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") != "error":
                continue
            if INTEGRITY_MESSAGE in str(out.get("evalue", "")):
                tampered.append((name, str(out.get("evalue"))))
            elif out.get("ename") == "CellTimeoutError":
                timed_out.append(name)
    if tampered:
        name, message = tampered[0]
        detail = message.split(":", 2)[-1].strip()
        return "invalid", (f"tampering detected in {len(tampered)} test cell(s), first in "
                           f"{name}: {detail[:300]}")
    if timed_out:
        return "timeout", (f"{', '.join(timed_out[:3])} ran past the per-cell time limit "
                           "and was interrupted")
    return None

"""Repair a submission's structure from the master instead of rejecting it.

Students delete, duplicate or move test cells, paste cells out of order, and open the
notebook in editors that rewrite or drop nbgrader's metadata. The tests' source and points
always come from the master anyway, so such a notebook is repaired, then graded:

* every test cell of the master is put back, as the master has it (source, metadata, id),
  once, right after its exercise's solution cell (or the test cell before it), in the
  master's order; copies of it, moved copies, and copies with other points, ids or flags
  are removed;
* a solution (or written-answer) cell is found by its ``grade_id``, else by its cell id,
  else (a code exercise, whose function or class is named as its ``grade_id``) by the cell
  that defines that name; it keeps the student's source and gets the master's metadata
  back. A solution cell that is not there at all is restored empty: an empty answer;
* a cell marked as a test or a solution that the assignment does not have, a second copy
  of a solution cell, and damaged nbgrader metadata lose their nbgrader metadata: they
  stay as ordinary cells and run as the student left them.

What was repaired is said, one line each, in a note at the top of the notebook (so in the
student's feedback) and in the result (so in the instructor's report). Only a file that
is not a readable version-4 notebook stays ``invalid`` (:func:`unreadable`). Repairs are
of structure only: the tests still run in the sandbox, watched by the guard.

>>> master = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
...     _cell("code", "def f():\\n    return 1\\n", "f", solution=True),
...     _cell("code", "assert f() == 1\\n", "test_f", grade=True, points=2)]}
>>> student = {**master, "cells": [_cell("code", "def f():\\n    return 1\\n", "f",
...                                      solution=True)]}
>>> fixed, notes = repair(student, master)
>>> [c["id"] for c in fixed["cells"]], notes
(['autograde-repairs', 'f', 'test_f'], ['test cell `test_f` was missing and was restored'])
"""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

__all__ = ["NOTE_ID", "repair", "repair_file", "unreadable"]

NOTE_ID = "autograde-repairs"  # the id of the note cell that says what was repaired


def _cell(kind: str, text: str, gid: str, **flags) -> dict:
    """A cell with nbgrader metadata (for the examples)."""
    meta = {"grade": False, "solution": False, "locked": False, "grade_id": gid,
            "schema_version": 3, **flags}
    cell = {"cell_type": kind, "id": gid, "metadata": {"nbgrader": meta}, "source": text}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def unreadable(path: Path) -> str | None:
    """Why the file at ``path`` cannot be graded at all (not readable, not JSON, not a
    version-4 notebook, cells that are not cells), else None. Everything else is repaired."""
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
    return None


def _meta(cell: dict) -> dict:
    """The cell's nbgrader metadata, {} when absent or damaged."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def _is_test(meta: dict) -> bool:
    """A cell the master owns whole: a test cell, or a locked cell (not a solution)."""
    return bool(meta.get("grade") or meta.get("locked")) and not meta.get("solution")


def _defines(cell: dict, name: str) -> bool:
    """The code cell defines ``name`` (a function or a class) at its top level."""
    text = cell.get("source", "")
    text = "".join(text) if isinstance(text, list) else str(text)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return f"def {name}(" in text or f"class {name}" in text
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
               and node.name == name for node in tree.body)


def _unmark(cell: dict) -> None:
    meta = cell.get("metadata")
    if isinstance(meta, dict):
        meta.pop("nbgrader", None)
    else:
        cell["metadata"] = {}


def repair(nb: dict, master: dict) -> tuple[dict, list[str]]:
    """(the submission with the master's structure, what was repaired, one line each).

    ``nb`` must be readable (:func:`unreadable` is None); it is not changed."""
    nb = copy.deepcopy(nb)
    notes: list[str] = []
    mcells = [c for c in master["cells"] if _meta(c).get("grade_id")]
    tests = {_meta(c)["grade_id"]: c for c in mcells if _is_test(_meta(c))}
    answers = {_meta(c)["grade_id"]: c for c in mcells if not _is_test(_meta(c))}
    cells = [c for c in nb["cells"] if c.get("id") != NOTE_ID]  # a note of an earlier repair

    # 1. damaged metadata, and test cells: the student's copies all go (they come back below)
    kept, seen_tests = [], {}
    for i, cell in enumerate(cells):
        raw = cell.get("metadata", {})
        if not isinstance(raw, dict) or ("nbgrader" in raw and not isinstance(
                raw["nbgrader"], dict)):
            notes.append(f"cell {i}'s nbgrader metadata was damaged and was removed")
            _unmark(cell)
        meta = _meta(cell)
        gid = meta.get("grade_id")
        if gid in tests or _is_test(meta):
            seen_tests.setdefault(gid, []).append((i, cell))
            if gid not in tests:
                notes.append(f"a cell marked as test `{gid}`, which the assignment does not "
                             "have, was removed")
            continue
        kept.append(cell)
    cells = kept

    # 2. solution and written-answer cells: by grade_id, else cell id, else what it defines
    where: dict[str, int] = {}
    for gid, mcell in answers.items():
        found = [i for i, c in enumerate(cells) if _meta(c).get("grade_id") == gid]
        how = ""
        if not found:
            found = [i for i, c in enumerate(cells) if c.get("id") == mcell.get("id")
                     and c.get("cell_type") == mcell.get("cell_type") and not _meta(c)]
            how = "its cell id"
        if not found and mcell.get("cell_type") == "code":
            found = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"
                     and not _meta(c).get("grade_id") and _defines(c, gid)][-1:]
            how = f"the cell that defines `{gid}`"
        if not found:
            continue
        i = found[0]
        for extra in found[1:]:
            notes.append(f"solution cell `{gid}` appeared {len(found)} times: the first is "
                         "graded as the answer, the others run as ordinary cells")
            _unmark(cells[extra])
        if how:
            notes.append(f"solution cell `{gid}` had lost its nbgrader metadata (found by "
                         f"{how}); it was restored")
        elif {k: _meta(cells[i]).get(k) for k in ("grade", "solution", "locked", "points")} != {
                k: _meta(mcell).get(k) for k in ("grade", "solution", "locked", "points")}:
            notes.append(f"solution cell `{gid}`: its nbgrader metadata was changed and was "
                         "restored")
        cells[i].setdefault("metadata", {})["nbgrader"] = copy.deepcopy(_meta(mcell))
        if cells[i].get("cell_type") != mcell.get("cell_type"):
            notes.append(f"solution cell `{gid}` was a {cells[i].get('cell_type')} cell; it "
                         f"was restored as a {mcell.get('cell_type')} cell")
            cells[i]["cell_type"] = mcell["cell_type"]
            if mcell["cell_type"] == "code":
                cells[i].setdefault("outputs", [])
                cells[i].setdefault("execution_count", None)
            else:
                cells[i].pop("outputs", None)
                cells[i].pop("execution_count", None)
        where[gid] = i
    for i, cell in enumerate(cells):  # marked as answers the assignment does not have
        gid = _meta(cell).get("grade_id")
        if _meta(cell) and (gid not in answers or where.get(gid) != i):
            if gid not in answers:
                notes.append(f"a cell marked as `{gid}`, which the assignment does not have, "
                             "runs as an ordinary cell")
            _unmark(cell)

    # 3. rebuild: the master's graded cells in its order, each after the one before it
    out = list(cells)
    ids = {c.get("id") for c in out}
    placed: dict[str, dict] = {gid: cells[i] for gid, i in where.items()}
    cursor = -1
    for mcell in mcells:
        gid = _meta(mcell)["grade_id"]
        if gid in placed:  # a solution the student has: its tests go after it
            cursor = next(k for k, c in enumerate(out) if c is placed[gid])
            continue
        new = copy.deepcopy(mcell)
        if new.get("cell_type") == "code":
            new["outputs"], new["execution_count"] = [], None
        if gid in answers:
            new["source"] = ""
            notes.append(f"solution cell `{gid}` was missing: it was graded as an empty answer")
        else:
            copies = seen_tests.get(gid, [])
            if not copies:
                notes.append(f"test cell `{gid}` was missing and was restored")
            elif len(copies) > 1:
                notes.append(f"test cell `{gid}` appeared {len(copies)} times: it was restored "
                             "once, in its place")
            else:
                changed = _changed(copies[0][1], mcell)
                if changed:
                    notes.append(f"test cell `{gid}`: its {', '.join(changed)} "
                                 f"{'was' if len(changed) == 1 else 'were'} changed and restored")
        if new.get("id") in ids:  # the student has a cell with this id: give it another
            for c in out:
                if c.get("id") == new.get("id"):
                    c["id"] = f"{c['id']}-student"
        ids.add(new.get("id"))
        out.insert(cursor + 1, new)
        placed[gid] = new
        cursor += 1

    # a test cell the student had once, unchanged, but not after the cell before it
    notes += [f"test cell `{gid}` had been moved: it was put back after its exercise"
              for gid, copies in seen_tests.items() if gid in tests and len(copies) == 1
              and not _changed(copies[0][1], tests[gid]) and _was_moved(gid, nb, master)]
    if notes:
        notes = list(dict.fromkeys(notes))
        out.insert(0, {"cell_type": "markdown", "id": NOTE_ID, "metadata": {}, "source": (
            "**Repaired before grading.** The grader restored the assignment's structure "
            "from the master; your answers were graded as you wrote them.\n\n"
            + "\n".join(f"* {n}" for n in notes) + "\n")})
    nb["cells"] = out
    return nb, notes


def _graded_ids(cells: list[dict]) -> list[str]:
    return list(dict.fromkeys(_meta(c).get("grade_id") for c in cells
                              if _meta(c).get("grade_id")))


def _changed(have: dict, want: dict) -> list[str]:
    hm, mm = _meta(have), _meta(want)
    return [k for k in ("grade_id", "points", "grade", "solution", "locked")
            if hm.get(k) != mm.get(k)]


def _was_moved(gid: str, nb: dict, master: dict) -> bool:
    """In the submission, the cell before the test cell ``gid`` (among the graded cells both
    have) is not the one before it in the master."""
    have = _graded_ids(nb["cells"])
    mids = [g for g in _graded_ids(master["cells"]) if g in have]
    k, i = mids.index(gid), have.index(gid)
    return (mids[k - 1] if k else None) != (have[i - 1] if i else None)


def repair_file(path: Path, master: Path, target: Path) -> list[str]:
    """Write the repaired copy of the submission at ``path`` to ``target``; return what was
    repaired. ``path`` must be readable (:func:`unreadable`)."""
    nb = json.loads(Path(path).read_text())
    fixed, notes = repair(nb, json.loads(Path(master).read_text()))
    if notes:
        Path(target).write_text(json.dumps(fixed, indent=1, ensure_ascii=False))
    elif Path(path) != Path(target):
        import shutil

        shutil.copy2(path, target)
    return notes

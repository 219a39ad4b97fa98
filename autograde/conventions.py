"""The course's exercise conventions, checked on a master notebook.

``release`` refuses a master with problems and the tests run the same check,
so the rules live in one place:

* one solution cell per exercise, its id and ``grade_id`` the name of the
  function (or class) it defines, between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``;
* after it, locked test cells named ``test_<name>`` or ``test_<name>_<what>``
  with points > 0, at least one of them holding hidden tests;
* manually graded answers hold a model answer and a rubric;
* one imports cell with ``import course_lib as cl``; unique ``grade_id``\\ s.

>>> problems({"cells": []}, "empty")
['empty: the imports cell (import course_lib as cl) must appear once']
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["BEGIN_HIDDEN", "BEGIN_SOLUTION", "END_HIDDEN", "END_SOLUTION", "problems",
           "problems_in_file"]

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def source(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def problems(nb: dict, name: str) -> list[str]:
    """Every way the master notebook ``nb`` (parsed JSON) breaks the conventions;
    ``[]`` when it follows them. ``name`` labels the messages."""
    out: list[str] = []
    cells = nb.get("cells", [])
    ids = [nbgrader_meta(c).get("grade_id") for c in cells if nbgrader_meta(c)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        out.append(f"{name}: duplicate grade_ids {dupes}")
    imports = sum(1 for c in cells if c.get("cell_type") == "code"
                  and "import course_lib as cl" in source(c))
    if imports != 1:
        out.append(f"{name}: the imports cell (import course_lib as cl) must appear once")

    current = None  # the exercise whose tests may follow
    tested: dict[str, int] = {}
    hidden: dict[str, bool] = {}
    for i, cell in enumerate(cells):
        meta, src = nbgrader_meta(cell), source(cell)
        where = f"{name} cell {i} ({meta.get('grade_id', cell.get('cell_type'))})"
        if src.count(BEGIN_SOLUTION) != src.count(END_SOLUTION):
            out.append(f"{where}: unbalanced solution markers")
        if src.count(BEGIN_HIDDEN) != src.count(END_HIDDEN):
            out.append(f"{where}: unbalanced hidden-test markers")
        if not meta:
            if BEGIN_SOLUTION in src or BEGIN_HIDDEN in src:
                out.append(f"{where}: solution or hidden-test markers in a cell nbgrader "
                           "does not know (no nbgrader metadata): they would reach students")
            continue
        if meta.get("schema_version") != 3:
            out.append(f"{where}: nbgrader schema_version should be 3")
        gid = meta.get("grade_id", "")
        if cell.get("id") != gid:
            out.append(f"{where}: the cell id should be the grade_id")
        if meta.get("solution") and not meta.get("grade"):  # an exercise
            if cell.get("cell_type") != "code":
                out.append(f"{where}: an exercise must be a code cell")
            if BEGIN_SOLUTION not in src:
                out.append(f"{where}: no ### BEGIN SOLUTION region")
            if not re.search(rf"^(def|class) {re.escape(gid)}\b", src, re.M):
                out.append(f"{where}: must define {gid}")
            if current is not None and not tested.get(current):
                out.append(f"{where}: {current} has no tests")
            current = gid
            tested[current] = 0
            hidden[current] = False
        elif meta.get("grade") and not meta.get("solution"):  # a test cell
            if cell.get("cell_type") != "code" or not meta.get("locked"):
                out.append(f"{where}: a test cell must be locked code")
            if not meta.get("points", 0) > 0:
                out.append(f"{where}: needs points > 0")
            if current is None or not re.fullmatch(rf"test_{re.escape(current)}(_\w+)?", gid):
                out.append(f"{where}: test cells must follow their exercise and be named "
                           f"test_{current or '<exercise>'}[_...]")
            else:
                tested[current] += 1
                hidden[current] |= BEGIN_HIDDEN in src
            if BEGIN_SOLUTION in src:
                out.append(f"{where}: a test cell holds a solution region")
        elif meta.get("grade") and meta.get("solution"):  # a manually graded answer
            if not meta.get("points", 0) > 0:
                out.append(f"{where}: needs points > 0")
            if BEGIN_SOLUTION not in src or "rubric" not in src.lower():
                out.append(f"{where}: the master must hold a model answer and a rubric")
    for exercise, n in tested.items():
        if not n:
            out.append(f"{name}: exercise {exercise} has no tests")
        elif not hidden[exercise]:
            out.append(f"{name}: exercise {exercise} has no hidden tests")
    return out


def problems_in_file(path: str | Path) -> list[str]:
    """:func:`problems` of a master notebook on disk (unreadable JSON is a problem too)."""
    path = Path(path)
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return [f"{path.name}: cannot read the notebook: {e}"]
    return problems(nb, path.stem)

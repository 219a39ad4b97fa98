"""Synthetic submissions made from the masters, for tests and benchmarks.

* ``correct``: the master itself (every solution in place);
* ``blank``: the student notebook as released (every stub left);
* ``partly_wrong``: the master with the named exercises put back to their stubs.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import course

__all__ = ["blank", "correct", "exercises", "partly_wrong", "write"]


def _cells_by_id(nb: dict) -> dict[str, dict]:
    return {c.get("id"): c for c in nb["cells"]}


def exercises(assignment: str) -> list[str]:
    """The exercises (solution code cells) of an assignment, in order."""
    nb = json.loads(course.master_path(assignment).read_text())
    return [c["id"] for c in nb["cells"] if c["cell_type"] == "code"
            and c["metadata"].get("nbgrader", {}).get("solution")]


def correct(assignment: str) -> dict:
    return json.loads(course.master_path(assignment).read_text())


def blank(assignment: str) -> dict:
    return json.loads((course.NOTEBOOKS_DIR / f"{assignment}.ipynb").read_text())


def partly_wrong(assignment: str, wrong: list[str]) -> dict:
    nb = correct(assignment)
    stubs = _cells_by_id(blank(assignment))
    for cell in nb["cells"]:
        if cell.get("id") in wrong:
            cell["source"] = stubs[cell["id"]]["source"]
    return nb


def write(nb: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path

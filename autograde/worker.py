"""One grading job, run as a subprocess by :mod:`autograde.grading`:
``python -m autograde.worker SCRATCH ASSIGNMENT STUDENT``.

Runs ``nbgrader autograde`` on the one submission in the scratch course
``SCRATCH`` and writes ``SCRATCH/result.json`` (``success``, ``log``,
``error``). Exit status 0 when nbgrader succeeded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    scratch, assignment, student = Path(argv[0]), argv[1], argv[2]
    from .course import Course

    result = Course(scratch).api().autograde(assignment, student, force=True, create=True)
    out = {"success": bool(result.get("success")), "log": result.get("log") or "",
           "error": result.get("error") or ""}
    (scratch / "result.json").write_text(json.dumps(out))
    return 0 if out["success"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Grading jobs, run in processes of their own by :mod:`autograde.grading`.

One job runs ``nbgrader autograde`` on the one submission in a scratch course
``SCRATCH`` and writes ``SCRATCH/result.json`` (``success``, ``log``,
``error``); exit status 0 when nbgrader succeeded. Two ways to run one:

* ``python -m autograde.worker SCRATCH ASSIGNMENT STUDENT``: one job in a fresh
  interpreter (the Ray cluster path uses this on the remote node).
* ``python -m autograde.worker --serve``: a **fork server**. Importing nbgrader
  (nbconvert, jupyter_client, SQLAlchemy, traitlets) takes 1.5-2 s of CPU on
  the course's 2-core machine, more than a small notebook takes to run; the
  server imports it once, then forks a fresh child per job, so every job still
  starts from the same clean process state and dies with its job. Protocol, one
  JSON object per line: the driver writes ``{"scratch", "assignment",
  "student", "cpus", "env"}`` on stdin; the server answers ``{"pid": PID}``
  when the job's child has started (the child leads a session of its own, so
  ``killpg(PID)`` stops it) and ``{"pid": PID, "rc": CODE}`` when it ended.
  One job at a time per server; EOF on stdin ends the server.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path


def _overrides() -> dict:
    """nbgrader settings of a sandboxed job (see :mod:`autograde.sandbox`): the kernel in
    the sandbox, the guard before each test cell, output capped, the cell time limit."""
    from . import sandbox

    settings = sandbox.settings_from_env()
    if not settings:
        return {}
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from .execute import SandboxedExecute

    limits = sandbox.Limits.from_dict(settings.get("limits"))
    return {
        "Autograde.autograde_preprocessors": [SandboxedExecute, IgnorePattern,
                                              ClearMetadataPreprocessor, LimitOutput,
                                              SaveAutoGrades, AssignLatePenalties,
                                              CheckCellMetadata],
        "SandboxedExecute.timeout": int(limits.cell_timeout_s),
    }


def run_job(scratch: Path, assignment: str, student: str) -> int:
    from .course import Course

    api = Course(scratch).api(**_overrides())
    result = api.autograde(assignment, student, force=True, create=True)
    out = {"success": bool(result.get("success")), "log": result.get("log") or "",
           "error": result.get("error") or ""}
    (scratch / "result.json").write_text(json.dumps(out))
    return 0 if out["success"] else 1


def _preload() -> None:
    """Import what every job needs, once, before the first fork."""
    import nbconvert.preprocessors  # noqa: F401
    import nbgrader.apps  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401
    from nbgrader.apps import NbGraderAPI  # noqa: F401

    from . import course, execute  # noqa: F401


def _child(job: dict) -> int:
    """In the forked child: become a job of its own, then grade."""
    os.setsid()
    if job.get("cpus"):
        os.sched_setaffinity(0, job["cpus"])
    os.environ.update(job.get("env", {}))  # the kernel and Ray inherit the job's marker
    scratch = Path(job["scratch"])
    log = os.open(scratch / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    return run_job(scratch, job["assignment"], job["student"])


def serve(stdin=None, stdout=None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    _preload()
    for line in stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the loop
            code = 2
            try:
                code = _child(job)
            except BaseException:  # noqa: BLE001 - report anything, then exit
                traceback.print_exc()
            finally:  # the child's stdout is its log by now (the pipe was flushed before fork)
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except Exception:  # noqa: BLE001, S110 - exiting anyway
                        pass
                os._exit(code)
        stdout.write(json.dumps({"pid": pid}) + "\n")
        stdout.flush()
        _, status = os.waitpid(pid, 0)
        stdout.write(json.dumps({"pid": pid, "rc": os.waitstatus_to_exitcode(status)}) + "\n")
        stdout.flush()
    return 0


def main(argv: list[str]) -> int:
    if argv == ["--serve"]:
        return serve()
    scratch, assignment, student = Path(argv[0]), argv[1], argv[2]
    return run_job(scratch, assignment, student)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Grading jobs, run in processes of their own by :mod:`autograde.grade.run`.

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
    the sandbox, the guard before each test cell, output capped, the cell time limit. No
    grades are saved here: the job's gradebook is a throw-away copy, and recording
    (:mod:`autograde.grade.record`) saves them, and assigns late penalties, in the real one."""
    from . import sandbox

    settings = sandbox.settings_from_env()
    if not settings:
        return {}
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import CheckCellMetadata, IgnorePattern, LimitOutput

    from .execute import SandboxedExecute

    limits = sandbox.Limits.from_dict(settings.get("limits"))
    return {
        "Autograde.autograde_preprocessors": [SandboxedExecute, IgnorePattern,
                                              ClearMetadataPreprocessor, LimitOutput,
                                              CheckCellMetadata],
        "SandboxedExecute.timeout": int(limits.cell_timeout_s),
    }


PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36  # <linux/prctl.h>


def _prctl(option: int, value: int) -> bool:
    """Linux prctl(2); False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (a killed ``autograde grade`` takes its
    fork servers with it, and a killed server its job), and adopt orphaned descendants
    (a process that starts a session of its own and clears its environment still
    reparents here, where :func:`kill_descendants` finds it)."""
    parent = os.getppid()
    _prctl(PR_SET_PDEATHSIG, 9)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os._exit(1)


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])  # after "(comm) state"
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def kill_descendants(rounds: int = 20) -> int:
    """SIGKILL every descendant of this process (again while they fork); how many."""
    import signal
    import time

    killed = 0
    for _ in range(rounds):
        kids, found, todo = _children(), [], [os.getpid()]
        while todo:
            for kid in kids.get(todo.pop(), []):
                found.append(kid)
                todo.append(kid)
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)
        for pid in found:  # reap our own children (the rest are reaped by their parents)
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
    return killed


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
    die_with_parent()
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
    die_with_parent()
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
            finally:
                kill_descendants()  # what the job started, escaped sessions included
                # the child's stdout is its log by now (the pipe was flushed before fork)
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except Exception:  # noqa: BLE001, S110 - exiting anyway
                        pass
                os._exit(code)
        stdout.write(json.dumps({"pid": pid}) + "\n")
        stdout.flush()
        _, status = os.waitpid(pid, 0)
        kill_descendants()  # whatever the job left behind, reparented here
        stdout.write(json.dumps({"pid": pid, "rc": os.waitstatus_to_exitcode(status)}) + "\n")
        stdout.flush()
    return 0


def main(argv: list[str]) -> int:
    if argv == ["--serve"]:
        return serve()
    scratch, assignment, student = Path(argv[0]), argv[1], argv[2]
    die_with_parent()
    try:
        return run_job(scratch, assignment, student)
    finally:
        kill_descendants()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

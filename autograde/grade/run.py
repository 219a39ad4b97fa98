"""Running one job: a scratch course with one submission, executed in its sandbox, by a
process of its own pinned to its slot's CPUs; every process it started killed afterwards.

Each of ``grade``'s N slots has a fork server (:class:`ForkServer`) that has imported
nbgrader once and forks a fresh process per job. The job's processes are pinned to its
slot's CPUs (``cores // N``, so a notebook that starts Ray sizes Ray to that share),
carry a marker in their environment (:func:`marked_pids`), and are all killed when the
job ends, Ray's included. The kernel, where the student's code runs, is in a sandbox
(:mod:`autograde.sandbox`: bubblewrap, an unprivileged user, cgroups, limits) that sees
none of the course's private files.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from course_lib.cases import SEED_ENV, seed_for
from course_lib.ray_session import RAY_CPUS_ENV

from .. import integrity, repair, sandbox
from ..course import Course
from ..sandbox import Limits
from .plan import Job, Result

__all__ = ["ForkServer", "case_env", "conclude", "cpu_slots", "execute", "kill_marked", "launch",
           "marked_pids", "prepare_scratch", "ray_env"]


# ---------------------------------------------------------------------------- processes
def marked_pids(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (``NAME=value``)."""
    needle = marker.encode() + b"\0"
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in env or env.endswith(marker.encode()):
            pids.append(int(entry.name))
    return pids


def kill_marked(marker: str) -> int:
    """Kill every process carrying ``marker``; returns how many there were."""
    if not Path("/proc").is_dir():
        return 0
    return sandbox.kill_until_gone(lambda: marked_pids(marker), rounds=5, pause_s=0.1)


def cpu_slots(workers: int) -> list[list[int]]:
    """Split this process's CPUs into ``workers`` slots (slots share CPUs when there are
    more workers than CPUs).

    >>> len(cpu_slots(1)) == 1 and len(cpu_slots(1)[0]) >= 1
    True
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        cpus = list(range(os.cpu_count() or 1))
    share = max(1, len(cpus) // workers)
    return [[cpus[(i * share + j) % len(cpus)] for j in range(share)] for i in range(workers)]


# ---------------------------------------------------------------------------- one job
def prepare_scratch(scratch_parent: Path, job: Job, template: Path) -> Path:
    """A scratch course: the template (master + gradebook) and this one submission, its
    structure repaired from the master (:mod:`autograde.repair`; what was repaired goes to
    ``repairs.json``, which :func:`conclude` reads)."""
    scratch = scratch_parent / f"{job.student}__{job.assignment}__{uuid.uuid4().hex[:8]}"
    shutil.copytree(template, scratch)
    target = scratch / "submitted" / job.student / job.assignment
    target.mkdir(parents=True)
    master = scratch / "source" / job.assignment / f"{job.assignment}.ipynb"
    notes = repair.repair_file(job.notebook, master, target / job.notebook.name)
    (scratch / "repairs.json").write_text(json.dumps(notes))
    stamp = job.notebook.parent / "timestamp.txt"
    if stamp.exists():
        shutil.copy2(stamp, target / "timestamp.txt")
    return scratch


@contextlib.contextmanager
def _sandboxed(owner: str, marker: str, limits: Limits, n_cpus: int,
               scratch: Path) -> Iterator[str]:
    """The job's sandbox settings (for its environment, :data:`sandbox.ENV`): its cgroups
    made, and afterwards read (``scratch/sandbox.json``: OOM kills, forks refused), every
    process in them killed, and them and the kernel's socket folder removed."""
    import tempfile

    cgroups = sandbox.JobCgroups(owner, marker)
    conn = Path(tempfile.gettempdir()) / f"agk-{marker[:20]}"  # short: socket paths <= 107
    made = cgroups.create(limits, n_cpus)
    try:
        yield sandbox.job_settings(limits, made, conn)
    finally:
        info = {**cgroups.stats(), "memory_mb": limits.memory_mb,
                "processes": limits.processes, "cgroups": sorted(made)}
        cgroups.remove()
        shutil.rmtree(conn, ignore_errors=True)
        with contextlib.suppress(OSError):
            (scratch / "sandbox.json").write_text(json.dumps(info))


def launch(scratch: Path, assignment: str, student: str, cpus: list[int] | None,
           n_cpus: int, timeout_s: float, owner: str,
           limits: Limits | None = None) -> tuple[str, str, float]:
    """Run ``python -m autograde.worker`` on a scratch course; kill everything it started.
    ``owner`` marks the processes as this grading run's. Returns (status, reason, seconds)."""
    job = uuid.uuid4().hex
    with _sandboxed(owner, job, limits or Limits(), n_cpus, scratch) as settings:
        return _launch_in(scratch, assignment, student, cpus, n_cpus, timeout_s, owner,
                          job, settings)


def _launch_in(scratch: Path, assignment: str, student: str, cpus: list[int] | None,
               n_cpus: int, timeout_s: float, owner: str, job: str,
               settings: str) -> tuple[str, str, float]:
    marker = f"AUTOGRADE_JOB={job}"
    env = _job_env(owner, n_cpus)
    env.update(case_env(student, assignment))
    env["AUTOGRADE_JOB"] = job
    env[sandbox.ENV] = settings

    def pin():  # runs in the child before exec: the kernel and Ray inherit the CPUs
        if cpus:
            with contextlib.suppress(AttributeError, OSError):
                os.sched_setaffinity(0, cpus)

    cmd = [sys.executable, "-m", "autograde.worker", str(scratch), assignment, student]
    t0 = time.perf_counter()
    status, reason = "ok", ""
    with open(scratch / "worker.log", "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=pin, start_new_session=True)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            status, reason = "timeout", f"the notebook ran past {timeout_s:g} s and was stopped"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            kill_marked(marker)
    return status, reason, time.perf_counter() - t0


def case_env(student: str, assignment: str) -> dict[str, str]:
    """The seed of the hidden tests' random cases for this submission
    (:mod:`course_lib.cases`): the same each time it is graded, another for each student."""
    return {SEED_ENV: seed_for(student, assignment)}


RAY_MIN_CPUS = 2


def ray_env(n_cpus: int) -> dict[str, str]:
    """Ray's logical CPUs in a job: at least 2, even in a one-CPU slot, so that the hidden
    tests can check that a submission runs Ray tasks side by side
    (:func:`course_lib.raytools.side_by_side`); its workers then take turns on the slot's
    CPU."""
    return {RAY_CPUS_ENV: str(max(RAY_MIN_CPUS, n_cpus))}


def _job_env(owner: str, n_cpus: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "AUTOGRADE_JOB", sandbox.ENV)}
    env["AUTOGRADE_COURSE_STATE"] = owner  # a killed run's processes are found by this
    env["COURSE_CPUS"] = str(n_cpus)  # course_lib sizes Ray (and the rest) to this share
    env.update(ray_env(n_cpus))
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ForkServer:
    """A ``python -m autograde.worker --serve`` pinned to one slot's CPUs: it imports
    nbgrader once and forks a fresh child per job (see :mod:`autograde.worker`).

    :meth:`run` has :func:`launch`'s contract. A server that died is started again
    for the next job."""

    def __init__(self, cpus: list[int] | None, owner: str, log: Path):
        self.cpus, self.owner, self.log = cpus, owner, log
        self.proc: subprocess.Popen | None = None
        self._buf = b""

    def start(self) -> None:
        cpus = self.cpus

        def pin():
            if cpus:
                with contextlib.suppress(AttributeError, OSError):
                    os.sched_setaffinity(0, cpus)

        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autograde.worker", "--serve"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                env=_job_env(self.owner, len(cpus or [1])), preexec_fn=pin,
                start_new_session=True)
        self._buf = b""

    def _readline(self, deadline: float) -> dict | None:
        """The server's next message; None past ``deadline``; EOFError when it died."""
        import select

        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError("the grading worker process ended")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def run(self, scratch: Path, assignment: str, student: str, n_cpus: int,
            timeout_s: float, limits: Limits | None = None) -> tuple[str, str, float]:
        marker = uuid.uuid4().hex
        with _sandboxed(self.owner, marker, limits or Limits(), n_cpus, scratch) as settings:
            return self._run(scratch, assignment, student, n_cpus, timeout_s, marker, settings)

    def _run(self, scratch: Path, assignment: str, student: str, n_cpus: int,
             timeout_s: float, marker: str, settings: str) -> tuple[str, str, float]:
        env = {"AUTOGRADE_JOB": marker, "COURSE_CPUS": str(n_cpus), sandbox.ENV: settings,
               **ray_env(n_cpus), **case_env(student, assignment)}
        request = json.dumps({"scratch": str(scratch), "assignment": assignment,
                              "student": student, "cpus": self.cpus, "env": env})
        started = None
        for _attempt in (1, 2):  # a server that died is started again, once
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            try:
                self.proc.stdin.write(request.encode() + b"\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self.close()
                continue
            # the first job waits for the server's imports: allow for a loaded machine
            with contextlib.suppress(EOFError):
                started = self._readline(time.monotonic() + 300)
            if started is not None:
                break
            self.close()
        if started is None:
            return "crash", "the grading worker process could not be started", 0.0
        pid, t0 = started["pid"], time.perf_counter()
        status, reason, in_step = "ok", "", True
        try:
            ended = self._readline(time.monotonic() + timeout_s)
            if ended is None:
                status = "timeout"
                reason = f"the notebook ran past {timeout_s:g} s and was stopped"
        except EOFError:  # the server itself was killed (by the OOM killer, say)
            status, reason, in_step = "crash", "the grading worker process was killed", False
        seconds = time.perf_counter() - t0
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # the job's own session
        kill_marked(f"AUTOGRADE_JOB={marker}")  # the kernel, Ray: whatever it started
        if status == "timeout":
            with contextlib.suppress(EOFError):
                in_step = self._readline(time.monotonic() + 30) is not None
        if not in_step:
            self.close()  # start a new server for the next job
        return status, reason, seconds

    def hang_up(self) -> None:
        """Tell the server to end (it does once its job, if any, is over); see :meth:`close`."""
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def close(self) -> None:
        """End the server: hang up, wait for it (10 s at most), kill what is left."""
        if self.proc is None:
            return
        self.hang_up()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.proc.stdout.close()
        self.proc = None


def conclude(scratch: Path, job: Job, status: str, reason: str,
             seconds: float) -> tuple[Result, Path | None]:
    """The job's result, and its executed notebook when nbgrader ran it to the end and
    nothing went wrong (anything else scores 0, with the reason)."""
    result = job.result(status, seconds=seconds, reason=reason)
    with contextlib.suppress(OSError, ValueError):
        result.repairs = [str(n) for n in json.loads((scratch / "repairs.json").read_text())]
    executed = scratch / "autograded" / job.student / job.assignment / job.notebook.name
    box = {}
    with contextlib.suppress(OSError, ValueError):
        box = json.loads((scratch / "sandbox.json").read_text())
    result.peak_memory_mb = int(box.get("peak_memory_mb") or 0)
    forks = (f" (it reached the limit of {box.get('processes')} processes "
             f"{box['pids_max_hits']} times)" if box.get("pids_max_hits") else "")
    if box.get("oom_kills"):
        result.status = "memory"
        result.reason = (f"the notebook went over the memory limit ({box.get('memory_mb')} MiB, "
                         "its processes together) and was stopped" + forks)
        return result, None
    if status != "ok":
        result.reason += forks
        return result, None
    info = {}
    with contextlib.suppress(OSError, ValueError):
        info = json.loads((scratch / "result.json").read_text())
    if info.get("success") and executed.exists():
        found = integrity.scan_executed(executed)
        if found:
            result.status, result.reason = found[0], found[1] + forks
            return result, None
        slow = integrity.timed_out_cells(executed)
        if slow:  # that cell's error, as in nbgrader: the rest was graded
            result.reason = (f"{', '.join(slow[:3])} ran past the per-cell time limit and "
                             "was interrupted (an error in that cell)" + forks)
        return result, executed
    log = "\n".join([info.get("log") or "", info.get("error") or ""])
    with contextlib.suppress(OSError):
        log += "\n" + (scratch / "worker.log").read_text(errors="replace")[-200_000:]
    if "CellTimeoutError" in log or "Cell execution timed out" in log:
        result.status, result.reason = "timeout", "a cell ran past the per-cell time limit"
    elif "Timeout waiting for IOPub" in log or "Timeout waiting for execute reply" in log:
        result.status = "timeout"
        result.reason = ("a cell ran past the per-cell time limit and the kernel did not stop "
                         "when interrupted")
    elif "DeadKernelError" in log or "Kernel died" in log:
        result.status = "crash"
        result.reason = ("the kernel died while running the notebook (os._exit, a signal, "
                         "or a crash in native code)")
    else:
        text = info.get("error") or log
        last = [ln for ln in text.strip().splitlines() if ln.strip()][-1:] or ["no output"]
        result.status, result.reason = "crash", f"nbgrader could not grade it: {last[0][:300]}"
    result.reason += forks
    return result, None


def execute(course: Course, job: Job, template: Path, server: ForkServer,
            timeout_s: float, limits: Limits | None = None) -> tuple[Result, Path | None, Path]:
    """One submission on this machine, by ``server`` (pinned to its slot's CPUs)."""
    scratch = prepare_scratch(course.state / "jobs", job, template)
    status, reason, seconds = server.run(scratch, job.assignment, job.student,
                                         len(server.cpus), timeout_s, limits)
    return (*conclude(scratch, job, status, reason, seconds), scratch)

"""``autograde grade``: nbgrader's autograding, many submissions at once.

nbgrader grades one submission after another. Here each submission is one
**job**, and N jobs run at once:

1. *execute* (in parallel, one process per job): a scratch course holding
   only this assignment's master and a fresh gradebook, and this one
   submission; ``nbgrader autograde`` runs there, so the student's code never
   sees the class's gradebook or other submissions. Each of the N slots has a
   fork server (:class:`ForkServer`) that has imported nbgrader once and forks
   a fresh process per job. The job's processes are pinned to its slot's CPUs
   (``cores // N``, so a notebook that starts Ray sizes Ray to that share),
   carry a marker in their environment, and are all killed when the job ends,
   Ray's included. The kernel, where the student's code runs, is in a sandbox
   (:mod:`autograde.sandbox`: bubblewrap, an unprivileged user, cgroups, limits)
   that sees none of the course's private files; a submission that cannot be
   graded (broken file, tampered test cells) is ``invalid`` before it runs
   (:mod:`autograde.integrity`). Every submission gets a status, ``ok``,
   ``timeout``, ``memory``, ``crash`` or ``invalid``, and a reason.
2. *import* (one at a time, in this process): the executed notebook goes
   through the rest of ``nbgrader autograde`` against the real course:
   cells restored from the master (``OverwriteCells``), grades saved
   (``SaveAutoGrades``), late penalties assigned. Only execution is skipped,
   so the gradebook and ``autograded/`` hold exactly what ``nbgrader
   autograde`` would have put there, and formgrader, manual grading,
   ``generate_feedback`` and ``export`` work as usual.
3. *journal*: a small JSON record per submission under ``.autograde/journal``
   written after the import. A run that is interrupted (Ctrl-C, kill -9)
   and started again re-grades only what has no record for the submission's
   current content: nothing is lost, nothing is counted twice (grades are
   keyed by submission and cell, and re-importing overwrites them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import integrity, sandbox
from .course import Course, sha256_file
from .sandbox import Limits

__all__ = ["Job", "Limits", "Result", "grade", "journal", "plan"]

DEFAULT_NOTEBOOK_TIMEOUT_S = Limits.notebook_timeout_s  # wall time of one job
STATUSES = ("ok", "timeout", "memory", "crash", "invalid")


@dataclass
class Job:
    student: str
    assignment: str
    notebook: Path  # submitted/<student>/<assignment>/<assignment>.ipynb
    sha256: str
    problem: str = ""  # why it cannot be graded (found when planning): status invalid

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"


@dataclass
class Result:
    student: str
    assignment: str
    status: str  # one of STATUSES
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    reason: str = ""
    sha256: str = ""
    graded_at: str = ""
    cells: dict[str, float] = field(default_factory=dict)  # grade_id -> auto score
    node: str = ""  # the Ray node that ran it, when graded on a cluster

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"


# ---------------------------------------------------------------------------- journal
def _journal_path(course: Course, student: str, assignment: str) -> Path:
    return course.state / "journal" / student / f"{assignment}.json"


def journal(course: Course) -> list[Result]:
    """Every submission graded so far, as recorded after its import."""
    out = []
    for path in sorted((course.state / "journal").glob("*/*.json")):
        try:
            out.append(Result(**json.loads(path.read_text())))
        except (ValueError, TypeError):
            continue  # a record cut short by a crash: that submission is graded again
    return out


def _write_journal(course: Course, result: Result) -> None:
    path = _journal_path(course, result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(result), indent=1))
    os.replace(tmp, path)  # atomic: a record is whole or absent


# ---------------------------------------------------------------------------- planning
def plan(course: Course, assignments: list[str] | None = None,
         students: list[str] | None = None, force: bool = False) -> tuple[list[Job], list[Result]]:
    """(jobs to run, results already in the journal for the submissions' current content)."""
    names = assignments or course.assignments()
    for name in names:
        course.master(name)  # a clear error for an unknown assignment
    done = {(r.student, r.assignment): r for r in journal(course)}
    todo, kept = [], []
    root = course.root / "submitted"
    for folder in sorted(root.glob("*/*")) if root.exists() else []:
        student, assignment = folder.parent.name, folder.name
        if assignment not in names or (students and student not in students):
            continue
        if not folder.is_dir() and not folder.is_symlink():
            continue  # a stray file, not a submission
        nb = folder / f"{assignment}.ipynb"
        problem, sha = _problem(folder, nb)
        if problem:
            sha = "invalid:" + sha
        elif sha is None:
            sha = sha256_file(nb)
        previous = done.get((student, assignment))
        if previous and previous.sha256 == sha and not force:
            kept.append(previous)
        else:
            todo.append(Job(student, assignment, nb, sha, problem))
    if students:
        unknown = set(students) - {j.student for j in todo} - {r.student for r in kept}
        if unknown:
            raise ValueError(f"no submissions of {', '.join(sorted(unknown))} for "
                             f"{', '.join(names)} in {root}")
    return todo, kept


def _problem(folder: Path, nb: Path) -> tuple[str, str | None]:
    """(why the submission in ``folder`` cannot be graded, a fingerprint of what is there);
    ("", None) when its notebook is a plain file where nbgrader expects it."""
    import hashlib

    if folder.is_symlink() or folder.parent.is_symlink():
        return "the submission folder is a symbolic link: it is not followed", folder.name
    names = sorted(p.name for p in folder.iterdir())
    listing = hashlib.sha256("\0".join(names).encode()).hexdigest()
    if nb.is_symlink():
        return (f"{nb.name} is a symbolic link (to {os.readlink(nb)}), not a notebook: "
                "it is not followed"), listing
    if not nb.exists():
        others = [n for n in names if n.endswith(".ipynb")]
        if others:
            return (f"no {nb.name}; found {', '.join(others)} (renamed? a notebook is graded "
                    "under the assignment's name)"), listing
        return f"no {nb.name} in the submission", listing
    if not nb.is_file():
        return f"{nb.name} is not a file", listing
    return "", None


# ---------------------------------------------------------------------------- processes
def _marked_pids(marker: str) -> list[int]:
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
    return sandbox.kill_until_gone(lambda: _marked_pids(marker), rounds=5, pause_s=0.1)


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
def _template(course: Course, assignment: str, where: Path) -> Path:
    """A scratch course with only this assignment's master, released into a fresh gradebook."""
    root = where / assignment
    if (root / "gradebook.db").exists():
        return root
    shutil.copytree(course.root / "source" / assignment, root / "source" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    Course(root).release([assignment], log=lambda *_: None)
    shutil.rmtree(root / "release", ignore_errors=True)
    return root


def _prepare(scratch_parent: Path, job: Job, template: Path) -> Path:
    """A scratch course: the template (master + gradebook) and this one submission."""
    scratch = scratch_parent / f"{job.student}__{job.assignment}__{uuid.uuid4().hex[:8]}"
    shutil.copytree(template, scratch)
    target = scratch / "submitted" / job.student / job.assignment
    target.mkdir(parents=True)
    shutil.copy2(job.notebook, target / job.notebook.name)
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


def _launch(scratch: Path, assignment: str, student: str, cpus: list[int] | None,
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


def _job_env(owner: str, n_cpus: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "AUTOGRADE_JOB", sandbox.ENV)}
    env["AUTOGRADE_COURSE_STATE"] = owner  # a killed run's processes are found by this
    env["COURSE_CPUS"] = str(n_cpus)  # course_lib sizes Ray (and the rest) to this share
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ForkServer:
    """A ``python -m autograde.worker --serve`` pinned to one slot's CPUs: it imports
    nbgrader once and forks a fresh child per job (see :mod:`autograde.worker`).

    :meth:`run` has :func:`_launch`'s contract. A server that died is started again
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
        env = {"AUTOGRADE_JOB": marker, "COURSE_CPUS": str(n_cpus), sandbox.ENV: settings}
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

    def close(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.proc.stdout.close()
        self.proc = None


def _conclude(scratch: Path, job: Job, status: str, reason: str,
              seconds: float) -> tuple[Result, Path | None]:
    """The job's result, and its executed notebook when nbgrader ran it to the end and
    nothing went wrong (anything else scores 0, with the reason)."""
    result = Result(job.student, job.assignment, status, seconds=seconds, reason=reason,
                    sha256=job.sha256)
    executed = scratch / "autograded" / job.student / job.assignment / job.notebook.name
    box = {}
    with contextlib.suppress(OSError, ValueError):
        box = json.loads((scratch / "sandbox.json").read_text())
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


def _execute(course: Course, job: Job, template: Path, server: ForkServer,
             timeout_s: float, limits: Limits | None = None) -> tuple[Result, Path | None, Path]:
    """One submission on this machine, by ``server`` (pinned to its slot's CPUs)."""
    scratch = _prepare(course.state / "jobs", job, template)
    status, reason, seconds = server.run(scratch, job.assignment, job.student,
                                         len(server.cpus), timeout_s, limits)
    return (*_conclude(scratch, job, status, reason, seconds), scratch)


def _remote_job(archive: bytes, name: str, assignment: str, student: str, n_cpus: int,
                timeout_s: float, limits: dict | None = None) -> tuple[bytes, str, str, float, str]:
    """A Ray task: unpack a scratch course, grade it on this node, pack it back.
    Returns (archive, status, reason, seconds, node id)."""
    import io
    import tarfile
    import tempfile

    import ray

    with tempfile.TemporaryDirectory(prefix="autograde-remote-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        scratch = Path(tmp) / name
        status, reason, seconds = _launch(scratch, assignment, student, None, n_cpus,
                                          timeout_s, str(Path(tmp)), Limits.from_dict(limits))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for sub in ("result.json", "worker.log", "sandbox.json", "autograded"):
                if (scratch / sub).exists():
                    tar.add(scratch / sub, arcname=f"{name}/{sub}")
    return buf.getvalue(), status, reason, seconds, ray.get_runtime_context().get_node_id()


def _execute_on_ray(course: Course, job: Job, template: Path, n_cpus: int,
                    timeout_s: float,
                    limits: Limits | None = None) -> tuple[Result, Path | None, Path]:
    """One submission as a Ray task on the cluster at RAY_ADDRESS."""
    import io
    import tarfile

    import ray

    scratch = _prepare(course.state / "jobs", job, template)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(scratch, arcname=scratch.name)
    task = ray.remote(num_cpus=n_cpus, max_retries=0)(_remote_job)
    try:
        archive, status, reason, seconds, node = ray.get(task.remote(
            buf.getvalue(), scratch.name, job.assignment, job.student, n_cpus, timeout_s,
            dataclasses.asdict(limits or Limits())))
    except Exception as exc:  # noqa: BLE001 - a lost node or task: report, do not stop
        result = Result(job.student, job.assignment, "crash", reason=f"Ray task failed: {exc}",
                        sha256=job.sha256)
        return result, None, scratch
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(scratch.parent, filter="data")
    result, executed = _conclude(scratch, job, status, reason, seconds)
    result.node = node
    return result, executed, scratch


# ---------------------------------------------------------------------------- import
_IMPORT_LOCK = threading.Lock()


def _import(course: Course, job: Job, executed: Path, result: Result) -> Result:
    """The rest of ``nbgrader autograde`` (everything but execution) on the executed
    notebook, against the real course; then the journal record."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    staging_rel = Path(".autograde") / "staging"
    staging = course.root / staging_rel / job.student / job.assignment
    with _IMPORT_LOCK:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copy2(executed, staging / executed.name)
        stamp = job.notebook.parent / "timestamp.txt"
        if stamp.exists():
            shutil.copy2(stamp, staging / "timestamp.txt")
        api = course.api(**{
            "CourseDirectory.submitted_directory": str(staging_rel),
            "Autograde.sanitize_preprocessors": [DeduplicateIds, OverwriteKernelspec,
                                                 OverwriteCells, CheckCellMetadata],
            "Autograde.autograde_preprocessors": [IgnorePattern, ClearMetadataPreprocessor,
                                                  LimitOutput, SaveAutoGrades,
                                                  AssignLatePenalties, CheckCellMetadata],
        })
        with warnings.catch_warnings():  # SQLAlchemy's SAWarnings from inside nbgrader
            warnings.simplefilter("ignore")
            outcome = api.autograde(job.assignment, job.student, force=True, create=True)
        shutil.rmtree(staging, ignore_errors=True)
        if not outcome.get("success"):
            result.status = "crash"
            result.reason = ("nbgrader could not record the grades: "
                             + (outcome.get("error") or outcome.get("log") or "")[-500:])
            return result
        with course.gradebook() as gb:
            nb = gb.find_submission_notebook(job.assignment, job.assignment, job.student)
            result.cells = {g.name: float(g.auto_score or 0) for g in nb.grades
                            if g.auto_score is not None}
            result.score = float(nb.score)
            result.max_score = float(nb.max_score)
        result.graded_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        _write_journal(course, result)
    return result


def _record_failure(course: Course, job: Job, result: Result) -> Result:
    """A submission that could not be executed: 0 autograded points, recorded in the
    journal with the reason (``autograde report`` lists it). Nothing is written to the
    gradebook, which keeps no autograded copy of it; the maximum score comes from there."""
    with course.gradebook() as gb:
        try:
            result.max_score = float(sum(n.max_score for n in
                                         gb.find_assignment(job.assignment).notebooks))
        except Exception:  # noqa: BLE001 - a report must still be written
            pass
    result.graded_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _write_journal(course, result)
    return result


# ---------------------------------------------------------------------------- the driver
@contextlib.contextmanager
def _exclusive(course: Course) -> Iterator[None]:
    """One ``grade`` at a time per course; a previous run's leftovers are cleaned first."""
    course.state.mkdir(parents=True, exist_ok=True)
    with open(course.state / "grade.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another `autograde grade` is running on {course.root}") from None
        kill_marked(f"AUTOGRADE_COURSE_STATE={course.state}")  # a killed run's processes
        sandbox.remove_leftovers(str(course.state))  # and its jobs' cgroups
        shutil.rmtree(course.state / "jobs", ignore_errors=True)
        shutil.rmtree(course.state / "staging", ignore_errors=True)
        try:
            yield
        finally:
            shutil.rmtree(course.state / "jobs", ignore_errors=True)


class _Progress:
    """A one-line progress bar on a terminal; nothing when the output is not one."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.t0 = total, 0, time.perf_counter()
        self.stream = stream
        self.live = hasattr(stream, "isatty") and stream.isatty()

    def line(self) -> str:
        width = 30
        filled = int(width * self.done / max(1, self.total))
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        eta_s = f"{eta:4.0f} s left" if self.done else "   ? s left"
        return f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {eta_s}"

    def clear(self):
        if self.live:
            self.stream.write("\r" + " " * 70 + "\r")

    def draw(self):
        if self.live:
            self.stream.write("\r" + self.line())
            self.stream.flush()


def status_line(r: Result, i: int | None = None, n: int | None = None) -> str:
    where = f"[{i}/{n}] " if i is not None else ""
    score = f"{r.score:g}/{r.max_score:g}" if r.max_score else "-"
    extra = f"  {r.reason}" if r.status != "ok" and r.reason else ""
    return (f"{where}{r.student:<16} {r.assignment:<28} {score:>9}  {r.status:<7} "
            f"{r.seconds:6.1f} s{extra}")


def grade(course: Course, assignments: list[str] | None = None, students: list[str] | None = None,
          workers: int | None = None, force: bool = False,
          timeout_s: float | None = None,
          log: Callable[[str], None] = print, progress: bool = True,
          cluster: bool | None = None, cpus_per_job: int = 1,
          limits: Limits | None = None) -> list[Result]:
    """Autograde the collected submissions, ``workers`` at a time (default: the CPUs).

    Each runs in a sandbox (:mod:`autograde.sandbox`) with ``limits`` (default
    :class:`Limits`; ``timeout_s``, when given, is the per-notebook limit).

    With ``RAY_ADDRESS`` set (or ``cluster=True``), each submission is a Ray task of
    ``cpus_per_job`` CPUs on that cluster, and ``workers`` defaults to the cluster's CPUs
    divided by that. Returns one :class:`Result` per submission (those graded before and
    unchanged included, from the journal)."""
    cluster = bool(os.environ.get("RAY_ADDRESS")) if cluster is None else cluster
    if cluster:
        import ray

        if not ray.is_initialized():
            ray.init(log_to_driver=False, logging_level="ERROR")
        total = int(ray.cluster_resources().get("CPU", 1))
        workers = workers or max(1, total // cpus_per_job)
    workers = workers or len(cpu_slots(1)[0])
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    limits = limits or Limits.from_env()
    if timeout_s is not None:
        limits = dataclasses.replace(limits, notebook_timeout_s=timeout_s)
    timeout_s = limits.notebook_timeout_s
    names = assignments or course.assignments()
    course.ensure_released(names)
    with _exclusive(course), contextlib.ExitStack() as cleanup:
        jobs, kept = plan(course, names, students, force)
        if kept:
            log(f"{len(kept)} submission(s) already graded and unchanged (use --force to "
                "grade them again)")
        if not jobs:
            log("nothing to grade")
            return kept
        slots = cpu_slots(workers)
        templates = course.state / "jobs" / "templates"
        templates.mkdir(parents=True, exist_ok=True)
        servers: list[ForkServer] = []
        cleanup.callback(lambda: [server.close() for server in servers])
        free: queue.SimpleQueue[ForkServer] = queue.SimpleQueue()
        if not cluster:  # started first: their imports overlap the templates' making
            for i, cpus in enumerate(slots):
                servers.append(ForkServer(cpus, str(course.state),
                                          course.state / "jobs" / f"server-{i}.log"))
                servers[-1].start()
                free.put(servers[-1])
        for name in sorted({j.assignment for j in jobs}):
            _template(course, name, templates)
        log(f"grading {len(jobs)} submission(s) with {workers} worker(s), "
            + (f"{cpus_per_job} CPU(s) each, on the Ray cluster at "
               f"{os.environ.get('RAY_ADDRESS', 'ray.init()')}" if cluster else
               f"{len(slots[0])} CPU(s) each"))
        log(sandbox.describe(limits))
        bar = _Progress(len(jobs)) if progress else None

        stopping = threading.Event()

        def run(job: Job) -> Result:
            problem = job.problem or integrity.check_submission(job.notebook,
                                                                course.master(job.assignment))
            if problem:  # never executed: 0 points, with the reason
                return _record_failure(course, job, Result(
                    job.student, job.assignment, "invalid", reason=problem, sha256=job.sha256))
            if cluster:
                result, executed, scratch = _execute_on_ray(
                    course, job, templates / job.assignment, cpus_per_job, timeout_s, limits)
            else:
                server = free.get()  # at most `workers` jobs execute at once
                try:
                    result, executed, scratch = _execute(
                        course, job, templates / job.assignment, server, timeout_s, limits)
                finally:
                    free.put(server)
            try:
                if stopping.is_set():  # interrupted: record nothing, grade it next time
                    result.status, result.reason = "crash", "interrupted"
                    return result
                if executed is not None:
                    return _import(course, job, executed, result)
                return _record_failure(course, job, result)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)

        results = []
        t0 = time.perf_counter()
        # twice the threads: a thread busy importing (one at a time, under a lock) has
        # given its slot back, and another thread runs the next job on it meanwhile
        with ThreadPoolExecutor(max_workers=2 * workers) as pool:
            futures = {pool.submit(run, job): job for job in jobs}
            try:
                for future in as_completed(futures):
                    result = future.result()
                    results.append(result)
                    if bar:
                        bar.done += 1
                        bar.clear()
                    log(status_line(result, len(results), len(jobs)))
                    if bar:
                        bar.draw()
            except KeyboardInterrupt:
                stopping.set()
                for f in futures:
                    f.cancel()
                kill_marked(f"AUTOGRADE_COURSE_STATE={course.state}")
                if bar:
                    bar.clear()
                log(f"interrupted: {len(results)} of {len(jobs)} graded and recorded; run "
                    "`autograde grade` again to grade the rest")
                raise
        if bar:
            bar.clear()
        bad = [r for r in results if r.status != "ok"]
        log(f"graded {len(results)} submission(s) in {time.perf_counter() - t0:.0f} s"
            + (f"; {len(bad)} did not run to the end: "
               + ", ".join(f"{r.key} ({r.status})" for r in bad) if bad else ""))
        return kept + results

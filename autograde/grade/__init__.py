"""``autograde grade``: nbgrader's autograding, many submissions at once.

nbgrader grades one submission after another. Here each submission is one
**job**, and N jobs run at once, along a pipeline of four modules:

1. *plan* (:mod:`.plan`): which submissions to grade. The **journal**, a small
   JSON record per submission under ``.autograde/journal`` written after its
   grades are recorded, says which were graded, from which content, against
   which master and under which limits. A run that is interrupted (Ctrl-C,
   kill -9) and started again grades only what has no record for the
   submission's current content, master and limits: nothing is lost, nothing is
   counted twice (grades are keyed by submission and cell, and recording again
   overwrites them). A master fixed since (a hidden test, say) or other limits
   grade its submissions again.
2. *run* (:mod:`.run`, in parallel, one process per job): a scratch course
   holding only this assignment's master and a fresh gradebook, and this one
   submission; ``nbgrader autograde`` runs there, so the student's code never
   sees the class's gradebook or other submissions. Each of the N slots has a
   fork server that has imported nbgrader once and forks a fresh process per
   job, pinned to the slot's CPUs; every process a job started is killed when it
   ends, Ray's included. The kernel runs in a sandbox (:mod:`autograde.sandbox`);
   a submission's structure (test cells deleted, duplicated, moved or edited; solution
   cells that lost their metadata) is repaired from the master first
   (:mod:`autograde.repair`: what was repaired is in its feedback and the report); only a
   file that is not a notebook is ``invalid`` before it runs. Every submission
   gets a status, ``ok``, ``timeout``, ``memory``, ``crash`` or ``invalid``, and a
   reason. With ``--cluster`` the jobs are Ray tasks instead (:mod:`.remote`).
3. *record* (:mod:`.record`, one at a time, in this process): the executed
   notebook goes through the rest of ``nbgrader autograde`` against the real
   course (everything but execution), so the gradebook and ``autograded/`` hold
   exactly what ``nbgrader autograde`` would have put there; then the journal.
4. this module: the driver, :func:`grade`, one line per submission and a
   progress bar.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import queue
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .. import repair, sandbox
from ..course import Course
from ..errors import UsageError
from ..sandbox import Limits
from .plan import Job, Result, journal, limits_from_env, plan
from .record import record_failure, record_grades
from .remote import execute_on_ray
from .run import ForkServer, cpu_slots, execute, kill_marked, marked_pids
from .schedule import JobQueue

__all__ = ["Job", "Limits", "Result", "cpu_slots", "grade", "journal", "kill_marked",
           "marked_pids", "plan", "status_line"]

DEFAULT_NOTEBOOK_TIMEOUT_S = Limits.notebook_timeout_s  # wall time of one job


@contextlib.contextmanager
def _exclusive(course: Course) -> Iterator[None]:
    """One ``grade`` at a time per course; a previous run's leftovers are cleaned first."""
    course.state.mkdir(parents=True, exist_ok=True)
    with open(course.state / "grade.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another `autograde grade` is running on {course.root}; wait "
                             "for it to finish (or stop it) and run this again") from None
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
    if r.repairs:
        extra += f"  (repaired: {len(r.repairs)} fix{'es' if len(r.repairs) > 1 else ''})"
    return (f"{where}{r.student:<16} {r.assignment:<28} {score:>9}  {r.status:<7} "
            f"{r.seconds:6.1f} s{extra}")


def grade(course: Course, assignments: list[str] | None = None, students: list[str] | None = None,
          workers: int | None = None, force: bool = False,
          timeout_s: float | None = None,
          log: Callable[[str], None] = print, progress: bool = True,
          cluster: bool = False, cpus_per_job: int = 1,
          limits: Limits | None = None, unsandboxed: bool = False) -> list[Result]:
    """Autograde the collected submissions, ``workers`` at a time (default: the CPUs).

    Each runs in a sandbox (:mod:`autograde.sandbox`) with ``limits`` (default
    :class:`Limits` with ``AUTOGRADE_LIMITS`` on top; ``timeout_s``, when given, is the
    per-notebook limit).

    With ``cluster=True``, each submission is a Ray task of ``cpus_per_job`` CPUs on the
    cluster at ``RAY_ADDRESS`` (which must be set), and ``workers`` defaults to the
    cluster's CPUs divided by that; otherwise grading is local, ``RAY_ADDRESS`` or not.
    Assignments the gradebook does not know yet, or whose master changed since they were
    released, are released first.

    Where a protection of the sandbox is missing (:func:`autograde.sandbox.capabilities`),
    grading is refused with what is missing and how to get it, unless ``unsandboxed``
    (``--no-sandbox``: a trusted class, or a machine without Linux namespaces).

    Returns one :class:`Result` per submission (those graded before and unchanged
    included, from the journal)."""
    names = assignments or course.assignments()
    for name in names:
        course.master(name)  # a clear error for an unknown assignment
    missing = sandbox.capabilities().off
    if missing and not unsandboxed:
        raise UsageError("refusing to grade without the sandbox, whose protections keep "
                         "hostile code from the masters, the gradebook and the network: "
                         + "; ".join(missing) + ". Install what is missing (make sandbox "
                         "installs bubblewrap; the unprivileged user and the cgroups need "
                         "root), or pass --no-sandbox to grade a trusted class without them")
    if missing:
        log("sandbox: OFF (--no-sandbox): " + "; ".join(missing))
    limits = limits or limits_from_env()
    if timeout_s is not None:
        limits = dataclasses.replace(limits, notebook_timeout_s=timeout_s)
    timeout_s = limits.notebook_timeout_s
    if cluster:
        address = os.environ.get("RAY_ADDRESS")
        if not address:
            raise UsageError("grading on a Ray cluster (--cluster) needs RAY_ADDRESS, the "
                             "address of its head (e.g. RAY_ADDRESS=10.0.0.1:6379); without "
                             "--cluster, grading is local")
        import ray

        if not ray.is_initialized():
            ray.init(log_to_driver=False, logging_level="ERROR")
        total = int(ray.cluster_resources().get("CPU", 1))
        workers = workers or max(1, total // cpus_per_job)
    workers = workers or len(cpu_slots(1)[0])
    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    with _exclusive(course), contextlib.ExitStack() as cleanup:
        for name, why in course.ensure_released(names).items():
            log(f"released {name} again: {why}")
        jobs, kept = plan(course, names, students, force, limits)
        if kept:
            log(f"{len(kept)} submission(s) already graded and unchanged (use --force to "
                "grade them again)")
        regraded = Counter((j.assignment, j.regrade) for j in jobs if j.regrade)
        for (name, why), n in sorted(regraded.items()):
            log(f"{n} submission(s) of {name} regraded: {why}")
        if not jobs:
            log("nothing to grade")
            return kept
        slots = cpu_slots(workers)
        (course.state / "jobs").mkdir(parents=True, exist_ok=True)
        servers: list[ForkServer] = []
        cleanup.callback(lambda: [server.close() for server in servers])
        cleanup.callback(lambda: [server.hang_up() for server in servers])  # all at once, first
        free: queue.SimpleQueue[ForkServer] = queue.SimpleQueue()
        if not cluster:  # started first: their imports overlap the templates' making
            for i, cpus in enumerate(slots):
                servers.append(ForkServer(cpus, str(course.state),
                                          course.state / "jobs" / f"server-{i}.log"))
                servers[-1].start()
                free.put(servers[-1])
        made: dict[str, Path] = {}
        making = threading.Lock()

        def template(name: str) -> Path:  # made (if release did not) when first needed
            with making:
                if name not in made:
                    made[name] = course.template(name)
                return made[name]

        log(f"grading {len(jobs)} submission(s) with {workers} worker(s), "
            + (f"{cpus_per_job} CPU(s) each, on the Ray cluster at "
               f"{os.environ.get('RAY_ADDRESS')}" if cluster else
               f"{len(slots[0])} CPU(s) each"))
        log(sandbox.describe(limits))
        bar = _Progress(len(jobs)) if progress else None

        stopping = threading.Event()
        todo = JobQueue(jobs, history=journal(course))

        def run_next() -> Result:
            """The next job from the queue, the longest expected first, once a slot is free."""
            server = None if cluster else free.get()  # at most `workers` execute at once
            job = todo.take()
            try:
                problem = job.problem or repair.unreadable(job.notebook)
                if problem:  # never executed: 0 points, with the reason
                    if server:
                        free.put(server)
                        server = None
                    return record_failure(course, job, job.result("invalid", reason=problem))
                if cluster:
                    result, executed, scratch = execute_on_ray(
                        course, job, template(job.assignment), cpus_per_job, timeout_s, limits)
                else:
                    result, executed, scratch = execute(
                        course, job, template(job.assignment), server, timeout_s, limits)
            finally:
                if server:
                    free.put(server)
            todo.done(job, result)
            try:
                if stopping.is_set():  # interrupted: record nothing, grade it next time
                    result.status, result.reason = "crash", "interrupted"
                    return result
                if executed is not None:
                    return record_grades(course, job, executed, result)
                return record_failure(course, job, result)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)

        results = []
        t0 = time.perf_counter()
        # twice the threads: a thread busy recording (one at a time, under a lock) has
        # given its slot back, and another thread runs the next job on it meanwhile
        with ThreadPoolExecutor(max_workers=2 * workers) as pool:
            futures = [pool.submit(run_next) for _ in jobs]
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

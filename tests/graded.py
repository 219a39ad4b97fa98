"""Every master graded once per test session, as a student's submission is graded.

The tests that need "the master runs top to bottom, its tests pass, it scores full
marks, it writes nothing on stderr and stays within Binder's limits" read one run:
each master is submitted, as it is, by a student called ``master`` to a course
holding all the masters, and ``autograde grade`` grades the class through the
course's own sandboxed path (:mod:`autograde.grade`), as many at a time as there
are CPUs (two on the course's CI machine). Each submission runs in a slot of
**one CPU** (pinned, with a CPU quota of one CPU; ``COURSE_CPUS=1``, so Ray sizes
itself to it, as Binder's ``start`` does) and a memory cgroup of **2 GiB**
(:class:`autograde.sandbox.Limits`, ``memory_mb``): Binder's limits. The peak memory
is the cgroup's own record (``memory.max_usage_in_bytes`` on cgroup v1,
``memory.peak`` on v2), not a sample.

Without the sandbox (no root, no cgroups) the masters are graded with
``--no-sandbox`` and the tests of Binder's limits skip, saying why; under CI
(``AUTOGRADE_REQUIRE_SANDBOX=1``) that is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograde import sandbox
from autograde.course import SOURCE_DIR, Course, assignments
from autograde.grade import Result, cpu_slots, grade, marked_pids
from autograde.sandbox import Limits

MASTER = "master"  # the student whose submissions are the masters themselves
LIMITS = Limits()  # Binder's: 2 GiB for a notebook and everything it starts


@dataclass
class GradedClass:
    course: Course
    results: dict[tuple[str, str], Result]  # (student, assignment) -> its result
    seconds: float  # the whole run
    sandbox_off: str  # "" when sandboxed, else what was off
    cpus_per_job: int
    leftovers: list[int] = field(default_factory=list)  # processes left after grading

    def result(self, name: str, student: str = MASTER) -> Result:
        return self.results[(student, name)]

    def autograded_cells(self, name: str, student: str = MASTER) -> dict[str, tuple[float, float]]:
        """{grade id: (points, max points)} of the autograded cells, from the gradebook."""
        with self.course.gradebook() as gb:
            nb = gb.find_submission_notebook(name, name, student)
            return {g.name: (float(g.auto_score), float(g.max_score)) for g in nb.grades
                    if g.auto_score is not None}

    def executed(self, name: str, student: str = MASTER) -> nbformat.NotebookNode:
        """The graded notebook, as ``autograded/`` holds it."""
        path = self.course.autograded(student, name) / f"{name}.ipynb"
        return nbformat.read(path, as_version=4)


def grade_the_masters(root: Path) -> GradedClass:
    """Grade every master once, in a course made under ``root``."""
    names = assignments()
    for name in names:
        shutil.copytree(SOURCE_DIR / name, root / "source" / name)
    course = Course(root)
    course.release(log=lambda *_: None)
    for name in names:
        target = course.submitted(MASTER, name)
        target.mkdir(parents=True)
        shutil.copy2(course.master(name), target / f"{name}.ipynb")
    off = "; ".join(sandbox.capabilities().off)
    if off and os.environ.get("AUTOGRADE_REQUIRE_SANDBOX") == "1":
        raise RuntimeError(f"AUTOGRADE_REQUIRE_SANDBOX=1, but the sandbox is off: {off}")
    workers = len(os.sched_getaffinity(0))  # slots of one CPU each (cpu_slots)
    t0 = time.perf_counter()
    results = grade(course, workers=workers, log=lambda *_: None, progress=False,
                    limits=LIMITS, unsandboxed=bool(off))
    seconds = time.perf_counter() - t0
    return GradedClass(course, {(r.student, r.assignment): r for r in results}, seconds, off,
                       len(cpu_slots(workers)[0]),
                       marked_pids(f"AUTOGRADE_COURSE_STATE={course.state}"))

"""Grading throughput: plain sequential ``nbgrader autograde`` vs ``autograde grade -j W``.

Not a pass/fail test: run it by hand and read the numbers.

    .venv/bin/python benchmarks/grading_throughput.py --n 12 --workers 2

Makes a class of N synthetic submissions from the masters (a third fully
correct, a third partly wrong, a third blank), puts the same class into two
copies of a course, then, in one run, times nbgrader's own sequential
``nbgrader autograde ASSIGNMENT`` on one copy and ``autograde grade --workers
W`` on the other, prints submissions per minute for each and their ratio, and
checks that every cell's score is identical in the two gradebooks.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograde import synthetic  # noqa: E402
from autograde.course import AUTOGRADE_DIR, SOURCE_DIR, Course  # noqa: E402
from autograde.grade import grade  # noqa: E402


def make_class(course: Course, assignments: list[str], n: int) -> None:
    for i in range(n):
        name = assignments[i % len(assignments)]
        kind = ("correct", "partly_wrong", "blank")[(i // len(assignments)) % 3]
        if kind == "correct":
            nb = synthetic.correct(name)
        elif kind == "blank":
            nb = synthetic.blank(name)
        else:
            nb = synthetic.partly_wrong(name, synthetic.exercises(name)[::2])
        synthetic.write(nb, course.submitted(f"student{i:03d}", name) / f"{name}.ipynb")


def cell_scores(course: Course) -> dict:
    with course.gradebook() as gb:
        return {(s.student.id, a.name, g.name): float(g.score)
                for a in gb.assignments for s in gb.assignment_submissions(a.name)
                for nb in s.notebooks for g in nb.grades}


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat (0, 0 elsewhere)."""
    try:
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cores_busy(start: tuple[int, int], cores: int) -> str:
    """How many of the cores were busy, on average, since ``start``."""
    busy, total = (b - a for a, b in zip(start, cpu_ticks(), strict=True))
    return f"{cores * busy / total:.2f} of {cores} cores busy" if total else "cores busy: ?"


def main() -> int:
    cores = len(os.sched_getaffinity(0))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=12, help="submissions (default 12)")
    ap.add_argument("--workers", type=int, default=cores, help=f"default: the CPUs ({cores})")
    ap.add_argument("--assignments", nargs="*",
                    default=["01_metrics_and_models", "02_dependencies_and_scaling"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        courses = {}
        for label in ("nbgrader", "parallel"):
            root = Path(tmp) / label
            for name in args.assignments:
                shutil.copytree(SOURCE_DIR / name, root / "source" / name)
            course = Course(root)
            course.release(log=lambda *_: None)
            make_class(course, args.assignments, args.n)
            courses[label] = course
        print(f"{args.n} submissions of {', '.join(args.assignments)}; {cores} CPU(s)")

        seq = courses["nbgrader"]
        t0, c0 = time.perf_counter(), cpu_ticks()
        for name in args.assignments:
            subprocess.run([sys.executable, "-m", "nbgrader", "autograde", name,
                            f"--CourseDirectory.root={seq.root}",
                            f"--CourseDirectory.db_url={seq.db_url}",
                            f"--Exchange.root={seq.state / 'exchange'}"],
                           cwd=AUTOGRADE_DIR, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_seq = time.perf_counter() - t0
        busy_seq = cores_busy(c0, cores)

        par = courses["parallel"]
        t0, c0 = time.perf_counter(), cpu_ticks()
        grade(par, args.assignments, workers=args.workers, log=lambda *_: None, progress=False)
        t_par = time.perf_counter() - t0
        busy_par = cores_busy(c0, cores)

        a, b = cell_scores(seq), cell_scores(par)
        same = a == b and len(a) > 0
        print(f"nbgrader autograde (sequential): {t_seq:7.1f} s  "
              f"{60 * args.n / t_seq:6.2f} submissions/min  ({busy_seq})")
        print(f"autograde grade --workers {args.workers}:    {t_par:7.1f} s  "
              f"{60 * args.n / t_par:6.2f} submissions/min  ({busy_par})")
        print(f"speed-up: {t_seq / t_par:.2f} x  (target >= {0.85 * args.workers:.2f} x)")
        print(f"scores identical: {same} ({len(a)} graded cells)")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

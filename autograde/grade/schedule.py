"""Which job runs next: the longest expected first, learned as the run goes.

With N slots and jobs of unequal length (notebook 02 takes half as long again as
notebook 01), the order matters at the end of a run: a long job started last keeps
one slot busy while the others sit idle. Taking the longest expected job first
(the classic LPT rule) leaves short jobs for the end, where they fill the slots
evenly.

A job's expected time is its assignment's: the median of the times its
submissions took to run to the end in this run so far, else in earlier runs
(the journal), else unknown, which goes first, the assignment with the fewest
jobs handed out first: each assignment's time is learned from its first jobs,
and among equals the plan's order is kept.
"""

from __future__ import annotations

import statistics
import threading
from collections import defaultdict
from collections.abc import Iterable

from .plan import Job, Result

__all__ = ["JobQueue"]


class JobQueue:
    """Jobs handed out one at a time, the longest expected first (thread-safe).

    >>> a = [Job(f"s{i}", "short", None, "") for i in range(2)]
    >>> b = [Job(f"s{i}", "long", None, "") for i in range(2)]
    >>> q = JobQueue(a + b, history=[Result("x", "short", "ok", seconds=5),
    ...                              Result("x", "long", "ok", seconds=9)])
    >>> [q.take().assignment for _ in range(4)]
    ['long', 'long', 'short', 'short']
    >>> q.take() is None
    True
    """

    def __init__(self, jobs: Iterable[Job], history: Iterable[Result] = ()):
        self._left = list(jobs)
        self._seconds: dict[str, list[float]] = defaultdict(list)  # this run's
        self._before: dict[str, list[float]] = defaultdict(list)  # earlier runs'
        for r in history:
            if r.status == "ok" and r.seconds > 0:
                self._before[r.assignment].append(r.seconds)
        self._taken: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._left)

    def expected(self, assignment: str) -> float:
        """Seconds a job of ``assignment`` is expected to take (``inf``: unknown)."""
        seen = self._seconds.get(assignment) or self._before.get(assignment)
        return statistics.median(seen) if seen else float("inf")

    def take(self) -> Job | None:
        """The next job, or None when none are left."""
        with self._lock:
            if not self._left:
                return None
            guess = {name: self.expected(name) for name in {j.assignment for j in self._left}}
            # max() keeps the first of equals: the plan's order among equally long jobs
            job = max(self._left, key=lambda j: (guess[j.assignment], -self._taken[j.assignment]))
            self._left.remove(job)
            self._taken[job.assignment] += 1
            return job

    def done(self, job: Job, result: Result) -> None:
        """``job`` ended; a time it ran to the end (``ok``) teaches its assignment's."""
        with self._lock:
            if result.status == "ok" and result.seconds > 0:
                self._seconds[job.assignment].append(result.seconds)

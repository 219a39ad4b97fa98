"""Item analysis of an assignment's test cells: how hard each is, how well it tells strong
from weak submissions, and what the class got wrong.

Per test cell, over the submissions that ran to the end:

* **pass rate**: the share with full marks on the cell;
* **discrimination**, two classical measures (e.g. Crocker & Algina, *Introduction to
  Classical and Modern Test Theory*, 1986, ch. 14):
  - the **point-biserial** correlation between passing the cell (1/0) and the rest of the
    score (the points of the assignment's other test cells, so a cell does not correlate
    with itself): near +1 the cell is passed by exactly those who do well elsewhere; near
    0 it says nothing about the rest; negative, **strong submissions fail it and weak ones
    pass it**, the mark of a broken or misleading test (a wrong expected value, a check a
    stub passes, a tolerance only a sloppy answer meets);
  - **upper minus lower**: the pass rate of the best 27 % by the rest of the score minus that
    of the worst 27 %;
* **flagged** when both are negative (with at least :data:`MIN_SUBMISSIONS` submissions),
  **low** when the point-biserial is under :data:`LOW`; a cell everyone passes (or fails)
  has no discrimination to measure, and says so;
* the most frequent **failing messages**, numbers set aside to group them (``expected 4,
  got 5`` and ``expected 7, got 9`` are one message), with their counts and one example.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["LOW", "MIN_SUBMISSIONS", "ItemStats", "analyse", "message_shape",
           "point_biserial", "upper_minus_lower"]

MIN_SUBMISSIONS = 5  # fewer: the discrimination is shown, never flagged
LOW = 0.2  # a point-biserial under this: low discrimination
GROUP = 0.27  # upper and lower groups: 27 % each

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def message_shape(message: str) -> str:
    """A failing message with its numbers replaced by ``#``, to group messages that differ
    only in the values of a case.

    >>> message_shape("speedup(10, 2.5) returned 4.0, expected 4e0 (case 3)")
    'speedup(#, #) returned #, expected # (case #)'
    """
    return _NUMBER.sub("#", message)


def point_biserial(passed: list[int], rest: list[float]) -> float | None:
    """Pearson's correlation of 0/1 ``passed`` with ``rest``; None when either is constant.

    >>> round(point_biserial([1, 1, 0, 0], [9, 7, 3, 1]), 3)
    0.949
    >>> point_biserial([1, 1, 1], [3, 2, 1]) is None
    True
    """
    n = len(passed)
    if n < 2:
        return None
    mp, mr = sum(passed) / n, sum(rest) / n
    sp = sum((p - mp) ** 2 for p in passed)
    sr = sum((r - mr) ** 2 for r in rest)
    if sp == 0 or sr == 0:
        return None
    cov = sum((p - mp) * (r - mr) for p, r in zip(passed, rest, strict=True))
    return cov / math.sqrt(sp * sr)


def upper_minus_lower(passed: list[int], rest: list[float], share: float = GROUP
                      ) -> float | None:
    """Pass rate of the top ``share`` by ``rest`` minus that of the bottom ``share`` (at
    least one submission each; None with fewer than 2 submissions). Ties in ``rest`` are
    split by the order given.

    >>> upper_minus_lower([0, 0, 1, 1], [9, 7, 3, 1])
    -1.0
    """
    n = len(passed)
    if n < 2:
        return None
    k = max(1, round(share * n))
    order = sorted(range(n), key=lambda i: rest[i])
    low, high = order[:k], order[-k:]
    return sum(passed[i] for i in high) / k - sum(passed[i] for i in low) / k


@dataclass
class ItemStats:
    cell: str
    points: float
    n: int  # submissions that ran to the end
    passed: int  # of those, with full marks on the cell
    r_pb: float | None  # point-biserial with the rest of the score
    d: float | None  # upper minus lower
    messages: list[tuple[str, int, str]] = field(default_factory=list)  # (shape, count, example)

    @property
    def rate(self) -> float:
        return self.passed / self.n if self.n else 0.0

    @property
    def flagged(self) -> bool:
        return (self.n >= MIN_SUBMISSIONS and self.r_pb is not None and self.d is not None
                and self.r_pb < 0 and self.d < 0)

    @property
    def verdict(self) -> str:
        if self.n == 0:
            return "no submission ran to the end"
        if self.r_pb is None:
            return ("everyone passed: no discrimination to measure" if self.passed == self.n
                    else "everyone failed: no discrimination to measure" if not self.passed
                    else "the rest of the score does not vary")
        if self.flagged:
            return "NEGATIVE: strong submissions fail it, weak ones pass it; check the test"
        if self.n < MIN_SUBMISSIONS:
            return f"too few submissions to judge (fewer than {MIN_SUBMISSIONS})"
        if self.r_pb < LOW:
            return "low: passing it says little about the rest"
        return "good"


def analyse(cells: dict[str, dict[str, float]], points: dict[str, float],
            messages: dict[str, dict[str, str]] | None = None, top: int = 3
            ) -> list[ItemStats]:
    """Item statistics of every test cell in ``points`` ({grade_id: points}, in order).

    ``cells`` is {student: {grade_id: score}} of the submissions that ran to the end (a
    missing cell scores 0); ``messages`` {student: {grade_id: failing message}}."""
    messages = messages or {}
    students = sorted(cells)
    totals = {s: sum(cells[s].get(g, 0.0) for g in points) for s in students}
    out = []
    for gid, pts in points.items():
        got = [cells[s].get(gid, 0.0) for s in students]
        passed = [int(pts > 0 and g >= pts) for g in got]
        rest = [totals[s] - g for s, g in zip(students, got, strict=True)]
        groups: dict[str, list[str]] = {}
        for s, ok in zip(students, passed, strict=True):
            if not ok:
                text = messages.get(s, {}).get(gid) or "(no message recorded)"
                groups.setdefault(message_shape(text), []).append(text)
        common = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
        out.append(ItemStats(gid, pts, len(students), sum(passed),
                             point_biserial(passed, rest), upper_minus_lower(passed, rest),
                             [(shape, len(ex), Counter(ex).most_common(1)[0][0])
                              for shape, ex in common]))
    return out

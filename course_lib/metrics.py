"""Measuring time and memory: the harness every notebook uses.

A measurement is never one number. :func:`measure` warms the code up, picks
how many calls to time together so that the clock's resolution does not
matter, repeats, and keeps every repeat, so that a notebook can show the
median, the minimum and the spread.

>>> m = measure(sum, range(1000), repeat=5)
>>> m.repeat, len(m.times)
(5, 5)
>>> m.min <= m.median <= m.max
True
"""

from __future__ import annotations

import math
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Measurement",
    "Timer",
    "format_bytes",
    "format_time",
    "measure",
    "peak_allocation",
    "time_calls",
]

_TIME_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))


def format_time(seconds: float, digits: int = 3) -> str:
    """Format a duration in seconds with the unit that suits it.

    >>> format_time(0.00123)
    '1.23 ms'
    >>> format_time(2.5)
    '2.5 s'
    >>> format_time(4.2e-8)
    '42 ns'
    """
    seconds = float(seconds)
    if not math.isfinite(seconds):
        return f"{seconds} s"
    if seconds == 0:
        return "0 s"
    for unit, scale in _TIME_UNITS:
        if abs(seconds) >= scale:
            return f"{seconds / scale:.{digits}g} {unit}"
    return f"{seconds / 1e-9:.{digits}g} ns"


def format_bytes(n: float, digits: int = 3) -> str:
    """Format a number of bytes in binary units (KiB = 1024 B).

    >>> format_bytes(1536)
    '1.5 KiB'
    >>> format_bytes(8 * 1024**2)
    '8 MiB'
    >>> format_bytes(12)
    '12 B'
    """
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.{digits}g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Measurement:
    """Repeated timings of one piece of code.

    ``times`` holds one value per repeat, in **seconds per call** (each repeat
    timed ``number`` calls together and divided by ``number``).

    >>> m = Measurement("f", (0.003, 0.001, 0.002), number=10)
    >>> m.median, m.min, m.max
    (0.002, 0.001, 0.003)
    >>> m
    Measurement(f: median 2 ms, min 1 ms, max 3 ms; 3 repeats x 10 calls)
    """

    name: str
    times: tuple[float, ...]
    number: int = 1

    def __post_init__(self):
        if not self.times:
            raise ValueError("Measurement needs at least one time, got times=()")

    @property
    def repeat(self) -> int:
        """How many repeats were timed."""
        return len(self.times)

    @property
    def median(self) -> float:
        """Median seconds per call: the figure to quote."""
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        """Fastest repeat, seconds per call: the least disturbed run."""
        return min(self.times)

    @property
    def max(self) -> float:
        """Slowest repeat, seconds per call."""
        return max(self.times)

    @property
    def mean(self) -> float:
        """Mean seconds per call (pulled up by outliers; prefer the median)."""
        return statistics.fmean(self.times)

    @property
    def spread(self) -> float:
        """(max - min) / median: 0.1 means the repeats differ by 10 % of the median."""
        med = self.median
        return (self.max - self.min) / med if med > 0 else 0.0

    def per_item(self, n_items: float) -> float:
        """Median seconds per item when one call processes ``n_items`` items."""
        if n_items <= 0:
            raise ValueError(f"n_items must be > 0, got {n_items!r}")
        return self.median / n_items

    def throughput(self, n_items: float) -> float:
        """Items per second at the median time, when one call processes ``n_items`` items."""
        return n_items / self.median

    def __repr__(self) -> str:
        return (
            f"Measurement({self.name}: median {format_time(self.median)}, "
            f"min {format_time(self.min)}, max {format_time(self.max)}; "
            f"{self.repeat} repeats x {self.number} calls)"
        )


def _name_of(fn: Callable) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def measure(
    fn: Callable,
    *args,
    repeat: int = 7,
    warmup: int = 1,
    number: int | None = None,
    min_repeat_time: float = 0.02,
    name: str | None = None,
    **kwargs,
) -> Measurement:
    """Time ``fn(*args, **kwargs)``: warm up, then ``repeat`` timed repeats.

    Parameters
    ----------
    repeat : int
        Timed repeats (>= 1). Each becomes one entry of ``Measurement.times``.
    warmup : int
        Untimed calls first (caches, lazy imports, JIT compilation).
    number : int, optional
        Calls per repeat. By default, chosen so that one repeat lasts at least
        ``min_repeat_time`` seconds, as :mod:`timeit` does, so that a 100 ns
        call is not drowned by the clock's own cost.

    Returns a :class:`Measurement` in seconds per call.

    >>> m = measure(sorted, [3, 1, 2], repeat=3, number=100)
    >>> m.number, m.repeat
    (100, 3)
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r}")
    if not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be an int >= 1, got {repeat!r}")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}")
    if number is not None and (not isinstance(number, int) or number < 1):
        raise ValueError(f"number must be None or an int >= 1, got {number!r}")

    clock = time.perf_counter
    for _ in range(warmup):
        fn(*args, **kwargs)

    def run(k: int) -> float:
        t0 = clock()
        for _ in range(k):
            fn(*args, **kwargs)
        return clock() - t0

    if number is None:
        number = 1
        while True:
            elapsed = run(number)
            if elapsed >= min_repeat_time or number >= 10**7:
                break
            # Aim a little past the target in one step when we can estimate it.
            grow = min_repeat_time / elapsed * 1.2 if elapsed > 0 else 10
            number = max(number * 2, math.ceil(number * min(grow, 100)))
    times = tuple(run(number) / number for _ in range(repeat))
    return Measurement(name or _name_of(fn), times, number)


def time_calls(fn: Callable, *args, n: int = 100, warmup: int = 1, **kwargs) -> list[float]:
    """Seconds taken by each of ``n`` separate calls: latency samples.

    Unlike :func:`measure`, every call is timed on its own, so the result shows
    the tail (the slow calls) that an average hides.

    >>> samples = time_calls(sum, range(100), n=20)
    >>> len(samples), all(s > 0 for s in samples)
    (20, True)
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    for _ in range(warmup):
        fn(*args, **kwargs)
    clock = time.perf_counter
    out = []
    for _ in range(n):
        t0 = clock()
        fn(*args, **kwargs)
        out.append(clock() - t0)
    return out


def peak_allocation(fn: Callable, *args, **kwargs) -> int:
    """Peak bytes newly allocated while ``fn(*args, **kwargs)`` runs.

    Uses :mod:`tracemalloc`, which sees Python objects and numpy's array
    buffers, so it shows the temporaries an expression creates.

    >>> import numpy as np
    >>> x = np.ones(1_000_000)
    >>> peak_allocation(lambda: x * 2) >= x.nbytes      # a new 8 MB array
    True
    >>> peak_allocation(np.multiply, x, 2, out=x) < 1000  # in place: no new buffer
    True
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        fn(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return max(0, peak - base)


class Timer:
    """Context manager that measures wall-clock time of a block, in seconds.

    >>> with Timer() as t:
    ...     _ = sum(range(10_000))
    >>> t.elapsed > 0
    True
    """

    def __init__(self, label: str | None = None):
        self.label = label
        self.start: float | None = None
        self.elapsed: float | None = None

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.elapsed = time.perf_counter() - self.start

    def __repr__(self) -> str:
        what = f"{self.label}: " if self.label else ""
        if self.elapsed is None:
            return f"Timer({what}running)"
        return f"Timer({what}{format_time(self.elapsed)})"

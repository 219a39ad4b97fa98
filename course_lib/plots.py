"""The course's figure style and its recurring charts.

matplotlib is imported inside the functions, so ``import course_lib`` stays
cheap; nothing here changes matplotlib's global state: the style applies to
the figures these functions make (``with style():`` applies it to your own).

Each chart takes an optional ``ax`` and returns the ``Axes`` it drew on.

>>> ax = speedup_plot([1, 2, 4], [1.0, 1.8, 3.1], label="measured")
>>> [line.get_label() for line in ax.get_lines()]
['ideal (S = P)', 'measured']
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["COLORS", "bar_chart", "gantt", "loglog_scaling", "new_axes", "speedup_plot", "style"]

# A colour-blind-safe cycle (Okabe & Ito, 2008).
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.frameon": False,
    "lines.linewidth": 2,
    "lines.markersize": 6,
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Apply the course style to the figures made inside the block.

    >>> import matplotlib.pyplot as plt
    >>> with style():
    ...     fig, ax = plt.subplots()
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    from cycler import cycler

    with plt.rc_context({**STYLE, "axes.prop_cycle": cycler(color=COLORS)}):
        yield


def new_axes(ax=None, figsize: tuple[float, float] | None = None):
    """Return ``ax`` if given, else a new styled ``Axes``."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    with style():
        _, ax = plt.subplots(figsize=figsize or STYLE["figure.figsize"])
    return ax


def _as_1d(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, "
                         f"got shape {arr.shape}")
    return arr


def speedup_plot(P: Sequence[float], speedups: Sequence[float], ax=None, label: str = "measured",
                 ideal: bool = True, title: str = "Speedup vs workers"):
    """Speedup S(P) = T(1)/T(P) against the number of workers P, with the ideal S = P.

    Call again with the same ``ax`` to add more series (models, measurements).
    """
    P = _as_1d(P, "P")
    S = _as_1d(speedups, "speedups")
    if P.shape != S.shape:
        raise ValueError(f"P and speedups must have the same length, got {P.size} and {S.size}")
    ax = new_axes(ax)
    with style():
        if ideal:
            ax.plot(P, P, linestyle="--", color="grey", linewidth=1, label="ideal (S = P)")
        ax.plot(P, S, marker="o", label=label)
        ax.set_xlabel("workers P")
        ax.set_ylabel("speedup S(P) = T(1) / T(P)")
        ax.set_title(title)
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.legend()
    return ax


def gantt(intervals: Sequence[tuple], ax=None, title: str = "Timeline", unit: str = "s"):
    """Gantt chart: one row per lane (worker, device, stream), one bar per busy interval.

    ``intervals``: sequence of ``(lane, start, end)`` or ``(lane, start, end, label)``;
    ``lane`` is any hashable (rows are ordered by first appearance), times are in ``unit``.

    >>> ax = gantt([("w0", 0, 2, "A"), ("w1", 0, 1, "B"), ("w1", 1, 3, "C")])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['w0', 'w1']
    """
    rows: dict = {}
    bars = []
    for i, item in enumerate(intervals):
        if len(item) not in (3, 4):
            raise ValueError(f"intervals[{i}] must be (lane, start, end[, label]), got {item!r}")
        lane, start, end = item[:3]
        label = item[3] if len(item) == 4 else None
        if not end >= start:
            raise ValueError(f"intervals[{i}] ends before it starts: {item!r}")
        rows.setdefault(lane, len(rows))
        bars.append((rows[lane], float(start), float(end), label))
    ax = new_axes(ax)
    with style():
        for row, start, end, label in bars:
            color = COLORS[row % len(COLORS)]
            ax.barh(row, end - start, left=start, height=0.6, color=color, edgecolor="white")
            if label is not None:
                ax.text((start + end) / 2, row, str(label), ha="center", va="center",
                        color="white", fontsize=9, fontweight="bold")
        ax.set_yticks(range(len(rows)), [str(lane) for lane in rows])
        ax.invert_yaxis()
        ax.set_xlabel(f"time ({unit})")
        ax.set_title(title)
        ax.grid(axis="y", visible=False)
    return ax


def loglog_scaling(x: Sequence[float], y: Sequence[float], ax=None, label: str = "measured",
                   xlabel: str = "problem size n", ylabel: str = "time (s)",
                   slopes: Sequence[float] = (), title: str = "Scaling"):
    """Log-log plot of ``y`` against ``x``, with optional guide lines of given slopes.

    A straight line of slope k on log-log axes means y grows like x**k; the
    guides (anchored at the first point) make that easy to read.

    >>> ax = loglog_scaling([1e3, 1e4, 1e5], [1e-5, 1e-4, 1e-3], slopes=[1])
    >>> ax.get_xscale(), ax.get_yscale()
    ('log', 'log')
    """
    x = _as_1d(x, "x")
    y = _as_1d(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be > 0 on log-log axes")
    ax = new_axes(ax)
    with style():
        ax.loglog(x, y, marker="o", label=label)
        for k in slopes:
            ax.loglog(x, y[0] * (x / x[0]) ** k, linestyle=":", color="grey", linewidth=1,
                      label=f"slope {k:g}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend()
    return ax


def bar_chart(labels: Sequence[str], values: Sequence[float], ax=None, ylabel: str = "",
              title: str = "", fmt: str = "{:.3g}", log: bool = False):
    """Bars with their values written on top: comparisons of a few measurements.

    >>> ax = bar_chart(["float64", "float32"], [8, 4], ylabel="bytes per element")
    >>> len(ax.patches)
    2
    """
    values = _as_1d(values, "values")
    if len(labels) != values.size:
        raise ValueError(f"labels and values must have the same length, got {len(labels)} "
                         f"and {values.size}")
    ax = new_axes(ax)
    with style():
        bars = ax.bar([str(s) for s in labels], values, color=COLORS[: len(labels)])
        if log:
            from matplotlib.ticker import NullFormatter

            if np.any(values <= 0):
                raise ValueError("values must be > 0 when log=True")
            ax.set_yscale("log")
            ax.set_ylim(values.min() / 3, values.max() * 2)
            ax.yaxis.set_minor_formatter(NullFormatter())
        for bar, v in zip(bars, values, strict=True):
            ax.annotate(fmt.format(v), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=9)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="x", visible=False)
    return ax

"""Scaling experiments with processes, and the Amdahl/Gustafson explorer.

:func:`run_scaling` measures **strong scaling** (a fixed amount of work split
over P = 1, 2, ... worker processes) and **weak scaling** (the same work *per
worker*, so the total grows with P) of a CPU-bound task, :func:`cpu_task`.
Each run has a serial part that the parent process does before handing out
the work (like reading the input) and a parallel part run by the workers,
and both are timed, so a notebook can compare the measured speed-ups with
Amdahl's and Gustafson's laws. :func:`contention_experiment` shows how one
shared lock turns parallel work back into serial work.

The workers are processes, not threads: :func:`cpu_task` is pure Python and
holds the interpreter lock (GIL), so threads would take turns. They are
started with the ``"spawn"`` method: a fresh interpreter per worker, the same
on Linux, macOS and Windows, and safe to start from a Jupyter kernel, which
runs threads of its own (``"fork"`` copies the kernel mid-flight, threads'
locks included, and Python 3.12 warns about it). Spawning costs a fraction of
a second per worker, so the pool is started and warmed up *before* the clock
starts, and shut down when the measurements are done. One pool of
``max(Ps)`` workers serves every P: a run with P equal chunks keeps exactly P
of them busy. The functions the
workers run live in this module so that the workers can import them.

This module holds no scaling law: the explorer draws the model functions you
pass it (notebook 02's exercises). :func:`published_scaling` reads a published
many-GPU measurement shipped under ``data/scaling/`` (with its source), for the
machines a learner does not have.

>>> cpu_task(1000)
832504
"""

from __future__ import annotations

import csv
import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import plots
from .ray_session import available_cpus
from .widgets import checkbox, dropdown, float_slider, interactive_plot

__all__ = ["PUBLISHED_SOURCE", "ScalingResult", "calibrate", "contention_experiment", "cpu_task",
           "explore", "published_scaling", "run_scaling"]

_MODULUS = 1_000_003
_PUBLISHED = Path(__file__).resolve().parent.parent / "data" / "scaling" / \
    "tensorflow_k80_distributed_2017.csv"
PUBLISHED_SOURCE = (
    "TensorFlow documentation, \"Benchmarks\", section \"Details for Amazon EC2 Distributed "
    "(NVIDIA Tesla K80)\", tables \"Training synthetic data\" (test date May 2017; "
    "tensorflow/docs_src/performance/benchmarks.md in github.com/tensorflow/tensorflow, "
    "commit 5984ffe); see data/README.md")


def cpu_task(n: int) -> int:
    """``n`` units of CPU-bound pure-Python work (about 0.1 µs each); returns a checksum.

    Holds the GIL the whole time and touches almost no memory: it scales with
    processes, not with threads.

    >>> cpu_task(0), cpu_task(10)
    (0, 285)
    """
    acc = 0
    for i in range(n):
        acc = (acc + i * i) % _MODULUS
    return acc


def calibrate(seconds: float = 0.1, probe: int = 200_000) -> int:
    """How many units of :func:`cpu_task` take about ``seconds`` here (best of 3 probes).

    >>> calibrate(0.01) > 1000
    True
    """
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) or not seconds > 0:
        raise ValueError(f"seconds must be a number > 0, got {seconds!r}")
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        cpu_task(probe)
        best = min(best, time.perf_counter() - t0)
    return max(1, round(probe * seconds / best))


@dataclass(frozen=True)
class ScalingResult:
    """Times of one scaling experiment, in seconds.

    ``P[i]`` workers; ``times[i, r]`` is repeat ``r`` of the whole run with
    ``P[i]`` workers (serial part + parallel part), ``serial_times[i, r]`` the
    serial part of that run. ``serial_units`` and ``parallel_units[i]`` are the
    work of each part in :func:`cpu_task` units (``parallel_units`` summed over
    the workers).

    >>> r = ScalingResult("strong", (1, 2), np.array([[1.0, 1.2], [0.6, 0.55]]),
    ...                   np.array([[0.1, 0.1], [0.1, 0.1]]), 100, (900, 900))
    >>> r.median
    array([1.1  , 0.575])
    """

    kind: str  # "strong" or "weak"
    P: tuple[int, ...]
    times: np.ndarray  # shape (len(P), repeats), seconds
    serial_times: np.ndarray  # shape (len(P), repeats), seconds
    serial_units: int
    parallel_units: tuple[int, ...]

    @property
    def median(self) -> np.ndarray:
        """Median time of the whole run for each P, seconds (shape ``(len(P),)``)."""
        return np.median(self.times, axis=1)

    @property
    def median_serial(self) -> np.ndarray:
        """Median time of the serial part for each P, seconds."""
        return np.median(self.serial_times, axis=1)

    def __repr__(self) -> str:
        cells = ", ".join(f"P={p}: {t * 1e3:.0f} ms" for p, t in zip(self.P, self.median,
                                                                       strict=True))
        return f"ScalingResult({self.kind}; median {cells}; {self.times.shape[1]} repeats)"


def _check_Ps(Ps) -> tuple[int, ...]:
    Ps = tuple(Ps)
    if not Ps or any(isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 1
                     for p in Ps):
        raise ValueError(f"Ps must be a non-empty sequence of ints >= 1, got {Ps!r}")
    if 1 not in Ps:
        raise ValueError(f"Ps must include 1 (the baseline of a speed-up), got {Ps!r}")
    return tuple(sorted(set(int(p) for p in Ps)))


def _pool(P: int, context: str, initializer=None, initargs=()):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=P, mp_context=multiprocessing.get_context(context),
                               initializer=initializer, initargs=initargs)
    # Start all P workers, and have each import this module, before any timing: P tasks
    # that each last long enough that one worker cannot take two of them.
    list(pool.map(_warm_up, [0.05] * P))
    return pool


def _warm_up(seconds: float) -> int:
    time.sleep(seconds)
    return cpu_task(1000)


def run_scaling(Ps: Sequence[int] | None = None, seconds: float = 0.3,
                serial_fraction: float = 0.1, repeats: int = 3,
                kinds: Sequence[str] = ("strong", "weak"),
                context: str = "spawn") -> dict[str, ScalingResult]:
    """Measure strong and weak scaling of :func:`cpu_task` with P worker processes.

    Parameters
    ----------
    Ps : sequence of int, optional
        Worker counts, must include 1; default ``1..cores``, and ``1, 2`` on one
        core (two processes sharing it: the speed-up a single core gives, and a
        second point for a fit). More workers than cores is allowed (they then
        share the cores).
    seconds : float
        Work of the P = 1 run, in seconds of this machine (calibrated first).
    serial_fraction : float
        Share of that work the parent does alone before handing out the rest
        (0 <= ... < 1). Strong scaling: the other share is split into P equal
        chunks. Weak scaling: each of the P workers gets a whole such share,
        and the serial part stays the same.
    repeats : int
        Timed repeats per P and kind (strong and weak runs alternate).
    context : str
        multiprocessing start method (``"spawn"``, see the module's text).

    Returns ``{kind: ScalingResult}``. Takes about ``repeats * seconds *
    (1 + 2 * len(Ps))`` seconds (on an idle machine with enough cores) plus the
    workers' start-up.

    >>> res = run_scaling([1, 2], seconds=0.02, repeats=1, kinds=["strong"])
    >>> res["strong"].P, res["strong"].times.shape
    ((1, 2), (2, 1))
    """
    Ps = _check_Ps(range(1, max(2, available_cpus()) + 1) if Ps is None else Ps)
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) or not seconds > 0:
        raise ValueError(f"seconds must be a number > 0, got {seconds!r}")
    if isinstance(serial_fraction, bool) or not isinstance(serial_fraction, numbers.Real) \
            or not 0 <= serial_fraction < 1:
        raise ValueError(f"serial_fraction must be a number in [0, 1), got {serial_fraction!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, numbers.Integral) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    kinds = tuple(kinds)
    if not kinds or any(k not in ("strong", "weak") for k in kinds):
        raise ValueError(f"kinds must name 'strong' and/or 'weak', got {kinds!r}")

    units = calibrate(seconds)
    serial = round(serial_fraction * units)
    share = units - serial  # the parallel work of the P = 1 run
    chunks = {"strong": {P: [share // P + (i < share % P) for i in range(P)] for P in Ps},
              "weak": {P: [share] * P for P in Ps}}
    times = {k: np.zeros((len(Ps), repeats)) for k in kinds}
    serial_times = {k: np.zeros((len(Ps), repeats)) for k in kinds}
    clock = time.perf_counter
    # One pool of max(Ps) workers: a run with P equal chunks keeps exactly P of them busy.
    # The P values alternate within each repeat, so a change in the machine's load during
    # the experiment spreads over all P instead of biasing the later ones.
    pool = _pool(max(Ps), context)
    try:
        for r in range(repeats):
            for i, P in enumerate(Ps):
                for kind in kinds:
                    t0 = clock()
                    cpu_task(serial)  # the parent's serial part: nothing handed out yet
                    t1 = clock()
                    list(pool.map(cpu_task, chunks[kind][P]))
                    t2 = clock()
                    times[kind][i, r] = t2 - t0
                    serial_times[kind][i, r] = t1 - t0
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return {k: ScalingResult(k, Ps, times[k], serial_times[k], serial,
                             tuple(sum(chunks[k][P]) for P in Ps)) for k in kinds}


# The lock experiment: shared state for the workers, set by the pool's initializer
# (synchronisation objects reach worker processes at start-up, not as task arguments).
_counter = None


def _init_counter(counter) -> None:
    global _counter
    _counter = counter


def _count_shared(n: int) -> int:
    """Add 1 to the shared counter n times, taking its lock every time."""
    for _ in range(n):
        with _counter.get_lock():
            _counter.value += 1
    return n


def _count_local(n: int) -> int:
    """Count n times in a local variable, then add the total to the shared counter once."""
    local = 0
    for _ in range(n):
        local += 1
    with _counter.get_lock():
        _counter.value += local
    return n


def contention_experiment(Ps: Sequence[int] | None = None, increments: int = 200_000,
                          repeats: int = 3, context: str = "spawn") -> dict:
    """Count to ``increments`` with P processes: through one shared lock, or locally.

    *shared lock*: every increment takes the lock of one shared counter, so
    the workers take turns. *local, combine once*: each worker counts its share
    in a local variable and takes the lock once at the end. The total work is
    the same for every P (strong scaling); the final count is checked.

    Returns ``{"P": (...), "shared lock": times, "local, combine once": times}``
    with ``times`` of shape ``(len(Ps), repeats)`` in seconds.

    >>> res = contention_experiment([1, 2], increments=2000, repeats=1)
    >>> res["P"], res["shared lock"].shape
    ((1, 2), (2, 1))
    """
    import multiprocessing

    Ps = _check_Ps(range(1, max(2, available_cpus()) + 1) if Ps is None else Ps)
    if isinstance(increments, bool) or not isinstance(increments, numbers.Integral) \
            or increments < 1:
        raise ValueError(f"increments must be an int >= 1, got {increments!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, numbers.Integral) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    variants = {"shared lock": _count_shared, "local, combine once": _count_local}
    out: dict = {"P": Ps, **{name: np.zeros((len(Ps), repeats)) for name in variants}}
    counter = multiprocessing.get_context(context).Value("q", 0)
    pool = _pool(max(Ps), context, initializer=_init_counter, initargs=(counter,))
    try:
        for r in range(repeats):
            for i, P in enumerate(Ps):
                shares = [increments // P + (k < increments % P) for k in range(P)]
                for name, fn in variants.items():
                    with counter.get_lock():
                        counter.value = 0
                    t0 = time.perf_counter()
                    list(pool.map(fn, shares))
                    out[name][i, r] = time.perf_counter() - t0
                    if counter.value != increments:
                        raise RuntimeError(f"{name}: counted {counter.value}, "
                                           f"expected {increments}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return out


def _model_curve(fn: Callable, x: float, P: np.ndarray, name: str):
    """``fn(x, P)`` as a float array, or a message saying why it could not be drawn."""
    if fn is None:
        return None, f"pass {name}= to draw this model"
    try:
        y = np.asarray(fn(x, P), dtype=float)
    except NotImplementedError:
        return None, f"{name} is not written yet"
    if y.shape != P.shape:
        raise ValueError(f"{name}(x, P) with an array P of shape {P.shape} returned shape "
                         f"{y.shape}: it must work elementwise")
    return y, ""


def explore(amdahl: Callable | None = None, gustafson: Callable | None = None,
            f: float = 0.9, s: float = 0.1, P_max: int = 64,
            measured: dict | None = None, widgets: bool | None = None):
    """The Amdahl/Gustafson explorer: sliders for f, s and the largest P.

    ``amdahl(f, P)`` and ``gustafson(s, P)`` are the model functions, each
    working elementwise on an array ``P`` (notebook 02's ``amdahl_speedup`` and
    ``gustafson_speedup``: pass yours). Left: the speed-up against P for both
    models and the ideal S = P; right: the efficiency S / P. ``measured``
    (optional): ``{label: (Ps, speedups)}`` drawn as points on both panels.

    Sliders where widgets can render; elsewhere a static figure with these
    values (see :mod:`course_lib.widgets`). Returns the
    :class:`~course_lib.widgets.InteractivePlot`.

    >>> ex = explore(lambda f, P: P ** 0, lambda s, P: P ** 0, widgets=False)
    >>> ex.figure.axes[0].get_title()
    'Speed-up: f = 0.90, s = 0.10'
    """
    measured = dict(measured or {})
    for label, pair in measured.items():
        if not isinstance(pair, tuple | list) or len(pair) != 2 \
                or np.shape(pair[0]) != np.shape(pair[1]):
            raise ValueError(f"measured[{label!r}] must be (Ps, speedups) of equal length, "
                             f"got {pair!r:.100}")

    def draw(f, s, P_max, log):
        import matplotlib.pyplot as plt

        P = np.unique(np.round(np.geomspace(1, P_max, 200)).astype(float)) if log \
            else np.arange(1, P_max + 1, dtype=float)
        with plots.style():
            fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(10, 4))
            ax_s.plot(P, P, linestyle="--", color="grey", linewidth=1, label="ideal S = P")
            ax_e.axhline(1.0, linestyle="--", color="grey", linewidth=1, label="ideal")
            notes = []
            for fn, x, name, label, color in (
                    (amdahl, f, "amdahl", f"Amdahl, f = {f:.2f} (fixed problem)",
                     plots.COLORS[0]),
                    (gustafson, s, "gustafson", f"Gustafson, s = {s:.2f} (scaled problem)",
                     plots.COLORS[1])):
                y, why = _model_curve(fn, x, P, name)
                if y is None:
                    notes.append(why)
                    continue
                ax_s.plot(P, y, color=color, label=label)
                ax_e.plot(P, y / P, color=color, label=label)
            for k, (label, (Pm, Sm)) in enumerate(measured.items()):
                Pm, Sm = np.asarray(Pm, dtype=float), np.asarray(Sm, dtype=float)
                color = plots.COLORS[2 + k % (len(plots.COLORS) - 2)]
                ax_s.plot(Pm, Sm, "o", color=color, label=label, zorder=5)
                ax_e.plot(Pm, Sm / Pm, "o", color=color, label=label, zorder=5)
            if log:
                for ax in (ax_s, ax_e):
                    ax.set_xscale("log", base=2)
                ax_s.set_yscale("log", base=2)
            ax_s.set_xlabel("workers P")
            ax_e.set_xlabel("workers P")
            ax_s.set_ylabel("speed-up S(P)")
            ax_e.set_ylabel("efficiency S(P) / P")
            ax_e.set_ylim(0, 1.05)
            ax_s.set_title(f"Speed-up: f = {f:.2f}, s = {s:.2f}")
            ax_e.set_title("Efficiency")
            if notes:
                ax_s.text(0.02, 0.98, "\n".join(notes), transform=ax_s.transAxes, va="top",
                          fontsize=9, color=plots.COLORS[3])
            ax_s.legend(fontsize=8, loc="lower right" if not log else "upper left")
            fig.tight_layout()
        return fig

    return interactive_plot(
        draw, widgets=widgets,
        f=float_slider(f, 0.0, 1.0, 0.01, label="parallel fraction f (Amdahl)"),
        s=float_slider(s, 0.0, 1.0, 0.01, label="serial fraction s (Gustafson)"),
        P_max=dropdown(P_max, sorted({8, 16, 64, 256, 1024, P_max}), label="largest P"),
        log=checkbox(False, label="log axes"),
    )


def published_scaling() -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """The published many-GPU scaling measurement shipped with the course.

    Data-parallel training throughput (images per second) of three image models with
    TensorFlow on 1, 8, 16, 32 and 64 NVIDIA Tesla K80 GPUs (up to 8 p2.8xlarge
    instances of Amazon EC2, synthetic data, a fixed batch per GPU), as published in
    :data:`PUBLISHED_SOURCE`. Returns ``{(model, batch_per_gpu): (gpus, images_per_sec)}``
    with ``gpus`` an int64 array and ``images_per_sec`` a float64 array, in increasing
    ``gpus``.

    >>> data = published_scaling()
    >>> gpus, rate = data[("ResNet-50", 64)]
    >>> gpus.tolist(), rate[[0, -1]].tolist()
    ([1, 8, 16, 32, 64], [52.4, 2744.0])
    """
    rows: dict[tuple[str, int], list[tuple[int, float]]] = {}
    with open(_PUBLISHED, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["model"], int(row["batch_per_gpu"]))
            rows.setdefault(key, []).append((int(row["gpus"]), float(row["images_per_sec"])))
    out = {}
    for key, pairs in rows.items():
        pairs.sort()
        out[key] = (np.array([p for p, _ in pairs], dtype=np.int64),
                    np.array([r for _, r in pairs], dtype=np.float64))
    return out

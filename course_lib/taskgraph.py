"""Task graphs: tasks with durations and dependencies, schedules, Gantt charts.

A :class:`TaskGraph` holds what a scheduler needs to know: how long each task
takes and which tasks must finish before it may start. It checks itself
(unknown tasks, negative durations, cycles) and gives a topological order.
A *schedule* says, for every task, on which worker and when it starts:
``{task: (worker, start)}``, workers numbered from 0. :meth:`TaskGraph.simulate`
checks a schedule against the graph and returns its :class:`Timeline`;
:meth:`TaskGraph.gantt` draws it.

This module does not compute critical paths or list schedules: those are the
exercises of notebook 02. It holds a deliberately simple scheduler,
:func:`level_schedule`, which runs the graph level by level with a barrier
after each level, and the scheduler explorer :func:`explore`, which draws the
schedule of any scheduler you pass it (yours).

A parallel loop is a graph without dependencies: iteration ``i`` costs
``costs[i]``. :func:`static_blocks` hands each worker one contiguous block of
iterations (OpenMP's ``schedule(static)``); :func:`loop_timeline` runs any
such assignment, each worker its iterations back to back, and returns the
:class:`Timeline` (makespan, utilisation) that notebook 02's ``balance_chunks``
is graded on.

>>> G = example_graph()
>>> G.work, G.topological_order()
(65.0, ['T1', 'T2', 'T3', 'T4', 'T5', 'T6'])
>>> G.simulate(level_schedule(G.durations, G.deps, P=3), P=3).makespan
45.0
"""

from __future__ import annotations

import heapq
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from . import plots
from .widgets import dropdown, int_slider, interactive_plot

__all__ = ["TaskGraph", "Timeline", "example_graph", "explore", "level_schedule",
           "loop_timeline", "random_graph", "static_blocks"]

_EPS = 1e-9  # tolerance on times when checking a schedule (float sums)


@dataclass(frozen=True)
class Timeline:
    """What a schedule does when it runs: who runs what, when, and how busy each worker is.

    ``intervals``: ``(worker, start, end, task)`` sorted by start then worker;
    times are in the graph's time unit. ``busy[w]`` is the time worker ``w``
    spends running tasks; ``P`` workers are counted (idle ones included).

    >>> tl = Timeline(((0, 0.0, 10.0, "A"), (1, 0.0, 4.0, "B")), P=2)
    >>> tl.makespan, tl.busy, tl.idle, tl.utilisation
    (10.0, (10.0, 4.0), 6.0, 0.7)
    """

    intervals: tuple[tuple[int, float, float, str], ...]
    P: int

    @property
    def makespan(self) -> float:
        """Time from the start (0) to the end of the last task."""
        return max((end for _, _, end, _ in self.intervals), default=0.0)

    @property
    def busy(self) -> tuple[float, ...]:
        """Busy time of each worker 0..P-1."""
        busy = [0.0] * self.P
        for w, start, end, _ in self.intervals:
            busy[w] += end - start
        return tuple(busy)

    @property
    def idle(self) -> float:
        """Worker-time spent waiting: P * makespan - total busy time."""
        return self.P * self.makespan - sum(self.busy)

    @property
    def utilisation(self) -> float:
        """Fraction of the P workers' time spent running tasks (0..1)."""
        total = self.P * self.makespan
        return sum(self.busy) / total if total > 0 else 0.0

    def gantt(self, ax=None, title: str | None = None, unit: str = "time units"):
        """Draw the timeline with :func:`course_lib.plots.gantt`: one row per worker.

        Idle workers keep their row. Returns the matplotlib ``Axes``.

        >>> ax = Timeline(((0, 0.0, 2.0, "A"),), P=2).gantt()
        >>> [t.get_text() for t in ax.get_yticklabels()], ax.get_title()
        (['worker 0', 'worker 1'], 'P = 2: makespan 2 time units')
        """
        lanes = [(f"worker {w}", 0.0, 0.0) for w in range(self.P)]  # every row, in order
        bars = [(f"worker {w}", s, e, t) for w, s, e, t in self.intervals]
        if title is None:
            title = f"P = {self.P}: makespan {self.makespan:g} {unit}"
        ax = plots.gantt(lanes + bars, ax=ax, title=title, unit=unit)
        ax.set_xlim(0, max(self.makespan, 1e-9) * 1.02)
        return ax


def _as_time(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return float(value)


class TaskGraph:
    """Tasks with durations and the dependencies between them (a DAG).

    Parameters
    ----------
    durations : mapping
        task name (a ``str``) -> duration (a number >= 0, in any time unit).
    deps : mapping, optional
        task -> the tasks it needs (its predecessors): a list, tuple or set of
        names. Tasks without predecessors may be left out.

    Raises ``ValueError`` for an unknown task or predecessor, a bad duration
    or a cycle, naming it.

    >>> G = TaskGraph({"load": 2, "train": 10, "eval": 1}, {"train": ["load"], "eval": ["train"]})
    >>> G.deps
    {'load': (), 'train': ('load',), 'eval': ('train',)}
    >>> TaskGraph({"a": 1, "b": 1}, {"a": ["b"], "b": ["a"]})
    Traceback (most recent call last):
    ...
    ValueError: the dependencies have a cycle: b -> a -> b
    """

    def __init__(self, durations: Mapping[str, float],
                 deps: Mapping[str, Iterable[str]] | None = None):
        if not isinstance(durations, Mapping) or not durations:
            raise ValueError(f"durations must be a non-empty dict task -> duration, "
                             f"got {durations!r}")
        self._durations: dict[str, float] = {}
        for task, d in durations.items():
            if not isinstance(task, str):
                raise ValueError(f"task names must be strings, got {task!r}")
            self._durations[task] = _as_time(d, f"the duration of {task!r}")
        deps = {} if deps is None else deps
        if not isinstance(deps, Mapping):
            raise ValueError(f"deps must be a dict task -> predecessors, got {deps!r}")
        self._deps: dict[str, tuple[str, ...]] = {t: () for t in self._durations}
        for task, preds in deps.items():
            if task not in self._durations:
                raise ValueError(f"deps names task {task!r}, which has no duration")
            if isinstance(preds, str) or not isinstance(preds, Iterable):
                raise ValueError(f"deps[{task!r}] must be a list, tuple or set of task names, "
                                 f"got {preds!r}")
            preds = tuple(dict.fromkeys(preds))  # drop repeats, keep order
            for p in preds:
                if p not in self._durations:
                    raise ValueError(f"unknown predecessor {p!r} of task {task!r}")
            self._deps[task] = preds
        self._order = self._topological_order()

    # structure ---------------------------------------------------------------------
    @property
    def tasks(self) -> list[str]:
        """Task names, in the order they were given."""
        return list(self._durations)

    @property
    def durations(self) -> dict[str, float]:
        """A copy of task -> duration."""
        return dict(self._durations)

    @property
    def deps(self) -> dict[str, tuple[str, ...]]:
        """A copy of task -> predecessors (every task present, ``()`` for none)."""
        return dict(self._deps)

    @property
    def successors(self) -> dict[str, tuple[str, ...]]:
        """task -> the tasks that need it.

        >>> example_graph().successors["T4"]
        ('T6',)
        """
        succ: dict[str, list[str]] = {t: [] for t in self._durations}
        for task, preds in self._deps.items():
            for p in preds:
                succ[p].append(task)
        return {t: tuple(s) for t, s in succ.items()}

    @property
    def work(self) -> float:
        """W: the sum of all durations, the time one worker needs."""
        return float(sum(self._durations.values()))

    def __len__(self) -> int:
        return len(self._durations)

    def __repr__(self) -> str:
        edges = sum(len(p) for p in self._deps.values())
        return f"TaskGraph({len(self)} tasks, {edges} dependencies, work {self.work:g})"

    def _topological_order(self) -> list[str]:
        indegree = {t: len(p) for t, p in self._deps.items()}
        succ = self.successors
        ready = [t for t, n in indegree.items() if n == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            t = heapq.heappop(ready)
            order.append(t)
            for s in succ[t]:
                indegree[s] -= 1
                if indegree[s] == 0:
                    heapq.heappush(ready, s)
        if len(order) < len(self._durations):
            raise ValueError(f"the dependencies have a cycle: {self._find_cycle(indegree)}")
        return order

    def _find_cycle(self, indegree: dict[str, int]) -> str:
        left = {t for t, n in indegree.items() if n > 0}  # every such task is on or after a cycle
        task = min(left)
        seen: list[str] = []
        while task not in seen:
            seen.append(task)
            task = min(p for p in self._deps[task] if p in left)
        cycle = seen[seen.index(task):][::-1]  # walked backwards along the edges
        return " -> ".join([*cycle, cycle[0]])

    def topological_order(self) -> list[str]:
        """The tasks in an order where every task comes after its predecessors.

        Among the tasks that could come next, the smallest name goes first, so
        the order is always the same.

        >>> TaskGraph({"c": 1, "b": 1, "a": 1}, {"a": ["c"]}).topological_order()
        ['b', 'c', 'a']
        """
        return list(self._order)

    def levels(self) -> dict[str, int]:
        """task -> its level: 0 without predecessors, else 1 + the largest level among them.

        Tasks of the same level never depend on each other.

        >>> example_graph().levels()
        {'T1': 0, 'T2': 0, 'T3': 0, 'T4': 1, 'T5': 1, 'T6': 2}
        """
        level: dict[str, int] = {}
        for t in self._order:
            level[t] = 1 + max((level[p] for p in self._deps[t]), default=-1)
        return {t: level[t] for t in self._durations}

    # schedules ---------------------------------------------------------------------
    def problems(self, schedule, P: int | None = None) -> list[str]:
        """Everything wrong with ``schedule`` (``{task: (worker, start)}``); ``[]`` if nothing.

        Checks that every task is scheduled once on a worker ``0 <= w < P``
        (any ``w >= 0`` when ``P`` is None), starts at a time >= 0, after all
        its predecessors have ended, and that no worker runs two tasks at once.

        >>> G = TaskGraph({"a": 3, "b": 2, "c": 1}, {"b": ["a"]})
        >>> for problem in G.problems({"a": (0, 0), "b": (1, 2), "c": (0, 1)}):
        ...     print(problem)
        b starts at 2, before its predecessor a ends at 3
        c starts at 1 on worker 0 while a runs there [0, 3)
        >>> G = example_graph()
        >>> G.problems({"T1": (0, 0)}, P=1)
        ["tasks not scheduled: ['T2', 'T3', 'T4', 'T5', 'T6']"]
        """
        if P is not None and (isinstance(P, bool) or not isinstance(P, numbers.Integral)
                              or P < 1):
            raise ValueError(f"P must be an int >= 1, got {P!r}")
        if not isinstance(schedule, Mapping):
            return [f"a schedule must be a dict task -> (worker, start), got "
                    f"{type(schedule).__name__}: {schedule!r:.100}"]
        found: list[str] = []
        placed: dict[str, tuple[int, float]] = {}
        for task, entry in schedule.items():
            if not isinstance(task, str) or task not in self._durations:
                found.append(f"the schedule names {task!r}, which is not a task of the graph")
                continue
            if not isinstance(entry, tuple | list) or len(entry) != 2:
                found.append(f"{task}: expected (worker, start), got {entry!r:.60}")
                continue
            w, start = entry
            if isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 0 \
                    or (P is not None and w >= P):
                span = f"0..{P - 1}" if P is not None else ">= 0"
                found.append(f"{task}: the worker must be an int in {span}, got {w!r}")
                continue
            if isinstance(start, bool) or not isinstance(start, numbers.Real) \
                    or not math.isfinite(float(start)) or float(start) < 0:
                found.append(f"{task}: the start must be a number >= 0, got {start!r}")
                continue
            placed[task] = (int(w), float(start))
        missing = [t for t in self._durations if t not in schedule]
        if missing:
            found.append(f"tasks not scheduled: {missing}")
        end = {t: s + self._durations[t] for t, (_, s) in placed.items()}
        for task, (_, start) in placed.items():
            for p in self._deps[task]:
                if p in end and start < end[p] - _EPS:
                    found.append(f"{task} starts at {start:g}, before its predecessor {p} "
                                 f"ends at {end[p]:g}")
        lanes: dict[int, list[tuple[float, float, str]]] = {}
        for task, (w, start) in placed.items():
            lanes.setdefault(w, []).append((start, end[task], task))
        for w in sorted(lanes):
            runs = sorted(lanes[w])
            for (s0, e0, t0), (s1, _, t1) in zip(runs, runs[1:], strict=False):
                if s1 < e0 - _EPS:
                    found.append(f"{t1} starts at {s1:g} on worker {w} while {t0} runs there "
                                 f"[{s0:g}, {e0:g})")
        return found

    def simulate(self, schedule, P: int | None = None) -> Timeline:
        """Check ``schedule`` and return its :class:`Timeline` (``ValueError`` if infeasible).

        ``P`` is the number of workers (default: 1 + the largest worker used).

        >>> G = TaskGraph({"a": 3, "b": 2}, {"b": ["a"]})
        >>> G.simulate({"a": (0, 0), "b": (1, 3)}).intervals
        ((0, 0.0, 3.0, 'a'), (1, 3.0, 5.0, 'b'))
        >>> G.simulate({"a": (0, 0), "b": (1, 1)})
        Traceback (most recent call last):
        ...
        ValueError: infeasible schedule: b starts at 1, before its predecessor a ends at 3
        """
        found = self.problems(schedule, P)
        if found:
            more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
            raise ValueError("infeasible schedule: " + "; ".join(found[:3]) + more)
        rows = sorted((int(w), float(s), float(s) + self._durations[t], t)
                      for t, (w, s) in schedule.items())
        rows.sort(key=lambda r: (r[1], r[0]))
        if P is None:
            P = 1 + max(r[0] for r in rows)
        return Timeline(tuple(rows), int(P))

    def gantt(self, schedule, P: int | None = None, ax=None, title: str | None = None,
              unit: str = "time units"):
        """Check ``schedule`` and draw it as a Gantt chart (see :meth:`Timeline.gantt`).

        >>> G = example_graph()
        >>> ax = G.gantt(level_schedule(G.durations, G.deps, P=3), P=3)
        >>> [t.get_text() for t in ax.get_yticklabels()]
        ['worker 0', 'worker 1', 'worker 2']
        """
        return self.simulate(schedule, P).gantt(ax=ax, title=title, unit=unit)

    def draw(self, ax=None, title: str = "Task graph"):
        """Draw the graph: one column per level, an arrow from each task to those that need it.

        >>> ax = example_graph().draw()
        >>> sorted(t.get_text() for t in ax.texts if t.get_text())[:2]
        ['T1\\n10', 'T2\\n5']
        """
        level = self.levels()
        columns: dict[int, list[str]] = {}
        for t in sorted(self._durations, key=lambda t: (level[t], t)):
            columns.setdefault(level[t], []).append(t)
        tallest = max(len(c) for c in columns.values())
        pos = {}
        for x, col in columns.items():
            for i, t in enumerate(col):
                pos[t] = (x, (len(col) - 1) / 2 - i)  # each column centred on y = 0
        if ax is None:
            ax = plots.new_axes(figsize=(1.6 + 1.5 * len(columns), 0.6 + 0.75 * tallest))
        with plots.style():
            for task, preds in self._deps.items():
                for p in preds:
                    ax.annotate("", xy=pos[task], xytext=pos[p],
                                arrowprops={"arrowstyle": "-|>", "color": "grey", "lw": 1.2,
                                            "shrinkA": 16, "shrinkB": 16})
            for t, (x, y) in pos.items():
                ax.text(x, y, f"{t}\n{self._durations[t]:g}", ha="center", va="center",
                        fontsize=9, bbox={"boxstyle": "round,pad=0.35", "fc": "white",
                                          "ec": plots.COLORS[0], "lw": 1.5})
            ax.set_xlim(-0.6, len(columns) - 0.4)
            ax.set_ylim(-(tallest - 1) / 2 - 0.7, (tallest - 1) / 2 + 0.7)
            ax.set_axis_off()
            ax.set_title(title)
        return ax


def example_graph() -> TaskGraph:
    """The lecture's example: T1..T6 with durations 10, 5, 15, 5, 20, 10.

    T4 needs T1, T5 needs T2, T6 needs T4 and T5; T3 needs nothing.

    >>> G = example_graph()
    >>> G.durations["T5"], G.deps["T6"]
    (20.0, ('T4', 'T5'))
    """
    return TaskGraph({"T1": 10, "T2": 5, "T3": 15, "T4": 5, "T5": 20, "T6": 10},
                     {"T4": ["T1"], "T5": ["T2"], "T6": ["T4", "T5"]})


def random_graph(n_tasks: int = 12, seed: int = 0, edge_prob: float = 0.3,
                 max_preds: int = 3, durations: tuple[int, int] = (1, 20)) -> TaskGraph:
    """A random task graph (always acyclic), the same for the same ``seed``.

    Tasks are ``T01, T02, ...``; each may need up to ``max_preds`` earlier
    tasks, each with probability ``edge_prob``; durations are integers drawn
    uniformly from ``durations = (low, high)``, both included.

    >>> G = random_graph(8, seed=1)
    >>> len(G), G.tasks[:3], G.deps == random_graph(8, seed=1).deps
    (8, ['T01', 'T02', 'T03'], True)
    """
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, numbers.Integral) or n_tasks < 1:
        raise ValueError(f"n_tasks must be an int >= 1, got {n_tasks!r}")
    if not 0 <= edge_prob <= 1:
        raise ValueError(f"edge_prob must be in [0, 1], got {edge_prob!r}")
    if isinstance(max_preds, bool) or not isinstance(max_preds, numbers.Integral) \
            or max_preds < 0:
        raise ValueError(f"max_preds must be an int >= 0, got {max_preds!r}")
    low, high = durations
    if not 0 <= low <= high:
        raise ValueError(f"durations must be (low, high) with 0 <= low <= high, "
                         f"got {durations!r}")
    rng = np.random.default_rng(seed)  # a local generator: no global state is touched
    width = max(2, len(str(n_tasks)))  # T01..T12: name order is number order
    names = [f"T{i + 1:0{width}d}" for i in range(n_tasks)]
    times = rng.integers(low, high + 1, size=n_tasks)
    deps = {}
    for i, task in enumerate(names):
        earlier = [names[j] for j in range(i) if rng.random() < edge_prob]
        if len(earlier) > max_preds:
            earlier = sorted(rng.choice(earlier, size=max_preds, replace=False).tolist())
        deps[task] = earlier
    return TaskGraph({t: int(d) for t, d in zip(names, times, strict=True)}, deps)


def level_schedule(durations: Mapping[str, float], deps: Mapping[str, Iterable[str]],
                   P: int) -> dict[str, tuple[int, float]]:
    """Run the graph level by level on ``P`` workers, with a barrier after each level.

    All tasks of level 0 run first (in name order, each on the worker that
    frees up first); level 1 starts only when the whole of level 0 has ended;
    and so on. This is what a program that waits for a whole batch of tasks
    before submitting the next gets. It is simple and correct, and it leaves
    workers idle at every barrier: it is *not* greedy list scheduling.

    Returns ``{task: (worker, start)}``.

    >>> G = example_graph()
    >>> S = level_schedule(G.durations, G.deps, P=3)
    >>> S["T4"], S["T5"], S["T6"]
    ((0, 15.0), (1, 15.0), (0, 35.0))
    """
    if isinstance(P, bool) or not isinstance(P, numbers.Integral) or P < 1:
        raise ValueError(f"P must be an int >= 1, got {P!r}")
    G = durations if isinstance(durations, TaskGraph) else TaskGraph(durations, deps)
    level = G.levels()
    dur = G.durations
    schedule: dict[str, tuple[int, float]] = {}
    barrier = 0.0
    for k in range(max(level.values()) + 1):
        free = [(barrier, w) for w in range(P)]  # (time the worker is free, worker)
        end = barrier
        for task in sorted(t for t in level if level[t] == k):
            t_free, w = heapq.heappop(free)
            schedule[task] = (w, t_free)
            heapq.heappush(free, (t_free + dur[task], w))
            end = max(end, t_free + dur[task])
        barrier = end
    return {t: schedule[t] for t in G.tasks}


def explore(scheduler: Callable | None = None, P: int = 3, graph: str = "example",
            seed: int = 0, n_tasks: int = 12, max_P: int = 8, widgets: bool | None = None):
    """The scheduler explorer: choose P and a graph, see the schedule as a Gantt chart.

    ``scheduler(durations, deps, P)`` returns ``{task: (worker, start)}``, the
    format of notebook 02's ``list_schedule``; pass yours. Default (or when it
    raises ``NotImplementedError``): :func:`level_schedule`. The graph is the
    lecture's example or a random one (``seed``, ``n_tasks``). The title gives
    the makespan T_P, the speed-up W / T_P and the efficiency, and a dashed line
    marks W / P, below which no schedule can end.

    Sliders where widgets can render; elsewhere a static figure with these
    values (see :mod:`course_lib.widgets`). Returns the
    :class:`~course_lib.widgets.InteractivePlot`.

    >>> ex = explore(P=2, widgets=False)
    >>> ex.values["P"], ex.figure.axes[1].get_title().split(":")[0]
    (2, 'level by level, P = 2')
    """
    if scheduler is not None and not callable(scheduler):
        raise TypeError(f"scheduler must be a function (durations, deps, P) -> schedule, "
                        f"got {scheduler!r}")

    def draw(P, graph, seed):
        G = example_graph() if graph == "example" else random_graph(n_tasks, seed=seed)
        name = getattr(scheduler, "__name__", "scheduler").replace("_", " ")
        note = ""
        if scheduler is None:
            schedule, name = level_schedule(G.durations, G.deps, P), "level by level"
        else:
            try:
                schedule = scheduler(G.durations, G.deps, P)
            except NotImplementedError:
                schedule = level_schedule(G.durations, G.deps, P)
                note, name = f" ({name} not written yet)", "level by level"
        tl = G.simulate(schedule, P)
        import matplotlib.pyplot as plt

        with plots.style():
            fig, (ax_graph, ax_gantt) = plt.subplots(
                2, 1, figsize=(8, 6.2), gridspec_kw={"height_ratios": [1, 1.25]})
        G.draw(ax=ax_graph, title=f"{'lecture example' if graph == 'example' else 'random'}"
                                  f" graph: W = {G.work:g}{note}")
        S = G.work / tl.makespan if tl.makespan > 0 else float("nan")
        G.gantt(schedule, P=P, ax=ax_gantt,
                title=f"{name}, P = {P}: T_P = {tl.makespan:g}, speed-up W/T_P = {S:.2f}, "
                      f"efficiency {S / P:.0%}")
        ax_gantt.axvline(G.work / P, color="black", linestyle="--", linewidth=1)
        ax_gantt.annotate("W/P", xy=(G.work / P, 0), xycoords=("data", "axes fraction"),
                          xytext=(3, 3), textcoords="offset points", fontsize=9)
        fig.tight_layout()
        return fig

    return interactive_plot(
        draw, widgets=widgets,
        P=int_slider(P, 1, max(max_P, P), label="workers P"),
        graph=dropdown(graph, ["example", "random"], label="graph"),
        seed=int_slider(seed, 0, max(50, seed), label="random seed"),
    )


def static_blocks(n: int, P: int) -> list[list[int]]:
    """The loop's iterations ``0 .. n-1`` in P contiguous blocks: worker ``w`` gets
    ``range(w * n // P, (w + 1) * n // P)`` (OpenMP's ``schedule(static)``).

    Returns a list of P lists of iteration indices (a block may be empty when n < P).

    >>> static_blocks(7, 3)
    [[0, 1], [2, 3], [4, 5, 6]]
    """
    for value, what in ((n, "n"), (P, "P")):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{what} must be an int, got {value!r}")
    if n < 0 or P < 1:
        raise ValueError(f"need n >= 0 and P >= 1, got n = {n!r}, P = {P!r}")
    n, P = int(n), int(P)
    return [list(range(w * n // P, (w + 1) * n // P)) for w in range(P)]


def loop_timeline(costs, assignment) -> Timeline:
    """Run a parallel loop: worker ``w`` runs the iterations ``assignment[w]`` back to back,
    in that order, from time 0; iteration ``i`` takes ``costs[i]``.

    ``assignment`` is a list (or tuple) of P lists of iteration indices, which together
    name every iteration ``0 .. len(costs)-1`` exactly once. Returns the
    :class:`Timeline` (its ``makespan``, ``busy`` and ``utilisation``), checked by
    :meth:`TaskGraph.simulate`; raises ``ValueError`` saying what is wrong otherwise.
    Tasks are named ``i0``, ``i1``, ...

    >>> tl = loop_timeline([4, 1, 1, 2], [[0], [1, 2, 3]])
    >>> tl.makespan, tl.busy, tl.utilisation
    (4.0, (4.0, 4.0), 1.0)
    >>> loop_timeline([1, 2, 3], [[0, 1], [1]])
    Traceback (most recent call last):
    ...
    ValueError: iteration 1 is assigned twice (workers 0 and 1)
    """
    costs = [float(c) for c in np.asarray(costs, dtype=float).ravel()] \
        if not isinstance(costs, Mapping) else None
    if costs is None or not costs:
        raise ValueError("costs must be a non-empty list or array of numbers >= 0")
    if isinstance(assignment, str) or not isinstance(assignment, list | tuple) \
            or not assignment:
        raise ValueError(f"the assignment must be a list of P lists of iterations, got "
                         f"{assignment!r:.100}")
    n = len(costs)
    owner: dict[int, int] = {}
    schedule: dict[str, tuple[int, float]] = {}
    for w, its in enumerate(assignment):
        if isinstance(its, str) or not isinstance(its, list | tuple | range):
            raise ValueError(f"worker {w}: expected a list of iterations, got {its!r:.100}")
        clock = 0.0
        for i in its:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < n:
                raise ValueError(f"worker {w}: {i!r} is not an iteration 0..{n - 1}")
            i = int(i)
            if i in owner:
                raise ValueError(f"iteration {i} is assigned twice (workers {owner[i]} and {w})")
            owner[i] = w
            schedule[f"i{i}"] = (w, clock)
            clock += costs[i]
    missing = [i for i in range(n) if i not in owner]
    if missing:
        raise ValueError(f"iterations not assigned: {missing[:10]}"
                         f"{' ...' if len(missing) > 10 else ''}")
    G = TaskGraph({f"i{i}": c for i, c in enumerate(costs)})
    return G.simulate(schedule, P=len(assignment))

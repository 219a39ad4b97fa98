"""Seeing what Ray did: task timestamps, Gantt charts of them, and where tasks ran.

Ray runs tasks in worker processes, possibly on other machines; to draw what
happened, each task has to record its own start and end. :func:`timestamped`
wraps a function so that it returns its result together with a :class:`Span`
(label, wall-clock start and end, the process and the Ray node that ran it);
:func:`to_gantt` turns spans, or a ``{task: (start, end)}`` dict, into the rows
that :func:`course_lib.plots.gantt` draws. :func:`cluster_nodes` and
:func:`tasks_per_node` say which machines a Ray cluster has and which of them
run tasks. :func:`warm_up` waits until Ray's worker processes have started,
so that a measurement does not include their start-up. A :class:`Rendezvous`
lets tasks on one machine wait for each other: a test's probe that two tasks
ran at the same time without relying on how long anything took. An
:class:`InFlightProbe` stands in for a remote function and counts, at each
submission, how many of its tasks are in flight (submitted, not finished),
holding them back so that they finish in an order the caller chooses.

Times are ``time.time()`` seconds (wall clock, comparable across processes on
one machine; across machines only as good as their clock synchronisation).
``ray`` is imported only by the functions that need a running Ray.

>>> to_gantt({"load": (100.0, 100.5), "train": (100.5, 102.0), "log": (100.25, 100.75)})
[('slot 0', 0.0, 0.5, 'load'), ('slot 1', 0.25, 0.75, 'log'), ('slot 0', 0.5, 2.0, 'train')]
"""

from __future__ import annotations

import collections
import functools
import math
import numbers
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

__all__ = ["InFlightProbe", "Rendezvous", "Span", "cluster_nodes", "side_by_side",
           "tasks_per_node", "timestamped", "to_gantt", "warm_up"]


@dataclass(frozen=True)
class Span:
    """One call as it ran: ``label``, wall-clock ``start`` and ``end`` (seconds, ``time.time()``),
    the process id ``pid`` and the Ray ``node`` id (``""`` outside Ray) that ran it.

    >>> s = Span("f", 10.0, 10.25, pid=4242)
    >>> s.seconds, s
    (0.25, Span(f: 0.25 s in pid 4242))
    """

    label: str
    start: float
    end: float
    pid: int
    node: str = ""

    @property
    def seconds(self) -> float:
        """How long the call took."""
        return self.end - self.start

    def __repr__(self) -> str:
        where = f"pid {self.pid}" + (f" on node {self.node[:8]}" if self.node else "")
        return f"Span({self.label}: {self.seconds:.3g} s in {where})"


def _node_id() -> str:
    ray = sys.modules.get("ray")  # a Ray worker has imported it; elsewhere do not import it
    if ray is None or not ray.is_initialized():
        return ""
    try:
        return ray.get_runtime_context().get_node_id() or ""
    except Exception:  # noqa: BLE001 - a missing node id must not fail the user's task
        return ""


def timestamped(fn: Callable, label: str | None = None) -> Callable:
    """Wrap ``fn`` so that each call returns ``(fn's result, Span)``.

    The span is recorded *inside* the call, so wrapped in ``ray.remote`` it
    says when and where the task really ran (not when it was submitted or
    collected)::

        work = ray.remote(cl.raytools.timestamped(cl.scaling.cpu_task))
        results_and_spans = ray.get([work.remote(10**5) for _ in range(4)])

    >>> value, span = timestamped(sum)([1, 2, 3])
    >>> value, span.label, span.pid == os.getpid(), span.end >= span.start
    (6, 'sum', True, True)
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r}")
    name = str(label) if label is not None else getattr(fn, "__name__", type(fn).__name__)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        start = time.time()
        value = fn(*args, **kwargs)
        end = time.time()
        return value, Span(name, start, end, os.getpid(), _node_id())

    return wrapper


def _as_interval(value, what: str) -> tuple[float, float]:
    if not isinstance(value, tuple | list) or len(value) != 2 or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool)
            and math.isfinite(float(v)) for v in value):
        raise ValueError(f"{what} must be a (start, end) pair of finite numbers, got {value!r}")
    start, end = float(value[0]), float(value[1])
    if end < start:
        raise ValueError(f"{what} ends before it starts: {value!r}")
    return start, end


def to_gantt(intervals, t0: float | None = None,
             labels: Iterable | None = None) -> list[tuple[str, float, float, str]]:
    """Rows ``(lane, start, end, label)`` for :func:`course_lib.plots.gantt`, times from ``t0``.

    ``intervals`` is either

    * a dict ``{label: (start, end)}`` (what a task graph run returns): each
      interval goes to the first *slot* that is free when it starts (``slot 0``,
      ``slot 1``, ...), so the number of slots is the most intervals that
      overlap at any moment; or
    * an iterable of :class:`Span`: one lane per process that ran them
      (``pid 123``; ``node 1a2b3c4d pid 123`` when they ran on several nodes).

    ``t0`` (default: the earliest start) becomes time 0. ``labels`` (optional)
    replaces the bars' labels, one per interval in the order given. Rows are
    sorted by start.

    >>> spans = [Span("a", 5.0, 6.0, 11), Span("b", 5.0, 5.5, 12), Span("c", 6.0, 7.0, 11)]
    >>> to_gantt(spans)
    [('pid 11', 0.0, 1.0, 'a'), ('pid 12', 0.0, 0.5, 'b'), ('pid 11', 1.0, 2.0, 'c')]
    >>> to_gantt(spans, t0=4.0, labels=["x", "y", "z"])[-1]
    ('pid 11', 2.0, 3.0, 'z')
    >>> to_gantt({"x": (3, 1)})
    Traceback (most recent call last):
    ...
    ValueError: the interval of 'x' ends before it starts: (3, 1)
    """
    if isinstance(intervals, Mapping):
        items = [(str(k), *_as_interval(v, f"the interval of {k!r}"))
                 for k, v in intervals.items()]
        spans = None
    else:
        if not isinstance(intervals, Iterable):
            raise TypeError(f"intervals must be a dict label -> (start, end) or Spans, "
                            f"got {intervals!r}")
        spans = list(intervals)
        for i, s in enumerate(spans):
            if not isinstance(s, Span):
                raise TypeError(f"intervals[{i}] must be a Span, got {s!r}")
        items = [(s.label, *_as_interval((s.start, s.end), f"span {i}"))
                 for i, s in enumerate(spans)]
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(items):
            raise ValueError(f"labels must give one label per interval ({len(items)}), "
                             f"got {len(labels)}")
        items = [(label, start, end) for label, (_, start, end) in zip(labels, items, strict=True)]
    if not items:
        return []
    if t0 is None:
        t0 = min(start for _, start, _ in items)
    order = sorted(range(len(items)), key=lambda i: (items[i][1], i))  # by start, stable
    rows = []
    if spans is None:
        free_at: list[float] = []  # slot -> when its last interval ends
        for i in order:
            label, start, end = items[i]
            slot = next((k for k, f in enumerate(free_at) if f <= start), len(free_at))
            if slot == len(free_at):
                free_at.append(end)
            free_at[slot] = end
            rows.append((f"slot {slot}", start - t0, end - t0, label))
    else:
        several = len({s.node for s in spans}) > 1
        for i in order:
            s = spans[i]
            lane = (f"node {s.node[:8]} " if several else "") + f"pid {s.pid}"
            rows.append((lane, s.start - t0, s.end - t0, items[i][0]))
    return rows


def _ray():
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        raise RuntimeError("Ray is not running: start it first with cl.ray_session.start()")
    return ray


def cluster_nodes() -> list[dict]:
    """The alive nodes of the Ray cluster this process is connected to, head first.

    Each is a dict: ``node_id`` (hex), ``address`` (IP), ``CPU``,
    ``object_store_mb`` and ``head`` (True for the head node).
    Raises ``RuntimeError`` when Ray is not running.
    """
    ray = _ray()
    out = []
    for n in ray.nodes():
        if not n.get("Alive"):
            continue
        res = n.get("Resources", {})
        out.append({
            "node_id": n["NodeID"],
            "address": n.get("NodeManagerAddress", ""),
            "CPU": float(res.get("CPU", 0.0)),
            "object_store_mb": float(res.get("object_store_memory", 0.0)) / 2**20,
            "head": "node:__internal_head__" in res,
        })
    return sorted(out, key=lambda n: (not n["head"], n["node_id"]))


def _where(seconds: float) -> str:
    time.sleep(seconds)
    return sys.modules["ray"].get_runtime_context().get_node_id()


def tasks_per_node(n_tasks: int | None = None, seconds: float = 0.2,
                   pin: bool = False) -> collections.Counter:
    """Run ``n_tasks`` small tasks (each sleeps ``seconds``); count how many ran on each node.

    ``pin=False``: Ray's ``"SPREAD"`` scheduling strategy places them (best
    effort). ``pin=True``: task i is pinned (hard node affinity) to alive node
    ``i % number of nodes``, so every node must run its share. Default
    ``n_tasks``: two per CPU of the cluster (at least two per node).
    Returns a ``Counter`` node id -> tasks.
    """
    ray = _ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n["node_id"] for n in cluster_nodes()]
    if n_tasks is None:
        cpus = sum(int(n["CPU"]) for n in cluster_nodes())
        n_tasks = max(2 * cpus, 2 * len(nodes))
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, numbers.Integral) or n_tasks < 1:
        raise ValueError(f"n_tasks must be an int >= 1, got {n_tasks!r}")
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) or seconds < 0:
        raise ValueError(f"seconds must be a number >= 0, got {seconds!r}")
    where = ray.remote(_where)
    if pin:
        refs = [where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
                    nodes[i % len(nodes)], soft=False)).remote(seconds) for i in range(n_tasks)]
    else:
        refs = [where.options(scheduling_strategy="SPREAD").remote(seconds)
                for _ in range(n_tasks)]
    return collections.Counter(ray.get(refs))


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def warm_up(n_workers: int | None = None, timeout_s: float = 120.0) -> int:
    """Wait until Ray has ``n_workers`` worker processes ready (default: one per CPU).

    ``ray.init`` returns before its workers have finished starting (each
    starts Python and imports Ray, which takes seconds on a small machine), so
    the first tasks after it pay for that start-up. This runs ``n_workers``
    short tasks at once, again and again, until they run in that many
    different processes, or ``timeout_s`` has passed. Returns the number of
    distinct worker processes seen. Raises ``RuntimeError`` when Ray is not
    running.
    """
    ray = _ray()
    if n_workers is None:
        n_workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    if isinstance(n_workers, bool) or not isinstance(n_workers, numbers.Integral) \
            or n_workers < 1:
        raise ValueError(f"n_workers must be an int >= 1, got {n_workers!r}")
    task = ray.remote(_pid_after)
    deadline = time.monotonic() + timeout_s
    seconds = 0.05
    while True:
        pids = set(ray.get([task.remote(seconds) for _ in range(n_workers)]))
        if len(pids) >= n_workers or time.monotonic() > deadline:
            return len(pids)
        seconds = min(2 * seconds, 1.0)  # give a slow worker longer to join in


def side_by_side() -> bool:
    """Whether Ray can run two tasks at the same time here: it has 2 CPUs or more. A test
    checks that a submission's tasks ran side by side only where this is True.

    Grading sets ``COURSE_RAY_CPUS=2`` (:data:`course_lib.ray_session.RAY_CPUS_ENV`): Ray
    then has 2 logical CPUs even in a one-CPU slot, where its two workers take turns on the
    core (waiting tasks overlap all the same). Where that is set and Ray has fewer CPUs
    now (the notebook restarted it smaller), this raises AssertionError rather than let
    the check be skipped.
    """
    import ray

    from .ray_session import RAY_CPUS_ENV

    have = ray.cluster_resources().get("CPU", 0) if ray.is_initialized() else 0
    given = os.environ.get(RAY_CPUS_ENV, "")
    if given.isdigit() and int(given) >= 2 and have < 2:
        raise AssertionError(f"Ray has {have:g} CPUs, but grading started it with {given}: "
                             "do not restart Ray with fewer CPUs (the checks that tasks run "
                             "side by side need two)")
    return have >= 2


class Rendezvous:
    """Markers in a fresh directory of this machine, for calls in different processes (Ray
    tasks) to wait for each other: evidence that they ran at the same time which does not
    depend on how fast the machine is.

    :meth:`arrive` leaves a marker; :meth:`wait_for` waits until enough markers (or the
    named ones) are there and returns True, or False after ``timeout_s``. A call that
    arrives and then waits for a second marker finishes at once when a second call runs
    beside it, and waits the whole timeout when the calls run one after the other. The
    object is a path, so it pickles into tasks; its markers are files, so the tasks must
    run on this machine (every node of a cluster started on one machine shares them).

    >>> rv = Rendezvous()
    >>> rv.arrive("a"); rv.wait_for(1, timeout_s=0.0), rv.wait_for(2, timeout_s=0.05)
    (True, False)
    >>> rv.arrive(7); rv.arrived(), rv.wait_for(["7"], timeout_s=0.0)
    (['7', 'a'], True)
    """

    def __init__(self, path: str | None = None):
        self.path = str(path) if path is not None else tempfile.mkdtemp(prefix="rendezvous-")
        if path is None:  # its own directory goes with it (copies sent to tasks do not own it)
            import shutil
            import weakref

            weakref.finalize(self, shutil.rmtree, self.path, True)

    def arrive(self, name) -> None:
        """Leave the marker ``name`` (any value; its ``str`` names the marker)."""
        with open(os.path.join(self.path, str(name)), "w"):
            pass

    def arrived(self) -> list[str]:
        """The markers left so far, sorted."""
        return sorted(os.listdir(self.path))

    def wait_for(self, what, timeout_s: float = 20.0, poll_s: float = 0.005) -> bool:
        """Wait until ``what`` markers (an int: at least that many; else the names in
        ``what``) are there: True, or False after ``timeout_s`` seconds."""
        def met() -> bool:
            if isinstance(what, numbers.Integral):
                return len(os.listdir(self.path)) >= int(what)
            return all(os.path.exists(os.path.join(self.path, str(n))) for n in what)

        deadline = time.monotonic() + timeout_s
        while not met():
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)
        return True

    def __repr__(self) -> str:
        return f"Rendezvous({self.path!r})"


# --------------------------------------------------------------------------- in-flight probe
_FREE = "free"  # marker: a task waited too long, or the probe failed; no task waits any more
_HARD_TIMEOUT_S = 60.0  # s: a held task waits no longer than this, whatever else happens


def _held_call(path: str, j: int, n_items: int, window: int, release: str, grace_s: float,
               timeout_s: float, fn: Callable, x):
    """An :class:`InFlightProbe`'s task ``j``: wait until it may finish, compute ``fn(x)``,
    leave the marker ``d-<j>`` and return the value.

    It may finish when the window is full (as many tasks in flight as ``window``, or every
    item left) and it is its turn (the oldest or the newest task in flight, by ``release``);
    then it waits ``grace_s`` more, so that a caller that submits too many shows it. It waits
    in vain once it has waited ``timeout_s`` while every task submitted had started (each
    leaves the marker ``r-<j>`` when it starts): time in which a task was still on its way to
    a worker (a worker process starting, a task sent to another node: seconds, on a busy
    machine or a cluster) does not count, up to ``_HARD_TIMEOUT_S`` in all. Then it leaves the
    marker ``free``: no task waits after that.
    """
    _touch(os.path.join(path, f"r-{j}"))
    start = last = time.monotonic()
    waited = 0.0
    while True:
        try:
            names = os.listdir(path)
        except FileNotFoundError:  # the probe is gone (its caller failed): nobody is counting
            names = [_FREE]
        if _FREE in names:
            break
        sent = {int(m[2:]) for m in names if m.startswith("s-")}
        running = {int(m[2:]) for m in names if m.startswith("r-")}
        done = {int(m[2:]) for m in names if m.startswith("d-")}
        pending = sent - done
        if j in pending and len(pending) >= min(window, n_items - len(done)) and \
                j == (min(pending) if release == "oldest" else max(pending)):
            time.sleep(grace_s)
            break
        now = time.monotonic()
        if sent <= running:  # every task submitted has started: the wait is the caller's
            waited += now - last
        last = now
        if waited >= timeout_s or now - start >= max(timeout_s, _HARD_TIMEOUT_S):
            _touch(os.path.join(path, _FREE))
            break
        time.sleep(0.002)
    value = fn(x)
    _touch(os.path.join(path, f"d-{j}"))
    return value


def _touch(filename: str) -> None:
    try:
        with open(filename, "w"):
            pass
    except FileNotFoundError:  # the probe's directory is gone: nobody is counting
        pass


class InFlightProbe(list):
    """A stand-in for a remote function ``ray.remote(fn)`` that counts, each time a task is
    submitted (``probe.remote(x)``), how many of its tasks are **in flight**: submitted and
    not finished. A test of a bounded pipeline passes it where the pipeline expects a remote
    function. The probe is the list of those counts, one per submission (a copy of it is a
    plain list of them).

    Its tasks are held back, so that the count does not depend on how fast anything runs:
    a task finishes only when the window is full (``window`` tasks in flight, or every one
    of the ``n_items`` not finished yet) and it is its turn: the ``"oldest"`` task in flight,
    or the ``"newest"`` (then tasks finish in another order than submitted; all held tasks
    must fit on Ray's CPUs, so use it with ``window`` at most those). A pipeline that keeps
    ``window`` tasks in flight runs at once; one that waits for more than one task before it
    submits again, or for a task other than the one released, makes a task wait
    ``timeout_s`` (counted while every submitted task has started: a task slow to reach a
    worker does not count), which sets :attr:`timed_out` and lets every task go. A submission that
    would put more than ``window`` tasks in flight raises ``AssertionError`` in the caller
    (and lets every held task go).

    * :attr:`in_flight` (the probe itself): the count at each submission (this one
      included); :attr:`peak`: the largest; :attr:`submitted`: how many tasks were submitted.
    * ``submit`` (for tests without Ray): a function called like the remote function's
      ``.remote`` with the task's arguments; default ``ray.remote(...).remote``.

    The markers are files in a :class:`Rendezvous` directory: the tasks must run on this
    machine.
    """

    def __init__(self, fn: Callable, window: int, n_items: int, release: str = "oldest",
                 grace_s: float = 0.01, timeout_s: float = 2.0, submit: Callable | None = None):
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {fn!r}")
        for name, value in (("window", window), ("n_items", n_items)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if release not in ("oldest", "newest"):
            raise ValueError(f"release must be 'oldest' or 'newest', got {release!r}")
        self.fn, self.window, self.n_items, self.release = fn, int(window), int(n_items), release
        self.grace_s, self.timeout_s = float(grace_s), float(timeout_s)
        super().__init__()
        self.rendezvous = Rendezvous()
        if submit is None:
            submit = _ray().remote(max_retries=0)(_held_call).remote
        self._submit = submit

    @property
    def in_flight(self) -> list[int]:
        """The tasks in flight at each submission, this one included."""
        return list(self)

    def __deepcopy__(self, memo) -> list[int]:  # the counts, not the tasks' machinery
        return list(self)

    @property
    def submitted(self) -> int:
        """How many tasks were submitted."""
        return len(self)

    @property
    def peak(self) -> int:
        """The most tasks in flight at a submission (0 before any)."""
        return max(self, default=0)

    @property
    def timed_out(self) -> bool:
        """Whether a task stopped waiting after ``timeout_s`` (or the probe let all go)."""
        return os.path.exists(os.path.join(self.rendezvous.path, _FREE))

    def finished(self) -> int:
        """How many tasks have finished (their value computed)."""
        return sum(1 for m in os.listdir(self.rendezvous.path) if m.startswith("d-"))

    def remote(self, x):
        """Submit a task computing ``fn(x)``: its ``ObjectRef`` (what the submit function
        returns)."""
        j = self.submitted
        now = j + 1 - self.finished()  # counted before the marker: no task is released yet
        self.append(now)
        if now > self.window:
            self.rendezvous.arrive(_FREE)
            raise AssertionError(f"submitting task {j + 1} put {now} tasks in flight (submitted, "
                                 f"not finished): at most {self.window} may be")
        self.rendezvous.arrive(f"s-{j}")
        return self._submit(self.rendezvous.path, j, self.n_items, self.window, self.release,
                            self.grace_s, self.timeout_s, self.fn, x)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", type(self.fn).__name__)
        return f"InFlightProbe({name}, window={self.window}, release={self.release!r})"

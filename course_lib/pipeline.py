"""Pipeline parallelism: schedules as data, checked, counted, drawn and replayed.

A schedule is a list of ``(step, stage, op, microbatch)`` with ``op`` ``'F'`` or ``'B'``
(notebook 06, section 4). :func:`check_schedule` lists what breaks the rules,
:func:`peak_activations` counts what each stage holds, :func:`schedule_gantt` draws it,
:func:`replay_schedule` runs it with real (unequal) stage times and
:func:`explore_pipeline` draws any schedule for any p and m.

numpy is the only import at module level; matplotlib and the widgets are imported inside
the functions that draw.

>>> schedule = [(0, 0, "F", 0), (1, 1, "F", 0), (2, 1, "B", 0), (3, 0, "B", 0)]
>>> check_schedule(schedule, p=2, m=1)
[]
>>> peak_activations(schedule, p=2)
[1, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._validate import check_int as _check_int
from ._validate import check_positive as _check_positive
from ._validate import is_int as _is_int

__all__ = ["PipelineRun", "as_schedule", "check_schedule", "explore_pipeline", "late_inputs",
           "op_inputs", "peak_activations", "replay_schedule", "schedule_gantt",
           "schedule_steps"]


def as_schedule(schedule) -> list[tuple[int, int, str, int]]:
    """A schedule as plain ``(step, stage, op, microbatch)`` tuples, sorted by step and stage.

    Accepts a list (or other iterable) of 4-tuples or 4-lists; steps, stages
    and micro-batches must be integers, ``op`` the string ``'F'`` or ``'B'``.
    Raises ``ValueError`` naming the first bad entry.

    >>> as_schedule([[1, 0, "B", 0], (0, 0, "F", 0)])
    [(0, 0, 'F', 0), (1, 0, 'B', 0)]
    >>> as_schedule([(0, 0, "X", 0)])
    Traceback (most recent call last):
    ...
    ValueError: schedule[0]: op must be 'F' or 'B', got 'X'
    """
    if isinstance(schedule, str | bytes | dict) or not hasattr(schedule, "__iter__"):
        raise ValueError(f"schedule must be a list of (step, stage, op, microbatch), "
                         f"got {type(schedule).__name__}")
    out = []
    for i, entry in enumerate(schedule):
        if not isinstance(entry, tuple | list) or len(entry) != 4:
            raise ValueError(f"schedule[{i}] must be a (step, stage, op, microbatch) tuple, "
                             f"got {entry!r:.80}")
        step, stage, op, mb = entry
        for name, v in (("step", step), ("stage", stage), ("microbatch", mb)):
            if not (_is_int(v) or (isinstance(v, float) and v.is_integer())):
                raise ValueError(f"schedule[{i}]: {name} must be an integer, got {v!r:.40}")
        if type(op) is not str or op not in ("F", "B"):
            raise ValueError(f"schedule[{i}]: op must be 'F' or 'B', got {op!r:.40}")
        out.append((int(step), int(stage), str(op), int(mb)))
    return sorted(out, key=lambda e: (e[0], e[1], e[2] == "F", e[3]))


def op_inputs(stage: int, op: str, mb: int, p: int) -> list[tuple[int, str, int]]:
    """The ops whose results an op needs, as ``(stage, op, microbatch)``: the rules of
    back-propagation that every schedule must follow.

    The F of micro-batch j on stage s needs its F on stage s − 1 (the activation it
    receives); its B on stage s needs its B on stage s + 1 (the gradient it receives) and
    its own F on stage s (the activation it frees).

    >>> op_inputs(1, "F", 0, p=3), op_inputs(0, "F", 0, p=3)
    ([(0, 'F', 0)], [])
    >>> op_inputs(1, "B", 2, p=3), op_inputs(2, "B", 2, p=3)
    ([(2, 'B', 2), (1, 'F', 2)], [(2, 'F', 2)])
    """
    if op == "F":
        return [(stage - 1, "F", mb)] if stage > 0 else []
    return ([(stage + 1, "B", mb)] if stage < p - 1 else []) + [(stage, "F", mb)]


def late_inputs(when: dict, p: int, stage: int, op: str, mb: int) -> list[tuple]:
    """The inputs of an op that are not ready before it runs: ``(input, its step)`` for each
    op of :func:`op_inputs` that ``when`` (``{(stage, op, microbatch): step}``, the
    schedule's steps) places at the op's own step or later. Inputs absent from ``when``
    are left out (:func:`check_schedule` reports them as missing).

    >>> late_inputs({(0, "F", 0): 0, (1, "F", 0): 0}, 2, 1, "F", 0)
    [((0, 'F', 0), 0)]
    """
    t = when[stage, op, mb]
    return [(dep, when[dep]) for dep in op_inputs(stage, op, mb, p)
            if dep in when and when[dep] >= t]


def schedule_steps(schedule, p: int, m: int) -> tuple[list[str], dict | None]:
    """The rules of a schedule that do not depend on the order of its ops, and each op's step.

    Returns ``(problems, when)``: readable problems with the steps, stages and
    micro-batches (integers, steps >= 0, stages 0 … p − 1, micro-batches 0 … m − 1), with
    every (stage, op, micro-batch) exactly once and a stage running at most one op per
    step; ``when`` maps each ``(stage, op, microbatch)`` to its step (``None`` where the
    schedule is not a list of such tuples at all: see :func:`as_schedule`).
    :func:`check_schedule` adds the dependency rules (:func:`late_inputs`).

    >>> schedule_steps([(0, 0, "F", 0), (0, 0, "B", 0)], 1, 1)[0]
    ['stage 0 runs two ops at step 0: B0 and F0']
    """
    p, m = _check_int(p, "p"), _check_int(m, "m")
    try:
        ops = as_schedule(schedule)
    except ValueError as exc:
        return [str(exc)], None
    problems: list[str] = []
    when: dict[tuple[int, str, int], int] = {}
    busy: dict[tuple[int, int], tuple[str, int]] = {}
    for step, s, op, j in ops:
        if step < 0:
            problems.append(f"{op}{j} on stage {s}: step {step} is negative")
        if not 0 <= s < p:
            problems.append(f"{op}{j} at step {step}: stage {s} is not in 0..{p - 1}")
            continue
        if not 0 <= j < m:
            problems.append(f"{op} on stage {s} at step {step}: micro-batch {j} is not in "
                            f"0..{m - 1}")
            continue
        if (s, op, j) in when:
            problems.append(f"{op} of micro-batch {j} on stage {s} appears twice (steps "
                            f"{when[s, op, j]} and {step})")
            continue
        if (s, step) in busy:
            o2, j2 = busy[s, step]
            problems.append(f"stage {s} runs two ops at step {step}: {o2}{j2} and {op}{j}")
        busy[s, step] = (op, j)
        when[s, op, j] = step
    for s in range(p):
        for j in range(m):
            for op in ("F", "B"):
                if (s, op, j) not in when:
                    problems.append(f"{op} of micro-batch {j} on stage {s} is missing")
    return problems, when


def check_schedule(schedule, p: int, m: int) -> list[str]:
    """What is wrong with a pipeline schedule of ``p`` stages and ``m`` micro-batches.

    The rules: steps are integers >= 0; stages 0 … p − 1 and micro-batches
    0 … m − 1; every (stage, op, micro-batch) appears exactly once; a stage
    runs at most one op per step (:func:`schedule_steps`); the F of micro-batch j
    runs on stage s at a later step than on stage s − 1; its B runs on stage s later
    than on stage s + 1 and later than its own F on stage s (:func:`op_inputs`).
    Returns readable problems (at most 10, then a count); ``[]`` means valid. Makespan
    and memory are not judged here.

    >>> for problem in check_schedule([(0, 0, "F", 0), (0, 1, "F", 0), (1, 1, "B", 0)], 2, 1):
    ...     print(problem)
    B of micro-batch 0 on stage 0 is missing
    F of micro-batch 0 on stage 1 at step 0 must come after its F on stage 0 (step 0)
    """
    problems, when = schedule_steps(schedule, p, m)
    if when is None:
        return problems
    for s in range(int(p)):
        for j in range(int(m)):
            for op in ("F", "B"):
                if (s, op, j) in when:
                    problems += [f"{op} of micro-batch {j} on stage {s} at step "
                                 f"{when[s, op, j]} must come after its {d_op} on stage {d_s} "
                                 f"(step {d_t})"
                                 for (d_s, d_op, _), d_t in late_inputs(when, p, s, op, j)]
    if len(problems) > 10:
        problems = problems[:10] + [f"... and {len(problems) - 10} more problems"]
    return problems


def peak_activations(schedule, p: int) -> list[int]:
    """The most micro-batches whose activations each stage holds at once.

    A stage keeps a micro-batch's activations from its F until its B has run
    (a B frees them). Returns one int per stage 0 … p − 1.

    >>> gpipe_2x3 = [(s + j, s, "F", j) for s in range(2) for j in range(3)] + \\
    ...             [(4 + (1 - s) + j, s, "B", j) for s in range(2) for j in range(3)]
    >>> peak_activations(gpipe_2x3, p=2)
    [3, 3]
    """
    p = _check_int(p, "p")
    held, peak = [0] * p, [0] * p
    for _, s, op, _ in as_schedule(schedule):
        if not 0 <= s < p:
            raise ValueError(f"stage {s} is not in 0..{p - 1}")
        held[s] += 1 if op == "F" else -1
        peak[s] = max(peak[s], held[s])
    return peak


def schedule_gantt(schedule, ax=None, title: str | None = None):
    """Draw a schedule: one row per stage, one bar per op (F solid, B light), unit steps.

    Uses :func:`course_lib.plots.gantt`; returns the ``Axes``.

    >>> ax = schedule_gantt([(0, 0, "F", 0), (1, 1, "F", 0), (2, 1, "B", 0), (3, 0, "B", 0)])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['stage 0', 'stage 1']
    """
    from . import plots

    ops = as_schedule(schedule)
    p = max((s for _, s, _, _ in ops), default=-1) + 1
    steps = max((t for t, _, _, _ in ops), default=-1) + 1
    rows = [(f"stage {s}", float(t), float(t + 1), f"{op}{j}")
            for s in range(p) for t, s2, op, j in ops if s2 == s]
    if title is None:
        title = f"{steps} steps, {p} stages"
    ax = plots.gantt(rows, ax=ax, title=title, unit="steps")
    for patch, row in zip(ax.patches, rows, strict=True):
        if row[3].startswith("B"):
            patch.set_alpha(0.45)
    ax.set_xlim(0, max(steps, 1))
    return ax


@dataclass(frozen=True)
class PipelineRun:
    """A schedule replayed with real times: ``intervals`` are ``(stage, start, end, label)``,
    ``busy[s]`` the time stage s computes (see :func:`replay_schedule`).

    >>> PipelineRun((("stage 0", 0.0, 1.0, "F0"),), makespan=4.0, busy=(2.0, 2.0)).bubble
    0.5
    """

    intervals: tuple[tuple[str, float, float, str], ...]
    makespan: float
    busy: tuple[float, ...]

    @property
    def bubble(self) -> float:
        """Fraction of the stages' time spent idle: 1 − busy / (p · makespan)."""
        total = len(self.busy) * self.makespan
        return 1.0 - sum(self.busy) / total if total > 0 else 0.0


def replay_schedule(schedule, forward: Sequence[float],
                    backward: Sequence[float] | None = None) -> PipelineRun:
    """Run a schedule's per-stage order with real durations instead of unit steps.

    Each stage runs its ops in the schedule's order; an op starts as soon as
    its stage is free and its dependencies (the rules of
    :func:`check_schedule`) have finished. ``forward[s]`` and ``backward[s]``
    are stage s's time per micro-batch (default backward = 2 × forward, a
    common rule of thumb). Unequal stages show how the slowest one sets the pace.

    >>> sched = [(0, 0, "F", 0), (1, 1, "F", 0), (2, 1, "B", 0), (3, 0, "B", 0)]
    >>> replay_schedule(sched, forward=[1.0, 3.0], backward=[1.0, 1.0]).makespan
    6.0
    """
    ops = as_schedule(schedule)
    p = len(forward)
    problems = check_schedule(ops, p, max((j for *_, j in ops), default=0) + 1)
    if problems:
        raise ValueError(f"schedule breaks the rules: {problems[0]}")
    fwd = [_check_positive(t, "each forward time") for t in forward]
    bwd = [2 * t for t in fwd] if backward is None else \
        [_check_positive(t, "each backward time") for t in backward]
    if len(bwd) != p:
        raise ValueError(f"backward must give one time per stage ({p}), got {len(bwd)}")
    order = {s: [(op, j) for _, s2, op, j in ops if s2 == s] for s in range(p)}
    end: dict[tuple[int, str, int], float] = {}
    free, pos = [0.0] * p, [0] * p
    rows = []
    while any(pos[s] < len(order[s]) for s in range(p)):
        progressed = False
        for s in range(p):
            while pos[s] < len(order[s]):
                op, j = order[s][pos[s]]
                deps = op_inputs(s, op, j, p)
                if not all(d in end for d in deps):
                    break
                start = max([free[s], *(end[d] for d in deps)])
                end[s, op, j] = free[s] = start + (fwd[s] if op == "F" else bwd[s])
                rows.append((f"stage {s}", start, free[s], f"{op}{j}"))
                pos[s] += 1
                progressed = True
        if not progressed:  # cannot happen for a schedule that passed check_schedule
            raise ValueError("the schedule's per-stage order deadlocks")
    busy = tuple(sum((fwd[s] + bwd[s]) for _ in range(len(order[s]) // 2)) for s in range(p))
    rows.sort(key=lambda r: (int(r[0].split()[1]), r[1]))
    return PipelineRun(tuple(rows), max(free), busy)


def explore_pipeline(schedules: dict, p: int = 4, m: int = 8, max_p: int = 8,
                     max_m: int = 16, widgets: bool | None = None):
    """The pipeline explorer: pick a schedule, p stages and m micro-batches; see its Gantt chart.

    ``schedules`` maps a name to a function ``(p, m) -> schedule`` (notebook
    06's ``gpipe_schedule`` and ``one_f_one_b_schedule``: pass yours). The
    title gives the steps, the idle fraction (replayed with unit times) and the
    activations each stage holds at most; a schedule that breaks the rules
    shows its first problem instead. Sliders where widgets can render; a
    static figure elsewhere (see :mod:`course_lib.widgets`).

    >>> toy = {"one at a time": lambda p, m: [(2 * p * j + s, s, "F", j) for s in range(p)
    ...        for j in range(m)] + [(2 * p * j + 2 * p - 1 - s, s, "B", j)
    ...        for s in range(p) for j in range(m)]}
    >>> ex = explore_pipeline(toy, p=2, m=2, widgets=False)
    >>> ex.figure.axes[0].get_title().split(":")[0]
    'one at a time, p = 2, m = 2'
    """
    from . import plots
    from .widgets import dropdown, int_slider, interactive_plot

    if not isinstance(schedules, dict) or not schedules \
            or not all(callable(f) for f in schedules.values()):
        raise TypeError(f"schedules must be a dict name -> function (p, m) -> schedule, "
                        f"got {schedules!r:.100}")
    names = list(schedules)

    def draw(schedule, p, m):
        ax = plots.new_axes(figsize=(9, 1.2 + 0.45 * p))
        head = f"{schedule}, p = {p}, m = {m}"
        try:
            ops = schedules[schedule](p, m)
            problems = check_schedule(ops, p, m)
        except NotImplementedError:
            ax.set_title(f"{head}: not written yet")
            return ax
        if problems:
            ax.set_title(f"{head}: {problems[0]}", fontsize=9)
            return ax
        run = replay_schedule(ops, [1.0] * p, [1.0] * p)
        steps = max(t for t, *_ in as_schedule(ops)) + 1
        schedule_gantt(ops, ax=ax, title=f"{head}: {steps} steps, idle {run.bubble:.0%}, "
                                         f"activations held {peak_activations(ops, p)}")
        ax.title.set_fontsize(10)
        return ax

    return interactive_plot(
        draw, widgets=widgets,
        schedule=dropdown(names[0], names, label="schedule"),
        p=int_slider(p, 1, max(max_p, p), label="stages p"),
        m=int_slider(m, 1, max(max_m, m), label="micro-batches m"),
    )

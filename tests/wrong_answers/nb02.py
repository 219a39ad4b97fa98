"""Wrong answers to notebook 02's exercises (dependencies and scaling laws)."""
# ruff: noqa: B905 - wrong answers are written the way students write them

from __future__ import annotations

import heapq

import numpy as np

from tests.wrong_answers import wrong

NOTEBOOK = "02_dependencies_and_scaling"


# --- data_dependences ----------------------------------------------------------------------------

@wrong("data_dependences", "every earlier writer of a name counts, not only the latest")
def dd_every_writer(ops):
    ops = list(ops)
    return {(i, j) for j, (_, inputs) in enumerate(ops) for i in range(j)
            if ops[i][0] in inputs}


@wrong("data_dependences", "records the op's write before its reads (A = A * y)")
def dd_write_first(ops):
    last_writer, pairs = {}, set()
    for j, (output, inputs) in enumerate(ops):
        last_writer[output] = j
        for name in inputs:
            if name in last_writer and last_writer[name] != j:
                pairs.add((last_writer[name], j))
    return pairs


@wrong("data_dependences", "counts write-after-read and write-after-write too")
def dd_all_hazards(ops):
    ops = list(ops)
    pairs = set()
    for j, (out_j, in_j) in enumerate(ops):
        for i in range(j):
            out_i, in_i = ops[i]
            if out_i in in_j or out_j in in_i or out_i == out_j:
                pairs.add((i, j))
    return pairs


@wrong("data_dependences", "a list with a pair per read (B = A * A gives (0, 1) twice)")
def dd_duplicates(ops):
    last_writer, pairs = {}, []
    for j, (output, inputs) in enumerate(ops):
        for name in inputs:
            if name in last_writer:
                pairs.append((last_writer[name], j))
        last_writer[output] = j
    return pairs


@wrong("data_dependences", "looks only at the op just before")
def dd_previous_only(ops):
    ops = list(ops)
    return {(j - 1, j) for j in range(1, len(ops)) if ops[j - 1][0] in ops[j][1]}


# --- critical_path -----------------------------------------------------------------------------

def _topo(durations, deps):
    """Kahn's algorithm; ValueError on unknown predecessors and cycles (a correct helper)."""
    for ps in deps.values():
        for p in ps:
            if p not in durations:
                raise ValueError(f"unknown {p}")
    preds = {t: list(deps.get(t, ())) for t in durations}
    waiting = {t: len(ps) for t, ps in preds.items()}
    succ = {t: [] for t in durations}
    for t, ps in preds.items():
        for p in ps:
            succ[p].append(t)
    ready = [t for t in durations if waiting[t] == 0]
    order = []
    while ready:
        t = ready.pop()
        order.append(t)
        for s in succ[t]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    if len(order) < len(durations):
        raise ValueError("cycle")
    return order, preds, succ


def _longest(durations, order, preds):
    finish, came_from = {}, {}
    for t in order:
        best = max(preds[t], key=lambda p: finish[p], default=None)
        came_from[t] = best
        finish[t] = (finish[best] if best is not None else 0) + durations[t]
    end = max(finish, key=finish.get)
    path = [end]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])
    return finish[end], path[::-1]


@wrong("critical_path", "returns the path from the last task back to the first")
def cp_reversed(durations, deps):
    order, preds, _ = _topo(durations, deps)
    length, path = _longest(durations, order, preds)
    return length, path[::-1]


@wrong("critical_path", "the path with the most tasks (hops), not the longest time")
def cp_hops(durations, deps):
    order, preds, _ = _topo(durations, deps)
    hops, came_from = {}, {}
    for t in order:
        best = max(preds[t], key=lambda p: hops[p], default=None)
        came_from[t] = best
        hops[t] = (hops[best] if best is not None else 0) + 1
    end = max(hops, key=hops.get)
    path = [end]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])
    path.reverse()
    return sum(durations[t] for t in path), path


@wrong("critical_path", "walks the tasks in dict order (assumes it is topological)")
def cp_dict_order(durations, deps):
    for t in list(durations):
        for p in deps.get(t, ()):
            if p not in durations:
                raise ValueError(f"unknown {p}")
            if p == t:
                raise ValueError("cycle")
    finish, came_from = {}, {}
    for t in durations:
        preds = list(deps.get(t, ()))
        best = max(preds, key=lambda p: finish[p], default=None)
        came_from[t] = best
        finish[t] = (finish[best] if best is not None else 0) + durations[t]
    end = max(finish, key=finish.get)
    path = [end]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])
    return finish[end], path[::-1]


@wrong("critical_path", "a cycle only when no task is free of predecessors")
def cp_weak_cycle_check(durations, deps):
    for ps in deps.values():
        for p in ps:
            if p not in durations:
                raise ValueError(f"unknown {p}")
    preds = {t: list(deps.get(t, ())) for t in durations}
    ready = [t for t in durations if not preds[t]]
    if not ready:
        raise ValueError("cycle: no task can start")
    succ = {t: [s for s in durations if t in preds[s]] for t in durations}
    waiting = {t: len(ps) for t, ps in preds.items()}
    order = []
    while ready:  # Kahn's algorithm, without checking that every task came out
        t = ready.pop()
        order.append(t)
        for s in succ[t]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    return _longest(durations, order, preds)


@wrong("critical_path", "deps.setdefault(t, []) for every task: changes the caller's deps")
def cp_mutates_deps(durations, deps):
    for t in durations:
        deps.setdefault(t, [])
    order, preds, _ = _topo(durations, deps)
    return _longest(durations, order, preds)


@wrong("critical_path", "checks that the tasks of deps exist, not their predecessors")
def cp_checks_keys(durations, deps):
    for t in deps:
        if t not in durations:
            raise ValueError(f"unknown task {t}")
    preds = {t: list(deps.get(t, ())) for t in durations}
    succ = {t: [] for t in durations}
    for t, ps in preds.items():
        for p in ps:
            succ[p].append(t)  # KeyError for an unknown predecessor
    order, _, _ = _topo(durations, deps)
    return _longest(durations, order, preds)


# --- list_schedule -----------------------------------------------------------------------------

def _bottom_levels(durations, succ, own=True):
    rank = {}

    def remaining(t):
        if t not in rank:
            rank[t] = (durations[t] if own else 0) + max(
                (remaining(s) + (0 if own else durations[s]) for s in succ[t]), default=0)
        return rank[t]

    for t in durations:
        remaining(t)
    return rank


def _list_schedule(durations, deps, P, key, one_event_at_a_time=False):
    """The master's event loop, with the priority key (smaller first) given."""
    _, preds, succ = _topo(durations, deps)
    waiting = {t: len(ps) for t, ps in preds.items()}
    ready = [(key(t), t) for t in durations if waiting[t] == 0]
    heapq.heapify(ready)
    free, running, schedule, now = list(range(P)), [], {}, 0
    while len(schedule) < len(durations):
        while free and ready:
            _, t = heapq.heappop(ready)
            w = heapq.heappop(free)
            schedule[t] = (w, now)
            heapq.heappush(running, (now + durations[t], w, t))
        now = running[0][0]
        while running and running[0][0] == now:
            _, w, t = heapq.heappop(running)
            heapq.heappush(free, w)
            for s in succ[t]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(ready, (key(s), s))
            if one_event_at_a_time:
                break
    return schedule


@wrong("list_schedule", "ready tasks in name order (no priority)")
def ls_name_order(durations, deps, P):
    return _list_schedule(durations, deps, P, key=lambda t: 0)


@wrong("list_schedule", "longest task first, not the longest remaining path")
def ls_longest_task(durations, deps, P):
    return _list_schedule(durations, deps, P, key=lambda t: -durations[t])


@wrong("list_schedule", "the remaining path without the task's own duration")
def ls_without_own(durations, deps, P):
    _, _, succ = _topo(durations, deps)
    rank = _bottom_levels(durations, succ, own=False)
    return _list_schedule(durations, deps, P, key=lambda t: -rank[t])


@wrong("list_schedule", "ties broken by insertion order, not by name")
def ls_insertion_ties(durations, deps, P):
    _, _, succ = _topo(durations, deps)
    rank = _bottom_levels(durations, succ)
    index = {t: i for i, t in enumerate(durations)}
    return _list_schedule(durations, deps, P, key=lambda t: (-rank[t], index[t]))


@wrong("list_schedule", "ends one task per event: tasks ending together are not all freed")
def ls_one_event(durations, deps, P):
    _, _, succ = _topo(durations, deps)
    rank = _bottom_levels(durations, succ)
    return _list_schedule(durations, deps, P, key=lambda t: -rank[t], one_event_at_a_time=True)


@wrong("list_schedule", "waits for every running task before starting more (waves)")
def ls_waves(durations, deps, P):
    _, preds, succ = _topo(durations, deps)
    rank = _bottom_levels(durations, succ)
    done, schedule, now = set(), {}, 0
    while len(schedule) < len(durations):
        ready = sorted((t for t in durations if t not in schedule
                        and all(p in done for p in preds[t])), key=lambda t: (-rank[t], t))
        wave = ready[:P]
        for w, t in enumerate(wave):
            schedule[t] = (w, now)
        now += max(durations[t] for t in wave)
        done.update(wave)
    return schedule


# --- work_span_bounds ----------------------------------------------------------------------------

def _span(durations, deps):
    order, preds, _ = _topo(durations, deps)
    return _longest(durations, order, preds)[0]


def ws_span_only(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return span, min(P, W / span)


def ws_no_p_cap(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return max(W / P, span), W / span


def ws_floor(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return max(W // P, span), min(P, W / span)


def ws_swapped(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return min(W / P, span), max(P, W / span)


def ws_longest_task(durations, deps, P):
    W, span = sum(durations.values()), max(durations.values())
    return max(W / P, span), min(P, W / span)


# --- amdahl_speedup / gustafson_speedup / karp_flatt ------------------------------------------

def _out(S):
    S = np.asarray(S, float)
    return float(S) if S.ndim == 0 else S


def am_serial(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out(1 / (f + (1 - f) / P))


def am_scalar(f, P):
    if not 0 <= f <= 1 or P < 1:
        raise ValueError("bad argument")
    return 1 / ((1 - f) + f / P)


def am_p_positive(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P <= 0):
        raise ValueError("bad argument")
    return _out(1 / ((1 - f) + f / P))


def am_no_lower(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any(f > 1) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out(1 / ((1 - f) + f / P))


def am_int_p(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out(1 / ((1 - f) + f / np.floor(P)))


def gu_parallel(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out((1 - s) + P * s)


def gu_amdahl(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out(1 / (s + (1 - s) / P))


def gu_scalar(s, P):
    if not 0 <= s <= 1 or P < 1:
        raise ValueError("bad argument")
    return s + P * (1 - s)


def gu_no_p_check(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)):
        raise ValueError("bad argument")
    return _out(s + P * (1 - s))


def gu_no_lower(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any(s > 1) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out(s + P * (1 - s))


def kf_p_positive(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 0):
        raise ValueError("P")
    return _out((1 / S - 1 / P) / (1 - 1 / P))


def kf_sign(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 1):
        raise ValueError("P")
    return _out((1 / P - 1 / S) / (1 - 1 / P))


def kf_no_denominator(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 1):
        raise ValueError("P")
    return _out(1 / S - 1 / P)


def kf_clipped(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 1):
        raise ValueError("P")
    return _out(np.clip((1 / S - 1 / P) / (1 - 1 / P), 0, 1))


def kf_scalar(speedup, P):
    if P <= 1:
        raise ValueError("P")
    return (1 / speedup - 1 / P) / (1 - 1 / P)


def kf_equal_only(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P == 1):
        raise ValueError("P")
    return _out((1 / S - 1 / P) / (1 - 1 / P))


# --- fit_parallel_fraction -----------------------------------------------------------------------

@wrong("fit_parallel_fraction", "the mean of each measurement's own f (P = 1 skipped)")
def fp_mean_of_points(Ps, speedups):
    P, S = np.asarray(Ps, float), np.asarray(speedups, float)
    keep = P > 1
    f = (1 - 1 / S[keep]) / (1 - 1 / P[keep])
    return float(np.clip(f.mean(), 0, 1))


@wrong("fit_parallel_fraction", "a two-parameter line 1/S = a + f/P: f is its slope")
def fp_line_slope(Ps, speedups):
    P, S = np.asarray(Ps, float), np.asarray(speedups, float)
    f, _ = np.polyfit(1 / P, 1 / S, 1)
    return float(np.clip(f, 0, 1))


@wrong("fit_parallel_fraction", "a two-parameter line 1/S = a + b/P: f = 1 - a")
def fp_line_intercept(Ps, speedups):
    P, S = np.asarray(Ps, float), np.asarray(speedups, float)
    _, a = np.polyfit(1 / P, 1 / S, 1)
    return float(np.clip(1 - a, 0, 1))


@wrong("fit_parallel_fraction", "not clipped to [0, 1]")
def fp_unclipped(Ps, speedups):
    P, S = np.asarray(Ps, float), np.asarray(speedups, float)
    x, y = 1 - 1 / P, 1 - 1 / S
    return float(np.sum(x * y) / np.sum(x * x))


@wrong("fit_parallel_fraction", "clipped at 1 only (min(f, 1)): slow-downs give f < 0")
def fp_upper_clip(Ps, speedups):
    P, S = np.asarray(Ps, float), np.asarray(speedups, float)
    x, y = 1 - 1 / P, 1 - 1 / S
    return float(min(np.sum(x * y) / np.sum(x * x), 1.0))


# --- issue 18: kind inputs, types, unstated cases --------------------------------------------

@wrong("data_dependences", "a sorted list of pairs, not a set")
def dd_sorted_list(ops):
    last_writer, pairs = {}, set()
    for j, (output, inputs) in enumerate(ops):
        for name in inputs:
            if name in last_writer:
                pairs.add((last_writer[name], j))
        last_writer[output] = j
    return sorted(pairs)


@wrong("data_dependences", "ops.index(op) for j: a repeated op gets the first one's index")
def dd_index_of_op(ops):
    last_writer, pairs = {}, set()
    for op in ops:
        j = ops.index(op)
        output, inputs = op
        for name in inputs:
            if name in last_writer and last_writer[name] != j:
                pairs.add((last_writer[name], j))
        last_writer[output] = j
    return pairs


@wrong("critical_path", "the path as a tuple, not a list")
def cp_tuple_path(durations, deps):
    order, preds, _ = _topo(durations, deps)
    length, path = _longest(durations, order, preds)
    return length, tuple(path)


@wrong("critical_path", "returns a list [length, path], not a tuple")
def cp_list_result(durations, deps):
    order, preds, _ = _topo(durations, deps)
    return list(_longest(durations, order, preds))


@wrong("critical_path", "tasks in name order (assumes names sort topologically)")
def cp_name_order(durations, deps):
    _topo(durations, deps)  # the checks
    finish, came_from = {}, {}
    for t in sorted(durations):
        preds = list(deps.get(t, ()))
        best = max(preds, key=lambda p: finish.get(p, 0), default=None)
        came_from[t] = best
        finish[t] = (finish.get(best, 0) if best is not None else 0) + durations[t]
    end = max(finish, key=finish.get)
    path = [end]
    while came_from[path[-1]] is not None and len(path) <= len(durations):
        path.append(came_from[path[-1]])
    return finish[end], path[::-1]


@wrong("list_schedule", "ties of the remaining path broken by the longer task, then by name")
def ls_tie_longer_task(durations, deps, P):
    _, _, succ = _topo(durations, deps)
    rank = _bottom_levels(durations, succ)
    return _list_schedule(durations, deps, P, key=lambda t: (-rank[t], -durations[t], t))


@wrong("list_schedule", "priority by the earliest start (top level), not the remaining path")
def ls_top_level(durations, deps, P):
    order, preds, _ = _topo(durations, deps)
    top = {}
    for t in order:
        top[t] = max((top[p] + durations[p] for p in preds[t]), default=0)
    return _list_schedule(durations, deps, P, key=lambda t: (top[t], t))


@wrong("list_schedule", "ties by the number in the name (natural order: t9 before t10)")
def ls_natural_names(durations, deps, P):
    import re

    _, _, succ = _topo(durations, deps)
    rank = _bottom_levels(durations, succ)

    def natural(t):
        return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", t)]
    return _list_schedule(durations, deps, P, key=lambda t: (-rank[t], natural(t)))


def ws_list(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return [max(W / P, span), min(P, W / span)]


def ws_array(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return np.array([max(W / P, span), min(P, W / span)])


def am_p_one_int(f, P):
    if np.ndim(P) == 0 and np.ndim(f) == 0 and P == 1:
        if not 0 <= f <= 1:
            raise ValueError("f")
        return 1
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad f or P")
    return _out(1 / ((1 - f) + f / P))


def am_f_one_p(f, P):
    if np.ndim(P) == 0 and np.ndim(f) == 0 and f == 1 and P >= 1:
        return P
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad f or P")
    return _out(1 / ((1 - f) + f / P))


def am_rounded(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad f or P")
    return _out(np.round(1 / ((1 - f) + f / P), 4))


def am_float32(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad f or P")
    S = 1 / ((1 - f) + f / P)
    return float(S) if S.ndim == 0 else S.astype(np.float32)


def gu_whole_p(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)) or np.any(P < 1) or np.any(P != np.floor(P)):
        raise ValueError("bad s or P")
    return _out(s + P * (1 - s))


def gu_int_p(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)) or np.any(P < 1):
        raise ValueError("bad s or P")
    return _out(s + np.floor(P) * (1 - s))


def gu_s_zero_p(s, P):
    if np.ndim(P) == 0 and np.ndim(s) == 0 and s == 0 and P >= 1:
        return P
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)) or np.any(P < 1):
        raise ValueError("bad s or P")
    return _out(s + P * (1 - s))


def kf_p_two(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P < 2):
        raise ValueError("P must be at least 2")
    return _out((1 / S - 1 / P) / (1 - 1 / P))


def kf_int_p(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 1):
        raise ValueError("P must be > 1")
    P = np.floor(P)
    return _out((1 / S - 1 / P) / (1 - 1 / P))


def kf_rounded(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 1):
        raise ValueError("P must be > 1")
    return _out(np.round((1 / S - 1 / P) / (1 - 1 / P), 3))


@wrong("fit_parallel_fraction", "clipped with ints: min(max(f, 0), 1) gives the int 0 or 1")
def fp_int_clip(Ps, speedups):
    x, y = 1 - 1 / np.asarray(Ps, float), 1 - 1 / np.asarray(speedups, float)
    f = float(np.sum(x * y) / np.sum(x * x))
    return min(max(f, 0), 1)


@wrong("fit_parallel_fraction", "averages the speed-ups of a repeated P first")
def fp_mean_per_p(Ps, speedups):
    P, S = np.asarray(Ps, float), np.asarray(speedups, float)
    u = np.unique(P)
    S = np.array([S[P == p].mean() for p in u])
    x, y = 1 - 1 / u, 1 - 1 / S
    return float(np.clip(np.sum(x * y) / np.sum(x * x), 0, 1))


# --- scaling_model: the four formula exercises merged (work_span_bounds, amdahl_speedup,
# gustafson_speedup, karp_flatt). Each wrong answer above breaks one law; the merged
# function answers the other laws correctly, so its hidden tests must catch that one.

def _ok_amdahl(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any(~((f >= 0) & (f <= 1))) or np.any(~(P >= 1)):
        raise ValueError("bad f or P")
    return _out(1 / ((1 - f) + f / P))


def _ok_gustafson(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any(~((s >= 0) & (s <= 1))) or np.any(~(P >= 1)):
        raise ValueError("bad s or P")
    return _out(s + P * (1 - s))


def _ok_karp_flatt(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(~(P > 1)):
        raise ValueError("P must be > 1")
    return _out((1 / S - 1 / P) / (1 - 1 / P))


def _ok_work_span(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return max(W / P, span), min(P, W / span)


def _merged(name, **broken):
    """scaling_model(law, x, P) with the laws in ``broken`` answered by the given wrong
    functions (same arguments as the old one-law exercises) and the others right."""
    laws = {"amdahl": _ok_amdahl, "gustafson": _ok_gustafson, "karp_flatt": _ok_karp_flatt,
            "work_span": _ok_work_span, **broken}

    def scaling_model(law, x, P):
        if law == "work_span":
            durations, deps = x
            return laws["work_span"](durations, deps, P)
        if law not in laws:
            raise ValueError(f"unknown law {law!r}")
        return laws[law](x, P)

    scaling_model.__name__ = name
    return scaling_model


_RETARGETED = [
    ("work_span", "min_time = span only (forgets W / P)", ws_span_only),
    ("work_span", "max_speedup = W / span only (forgets P)", ws_no_p_cap),
    ("work_span", "floor division W // P", ws_floor),
    ("work_span", "min and max swapped", ws_swapped),
    ("work_span", "span = the longest single task, not the longest path", ws_longest_task),
    ("amdahl", "f read as the serial fraction: 1 / (f + (1 - f) / P)", am_serial),
    ("amdahl", "scalar-only checks (`if not 0 <= f <= 1`): arrays fail", am_scalar),
    ("amdahl", "checks P > 0, not P >= 1 (accepts half a worker)", am_p_positive),
    ("amdahl", "checks f <= 1 but not f >= 0", am_no_lower),
    ("amdahl", "P truncated to a whole number of workers", am_int_p),
    ("gustafson", "s read as the parallel fraction: (1 - s) + P s", gu_parallel),
    ("gustafson", "Amdahl's formula with f = 1 - s", gu_amdahl),
    ("gustafson", "scalar-only checks: arrays fail", gu_scalar),
    ("gustafson", "no check of P", gu_no_p_check),
    ("gustafson", "checks s <= 1 but not s >= 0", gu_no_lower),
    ("karp_flatt", "checks P > 0 only: P = 1 divides by zero", kf_p_positive),
    ("karp_flatt", "1/P - 1/S (sign flipped)", kf_sign),
    ("karp_flatt", "forgets the denominator 1 - 1/P", kf_no_denominator),
    ("karp_flatt", "clips e to [0, 1] (a superlinear speed-up gives e < 0)", kf_clipped),
    ("karp_flatt", "scalar-only check `if P <= 1`: arrays fail", kf_scalar),
    ("karp_flatt", "checks P == 1 only (P = 0.5 accepted)", kf_equal_only),
    ("work_span", "returns a list [min_time, max_speedup]", ws_list),
    ("work_span", "a numpy array of the two bounds", ws_array),
    ("amdahl", "P = 1 special-cased: returns the int 1", am_p_one_int),
    ("amdahl", "f = 1 special-cased: returns P as given (an int)", am_f_one_p),
    ("amdahl", "rounded to four decimals", am_rounded),
    ("amdahl", "float32 arrays", am_float32),
    ("gustafson", "P must be a whole number of workers (a fractional P raises)", gu_whole_p),
    ("gustafson", "P truncated to a whole number of workers", gu_int_p),
    ("gustafson", "s = 0 special-cased: returns P as given (an int)", gu_s_zero_p),
    ("karp_flatt", "P >= 2 required (a fractional 1 < P < 2 raises)", kf_p_two),
    ("karp_flatt", "P truncated to a whole number of workers", kf_int_p),
    ("karp_flatt", "rounded to three decimals", kf_rounded),
]
for _law, _description, _fn in _RETARGETED:
    wrong("scaling_model", f"{_law}: {_description}")(_merged(_fn.__name__, **{_law: _fn}))


@wrong("scaling_model", "an unknown law returns None instead of raising")
def sm_unknown_none(law, x, P):
    if law not in ("amdahl", "gustafson", "karp_flatt", "work_span"):
        return None
    return _merged("ok")(law, x, P)


@wrong("scaling_model", "law names compared case-insensitively ('Amdahl' accepted)")
def sm_case_insensitive(law, x, P):
    return _merged("ok")(law.lower() if isinstance(law, str) else law, x, P)


@wrong("scaling_model", "Karp-Flatt and Gustafson swapped: the speed-up read as a fraction")
def sm_swapped(law, x, P):
    swap = {"karp_flatt": "gustafson", "gustafson": "karp_flatt"}
    return _merged("ok")(swap.get(law, law), x, P)


# --- balance_chunks ------------------------------------------------------------------------------

def _static(n, P):
    return [list(range(w * n // P, (w + 1) * n // P)) for w in range(P)]


@wrong("balance_chunks", "the given static blocks, unchanged")
def bc_static(costs, P):
    return _static(len(costs), P)


@wrong("balance_chunks", "interleaved (round robin): defeated by a big iteration every P-th")
def bc_interleaved(costs, P):
    return [list(range(w, len(costs), P)) for w in range(P)]


@wrong("balance_chunks", "dynamic with chunks of n / (2P) iterations")
def bc_dynamic_chunks(costs, P):
    n = len(costs)
    c = max(1, n // (2 * P))
    free = [(0.0, w) for w in range(P)]
    out = [[] for _ in range(P)]
    for start in range(0, n, c):
        t, w = heapq.heappop(free)
        out[w].extend(range(start, min(n, start + c)))
        heapq.heappush(free, (t + float(sum(costs[start:start + c])), w))
    return out


@wrong("balance_chunks", "sorts costs in place (longest first): indices of the sorted list")
def bc_sorts_in_place(costs, P):
    if isinstance(costs, list):
        costs.sort(reverse=True)
        free = [(0.0, w) for w in range(P)]
        out = [[] for _ in range(P)]
        for i, c in enumerate(costs):
            t, w = heapq.heappop(free)
            out[w].append(i)
            heapq.heappush(free, (t + float(c), w))
        return out
    return bc_interleaved(costs, P)


@wrong("balance_chunks", "the least-loaded worker, but drops the empty lists when n < P")
def bc_drops_empty(costs, P):
    free = [(0.0, w) for w in range(P)]
    out = [[] for _ in range(P)]
    for i, c in enumerate(costs):
        t, w = heapq.heappop(free)
        out[w].append(i)
        heapq.heappush(free, (t + float(c), w))
    return [w for w in out if w]


@wrong("balance_chunks", "a free worker takes the next iteration, but the worker that is busiest")
def bc_busiest(costs, P):
    load = [0.0] * P
    out = [[] for _ in range(P)]
    for i, c in enumerate(costs):
        w = max(range(P), key=lambda k: load[k]) if i >= P else i
        out[w].append(i)
        load[w] += float(c)
    return out


# --- level_losing_graph --------------------------------------------------------------------------

def _pad(durations, n, d=1):
    for k in range(n - len(durations)):
        durations[f"x{k:02d}"] = d
    return durations


@wrong("level_losing_graph", "a chain: one task per level, nothing to lose")
def ll_chain(n_tasks):
    names = [f"t{k:02d}" for k in range(n_tasks)]
    return {t: 10 for t in names}, {names[k]: [names[k - 1]] for k in range(1, n_tasks)}


@wrong("level_losing_graph", "the lecture's graph, padded: 45 / 35 is only 1.29x")
def ll_lecture(n_tasks):
    d = {"T1": 10, "T2": 5, "T3": 15, "T4": 5, "T5": 20, "T6": 10}
    deps = {"T4": ["T1"], "T5": ["T2"], "T6": ["T4", "T5"]}
    return _pad(d, n_tasks), deps


@wrong("level_losing_graph", "the right shape, but the short task takes 0 (not allowed)")
def ll_zero(n_tasks):
    return _pad({"a": 0, "b": 100, "c": 100}, n_tasks), {"c": ["a"]}


@wrong("level_losing_graph", "the right shape with durations of 1000 (above the limit of 100)")
def ll_too_long(n_tasks):
    return _pad({"a": 1, "b": 1000, "c": 1000}, n_tasks), {"c": ["a"]}


@wrong("level_losing_graph", "always 3 tasks, whatever n_tasks says")
def ll_ignores_n(n_tasks):
    return {"a": 1, "b": 100, "c": 100}, {"c": ["a"]}


@wrong("level_losing_graph", "pads with copies of the long task: the ratio falls as n grows")
def ll_long_padding(n_tasks):
    return _pad({"a": 1, "b": 100, "c": 100}, n_tasks, d=100), {"c": ["a"]}


@wrong("level_losing_graph", "the padding tasks are named in deps only (unknown tasks)")
def ll_unknown(n_tasks):
    deps = {"c": ["a"]}
    for k in range(n_tasks - 3):
        deps["c"].append(f"x{k:02d}")
    return _pad({"a": 1, "b": 100, "c": 100}, n_tasks - (n_tasks - 3)), deps


@wrong("level_losing_graph", "deps as strings: {'c': 'a'} instead of {'c': ['a']}")
def ll_string_deps(n_tasks):
    return _pad({"a": 1, "b": 100, "c": 100}, n_tasks), {"c": "a"}


@wrong("level_losing_graph", "boolean durations (True counts as 1)")
def ll_bool(n_tasks):
    return _pad({"a": True, "b": 100, "c": 100}, n_tasks, d=True), {"c": ["a"]}


@wrong("level_losing_graph", "a cycle among the padding tasks")
def ll_cycle(n_tasks):
    d = _pad({"a": 1, "b": 100, "c": 100}, n_tasks)
    deps = {"c": ["a"]}
    pads = [t for t in d if t.startswith("x")]
    if len(pads) >= 2:
        deps[pads[0]], deps[pads[1]] = [pads[1]], [pads[0]]
    elif pads:
        deps[pads[0]] = [pads[0]]
    else:
        deps["a"] = ["c"]
    return d, deps


@wrong("level_losing_graph", "the right shape, long tasks of 2: the ratio 4 / 3 is below 1.5")
def ll_short_long(n_tasks):
    return _pad({"a": 1, "b": 2, "c": 2}, n_tasks), {"c": ["a"]}


@wrong("level_losing_graph", "numpy durations (np.int64), not Python numbers")
def ll_numpy(n_tasks):
    d = {t: np.int64(v) for t, v in _pad({"a": 1, "b": 100, "c": 100}, n_tasks).items()}
    return d, {"c": ["a"]}


# --- fit_scaled ----------------------------------------------------------------------------------

def _fs_inputs(gpus, rate):
    P, r = np.asarray(gpus, float), np.asarray(rate, float)
    if P.ndim != 1 or P.shape != r.shape or np.any(P < 1) or np.any(P != np.round(P)) \
            or np.any(r <= 0) or np.sum(P == 1) != 1 or not np.any(P > 1):
        raise ValueError("bad input")
    return P, r


def _fs_e(P, S):
    k = P > 1
    return (1 / S[k] - 1 / P[k]) / (1 - 1 / P[k])


@wrong("fit_scaled", "fits Amdahl's law (1 / S) to the scaled speed-ups")
def fs_amdahl(gpus, images_per_sec):
    P, r = _fs_inputs(gpus, images_per_sec)
    S = r / r[P == 1][0]
    x, y = 1 - 1 / P, 1 - 1 / S
    return float(np.clip(np.sum(x * y) / np.sum(x * x), 0, 1)), _fs_e(P, S)


@wrong("fit_scaled", "speed-ups relative to the first run, not to the run on 1 GPU")
def fs_first_row(gpus, images_per_sec):
    P, r = _fs_inputs(gpus, images_per_sec)
    S = r / r[0]
    x, y = P - 1, S - 1
    return float(np.clip(np.sum(x * y) / np.sum(x * x), 0, 1)), _fs_e(P, S)


@wrong("fit_scaled", "a two-parameter line S = a + b P: f is its slope")
def fs_free_intercept(gpus, images_per_sec):
    P, r = _fs_inputs(gpus, images_per_sec)
    S = r / r[P == 1][0]
    b = np.polyfit(P, S, 1)[0]
    return float(np.clip(b, 0, 1)), _fs_e(P, S)


@wrong("fit_scaled", "the mean of each run's own f = (S - 1) / (P - 1)")
def fs_mean_of_points(gpus, images_per_sec):
    P, r = _fs_inputs(gpus, images_per_sec)
    S = r / r[P == 1][0]
    k = P > 1
    return float(np.clip(np.mean((S[k] - 1) / (P[k] - 1)), 0, 1)), _fs_e(P, S)


@wrong("fit_scaled", "f not clipped to [0, 1]")
def fs_unclipped(gpus, images_per_sec):
    P, r = _fs_inputs(gpus, images_per_sec)
    S = r / r[P == 1][0]
    return float(np.sum((P - 1) * (S - 1)) / np.sum((P - 1) ** 2)), _fs_e(P, S)


@wrong("fit_scaled", "e sorted by P instead of in the given order")
def fs_sorted_e(gpus, images_per_sec):
    P, r = _fs_inputs(gpus, images_per_sec)
    order = np.argsort(P, kind="stable")
    P, r = P[order], r[order]
    S = r / r[P == 1][0]
    f = np.sum((P - 1) * (S - 1)) / np.sum((P - 1) ** 2)
    return float(np.clip(f, 0, 1)), _fs_e(P, S)


@wrong("fit_scaled", "e for every run, the run on 1 GPU included (as NaN)")
def fs_e_with_one(gpus, images_per_sec):
    P, r = _fs_inputs(gpus, images_per_sec)
    S = r / r[P == 1][0]
    f = np.sum((P - 1) * (S - 1)) / np.sum((P - 1) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = (1 / S - 1 / P) / (1 - 1 / P)
    return float(np.clip(f, 0, 1)), e


@wrong("fit_scaled", "no input checks: a missing run on 1 GPU divides by an empty selection")
def fs_no_checks(gpus, images_per_sec):
    P, r = np.asarray(gpus, float), np.asarray(images_per_sec, float)
    one = r[P == 1]
    S = r / (one[0] if one.size else r.min())
    f = np.sum((P - 1) * (S - 1)) / np.sum((P - 1) ** 2)
    return float(np.clip(f, 0, 1)), _fs_e(P, S)


@wrong("fit_scaled", "returns a list [f, e] with e as a list")
def fs_lists(gpus, images_per_sec):
    P, r = _fs_inputs(gpus, images_per_sec)
    S = r / r[P == 1][0]
    f = np.sum((P - 1) * (S - 1)) / np.sum((P - 1) ** 2)
    return [float(np.clip(f, 0, 1)), _fs_e(P, S).tolist()]

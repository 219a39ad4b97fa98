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


@wrong("work_span_bounds", "min_time = span only (forgets W / P)")
def ws_span_only(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return span, min(P, W / span)


@wrong("work_span_bounds", "max_speedup = W / span only (forgets P)")
def ws_no_p_cap(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return max(W / P, span), W / span


@wrong("work_span_bounds", "floor division W // P")
def ws_floor(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return max(W // P, span), min(P, W / span)


@wrong("work_span_bounds", "min and max swapped")
def ws_swapped(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return min(W / P, span), max(P, W / span)


@wrong("work_span_bounds", "span = the longest single task, not the longest path")
def ws_longest_task(durations, deps, P):
    W, span = sum(durations.values()), max(durations.values())
    return max(W / P, span), min(P, W / span)


# --- amdahl_speedup / gustafson_speedup / karp_flatt ------------------------------------------

def _out(S):
    S = np.asarray(S, float)
    return float(S) if S.ndim == 0 else S


@wrong("amdahl_speedup", "f read as the serial fraction: 1 / (f + (1 - f) / P)")
def am_serial(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out(1 / (f + (1 - f) / P))


@wrong("amdahl_speedup", "scalar-only checks (`if not 0 <= f <= 1`): arrays fail")
def am_scalar(f, P):
    if not 0 <= f <= 1 or P < 1:
        raise ValueError("bad argument")
    return 1 / ((1 - f) + f / P)


@wrong("amdahl_speedup", "checks P > 0, not P >= 1 (accepts half a worker)")
def am_p_positive(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P <= 0):
        raise ValueError("bad argument")
    return _out(1 / ((1 - f) + f / P))


@wrong("amdahl_speedup", "checks f <= 1 but not f >= 0")
def am_no_lower(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any(f > 1) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out(1 / ((1 - f) + f / P))


@wrong("amdahl_speedup", "P truncated to a whole number of workers")
def am_int_p(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out(1 / ((1 - f) + f / np.floor(P)))


@wrong("gustafson_speedup", "s read as the parallel fraction: (1 - s) + P s")
def gu_parallel(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out((1 - s) + P * s)


@wrong("gustafson_speedup", "Amdahl's formula with f = 1 - s")
def gu_amdahl(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out(1 / (s + (1 - s) / P))


@wrong("gustafson_speedup", "scalar-only checks: arrays fail")
def gu_scalar(s, P):
    if not 0 <= s <= 1 or P < 1:
        raise ValueError("bad argument")
    return s + P * (1 - s)


@wrong("gustafson_speedup", "no check of P")
def gu_no_p_check(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)):
        raise ValueError("bad argument")
    return _out(s + P * (1 - s))


@wrong("gustafson_speedup", "checks s <= 1 but not s >= 0")
def gu_no_lower(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any(s > 1) or np.any(P < 1):
        raise ValueError("bad argument")
    return _out(s + P * (1 - s))


@wrong("karp_flatt", "checks P > 0 only: P = 1 divides by zero")
def kf_p_positive(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 0):
        raise ValueError("P")
    return _out((1 / S - 1 / P) / (1 - 1 / P))


@wrong("karp_flatt", "1/P - 1/S (sign flipped)")
def kf_sign(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 1):
        raise ValueError("P")
    return _out((1 / P - 1 / S) / (1 - 1 / P))


@wrong("karp_flatt", "forgets the denominator 1 - 1/P")
def kf_no_denominator(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 1):
        raise ValueError("P")
    return _out(1 / S - 1 / P)


@wrong("karp_flatt", "clips e to [0, 1] (a superlinear speed-up gives e < 0)")
def kf_clipped(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 1):
        raise ValueError("P")
    return _out(np.clip((1 / S - 1 / P) / (1 - 1 / P), 0, 1))


@wrong("karp_flatt", "scalar-only check `if P <= 1`: arrays fail")
def kf_scalar(speedup, P):
    if P <= 1:
        raise ValueError("P")
    return (1 / speedup - 1 / P) / (1 - 1 / P)


@wrong("karp_flatt", "checks P == 1 only (P = 0.5 accepted)")
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


@wrong("work_span_bounds", "returns a list [min_time, max_speedup]")
def ws_list(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return [max(W / P, span), min(P, W / span)]


@wrong("work_span_bounds", "a numpy array of the two bounds")
def ws_array(durations, deps, P):
    W, span = sum(durations.values()), _span(durations, deps)
    return np.array([max(W / P, span), min(P, W / span)])


@wrong("amdahl_speedup", "P = 1 special-cased: returns the int 1")
def am_p_one_int(f, P):
    if np.ndim(P) == 0 and np.ndim(f) == 0 and P == 1:
        if not 0 <= f <= 1:
            raise ValueError("f")
        return 1
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad f or P")
    return _out(1 / ((1 - f) + f / P))


@wrong("amdahl_speedup", "f = 1 special-cased: returns P as given (an int)")
def am_f_one_p(f, P):
    if np.ndim(P) == 0 and np.ndim(f) == 0 and f == 1 and P >= 1:
        return P
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad f or P")
    return _out(1 / ((1 - f) + f / P))


@wrong("amdahl_speedup", "rounded to four decimals")
def am_rounded(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad f or P")
    return _out(np.round(1 / ((1 - f) + f / P), 4))


@wrong("amdahl_speedup", "float32 arrays")
def am_float32(f, P):
    f, P = np.asarray(f, float), np.asarray(P, float)
    if np.any((f < 0) | (f > 1)) or np.any(P < 1):
        raise ValueError("bad f or P")
    S = 1 / ((1 - f) + f / P)
    return float(S) if S.ndim == 0 else S.astype(np.float32)


@wrong("gustafson_speedup", "P must be a whole number of workers (a fractional P raises)")
def gu_whole_p(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)) or np.any(P < 1) or np.any(P != np.floor(P)):
        raise ValueError("bad s or P")
    return _out(s + P * (1 - s))


@wrong("gustafson_speedup", "P truncated to a whole number of workers")
def gu_int_p(s, P):
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)) or np.any(P < 1):
        raise ValueError("bad s or P")
    return _out(s + np.floor(P) * (1 - s))


@wrong("gustafson_speedup", "s = 0 special-cased: returns P as given (an int)")
def gu_s_zero_p(s, P):
    if np.ndim(P) == 0 and np.ndim(s) == 0 and s == 0 and P >= 1:
        return P
    s, P = np.asarray(s, float), np.asarray(P, float)
    if np.any((s < 0) | (s > 1)) or np.any(P < 1):
        raise ValueError("bad s or P")
    return _out(s + P * (1 - s))


@wrong("karp_flatt", "P >= 2 required (a fractional 1 < P < 2 raises)")
def kf_p_two(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P < 2):
        raise ValueError("P must be at least 2")
    return _out((1 / S - 1 / P) / (1 - 1 / P))


@wrong("karp_flatt", "P truncated to a whole number of workers")
def kf_int_p(speedup, P):
    S, P = np.asarray(speedup, float), np.asarray(P, float)
    if np.any(P <= 1):
        raise ValueError("P must be > 1")
    P = np.floor(P)
    return _out((1 / S - 1 / P) / (1 - 1 / P))


@wrong("karp_flatt", "rounded to three decimals")
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

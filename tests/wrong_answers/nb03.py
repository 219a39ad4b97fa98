"""Wrong answers to notebook 03's exercises (task parallelism with Ray).

Its test cells call Ray (tasks, actors, ``ray.wait``), so the harness runs this notebook's
wrong answers in a fresh interpreter with a Ray session of its own (``NEEDS_RAY``)."""
# ruff: noqa: B905 - wrong answers are written the way students write them

from __future__ import annotations

import math
import time

import numpy as np
import ray

import course_lib as cl
from tests.wrong_answers import wrong

NOTEBOOK = "03_task_parallelism_ray"
NEEDS_RAY = True


# --- parallel_map ------------------------------------------------------------------------------

def _batches(items, batch_size):
    items = list(items)
    return [items[i:i + batch_size] for i in range(0, len(items), batch_size)]


@ray.remote
def _apply(fn, batch):
    return [fn(x) for x in batch]


@wrong("parallel_map", "computes [fn(x) for x in items] here, without Ray")
def pm_local(fn, items, batch_size=1):
    if batch_size < 1:
        raise ValueError(batch_size)
    return [fn(x) for x in items]


@wrong("parallel_map", "one task per item, whatever the batch size")
def pm_ignores_batch(fn, items, batch_size=1):
    if batch_size < 1:
        raise ValueError(batch_size)
    return [y for ys in ray.get([_apply.remote(fn, [x]) for x in items]) for y in ys]


@wrong("parallel_map", "results in the order the tasks finish")
def pm_completion_order(fn, items, batch_size=1):
    if batch_size < 1:
        raise ValueError(batch_size)
    pending, out = [_apply.remote(fn, b) for b in _batches(items, batch_size)], []
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        out += ray.get(ready[0])
    return out


@wrong("parallel_map", "no check of batch_size (range() refuses 0 by luck, not -2)")
def pm_no_check(fn, items, batch_size=1):
    return [y for ys in ray.get([_apply.remote(fn, b) for b in _batches(items, batch_size)])
            for y in ys]


@wrong("parallel_map", "returns [] for no items before checking batch_size")
def pm_empty_first(fn, items, batch_size=1):
    items = list(items)
    if not items:
        return []
    if batch_size < 1:
        raise ValueError(batch_size)
    return [y for ys in ray.get([_apply.remote(fn, b) for b in _batches(items, batch_size)])
            for y in ys]


@wrong("parallel_map", "drops a last, partial batch")
def pm_drops_tail(fn, items, batch_size=1):
    if batch_size < 1:
        raise ValueError(batch_size)
    items = list(items)
    full = [items[i:i + batch_size] for i in range(0, len(items) - batch_size + 1, batch_size)]
    return [y for ys in ray.get([_apply.remote(fn, b) for b in full]) for y in ys]


# --- as_completed ------------------------------------------------------------------------------

@wrong("as_completed", "yields in the order given")
def ac_in_order(refs):
    for ref in refs:
        yield ray.get(ref)


@wrong("as_completed", "ray.get of every ref first, then yields them as ray.wait lists them")
def ac_waits_for_all(refs):
    refs = list(refs)
    ray.get(refs)
    pending = refs
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        yield ray.get(ready[0])


@wrong("as_completed", "returns a list, not a generator")
def ac_list(refs):
    pending, out = list(refs), []
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        out.append(ray.get(ready[0]))
    return out


@wrong("as_completed", "yields the refs, not their results")
def ac_refs(refs):
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        yield ready[0]


@wrong("as_completed", "calls ray.wait once before looking at the list (fails on no refs)")
def ac_do_while(refs):
    pending = list(refs)
    ready, pending = ray.wait(pending, num_returns=1)
    yield ray.get(ready[0])
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        yield ray.get(ready[0])


# --- RunningStats ------------------------------------------------------------------------------

class _Stats:
    """The master's merge of (n, mean, M2) states; subclasses break one part."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, values):
        x = np.asarray(values, dtype=float).ravel()
        if x.size:
            mean = float(x.mean())
            self.merge((int(x.size), mean, float(((x - mean) ** 2).sum())))

    def state(self):
        return self.n, self.mean, self.m2

    def merge(self, state):
        n_b, mean_b, m2_b = state
        if n_b == 0:
            return
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.n * n_b / n
        self.n = n

    def result(self):
        if self.n == 0:
            return 0, math.nan, math.nan
        return self.n, self.mean, self.m2 / self.n


@wrong("RunningStats", "variance as E[x^2] - E[x]^2 from running sums")
@ray.remote
class RsNaive:
    def __init__(self):
        self.n, self.s, self.s2 = 0, 0.0, 0.0

    def add(self, values):
        x = np.asarray(values, dtype=float).ravel()
        self.n, self.s, self.s2 = self.n + x.size, self.s + x.sum(), self.s2 + (x * x).sum()

    def state(self):
        return self.n, self.s, self.s2

    def merge(self, state):
        self.n, self.s, self.s2 = self.n + state[0], self.s + state[1], self.s2 + state[2]

    def result(self):
        if self.n == 0:
            return 0, math.nan, math.nan
        mean = self.s / self.n
        return self.n, mean, self.s2 / self.n - mean * mean


@wrong("RunningStats", "merge adds the M2s without the term for the means' difference")
@ray.remote
class RsMergeNoDelta(_Stats):
    def merge(self, state):
        n_b, mean_b, m2_b = state
        if n_b == 0:
            return
        n = self.n + n_b
        self.mean += (mean_b - self.mean) * n_b / n
        self.m2 += m2_b
        self.n = n


@wrong("RunningStats", "sample variance M2 / (n - 1)")
@ray.remote
class RsSample(_Stats):
    def result(self):
        if self.n < 2:
            return self.n, (self.mean if self.n else math.nan), math.nan
        return self.n, self.mean, self.m2 / (self.n - 1)


@wrong("RunningStats", "an empty RunningStats reports (0, 0.0, 0.0)")
@ray.remote
class RsEmptyZero(_Stats):
    def result(self):
        return self.n, self.mean, (self.m2 / self.n if self.n else 0.0)


@wrong("RunningStats", "add([]) merges a batch of nan (mean of nothing)")
@ray.remote
class RsAddEmpty(_Stats):
    def add(self, values):
        x = np.asarray(values, dtype=float).ravel()
        mean = float(np.mean(x)) if x.size else math.nan
        self.merge((int(x.size) or 1, mean, float(((x - mean) ** 2).sum())))


@wrong("RunningStats", "merge of an empty state divides by zero (no n_b == 0 check)")
@ray.remote
class RsMergeEmpty(_Stats):
    def merge(self, state):
        n_b, mean_b, m2_b = state
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.n * n_b / n
        self.n = n


# --- best_batch_size ---------------------------------------------------------------------------

def _bbs(n_items, item_s, overhead_s, P, *, candidates=None, waves=None, better=None):
    best_b, best_T = 1, math.inf
    for b in candidates(n_items) if candidates else range(1, n_items + 1):
        w = waves(n_items, b, P) if waves else math.ceil(math.ceil(n_items / b) / P)
        T = w * (overhead_s + b * item_s)
        if (better or (lambda t, best: t < best))(T, best_T):
            best_b, best_T = b, T
    return best_b


@wrong("best_batch_size", "ties go to the larger b (<= instead of <)")
def bbs_ties_larger(n_items, item_s, overhead_s, P):
    return _bbs(n_items, item_s, overhead_s, P, better=lambda t, best: t <= best)


@wrong("best_batch_size", "b in 1 .. n_items - 1 (range excludes n_items)")
def bbs_exclusive(n_items, item_s, overhead_s, P):
    return _bbs(n_items, item_s, overhead_s, P, candidates=lambda n: range(1, max(n, 2)))


@wrong("best_batch_size", "floor instead of ceil for the number of tasks")
def bbs_floor(n_items, item_s, overhead_s, P):
    return _bbs(n_items, item_s, overhead_s, P,
                waves=lambda n, b, P: max(1, math.ceil((n // b) / P)))


@wrong("best_batch_size", "ignores P: every task in its own wave")
def bbs_no_parallelism(n_items, item_s, overhead_s, P):
    return _bbs(n_items, item_s, overhead_s, P, waves=lambda n, b, P: math.ceil(n / b))


@wrong("best_batch_size", "waves as tasks / P, not rounded up")
def bbs_fractional_waves(n_items, item_s, overhead_s, P):
    return _bbs(n_items, item_s, overhead_s, P, waves=lambda n, b, P: math.ceil(n / b) / P)


# --- run_graph ---------------------------------------------------------------------------------

@ray.remote
def _timed(seconds, *predecessors):
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def _result(order, refs):
    times = ray.get([refs[t] for t in order])
    return {t: (float(s), float(e)) for t, (s, e) in zip(order, times)}


@wrong("run_graph", "waits for each task before submitting the next")
def rg_sequential(durations, deps, unit_s):
    order = cl.taskgraph.TaskGraph(durations, deps).topological_order()
    refs = {}
    for t in order:
        refs[t] = _timed.remote(durations[t] * unit_s, *[refs[p] for p in deps.get(t, ())])
        ray.wait([refs[t]], num_returns=1)
    return _result(order, refs)


@wrong("run_graph", "does not pass the predecessors to the task")
def rg_no_deps(durations, deps, unit_s):
    refs = {t: _timed.remote(durations[t] * unit_s) for t in durations}
    return _result(list(durations), refs)


@wrong("run_graph", "submits in the order of `durations`, assuming it is topological")
def rg_dict_order(durations, deps, unit_s):
    refs = {}
    for t in durations:
        refs[t] = _timed.remote(durations[t] * unit_s, *[refs[p] for p in deps.get(t, ())])
    return _result(list(durations), refs)


@wrong("run_graph", "times taken in the driver, around ray.get of each task")
def rg_driver_times(durations, deps, unit_s):
    order = cl.taskgraph.TaskGraph(durations, deps).topological_order()
    refs, out = {}, {}
    for t in order:
        refs[t] = _timed.remote(durations[t] * unit_s, *[refs[p] for p in deps.get(t, ())])
    t0 = time.time()
    for t in order:
        ray.get(refs[t])
        out[t] = (t0, time.time())
    return out


# --- issue 18: the method, the types and the spec, on random cases ----------------------------

@wrong("parallel_map", "ray.get of each batch's task before submitting the next (one at a time)")
def pm_one_at_a_time(fn, items, batch_size=1):
    if batch_size < 1:
        raise ValueError(batch_size)
    out = []
    for batch in _batches(items, batch_size):
        out += ray.get(_apply.remote(fn, batch))
    return out


@wrong("parallel_map", "round-robin batches: item i goes to task i % tasks")
def pm_round_robin(fn, items, batch_size=1):
    if batch_size < 1:
        raise ValueError(batch_size)
    items = list(items)
    k = -(-len(items) // batch_size)
    results = ray.get([_apply.remote(fn, items[j::k]) for j in range(k)])
    out = [None] * len(items)
    for j, ys in enumerate(results):
        out[j::k] = ys
    return out


@wrong("parallel_map", "np.array_split into ceil(n / batch_size) near-equal batches")
def pm_array_split(fn, items, batch_size=1):
    if batch_size < 1:
        raise ValueError(batch_size)
    items = list(items)
    if not items:
        return []
    parts = np.array_split(np.arange(len(items)), -(-len(items) // batch_size))
    results = ray.get([_apply.remote(fn, [items[i] for i in p]) for p in parts])
    return [y for ys in results for y in ys]


@wrong("parallel_map", "returns a tuple of the results")
def pm_tuple(fn, items, batch_size=1):
    if batch_size < 1:
        raise ValueError(batch_size)
    return tuple(y for ys in ray.get([_apply.remote(fn, b) for b in _batches(items, batch_size)])
                 for y in ys)


@wrong("as_completed", "ray.wait for all of them at once, then yields in the order given")
def ac_wait_all(refs):
    refs = list(refs)
    if refs:
        ray.wait(refs, num_returns=len(refs))
    for ref in refs:
        yield ray.get(ref)


@wrong("RunningStats", "keeps every value; state() is the list of values")
@ray.remote
class RsKeepsValues:
    def __init__(self):
        self.values = []

    def add(self, values):
        self.values += [float(v) for v in np.asarray(values, dtype=float).ravel()]

    def state(self):
        return list(self.values)

    def merge(self, state):
        self.values += list(state)

    def result(self):
        if not self.values:
            return 0, math.nan, math.nan
        x = np.asarray(self.values)
        return len(x), float(x.mean()), float(x.var())


@wrong("RunningStats", "result() returns a list [count, mean, variance]")
@ray.remote
class RsResultList(_Stats):
    def result(self):
        return list(_Stats.result(self))


@wrong("RunningStats", "the count kept as a float (n += float(size))")
@ray.remote
class RsFloatCount(_Stats):
    def add(self, values):
        x = np.asarray(values, dtype=float).ravel()
        if x.size:
            mean = float(x.mean())
            self.merge((float(x.size), mean, float(((x - mean) ** 2).sum())))


@wrong("RunningStats", "the batch's mean and M2 summed in float32")
@ray.remote
class RsFloat32(_Stats):
    def add(self, values):
        x = np.asarray(values, dtype=np.float32).ravel()
        if x.size:
            mean = float(x.mean())
            self.merge((int(x.size), mean, float(((x - mean) ** 2).sum())))


@wrong("best_batch_size", "tries only powers of two and n_items")
def bbs_powers_of_two(n_items, item_s, overhead_s, P):
    candidates = sorted({2 ** i for i in range(n_items.bit_length()) if 2 ** i <= n_items}
                        | {n_items})
    return _bbs(n_items, item_s, overhead_s, P, candidates=lambda n: candidates)


@wrong("best_batch_size", "rounds the model's time to 9 decimals before comparing")
def bbs_rounded(n_items, item_s, overhead_s, P):
    return _bbs(n_items, item_s, overhead_s, P, better=lambda t, best: round(t, 9) < round(best, 9))


@wrong("best_batch_size", "returns a float b (numpy's argmin over a float grid)")
def bbs_float(n_items, item_s, overhead_s, P):
    bs = np.arange(1.0, n_items + 1.0)
    T = np.ceil(np.ceil(n_items / bs) / P) * (overhead_s + bs * item_s)
    return float(bs[int(np.argmin(T))])


@wrong("run_graph", "submits the tasks in the order of their names (sorted)")
def rg_sorted_names(durations, deps, unit_s):
    refs = {}
    for t in sorted(durations):
        refs[t] = _timed.remote(durations[t] * unit_s, *[refs[p] for p in deps.get(t, ())])
    return _result(sorted(durations), refs)


# --- issue 20: bounded_map (a bounded pipeline with ray.wait) -----------------------------------

def _bm_check(k):
    if k < 1:
        raise ValueError(k)


@wrong("bounded_map", "unbounded: submits every item, then ray.get of them all")
def bm_unbounded(task, items, max_in_flight):
    _bm_check(max_in_flight)
    return ray.get([task.remote(x) for x in items])


@wrong("bounded_map", "off by one: waits only when more than max_in_flight are pending")
def bm_off_by_one(task, items, max_in_flight):
    _bm_check(max_in_flight)
    pending, where, out = [], {}, {}
    for i, x in enumerate(items):
        if len(pending) > max_in_flight:
            (ready,), pending = ray.wait(pending, num_returns=1)
            out[where.pop(ready)] = ray.get(ready)
        ref = task.remote(x)
        where[ref] = i
        pending.append(ref)
    for ref in pending:
        out[where[ref]] = ray.get(ref)
    return [out[i] for i in range(len(out))]


@wrong("bounded_map", "results in the order the tasks finish")
def bm_completion_order(task, items, max_in_flight):
    _bm_check(max_in_flight)
    pending, out = [], []
    for x in items:
        if len(pending) == max_in_flight:
            (ready,), pending = ray.wait(pending, num_returns=1)
            out.append(ray.get(ready))
        pending.append(task.remote(x))
    while pending:
        (ready,), pending = ray.wait(pending, num_returns=1)
        out.append(ray.get(ready))
    return out


@wrong("bounded_map", "windows of max_in_flight: submits a window, then ray.get of all of it")
def bm_windows(task, items, max_in_flight):
    _bm_check(max_in_flight)
    items, out = list(items), []
    for i in range(0, len(items), max_in_flight):
        out += ray.get([task.remote(x) for x in items[i:i + max_in_flight]])
    return out


@wrong("bounded_map", "waits for the oldest task (ray.get(pending[0])), not for any")
def bm_oldest_first(task, items, max_in_flight):
    _bm_check(max_in_flight)
    pending, out = [], []
    for x in items:
        if len(pending) == max_in_flight:
            out.append(ray.get(pending.pop(0)))
        pending.append(task.remote(x))
    return out + ray.get(pending)


# --- issue 20: pooled_predict (an actor pool that loads the model once per actor) ----------------

def _pp_check(n_actors):
    if n_actors < 1:
        raise ValueError(n_actors)


@ray.remote
class _Predictor:
    def __init__(self, load):
        self.model = load()

    def predict(self, batch):
        return self.model(batch)


@ray.remote
def _load_and_predict(load, batch):
    return load()(batch)


@wrong("pooled_predict", "a task per batch that loads the model each time")
def pp_load_per_batch(load_model, batches, n_actors):
    _pp_check(n_actors)
    return ray.get([_load_and_predict.remote(load_model, b) for b in batches])


@wrong("pooled_predict", "one actor only, whatever n_actors")
def pp_one_actor(load_model, batches, n_actors):
    _pp_check(n_actors)
    if not batches:
        return []
    actor = _Predictor.remote(load_model)
    return ray.get([actor.predict.remote(b) for b in batches])


# "n_actors actors even when there are fewer batches" (the hidden random case catches it: one
# batch, n_actors 2 or 3) is not registered: its actors cost the judge about 5 s
def pp_all_actors(load_model, batches, n_actors):
    _pp_check(n_actors)
    if not batches:
        return []
    actors = [_Predictor.remote(load_model) for _ in range(n_actors)]
    return ray.get([actors[i % n_actors].predict.remote(b) for i, b in enumerate(batches)])


@wrong("pooled_predict", "ActorPool.map_unordered: results in the order they finish")
def pp_unordered(load_model, batches, n_actors):
    from ray.util import ActorPool

    _pp_check(n_actors)
    if not batches:
        return []
    pool = ActorPool([_Predictor.remote(load_model) for _ in range(min(n_actors, len(batches)))])
    return list(pool.map_unordered(lambda a, b: a.predict.remote(b), batches))


@wrong("pooled_predict", "ray.get of each batch's prediction before sending the next")
def pp_one_at_a_time(load_model, batches, n_actors):
    _pp_check(n_actors)
    if not batches:
        return []
    actors = [_Predictor.remote(load_model) for _ in range(min(n_actors, len(batches)))]
    return [ray.get(actors[i % len(actors)].predict.remote(b)) for i, b in enumerate(batches)]

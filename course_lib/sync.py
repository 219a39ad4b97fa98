"""Synchronisation, measured and modelled (notebook 08, section 1 and 2).

* :func:`sync_costs` measures what a barrier and a lock cost with threads,
  processes and Ray;
* :func:`local_sgd` simulates synchronising every k steps instead of every
  step (local SGD) on a least-squares problem;
* :func:`explore_overhead` draws the speed-up model you pass it (notebook
  08's ``speedup_with_overhead``, whose synchronisation is an all-reduce) with
  sliders, and marks the best worker count.

No exercise's answer lives here: the speed-up model is an argument.

>>> costs = sync_costs(P=2, rounds=20, kinds=("threads",))
>>> sorted(costs["threads"])
['barrier_s', 'lock_free_s', 'lock_s']
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np

from . import plots
from ._model_args import model_values as _model_values
from ._model_args import positive as _positive
from .ray_session import available_cpus

__all__ = ["explore_overhead", "local_sgd", "sync_costs"]


def _free_lock_s(lock, rounds: int) -> float:
    """Seconds per acquire and release of ``lock`` when nobody else wants it (best of 3)."""
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(rounds):
            with lock:
                pass
        best = min(best, (time.perf_counter() - t0) / rounds)
    return best


def _thread_costs(P: int, rounds: int) -> tuple[float, float, float]:
    barrier = threading.Barrier(P)
    lock = threading.Lock()
    free = _free_lock_s(lock, 20 * rounds)
    results = [None] * P

    def worker(rank):
        barrier.wait()
        t0 = time.perf_counter()
        for _ in range(rounds):
            barrier.wait()
        t1 = time.perf_counter()
        barrier.wait()
        t2 = time.perf_counter()
        for _ in range(rounds):
            with lock:
                pass
        results[rank] = (t1 - t0, time.perf_counter() - t2)

    threads = [threading.Thread(target=worker, args=(r,)) for r in range(P)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (max(r[0] for r in results) / rounds, max(r[1] for r in results) / (P * rounds),
            free)


def _process_worker(barrier, lock, rounds: int, queue, rank: int) -> None:
    """Runs in a worker process: time ``rounds`` barriers, then ``rounds`` lock acquisitions."""
    barrier.wait()  # everyone has started and imported
    t0 = time.perf_counter()
    for _ in range(rounds):
        barrier.wait()
    t1 = time.perf_counter()
    barrier.wait()
    t2 = time.perf_counter()
    for _ in range(rounds):
        with lock:
            pass
    queue.put((rank, t1 - t0, time.perf_counter() - t2))


def _process_costs(P: int, rounds: int) -> tuple[float, float]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # as course_lib.scaling: safe from a Jupyter kernel
    barrier, lock, queue = ctx.Barrier(P), ctx.Lock(), ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(barrier, lock, rounds, queue, r))
             for r in range(P)]
    for p in procs:
        p.start()
    try:
        results = [queue.get(timeout=120) for _ in range(P)]
    finally:
        for p in procs:
            p.join(timeout=10)
    return (max(r[1] for r in results) / rounds, max(r[2] for r in results) / (P * rounds))


def _ray_noop() -> None:
    return None


class _Guarded:
    """Ray's lock: an actor runs its methods one at a time, so its state needs no lock."""

    def __init__(self):
        self.count = 0

    def increment(self) -> int:
        self.count += 1
        return self.count


def _ray_costs(P: int, rounds: int) -> tuple[float, float]:
    import ray

    noop = ray.remote(_ray_noop)
    ray.get([noop.remote() for _ in range(2 * P)])  # the function is on the workers
    t0 = time.perf_counter()
    for _ in range(rounds):
        ray.get([noop.remote() for _ in range(P)])  # P tasks, then wait for all: one step
    barrier = (time.perf_counter() - t0) / rounds
    guarded = ray.remote(_Guarded).remote()  # a new worker process: about a second or more
    try:
        ray.get(guarded.increment.remote())
        t0 = time.perf_counter()
        for _ in range(rounds):
            ray.get(guarded.increment.remote())
        lock = (time.perf_counter() - t0) / rounds
    finally:
        ray.kill(guarded)
    return barrier, lock


def sync_costs(P: int | None = None, rounds: int = 1000,
               kinds: tuple[str, ...] = ("threads", "processes", "ray"),
               ray_rounds: int = 100) -> dict[str, dict[str, float]]:
    """What one barrier and one lock acquisition cost here, with threads, processes and Ray.

    * ``threads``: ``threading.Barrier(P)`` passed ``rounds`` times by P
      threads; a ``threading.Lock`` taken ``rounds`` times by each of P threads
      (contended: they take turns); and the same lock taken by one thread alone
      (``lock_free_s``: the cost of a lock nobody else wants, the same loop).
    * ``processes``: the same with ``multiprocessing``'s ``Barrier`` and
      ``Lock`` in P worker processes (started with ``"spawn"``; their start-up
      is not timed).
    * ``ray``: a *barrier* is one synchronous step: submit P empty tasks and
      ``ray.get`` them all; a *lock* is one call to an actor (Ray's way to
      serialise updates to shared state) and waiting for its reply. Needs a
      running Ray (skipped otherwise); creating the actor starts a worker
      process, which takes a second or more. ``ray_rounds`` steps and calls.

    ``P`` defaults to the usable cores, at least 2. Returns ``{kind:
    {"barrier_s": ..., "lock_s": ...}}``: seconds per barrier (all P pass it)
    and per lock acquisition (threads also give ``lock_free_s``).

    >>> costs = sync_costs(P=2, rounds=50, kinds=("threads",))
    >>> sorted(costs["threads"]), costs["threads"]["barrier_s"] > 0
    (['barrier_s', 'lock_free_s', 'lock_s'], True)
    """
    from . import ray_session

    P = max(2, available_cpus()) if P is None else _positive("P", P, integer=True, minimum=2,
                                                               inclusive=True)
    rounds = _positive("rounds", rounds, integer=True, minimum=1, inclusive=True)
    ray_rounds = _positive("ray_rounds", ray_rounds, integer=True, minimum=1, inclusive=True)
    unknown = [k for k in kinds if k not in ("threads", "processes", "ray")]
    if unknown or not kinds:
        raise ValueError(f"kinds must name 'threads', 'processes' and/or 'ray', got {kinds!r}")
    out = {}
    for kind in kinds:
        if kind == "threads":
            barrier, lock, free = _thread_costs(P, rounds)
            out[kind] = {"barrier_s": float(barrier), "lock_s": float(lock),
                         "lock_free_s": float(free)}
            continue
        if kind == "processes":
            barrier, lock = _process_costs(P, rounds)
        else:
            if not ray_session.is_running():
                continue
            barrier, lock = _ray_costs(P, ray_rounds)
        out[kind] = {"barrier_s": float(barrier), "lock_s": float(lock)}
    return out


def local_sgd(k: int, P: int = 8, steps: int = 240, lr: float = 0.05, batch: int = 16,
              heterogeneity: float = 1.0, d: int = 10, rows: int = 64,
              seed: int = 0) -> np.ndarray:
    """Simulate local SGD: P workers take SGD steps on their own data and average every k steps.

    The problem is least squares, f(w) = mean over workers of mean((X_i w - y_i)^2) / 2,
    where worker i holds ``rows`` rows of ``d`` features. ``heterogeneity``
    says how much the workers' data differ: each worker's best fit lies
    about ``heterogeneity`` away from the others', and its features are
    scaled differently (by exp(0.5 * heterogeneity * N(0, 1)) per feature).
    With 0 every worker's data is alike; the larger, the more the workers
    pull towards different models between synchronisations ("client drift"),
    which local SGD pays for. Each step, every worker takes one SGD step on a mini-batch of
    ``batch`` of its rows; every ``k`` steps all P models are replaced by their
    average (``k = 1`` is synchronous data-parallel SGD). The random choices
    depend on ``seed`` only, not on ``k``, so runs with different k compare
    fairly.

    Returns the sub-optimality f(w̄_t) - f(w*) of the workers' average model
    after each step, shape ``(steps + 1,)``.

    >>> gap = local_sgd(k=4, steps=40)
    >>> gap.shape, bool(gap[-1] < gap[0])
    ((41,), True)
    """
    k = _positive("k", k, integer=True, minimum=1, inclusive=True)
    P = _positive("P", P, integer=True, minimum=1, inclusive=True)
    steps = _positive("steps", steps, integer=True, minimum=1, inclusive=True)
    batch = _positive("batch", batch, integer=True, minimum=1, inclusive=True)
    rows = _positive("rows", rows, integer=True, minimum=batch, inclusive=True)
    d = _positive("d", d, integer=True, minimum=1, inclusive=True)
    lr = _positive("lr", lr)
    heterogeneity = _positive("heterogeneity", heterogeneity, inclusive=True)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((P, rows, d))  # worker i's rows: X[i], y[i]
    X *= np.exp(0.5 * heterogeneity * rng.standard_normal((P, 1, d)))
    w_true = rng.standard_normal(d) + heterogeneity * rng.standard_normal((P, d))
    y = np.einsum("prd,pd->pr", X, w_true) + 0.1 * rng.standard_normal((P, rows))
    Xa, ya = X.reshape(-1, d), y.reshape(-1)
    w_star = np.linalg.lstsq(Xa, ya, rcond=None)[0]

    def f(w):
        return 0.5 * float(np.mean((Xa @ w - ya) ** 2))

    f_star = f(w_star)
    picks = rng.integers(0, rows, size=(steps, P, batch))  # the same mini-batches for every k
    W = np.zeros((P, d))
    gap = [f(W.mean(axis=0)) - f_star]
    idx = np.arange(P)[:, None]
    for t in range(steps):
        Xb, yb = X[idx, picks[t]], y[idx, picks[t]]  # (P, batch, d), (P, batch)
        residual = np.einsum("pbd,pd->pb", Xb, W) - yb
        W -= lr * np.einsum("pbd,pb->pd", Xb, residual) / batch
        if (t + 1) % k == 0:
            W[:] = W.mean(axis=0)  # synchronise: every worker takes the average model
        gap.append(f(W.mean(axis=0)) - f_star)
    return np.asarray(gap)


# --------------------------------------------------------------------------- the overhead explorer

def explore_overhead(speedup: Callable, best: Callable | None = None, f: float = 0.95,
                     c: float = 0.01, P_max: int = 64, widgets: bool | None = None):
    """Explorer of the speed-up with synchronisation overhead: sliders for f, c and the largest P.

    ``speedup(f, P, c)`` is the model (notebook 08's ``speedup_with_overhead``:
    pass yours; its defaults, b = 0 and a tree, are what is drawn), called with an
    array ``P`` of whole numbers; ``best(f, c, P_max)`` (optional,
    notebook 08's ``best_worker_count``) marks the best worker count. Drawn
    next to Amdahl's law (the same model with c = 0) and the ideal S = P.
    Returns the :class:`~course_lib.widgets.InteractivePlot`.

    >>> ex = explore_overhead(lambda f, P, c: 1 / ((1 - f) + f / P + c * np.log2(P)),
    ...                       widgets=False)
    >>> ex.figure.axes[0].get_title()
    'Speed-up with overhead: f = 0.95, c = 0.01'
    """
    from .widgets import dropdown, float_slider, interactive_plot

    def draw(f, c, P_max):
        P = np.arange(1, P_max + 1, dtype=float)
        ax = plots.new_axes(figsize=(7, 4.2))
        with plots.style():
            ax.plot(P, P, linestyle="--", color="grey", linewidth=1, label="ideal S = P")
            amdahl, why = _model_values(speedup, (f, P, 0.0), "speedup", P.shape)
            if amdahl is None:
                ax.text(0.02, 0.98, why, transform=ax.transAxes, va="top", color=plots.COLORS[3])
            else:
                S, _ = _model_values(speedup, (f, P, c), "speedup", P.shape)
                ax.plot(P, amdahl, color=plots.COLORS[0], label=f"Amdahl (c = 0), f = {f:.2f}")
                ax.plot(P, S, color=plots.COLORS[3], label=f"with overhead c = {c:g}")
                if best is not None:
                    try:
                        b = int(best(f, c, P_max))
                        ax.plot([b], [S[b - 1]], "o", color=plots.COLORS[3], markersize=9,
                                label=f"best P = {b}: S = {S[b - 1]:.2f}")
                    except NotImplementedError:
                        pass
                ax.set_ylim(0, 1.15 * max(1.0, float(np.max(amdahl))))
            ax.set_xlabel("workers P")
            ax.set_ylabel("speed-up S(P)")
            ax.set_title(f"Speed-up with overhead: f = {f:.2f}, c = {c:g}")
            ax.legend(fontsize=8)
        return ax

    return interactive_plot(
        draw, widgets=widgets,
        f=float_slider(f, 0.5, 1.0, 0.005, label="parallel fraction f"),
        c=float_slider(c, 0.0, 0.05, 0.001, label="latency c per message"),
        P_max=dropdown(P_max, sorted({16, 64, 256, 1024, P_max}), label="largest P"),
    )

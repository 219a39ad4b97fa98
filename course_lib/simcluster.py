"""A simulated cluster for training puzzles: ranks with memory ledgers and communication logs.

Notebook 06's puzzles (gradient accumulation, data parallelism, ZeRO) run on this
machine instead of GPUs. It is numpy on the CPU, deterministic and small, but it keeps
the two books a real training run is judged by:

* **a memory ledger per rank.** Everything a rank holds lives in four dicts,
  ``rank.params``, ``rank.grads``, ``rank.opt`` (the optimizer state) and
  ``rank.acts`` (activations), under keys of your choice. The ledger charges
  the bytes that **mixed-precision training** would use (Rajbhandari et al.,
  ZeRO, 2020): 2 bytes per weight and per gradient value (16-bit), 12 bytes per
  parameter of Adam state (an fp32 master copy, the momentum and the variance,
  4 + 4 + 4) and 2 bytes per activation value, although the arithmetic is done
  in float64 so that results can be compared with a single-device run. Every
  operation of a rank and every collective measures what each rank holds and
  records the **peak**; a rank holding more than its ``memory_limit`` raises
  :class:`OutOfMemory`.
* **a communication log.** Collectives (:meth:`Cluster.all_reduce`,
  :meth:`Cluster.reduce_scatter`, :meth:`Cluster.all_gather`) record the bytes
  each rank sends, as a ring algorithm sends them: 2 (R − 1)/R · S for an
  all-reduce of S bytes over R ranks, (R − 1)/R · S for a reduce-scatter or an
  all-gather of an S-byte array.

The model is an MLP of ``layers`` layers of width ``hidden``, without biases:
x_{l+1} = tanh(x_l · W_l), loss ½ ‖x_L − target‖² summed over a batch's examples.
Every layer's weights are a **flat** array of hidden² values (``W.reshape(h, h)``
is the matrix). A rank computes with:

* :meth:`Rank.forward` ``(mb, layers=None)``: runs the micro-batch ``mb`` through
  the given layers (default all, in order); needs each layer's full weights in
  ``rank.params[l]`` and stores the layer's output in ``rank.acts[(mb.index, l)]``
  (hidden · mb.size values: 2 bytes each).
* :meth:`Rank.backward` ``(mb, layers=None)``: back through the given layers
  (default all, last first); needs the full weights and the stored outputs,
  **adds** the micro-batch's gradient, **summed over its examples**, to
  ``rank.grads[l]`` (created as zeros the first time) and frees the layer's
  activation.
* :meth:`Rank.step` ``(key, grad)``: one Adam step on the parameters that
  ``rank.opt[key]`` covers (a (3, k) array: master weights, momentum, variance),
  with the gradient ``grad`` (k values, already the mean over the batch);
  returns the new weights (a new float64 array of k values).

:func:`run_schedule` runs a pipeline schedule (notebook 06's GPipe or 1F1B) on p ranks,
one per stage, with activations of a given size and point-to-point sends between stages
(:meth:`Cluster.send`): its ledgers and logs are the schedule's memory and traffic, and a
schedule whose op waits for an input that is not there stops with :class:`Deadlock`.
:func:`run_pipeline` runs the same schedule as one training step of a model whose layers
the stages hold.

Sharding follows ``np.array_split``: rank r owns ``cluster.shard(l_size, r)``, a
slice of a flat array (the first ranks get one more value when R does not divide).

>>> model = MLP(layers=2, hidden=4, examples=8, seed=0)
>>> cluster = Cluster(model, ranks=2)
>>> cluster.setup("replicated")
>>> mb = cluster.micro_batches([3, 5])
>>> for r, rank in enumerate(cluster.ranks):
...     rank.forward(mb[r]); rank.backward(mb[r])
>>> cluster.all_reduce("grads", 0)
>>> cluster.bytes_sent()
[32.0, 32.0]
>>> cluster.ranks[0].ledger()
{'params': 64, 'grads': 64, 'opt': 384, 'acts': 0}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._validate import check_int as _check_int

__all__ = ["BYTES", "Cluster", "Deadlock", "MLP", "MicroBatch", "OutOfMemory", "Rank",
           "adam_update", "run_pipeline", "run_schedule"]

# bytes the ledger charges per stored value (mixed precision); "opt" arrays are (3, k):
# master copy, momentum, variance, fp32 each: 12 bytes per parameter
BYTES = {"params": 2, "grads": 2, "opt": 4, "acts": 2}
KINDS = tuple(BYTES)

LR, BETA1, BETA2, EPS = 0.01, 0.9, 0.999, 1e-8


class OutOfMemory(MemoryError):
    """A rank held more bytes than its memory limit."""


class Deadlock(ValueError):
    """A pipeline stage's op waits for an input (an activation, a gradient) that another op
    has not produced before it: the rank would wait at that point of its program for ever."""


def adam_update(state: np.ndarray, grad: np.ndarray, t: int, lr: float = LR) -> None:
    """One Adam step (Kingma and Ba, 2015) in place on ``state`` = [master, m, v], step
    number ``t`` (1 for the first), element by element: a shard's update is the same as
    the whole array's, bit for bit."""
    master, m, v = state
    m *= BETA1
    m += (1 - BETA1) * grad
    v *= BETA2
    v += (1 - BETA2) * grad * grad
    m_hat = m / (1 - BETA1 ** t)
    v_hat = v / (1 - BETA2 ** t)
    master -= lr * m_hat / (np.sqrt(v_hat) + EPS)


@dataclass(frozen=True)
class MicroBatch:
    """A micro-batch: its ``index`` (names its activations) and the data ``rows`` it holds."""

    index: int
    rows: tuple

    @property
    def size(self) -> int:
        return len(self.rows)


class MLP:
    """``layers`` tanh layers of width ``hidden``, weights and ``examples`` (input, target)
    pairs drawn from ``seed``."""

    def __init__(self, layers: int = 3, hidden: int = 8, examples: int = 32, seed: int = 0):
        self.seed = seed
        self.layers = _check_int(layers, "layers", low=1)
        self.hidden = _check_int(hidden, "hidden", low=1)
        self.examples = _check_int(examples, "examples", low=1)
        rng = np.random.default_rng(seed)
        h = self.hidden
        self.weights = [rng.normal(0, 1 / np.sqrt(h), size=h * h) for _ in range(self.layers)]
        self.X = rng.normal(size=(self.examples, h))
        self.Y = rng.normal(0, 0.5, size=(self.examples, h))

    @property
    def n_params(self) -> int:
        return self.layers * self.hidden ** 2

    @property
    def layer_size(self) -> int:
        return self.hidden ** 2

    def __repr__(self) -> str:
        return (f"MLP(layers={self.layers}, hidden={self.hidden}, examples={self.examples}, "
                f"seed={self.seed!r}: {self.n_params} parameters)")


def _nbytes(kind: str, array) -> int:
    return BYTES[kind] * int(np.asarray(array).size)


class Rank:
    """One device of a :class:`Cluster`: four dicts of arrays and the ledger over them."""

    def __init__(self, cluster: Cluster, index: int, memory_limit: float | None):
        self.cluster, self.index, self.memory_limit = cluster, index, memory_limit
        self.params: dict = {}
        self.grads: dict = {}
        self.opt: dict = {}
        self.acts: dict = {}
        self.peak = 0
        self.peak_ledger = dict.fromkeys(KINDS, 0)
        self.sent = 0.0
        self._upstream: dict = {}  # gradient flowing back through a micro-batch (not charged)
        self._steps: dict = {}

    def __repr__(self) -> str:
        return (f"Rank({self.index}: holds {self.memory()} B, peak {self.peak} B, limit "
                f"{self.memory_limit}, sent {self.sent:g} B)")

    def ledger(self) -> dict[str, int]:
        """Bytes held now, by kind."""
        return {kind: sum(_nbytes(kind, a) for a in getattr(self, kind).values())
                for kind in KINDS}

    def memory(self) -> int:
        """Bytes held now, all kinds together."""
        return sum(self.ledger().values())

    def measure(self, what: str = "") -> int:
        """Record what the rank holds now (the peak); raise :class:`OutOfMemory` above the
        limit. Every operation calls it."""
        book = self.ledger()
        now = sum(book.values())
        if now > self.peak:
            self.peak, self.peak_ledger = now, book
        if self.memory_limit is not None and now > self.memory_limit:
            parts = ", ".join(f"{k} {v:,}" for k, v in book.items())
            raise OutOfMemory(f"rank {self.index} holds {now:,} bytes ({parts}) "
                              f"{'in ' + what if what else ''}: over its limit of "
                              f"{int(self.memory_limit):,}")
        return now

    # ----------------------------------------------------------------------- compute
    def _weights(self, layer: int) -> np.ndarray:
        h = self.cluster.model.hidden
        if layer not in self.params:
            raise KeyError(f"rank {self.index}: no weights for layer {layer} in rank.params "
                           f"(keys: {sorted(self.params, key=repr)})")
        w = np.asarray(self.params[layer], dtype=np.float64)
        if w.size != h * h:
            raise ValueError(f"rank {self.index}: rank.params[{layer}] holds {w.size} values, "
                             f"not the layer's {h * h}: a shard? gather it first")
        return w.reshape(h, h)

    def _input(self, mb: MicroBatch, layer: int) -> np.ndarray:
        if layer == 0:
            return self.cluster.model.X[list(mb.rows)]
        key = (mb.index, layer - 1)
        if key not in self.acts:
            raise KeyError(f"rank {self.index}: layer {layer} of micro-batch {mb.index} needs "
                           f"rank.acts[{key}] (layer {layer - 1}'s output)")
        return self.acts[key]

    def _layers(self, layers) -> list[int]:
        L = self.cluster.model.layers
        out = list(range(L)) if layers is None else [int(v) for v in np.atleast_1d(layers)]
        if any(not 0 <= v < L for v in out):
            raise ValueError(f"layers must be in 0 … {L - 1}, got {out}")
        return out

    def forward(self, mb: MicroBatch, layers=None) -> None:
        """Run ``mb`` through ``layers`` (default all, in order), storing each output in
        ``rank.acts[(mb.index, l)]``."""
        for layer in self._layers(layers):
            w = self._weights(layer)
            self.acts[(mb.index, layer)] = np.tanh(self._input(mb, layer) @ w)
            self.measure(f"forward of micro-batch {mb.index}, layer {layer}")

    def backward(self, mb: MicroBatch, layers=None) -> None:
        """Back through ``layers`` (default all, last first): add the micro-batch's
        gradient (summed over its examples) to ``rank.grads[l]``, free its activation."""
        model = self.cluster.model
        L = model.layers
        for layer in sorted(self._layers(layers), reverse=True):
            w = self._weights(layer)
            key = (mb.index, layer)
            if key not in self.acts:
                raise KeyError(f"rank {self.index}: backward of layer {layer} needs "
                               f"rank.acts[{key}]: run forward first (or it was freed)")
            y = self.acts[key]
            if layer == L - 1:
                upstream = y - model.Y[list(mb.rows)]
            elif mb.index in self._upstream and self._upstream[mb.index][0] == layer + 1:
                upstream = self._upstream[mb.index][1]
            else:
                raise RuntimeError(f"rank {self.index}: backward of layer {layer} needs "
                                   f"layer {layer + 1}'s backward of micro-batch {mb.index} "
                                   "first")
            delta = upstream * (1 - y * y)
            x = self._input(mb, layer)
            dw = (x.T @ delta).ravel()
            if layer in self.grads:
                self.grads[layer] = self.grads[layer] + dw
            else:
                self.grads[layer] = dw
            self._upstream[mb.index] = (layer, delta @ w.T)
            self.measure(f"backward of micro-batch {mb.index}, layer {layer}")
            del self.acts[key]
            if layer == 0:
                self._upstream.pop(mb.index, None)

    def step(self, key, grad) -> np.ndarray:
        """One Adam step on the parameters ``rank.opt[key]`` covers, with the mean gradient
        ``grad``; returns their new weights (a new array)."""
        if key not in self.opt:
            raise KeyError(f"rank {self.index}: no optimizer state rank.opt[{key!r}]")
        state = self.opt[key]
        grad = np.asarray(grad, dtype=np.float64).ravel()
        if grad.size != state.shape[1]:
            raise ValueError(f"rank {self.index}: rank.opt[{key!r}] covers {state.shape[1]} "
                             f"parameters, the gradient has {grad.size}")
        t = self._steps.get(key, 0) + 1
        self._steps[key] = t
        adam_update(state, grad, t)
        self.measure(f"step of {key!r}")
        return state[0].copy()


class Cluster(dict):
    """``ranks`` simulated devices training ``model`` (``None`` for ranks that only hold
    what they are given, as in :func:`run_schedule`); ``memory_limit`` in bytes per rank
    (one number, one per rank, or None for no limit).

    A cluster is a dict of its parts (``"model"``, ``"ranks"``, ``"log"``), read as
    attributes: ``cluster.ranks[r]``, ``cluster.size``; a copy of it (``copy.deepcopy``) is
    the whole machine's state, ledgers and logs included.
    """

    def __init__(self, model: MLP | None, ranks: int, memory_limit=None):
        super().__init__()
        size = _check_int(ranks, "ranks", low=1)
        limits = (list(memory_limit) if isinstance(memory_limit, Sequence)
                  else [memory_limit] * size)
        if len(limits) != size:
            raise ValueError(f"one memory limit per rank: {len(limits)} for {size}")
        self["model"] = model
        self["ranks"] = [Rank(self, r, lim) for r, lim in enumerate(limits)]
        self["log"] = []  # (collective, kind, key, bytes sent per rank)

    @property
    def model(self) -> MLP | None:
        return self["model"]

    @property
    def ranks(self) -> list[Rank]:
        return self["ranks"]

    @property
    def log(self) -> list:
        return self["log"]

    @property
    def size(self) -> int:
        return len(self["ranks"])

    def __repr__(self) -> str:
        return f"Cluster({self.size} ranks, {self.model!r}: {self.ranks!r})"

    # ----------------------------------------------------------------------- layout
    def shard(self, n: int, r: int) -> slice:
        """Rank ``r``'s part of a flat array of ``n`` values, as ``np.array_split`` cuts it."""
        q, extra = divmod(int(n), self.size)
        start = r * q + min(r, extra)
        return slice(start, start + q + (1 if r < extra else 0))

    def micro_batches(self, sizes: Sequence[int], start: int = 0) -> list[MicroBatch]:
        """Consecutive micro-batches of the given sizes, rows ``start`` onwards (indices
        numbered from ``start``'s micro-batch 0)."""
        out, row = [], int(start)
        for i, size in enumerate(sizes):
            size = _check_int(size, "a micro-batch size", low=1)
            rows = tuple(int(v) % self.model.examples for v in range(row, row + size))
            out.append(MicroBatch(i, rows))
            row += size
        return out

    def setup(self, layout: str = "replicated") -> None:
        """Put the model's initial state on every rank:

        * ``"replicated"``: ``params[l]`` (full) and ``opt[l]`` (full) on every rank;
        * ``"zero1"``: ``params[l]`` full, ``opt[l]`` only for the rank's shard;
        * ``"zero3"``: ``params[l]`` and ``opt[l]`` only for the rank's shard.
        """
        if layout not in ("replicated", "zero1", "zero3"):
            raise ValueError(f"layout must be 'replicated', 'zero1' or 'zero3', got {layout!r}")
        n = self.model.layer_size
        for r, rank in enumerate(self.ranks):
            part = slice(None) if layout == "replicated" else self.shard(n, r)
            for layer, w in enumerate(self.model.weights):
                kept = w[part].copy()
                rank.params[layer] = w.copy() if layout != "zero3" else kept
                rank.opt[layer] = np.stack([kept, np.zeros_like(kept), np.zeros_like(kept)])
            rank.measure("setup")

    # ----------------------------------------------------------------------- collectives
    def _arrays(self, kind: str, key) -> list[np.ndarray]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        out = []
        for rank in self.ranks:
            store = getattr(rank, kind)
            if key not in store:
                raise KeyError(f"rank {rank.index}: no rank.{kind}[{key!r}] to communicate")
            out.append(np.asarray(store[key], dtype=np.float64).ravel())
        return out

    def _record(self, op: str, kind: str, key, per_rank: float) -> None:
        self.log.append((op, kind, key, per_rank))
        for rank in self.ranks:
            rank.sent += per_rank
            rank.measure(f"{op} of {kind}[{key!r}]")

    def all_reduce(self, kind: str, key) -> None:
        """Every rank's ``rank.<kind>[key]`` becomes the sum over the ranks (added in rank
        order, the same array everywhere). Each rank sends 2 (R − 1)/R · bytes."""
        arrays = self._arrays(kind, key)
        if len({a.size for a in arrays}) != 1:
            raise ValueError(f"all_reduce of {kind}[{key!r}]: the ranks' arrays differ in size")
        total = arrays[0].copy()
        for a in arrays[1:]:
            total = total + a
        for rank in self.ranks:
            getattr(rank, kind)[key] = total.copy()
        R = self.size
        self._record("all_reduce", kind, key, 2 * (R - 1) / R * _nbytes(kind, total))

    def reduce_scatter(self, kind: str, key, out=None, accumulate: bool = False) -> None:
        """Sum every rank's full ``rank.<kind>[key]`` and **consume** it (it is removed);
        rank r receives its shard of the sum in ``rank.<kind>[out]`` (default ``key``), or,
        with ``accumulate=True``, adds it to the shard already there (if any). Each rank
        sends (R − 1)/R · bytes of the full array."""
        arrays = self._arrays(kind, key)
        if len({a.size for a in arrays}) != 1:
            raise ValueError(f"reduce_scatter of {kind}[{key!r}]: the arrays differ in size")
        total = arrays[0].copy()
        for a in arrays[1:]:
            total = total + a
        out = key if out is None else out
        for r, rank in enumerate(self.ranks):
            store = getattr(rank, kind)
            del store[key]
            part = total[self.shard(total.size, r)].copy()
            if accumulate and out in store:
                if np.asarray(store[out]).size != part.size:
                    raise ValueError(f"reduce_scatter: rank {r}'s {kind}[{out!r}] holds "
                                     f"{np.asarray(store[out]).size} values, its shard "
                                     f"{part.size}")
                part = store[out] + part
            store[out] = part
        R = self.size
        self._record("reduce_scatter", kind, key, (R - 1) / R * _nbytes(kind, total))

    def all_gather(self, kind: str, key, out=None, size: int | None = None) -> None:
        """Every rank r contributes its shard of ``rank.<kind>[key]`` (the array is either
        that shard or a full array whose shard r is taken); every rank receives the full
        array in ``rank.<kind>[out]`` (default ``key``). ``size``: the full array's size
        (default a layer's, hidden²). Each rank sends (R − 1)/R · bytes of the full array."""
        n = self.model.layer_size if size is None else _check_int(size, "size", low=1)
        arrays = self._arrays(kind, key)
        parts = []
        for r, a in enumerate(arrays):
            part = self.shard(n, r)
            if a.size == n:
                parts.append(a[part])
            elif a.size == part.stop - part.start:
                parts.append(a)
            else:
                raise ValueError(f"all_gather of {kind}[{key!r}]: rank {r} holds {a.size} "
                                 f"values, neither its shard ({part.stop - part.start}) nor "
                                 f"the whole ({n})")
        full = np.concatenate(parts)
        out = key if out is None else out
        for rank in self.ranks:
            getattr(rank, kind)[out] = full.copy()
        R = self.size
        self._record("all_gather", kind, key, (R - 1) / R * BYTES[kind] * n)

    def send(self, src: int, dst: int, kind: str, key, nbytes: float) -> None:
        """Log a point-to-point send of ``nbytes`` from rank ``src`` to rank ``dst`` (a
        pipeline stage's activation or gradient): counted on the sender only, logged as
        ``("send", kind, (src, dst, key), nbytes)``. Moving the data is the caller's.

        >>> cluster = Cluster(None, ranks=2)
        >>> cluster.send(0, 1, "acts", "mb0", 64)
        >>> cluster.bytes_sent(), cluster.log
        ([64.0, 0.0], [('send', 'acts', (0, 1, 'mb0'), 64.0)])
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        for r in (src, dst):
            if not 0 <= r < self.size:
                raise ValueError(f"rank {r} is not in 0..{self.size - 1}")
        self.ranks[src].sent += float(nbytes)
        self.log.append(("send", kind, (src, dst, key), float(nbytes)))

    def discard(self, kind: str, key, size: int | None = None) -> None:
        """Every rank keeps only its own shard of the full array ``rank.<kind>[key]``
        (``size`` values, default hidden²; a rank already holding only its shard keeps it).
        No communication: ZeRO-3 frees the gathered weights this way after using them."""
        n = self.model.layer_size if size is None else _check_int(size, "size", low=1)
        arrays = self._arrays(kind, key)
        for r, (rank, a) in enumerate(zip(self.ranks, arrays, strict=True)):
            if a.size == n:
                getattr(rank, kind)[key] = a[self.shard(n, r)].copy()

    # ----------------------------------------------------------------------- books

    def state(self) -> dict:
        """The model as the ranks hold it: ``{"weights", "m", "v"}``, each a float64 array of
        shape (layers, hidden²), assembled layer by layer from rank 0's full copy or from
        every rank's shard (Adam's m and v likewise, from ``rank.opt``), and
        ``"replicas_agree"``: whether every rank holding a full copy of a layer holds the
        same one, bit for bit. Ranks that hold no copy of a layer (pipeline stages) are
        skipped. Raises ``ValueError`` where no rank holds a layer, or the ranks hold
        neither full copies nor every shard."""
        n, out, agree = self.model.layer_size, {"weights": [], "m": [], "v": []}, True
        for layer in range(self.model.layers):
            for name, rows in (("weights", None), ("m", 1), ("v", 2)):
                parts = []
                for rank in self.ranks:
                    store = rank.params if rows is None else rank.opt
                    if layer in store:  # a pipeline stage holds only its own layers
                        a = np.asarray(store[layer], dtype=np.float64)
                        parts.append((a if rows is None else a[rows]).ravel())
                if not parts:
                    raise ValueError(f"no rank holds {'params' if rows is None else 'opt'}"
                                     f"[{layer}]")
                if all(a.size == n for a in parts):
                    agree &= all(np.array_equal(parts[0], a) for a in parts[1:])
                    out[name].append(parts[0].copy())
                elif [a.size for a in parts] == [len(range(n)[self.shard(n, r)])
                                                 for r in range(self.size)]:
                    out[name].append(np.concatenate(parts))
                else:
                    raise ValueError(f"layer {layer}'s {name}: the ranks hold neither full "
                                     f"copies nor their shards ({[a.size for a in parts]})")
        return {**{k: np.array(v) for k, v in out.items()}, "replicas_agree": bool(agree)}
    def bytes_sent(self) -> list[float]:
        """Bytes each rank has sent, over all collectives so far."""
        return [rank.sent for rank in self.ranks]

    def peaks(self) -> list[int]:
        """Each rank's peak memory, in bytes."""
        return [rank.peak for rank in self.ranks]

    def weights(self, rank: int = 0) -> list[np.ndarray]:
        """The full weights of every layer on ``rank`` (from ``params``; raises if any is a
        shard)."""
        return [self.ranks[rank]._weights(layer).ravel().copy()
                for layer in range(self.model.layers)]


def run_pipeline(model: MLP, schedule, p: int, sizes: Sequence[int],
                 memory_limit=None) -> Cluster:
    """One training step of ``model`` on a pipeline of ``p`` ranks, following ``schedule``.

    Stage s holds the layers ``np.array_split(range(layers), p)[s]`` (their weights and
    Adam state); ``sizes`` are the micro-batches' sizes (micro-batch j of ``schedule`` is
    ``sizes[j]`` examples). ``schedule`` is a list of ``(step, stage, op, microbatch)``
    (notebook 06's GPipe or 1F1B), run as :func:`run_schedule` runs it (``ValueError``
    where it breaks the rules of :func:`course_lib.pipeline.schedule_steps`,
    :class:`Deadlock` where an op's input is not there). After a forward, a stage sends its
    output to the next (it becomes that stage's input, charged there as an activation); after
    a backward, the gradient of its input to the previous one; each send is logged as
    ``"send"`` with its bytes (16-bit values, :meth:`Cluster.send`). Once every op has
    run, every stage steps its layers with the mean gradient. Returns the cluster: its
    ranks' ``peak`` is each stage's memory at its peak (a stage above ``memory_limit``
    raises :class:`OutOfMemory` when it gets there), ``state()`` the weights.

    >>> model = MLP(layers=2, hidden=3, examples=8, seed=0)
    >>> gpipe = [(0, 0, "F", 0), (1, 1, "F", 0), (2, 1, "B", 0), (3, 0, "B", 0)]
    >>> cluster = run_pipeline(model, gpipe, p=2, sizes=[4])
    >>> cluster.bytes_sent()  # 4 examples x 3 values x 2 bytes, forward and back
    [24.0, 24.0]
    """
    p = _check_int(p, "p", low=1)
    L = model.layers
    if p > L:
        raise ValueError(f"{p} stages for {L} layers: at most one stage per layer")
    sizes = [_check_int(v, "a micro-batch size", low=1) for v in sizes]
    ops = _pipeline_ops(schedule, p, len(sizes))
    cluster = Cluster(model, p, memory_limit=memory_limit)
    stages = [[int(v) for v in part] for part in np.array_split(np.arange(L), p)]
    for s, rank in enumerate(cluster.ranks):
        for layer in stages[s]:
            w = model.weights[layer]
            rank.params[layer] = w.copy()
            rank.opt[layer] = np.stack([w.copy(), np.zeros_like(w), np.zeros_like(w)])
        rank.measure("setup")
    mbs = cluster.micro_batches(sizes)
    h = model.hidden
    for _, s, op, j in ops:
        rank, mb = cluster.ranks[s], mbs[j]
        first, last = stages[s][0], stages[s][-1]
        if op == "F":
            rank.forward(mb, layers=stages[s])
            if s < p - 1:  # the output becomes the next stage's input
                nxt = cluster.ranks[s + 1]
                nxt.acts[(j, last)] = rank.acts[(j, last)].copy()
                cluster.send(s, s + 1, "acts", (j, last), 2 * h * mb.size)
                nxt.measure(f"receiving micro-batch {j}")
        else:
            if s < p - 1:  # the gradient of the next stage's input, received
                nxt = cluster.ranks[s + 1]
                rank._upstream[j] = nxt._upstream.pop(j)
                cluster.send(s + 1, s, "grads", (j, last), 2 * h * mb.size)
            rank.backward(mb, layers=stages[s])
            if s > 0:
                del rank.acts[(j, first - 1)]  # the input received from the previous stage
    n = sum(sizes)
    for s, rank in enumerate(cluster.ranks):
        for layer in stages[s]:
            rank.params[layer] = rank.step(layer, rank.grads.pop(layer) / n)
    return cluster



def _pipeline_ops(schedule, p: int, m: int):
    """The ops of ``schedule`` in the order ranks running in lockstep meet them (by step),
    each checked when its step comes: ``ValueError`` first if the schedule breaks
    :func:`course_lib.pipeline.schedule_steps`'s rules (an op missing or twice, two ops of a
    stage in one step, ...), then :class:`Deadlock` at the first op one of whose inputs
    (:func:`course_lib.pipeline.op_inputs`) has not run at an earlier step."""
    from .pipeline import as_schedule, late_inputs, schedule_steps

    problems, when = schedule_steps(schedule, p, m)
    if problems:
        raise ValueError("the schedule breaks the pipeline's rules: " + "; ".join(problems[:5])
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    for t, s, op, j in as_schedule(schedule):
        late = late_inputs(when, p, s, op, j)
        if late:
            (d_s, d_op, _), d_t = late[0]
            if d_s == s:
                waits = (f"its own F of micro-batch {j} (the activation to back-propagate), "
                         f"which runs at step {d_t}")
            else:
                what = "activation" if op == "F" else "gradient"
                waits = (f"micro-batch {j}'s {what} from rank {d_s}, whose {d_op} runs at "
                         f"step {d_t}")
            raise Deadlock(f"deadlock at step {t}: rank {s}'s {op} of micro-batch {j} waits "
                           f"for {waits}, not before: it would wait there for ever")
        yield t, s, op, j


def run_schedule(schedule, p: int, m: int, activation_bytes: int, grad_bytes: float | None = None,
                 memory_limit=None) -> Cluster:
    """Run a pipeline schedule of ``p`` stages and ``m`` micro-batches on ``p`` simulated
    ranks (rank s is stage s), step by step, and return the cluster: its ledgers and logs.

    ``schedule`` is a list of ``(step, stage, op, microbatch)`` (notebook 06's GPipe or
    1F1B). At each step every rank runs its op of that step:

    * the F of micro-batch j on rank s receives j's activation from rank s − 1 (a send of
      ``activation_bytes`` from rank s − 1 to s, :meth:`Cluster.send`; none on rank 0)
      and keeps ``activation_bytes`` of activation in ``rank.acts[j]``;
    * the B of micro-batch j on rank s receives j's gradient from rank s + 1 (a send of
      ``grad_bytes``, default ``activation_bytes``, from s + 1 to s; none on the last
      rank) and frees ``rank.acts[j]``.

    An op whose input has not been produced at an earlier step (the F of j on the previous
    rank, the B of j on the next, the rank's own F of j: :func:`course_lib.pipeline.op_inputs`)
    raises :class:`Deadlock` naming the op and what it waits for; a schedule with an op
    missing or twice, or two ops of one rank in one step, raises ``ValueError`` before
    anything runs; a rank holding more than ``memory_limit`` bytes (one number or one per
    rank) raises :class:`OutOfMemory` when it gets there. ``activation_bytes`` is a
    positive multiple of 2 (the ledger holds 16-bit values).

    Afterwards ``cluster.peaks()`` is each rank's peak activation memory in bytes (the ranks
    hold nothing else) and ``cluster.bytes_sent()`` the bytes each rank sent.

    >>> gpipe = [(0, 0, "F", 0), (1, 0, "F", 1), (1, 1, "F", 0), (2, 1, "F", 1),
    ...          (3, 1, "B", 1), (4, 1, "B", 0), (4, 0, "B", 1), (5, 0, "B", 0)]
    >>> cluster = run_schedule(gpipe, p=2, m=2, activation_bytes=100)
    >>> cluster.peaks(), cluster.bytes_sent()  # rank 0 sends activations, rank 1 gradients
    ([200, 200], [200.0, 200.0])
    >>> run_schedule([(0, 0, "F", 0), (0, 1, "F", 0), (1, 1, "B", 0), (2, 0, "B", 0)],
    ...              p=2, m=1, activation_bytes=100)
    Traceback (most recent call last):
    ...
    course_lib.simcluster.Deadlock: deadlock at step 0: rank 1's F of micro-batch 0 waits for \
micro-batch 0's activation from rank 0, whose F runs at step 0, not before: it would wait \
there for ever
    """
    p = _check_int(p, "p", low=1)
    m = _check_int(m, "m", low=1)
    activation_bytes = _check_int(activation_bytes, "activation_bytes", low=1)
    if activation_bytes % BYTES["acts"]:
        raise ValueError(f"activation_bytes must be a multiple of {BYTES['acts']} (16-bit "
                         f"values), got {activation_bytes}")
    grad_bytes = activation_bytes if grad_bytes is None else float(grad_bytes)
    if not grad_bytes >= 0:
        raise ValueError(f"grad_bytes must be >= 0, got {grad_bytes}")
    ops = _pipeline_ops(schedule, p, m)
    cluster = Cluster(None, p, memory_limit=memory_limit)
    # the activation's values, charged 2 bytes each by the ledger (a view: no real memory)
    activation = np.broadcast_to(np.float16(0), (activation_bytes // BYTES["acts"],))
    for _, s, op, j in ops:
        rank = cluster.ranks[s]
        if op == "F":
            if s > 0:
                cluster.send(s - 1, s, "acts", j, activation_bytes)
            rank.acts[j] = activation
            rank.measure(f"F of micro-batch {j}")
        else:
            if s < p - 1:
                cluster.send(s + 1, s, "grads", j, grad_bytes)
            del rank.acts[j]
            rank.measure(f"B of micro-batch {j}")
    return cluster

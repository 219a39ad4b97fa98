"""Networks for AI clusters: collectives on Ray, fabrics, routing and congestion.

What notebook 07 *uses*, never what its exercises compute:

* **Collectives on Ray.** :class:`RingPeers` starts ``p`` Ray actors, each
  holding one rank's buffer split into chunks, and carries out a schedule of
  chunk transfers that the notebook passes in: in each step every listed
  actor sends one chunk to another through Ray's object store, and the step
  is timed. ``transfer_times`` measures one transfer of a given size (the
  measurement behind an α-β fit).
* **Moving bytes through a machine.** :func:`path_time`: the time to move a
  message through a chain of copies (GPU → PCIe → host memory → NIC → wire ...),
  whole message per hop or pipelined in chunks.
* **Congestion.** :func:`simulate_aimd` runs flows that share a bottleneck
  with the rate-update rule you pass in (notebook 07's ``aimd_step``);
  :func:`jain_index` measures how fair a split is; :func:`explore_congestion`
  is the explorer.
* **Routing.** :func:`random_flows` makes a mix of long-lived "elephant"
  training flows and small "mice", :func:`flow_hash` a 5-tuple hash;
  :func:`plot_path_loads` and :func:`explore_routing` compare the per-path loads
  that the load functions you pass in (``ecmp_loads``, ``adaptive_loads``)
  produce.
* **Topology.** :func:`draw_fat_tree` draws a small k-ary fat-tree from its
  wiring rule (Al-Fares, Loukissas and Vahdat, SIGCOMM 2008).
* **Collective cost.** :func:`explore_allreduce` draws the all-reduce cost
  model you pass in (``allreduce_time``) against message size and workers.
* **Tail latency.** :func:`fanout_latencies` resamples measured latencies to
  show what a request that waits for ``fanout`` servers sees.

``ray`` and ``matplotlib`` are imported only by the functions that need them.

>>> T = path_time(8e9, [64e9, 50e9], chunk_bytes=None)   # 8 GB through two hops
>>> round(float(T), 3)
0.285
>>> round(jain_index([10.0, 10.0, 10.0]), 6), round(jain_index([30.0, 0.0, 0.0]), 6)
(1.0, 0.333333)
"""

from __future__ import annotations

import os
import sys
import time
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from . import plots
from ._validate import check_int as _check_int
from ._validate import check_positive as _check_positive
from ._validate import is_int as _is_int
from .widgets import checkbox, dropdown, float_slider, int_slider, interactive_plot

__all__ = [
    "RingPeers",
    "draw_fat_tree",
    "explore_allreduce",
    "explore_congestion",
    "explore_routing",
    "fanout_latencies",
    "flow_hash",
    "jain_index",
    "path_time",
    "plot_aimd",
    "plot_path_loads",
    "random_flows",
    "simulate_aimd",
]


# ----------------------------------------------------------------------------- checks



def _check_callable(fn, name: str, what: str) -> Callable:
    if not callable(fn):
        raise TypeError(f"{name} must be a function {what}, got {fn!r:.80}")
    return fn


# ----------------------------------------------------------------------------- Ray ring
from .raytools import _ray  # noqa: E402 - Ray, when it is running (one helper for all)


class _Peer:
    """One rank of a collective: a buffer held as a list of chunks (numpy arrays)."""

    def __init__(self):
        self.chunks: list[np.ndarray] = []

    def ready(self) -> int:
        return os.getpid()

    def load(self, chunks) -> int:
        self.chunks = [np.array(c, copy=True) for c in chunks]  # writable copies
        return int(sum(c.size for c in self.chunks))

    def chunk(self, c: int) -> np.ndarray:
        return self.chunks[c]  # Ray copies it into the object store (large) or the reply

    def receive(self, c: int, data: np.ndarray, op: str) -> int:
        if op == "add":
            self.chunks[c] += data  # in place: this rank's copy of chunk c
        else:
            self.chunks[c] = np.array(data, copy=True)  # the store's copy is read-only
        return int(data.size)

    def result(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0)


_PEER_CLASS = None


def _peer_class():
    global _PEER_CLASS
    ray = _ray()
    if _PEER_CLASS is None:
        # num_cpus=0: the actors only move data; they must not block the CPUs Ray gives tasks.
        _PEER_CLASS = ray.remote(num_cpus=0)(_Peer)
    return _PEER_CLASS


class RingPeers:
    """``p`` Ray actors ("peers"), each holding one rank's buffer as a list of chunks.

    The notebook decides *what* moves: :meth:`step` takes a list of sends
    ``(src, dst, chunk, op)``; every ``src`` actor hands its chunk ``chunk`` to
    Ray's object store and the ``dst`` actor adds it to its own copy of that
    chunk (``op="add"``) or replaces its copy (``op="copy"``). All sends of a
    step run at once; the step ends when every receiver has its data, and
    :meth:`step` returns the seconds it took (measured in the driver, so it
    includes Ray's two actor calls per send). :meth:`run` runs a whole schedule
    (a list of steps). This class knows no collective algorithm.

    Starting an actor starts a Python process (seconds on a small machine);
    ``wait=False`` returns at once and the first use waits (:meth:`wait`).
    Use it as a context manager, or call :meth:`close`, to end the actors'
    processes. Needs a running Ray (``cl.ray_session.start()``)::

        with cl.network.RingPeers(3) as peers:
            peers.load([np.array_split(b, 3) for b in buffers])
            seconds = peers.run(schedule)
            results = peers.results()
    """

    def __init__(self, p: int, wait: bool = True):
        self.p = _check_int(p, "p")
        _ray()
        Peer = _peer_class()
        self._actors = [Peer.remote() for _ in range(self.p)]
        self._ready = [a.ready.remote() for a in self._actors]
        self.pids: list[int] | None = None  # the actors' process ids, once started
        self._ranks = self.p  # ranks taking part (set by load)
        if wait:
            self.wait()

    def wait(self) -> RingPeers:
        """Wait until every actor's process has started (``wait=False`` returns before that,
        so that other work can run while they start; the first use waits). Returns self."""
        if self.pids is None:
            if not self._actors:
                raise RuntimeError("these RingPeers are closed: make new ones")
            self.pids = list(_ray().get(self._ready))
        return self

    def __repr__(self) -> str:
        if not self._actors:
            state = "closed"
        else:
            state = "starting" if self.pids is None else f"pids {self.pids}"
        return f"RingPeers(p={self.p}; {state})"

    def __enter__(self) -> RingPeers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """End the actors' processes (safe to call twice)."""
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            for a in self._actors:
                ray.kill(a)
        self._actors = []

    def _live(self) -> list:
        if not self._actors:
            raise RuntimeError("these RingPeers are closed: make new ones")
        self.wait()
        return self._actors

    def load(self, chunks_per_rank: Sequence[Sequence[np.ndarray]]) -> None:
        """Give rank r the chunks ``chunks_per_rank[r]`` (a list of 1-D numpy arrays).

        Fewer lists than peers is allowed: the first ``len(chunks_per_rank)``
        ranks take part (a ring of 2 or 3 on 4 peers); the others hold nothing.
        A send of chunk c from one rank to another needs both to hold a chunk c
        of the same size (``np.array_split`` of equal-length buffers does that).
        """
        actors = self._live()
        if not 1 <= len(chunks_per_rank) <= self.p:
            raise ValueError(f"chunks_per_rank must hold one list of chunks per rank, for 1 to "
                             f"{self.p} ranks, got {len(chunks_per_rank)}")
        for r, chunks in enumerate(chunks_per_rank):
            if not isinstance(chunks, list | tuple) or not all(
                    isinstance(c, np.ndarray) and c.ndim == 1 for c in chunks):
                raise ValueError(f"chunks_per_rank[{r}] must be a list of 1-D numpy arrays, "
                                 f"got {chunks!r:.80}")
        ray = _ray()
        everything = list(chunks_per_rank) + [[] for _ in range(self.p - len(chunks_per_rank))]
        ray.get([a.load.remote(list(ch)) for a, ch in zip(actors, everything, strict=True)])
        self._ranks = len(chunks_per_rank)

    def _check_sends(self, sends) -> list[tuple[int, int, int, str]]:
        out = []
        for i, send in enumerate(sends):
            if not isinstance(send, tuple | list) or len(send) != 4:
                raise ValueError(f"send {i} must be (src, dst, chunk, op), got {send!r}")
            src, dst, c, op = send
            for name, v in (("src", src), ("dst", dst)):
                if not _is_int(v) or not 0 <= v < self._ranks:
                    raise ValueError(f"send {i}: {name} must be a loaded rank in "
                                     f"0..{self._ranks - 1}, got {v!r}")
            if not _is_int(c) or c < 0:
                raise ValueError(f"send {i}: chunk must be an int >= 0, got {c!r}")
            if op not in ("add", "copy"):
                raise ValueError(f"send {i}: op must be 'add' or 'copy', got {op!r}")
            out.append((int(src), int(dst), int(c), op))
        return out

    def step(self, sends) -> float:
        """Carry out one step of sends ``(src, dst, chunk, op)`` at once; return its seconds."""
        actors = self._live()
        sends = self._check_sends(sends)
        ray = _ray()
        t0 = time.perf_counter()
        refs = [actors[src].chunk.remote(c) for src, _, c, _ in sends]  # all sends first
        done = [actors[dst].receive.remote(c, ref, op)
                for (_, dst, c, op), ref in zip(sends, refs, strict=True)]
        ray.get(done)
        return time.perf_counter() - t0

    def run(self, schedule) -> list[float]:
        """Run the steps of ``schedule`` one after the other; return each step's seconds."""
        return [self.step(sends) for sends in schedule]

    def results(self) -> list[np.ndarray]:
        """Each loaded rank's buffer now: its chunks joined, one array per rank."""
        actors = self._live()[:self._ranks]
        return list(_ray().get([a.result.remote() for a in actors]))

    def round_trips(self, n: int = 200, rank: int = 0) -> np.ndarray:
        """Seconds taken by each of ``n`` empty calls to rank ``rank``'s actor, one at a time.

        Each call is a small request to another process and its reply: a
        sample of the latency of a remote call on this machine, tail included.
        """
        actors = self._live()
        n = _check_int(n, "n")
        if not _is_int(rank) or not 0 <= rank < self.p:
            raise ValueError(f"rank must be in 0..{self.p - 1}, got {rank!r}")
        ray = _ray()
        out = np.empty(n)
        for i in range(n):
            t0 = time.perf_counter()
            ray.get(actors[rank].ready.remote())
            out[i] = time.perf_counter() - t0
        return out

    def transfer_times(self, sizes_bytes: Sequence[int], repeat: int = 5) -> np.ndarray:
        """Seconds for one send of a message of each size from rank 0 to rank 1, ``repeat`` times.

        Returns an array of shape ``(len(sizes_bytes), repeat)``. Each size is
        rounded down to whole float64 elements (at least one). Ranks 0 and 1
        are loaded with one chunk of that size (the others with nothing): load
        again after.
        """
        if self.p < 2:
            raise ValueError("transfer_times needs p >= 2 peers")
        repeat = _check_int(repeat, "repeat")
        sizes = [_check_int(s, "each size in sizes_bytes") for s in sizes_bytes]
        out = np.zeros((len(sizes), repeat))
        for i, n_bytes in enumerate(sizes):
            m = max(1, n_bytes // 8)
            self.load([[np.ones(m)], [np.zeros(m)]])
            self.step([(0, 1, 0, "copy")])  # warm-up: not timed
            out[i] = [self.step([(0, 1, 0, "copy")]) for _ in range(repeat)]
        return out


# ----------------------------------------------------------------------------- copies
def path_time(n_bytes, bandwidths_Bps: Sequence[float], latency_s: float = 0.0,
              chunk_bytes: float | None = None):
    """Seconds to move ``n_bytes`` through a chain of copies, one per hop.

    ``bandwidths_Bps``: each hop's bandwidth in bytes per second, in order
    (a DMA over PCIe, a CPU copy in host memory, the wire, ...); each hop
    also costs ``latency_s`` to start. ``chunk_bytes=None``: *store and
    forward*, each hop moves the whole message before the next starts:
    hops · latency + Σ n / Bᵢ. Otherwise the message is *pipelined* in chunks
    of ``chunk_bytes``: the first chunk crosses every hop, then the slowest hop
    sets the pace: hops · latency + Σ c / Bᵢ + (n − c) / min Bᵢ with
    c = min(chunk_bytes, n). Works elementwise on an array ``n_bytes``.

    >>> path_time(1e6, [1e9, 1e9])                       # 2 hops of 1 ms
    0.002
    >>> round(float(path_time(1e6, [1e9, 1e9], chunk_bytes=1e3)), 6)   # pipelined
    0.001001
    """
    B = np.asarray(bandwidths_Bps, dtype=float)
    if B.ndim != 1 or B.size == 0 or not np.all(np.isfinite(B)) or np.any(B <= 0):
        raise ValueError(f"bandwidths_Bps must be a non-empty list of numbers > 0, "
                         f"got {bandwidths_Bps!r}")
    latency_s = _check_positive(latency_s, "latency_s", allow_zero=True)
    n = np.asarray(n_bytes, dtype=float)
    if np.any(n < 0):
        raise ValueError(f"n_bytes must be >= 0, got {n_bytes!r}")
    start = B.size * latency_s
    if chunk_bytes is None:
        out = start + n * np.sum(1.0 / B)
    else:
        c = np.minimum(_check_positive(chunk_bytes, "chunk_bytes"), n)
        out = start + c * np.sum(1.0 / B) + (n - c) / B.min()
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------- congestion
def jain_index(rates) -> float:
    """Jain's fairness index (Σx)² / (n · Σx²): 1 when all n rates are equal, 1/n when one has all.

    Jain, Chiu and Hawe, "A quantitative measure of fairness and discrimination
    for resource allocation in shared computer systems", DEC TR-301, 1984.
    All rates zero counts as fair (1.0).

    >>> jain_index([1.0, 3.0])
    0.8
    """
    x = np.asarray(rates, dtype=float).ravel()
    if x.size == 0 or np.any(x < 0) or not np.all(np.isfinite(x)):
        raise ValueError(f"rates must be a non-empty list of finite numbers >= 0, got {rates!r}")
    s2 = float(np.sum(x * x))
    return 1.0 if s2 == 0 else float(np.sum(x) ** 2 / (x.size * s2))


def simulate_aimd(step: Callable, rates, capacity: float, increase: float, decrease: float,
                  steps: int = 200, starts: Sequence[int] | None = None) -> np.ndarray:
    """Rates of flows sharing one bottleneck, updated ``steps`` times by ``step``.

    ``step(rates, capacity, increase, decrease)`` returns the new rates of the
    active flows (notebook 07's ``aimd_step``: pass yours). ``rates``: the
    flows' starting rates (e.g. Gb/s). ``starts`` (optional): the step at which
    each flow starts; before it, its rate is 0 and it is not passed to
    ``step``; it starts at the rate given in ``rates``.

    Returns an array of shape ``(steps + 1, n_flows)``: row t holds the rates
    after t updates (row 0: the starting rates of the flows active at step 0).

    >>> halve_or_add = lambda r, C, a, b: r * b if r.sum() > C else r + a
    >>> simulate_aimd(halve_or_add, [8.0, 0.0], capacity=10, increase=1, decrease=0.5,
    ...               steps=3).tolist()
    [[8.0, 0.0], [9.0, 1.0], [10.0, 2.0], [5.0, 1.0]]
    """
    _check_callable(step, "step", "(rates, capacity, increase, decrease) -> new rates")
    x0 = np.asarray(rates, dtype=float)
    if x0.ndim != 1 or x0.size == 0 or np.any(x0 < 0) or not np.all(np.isfinite(x0)):
        raise ValueError(f"rates must be a non-empty 1-D list of numbers >= 0, got {rates!r}")
    capacity = _check_positive(capacity, "capacity")
    increase = _check_positive(increase, "increase", allow_zero=True)
    decrease = _check_positive(decrease, "decrease")
    steps = _check_int(steps, "steps", low=0)
    if starts is None:
        start_at = np.zeros(x0.size, dtype=int)
    else:
        start_at = np.asarray(starts)
        if start_at.shape != x0.shape or start_at.dtype.kind not in "iu" or np.any(start_at < 0):
            raise ValueError(f"starts must hold one int >= 0 per flow ({x0.size}), got {starts!r}")
    history = np.zeros((steps + 1, x0.size))
    current = np.where(start_at <= 0, x0, 0.0)
    history[0] = current
    for t in range(1, steps + 1):
        active = start_at < t  # flows that had started before this update
        joining = start_at == t
        if active.any():
            new = np.asarray(step(current[active].copy(), capacity, increase, decrease),
                             dtype=float)
            if new.shape != (int(active.sum()),):
                raise ValueError(f"step returned shape {new.shape} for {int(active.sum())} "
                                 f"flows: it must return one new rate per flow")
            current = current.copy()
            current[active] = new
        current = np.where(joining, x0, current)
        history[t] = current
    return history


def plot_aimd(history, capacity: float, axes=None, title: str | None = None):
    """Two panels: each flow's rate and their sum against the capacity; fairness and utilisation.

    ``history``: what :func:`simulate_aimd` returned. Returns the two ``Axes``.

    >>> h = np.array([[8.0, 0.0], [9.0, 1.0], [10.0, 2.0], [5.0, 1.0]])
    >>> ax_rates, ax_fair = plot_aimd(h, capacity=10)
    >>> ax_rates.get_title(), len(ax_rates.get_lines())
    ('2 flows sharing a bottleneck of 10', 4)
    """
    import matplotlib.pyplot as plt

    h = np.asarray(history, dtype=float)
    if h.ndim != 2 or h.shape[0] < 1:
        raise ValueError(f"history must be a 2-D array (steps + 1, flows), got shape {h.shape}")
    capacity = _check_positive(capacity, "capacity")
    t = np.arange(h.shape[0])
    with plots.style():
        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        ax_r, ax_f = axes
        for i in range(h.shape[1]):
            ax_r.plot(t, h[:, i], linewidth=1.4, label=f"flow {i}" if h.shape[1] <= 6 else None)
        ax_r.plot(t, h.sum(axis=1), color="black", linewidth=1, alpha=0.6, label="sum")
        ax_r.axhline(capacity, color="grey", linestyle="--", linewidth=1, label="capacity")
        ax_r.set_xlabel("step (one feedback round trip)")
        ax_r.set_ylabel("rate")
        ax_r.set_title(title or f"{h.shape[1]} flows sharing a bottleneck of {capacity:g}")
        ax_r.legend(fontsize=8, loc="upper right", ncol=2)
        fair = [jain_index(row) if np.any(row > 0) else np.nan for row in h]
        ax_f.plot(t, fair, color=plots.COLORS[2], label="Jain's fairness index")
        ax_f.plot(t, h.sum(axis=1) / capacity, color=plots.COLORS[3], linewidth=1.2,
                  label="utilisation (sum / capacity)")
        ax_f.set_ylim(0, 1.6)
        ax_f.set_xlabel("step")
        ax_f.set_title("Fairness and utilisation")
        ax_f.legend(fontsize=8, loc="lower right")
    return axes


def explore_congestion(step: Callable, n_flows: int = 3, increase: float = 2.0,
                       decrease: float = 0.5, steps: int = 200, widgets: bool | None = None):
    """The congestion explorer: flows under your ``step`` rule sharing a bottleneck of 100.

    ``step(rates, capacity, increase, decrease)``: notebook 07's ``aimd_step``.
    Controls: the number of flows, the additive increase, the multiplicative
    decrease, the number of steps, and whether the flows start together at
    unequal rates or one after another (every 40 steps, each at rate 1, as when
    new jobs join a link). Returns the
    :class:`~course_lib.widgets.InteractivePlot`.

    >>> ex = explore_congestion(lambda r, C, a, b: r * b if r.sum() > C else r + a,
    ...                         widgets=False)
    >>> ex.figure.axes[0].get_title()
    '3 flows, +2/step, x0.50 on congestion: fairness 1.00 at the end'
    """
    _check_callable(step, "step", "(rates, capacity, increase, decrease) -> new rates")
    capacity = 100.0

    def draw(n_flows, increase, decrease, steps, staggered):
        import matplotlib.pyplot as plt

        if staggered:
            rates = np.ones(n_flows)
            starts = [40 * i for i in range(n_flows)]
        else:
            rates = np.linspace(0.8 * capacity, 0.0, n_flows)  # very unequal
            starts = None
        with plots.style():
            fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        try:
            h = simulate_aimd(step, rates, capacity, increase, decrease, steps,
                              starts=None if starts is None else np.array(starts))
        except NotImplementedError:
            axes[0].text(0.5, 0.5, "aimd_step is not written yet", ha="center",
                         transform=axes[0].transAxes)
            return fig
        last = max(1, steps // 5)  # fairness over the last fifth, where it has settled
        fair = float(np.mean([jain_index(r) for r in h[-last:] if np.any(r > 0)] or [np.nan]))
        plot_aimd(h, capacity, axes=axes,
                  title=f"{n_flows} flows, +{increase:g}/step, x{decrease:.2f} on congestion: "
                        f"fairness {fair:.2f} at the end")
        fig.tight_layout()
        return fig

    return interactive_plot(
        draw, widgets=widgets,
        n_flows=int_slider(n_flows, 1, 10, label="flows"),
        increase=float_slider(increase, 0.5, 10.0, 0.5, label="additive increase"),
        decrease=float_slider(decrease, 0.1, 0.95, 0.05, label="multiplicative decrease"),
        steps=int_slider(steps, 50, 600, 50, label="steps"),
        staggered=checkbox(False, label="flows join one after another"),
    )


# ----------------------------------------------------------------------------- routing
def random_flows(n_elephants: int = 8, n_mice: int = 0, seed: int = 0,
                 elephant_size: float = 100.0, mouse_size: float = 1.0) -> np.ndarray:
    """Flow sizes: ``n_elephants`` large, long-lived flows then ``n_mice`` small ones.

    Elephants (a training job's all-reduce traffic: few, large, lasting the
    whole step) have sizes within ±10 % of ``elephant_size``; mice
    (short requests) are exponential with mean ``mouse_size``. Units are yours
    (e.g. Gb/s of demand or GB per step). Same ``seed``, same flows.

    >>> f = random_flows(4, 100, seed=1)
    >>> f.shape, bool(f[:4].min() > 80), bool(f[4:].mean() < 2)
    ((104,), True, True)
    """
    n_elephants = _check_int(n_elephants, "n_elephants", low=0)
    n_mice = _check_int(n_mice, "n_mice", low=0)
    if n_elephants + n_mice == 0:
        raise ValueError("there must be at least one flow (n_elephants + n_mice >= 1)")
    elephant_size = _check_positive(elephant_size, "elephant_size")
    mouse_size = _check_positive(mouse_size, "mouse_size")
    rng = np.random.default_rng(seed)
    big = elephant_size * rng.uniform(0.9, 1.1, n_elephants)
    small = rng.exponential(mouse_size, n_mice)
    return np.concatenate([big, small])


def flow_hash(seed: int = 0) -> Callable[[int], int]:
    """A hash of flow i's 5-tuple, as a switch computes it for ECMP: ``path_of(i) -> int``.

    Flow i gets a made-up 5-tuple (source and destination addresses, UDP
    ports, protocol; RoCE v2 uses UDP destination port 4791), and the function
    returns its CRC-32, a non-negative int. ``seed`` stands for the switch's
    hash seed: another seed, another (equally arbitrary) placement.

    >>> h = flow_hash(seed=3)
    >>> h(5) == h(5), h(5) == flow_hash(seed=4)(5), h(5) >= 0
    (True, False, True)
    """
    if not _is_int(seed):
        raise ValueError(f"seed must be an int, got {seed!r}")

    def path_of(i: int) -> int:
        if not _is_int(i):
            raise ValueError(f"the flow index must be an int, got {i!r}")
        src = f"10.{(i // 250) % 250}.{i % 250}.1"
        dst = f"10.{(i * 7 // 250) % 250}.{(i * 7 + 3) % 250}.2"
        five_tuple = f"{seed}|{src}|{dst}|{49152 + (i * 37) % 16384}|4791|UDP"
        return zlib.crc32(five_tuple.encode())

    return path_of


def _loads_array(loads, n_paths: int, name: str) -> np.ndarray:
    arr = np.asarray(loads, dtype=float)
    if arr.shape != (n_paths,):
        raise ValueError(f"{name} returned shape {arr.shape}: expected one load per path "
                         f"({n_paths},)")
    return arr


def plot_path_loads(loads: dict, ax=None, title: str = "Load per path"):
    """Grouped bars: the load on each path under each policy ``{label: loads}``.

    A dashed line marks the ideal, the mean load. Returns the ``Axes``.

    >>> ax = plot_path_loads({"ECMP": [3.0, 0.0, 1.0], "adaptive": [2.0, 1.0, 1.0]})
    >>> len(ax.patches)
    6
    """
    if not isinstance(loads, dict) or not loads:
        raise ValueError(f"loads must be a non-empty dict label -> loads, got {loads!r:.80}")
    arrays = {k: np.asarray(v, dtype=float) for k, v in loads.items()}
    n = {a.shape for a in arrays.values()}
    if len(n) != 1 or len(next(iter(n))) != 1:
        raise ValueError(f"every policy must give a 1-D array of the same length, got {n}")
    n_paths = next(iter(arrays.values())).size
    ax = plots.new_axes(ax, figsize=(8, 3.6))
    width = 0.8 / len(arrays)
    with plots.style():
        x = np.arange(n_paths)
        for k, (label, arr) in enumerate(arrays.items()):
            ax.bar(x + (k - (len(arrays) - 1) / 2) * width, arr, width,
                   color=plots.COLORS[k % len(plots.COLORS)],
                   label=f"{label}: max {arr.max():.3g} = {arr.max() / arr.mean():.2f} x mean"
                   if arr.mean() > 0 else label)
        mean = next(iter(arrays.values())).mean()
        ax.axhline(mean, color="grey", linestyle="--", linewidth=1, label=f"mean {mean:.3g}")
        ax.set_xticks(x, [str(i) for i in x])
        ax.set_xlabel("path (spine switch)")
        ax.set_ylabel("load")
        ax.set_title(title)
        ax.legend(fontsize=8)
        ax.grid(axis="x", visible=False)
    return ax


def explore_routing(ecmp_loads: Callable, adaptive_loads: Callable, n_paths: int = 8,
                    n_elephants: int = 8, n_mice: int = 0, seed: int = 0,
                    widgets: bool | None = None):
    """The routing explorer: per-path load under ECMP hashing and under adaptive routing.

    ``ecmp_loads(flow_sizes, n_paths, path_of)`` and
    ``adaptive_loads(flow_sizes, n_paths)``: notebook 07's exercises (pass
    yours). The flows come from :func:`random_flows`, the hash from
    :func:`flow_hash`. Left: the loads of one placement. Right: over 200 hash
    seeds, the distribution of the busiest path's load divided by the mean
    (1 = perfectly balanced; the collective waits for the busiest path).

    >>> from collections import Counter
    >>> def ecmp(f, n, h):
    ...     out = np.zeros(n)
    ...     for i, s in enumerate(f):
    ...         out[h(i) % n] += s
    ...     return out
    >>> ex = explore_routing(ecmp, lambda f, n: np.full(n, np.sum(f) / n), widgets=False)
    >>> ex.figure.axes[1].get_title()
    'Busiest path / mean over 200 hash seeds'
    """
    _check_callable(ecmp_loads, "ecmp_loads", "(flow_sizes, n_paths, path_of) -> loads")
    _check_callable(adaptive_loads, "adaptive_loads", "(flow_sizes, n_paths) -> loads")

    def draw(n_paths, n_elephants, n_mice, seed):
        import matplotlib.pyplot as plt

        with plots.style():
            fig, (ax_l, ax_h) = plt.subplots(1, 2, figsize=(12, 3.8),
                                             gridspec_kw={"width_ratios": [3, 2]})
        if n_elephants + n_mice == 0:
            ax_l.text(0.5, 0.5, "no flows", ha="center", transform=ax_l.transAxes)
            return fig
        flows = random_flows(n_elephants, n_mice, seed=seed)
        try:
            e = _loads_array(ecmp_loads(flows, n_paths, flow_hash(seed)), n_paths, "ecmp_loads")
            a = _loads_array(adaptive_loads(flows, n_paths), n_paths, "adaptive_loads")
        except NotImplementedError:
            ax_l.text(0.5, 0.5, "ecmp_loads or adaptive_loads is not written yet",
                      ha="center", transform=ax_l.transAxes)
            return fig
        plot_path_loads({"ECMP (hash)": e, "adaptive": a}, ax=ax_l,
                        title=f"{n_elephants} elephants + {n_mice} mice on {n_paths} paths "
                              f"(seed {seed})")
        worst = {"ECMP (hash)": [], "adaptive": []}
        for s in range(200):
            f = random_flows(n_elephants, n_mice, seed=s)
            mean = f.sum() / n_paths
            worst["ECMP (hash)"].append(
                np.max(_loads_array(ecmp_loads(f, n_paths, flow_hash(s)), n_paths,
                                    "ecmp_loads")) / mean)
            worst["adaptive"].append(
                np.max(_loads_array(adaptive_loads(f, n_paths), n_paths,
                                    "adaptive_loads")) / mean)
        bins = np.linspace(1, max(2.0, max(worst["ECMP (hash)"]) * 1.05), 30)
        for k, (label, vals) in enumerate(worst.items()):
            ax_h.hist(vals, bins=bins, alpha=0.7, color=plots.COLORS[k],
                      label=f"{label}: median {np.median(vals):.2f}")
        ax_h.set_xlabel("busiest path / mean load")
        ax_h.set_ylabel("hash seeds")
        ax_h.set_title("Busiest path / mean over 200 hash seeds")
        ax_h.legend(fontsize=8)
        fig.tight_layout()
        return fig

    return interactive_plot(
        draw, widgets=widgets,
        n_paths=int_slider(n_paths, 2, 32, label="equal-cost paths"),
        n_elephants=int_slider(n_elephants, 0, 64, label="elephant flows"),
        n_mice=int_slider(n_mice, 0, 400, 10, label="mice"),
        seed=int_slider(seed, 0, 99, label="hash seed"),
    )


# ----------------------------------------------------------------------------- fat-tree
def draw_fat_tree(k: int = 4, ax=None):
    """Draw a k-ary fat-tree (k = 2, 4 or 6) from its wiring rule; return the ``Axes``.

    The wiring (Al-Fares, Loukissas and Vahdat, "A scalable, commodity data
    center network architecture", SIGCOMM 2008): k pods; in each pod, k/2 edge
    and k/2 aggregation switches, every edge switch wired to every aggregation
    switch of its pod and to k/2 hosts; aggregation switch j of every pod
    wired to k/2 core switches (the j-th group). Every switch has k ports.
    The drawing counts nothing for you: count the boxes.

    >>> ax = draw_fat_tree(4)
    >>> ax.get_title()
    'k = 4 fat-tree: every switch has 4 ports'
    """
    if not _is_int(k) or k not in (2, 4, 6):
        raise ValueError(f"k must be 2, 4 or 6 to draw (larger ones are unreadable), got {k!r}")
    half = k // 2
    hosts_x, edge_x, agg_x = [], [], []
    for pod in range(k):
        for e in range(half):
            edge_x.append(pod * k + e * 2 + 0.5)
            for h in range(half):
                hosts_x.append(pod * k + e * 2 + h * (2 / max(half, 1)) + 0.5 / max(half, 1))
            agg_x.append(pod * k + e * 2 + 0.5)
    width = max(hosts_x) + 1
    core_n = half * half
    core_x = list(np.linspace(0.1 * width, 0.9 * width, core_n)) if core_n > 1 else [width / 2]
    ax = plots.new_axes(ax, figsize=(max(6.0, width * 0.45), 4.2))
    y = {"core": 3.0, "agg": 2.0, "edge": 1.0, "host": 0.0}
    with plots.style():
        lines = []
        for pod in range(k):
            for e in range(half):
                ex = edge_x[pod * half + e]
                for h in range(half):
                    lines.append(((ex, y["edge"]), (hosts_x[(pod * half + e) * half + h],
                                                     y["host"])))
                for a in range(half):
                    lines.append(((ex, y["edge"]), (agg_x[pod * half + a], y["agg"])))
            for a in range(half):
                for c in range(half):
                    lines.append(((agg_x[pod * half + a], y["agg"]),
                                  (core_x[a * half + c], y["core"])))
        for (x0, y0), (x1, y1) in lines:
            ax.plot([x0, x1], [y0, y1], color="grey", linewidth=0.7, alpha=0.7, zorder=1)
        for xs, level, color, marker, size in (
                (core_x, "core", plots.COLORS[3], "s", 110),
                (agg_x, "agg", plots.COLORS[1], "s", 90),
                (edge_x, "edge", plots.COLORS[0], "s", 90),
                (hosts_x, "host", plots.COLORS[2], "o", 40)):
            ax.scatter(xs, [y[level]] * len(xs), s=size, color=color, marker=marker, zorder=3)
        for pod in range(k):
            ax.text(pod * k + k / 2 - 0.5, -0.45, f"pod {pod}", ha="center", fontsize=8)
        ax.set_yticks([0, 1, 2, 3], ["hosts", "edge", "aggregation", "core"])
        ax.set_xticks([])
        ax.set_ylim(-0.7, 3.4)
        ax.set_title(f"k = {k} fat-tree: every switch has {k} ports")
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
    return ax


# ----------------------------------------------------------------------------- all-reduce
def _cost_curve(fn: Callable, algorithm: str, p_values, n_values, alpha_s: float,
                bandwidth_Bps: float):
    """fn(algorithm, p, n, alpha, B) over a grid, called one value at a time, as floats."""
    out = np.empty(np.broadcast(np.asarray(p_values), np.asarray(n_values)).shape)
    for idx, (p, n) in enumerate(np.broadcast(np.asarray(p_values), np.asarray(n_values))):
        out.flat[idx] = float(fn(algorithm, int(p), float(n), alpha_s, bandwidth_Bps))
    return out


def explore_allreduce(allreduce_time: Callable, p: int = 64, alpha_us: float = 5.0,
                      bandwidth_GBps: float = 50.0, n_bytes: float = 1e8,
                      widgets: bool | None = None):
    """The all-reduce cost explorer: ring, tree and parameter server under the α-β model.

    ``allreduce_time(algorithm, p, n_bytes, alpha_s, bandwidth_Bps)``:
    notebook 07's exercise (pass yours), called with one scalar at a time.
    Left: time against message size at ``p`` workers (log-log), with the
    sizes where the cheapest algorithm changes marked. Right: time against p
    for a message of ``n_bytes``. Controls: p, α (µs), the link bandwidth
    (GB/s) and the message size of the right panel.

    >>> import math
    >>> def t(alg, p, n, a, B):
    ...     return 0.0 if p == 1 else {"ring": 2 * (p - 1) * a + 2 * (p - 1) / p * n / B,
    ...         "tree": 2 * math.ceil(math.log2(p)) * (a + n / B),
    ...         "ps": 2 * (a + (p - 1) * n / B)}[alg]
    >>> ex = explore_allreduce(t, widgets=False)
    >>> ex.figure.axes[0].get_title()
    'p = 64, alpha = 5 us, B = 50 GB/s'
    """
    _check_callable(allreduce_time, "allreduce_time",
                    "(algorithm, p, n_bytes, alpha_s, bandwidth_Bps) -> seconds")
    algorithms = ("ring", "tree", "ps")
    labels = {"ring": "ring", "tree": "tree", "ps": "parameter server"}

    def draw(p, alpha_us, bandwidth_GBps, n_bytes):
        import matplotlib.pyplot as plt

        alpha, B = alpha_us * 1e-6, bandwidth_GBps * 1e9
        sizes = np.logspace(1, 10, 181)  # 10 B .. 10 GB
        ps = np.unique(np.round(np.geomspace(2, 4096, 60)).astype(int))
        with plots.style():
            fig, (ax_n, ax_p) = plt.subplots(1, 2, figsize=(12, 4))
        try:
            by_n = {a: _cost_curve(allreduce_time, a, p, sizes, alpha, B) for a in algorithms}
            by_p = {a: _cost_curve(allreduce_time, a, ps, n_bytes, alpha, B)
                    for a in algorithms}
        except NotImplementedError:
            ax_n.text(0.5, 0.5, "allreduce_time is not written yet", ha="center",
                      transform=ax_n.transAxes)
            return fig
        for k, a in enumerate(algorithms):
            ax_n.loglog(sizes, by_n[a], color=plots.COLORS[k], label=labels[a])
            ax_p.loglog(ps, by_p[a], color=plots.COLORS[k], label=labels[a])
        best = np.argmin(np.vstack([by_n[a] for a in algorithms]), axis=0)
        for i in np.nonzero(np.diff(best))[0]:
            x = np.sqrt(sizes[i] * sizes[i + 1])
            ax_n.axvline(x, color="grey", linestyle=":", linewidth=1)
            ax_n.text(x, 0.02, f" {x:.2g} B", transform=ax_n.get_xaxis_transform(),
                      fontsize=8, color="grey", rotation=90, va="bottom")
        ax_n.axvline(alpha * B, color=plots.COLORS[4], linestyle="--", linewidth=1,
                     label=f"alpha x B = {alpha * B:.3g} B")
        ax_n.set_xlabel("message size n (bytes)")
        ax_n.set_ylabel("all-reduce time (s)")
        ax_n.set_title(f"p = {p}, alpha = {alpha_us:g} us, B = {bandwidth_GBps:g} GB/s")
        ax_n.legend(fontsize=8, loc="upper left")
        ax_p.axvline(p, color="grey", linestyle=":", linewidth=1)
        ax_p.set_xlabel("workers p")
        ax_p.set_ylabel("all-reduce time (s)")
        ax_p.set_title(f"n = {n_bytes:.3g} bytes")
        ax_p.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
        return fig

    return interactive_plot(
        draw, widgets=widgets,
        p=dropdown(p, sorted({2, 4, 8, 16, 64, 256, 1024, 4096, p}), label="workers p"),
        alpha_us=float_slider(alpha_us, 0.5, 100.0, 0.5, label="alpha (us)"),
        bandwidth_GBps=dropdown(bandwidth_GBps, sorted({1.25, 12.5, 25.0, 50.0, 100.0,
                                                         bandwidth_GBps}),
                                label="bandwidth B (GB/s)"),
        n_bytes=dropdown(n_bytes, sorted({1e3, 1e6, 1e8, 1.4e10, n_bytes}),
                         label="message (right panel), bytes"),
    )


# ----------------------------------------------------------------------------- tail latency
def fanout_latencies(samples, fanout: int, n_requests: int = 10_000,
                     seed: int = 0) -> np.ndarray:
    """Latencies of requests that each wait for ``fanout`` servers, resampled from ``samples``.

    Each request draws ``fanout`` server latencies from ``samples`` (with
    replacement, independently) and takes the largest: the request is as slow
    as its slowest server. Returns ``n_requests`` latencies (same unit as
    ``samples``).

    >>> lat = fanout_latencies([1.0] * 99 + [100.0], fanout=100, seed=1)
    >>> 0.55 < float(np.mean(lat == 100.0)) < 0.72    # 1 - 0.99**100 = 0.634
    True
    """
    s = np.asarray(samples, dtype=float).ravel()
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError(f"samples must be a non-empty list of finite numbers, got {samples!r:.80}")
    fanout = _check_int(fanout, "fanout")
    n_requests = _check_int(n_requests, "n_requests")
    rng = np.random.default_rng(seed)
    out = np.empty(n_requests)
    block = max(1, 2_000_000 // fanout)  # at most ~16 MB of draws at a time
    for i in range(0, n_requests, block):
        m = min(block, n_requests - i)
        out[i:i + m] = s[rng.integers(0, s.size, size=(m, fanout))].max(axis=1)
    return out

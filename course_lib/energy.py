"""The challenges of scaling, measured and modelled: synchronisation, the roofline, power, energy.

Notebook 08's harness and models, one concept each:

* **Synchronisation**: :func:`sync_costs` measures what a barrier and a lock
  cost with threads, processes and Ray; :func:`local_sgd` simulates
  synchronising every k steps instead of every step.
* **Diminishing returns**: :func:`explore_overhead` draws the speed-up model
  you pass it (notebook 08's ``speedup_with_overhead``) with sliders.
* **The roofline**: :func:`roofline_plot` draws the roofline function you pass
  it for this machine and for published hardware (:data:`HARDWARE`), with
  measured kernels as points.
* **Power and energy**: :func:`read_rapl` reads the CPU's energy counters
  (``/sys/class/powercap``) where they exist and are readable, and says so
  (``None``) where not; :func:`sample_busy_cores` records how many cores a
  piece of code keeps busy, over time, for a power *model* when there is no
  counter.
* **The capstone**: :func:`estimate_training_run` puts compute, a pipeline
  bubble and an all-reduce together into the time and energy of a training
  run, from model functions you pass it; :data:`LLAMA2` holds the published
  figures to compare with.

No exercise's answer lives here: where a model is an exercise (a roofline,
a speed-up law, 6·N·D), the function takes it as an argument.

>>> HARDWARE["NVIDIA H100 SXM"]["power_w"]
700
>>> read_rapl(root="/nonexistent") is None
True
"""

from __future__ import annotations

import math
import numbers
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import plots
from .ray_session import available_cpus

__all__ = [
    "HARDWARE",
    "LLAMA2",
    "RAPL_ROOT",
    "UtilisationTrace",
    "estimate_training_run",
    "explore_overhead",
    "local_sgd",
    "rapl_joules",
    "read_rapl",
    "roofline_plot",
    "sample_busy_cores",
    "sync_costs",
]

# --------------------------------------------------------------------------- published figures

#: Datasheet figures of two data-centre GPUs (dense: without 2:4 sparsity).
HARDWARE = {
    "NVIDIA H100 SXM": {
        "peak_flops": {"BF16/FP16 tensor, dense": 989e12, "FP64 tensor": 67e12},
        "bandwidth_Bps": 3.35e12,  # HBM3
        "power_w": 700,  # maximum thermal design power
        "source": "NVIDIA, H100 Tensor Core GPU datasheet (2023), "
                  "https://www.nvidia.com/en-us/data-center/h100/",
    },
    "NVIDIA A100 SXM 80GB": {
        "peak_flops": {"BF16/FP16 tensor, dense": 312e12, "FP64 tensor": 19.5e12},
        "bandwidth_Bps": 2.039e12,  # HBM2e
        "power_w": 400,
        "source": "NVIDIA, A100 Tensor Core GPU datasheet (2021), "
                  "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
                  "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf",
    },
}

#: Llama 2 pretraining as published: parameters (nominal), A100-80GB GPU-hours.
LLAMA2 = {
    "models": {"7B": (7e9, 184_320), "13B": (13e9, 368_640), "34B": (34e9, 1_038_336),
               "70B": (70e9, 1_720_320)},
    "tokens": 2.0e12,  # pretraining tokens, every size
    "batch_tokens": 4 * 2**20,  # global batch of 4M tokens ...
    "seq_len": 4096,  # ... of sequences of 4096 tokens
    "power_w": 400,  # per-GPU power cap on Meta's Research Super Cluster
    "source": "Touvron et al., Llama 2: Open Foundation and Fine-Tuned Chat Models, 2023, "
              "arXiv:2307.09288 (Table 1; Table 2 and section 2.2.1)",
}


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _positive(name: str, value, integer: bool = False, minimum: float = 0.0,
              inclusive: bool = False):
    ok = (isinstance(value, numbers.Integral) and not isinstance(value, bool)) if integer \
        else _is_real(value) and math.isfinite(float(value))
    if not ok or not (value >= minimum if inclusive else value > minimum):
        kind = "an int" if integer else "a number"
        rel = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be {kind} {rel} {minimum:g}, got {value!r}")
    return int(value) if integer else float(value)


# --------------------------------------------------------------------------- RAPL

RAPL_ROOT = "/sys/class/powercap"


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):  # missing, unreadable (root-only since 2020), not a number
        return None


def read_rapl(root: str | os.PathLike = RAPL_ROOT) -> dict[str, dict] | None:
    """The CPU's RAPL energy counters, or ``None`` when there are none you may read.

    Linux exposes Intel's (and, on recent kernels, AMD's) Running Average
    Power Limit counters as ``<root>/intel-rapl:*/energy_uj``: microjoules
    used by a power domain (a CPU package, its cores, its DRAM) since some
    moment, wrapping around at ``max_energy_range_uj``. Since the PLATYPUS
    side-channel attack (CVE-2020-8694) they are readable by root only on
    most systems, and virtual machines and containers usually have none.

    Returns ``{zone: {"name": ..., "joules": ..., "max_joules": ...}}`` for
    every readable zone, ``None`` when there is no readable zone. Never
    raises for a missing folder or a permission.

    >>> read_rapl(root="/nonexistent") is None
    True
    """
    base = Path(root)
    try:
        zones = sorted(p for p in base.iterdir() if p.name.startswith("intel-rapl:"))
    except OSError:
        return None
    out = {}
    for zone in zones:
        uj = _read_int(zone / "energy_uj")
        if uj is None:
            continue
        try:
            name = (zone / "name").read_text().strip()
        except OSError:
            name = zone.name
        max_uj = _read_int(zone / "max_energy_range_uj")
        out[zone.name] = {"name": name, "joules": uj / 1e6,
                          "max_joules": None if max_uj is None else max_uj / 1e6}
    return out or None


def rapl_joules(before: Mapping, after: Mapping) -> dict[str, float]:
    """Joules used per zone between two :func:`read_rapl` readings (handles one wrap-around).

    >>> b = {"intel-rapl:0": {"name": "package-0", "joules": 99.0, "max_joules": 100.0}}
    >>> a = {"intel-rapl:0": {"name": "package-0", "joules": 2.5, "max_joules": 100.0}}
    >>> rapl_joules(b, a)
    {'package-0': 3.5}
    """
    out = {}
    for zone, b in before.items():
        if zone not in after:
            continue
        d = after[zone]["joules"] - b["joules"]
        if d < 0 and b.get("max_joules"):
            d += b["max_joules"]
        out[b["name"]] = d
    return out


# --------------------------------------------------------------------------- utilisation trace

@dataclass(frozen=True)
class UtilisationTrace:
    """How busy this process kept the CPU while a call ran.

    ``t`` sample times (s, from the start, every ``dt_s``), ``busy`` cores
    busy at those times (CPU-seconds per second: 2.0 means two cores), ``wall_s``
    and ``cpu_s`` the call's wall-clock and CPU time (all threads), ``value``
    what the call returned.
    """

    t: np.ndarray
    busy: np.ndarray
    dt_s: float
    wall_s: float
    cpu_s: float
    value: object = None

    def __repr__(self) -> str:
        return (f"UtilisationTrace({self.t.size} samples every {self.dt_s * 1e3:g} ms: "
                f"{self.wall_s:.2f} s wall, {self.cpu_s:.2f} CPU-s, "
                f"{self.cpu_s / self.wall_s if self.wall_s else 0:.2f} cores busy on average)")


def sample_busy_cores(fn: Callable, *args, dt_s: float = 0.05, **kwargs) -> UtilisationTrace:
    """Run ``fn(*args, **kwargs)`` and sample how many cores this process keeps busy.

    A background thread reads the process's CPU clock (all its threads: numpy's
    BLAS threads too) every ``dt_s`` seconds; the trace is resampled onto a
    regular grid ``0, dt_s, 2 dt_s, ...``. Work done in *other* processes
    (Ray's workers) is not counted.

    >>> tr = sample_busy_cores(sum, range(10**6), dt_s=0.01)
    >>> tr.value, float(tr.t[0]), bool(np.all(tr.busy >= 0))
    (499999500000, 0.0, True)
    """
    dt_s = _positive("dt_s", dt_s)
    wall, cpu = [0.0], [0.0]
    stop = threading.Event()
    t0, c0 = time.perf_counter(), time.process_time()

    def sampler():
        while not stop.wait(dt_s):
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    try:
        value = fn(*args, **kwargs)
    finally:
        stop.set()
        thread.join()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    w, c = np.asarray(wall), np.asarray(cpu)
    n = max(2, int(w[-1] / dt_s) + 1)
    grid = np.arange(n) * dt_s
    grid = grid[grid <= w[-1]] if w[-1] >= dt_s else np.array([0.0, w[-1]])
    c_grid = np.interp(grid, w, c)
    busy = np.clip(np.gradient(c_grid, grid), 0.0, None) if grid.size > 1 else np.zeros(1)
    return UtilisationTrace(grid, busy, dt_s if grid.size > 2 else float(grid[-1]),
                            float(w[-1]), float(c[-1]), value)


# --------------------------------------------------------------------------- synchronisation

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


# --------------------------------------------------------------------------- plots

def _model_values(fn: Callable, args: tuple, name: str, shape: tuple):
    """``fn(*args)`` as a float array of ``shape``, or (None, why) when it cannot be drawn."""
    try:
        y = np.asarray(fn(*args), dtype=float)
    except NotImplementedError:
        return None, f"{name} is not written yet"
    if y.shape != shape:
        raise ValueError(f"{name} returned shape {y.shape} for inputs of shape {shape}: "
                         f"it must work elementwise on numpy arrays")
    return y, ""


def roofline_plot(roof: Callable, machines: Mapping[str, tuple[float, float]],
                  kernels: Mapping[str, tuple] | None = None, ax=None,
                  ai_range: tuple[float, float] = (1 / 32, 256),
                  title: str = "Roofline"):
    """Draw rooflines and measured kernels on log-log axes (FLOP/s against FLOPs per byte).

    ``roof(ai, peak_flops, bandwidth_Bps)`` is the roofline model (notebook
    08's ``roofline``: pass yours), called with a numpy array ``ai``.
    ``machines``: ``{label: (peak_flops, bandwidth_Bps)}``, one roofline each,
    with its ridge point (peak / bandwidth) marked. ``kernels`` (optional):
    ``{label: (ai, achieved_flops)}``, scalars or equal-length arrays, drawn as
    points (a series of points for arrays). Returns the ``Axes``.

    >>> ax = roofline_plot(lambda ai, p, b: np.minimum(p, ai * b), {"toy": (1e11, 1e10)},
    ...                    {"axpy": (1 / 12, 0.8e9)})
    >>> ax.get_xscale(), [ln.get_label() for ln in ax.get_lines() if ln.get_label()[0] != "_"]
    ('log', ['toy: 100 GFLOP/s, 10 GB/s', 'axpy'])
    """
    lo, hi = (_positive("ai_range[0]", ai_range[0]), _positive("ai_range[1]", ai_range[1]))
    if not lo < hi:
        raise ValueError(f"ai_range must be (low, high) with low < high, got {ai_range!r}")
    ai = np.geomspace(lo, hi, 200)
    ax = plots.new_axes(ax, figsize=(7.5, 4.8))
    notes = []
    with plots.style():
        for i, (label, pair) in enumerate(machines.items()):
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise ValueError(f"machines[{label!r}] must be (peak_flops, bandwidth_Bps), "
                                 f"got {pair!r}")
            peak = _positive(f"peak_flops of {label!r}", pair[0])
            bw = _positive(f"bandwidth_Bps of {label!r}", pair[1])
            y, why = _model_values(roof, (ai, peak, bw), "roof", ai.shape)
            color = plots.COLORS[i % len(plots.COLORS)]
            if y is None:
                notes.append(why)
                break
            ax.loglog(ai, y, color=color,
                      label=f"{label}: {peak / 1e9:.3g} GFLOP/s, {bw / 1e9:.3g} GB/s")
            ridge = peak / bw
            if lo <= ridge <= hi:
                ax.plot([ridge], [peak], marker="|", markersize=14, color=color)
        markers = "osD^vP*X"
        for j, (label, pair) in enumerate((kernels or {}).items()):
            x, yk = (np.atleast_1d(np.asarray(v, dtype=float)) for v in pair)
            if x.shape != yk.shape:
                raise ValueError(f"kernels[{label!r}]: ai and FLOP/s must have the same shape, "
                                 f"got {x.shape} and {yk.shape}")
            ax.loglog(x, yk, marker=markers[j % len(markers)], linestyle=":" if x.size > 1
                      else "none", color=plots.COLORS[(j + 2) % len(plots.COLORS)], label=label)
        ax.set_xlabel("arithmetic intensity (FLOPs per byte of memory traffic)")
        ax.set_ylabel("FLOP/s")
        ax.set_title(title)
        if notes:
            ax.text(0.02, 0.98, "\n".join(notes), transform=ax.transAxes, va="top",
                    color=plots.COLORS[3])
        ax.legend(fontsize=8, loc="lower right")
    return ax


def explore_overhead(speedup: Callable, best: Callable | None = None, f: float = 0.95,
                     c: float = 0.01, P_max: int = 64, widgets: bool | None = None):
    """Explorer of the speed-up with synchronisation overhead: sliders for f, c and the largest P.

    ``speedup(f, P, c)`` is the model (notebook 08's ``speedup_with_overhead``:
    pass yours), called with an array ``P``; ``best(f, c, P_max)`` (optional,
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
        c=float_slider(c, 0.0, 0.05, 0.001, label="overhead c per doubling"),
        P_max=dropdown(P_max, sorted({16, 64, 256, 1024, P_max}), label="largest P"),
    )


# --------------------------------------------------------------------------- capstone

def estimate_training_run(n_params: float, n_tokens: float, *, flops: Callable,
                          bubble: Callable, allreduce: Callable, n_gpus: int,
                          peak_flops: float, efficiency: float, tensor_parallel: int,
                          pipeline_parallel: int, batch_tokens: float, seq_len: int,
                          link_Bps: float, alpha_s: float, grad_bytes_per_param: float = 2.0,
                          power_w: float = 400.0) -> dict:
    """Time and energy of a training run from the course's models (you pass the models).

    The run trains ``n_params`` parameters on ``n_tokens`` tokens on
    ``n_gpus`` GPUs split as tensor parallel x pipeline parallel x data
    parallel (``dp = n_gpus / (tensor_parallel * pipeline_parallel)``), with a
    global batch of ``batch_tokens`` tokens in sequences of ``seq_len``.

    * ``flops(n_params, n_tokens)``: training FLOPs (notebook 08's ``training_flops``);
    * ``bubble(p, m)``: the idle fraction of a pipeline of p stages running m
      micro-batches (notebook 06);
    * ``allreduce(n_bytes, p, alpha_s, beta_Bps)``: seconds to all-reduce
      ``n_bytes`` over p GPUs (notebook 07's α–β model).

    Per step, each GPU computes ``flops(n_params, batch_tokens) / n_gpus``
    FLOPs at ``efficiency * peak_flops``; the pipeline stretches that by
    1 / (1 - bubble), with one sequence per micro-batch (m = batch sequences /
    dp); then the data-parallel replicas all-reduce their gradient shard
    (``n_params / (tensor_parallel * pipeline_parallel)`` parameters of
    ``grad_bytes_per_param`` bytes), not overlapped with compute. Energy counts
    the GPUs only, at ``power_w`` each.

    Returns a dict of floats: ``total_flops``, ``dp``, ``steps``,
    ``micro_batches``, ``compute_s``, ``bubble_fraction``, ``pipeline_s``,
    ``allreduce_s``, ``step_s`` (seconds per step), ``days``, ``gpu_hours``,
    ``mfu`` (model FLOPs utilisation: total_flops / (GPU-seconds x peak)) and
    ``energy_mwh``.

    >>> est = estimate_training_run(
    ...     1e9, 1e12, flops=lambda N, D: 6 * N * D, bubble=lambda p, m: (p - 1) / (m + p - 1),
    ...     allreduce=lambda n, p, a, b: 2 * (p - 1) * a + 2 * (p - 1) / p * n / b,
    ...     n_gpus=64, peak_flops=312e12, efficiency=0.5, tensor_parallel=1,
    ...     pipeline_parallel=1, batch_tokens=2**20, seq_len=2048, link_Bps=25e9, alpha_s=1e-5)
    >>> est["bubble_fraction"], round(est["gpu_hours"])
    (0.0, 13375)
    """
    n_params = _positive("n_params", n_params)
    n_tokens = _positive("n_tokens", n_tokens)
    n_gpus = _positive("n_gpus", n_gpus, integer=True)
    tp = _positive("tensor_parallel", tensor_parallel, integer=True)
    pp = _positive("pipeline_parallel", pipeline_parallel, integer=True)
    if n_gpus % (tp * pp):
        raise ValueError(f"n_gpus = {n_gpus} must be a multiple of tensor_parallel x "
                         f"pipeline_parallel = {tp * pp}")
    peak_flops = _positive("peak_flops", peak_flops)
    efficiency = _positive("efficiency", efficiency)
    if efficiency > 1:
        raise ValueError(f"efficiency must be in (0, 1], got {efficiency!r}")
    batch_tokens = _positive("batch_tokens", batch_tokens)
    seq_len = _positive("seq_len", seq_len, integer=True)
    link_Bps = _positive("link_Bps", link_Bps)
    alpha_s = _positive("alpha_s", alpha_s, inclusive=True)
    grad_bytes = _positive("grad_bytes_per_param", grad_bytes_per_param)
    power_w = _positive("power_w", power_w)
    dp = n_gpus // (tp * pp)
    total = float(flops(n_params, n_tokens))
    steps = n_tokens / batch_tokens
    compute_s = float(flops(n_params, batch_tokens)) / n_gpus / (efficiency * peak_flops)
    m = batch_tokens / seq_len / dp
    if m < 1:
        raise ValueError(f"the batch ({batch_tokens:g} tokens = {batch_tokens / seq_len:g} "
                         f"sequences) is smaller than dp = {dp}: every replica needs a sequence")
    bubble_fraction = float(bubble(pp, m))
    if not 0 <= bubble_fraction < 1:
        raise ValueError(f"bubble({pp}, {m:g}) returned {bubble_fraction!r}: expected a "
                         f"fraction in [0, 1)")
    pipeline_s = compute_s / (1 - bubble_fraction)
    allreduce_s = float(allreduce(n_params / (tp * pp) * grad_bytes, dp, alpha_s, link_Bps)) \
        if dp > 1 else 0.0
    step_s = pipeline_s + allreduce_s
    wall_s = steps * step_s
    gpu_hours = wall_s * n_gpus / 3600
    return {"total_flops": total, "dp": float(dp), "steps": steps, "micro_batches": m,
            "compute_s": compute_s, "bubble_fraction": bubble_fraction,
            "pipeline_s": pipeline_s, "allreduce_s": allreduce_s, "step_s": step_s,
            "days": wall_s / 86400, "gpu_hours": gpu_hours,
            "mfu": total / (gpu_hours * 3600 * peak_flops),
            "energy_mwh": gpu_hours * power_w / 1e6}

"""Memory traffic and races of a kernel on numba's CUDA simulator: who read and wrote what, when.

On a GPU a kernel's memory accesses cannot be seen from Python; on numba's **simulator** every
GPU thread is a Python thread, and every array access a Python call, so they can be counted.
:func:`traffic` opens a trace (simulator only): the arrays made by :meth:`Traffic.array` count
each thread's reads and writes of **global** memory, element by element; inside the trace every
``cuda.shared.array`` is allocated per block, filled with NaN (or -1 for integers; a GPU's shared
memory holds garbage too) and counted likewise; and each ``cuda.syncthreads()`` a thread passes
starts its next **barrier interval**. That is how the tests of notebook 05 grade a kernel's
*method* (GPU-Puzzles style), not only its values:

* :meth:`Traffic.reads` / :meth:`Traffic.writes` / :meth:`Traffic.atomics`: accesses per
  element of a global array (a tiled matmul reads each element of A ⌈p / T⌉ times; a naive
  one p times);
* :meth:`Traffic.races`: two threads of a block that touch the same shared element between the
  same two barriers, one of them writing; a read of shared memory that no thread wrote before;
  two threads of different blocks (which a GPU may run at the same time, in any order) that
  touch the same global element, one writing without an atomic. The verdict does not depend on
  the order in which the simulator happened to run the threads: a missing ``syncthreads()`` is
  found every time, even when the values came out right;
* :meth:`Traffic.barrier_problems`: threads of a block that passed different numbers of
  barriers (a ``syncthreads()`` some threads skip: on a GPU that is undefined, and may hang).

Nothing here imports numba at import time.

In a notebook (after ``cl.gpu.setup()`` chose the simulator)::

    with cl.gpu.traffic() as tr:
        A_, B_, C_ = tr.array(A, "A"), tr.array(B, "B"), tr.array(C, "C")
        matmul_tiled[grid, (TILE, TILE)](A_, B_, C_)
    tr.reads("A").max(), tr.races(), tr.barrier_problems()
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections import defaultdict

import numpy as np

__all__ = ["Traffic", "traffic"]

_ACTIVE: list = []  # the Traffic whose patches are in place (one at a time)


def _index_key(idx, shape):
    """The element an index names, as a tuple of non-negative ints; None for a slice or array."""
    items = idx if isinstance(idx, tuple) else (idx,)
    out = []
    for v in items:
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer):
            return None
        out.append(int(v))
    if len(out) != len(shape):
        return None
    return tuple(i + s if i < 0 else i for i, s in zip(out, shape, strict=True))


def _where():
    """(launch, block, thread, epoch, atomic) of the simulator thread running now; block and
    thread None outside a kernel."""
    t = threading.current_thread()
    block, thread = getattr(t, "blockIdx", None), getattr(t, "threadIdx", None)
    tr = _ACTIVE[0] if _ACTIVE else None
    launch = tr._launches if tr is not None else 0
    if block is None or thread is None:
        return launch, None, None, 0, False
    return (launch, (block.x, block.y, block.z), (thread.x, thread.y, thread.z),
            getattr(t, "_course_epoch", 0), getattr(t, "_course_atomic", False))


def _log(log, space, name, kind, key):
    launch, block, thread, epoch, atomic = _where()
    if atomic:
        if kind == "read":
            return  # an atomic read-modify-write is logged once, as "atomic"
        kind = "atomic"
    log.append((kind, space, name, key, launch, block, thread, epoch))


class _SharedArray(np.ndarray):
    """A block's shared array inside a trace: numpy, with each element access logged."""

    def __getitem__(self, idx):
        value = super().__getitem__(idx)
        log = getattr(self, "_course_log", None)
        if log is not None:
            _log(log, "shared", self._course_name, "read", _index_key(idx, self.shape))
        return value.view(np.ndarray) if isinstance(value, _SharedArray) else value

    def __setitem__(self, idx, val):
        log = getattr(self, "_course_log", None)
        if log is not None:
            _log(log, "shared", self._course_name, "write", _index_key(idx, self.shape))
        super().__setitem__(idx, val)


_TRAFFIC_CLASS: list = []


def _traffic_class():
    if not _TRAFFIC_CLASS:
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

        class TrafficArray(FakeCUDAArray):
            """A simulator device array whose element accesses go into its trace's log."""

            def __init__(self, ary, name, log):
                super().__init__(ary)
                self.name, self.accesses = name, log

            def __getitem__(self, idx):
                _log(self.accesses, "global", self.name, "read", _index_key(idx, self._ary.shape))
                return super().__getitem__(idx)

            def __setitem__(self, idx, val):
                _log(self.accesses, "global", self.name, "write",
                     _index_key(idx, self._ary.shape))
                return super().__setitem__(idx, val)

        _TRAFFIC_CLASS.append(TrafficArray)
    return _TRAFFIC_CLASS[0]


def _poisoned(shape, dtype):
    dtype = np.dtype(dtype)
    fill = np.nan if dtype.kind in "fc" else (-1 if dtype.kind in "iu" else 0)
    if dtype.kind == "u":
        fill = np.iinfo(dtype).max
    return np.full(shape, fill, dtype=dtype)


class Traffic:
    """A trace of one or more kernel launches on the simulator (see the module's text).

    The log is a list of ``(kind, space, name, index, launch, block, thread, epoch)``:
    ``kind`` ``"read"``, ``"write"``, ``"atomic"``, ``"sync"`` or ``"launch"`` (its ``index``
    is then the block's shape); ``space`` ``"global"`` or
    ``"shared"``; ``index`` a tuple; ``block`` and ``thread`` ``(x, y, z)`` (None from the
    host); ``epoch`` the number of ``syncthreads()`` the thread had passed. Every array of the
    trace holds the same list as its ``accesses``.
    """

    def __init__(self):
        self.log: list = []
        self.shapes: dict[str, tuple] = {}
        self._launches = 0
        self._saved: list = []

    # ---------------------------------------------------------------- making arrays
    def array(self, host_array, name: str):
        """A device array for the simulator that is ``host_array`` itself (not a copy: the
        values a kernel writes land in it), its accesses counted under ``name``."""
        if not isinstance(host_array, np.ndarray):
            raise TypeError(f"traffic arrays wrap a numpy array, got {type(host_array).__name__}")
        if name in self.shapes:
            raise ValueError(f"an array named {name!r} is already in this trace")
        self.shapes[name] = host_array.shape
        return _traffic_class()(host_array, name, self.log)

    # ---------------------------------------------------------------- the patches
    def __enter__(self) -> Traffic:
        from .gpu import on_simulator

        if not on_simulator():
            raise RuntimeError("cl.gpu.traffic() needs numba's CUDA simulator (kernels run in "
                               "Python there); on a GPU, accesses cannot be seen from Python")
        if _ACTIVE:
            raise RuntimeError("a traffic trace is already open")
        from numba.cuda.simulator import kernel as sim_kernel
        from numba.cuda.simulator import kernelapi

        me = self
        sync0 = sim_kernel.BlockThread.syncthreads
        call0 = sim_kernel.FakeCUDAKernel.__call__

        def syncthreads(thread_self):
            sync0(thread_self)
            thread_self._course_epoch = getattr(thread_self, "_course_epoch", 0) + 1
            me.log.append(("sync", "", "", (), me._launches,
                           tuple(thread_self.blockIdx), tuple(thread_self.threadIdx),
                           thread_self._course_epoch))

        def shared_array(shared_self, shape, dtype):
            from numba.core import types
            from numba.np import numpy_support

            if isinstance(dtype, types.Type):
                dtype = numpy_support.as_dtype(dtype)
            if shape == 0:  # dynamic shared memory: not traced
                count = shared_self._dynshared_size // np.dtype(dtype).itemsize
                return np.frombuffer(shared_self._dynshared.data, dtype=dtype, count=count)
            caller = traceback.extract_stack(sys._getframe())[-2][0:2]
            t = threading.current_thread()
            key = (caller, tuple(getattr(t, "blockIdx", ())))
            allocations = shared_self.__dict__.setdefault("_course_allocations", {})
            if key not in allocations:
                arr = _poisoned(shape, dtype).view(_SharedArray)
                names = shared_self.__dict__.setdefault("_course_names", {})
                arr._course_name = names.setdefault(caller, f"shared array {len(names) + 1} "
                                                            f"(line {caller[1]})")
                arr._course_log = me.log
                allocations[key] = arr
            return allocations[key]

        def kernel_call(kernel_self, *args):
            if not kernel_self._device:
                me._launches += 1
                # in the log itself, so that a log put back later (a replay) is complete
                me.log.append(("launch", "", "", tuple(int(d) for d in kernel_self.block_dim),
                               me._launches, None, None, 0))
            return call0(kernel_self, *args)

        def atomic(method):
            def wrapped(atomic_self, *args, **kwargs):
                t = threading.current_thread()
                t._course_atomic = True
                try:
                    return method(atomic_self, *args, **kwargs)
                finally:
                    t._course_atomic = False
            return wrapped

        patches = [(sim_kernel.BlockThread, "syncthreads", syncthreads),
                   (kernelapi.FakeCUDAShared, "array", shared_array),
                   (sim_kernel.FakeCUDAKernel, "__call__", kernel_call)]
        for attr, method in vars(kernelapi.FakeCUDAAtomic).items():
            if not attr.startswith("_") and callable(method):
                patches.append((kernelapi.FakeCUDAAtomic, attr, atomic(method)))
        for owner, attr, new in patches:
            self._saved.append((owner, attr, owner.__dict__[attr]))
            setattr(owner, attr, new)
        # The simulator's block manager polls its threads while they run: with Python's
        # default 5 ms switch interval a small block waits mostly for its turn (3-4x slower).
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(5e-4)
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc) -> None:
        sys.setswitchinterval(getattr(self, "_switch", sys.getswitchinterval()))
        for owner, attr, old in reversed(self._saved):
            setattr(owner, attr, old)
        self._saved.clear()
        _ACTIVE.clear()

    @property
    def _block_dims(self) -> dict[int, tuple]:
        """{launch: its blocks' shape (x, y, z)}, from the log."""
        return {e[4]: e[3] for e in self.log if e[0] == "launch"}

    # ---------------------------------------------------------------- counting
    def _counts(self, name: str, kinds) -> np.ndarray:
        if name not in self.shapes:
            raise KeyError(f"no array named {name!r} in this trace (it has {sorted(self.shapes)})")
        shape = self.shapes[name]
        counts = np.zeros(shape, dtype=np.int64)
        for kind, space, nm, key, _launch, block, _thread, _epoch in self.log:
            if space == "global" and nm == name and kind in kinds and block is not None \
                    and key is not None and all(0 <= i < s for i, s in zip(key, shape,
                                                                           strict=True)):
                counts[key] += 1
        return counts

    def reads(self, name: str) -> np.ndarray:
        """How many times kernel threads read each element of the global array ``name``."""
        return self._counts(name, ("read",))

    def writes(self, name: str) -> np.ndarray:
        """How many times kernel threads wrote each element (atomics not included)."""
        return self._counts(name, ("write",))

    def atomics(self, name: str) -> np.ndarray:
        """How many atomic operations (``cuda.atomic.add`` ...) each element received."""
        return self._counts(name, ("atomic",))

    def host_accesses(self, name: str) -> int:
        """Element accesses to ``name`` from outside any kernel (the host reading it)."""
        return sum(1 for e in self.log if e[1] == "global" and e[2] == name and e[5] is None)

    def per_thread(self, name: str, kind: str = "read") -> dict:
        """{(block, thread): number of ``kind`` accesses to ``name``} (``name`` may be a shared
        array's name, or ``"shared"`` for all shared arrays together)."""
        out: dict = defaultdict(int)
        for k, space, nm, _key, _launch, block, thread, _epoch in self.log:
            if k == kind and block is not None and (nm == name or space == name):
                out[(block, thread)] += 1
        return dict(out)

    def threads_of(self, name: str, kind: str = "read") -> dict:
        """{element index: [global (x, y, z) of each kernel thread that made a ``kind`` access
        to it, in order]} for the global array ``name``."""
        out: dict = defaultdict(list)
        shapes = self._block_dims
        for k, space, nm, key, launch, block, thread, _epoch in self.log:
            if k == kind and space == "global" and nm == name and block is not None:
                dims = shapes.get(launch) or (1, 1, 1)
                out[key].append(tuple(b * d + t for b, d, t in zip(block, dims, thread,
                                                                    strict=True)))
        return dict(out)

    def shared_accesses(self) -> int:
        """Element accesses to shared memory by all threads (0: shared memory not used)."""
        return sum(1 for e in self.log if e[1] == "shared")

    def syncs(self) -> int:
        """The most ``syncthreads()`` any thread passed in one launch."""
        return max((e[7] for e in self.log if e[0] == "sync"), default=0)

    # ---------------------------------------------------------------- problems
    def races(self, limit: int = 3) -> list[str]:
        """Data races and reads of shared memory never written (see the module's text), as
        at most ``limit`` messages; [] when there are none."""
        problems: list[str] = []
        groups: dict = defaultdict(list)  # shared: (launch, block, array, element, epoch)
        written: dict = defaultdict(set)  # shared: (launch, block, array, element) -> epochs
        own: set = set()  # shared: (launch, block, thread, array, element, epoch) written by it
        uninit: list = []
        glob: dict = defaultdict(list)  # global: (launch, array, element) -> accesses

        for kind, space, name, key, launch, block, thread, epoch in self.log:
            if block is None or key is None or kind == "sync":
                continue
            if space == "shared":
                groups[(launch, block, name, key, epoch)].append((kind, thread))
                if kind == "read":
                    before = any(e < epoch for e in written[(launch, block, name, key)])
                    if not before and (launch, block, thread, name, key, epoch) not in own:
                        uninit.append((name, key, block, thread))
                else:
                    written[(launch, block, name, key)].add(epoch)
                    own.add((launch, block, thread, name, key, epoch))
            else:
                glob[(launch, name, key)].append((kind, block, thread, epoch))

        def idx(key):
            return ", ".join(map(str, key))

        def thread_text(t):
            return f"thread {t[:2] if t[2] == 0 else t}" if t[1] or t[2] else f"thread {t[0]}"

        def block_text(b):
            return f"block {b[:2] if b[2] == 0 else b}" if b[1] or b[2] else f"block {b[0]}"

        for (_launch, block, name, key, _epoch), accesses in groups.items():
            writers = {t for k, t in accesses if k in ("write", "atomic")}
            plain_writers = {t for k, t in accesses if k == "write"}
            others = {t for k, t in accesses if k != "atomic"}
            threads = {t for _, t in accesses}
            if len(threads) < 2 or not writers:
                continue
            if plain_writers or others:
                w = sorted(writers)[0]
                o = sorted(threads - {w})[0]
                problems.append(f"a race in {name}[{idx(key)}], {block_text(block)}: "
                                f"{thread_text(w)} wrote it and {thread_text(o)} also used it "
                                f"between the same two cuda.syncthreads() (a barrier between "
                                f"them is missing)")
        for name, key, block, thread in uninit:
            problems.append(f"{name}[{idx(key)}] read by {thread_text(thread)} of "
                            f"{block_text(block)} before any thread wrote it (before a "
                            f"cuda.syncthreads() that follows the write)")
        for (_launch, name, key), accesses in glob.items():
            blocks = {b for _, b, _, _ in accesses}
            plain = [a for a in accesses if a[0] == "write"]
            if not plain and not any(a[0] == "atomic" for a in accesses):
                continue  # only reads
            threads = {(b, t) for _, b, t, _ in accesses}
            if len(threads) < 2:
                continue
            if len(blocks) > 1 and (plain or any(a[0] == "read" for a in accesses)):
                problems.append(f"{name}[{idx(key)}] written and used by threads of different "
                                f"blocks ({', '.join(block_text(b) for b in sorted(blocks)[:3])}"
                                f"), not only through atomics: blocks may run at the same "
                                f"time on a GPU, in any order (a race)")
            elif len(blocks) == 1 and plain:
                by_epoch: dict = defaultdict(set)
                written_in = {e for k, _b, _t, e in accesses if k == "write"}
                for _k, _b, t, e in accesses:
                    by_epoch[e].add(t)
                if any(len(by_epoch[e]) > 1 for e in written_in):
                    problems.append(f"{name}[{idx(key)}] written by one thread and used by "
                                    f"another of the same block between the same two "
                                    f"cuda.syncthreads() (a race)")
        seen, out = set(), []
        for p in problems:
            if p not in seen:
                seen.add(p)
                out.append(p)
        return out[:limit]

    def barrier_problems(self, limit: int = 3) -> list[str]:
        """Blocks whose threads passed different numbers of ``syncthreads()`` (a barrier
        inside a branch, or after an early ``return``, that some threads skip)."""
        counts: dict = defaultdict(dict)  # (launch, block) -> {thread: barriers passed}
        for kind, _space, _name, _key, launch, block, thread, epoch in self.log:
            if kind == "sync":
                per = counts[(launch, block)]
                per[thread] = max(per.get(thread, 0), epoch)
        problems = []
        shapes = self._block_dims
        for lb, per in counts.items():
            dims = shapes.get(lb[0], ())
            everyone = [tuple(t) + (0,) * (3 - len(t)) for t in np.ndindex(*dims)] or list(per)
            values = {per.get(t, 0) for t in everyone}
            if len(values) > 1:
                problems.append(f"in block {lb[1][0] if lb[1][1:] == (0, 0) else lb[1]}, "
                                f"threads passed {min(values)} to {max(values)} "
                                f"cuda.syncthreads(): every thread of a block must reach every "
                                f"barrier (no return or branch around it); on a GPU this is "
                                f"undefined and may hang")
        return problems[:limit]


def traffic() -> Traffic:
    """Open a trace: ``with cl.gpu.traffic() as tr: ...`` (simulator only; see the module)."""
    return Traffic()

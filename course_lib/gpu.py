"""CUDA kernels with or without a GPU: numba's simulator, timing that says what it is, copy costs.

The course writes real CUDA kernels in Python with numba's CUDA target. With an
NVIDIA GPU they run on it; without one they run on numba's **CUDA simulator**,
which executes every GPU thread as a Python thread on the CPU: the results are
right, the speed is thousands of times lower and says nothing about a GPU. The
simulator must be switched on (``NUMBA_ENABLE_CUDASIM=1``) *before* numba is
imported, so a notebook calls :func:`setup` first, then ``from numba import cuda``.

* :func:`setup` picks the GPU or the simulator and says which in one line;
  :func:`on_simulator` and :func:`device_name` tell the rest of the notebook.
* :func:`run_kernel` launches a kernel on either and reports which and how long,
  labelled ``simulator time: not GPU speed`` when simulated (on a GPU it times
  with CUDA events).
* :func:`copy_time` models one host<->device copy as latency + bytes / bandwidth,
  with the published bandwidths in :data:`LINKS`; :class:`Transfers` counts the
  bytes a piece of code copies each way.
* :func:`recording_array` (simulator only) wraps an array so that a kernel's every
  element access is logged with the thread that made it; :func:`write_problems`
  says which elements were written by no thread, by several, by the wrong one,
  or outside the array: how tests see a kernel's *method*, not only its values.

Nothing here imports numba at import time or changes the environment; only
:func:`setup` does, on purpose.

>>> round(copy_time(64 * 2**20, "pcie4", latency_s=0) * 1e3, 2)   # 64 MiB over PCIe 4.0 x16, ms
2.13
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .metrics import format_bytes, format_time

__all__ = [
    "COPY_LATENCY_S",
    "H100_SXM5",
    "LINKS",
    "SIMULATOR_LABEL",
    "KernelRun",
    "Link",
    "Access",
    "Transfers",
    "copy_time",
    "device_name",
    "on_simulator",
    "recording_array",
    "run_kernel",
    "setup",
    "write_problems",
]

ENV_VAR = "NUMBA_ENABLE_CUDASIM"
SIMULATOR_LABEL = "simulator time: not GPU speed"
SIMULATOR_NAME = "numba's CUDA simulator (CPU)"


@dataclass(frozen=True)
class Link:
    """A link between memories: its bandwidth **per direction**, in bytes per second."""

    name: str
    bandwidth_Bps: float
    source: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.bandwidth_Bps / 1e9:.4g} GB/s per direction)"


# Published peak rates, per direction, in bytes/s. Real copies reach less: about 80-90 % of
# the PCIe rate from pinned (page-locked) host memory, less from ordinary (pageable) memory.
LINKS: dict[str, Link] = {
    # PCI-SIG, PCI Express Base Specification 4.0 (2017): 16 GT/s per lane, 128b/130b
    # encoding, so an x16 link carries 16e9 * 16 * 128/130 / 8 = 31.5 GB/s each way.
    "pcie4": Link("PCIe 4.0 x16", 16e9 * 16 * 128 / 130 / 8,
                  "PCI-SIG, PCI Express Base Specification 4.0 (2017): 16 GT/s per lane"),
    # PCI-SIG, PCI Express Base Specification 5.0 (2019): 32 GT/s per lane, same encoding:
    # 63 GB/s each way (the "128 GB/s" of datasheets counts both directions).
    "pcie5": Link("PCIe 5.0 x16", 32e9 * 16 * 128 / 130 / 8,
                  "PCI-SIG, PCI Express Base Specification 5.0 (2019): 32 GT/s per lane"),
    # NVIDIA Grace Hopper Superchip Architecture whitepaper (2023): NVLink-C2C joins the Grace
    # CPU to the H100 at 900 GB/s in total, 450 GB/s each way: a host<->device link.
    "nvlink-c2c": Link("NVLink-C2C (Grace Hopper)", 450e9,
                       "NVIDIA Grace Hopper Superchip Architecture whitepaper (2023): "
                       "900 GB/s total"),
    # NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022): fourth-generation NVLink,
    # 18 links, 900 GB/s in total per GPU, 450 GB/s each way. It joins GPUs to GPUs (and to
    # NVSwitch), not an x86 host to its GPU: that path is PCIe.
    "nvlink4": Link("NVLink 4 (H100, GPU to GPU)", 450e9,
                    "NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022): "
                    "900 GB/s total per GPU"),
    # NVIDIA H100 Tensor Core GPU datasheet (2022), SXM5: 80 GB of HBM3 at 3.35 TB/s. Not a
    # copy link: the rate at which a kernel reads and writes the GPU's own memory.
    "hbm3": Link("H100 SXM5 HBM3 (device memory)", 3.35e12,
                 "NVIDIA H100 Tensor Core GPU datasheet (2022): 3.35 TB/s"),
}

# An assumed round figure, not a datasheet number: a cudaMemcpy call costs a few to about
# ten microseconds before its bytes flow (driver call, DMA set-up, completion). Measure your
# own GPU's (e.g. with NVIDIA's nvbandwidth tool, or the notebook's copy measurement).
COPY_LATENCY_S = 10e-6

# NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022) and H100 datasheet, SXM5 board.
H100_SXM5 = {
    "sms": 132,                     # streaming multiprocessors
    "fp32_cores": 16_896,           # 128 FP32 CUDA cores per SM x 132
    "boost_clock_hz": 1.98e9,       # max boost clock of the SXM5 H100
    "fp32_flops": 67e12,            # datasheet peak FP32 (non-tensor); = 16,896 x 2 x 1.98 GHz
    "bf16_tensor_flops": 989e12,    # datasheet dense BF16 on the tensor cores (1,979 sparse)
    "hbm_bytes": 80e9,              # 80 GB HBM3
    "hbm_Bps": 3.35e12,             # 3.35 TB/s
    "max_power_w": 700,             # max thermal design power, SXM5
    "warp_size": 32,
    "max_threads_per_block": 1024,  # CUDA C++ Programming Guide, compute capability 9.0
    "max_threads_per_sm": 2048,
    "max_blocks_per_sm": 32,
    "source": "NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022); H100 datasheet; "
              "CUDA C++ Programming Guide, Technical Specifications per Compute Capability",
}

_state: dict = {"mode": None, "name": "", "note": ""}


# --------------------------------------------------------------------------- setup


def _gpu_device_present() -> bool:
    """An NVIDIA driver or device node is there (says nothing about numba being able to use it)."""
    return shutil.which("nvidia-smi") is not None or Path("/dev/nvidia0").exists()


def _probe_gpu(timeout: float = 120) -> dict:
    """Ask numba, in a child process, whether it can use a CUDA GPU (course_lib.profile.gpu_status).

    A child process, so that this one has not imported numba yet whatever the answer:
    when the answer is no, the simulator can still be switched on here.
    """
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); "
            "from course_lib.profile import gpu_status; print(json.dumps(gpu_status()))")
    try:
        root = str(Path(__file__).resolve().parent.parent)  # the folder holding course_lib
        proc = subprocess.run([sys.executable, "-c", code, root], capture_output=True, text=True,
                              timeout=timeout, env=env)
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"gpu": False, "name": "", "note": f"could not ask numba about the GPU ({exc})"}


def _loaded_cuda_is_simulator() -> bool:
    """Is the numba.cuda already imported the simulator? (It defines is_available in
    numba.cuda.simulator_init, the real target in numba.cuda.device_init.)"""
    fn = getattr(sys.modules.get("numba.cuda"), "is_available", None)
    if fn is not None:
        return getattr(fn, "__module__", "").endswith("simulator_init")
    config = sys.modules.get("numba.core.config")
    return bool(getattr(config, "ENABLE_CUDASIM", 0))


def _restart_message(why: str) -> str:
    return (f"{why}, and numba.cuda was already imported without the simulator, which cannot be "
            f"switched on any more. Restart the kernel (Kernel > Restart) and run the setup cell "
            f"(cl.gpu.setup()) before anything imports numba.")


def setup(force_simulator: bool = False, quiet: bool = False) -> str:
    """Choose where CUDA kernels run; call it **before** numba is imported.

    A CUDA GPU that numba can use if there is one (checked in a child process, so
    numba is not imported here), else numba's CUDA simulator, switched on by setting
    ``NUMBA_ENABLE_CUDASIM=1``. ``force_simulator=True`` picks the simulator even with
    a GPU; ``NUMBA_ENABLE_CUDASIM=1`` already set is respected.

    Prints one line saying which (unless ``quiet``) and returns ``"gpu"`` or
    ``"simulator"``. Raises ``RuntimeError`` saying to restart the kernel when
    numba.cuda was imported before, without the simulator, and no GPU can be used.
    """
    if not isinstance(force_simulator, bool):
        raise TypeError(f"force_simulator must be True or False, got {force_simulator!r}")
    if "numba.cuda" in sys.modules:  # too late to choose: report what numba chose
        if _loaded_cuda_is_simulator():
            mode, name = "simulator", SIMULATOR_NAME
            note = "numba.cuda was already imported with the simulator on"
        else:
            cuda = sys.modules["numba.cuda"]
            if force_simulator or not cuda.is_available():
                why = ("you asked for the simulator" if force_simulator
                       else "numba cannot use a CUDA GPU here")
                raise RuntimeError(_restart_message(why))
            mode, name = "gpu", _current_gpu_name(cuda)
            note = "numba.cuda was already imported"
    elif os.environ.get(ENV_VAR) == "1" or force_simulator:
        note = "NUMBA_ENABLE_CUDASIM=1 was set" if os.environ.get(ENV_VAR) == "1" else \
            "simulator forced (force_simulator=True)"
        os.environ[ENV_VAR] = "1"
        mode, name = "simulator", SIMULATOR_NAME
    elif not _gpu_device_present():
        os.environ[ENV_VAR] = "1"
        mode, name, note = "simulator", SIMULATOR_NAME, "no NVIDIA GPU on this machine"
    else:
        status = _probe_gpu()
        if status.get("gpu"):
            mode, name, note = "gpu", status.get("name") or "CUDA GPU", "found by numba"
        else:
            os.environ[ENV_VAR] = "1"
            mode, name = "simulator", SIMULATOR_NAME
            note = f"an NVIDIA driver is here but numba cannot use the GPU: {status.get('note')}"
    if mode == "simulator" and "numba" in sys.modules and "numba.cuda" not in sys.modules:
        # numba read its settings when it was imported; make it read the variable again.
        sys.modules["numba.core.config"].reload_config()
    _state.update(mode=mode, name=name, note=note)
    if not quiet:
        if mode == "gpu":
            print(f"cl.gpu: kernels run on the GPU {name} ({note}); times are real GPU times")
        else:
            print(f"cl.gpu: {note}: kernels run on {SIMULATOR_NAME}; results are right, "
                  f"run times are not GPU speed")
    return mode


def _current_gpu_name(cuda) -> str:
    try:
        name = cuda.get_current_device().name
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001 - the name is only for display
        return "CUDA GPU"


def on_simulator() -> bool:
    """Do numba's CUDA kernels run (or, numba not imported yet, will they run) on the simulator?

    Once numba is imported, numba's own setting answers; before, ``NUMBA_ENABLE_CUDASIM``.
    Never imports numba.

    >>> isinstance(on_simulator(), bool)
    True
    """
    if "numba.cuda" in sys.modules:
        return _loaded_cuda_is_simulator()
    return os.environ.get(ENV_VAR) == "1"


def device_name() -> str:
    """What runs the kernels: the GPU's name, or ``"numba's CUDA simulator (CPU)"``.

    >>> import os
    >>> os.environ.get("NUMBA_ENABLE_CUDASIM") != "1" or device_name() == SIMULATOR_NAME
    True
    """
    if on_simulator():
        return SIMULATOR_NAME
    if _state["mode"] == "gpu" and _state["name"]:
        return _state["name"]
    if "numba.cuda" in sys.modules:
        return _current_gpu_name(sys.modules["numba.cuda"])
    return "CUDA GPU (not checked: call cl.gpu.setup())"


# --------------------------------------------------------------------------- running kernels


def _is_simulated(kernel) -> bool:
    return type(kernel).__module__.startswith("numba.cuda.simulator")


def _is_gpu_kernel(kernel) -> bool:
    return type(kernel).__module__.startswith("numba.cuda") and not _is_simulated(kernel)


def _dims(d) -> tuple[int, ...]:
    dims = tuple(d) if isinstance(d, tuple | list) else (d,)
    for v in dims:
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"grid and block sizes must be integers >= 1, got {d!r}")
    return tuple(int(v) for v in dims)


@dataclass(frozen=True)
class KernelRun:
    """One kernel launch configuration, timed: what ran where, and for how long.

    ``seconds`` holds one time per timed launch. ``device`` is the GPU's name, the
    simulator, or ``"CPU (not a CUDA kernel)"``; ``simulated`` is True whenever the
    time is not a GPU's.

    >>> r = KernelRun("add", (4,), (128,), (0.2, 0.3), SIMULATOR_NAME, True)
    >>> r.threads, r.median
    (512, 0.25)
    >>> print(r)
    add[4, 128]: 512 threads on numba's CUDA simulator (CPU): 250 ms
    (simulator time: not GPU speed)
    """

    name: str
    griddim: tuple[int, ...]
    blockdim: tuple[int, ...]
    seconds: tuple[float, ...]
    device: str
    simulated: bool
    note: str = ""

    @property
    def threads(self) -> int:
        """Threads launched: blocks x threads per block."""
        return int(np.prod(self.griddim) * np.prod(self.blockdim))

    @property
    def median(self) -> float:
        """Median seconds per launch."""
        return statistics.median(self.seconds)

    def __str__(self) -> str:
        def dim(d):
            return str(d[0]) if len(d) == 1 else "(" + ", ".join(map(str, d)) + ")"

        label = SIMULATOR_LABEL if self.device == SIMULATOR_NAME else (
            "CPU time: not GPU speed" if self.simulated else "GPU time")
        extra = f"; {self.note}" if self.note else ""
        return (f"{self.name}[{dim(self.griddim)}, {dim(self.blockdim)}]: {self.threads:,} "
                f"threads on {self.device}: {format_time(self.median)} ({label}{extra})")


def run_kernel(kernel, griddim, blockdim, *args, repeat: int | None = None,
               quiet: bool = False) -> KernelRun:
    """Launch ``kernel[griddim, blockdim](*args)``, time it, say where it ran; return a KernelRun.

    On a GPU: one untimed launch first (numba compiles the kernel on its first call),
    then ``repeat`` launches (default 5), each timed with CUDA events. Pass device
    arrays (``cuda.to_device``) to time the kernel alone: with numpy arrays numba
    copies them to the device and back around every launch, and those copies are
    timed too (the report says so).

    On the simulator (or for any other object launched as ``kernel[grid, block](...)``):
    ``repeat`` launches (default 1, no warm-up) timed with ``time.perf_counter``,
    reported as ``simulator time: not GPU speed``.

    The kernel runs ``repeat`` (+1 on a GPU) times: it should give the same result
    each time (``out[i] = a[i] + b[i]`` does; ``x[i] *= 2`` does not).

    >>> class Double:            # a stand-in: anything launched as kernel[grid, block](*args)
    ...     def __getitem__(self, config):
    ...         return lambda x: x.__imul__(2)
    >>> x = np.ones(4)
    >>> run = run_kernel(Double(), 1, 4, x, quiet=True)
    >>> x.tolist(), run.threads, run.simulated
    ([2.0, 2.0, 2.0, 2.0], 4, True)
    """
    griddim, blockdim = _dims(griddim), _dims(blockdim)
    if repeat is not None and (not isinstance(repeat, int) or repeat < 1):
        raise ValueError(f"repeat must be None or an int >= 1, got {repeat!r}")
    name = getattr(getattr(kernel, "py_func", kernel), "__name__", type(kernel).__name__)
    launch = kernel[griddim, blockdim]
    note = ""
    if _is_gpu_kernel(kernel):
        from numba import cuda

        host = sum(isinstance(a, np.ndarray) for a in args)
        if host:
            note = (f"includes numba's copies of {host} numpy array{'s' * (host > 1)} "
                    f"to the GPU and back")
        launch(*args)  # compiles for these argument types
        cuda.synchronize()
        times = []
        for _ in range(repeat or 5):
            start, end = cuda.event(), cuda.event()
            start.record()
            launch(*args)
            end.record()
            end.synchronize()
            times.append(cuda.event_elapsed_time(start, end) / 1e3)  # ms -> s
        device, simulated = device_name(), False
    else:
        times = []
        for _ in range(repeat or 1):
            t0 = time.perf_counter()
            launch(*args)
            times.append(time.perf_counter() - t0)
        simulated = True
        device = SIMULATOR_NAME if _is_simulated(kernel) else "CPU (not a CUDA kernel)"
    run = KernelRun(name, griddim, blockdim, tuple(times), device, simulated, note)
    if not quiet:
        print(run)
    return run


# --------------------------------------------------------------------------- copies


def _link(link: str | Link) -> Link:
    if isinstance(link, Link):
        return link
    if link not in LINKS:
        raise ValueError(f"link must be a Link or one of {sorted(LINKS)}, got {link!r}")
    return LINKS[link]


def copy_time(nbytes, link: str | Link = "pcie4", latency_s: float = COPY_LATENCY_S):
    """Modelled seconds for ONE copy of ``nbytes`` bytes: ``latency_s + nbytes / bandwidth``.

    ``link`` is a name in :data:`LINKS` (``"pcie4"``, ``"pcie5"``, ``"nvlink-c2c"``, ...)
    or a :class:`Link`; its bandwidth is per direction, in bytes/s (a datasheet's Gb/s
    is bits: divide by 8). ``nbytes`` may be a numpy array (one copy per element).

    >>> copy_time(0)                                 # an empty copy still costs the latency
    1e-05
    >>> [f"{copy_time(1e9, k, latency_s=0) * 1e3:.1f} ms" for k in ("pcie4", "pcie5", "nvlink-c2c")]
    ['31.7 ms', '15.9 ms', '2.2 ms']
    """
    lk = _link(link)
    if not (isinstance(latency_s, int | float | np.floating) and latency_s >= 0):
        raise ValueError(f"latency_s must be a number >= 0 (seconds), got {latency_s!r}")
    n = np.asarray(nbytes, dtype=float)
    if np.any(n < 0) or not np.all(np.isfinite(n)):
        raise ValueError(f"nbytes must be finite and >= 0, got {nbytes!r}")
    t = latency_s + n / lk.bandwidth_Bps
    return float(t) if t.ndim == 0 else t


@dataclass
class Transfers:
    """A log of host<->device copies: how many, how many bytes each way, their modelled time.

    :meth:`to_device` and :meth:`to_host` copy with numba (and, on a GPU, time the copy);
    :meth:`record` logs a copy made elsewhere.

    >>> log = Transfers()
    >>> log.record("in", 4096); log.record("in", 4096); log.record("out", 4096)
    >>> log.copies_in, log.bytes_in, log.bytes_out
    (2, 8192, 4096)
    >>> print(log)
    3 copies: 2 to the device (8 KiB), 1 to the host (4 KiB); modelled on PCIe 4.0 x16: 30.4 µs
    """

    copies: list = field(default_factory=list)  # (direction "in"/"out", nbytes, seconds | None)

    def record(self, direction: str, nbytes: int, seconds: float | None = None) -> None:
        """Log one copy: ``direction`` ``"in"`` (host to device) or ``"out"``; bytes; measured s."""
        if direction not in ("in", "out"):
            raise ValueError(f"direction must be 'in' or 'out', got {direction!r}")
        if isinstance(nbytes, bool) or not isinstance(nbytes, int | np.integer) or nbytes < 0:
            raise ValueError(f"nbytes must be an int >= 0, got {nbytes!r}")
        self.copies.append((direction, int(nbytes), seconds))

    def _timed(self, fn):
        if on_simulator():
            return fn(), None
        from numba import cuda

        cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        cuda.synchronize()
        return out, time.perf_counter() - t0

    def to_device(self, host_array):
        """Copy a numpy array to the device (``cuda.to_device``), log it; return the device copy."""
        from numba import cuda

        arr = np.ascontiguousarray(host_array)
        d, s = self._timed(lambda: cuda.to_device(arr))
        self.record("in", arr.nbytes, s)
        return d

    def to_host(self, device_array) -> np.ndarray:
        """Copy a device array back to a new numpy array (``copy_to_host``), log it, return it."""
        out, s = self._timed(device_array.copy_to_host)
        self.record("out", out.nbytes, s)
        return out

    @property
    def copies_in(self) -> int:
        return sum(d == "in" for d, _, _ in self.copies)

    @property
    def copies_out(self) -> int:
        return sum(d == "out" for d, _, _ in self.copies)

    @property
    def bytes_in(self) -> int:
        """Bytes copied host -> device."""
        return sum(n for d, n, _ in self.copies if d == "in")

    @property
    def bytes_out(self) -> int:
        """Bytes copied device -> host."""
        return sum(n for d, n, _ in self.copies if d == "out")

    def modelled_seconds(self, link: str | Link = "pcie4",
                         latency_s: float = COPY_LATENCY_S) -> float:
        """The copies' time by :func:`copy_time` (one latency per copy), one after another."""
        return float(sum(copy_time(n, link, latency_s) for _, n, _ in self.copies))

    def measured_seconds(self) -> float | None:
        """Measured seconds of all copies (on a GPU); None when any copy was not timed."""
        times = [s for _, _, s in self.copies]
        return None if not times or any(s is None for s in times) else float(sum(times))

    def __str__(self) -> str:
        text = (f"{len(self.copies)} copies: {self.copies_in} to the device "
                f"({format_bytes(self.bytes_in)}), {self.copies_out} to the host "
                f"({format_bytes(self.bytes_out)}); modelled on {LINKS['pcie4'].name}: "
                f"{format_time(self.modelled_seconds())}")
        measured = self.measured_seconds()
        if measured is not None:
            text += f"; measured: {format_time(measured)}"
        return text


# --------------------------------------------------------------------------- recording accesses


@dataclass(frozen=True)
class Access:
    """One element access by a kernel: ``kind`` ``"read"`` or ``"write"``, the ``index``
    as the kernel gave it (a tuple of ints; a negative one is kept as it was), and the
    global ``thread`` that made it, ``(x, y, z)`` as ``cuda.grid(3)`` numbers it (None
    for an access from outside a kernel)."""

    kind: str
    index: tuple
    thread: tuple[int, int, int] | None


def _index_key(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    out = []
    for v in items:
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer):
            return tuple(items)  # a slice or an array: kept as it was given
        out.append(int(v))
    return tuple(out)


def _current_thread_id() -> tuple[int, int, int] | None:
    """The global (x, y, z) of the simulator's thread running now (None outside a kernel).

    The simulator runs each GPU thread as a ``threading.Thread`` that knows its
    ``blockIdx`` and ``threadIdx``; its block manager knows the block's shape."""
    import threading

    t = threading.current_thread()
    block, thread = getattr(t, "blockIdx", None), getattr(t, "threadIdx", None)
    manager = getattr(t, "_manager", None)
    if block is None or thread is None or manager is None:
        return None
    dims = tuple(manager._block_dim)
    return tuple(int(b) * int(d) + int(i) for b, d, i in zip(tuple(block), dims, tuple(thread),
                                                             strict=True))


_RECORDING_CLASS: list = []


def _recording_class():
    if not _RECORDING_CLASS:
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

        class RecordingArray(FakeCUDAArray):
            """A simulator device array that logs every element access (see recording_array)."""

            def __init__(self, ary, accesses):
                super().__init__(ary)
                self.accesses = accesses

            def __getitem__(self, idx):
                self.accesses.append(Access("read", _index_key(idx), _current_thread_id()))
                return super().__getitem__(idx)

            def __setitem__(self, idx, val):
                self.accesses.append(Access("write", _index_key(idx), _current_thread_id()))
                return super().__setitem__(idx, val)

            def writes(self) -> list[Access]:
                """The logged writes, in the order they happened."""
                return [a for a in self.accesses if a.kind == "write"]

            def reads(self) -> list[Access]:
                """The logged reads, in the order they happened."""
                return [a for a in self.accesses if a.kind == "read"]

        _RECORDING_CLASS.append(RecordingArray)
    return _RECORDING_CLASS[0]


def recording_array(host_array):
    """A device array for numba's **simulator** that logs each element access of a kernel.

    Pass it to a kernel like any device array; afterwards its ``accesses`` list holds
    one :class:`Access` per element read or written, with the global thread that made
    it, and ``writes()`` / ``reads()`` select them; ``copy_to_host()`` gives the values.
    The array is ``host_array`` itself (not a copy): a view of a larger buffer works,
    and the same recording array may be passed twice (in place). Only the simulator
    runs kernels in Python, where accesses can be seen: on a GPU this raises
    ``RuntimeError`` (check :func:`on_simulator` first).

    In a notebook (after :func:`setup` chose the simulator)::

        out = cl.gpu.recording_array(np.full(5, np.nan))
        kernel[2, 4](x, out)
        cl.gpu.write_problems(out.accesses, (5,), owner=lambda i: i[0])   # [] when right
    """
    if not on_simulator():
        raise RuntimeError("recording_array needs numba's CUDA simulator (kernels run in "
                           "Python there); on a GPU, accesses cannot be seen from Python")
    if not isinstance(host_array, np.ndarray):
        raise TypeError(f"recording_array wraps a numpy array, got {type(host_array).__name__}")
    return _recording_class()(host_array, [])


def write_problems(accesses, shape, owner=None, name: str = "out", limit: int = 5) -> list[str]:
    """What is wrong with a kernel's writes to an array of ``shape``: every element must be
    written exactly once, at an index inside the array (no negative index), by a thread
    of the kernel, and (with ``owner``) by the thread ``owner(index)``, an int (the
    global x of a 1D grid) or a tuple (x, y) of a 2D one. Returns at most ``limit``
    messages, [] when all is well. Reads are ignored.

    >>> log = [Access("write", (0,), (0, 0, 0)), Access("write", (1,), (1, 0, 0)),
    ...        Access("read", (1,), (0, 0, 0)), Access("write", (2,), (0, 0, 0))]
    >>> write_problems(log, (3,))
    []
    >>> write_problems(log, (3,), owner=lambda i: i[0] % 2)     # a grid of 2 threads
    []
    >>> write_problems(log, (4,), owner=lambda i: i[0])
    ['out[2] written by thread 0, expected thread 2', 'out[3] never written']
    >>> write_problems(log + [Access("write", (1,), (3, 0, 0))], (3,))
    ['out[1] written 2 times (by threads 1, 3): each element exactly once']
    >>> write_problems([Access("write", (-1,), (0, 0, 0)), Access("write", (0,), (1, 0, 0))], (1,))
    ['out[-1] written (by thread 0): outside out, of shape (1,)']
    """
    shape = tuple(int(s) for s in shape)
    problems: list[str] = []
    by_index: dict = {}

    def show(index):
        return f"{name}[{', '.join(str(i) for i in index)}]"

    def who(thread, dims):
        if thread is None:
            return "the host (outside a kernel)"
        return f"thread {thread[0]}" if dims == 1 else f"thread {tuple(thread[:dims])}"

    dims = 1
    for a in accesses:
        if a.kind != "write":
            continue
        index = a.index
        inside = (len(index) == len(shape) and all(isinstance(i, int) for i in index)
                  and all(0 <= i < s for i, s in zip(index, shape, strict=True)))
        if not inside:
            problems.append(f"{show(index)} written (by {who(a.thread, 1)}): outside "
                            f"{name}, of shape {shape}")
            continue
        by_index.setdefault(index, []).append(a.thread)
    for index in np.ndindex(*shape):
        threads = by_index.get(index, [])
        if not threads:
            problems.append(f"{show(index)} never written")
            continue
        if owner is not None:
            want = owner(index)
            dims = 1 if isinstance(want, int | np.integer) else len(want)
            want = (int(want),) if dims == 1 else tuple(int(w) for w in want)
        if len(threads) > 1:
            names = ", ".join(str(t[0]) if dims == 1 and t is not None else str(t)
                              for t in sorted(threads, key=lambda t: (t is not None, t or ())))
            problems.append(f"{show(index)} written {len(threads)} times (by threads {names}): "
                            "each element exactly once")
        elif owner is not None:
            got = threads[0]
            if got is None or tuple(got[:dims]) != want:
                problems.append(f"{show(index)} written by {who(got, dims)}, expected "
                                f"{who(want + (0, 0), dims)}")
    return problems[:limit]

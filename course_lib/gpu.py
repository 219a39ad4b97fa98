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

from .gpu_traffic import Traffic, traffic
from .metrics import format_bytes, format_time

__all__ = [
    "COPY_LATENCY_S",
    "DATASHEETS",
    "H100_SXM5",
    "LINKS",
    "SIMULATOR_LABEL",
    "KernelRun",
    "Link",
    "Access",
    "Traffic",
    "Transfers",
    "REFERENCE_LAUNCH_GPU_S",
    "copy_rates",
    "copy_time",
    "library_matmul_tflops",
    "measure_bandwidth",
    "pcie_link",
    "datasheet",
    "board_power",
    "device_facts",
    "device_name",
    "gpu_ceilings",
    "gpu_smoke_test",
    "on_simulator",
    "overlap_demo",
    "recording_array",
    "reference_gpu",
    "reference_label",
    "run_kernel",
    "setup",
    "traffic",
    "with_constants",
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
    # PCI-SIG, PCI Express Base Specification 3.0 (2010): 8 GT/s per lane, 128b/130b: 15.75 GB/s.
    "pcie3": Link("PCIe 3.0 x16", 8e9 * 16 * 128 / 130 / 8,
                  "PCI-SIG, PCI Express Base Specification 3.0 (2010): 8 GT/s per lane"),
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

# Datasheet figures of the GPUs the course knows, each with its source. "hbm_Bps" is the
# device memory's bandwidth; "fp32_flops" the peak FP32 rate without tensor cores; "pcie" the
# host link the card is built for (a machine may run it at a lower generation or width).
DATASHEETS: dict[str, dict] = {
    "H100 SXM5": {"sms": 132, "max_threads_per_sm": 2048, "memory_bytes": 80e9,
                  "hbm_Bps": 3.35e12, "fp32_flops": 67e12, "l2_bytes": 50 * 2**20,
                  "pcie": "pcie5", "max_power_w": 700,
                  "source": "NVIDIA H100 Tensor Core GPU datasheet (2022); H100 architecture "
                            "whitepaper (2022)"},
    "H100 PCIe": {"sms": 114, "max_threads_per_sm": 2048, "memory_bytes": 80e9,
                  "hbm_Bps": 2.0e12, "fp32_flops": 51e12, "l2_bytes": 50 * 2**20,
                  "pcie": "pcie5", "max_power_w": 350,
                  "source": "NVIDIA H100 Tensor Core GPU datasheet (2022), PCIe card"},
    "H200": {"sms": 132, "max_threads_per_sm": 2048, "memory_bytes": 141e9,
             "hbm_Bps": 4.8e12, "fp32_flops": 67e12, "l2_bytes": 60 * 2**20,
             "pcie": "pcie5", "max_power_w": 700,
             "source": "NVIDIA H200 Tensor Core GPU datasheet (2024), SXM"},
    "A100": {"sms": 108, "max_threads_per_sm": 2048, "memory_bytes": 80e9,
             "hbm_Bps": 2.039e12, "fp32_flops": 19.5e12, "l2_bytes": 40 * 2**20,
             "pcie": "pcie4", "max_power_w": 400,
             "source": "NVIDIA A100 Tensor Core GPU datasheet (2021), 80 GB SXM"},
    "L4": {"sms": 58, "max_threads_per_sm": 1536, "memory_bytes": 24e9,
           "hbm_Bps": 300e9, "fp32_flops": 30.3e12, "l2_bytes": 48 * 2**20,
           "pcie": "pcie4", "max_power_w": 72,
           "source": "NVIDIA L4 Tensor Core GPU datasheet (2023); Ada GPU architecture "
                     "whitepaper"},
    "T4": {"sms": 40, "max_threads_per_sm": 1024, "memory_bytes": 16e9,
           "hbm_Bps": 320e9, "fp32_flops": 8.1e12, "l2_bytes": 4 * 2**20,
           "pcie": "pcie3", "max_power_w": 70,
           "source": "NVIDIA T4 Tensor Core GPU datasheet (2019); Turing architecture "
                     "whitepaper"},
    "RTX 4090": {"sms": 128, "max_threads_per_sm": 1536, "memory_bytes": 24e9,
                 "hbm_Bps": 1.008e12, "fp32_flops": 82.6e12, "l2_bytes": 72 * 2**20,
                 "pcie": "pcie4", "max_power_w": 450,
                 "source": "NVIDIA Ada GPU architecture whitepaper (2022), GeForce RTX 4090"},
}


def datasheet(name: str) -> tuple[str, dict] | None:
    """The datasheet entry for a GPU's name as the driver reports it ("NVIDIA H100 80GB HBM3",
    "NVIDIA H200", "Tesla T4", ...), as (key, figures); None when the course has none.

    >>> datasheet("NVIDIA H100 80GB HBM3")[0], datasheet("Tesla T4")[0], datasheet("Quadro X")
    ('H100 SXM5', 'T4', None)
    >>> datasheet("NVIDIA H100 PCIe")[0], datasheet("NVIDIA GeForce RTX 4090")[0]
    ('H100 PCIe', 'RTX 4090')
    """
    text = str(name).upper()
    if "H100" in text:
        key = "H100 PCIe" if "PCIE" in text else "H100 SXM5"
    elif "H200" in text:
        key = "H200"
    elif "A100" in text:
        key = "A100"
    elif "RTX 4090" in text:
        key = "RTX 4090"
    elif " L4" in f" {text}" and "L40" not in text:
        key = "L4"
    elif " T4" in f" {text}":
        key = "T4"
    else:
        return None
    return key, DATASHEETS[key]


REFERENCE_NAME = "h200_2026-12-04.json"
REFERENCE_FILE = Path(__file__).resolve().parent.parent / "data" / "gpu_reference" / REFERENCE_NAME


def _reference_file() -> Path:
    """The reference data: beside course_lib in the repository, or found from the working
    directory (a notebook runs in notebooks/, the repository's root is its parent)."""
    for path in (REFERENCE_FILE, Path.cwd() / "data" / "gpu_reference" / REFERENCE_NAME,
                 Path.cwd().parent / "data" / "gpu_reference" / REFERENCE_NAME):
        if path.is_file():
            return path
    raise FileNotFoundError(f"the course's GPU reference data ({REFERENCE_NAME}) is not in "
                            f"data/gpu_reference/ of the course's repository: run from it")


def reference_gpu() -> dict:
    """The course's reference GPU's measurements (an NVIDIA H200, 2026-12-04), from
    ``data/gpu_reference/``: what a notebook shows, labelled as such, when no GPU is here.

    >>> ref = reference_gpu()
    >>> ref["device"]["name"], ref["about"]["date"]
    ('NVIDIA H200', '2026-12-04')
    """
    return json.loads(_reference_file().read_text())


def reference_label() -> str:
    """How a notebook names a figure from :func:`reference_gpu`.

    >>> reference_label()
    'reference GPU: NVIDIA H200, measured 2026-12-04 (data/gpu_reference/)'
    """
    ref = reference_gpu()
    return (f"reference GPU: {ref['device']['name']}, measured {ref['about']['date']} "
            f"(data/gpu_reference/)")


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
            "from course_lib.gpu import gpu_smoke_test; print(json.dumps(gpu_smoke_test()))")
    try:
        root = str(Path(__file__).resolve().parent.parent)  # the folder holding course_lib
        proc = subprocess.run([sys.executable, "-c", code, root], capture_output=True, text=True,
                              timeout=timeout, env=env)
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"gpu": False, "name": "", "note": f"could not ask numba about the GPU ({exc})"}


def _what_is_missing(exc: BaseException) -> str:
    """One line saying what a failed GPU check lacks, and how to get it."""
    text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    low = text.lower()
    fix = "pip install -e '.[gpu]' (numba-cuda with CUDA's compiler from PyPI; see the README)"
    if "nvvm" in low or "libdevice" in low or "nvrtc" in low:
        return f"CUDA's compiler libraries (NVVM/libdevice) are missing: {fix} [{text[:120]}]"
    if "driver" in low or "cuinit" in low or "libcuda" in low:
        return (f"the NVIDIA driver cannot be used (is it installed and matching the GPU?) "
                f"[{text[:120]}]")
    if "no module named" in low:
        return f"a package is missing: {fix} [{text[:120]}]"
    return f"a one-thread test kernel failed: {text[:160]}"


def gpu_smoke_test() -> dict:
    """Can numba use a CUDA GPU here? Compiles and launches a one-thread kernel (not only
    ``cuda.is_available()``) and reads its result back. Returns ``{"gpu": bool, "name": str,
    "note": str}``, the note saying in one line what is missing when the answer is no.
    Imports numba: :func:`setup` runs it in a child process."""
    if os.environ.get(ENV_VAR) == "1":
        return {"gpu": False, "name": "", "note": "NUMBA_ENABLE_CUDASIM=1 is set"}
    try:
        from numba import cuda
    except Exception as exc:  # noqa: BLE001 - any failure: no GPU for the course
        return {"gpu": False, "name": "", "note": _what_is_missing(exc)}
    try:
        if not cuda.is_available():
            return {"gpu": False, "name": "",
                    "note": "numba finds no usable CUDA driver and GPU (cuda.is_available() is "
                            "False); pip install -e '.[gpu]' brings CUDA's libraries"}

        @cuda.jit
        def one_thread(out):
            out[0] = 42

        out = cuda.device_array(1, dtype=np.int32)
        one_thread[1, 1](out)
        if int(out.copy_to_host()[0]) != 42:
            return {"gpu": False, "name": "", "note": "a one-thread test kernel ran but gave a "
                                                      "wrong result"}
        return {"gpu": True, "name": _current_gpu_name(cuda),
                "note": "a one-thread kernel compiled and ran on it"}
    except Exception as exc:  # noqa: BLE001
        return {"gpu": False, "name": "", "note": _what_is_missing(exc)}


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
    dispatch_s: tuple[float, ...] = ()  # on a GPU: the host's time to issue one launch
    method: str = ""  # on a GPU: how the GPU time was taken

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
            "CPU time: not GPU speed" if self.simulated else "GPU time per launch")
        if self.method:
            label += f", {self.method}"
        extra = f"; {self.note}" if self.note else ""
        text = (f"{self.name}[{dim(self.griddim)}, {dim(self.blockdim)}]: {self.threads:,} "
                f"threads on {self.device}: {format_time(self.median)} ({label}{extra})")
        if self.dispatch_s:
            text += (f"; the host needs {format_time(statistics.median(self.dispatch_s))} to "
                     f"issue one launch (numba's dispatch)")
        return text

    @property
    def dispatch(self) -> float | None:
        """Median seconds the host (numba) takes to issue one launch; None off a GPU."""
        return statistics.median(self.dispatch_s) if self.dispatch_s else None


_SPIN: dict = {}


def _spin_kernel(cuda):
    """A one-thread kernel that keeps the GPU busy for ``iterations`` dependent multiply-adds
    (numba compiles it once per process)."""
    if "kernel" not in _SPIN:
        @cuda.jit
        def spin(iterations, out):
            x = out[0]
            for _ in range(iterations):
                x = x * 0.999999 + 1e-7
            out[0] = x

        _SPIN["kernel"] = spin
        _SPIN["out"] = cuda.to_device(np.ones(1, dtype=np.float32))
    return _SPIN["kernel"], _SPIN["out"]


def _time_on_gpu(launch, args, rounds: int, cuda):
    """(GPU seconds per launch, host dispatch seconds per launch, method), one value per round.

    The GPU's time: a batch of launches queued behind a short busy kernel, between two CUDA
    events; the GPU runs them back to back, so the events see the GPU's own cost and not
    numba's dispatch (which a single launch between events measures: tens of microseconds).
    The host's dispatch: the wall time to issue the batch, divided by its size. Falls back to
    events around the batch alone (said in the method) when the busy kernel cannot be used."""
    launch(*args)  # compiles for these argument types
    cuda.synchronize()
    start, end = cuda.event(), cuda.event()
    start.record()
    launch(*args)
    end.record()
    end.synchronize()
    single = cuda.event_elapsed_time(start, end) / 1e3  # s, dispatch gaps included
    batch = int(min(20, max(1, 2e-3 // max(single, 1e-9))))
    try:
        spin, out = _spin_kernel(cuda)
        spin[1, 1](1000, out)
        cuda.synchronize()
        s0, s1 = cuda.event(), cuda.event()
        s0.record()
        spin[1, 1](100_000, out)
        s1.record()
        s1.synchronize()
        per_iteration = cuda.event_elapsed_time(s0, s1) / 1e3 / 100_000
    except Exception:  # noqa: BLE001 - no busy kernel: events around the batch only
        spin, per_iteration = None, 0.0
    gpu, host = [], []
    wait_s = 1e-3 + batch * 200e-6  # longer than the host needs to issue the batch
    for _ in range(rounds):
        cuda.synchronize()
        if spin is not None:
            spin[1, 1](int(wait_s / max(per_iteration, 1e-12)), out)
        start, end = cuda.event(), cuda.event()
        start.record()
        t0 = time.perf_counter()
        for _ in range(batch):
            launch(*args)
        issued = time.perf_counter() - t0
        end.record()
        end.synchronize()
        gpu.append(cuda.event_elapsed_time(start, end) / 1e3 / batch)
        host.append(issued / batch)
        if issued > wait_s:  # the GPU may have waited for the host: wait longer next round
            wait_s = 2 * issued
    method = (f"{batch} launch{'es' * (batch > 1)} queued behind a busy kernel, CUDA events"
              if spin is not None else
              f"CUDA events around {batch} launch{'es' * (batch > 1)}: includes dispatch gaps")
    return gpu, host, method


def run_kernel(kernel, griddim, blockdim, *args, repeat: int | None = None,
               quiet: bool = False) -> KernelRun:
    """Launch ``kernel[griddim, blockdim](*args)``, time it, say where it ran; return a KernelRun.

    On a GPU: one untimed launch first (numba compiles the kernel on its first call),
    then ``repeat`` rounds (default 5), each a batch of launches queued behind a short busy
    kernel and timed with CUDA events: ``seconds`` holds the **GPU's** time per launch, not
    numba's host dispatch (which one launch between two events mostly measures: tens of
    microseconds); ``dispatch_s`` holds the host's time to issue one launch, measured
    separately. Pass device arrays (``cuda.to_device``) to time the kernel alone: with numpy
    arrays numba copies them to the device and back around every launch, and those copies
    are timed too (the report says so).

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
        times, dispatch, method = _time_on_gpu(launch, args, repeat or 5, cuda)
        device, simulated = device_name(), False
    else:
        times = []
        switch = sys.getswitchinterval()
        sys.setswitchinterval(5e-4)  # the simulator's threads take turns faster (3-4x)
        try:
            for _ in range(repeat or 1):
                t0 = time.perf_counter()
                launch(*args)
                times.append(time.perf_counter() - t0)
        finally:
            sys.setswitchinterval(switch)
        simulated = True
        device = SIMULATOR_NAME if _is_simulated(kernel) else "CPU (not a CUDA kernel)"
    if simulated:
        dispatch, method = (), ""
    run = KernelRun(name, griddim, blockdim, tuple(times), device, simulated, note,
                    tuple(dispatch), method)
    if not quiet:
        print(run)
    return run


def with_constants(kernel, **constants):
    """The same kernel compiled again with some of its global constants changed.

    numba reads a kernel's global constants (a tile size for ``cuda.shared.array``) when it
    compiles it; to run the kernel with another value, compile its Python function again in
    a copy of its globals where the constants are replaced. Works on a GPU and on the simulator;
    the original kernel and the notebook's globals are left as they were.

    >>> class Fake:                       # a stand-in with a py_func, like a numba kernel
    ...     def __init__(self, fn): self.py_func = fn
    >>> TILE = 4
    >>> def tile(): return TILE
    >>> k = with_constants(Fake(tile), TILE=16, _jit=Fake)
    >>> k.py_func(), tile()
    (16, 4)
    """
    import types

    jit = constants.pop("_jit", None)
    fn = getattr(kernel, "py_func", None)
    if fn is None:
        raise TypeError(f"with_constants needs a kernel made by @cuda.jit, got {kernel!r}")
    missing = [k for k in constants if k not in fn.__globals__]
    if missing:
        raise KeyError(f"{fn.__name__} has no global constant {missing[0]!r} to change")
    glob = dict(fn.__globals__)
    glob.update(constants)
    new = types.FunctionType(fn.__code__, glob, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__doc__, new.__qualname__ = fn.__doc__, fn.__qualname__
    if jit is None:
        from numba import cuda

        jit = cuda.jit
    return jit(new)


# --------------------------------------------------------------------------- this GPU's figures

# Per-lane transfer rates and encodings of PCIe generations (PCI-SIG base specifications).
_PCIE_LANE = {1: (2.5e9, 8 / 10), 2: (5e9, 8 / 10), 3: (8e9, 128 / 130), 4: (16e9, 128 / 130),
              5: (32e9, 128 / 130), 6: (64e9, 242 / 256)}


def pcie_link(generation: int, width: int = 16) -> Link:
    """The :class:`Link` of a PCIe generation and width, per direction.

    >>> print(pcie_link(5, 16))
    PCIe 5.0 x16 (63.02 GB/s per direction)
    >>> round(pcie_link(4, 8).bandwidth_Bps / 1e9, 2)
    15.75
    """
    if generation not in _PCIE_LANE or not isinstance(width, int) or width < 1:
        raise ValueError(f"PCIe generation 1-6 and a width >= 1, got {generation!r}, {width!r}")
    rate, code = _PCIE_LANE[generation]
    return Link(f"PCIe {generation}.0 x{width}", rate * width * code / 8,
                f"PCI-SIG, PCI Express Base Specification {generation}.0: {rate / 1e9:g} GT/s "
                f"per lane")


def _nvml():
    """pynvml (package nvidia-ml-py), initialised, or None."""
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml
    except Exception:  # noqa: BLE001 - not installed, or no driver
        return None


def _pcie_of_this_gpu() -> tuple[int | None, int | None, str]:
    """(generation, width, how it was read) of GPU 0's host link: the most it runs at with this
    GPU and system (an idle GPU lowers its current generation and width to save power)."""
    nvml = _nvml()
    if nvml is not None:
        try:
            h = nvml.nvmlDeviceGetHandleByIndex(0)
            return (int(nvml.nvmlDeviceGetMaxPcieLinkGeneration(h)),
                    int(nvml.nvmlDeviceGetMaxPcieLinkWidth(h)), "NVML (the link's maximum)")
        except Exception:  # noqa: BLE001
            pass
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=pcie.link.gen.max,"
                                  "pcie.link.width.max", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=20).stdout
            gen, width = (int(v) for v in out.splitlines()[0].split(","))
            return gen, width, "nvidia-smi (the link's maximum)"
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            pass
    return None, None, "unknown"


def device_facts() -> dict:
    """The GPU that runs the kernels, in numbers, each saying whose it is.

    On a GPU: its name, SMs, threads per SM, memory, L2 and host link (numba's device
    attributes; the link from NVML or ``nvidia-smi``), and, when the course has its
    datasheet (:data:`DATASHEETS`), the datasheet's memory bandwidth and FP32 peak. Without a
    GPU: the course's reference GPU's figures (:func:`reference_gpu`), labelled as such.
    ``whose`` says which.

    >>> import os
    >>> os.environ.get("NUMBA_ENABLE_CUDASIM") != "1" or device_facts()["whose"].startswith("ref")
    True
    """
    if on_simulator() or _state["mode"] != "gpu":
        ref = reference_gpu()
        dev = ref["device"]
        key, sheet = datasheet(dev["name"])
        return {"whose": reference_label(), "name": dev["name"], "sms": dev["sms"],
                "max_threads_per_sm": dev.get("max_threads_per_sm") or sheet["max_threads_per_sm"],
                "memory_bytes": sheet["memory_bytes"], "l2_bytes": dev["l2_bytes"],
                "link": pcie_link(5, 16), "link_read_from": "the reference data",
                "datasheet": key, "hbm_Bps": sheet["hbm_Bps"], "fp32_flops": sheet["fp32_flops"],
                "source": sheet["source"]}
    from numba import cuda

    dev = cuda.get_current_device()

    def attr(name):
        try:
            return int(getattr(dev, name))
        except Exception:  # noqa: BLE001
            return None

    try:
        memory = int(cuda.current_context().get_memory_info()[1])
    except Exception:  # noqa: BLE001
        memory = None
    name = _current_gpu_name(cuda)
    found = datasheet(name)
    gen, width, how = _pcie_of_this_gpu()
    per_sm = attr("MAX_THREADS_PER_MULTIPROCESSOR") or (
        found[1]["max_threads_per_sm"] if found else 2048)
    facts = {"whose": f"this GPU ({name})", "name": name, "sms": attr("MULTIPROCESSOR_COUNT"),
             "max_threads_per_sm": per_sm,
             "memory_bytes": memory, "l2_bytes": attr("L2_CACHE_SIZE"),
             "link": pcie_link(gen, width) if gen else None, "link_read_from": how,
             "datasheet": found[0] if found else None,
             "hbm_Bps": found[1]["hbm_Bps"] if found else None,
             "fp32_flops": found[1]["fp32_flops"] if found else None,
             "source": found[1]["source"] if found else "no datasheet in the course: measure"}
    return facts


def _event_seconds(cuda, fn, repeat: int = 3) -> float:
    """Median GPU seconds of ``fn()`` (which queues GPU work), by CUDA events."""
    fn()
    cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = cuda.event(), cuda.event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cuda.event_elapsed_time(start, end) / 1e3)
    return statistics.median(times)


def measure_bandwidth(nbytes: int = 2**28) -> tuple[float, str]:
    """(bytes/s, whose) of device memory: a device-to-device copy of ``nbytes`` timed with CUDA
    events, counting the bytes read and written, on a GPU; the reference GPU's measured copy
    rate without one (labelled)."""
    if on_simulator() or _state["mode"] != "gpu":
        return reference_gpu()["d2d_copy_GBps"] * 1e9, reference_label()
    from numba import cuda

    a = cuda.device_array(nbytes // 4, dtype=np.float32)
    b = cuda.device_array_like(a)
    seconds = _event_seconds(cuda, lambda: b.copy_to_device(a))
    return 2 * a.nbytes / seconds, f"this GPU ({device_name()}), measured now"


def library_matmul_tflops(A, B, repeat: int = 3) -> dict:
    """{"cublas_fp32_TFLOPs": rate} of the vendor library (cuBLAS, through CuPy) on the float32
    device arrays A and B, when CuPy is installed and a GPU is here; {} otherwise (show the
    reference GPU's figures instead)."""
    if on_simulator():
        return {}
    try:
        import cupy as cp
    except Exception:  # noqa: BLE001 - CuPy is optional
        return {}
    a, b = cp.asarray(A), cp.asarray(B)
    start, end = cp.cuda.Event(), cp.cuda.Event()
    cp.matmul(a, b)
    cp.cuda.Device().synchronize()
    start.record()
    for _ in range(repeat):
        cp.matmul(a, b)
    end.record()
    end.synchronize()
    seconds = cp.cuda.get_elapsed_time(start, end) / 1e3 / repeat
    return {"cublas_fp32_TFLOPs": 2 * a.shape[0] * a.shape[1] * b.shape[1] / seconds / 1e12}


# The GPU's own cost per launch of a tiny kernel, launches queued behind a long kernel so that
# numba's host dispatch is hidden: ~1.8 µs on the reference H200 (2026-12-04, measured
# separately from the JSON's figures; data/gpu_reference/README.md).
REFERENCE_LAUNCH_GPU_S = 1.8e-6


def _wall(cuda, fn, repeat: int = 3) -> float:
    """Median wall seconds of ``fn()``, the GPU idle before and synchronised after."""
    times = []
    for _ in range(repeat):
        cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def copy_rates(sizes_bytes=None, repeat: int = 3) -> dict:
    """Host<->device copy rates, GB/s, six ways, per size: ``{"whose": ..., "rows": [...]}``,
    each row ``{"MiB", "h2d_to_device_new_GBps"`` (``cuda.to_device``: allocate + copy),
    ``"h2d_pageable_GBps"`` (a numpy array into a preallocated device array),
    ``"h2d_pinned_GBps"`` (``cuda.pinned_array`` into a preallocated one), ``"d2h_new_array_GBps"``
    (``copy_to_host()``: a new numpy array), ``"d2h_pageable_GBps"`` (into a preallocated numpy
    array), ``"d2h_pinned_GBps"`` (into a pinned one)}.

    Measured on a GPU (``sizes_bytes``, default 1 MiB, 16 MiB, 1 GiB); without one, or with
    ``sizes_bytes=None`` off a GPU, the reference GPU's measured rows, labelled.

    >>> import os
    >>> r = copy_rates() if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else None
    >>> r is None or r["rows"][-1]["h2d_pinned_GBps"] > 5 * r["rows"][-1]["h2d_pageable_GBps"]
    True
    """
    if on_simulator() or _state["mode"] != "gpu":
        return {"whose": reference_label(), "rows": reference_gpu()["copies"]}
    from numba import cuda

    rows = [_copy_row(cuda, int(nbytes) // 4, repeat)
            for nbytes in sizes_bytes or (2**20, 2**24, 2**30)]
    return {"whose": f"this GPU ({device_name()}), measured now", "rows": rows}


def _copy_row(cuda, n: int, repeat: int) -> dict:
    """One row of :func:`copy_rates`: n float32 values copied six ways, GB/s."""
    host = np.ones(n, dtype=np.float32)
    host_out = np.zeros(n, dtype=np.float32)  # preallocated and touched
    pinned = cuda.pinned_array(n, dtype=np.float32)
    pinned[:] = 1.0
    pinned_out = cuda.pinned_array(n, dtype=np.float32)
    dev = cuda.device_array(n, dtype=np.float32)
    gb = 4 * n / 1e9
    return {"MiB": 4 * n / 2**20,
            "h2d_to_device_new_GBps": gb / _wall(cuda, lambda: cuda.to_device(host), repeat),
            "h2d_pageable_GBps": gb / _wall(cuda, lambda: dev.copy_to_device(host), repeat),
            "h2d_pinned_GBps": gb / _wall(cuda, lambda: dev.copy_to_device(pinned), repeat),
            "d2h_new_array_GBps": gb / _wall(cuda, dev.copy_to_host, repeat),
            "d2h_pageable_GBps": gb / _wall(cuda, lambda: dev.copy_to_host(host_out), repeat),
            "d2h_pinned_GBps": gb / _wall(cuda, lambda: dev.copy_to_host(pinned_out), repeat)}


_TWICE: dict = {}


def overlap_demo(n: int | None = None, streams: int = 8, repeat: int = 3) -> dict:
    """Copy in, a kernel (``out = 2 x + 1``) and copy out for ``n`` float32 values in pinned
    host memory: one after another, and split into chunks on ``streams`` CUDA streams so that
    copies overlap the kernel and each other. Returns ``{"serial_s", "overlapped_s", "n",
    "streams", "whose"}``: measured on a GPU; without one (or ``n=None`` off a GPU) the reference
    GPU's figures (2^26 values, 8 streams), labelled.

    >>> import os
    >>> r = overlap_demo() if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else None
    >>> r is None or r["overlapped_s"] < r["serial_s"]
    True
    """
    if n is None or on_simulator() or _state["mode"] != "gpu":
        ref = reference_gpu()["streams"]
        return {"serial_s": ref["serial_s"], "overlapped_s": ref["overlapped_8_streams_s"],
                "n": ref["n"], "streams": 8, "whose": reference_label()}
    from numba import cuda

    if "kernel" not in _TWICE:
        @cuda.jit
        def twice_plus_one(x, out):
            for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
                out[i] = 2.0 * x[i] + 1.0

        _TWICE["kernel"] = twice_plus_one
    kernel = _TWICE["kernel"]
    h_in = cuda.pinned_array(n, dtype=np.float32)
    h_in[:] = 1.0
    h_out = cuda.pinned_array(n, dtype=np.float32)
    d_in, d_out = cuda.device_array(n, dtype=np.float32), cuda.device_array(n, dtype=np.float32)
    queues = [cuda.stream() for _ in range(streams)]
    bounds = [(i * n // streams, (i + 1) * n // streams) for i in range(streams)]

    def serial():
        d_in.copy_to_device(h_in)
        kernel[1024, 256](d_in, d_out)
        d_out.copy_to_host(h_out)

    def overlapped():
        for q, (lo, hi) in zip(queues, bounds, strict=True):
            d_in[lo:hi].copy_to_device(h_in[lo:hi], stream=q)
            kernel[256, 256, q](d_in[lo:hi], d_out[lo:hi])
            d_out[lo:hi].copy_to_host(h_out[lo:hi], stream=q)

    serial()
    overlapped()  # compiled, warmed up
    return {"serial_s": _wall(cuda, serial, repeat),
            "overlapped_s": _wall(cuda, overlapped, repeat), "n": n, "streams": streams,
            "whose": f"this GPU ({device_name()}), measured now"}


def board_power(samples: int = 1, interval_s: float = 0.05, load=None) -> dict:
    """GPU 0's board power: ``{"watts": median of the samples, "limit_w": its power limit,
    "whose": ...}`` through NVML (the ``nvidia-ml-py`` package) when it is installed and a
    GPU is here, sampled ``samples`` times ``interval_s`` apart; with ``load`` (a function that
    queues GPU work, e.g. a matmul), while a background thread calls it again and again.
    Else the reference GPU's measured figures: ``watts`` its median during a BF16 matmul loop,
    ``idle_w`` after work, and its 700 W limit, labelled.

    >>> import os
    >>> os.environ.get("NUMBA_ENABLE_CUDASIM") != "1" or board_power()["watts"] > 600
    True
    """
    nvml = None if on_simulator() else _nvml()
    if nvml is not None:
        import threading

        stop = threading.Event()

        def keep_busy():
            while not stop.is_set():
                load()

        worker = threading.Thread(target=keep_busy, daemon=True) if load is not None else None
        try:
            h = nvml.nvmlDeviceGetHandleByIndex(0)
            if worker is not None:
                worker.start()
                time.sleep(max(interval_s, 0.2))  # let the clocks and the power settle
            watts = []
            for i in range(max(1, int(samples))):
                if i:
                    time.sleep(interval_s)
                watts.append(nvml.nvmlDeviceGetPowerUsage(h) / 1e3)  # mW -> W
            limit = nvml.nvmlDeviceGetEnforcedPowerLimit(h) / 1e3
            return {"watts": statistics.median(watts), "limit_w": limit,
                    "whose": f"this GPU ({device_name()}), NVML now"
                             + (", under load" if worker is not None else "")}
        except Exception:  # noqa: BLE001 - fall back to the reference data
            pass
        finally:
            stop.set()
            if worker is not None and worker.is_alive():
                worker.join(timeout=30)
    p = reference_gpu()["power"]
    return {"watts": p["bf16_matmul_W_median"], "idle_w": statistics.median(p["idle_W"]),
            "limit_w": DATASHEETS["H200"]["max_power_w"],
            "during": f"a BF16 matmul loop at {p['bf16_TFLOPs_during']:.0f} TFLOP/s",
            "whose": reference_label()}


def gpu_ceilings() -> dict:
    """The GPU's own ceilings for a roofline (notebook 08): ``copy_Bps`` (device memory,
    measured by :func:`measure_bandwidth`) and ``fp32_flops`` / ``bf16_flops`` (a matmul through
    the library: CuPy's cuBLAS when installed), each with ``whose``; without a GPU, or
    without CuPy for the matmul, the reference GPU's measured figures, labelled.

    >>> import os
    >>> c = gpu_ceilings() if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else None
    >>> c is None or (c["copy_Bps"] > 1e12 and c["bf16_flops"] > c["fp32_flops"])
    True
    """
    copy_bps, copy_whose = measure_bandwidth()
    ref = {row["n"]: row for row in reference_gpu()["matmul"]}[4096]
    out = {"copy_Bps": copy_bps, "copy_whose": copy_whose,
           "fp32_flops": ref["cublas_fp32_TFLOPs"] * 1e12,
           "bf16_flops": ref["cublas_bf16_TFLOPs"] * 1e12,
           "matmul_whose": f"{reference_label()}, cuBLAS, n = 4096"}
    if not on_simulator() and _state["mode"] == "gpu":
        from numba import cuda

        n = 4096
        a = cuda.to_device(np.random.default_rng(0).random((n, n), dtype=np.float32))
        rate = library_matmul_tflops(a, a)
        if rate:
            out["fp32_flops"] = rate["cublas_fp32_TFLOPs"] * 1e12
            out["matmul_whose"] = (f"this GPU ({device_name()}), cuBLAS FP32 via CuPy, n = 4096; "
                                   f"BF16: {reference_label()}")
    return out


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

"""What machine and environment the notebooks run on, and how fast it is.

:func:`machine_profile` reports the numbers the course's measurements depend
on (cores, memory, GPU or not); :func:`environment_report` compares the
installed packages with the course's pins and says how to fix what is off.
Neither imports the heavy libraries it reports on, except
:func:`gpu_status`, which asks numba (only if numba is installed).

:func:`machine_constants` *measures* the machine once, in a few seconds, and
caches the result per user (``$XDG_CACHE_HOME/parallel-ml-systems/``, by
default ``~/.cache/parallel-ml-systems/``), keyed by what identifies the
machine (host name, CPU model, cores, numpy version): its memory bandwidth
(a copy kernel over arrays several times the last-level cache), its
matrix-product FLOP/s in float64 and float32 (a large ``np.matmul``), and,
when Ray is running or asked for, what a Ray task costs. Notebooks use these
as the machine's constants when they predict; ``refresh=True`` measures again.

>>> p = machine_profile(check_gpu=False)
>>> p["cores"] >= 1 and p["memory_gib"] > 0
True
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import math
import os
import platform
import shutil
import socket
import time
from pathlib import Path

from .ray_session import available_cpus

__all__ = ["PLAUSIBLE", "cache_dir", "check_plausible", "environment_report", "gpu_status",
           "machine_constants", "machine_key", "machine_profile", "measure_speeds", "read_pins",
           "show_constants", "show_profile"]

# The packages whose versions change what a notebook shows.
KEY_PACKAGES = ("numpy", "pandas", "matplotlib", "ray", "modin", "numba", "nbgrader",
                "jupyterlab", "ipywidgets")

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"


def _memory_bytes() -> tuple[int, int]:
    """(total, available) bytes of RAM; (0, 0) when unknown."""
    try:
        import psutil

        vm = psutil.virtual_memory()
        return int(vm.total), int(vm.available)
    except ImportError:
        pass
    try:
        info = {}
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, value = line.split(":", 1)
            info[key] = int(value.split()[0]) * 1024
        return info["MemTotal"], info.get("MemAvailable", 0)
    except (OSError, KeyError, ValueError):
        return 0, 0


def gpu_status() -> dict:
    """Is there a CUDA GPU numba can use? Returns ``{"gpu": bool, "name": str, "note": str}``.

    Without one, the course's kernels run on numba's CUDA simulator (set
    ``NUMBA_ENABLE_CUDASIM=1`` before numba is imported): correct, but
    thousands of times slower than a GPU.
    """
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return {"gpu": False, "name": "",
                "note": "NUMBA_ENABLE_CUDASIM=1: kernels run on numba's CUDA simulator (CPU)"}
    if shutil.which("nvidia-smi") is None and not Path("/dev/nvidia0").exists():
        return {"gpu": False, "name": "",
                "note": "no NVIDIA GPU found: kernels will run on numba's CUDA simulator (CPU)"}
    try:
        from numba import cuda

        if cuda.is_available():
            name = cuda.get_current_device().name
            name = name.decode() if isinstance(name, bytes) else str(name)
            return {"gpu": True, "name": name, "note": "CUDA GPU available to numba"}
        return {"gpu": False, "name": "",
                "note": "a GPU driver is present but numba cannot use it; kernels will run on "
                        "numba's CUDA simulator"}
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable GPU"
        return {"gpu": False, "name": "", "note": f"numba could not use CUDA ({exc})"}


def machine_profile(check_gpu: bool = True) -> dict:
    """The machine in numbers: OS, Python, cores, memory, GPU, key library versions.

    ``cores`` is what this process may use (affinity-aware); ``memory_gib``
    the total RAM. With ``check_gpu=False`` numba is not consulted.
    """
    total, available = _memory_bytes()
    profile = {
        "os": f"{platform.system()} {platform.release()}",
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cores": available_cpus(),
        "logical_cpus": os.cpu_count() or 1,
        "memory_gib": round(total / 2**30, 1),
        "memory_available_gib": round(available / 2**30, 1),
    }
    if check_gpu:
        profile.update({f"gpu_{k}" if k != "gpu" else "gpu": v for k, v in gpu_status().items()})
    for name in KEY_PACKAGES:
        try:
            profile[name] = md.version(name)
        except md.PackageNotFoundError:
            profile[name] = None
    return profile


def read_pins(path: str | os.PathLike | None = None) -> dict[str, str]:
    """``{package: version}`` from a requirements file of ``name==version`` lines.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "r.txt"
    >>> _ = f.write_text("# comment\\nnumpy==2.4.6\\nRay==2.60.0  # tasks\\n")
    >>> read_pins(f)
    {'numpy': '2.4.6', 'ray': '2.60.0'}
    """
    path = Path(path) if path is not None else REQUIREMENTS
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "==" not in line:
            raise ValueError(f"{path}: expected 'name==version', got {raw!r}")
        name, version = (s.strip() for s in line.split("==", 1))
        pins[name.lower().replace("_", "-")] = version
    return pins


def environment_report(pins: dict[str, str] | None = None) -> list[dict]:
    """Compare installed packages with the course's pins.

    Returns one row per pinned package: ``package``, ``pinned``,
    ``installed`` (None when missing) and ``status`` (``ok``, ``missing`` or
    ``different``). With no ``pins`` given, reads the repository's
    ``requirements.txt`` (or, when that is not there, reports installed
    versions of the key packages).
    """
    if pins is None:
        pins = read_pins() if REQUIREMENTS.exists() else {k: "" for k in KEY_PACKAGES}
    rows = []
    for name, pinned in pins.items():
        try:
            installed = md.version(name)
        except md.PackageNotFoundError:
            installed = None
        if installed is None:
            status = "missing"
        elif pinned and installed != pinned:
            status = "different"
        else:
            status = "ok"
        rows.append({"package": name, "pinned": pinned, "installed": installed, "status": status})
    return rows


def show_profile(check_gpu: bool = True, constants: bool = False) -> dict:
    """Print the machine profile and the environment check in plain words; return the profile.

    With ``constants=True`` also print the machine's measured constants
    (:func:`machine_constants`: cached, or measured now in a few seconds).
    """
    p = machine_profile(check_gpu=check_gpu)
    print(f"Machine : {p['os']}, {p['cpu']}, Python {p['python']}")
    print(f"Cores   : {p['cores']} usable (of {p['logical_cpus']} logical CPUs)")
    print(f"Memory  : {p['memory_gib']} GiB total, {p['memory_available_gib']} GiB available")
    if check_gpu:
        print(f"GPU     : {p['gpu_name'] or 'none'} ({p['gpu_note']})")
    rows = environment_report()
    bad = [r for r in rows if r["status"] != "ok"]
    if not bad:
        print(f"Packages: all {len(rows)} pinned packages installed at the pinned versions")
    else:
        print("Packages that need attention:")
        for r in bad:
            have = r["installed"] or "not installed"
            print(f"  {r['package']:<14} pinned {r['pinned'] or '-':<10} here {have}")
        print("Fix: from the course folder run `make install` "
              "(or `pip install -r requirements.txt`), then restart the kernel.")
    if constants:
        show_constants()
    return p


# --------------------------------------------------------------------------- measured constants

#: Ranges a measurement must fall in to be believed (a typo in a unit, a
#: machine too busy to measure, or a timer gone wrong shows up here).
PLAUSIBLE = {
    "bandwidth_Bps": (0.5e9, 500e9),  # bytes/s: a phone to a many-channel server
    "flops_float64": (1e9, 2e13),  # FLOP/s: one slow core to a large server
    "flops_float32": (1e9, 4e13),
    "ray_task_overhead_s": (1e-5, 1.0),  # s of machine time per task
    "ray_round_trip_s": (1e-5, 1.0),  # s from .remote() to the result of an empty task
}

_CACHE_VERSION = 1


def cache_dir() -> Path:
    """Where the measured constants are cached: ``$XDG_CACHE_HOME/parallel-ml-systems``.

    ``XDG_CACHE_HOME`` defaults to ``~/.cache`` (the XDG base directory
    convention). Nothing is created here; :func:`machine_constants` creates it
    when it writes.

    >>> cache_dir().name
    'parallel-ml-systems'
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "parallel-ml-systems"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _last_level_cache_bytes() -> int:
    """Size of the largest CPU cache Linux reports (bytes); 0 when unknown."""
    sizes = []
    for f in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        try:
            text = f.read_text().strip().upper()
            scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
            sizes.append(int(text.rstrip("KMG")) * scale)
        except (OSError, ValueError):
            continue
    return max(sizes, default=0)


def machine_key() -> dict:
    """What identifies this machine for the cache: host name, CPU model, cores, numpy version.

    A new machine, more or fewer cores (a different container limit) or
    another numpy (another BLAS) is measured anew.

    >>> sorted(machine_key())
    ['cores', 'cpu', 'hostname', 'numpy']
    """
    import numpy as np

    return {"hostname": socket.gethostname(), "cpu": _cpu_model(), "cores": available_cpus(),
            "numpy": np.__version__}


def _cache_file(key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / f"machine-{digest}.json"


def _best_time(fn, repeats: int) -> float:
    """Fastest of ``repeats`` timed calls, seconds (after one untimed warm-up call)."""
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _measure_bandwidth(repeats: int) -> dict:
    """Copy bandwidth: ``b[:] = a`` over two arrays of 2x the last-level cache (64-128 MiB each).

    Counted as STREAM counts a copy: 8 bytes read + 8 bytes written per
    float64 element (the cache's write-allocate read is not counted).
    """
    import numpy as np

    llc = _last_level_cache_bytes()
    nbytes = min(max(2 * llc, 64 * 2**20), 128 * 2**20)
    n = nbytes // 8
    a = np.full(n, 1.5)
    b = np.empty_like(a)
    b.fill(0.0)  # touch every page before timing
    t = _best_time(lambda: np.copyto(b, a), repeats)
    return {"bandwidth_Bps": 2 * 8 * n / t, "bandwidth_array_bytes": int(8 * n),
            "last_level_cache_bytes": int(llc)}


def _measure_flops(repeats: int, n: int = 1024) -> dict:
    """FLOP/s of ``A @ B`` for n x n matrices (2 n^3 FLOPs), float64 and float32 (best time)."""
    import numpy as np

    rng = np.random.default_rng(0)
    out = {"matmul_n": n}
    for dtype in (np.float64, np.float32):
        A = rng.standard_normal((n, n)).astype(dtype)
        B = rng.standard_normal((n, n)).astype(dtype)
        C = np.empty((n, n), dtype=dtype)
        t = _best_time(lambda A=A, B=B, C=C: np.matmul(A, B, out=C), repeats)
        out[f"flops_{np.dtype(dtype).name}"] = 2 * n**3 / t
    return out


def _noop() -> None:
    return None


def _measure_ray(n_tasks: int = 400) -> dict:
    """What an empty Ray task costs: the round trip, and machine time per task at full throughput.

    ``ray_task_overhead_s`` = CPUs / (empty tasks per second when ``n_tasks``
    are submitted at once): notebook 03's overhead ``o``.
    """
    import ray

    noop = ray.remote(_noop)
    ray.get([noop.remote() for _ in range(2 * int(ray.cluster_resources().get("CPU", 1)))])
    trips = []
    for _ in range(30):
        t0 = time.perf_counter()
        ray.get(noop.remote())
        trips.append(time.perf_counter() - t0)
    best = math.inf
    for _ in range(2):
        t0 = time.perf_counter()
        ray.get([noop.remote() for _ in range(n_tasks)])
        best = min(best, time.perf_counter() - t0)
    cpus = float(ray.cluster_resources().get("CPU", 1))
    return {"ray_round_trip_s": float(sorted(trips)[len(trips) // 2]),
            "ray_tasks_per_s": n_tasks / best, "ray_task_overhead_s": cpus * best / n_tasks,
            "ray_cpus": cpus}


def _measure_ray_started() -> dict:
    """:func:`_measure_ray`, starting Ray the course's way (and stopping it) if it is not running.

    ``ray_start_s`` says how long starting Ray took (0 when it was running): it is
    not part of the measurement.
    """
    from . import ray_session

    if ray_session.is_running():
        return {**_measure_ray(), "ray_start_s": 0.0}
    t0 = time.perf_counter()
    with ray_session.session():
        started = time.perf_counter() - t0
        return {**_measure_ray(), "ray_start_s": started}


def measure_speeds(ray: bool | None = None, repeats: int = 5) -> dict:
    """Measure the machine now (no cache): bandwidth, matmul FLOP/s and, optionally, Ray's overhead.

    ``ray=None``: measure Ray's task overhead only when this process is
    already connected to Ray; ``True``: start Ray the course's way if needed
    (and stop it again), which adds Ray's start-up time; ``False``: never.
    Takes a few seconds (``seconds`` in the result says how many, not counting
    Ray's start-up, which ``ray_start_s`` reports). The figures are
    best-of-``repeats``: the machine at its least disturbed.
    """
    from . import ray_session

    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    t0 = time.perf_counter()
    out = {**_measure_bandwidth(2 * repeats), **_measure_flops(repeats)}
    out.update(dict.fromkeys(("ray_round_trip_s", "ray_tasks_per_s", "ray_task_overhead_s",
                              "ray_cpus", "ray_start_s")))
    if ray or (ray is None and ray_session.is_running()):
        out.update(_measure_ray_started())
    out["seconds"] = time.perf_counter() - t0 - (out["ray_start_s"] or 0.0)
    out["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return out


def check_plausible(constants: dict) -> list[str]:
    """Problems with measured constants: each figure outside its :data:`PLAUSIBLE` range.

    >>> check_plausible({"bandwidth_Bps": 20e9, "flops_float64": 5e12})
    []
    >>> check_plausible({"bandwidth_Bps": 20e6})
    ['bandwidth_Bps = 2e+07 is outside the plausible range [5e+08, 5e+11]']
    """
    problems = []
    for name, (lo, hi) in PLAUSIBLE.items():
        value = constants.get(name)
        if value is None:
            continue
        if not (isinstance(value, int | float) and lo <= value <= hi):
            problems.append(f"{name} = {value:.3g} is outside the plausible range [{lo:.3g}, "
                            f"{hi:.3g}]")
    return problems


def machine_constants(refresh: bool = False, ray: bool | None = None) -> dict:
    """This machine's measured constants, from the cache or measured now (a few seconds).

    Keys: ``bandwidth_Bps`` (bytes/s, a copy counted as STREAM counts it),
    ``flops_float64`` and ``flops_float32`` (FLOP/s of a 1024 x 1024
    ``np.matmul``), ``ray_round_trip_s``, ``ray_tasks_per_s`` and
    ``ray_task_overhead_s`` (None when Ray was not measured), ``seconds`` (how
    long measuring took; ``ray_start_s``: how long starting Ray took, if it had
    to be started), ``measured_at``, ``key`` (:func:`machine_key`) and
    ``cached`` (True when read from the cache).

    ``refresh=True`` measures again. ``ray`` as in :func:`measure_speeds`;
    a cached result without Ray's figures gains them (and is saved again) when
    Ray is running or ``ray=True``. A cache that cannot be written (read-only
    home) is not an error: the result is then simply not cached.
    """
    from . import ray_session

    key = machine_key()
    path = _cache_file(key)
    cached = None
    if not refresh:
        try:
            data = json.loads(path.read_text())
            if data.get("version") == _CACHE_VERSION and data.get("key") == key:
                cached = data["constants"]
        except (OSError, ValueError, KeyError, TypeError):
            cached = None
    want_ray = bool(ray) or (ray is None and ray_session.is_running())
    if cached is not None and not (want_ray and cached.get("ray_task_overhead_s") is None):
        return {**cached, "key": key, "cached": True}
    if cached is not None:  # the rest is cached: only Ray's overhead is new
        t0 = time.perf_counter()
        cached.update(_measure_ray_started())
        cached["seconds"] = (cached.get("seconds", 0.0) + time.perf_counter() - t0
                             - cached["ray_start_s"])
        constants = cached
    else:
        constants = measure_speeds(ray=ray)
    problems = check_plausible(constants)
    if not problems:  # never cache a measurement that went wrong
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": _CACHE_VERSION, "key": key,
                                       "constants": constants}, indent=1))
            tmp.replace(path)  # atomic: a parallel run never reads half a file
        except OSError:
            pass
    return {**constants, "key": key, "cached": False, "problems": problems}


def show_constants(refresh: bool = False, ray: bool | None = None) -> dict:
    """Print :func:`machine_constants` in plain words; return them."""
    from .metrics import format_bytes, format_time

    c = machine_constants(refresh=refresh, ray=ray)
    how = (f"cached, measured {c['measured_at']}" if c["cached"]
           else f"measured now in {c['seconds']:.1f} s"
           + (f", after {c['ray_start_s']:.0f} s starting Ray" if c.get("ray_start_s") else ""))
    print(f"Measured constants of this machine ({how}):")
    print(f"  memory bandwidth : {c['bandwidth_Bps'] / 1e9:6.1f} GB/s   (copy of "
          f"{format_bytes(c['bandwidth_array_bytes'])} arrays, STREAM byte count)")
    print(f"  matmul float64   : {c['flops_float64'] / 1e9:6.1f} GFLOP/s (n = {c['matmul_n']})")
    print(f"  matmul float32   : {c['flops_float32'] / 1e9:6.1f} GFLOP/s")
    if c.get("ray_task_overhead_s") is not None:
        print(f"  Ray empty task   : {format_time(c['ray_round_trip_s'])} round trip, "
              f"{c['ray_tasks_per_s']:,.0f} tasks/s, overhead o = "
              f"{format_time(c['ray_task_overhead_s'])} per task")
    else:
        print("  Ray empty task   : not measured (Ray was not running; pass ray=True)")
    for problem in c.get("problems", []):
        print(f"  warning: {problem} (busy machine? run again with refresh=True)")
    return c

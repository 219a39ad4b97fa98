"""What machine and environment the notebooks run on.

:func:`machine_profile` reports the numbers the course's measurements depend
on (cores, memory, GPU or not); :func:`environment_report` compares the
installed packages with the course's pins and says how to fix what is off.
Neither imports the heavy libraries it reports on, except
:func:`gpu_status`, which asks numba (only if numba is installed).

>>> p = machine_profile(check_gpu=False)
>>> p["cores"] >= 1 and p["memory_gib"] > 0
True
"""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import shutil
from pathlib import Path

from .ray_session import available_cpus

__all__ = ["environment_report", "gpu_status", "machine_profile", "read_pins", "show_profile"]

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


def show_profile(check_gpu: bool = True) -> dict:
    """Print the machine profile and the environment check in plain words; return the profile."""
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
    return p

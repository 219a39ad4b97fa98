"""Power and energy on this machine: the CPU's energy counters where they can be read, and
how busy a call keeps the cores, for a power model where they cannot (notebook 08, section 4).

* :func:`read_rapl` reads the RAPL counters (``/sys/class/powercap``) where they exist and
  are readable, and returns ``None`` where not; :func:`rapl_joules` turns two readings
  into joules per zone;
* :func:`sample_busy_cores` records how many cores a call keeps busy, over time
  (:class:`UtilisationTrace`).

>>> read_rapl(root="/nonexistent") is None
True
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._model_args import positive as _positive

__all__ = ["RAPL_ROOT", "UtilisationTrace", "rapl_joules", "read_rapl", "sample_busy_cores"]


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

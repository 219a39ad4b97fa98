"""Every notebook runs within Binder's limits: 2 GB of memory and 1 CPU.

Each master runs top to bottom (tests/nbrun.py, as in test_notebooks_run) in a fresh process
placed in cgroups (v1) of its own: a memory cgroup limited to 2 GiB and a cpu cgroup with a
CFS quota of one CPU (what Binder's containers get: one CPU's worth of time, on any core),
with ``COURSE_CPUS=1``, as Binder's ``start`` sets it from that quota. Its children, the
kernel and every Ray process, inherit the cgroups, so the limits hold for all of them
together: going over 2 GiB makes the kernel's OOM killer kill one of them, and the notebook
fails. Two notebooks run at a time (this machine has two CPUs), each in cgroups of its own.
Where the cpu controller cannot be used, the process is pinned to one core instead.

Measured per notebook (printed with the other notebooks' figures at the end of the run, and
written to tests/artifacts/binder_limits.txt): the peak PSS of the process tree (as
test_notebooks_run measures it), the memory cgroup's ``memory.max_usage_in_bytes`` (which
also counts the page cache: files read, libraries mapped) and its peak of resident plus
shared memory (``rss + shmem`` from ``memory.stat``, sampled: what cannot be reclaimed).

Needs root and a writable cgroup v1 memory hierarchy; skipped, saying why, without them,
except with ``AUTOGRADE_REQUIRE_SANDBOX=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograde import course
from tests.conftest import ASSIGNMENTS

pytestmark = pytest.mark.binder

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
LIMIT = 2 * 2**30  # bytes: Binder's memory limit
CPU_PERIOD_US = 100_000  # CFS period; a quota of one period = one CPU
CGROUP_V1 = Path("/sys/fs/cgroup")
# What Binder's `start` sets for a learner with a quota of one CPU.
BINDER_ENV = {"COURSE_CPUS": "1"}
TIMEOUT = 600  # s per notebook, on one CPU
PARALLEL = 2  # notebooks at a time
RAY_START_TIMEOUT = "timed out during startup"  # what Ray says when its raylet starts too slowly


def _own_cgroup(controller: str, probe_file: str) -> Path | None:
    """The cgroup (v1) of ``controller`` this process is in, as a folder, or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            folder = CGROUP_V1 / controller / path.lstrip("/")
            return folder if (folder / probe_file).exists() else None
    return None


def _own_memory_cgroup() -> Path | None:
    return _own_cgroup("memory", "memory.limit_in_bytes")


def _own_cpu_cgroup() -> Path | None:
    return _own_cgroup("cpu", "cpu.cfs_quota_us")


def _try_mkdir(parent: Path | None, name: str, files: dict[str, int]) -> str | None:
    """Make (and remove) a child cgroup with ``files`` written; None or the reason it failed."""
    if parent is None:
        return "not mounted"
    probe = parent / name
    try:
        probe.mkdir()
        for file, value in files.items():
            (probe / file).write_text(str(value))
    except OSError as exc:
        return f"cannot make a cgroup under {parent}: {exc}"
    finally:
        try:
            probe.rmdir()
        except OSError:
            pass
    return None


def _why_no_cgroups() -> str | None:
    """None when this process can make memory cgroups; else the reason it cannot."""
    if not sys.platform.startswith("linux"):
        return "memory cgroups are Linux only"
    if os.geteuid() != 0:
        return "making a memory cgroup needs root"
    why = _try_mkdir(_own_memory_cgroup(), f"pms-binder-probe-{os.getpid()}",
                     {"memory.limit_in_bytes": LIMIT})
    return f"memory cgroup (v1): {why}" if why else None


def _cpu_quota_works() -> bool:
    return _try_mkdir(_own_cpu_cgroup(), f"pms-binder-probe-{os.getpid()}",
                      {"cpu.cfs_period_us": CPU_PERIOD_US,
                       "cpu.cfs_quota_us": CPU_PERIOD_US}) is None


class Cgroups:
    """A memory cgroup (v1) limited to ``limit`` bytes and, where ``cpu_quota``, a cpu cgroup
    with a quota of one CPU, both below this process's own; removed on exit, after their
    leftover processes (the notebook's, Ray's) are killed one by one."""

    def __init__(self, name: str, cpu_quota: bool, limit: int = LIMIT):
        leaf = f"pms-binder-{os.getpid()}-{name}"
        self.memory = _own_memory_cgroup() / leaf
        self.cpu = _own_cpu_cgroup() / leaf if cpu_quota else None
        self.limit = limit
        self.peak_rss_shmem = 0
        self._stop = threading.Event()

    @property
    def folders(self) -> list[Path]:
        return [self.memory] + ([self.cpu] if self.cpu else [])

    def __enter__(self) -> Cgroups:
        self.memory.mkdir()
        (self.memory / "memory.limit_in_bytes").write_text(str(self.limit))
        try:  # where swap is accounted, swap counts towards the limit too
            (self.memory / "memory.memsw.limit_in_bytes").write_text(str(self.limit))
        except OSError:
            pass
        if self.cpu:
            self.cpu.mkdir()
            (self.cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (self.cpu / "cpu.cfs_quota_us").write_text(str(CPU_PERIOD_US))
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def read(self, name: str) -> str:
        return (self.memory / name).read_text()

    def stat(self) -> dict[str, int]:
        return {k: int(v) for k, v in (ln.split() for ln in self.read("memory.stat").splitlines())}

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                s = self.stat()
                self.peak_rss_shmem = max(self.peak_rss_shmem,
                                          s.get("total_rss", 0) + s.get("total_shmem", 0))
            except (OSError, ValueError):
                pass
            self._stop.wait(0.2)

    def max_usage(self) -> int:
        return int(self.read("memory.max_usage_in_bytes"))

    def oom_kills(self) -> int:
        for line in self.read("memory.oom_control").splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in self.read("cgroup.procs").split()]
        except OSError:
            return []

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._sampler.join()
        deadline = time.monotonic() + 30
        for folder in reversed(self.folders):
            while True:
                for pid in self.pids():  # processes this test started
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)


CHILD = """
import json, os, sys
from pathlib import Path
folders, pin, notebook, out, timeout = sys.argv[1:6]
for folder in folders.split(os.pathsep):  # the kernel and Ray's processes inherit them
    Path(folder, "cgroup.procs").write_text(str(os.getpid()))
if pin != "-":
    os.sched_setaffinity(0, {int(pin)})
from nbclient.exceptions import CellExecutionError, DeadKernelError
from tests.nbrun import run_notebook
result = {"problems": []}
try:
    nb, result["seconds"], result["pss"] = run_notebook(Path(notebook), timeout=int(timeout))
except CellExecutionError as exc:
    result["problems"].append(f"a cell raised {exc.ename}: {exc.evalue}")
except DeadKernelError as exc:
    result["problems"].append(f"the kernel died (out of memory?): {exc}")
Path(out).write_text(json.dumps(result))
"""


def _run_limited(name: str, tmp: Path, cpu_quota: bool, pin: int | None) -> dict:
    """Run the master of ``name`` under the limits; return what was measured."""
    out = tmp / f"{name}.json"
    out.unlink(missing_ok=True)
    env = {**os.environ, **BINDER_ENV}
    with Cgroups(name, cpu_quota) as cg:
        try:
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, os.pathsep.join(map(str, cg.folders)),
                 "-" if pin is None else str(pin), str(course.master_path(name)), str(out),
                 str(TIMEOUT)],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT + 120)
            returncode, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as exc:  # its processes are killed with the cgroup
            returncode, stderr = None, f"did not finish in {exc.timeout:.0f} s"
        result = json.loads(out.read_text()) if out.exists() else {"problems": []}
        result.update(returncode=returncode, stderr=stderr[-3000:],
                      max_usage=cg.max_usage(), rss_shmem=cg.peak_rss_shmem,
                      oom_kills=cg.oom_kills(), failcnt=int(cg.read("memory.failcnt")),
                      cpu="quota 1" if cpu_quota else f"core {pin}")
    return result


@pytest.fixture(scope="module")
def measured(request, tmp_path_factory) -> dict[str, dict]:
    """The selected masters (all, unless -k picks some), run under the limits, PARALLEL at
    a time."""
    names = [item.callspec.params["name"] for item in request.session.items  # doctests too
             if getattr(item, "module", None) is request.module and hasattr(item, "callspec")]
    why = _why_no_cgroups()
    if why:
        if os.environ.get("AUTOGRADE_REQUIRE_SANDBOX") == "1":  # CI: never green unrun
            pytest.fail(f"AUTOGRADE_REQUIRE_SANDBOX=1, but Binder limits not tested: {why}")
        pytest.skip(f"Binder limits not tested: {why}")
    quota = _cpu_quota_works()
    cores = sorted(os.sched_getaffinity(0))
    free = [None] * PARALLEL if quota else [cores[i % len(cores)] for i in range(PARALLEL)]
    lock = threading.Lock()
    tmp = tmp_path_factory.mktemp("binder")

    def job(name):
        with lock:
            pin = free.pop()
        try:
            return name, _run_limited(name, tmp, quota, pin)
        finally:
            with lock:
                free.append(pin)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = dict(pool.map(job, names))
    # Ray gives its raylet 30 s to start (course_lib.ray_session tries twice); on a busy
    # machine, with another notebook running beside it, that can pass. Such a notebook runs
    # once more, alone.
    for name, r in list(results.items()):
        if any(RAY_START_TIMEOUT in p for p in r["problems"]):
            results[name] = _run_limited(name, tmp, quota, None if quota else cores[0])
            results[name]["retried"] = "; ".join(r["problems"])
    _report(results)
    return results


def _report(results: dict) -> None:
    from tests.nbrun import REPORT

    lines = ["Binder limits: 2 GiB memory cgroup, 1 CPU, COURSE_CPUS=1; masters, top to bottom",
             f"{'notebook':<28} {'cpu':>7} {'time s':>7} {'PSS':>6} {'rss+shmem':>9} "
             f"{'max_usage':>9} {'failcnt':>7} {'oom':>3}   (memory in MiB)"]
    for name, r in sorted(results.items()):
        if "seconds" in r:
            REPORT[f"{name} [binder]"] = {"seconds": r["seconds"], "peak_mib": r["pss"] / 2**20}
        lines.append(
            f"{name:<28} {r['cpu']:>7} {r.get('seconds', float('nan')):7.1f} "
            f"{r.get('pss', 0) / 2**20:6.0f} {r['rss_shmem'] / 2**20:9.0f} "
            f"{r['max_usage'] / 2**20:9.0f} {r['failcnt']:7d} {r['oom_kills']:3d}"
            + ("  (run again: Ray was slow to start the first time)" if r.get("retried") else "")
            + ("  FAILED: " + "; ".join(r["problems"]) if r["problems"] else ""))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "binder_limits.txt").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_notebook_runs_in_2_gb_on_one_cpu(measured, name):
    r = measured[name]
    assert r["oom_kills"] == 0, (
        f"{name}: went over Binder's {LIMIT / 2**30:.0f} GiB and the kernel killed "
        f"{r['oom_kills']} process(es) of it (peak PSS {r.get('pss', 0) / 2**20:.0f} MiB)")
    assert not r["problems"], f"{name} under Binder's limits: " + "; ".join(r["problems"])
    assert r["returncode"] == 0 and "seconds" in r, (
        f"{name}: the run under Binder's limits did not finish (exit {r['returncode']}):\n"
        f"{r['stderr']}")
    assert r["pss"] <= LIMIT, f"{name}: peak PSS {r['pss'] / 2**20:.0f} MiB over 2 GiB"

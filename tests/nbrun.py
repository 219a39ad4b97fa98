"""Run a notebook top to bottom with nbclient, measuring wall time and the peak
memory of the kernel and all its children (Ray's workers included): the sum of
their proportional set sizes (PSS), so that libraries shared by Ray's worker
processes are counted once, not once per process."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

REPORT: dict[str, dict] = {}


def _proportional_memory(proc: psutil.Process) -> int:
    """PSS where the OS reports it (shared pages split between the processes that
    share them: Ray's workers share most of their libraries), else RSS."""
    try:
        info = proc.memory_full_info()
        return int(getattr(info, "pss", info.rss))
    except psutil.AccessDenied:
        try:
            return proc.memory_info().rss
        except psutil.Error:
            return 0
    except psutil.Error:
        return 0


class _PeakMemory(threading.Thread):
    """Samples the memory (PSS) of a process tree every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop_event = threading.Event()

    def run(self):
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in procs:
                total += _proportional_memory(p)
            self.peak = max(self.peak, total)
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()


def run_notebook(path: Path, timeout: int = 300) -> tuple[nbformat.NotebookNode, float, int]:
    """Execute ``path`` in its own folder; return (executed notebook, seconds, peak bytes)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    t0 = time.perf_counter()
    monitor = None
    with client.setup_kernel():
        pid = client.km.provisioner.process.pid
        monitor = _PeakMemory(pid)
        monitor.start()
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        finally:
            monitor.stop()
    seconds = time.perf_counter() - t0
    REPORT[Path(path).stem] = {"seconds": seconds, "peak_mib": monitor.peak / 2**20}
    return nb, seconds, monitor.peak


def run_script_ok(code: str, timeout: int = 300) -> str:
    """Run ``code`` in a fresh interpreter from the repository root; it must exit 0, print
    ``OK`` last and write nothing to stderr (what nbgrader would score zero). Returns stdout."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=str(Path(__file__).resolve().parents[1]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("OK"), proc.stdout
    assert proc.stderr.strip() == "", f"stderr:\n{proc.stderr}"
    return proc.stdout

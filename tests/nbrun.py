"""Run a notebook top to bottom with nbclient (the cluster test), or a script in a fresh
interpreter."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run_notebook(path: Path, timeout: int = 300) -> tuple[nbformat.NotebookNode, float]:
    """Execute ``path`` in its own folder; return (executed notebook, seconds)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    t0 = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    return nb, time.perf_counter() - t0


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

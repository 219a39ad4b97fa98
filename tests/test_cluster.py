"""A real two-node Ray cluster on this machine: the Ray notebooks run on it unchanged.

The test starts a head node and a second node with ``ray start --block`` (one CPU
each, token authentication with a token of its own), runs the masters of
notebooks 03 and 04 (when 04 exists) with ``RAY_ADDRESS`` pointing at the head,
checks that tasks ran on both nodes, and stops the cluster whatever happens:
it terminates its own ``ray start`` processes (never ``ray stop``, which would
stop every Ray on the machine) and checks that none of the processes they
started survives.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from autograde.course import SOURCE_DIR, master_path
from tests.nbrun import run_notebook

pytestmark = [pytest.mark.cluster, pytest.mark.ray]

NOTEBOOKS = ["03_task_parallelism_ray"]  # the notebook that teaches a cluster
START_TIMEOUT_S = 180  # `ray start` took 25-40 s on the course's loaded 2-core machine
OBJECT_STORE_BYTES = 200 * 2**20  # per node


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_started(proc: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while "Ray runtime started" not in log.read_text(errors="replace"):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start in {START_TIMEOUT_S} s:\n"
                               f"{log.read_text()[-3000:]}")
        time.sleep(0.5)


def _descendants(procs: list[subprocess.Popen]) -> list[psutil.Process]:
    found = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            found += psutil.Process(proc.pid).children(recursive=True)
    return found


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class Cluster:
    """A head node and a worker node of our own, started with ``ray start --block``."""

    def __init__(self):
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        # short: Ray's socket paths must stay under 107 bytes
        self.tmp = Path(tempfile.mkdtemp(prefix="rc", dir="/tmp"))
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
               "RAY_AUTH_TOKEN": secrets.token_hex(32)}  # a token of our own, not ~/.ray's
        env.pop("RAY_ADDRESS", None)
        self.env = env
        self.procs: list[subprocess.Popen] = []
        self.seen: dict[int, psutil.Process] = {}  # every process the nodes started
        self._logs = []

    def _start(self, name: str, args: list[str]) -> None:
        log_path = self.tmp / f"{name}.log"
        log = open(log_path, "w+")
        self._logs.append(log)
        ray_cli = str(Path(sys.executable).parent / "ray")
        proc = subprocess.Popen(
            [ray_cli, "start", "--block", "--num-cpus=1", "--node-ip-address=127.0.0.1",
             f"--object-store-memory={OBJECT_STORE_BYTES}", f"--temp-dir={self.tmp}", *args],
            stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self.procs.append(proc)
        _wait_started(proc, log_path, f"`ray start` of the {name}")
        self.remember()

    def start(self) -> None:
        self._start("head", ["--head", f"--port={self.port}", "--include-dashboard=false"])
        self._start("node", [f"--address={self.address}"])

    def remember(self) -> None:
        """Note the processes the nodes have started so far (workers come and go)."""
        for p in _descendants(self.procs):
            self.seen.setdefault(p.pid, p)

    def client_env(self) -> dict[str, str]:
        return {"RAY_ADDRESS": self.address, "RAY_AUTH_MODE": "token",
                "RAY_AUTH_TOKEN": self.env["RAY_AUTH_TOKEN"], "RAY_USAGE_STATS_ENABLED": "0"}

    def stop(self) -> list[str]:
        """Terminate our `ray start` processes (the node first); return what survived."""
        self.remember()
        for proc in reversed(self.procs):  # with --block, `ray start` stops what it started
            proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        survivors = [p for p in self.seen.values() if _alive(p)]
        while survivors and time.monotonic() < deadline:
            time.sleep(0.5)
            survivors = [p for p in survivors if _alive(p)]
        report = []
        for p in survivors:  # clean up, then report them
            with contextlib.suppress(psutil.Error):
                report.append(f"{p.pid} {p.name()}")
                p.kill()
        for log in self._logs:
            log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return report


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        c.start()
        yield c
    finally:
        survivors = c.stop()
        assert not survivors, f"processes of the cluster survived its stop: {survivors}"


def _run_script(cluster: Cluster, code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **cluster.client_env()})
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_tasks_run_on_both_nodes(cluster):
    out = _run_script(cluster, """
        import time
        import course_lib as cl

        info = cl.ray_session.start()
        deadline = time.monotonic() + 60
        while len(cl.raytools.cluster_nodes()) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)  # the second node registers with the head
        nodes = cl.raytools.cluster_nodes()
        pinned = cl.raytools.tasks_per_node(n_tasks=6, pin=True)
        print("NODES", len(nodes), sum(n["CPU"] for n in nodes), info.local)
        print("PINNED", sorted(pinned.values()), set(pinned) == {n["node_id"] for n in nodes})
        cl.ray_session.stop()
    """)
    cluster.remember()
    assert "NODES 2 2.0 False" in out, out  # two nodes of one CPU each, joined, not local
    assert "PINNED [3, 3] True" in out, out  # each node ran the tasks pinned to it


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_the_cluster(cluster, name, monkeypatch):
    try:
        path = master_path(name)
    except ValueError:
        pytest.skip(f"no master for {name} yet")
    for key, value in cluster.client_env().items():
        monkeypatch.setenv(key, value)  # the kernel inherits them; restored afterwards
    nb, seconds = run_notebook(path)
    cluster.remember()
    outputs = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id"))
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{name} on the cluster: cell {gid} raised {errors[0].ename}: " \
                           f"{errors[0].evalue}"
        stderr = "".join(o.text for o in cell.outputs
                         if o.output_type == "stream" and o.name == "stderr")
        assert not stderr, f"{name} on the cluster: cell {gid} wrote to stderr: {stderr[:500]}"
        outputs[gid] = "".join(o.get("text", "") for o in cell.outputs
                               if o.output_type == "stream")
    text = "\n".join(outputs.values())
    assert f"connecting to the Ray cluster at RAY_ADDRESS={cluster.address}" in text, \
        f"{name} did not join the cluster (it must start Ray with cl.ray_session.start())"
    if name.startswith("03_"):
        assert "2 node(s) alive" in text, text[-2000:]
        assert "Ray has P = 2 CPUs" in text, text[:2000]
    print(f"{name} on a two-node cluster: {seconds:.0f} s")


def test_grading_spreads_over_the_cluster(cluster, tmp_path):
    """`autograde grade --cluster` (RAY_ADDRESS names the cluster): each submission is a Ray
    task of one CPU, so two submissions at once land on the two one-CPU nodes, and grade as
    they do locally.

    The grading runs in a fresh interpreter: Ray reads RAY_AUTH_MODE once per process, so a
    driver that joined this token-protected cluster could not start a plain local Ray later
    in the same pytest process (the energy and profile tests do)."""
    name = "00_welcome"
    root = tmp_path / "course"
    shutil.copytree(SOURCE_DIR / name, root / "source" / name)
    out = _run_script(cluster, f"""
        import json
        from autograde import synthetic
        from autograde.course import Course
        from autograde.grade import grade

        course = Course({str(root)!r})
        for student, make in (("right", synthetic.correct), ("blank", synthetic.blank)):
            synthetic.write(make({name!r}),
                            course.submitted(student, {name!r}) / "{name}.ipynb")
        results = grade(course, workers=2, log=lambda *_: None, progress=False, cluster=True)
        print("RESULTS", json.dumps({{r.student: [r.status, r.score, r.max_score, r.node]
                                     for r in results}}))
    """)
    cluster.remember()
    line = next(x for x in out.splitlines() if x.startswith("RESULTS "))
    results = json.loads(line.removeprefix("RESULTS "))
    (r_status, r_score, r_max, r_node), (b_status, b_score, _, b_node) = \
        results["right"], results["blank"]
    assert r_status == "ok" and r_score == r_max > 0, results
    assert b_status == "ok" and b_score == 0, results
    assert r_node and b_node and r_node != b_node, f"both ran on one node: {results}"

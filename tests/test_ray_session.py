"""Ray started the course's way: sized to the machine, capped, quiet, and stopped."""

import subprocess
import sys
import textwrap

import pytest

from course_lib import ray_session


def test_arguments_are_checked_before_ray_is_imported():
    with pytest.raises(ValueError, match="num_cpus"):
        ray_session.start(num_cpus=0)
    with pytest.raises(ValueError, match="object_store_mb"):
        ray_session.start(object_store_mb=10)
    assert not ray_session.is_running()


def test_available_cpus_is_positive():
    assert ray_session.available_cpus() >= 1


@pytest.mark.ray
def test_session_starts_quietly_sized_to_the_machine_and_stops():
    # In a fresh interpreter, as a notebook would: nothing may reach stderr.
    code = textwrap.dedent("""
        import course_lib as cl
        with cl.ray_session.session(num_cpus=10_000, object_store_mb=100) as info:
            import ray
            @ray.remote
            def square(x):
                return x * x
            assert ray.get([square.remote(i) for i in range(5)]) == [0, 1, 4, 9, 16]
            assert info.num_cpus == cl.ray_session.available_cpus(), info
            assert 90 <= info.object_store_mb <= 110, info
            assert info.local
            again = cl.ray_session.start()   # idempotent
            assert again.num_cpus == info.num_cpus
        assert not cl.ray_session.is_running()
        cl.ray_session.stop()                # safe twice
        print("OK", info)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert "OK RayInfo(local" in proc.stdout
    assert "asked for num_cpus=10000" in proc.stdout  # the cap is said, on stdout
    assert proc.stderr.strip() == "", f"Ray wrote to stderr:\n{proc.stderr}"


@pytest.mark.ray
def test_joins_an_existing_cluster_when_RAY_ADDRESS_is_set():
    """A head node of our own (stopped afterwards without touching any other Ray)."""
    import os
    import shutil
    import socket
    import tempfile
    import time
    from pathlib import Path

    ray_cli = str(Path(sys.executable).parent / "ray")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths max 107 bytes
    log = open(Path(tmp) / "head.log", "w+")
    head = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", "--num-cpus=1", f"--port={port}",
         "--node-ip-address=127.0.0.1", "--include-dashboard=false",
         "--object-store-memory=100000000", f"--temp-dir={tmp}"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in Path(log.name).read_text():
            assert head.poll() is None, f"ray start failed:\n{Path(log.name).read_text()}"
            assert time.monotonic() < deadline, "ray start took over 120 s"
            time.sleep(0.5)
        code = textwrap.dedent("""
            import course_lib as cl
            with cl.ray_session.session(num_cpus=2) as info:
                pass
            print(info.local, info.num_cpus)
        """)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=180, env={**env, "RAY_ADDRESS": f"127.0.0.1:{port}",
                                                "RAY_AUTH_MODE": "token"})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines()[0].startswith("connecting to the Ray cluster"), proc.stdout
        assert proc.stdout.split()[-2:] == ["False", "1.0"], proc.stdout  # the cluster's size
    finally:
        head.terminate()  # with --block, `ray start` stops the processes it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_available_cpus_respects_the_graders_share(monkeypatch):
    monkeypatch.delenv("COURSE_CPUS", raising=False)
    full = ray_session.available_cpus()
    monkeypatch.setenv("COURSE_CPUS", "1")
    assert ray_session.available_cpus() == 1
    monkeypatch.setenv("COURSE_CPUS", str(full + 5))
    assert ray_session.available_cpus() == full
    monkeypatch.setenv("COURSE_CPUS", "zero")
    assert ray_session.available_cpus() == full


def test_a_start_that_times_out_is_tried_again(monkeypatch):
    """Ray's raylet has 30 s (fixed) to register; on a loaded machine that passes, and the
    start is tried again, up to START_ATTEMPTS times, then reported with Ray's words."""
    import ray

    calls, failures = [], [ray_session.START_ATTEMPTS - 1]

    def fake_init(**kwargs):
        calls.append(kwargs)
        if len(calls) <= failures[0]:
            raise Exception("The current node timed out during startup. This could happen ...")

    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray_session, "_info", lambda _ray: "started")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert ray_session.start(num_cpus=1) == "started"
    assert len(calls) == ray_session.START_ATTEMPTS and calls[0]["address"] == "local"

    calls.clear()
    failures[0] = ray_session.START_ATTEMPTS  # it never starts: Ray's words reach the user
    with pytest.raises(RuntimeError, match="Ray failed to start: The current node timed out"):
        ray_session.start(num_cpus=1)
    assert len(calls) == ray_session.START_ATTEMPTS

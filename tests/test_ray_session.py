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

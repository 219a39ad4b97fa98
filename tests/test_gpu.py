"""course_lib.gpu: choosing the GPU or numba's simulator, timing kernels, the copy-cost model.

Everything that imports numba runs in a child process: numba reads NUMBA_ENABLE_CUDASIM
once, when it is imported, and the pytest process must stay as it was for the other tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from course_lib import gpu

REPO = Path(__file__).resolve().parent.parent


def _child(code: str, env_extra: dict | None = None, drop_sim: bool = True) -> tuple[int, str, str]:
    """Run ``code`` in a fresh Python (numba not imported yet); return (rc, stdout, stderr)."""
    env = dict(os.environ)
    if drop_sim:
        env.pop("NUMBA_ENABLE_CUDASIM", None)
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=180, cwd=REPO, env=env)
    return proc.returncode, proc.stdout, proc.stderr


# --------------------------------------------------------------------------- no numba here


def test_importing_gpu_imports_no_numba_and_sets_nothing():
    rc, out, err = _child("""
        import os, sys
        env = dict(os.environ)
        import course_lib.gpu as g
        print('numba' in sys.modules, env == dict(os.environ))
    """)
    assert rc == 0, err
    assert out.strip() == "False True"


def test_on_simulator_follows_the_variable_before_numba_is_imported(monkeypatch):
    if "numba.cuda" in sys.modules:
        pytest.skip("numba.cuda already imported in this process: numba's setting decides")
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    assert gpu.on_simulator() is True
    assert gpu.device_name() == gpu.SIMULATOR_NAME
    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM")
    assert gpu.on_simulator() is False


def test_setup_rejects_a_non_bool():
    with pytest.raises(TypeError, match="force_simulator"):
        gpu.setup(force_simulator="yes")


def test_published_bandwidths_and_their_sources():
    assert gpu.LINKS["pcie4"].bandwidth_Bps == pytest.approx(31.5e9, rel=1e-3)
    assert gpu.LINKS["pcie5"].bandwidth_Bps == pytest.approx(2 * gpu.LINKS["pcie4"].bandwidth_Bps)
    assert gpu.LINKS["nvlink4"].bandwidth_Bps == 450e9  # 900 GB/s counts both directions
    assert gpu.LINKS["hbm3"].bandwidth_Bps == 3.35e12
    assert all(link.source for link in gpu.LINKS.values())
    assert "GB/s per direction" in str(gpu.LINKS["pcie5"])


def test_h100_datasheet_figures_are_consistent():
    h = gpu.H100_SXM5
    assert (h["sms"], h["fp32_cores"]) == (132, 16_896)
    assert h["fp32_cores"] == 128 * h["sms"]
    # peak FP32 = cores x 2 FLOP (one fused multiply-add) x clock, within 1 %
    assert h["fp32_cores"] * 2 * h["boost_clock_hz"] == pytest.approx(h["fp32_flops"], rel=0.01)
    assert "whitepaper" in h["source"]


def test_copy_time_is_latency_plus_bytes_over_bandwidth():
    bw = gpu.LINKS["pcie5"].bandwidth_Bps
    assert gpu.copy_time(2e9, "pcie5", latency_s=5e-6) == pytest.approx(5e-6 + 2e9 / bw)
    assert gpu.copy_time(0) == gpu.COPY_LATENCY_S
    link = gpu.Link("test link", 1e9)
    t = gpu.copy_time(np.array([0, 1e9, 2e9]), link, latency_s=0.5)
    assert isinstance(t, np.ndarray)
    np.testing.assert_allclose(t, [0.5, 1.5, 2.5])


@pytest.mark.parametrize("kwargs, match", [
    ({"nbytes": -1}, "nbytes"),
    ({"nbytes": float("nan")}, "nbytes"),
    ({"nbytes": 10, "latency_s": -1e-6}, "latency_s"),
    ({"nbytes": 10, "link": "pcie9"}, "link"),
])
def test_copy_time_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gpu.copy_time(**kwargs)


def test_transfers_counts_bytes_each_way_and_models_time():
    log = gpu.Transfers()
    log.record("in", 1000)
    log.record("in", 3000)
    log.record("out", 500)
    assert (log.copies_in, log.copies_out, log.bytes_in, log.bytes_out) == (2, 1, 4000, 500)
    link = gpu.Link("slow", 1e3)
    assert log.modelled_seconds(link, latency_s=1.0) == pytest.approx(3 * 1.0 + 4500 / 1e3)
    assert log.measured_seconds() is None
    with pytest.raises(ValueError, match="direction"):
        log.record("up", 1)
    with pytest.raises(ValueError, match="nbytes"):
        log.record("in", -5)


def test_kernel_run_reports_what_and_where():
    r = gpu.KernelRun("k", (2, 3), (4, 8), (0.1, 0.3, 0.2), gpu.SIMULATOR_NAME, True)
    assert r.threads == 2 * 3 * 4 * 8 and r.median == 0.2
    assert "k[(2, 3), (4, 8)]" in str(r) and gpu.SIMULATOR_LABEL in str(r)
    real = gpu.KernelRun("k", (1,), (32,), (1e-5,), "NVIDIA H100", False)
    assert "GPU time" in str(real) and "not GPU speed" not in str(real)


def test_run_kernel_labels_a_cpu_stand_in_and_checks_sizes(capsys):
    class Fill:
        def __getitem__(self, config):
            def run(x):
                x[:] = 7

            return run

    x = np.zeros(3)
    run = gpu.run_kernel(Fill(), 2, 16, x, repeat=2)
    assert x.tolist() == [7, 7, 7] and len(run.seconds) == 2 and run.simulated
    assert "not GPU speed" in capsys.readouterr().out
    for bad in (0, 2.0, (2, -1), True):
        with pytest.raises(ValueError, match="integers >= 1"):
            gpu.run_kernel(Fill(), bad, 16, x, quiet=True)
    with pytest.raises(ValueError, match="repeat"):
        gpu.run_kernel(Fill(), 1, 16, x, repeat=0, quiet=True)


# --------------------------------------------------------------------------- numba, in a child


def test_setup_then_real_kernels_on_the_simulator():
    rc, out, err = _child("""
        import os, sys
        import numpy as np
        import course_lib as cl
        mode = cl.gpu.setup(force_simulator=True)
        assert 'numba' not in sys.modules or 'numba.cuda' not in sys.modules
        assert mode == 'simulator' and os.environ['NUMBA_ENABLE_CUDASIM'] == '1'
        from numba import cuda

        @cuda.jit
        def add(a, b, out):
            i = cuda.grid(1)
            if i < out.size:
                out[i] = a[i] + b[i]

        assert cl.gpu.on_simulator() and cl.gpu.device_name() == cl.gpu.SIMULATOR_NAME
        log = cl.gpu.Transfers()
        a = np.arange(50, dtype=np.float32)
        d_a, d_b = log.to_device(a), log.to_device(2 * a)
        d_out = cuda.device_array_like(a)
        run = cl.gpu.run_kernel(add, 2, 32, d_a, d_b, d_out)
        out = log.to_host(d_out)
        assert np.array_equal(out, 3 * a), out
        assert run.simulated and run.threads == 64 and run.device == cl.gpu.SIMULATOR_NAME
        assert (log.copies_in, log.bytes_in, log.bytes_out) == (2, 400, 200)
        assert log.measured_seconds() is None  # no time is measured on the simulator
        print('DONE')
    """)
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == ("cl.gpu: simulator forced (force_simulator=True): kernels run on "
                        "numba's CUDA simulator (CPU); results are right, run times are not "
                        "GPU speed"), out
    assert "add[2, 32]: 64 threads on numba's CUDA simulator" in lines[1]
    assert gpu.SIMULATOR_LABEL in lines[1]
    assert lines[-1] == "DONE" and err == ""


def test_setup_chooses_and_says_it_in_one_line():
    """Automatic choice: the simulator on a machine without a usable GPU, else the GPU."""
    rc, out, err = _child("""
        import course_lib as cl
        mode = cl.gpu.setup()
        from numba import cuda
        print(mode, cl.gpu.on_simulator(), cuda.is_available())
    """)
    assert rc == 0, err
    setup_line, result = out.strip().splitlines()
    mode, sim, available = result.split()
    assert available == "True" and sim == str(mode == "simulator")
    assert ("simulator" in setup_line) == (mode == "simulator")


def test_setup_after_numba_but_before_numba_cuda_still_switches():
    rc, out, err = _child("""
        import numba
        import course_lib as cl
        cl.gpu.setup(force_simulator=True, quiet=True)
        from numba import cuda
        print(cl.gpu.on_simulator(), type(cuda.to_device([1.0])).__module__)
    """)
    assert rc == 0, err
    sim, module = out.split()
    assert sim == "True" and module.startswith("numba.cuda.simulator")


def test_setup_too_late_says_restart_the_kernel():
    rc, out, err = _child("""
        from numba import cuda
        import course_lib as cl
        try:
            cl.gpu.setup(force_simulator=True)
        except RuntimeError as e:
            print(e)
    """)
    assert rc == 0, err
    assert "Restart the kernel" in out and "before anything imports numba" in out


def test_setup_keeps_a_simulator_already_chosen():
    rc, out, err = _child("""
        from numba import cuda
        import course_lib as cl
        print(cl.gpu.setup(), cl.gpu.on_simulator())
    """, env_extra={"NUMBA_ENABLE_CUDASIM": "1"})
    assert rc == 0, err
    line, result = out.strip().splitlines()
    assert "already imported with the simulator" in line and result == "simulator True"


def test_recording_array_logs_each_access_with_its_thread_on_the_simulator():
    rc, out, err = _child("""
        import numpy as np
        import course_lib as cl
        cl.gpu.setup(force_simulator=True, quiet=True)
        from numba import cuda

        @cuda.jit
        def stride(x, out):  # a grid-stride loop
            for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
                out[i] = 2 * x[i]

        @cuda.jit
        def wraps(x, out):  # threads past the end write inside: i % n
            i = cuda.grid(1)
            out[i % out.size] = 2 * x[i % out.size]

        @cuda.jit
        def two_d(C):
            x, y = cuda.grid(2)
            if y < C.shape[0] and x < C.shape[1]:
                C[y, x] = 10 * y + x

        buf = np.full(12, np.nan)
        out = cl.gpu.recording_array(buf[:10])  # a view: the guard past it stays NaN
        x = cl.gpu.recording_array(np.arange(10.0))
        stride[2, 3](x, out)
        assert np.array_equal(out.copy_to_host(), 2 * np.arange(10.0)) and np.isnan(buf[10:]).all()
        assert cl.gpu.write_problems(out.accesses, (10,), owner=lambda i: i[0] % 6) == []
        assert x.writes() == [] and len(x.reads()) == 10
        assert {a.thread for a in out.writes()} == {(t, 0, 0) for t in range(6)}
        bad = cl.gpu.write_problems(out.accesses, (10,), owner=lambda i: i[0] // 2)
        assert bad[0] == "out[1] written by thread 1, expected thread 0", bad

        out = cl.gpu.recording_array(np.full(5, np.nan))
        wraps[1, 8](np.arange(5.0), out)
        assert np.array_equal(out.copy_to_host(), 2 * np.arange(5.0))  # the values are right
        assert cl.gpu.write_problems(out.accesses, (5,))[:1] == [
            "out[0] written 2 times (by threads 0, 5): each element exactly once"]

        C = cl.gpu.recording_array(np.full((3, 5), np.nan))
        two_d[(2, 1), (4, 4)](C)
        assert cl.gpu.write_problems(C.accesses, (3, 5), owner=lambda i: (i[1], i[0])) == []
        assert C.accesses[0].index in {(y, x) for y in range(3) for x in range(5)}
        assert C.copy_to_host()[2, 4] == 24
        print('DONE')
    """)
    assert rc == 0, err
    assert out.strip() == "DONE"


def test_recording_array_refuses_without_the_simulator(monkeypatch):
    monkeypatch.setattr(gpu, "on_simulator", lambda: False)
    with pytest.raises(RuntimeError, match="simulator"):
        gpu.recording_array(np.zeros(3))

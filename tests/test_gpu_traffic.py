"""course_lib.gpu_traffic (memory traffic and races on numba's simulator) and the GPU-side helpers
of course_lib.gpu that need no GPU to test: timing by queued launches (with a stand-in for numba's
CUDA module), device figures, the reference GPU's data, power and ceilings without a GPU.

The simulator must be switched on before numba is imported, so the traffic checks run in one
child process; the rest runs here without importing numba.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from course_lib import gpu

REPO = Path(__file__).resolve().parent.parent

TRAFFIC_CHILD = """
import json
import numpy as np
import course_lib as cl
cl.gpu.setup(quiet=True)
import numba
from numba import cuda

B = 8


@cuda.jit
def tree(x, partial):
    sh = cuda.shared.array(B, numba.float64)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    sh[t] = x[i] if i < x.size else 0.0
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            sh[t] += sh[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        cuda.atomic.add(partial, 0, sh[0])


@cuda.jit
def racy(x, partial):
    sh = cuda.shared.array(B, numba.float64)
    t = cuda.threadIdx.x
    sh[t] = x[cuda.grid(1)]
    if t == 0:  # reads the others' elements without a barrier
        s = 0.0
        for j in range(cuda.blockDim.x):
            s += sh[j]
        partial[0] += s  # and adds without an atomic


@cuda.jit
def early(x, partial):
    sh = cuda.shared.array(B, numba.float64)
    t = cuda.threadIdx.x
    if t >= 4:
        return
    sh[t] = x[t]
    cuda.syncthreads()
    partial[t] = sh[t]


out = {}
x = np.arange(16.0)
with cl.gpu.traffic() as tr:
    total = np.zeros(1)
    tree[2, B](tr.array(x, "x"), tr.array(total, "total"))
out["tree"] = {"total": float(total[0]), "races": tr.races(), "barriers": tr.barrier_problems(),
               "reads": tr.reads("x").tolist(), "atomics": tr.atomics("total").tolist(),
               "writes": tr.writes("total").tolist(), "syncs": tr.syncs(),
               "shared_reads": max(tr.per_thread("shared", "read").values()),
               "readers": {str(k): v for k, v in tr.threads_of("x").items()},
               "host": tr.host_accesses("x")}
replay = cl.gpu.Traffic()  # a log put back into a fresh trace tells the same
replay.log[:] = list(tr.log)
replay.shapes.update(tr.shapes)
out["replay_readers"] = {str(k): v for k, v in replay.threads_of("x").items()}
with cl.gpu.traffic() as tr:
    racy[2, B](tr.array(x.copy(), "x"), tr.array(np.zeros(1), "total"))
out["racy"] = tr.races(limit=100)
with cl.gpu.traffic() as tr:
    early[1, B](tr.array(x.copy(), "x"), tr.array(np.zeros(B), "partial"))
out["early"] = tr.barrier_problems()
try:
    with cl.gpu.traffic() as tr:
        with cl.gpu.traffic():
            pass
except RuntimeError as exc:
    out["nested"] = str(exc)
out["restored"] = cuda.simulator.kernel.BlockThread.syncthreads.__qualname__
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def traced() -> dict:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(TRAFFIC_CHILD)],
                          capture_output=True, text=True, timeout=180, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_correct_reduction_has_no_race_and_counts_its_traffic(traced):
    t = traced["tree"]
    assert t["total"] == sum(range(16))
    assert t["races"] == [] and t["barriers"] == []
    assert t["reads"] == [1] * 16 and t["writes"] == [0] and t["atomics"] == [2]  # one per block
    assert t["syncs"] == 4  # after the load, then log2(8) = 3 steps
    assert t["shared_reads"] == 2 * 3 + 1  # thread 0: two per step, one to publish
    assert t["readers"]["(9,)"] == [[9, 0, 0]] and t["host"] == 0
    assert traced["replay_readers"] == t["readers"]  # the log alone says everything


def test_a_missing_barrier_and_a_plain_add_across_blocks_are_races(traced):
    text = " ".join(traced["racy"])
    assert "thread 1 wrote it and thread 0 also used it between the same two" in text
    assert "total[0] written and used by threads of different blocks" in text


def test_a_barrier_some_threads_skip_is_reported(traced):
    assert traced["early"] and "passed 0 to 1 cuda.syncthreads()" in traced["early"][0]


def test_traces_do_not_nest_and_the_simulator_is_restored(traced):
    assert "already open" in traced["nested"]
    assert traced["restored"] == "BlockThread.syncthreads"


# --------------------------------------------------------------------------- no numba here


class _FakeEvent:
    def __init__(self, clock):
        self.clock, self.t = clock, None

    def record(self):
        self.t = self.clock["gpu"]

    def synchronize(self):
        pass


class _FakeCuda:
    """Enough of numba.cuda for _time_on_gpu: a GPU clock the launches advance."""

    def __init__(self, kernel_s=2e-6, spin_per_iteration=3e-9):
        self.clock = {"gpu": 0.0}
        self.kernel_s, self.spin_per_iteration = kernel_s, spin_per_iteration

    def event(self):
        return _FakeEvent(self.clock)

    def synchronize(self):
        pass

    def event_elapsed_time(self, a, b):
        return (b.t - a.t) * 1e3  # ms

    def to_device(self, arr):
        return arr

    def jit(self, fn):
        cuda = self

        class Spin:
            def __getitem__(self, config):
                def run(iterations, out):
                    cuda.clock["gpu"] += iterations * cuda.spin_per_iteration
                return run
        return Spin()


def test_gpu_timing_reports_the_gpus_time_per_launch_and_the_dispatch_apart(monkeypatch):
    monkeypatch.setattr(gpu, "_SPIN", {})
    fake = _FakeCuda(kernel_s=2e-6)

    def launch(*args):
        fake.clock["gpu"] += fake.kernel_s

    gpu_s, host_s, method = gpu._time_on_gpu(launch, (), 3, fake)
    assert len(gpu_s) == len(host_s) == 3
    assert all(abs(t - 2e-6) < 1e-12 for t in gpu_s)
    assert "queued behind a busy kernel" in method and "20 launches" in method
    run = gpu.KernelRun("add", (1,), (32,), tuple(gpu_s), "GPU", False, "", (5e-5,), method)
    assert run.dispatch == 5e-5
    assert "issue one launch" in str(run) and "GPU time per launch" in str(run)


def test_datasheets_pcie_and_the_reference_gpu():
    assert gpu.datasheet("NVIDIA H200")[0] == "H200"
    assert gpu.datasheet("NVIDIA L40S") is None  # not an L4
    assert round(gpu.pcie_link(3).bandwidth_Bps / 1e9, 2) == 15.75
    with pytest.raises(ValueError):
        gpu.pcie_link(7)
    for key, sheet in gpu.DATASHEETS.items():
        assert sheet["source"] and sheet["hbm_Bps"] > 1e11, key
    ref = gpu.reference_gpu()
    assert ref["about"]["source"] and ref["about"]["versions"]["numpy"] == "2.4.6"
    assert "H200" in gpu.reference_label()


def test_without_a_gpu_the_reference_figures_stand_in_labelled(monkeypatch):
    monkeypatch.setitem(gpu._state, "mode", "simulator")
    facts = gpu.device_facts()
    assert facts["whose"].startswith("reference GPU") and facts["sms"] == 132
    assert gpu.measure_bandwidth()[1] == gpu.reference_label()
    assert gpu.copy_rates()["rows"][-1]["MiB"] == 1024
    assert gpu.overlap_demo()["serial_s"] > gpu.overlap_demo()["overlapped_s"]
    power = gpu.board_power()
    assert 600 < power["watts"] <= power["limit_w"] == 700 and "reference" in power["whose"]
    ceilings = gpu.gpu_ceilings()
    assert ceilings["bf16_flops"] > ceilings["fp32_flops"] > 1e13
    assert gpu.library_matmul_tflops(None, None) == {} or not gpu.on_simulator()


def test_the_gpu_check_says_what_is_missing_in_one_line(monkeypatch):
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    assert gpu.gpu_smoke_test()["gpu"] is False
    line = gpu._what_is_missing(RuntimeError("libNVVM cannot be found.\nDo conda install"))
    assert "pip install -e '.[gpu]'" in line and "\n" not in line
    assert "driver" in gpu._what_is_missing(OSError("CUDA driver library cannot be found"))


TILE = 4


def _tile_side():
    return TILE


def test_with_constants_compiles_a_copy_with_other_globals():
    class Fake:
        def __init__(self, fn):
            self.py_func = fn

    k = gpu.with_constants(Fake(_tile_side), TILE=16, _jit=Fake)
    assert k.py_func() == 16 and _tile_side() == 4
    with pytest.raises(KeyError):
        gpu.with_constants(Fake(_tile_side), NOT_A_GLOBAL=1, _jit=Fake)


def test_board_power_reads_nvml_when_it_is_there(monkeypatch):
    class FakeNvml:
        calls = 0

        @staticmethod
        def nvmlInit():
            pass

        @staticmethod
        def nvmlDeviceGetHandleByIndex(i):
            return i

        @classmethod
        def nvmlDeviceGetPowerUsage(cls, h):
            cls.calls += 1
            return 450_000  # mW

        @staticmethod
        def nvmlDeviceGetEnforcedPowerLimit(h):
            return 700_000

    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml)
    monkeypatch.setattr(gpu, "on_simulator", lambda: False)
    loads = []

    def load():
        loads.append(1)
        time.sleep(0.01)

    power = gpu.board_power(samples=3, interval_s=0.001, load=load)
    assert power["watts"] == 450 and power["limit_w"] == 700 and FakeNvml.calls == 3
    assert "NVML" in power["whose"] and "under load" in power["whose"] and loads

"""course_lib.gpu's GPU-only paths against fakes (no machine here has an NVIDIA GPU).

The fake ``numba.cuda`` (in ``sys.modules``, where ``from numba import cuda`` finds it) is a host
clock (course_lib.gpu's ``time`` too) and a GPU timeline per stream and engine: a launch costs
the host DISPATCH_S, then its GPU time once its stream is free; an event records when the work
queued before it ends. Fake ``pynvml`` and ``cupy`` too, with only the names that numba-cuda 0.30,
nvidia-ml-py 13 and CuPy have: a misspelt one fails here, not quietly on a GPU."""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import types

import numpy as np
import pytest

from course_lib import gpu

NAME = "NVIDIA H100 80GB HBM3"
TOTAL_BYTES = 85_029_158_912
KERNEL_S, DISPATCH_S, HBM_BPS = 2e-6, 30e-6, 3e12  # GPU time of a tiny kernel, host's per launch
RATES = {"h2d_new": 5e9, "h2d_pageable": 10e9, "h2d_pinned": 25e9,  # bytes/s of each copy
         "d2h_new": 6e9, "d2h_pageable": 8e9, "d2h_pinned": 26e9}


class Pinned(np.ndarray):
    """What the fake cuda.pinned_array returns: page-locked host memory."""


class FakeEvent:
    def __init__(self, cuda): self.cuda, self.t = cuda, None
    def record(self, stream=0): self.t = max(self.cuda.host, self.cuda.busy.get(stream, 0.0))
    def synchronize(self): self.cuda.host = max(self.cuda.host, self.t)


class FakeDeviceArray:
    def __init__(self, cuda, shape, dtype=np.float32):
        self.cuda, self.dtype = cuda, np.dtype(dtype)
        self.shape = tuple(shape) if isinstance(shape, tuple) else (int(shape),)
        self.size = int(np.prod(self.shape))
        self.nbytes = self.size * self.dtype.itemsize

    def __getitem__(self, part): return FakeDeviceArray(self.cuda, len(range(self.size)[part]))

    def copy_to_device(self, src, stream=0):  # device to device: each byte read and written
        kind = ("d2d" if isinstance(src, FakeDeviceArray) else
                "h2d_pinned" if isinstance(src, Pinned) else "h2d_pageable")
        rate = HBM_BPS / 2 if kind == "d2d" else RATES[kind]
        self.cuda.queue(src.nbytes / rate, stream, kind, src.nbytes)

    def copy_to_host(self, ary=None, stream=0):
        kind = ("d2h_new" if ary is None else
                "d2h_pinned" if isinstance(ary, Pinned) else "d2h_pageable")
        self.cuda.queue(self.nbytes / RATES[kind], stream, kind, self.nbytes)
        return np.zeros(self.shape, self.dtype) if ary is None else ary


class FakeKernel:
    """What the fake cuda.jit makes: ``kernel[grid, block(, stream)](*args)`` queues its time."""

    def __init__(self, cuda, fn): self.cuda, self.py_func = cuda, fn

    def __getitem__(self, config):
        stream = config[2] if len(config) > 2 else 0

        def launch(*args):
            self.cuda.host += DISPATCH_S
            name, arrays = self.py_func.__name__, [a for a in args if hasattr(a, "copy_to_host")]
            seconds = (args[0] * 1e-9 if name == "spin"  # course_lib's busy kernel: 1 ns a turn
                       else KERNEL_S + sum(a.nbytes for a in arrays) / HBM_BPS)
            self.cuda.queue(seconds, stream, f"kernel {name}", 0)
        return launch


FakeKernel.__module__ = "numba.cuda.dispatcher"  # where numba-cuda's CUDADispatcher lives


class FakeCuda(types.ModuleType):
    def __init__(self):
        super().__init__("numba.cuda")
        self.host, self.busy, self.log, self.streams = 0.0, {}, [], []
        self.jit_fails = False
        # numba-cuda's Device: attribute X is CUDA's CU_DEVICE_ATTRIBUTE_X, any other name fails
        self.device = types.SimpleNamespace(name=NAME, MULTIPROCESSOR_COUNT=132,
                                            L2_CACHE_SIZE=50 * 2**20,
                                            MAX_THREADS_PER_MULTIPROCESSOR=2048)

    def queue(self, seconds, stream, kind, nbytes):
        engine = kind[:3]  # h2d and d2h copy engines, kernels, device copies, matmuls
        start = max(self.host, self.busy.get(stream, 0.0), self.busy.get(engine, 0.0))
        self.busy[stream] = self.busy[engine] = start + seconds
        self.log.append((kind, stream, nbytes))

    def perf_counter(self): return self.host
    def sleep(self, seconds): self.host += seconds
    def is_available(self): return True
    def synchronize(self): self.host = max([self.host, *self.busy.values()])
    def event(self, timing=True): return FakeEvent(self)
    def event_elapsed_time(self, start, end): return (end.t - start.t) * 1e3  # ms, as numba's

    def jit(self, fn):
        if self.jit_fails:
            raise RuntimeError("libNVVM cannot be found")
        return FakeKernel(self, fn)

    def get_current_device(self): return self.device
    def current_context(self):  # get_memory_info: (free, total)
        return types.SimpleNamespace(get_memory_info=lambda: (TOTAL_BYTES // 2, TOTAL_BYTES))

    def stream(self):
        self.streams.append(object())
        return self.streams[-1]

    def to_device(self, host):
        self.queue(host.nbytes / RATES["h2d_new"], 0, "h2d_new", host.nbytes)
        return FakeDeviceArray(self, host.shape, host.dtype)

    def device_array(self, shape, dtype=np.float64): return FakeDeviceArray(self, shape, dtype)
    def device_array_like(self, ary): return FakeDeviceArray(self, ary.shape, ary.dtype)
    def pinned_array(self, shape, dtype=np.float64): return np.zeros(shape, dtype).view(Pinned)


@pytest.fixture
def cuda(monkeypatch):
    """The fake GPU, found by ``from numba import cuda`` and chosen by setup(); no NVML, no
    CuPy, no nvidia-smi unless a test adds them."""
    fake, numba = FakeCuda(), types.ModuleType("numba")
    numba.cuda = fake
    for name, module in {"numba": numba, "numba.cuda": fake, "pynvml": None, "cupy": None}.items():
        monkeypatch.setitem(sys.modules, name, module)  # None: importing it fails
    for name, value in {"time": fake, "_SPIN": {}, "_TWICE": {},
                        "shutil": types.SimpleNamespace(which=lambda name: None)}.items():
        monkeypatch.setattr(gpu, name, value)
    monkeypatch.setattr(gpu, "_state", {"mode": "gpu", "name": NAME, "note": "a fake"})
    assert not gpu.on_simulator() and gpu.device_name() == NAME
    return fake


def fake_nvml(monkeypatch, power_mw=(300_000,), fail=""):
    """A fake pynvml (nvidia-ml-py's names) with GPU 0 only; the call named ``fail`` raises."""
    readings = iter(power_mw)
    calls = {"nvmlInit": lambda: None,
             "nvmlDeviceGetHandleByIndex": lambda i: {0: "gpu0"}[i],
             "nvmlDeviceGetPowerUsage": lambda h: {"gpu0": next(readings)}[h],  # mW
             "nvmlDeviceGetEnforcedPowerLimit": lambda h: {"gpu0": 700_000}[h],  # mW
             "nvmlDeviceGetCurrPcieLinkGeneration": lambda h: {"gpu0": 1}[h],  # idle: lowered
             "nvmlDeviceGetCurrPcieLinkWidth": lambda h: {"gpu0": 8}[h],
             "nvmlDeviceGetMaxPcieLinkGeneration": lambda h: {"gpu0": 5}[h],
             "nvmlDeviceGetMaxPcieLinkWidth": lambda h: {"gpu0": 16}[h]}

    def failing(*args): raise RuntimeError(f"{fail}: Not Supported")  # pynvml: an NVMLError

    module = types.ModuleType("pynvml")
    for name, fn in calls.items():
        setattr(module, name, failing if name == fail else fn)
    monkeypatch.setitem(sys.modules, "pynvml", module)


def vector_add(a, b, out):  # a kernel's Python function: the fakes never run it
    pass


def test_run_kernel_on_a_gpu_reports_the_gpus_time_and_the_hosts_dispatch(cuda, capsys):
    run = gpu.run_kernel(cuda.jit(vector_add), 4, 256, np.ones(8), 2.0, 7)
    # one launch between events costs dispatch + kernel (32 µs): batches of 2 ms // 32 µs, <= 20
    assert run.seconds == pytest.approx((KERNEL_S,) * 5, rel=1e-6)  # event time / batch
    assert run.dispatch_s == pytest.approx((DISPATCH_S,) * 5, rel=1e-6)  # wall time / batch
    assert run.method == "20 launches queued behind a busy kernel, CUDA events"
    assert (run.device, run.simulated, run.threads, run.dispatch) == (NAME, False, 1024,
                                                                       pytest.approx(DISPATCH_S))
    assert run.note == "includes numba's copies of 1 numpy array to the GPU and back"
    out = capsys.readouterr().out
    assert f"{gpu.format_time(KERNEL_S)} (GPU time per launch, 20 launches queued" in out
    assert f"the host needs {gpu.format_time(DISPATCH_S)} to issue one launch" in out
    kinds = [kind for kind, *_ in cuda.log]
    assert kinds.count("kernel vector_add") == 1 + 1 + 5 * 20  # compile, single, 5 batches
    assert kinds.count("kernel spin") == 1 + 1 + 5  # compile, calibrate, one per batch


def test_without_the_busy_kernel_the_events_include_the_dispatch_gaps_and_say_so(cuda):
    cuda.jit_fails = True  # the busy kernel cannot be compiled
    gpu_s, host_s, method = gpu._time_on_gpu(FakeKernel(cuda, vector_add)[1, 32], (), 2, cuda)
    assert method == "CUDA events around 20 launches: includes dispatch gaps"
    assert gpu_s == pytest.approx([(20 * DISPATCH_S + KERNEL_S) / 20] * 2, rel=1e-6)
    assert host_s == pytest.approx([DISPATCH_S] * 2, rel=1e-6)


def test_copy_rates_are_bytes_over_the_seconds_of_each_kind_of_copy(cuda):
    out = gpu.copy_rates([2**20, 2**22], repeat=2)
    assert out["whose"] == f"this GPU ({NAME}), measured now"
    kinds = {"h2d_to_device_new_GBps": "h2d_new", "h2d_pageable_GBps": "h2d_pageable",
             "h2d_pinned_GBps": "h2d_pinned", "d2h_new_array_GBps": "d2h_new",
             "d2h_pageable_GBps": "d2h_pageable", "d2h_pinned_GBps": "d2h_pinned"}
    assert [row["MiB"] for row in out["rows"]] == [1, 4]
    for row in out["rows"]:
        assert set(row) == {"MiB", *kinds}
        for key, kind in kinds.items():
            assert row[key] == pytest.approx(RATES[kind] / 1e9, rel=1e-9), key  # GB/s


def test_transfers_time_each_copy_on_a_gpu(cuda):
    log = gpu.Transfers()
    log.to_host(log.to_device(np.ones(2**18, dtype=np.float32)))  # 1 MiB each way
    assert log.measured_seconds() == pytest.approx(2**20 / RATES["h2d_new"]
                                                   + 2**20 / RATES["d2h_new"])


def test_measure_bandwidth_counts_the_bytes_read_and_written_over_event_time(cuda):
    assert gpu.measure_bandwidth(2**24) == (pytest.approx(HBM_BPS),
                                            f"this GPU ({NAME}), measured now")
    assert [kind for kind, *_ in cuda.log] == ["d2d"] * 4  # a warm-up, then 3 timed copies


def test_overlap_demo_splits_copies_and_kernel_over_streams(cuda):
    n = 2**20
    r = gpu.overlap_demo(n, streams=8, repeat=2)
    t_in, t_out = 4 * n / RATES["h2d_pinned"], 4 * n / RATES["d2h_pinned"]
    t_kernel = KERNEL_S + 8 * n / HBM_BPS
    assert r["serial_s"] == pytest.approx(t_in + t_kernel + t_out)  # one after another
    assert t_in < r["overlapped_s"] < r["serial_s"]  # the chunks' copies and kernels overlap
    assert (r["n"], r["streams"], r["whose"]) == (n, 8, f"this GPU ({NAME}), measured now")
    assert len(cuda.streams) == 8
    for q in cuda.streams:  # each chunk: in, kernel, out on its own stream; warm-up + 2 rounds
        assert [kind for kind, s, _ in cuda.log if s is q] == [
            "h2d_pinned", "kernel twice_plus_one", "d2h_pinned"] * 3
    assert sum(b for kind, s, b in cuda.log if kind == "h2d_pinned" and s in cuda.streams) \
        == 3 * 4 * n  # the chunks cover the array, each round


def test_board_power_reads_nvml_in_watts_and_its_limit(cuda, monkeypatch):
    fake_nvml(monkeypatch, power_mw=(310_000, 320_500, 305_000))
    power = gpu.board_power(samples=3, interval_s=0.05)
    assert power == {"watts": 310.0, "limit_w": 700.0, "whose": f"this GPU ({NAME}), NVML now"}
    assert cuda.host == pytest.approx(0.1)  # slept between the samples only (a fake clock)


def test_board_power_under_load_runs_the_load_while_it_samples(cuda, monkeypatch):
    fake_nvml(monkeypatch, power_mw=(650_000, 690_000))
    ran, threads = threading.Event(), set()

    def load():
        threads.add(threading.current_thread())
        ran.set()

    monkeypatch.setattr(cuda, "sleep", lambda seconds: ran.wait(5))  # returns once it ran
    power = gpu.board_power(samples=2, load=load)
    assert power["watts"] == 670.0 and power["whose"] == f"this GPU ({NAME}), NVML now, under load"
    assert ran.is_set() and threads and not any(t.is_alive() for t in threads)  # stopped


@pytest.mark.parametrize("nvml", ["missing", "nvmlInit", "nvmlDeviceGetPowerUsage",
                                  "nvmlDeviceGetEnforcedPowerLimit"])
def test_board_power_falls_back_to_the_reference_gpu_labelled(cuda, monkeypatch, nvml):
    if nvml != "missing":
        fake_nvml(monkeypatch, fail=nvml)
    ref = gpu.reference_gpu()["power"]
    assert gpu.board_power() == {
        "watts": ref["bf16_matmul_W_median"], "idle_w": statistics.median(ref["idle_W"]),
        "limit_w": 700, "during": f"a BF16 matmul loop at {ref['bf16_TFLOPs_during']:.0f} TFLOP/s",
        "whose": gpu.reference_label()}


def test_device_facts_on_a_gpu_say_whose_each_figure_is(cuda, monkeypatch):
    fake_nvml(monkeypatch)  # the link runs at gen 1 x8 now (idle), at most at gen 5 x16
    facts = gpu.device_facts()
    sheet = gpu.DATASHEETS["H100 SXM5"]
    assert facts == {"whose": f"this GPU ({NAME})", "name": NAME, "sms": 132,
                     "max_threads_per_sm": 2048, "memory_bytes": TOTAL_BYTES,
                     "l2_bytes": 50 * 2**20, "link": gpu.pcie_link(5, 16),
                     "link_read_from": "NVML (the link's maximum)", "datasheet": "H100 SXM5",
                     "hbm_Bps": sheet["hbm_Bps"], "fp32_flops": sheet["fp32_flops"],
                     "source": sheet["source"]}


def test_device_facts_read_the_device_itself_when_the_course_has_no_datasheet(cuda):
    cuda.device = types.SimpleNamespace(name="NVIDIA L40S", MULTIPROCESSOR_COUNT=142,
                                        MAX_THREADS_PER_MULTIPROCESSOR=1536, L2_CACHE_SIZE=0)
    facts = gpu.device_facts()
    assert (facts["whose"], facts["sms"], facts["max_threads_per_sm"]) == (
        "this GPU (NVIDIA L40S)", 142, 1536)  # from the device, not a 2048 guess
    assert facts["datasheet"] is facts["hbm_Bps"] is facts["fp32_flops"] is None
    assert facts["source"].startswith("no datasheet")
    assert (facts["link"], facts["link_read_from"]) == (None, "unknown")  # no NVML, nvidia-smi


def test_the_host_link_falls_back_to_nvidia_smis_maximum(cuda, monkeypatch):
    commands = []
    run = lambda command, **kw: commands.append(command) or types.SimpleNamespace(  # noqa: E731
        stdout="4, 16\n")
    monkeypatch.setattr(gpu, "shutil", types.SimpleNamespace(which=lambda name: f"/bin/{name}"))
    monkeypatch.setattr(gpu, "subprocess", types.SimpleNamespace(
        run=run, SubprocessError=subprocess.SubprocessError))
    assert gpu._pcie_of_this_gpu() == (4, 16, "nvidia-smi (the link's maximum)")
    assert "--query-gpu=pcie.link.gen.max,pcie.link.width.max" in commands[0]


def fake_cupy(monkeypatch, cuda, flops):
    cp = types.ModuleType("cupy")
    cp.asarray = lambda a: a
    cp.matmul = lambda a, b: cuda.queue(2 * a.shape[0] * a.shape[1] * b.shape[1] / flops, 0,
                                        "matmul", 0)
    cp.cuda = types.SimpleNamespace(
        Event=lambda: FakeEvent(cuda), get_elapsed_time=cuda.event_elapsed_time,
        Device=lambda: types.SimpleNamespace(synchronize=cuda.synchronize))
    monkeypatch.setitem(sys.modules, "cupy", cp)


def test_gpu_ceilings_measure_the_copy_and_cublas_fp32_here_else_take_the_reference(
        cuda, monkeypatch):
    ref = {row["n"]: row for row in gpu.reference_gpu()["matmul"]}[4096]
    c = gpu.gpu_ceilings()  # no CuPy: the reference GPU's matmul, the copy measured all the same
    assert (c["copy_Bps"], c["copy_whose"]) == (pytest.approx(HBM_BPS),
                                                f"this GPU ({NAME}), measured now")
    assert (c["fp32_flops"], c["matmul_whose"]) == (ref["cublas_fp32_TFLOPs"] * 1e12,
                                                    f"{gpu.reference_label()}, cuBLAS, n = 4096")
    assert gpu.library_matmul_tflops(None, None) == {}
    fake_cupy(monkeypatch, cuda, flops=50e12)
    a, b = FakeDeviceArray(cuda, (64, 32)), FakeDeviceArray(cuda, (32, 16))
    assert gpu.library_matmul_tflops(a, b) == {"cublas_fp32_TFLOPs": pytest.approx(50)}
    c = gpu.gpu_ceilings()
    assert (c["fp32_flops"], c["bf16_flops"]) == (pytest.approx(50e12),
                                                  ref["cublas_bf16_TFLOPs"] * 1e12)
    assert c["matmul_whose"] == (f"this GPU ({NAME}), cuBLAS FP32 via CuPy, n = 4096; "
                                 f"BF16: {gpu.reference_label()}")

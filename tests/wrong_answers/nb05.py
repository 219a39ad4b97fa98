"""Wrong answers to notebook 05's exercises (GPU organisation)."""
# ruff: noqa: B905 - wrong answers are written the way students write them

from __future__ import annotations

import math

import numpy as np

from tests.wrong_answers import wrong

NOTEBOOK = "05_gpu_organisation"

# The kernels are plain functions, compiled with numba.cuda.jit at their first launch. Importing
# numba here, when the harness collects the wrong answers, would fix numba's mode (GPU or
# simulator) before the notebook's cl.gpu.setup() chooses it. At launch the notebook's setup has
# run, and ``cuda`` below becomes the numba.cuda module the kernels' bodies use (the simulator
# swaps it for its own while a kernel runs).
cuda = None


class _Kernel:
    """A kernel written like ``@cuda.jit def f(...)``, jitted on first ``f[blocks, threads]``."""

    def __init__(self, fn):
        self.fn, self.__name__, self.__doc__ = fn, fn.__name__, fn.__doc__
        self._jitted = None

    def __getitem__(self, config):
        global cuda
        if self._jitted is None:
            from numba import cuda as numba_cuda

            cuda = numba_cuda
            self._jitted = numba_cuda.jit(self.fn)
        return self._jitted[config]


# --- global_id -----------------------------------------------------------------------------------

@wrong("global_id", "block_idx * block_dim (forgets the thread's place in its block)")
def gi_no_thread(block_idx, block_dim, thread_idx):
    return block_idx * block_dim


@wrong("global_id", "thread_idx * block_dim + block_idx (roles swapped)")
def gi_swapped(block_idx, block_dim, thread_idx):
    return thread_idx * block_dim + block_idx


@wrong("global_id", "counts from 1: block_idx * block_dim + thread_idx + 1")
def gi_one_based(block_idx, block_dim, thread_idx):
    return block_idx * block_dim + thread_idx + 1


@wrong("global_id", "int() of every argument: scalars only")
def gi_scalar(block_idx, block_dim, thread_idx):
    return int(block_idx) * int(block_dim) + int(thread_idx)


# --- launch_config -------------------------------------------------------------------------------

def _validated(n, threads_per_block):
    if n < 1 or not 1 <= threads_per_block <= 1024:
        raise ValueError("bad launch")


@wrong("launch_config", "n // threads_per_block: rounds down")
def lc_floor(n, threads_per_block=256):
    _validated(n, threads_per_block)
    return n // threads_per_block, threads_per_block


@wrong("launch_config", "n // threads_per_block + 1: an extra block when it divides")
def lc_always_extra(n, threads_per_block=256):
    _validated(n, threads_per_block)
    return n // threads_per_block + 1, threads_per_block


@wrong("launch_config", "np.ceil(n / threads_per_block): a float number of blocks")
def lc_float(n, threads_per_block=256):
    _validated(n, threads_per_block)
    return np.ceil(n / threads_per_block), threads_per_block


@wrong("launch_config", "no check of threads_per_block")
def lc_no_tpb_check(n, threads_per_block=256):
    if n < 1:
        raise ValueError("n")
    return math.ceil(n / threads_per_block), threads_per_block


@wrong("launch_config", "no check of n (n = 0 gives 0 blocks)")
def lc_no_n_check(n, threads_per_block=256):
    if not 1 <= threads_per_block <= 1024:
        raise ValueError("threads_per_block")
    return -(-n // threads_per_block), threads_per_block


@wrong("launch_config", "checks threads_per_block <= 1024 only (0 and negatives pass)")
def lc_upper_only(n, threads_per_block=256):
    if n < 1 or threads_per_block > 1024:
        raise ValueError("bad launch")
    return (n + threads_per_block - 1) // threads_per_block, threads_per_block


# --- vector_add ----------------------------------------------------------------------------------

@wrong("vector_add", "no bounds check: threads past the end index out of range")
@_Kernel
def va_no_guard(a, b, out):
    i = cuda.grid(1)
    out[i] = a[i] + b[i]


@wrong("vector_add", "i = threadIdx.x only: every block does the first elements")
@_Kernel
def va_thread_only(a, b, out):
    i = cuda.threadIdx.x
    if i < out.size:
        out[i] = a[i] + b[i]


@wrong("vector_add", "bounds check i <= out.size (off by one)")
@_Kernel
def va_off_by_one(a, b, out):
    i = cuda.grid(1)
    if i <= out.size:
        out[i] = a[i] + b[i]


@wrong("vector_add", "accumulates into a: a[i] += b[i]; out[i] = a[i]")
@_Kernel
def va_writes_a(a, b, out):
    i = cuda.grid(1)
    if i < out.size:
        a[i] += b[i]
        out[i] = a[i]


@wrong("vector_add", "block offset blockIdx.x * 32 (the warp size, not blockDim.x)")
@_Kernel
def va_hardcoded_32(a, b, out):
    i = cuda.blockIdx.x * 32 + cuda.threadIdx.x
    if i < out.size:
        out[i] = a[i] + b[i]


# --- scale_grid_stride ---------------------------------------------------------------------------

@wrong("scale_grid_stride", "stride blockDim.x (one block's threads), not the whole grid")
@_Kernel
def sg_block_stride(x, alpha, out):
    for i in range(cuda.grid(1), out.size, cuda.blockDim.x):
        out[i] = alpha * x[i]


@wrong("scale_grid_stride", "no loop: one element per thread, as in vector_add")
@_Kernel
def sg_no_loop(x, alpha, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = alpha * x[i]


@wrong("scale_grid_stride", "loop up to out.size + 1 (off by one)")
@_Kernel
def sg_off_by_one(x, alpha, out):
    for i in range(cuda.grid(1), out.size + 1, cuda.gridsize(1)):
        out[i] = alpha * x[i]


@wrong("scale_grid_stride", "starts at threadIdx.x: the blocks repeat each other's elements")
@_Kernel
def sg_thread_start(x, alpha, out):
    for i in range(cuda.threadIdx.x, out.size, cuda.gridsize(1)):
        out[i] = alpha * x[i]


@wrong("scale_grid_stride", "scales x in place, then copies it to out")
@_Kernel
def sg_scales_x(x, alpha, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        x[i] *= alpha
        out[i] = x[i]


@wrong("scale_grid_stride", "block offset blockIdx.x * 32 (the warp size, not blockDim.x)")
@_Kernel
def sg_hardcoded_32(x, alpha, out):
    for i in range(cuda.blockIdx.x * 32 + cuda.threadIdx.x, out.size, cuda.gridsize(1)):
        out[i] = alpha * x[i]


# --- offload_speedup -----------------------------------------------------------------------------

@wrong("offload_speedup", "the latency paid once, not per copy")
def os_one_latency(cpu_s, kernel_s, bytes_in, bytes_out, bandwidth_Bps, latency_s):
    return cpu_s / (kernel_s + latency_s + (bytes_in + bytes_out) / bandwidth_Bps)


@wrong("offload_speedup", "bandwidth read as bits per second: 8 bytes / B")
def os_bits(cpu_s, kernel_s, bytes_in, bytes_out, bandwidth_Bps, latency_s):
    return cpu_s / (kernel_s + 2 * latency_s + 8 * (bytes_in + bytes_out) / bandwidth_Bps)


@wrong("offload_speedup", "2 * bytes_in: assumes the result is as large as the input")
def os_symmetric(cpu_s, kernel_s, bytes_in, bytes_out, bandwidth_Bps, latency_s):
    return cpu_s / (kernel_s + 2 * (latency_s + bytes_in / bandwidth_Bps))


@wrong("offload_speedup", "the two copies overlap: max(bytes_in, bytes_out)")
def os_overlap(cpu_s, kernel_s, bytes_in, bytes_out, bandwidth_Bps, latency_s):
    return cpu_s / (kernel_s + 2 * latency_s + max(bytes_in, bytes_out) / bandwidth_Bps)


@wrong("offload_speedup", "float() of the result: scalars only")
def os_float(cpu_s, kernel_s, bytes_in, bytes_out, bandwidth_Bps, latency_s):
    gpu_s = kernel_s + 2 * latency_s + (bytes_in + bytes_out) / bandwidth_Bps
    return float(cpu_s / gpu_s)


# --- matmul --------------------------------------------------------------------------------------

@wrong("matmul", "C[x, y]: x taken as the row")
@_Kernel
def mm_swapped(A, B, C):
    x, y = cuda.grid(2)
    if x < C.shape[0] and y < C.shape[1]:
        s = 0.0
        for k in range(A.shape[1]):
            s += A[x, k] * B[k, y]
        C[x, y] = s


@wrong("matmul", "the sum over C.shape[1], not the inner dimension A.shape[1]")
@_Kernel
def mm_wrong_inner(A, B, C):
    x, y = cuda.grid(2)
    if y < C.shape[0] and x < C.shape[1]:
        s = 0.0
        for k in range(C.shape[1]):
            s += A[y, k] * B[k, x]
        C[y, x] = s


@wrong("matmul", "C[y, x] += ... (assumes C starts at zero)")
@_Kernel
def mm_accumulate(A, B, C):
    x, y = cuda.grid(2)
    if y < C.shape[0] and x < C.shape[1]:
        for k in range(A.shape[1]):
            C[y, x] += A[y, k] * B[k, x]


@wrong("matmul", "no bounds check")
@_Kernel
def mm_no_guard(A, B, C):
    x, y = cuda.grid(2)
    s = 0.0
    for k in range(A.shape[1]):
        s += A[y, k] * B[k, x]
    C[y, x] = s


@wrong("matmul", "bounds checked the other way round: x < rows, y < columns")
@_Kernel
def mm_swapped_guard(A, B, C):
    x, y = cuda.grid(2)
    if x < C.shape[0] and y < C.shape[1]:
        s = 0.0
        for k in range(A.shape[1]):
            s += A[y, k] * B[k, x]
        C[y, x] = s


# --- warp_transactions ---------------------------------------------------------------------------

@wrong("warp_transactions", "segments counted from the first address: span // segment + 1")
def wt_from_first(addresses, segment_bytes=128):
    a = np.asarray(addresses, dtype=np.int64)
    if a.size == 0:
        return 0
    return int((a.max() - a.min()) // segment_bytes + 1)


@wrong("warp_transactions", "ceil(4 * threads / segment): assumes consecutive float32")
def wt_consecutive(addresses, segment_bytes=128):
    return math.ceil(4 * len(addresses) / segment_bytes)


@wrong("warp_transactions", "addresses as int32 (overflow above 2 GiB)")
def wt_int32(addresses, segment_bytes=128):
    a = np.asarray(addresses).astype(np.int32)
    return int(np.unique(a // segment_bytes).size)


@wrong("warp_transactions", "at least one transaction, even for no active thread")
def wt_at_least_one(addresses, segment_bytes=128):
    return max(1, len({int(a) // segment_bytes for a in addresses}))


@wrong("warp_transactions", "round(address / segment) instead of floor")
def wt_round(addresses, segment_bytes=128):
    return len({round(int(a) / segment_bytes) for a in addresses})

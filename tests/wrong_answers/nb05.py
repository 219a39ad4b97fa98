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


# --- issue 18: wrong answers that kind inputs, types or value checks alone let through ---------

@wrong("global_id", "block_dim rounded down to a power of two (a shift): right for 32, 128, 1024")
def gi_shift(block_idx, block_dim, thread_idx):
    shift = int(np.max(block_dim)).bit_length() - 1
    return (np.asarray(block_idx) << shift) + thread_idx if isinstance(block_idx, np.ndarray) \
        else (block_idx << shift) + thread_idx


@wrong("global_id", "float arithmetic: a float64 index (exact, but not an int)")
def gi_float(block_idx, block_dim, thread_idx):
    return np.multiply(block_idx, block_dim, dtype=np.float64) + thread_idx


@wrong("global_id", "int32 arithmetic: overflows beyond 2**31")
def gi_int32(block_idx, block_dim, thread_idx):
    out = (np.asarray(block_idx).astype(np.int32) * np.int32(np.max(block_dim))
           + np.asarray(thread_idx).astype(np.int32))
    return int(out) if out.ndim == 0 else out


@wrong("launch_config", "math.ceil(n / threads_per_block): a float division, wrong beyond 2**53")
def lc_float_division(n, threads_per_block=256):
    _validated(n, threads_per_block)
    return math.ceil(n / threads_per_block), threads_per_block


@wrong("launch_config", "returns a list [blocks, threads_per_block], not a tuple")
def lc_list(n, threads_per_block=256):
    _validated(n, threads_per_block)
    return [-(-n // threads_per_block), threads_per_block]


@wrong("launch_config", "divides by a shift: right only for powers of two")
def lc_shift(n, threads_per_block=256):
    _validated(n, threads_per_block)
    return (n + threads_per_block - 1) >> (threads_per_block.bit_length() - 1), threads_per_block


@wrong("launch_config", "refuses block sizes that are not multiples of 32")
def lc_multiple_of_32(n, threads_per_block=256):
    _validated(n, threads_per_block)
    if threads_per_block % 32:
        raise ValueError("threads_per_block must be a multiple of the warp size")
    return -(-n // threads_per_block), threads_per_block


@wrong("vector_add", "threads past the end wrap around: out[i % n] (right values, written twice)")
@_Kernel
def va_wraps(a, b, out):
    j = cuda.grid(1) % out.size
    out[j] = a[j] + b[j]


@wrong("vector_add", "threads past the end clamp to the last element")
@_Kernel
def va_clamps(a, b, out):
    j = min(cuda.grid(1), out.size - 1)
    out[j] = a[j] + b[j]


@wrong("vector_add", "writes each element twice: out[i] = a[i]; out[i] += b[i]")
@_Kernel
def va_two_writes(a, b, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = a[i]
        out[i] += b[i]


@wrong("scale_grid_stride", "a contiguous chunk of ceil(n / G) elements per thread, not a stride")
@_Kernel
def sg_chunk(x, alpha, out):
    g, size = cuda.grid(1), cuda.gridsize(1)
    chunk = (out.size + size - 1) // size
    for i in range(g * chunk, min((g + 1) * chunk, out.size)):
        out[i] = alpha * x[i]


@wrong("scale_grid_stride", "one chunk per block, strided by blockDim within it")
@_Kernel
def sg_block_chunks(x, alpha, out):
    chunk = (out.size + cuda.gridDim.x - 1) // cuda.gridDim.x
    start = cuda.blockIdx.x * chunk
    for i in range(start + cuda.threadIdx.x, min(start + chunk, out.size), cuda.blockDim.x):
        out[i] = alpha * x[i]


@wrong("scale_grid_stride", "loops over ceil(n / G) rounds and wraps: out[i % n] (written twice)")
@_Kernel
def sg_wraps(x, alpha, out):
    size = cuda.gridsize(1)
    for r in range((out.size + size - 1) // size):
        j = (cuda.grid(1) + r * size) % out.size
        out[j] = alpha * x[j]


@wrong("offload_speedup", "a copy of 0 bytes skipped: no latency for it")
def os_skip_empty(cpu_s, kernel_s, bytes_in, bytes_out, bandwidth_Bps, latency_s):
    lat_in = np.where(np.asarray(bytes_in) > 0, latency_s, 0.0)
    lat_out = np.where(np.asarray(bytes_out) > 0, latency_s, 0.0)
    out = cpu_s / (kernel_s + lat_in + lat_out + (bytes_in + bytes_out) / bandwidth_Bps)
    return float(out) if np.ndim(out) == 0 else out


@wrong("offload_speedup", "copies overlap with the kernel: max(kernel, copies)")
def os_overlap_kernel(cpu_s, kernel_s, bytes_in, bytes_out, bandwidth_Bps, latency_s):
    copies = 2 * latency_s + (bytes_in + bytes_out) / bandwidth_Bps
    return cpu_s / np.maximum(kernel_s, copies)


@wrong("offload_speedup", "rounded to 3 decimals")
def os_rounded(cpu_s, kernel_s, bytes_in, bytes_out, bandwidth_Bps, latency_s):
    return np.round(cpu_s / (kernel_s + 2 * latency_s + (bytes_in + bytes_out) / bandwidth_Bps),
                    3)


@wrong("matmul", "threads outside C wrap around: C[y % m, x % p] (right values, written twice)")
@_Kernel
def mm_wraps(A, B, C):
    x, y = cuda.grid(2)
    r, c = y % C.shape[0], x % C.shape[1]
    s = 0.0
    for k in range(A.shape[1]):
        s += A[r, k] * B[k, c]
    C[r, c] = s


@wrong("matmul", "zeroes C[y, x], then accumulates into it (many writes per element)")
@_Kernel
def mm_zero_then_accumulate(A, B, C):
    x, y = cuda.grid(2)
    if y < C.shape[0] and x < C.shape[1]:
        C[y, x] = 0.0
        for k in range(A.shape[1]):
            C[y, x] += A[y, k] * B[k, x]


@wrong("matmul", "one thread per row of C: the threads with x == 0 compute the whole row")
@_Kernel
def mm_row_per_thread(A, B, C):
    x, y = cuda.grid(2)
    if x == 0 and y < C.shape[0]:
        for c in range(C.shape[1]):
            s = 0.0
            for k in range(A.shape[1]):
                s += A[y, k] * B[k, c]
            C[y, c] = s


@wrong("warp_transactions", "a float division: int(a / segment) rounds above 2**53")
def wt_float_division(addresses, segment_bytes=128):
    return len({int(a / segment_bytes) for a in addresses})


@wrong("warp_transactions", "counts changes of segment between neighbours (assumes sorted)")
def wt_neighbours(addresses, segment_bytes=128):
    segs = [int(a) // segment_bytes for a in addresses]
    return sum(1 for i, s in enumerate(segs) if i == 0 or s != segs[i - 1])


@wrong("warp_transactions", "addresses as float64 (np.unique of a // segment)")
def wt_float64(addresses, segment_bytes=128):
    return int(np.unique(np.floor(np.asarray(addresses, dtype=np.float64) / segment_bytes)).size)


# --- block_sum, grid_sum, matmul_tiled (issue 19): shared memory, barriers, atomics ---------------
# The notebook's compile-time constants, as its solution cells set them.
BLOCK = 16
TILE = 4


@wrong("block_sum", "no syncthreads() after loading: the tree reads elements not yet loaded")
@_Kernel
def bs_no_first_sync(x, partial):
    sh = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    sh[t] = x[i] if i < x.size else 0.0
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            sh[t] += sh[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        partial[cuda.blockIdx.x] = sh[0]


@wrong("block_sum", "no syncthreads() inside the tree loop (a race between steps)")
@_Kernel
def bs_no_loop_sync(x, partial):
    sh = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    sh[t] = x[i] if i < x.size else 0.0
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            sh[t] += sh[t + s]
        s //= 2
    if t == 0:
        partial[cuda.blockIdx.x] = sh[0]


@wrong("block_sum", "threads past the end return early, skipping the barriers (n multiple of B "
                    "only)")
@_Kernel
def bs_early_return(x, partial):
    sh = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    if i >= x.size:
        return
    sh[t] = x[i]
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            sh[t] += sh[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        partial[cuda.blockIdx.x] = sh[0]


@wrong("block_sum", "no bounds check on the load: right only when n is a multiple of B")
@_Kernel
def bs_no_guard(x, partial):
    sh = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    sh[t] = x[cuda.grid(1)]
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            sh[t] += sh[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        partial[cuda.blockIdx.x] = sh[0]


@wrong("block_sum", "the tree starts at BLOCK // 2, not blockDim.x // 2 (right for B = 16 only)")
@_Kernel
def bs_fixed_block(x, partial):
    sh = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    sh[t] = x[i] if i < x.size else 0.0
    cuda.syncthreads()
    s = BLOCK // 2
    while s > 0:
        if t < s:
            sh[t] += sh[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        partial[cuda.blockIdx.x] = sh[0]


@wrong("block_sum", "thread 0 adds the block's shared values in a loop (serial, not a tree)")
@_Kernel
def bs_serial(x, partial):
    sh = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    sh[t] = x[i] if i < x.size else 0.0
    cuda.syncthreads()
    if t == 0:
        s = 0.0
        for j in range(cuda.blockDim.x):
            s += sh[j]
        partial[cuda.blockIdx.x] = s


@wrong("block_sum", "thread 0 sums the block's elements of x from device memory (no shared "
                    "memory)")
@_Kernel
def bs_global_loop(x, partial):
    if cuda.threadIdx.x == 0:
        s = 0.0
        start = cuda.blockIdx.x * cuda.blockDim.x
        for j in range(start, min(start + cuda.blockDim.x, x.size)):
            s += x[j]
        partial[cuda.blockIdx.x] = s


@wrong("grid_sum", "total[0] += block sum without an atomic (blocks race on a GPU)")
@_Kernel
def gs_no_atomic(x, total):
    sh = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    acc = 0.0
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        acc += x[i]
    sh[t] = acc
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            sh[t] += sh[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        total[0] += sh[0]


@wrong("grid_sum", "every thread atomically adds its own elements (no block reduction)")
@_Kernel
def gs_atomic_per_thread(x, total):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        cuda.atomic.add(total, 0, x[i])


@wrong("grid_sum", "one element per thread, no grid-stride loop (right only with G >= n)")
@_Kernel
def gs_no_stride(x, total):
    sh = cuda.shared.array(BLOCK, np.float64)
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
        cuda.atomic.add(total, 0, sh[0])


@wrong("grid_sum", "no syncthreads() after the grid-stride sums (a race)")
@_Kernel
def gs_no_first_sync(x, total):
    sh = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    acc = 0.0
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        acc += x[i]
    sh[t] = acc
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            sh[t] += sh[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        cuda.atomic.add(total, 0, sh[0])


@wrong("grid_sum", "stride blockDim.x, not the grid: blocks add each other's elements")
@_Kernel
def gs_block_stride(x, total):
    sh = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    acc = 0.0
    for i in range(cuda.grid(1), x.size, cuda.blockDim.x):
        acc += x[i]
    sh[t] = acc
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            sh[t] += sh[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        cuda.atomic.add(total, 0, sh[0])


@wrong("grid_sum", "total[0] = block sum (overwrites: assumes one block and total = 0)")
@_Kernel
def gs_overwrite(x, total):
    sh = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    acc = 0.0
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        acc += x[i]
    sh[t] = acc
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            sh[t] += sh[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        cuda.atomic.exch(total, 0, sh[0])


@wrong("matmul_tiled", "untiled: one thread per element reading A and B from device memory")
@_Kernel
def mt_untiled(A, B, C):
    x, y = cuda.grid(2)
    if y < C.shape[0] and x < C.shape[1]:
        s = 0.0
        for k in range(A.shape[1]):
            s += A[y, k] * B[k, x]
        C[y, x] = s


@wrong("matmul_tiled", "no syncthreads() after the loads (the tiles are used half loaded)")
@_Kernel
def mt_no_first_sync(A, B, C):
    sA = cuda.shared.array((TILE, TILE), np.float64)
    sB = cuda.shared.array((TILE, TILE), np.float64)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    x, y = cuda.grid(2)
    s = 0.0
    for t in range((A.shape[1] + TILE - 1) // TILE):
        k = t * TILE
        sA[ty, tx] = A[y, k + tx] if y < A.shape[0] and k + tx < A.shape[1] else 0.0
        sB[ty, tx] = B[k + ty, x] if k + ty < B.shape[0] and x < B.shape[1] else 0.0
        for kk in range(TILE):
            s += sA[ty, kk] * sB[kk, tx]
        cuda.syncthreads()
    if y < C.shape[0] and x < C.shape[1]:
        C[y, x] = s


@wrong("matmul_tiled", "no syncthreads() after using the tiles (the next tile overwrites them)")
@_Kernel
def mt_no_second_sync(A, B, C):
    sA = cuda.shared.array((TILE, TILE), np.float64)
    sB = cuda.shared.array((TILE, TILE), np.float64)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    x, y = cuda.grid(2)
    s = 0.0
    for t in range((A.shape[1] + TILE - 1) // TILE):
        k = t * TILE
        sA[ty, tx] = A[y, k + tx] if y < A.shape[0] and k + tx < A.shape[1] else 0.0
        sB[ty, tx] = B[k + ty, x] if k + ty < B.shape[0] and x < B.shape[1] else 0.0
        cuda.syncthreads()
        for kk in range(TILE):
            s += sA[ty, kk] * sB[kk, tx]
    if y < C.shape[0] and x < C.shape[1]:
        C[y, x] = s


@wrong("matmul_tiled", "loads without edge checks: right only for multiples of TILE")
@_Kernel
def mt_no_edges(A, B, C):
    sA = cuda.shared.array((TILE, TILE), np.float64)
    sB = cuda.shared.array((TILE, TILE), np.float64)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    x, y = cuda.grid(2)
    s = 0.0
    for t in range((A.shape[1] + TILE - 1) // TILE):
        k = t * TILE
        sA[ty, tx] = A[y, k + tx]
        sB[ty, tx] = B[k + ty, x]
        cuda.syncthreads()
        for kk in range(TILE):
            s += sA[ty, kk] * sB[kk, tx]
        cuda.syncthreads()
    if y < C.shape[0] and x < C.shape[1]:
        C[y, x] = s


@wrong("matmul_tiled", "k // TILE tile steps (rounds down): the last partial tile is lost")
@_Kernel
def mt_floor_tiles(A, B, C):
    sA = cuda.shared.array((TILE, TILE), np.float64)
    sB = cuda.shared.array((TILE, TILE), np.float64)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    x, y = cuda.grid(2)
    s = 0.0
    for t in range(A.shape[1] // TILE):
        k = t * TILE
        sA[ty, tx] = A[y, k + tx] if y < A.shape[0] and k + tx < A.shape[1] else 0.0
        sB[ty, tx] = B[k + ty, x] if k + ty < B.shape[0] and x < B.shape[1] else 0.0
        cuda.syncthreads()
        for kk in range(TILE):
            s += sA[ty, kk] * sB[kk, tx]
        cuda.syncthreads()
    if y < C.shape[0] and x < C.shape[1]:
        C[y, x] = s


@wrong("matmul_tiled", "threads outside C return at once: their parts of the tiles are never "
                       "loaded")
@_Kernel
def mt_early_return(A, B, C):
    sA = cuda.shared.array((TILE, TILE), np.float64)
    sB = cuda.shared.array((TILE, TILE), np.float64)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    x, y = cuda.grid(2)
    if y >= C.shape[0] or x >= C.shape[1]:
        return
    s = 0.0
    for t in range((A.shape[1] + TILE - 1) // TILE):
        k = t * TILE
        sA[ty, tx] = A[y, k + tx] if k + tx < A.shape[1] else 0.0
        sB[ty, tx] = B[k + ty, x] if k + ty < B.shape[0] else 0.0
        cuda.syncthreads()
        for kk in range(TILE):
            s += sA[ty, kk] * sB[kk, tx]
        cuda.syncthreads()
    C[y, x] = s


@wrong("matmul_tiled", "tiles loaded by thread (0, 0) alone, in a loop (each element read once "
                       "per block, but serial)")
@_Kernel
def mt_one_loader(A, B, C):
    sA = cuda.shared.array((TILE, TILE), np.float64)
    sB = cuda.shared.array((TILE, TILE), np.float64)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    x, y = cuda.grid(2)
    y0, x0 = cuda.blockIdx.y * TILE, cuda.blockIdx.x * TILE
    s = 0.0
    for t in range((A.shape[1] + TILE - 1) // TILE):
        k = t * TILE
        if tx == 0 and ty == 0:
            for i in range(TILE):
                for j in range(TILE):
                    sA[i, j] = A[y0 + i, k + j] if y0 + i < A.shape[0] and k + j < A.shape[1] \
                        else 0.0
                    sB[i, j] = B[k + i, x0 + j] if k + i < B.shape[0] and x0 + j < B.shape[1] \
                        else 0.0
        cuda.syncthreads()
        for kk in range(TILE):
            s += sA[ty, kk] * sB[kk, tx]
        cuda.syncthreads()
    if y < C.shape[0] and x < C.shape[1]:
        C[y, x] = s

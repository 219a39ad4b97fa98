"""Wrong answers to notebook 01's exercises (metrics and models)."""
# ruff: noqa: B905 - wrong answers are written the way students write them

from __future__ import annotations

import math

import numpy as np

from tests.wrong_answers import wrong

NOTEBOOK = "01_metrics_and_models"


# --- latency_percentiles ---------------------------------------------------------------------

def _percentiles(latencies, ps, rank_of, check_p=True, sort=np.sort):
    samples = sort(latencies)
    n = len(samples)
    if n == 0:
        raise ValueError("no latencies")
    result = {}
    for p in ps:
        if check_p and not 0 < p <= 100:
            raise ValueError(p)
        result[p] = float(samples[rank_of(p, n) - 1])
    return result


@wrong("latency_percentiles", "np.percentile (linear interpolation, not a sample)")
def lp_np_percentile(latencies, ps=(50, 95, 99)):
    x = np.asarray(latencies, float)
    if x.size == 0:
        raise ValueError("no latencies")
    for p in ps:
        if not 0 < p <= 100:
            raise ValueError(p)
    return {p: float(np.percentile(x, p)) for p in ps}


@wrong("latency_percentiles", "rank p n / 100 used as a 0-based index (one too far)")
def lp_zero_based(latencies, ps=(50, 95, 99)):
    return _percentiles(latencies, ps, lambda p, n: min(int(p * n / 100), n - 1) + 1)


@wrong("latency_percentiles", "round(p n / 100) instead of ceil")
def lp_round(latencies, ps=(50, 95, 99)):
    return _percentiles(latencies, ps, lambda p, n: max(round(p * n / 100), 1))


@wrong("latency_percentiles", "floor(p n / 100), at least 1 (numpy's 'lower')")
def lp_floor(latencies, ps=(50, 95, 99)):
    return _percentiles(latencies, ps, lambda p, n: max(math.floor(p * n / 100), 1))


def _sort_in_place(latencies):
    latencies.sort()
    return latencies


@wrong("latency_percentiles", "latencies.sort(): sorts the caller's list or array in place")
def lp_sort_in_place(latencies, ps=(50, 95, 99)):
    return _percentiles(latencies, ps, lambda p, n: math.ceil(p * n / 100), sort=_sort_in_place)


@wrong("latency_percentiles", "no check of p: p = 0 gives samples[-1], p = 101 an IndexError")
def lp_no_p_check(latencies, ps=(50, 95, 99)):
    return _percentiles(latencies, ps, lambda p, n: math.ceil(p * n / 100), check_p=False)


# --- utilization -------------------------------------------------------------------------------

@wrong("utilization", "sums the clipped lengths (overlaps counted twice)")
def ut_no_union(busy_intervals, start, end):
    if not end > start:
        raise ValueError("window")
    busy = sum(max(0, min(f, end) - max(b, start)) for b, f in busy_intervals)
    return busy / (end - start)


@wrong("utilization", "merges overlaps but assumes the intervals come sorted")
def ut_unsorted(busy_intervals, start, end):
    if not end > start:
        raise ValueError("window")
    covered, reach = 0.0, start
    for b, f in busy_intervals:
        b, f = max(b, reach), min(f, end)
        if f > b:
            covered += f - b
            reach = f
    return covered / (end - start)


@wrong("utilization", "union of the intervals, not clipped to the window")
def ut_no_clip(busy_intervals, start, end):
    if not end > start:
        raise ValueError("window")
    covered, reach = 0.0, -math.inf
    for b, f in sorted(busy_intervals):
        b = max(b, reach)
        if f > b:
            covered += f - b
            reach = f
    return covered / (end - start)


@wrong("utilization", "divides by end instead of end - start")
def ut_divide_by_end(busy_intervals, start, end):
    if not end > start:
        raise ValueError("window")
    covered, reach = 0.0, start
    for b, f in sorted(busy_intervals):
        b, f = max(b, reach), min(f, end)
        if f > b:
            covered += f - b
            reach = f
    return covered / end


@wrong("utilization", "merged union, but clipping can add negative lengths")
def ut_negative_clip(busy_intervals, start, end):
    if not end > start:
        raise ValueError("window")
    merged = []
    for b, f in sorted(busy_intervals):
        if merged and b <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], f)
        else:
            merged.append([b, f])
    return sum(min(f, end) - max(b, start) for b, f in merged) / (end - start)


@wrong("utilization", "checks only end == start (end < start gives a negative window)")
def ut_equal_only(busy_intervals, start, end):
    if end == start:
        raise ValueError("empty window")
    lo, hi = min(start, end), max(start, end)
    covered, reach = 0.0, lo
    for b, f in sorted(busy_intervals):
        b, f = max(b, reach), min(f, hi)
        if f > b:
            covered += f - b
            reach = f
    return covered / (end - start)


# --- predict_time -------------------------------------------------------------------------------

@wrong("predict_time", "scalar-only checks (`if P <= 0`): arrays of P fail")
def pt_scalar(W, t, P):
    if P <= 0 or W < 0 or t < 0:
        raise ValueError("bad argument")
    return W * t / P


@wrong("predict_time", "floor division W * t // P")
def pt_floor(W, t, P):
    W, t, P = np.asarray(W), np.asarray(t), np.asarray(P)
    if np.any(P <= 0) or np.any(W < 0) or np.any(t < 0):
        raise ValueError("bad argument")
    T = W * t // P
    return T.item() if T.ndim == 0 else T


@wrong("predict_time", "checks only P == 0 (negative P, W, t accepted)")
def pt_zero_only(W, t, P):
    W, t, P = (np.asarray(v, float) for v in (W, t, P))
    if np.any(P == 0):
        raise ValueError("P = 0")
    T = W * t / P
    return float(T) if T.ndim == 0 else T


@wrong("predict_time", "checks P only (negative W or t accepted)")
def pt_p_only(W, t, P):
    W, t, P = (np.asarray(v, float) for v in (W, t, P))
    if np.any(P <= 0):
        raise ValueError("P must be > 0")
    T = W * t / P
    return float(T) if T.ndim == 0 else T


@wrong("predict_time", "requires P >= 1 (rejects P = 0.5, which is > 0)")
def pt_p_at_least_one(W, t, P):
    W, t, P = (np.asarray(v, float) for v in (W, t, P))
    if np.any(P < 1) or np.any(W < 0) or np.any(t < 0):
        raise ValueError("bad argument")
    T = W * t / P
    return float(T) if T.ndim == 0 else T


@wrong("predict_time", "W > 0 and t > 0 required (rejects W = 0 and t = 0)")
def pt_strict_positive(W, t, P):
    W, t, P = (np.asarray(v, float) for v in (W, t, P))
    if np.any(P <= 0) or np.any(W <= 0) or np.any(t <= 0):
        raise ValueError("bad argument")
    T = W * t / P
    return float(T) if T.ndim == 0 else T


# --- fit_linear_cost ----------------------------------------------------------------------------

def _checked(sizes, times):
    n, T = np.asarray(sizes, float).ravel(), np.asarray(times, float).ravel()
    if n.size != T.size or np.unique(n).size < 2:
        raise ValueError("need two distinct sizes, as many as times")
    return n, T


@wrong("fit_linear_cost", "returns np.polyfit's order (c, T0)")
def fl_swapped(sizes, times):
    n, T = _checked(sizes, times)
    c, T0 = np.polyfit(n, T, 1)
    return float(c), float(T0)


@wrong("fit_linear_cost", "a line through the origin: T0 = 0, c = sum(n T) / sum(n^2)")
def fl_origin(sizes, times):
    n, T = _checked(sizes, times)
    return 0.0, float(np.sum(n * T) / np.sum(n * n))


@wrong("fit_linear_cost", "the line through the first and the last point")
def fl_two_points(sizes, times):
    n, T = _checked(sizes, times)
    c = (T[-1] - T[0]) / (n[-1] - n[0])
    return float(T[0] - c * n[0]), float(c)


@wrong("fit_linear_cost", "checks at least two points, not two distinct sizes")
def fl_len_check(sizes, times):
    n, T = np.asarray(sizes, float), np.asarray(times, float)
    if n.size != T.size or n.size < 2:
        raise ValueError("need two points")
    c, T0 = np.polyfit(n, T, 1)
    return float(T0), float(c)


@wrong("fit_linear_cost", "a log-log fit (power law) read as T0 and c")
def fl_loglog(sizes, times):
    n, T = _checked(sizes, times)
    n = np.maximum(n, 1.0)
    slope, intercept = np.polyfit(np.log(n), np.log(T), 1)
    return float(np.exp(intercept)), float(slope)


# --- quantize_int8 / dequantize_int8 --------------------------------------------------------------

@wrong("quantize_int8", "asymmetric min-max: scale (max - min) / 255, min maps to -128")
def qi_asymmetric(x):
    x = np.asarray(x, float)
    lo, hi = float(x.min()), float(x.max())
    scale = (hi - lo) / 255 if hi > lo else 1.0
    return np.round((x - lo) / scale - 128).astype(np.int8), scale


@wrong("quantize_int8", "scale from max(x), not max(|x|)")
def qi_max_not_abs(x):
    x = np.asarray(x, float)
    amax = float(x.max())
    scale = amax / 127 if amax > 0 else 1.0
    return np.clip(np.round(x / scale), -127, 127).astype(np.int8), scale


@wrong("quantize_int8", "truncates with astype(int8) instead of rounding")
def qi_truncate(x):
    x = np.asarray(x, float)
    amax = float(np.abs(x).max())
    scale = amax / 127 if amax > 0 else 1.0
    return (x / scale).astype(np.int8), scale


@wrong("quantize_int8", "no guard for an all-zero x: scale 0, 0 / 0")
def qi_zero_scale(x):
    x = np.asarray(x, float)
    scale = float(np.abs(x).max()) / 127
    return np.round(x / scale).astype(np.int8), scale


@wrong("quantize_int8", "forgets astype(int8): q stays float")
def qi_float_q(x):
    x = np.asarray(x, float)
    amax = float(np.abs(x).max())
    scale = amax / 127 if amax > 0 else 1.0
    return np.round(x / scale), scale


@wrong("quantize_int8", "divides x by the scale in place (changes the caller's array)")
def qi_in_place(x):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(float)
    amax = float(np.abs(x).max())
    scale = amax / 127 if amax > 0 else 1.0
    x /= scale
    return np.round(x).astype(np.int8), scale


@wrong("dequantize_int8", "q * scale: float64, not float32")
def dq_float64(q, scale):
    return np.asarray(q) * scale


@wrong("dequantize_int8", "q.astype(float32) * scale: a numpy float64 scale makes it float64")
def dq_upcast(q, scale):
    return np.asarray(q).astype(np.float32) * scale


@wrong("dequantize_int8", "q / scale (the quantiser's direction)")
def dq_divide(q, scale):
    return np.asarray(q).astype(np.float32) / np.float32(scale)


@wrong("dequantize_int8", "a loop with float(v): 1-D only")
def dq_loop(q, scale):
    return np.array([float(v) * scale for v in q], dtype=np.float32)


# --- axpy_inplace -------------------------------------------------------------------------------

@wrong("axpy_inplace", "y += a * x: a temporary the size of x")
def ax_temporary(a, x, y):
    y += a * x
    return y


@wrong("axpy_inplace", "y = a * x + y: a new array, y not updated")
def ax_new_array(a, x, y):
    y = a * x + y
    return y


@wrong("axpy_inplace", "np.multiply(x, a, out=x): scales x in place")
def ax_scales_x(a, x, y):
    np.multiply(x, a, out=x)
    y += x
    return y


@wrong("axpy_inplace", "chunks of 4096, the last partial chunk forgotten")
def ax_drops_tail(a, x, y):
    chunk = 4096
    buffer = np.empty(chunk, dtype=y.dtype)
    for k in range(max(len(x) // chunk, 1)):
        lo, hi = k * chunk, min((k + 1) * chunk, len(x))
        part = buffer[: hi - lo]
        np.multiply(x[lo:hi], a, out=part)
        y[lo:hi] += part
    return y


@wrong("axpy_inplace", "y /= a; y += x; y *= a (no temporary, but a = 0 divides by 0)")
def ax_divide_by_a(a, x, y):
    y /= a
    y += x
    y *= a
    return y


# --- issue 18: kind inputs, types, unstated cases --------------------------------------------

@wrong("latency_percentiles", "rank ceil(p / 100 * n): 7 / 100 * 100 is 7.000000000000001")
def lp_float_rank(latencies, ps=(50, 95, 99)):
    return _percentiles(latencies, ps, lambda p, n: math.ceil(p / 100 * n))


@wrong("latency_percentiles", "the samples as given: ints for a list of ints")
def lp_int_values(latencies, ps=(50, 95, 99)):
    samples = sorted(latencies)
    if not samples:
        raise ValueError("no latencies")
    out = {}
    for p in ps:
        if not 0 < p <= 100:
            raise ValueError(p)
        out[p] = samples[math.ceil(p * len(samples) / 100) - 1]
    return out


@wrong("latency_percentiles", "np.unique instead of np.sort (repeated latencies dropped)")
def lp_unique(latencies, ps=(50, 95, 99)):
    return _percentiles(latencies, ps, lambda p, n: math.ceil(p * n / 100), sort=np.unique)


@wrong("utilization", "clips to [0, end] (the window assumed to start at 0)")
def ut_from_zero(busy_intervals, start, end):
    if not end > start:
        raise ValueError("window")
    covered, reach = 0.0, 0
    for b, f in sorted(busy_intervals):
        b, f = max(b, reach), min(f, end)
        if f > b:
            covered += f - b
            reach = f
    return covered / (end - start)


@wrong("utilization", "rounded to two decimals")
def ut_rounded(busy_intervals, start, end):
    if not end > start:
        raise ValueError("window")
    covered, reach = 0.0, start
    for b, f in sorted(busy_intervals):
        b, f = max(b, reach), min(f, end)
        if f > b:
            covered += f - b
            reach = f
    return round(covered / (end - start), 2)


@wrong("utilization", "returns the int 0 when no interval is given")
def ut_int_zero(busy_intervals, start, end):
    if not end > start:
        raise ValueError("window")
    if not busy_intervals:
        return 0
    covered, reach = 0.0, start
    for b, f in sorted(busy_intervals):
        b, f = max(b, reach), min(f, end)
        if f > b:
            covered += f - b
            reach = f
    return covered / (end - start)


@wrong("utilization", "merges each interval with the one before only (reach = its finish)")
def ut_previous_only(busy_intervals, start, end):
    if not end > start:
        raise ValueError("window")
    covered, prev_f = 0.0, start
    for b, f in sorted(busy_intervals):
        lo, hi = max(b, prev_f, start), min(f, end)
        if hi > lo:
            covered += hi - lo
        prev_f = f
    return covered / (end - start)


def _pt(W, t, P):
    W, t, P = (np.asarray(v, dtype=float) for v in (W, t, P))
    if np.any(P <= 0) or np.any(W < 0) or np.any(t < 0):
        raise ValueError("P > 0, W >= 0, t >= 0")
    return W * t / P


@wrong("predict_time", "float32 arrays")
def pt_float32(W, t, P):
    T = _pt(W, t, P)
    return float(T) if T.ndim == 0 else T.astype(np.float32)


@wrong("predict_time", "an int when the time is whole")
def pt_int_when_whole(W, t, P):
    T = _pt(W, t, P)
    if T.ndim == 0:
        return int(T) if float(T).is_integer() else float(T)
    return T


@wrong("predict_time", "rounded to the nanosecond (np.round(T, 9))")
def pt_nanoseconds(W, t, P):
    T = np.round(_pt(W, t, P), 9)
    return float(T) if T.ndim == 0 else T


@wrong("fit_linear_cost", "returns a list [T0, c]")
def fl_list(sizes, times):
    n, T = np.asarray(sizes, float), np.asarray(times, float)
    if n.size != T.size or np.unique(n).size < 2:
        raise ValueError("bad input")
    c, T0 = np.polyfit(n, T, 1)
    return [float(T0), float(c)]


@wrong("fit_linear_cost", "averages the timings of each size first (repeats weigh as one)")
def fl_mean_per_size(sizes, times):
    n, T = np.asarray(sizes, float), np.asarray(times, float)
    if n.size != T.size or np.unique(n).size < 2:
        raise ValueError("bad input")
    u = np.unique(n)
    m = np.array([T[n == v].mean() for v in u])
    c, T0 = np.polyfit(u, m, 1)
    return float(T0), float(c)


@wrong("fit_linear_cost", "sorts the sizes (not the times with them)")
def fl_sorts_sizes(sizes, times):
    n, T = np.sort(np.asarray(sizes, float)), np.asarray(times, float)
    if n.size != T.size or np.unique(n).size < 2:
        raise ValueError("bad input")
    c, T0 = np.polyfit(n, T, 1)
    return float(T0), float(c)


@wrong("quantize_int8", "rounds half away from zero (floor(|v| + 0.5)), not to even")
def qi_half_away(x):
    x = np.asarray(x, dtype=float)
    amax = float(np.max(np.abs(x))) if x.size else 0.0
    scale = amax / 127 if amax > 0 else 1.0
    v = x / scale
    return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8), scale


@wrong("quantize_int8", "computes in x's own dtype: float32 input gives a float32 scale")
def qi_own_dtype(x):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(float)
    amax = np.max(np.abs(x))
    scale = amax / x.dtype.type(127) if amax > 0 else 1.0
    return np.round(x / scale).astype(np.int8), scale


@wrong("quantize_int8", "returns a list [q, scale]")
def qi_list(x):
    x = np.asarray(x, dtype=float)
    amax = float(np.max(np.abs(x))) if x.size else 0.0
    scale = amax / 127 if amax > 0 else 1.0
    return [np.round(x / scale).astype(np.int8), scale]


@wrong("dequantize_int8", "float16 (half the memory again)")
def dq_float16(q, scale):
    return (np.asarray(q).astype(np.float32) * np.float32(scale)).astype(np.float16)


@wrong("dequantize_int8", "scale cast to float32 and multiplied as int8: overflows past 127")
def dq_int_product(q, scale):
    q = np.asarray(q)
    if float(scale) >= 1 and float(scale).is_integer():
        return (q * np.int8(scale)).astype(np.float32)
    return q.astype(np.float32) * np.float32(scale)


@wrong("axpy_inplace", "the tail y[-(n % chunk):]: when the chunk divides n, the whole y again")
def ax_tail_divides(a, x, y):
    chunk, n = 8192, len(x)
    buffer = np.empty(chunk, dtype=y.dtype)
    for lo in range(0, n - n % chunk, chunk):
        np.multiply(x[lo:lo + chunk], a, out=buffer)
        y[lo:lo + chunk] += buffer
    rest = n % chunk
    part = buffer[:rest] if rest else buffer[:0]
    np.multiply(x[-rest:] if rest else x[:0], a, out=part)
    if rest:
        y[-rest:] += part
    else:
        y[-rest:] += a * x[-rest:]  # y[-0:] is all of y
    return y


@wrong("axpy_inplace", "a = 0 shortcut returns a copy of y")
def ax_zero_copy(a, x, y):
    if a == 0:
        return y.copy()
    chunk = 8192
    buffer = np.empty(chunk, dtype=y.dtype)
    for lo in range(0, len(x), chunk):
        part = buffer[: min(chunk, len(x) - lo)]
        np.multiply(x[lo:lo + chunk], a, out=part)
        y[lo:lo + chunk] += part
    return y


@wrong("axpy_inplace", "a float64 buffer: a float32 y comes back as a new float64 array")
def ax_float64(a, x, y):
    if y.dtype == np.float64:
        return ax_zero_copy(a, x, y) if a != 0 else y
    out = y.astype(np.float64)
    for lo in range(0, len(x), 8192):
        out[lo:lo + 8192] += a * x[lo:lo + 8192]
    return out


# --- issue 20: the float ceiling on other pairs (p, n); a list of codes ----------------------

@wrong("latency_percentiles", "rank ceil(p * 0.01 * n): 0.01 is not exact either")
def lp_float_hundredth(latencies, ps=(50, 95, 99)):
    return _percentiles(latencies, ps, lambda p, n: math.ceil(p * 0.01 * n))


@wrong("latency_percentiles", "rank ceil(p / 100 * n) computed with numpy, all ps at once")
def lp_numpy_ceil(latencies, ps=(50, 95, 99)):
    samples = np.sort(np.asarray(latencies, dtype=float))
    if samples.size == 0:
        raise ValueError("no latencies")
    p = np.asarray(list(ps), dtype=float)
    if np.any(~((p > 0) & (p <= 100))):
        raise ValueError("p outside (0, 100]")
    ranks = np.ceil(p / 100 * samples.size).astype(int)
    return {q: float(samples[r - 1]) for q, r in zip(ps, ranks)}


@wrong("dequantize_int8", "q.astype(np.float32) * np.float32(scale): a list of codes fails")
def dq_array_only(q, scale):
    return q.astype(np.float32) * np.float32(scale)

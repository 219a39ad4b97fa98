"""Wrong answers to notebook 08's exercises (challenges)."""
# ruff: noqa: B905 - wrong answers are written the way students write them

from __future__ import annotations

import math

import numpy as np

from tests.wrong_answers import wrong

NOTEBOOK = "08_challenges"


# --- speedup_with_overhead / best_worker_count ----------------------------------------------

@wrong("speedup_with_overhead", "overhead c * P instead of c * log2 P")
def swo_linear(f, P, c):
    P = np.asarray(P, float)
    return 1 / ((1 - f) + f / P + c * P)


@wrong("speedup_with_overhead", "natural log instead of log2")
def swo_ln(f, P, c):
    P = np.asarray(P, float)
    return 1 / ((1 - f) + f / P + c * np.log(P))


@wrong("speedup_with_overhead", "math.log2: scalars only")
def swo_math(f, P, c):
    return 1 / ((1 - f) + f / P + c * math.log2(P))


@wrong("speedup_with_overhead", "int(log2 P): rounds the overhead down")
def swo_int_log(f, P, c):
    P = np.asarray(P, float)
    return 1 / ((1 - f) + f / P + c * np.floor(np.log2(P)))


@wrong("speedup_with_overhead", "Amdahl's law only (ignores c)")
def swo_amdahl(f, P, c):
    P = np.asarray(P, float)
    return 1 / ((1 - f) + f / P)


def _speedup(f, P, c):
    P = np.asarray(P, float)
    return 1 / ((1 - f) + f / P + c * np.log2(P))


@wrong("best_worker_count", "the largest P among ties (the last maximum)")
def bwc_last(f, c, P_max):
    P = np.arange(1, P_max + 1)
    S = _speedup(f, P, c)
    return int(P[len(S) - 1 - np.argmax(S[::-1])])


@wrong("best_worker_count", "searches 1 .. P_max - 1 (range excludes P_max)")
def bwc_exclusive(f, c, P_max):
    P = np.arange(1, max(P_max, 2))
    return int(P[np.argmax(_speedup(f, P, c))])


@wrong("best_worker_count", "the index of the maximum, not P (off by one)")
def bwc_index(f, c, P_max):
    return int(np.argmax(_speedup(f, np.arange(1, P_max + 1), c)))


@wrong("best_worker_count", "powers of two only")
def bwc_powers(f, c, P_max):
    P = 2 ** np.arange(0, int(math.log2(P_max)) + 1)
    return int(P[np.argmax(_speedup(f, P, c))])


# --- arithmetic intensity, roofline, triad, matmul -----------------------------------------

@wrong("arithmetic_intensity", "bytes per FLOP (inverted)")
def ai_inverted(flops, n_bytes):
    if n_bytes <= 0:
        raise ValueError(n_bytes)
    return n_bytes / flops if flops else 0.0


@wrong("arithmetic_intensity", "rejects only n_bytes == 0")
def ai_zero_only(flops, n_bytes):
    if n_bytes == 0:
        raise ValueError(n_bytes)
    return flops / n_bytes


@wrong("arithmetic_intensity", "floor division")
def ai_floor(flops, n_bytes):
    if n_bytes <= 0:
        raise ValueError(n_bytes)
    return flops // n_bytes


@wrong("roofline", "max instead of min")
def roof_max(ai, peak_flops, bandwidth_Bps):
    return np.maximum(peak_flops, np.asarray(ai, float) * bandwidth_Bps)


@wrong("roofline", "built-in min(): scalars only")
def roof_builtin(ai, peak_flops, bandwidth_Bps):
    return min(peak_flops, ai * bandwidth_Bps)


@wrong("roofline", "np.min over everything (one number for an array)")
def roof_np_min(ai, peak_flops, bandwidth_Bps):
    return np.min([np.full(np.shape(ai), peak_flops), np.asarray(ai) * bandwidth_Bps])


@wrong("roofline", "peak / ai: divides instead of multiplying by the bandwidth")
def roof_divide(ai, peak_flops, bandwidth_Bps):
    return np.minimum(peak_flops, bandwidth_Bps / np.maximum(np.asarray(ai, float), 1e-300))


@wrong("triad_bytes", "2 arrays (forgets the write)")
def triad_two(n, itemsize=8):
    return 2 * int(n) * int(itemsize)


@wrong("triad_bytes", "4 arrays (counts the write-allocate read)")
def triad_four(n, itemsize=8):
    return 4 * int(n) * int(itemsize)


@wrong("triad_bytes", "a float (3.0 * n * itemsize)")
def triad_float(n, itemsize=8):
    return 3.0 * n * itemsize


@wrong("triad_bytes", "ignores itemsize (always 8 bytes)")
def triad_fixed(n, itemsize=8):
    return 24 * int(n)


@wrong("triad_bytes", "np.int32 arithmetic: overflows for large n")
def triad_int32(n, itemsize=8):
    with np.errstate(over="ignore"):
        return np.int32(3) * np.int32(n % 2**31) * np.int32(itemsize)


@wrong("matmul_intensity", "n^3 FLOPs (forgets the multiply-add's 2)")
def mm_one_flop(n, itemsize=4):
    return n**3 / (3 * n**2 * itemsize)


@wrong("matmul_intensity", "2 n^2 bytes (forgets the output)")
def mm_two_arrays(n, itemsize=4):
    return 2 * n**3 / (2 * n**2 * itemsize)


@wrong("matmul_intensity", "default itemsize 8 (float64)")
def mm_default_8(n, itemsize=8):
    return 2 * n**3 / (3 * n**2 * itemsize)


@wrong("matmul_intensity", "np.int32 arithmetic: 2 n^3 overflows")
def mm_int32(n, itemsize=4):
    n = np.int32(n)
    with np.errstate(over="ignore"):
        return float(2 * n**3) / float(3 * n**2 * itemsize)


# --- energy ---------------------------------------------------------------------------------

@wrong("energy_joules", "rectangles: sum(p) * dt")
def ej_rectangles(power_w, dt_s):
    return float(np.sum(power_w) * dt_s)


@wrong("energy_joules", "mean power times the number of samples times dt")
def ej_mean(power_w, dt_s):
    p = np.asarray(power_w, float)
    return float(p.mean() * len(p) * dt_s) if len(p) else 0.0


@wrong("energy_joules", "np.trapz without dx (a spacing of 1 s)")
def ej_trapz_no_dx(power_w, dt_s):
    p = np.asarray(power_w, float)
    return float(np.sum((p[1:] + p[:-1]) / 2)) if len(p) > 1 else 0.0


@wrong("energy_joules", "crashes on fewer than two samples")
def ej_short(power_w, dt_s):
    p = np.asarray(power_w, float)
    return float(dt_s * (p.sum() - 0.5 * (p[0] + p[-1])) if len(p) > 1 else p[0] * 0 + p[1])


@wrong("dvfs_energy", "power times cycles (forgets time = cycles / f)")
def dvfs_no_time(f, cycles, p_static, k):
    f = np.asarray(f, float)
    return (p_static + k * f**3) * cycles


@wrong("dvfs_energy", "dynamic power k f^2 instead of k f^3")
def dvfs_square(f, cycles, p_static, k):
    f = np.asarray(f, float)
    return (p_static + k * f**2) * cycles / f


@wrong("dvfs_energy", "static energy not scaled by the time")
def dvfs_static_once(f, cycles, p_static, k):
    f = np.asarray(f, float)
    return p_static + k * f**3 * cycles / f


@wrong("energy_optimal_frequency", "(p_static / k)^(1/3): drops the 2 of the derivative")
def eof_no_two(p_static, k):
    return (p_static / k) ** (1 / 3)


@wrong("energy_optimal_frequency", "square root instead of cube root")
def eof_sqrt(p_static, k):
    return (p_static / (2 * k)) ** 0.5


@wrong("energy_optimal_frequency", "p_static / (3 k) under the cube root")
def eof_three(p_static, k):
    return (p_static / (3 * k)) ** (1 / 3)


@wrong("training_flops", "2 N D (forward pass only)")
def tf_forward(n_params, n_tokens):
    return 2.0 * np.asarray(n_params, float) * np.asarray(n_tokens, float)


@wrong("training_flops", "np.int64 arithmetic: overflows for large N D")
def tf_int64(n_params, n_tokens):
    with np.errstate(over="ignore"):
        return np.int64(6) * np.int64(n_params) * np.int64(n_tokens)


@wrong("training_flops", "math.prod: scalars only")
def tf_scalar(n_params, n_tokens):
    return float(6 * n_params * n_tokens)

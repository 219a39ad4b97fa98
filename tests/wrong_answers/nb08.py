"""Wrong answers to notebook 08's exercises (challenges)."""
# ruff: noqa: B905 - wrong answers are written the way students write them

from __future__ import annotations

import math

import numpy as np

from tests.wrong_answers import wrong

NOTEBOOK = "08_challenges"


# --- speedup_with_overhead / best_worker_count ----------------------------------------------

def _swo(f, P, c, b=0.0, algorithm="tree", *, ring_lat=lambda P: 2 * (P - 1),
         ring_bw=lambda P: 2 * (P - 1) / P, rounds=lambda P: np.ceil(np.log2(P)),
         tree_bw=None, check=True):
    if check and algorithm not in ("ring", "tree"):
        raise ValueError(algorithm)
    P = np.asarray(P, float)
    if algorithm == "ring":
        sync = ring_lat(P) * c + ring_bw(P) * b
    else:
        sync = 2 * rounds(P) * c + (tree_bw(P) if tree_bw else 2 * rounds(P)) * b
    return 1 / ((1 - f) + f / P + sync)


@wrong("speedup_with_overhead", "the old model: c log2 P for both, no bandwidth term")
def swo_log_only(f, P, c, b=0.0, algorithm="tree"):
    if algorithm not in ("ring", "tree"):
        raise ValueError(algorithm)
    P = np.asarray(P, float)
    return 1 / ((1 - f) + f / P + c * np.log2(P))


@wrong("speedup_with_overhead", "ring latency (P - 1) c: counts the reduce-scatter only")
def swo_ring_half(f, P, c, b=0.0, algorithm="tree"):
    return _swo(f, P, c, b, algorithm, ring_lat=lambda P: P - 1)


@wrong("speedup_with_overhead", "ring bandwidth 2b, without the (P - 1) / P")
def swo_ring_2b(f, P, c, b=0.0, algorithm="tree"):
    return _swo(f, P, c, b, algorithm, ring_bw=lambda P: 2 + 0 * P)


@wrong("speedup_with_overhead", "tree with log2 P, not rounded up")
def swo_tree_log2(f, P, c, b=0.0, algorithm="tree"):
    return _swo(f, P, c, b, algorithm, rounds=np.log2)


@wrong("speedup_with_overhead", "tree with floor(log2 P) + 1 rounds (bit_length of P)")
def swo_tree_floor(f, P, c, b=0.0, algorithm="tree"):
    return _swo(f, P, c, b, algorithm, rounds=lambda P: np.floor(np.log2(P)) + (P > 1))


@wrong("speedup_with_overhead", "tree bandwidth as the ring's 2 (P - 1) / P b")
def swo_tree_ring_bw(f, P, c, b=0.0, algorithm="tree"):
    return _swo(f, P, c, b, algorithm, tree_bw=lambda P: 2 * (P - 1) / P)


@wrong("speedup_with_overhead", "ignores b")
def swo_no_b(f, P, c, b=0.0, algorithm="tree"):
    return _swo(f, P, c, 0.0, algorithm)


@wrong("speedup_with_overhead", "unknown algorithms fall through to the tree")
def swo_no_check(f, P, c, b=0.0, algorithm="tree"):
    return _swo(f, P, c, b, "ring" if algorithm == "ring" else "tree")


@wrong("speedup_with_overhead", "math.log2 and math.ceil: scalars only")
def swo_math(f, P, c, b=0.0, algorithm="tree"):
    if algorithm == "ring":
        return 1 / ((1 - f) + f / P + 2 * (P - 1) * c + 2 * (P - 1) / P * b)
    if algorithm != "tree":
        raise ValueError(algorithm)
    return 1 / ((1 - f) + f / P + 2 * math.ceil(math.log2(P)) * (c + b))


@wrong("best_worker_count", "the largest P among ties (the last maximum)")
def bwc_last(f, c, P_max, b=0.0, algorithm="tree"):
    P = np.arange(1, P_max + 1)
    S = _swo(f, P, c, b, algorithm)
    return int(P[len(S) - 1 - np.argmax(S[::-1])])


@wrong("best_worker_count", "searches 1 .. P_max - 1 (range excludes P_max)")
def bwc_exclusive(f, c, P_max, b=0.0, algorithm="tree"):
    P = np.arange(1, max(P_max, 2))
    return int(P[np.argmax(_swo(f, P, c, b, algorithm))])


@wrong("best_worker_count", "the index of the maximum, not P (off by one)")
def bwc_index(f, c, P_max, b=0.0, algorithm="tree"):
    return int(np.argmax(_swo(f, np.arange(1, P_max + 1), c, b, algorithm)))


@wrong("best_worker_count", "powers of two only")
def bwc_powers(f, c, P_max, b=0.0, algorithm="tree"):
    P = 2 ** np.arange(0, int(math.log2(P_max)) + 1)
    return int(P[np.argmax(_swo(f, P, c, b, algorithm))])


@wrong("best_worker_count", "always the tree (ignores algorithm)")
def bwc_tree_only(f, c, P_max, b=0.0, algorithm="tree"):
    if algorithm not in ("ring", "tree"):
        raise ValueError(algorithm)
    P = np.arange(1, P_max + 1)
    return int(P[np.argmax(_swo(f, P, c, b, "tree"))])


@wrong("best_worker_count", "ignores b")
def bwc_no_b(f, c, P_max, b=0.0, algorithm="tree"):
    P = np.arange(1, P_max + 1)
    return int(P[np.argmax(_swo(f, P, c, 0.0, algorithm))])


@wrong("best_worker_count", "the continuous peak, rounded (tree: f ln2 / 2(c + b); ring: sqrt)")
def bwc_calculus(f, c, P_max, b=0.0, algorithm="tree"):
    if algorithm not in ("ring", "tree"):
        raise ValueError(algorithm)
    if c + b == 0:
        return P_max if f > 0 else 1
    if algorithm == "tree":
        peak = f * math.log(2) / (2 * (c + b))
    else:
        peak = math.sqrt(max(f - 2 * b, 0) / (2 * c)) if c > 0 else P_max
    return int(min(max(round(peak), 1), P_max))


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


def _reads(n, tile, *, ceil=True):
    if tile is not None and tile < 1:
        raise ValueError(tile)
    if tile is None:
        return 1
    return -(-n // tile) if ceil else n / tile


@wrong("matmul_intensity", "tiles: n / b reads, not rounded up")
def mm_tile_no_ceil(n, itemsize=4, tile=None):
    return 2 * n / ((2 * max(_reads(n, tile, ceil=False), 1) + 1) * itemsize)


@wrong("matmul_intensity", "tiles: n // b reads (rounded down)")
def mm_tile_floor(n, itemsize=4, tile=None):
    q = 1 if tile is None else max(n // tile, 1)
    if tile is not None and tile < 1:
        raise ValueError(tile)
    return 2 * n / ((2 * q + 1) * itemsize)


@wrong("matmul_intensity", "tiles: C read and written ((2q + 2) n^2)")
def mm_tile_c_twice(n, itemsize=4, tile=None):
    q = _reads(n, tile)
    return 2 * n / ((2 * q + (1 if tile is None else 2)) * itemsize)


@wrong("matmul_intensity", "tiles: only A reread, B read once ((q + 2) n^2)")
def mm_tile_a_only(n, itemsize=4, tile=None):
    return 2 * n / ((_reads(n, tile) + 2) * itemsize)


@wrong("matmul_intensity", "ignores tile")
def mm_tile_ignored(n, itemsize=4, tile=None):
    return 2 * n / (3 * itemsize)


@wrong("matmul_intensity", "tile = 0 treated as None (no error)")
def mm_tile_zero(n, itemsize=4, tile=None):
    return 2 * n / ((2 * (_reads(n, tile) if tile else 1) + 1) * itemsize)


@wrong("matmul_intensity", "n^3 FLOPs (forgets the multiply-add's 2)")
def mm_one_flop(n, itemsize=4, tile=None):
    return n**3 / ((2 * _reads(n, tile) + 1) * n**2 * itemsize)


@wrong("matmul_intensity", "2 n^2 bytes (forgets the output)")
def mm_two_arrays(n, itemsize=4, tile=None):
    return 2 * n**3 / (2 * _reads(n, tile) * n**2 * itemsize)


@wrong("matmul_intensity", "default itemsize 8 (float64)")
def mm_default_8(n, itemsize=8, tile=None):
    return 2 * n**3 / ((2 * _reads(n, tile) + 1) * n**2 * itemsize)


@wrong("matmul_intensity", "np.int32 arithmetic: 2 n^3 overflows")
def mm_int32(n, itemsize=4, tile=None):
    q = _reads(n, tile)
    n = np.int32(n)
    with np.errstate(over="ignore"):
        return float(2 * n**3) / float((2 * q + 1) * n**2 * itemsize)


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


def _dvfs(f, cycles, p_static, k, f_vmin=0.0, *, below=lambda k, f, v: k * v**2 * f,
          floor_above=False):
    f = np.asarray(f, float)
    under = f > f_vmin if floor_above else f < f_vmin
    return (p_static + np.where(under, below(k, f, f_vmin), k * f**3)) * cycles / f


@wrong("dvfs_energy", "ignores the voltage floor (the cube law everywhere)")
def dvfs_no_floor(f, cycles, p_static, k, f_vmin=0.0):
    return _dvfs(f, cycles, p_static, k, 0.0)


@wrong("dvfs_energy", "below the floor, dynamic power k f_vmin^3 (as if f stayed at f_vmin)")
def dvfs_floor_const(f, cycles, p_static, k, f_vmin=0.0):
    return _dvfs(f, cycles, p_static, k, f_vmin, below=lambda k, f, v: k * v**3 + 0 * f)


@wrong("dvfs_energy", "the floor applied above f_vmin instead of below")
def dvfs_floor_above(f, cycles, p_static, k, f_vmin=0.0):
    return _dvfs(f, cycles, p_static, k, f_vmin, floor_above=True)


@wrong("dvfs_energy", "runs at max(f, f_vmin) (clips the frequency)")
def dvfs_clip(f, cycles, p_static, k, f_vmin=0.0):
    f = np.maximum(np.asarray(f, float), f_vmin)
    return (p_static + k * f**3) * cycles / f


@wrong("energy_optimal_frequency", "ignores the voltage floor")
def eof_no_floor(p_static, k, f_vmin=0.0):
    return float((p_static / (2.0 * k)) ** (1.0 / 3.0))


@wrong("energy_optimal_frequency", "min of the optimum and the floor")
def eof_min_floor(p_static, k, f_vmin=0.0):
    return float(min((p_static / (2.0 * k)) ** (1.0 / 3.0), f_vmin)) if f_vmin else \
        float((p_static / (2.0 * k)) ** (1.0 / 3.0))


@wrong("energy_optimal_frequency", "the floor whenever there is one")
def eof_floor_always(p_static, k, f_vmin=0.0):
    return float(f_vmin) if f_vmin else float((p_static / (2.0 * k)) ** (1.0 / 3.0))


@wrong("dvfs_energy", "power times cycles (forgets time = cycles / f)")
def dvfs_no_time(f, cycles, p_static, k, f_vmin=0.0):
    f = np.asarray(f, float)
    return (p_static + k * f**3) * cycles


@wrong("dvfs_energy", "dynamic power k f^2 instead of k f^3")
def dvfs_square(f, cycles, p_static, k, f_vmin=0.0):
    f = np.asarray(f, float)
    return (p_static + k * f**2) * cycles / f


@wrong("dvfs_energy", "static energy not scaled by the time")
def dvfs_static_once(f, cycles, p_static, k, f_vmin=0.0):
    f = np.asarray(f, float)
    return p_static + k * f**3 * cycles / f


@wrong("energy_optimal_frequency", "(p_static / k)^(1/3): drops the 2 of the derivative")
def eof_no_two(p_static, k, f_vmin=0.0):
    return (p_static / k) ** (1 / 3)


@wrong("energy_optimal_frequency", "square root instead of cube root")
def eof_sqrt(p_static, k, f_vmin=0.0):
    return (p_static / (2 * k)) ** 0.5


@wrong("energy_optimal_frequency", "p_static / (3 k) under the cube root")
def eof_three(p_static, k, f_vmin=0.0):
    return (p_static / (3 * k)) ** (1 / 3)


def _tf(n_params, n_tokens, n_layers=0, d_model=0, seq_len=0, *, attn=12.0, per_token=False):
    N, D = np.asarray(n_params, float), np.asarray(n_tokens, float)
    attention = attn * n_layers * d_model * seq_len
    out = 6.0 * N * D + (attention if per_token else attention * D)
    return float(out) if np.ndim(out) == 0 else out


@wrong("training_flops", "attention halved for the causal mask: 6 L d T (the 'about 4 %')")
def tf_causal(n_params, n_tokens, n_layers=0, d_model=0, seq_len=0):
    return _tf(n_params, n_tokens, n_layers, d_model, seq_len, attn=6.0)


@wrong("training_flops", "attention counted once, not per token: 6 N D + 12 L d T")
def tf_attn_once(n_params, n_tokens, n_layers=0, d_model=0, seq_len=0):
    return _tf(n_params, n_tokens, n_layers, d_model, seq_len, per_token=True)


@wrong("training_flops", "ignores the attention term")
def tf_no_attn(n_params, n_tokens, n_layers=0, d_model=0, seq_len=0):
    return _tf(n_params, n_tokens)


@wrong("training_flops", "attention with T squared: 12 L d T^2 per token")
def tf_attn_square(n_params, n_tokens, n_layers=0, d_model=0, seq_len=0):
    return _tf(n_params, n_tokens, n_layers, d_model * seq_len, seq_len)


@wrong("training_flops", "2 N D (forward pass only)")
def tf_forward(n_params, n_tokens, n_layers=0, d_model=0, seq_len=0):
    return (2.0 * np.asarray(n_params, float) + 12.0 * n_layers * d_model * seq_len) \
        * np.asarray(n_tokens, float)


@wrong("training_flops", "np.int64 arithmetic: overflows for large N D")
def tf_int64(n_params, n_tokens, n_layers=0, d_model=0, seq_len=0):
    with np.errstate(over="ignore"):
        return (np.int64(6) * np.int64(n_params) + np.int64(12 * n_layers * d_model * seq_len)) \
            * np.int64(n_tokens)


@wrong("training_flops", "math.prod: scalars only")
def tf_scalar(n_params, n_tokens, n_layers=0, d_model=0, seq_len=0):
    return float((6 * n_params + 12 * n_layers * d_model * seq_len) * n_tokens)


# --- issue 18: kind inputs, types and the method ---------------------------------------------

@wrong("speedup_with_overhead", "float32 arithmetic")
def swo_float32(f, P, c, b=0.0, algorithm="tree"):
    if algorithm not in ("ring", "tree"):
        raise ValueError(algorithm)
    P = np.asarray(P, np.float32)
    f, c, b = (np.float32(x) if np.ndim(x) == 0 else np.asarray(x, np.float32) for x in (f, c, b))
    sync = (2 * (P - 1) * c + 2 * (P - 1) / P * b if algorithm == "ring"
            else 2 * np.ceil(np.log2(P)) * (c + b))
    return 1 / ((1 - f) + f / P + sync)


@wrong("speedup_with_overhead", "a list for arrays")
def swo_list(f, P, c, b=0.0, algorithm="tree"):
    out = _swo(f, P, c, b, algorithm)
    return out.tolist() if np.ndim(out) else float(out)


@wrong("best_worker_count", "a float P (np.float64 from a float arange)")
def bwc_float(f, c, P_max, b=0.0, algorithm="tree"):
    P = np.arange(1.0, P_max + 1)
    return P[np.argmax(_swo(f, P, c, b, algorithm))]


@wrong("arithmetic_intensity", "an int when the division is exact (10 over 5 gives 2)")
def ai_int_when_whole(flops, n_bytes):
    if n_bytes <= 0:
        raise ValueError(n_bytes)
    q = flops / n_bytes
    return int(q) if q == int(q) else q


@wrong("arithmetic_intensity", "`if not n_bytes`: negative sizes pass")
def ai_falsy(flops, n_bytes):
    if not n_bytes:
        raise ValueError(n_bytes)
    return flops / n_bytes


@wrong("arithmetic_intensity", "float32 arithmetic")
def ai_float32(flops, n_bytes):
    if n_bytes <= 0:
        raise ValueError(n_bytes)
    return np.float32(flops) / np.float32(n_bytes)


@wrong("roofline", "np.where(ai < ridge, ai * bw, peak): an int array for integer intensities")
def roof_where(ai, peak_flops, bandwidth_Bps):
    ai = np.asarray(ai)
    return np.where(ai < peak_flops / bandwidth_Bps, ai * bandwidth_Bps, peak_flops)


@wrong("roofline", "float32 arithmetic")
def roof_float32(ai, peak_flops, bandwidth_Bps):
    ai = np.asarray(ai, np.float32)
    return np.minimum(np.float32(peak_flops), ai * np.float32(bandwidth_Bps))


@wrong("roofline", "a list for arrays")
def roof_list(ai, peak_flops, bandwidth_Bps):
    out = np.minimum(peak_flops, np.asarray(ai, float) * bandwidth_Bps)
    return out.tolist() if np.ndim(out) else float(out)


@wrong("triad_bytes", "int(3.0 * n * itemsize): a float on the way, inexact for large n")
def triad_via_float(n, itemsize=8):
    return int(3.0 * n * itemsize)


@wrong("triad_bytes", "np.int64 arithmetic: overflows past 2**63")
def triad_int64(n, itemsize=8):
    with np.errstate(over="ignore"):
        return np.int64(3) * np.int64(n) * np.int64(itemsize)


@wrong("matmul_intensity", "floor division 2 n // (3 itemsize)")
def mm_floor(n, itemsize=4, tile=None):
    return float(2 * n // ((2 * _reads(n, tile) + 1) * itemsize))


@wrong("matmul_intensity", "np.int64 arithmetic: 2 n^3 overflows for n above 1.6 million")
def mm_int64(n, itemsize=4, tile=None):
    q = _reads(n, tile)
    n = np.int64(n)
    with np.errstate(over="ignore"):
        return float(2 * n**3) / float((2 * q + 1) * n**2 * itemsize)


@wrong("matmul_intensity", "an int when whole")
def mm_int_when_whole(n, itemsize=4, tile=None):
    q = 2 * n / ((2 * _reads(n, tile) + 1) * itemsize)
    return int(q) if q == int(q) else q


@wrong("energy_joules", "0 (an int) for fewer than two samples")
def ej_int_zero(power_w, dt_s):
    p = np.asarray(power_w, float)
    return 0 if p.size < 2 else float(dt_s * (p.sum() - 0.5 * (p[0] + p[-1])))


@wrong("energy_joules", "float32 samples")
def ej_float32(power_w, dt_s):
    p = np.asarray(power_w, np.float32)
    return float(dt_s * (p.sum() - np.float32(0.5) * (p[0] + p[-1]))) if p.size > 1 else 0.0


@wrong("dvfs_energy", "integer cycles // integer f (floor division)")
def dvfs_floor(f, cycles, p_static, k, f_vmin=0.0):
    f = np.asarray(f)
    return (p_static + k * f**3) * (cycles // f)


@wrong("dvfs_energy", "float32 arithmetic")
def dvfs_float32(f, cycles, p_static, k, f_vmin=0.0):
    f = np.asarray(f, np.float32)
    return (np.float32(p_static) + np.float32(k) * f**3) * np.float32(cycles) / f


@wrong("energy_optimal_frequency", "a grid search over 0.01 .. 10 GHz")
def eof_grid(p_static, k, f_vmin=0.0):
    f = np.linspace(0.01, 10.0, 100_000)
    return float(f[np.argmin((p_static + k * f**3) / f)])


@wrong("energy_optimal_frequency", "exponent 0.333 for the cube root")
def eof_0333(p_static, k, f_vmin=0.0):
    return (p_static / (2 * k)) ** 0.333


@wrong("training_flops", "6 N D in Python ints: an int, not a float")
def tf_int(n_params, n_tokens, n_layers=0, d_model=0, seq_len=0):
    if np.ndim(n_params) == 0 and np.ndim(n_tokens) == 0:
        return (6 * n_params + 12 * n_layers * d_model * seq_len) * n_tokens
    return _tf(n_params, n_tokens, n_layers, d_model, seq_len)


@wrong("training_flops", "integer arrays multiplied as int64 (overflow past 2**63)")
def tf_int_arrays(n_params, n_tokens, n_layers=0, d_model=0, seq_len=0):
    with np.errstate(over="ignore"):
        if np.ndim(n_params) == 0 and np.ndim(n_tokens) == 0:
            return _tf(n_params, n_tokens, n_layers, d_model, seq_len)
        return (6 * np.asarray(n_params) + 12 * n_layers * d_model * seq_len) \
            * np.asarray(n_tokens)


@wrong("energy_joules", "rounded to 2 decimals (centijoules)")
def ej_rounded(power_w, dt_s):
    p = np.asarray(power_w, float)
    return round(float(dt_s * (p.sum() - 0.5 * (p[0] + p[-1]))), 2) if p.size > 1 else 0.0


@wrong("best_worker_count", "argmax of the speed-up rounded to 6 decimals (near-ties go low)")
def bwc_rounded(f, c, P_max, b=0.0, algorithm="tree"):
    P = np.arange(1, P_max + 1)
    return int(P[np.argmax(np.round(_swo(f, P, c, b, algorithm), 6))])

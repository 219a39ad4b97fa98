"""Wrong answers to notebook 07's exercises (networks for AI clusters)."""
# ruff: noqa: B905 - wrong answers are written the way students write them

from __future__ import annotations

import math

import numpy as np

from tests.wrong_answers import wrong

NOTEBOOK = "07_cluster_networks"


# --- alpha_beta_time ---------------------------------------------------------------------------

@wrong("alpha_beta_time", "bandwidth read as bits per second: alpha + 8 n / B")
def ab_bits(n_bytes, alpha_s, bandwidth_Bps):
    return alpha_s + 8 * np.asarray(n_bytes, float) / bandwidth_Bps


@wrong("alpha_beta_time", "alpha * n + n / B (latency per byte)")
def ab_alpha_per_byte(n_bytes, alpha_s, bandwidth_Bps):
    n = np.asarray(n_bytes, float)
    return alpha_s * n + n / bandwidth_Bps


@wrong("alpha_beta_time", "one size at a time with float(): a 1-D list works, 2-D fails")
def ab_loop(n_bytes, alpha_s, bandwidth_Bps):
    if np.ndim(n_bytes) == 0:
        return alpha_s + float(n_bytes) / bandwidth_Bps
    return np.array([alpha_s + float(n) / bandwidth_Bps for n in n_bytes])


@wrong("alpha_beta_time", "floor division n // B")
def ab_floor(n_bytes, alpha_s, bandwidth_Bps):
    return alpha_s + np.asarray(n_bytes) // bandwidth_Bps


# --- allreduce_time ------------------------------------------------------------------------------

def _allreduce(algorithm, p, n, a, B, *, levels=lambda p: math.ceil(math.log2(p)),
               ring_factor=lambda p: 2 * (p - 1) / p, ps_senders=lambda p: p - 1,
               p1_zero=True, check_first=True):
    known = algorithm in ("ring", "tree", "ps")
    if check_first and not known:
        raise ValueError(algorithm)
    if p1_zero and p == 1:
        return 0.0
    if not known:
        raise ValueError(algorithm)
    t = n / B
    if algorithm == "ring":
        return 2 * (p - 1) * a + ring_factor(p) * t
    if algorithm == "tree":
        return 2 * levels(p) * (a + t)
    return 2 * (a + ps_senders(p) * t)


@wrong("allreduce_time", "tree with log2(p), not rounded up")
def ar_log2(algorithm, p, n, a, B):
    return _allreduce(algorithm, p, n, a, B, levels=math.log2)


@wrong("allreduce_time", "tree with int(log2(p)), rounded down")
def ar_floor_log2(algorithm, p, n, a, B):
    return _allreduce(algorithm, p, n, a, B, levels=lambda p: int(math.log2(p)))


@wrong("allreduce_time", "tree with p.bit_length() levels")
def ar_bit_length(algorithm, p, n, a, B):
    return _allreduce(algorithm, p, n, a, B, levels=lambda p: int(p).bit_length())


@wrong("allreduce_time", "ring moves 2 n / B (without the (p - 1) / p)")
def ar_ring_2n(algorithm, p, n, a, B):
    return _allreduce(algorithm, p, n, a, B, ring_factor=lambda p: 2)


@wrong("allreduce_time", "parameter server receives p gradients, not p - 1")
def ar_ps_p(algorithm, p, n, a, B):
    return _allreduce(algorithm, p, n, a, B, ps_senders=lambda p: p)


@wrong("allreduce_time", "no special case for p = 1 (the parameter server then costs 2 alpha)")
def ar_no_p1(algorithm, p, n, a, B):
    return _allreduce(algorithm, p, n, a, B, p1_zero=False)


@wrong("allreduce_time", "returns 0 for p = 1 before checking the algorithm's name")
def ar_p1_first(algorithm, p, n, a, B):
    return _allreduce(algorithm, p, n, a, B, check_first=False)


@wrong("allreduce_time", "algorithm.lower() first: None raises AttributeError")
def ar_lower(algorithm, p, n, a, B):
    return _allreduce(algorithm.lower(), p, n, a, B)


@wrong("allreduce_time", "unknown names fall through to the parameter server")
def ar_no_error(algorithm, p, n, a, B):
    if p == 1:
        return 0.0
    algorithm = algorithm if algorithm in ("ring", "tree") else "ps"
    return _allreduce(algorithm, p, n, a, B)


# --- ring_allreduce ------------------------------------------------------------------------------

def _ring(buffers, *, copy_chunks=True, gather_offset=1, sizes=None):
    p = len(buffers)
    chunks = [[c.copy() if copy_chunks else c for c in np.array_split(np.asarray(b), p)]
              for b in buffers]
    sent = [0] * p
    for phase in ("reduce-scatter", "all-gather"):
        for s in range(p - 1):
            messages = []
            for r in range(p):
                c = (r - s) % p if phase == "reduce-scatter" else (r + gather_offset - s) % p
                messages.append(((r + 1) % p, c, chunks[r][c].copy()))
                sent[r] += sizes(chunks[r][c]) if sizes else chunks[r][c].size
            for dst, c, data in messages:
                if phase == "reduce-scatter":
                    if copy_chunks:
                        chunks[dst][c] = chunks[dst][c] + data
                    else:
                        chunks[dst][c] += data
                else:
                    chunks[dst][c] = data
    return [np.concatenate(ch) for ch in chunks], sent


@wrong("ring_allreduce", "the sum computed directly; counts from the formula 2 (p - 1) n / p")
def ring_shortcut(buffers):
    p, n = len(buffers), len(buffers[0])
    total = np.sum(buffers, axis=0)
    return [total.copy() for _ in range(p)], [2 * (p - 1) * n // p] * p


@wrong("ring_allreduce", "one result array shared by every rank")
def ring_aliased(buffers):
    results, sent = _ring(buffers)
    return [results[0]] * len(buffers), sent


@wrong("ring_allreduce", "adds into views of the inputs (np.array_split does not copy)")
def ring_in_place(buffers):
    return _ring(buffers, copy_chunks=False)


@wrong("ring_allreduce", "all-gather sends chunk (r - s) mod p, the reduce-scatter's index")
def ring_gather_index(buffers):
    return _ring(buffers, gather_offset=0)


@wrong("ring_allreduce", "counts every chunk as n // p elements")
def ring_equal_chunks(buffers):
    n, p = len(buffers[0]), len(buffers)
    return _ring(buffers, sizes=lambda chunk: n // p)


@wrong("ring_allreduce", "returns the input arrays themselves when p = 1")
def ring_p1_input(buffers):
    if len(buffers) == 1:
        return [buffers[0]], [0]
    return _ring(buffers)


# --- aimd_step -----------------------------------------------------------------------------------

@wrong("aimd_step", "congestion when the sum reaches capacity (>= instead of >)")
def aimd_ge(rates, capacity, increase, decrease):
    rates = np.asarray(rates, float)
    return rates * decrease if rates.sum() >= capacity else rates + increase


@wrong("aimd_step", "compares each flow with the capacity, not the sum")
def aimd_per_flow(rates, capacity, increase, decrease):
    rates = np.asarray(rates, float)
    return np.where(rates > capacity, rates * decrease, rates + increase)


@wrong("aimd_step", "compares the largest flow with the capacity")
def aimd_max(rates, capacity, increase, decrease):
    rates = np.asarray(rates, float)
    return rates * decrease if rates.max() > capacity else rates + increase


@wrong("aimd_step", "updates the rates in place")
def aimd_in_place(rates, capacity, increase, decrease):
    if rates.sum() > capacity:
        rates *= decrease
    else:
        rates += increase
    return rates


@wrong("aimd_step", "subtracts the decrease instead of multiplying")
def aimd_subtract(rates, capacity, increase, decrease):
    rates = np.asarray(rates, float)
    return rates - decrease if rates.sum() > capacity else rates + increase


# --- fat_tree ------------------------------------------------------------------------------------

def _fat(k, *, hosts=None, core=None, check=lambda k: k <= 0 or k % 2):
    if check(k):
        raise ValueError(k)
    edge = k * (k // 2)
    c = (k // 2) ** 2 if core is None else core(k)
    return {"hosts": hosts(k) if hosts else k ** 3 // 4, "edge": edge, "aggregation": edge,
            "core": c, "switches": 2 * edge + c}


@wrong("fat_tree", "k^2 hosts (equal to k^3/4 only for k = 4)")
def fat_hosts_k2(k):
    return _fat(k, hosts=lambda k: k * k)


@wrong("fat_tree", "k core switches (equal to (k/2)^2 only for k = 4)")
def fat_core_k(k):
    return _fat(k, core=lambda k: k)


@wrong("fat_tree", "k/2 core switches")
def fat_core_half(k):
    return _fat(k, core=lambda k: k // 2)


@wrong("fat_tree", "rejects odd k and k = 0, not negative k")
def fat_no_negative(k):
    return _fat(k, check=lambda k: k == 0 or k % 2)


@wrong("fat_tree", "rejects odd k only")
def fat_odd_only(k):
    return _fat(k, check=lambda k: k % 2)


# --- ecmp_loads / adaptive_loads -----------------------------------------------------------------

@wrong("ecmp_loads", "counts flows per path instead of adding their sizes")
def ecmp_counts(flow_sizes, n_paths, path_of):
    loads = np.zeros(n_paths)
    for i, _ in enumerate(flow_sizes):
        loads[path_of(i) % n_paths] += 1
    return loads


@wrong("ecmp_loads", "hashes i % n_paths, not i")
def ecmp_mod_first(flow_sizes, n_paths, path_of):
    loads = np.zeros(n_paths)
    for i, size in enumerate(flow_sizes):
        loads[path_of(i % n_paths) % n_paths] += size
    return loads


@wrong("ecmp_loads", "hashes the flow's size, not its index")
def ecmp_hash_size(flow_sizes, n_paths, path_of):
    loads = np.zeros(n_paths)
    for size in flow_sizes:
        loads[path_of(int(size)) % n_paths] += size
    return loads


@wrong("ecmp_loads", "np.bincount without minlength: trailing empty paths are dropped")
def ecmp_bincount(flow_sizes, n_paths, path_of):
    paths = [path_of(i) % n_paths for i in range(len(flow_sizes))]
    return np.bincount(paths, weights=np.asarray(flow_sizes, float)).astype(float)


@wrong("adaptive_loads", "flows in the order given, not largest first")
def adaptive_unsorted(flow_sizes, n_paths):
    loads = np.zeros(n_paths)
    for size in flow_sizes:
        loads[int(np.argmin(loads))] += size
    return loads


@wrong("adaptive_loads", "smallest first")
def adaptive_ascending(flow_sizes, n_paths):
    loads = np.zeros(n_paths)
    for size in sorted(flow_sizes):
        loads[int(np.argmin(loads))] += size
    return loads


@wrong("adaptive_loads", "ties go to the highest index")
def adaptive_last_tie(flow_sizes, n_paths):
    loads = np.zeros(n_paths)
    for size in sorted(flow_sizes, reverse=True):
        loads[n_paths - 1 - int(np.argmin(loads[::-1]))] += size
    return loads


@wrong("adaptive_loads", "round robin, largest first")
def adaptive_round_robin(flow_sizes, n_paths):
    loads = np.zeros(n_paths)
    for i, size in enumerate(sorted(flow_sizes, reverse=True)):
        loads[i % n_paths] += size
    return loads


@wrong("adaptive_loads", "sorts flow_sizes in place")
def adaptive_sorts_input(flow_sizes, n_paths):
    loads = np.zeros(n_paths)
    flow_sizes.sort()
    for size in flow_sizes[::-1]:
        loads[int(np.argmin(loads))] += size
    return loads


@wrong("adaptive_loads", "-np.sort(-flow_sizes): a list of sizes fails")
def adaptive_negate(flow_sizes, n_paths):
    loads = np.zeros(n_paths)
    for size in -np.sort(-flow_sizes):
        loads[int(np.argmin(loads))] += size
    return loads


# --- tail_probability ----------------------------------------------------------------------------

@wrong("tail_probability", "p * fanout (the union bound)")
def tail_linear(p_slow, fanout):
    return np.asarray(p_slow, float) * np.asarray(fanout, float)


@wrong("tail_probability", "(1 - p)^fanout (the probability that all are fast)")
def tail_complement(p_slow, fanout):
    return (1 - np.asarray(p_slow, float)) ** np.asarray(fanout, float)


@wrong("tail_probability", "1 - exp(-p * fanout) (the Poisson approximation)")
def tail_poisson(p_slow, fanout):
    return 1 - np.exp(-np.asarray(p_slow, float) * np.asarray(fanout, float))


@wrong("tail_probability", "math.pow: scalars only")
def tail_math(p_slow, fanout):
    return 1 - math.pow(1 - p_slow, fanout)

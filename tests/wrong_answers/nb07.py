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

def _ring(buffers, log=None, *, copy_chunks=True, gather_offset=1, sizes=None,
          log_empty=True):
    p = len(buffers)
    chunks = [[c.copy() if copy_chunks else c for c in np.array_split(np.asarray(b), p)]
              for b in buffers]
    sent = [0] * p
    step = 0
    for phase in ("reduce-scatter", "all-gather"):
        for s in range(p - 1):
            messages = []
            for r in range(p):
                c = (r - s) % p if phase == "reduce-scatter" else (r + gather_offset - s) % p
                messages.append(((r + 1) % p, c, chunks[r][c].copy()))
                sent[r] += sizes(chunks[r][c]) if sizes else chunks[r][c].size
                if log is not None and (log_empty or chunks[r][c].size):
                    log.append((step, r, (r + 1) % p, c))
            step += 1
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
def ring_shortcut(buffers, log=None):
    p, n = len(buffers), len(buffers[0])
    total = np.sum(buffers, axis=0)
    return [total.copy() for _ in range(p)], [2 * (p - 1) * n // p] * p


@wrong("ring_allreduce", "one result array shared by every rank")
def ring_aliased(buffers, log=None):
    results, sent = _ring(buffers, log)
    return [results[0]] * len(buffers), sent


@wrong("ring_allreduce", "adds into views of the inputs (np.array_split does not copy)")
def ring_in_place(buffers, log=None):
    return _ring(buffers, log, copy_chunks=False)


@wrong("ring_allreduce", "all-gather sends chunk (r - s) mod p, the reduce-scatter's index")
def ring_gather_index(buffers, log=None):
    return _ring(buffers, log, gather_offset=0)


@wrong("ring_allreduce", "counts every chunk as n // p elements")
def ring_equal_chunks(buffers, log=None):
    n, p = len(buffers[0]), len(buffers)
    return _ring(buffers, log, sizes=lambda chunk: n // p)


@wrong("ring_allreduce", "returns the input arrays themselves when p = 1")
def ring_p1_input(buffers, log=None):
    if len(buffers) == 1:
        return [buffers[0]], [0]
    return _ring(buffers, log)


# --- hierarchical_allreduce_time ---------------------------------------------------------------

def _hier(n, g, N, a_i, B_i, a_e, B_e, *, shard=lambda n, g: n / g, intra_factor=1,
          inter_steps=lambda g, N: 2 * (N - 1), inter_factor=lambda N: 2 * (N - 1) / N,
          inter_bytes=None, check=True, out=tuple):
    if check and (g < 1 or N < 1):
        raise ValueError((g, N))
    inside = intra_factor * ((g - 1) * a_i + (g - 1) / g * n / B_i)
    across = inter_steps(g, N) * a_e + inter_factor(N) * shard(n, g) / B_e
    sent = inter_bytes(n, g, N) if inter_bytes else inter_factor(N) * shard(n, g)
    return out((float(2 * inside + across), float(intra_factor * 2 * (g - 1) / g * n),
                float(sent)))


@wrong("hierarchical_allreduce_time", "phase 2 all-reduces the whole buffer n, not the n/g shard")
def hier_full_inter(n, g, N, a_i, B_i, a_e, B_e):
    return _hier(n, g, N, a_i, B_i, a_e, B_e, shard=lambda n, g: n)


@wrong("hierarchical_allreduce_time", "a flat ring over all g N GPUs at the network's alpha and B")
def hier_flat_ring(n, g, N, a_i, B_i, a_e, B_e):
    if g < 1 or N < 1:
        raise ValueError((g, N))
    p = g * N
    if p == 1:
        return (0.0, 0.0, 0.0)
    return (2 * (p - 1) * a_e + 2 * (p - 1) / p * n / B_e, 0.0, 2 * (p - 1) / p * n)


@wrong("hierarchical_allreduce_time", "phases 1 and 3 each a whole all-reduce inside the server")
def hier_intra_allreduce(n, g, N, a_i, B_i, a_e, B_e):
    return _hier(n, g, N, a_i, B_i, a_e, B_e, intra_factor=2)


@wrong("hierarchical_allreduce_time", "phase 2 only a reduce-scatter across: (N-1)/N, not 2(N-1)/N")
def hier_inter_half(n, g, N, a_i, B_i, a_e, B_e):
    return _hier(n, g, N, a_i, B_i, a_e, B_e, inter_steps=lambda g, N: N - 1,
                 inter_factor=lambda N: (N - 1) / N)


@wrong("hierarchical_allreduce_time", "the shard rounded to whole bytes: n // g")
def hier_floor_shard(n, g, N, a_i, B_i, a_e, B_e):
    return _hier(n, g, N, a_i, B_i, a_e, B_e, shard=lambda n, g: n // g)


@wrong("hierarchical_allreduce_time", "network bytes counted for the whole buffer, 2(N-1)/N n")
def hier_bytes_whole(n, g, N, a_i, B_i, a_e, B_e):
    return _hier(n, g, N, a_i, B_i, a_e, B_e,
                 inter_bytes=lambda n, g, N: 2 * (N - 1) / N * n)


@wrong("hierarchical_allreduce_time", "phase 2 pays the latency of a ring over all GPUs, 2(gN-1)")
def hier_latency_all(n, g, N, a_i, B_i, a_e, B_e):
    return _hier(n, g, N, a_i, B_i, a_e, B_e, inter_steps=lambda g, N: 2 * (g * N - 1))


@wrong("hierarchical_allreduce_time", "no check of g and N: N = 0 returns a number")
def hier_no_check(n, g, N, a_i, B_i, a_e, B_e):
    if g == 0:
        raise ValueError(g)
    return _hier(n, g, N, a_i, B_i, a_e, B_e, check=False,
                 inter_factor=lambda N: 2 * (N - 1) / max(N, 1))


@wrong("hierarchical_allreduce_time", "returns the ints (0, 0, 0) for one GPU")
def hier_int_zero(n, g, N, a_i, B_i, a_e, B_e):
    if g == 1 and N == 1:
        return (0, 0, 0)
    return _hier(n, g, N, a_i, B_i, a_e, B_e)


@wrong("hierarchical_allreduce_time", "returns a list, not a tuple")
def hier_list(n, g, N, a_i, B_i, a_e, B_e):
    return _hier(n, g, N, a_i, B_i, a_e, B_e, out=list)


@wrong("hierarchical_allreduce_time", "only the seconds, not the bytes")
def hier_time_only(n, g, N, a_i, B_i, a_e, B_e):
    return _hier(n, g, N, a_i, B_i, a_e, B_e)[0]


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


# --- issue 18: kind inputs, types and the method ---------------------------------------------

@wrong("alpha_beta_time", "rounds a fractional size to whole bytes")
def ab_whole_bytes(n_bytes, alpha_s, bandwidth_Bps):
    return alpha_s + np.floor(np.asarray(n_bytes, dtype=float)) / bandwidth_Bps


@wrong("alpha_beta_time", "float32 arithmetic (a float32 array, 7 digits)")
def ab_float32(n_bytes, alpha_s, bandwidth_Bps):
    return np.float32(alpha_s) + np.asarray(n_bytes, dtype=np.float32) / np.float32(bandwidth_Bps)


@wrong("alpha_beta_time", "integer sizes stay an integer array: alpha + n // B")
def ab_int_array(n_bytes, alpha_s, bandwidth_Bps):
    n = np.asarray(n_bytes)
    if n.dtype.kind == "i":
        return (alpha_s + n // bandwidth_Bps).astype(n.dtype)
    return alpha_s + n / bandwidth_Bps


@wrong("alpha_beta_time", "a list for an array of sizes")
def ab_list(n_bytes, alpha_s, bandwidth_Bps):
    if np.ndim(n_bytes) == 0:
        return alpha_s + n_bytes / bandwidth_Bps
    return (alpha_s + np.asarray(n_bytes, dtype=float) / bandwidth_Bps).tolist()


@wrong("allreduce_time", "tree levels math.ceil(math.log(p, 2)): one too many at p = 2**29")
def ar_log_base(algorithm, p, n, a, B):
    return _allreduce(algorithm, p, n, a, B, levels=lambda p: math.ceil(math.log(p, 2)))


@wrong("allreduce_time", "ring chunks in whole bytes: n // p per chunk")
def ar_whole_chunks(algorithm, p, n, a, B):
    return _allreduce(algorithm, p, n, a, B, ring_factor=lambda p: 2 * (p - 1) * (n // p) / n
                      if n else 0.0)


@wrong("allreduce_time", "tree levels from np.log2 of a float32 p (2**24 + 1 rounds to 2**24)")
def ar_float32_log(algorithm, p, n, a, B):
    return _allreduce(algorithm, p, n, a, B,
                      levels=lambda p: int(np.ceil(np.log2(np.float32(p)))))


@wrong("ring_allreduce", "np.sum for the values, the counts and the log from the schedule")
def ring_sum_and_schedule(buffers, log=None):
    p = len(buffers)
    _, sent = _ring(buffers, log)
    total = np.sum(buffers, axis=0)
    return [total.copy() for _ in range(p)], sent


@wrong("ring_allreduce", "reduce-scatter on the ring, then each owner hands its chunk to all")
def ring_broadcast_gather(buffers, log=None):
    p = len(buffers)
    chunks = [[c.copy() for c in np.array_split(np.asarray(b), p)] for b in buffers]
    sent = [0] * p
    for s in range(p - 1):
        messages = []
        for r in range(p):
            c = (r - s) % p
            messages.append(((r + 1) % p, c, chunks[r][c].copy()))
            sent[r] += chunks[r][c].size
            if log is not None:
                log.append((s, r, (r + 1) % p, c))
        for dst, c, data in messages:
            chunks[dst][c] = chunks[dst][c] + data
    for step in range(p - 1, 2 * (p - 1)):  # owner r of chunk r + 1 sends it to everyone
        owner = step - (p - 1)
        c = (owner + 1) % p
        for dst in range(p):
            if dst != owner:
                chunks[dst][c] = chunks[owner][c].copy()
                sent[owner] += chunks[owner][c].size
                if log is not None:
                    log.append((step, owner, dst, c))
    return [np.concatenate(ch) for ch in chunks], sent


@wrong("ring_allreduce", "logs only the sends of non-empty chunks")
def ring_log_nonempty(buffers, log=None):
    return _ring(buffers, log, log_empty=False)


@wrong("ring_allreduce", "results converted to float64 (int64 buffers give floats)")
def ring_float_results(buffers, log=None):
    results, sent = _ring(buffers, log)
    return [r.astype(np.float64) for r in results], sent


@wrong("ring_allreduce", "results as a tuple and counts as a numpy array")
def ring_tuple(buffers, log=None):
    results, sent = _ring(buffers, log)
    return tuple(results), np.array(sent)


@wrong("aimd_step", "compares the mean with capacity / n (a rearranged inequality)")
def aimd_mean(rates, capacity, increase, decrease):
    rates = np.asarray(rates, float)
    if rates.size and rates.mean() > capacity / rates.size:
        return rates * decrease
    return rates + increase


@wrong("aimd_step", "a tolerance: sums within 1e-9 of the capacity are not congestion")
def aimd_tolerance(rates, capacity, increase, decrease):
    rates = np.asarray(rates, float)
    if rates.sum() > capacity and not np.isclose(rates.sum(), capacity):
        return rates * decrease
    return rates + increase


@wrong("aimd_step", "integer rates stay integers on an increase")
def aimd_int(rates, capacity, increase, decrease):
    rates = np.asarray(rates)
    return rates * decrease if rates.sum() > capacity else rates + increase


@wrong("fat_tree", "k^3 / 4 in floats, then int(): inexact for large k")
def fat_float_hosts(k):
    return _fat(k, hosts=lambda k: int(k**3 / 4))


@wrong("fat_tree", "counts as floats (k ** 3 / 4)")
def fat_floats(k):
    d = _fat(k)
    return {key: float(v) for key, v in d.items()}


@wrong("fat_tree", "an extra key: pods")
def fat_pods(k):
    return {**_fat(k), "pods": k}


@wrong("ecmp_loads", "hashes in a numpy array, then % n_paths (wrong beyond 2**63)")
def ecmp_numpy_hashes(flow_sizes, n_paths, path_of):
    loads = np.zeros(n_paths)
    hashes = np.array([path_of(i) for i in range(len(flow_sizes))])
    for i, size in enumerate(flow_sizes):
        loads[int(hashes[i] % n_paths)] += size
    return loads


@wrong("ecmp_loads", "path_of(i) & (n_paths - 1): a mask, right only for powers of two")
def ecmp_mask(flow_sizes, n_paths, path_of):
    loads = np.zeros(n_paths)
    for i, size in enumerate(flow_sizes):
        loads[path_of(i) & (n_paths - 1)] += size
    return loads


@wrong("ecmp_loads", "loads of the sizes' dtype (integer sizes give an int array)")
def ecmp_int(flow_sizes, n_paths, path_of):
    loads = np.zeros(n_paths, dtype=np.asarray(flow_sizes).dtype if len(flow_sizes) else float)
    for i, size in enumerate(flow_sizes):
        loads[path_of(i) % n_paths] += size
    return loads


@wrong("adaptive_loads", "ties within a tolerance (np.isclose) go to the lowest index")
def adaptive_isclose(flow_sizes, n_paths):
    loads = np.zeros(n_paths)
    for size in sorted(flow_sizes, reverse=True):
        j = int(np.flatnonzero(np.isclose(loads, loads.min()))[0])
        loads[j] += size
    return loads


@wrong("adaptive_loads", "returns the loads sorted, largest first")
def adaptive_sorted(flow_sizes, n_paths):
    loads = np.zeros(n_paths)
    for size in sorted(flow_sizes, reverse=True):
        loads[int(np.argmin(loads))] += size
    return np.sort(loads)[::-1].copy()


@wrong("adaptive_loads", "loads of the sizes' dtype (integer sizes give an int array)")
def adaptive_int(flow_sizes, n_paths):
    sizes = np.asarray(flow_sizes)
    loads = np.zeros(n_paths, dtype=sizes.dtype if sizes.size else float)
    for size in sorted(sizes, reverse=True):
        loads[int(np.argmin(loads))] += size
    return loads


@wrong("tail_probability", "p = 1 special-cased to 1, also with fan-out 0")
def tail_p1(p_slow, fanout):
    p = np.asarray(p_slow, float)
    return np.where(p == 1.0, 1.0, 1 - (1 - p) ** np.asarray(fanout, float))


@wrong("tail_probability", "float32 arithmetic")
def tail_float32(p_slow, fanout):
    return 1 - (1 - np.asarray(p_slow, np.float32)) ** np.asarray(fanout, np.float32)


@wrong("tail_probability", "a list for arrays")
def tail_list(p_slow, fanout):
    out = 1.0 - (1.0 - np.asarray(p_slow, float)) ** np.asarray(fanout, float)
    return out.tolist() if out.ndim else float(out)


@wrong("allreduce_time", "p = 1 returns the int 0, not 0.0")
def ar_int_zero(algorithm, p, n, a, B):
    if algorithm in ("ring", "tree", "ps") and p == 1:
        return 0
    return _allreduce(algorithm, p, n, a, B)


@wrong("tail_probability", "rounded to 4 decimals (a percentage with two decimals)")
def tail_rounded(p_slow, fanout):
    return np.round(1.0 - (1.0 - np.asarray(p_slow, float)) ** np.asarray(fanout, float), 4)

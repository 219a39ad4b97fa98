"""Wrong answers to notebook 06's exercises (parallel training)."""
# ruff: noqa: B905 - wrong answers are written the way students write them

from __future__ import annotations

import numpy as np

from tests.wrong_answers import wrong

NOTEBOOK = "06_parallel_training"


def _validated(grads, counts):
    grads, counts = list(grads), [int(c) for c in counts]
    if len(grads) != len(counts) or any(c < 0 for c in counts) or sum(counts) == 0:
        raise ValueError("bad shards")
    return grads, counts


# --- shard_gradient_mean -------------------------------------------------------------------

@wrong("shard_gradient_mean", "plain mean of the shard means (ignores the counts)")
def sgm_plain_mean(grads, counts):
    grads, counts = _validated(grads, counts)
    return np.mean(np.stack(grads), axis=0)


@wrong("shard_gradient_mean", "weighted sum divided by the number of shards, not of examples")
def sgm_divide_by_shards(grads, counts):
    grads, counts = _validated(grads, counts)
    return sum(c * np.asarray(g, float) for g, c in zip(grads, counts)) / len(grads)


@wrong("shard_gradient_mean", "np.average(weights=counts): an empty shard's nan poisons it")
def sgm_np_average(grads, counts):
    grads, counts = _validated(grads, counts)
    return np.average(np.stack(grads).astype(float), axis=0, weights=counts)


@wrong("shard_gradient_mean", "accumulates into the first gradient (modifies the input)")
def sgm_in_place(grads, counts):
    grads, counts = _validated(grads, counts)
    total = grads[0]
    total *= counts[0]
    for g, c in zip(grads[1:], counts[1:]):
        if c:
            total += c * g
    return total / sum(counts)


@wrong("shard_gradient_mean", "np.dot(counts, stack): only 1-D gradients")
def sgm_dot(grads, counts):
    grads, counts = _validated(grads, counts)
    kept = [(g, c) for g, c in zip(grads, counts) if c]
    return np.dot([c for _, c in kept], np.stack([g for g, _ in kept])) / sum(counts)


@wrong("shard_gradient_mean", "checks lengths and the total but not negative counts")
def sgm_no_negative_check(grads, counts):
    grads, counts = list(grads), [int(c) for c in counts]
    if len(grads) != len(counts) or sum(counts) == 0:
        raise ValueError("bad shards")
    kept = [c * np.asarray(g, float) for g, c in zip(grads, counts) if c]
    return sum(kept[1:], kept[0]) / sum(counts)


@wrong("shard_gradient_mean", "starts from zeros_like(grads[0]): IndexError on no shards")
def sgm_index_error(grads, counts):
    total = np.zeros_like(np.asarray(grads[0], float))
    if len(grads) != len(counts) or min(counts) < 0 or sum(counts) == 0:
        raise ValueError("bad shards")
    for g, c in zip(grads, counts):
        if c:
            total = total + c * np.asarray(g, float)
    return total / sum(counts)


@wrong("shard_gradient_mean", "keeps the input dtype: integer gradients divide to integers")
def sgm_integer(grads, counts):
    grads, counts = _validated(grads, counts)
    total = sum(c * g for g, c in zip(grads, counts) if c)
    return total // sum(counts) if np.asarray(total).dtype.kind == "i" else total / sum(counts)


# --- column_parallel_linear / row_parallel_linear --------------------------------------------

@wrong("column_parallel_linear", "blocks of out // P columns: drops the remainder")
def col_floor_blocks(x, W, P):
    if not 1 <= P <= W.shape[1]:
        raise ValueError("P")
    k = W.shape[1] // P
    return np.concatenate([x @ W[:, i * k:(i + 1) * k] for i in range(P)], axis=-1)


@wrong("column_parallel_linear", "concatenates along axis 1: only a 2-D x works")
def col_axis_1(x, W, P):
    if not 1 <= P <= W.shape[1]:
        raise ValueError("P")
    return np.concatenate([x @ Wi for Wi in np.array_split(W, P, axis=1)], axis=1)


@wrong("column_parallel_linear", "no check that P <= the number of columns")
def col_no_upper_check(x, W, P):
    if P < 1:
        raise ValueError("P")
    return np.concatenate([x @ Wi for Wi in np.array_split(W, P, axis=1)], axis=-1)


@wrong("column_parallel_linear", "sums the column blocks' products (a row split's all-reduce)")
def col_sums(x, W, P):
    if not 1 <= P <= W.shape[1]:
        raise ValueError("P")
    return sum(x @ Wi for Wi in np.array_split(W, P, axis=1))


@wrong("row_parallel_linear", "splits x along axis 0 (the batch) instead of its last axis")
def row_split_batch(x, W, P):
    if not 1 <= P <= W.shape[0]:
        raise ValueError("P")
    parts = zip(np.array_split(x, P, axis=0), np.array_split(W, P, axis=0))
    return sum(xi @ Wi for xi, Wi in parts)


@wrong("row_parallel_linear", "splits x along axis 1: only a 2-D x works")
def row_axis_1(x, W, P):
    if not 1 <= P <= W.shape[0]:
        raise ValueError("P")
    parts = zip(np.array_split(x, P, axis=1), np.array_split(W, P, axis=0))
    return sum(xi @ Wi for xi, Wi in parts)


@wrong("row_parallel_linear", "concatenates the partial products instead of summing them")
def row_concat(x, W, P):
    if not 1 <= P <= W.shape[0]:
        raise ValueError("P")
    parts = zip(np.array_split(x, P, axis=-1), np.array_split(W, P, axis=0))
    return np.concatenate([xi @ Wi for xi, Wi in parts], axis=-1)


@wrong("row_parallel_linear", "no check that P <= the number of rows")
def row_no_upper_check(x, W, P):
    if P < 1:
        raise ValueError("P")
    parts = zip(np.array_split(x, P, axis=-1), np.array_split(W, P, axis=0))
    return sum(xi @ Wi for xi, Wi in parts)


# --- pipeline schedules ------------------------------------------------------------------------

@wrong("gpipe_schedule", "backwards start one step early, with the last forward")
def gpipe_early_backward(p, m):
    out = [(s + j, s, "F", j) for s in range(p) for j in range(m)]
    T = m + p - 2
    out += [(T + (p - 1 - s) + (m - 1 - j), s, "B", j) for s in range(p) for j in range(m)]
    return sorted(out)


@wrong("gpipe_schedule", "a step of slack between the last forward and the first backward")
def gpipe_slack(p, m):
    out = [(s + j, s, "F", j) for s in range(p) for j in range(m)]
    T = m + p
    out += [(T + (p - 1 - s) + (m - 1 - j), s, "B", j) for s in range(p) for j in range(m)]
    return sorted(out)


@wrong("gpipe_schedule", "backwards start on stage 0 (the dependency runs the other way)")
def gpipe_backward_from_stage_0(p, m):
    out = [(s + j, s, "F", j) for s in range(p) for j in range(m)]
    T = m + p - 1
    out += [(T + s + (m - 1 - j), s, "B", j) for s in range(p) for j in range(m)]
    return sorted(out)


@wrong("gpipe_schedule", "no pipelining: one micro-batch through all stages at a time")
def gpipe_sequential(p, m):
    out, t = [], 0
    for j in range(m):
        for s in range(p):
            out.append((t, s, "F", j))
            t += 1
        for s in reversed(range(p)):
            out.append((t, s, "B", j))
            t += 1
    return out


@wrong("gpipe_schedule", "every stage starts its backwards at step m + p - 1: deadlocks")
def gpipe_backwards_together(p, m):
    out = [(s + j, s, "F", j) for s in range(p) for j in range(m)]
    T = m + p - 1
    out += [(T + (m - 1 - j), s, "B", j) for s in range(p) for j in range(m)]
    return sorted(out)


@wrong("gpipe_schedule", "steps counted from 1")
def gpipe_from_one(p, m):
    out = [(s + j + 1, s, "F", j) for s in range(p) for j in range(m)]
    T = m + p
    out += [(T + (p - 1 - s) + (m - 1 - j), s, "B", j) for s in range(p) for j in range(m)]
    return sorted(out)


def _one_f_one_b(p, m, warm_of, pairs_first="F", lag=1):
    """The greedy placement of the master's solution, over per-stage orders made by warm_of;
    an op runs ``lag`` steps after its inputs (1: the step after)."""
    orders = []
    for s in range(p):
        warm = warm_of(p, m, s)
        ops = [("F", j) for j in range(warm)]
        for j in range(m - warm):
            pair = [("F", warm + j), ("B", j)]
            ops += pair if pairs_first == "F" else pair[::-1]
        ops += [("B", j) for j in range(max(m - warm, 0), m)]
        orders.append(ops)
    done, free, pos, out = {}, [0] * p, [0] * p, []
    for _ in range(4 * p * m + 4):
        for s in range(p):
            while pos[s] < len(orders[s]):
                op, j = orders[s][pos[s]]
                deps = ([(s - 1, "F", j)] if s > 0 else []) if op == "F" else \
                    [(s, "F", j)] + ([(s + 1, "B", j)] if s < p - 1 else [])
                if not all(dep in done for dep in deps):
                    break
                t = max([free[s]] + [done[dep] + lag for dep in deps])
                done[s, op, j], free[s] = t, t + 1
                out.append((t, s, op, j))
                pos[s] += 1
    return sorted(out)


@wrong("one_f_one_b_schedule", "GPipe's schedule (all forwards first)")
def ofob_is_gpipe(p, m):
    out = [(s + j, s, "F", j) for s in range(p) for j in range(m)]
    T = m + p - 1
    out += [(T + (p - 1 - s) + (m - 1 - j), s, "B", j) for s in range(p) for j in range(m)]
    return sorted(out)


@wrong("one_f_one_b_schedule", "warm-up of p - 1 - s forwards without capping it at m")
def ofob_uncapped_warmup(p, m):
    return _one_f_one_b(p, m, lambda p, m, s: p - 1 - s)


@wrong("one_f_one_b_schedule", "warm-up of p - s forwards (one too many)")
def ofob_warmup_p_minus_s(p, m):
    return _one_f_one_b(p, m, lambda p, m, s: min(p - s, m))


@wrong("one_f_one_b_schedule", "the same warm-up (p - 1) on every stage")
def ofob_same_warmup(p, m):
    return _one_f_one_b(p, m, lambda p, m, s: min(p - 1, m))


@wrong("one_f_one_b_schedule", "no warm-up: F, B alternate from the start on every stage")
def ofob_no_warmup(p, m):
    return _one_f_one_b(p, m, lambda p, m, s: 0)


@wrong("one_f_one_b_schedule", "an op in the same step as its inputs (forgot the + 1): deadlocks")
def ofob_same_step_as_inputs(p, m):
    return _one_f_one_b(p, m, lambda p, m, s: min(p - 1 - s, m), lag=0)


@wrong("one_f_one_b_schedule", "stage 0 warms up with p forwards: holds one micro-batch more")
def ofob_stage_0_one_more(p, m):
    return _one_f_one_b(p, m, lambda p, m, s: min(p - s if s == 0 else p - 1 - s, m))


@wrong("one_f_one_b_schedule", "stages s > 0 start with the previous stage, one step early")
def ofob_forwards_one_step_early(p, m):
    out = _one_f_one_b(p, m, lambda p, m, s: min(p - 1 - s, m))
    return sorted((t - 1 if op == "F" and s > 0 and j == 0 else t, s, op, j)
                  for t, s, op, j in out)


# --- bubble_fraction ---------------------------------------------------------------------------

@wrong("bubble_fraction", "(p - 1) / m")
def bubble_over_m(p, m):
    if p < 1 or m < 1:
        raise ValueError("p, m")
    return (p - 1) / m


@wrong("bubble_fraction", "(p - 1) / (m + p): off by one in the denominator")
def bubble_off_by_one(p, m):
    if p < 1 or m < 1:
        raise ValueError("p, m")
    return (p - 1) / (m + p)


@wrong("bubble_fraction", "checks p but not m")
def bubble_no_m_check(p, m):
    if p < 1:
        raise ValueError("p")
    return (p - 1) / (m + p - 1)


@wrong("bubble_fraction", "checks p == 0 and m == 0 only, not negative values")
def bubble_zero_check(p, m):
    if p == 0 or m == 0:
        raise ValueError("p, m")
    return (p - 1) / (m + p - 1)


# --- training_memory_gb ------------------------------------------------------------------------

def _memory(n, dp, tp, pp, zero_stage, *, divide=("o", "g", "w"), per_gb=1e9, split=None):
    if zero_stage not in (0, 1, 2, 3) or min(dp, tp, pp) < 1:
        raise ValueError("bad plan")
    n = n / (split if split is not None else tp * pp)
    parts = {"w": 2 * n, "g": 2 * n, "o": 12 * n}
    for what in divide[:zero_stage]:
        parts[what] /= dp
    return sum(parts.values()) / per_gb


@wrong("training_memory_gb", "ZeRO-2 and -3 divide only the one new part (not cumulative)")
def mem_not_cumulative(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    if zero_stage not in (2, 3):
        return _memory(n_params, dp, tp, pp, zero_stage)
    return _memory(n_params, dp, tp, pp, 1, divide=({2: "g", 3: "w"}[zero_stage],))


@wrong("training_memory_gb", "GiB (2**30 bytes) instead of GB")
def mem_gib(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    return _memory(n_params, dp, tp, pp, zero_stage, per_gb=2**30)


@wrong("training_memory_gb", "data parallelism divides the model over dp even without ZeRO")
def mem_dp_divides(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    return _memory(n_params, dp, tp, pp, zero_stage, split=dp * tp * pp)


@wrong("training_memory_gb", "ignores tp and pp")
def mem_no_model_split(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    return _memory(n_params, dp, tp, pp, zero_stage, split=1)


@wrong("training_memory_gb", "splits the model over tp only, not pp")
def mem_tp_only(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    return _memory(n_params, dp, tp, pp, zero_stage, split=tp)


@wrong("training_memory_gb", "ZeRO order reversed: stage 1 partitions the weights first")
def mem_reversed(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    return _memory(n_params, dp, tp, pp, zero_stage, divide=("w", "g", "o"))


@wrong("training_memory_gb", "checks zero_stage but not dp, tp, pp")
def mem_no_degree_check(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError("zero_stage")
    return _memory(n_params, max(dp, 1), max(tp, 1), max(pp, 1), zero_stage)


@wrong("training_memory_gb", "accepts a zero_stage above 3 (treats it as 3)")
def mem_stage_range(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    if zero_stage < 0 or min(dp, tp, pp) < 1:
        raise ValueError("bad plan")
    return _memory(n_params, dp, tp, pp, min(zero_stage, 3))


# --- issue 18: wrong answers that kind inputs, types or value checks alone let through ---------

def _gpipe(p, m):
    out = [(s + j, s, "F", j) for s in range(p) for j in range(m)]
    T = m + p - 1
    out += [(T + (p - 1 - s) + (m - 1 - j), s, "B", j) for s in range(p) for j in range(m)]
    return sorted(out)


@wrong("shard_gradient_mean", "keeps the gradients' float dtype: float32 in, float32 out")
def sgm_keeps_float32(grads, counts):
    grads, counts = _validated(grads, counts)
    total = sum(c * g for g, c in zip(grads, counts) if c)
    return total / sum(counts)


@wrong("shard_gradient_mean", "accumulates in float32, then returns float64 (loses precision)")
def sgm_float32_sum(grads, counts):
    grads, counts = _validated(grads, counts)
    total = np.zeros(np.shape(grads[0]), dtype=np.float32)
    for g, c in zip(grads, counts):
        if c:
            total += np.float32(c) * np.asarray(g, dtype=np.float32)
    return total.astype(np.float64) / sum(counts)


@wrong("shard_gradient_mean", "rounded to 6 decimals")
def sgm_rounded(grads, counts):
    grads, counts = _validated(grads, counts)
    total = sum(c * np.asarray(g, float) for g, c in zip(grads, counts) if c)
    return np.round(total / sum(counts), 6)


@wrong("column_parallel_linear", "x @ W unsplit (P checked, the blocks never used)")
def cpl_unsplit(x, W, P):
    x, W = np.asanyarray(x), np.asanyarray(W)
    if not 1 <= P <= W.shape[1]:
        raise ValueError("P")
    return x @ W


@wrong("column_parallel_linear", "x @ W, then the output split into P blocks and concatenated")
def cpl_split_output(x, W, P):
    x, W = np.asanyarray(x), np.asanyarray(W)
    if not 1 <= P <= W.shape[1]:
        raise ValueError("P")
    return np.concatenate(np.array_split(x @ W, P, axis=-1), axis=-1)


@wrong("column_parallel_linear", "blocks of ceil(out / P) columns (the last ones short or empty)")
def cpl_ceil_blocks(x, W, P):
    x, W = np.asanyarray(x), np.asanyarray(W)
    if not 1 <= P <= W.shape[1]:
        raise ValueError("P")
    c = -(-W.shape[1] // P)
    return np.concatenate([x @ W[:, i * c:(i + 1) * c] for i in range(P)], axis=-1)


@wrong("column_parallel_linear", "strided columns W[:, i::P], put back in order (not blocks)")
def cpl_strided(x, W, P):
    x, W = np.asanyarray(x), np.asanyarray(W)
    if not 1 <= P <= W.shape[1]:
        raise ValueError("P")
    out = np.empty(x.shape[:-1] + (W.shape[1],))
    for i in range(P):
        out[..., i::P] = x @ W[:, i::P]
    return out


@wrong("row_parallel_linear", "x @ W unsplit (P checked, the blocks never used)")
def rpl_unsplit(x, W, P):
    x, W = np.asanyarray(x), np.asanyarray(W)
    if not 1 <= P <= W.shape[0]:
        raise ValueError("P")
    return x @ W


@wrong("row_parallel_linear", "a column split (concatenation), with the row split's check of P")
def rpl_column_split(x, W, P):
    x, W = np.asanyarray(x), np.asanyarray(W)
    if not 1 <= P <= W.shape[0]:
        raise ValueError("P")
    k = min(P, W.shape[1])
    return np.concatenate([x @ b for b in np.array_split(W, k, axis=1)], axis=-1)


@wrong("row_parallel_linear", "strided rows W[i::P] with x[..., i::P] (a sum, but not blocks)")
def rpl_strided(x, W, P):
    x, W = np.asanyarray(x), np.asanyarray(W)
    if not 1 <= P <= W.shape[0]:
        raise ValueError("P")
    return sum(x[..., i::P] @ W[i::P] for i in range(P))


@wrong("row_parallel_linear", "blocks of ceil(in / P) rows (the last ones short or empty)")
def rpl_ceil_blocks(x, W, P):
    x, W = np.asanyarray(x), np.asanyarray(W)
    if not 1 <= P <= W.shape[0]:
        raise ValueError("P")
    c = -(-W.shape[0] // P)
    return sum(x[..., i * c:(i + 1) * c] @ W[i * c:(i + 1) * c] for i in range(P))


@wrong("gpipe_schedule", "entries as lists [step, stage, op, microbatch], not tuples")
def gp_lists(p, m):
    return [list(e) for e in _gpipe(p, m)]


@wrong("gpipe_schedule", "steps as whole floats (s + j) * 1.0")
def gp_float_steps(p, m):
    return [(float(t), s, op, j) for t, s, op, j in _gpipe(p, m)]


@wrong("gpipe_schedule", "a tuple of entries, not a list")
def gp_tuple(p, m):
    return tuple(_gpipe(p, m))


@wrong("one_f_one_b_schedule", "entries as lists, not tuples")
def ofob_lists(p, m):
    return [list(e) for e in _one_f_one_b(p, m, lambda p, m, s: min(p - 1 - s, m))]


@wrong("one_f_one_b_schedule", "warm-up of p - 1 forwards on stages 0 and 1 (holds p, not p - 1)")
def ofob_warm_two(p, m):
    return _one_f_one_b(p, m, lambda p, m, s: min(p - 1 - (s if s > 1 else 0), m))


@wrong("bubble_fraction", "returns the int 0 for one stage")
def bf_int_zero(p, m):
    if p < 1 or m < 1:
        raise ValueError("p, m")
    return 0 if p == 1 else (p - 1) / (m + p - 1)


@wrong("bubble_fraction", "an exact Fraction, not a float")
def bf_fraction(p, m):
    from fractions import Fraction

    if p < 1 or m < 1:
        raise ValueError("p, m")
    return Fraction(p - 1, m + p - 1)


@wrong("bubble_fraction", "rounded to 4 decimals")
def bf_rounded(p, m):
    if p < 1 or m < 1:
        raise ValueError("p, m")
    return round((p - 1) / (m + p - 1), 4)


@wrong("training_memory_gb", "rounded to 2 decimals")
def tm_rounded(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    if zero_stage not in (0, 1, 2, 3) or min(dp, tp, pp) < 1:
        raise ValueError("bad")
    n = n_params / (tp * pp)
    b = 2 * n / (dp if zero_stage >= 3 else 1) + 2 * n / (dp if zero_stage >= 2 else 1) \
        + 12 * n / (dp if zero_stage >= 1 else 1)
    return round(b / 1e9, 2)


@wrong("training_memory_gb", "float32 arithmetic (np.float32 result)")
def tm_float32(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    if zero_stage not in (0, 1, 2, 3) or min(dp, tp, pp) < 1:
        raise ValueError("bad")
    n = np.float32(n_params) / np.float32(tp * pp)
    b = 2 * n / (dp if zero_stage >= 3 else 1) + 2 * n / (dp if zero_stage >= 2 else 1) \
        + 12 * n / (dp if zero_stage >= 1 else 1)
    return np.float32(b / np.float32(1e9))


@wrong("training_memory_gb", "dp, tp and pp rounded down to powers of two (a shift)")
def tm_powers_of_two(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    if zero_stage not in (0, 1, 2, 3) or min(dp, tp, pp) < 1:
        raise ValueError("bad")
    dp, tp, pp = (1 << (v.bit_length() - 1) for v in (dp, tp, pp))
    n = n_params / (tp * pp)
    b = 2 * n / (dp if zero_stage >= 3 else 1) + 2 * n / (dp if zero_stage >= 2 else 1) \
        + 12 * n / (dp if zero_stage >= 1 else 1)
    return b / 1e9


# --- the training puzzles on the simulated cluster (course_lib.simcluster) -------------------

def _check_batches(cluster, batches):
    batches = [list(mine) for mine in batches]
    if len(batches) != cluster.size or any(not mine for mine in batches):
        raise ValueError("one non-empty list per rank")
    return batches, sum(mb.size for mine in batches for mb in mine)


def _accumulate(rank, mine):
    for mb in mine:
        rank.forward(mb)
        rank.backward(mb)


@wrong("grad_accumulation", "divides by the number of micro-batches, not of examples")
def ga_by_micro_batches(cluster, batches):
    batches = list(batches)
    if not batches:
        raise ValueError("none")
    rank = cluster.ranks[0]
    _accumulate(rank, batches)
    for layer in range(cluster.model.layers):
        rank.params[layer] = rank.step(layer, rank.grads.pop(layer) / len(batches))
    return sum(mb.size for mb in batches)


@wrong("grad_accumulation", "the mean of the micro-batches' means (unequal sizes weigh the same)")
def ga_mean_of_means(cluster, batches):
    batches = list(batches)
    if not batches:
        raise ValueError("none")
    rank = cluster.ranks[0]
    L = cluster.model.layers
    for mb in batches:
        rank.forward(mb)
        rank.backward(mb)
        for layer in range(L):
            mean = rank.grads.pop(layer) / mb.size
            rank.grads[("mean", layer)] = rank.grads.get(("mean", layer), 0) + mean
    for layer in range(L):
        rank.params[layer] = rank.step(layer, rank.grads.pop(("mean", layer)) / len(batches))
    return sum(mb.size for mb in batches)


@wrong("grad_accumulation", "all forwards first, then all backwards: exceeds its memory")
def ga_all_forwards_first(cluster, batches):
    batches = list(batches)
    if not batches:
        raise ValueError("none")
    rank = cluster.ranks[0]
    for mb in batches:
        rank.forward(mb)
    for mb in batches:
        rank.backward(mb)
    n = sum(mb.size for mb in batches)
    for layer in range(cluster.model.layers):
        rank.params[layer] = rank.step(layer, rank.grads.pop(layer) / n)
    return n


@wrong("grad_accumulation", "divides by the last micro-batch's size")
def ga_by_last_size(cluster, batches):
    batches = list(batches)
    if not batches:
        raise ValueError("none")
    rank = cluster.ranks[0]
    _accumulate(rank, batches)
    for layer in range(cluster.model.layers):
        rank.params[layer] = rank.step(layer, rank.grads.pop(layer) / batches[-1].size)
    return sum(mb.size for mb in batches)


@wrong("grad_accumulation", "leaves the gradients in rank.grads after the step")
def ga_keeps_grads(cluster, batches):
    batches = list(batches)
    if not batches:
        raise ValueError("none")
    rank = cluster.ranks[0]
    _accumulate(rank, batches)
    n = sum(mb.size for mb in batches)
    for layer in range(cluster.model.layers):
        rank.params[layer] = rank.step(layer, rank.grads[layer] / n)
    return n


@wrong("grad_accumulation", "returns the number of micro-batches")
def ga_returns_count(cluster, batches):
    batches = list(batches)
    if not batches:
        raise ValueError("none")
    rank = cluster.ranks[0]
    _accumulate(rank, batches)
    n = sum(mb.size for mb in batches)
    for layer in range(cluster.model.layers):
        rank.params[layer] = rank.step(layer, rank.grads.pop(layer) / n)
    return len(batches)


@wrong("data_parallel_step", "averages twice: divides by R after the all-reduce and by n")
def dp_averages_twice(cluster, batches):
    batches, n = _check_batches(cluster, batches)
    for rank, mine in zip(cluster.ranks, batches):
        _accumulate(rank, mine)
    for layer in range(cluster.model.layers):
        cluster.all_reduce("grads", layer)
        for rank in cluster.ranks:
            rank.params[layer] = rank.step(layer, rank.grads.pop(layer) / cluster.size / n)
    return n


@wrong("data_parallel_step", "each rank's mean, all-reduced, then / R (ranks weigh the same)")
def dp_mean_of_rank_means(cluster, batches):
    batches, n = _check_batches(cluster, batches)
    for rank, mine in zip(cluster.ranks, batches):
        _accumulate(rank, mine)
        own = sum(mb.size for mb in mine)
        for layer in range(cluster.model.layers):
            rank.grads[layer] = rank.grads[layer] / own
    for layer in range(cluster.model.layers):
        cluster.all_reduce("grads", layer)
        for rank in cluster.ranks:
            rank.params[layer] = rank.step(layer, rank.grads.pop(layer) / cluster.size)
    return n


@wrong("data_parallel_step", "no all-reduce: each rank steps with its own gradient")
def dp_no_allreduce(cluster, batches):
    batches, n = _check_batches(cluster, batches)
    for rank, mine in zip(cluster.ranks, batches):
        _accumulate(rank, mine)
        own = sum(mb.size for mb in mine)
        for layer in range(cluster.model.layers):
            rank.params[layer] = rank.step(layer, rank.grads.pop(layer) / own)
    return n


@wrong("data_parallel_step", "an all-reduce after every micro-batch (right weights, m x the bytes)")
def dp_allreduce_per_micro_batch(cluster, batches):
    batches, n = _check_batches(cluster, batches)
    L = cluster.model.layers
    for j in range(max(len(mine) for mine in batches)):
        for rank, mine in zip(cluster.ranks, batches):
            if j < len(mine):
                _accumulate(rank, [mine[j]])
            else:
                for layer in range(L):
                    rank.grads.setdefault(layer, np.zeros(cluster.model.layer_size))
        for layer in range(L):
            cluster.all_reduce("grads", layer)
            for rank in cluster.ranks:
                total = rank.grads.pop(layer)
                rank.grads[("sum", layer)] = rank.grads.get(("sum", layer), 0) + total
    for layer in range(L):
        for rank in cluster.ranks:
            rank.params[layer] = rank.step(layer, rank.grads.pop(("sum", layer)) / n)
    return n


@wrong("data_parallel_step", "divides by rank 0's examples only")
def dp_rank0_count(cluster, batches):
    batches, n = _check_batches(cluster, batches)
    for rank, mine in zip(cluster.ranks, batches):
        _accumulate(rank, mine)
    own = sum(mb.size for mb in batches[0])
    for layer in range(cluster.model.layers):
        cluster.all_reduce("grads", layer)
        for rank in cluster.ranks:
            rank.params[layer] = rank.step(layer, rank.grads.pop(layer) / own)
    return n


@wrong("data_parallel_step", "all-reduces the weights after local steps (and averages them)")
def dp_average_weights(cluster, batches):
    batches, n = _check_batches(cluster, batches)
    for rank, mine in zip(cluster.ranks, batches):
        _accumulate(rank, mine)
        own = sum(mb.size for mb in mine)
        for layer in range(cluster.model.layers):
            rank.params[layer] = rank.step(layer, rank.grads.pop(layer) / own)
    for layer in range(cluster.model.layers):
        cluster.all_reduce("params", layer)
        for rank in cluster.ranks:
            rank.params[layer] = rank.params[layer] / cluster.size
    return n


def _zero3_check(cluster, batches, stage):
    if stage not in (1, 3):
        raise ValueError("stage")
    batches, n = _check_batches(cluster, batches)
    if stage == 3 and len({len(mine) for mine in batches}) != 1:
        raise ValueError("same m")
    return batches, n


def _zero1(cluster, batches, n, gather=True, allreduce=False, twice=False):
    for rank, mine in zip(cluster.ranks, batches):
        _accumulate(rank, mine)
    for layer in range(cluster.model.layers):
        if allreduce:
            cluster.all_reduce("grads", layer)
        else:
            cluster.reduce_scatter("grads", layer)
        for r, rank in enumerate(cluster.ranks):
            part = cluster.shard(rank.params[layer].size, r)
            g = rank.grads.pop(layer)
            g = g[part] if allreduce else g
            rank.params[layer][part] = rank.step(layer, g / n / (cluster.size if twice else 1))
        if gather:
            cluster.all_gather("params", layer)
    return n


def _zero3(cluster, batches, n, gather_backward=True, discard_forward=True, per_layer_rs=True):
    L = cluster.model.layers
    for j in range(len(batches[0])):
        for layer in range(L):
            cluster.all_gather("params", layer)
            for rank, mine in zip(cluster.ranks, batches):
                rank.forward(mine[j], layers=[layer])
            if discard_forward:
                cluster.discard("params", layer)
        for layer in reversed(range(L)):
            if gather_backward and discard_forward:
                cluster.all_gather("params", layer)
            for rank, mine in zip(cluster.ranks, batches):
                rank.backward(mine[j], layers=[layer])
            cluster.discard("params", layer)
            if per_layer_rs:
                cluster.reduce_scatter("grads", layer, out=("shard", layer), accumulate=True)
    if not per_layer_rs:
        for layer in range(L):
            cluster.reduce_scatter("grads", layer, out=("shard", layer))
    for layer in range(L):
        for rank in cluster.ranks:
            rank.params[layer] = rank.step(layer, rank.grads.pop(("shard", layer)) / n)
    return n


def _zero_ok(cluster, batches, stage):
    batches, n = _zero3_check(cluster, batches, stage)
    return _zero1(cluster, batches, n) if stage == 1 else _zero3(cluster, batches, n)


@wrong("zero_sharded_step", "ZeRO-1 forgets the all-gather: the other shards stay stale")
def zs_no_gather(cluster, batches, stage):
    batches, n = _zero3_check(cluster, batches, stage)
    return _zero1(cluster, batches, n, gather=False) if stage == 1 else _zero3(cluster, batches, n)


@wrong("zero_sharded_step", "ZeRO-3 forgets to gather the weights again for the backward")
def zs_no_gather_backward(cluster, batches, stage):
    batches, n = _zero3_check(cluster, batches, stage)
    if stage == 1:
        return _zero1(cluster, batches, n)
    L = cluster.model.layers
    for j in range(len(batches[0])):
        for layer in range(L):
            cluster.all_gather("params", layer)
            for rank, mine in zip(cluster.ranks, batches):
                rank.forward(mine[j], layers=[layer])
            cluster.discard("params", layer)
        for layer in reversed(range(L)):
            for rank, mine in zip(cluster.ranks, batches):
                rank.backward(mine[j], layers=[layer])
            cluster.reduce_scatter("grads", layer, out=("shard", layer), accumulate=True)
    for layer in range(L):
        for rank in cluster.ranks:
            rank.params[layer] = rank.step(layer, rank.grads.pop(("shard", layer)) / n)
    return n


@wrong("zero_sharded_step", "ZeRO-1 with an all-reduce instead of a reduce-scatter (more bytes)")
def zs_allreduce(cluster, batches, stage):
    batches, n = _zero3_check(cluster, batches, stage)
    return (_zero1(cluster, batches, n, allreduce=True) if stage == 1
            else _zero3(cluster, batches, n))


@wrong("zero_sharded_step", "ZeRO-3 keeps the forward's gathered weights for the backward")
def zs_keeps_gathered(cluster, batches, stage):
    batches, n = _zero3_check(cluster, batches, stage)
    return (_zero1(cluster, batches, n) if stage == 1
            else _zero3(cluster, batches, n, discard_forward=False))


@wrong("zero_sharded_step", "ZeRO-3 reduce-scatters once, after accumulating full gradients")
def zs_full_grads(cluster, batches, stage):
    batches, n = _zero3_check(cluster, batches, stage)
    return (_zero1(cluster, batches, n) if stage == 1
            else _zero3(cluster, batches, n, per_layer_rs=False))


@wrong("zero_sharded_step", "ZeRO-1 averages twice (divides by R and by the examples)")
def zs_averages_twice(cluster, batches, stage):
    batches, n = _zero3_check(cluster, batches, stage)
    return (_zero1(cluster, batches, n, twice=True) if stage == 1
            else _zero3(cluster, batches, n))


@wrong("zero_sharded_step", "accepts stage 2 (runs it as stage 1)")
def zs_stage_2(cluster, batches, stage):
    return _zero_ok(cluster, batches, 1 if stage == 2 else stage)


@wrong("zero_sharded_step", "ZeRO-3 does not check that the ranks have the same m")
def zs_no_m_check(cluster, batches, stage):
    if stage not in (1, 3):
        raise ValueError("stage")
    batches, n = _check_batches(cluster, batches)
    if stage == 1:
        return _zero1(cluster, batches, n)
    m = min(len(mine) for mine in batches)
    return _zero3(cluster, [mine[:m] for mine in batches], n)


# --- activation_memory_gb ---------------------------------------------------------------------

def _act_args(s, b, h, a, layers, tp):
    if min(s, b, h, a, layers, tp) < 1:
        raise ValueError("sizes")


@wrong("activation_memory_gb", "tensor parallelism splits only the attention scores")
def am_tp_scores_only(seq_len, micro_batch, hidden, heads, layers=1, tp=1,
                      sequence_parallel=False, recompute=False):
    s, b, h, a = seq_len, micro_batch, hidden, heads
    _act_args(s, b, h, a, layers, tp)
    if recompute:
        return layers * 2 * s * b * h / (tp if sequence_parallel else 1) / 1e9
    if sequence_parallel:
        return layers * s * b * h * (34 + 5 * a * s / h) / tp / 1e9
    return layers * s * b * h * (34 + 5 * a * s / (h * tp)) / 1e9


@wrong("activation_memory_gb", "ignores sequence parallelism")
def am_no_sp(seq_len, micro_batch, hidden, heads, layers=1, tp=1,
             sequence_parallel=False, recompute=False):
    s, b, h, a = seq_len, micro_batch, hidden, heads
    _act_args(s, b, h, a, layers, tp)
    if recompute:
        return layers * 2 * s * b * h / 1e9
    return layers * s * b * h * (10 + 24 / tp + 5 * a * s / (h * tp)) / 1e9


@wrong("activation_memory_gb", "recomputation: 2 s b h even with sequence parallelism")
def am_recompute_no_sp(seq_len, micro_batch, hidden, heads, layers=1, tp=1,
                       sequence_parallel=False, recompute=False):
    s, b, h, a = seq_len, micro_batch, hidden, heads
    _act_args(s, b, h, a, layers, tp)
    if recompute:
        return layers * 2 * s * b * h / 1e9
    if sequence_parallel:
        return layers * s * b * h * (34 + 5 * a * s / h) / tp / 1e9
    return layers * s * b * h * (10 + 24 / tp + 5 * a * s / (h * tp)) / 1e9


@wrong("activation_memory_gb", "everything divided by tp without sequence parallelism")
def am_all_split(seq_len, micro_batch, hidden, heads, layers=1, tp=1,
                 sequence_parallel=False, recompute=False):
    s, b, h, a = seq_len, micro_batch, hidden, heads
    _act_args(s, b, h, a, layers, tp)
    if recompute:
        return layers * 2 * s * b * h / (tp if sequence_parallel else 1) / 1e9
    return layers * s * b * h * (34 + 5 * a * s / h) / tp / 1e9


@wrong("activation_memory_gb", "GiB (2**30 bytes) instead of GB")
def am_gib(seq_len, micro_batch, hidden, heads, layers=1, tp=1,
           sequence_parallel=False, recompute=False):
    s, b, h, a = seq_len, micro_batch, hidden, heads
    _act_args(s, b, h, a, layers, tp)
    if recompute:
        return layers * 2 * s * b * h / (tp if sequence_parallel else 1) / 2**30
    if sequence_parallel:
        return layers * s * b * h * (34 + 5 * a * s / h) / tp / 2**30
    return layers * s * b * h * (10 + 24 / tp + 5 * a * s / (h * tp)) / 2**30


@wrong("activation_memory_gb", "ignores layers (one layer's memory)")
def am_one_layer(seq_len, micro_batch, hidden, heads, layers=1, tp=1,
                 sequence_parallel=False, recompute=False):
    s, b, h, a = seq_len, micro_batch, hidden, heads
    _act_args(s, b, h, a, layers, tp)
    if recompute:
        return 2 * s * b * h / (tp if sequence_parallel else 1) / 1e9
    if sequence_parallel:
        return s * b * h * (34 + 5 * a * s / h) / tp / 1e9
    return s * b * h * (10 + 24 / tp + 5 * a * s / (h * tp)) / 1e9


@wrong("activation_memory_gb", "attention scores 5 a s b (not 5 a s² b): linear in s")
def am_linear_scores(seq_len, micro_batch, hidden, heads, layers=1, tp=1,
                     sequence_parallel=False, recompute=False):
    s, b, h, a = seq_len, micro_batch, hidden, heads
    _act_args(s, b, h, a, layers, tp)
    if recompute:
        return layers * 2 * s * b * h / (tp if sequence_parallel else 1) / 1e9
    if sequence_parallel:
        return layers * s * b * h * (34 + 5 * a / h) / tp / 1e9
    return layers * s * b * h * (10 + 24 / tp + 5 * a / (h * tp)) / 1e9


@wrong("activation_memory_gb", "no check of the sizes")
def am_no_check(seq_len, micro_batch, hidden, heads, layers=1, tp=1,
                sequence_parallel=False, recompute=False):
    s, b, h, a = seq_len, micro_batch, hidden, heads
    if recompute:
        return layers * 2 * s * b * h / (tp if sequence_parallel else 1) / 1e9
    if sequence_parallel:
        return layers * s * b * h * (34 + 5 * a * s / h) / tp / 1e9
    return layers * s * b * h * (10 + 24 / tp + 5 * a * s / (h * tp)) / 1e9


@wrong("activation_memory_gb", "integer arithmetic: bytes // 10**9 (an int)")
def am_int(seq_len, micro_batch, hidden, heads, layers=1, tp=1,
           sequence_parallel=False, recompute=False):
    s, b, h, a = seq_len, micro_batch, hidden, heads
    _act_args(s, b, h, a, layers, tp)
    if recompute:
        return int(layers * 2 * s * b * h / (tp if sequence_parallel else 1)) // 10**9
    if sequence_parallel:
        return int(layers * s * b * h * (34 + 5 * a * s / h) / tp) // 10**9
    return int(layers * s * b * h * (10 + 24 / tp + 5 * a * s / (h * tp))) // 10**9

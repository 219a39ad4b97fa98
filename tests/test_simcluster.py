"""The simulated cluster of notebook 06's training puzzles: ledgers, logs, arithmetic."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from course_lib import simcluster as sc


def _single_device(model, rows):
    """One Adam step on all ``rows`` at once, in plain numpy: [(weights, m, v)] per layer."""
    h = model.hidden
    xs = [model.X[list(rows)]]
    for w in model.weights:
        xs.append(np.tanh(xs[-1] @ w.reshape(h, h)))
    up, out = xs[-1] - model.Y[list(rows)], [None] * model.layers
    for layer in reversed(range(model.layers)):
        delta = up * (1 - xs[layer + 1] ** 2)
        g = (xs[layer].T @ delta).ravel() / len(rows)
        up = delta @ model.weights[layer].reshape(h, h).T
        state = np.stack([model.weights[layer].copy(), np.zeros(h * h), np.zeros(h * h)])
        sc.adam_update(state, g, 1)
        out[layer] = state
    return out


def test_one_rank_step_matches_plain_numpy_and_the_ledger_counts_mixed_precision():
    model = sc.MLP(layers=3, hidden=5, examples=20, seed=4)
    cluster = sc.Cluster(model, ranks=1)
    cluster.setup("replicated")
    rank = cluster.ranks[0]
    assert rank.ledger() == {"params": 2 * 75, "grads": 0, "opt": 12 * 75, "acts": 0}
    (mb,) = cluster.micro_batches([7])
    rank.forward(mb)
    assert rank.ledger()["acts"] == 2 * 3 * 5 * 7  # one output per layer, 16-bit
    rank.backward(mb)
    assert not rank.acts and rank.ledger()["grads"] == 2 * 75
    assert rank.peak == 2 * 75 + 12 * 75 + 2 * 3 * 5 * 7 + 2 * 5 * 5  # layer 2's gradient
    expected = _single_device(model, mb.rows)
    for layer in range(3):
        new = rank.step(layer, rank.grads.pop(layer) / 7)
        assert np.array_equal(new, expected[layer][0])  # same arithmetic: bit for bit
        assert np.array_equal(rank.opt[layer], expected[layer])


def test_collectives_compute_and_log_ring_bytes():
    model = sc.MLP(layers=1, hidden=3, examples=9, seed=0)  # 9 values: shards 3, 3, 3 / 5, 4
    cluster = sc.Cluster(model, ranks=2)
    for r, rank in enumerate(cluster.ranks):
        rank.grads["g"] = np.arange(9.0) + r
    cluster.all_reduce("grads", "g")
    assert all(np.array_equal(rk.grads["g"], 2 * np.arange(9.0) + 1) for rk in cluster.ranks)
    assert cluster.bytes_sent() == [18.0, 18.0]  # 2 (R - 1)/R · 9 · 2 B
    cluster.reduce_scatter("grads", "g", out="s")
    assert "g" not in cluster.ranks[0].grads  # consumed
    assert cluster.ranks[0].grads["s"].tolist() == [2.0, 6.0, 10.0, 14.0, 18.0]
    assert cluster.ranks[1].grads["s"].tolist() == [22.0, 26.0, 30.0, 34.0]
    for rank in cluster.ranks:
        rank.params["w"] = rank.grads.pop("s")
    cluster.all_gather("params", "w")
    assert all(rk.params["w"].tolist() == (4 * np.arange(9.0) + 2).tolist()
               for rk in cluster.ranks)
    assert cluster.bytes_sent() == [18.0 + 9.0 + 9.0] * 2
    cluster.discard("params", "w")
    assert [rk.params["w"].size for rk in cluster.ranks] == [5, 4]
    assert [op for op, *_ in cluster.log] == ["all_reduce", "reduce_scatter", "all_gather"]


def test_memory_limit_forward_order_and_shards_are_enforced():
    model = sc.MLP(layers=2, hidden=4, examples=16, seed=1)
    cluster = sc.Cluster(model, ranks=2, memory_limit=2 * 32 + 12 * 32 + 2 * 2 * 4 * 3)
    cluster.setup("replicated")
    a, b = cluster.micro_batches([3, 3])
    rank = cluster.ranks[0]
    rank.forward(a)  # exactly at the limit
    with pytest.raises(sc.OutOfMemory, match="over its limit"):
        rank.forward(b)
    z = sc.Cluster(model, ranks=2)
    z.setup("zero3")
    assert [z.ranks[r].params[0].size for r in (0, 1)] == [8, 8]
    with pytest.raises(ValueError, match="gather it first"):
        z.ranks[0].forward(a)
    with pytest.raises(RuntimeError, match="first"):
        fresh = sc.Cluster(model, ranks=1)
        fresh.setup()
        fresh.ranks[0].forward(a)
        fresh.ranks[0].backward(a, layers=[0])
    with pytest.raises(ValueError):
        z.setup("zero2")


def test_a_deep_copy_is_the_whole_state():
    model = sc.MLP(layers=1, hidden=2, examples=4, seed=2)
    cluster = sc.Cluster(model, ranks=2)
    cluster.setup("zero1")
    twin = copy.deepcopy(cluster)
    twin.ranks[0].params[0][:] = 0
    assert cluster.ranks[0].params[0].any() and twin.ranks[0].cluster is twin
    assert isinstance(cluster, dict) and set(cluster) == {"model", "ranks", "log"}


def test_a_pipeline_step_is_one_devices_step_and_its_memory_follows_the_schedule():
    from tests.test_pipeline import ref_1f1b, ref_gpipe

    model = sc.MLP(layers=4, hidden=3, examples=30, seed=5)
    sizes = [2, 3, 1, 4, 2]
    rows = [r for mb in sc.Cluster(model, 1).micro_batches(sizes) for r in mb.rows]
    expected = _single_device(model, rows)
    gpipe = sc.run_pipeline(model, ref_gpipe(4, 5), 4, sizes)
    one_f = sc.run_pipeline(model, ref_1f1b(4, 5), 4, sizes)
    for cluster in (gpipe, one_f):
        weights = cluster.state()["weights"]
        assert all(np.allclose(weights[i], expected[i][0], rtol=1e-12, atol=1e-15)
                   for i in range(4))
        assert not any(r.acts or r.grads or r._upstream for r in cluster.ranks)
    # every micro-batch crosses each boundary twice: 3 values x 2 bytes per example
    assert gpipe.bytes_sent() == one_f.bytes_sent() == [72.0, 144.0, 144.0, 72.0]
    assert max(gpipe.peaks()) > max(one_f.peaks())
    with pytest.raises(sc.OutOfMemory):
        sc.run_pipeline(model, ref_gpipe(4, 5), 4, sizes, memory_limit=max(one_f.peaks()))
    with pytest.raises(ValueError, match="rules"):
        sc.run_pipeline(model, ref_gpipe(4, 5)[1:], 4, sizes)
    with pytest.raises(ValueError, match="stages"):
        sc.run_pipeline(model, ref_gpipe(5, 1), 5, [1])


@pytest.mark.parametrize("p, m", [(1, 1), (1, 3), (3, 1), (2, 5), (4, 8), (5, 3)])
def test_run_schedule_counts_each_ranks_activations_and_the_sends(p, m):
    from tests.test_pipeline import ref_1f1b, ref_gpipe

    A = 6
    gpipe = sc.run_schedule(ref_gpipe(p, m), p, m, activation_bytes=A)
    one_f = sc.run_schedule(ref_1f1b(p, m), p, m, activation_bytes=A)
    assert gpipe.peaks() == [m * A] * p
    assert one_f.peaks() == [min(p - s, m) * A for s in range(p)]
    for cluster in (gpipe, one_f):
        assert all(r.peak_ledger["acts"] == r.peak for r in cluster.ranks)
        assert not any(r.acts for r in cluster.ranks)  # every B freed its activation
        # rank s sends m activations forward (not the last) and m gradients back (not rank 0)
        assert cluster.bytes_sent() == [A * m * ((s < p - 1) + (s > 0)) for s in range(p)]
        assert sum(cluster.bytes_sent()) == 2 * (p - 1) * m * A
        assert len(cluster.log) == 2 * (p - 1) * m
    other = sc.run_schedule(ref_1f1b(p, m), p, m, activation_bytes=A, grad_bytes=1)
    assert sum(other.bytes_sent()) == (p - 1) * m * (A + 1)
    assert {op for op, *_ in other.log} <= {"send"}


def test_run_schedule_stops_at_a_deadlock_and_refuses_a_broken_schedule():
    from tests.test_pipeline import ref_gpipe

    good = ref_gpipe(3, 2)  # F0: steps 0, 1, 2 on stages 0, 1, 2; B1 on stage 2 at step 4
    when = {(s, op, j): t for t, s, op, j in good}
    early_b = [(when[2, "B", 1] if (s, op, j) == (1, "B", 1) else t, s, op, j)
               for t, s, op, j in good]  # stage 1's B1 in the same step as stage 2's
    with pytest.raises(sc.Deadlock, match=r"step 4: rank 1's B of micro-batch 1 waits for "
                                          r"micro-batch 1's gradient from rank 2"):
        sc.run_schedule(early_b, 3, 2, activation_bytes=2)
    early_f = [(0 if (s, op, j) == (1, "F", 0) else t, s, op, j) for t, s, op, j in good]
    with pytest.raises(sc.Deadlock, match=r"step 0: rank 1's F of micro-batch 0 waits for "
                                          r"micro-batch 0's activation from rank 0, whose F"):
        sc.run_schedule(early_f, 3, 2, activation_bytes=2)
    b_first = [(0, 0, "B", 0), (1, 0, "F", 0)]
    with pytest.raises(sc.Deadlock, match="its own F of micro-batch 0"):
        sc.run_schedule(b_first, 1, 1, activation_bytes=2)
    assert issubclass(sc.Deadlock, ValueError)
    two = [(0, 0, "F", 0), (0, 0, "F", 1), (1, 0, "B", 1), (2, 0, "B", 0)]  # F0, F1 at once
    with pytest.raises(ValueError, match="two ops at step") as info:
        sc.run_schedule(two, 1, 2, activation_bytes=2)
    assert not isinstance(info.value, sc.Deadlock)
    with pytest.raises(ValueError, match="is missing"):
        sc.run_schedule(good[1:], 3, 2, activation_bytes=2)
    with pytest.raises(ValueError, match="multiple of 2"):
        sc.run_schedule(good, 3, 2, activation_bytes=3)
    with pytest.raises(sc.OutOfMemory, match="rank 0 holds 12 bytes"):
        sc.run_schedule(good, 3, 2, activation_bytes=6, memory_limit=[6, 12, 12])

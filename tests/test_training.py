"""course_lib.training: the flights model, data-parallel training on Ray (exactly the
full-batch run), tensor-parallel building blocks, pipeline schedules, the planner and
stale SGD. The exercises' answers are not in course_lib: the reference solutions the
helpers need are defined here."""

import math
import sys
import textwrap
import warnings

import numpy as np
import pytest

from course_lib import training
from course_lib.training import (
    as_schedule,
    check_schedule,
    peak_activations,
    replay_schedule,
)
from tests.nbrun import run_script_ok


# --------------------------------------------------------------------------- references
def ref_combine(grads, counts):
    """The full-batch mean from shard means: weighted by the shards' sizes."""
    total = sum(c * np.asarray(g, dtype=float) for g, c in zip(grads, counts, strict=True)
                if c > 0)
    return total / sum(counts)


def ref_gpipe(p, m):
    forward = [(s + j, s, "F", j) for s in range(p) for j in range(m)]
    backward = [(m + p - 1 + (p - 1 - s) + (m - 1 - j), s, "B", j)
                for s in range(p) for j in range(m)]
    return forward + backward


def ref_1f1b(p, m):
    """1F1B: each stage's order (warm-up forwards, F/B pairs, remaining backwards), every op
    as early as possible. Made differently from the notebook's solution: a serial schedule
    with these orders, replayed with unit times by course_lib."""
    orders = []
    for s in range(p):
        warm = min(p - 1 - s, m)
        order = [("F", j) for j in range(warm)]
        for j in range(m - warm):
            order += [("F", warm + j), ("B", j)]
        orders.append(order + [("B", j) for j in range(m - warm, m)])
    run = replay_schedule(_serial_schedule(orders, p), [1.0] * p, [1.0] * p)
    return [(int(start), int(lane.split()[1]), label[0], int(label[1:]))
            for lane, start, _, label in run.intervals]


def _serial_schedule(orders, p):
    """A valid, slow schedule running one op at a time, each stage in the order given."""
    done, pos, out = set(), [0] * p, []
    while len(out) < sum(len(o) for o in orders):
        for s in range(p):
            if pos[s] == len(orders[s]):
                continue
            op, j = orders[s][pos[s]]
            if op == "F":
                deps = [(s - 1, "F", j)] if s > 0 else []
            else:
                deps = [(s, "F", j)] + ([(s + 1, "B", j)] if s < p - 1 else [])
            if all(d in done for d in deps):
                done.add((s, op, j))
                out.append((len(out), s, op, j))
                pos[s] += 1
    return out


def ref_memory(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    n = n_params / (tp * pp)
    w, g, o = 2 * n, 2 * n, 12 * n
    if zero_stage >= 1:
        o /= dp
    if zero_stage >= 2:
        g /= dp
    if zero_stage >= 3:
        w /= dp
    return (w + g + o) / 1e9


def ref_bubble(p, m):
    return (p - 1) / (m + p - 1)


# --------------------------------------------------------------------------- the model
@pytest.fixture(scope="module")
def flights_xy():
    return training.flight_delay_data()


def test_flight_delay_data_is_standardised_with_a_bias(flights_xy):
    X, y = flights_xy
    assert X.shape == (327_346, 1 + len(training.FEATURES)) and y.shape == (327_346,)
    assert X.dtype == np.float64 and y.dtype == np.float64 and X.flags.c_contiguous
    assert np.all(X[:, 0] == 1.0)
    assert np.allclose(X[:, 1:].mean(axis=0), 0, atol=1e-12)
    assert np.allclose(X[:, 1:].std(axis=0), 1, atol=1e-12)
    assert set(np.unique(y)) == {0.0, 1.0} and 0.2 < y.mean() < 0.3
    Xs, ys = training.flight_delay_data(n_rows=500, seed=3)
    assert Xs.shape == (500, 6) and ys.shape == (500,)
    assert np.array_equal(Xs, training.flight_delay_data(n_rows=500, seed=3)[0])  # seeded


@pytest.mark.parametrize("kwargs, match", [
    ({"features": ["no_such_column"]}, "features"),
    ({"features": []}, "features"),
    ({"n_rows": 0}, "n_rows"),
    ({"n_rows": 10**7}, "n_rows"),
])
def test_flight_delay_data_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training.flight_delay_data(**kwargs)


def test_logistic_loss_and_gradient_agree_with_finite_differences():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 4)), (rng.random(50) < 0.4).astype(float)
    w = rng.normal(size=4)
    g = training.logistic_gradient(w, X, y)
    eps = 1e-6
    for i in range(4):
        e = np.zeros(4)
        e[i] = eps
        numeric = (training.logistic_loss(w + e, X, y) - training.logistic_loss(w - e, X, y)) \
            / (2 * eps)
        assert abs(numeric - g[i]) < 1e-7
    loss, grad = training._loss_and_gradient(w, X, y)
    assert loss == training.logistic_loss(w, X, y) and np.array_equal(grad, g)
    assert training.logistic_loss(np.zeros(4), X, y) == pytest.approx(math.log(2))


def test_logistic_loss_is_stable_for_large_scores():
    X, y = np.array([[1000.0], [-1000.0]]), np.array([0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings
        loss = training.logistic_loss(np.ones(1), X, y)
        grad = training.logistic_gradient(np.ones(1), X, y)
    assert loss == pytest.approx(1000.0) and np.allclose(grad, [1000.0])
    assert math.isnan(training.logistic_loss(np.ones(1), np.zeros((0, 1)), np.zeros(0)))
    assert np.all(np.isnan(training.logistic_gradient(np.ones(1), np.zeros((0, 1)), np.zeros(0))))
    with pytest.raises(ValueError, match="expected w"):
        training.logistic_loss(np.ones(2), X, y)


def test_shard_worker_batches_wrap_around_its_shard():
    X = np.arange(20.0).reshape(10, 2)
    y = np.array([0, 1] * 5, dtype=float)
    worker = training.ShardWorker()
    assert worker.load(X, y, 2, 9) == 7
    rows = []
    for _ in range(3):
        _, grad, count = worker.loss_and_gradient(np.zeros(2), batch_size=3)
        assert count == 3
        rows.append(grad)
    # batches: shard rows 0-2, 3-5, then 6, 0, 1 (wrapping)
    shard_X, shard_y = X[2:9], y[2:9]
    expected = training.logistic_gradient(np.zeros(2), shard_X[[6, 0, 1]], shard_y[[6, 0, 1]])
    assert np.allclose(rows[2], expected)
    loss, grad, count = worker.loss_and_gradient(np.zeros(2))
    assert count == 7 and np.allclose(grad, training.logistic_gradient(np.zeros(2), shard_X,
                                                                        shard_y))
    empty = training.ShardWorker()
    assert empty.load(X, y, 4, 4) == 0
    loss, grad, count = empty.loss_and_gradient(np.zeros(2), batch_size=5)
    assert count == 0 and math.isnan(loss) and np.all(np.isnan(grad))


def test_train_full_batch_is_gradient_descent():
    X = np.array([[1.0, 2.0], [1.0, -1.0], [1.0, 0.5], [1.0, -2.0]])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    r = training.train_full_batch(X, y, np.zeros(2), lr=0.5, steps=4)
    w = np.zeros(2)
    for t in range(4):
        assert r.losses[t] == training.logistic_loss(w, X, y)
        w = w - 0.5 * training.logistic_gradient(w, X, y)
    assert np.array_equal(r.w, w) and r.steps == 4 and r.seconds_per_step >= 0
    for bad in ({"lr": 0}, {"lr": -1.0}, {"steps": 0}, {"steps": 2.5}):
        args = {"lr": 0.5, "steps": 3, **bad}
        with pytest.raises(ValueError):
            training.train_full_batch(X, y, np.zeros(2), **args)


def test_ray_functions_say_when_ray_is_not_running():
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        pytest.skip("Ray is running in this process")
    with pytest.raises(RuntimeError, match="Ray is not running"):
        training.start_workers(2)
    with pytest.raises(RuntimeError, match="Ray is not running"):
        training.train_data_parallel([object()], ref_combine, np.zeros(2), 0.1, 1)


@pytest.mark.ray
def test_data_parallel_on_ray_matches_one_process_to_rounding():
    """P = 1, 2, 4 Ray workers (and unequal shards) reproduce the full-batch loss curve to
    1e-12 with a correct combine; a plain mean of shard means does not. In a fresh
    interpreter, as a notebook runs it; nothing may reach stderr."""
    code = textwrap.dedent("""
        import numpy as np
        import course_lib as cl


        def combine(grads, counts):  # the reference: weighted by shard sizes
            total = sum(c * np.asarray(g, dtype=float) for g, c in zip(grads, counts) if c)
            return total / sum(counts)


        X, y = cl.training.flight_delay_data(n_rows=40_000, seed=5)
        w0 = np.zeros(X.shape[1])
        ref = cl.training.train_full_batch(X, y, w0, lr=1.0, steps=25)
        assert ref.losses[-1] < 0.8 * ref.losses[0]
        with cl.ray_session.session(num_cpus=2, object_store_mb=100):
            workers = cl.training.start_workers(4)
            pids = [w.pid.remote() for w in workers]
            import os
            import ray
            assert len(set(ray.get(pids))) == 4 and os.getpid() not in ray.get(pids)
            for P in (1, 2, 4):
                counts = cl.training.load_shards(workers[:P], X, y)
                assert sum(counts) == len(y) and max(counts) - min(counts) <= 1, counts
                r = cl.training.train_data_parallel(workers[:P], combine, w0, 1.0, 25)
                assert np.allclose(r.losses, ref.losses, rtol=1e-12, atol=0), (P, r.losses)
                assert np.allclose(r.w, ref.w, rtol=1e-12, atol=1e-15), P
            uneven = (20_000, 12_000, 0, 8_000)  # an empty shard too
            assert cl.training.load_shards(workers, X, y, counts=uneven) == uneven
            r = cl.training.train_data_parallel(workers, combine, w0, 1.0, 25)
            assert np.allclose(r.losses, ref.losses, rtol=1e-12, atol=0), r.losses
            cl.training.load_shards(workers, X, y, counts=(30_000, 6_000, 3_000, 1_000))
            plain = cl.training.train_data_parallel(
                workers, lambda g, c: np.mean(np.stack(g), axis=0), w0, 1.0, 25)
            assert np.max(np.abs(plain.losses - ref.losses)) > 1e-4
            mini = cl.training.train_data_parallel(workers[:2], combine, w0, 1.0, 3,
                                                   batch_size=64)
            assert mini.steps == 3 and np.all(np.isfinite(mini.losses))
            times = cl.training.exchange_times(workers[0], [1000, 100_000], repeat=2)
            assert times.shape == (2,) and np.all(times > 0)
            try:
                cl.training.load_shards(workers, X, y, counts=(1, 2, 3, 4))
            except ValueError as exc:
                assert "summing" in str(exc)
            else:
                raise AssertionError("bad counts accepted")
            try:
                cl.training.train_data_parallel(workers, lambda g, c: np.zeros(3), w0, 1.0, 1)
            except ValueError as exc:
                assert "shape" in str(exc)
            else:
                raise AssertionError("a wrong-shaped combine was accepted")
            cl.training.stop_workers(workers)
        print("OK")
    """)
    run_script_ok(code)


# --------------------------------------------------------------------------- tensor parallel
def test_conv2d_is_the_naive_cross_correlation():
    rng = np.random.default_rng(1)
    x, f = rng.normal(size=(2, 6, 5)), rng.normal(size=(3, 2, 3, 3))
    out = training.conv2d(x, f)
    assert out.shape == (3, 4, 3)
    for o in range(3):
        for i in range(4):
            for j in range(3):
                assert out[o, i, j] == pytest.approx(np.sum(x[:, i:i + 3, j:j + 3] * f[o]))
    with pytest.raises(ValueError, match="filters"):
        training.conv2d(x, rng.normal(size=(3, 1, 3, 3)))


def test_attention_is_per_head_softmax_attention():
    rng = np.random.default_rng(2)
    T, d, heads = 5, 8, 4
    x = rng.normal(size=(T, d))
    Wq, Wk, Wv, Wo = rng.normal(size=(4, d, d))
    dh = d // heads
    outs = []
    for h in range(heads):
        c = slice(h * dh, (h + 1) * dh)
        q, k, v = x @ Wq[:, c], x @ Wk[:, c], x @ Wv[:, c]
        s = q @ k.T / math.sqrt(dh)
        a = np.exp(s - s.max(axis=1, keepdims=True))
        outs.append(a / a.sum(axis=1, keepdims=True) @ v)
    expected = np.concatenate(outs, axis=1) @ Wo
    assert np.allclose(training.attention(x, Wq, Wk, Wv, Wo, heads), expected)
    with pytest.raises(ValueError, match="heads"):
        training.attention(x, Wq, Wk, Wv, Wo, heads=3)


# --------------------------------------------------------------------------- pipelines
@pytest.mark.parametrize("p, m", [(1, 1), (1, 4), (3, 1), (2, 5), (4, 8), (5, 3)])
def test_reference_schedules_are_valid_and_finish_in_2_m_plus_p_minus_1(p, m):
    for make in (ref_gpipe, ref_1f1b):
        schedule = make(p, m)
        assert check_schedule(schedule, p, m) == []
        assert max(t for t, *_ in schedule) + 1 == 2 * (m + p - 1)
    assert peak_activations(ref_gpipe(p, m), p) == [m] * p
    assert peak_activations(ref_1f1b(p, m), p) == [min(p - s, m) for s in range(p)]


def test_check_schedule_names_every_broken_rule():
    good = ref_gpipe(2, 2)
    assert check_schedule(good, 2, 2) == []

    def problems(change):
        return " | ".join(check_schedule(change(list(good)), 2, 2))

    assert "missing" in problems(lambda s: s[1:])
    assert "appears twice" in problems(lambda s: s + [s[0]])
    assert "two ops at step" in problems(lambda s: [(0, 0, "F", 1) if e == (1, 0, "F", 1) else e
                                                    for e in s])
    assert "after its F on stage 0" in problems(
        lambda s: [(0, 1, "F", 0) if e == (1, 1, "F", 0) else e for e in s])
    assert "after its B on stage 1" in problems(
        lambda s: [(3, 0, "B", 1) if e == (4, 0, "B", 1) else e for e in s])
    assert "after its F on stage 1" in problems(
        lambda s: [(2, 1, "B", 1) if e == (3, 1, "B", 1) else (3, 1, "F", 1)
                   if e == (2, 1, "F", 1) else e for e in s])
    assert "negative" in problems(lambda s: [(-1, 0, "F", 0)] + s[1:])
    assert "stage 5 is not in" in problems(lambda s: s + [(9, 5, "F", 0)])
    assert "micro-batch 7 is not in" in problems(lambda s: s + [(9, 0, "F", 7)])
    assert "op must be" in problems(lambda s: s + [(9, 0, "X", 0)])
    assert "must be an integer" in problems(lambda s: s + [(9.5, 0, "F", 0)])
    assert "must be a (step" in problems(lambda s: s + [(9, 0, "F")])
    many = check_schedule([], 4, 4)
    assert len(many) == 11 and many[-1].startswith("... and")


def test_as_schedule_returns_plain_sorted_tuples():
    s = as_schedule([[np.int64(1), 0, "B", 0], (0.0, np.int32(0), "F", 0)])
    assert s == [(0, 0, "F", 0), (1, 0, "B", 0)]
    assert all(type(v) is int for e in s for v in (e[0], e[1], e[3]))
    for bad in ("FB", {"a": 1}, 42, [(0, 0, "F", True)], [(0, 0, b"F", 0)]):
        with pytest.raises(ValueError):
            as_schedule(bad)


def test_replay_with_unit_times_gives_the_bubble_formula():
    for p, m in [(2, 1), (4, 8), (8, 3)]:
        for make in (ref_gpipe, ref_1f1b):
            run = replay_schedule(make(p, m), [1.0] * p, [1.0] * p)
            assert run.makespan == 2 * (m + p - 1)
            assert run.bubble == pytest.approx(ref_bubble(p, m))


def test_replay_shows_the_slowest_stage_setting_the_pace():
    balanced = replay_schedule(ref_1f1b(4, 8), [1.0] * 4)  # backward 2x by default
    slow = replay_schedule(ref_1f1b(4, 8), [1.0, 1.0, 1.5, 1.0])
    assert balanced.makespan == 3 * (8 + 4 - 1)
    assert slow.makespan > balanced.makespan + 0.5 * 3 * 8 * 0.5
    assert slow.bubble > balanced.bubble
    starts = {}
    for lane, start, end, _label in slow.intervals:  # no overlap within a stage
        assert end > start
        starts.setdefault(lane, []).append((start, end))
    for spans in starts.values():
        spans.sort()
        assert all(a[1] <= b[0] + 1e-12 for a, b in zip(spans, spans[1:], strict=False))
    with pytest.raises(ValueError, match="breaks the rules"):
        replay_schedule(ref_gpipe(2, 2)[1:], [1.0, 1.0])
    with pytest.raises(ValueError, match="forward"):
        replay_schedule(ref_gpipe(2, 2), [1.0, 0.0])


def test_schedule_gantt_and_the_explorer():
    ax = training.schedule_gantt(ref_1f1b(3, 4))
    assert len(ax.patches) == 2 * 3 * 4
    assert [t.get_text() for t in ax.get_yticklabels()] == ["stage 0", "stage 1", "stage 2"]
    ex = training.explore_pipeline({"GPipe": ref_gpipe, "1F1B": ref_1f1b}, p=3, m=5,
                                   widgets=False)
    title = ex.figure.axes[0].get_title()
    assert title.startswith("GPipe, p = 3, m = 5: 14 steps, idle 29%")
    assert "[5, 5, 5]" in title
    assert "[3, 2, 1]" in ex.update(schedule="1F1B").figure.axes[0].get_title()

    def stub(p, m):
        raise NotImplementedError()

    assert "not written yet" in training.explore_pipeline(
        {"mine": stub}, widgets=False).figure.axes[0].get_title()
    broken = training.explore_pipeline({"bad": lambda p, m: ref_gpipe(p, m)[1:]},
                                       widgets=False)
    assert "missing" in broken.figure.axes[0].get_title()
    with pytest.raises(TypeError):
        training.explore_pipeline({"x": 3})


# --------------------------------------------------------------------------- planning
MODEL = training.Model(n_params=13e9, layers=40, hidden=5120, heads=40, seq_len=2048,
                       global_batch=256, micro_batch=1)
CLUSTER = training.Cluster(nodes=4, gpus_per_node=8, gpu_memory_gb=80, gpu_tflops=312,
                           intra_gbps=300, inter_gbps=25)


def test_plan_enumerates_every_valid_plan_with_the_functions_given():
    table = training.plan(MODEL, CLUSTER, ref_memory, ref_bubble)
    assert CLUSTER.gpus == 32
    assert (table.dp * table.tp * table.pp == 32).all()
    assert (table.tp <= 8).all() and (40 % table.pp == 0).all()
    expected = {(dp, tp, pp) for tp in range(1, 9) for pp in range(1, 33) for dp in range(1, 33)
                if dp * tp * pp == 32 and 40 % pp == 0 and 256 % dp == 0}
    assert set(zip(table.dp, table.tp, table.pp, strict=True)) == expected
    assert list(table.fits) == sorted(table.fits, reverse=True)  # fitting plans first
    fitting = table[table.fits]
    assert list(fitting.step_s) == sorted(fitting.step_s)
    assert (table.fits == (table.total_gb <= 80)).all()
    row = table[(table.dp == 32) & (table.tp == 1)].iloc[0]
    assert row.model_gb == pytest.approx(208.0) and not row.fits
    assert row.bubble == 0 and row.tp_comm_s == 0 and row.pp_comm_s == 0
    assert (table.m == 256 // table.dp).all()
    assert np.allclose(table.bubble,
                       [ref_bubble(p, m) for p, m in zip(table.pp, table.m, strict=True)])
    assert np.allclose(table.tokens_per_s, 256 * 2048 / table.step_s)


def test_plan_recompute_zero_and_errors():
    base = training.plan(MODEL, CLUSTER, ref_memory, ref_bubble).set_index(["dp", "tp", "pp"])
    rc = training.plan(MODEL, CLUSTER, ref_memory, ref_bubble, recompute=True) \
        .set_index(["dp", "tp", "pp"]).loc[base.index]
    assert (rc.activations_gb < base.activations_gb).all()
    assert np.allclose(rc.compute_s, base.compute_s * 8 / 6)
    z3 = training.plan(MODEL, CLUSTER, ref_memory, ref_bubble, zero_stage=3) \
        .set_index(["dp", "tp", "pp"]).loc[base.index]
    assert np.allclose(z3.dp_comm_s, 1.5 * base.dp_comm_s)
    calls = []

    def spy_memory(*args):
        calls.append(args)
        return 1.0

    training.plan(MODEL, CLUSTER, spy_memory, ref_bubble, zero_stage=2)
    assert calls and all(len(a) == 5 and a[0] == 13e9 and a[4] == 2 for a in calls)
    with pytest.raises(ValueError, match="zero_stage"):
        training.plan(MODEL, CLUSTER, ref_memory, ref_bubble, zero_stage=5)
    with pytest.raises(TypeError):
        training.plan(MODEL, CLUSTER, 16, ref_bubble)


# --------------------------------------------------------------------------- stale SGD
def test_sgd_without_staleness_is_gradient_descent():
    A = np.diag([1.0, 3.0])
    losses = training.sgd(lambda w, t: A @ w, np.ones(2), 0.1, 5,
                          loss=lambda w: float(w @ A @ w / 2))
    w = np.ones(2)
    expected = [float(w @ A @ w / 2)]
    for _ in range(5):
        w = w - 0.1 * A @ w
        expected.append(float(w @ A @ w / 2))
    assert np.allclose(losses, expected)
    for mode in ("random", "hogwild"):
        assert np.allclose(training.sgd(lambda w, t: A @ w, np.ones(2), 0.1, 5, staleness=0,
                                        mode=mode, loss=lambda w: float(w @ A @ w / 2)),
                           expected)


def test_sgd_with_fixed_staleness_uses_old_weights():
    seen = []

    def grad(w, t):
        seen.append(float(w[0]))
        return np.ones(1)

    training.sgd(grad, np.zeros(1), 1.0, 6, staleness=2)
    # w_t = -t; step t sees w_{max(t - 2, 0)}
    assert seen == [0.0, 0.0, 0.0, -1.0, -2.0, -3.0]
    ages = []

    def grad_random(w, t):
        ages.append(t + w[0])  # w = -(t') for the weights of step t'
        return np.ones(1)

    training.sgd(grad_random, np.zeros(1), 1.0, 200, staleness=3, mode="random", seed=1)
    assert set(ages[10:]) == {0.0, 1.0, 2.0, 3.0}


def test_sgd_hogwild_mixes_coordinates_of_different_ages():
    mixed = []

    def grad(w, t):
        mixed.append(len(set(w + t)))  # coordinates of different ages differ in w + t
        return np.ones(8)

    training.sgd(grad, np.zeros(8), 1.0, 100, staleness=4, mode="hogwild", seed=0)
    assert max(mixed) > 1


def test_sgd_reports_divergence_and_checks_arguments():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # diverging is reported, not warned about
        losses = training.sgd(lambda w, t: 1e200 * w, np.ones(1), 1e200, 5,
                              loss=lambda w: float(w[0] ** 2))
    assert len(losses) == 6 and np.isinf(losses[-1])
    with pytest.raises(ValueError, match="mode"):
        training.sgd(lambda w, t: w, np.ones(1), 0.1, 2, mode="async")
    with pytest.raises(ValueError, match="staleness"):
        training.sgd(lambda w, t: w, np.ones(1), 0.1, 2, staleness=-1)


def test_recording_logs_each_product_with_the_block_of_w_it_used():
    W0 = np.arange(35.0).reshape(5, 7)
    W = training.recording(W0)
    assert isinstance(W, np.ndarray) and W.dtype == np.float64 and W.products == []
    x = np.linspace(-1, 1, 10).reshape(2, 5)
    # a column split: one product per block, each with its own block's values
    y = np.concatenate([x @ block for block in np.array_split(W, 3, axis=1)], axis=-1)
    assert type(y) is np.ndarray and np.allclose(y, x @ W0)
    assert [name for name, _ in W.products] == ["matmul"] * 3
    for (_, [piece]), block in zip(W.products, np.array_split(W0, 3, axis=1), strict=True):
        assert type(piece) is np.ndarray and np.array_equal(piece, block)
    # other product functions, transposes and copies of blocks are seen; nested ones once
    W.products.clear()
    np.einsum("...i,ij->...j", x, W[:, 1:3].copy())
    np.tensordot(x, W, axes=1)
    np.dot(x, W)
    W[:, :2].T.dot(x.T)
    assert [(n, [p.shape for p in ps]) for n, ps in W.products] == [
        ("einsum", [(5, 2)]), ("tensordot", [(5, 7)]), ("dot", [(5, 7)]), ("dot", [(2, 5)])]
    # elementwise arithmetic keeps the recording; np.asarray drops it
    W.products.clear()
    _ = x @ (1.0 * W)
    _ = x @ np.asarray(W)
    assert len(W.products) == 1 and np.array_equal(W.products[0][1][0], W0)
    assert type(W + 1) is training.RecordingArray and type(np.asarray(W)) is np.ndarray


def test_a_recording_copied_and_restored_keeps_its_log():
    import copy

    W = training.recording(np.eye(3))
    _ = np.ones(3) @ W[:, :2]
    saved = copy.deepcopy(W)
    assert type(saved) is training.RecordingArray and saved.products is not W.products
    assert [p.shape for _, ps in saved.products for p in ps] == [(3, 2)]
    _ = np.ones(3) @ W  # later products are W's own
    assert len(W.products) == 2 and len(saved.products) == 1
    fresh = training.recording(np.zeros((3, 3)))
    fresh[...] = saved  # restores the values and the log
    assert np.array_equal(fresh, np.eye(3)) and len(fresh.products) == 1
    fresh[0, 0] = 5.0  # an element: the value only
    assert len(fresh.products) == 1

"""course_lib.training: the flights model, data-parallel training on Ray (exactly the
full-batch run) and stale SGD. The exercises' answers are not in course_lib: the reference
solutions the helpers need are defined here. The other concepts of notebook 06 have test
files of their own: test_tensor_parallel, test_pipeline, test_memory_plan, test_simcluster."""

import math
import sys
import textwrap
import warnings

import numpy as np
import pytest

from course_lib import training
from tests.nbrun import run_script_ok


# --------------------------------------------------------------------------- references
def ref_combine(grads, counts):
    """The full-batch mean from shard means: weighted by the shards' sizes."""
    total = sum(c * np.asarray(g, dtype=float) for g, c in zip(grads, counts, strict=True)
                if c > 0)
    return total / sum(counts)


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



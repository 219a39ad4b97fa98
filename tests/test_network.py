"""course_lib.network: the ring on Ray actors, copy paths, congestion and routing simulators,
the fat-tree drawing and the explorers. The library holds no exercise's answer: these tests
pass reference implementations of notebook 07's exercises, defined here."""

import math
import sys
import textwrap

import numpy as np
import pytest

from course_lib import network
from course_lib.network import (
    draw_fat_tree,
    explore_allreduce,
    explore_congestion,
    explore_routing,
    fanout_latencies,
    flow_hash,
    jain_index,
    path_time,
    plot_aimd,
    plot_path_loads,
    random_flows,
    simulate_aimd,
)
from tests.nbrun import run_script_ok


# ---------------------------------------------------------------- reference implementations
def _aimd_step(rates, capacity, increase, decrease):
    rates = np.asarray(rates, dtype=float)
    return rates * decrease if rates.sum() > capacity else rates + increase


def _ecmp_loads(flow_sizes, n_paths, path_of):
    loads = np.zeros(n_paths)
    for i, size in enumerate(flow_sizes):
        loads[path_of(i) % n_paths] += size
    return loads


def _adaptive_loads(flow_sizes, n_paths):
    loads = np.zeros(n_paths)
    for size in sorted(flow_sizes, reverse=True):
        loads[int(np.argmin(loads))] += size
    return loads


def _allreduce_time(algorithm, p, n_bytes, alpha_s, bandwidth_Bps):
    if algorithm not in ("ring", "tree", "ps"):
        raise ValueError(algorithm)
    if p == 1:
        return 0.0
    t = n_bytes / bandwidth_Bps
    return {"ring": 2 * (p - 1) * alpha_s + 2 * (p - 1) / p * t,
            "tree": 2 * math.ceil(math.log2(p)) * (alpha_s + t),
            "ps": 2 * (alpha_s + (p - 1) * t)}[algorithm]


def _ring_schedule(p):
    reduce_scatter = [[(r, (r + 1) % p, (r - s) % p, "add") for r in range(p)]
                      for s in range(p - 1)]
    all_gather = [[(r, (r + 1) % p, (r + 1 - s) % p, "copy") for r in range(p)]
                  for s in range(p - 1)]
    return reduce_scatter + all_gather


# ---------------------------------------------------------------- path_time
def test_path_time_store_and_forward_and_pipelined():
    assert path_time(1e9, [1e9]) == pytest.approx(1.0)
    assert path_time(1e9, [1e9, 2e9, 4e9]) == pytest.approx(1.75)
    assert path_time(1e9, [1e9, 2e9], latency_s=1e-3) == pytest.approx(1.5 + 2e-3)
    # pipelined: the first chunk crosses every hop, then the slowest hop sets the pace
    got = path_time(1e9, [1e9, 2e9], chunk_bytes=1e6)
    assert got == pytest.approx(1e6 / 1e9 + 1e6 / 2e9 + (1e9 - 1e6) / 1e9)
    assert path_time(10.0, [1.0, 1.0], chunk_bytes=100.0) == pytest.approx(20.0)  # c > n
    arr = path_time(np.array([0.0, 1e9, 2e9]), [1e9, 1e9])
    assert isinstance(arr, np.ndarray) and arr.tolist() == pytest.approx([0.0, 2.0, 4.0])
    assert isinstance(path_time(1e9, [1e9]), float)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_bytes": 1.0, "bandwidths_Bps": []}, "bandwidths_Bps"),
    ({"n_bytes": 1.0, "bandwidths_Bps": [1.0, 0.0]}, "bandwidths_Bps"),
    ({"n_bytes": -1.0, "bandwidths_Bps": [1.0]}, "n_bytes"),
    ({"n_bytes": 1.0, "bandwidths_Bps": [1.0], "latency_s": -1}, "latency_s"),
    ({"n_bytes": 1.0, "bandwidths_Bps": [1.0], "chunk_bytes": 0}, "chunk_bytes"),
])
def test_path_time_checks_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        path_time(**kwargs)


# ---------------------------------------------------------------- congestion
def test_jain_index():
    assert jain_index([5.0, 5.0]) == pytest.approx(1.0)
    assert jain_index([1.0, 0.0, 0.0, 0.0]) == pytest.approx(0.25)
    assert jain_index([0.0, 0.0]) == 1.0
    for bad in ([], [-1.0], [np.nan]):
        with pytest.raises(ValueError, match="rates"):
            jain_index(bad)


def test_simulate_aimd_converges_to_a_fair_full_share():
    h = simulate_aimd(_aimd_step, [90.0, 5.0, 0.0], capacity=100, increase=1.0, decrease=0.5,
                      steps=400)
    assert h.shape == (401, 3)
    assert h[0].tolist() == [90.0, 5.0, 0.0]
    assert jain_index(h[0]) < 0.5
    assert jain_index(h[-50:].mean(axis=0)) > 0.99  # converged to a fair share
    assert 0.6 < h[-100:].sum(axis=1).mean() / 100 < 1.05  # and keeps the link busy


def test_simulate_aimd_with_flows_that_join_later():
    h = simulate_aimd(_aimd_step, [1.0, 1.0], 100, 1.0, 0.5, steps=300, starts=np.array([0, 50]))
    assert h[:50, 1].tolist() == [0.0] * 50 and h[50, 1] == 1.0
    assert h[49, 0] > 40  # the first flow had the link to itself
    assert jain_index(h[-40:].mean(axis=0)) > 0.98


def test_simulate_aimd_passes_a_copy_and_checks_the_step():
    seen = []

    def mutating_step(rates, capacity, increase, decrease):
        seen.append(rates)
        rates += increase  # mutates its input: the simulation must not be affected
        return rates

    start = np.array([1.0, 2.0])
    h = simulate_aimd(mutating_step, start, 100, 1.0, 0.5, steps=2)
    assert start.tolist() == [1.0, 2.0] and h[2].tolist() == [3.0, 4.0]
    with pytest.raises(ValueError, match="one new rate per flow"):
        simulate_aimd(lambda r, C, a, b: r.sum(), [1.0, 2.0], 100, 1.0, 0.5, steps=1)
    with pytest.raises(TypeError, match="step must be a function"):
        simulate_aimd(None, [1.0], 100, 1.0, 0.5)
    for kwargs, match in (({"rates": []}, "rates"), ({"capacity": 0}, "capacity"),
                          ({"decrease": 0}, "decrease"), ({"steps": -1}, "steps"),
                          ({"starts": [0]}, "starts"), ({"increase": -1}, "increase")):
        args = {"step": _aimd_step, "rates": [1.0, 2.0], "capacity": 10, "increase": 1.0,
                "decrease": 0.5, **kwargs}
        with pytest.raises(ValueError, match=match):
            simulate_aimd(**args)


def test_plot_aimd_and_the_congestion_explorer():
    h = simulate_aimd(_aimd_step, [50.0, 0.0], 100, 2.0, 0.5, steps=100)
    ax_r, ax_f = plot_aimd(h, 100)
    assert len(ax_r.get_lines()) == 4 and ax_f.get_title() == "Fairness and utilisation"
    ex = explore_congestion(_aimd_step, n_flows=4, widgets=False)
    assert ex.figure.axes[0].get_title().startswith("4 flows, +2/step, x0.50")
    ex.update(staggered=True, n_flows=3)
    assert len(ex.figure.axes[0].get_lines()) == 5  # 3 flows, the sum, the capacity


def test_congestion_explorer_before_the_exercise_is_written():
    def stub(rates, capacity, increase, decrease):
        raise NotImplementedError()

    ex = explore_congestion(stub, widgets=False)
    assert "not written yet" in ex.figure.axes[0].texts[0].get_text()


# ---------------------------------------------------------------- routing
def test_random_flows_and_flow_hash():
    f = random_flows(3, 50, seed=2)
    assert f.shape == (53,) and np.all(f[:3] >= 90) and np.all(f[:3] <= 110)
    assert np.array_equal(f, random_flows(3, 50, seed=2))
    with pytest.raises(ValueError, match="at least one flow"):
        random_flows(0, 0)
    h = flow_hash(1)
    values = [h(i) for i in range(1000)]
    assert all(isinstance(v, int) and v >= 0 for v in values)
    assert len(set(values)) == 1000
    assert [h(i) for i in range(10)] == [flow_hash(1)(i) for i in range(10)]  # deterministic
    counts = np.bincount(np.array(values) % 8, minlength=8)
    assert counts.min() > 80  # spreads evenly over many flows
    with pytest.raises(ValueError, match="seed"):
        flow_hash(1.5)


def test_ecmp_collides_where_adaptive_balances():
    flows = random_flows(8, 0, seed=0)
    worst_e, worst_a = [], []
    for s in range(100):
        e = _ecmp_loads(flows, 8, flow_hash(s))
        a = _adaptive_loads(flows, 8)
        worst_e.append(e.max() / e.mean())
        worst_a.append(a.max() / a.mean())
    assert np.median(worst_e) >= 2 - 1e-9  # 8 elephants on 8 paths: a collision is near certain
    assert max(worst_a) < 1.15


def test_plot_path_loads_and_the_routing_explorer():
    ax = plot_path_loads({"a": [1.0, 2.0], "b": [1.5, 1.5]})
    assert len(ax.patches) == 4
    with pytest.raises(ValueError, match="same length"):
        plot_path_loads({"a": [1.0, 2.0], "b": [1.0]})
    ex = explore_routing(_ecmp_loads, _adaptive_loads, n_paths=4, n_elephants=4, n_mice=20,
                         widgets=False)
    ax_l, ax_h = ex.figure.axes[:2]
    assert ax_l.get_title() == "4 elephants + 20 mice on 4 paths (seed 0)"
    assert ax_h.get_title() == "Busiest path / mean over 200 hash seeds"
    with pytest.raises(ValueError, match="expected one load per path"):
        explore_routing(lambda f, n, h: np.zeros(n + 1), _adaptive_loads, widgets=False)


# ---------------------------------------------------------------- fat-tree, all-reduce, tail
@pytest.mark.parametrize("k", [2, 4, 6])
def test_draw_fat_tree_draws_the_wiring(k):
    ax = draw_fat_tree(k)
    sizes = [len(c.get_offsets()) for c in ax.collections]  # core, aggregation, edge, hosts
    assert sizes == [k * k // 4, k * k // 2, k * k // 2, k ** 3 // 4]
    # links: host-edge k^3/4, edge-aggregation k * (k/2)^2, aggregation-core k * (k/2)^2
    assert len(ax.get_lines()) == k ** 3 // 4 + 2 * k * (k // 2) ** 2


def test_draw_fat_tree_refuses_unreadable_sizes():
    for k in (3, 8, 0, 4.0):
        with pytest.raises(ValueError, match="k must be 2, 4 or 6"):
            draw_fat_tree(k)


def test_explore_allreduce_draws_the_model_and_its_crossovers():
    ex = explore_allreduce(_allreduce_time, p=64, alpha_us=5.0, bandwidth_GBps=50.0,
                           widgets=False)
    ax_n, ax_p = ex.figure.axes[:2]
    labels = [line.get_label() for line in ax_n.get_lines()]
    assert labels[:3] == ["ring", "tree", "parameter server"]
    ring = ax_n.get_lines()[0].get_ydata()
    sizes = ax_n.get_lines()[0].get_xdata()
    assert ring[-1] == pytest.approx(_allreduce_time("ring", 64, sizes[-1], 5e-6, 5e10))
    assert any(t.get_text().strip().endswith("B") for t in ax_n.texts)  # a crossover marked
    assert ax_p.get_title() == "n = 1e+08 bytes"

    def stub(*args):
        raise NotImplementedError()

    assert "not written yet" in explore_allreduce(stub, widgets=False).figure.axes[0] \
        .texts[0].get_text()


def test_fanout_latencies():
    samples = np.array([1.0] * 99 + [100.0])
    one = fanout_latencies(samples, 1, n_requests=20_000, seed=3)
    many = fanout_latencies(samples, 100, n_requests=20_000, seed=3)
    assert one.shape == many.shape == (20_000,)
    assert abs(np.mean(one == 100.0) - 0.01) < 0.005
    assert abs(np.mean(many == 100.0) - (1 - 0.99 ** 100)) < 0.02
    assert np.array_equal(many, fanout_latencies(samples, 100, n_requests=20_000, seed=3))
    for kwargs, match in (({"samples": []}, "samples"), ({"fanout": 0}, "fanout"),
                          ({"n_requests": 0}, "n_requests")):
        args = {"samples": samples, "fanout": 2, **kwargs}
        with pytest.raises(ValueError, match=match):
            fanout_latencies(**args)


def test_ring_peers_need_ray():
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        pytest.skip("Ray is running in this process")
    with pytest.raises(RuntimeError, match="Ray is not running"):
        network.RingPeers(2)


@pytest.mark.ray
def test_ring_allreduce_on_ray_actors():
    # In a fresh interpreter, as a notebook would run it; nothing may reach stderr.
    code = textwrap.dedent("""
        import numpy as np
        import course_lib as cl
        from tests.test_network import _ring_schedule

        with cl.ray_session.session(num_cpus=2, object_store_mb=100):
            with cl.network.RingPeers(3, wait=False) as peers:
                assert "starting" in repr(peers) or "pids" in repr(peers), repr(peers)
                assert len(set(peers.wait().pids)) == 3, peers.pids
                rng = np.random.default_rng(0)
                for n in (10, 3001):  # 3001: chunks of 1001, 1000, 1000
                    bufs = [rng.integers(-100, 100, n).astype(float) for _ in range(3)]
                    peers.load([np.array_split(b, 3) for b in bufs])
                    seconds = peers.run(_ring_schedule(3))
                    assert len(seconds) == 4 and min(seconds) > 0, seconds
                    for r in peers.results():
                        assert np.array_equal(r, sum(bufs)), (r, sum(bufs))
                bufs = [np.arange(5.0), 10 * np.arange(5.0)]  # a ring of 2 on 3 peers
                peers.load([np.array_split(b, 2) for b in bufs])
                peers.run(_ring_schedule(2))
                got = peers.results()
                assert len(got) == 2 and all(np.array_equal(r, 11 * np.arange(5.0)) for r in got)
                try:
                    peers.step([(0, 2, 0, "add")])  # rank 2 holds nothing now
                except ValueError as exc:
                    assert "loaded rank" in str(exc), exc
                else:
                    raise AssertionError("a send to an unloaded rank was accepted")
                T = peers.transfer_times([8, 80_000], repeat=2)
                assert T.shape == (2, 2) and T.min() > 0, T
                rt = peers.round_trips(5)
                assert rt.shape == (5,) and rt.min() > 0
                for bad, match in (([(0, 3, 0, "add")], "dst"), ([(0, 1, 0, "mul")], "op"),
                                   ([(0, 1)], "src, dst, chunk, op")):
                    try:
                        peers.step(bad)
                    except ValueError as exc:
                        assert match in str(exc), exc
                    else:
                        raise AssertionError(f"no error for {bad}")
            try:
                peers.results()
            except RuntimeError as exc:
                assert "closed" in str(exc)
            else:
                raise AssertionError("closed peers answered")
        print("OK")
    """)
    run_script_ok(code)

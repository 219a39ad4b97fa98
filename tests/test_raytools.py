"""course_lib.raytools: spans recorded in tasks, Gantt rows, and where tasks ran."""

import os
import random
import sys
import textwrap
import time

import pytest

from course_lib import raytools
from course_lib.raytools import Rendezvous, Span, timestamped, to_gantt
from tests.nbrun import run_script_ok


def test_timestamped_returns_the_result_and_a_span_of_this_process():
    def work(x, y=1):
        return x + y

    wrapped = timestamped(work)
    value, span = wrapped(2, y=3)
    assert value == 5
    assert isinstance(span, Span) and span.label == "work" and span.pid == os.getpid()
    assert span.node == ""  # outside Ray
    assert span.end >= span.start and span.seconds == span.end - span.start
    assert wrapped.__name__ == "work"  # functools.wraps: Ray names the task after it
    assert timestamped(work, label="step")(1)[1].label == "step"
    with pytest.raises(TypeError, match="callable"):
        timestamped(42)


def test_to_gantt_packs_a_dict_into_as_few_slots_as_overlap():
    rng = random.Random(7)
    intervals = {}
    for i in range(60):
        start = rng.uniform(0, 10)
        intervals[f"t{i}"] = (100 + start, 100 + start + rng.uniform(0, 2))
    rows = to_gantt(intervals)
    assert len(rows) == len(intervals)
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)  # by start
    assert min(r[1] for r in rows) == 0.0  # t0 = the earliest start
    t0 = min(start for start, _ in intervals.values())
    by_slot = {}
    for lane, start, end, label in rows:
        assert (start + t0, end + t0) == pytest.approx(intervals[label])
        by_slot.setdefault(lane, []).append((start, end))
    for spans in by_slot.values():  # no two intervals of a slot overlap
        spans.sort()
        assert all(e0 <= s1 for (_, e0), (s1, _) in zip(spans, spans[1:], strict=False))
    events = sorted([(s, 1) for s, _ in intervals.values()] + [(e, -1) for _, e in
                                                               intervals.values()],
                    key=lambda ev: (ev[0], ev[1]))
    most, now = 0, 0
    for _, step in events:
        now += step
        most = max(most, now)
    assert len(by_slot) == most  # first fit on sorted starts needs only the peak overlap


def test_to_gantt_of_spans_has_one_lane_per_process_and_node():
    spans = [Span("a", 1.0, 2.0, 10, "n1"), Span("b", 1.5, 2.0, 10, "n2"),
             Span("c", 2.0, 3.0, 11, "n1")]
    rows = to_gantt(spans, t0=0.0, labels=["x", "y", "z"])
    assert rows == [("node n1 pid 10", 1.0, 2.0, "x"), ("node n2 pid 10", 1.5, 2.0, "y"),
                    ("node n1 pid 11", 2.0, 3.0, "z")]
    assert to_gantt([]) == [] and to_gantt({}) == []


@pytest.mark.parametrize("bad, error", [
    ({"a": (2.0, 1.0)}, ValueError),
    ({"a": (1.0,)}, ValueError),
    ({"a": ("0", 1.0)}, ValueError),
    ({"a": (0.0, float("nan"))}, ValueError),
    ([("a", 0.0, 1.0)], TypeError),
    (42, TypeError),
])
def test_to_gantt_rejects_bad_intervals(bad, error):
    with pytest.raises(error):
        to_gantt(bad)


def test_to_gantt_labels_must_match():
    with pytest.raises(ValueError, match="one label per interval"):
        to_gantt({"a": (0, 1)}, labels=["x", "y"])


def test_rendezvous_tells_calls_side_by_side_from_calls_one_after_the_other():
    import pickle
    import threading

    rv = Rendezvous()
    assert rv.arrived() == [] and pickle.loads(pickle.dumps(rv)).path == rv.path
    met = {}

    def meet(name):
        rv.arrive(name)
        met[name] = rv.wait_for(2, timeout_s=10.0)

    threads = [threading.Thread(target=meet, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert met == {"x": True, "y": True} and rv.arrived() == ["x", "y"]
    alone = Rendezvous()
    meet_alone = alone.wait_for(["x"], timeout_s=0.05)  # nobody arrives: times out
    alone.arrive("x")
    assert meet_alone is False and alone.wait_for(["x"], timeout_s=0.0) is True
    assert alone.wait_for(1, timeout_s=0.0) and not alone.wait_for(2, timeout_s=0.0)
    # its directory goes when it does, not when a copy sent to a task does
    import gc
    import os

    copy = pickle.loads(pickle.dumps(alone))
    where = alone.path
    del copy
    gc.collect()
    assert os.path.isdir(where)
    del alone
    gc.collect()
    assert not os.path.exists(where)


def test_ray_functions_say_when_ray_is_not_running():
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        pytest.skip("Ray is running in this process")
    for fn in (raytools.cluster_nodes, raytools.tasks_per_node, raytools.warm_up):
        with pytest.raises(RuntimeError, match="Ray is not running"):
            fn()


def test_side_by_side_is_not_skipped_where_grading_gave_ray_two_cpus(monkeypatch):
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        pytest.skip("Ray is running in this process")
    monkeypatch.delenv("COURSE_RAY_CPUS", raising=False)
    assert raytools.side_by_side() is False  # no Ray: nothing runs side by side
    monkeypatch.setenv("COURSE_RAY_CPUS", "2")  # grading: Ray was started with 2
    with pytest.raises(AssertionError, match="do not restart Ray with fewer CPUs"):
        raytools.side_by_side()


def test_logical_cpus_are_the_cores_or_what_grading_asks(monkeypatch):
    from course_lib import ray_session

    monkeypatch.setenv("COURSE_CPUS", "1")
    monkeypatch.delenv("COURSE_RAY_CPUS", raising=False)
    assert ray_session.logical_cpus() == 1
    monkeypatch.setenv("COURSE_RAY_CPUS", "2")
    assert ray_session.logical_cpus() == 2
    monkeypatch.setenv("COURSE_RAY_CPUS", "x")
    assert ray_session.logical_cpus() == 1


@pytest.mark.ray
def test_with_a_local_ray():
    # In a fresh interpreter, as a notebook would run it; nothing may reach stderr. As in a
    # grading slot: one core (COURSE_CPUS=1), Ray given 2 logical CPUs (COURSE_RAY_CPUS=2),
    # its two workers taking turns on the core: tasks still run side by side
    code = textwrap.dedent("""
        import os
        os.sched_setaffinity(0, [min(os.sched_getaffinity(0))])
        os.environ.update(COURSE_CPUS="1", COURSE_RAY_CPUS="2")
        import course_lib as cl
        with cl.ray_session.session(object_store_mb=100) as info:
            import ray
            assert cl.available_cpus() == 1 and cl.raytools.side_by_side()
            assert cl.raytools.warm_up() == 2
            nodes = cl.raytools.cluster_nodes()
            assert len(nodes) == 1 and nodes[0]["head"] and nodes[0]["CPU"] == 2, nodes
            assert 90 <= nodes[0]["object_store_mb"] <= 110, nodes
            work = ray.remote(cl.raytools.timestamped(cl.scaling.cpu_task))
            out = ray.get([work.remote(20_000) for _ in range(4)])
            assert [v for v, _ in out] == [cl.scaling.cpu_task(20_000)] * 4
            spans = [s for _, s in out]
            assert all(s.node == nodes[0]["node_id"] for s in spans), spans
            assert all(s.pid != os.getpid() for s in spans), spans
            rows = cl.raytools.to_gantt(spans)
            assert {r[0] for r in rows} <= {f"pid {s.pid}" for s in spans}
            for pin in (False, True):
                placed = cl.raytools.tasks_per_node(n_tasks=3, seconds=0.0, pin=pin)
                assert placed == {nodes[0]["node_id"]: 3}, placed
            rv = cl.raytools.Rendezvous()

            def meet(name):
                rv.arrive(name)
                return rv.wait_for(2, timeout_s=20.0)

            meet_task = ray.remote(meet)
            assert ray.get([meet_task.remote("a"), meet_task.remote("b")]) == [True, True]
        print("OK")
    """)
    run_script_ok(code)


def _window_pipeline(probe, items, k, wait_for="any"):
    """A bounded pipeline over the probe, with threads for Ray's tasks: ``wait_for`` "any"
    (correct), "all" (waits for the whole window) or "none" (unbounded)."""
    import concurrent.futures as cf

    pending, out = {}, {}
    for i, x in enumerate(items):
        if wait_for == "any" and len(pending) == k:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for f in done:
                out[pending.pop(f)] = f.result()
        elif wait_for == "all" and len(pending) == k:
            for f in list(pending):
                out[pending.pop(f)] = f.result()
        pending[probe.remote(x)] = i
    for f in list(pending):
        out[pending.pop(f)] = f.result()
    return [out[i] for i in range(len(items))]


def test_in_flight_probe_does_not_count_a_task_slow_to_reach_a_worker():
    """On a cluster, or while a worker process starts, a task may start seconds after it was
    submitted: the tasks held meanwhile must not call that the caller's fault (timed_out)."""
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(8) as pool:
        def slow_start(*args):  # every task reaches its worker 0.3 s after its submission
            return pool.submit(lambda: (time.sleep(0.3), raytools._held_call(*args))[1])

        probe = raytools.InFlightProbe(abs, 2, 5, release="newest", timeout_s=0.1,
                                       submit=slow_start)
        assert _window_pipeline(probe, [-1, 2, -3, 4, -5], 2) == [1, 2, 3, 4, 5]
        assert not probe.timed_out and probe.peak == 2
        # once every task has started, waiting in vain still counts: the whole window awaited
        probe = raytools.InFlightProbe(abs, 2, 5, release="newest", timeout_s=0.1,
                                       submit=slow_start)
        assert _window_pipeline(probe, [-1, 2, -3, 4, -5], 2, wait_for="all") == [1, 2, 3, 4, 5]
        assert probe.timed_out


@pytest.mark.parametrize("release", ["oldest", "newest"])
def test_in_flight_probe_counts_what_a_bounded_pipeline_keeps_in_flight(release):
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(8) as pool:
        def submit(*args):
            return pool.submit(raytools._held_call, *args)

        for k, n in [(3, 8), (1, 3), (4, 2)]:
            probe = raytools.InFlightProbe(lambda x: x * x, k, n, release=release, submit=submit)
            assert _window_pipeline(probe, list(range(n)), k) == [x * x for x in range(n)]
            assert probe.peak == min(k, n) and probe.submitted == n and not probe.timed_out
            assert probe.finished() == n
            import copy

            counts = copy.deepcopy(probe)  # the counts, as a plain list
            assert type(counts) is list and counts == probe.in_flight == list(probe)
        # waiting for the whole window makes a held task wait in vain: timed_out
        probe = raytools.InFlightProbe(abs, 2, 5, release=release, timeout_s=0.2, submit=submit)
        assert _window_pipeline(probe, [-1, 2, -3, 4, -5], 2, wait_for="all") == [1, 2, 3, 4, 5]
        assert probe.timed_out and probe.peak == 2
        # submitting everything at once fails at the submission that puts 3 in flight
        probe = raytools.InFlightProbe(abs, 2, 5, release=release, timeout_s=5, submit=submit)
        with pytest.raises(AssertionError, match="put 3 tasks in flight"):
            _window_pipeline(probe, [1, 2, 3, 4, 5], 2, wait_for="none")
        assert probe.in_flight == [1, 2, 3] and probe.timed_out  # the held tasks were let go
    assert "window=2" in repr(probe)
    with pytest.raises(ValueError, match="release"):
        raytools.InFlightProbe(abs, 2, 5, release="random", submit=submit)

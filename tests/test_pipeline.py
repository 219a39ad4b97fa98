"""course_lib.pipeline: schedules checked, counted, replayed and drawn. The exercises'
answers are not in course_lib: the reference schedules the tests need are defined here."""

import numpy as np
import pytest

from course_lib import pipeline
from course_lib.pipeline import as_schedule, check_schedule, peak_activations, replay_schedule


def ref_bubble(p, m):
    return (p - 1) / (m + p - 1)


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
    ax = pipeline.schedule_gantt(ref_1f1b(3, 4))
    assert len(ax.patches) == 2 * 3 * 4
    assert [t.get_text() for t in ax.get_yticklabels()] == ["stage 0", "stage 1", "stage 2"]
    ex = pipeline.explore_pipeline({"GPipe": ref_gpipe, "1F1B": ref_1f1b}, p=3, m=5,
                                   widgets=False)
    title = ex.figure.axes[0].get_title()
    assert title.startswith("GPipe, p = 3, m = 5: 14 steps, idle 29%")
    assert "[5, 5, 5]" in title
    assert "[3, 2, 1]" in ex.update(schedule="1F1B").figure.axes[0].get_title()

    def stub(p, m):
        raise NotImplementedError()

    assert "not written yet" in pipeline.explore_pipeline(
        {"mine": stub}, widgets=False).figure.axes[0].get_title()
    broken = pipeline.explore_pipeline({"bad": lambda p, m: ref_gpipe(p, m)[1:]},
                                       widgets=False)
    assert "missing" in broken.figure.axes[0].get_title()
    with pytest.raises(TypeError):
        pipeline.explore_pipeline({"x": 3})

import matplotlib
import pytest

from course_lib import taskgraph
from course_lib.taskgraph import TaskGraph, Timeline, example_graph, level_schedule, random_graph


def test_example_graph_is_the_lecture_example():
    G = example_graph()
    assert G.durations == {"T1": 10, "T2": 5, "T3": 15, "T4": 5, "T5": 20, "T6": 10}
    assert G.deps == {"T1": (), "T2": (), "T3": (), "T4": ("T1",), "T5": ("T2",),
                      "T6": ("T4", "T5")}
    assert G.work == 65.0
    assert G.successors == {"T1": ("T4",), "T2": ("T5",), "T3": (), "T4": ("T6",),
                            "T5": ("T6",), "T6": ()}
    assert len(G) == 6 and "65" in repr(G)


def test_validation_names_the_problem():
    with pytest.raises(ValueError, match="unknown predecessor 'X' of task 'a'"):
        TaskGraph({"a": 1}, {"a": ["X"]})
    with pytest.raises(ValueError, match="deps names task 'b'"):
        TaskGraph({"a": 1}, {"b": ["a"]})
    with pytest.raises(ValueError, match="duration of 'a'"):
        TaskGraph({"a": -1})
    with pytest.raises(ValueError, match="duration of 'a'"):
        TaskGraph({"a": float("nan")})
    with pytest.raises(ValueError, match="strings"):
        TaskGraph({1: 1})
    with pytest.raises(ValueError, match="non-empty"):
        TaskGraph({})
    with pytest.raises(ValueError, match="list, tuple or set"):
        TaskGraph({"a": 1, "b": 1}, {"b": "a"})
    with pytest.raises(ValueError, match="cycle: a -> a"):
        TaskGraph({"a": 1}, {"a": ["a"]})
    with pytest.raises(ValueError, match="cycle: c -> d -> b -> c"):
        TaskGraph({"a": 1, "b": 1, "c": 1, "d": 1}, {"b": ["a", "d"], "c": ["b"], "d": ["c"]})


def test_topological_order_and_levels():
    G = TaskGraph({"z": 1, "y": 2, "x": 3}, {"x": ["z"], "y": ["x", "x"]})
    assert G.topological_order() == ["z", "x", "y"]
    assert G.deps["y"] == ("x",)  # repeats dropped
    assert G.levels() == {"z": 0, "y": 2, "x": 1}


def test_level_schedule_waits_at_each_level():
    G = example_graph()
    S = level_schedule(G.durations, G.deps, 3)
    assert S == {"T1": (0, 0.0), "T2": (1, 0.0), "T3": (2, 0.0), "T4": (0, 15.0),
                 "T5": (1, 15.0), "T6": (0, 35.0)}
    assert G.simulate(S, 3).makespan == 45.0
    assert G.simulate(level_schedule(G.durations, G.deps, 1), 1).makespan == 65.0
    with pytest.raises(ValueError, match="P must be"):
        level_schedule(G.durations, G.deps, 0)


def test_problems_find_each_kind_of_mistake():
    G = TaskGraph({"a": 2, "b": 3}, {"b": ["a"]})
    assert G.problems({"a": (0, 0), "b": (0, 2)}, P=1) == []
    assert G.problems({"a": (0, 0), "b": (1, 1)})[0].startswith("b starts at 1, before")
    assert "at the same time" not in " ".join(G.problems({"a": (0, 0), "b": (0, 2)}))
    assert any("while a runs" in p for p in G.problems({"a": (0, 0), "b": (0, 1.5)}))
    assert any("int in 0..0" in p for p in G.problems({"a": (1, 0), "b": (0, 2)}, P=1))
    assert any("not scheduled" in p for p in G.problems({"a": (0, 0)}))
    assert any("not a task" in p for p in G.problems({"a": (0, 0), "b": (0, 2), "c": (0, 9)}))
    assert any("start must be" in p for p in G.problems({"a": (0, -1), "b": (0, 2)}))
    assert any("expected (worker, start)" in p for p in G.problems({"a": 0, "b": (0, 2)}))
    assert any("worker must be" in p for p in G.problems({"a": (True, 0), "b": (0, 2)}))
    assert G.problems([("a", 0, 0)])[0].startswith("a schedule must be a dict")
    with pytest.raises(ValueError, match="infeasible schedule"):
        G.simulate({"a": (0, 0), "b": (1, 1)})


def test_timeline_statistics():
    G = example_graph()
    tl = G.simulate(level_schedule(G.durations, G.deps, 3), P=4)
    assert tl.P == 4 and tl.makespan == 45.0
    assert sum(tl.busy) == 65.0 and tl.busy[3] == 0.0
    assert tl.idle == 4 * 45.0 - 65.0
    assert tl.utilisation == pytest.approx(65 / 180)
    assert Timeline((), P=1).utilisation == 0.0


def test_gantt_and_draw_make_figures():
    G = example_graph()
    ax = G.gantt(level_schedule(G.durations, G.deps, 2), P=2, title="levels")
    assert ax.get_title() == "levels"
    widths = sorted(round(p.get_width(), 6) for p in ax.patches if p.get_width() > 0)
    assert widths == sorted(G.durations.values())
    ax = G.draw()
    labels = [t.get_text() for t in ax.texts if t.get_text()]
    assert len(labels) == 6 and "T6\n10" in labels
    assert isinstance(ax.figure, matplotlib.figure.Figure)


def test_random_graph_is_seeded_acyclic_and_checked():
    a, b, c = random_graph(15, seed=3), random_graph(15, seed=3), random_graph(15, seed=4)
    assert a.deps == b.deps and a.durations == b.durations
    assert (a.deps, a.durations) != (c.deps, c.durations)
    assert a.tasks[0] == "T01" and len(a) == 15
    assert all(1 <= d <= 20 for d in a.durations.values())
    assert all(len(p) <= 3 for p in a.deps.values())
    assert all(p < t for t, ps in a.deps.items() for p in ps)  # edges go forward: a DAG
    with pytest.raises(ValueError, match="n_tasks"):
        random_graph(0)
    with pytest.raises(ValueError, match="edge_prob"):
        random_graph(5, edge_prob=2)


def test_explore_draws_static_figure_and_uses_the_given_scheduler():
    ex = taskgraph.explore(P=2, widgets=False)
    assert ex.figure.axes[1].get_title().startswith("level by level, P = 2: T_P = 50")
    calls = []

    def my_scheduler(durations, deps, P):
        calls.append(P)  # one worker, in topological order
        order, now, schedule = TaskGraph(durations, deps).topological_order(), 0.0, {}
        for t in order:
            schedule[t] = (0, now)
            now += durations[t]
        return schedule

    ex = taskgraph.explore(my_scheduler, P=1, widgets=False)
    assert calls == [1] and "my scheduler, P = 1: T_P = 65" in ex.figure.axes[1].get_title()
    ex.update(graph="random", seed=2)
    assert "random graph" in ex.figure.axes[0].get_title()


def test_explore_falls_back_when_the_scheduler_is_not_written():
    def list_schedule(durations, deps, P):
        raise NotImplementedError()

    ex = taskgraph.explore(list_schedule, widgets=False)
    assert "not written yet" in ex.figure.axes[0].get_title()
    with pytest.raises(TypeError, match="scheduler"):
        taskgraph.explore(scheduler=42)


def test_explore_reports_an_infeasible_schedule():
    def bad(durations, deps, P):
        return {t: (0, 0.0) for t in durations}

    with pytest.raises(ValueError, match="infeasible schedule"):
        taskgraph.explore(bad, widgets=False)


def test_static_blocks_are_contiguous_and_cover_the_loop():
    assert taskgraph.static_blocks(7, 3) == [[0, 1], [2, 3], [4, 5, 6]]
    assert taskgraph.static_blocks(2, 4) == [[], [0], [], [1]]
    assert taskgraph.static_blocks(0, 2) == [[], []]
    for bad in ((3, 0), (-1, 2), (2.0, 2), (True, 2)):
        with pytest.raises(ValueError):
            taskgraph.static_blocks(*bad)


def test_loop_timeline_runs_each_workers_iterations_back_to_back():
    costs = [i + 1 for i in range(8)]  # a triangular loop
    static = taskgraph.loop_timeline(costs, taskgraph.static_blocks(8, 2))
    assert static.makespan == 26.0 and static.busy == (10.0, 26.0)
    assert static.utilisation == pytest.approx(36 / 52)
    mixed = taskgraph.loop_timeline(costs, [[7, 0, 6, 1], (5, 2, 4, 3)])  # lists or tuples
    assert mixed.makespan == 18.0 and mixed.utilisation == 1.0
    assert taskgraph.loop_timeline([2.5], [[], [0], []]).P == 3


@pytest.mark.parametrize("assignment, message", [
    ([[0, 1], [1]], "assigned twice"),
    ([[0], [2]], "not assigned: [1]"),
    ([[0, 1, 3]], "not an iteration"),
    ([[0, True, 2]], "not an iteration"),
    ([[0, 1], "2"], "expected a list"),
    ([], "list of P lists"),
])
def test_loop_timeline_names_what_is_wrong(assignment, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        taskgraph.loop_timeline([1.0, 2.0, 3.0], assignment)

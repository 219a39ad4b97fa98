import numpy as np
import pytest

from course_lib import scaling
from course_lib.scaling import ScalingResult, contention_experiment, cpu_task, run_scaling


def test_cpu_task_is_deterministic_work():
    assert cpu_task(0) == 0
    assert cpu_task(10) == sum(i * i for i in range(10)) % 1_000_003
    assert scaling.calibrate(0.005) >= 1
    with pytest.raises(ValueError, match="seconds"):
        scaling.calibrate(0)


def test_run_scaling_shapes_and_work_split():
    res = run_scaling([2, 1], seconds=0.02, serial_fraction=0.2, repeats=2)
    strong, weak = res["strong"], res["weak"]
    assert strong.P == weak.P == (1, 2)
    assert strong.times.shape == strong.serial_times.shape == (2, 2)
    assert np.all(strong.times > strong.serial_times) and np.all(strong.serial_times > 0)
    # strong: the same total work for every P; weak: the same work per worker
    assert strong.parallel_units[0] == strong.parallel_units[1]
    assert weak.parallel_units[1] == 2 * weak.parallel_units[0]
    assert strong.serial_units == weak.serial_units > 0
    assert strong.median.shape == (2,) and "strong" in repr(strong)


def test_run_scaling_checks_its_arguments():
    for kwargs, match in (({"Ps": [2, 3]}, "include 1"), ({"Ps": [0, 1]}, "ints >= 1"),
                          ({"seconds": -1}, "seconds"), ({"serial_fraction": 1}, "serial"),
                          ({"repeats": 0}, "repeats"), ({"kinds": ["medium"]}, "kinds")):
        with pytest.raises(ValueError, match=match):
            run_scaling(**kwargs)


def test_contention_experiment_counts_correctly():
    res = contention_experiment([1, 2], increments=3001, repeats=1)
    assert res["P"] == (1, 2)
    for name in ("shared lock", "local, combine once"):
        assert res[name].shape == (2, 1) and np.all(res[name] > 0)
    with pytest.raises(ValueError, match="increments"):
        contention_experiment(increments=0)


def test_scaling_result_medians():
    r = ScalingResult("weak", (1, 2), np.array([[1.0, 3.0], [2.0, 2.0]]),
                      np.array([[0.5, 0.1], [0.2, 0.2]]), 10, (90, 180))
    assert r.median.tolist() == [2.0, 2.0]
    assert r.median_serial.tolist() == [0.3, 0.2]


def _amdahl(f, P):  # test doubles: the library holds no scaling law of its own
    return 1 / ((1 - f) + f / np.asarray(P, dtype=float))


def _gustafson(s, P):
    return s + np.asarray(P, dtype=float) * (1 - s)


def test_explore_draws_the_models_it_is_given():
    ex = scaling.explore(_amdahl, _gustafson, f=0.8, s=0.2, P_max=16,
                         measured={"measured": ([1, 2], [1.0, 1.7])}, widgets=False)
    ax_s, ax_e = ex.figure.axes
    labels = [line.get_label() for line in ax_s.get_lines()]
    assert labels == ["ideal S = P", "Amdahl, f = 0.80 (fixed problem)",
                      "Gustafson, s = 0.20 (scaled problem)", "measured"]
    amdahl_line = ax_s.get_lines()[1]
    assert amdahl_line.get_ydata()[-1] == pytest.approx(_amdahl(0.8, 16))
    ex.update(log=True, P_max=1024)
    assert ex.figure.axes[0].get_xscale() == "log"


def test_explore_without_models_says_what_is_missing():
    def amdahl_speedup(f, P):
        raise NotImplementedError()

    ex = scaling.explore(amdahl_speedup, None, widgets=False)
    notes = " ".join(t.get_text() for t in ex.figure.axes[0].texts)
    assert "amdahl is not written yet" in notes and "pass gustafson=" in notes
    with pytest.raises(ValueError, match="elementwise"):
        scaling.explore(lambda f, P: 1.0, None, widgets=False)
    with pytest.raises(ValueError, match="measured"):
        scaling.explore(None, None, measured={"m": ([1, 2], [1.0])}, widgets=False)


def test_one_core_still_measures_two_workers(monkeypatch):
    """On one core (a Binder session) the default measures P = 1 and 2: one point is no fit."""
    from course_lib import scaling

    monkeypatch.setattr(scaling, "available_cpus", lambda: 1)
    res = scaling.run_scaling(seconds=0.02, repeats=1, kinds=["strong"])
    assert res["strong"].P == (1, 2)


def test_published_scaling_is_the_cited_table():
    data = scaling.published_scaling()
    assert sorted(data) == [("InceptionV3", 32), ("InceptionV3", 64), ("ResNet-152", 32),
                            ("ResNet-50", 32), ("ResNet-50", 64)]
    for gpus, rate in data.values():
        assert gpus.dtype == np.int64 and rate.dtype == np.float64
        assert gpus.tolist() == [1, 8, 16, 32, 64] and np.all(np.diff(rate) > 0)
    assert data[("ResNet-152", 32)][1].tolist() == [19.4, 146.0, 291.0, 565.0, 981.0]
    assert "May 2017" in scaling.PUBLISHED_SOURCE and "data/README.md" in scaling.PUBLISHED_SOURCE

import matplotlib
import pytest

from course_lib import plots


def test_style_does_not_leak_into_global_state():
    before = dict(matplotlib.rcParams)
    ax = plots.speedup_plot([1, 2], [1, 1.9])
    assert ax.get_title() == "Speedup vs workers"
    assert dict(matplotlib.rcParams) == before


def test_speedup_plot_draws_ideal_line_and_series():
    ax = plots.speedup_plot([1, 2, 4], [1, 1.8, 3.0], label="measured")
    ideal, measured = ax.get_lines()
    assert list(ideal.get_ydata()) == [1, 2, 4]
    assert list(measured.get_ydata()) == [1, 1.8, 3.0]
    plots.speedup_plot([1, 2, 4], [1, 1.5, 2.0], ax=ax, label="model", ideal=False)
    assert len(ax.get_lines()) == 3


def test_gantt_bars_match_intervals():
    ax = plots.gantt([("gpu0", 0, 2, "F1"), ("gpu1", 1, 4)])
    widths = sorted(round(p.get_width(), 6) for p in ax.patches)
    assert widths == [2.0, 3.0]
    with pytest.raises(ValueError, match="ends before"):
        plots.gantt([("a", 3, 1)])
    with pytest.raises(ValueError, match="intervals\\[0\\]"):
        plots.gantt([("a", 1)])


def test_loglog_scaling_guides_and_errors():
    ax = plots.loglog_scaling([10, 100], [1, 10], slopes=[1, 2])
    assert [line.get_label() for line in ax.get_lines()] == ["measured", "slope 1", "slope 2"]
    with pytest.raises(ValueError, match="> 0"):
        plots.loglog_scaling([0, 1], [1, 2])
    with pytest.raises(ValueError, match="same length"):
        plots.loglog_scaling([1, 2], [1, 2, 3])


def test_bar_chart_labels_values():
    ax = plots.bar_chart(["a", "b", "c"], [1, 2, 3], fmt="{:.0f}")
    assert [t.get_text() for t in ax.texts] == ["1", "2", "3"]
    with pytest.raises(ValueError, match="same length"):
        plots.bar_chart(["a"], [1, 2])


def test_bar_chart_log_scale_needs_positive_values():
    ax = plots.bar_chart(["slow", "fast"], [8.0, 0.1], log=True)
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="> 0"):
        plots.bar_chart(["a", "b"], [1.0, 0.0], log=True)

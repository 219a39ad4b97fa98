import matplotlib.pyplot as plt
import pytest

from course_lib import widgets
from course_lib.widgets import (
    checkbox,
    dropdown,
    float_slider,
    int_slider,
    interactive_plot,
    widgets_available,
)


def _draw(P, name, log=False):
    fig, ax = plt.subplots()
    ax.plot([0, P], [0, P], label=name)
    ax.set_title(f"{name} {P} {log}")
    return ax


def test_controls_check_their_arguments():
    assert int_slider(2, 1, 4).check(3, "P") == 3
    assert float_slider(0.5, 0, 1, 0.1).check(1, "f") == 1.0
    assert dropdown("a", ["a", "b"]).check("b", "g") == "b"
    assert checkbox(False).check(True, "log") is True
    for bad, match in ((lambda: int_slider(1, 2, 1), "min and max"),
                       (lambda: int_slider(1, 1, 3, step=0), "step"),
                       (lambda: int_slider(1.5, 1, 3), "value"),
                       (lambda: float_slider(2, 0, 1, 0.1), "value"),
                       (lambda: dropdown("c", ["a"]), "one of"),
                       (lambda: dropdown("c", []), "empty"),
                       (lambda: checkbox(1), "True or False")):
        with pytest.raises(ValueError, match=match):
            bad()
    with pytest.raises(ValueError, match="P must be an int in"):
        int_slider(2, 1, 4).check(True, "P")
    with pytest.raises(ValueError, match="f must be a number in"):
        float_slider(0.5, 0, 1, 0.1).check(1.5, "f")
    with pytest.raises(ValueError, match="log must be True or False"):
        checkbox(False).check(0, "log")


def test_no_widgets_outside_a_kernel(monkeypatch):
    assert widgets_available() is False
    monkeypatch.setenv("COURSE_WIDGETS", "0")
    assert widgets_available() is False


def test_static_plot_draws_defaults_and_updates():
    plot = interactive_plot(_draw, P=int_slider(3, 1, 8), name=dropdown("x", ["x", "y"]),
                            log=True)
    assert plot.values == {"P": 3, "name": "x", "log": True}
    assert plot.controls == {}
    assert plot.figure.axes[0].get_title() == "x 3 True"
    assert repr(plot) == "InteractivePlot(static; P=3, name='x', log=True)"
    plot.update(P=5, name="y")
    assert plot.figure.axes[0].get_title() == "y 5 True"
    with pytest.raises(ValueError, match="P must be an int in"):
        plot.update(P=9)
    with pytest.raises(ValueError, match="unknown value 'Q'"):
        plot.update(Q=1)
    assert plt.get_fignums() == []  # the figure is not left open in pyplot


def test_widget_mode_redraws_on_change_and_shows_errors():
    pytest.importorskip("ipywidgets")
    draws = []

    def draw(P):
        draws.append(P)
        if P == 4:
            raise RuntimeError("four is not allowed")
        fig, _ = plt.subplots()
        return fig

    plot = interactive_plot(draw, widgets=True, P=int_slider(2, 1, 8, label="workers"))
    slider = plot.controls["P"]
    assert slider.description == "workers" and slider.value == 2 and draws == [2]
    slider.value = 3  # what moving the slider does
    assert plot.values["P"] == 3 and draws == [2, 3]
    slider.value = 4  # an error in the drawing does not escape the callback
    assert draws == [2, 3, 4] and plot.values["P"] == 4
    plot.update(P=6)  # moves the slider without drawing twice
    assert slider.value == 6 and draws == [2, 3, 4, 6]
    assert repr(plot).startswith("InteractivePlot(interactive")


def test_float_dropdown_and_checkbox_widgets():
    W = pytest.importorskip("ipywidgets")
    plot = interactive_plot(lambda f, g, c: plt.subplots()[0], widgets=True,
                            f=float_slider(0.25, 0, 1, 0.05), g=dropdown(8, [8, 16]),
                            c=checkbox(True))
    assert isinstance(plot.controls["f"], W.FloatSlider)
    assert plot.controls["f"].readout_format == ".2f"
    assert isinstance(plot.controls["g"], W.Dropdown)
    assert isinstance(plot.controls["c"], W.Checkbox)


def test_draw_must_return_a_figure():
    with pytest.raises(TypeError, match="Figure or Axes"):
        interactive_plot(lambda: None)
    with pytest.raises(TypeError, match="callable"):
        interactive_plot(42)
    fig, axes = plt.subplots(1, 2)
    assert widgets._figure_of(axes) is fig
    assert widgets._figure_of([axes[0]]) is fig

"""A small widget toolkit for the course's explorers.

An explorer is a drawing function plus a few controls (sliders, a menu, a
check box). :func:`interactive_plot` draws the figure once with the default
values, shows it, and, where ipywidgets can render (a Jupyter kernel with
ipywidgets installed), shows the controls above it and redraws on every
change. Where widgets cannot render (plain Python, a static viewer, widgets
switched off with the environment variable ``COURSE_WIDGETS=0``) the figure
stays, drawn with the defaults, and ``.update(name=value)`` redraws it.

The figure is shown as an ordinary image output, updated in place, so a
notebook run by nbclient or nbgrader keeps a static picture of the explorer
and never depends on a widget front end.

ipywidgets and matplotlib are imported inside the functions that need them.

>>> def draw(P, label):
...     from course_lib.plots import new_axes
...     ax = new_axes()
...     ax.plot([0, P], [0, P], label=label)
...     return ax
>>> plot = interactive_plot(draw, P=int_slider(4, 1, 16), label="ideal", widgets=False)
>>> plot.values
{'P': 4, 'label': 'ideal'}
>>> plot.update(P=8).figure.axes[0].get_lines()[0].get_xdata().tolist()
[0, 8]
"""

from __future__ import annotations

import io
import numbers
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "Control",
    "InteractivePlot",
    "checkbox",
    "dropdown",
    "float_slider",
    "int_slider",
    "interactive_plot",
    "widgets_available",
]


@dataclass(frozen=True)
class Control:
    """One control of an explorer: its kind, default value, range or options, and label.

    Make them with :func:`int_slider`, :func:`float_slider`, :func:`dropdown`
    or :func:`checkbox`, which check their arguments.

    >>> int_slider(3, 1, 8).check(5, "P")
    5
    >>> int_slider(3, 1, 8).check(9, "P")
    Traceback (most recent call last):
    ...
    ValueError: P must be an int in [1, 8], got 9
    """

    kind: str  # "int", "float", "choice" or "bool"
    value: object
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple = ()
    label: str | None = None

    def check(self, value, name: str):
        """Return ``value`` converted for this control, or raise ``ValueError`` naming ``name``."""
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                    or not self.min <= value <= self.max:
                raise ValueError(f"{name} must be an int in [{self.min}, {self.max}], "
                                 f"got {value!r}")
            return int(value)
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not self.min <= value <= self.max:
                raise ValueError(f"{name} must be a number in [{self.min:g}, {self.max:g}], "
                                 f"got {value!r}")
            return float(value)
        if self.kind == "choice":
            if value not in self.options:
                raise ValueError(f"{name} must be one of {list(self.options)}, got {value!r}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be True or False, got {value!r}")
            return value
        raise ValueError(f"unknown control kind {self.kind!r}")


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def int_slider(value: int, min: int, max: int, step: int = 1, label: str | None = None) -> Control:
    """A slider over the integers ``min..max`` (inclusive), starting at ``value``.

    >>> int_slider(2, 1, 8, label="workers P").label
    'workers P'
    >>> int_slider(0, 1, 8)
    Traceback (most recent call last):
    ...
    ValueError: value must be an int in [min, max] = [1, 8], got 0
    """
    if not (_is_int(min) and _is_int(max) and min <= max):
        raise ValueError(f"min and max must be ints with min <= max, got {min!r} and {max!r}")
    if not _is_int(step) or step < 1:
        raise ValueError(f"step must be an int >= 1, got {step!r}")
    if not _is_int(value) or not min <= value <= max:
        raise ValueError(f"value must be an int in [min, max] = [{min}, {max}], got {value!r}")
    return Control("int", int(value), int(min), int(max), int(step), label=label)


def float_slider(value: float, min: float, max: float, step: float,
                 label: str | None = None) -> Control:
    """A slider over the numbers ``min..max`` in steps of ``step``, starting at ``value``.

    >>> float_slider(0.9, 0.0, 1.0, 0.01).value
    0.9
    >>> float_slider(0.5, 0.0, 1.0, 0.0)
    Traceback (most recent call last):
    ...
    ValueError: step must be a number > 0, got 0.0
    """
    if not (_is_real(min) and _is_real(max) and min < max):
        raise ValueError(f"min and max must be numbers with min < max, got {min!r} and {max!r}")
    if not _is_real(step) or not step > 0:
        raise ValueError(f"step must be a number > 0, got {step!r}")
    if not _is_real(value) or not min <= value <= max:
        raise ValueError(f"value must be a number in [min, max] = [{min:g}, {max:g}], "
                         f"got {value!r}")
    return Control("float", float(value), float(min), float(max), float(step), label=label)


def dropdown(value, options: Sequence, label: str | None = None) -> Control:
    """A menu of ``options`` (strings or numbers), starting at ``value``.

    >>> dropdown("example", ["example", "random"]).options
    ('example', 'random')
    """
    options = tuple(options)
    if not options:
        raise ValueError("options must not be empty")
    if value not in options:
        raise ValueError(f"value must be one of the options {list(options)}, got {value!r}")
    return Control("choice", value, options=options, label=label)


def checkbox(value: bool, label: str | None = None) -> Control:
    """A check box, starting at ``value`` (True or False).

    >>> checkbox(True, label="log scale").value
    True
    """
    if not isinstance(value, bool):
        raise ValueError(f"value must be True or False, got {value!r}")
    return Control("bool", value, label=label)


def _kernel_shell():
    """The IPython shell when this code runs in a Jupyter kernel, else None.

    Does not import IPython: a kernel has always loaded it already.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


def widgets_available() -> bool:
    """True when interactive controls can be shown: a Jupyter kernel with ipywidgets.

    ``COURSE_WIDGETS=0`` in the environment switches them off (static figures
    only). Whether the front end then draws them is its business: where it
    cannot (a static viewer, nbclient), the figure below them is still there.

    >>> widgets_available()   # plain Python (the tests): no kernel
    False
    """
    if os.environ.get("COURSE_WIDGETS", "").strip().lower() in ("0", "false", "no", "off"):
        return False
    if _kernel_shell() is None:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _figure_of(result):
    """The matplotlib Figure behind what a draw function returned."""
    fig = getattr(result, "figure", None)
    if fig is None and hasattr(result, "savefig"):
        fig = result
    if fig is None and isinstance(result, Sequence | _ndarray_type()) and len(result):
        first = result[0] if not hasattr(result, "flat") else result.flat[0]
        fig = getattr(first, "figure", None)
    if fig is None or not hasattr(fig, "savefig"):
        raise TypeError("the draw function must return a matplotlib Figure or Axes, "
                        f"got {result!r}")
    return fig


def _ndarray_type():
    import numpy as np

    return np.ndarray


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight")
    return buf.getvalue()


class InteractivePlot:
    """A figure drawn by ``draw(**values)``, with the values it was drawn with.

    Made by :func:`interactive_plot`. ``values`` holds the current values,
    ``figure`` the last figure drawn, ``controls`` the ipywidgets by name
    (empty when the figure is static). ``update(**values)`` redraws; ``show()``
    displays the figure (and controls) again in a notebook.
    """

    def __init__(self, draw: Callable, controls: dict[str, Control], fixed: dict,
                 use_widgets: bool):
        self._draw = draw
        self._specs = controls
        self._fixed = fixed
        self.values = {**{k: c.value for k, c in controls.items()}, **fixed}
        self.figure = None
        self.controls: dict = {}
        self._handle = None
        self._shown_at = None
        self._syncing = False
        self.redraw()
        if use_widgets:
            self._make_controls()

    # drawing -----------------------------------------------------------------------
    def redraw(self):
        """Draw the figure again with the current values (and refresh its display)."""
        fig = _figure_of(self._draw(**self.values))
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close(fig)  # shown as an image below: keep pyplot from showing it again
        self.figure = fig
        if self._handle is not None:
            from IPython.display import Image

            self._handle.update(Image(data=_png(fig), format="png"))
        return self

    def update(self, **values) -> InteractivePlot:
        """Set some values (checked like the controls would) and redraw.

        >>> import matplotlib.pyplot as plt
        >>> plot = interactive_plot(lambda n: plt.subplots()[1], n=int_slider(1, 1, 3),
        ...                         widgets=False)
        >>> plot.update(m=2)
        Traceback (most recent call last):
        ...
        ValueError: unknown value 'm': this plot has n
        """
        for name, value in values.items():
            if name in self._specs:
                values[name] = self._specs[name].check(value, name)
            elif name not in self._fixed:
                raise ValueError(f"unknown value {name!r}: this plot has "
                                 f"{', '.join(self.values)}")
        self.values.update(values)
        self._syncing = True
        try:
            for name, value in values.items():
                if name in self.controls:
                    self.controls[name].value = value
        finally:
            self._syncing = False
        return self.redraw()

    # widgets -----------------------------------------------------------------------
    def _make_controls(self) -> None:
        import ipywidgets as W

        style = {"description_width": "initial"}
        for name, spec in self._specs.items():
            label = spec.label or name
            if spec.kind == "int":
                w = W.IntSlider(value=spec.value, min=spec.min, max=spec.max, step=spec.step,
                                description=label, continuous_update=False, style=style)
            elif spec.kind == "float":
                digits = max(0, -int(f"{spec.step:e}".split("e")[1]))
                w = W.FloatSlider(value=spec.value, min=spec.min, max=spec.max, step=spec.step,
                                  description=label, continuous_update=False,
                                  readout_format=f".{digits}f", style=style)
            elif spec.kind == "choice":
                w = W.Dropdown(value=spec.value, options=list(spec.options),
                               description=label, style=style)
            else:
                w = W.Checkbox(value=spec.value, description=label, style=style)
            w.observe(self._on_change, names="value")
            self.controls[name] = w

    def _on_change(self, change) -> None:
        if self._syncing:
            return
        for name, w in self.controls.items():
            self.values[name] = w.value
        try:
            self.redraw()
        except Exception as exc:  # noqa: BLE001 - shown to the reader instead of a log
            if self._handle is not None:
                self._handle.update({"text/plain": f"could not draw: {type(exc).__name__}: "
                                                   f"{exc}"}, raw=True)

    # display -----------------------------------------------------------------------
    def show(self) -> None:
        """Display the controls (if any) and the figure in the notebook."""
        shell = _kernel_shell() or _any_shell()
        if shell is None:
            return
        from IPython.display import Image, display

        if self.controls:
            import ipywidgets as W

            box = W.VBox(list(self.controls.values()))
            bundle = dict(box._repr_mimebundle_())
            bundle["text/plain"] = (f"[controls: {', '.join(self.controls)}; they need Jupyter "
                                    "with ipywidgets. Static figure drawn with "
                                    f"{_fmt(self.values)}]")
            display(bundle, raw=True)
        self._handle = display(Image(data=_png(self.figure), format="png"), display_id=True)
        self._shown_at = getattr(shell, "execution_count", None)

    def _ipython_display_(self) -> None:
        shell = _any_shell()
        if self._shown_at is not None and shell is not None \
                and getattr(shell, "execution_count", None) == self._shown_at:
            return  # already shown by this cell: the echo of the cell's value adds nothing
        self.show()

    def __repr__(self) -> str:
        mode = "interactive" if self.controls else "static"
        return f"InteractivePlot({mode}; {_fmt(self.values)})"


def _any_shell():
    ipython = sys.modules.get("IPython")
    return None if ipython is None else ipython.get_ipython()


def _fmt(values: dict) -> str:
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v:g}"
                     if _is_real(v) else f"{k}={v!r}" for k, v in values.items())


def interactive_plot(draw: Callable, *, widgets: bool | None = None,
                     **controls) -> InteractivePlot:
    """Draw ``draw(**values)`` with the controls' defaults, show it, and add live controls.

    Parameters
    ----------
    draw : callable
        ``draw(**values)`` makes a new figure and returns it (a matplotlib
        ``Figure``, an ``Axes`` or an array of ``Axes``).
    widgets : bool, optional
        ``None`` (default): controls where :func:`widgets_available`; ``False``:
        a static figure only; ``True``: make the controls even outside a kernel
        (for tests).
    controls
        One per argument of ``draw``: a :class:`Control` (made with
        :func:`int_slider`, :func:`float_slider`, :func:`dropdown`,
        :func:`checkbox`) or a plain value, passed as it is and not shown.

    In a notebook the figure appears at once (as an image that the controls
    update in place); elsewhere nothing is displayed, and ``.figure`` holds it.

    >>> import matplotlib.pyplot as plt
    >>> plot = interactive_plot(lambda k: plt.subplots()[0], k=float_slider(0.5, 0, 1, 0.1))
    >>> plot
    InteractivePlot(static; k=0.5)
    """
    if not callable(draw):
        raise TypeError(f"draw must be callable, got {draw!r}")
    specs = {k: v for k, v in controls.items() if isinstance(v, Control)}
    fixed = {k: v for k, v in controls.items() if not isinstance(v, Control)}
    if widgets is None:
        widgets = widgets_available() and bool(specs)
    plot = InteractivePlot(draw, specs, fixed, use_widgets=bool(widgets))
    if _any_shell() is not None:
        plot.show()
    return plot

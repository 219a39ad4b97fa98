"""pandas and Modin side by side: Modin started the course's way, and a fair race.

:func:`modin_pandas` returns the ``modin.pandas`` module, ready to use as a
drop-in for pandas (``pd = cl.dataframes.modin_pandas()``). It starts Ray
through :mod:`course_lib.ray_session` first, so Modin runs on the notebook's
own Ray (local, sized and capped, or the cluster at ``RAY_ADDRESS``) instead
of starting a Ray of its own, and it configures Modin:

* ``modin.config.Engine`` = ``"Ray"`` and the progress bar off;
* Modin's :class:`UserWarning` s that only say an operation *defaulted to
  pandas* (ran as plain pandas on one worker) or that a pandas object is being
  *distributed*, are ignored: one filter per message (:data:`MODIN_NOISE`),
  limited to warnings raised from inside Modin's own modules. Every other
  warning still shows. :func:`modin_pandas` with ``quiet=False`` leaves them on;
* Modin 0.37 imports ``ray.data`` when it sets up its Ray engine, and
  ``ray.data`` needs ``pyarrow``, which the course does not install: while
  Modin sets up, a placeholder stands in for ``ray.data`` (it only serves
  Modin's conversions to Ray Datasets, which the course does not use). With
  ``pyarrow`` installed, nothing is replaced.

:func:`compare` times operations on pandas and on Modin at several sizes,
with repeats, and returns a :class:`Comparison` to tabulate and plot. It
waits for Modin's asynchronous work to finish inside the timed region, so
Modin is not credited for work it has not done yet.

:func:`to_pandas` turns a pandas or Modin object into a pandas one, and
:func:`partitions` shows how Modin cut a frame into blocks. :func:`refuse_conversion` is a
test's probe that code lets Modin do the work: while it is active, turning a large Modin
frame into pandas or numpy in this process fails.

``pandas``, ``modin`` and ``ray`` are imported inside the functions, so
``import course_lib`` stays cheap.

>>> c = compare({"sum": (lambda lib, n: list(range(n)), lambda lib, data: sum(data))},
...             sizes=[10, 1000], libraries={"python": None}, repeat=2)
>>> c.operations, c.libraries, c.sizes("sum")
(('sum',), ('python',), (10, 1000))
>>> c.median("sum", "python", 1000) > 0
True
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from . import plots, ray_session
from .metrics import Measurement, format_time, measure

__all__ = [
    "MODIN_NOISE",
    "Comparison",
    "compare",
    "is_modin",
    "modin_pandas",
    "partitions",
    "refuse_conversion",
    "silence_modin_noise",
    "to_pandas",
]

# Messages of Modin's UserWarnings that say nothing about the result's values,
# as regular expressions matched at the start of the message (case-insensitive).
MODIN_NOISE = (
    # "`DataFrame.xyz` is not currently supported by PandasOnRay, defaulting to
    # pandas implementation." -- correct result, computed by pandas on one worker.
    r"(?s).*defaulting to pandas implementation",
    r"Defaulting to pandas implementation",
    # modin.pandas.DataFrame(a_pandas_frame): "Distributing <class ...> object.
    # This may take some time." -- a note about the cost of the conversion.
    r"Distributing <class",
)
_MODIN_MODULES = r"modin(\..*)?$"


def silence_modin_noise() -> None:
    """Ignore Modin's "defaulting to pandas" and "distributing" UserWarnings (:data:`MODIN_NOISE`).

    Adds one entry per message to Python's warning filters, each limited to
    :class:`UserWarning` raised from a ``modin`` module; calling it again adds
    nothing. Undo with ``warnings.resetwarnings()`` or by removing the entries
    from ``warnings.filters``.

    >>> import warnings
    >>> silence_modin_noise(); n = len(warnings.filters); silence_modin_noise()
    >>> len(warnings.filters) == n
    True
    """
    for message in MODIN_NOISE:
        warnings.filterwarnings("ignore", message=message, category=UserWarning,
                                module=_MODIN_MODULES)


@contextlib.contextmanager
def _ray_data_placeholder():
    """Let Modin's Ray I/O module import when ``ray.data`` cannot be (no pyarrow).

    Modin 0.37 imports ``ray.data.from_pandas_refs`` when it sets up its Ray
    engine, only to convert to and from Ray Datasets (``modin.pandas.io.to_ray``),
    which the course does not use; ``ray.data`` needs ``pyarrow``, which the
    course does not install. While Modin's module is imported, a placeholder
    ``ray.data`` stands in; it is removed right after, so any later
    ``import ray.data`` fails as usual, and ``to_ray`` says why.
    """
    if importlib.util.find_spec("pyarrow") is not None or "ray.data" in sys.modules:
        yield
        return
    placeholder = types.ModuleType("ray.data")

    def from_pandas_refs(*args, **kwargs):
        raise ModuleNotFoundError("converting Modin frames to Ray Datasets needs pyarrow, "
                                  "which the course does not install")

    placeholder.from_pandas_refs = from_pandas_refs
    sys.modules["ray.data"] = placeholder
    try:
        yield
    finally:
        if sys.modules.get("ray.data") is placeholder:
            del sys.modules["ray.data"]


def modin_pandas(num_cpus: int | None = None,
                 object_store_mb: int = ray_session.DEFAULT_OBJECT_STORE_MB,
                 quiet: bool = True) -> types.ModuleType:
    """Start Ray the course's way, configure Modin on it, and return ``modin.pandas``.

    Parameters are those of :func:`course_lib.ray_session.start` (ignored when
    Ray is already running or ``RAY_ADDRESS`` names a cluster). Modin uses as
    many partitions along each axis as the cluster has CPUs
    (``modin.config.NPartitions``), unless it was set before.

    With ``quiet`` (default), Modin's progress bar is off and its
    "defaulting to pandas" / "distributing" warnings are ignored
    (:func:`silence_modin_noise`). Idempotent: later calls return the same module.
    """
    ray_session.start(num_cpus=num_cpus, object_store_mb=object_store_mb, quiet=quiet)
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        import modin.config as modin_config

        modin_config.Engine.put("Ray")
        modin_config.ProgressBar.put(False)
        with _ray_data_placeholder():
            # Modin sets up its Ray engine (and imports its Ray I/O module) on first use.
            from modin.core.execution.dispatching.factories.dispatcher import FactoryDispatcher

            FactoryDispatcher.get_factory()
        import modin.pandas as mpd
    if quiet:
        silence_modin_noise()
    return mpd


def is_modin(obj) -> bool:
    """True for a Modin DataFrame or Series (without importing Modin if it is not loaded).

    >>> is_modin([1, 2])
    False
    """
    if "modin.pandas" not in sys.modules:
        return False
    from modin.pandas.base import BasePandasDataset

    return isinstance(obj, BasePandasDataset)


def to_pandas(obj):
    """A pandas DataFrame or Series for a Modin one; anything else is returned as it is.

    >>> import pandas as pd
    >>> s = pd.Series([1.0, 2.0])
    >>> to_pandas(s) is s
    True
    """
    if is_modin(obj):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return obj.modin.to_pandas()  # Modin's public spelling of obj._to_pandas()
    return obj


def partitions(df) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """How Modin cut ``df`` into blocks: (rows of each row block, columns of each column block).

    ``((168388, 168388), (19,))`` is a grid of 2 x 1 blocks: two row partitions
    of 168,388 rows, each holding all 19 columns. Reads Modin's internal frame
    (``_query_compiler._modin_frame``), which may change between Modin versions.
    """
    if not is_modin(df):
        raise TypeError(f"df must be a Modin DataFrame or Series, got {type(df).__name__}")
    frame = df._query_compiler._modin_frame
    return tuple(int(n) for n in frame.row_lengths), tuple(int(n) for n in frame.column_widths)


@contextlib.contextmanager
def refuse_conversion(max_rows: int, what: str = "the code"):
    """While active, converting a Modin frame or series of more than ``max_rows`` rows into
    pandas or numpy in this process raises :class:`AssertionError`: a test's probe that
    ``what`` let Modin do the work and converted only a small result.

    It wraps Modin's two ways out of its partitions, ``PandasDataframe.to_pandas`` (behind
    ``_to_pandas()``, ``.modin.to_pandas()``, :func:`to_pandas`, ``to_json``, every method that
    defaults to pandas) and ``PandasDataframe.to_numpy`` (``to_numpy()``, ``.values``,
    ``np.asarray``), and restores them on exit. Yields the list of the row counts converted,
    for the test to inspect::

        with cl.dataframes.refuse_conversion(1000, "delay_by_carrier") as converted:
            result = delay_by_carrier(modin_frame)   # may convert its small result only

    Raises ``ModuleNotFoundError`` when Modin is not installed.
    """
    from modin.core.dataframe.pandas.dataframe.dataframe import PandasDataframe

    originals = {name: PandasDataframe.__dict__[name] for name in ("to_pandas", "to_numpy")}
    converted: list[int] = []

    def guarded(name, original):
        def method(self, *args, **kwargs):
            rows = int(sum(self.row_lengths))
            if rows > max_rows:
                raise AssertionError(
                    f"{what} converted a Modin frame of {rows:,} rows to "
                    f"{'pandas' if name == 'to_pandas' else 'numpy'} ({name}): let Modin do "
                    f"the work with the frame's own methods and convert only the small result")
            converted.append(rows)
            return original(self, *args, **kwargs)
        method.__name__ = method.__qualname__ = name
        method.__doc__ = original.__doc__
        return method

    for name, original in originals.items():
        setattr(PandasDataframe, name, guarded(name, original))
    try:
        yield converted
    finally:
        for name, original in originals.items():
            setattr(PandasDataframe, name, original)


def _wait(result) -> None:
    """Block until Modin's asynchronous work behind ``result`` (if any) is done."""
    if is_modin(result):
        from modin.utils import execute

        execute(result)


@dataclass(frozen=True)
class Comparison:
    """Times of operations × libraries × sizes, from :func:`compare`.

    ``results`` maps ``(operation, library, size)`` to a :class:`Measurement`
    (seconds per call, one entry per repeat).
    """

    results: Mapping[tuple[str, str, int], Measurement]

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(op for op, _, _ in self.results))

    @property
    def libraries(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(lib for _, lib, _ in self.results))

    def sizes(self, operation: str) -> tuple[int, ...]:
        """The sizes measured for ``operation``, in increasing order."""
        self._check(operation)
        return tuple(sorted({n for op, _, n in self.results if op == operation}))

    def _check(self, operation: str, library: str | None = None) -> None:
        if operation not in self.operations:
            raise ValueError(f"operation must be one of {self.operations}, got {operation!r}")
        if library is not None and library not in self.libraries:
            raise ValueError(f"library must be one of {self.libraries}, got {library!r}")

    def measurement(self, operation: str, library: str, size: int) -> Measurement:
        self._check(operation, library)
        try:
            return self.results[(operation, library, size)]
        except KeyError:
            raise ValueError(f"{operation!r} was not measured at size {size!r} on {library!r}; "
                             f"sizes: {self.sizes(operation)}") from None

    def median(self, operation: str, library: str, size: int) -> float:
        """Median seconds of one call."""
        return self.measurement(operation, library, size).median

    def medians(self, operation: str, library: str):
        """Median seconds at each of :meth:`sizes`, as a numpy array."""
        import numpy as np

        return np.array([self.median(operation, library, n) for n in self.sizes(operation)])

    def table(self, baseline: str | None = None):
        """A pandas DataFrame: one row per (operation, size), median seconds per library,
        and ``<library> / <baseline>`` time ratios (above 1: slower than the baseline)."""
        import pandas as pd

        libs = self.libraries
        baseline = libs[0] if baseline is None else baseline
        self._check(self.operations[0], baseline)
        rows = []
        for op in self.operations:
            for n in self.sizes(op):
                row = {"operation": op, "rows": n}
                for lib in libs:
                    m = self.results.get((op, lib, n))
                    row[f"{lib} (s)"] = m.median if m else float("nan")
                for lib in libs:
                    if lib != baseline:
                        row[f"{lib} / {baseline}"] = row[f"{lib} (s)"] / row[f"{baseline} (s)"]
                rows.append(row)
        return pd.DataFrame(rows).set_index(["operation", "rows"])

    def plot(self, operation: str, ax=None, xlabel: str = "rows"):
        """Median time against size on log-log axes, one line per library, the spread as bars.

        The x ticks are the sizes measured; the y ticks are times with their units.
        """
        import numpy as np
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

        self._check(operation)
        ax = plots.new_axes(ax)
        sizes = np.array(self.sizes(operation), dtype=float)
        with plots.style():
            for i, lib in enumerate(self.libraries):
                ms = [self.measurement(operation, lib, int(n)) for n in sizes]
                med = np.array([m.median for m in ms])
                err = np.array([[m.median - m.min for m in ms], [m.max - m.median for m in ms]])
                ax.errorbar(sizes, med, yerr=err, marker="o", capsize=3, label=lib,
                            color=plots.COLORS[i % len(plots.COLORS)])
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(sizes, [_short_count(n) for n in sizes], rotation=30, ha="right")
            ax.xaxis.set_minor_locator(NullLocator())
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_time(v)))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel(xlabel)
            ax.set_ylabel("time per call")
            ax.set_title(operation)
            ax.legend()
        return ax

    def __repr__(self) -> str:
        lines = [f"Comparison of {', '.join(self.libraries)} (median of repeats):"]
        for op in self.operations:
            for n in self.sizes(op):
                times = "  ".join(
                    f"{lib} {format_time(self.results[(op, lib, n)].median):>8}"
                    for lib in self.libraries if (op, lib, n) in self.results)
                lines.append(f"  {op:<12} {n:>10,} rows  {times}")
        return "\n".join(lines)


def _short_count(n: float) -> str:
    """A count in three significant digits: 312, 1.25k, 337k, 1.35M.

    >>> [_short_count(n) for n in (312, 1250, 20_000, 336_776, 1_347_104)]
    ['312', '1.25k', '20k', '337k', '1.35M']
    """
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.3g}"


Setup = Callable[[object, int], object]
Run = Callable[[object, object], object]


def _per_operation(value, operations, name: str) -> dict:
    """``value`` for every operation, or a mapping operation -> value, as a dict."""
    if isinstance(value, Mapping):
        missing = sorted(set(operations) - set(value))
        if missing:
            raise ValueError(f"{name} has no entry for {missing}")
        return {op: value[op] for op in operations}
    return {op: value for op in operations}


def compare(operations: Mapping[str, tuple[Setup, Run]],
            sizes: Sequence[int] | Mapping[str, Sequence[int]],
            libraries: Mapping[str, object], repeat: int | Mapping[str, int] = 3,
            warmup: int = 1) -> Comparison:
    """Time each operation with each library at each size: the race between pandas and Modin.

    Parameters
    ----------
    operations : mapping name -> (setup, run)
        ``setup(lib, n)`` prepares the input for size ``n`` with library ``lib``
        (untimed: e.g. a frame of ``n`` rows, or the path of a CSV file);
        ``run(lib, data)`` is the operation that is timed.
    sizes : sequence of int, or mapping name -> sequence of int
        Sizes for every operation, or per operation (measured in the order given).
    libraries : mapping name -> module
        E.g. ``{"pandas": pandas, "Modin": cl.dataframes.modin_pandas()}``;
        the module is what ``setup`` and ``run`` receive as ``lib``.
    repeat : int, or mapping name -> int
        Timed repeats of each case (one call each).
    warmup : int
        Untimed calls of each operation and library before its *first* size only:
        they pay the one-time costs (imports, starting workers, shipping the
        function to them), which do not depend on the size.

    Every timed call includes waiting for Modin's asynchronous work to finish.
    The input of a case is dropped before the next one is made, so the memory
    in use stays that of one case at a time.
    """
    if not operations:
        raise ValueError("operations must name at least one (setup, run) pair, got none")
    if not libraries:
        raise ValueError("libraries must name at least one library, got none")
    for name, pair in operations.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(map(callable, pair))):
            raise ValueError(f"operations[{name!r}] must be a (setup, run) pair of functions, "
                             f"got {pair!r}")
    per_op = _per_operation(sizes, operations, "sizes")
    repeats = _per_operation(repeat, operations, "repeat")
    for op, ns in per_op.items():
        ns = list(ns) if isinstance(ns, Sequence) and not isinstance(ns, str) else ns
        if not isinstance(ns, list) or not ns or any(
                isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in ns):
            raise ValueError(f"sizes for {op!r} must be a non-empty list of ints >= 1, "
                             f"got {per_op[op]!r}")
        per_op[op] = ns
        r = repeats[op]
        if isinstance(r, bool) or not isinstance(r, int) or r < 1:
            raise ValueError(f"repeat for {op!r} must be an int >= 1, got {r!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}")

    results: dict[tuple[str, str, int], Measurement] = {}
    for op, (setup, run) in operations.items():
        for i, n in enumerate(per_op[op]):
            for lib_name, lib in libraries.items():
                data = setup(lib, n)
                _wait(data)

                def call(data=data, run=run, lib=lib):
                    _wait(run(lib, data))

                results[(op, lib_name, n)] = measure(
                    call, repeat=repeats[op], warmup=warmup if i == 0 else 0, number=1,
                    name=f"{op} {lib_name} {n}")
                del data, call
    return Comparison(results)

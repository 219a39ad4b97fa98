"""pandas and Modin side by side: the race runner without Ray, and Modin on the course's Ray
(in a fresh interpreter, as a notebook runs it, stopped at the end)."""

import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from course_lib import dataframes
from course_lib.metrics import Measurement


def _sleepy(lib, n):
    """setup: the input is the number of rows; run: sleep 1 µs per row."""
    return n


def _race(**kwargs):
    ops = {"sleep": (_sleepy, lambda lib, n: time.sleep(n * 1e-6)),
           "sum": (lambda lib, n: list(range(n)), lambda lib, xs: sum(xs))}
    args = {"sizes": [100, 2000], "libraries": {"a": None, "b": None}, "repeat": 2}
    args.update(kwargs)
    return dataframes.compare(ops, **args)


def test_compare_times_every_operation_library_and_size():
    race = _race()
    assert race.operations == ("sleep", "sum")
    assert race.libraries == ("a", "b")
    assert race.sizes("sleep") == (100, 2000)
    m = race.measurement("sleep", "b", 2000)
    assert isinstance(m, Measurement) and m.repeat == 2
    assert race.median("sleep", "a", 2000) >= 2e-3
    assert race.medians("sleep", "a").shape == (2,)
    table = race.table()
    assert list(table.columns) == ["a (s)", "b (s)", "b / a"]
    assert table.index.names == ["operation", "rows"]
    assert len(table) == 4
    assert "sleep" in repr(race) and "2,000 rows" in repr(race)


def test_compare_sizes_and_repeats_per_operation():
    race = _race(sizes={"sleep": [10], "sum": [5, 50, 500]}, repeat={"sleep": 1, "sum": 3})
    assert race.sizes("sleep") == (10,) and race.sizes("sum") == (5, 50, 500)
    assert race.measurement("sleep", "a", 10).repeat == 1
    assert race.measurement("sum", "b", 500).repeat == 3


def test_compare_warms_up_only_before_the_first_size():
    calls = []
    ops = {"op": (lambda lib, n: n, lambda lib, n: calls.append(n))}
    dataframes.compare(ops, [1, 2, 3], {"x": None}, repeat=2, warmup=1)
    assert calls == [1, 1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"operations": {}}, "operations must name at least one"),
    ({"operations": {"op": lambda lib, n: n}}, r"operations\['op'\] must be a \(setup, run\)"),
    ({"libraries": {}}, "libraries must name at least one"),
    ({"sizes": []}, "sizes for 'op' must be a non-empty list"),
    ({"sizes": [10, 0]}, "sizes for 'op' must be a non-empty list of ints >= 1"),
    ({"sizes": {"other": [1]}}, r"sizes has no entry for \['op'\]"),
    ({"repeat": 0}, "repeat for 'op' must be an int >= 1"),
    ({"warmup": -1}, "warmup must be an int >= 0"),
])
def test_compare_rejects_bad_arguments(kwargs, message):
    args = {"operations": {"op": (lambda lib, n: n, lambda lib, n: n)}, "sizes": [1],
            "libraries": {"x": None}}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        dataframes.compare(**args)


def test_comparison_says_what_was_not_measured():
    race = _race()
    with pytest.raises(ValueError, match="operation must be one of"):
        race.sizes("read_csv")
    with pytest.raises(ValueError, match="library must be one of"):
        race.median("sum", "c", 100)
    with pytest.raises(ValueError, match="was not measured at size 7"):
        race.median("sum", "a", 7)


def test_comparison_plot_draws_one_line_per_library():
    ax = _race().plot("sum")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert ax.get_xscale() == "log" and ax.get_title() == "sum"


def test_pandas_objects_pass_through_without_modin():
    s = pd.Series([1.0, 2.0])
    assert dataframes.to_pandas(s) is s
    assert not dataframes.is_modin(s) and not dataframes.is_modin([1])
    with pytest.raises(TypeError, match="df must be a Modin DataFrame or Series, got Series"):
        dataframes.partitions(s)


def test_the_warning_filter_is_narrow():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        dataframes.silence_modin_noise()
        for module in ("modin.error_message", "modin.pandas.dataframe"):
            warnings.warn_explicit("`DataFrame.nunique` is not currently supported by "
                                   "PandasOnRay, defaulting to pandas implementation.\nPlease "
                                   "refer to ...", UserWarning, "x.py", 1, module=module)
            warnings.warn_explicit("Distributing <class 'pandas.core.frame.DataFrame'> object. "
                                   "This may take some time.", UserWarning, "x.py", 1,
                                   module=module)
        assert seen == []
        # the same message from outside Modin, another category, another Modin message: shown
        warnings.warn_explicit("defaulting to pandas implementation.", UserWarning, "x.py", 1,
                               module="mypackage")
        warnings.warn_explicit("Distributing <class ...> object.", FutureWarning, "x.py", 1,
                               module="modin.pandas.dataframe")
        warnings.warn_explicit("Data types of partitions are different!", UserWarning, "x.py",
                               1, module="modin.core.io.text")
        assert len(seen) == 3


MODIN_IN_A_NOTEBOOK = textwrap.dedent("""
    import sys, warnings
    import pandas
    import course_lib as cl

    mpd = cl.dataframes.modin_pandas(num_cpus=2, object_store_mb=100)
    assert cl.ray_session.is_running()
    assert "ray.data" not in sys.modules  # the placeholder is gone again
    import modin.config as modin_config
    assert modin_config.Engine.get() == "Ray" and modin_config.ProgressBar.get() is False
    assert cl.dataframes.modin_pandas() is mpd  # idempotent

    df = pandas.DataFrame({"k": list("abcabcab"), "x": [1.0, 2, 3, 4, None, 6, 7, 8]})
    mdf = mpd.DataFrame(df)
    assert cl.dataframes.is_modin(mdf) and not cl.dataframes.is_modin(df)
    rows, cols = cl.dataframes.partitions(mdf)
    assert sum(rows) == 8 and sum(cols) == 2, (rows, cols)
    got = cl.dataframes.to_pandas(mdf.groupby("k")["x"].mean())
    assert type(got) is pandas.Series
    pandas.testing.assert_series_equal(got, df.groupby("k")["x"].mean())
    mdf.groupby("k")["x"].nunique()  # defaults to pandas: its warning is silenced
    with cl.dataframes.refuse_conversion(3, "the probe") as converted:
        small = cl.dataframes.to_pandas(mdf.groupby("k")["x"].sum())  # 3 rows: allowed
        for convert in (lambda: mdf._to_pandas(), lambda: mdf.modin.to_pandas(),
                        lambda: cl.dataframes.to_pandas(mdf[["x"]]), lambda: mdf.to_numpy(),
                        lambda: mdf["x"].values):
            try:
                convert()
            except AssertionError as error:
                assert "the probe converted a Modin frame of 8 rows" in str(error), error
            else:
                raise AssertionError("a conversion of 8 rows was not refused")
    assert converted == [3] and small.tolist() == [12.0, 10.0, 9.0], (converted, small)
    assert len(mdf._to_pandas()) == 8 and mdf.to_numpy().shape == (8, 2)  # restored

    race = cl.dataframes.compare(
        {"sum": (lambda lib, n: df if lib is pandas else lib.DataFrame(df),
                 lambda lib, frame: frame["x"].sum())},
        [8], {"pandas": pandas, "Modin": mpd}, repeat=1)
    assert race.median("sum", "Modin", 8) > 0
    with warnings.catch_warnings(record=True) as seen:  # other warnings still show
        warnings.simplefilter("always")
        warnings.warn("a user's own warning", UserWarning)
    assert len(seen) == 1
    cl.ray_session.stop()
    assert not cl.ray_session.is_running()
    print("OK", rows, cols)
""")


@pytest.mark.ray
def test_modin_runs_on_the_courses_ray_quietly_and_stops():
    proc = subprocess.run([sys.executable, "-c", MODIN_IN_A_NOTEBOOK], capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK"), proc.stdout
    assert proc.stderr.strip() == "", f"Ray or Modin wrote to stderr:\n{proc.stderr}"


def test_medians_are_numpy_floats():
    assert _race().medians("sum", "b").dtype == np.float64

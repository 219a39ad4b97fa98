import time

import numpy as np
import pytest

from course_lib import metrics
from course_lib.metrics import Measurement, Timer, measure, peak_allocation, time_calls


def test_measure_counts_calls_warmup_and_repeats():
    calls = []
    m = measure(calls.append, 1, repeat=4, warmup=2, number=3)
    assert len(calls) == 2 + 4 * 3
    assert (m.repeat, m.number) == (4, 3)


def test_measure_auto_number_makes_repeats_long_enough():
    m = measure(lambda: None, repeat=3, min_repeat_time=0.005)
    assert m.number > 100  # a no-op takes < 1 µs: many calls go into one repeat


def test_measure_reports_seconds_per_call():
    m = measure(time.sleep, 0.01, repeat=3, number=2, warmup=0)
    assert 0.009 <= m.median < 0.1
    assert m.min <= m.median <= m.max


def test_measure_rejects_bad_arguments():
    with pytest.raises(ValueError, match="repeat"):
        measure(print, repeat=0)
    with pytest.raises(ValueError, match="number"):
        measure(print, number=0)
    with pytest.raises(TypeError, match="callable"):
        measure(42)


def test_measurement_statistics_and_repr():
    m = Measurement("op", (4.0, 1.0, 2.0, 3.0), number=5)
    assert m.median == 2.5
    assert m.mean == 2.5
    assert m.spread == pytest.approx(3.0 / 2.5)
    assert m.per_item(10) == 0.25
    assert m.throughput(10) == 4.0
    assert "op: median 2.5 s" in repr(m)
    with pytest.raises(ValueError, match="n_items"):
        m.per_item(0)
    with pytest.raises(ValueError):
        Measurement("empty", ())


@pytest.mark.parametrize("seconds, text", [
    (1.0, "1 s"), (0.25, "250 ms"), (3e-6, "3 µs"), (1.5e-9, "1.5 ns"), (0, "0 s"),
])
def test_format_time(seconds, text):
    assert metrics.format_time(seconds) == text


def test_format_bytes():
    assert metrics.format_bytes(0) == "0 B"
    assert metrics.format_bytes(3 * 2**30) == "3 GiB"


def test_time_calls_gives_one_sample_per_call():
    samples = time_calls(time.sleep, 0.001, n=5, warmup=0)
    assert len(samples) == 5
    assert min(samples) >= 0.0009
    with pytest.raises(ValueError):
        time_calls(print, n=0)


def test_peak_allocation_sees_temporaries_not_in_place_updates():
    x = np.ones(500_000)
    y = np.ones(500_000)
    assert peak_allocation(lambda: 2.0 * x + y) >= x.nbytes
    assert peak_allocation(lambda: np.add(y, x, out=y)) < 10_000


def test_peak_allocation_leaves_tracemalloc_as_it_was():
    import tracemalloc

    assert not tracemalloc.is_tracing()
    peak_allocation(list, range(10))
    assert not tracemalloc.is_tracing()


def test_timer():
    with Timer("nap") as t:
        time.sleep(0.01)
    assert t.elapsed >= 0.009
    assert repr(t).startswith("Timer(nap: ")
    assert "running" in repr(Timer())

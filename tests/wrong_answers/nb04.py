"""Wrong answers to notebook 04's exercises (data parallelism with Modin).

Its test cells use Ray, Modin and the flights frames, so the harness judges them in a fresh
interpreter with a Ray session of its own (``NEEDS_RAY``), after running the notebook's own
cells that start Modin and load the data (``SESSION_CELLS``, by cell id).

Not wrong, so not here: the extra rows of ``partition_bounds`` in the last ranges rather than
the first (the exercise allows either), and ``break_even_rows`` as floor(o / (t (1 - 1/P))) + 1
without the master's guard against rounding (exact, and right on every test's dyadic inputs)."""
# ruff: noqa: B905 - wrong answers are written the way students write them

from __future__ import annotations

import math

import pandas as pd
import ray

import course_lib as cl
from tests.wrong_answers import wrong

NOTEBOOK = "04_data_parallelism_modin"
NEEDS_RAY = True
SESSION_CELLS = ("m04-005", "m04-009", "m04-019")  # mpd and P; flights; mflights


# --- partition_bounds --------------------------------------------------------------------------

def _bounds(n, k):
    """The right ranges, unchecked (k < 1 gives none)."""
    size, extra = divmod(n, k) if k else (0, 0)
    out, start = [], 0
    for i in range(k):
        stop = start + size + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def _checked(n_rows, k):
    if k < 1:
        raise ValueError(k)
    if n_rows < 0:
        raise ValueError(n_rows)


@wrong("partition_bounds", "n // k rows each, the remainder all in the last range")
def pb_remainder_last(n_rows, k):
    _checked(n_rows, k)
    size = n_rows // k
    return [(i * size, (i + 1) * size if i < k - 1 else n_rows) for i in range(k)]


@wrong("partition_bounds", "ceil(n / k) rows each, the last range takes what is left")
def pb_ceil(n_rows, k):
    _checked(n_rows, k)
    size = math.ceil(n_rows / k)
    return [(min(i * size, n_rows), min((i + 1) * size, n_rows)) for i in range(k)]


@wrong("partition_bounds", "inclusive stops: (start, last row) instead of (start, stop)")
def pb_inclusive(n_rows, k):
    _checked(n_rows, k)
    return [(start, stop - 1) for start, stop in _bounds(n_rows, k)]


@wrong("partition_bounds", "leaves out the empty ranges when k > n_rows")
def pb_drops_empty(n_rows, k):
    _checked(n_rows, k)
    return [(a, b) for a, b in _bounds(n_rows, k) if b > a] or [(0, 0)]


@wrong("partition_bounds", "only k == 0 raises (k = -2 gives no ranges)")
def pb_only_zero(n_rows, k):
    if k == 0:
        raise ValueError(k)
    return _bounds(n_rows, k)


@wrong("partition_bounds", "no check of n_rows")
def pb_no_row_check(n_rows, k):
    if k < 1:
        raise ValueError(k)
    return _bounds(n_rows, k)


@wrong("partition_bounds", "a generator of ranges, not a list")
def pb_generator(n_rows, k):
    _checked(n_rows, k)
    yield from _bounds(n_rows, k)


# --- parallel_groupby_mean ---------------------------------------------------------------------

@ray.remote
def _sums_and_counts(part, key, value):
    grouped = part.groupby(key)[value]
    return pd.DataFrame({"sum": grouped.sum(), "count": grouped.count()})


@ray.remote
def _means(part, key, value):
    return part.groupby(key)[value].mean()


def _combine(partial):
    total = partial.groupby(level=0).sum().sort_index()
    return (total["sum"] / total["count"]).astype(float)


def _partial(df, key, value, k, task=_sums_and_counts):
    return ray.get([task.remote(df.iloc[a:b], key, value) for a, b in _bounds(len(df), k)])


@wrong("parallel_groupby_mean", "the mean of the partitions' means")
def pgm_mean_of_means(df, key, value, k):
    return pd.concat(_partial(df, key, value, k, _means), axis=1).mean(axis=1).sort_index()


@wrong("parallel_groupby_mean", "counts every row (size), NaN values too")
def pgm_size(df, key, value, k):
    @ray.remote
    def sums_and_sizes(part):
        grouped = part.groupby(key)[value]
        return pd.DataFrame({"sum": grouped.sum(), "count": grouped.size()})

    refs = [sums_and_sizes.remote(df.iloc[a:b]) for a, b in _bounds(len(df), k)]
    return _combine(pd.concat(ray.get(refs)))


@wrong("parallel_groupby_mean", "NaN values filled with 0 before summing and counting")
def pgm_fillna(df, key, value, k):
    filled = df.assign(**{value: df[value].fillna(0.0)})
    return _combine(pd.concat(_partial(filled, key, value, k)))


@wrong("parallel_groupby_mean", "keys in the order they come, not sorted")
def pgm_unsorted(df, key, value, k):
    partial = pd.concat(_partial(df, key, value, k))
    total = partial.groupby(level=0, sort=False).sum()
    return (total["sum"] / total["count"]).astype(float)


@wrong("parallel_groupby_mean", "drops the keys whose values are all NaN")
def pgm_dropna(df, key, value, k):
    return _combine(pd.concat(_partial(df, key, value, k))).dropna()


@wrong("parallel_groupby_mean", "partitions of n // k rows: the last n % k rows are lost")
def pgm_floor_partitions(df, key, value, k):
    size = len(df) // k
    refs = [_sums_and_counts.remote(df.iloc[i * size:(i + 1) * size], key, value)
            for i in range(k)]
    return _combine(pd.concat(ray.get(refs)))


@wrong("parallel_groupby_mean", "a DataFrame of sum and count, not the means")
def pgm_frame(df, key, value, k):
    return pd.concat(_partial(df, key, value, k)).groupby(level=0).sum()


@wrong("parallel_groupby_mean", "no Ray at all: df.groupby(key)[value].mean() in the notebook")
def pgm_no_ray(df, key, value, k):
    return df.groupby(key)[value].mean()


@wrong("parallel_groupby_mean", "groups the whole frame here, then sends the groups to tasks")
def pgm_group_first(df, key, value, k):
    @ray.remote
    def stats(values):
        return float(values.sum()), int(values.count())

    groups = dict(list(df.groupby(key)[value]))
    results = ray.get([stats.remote(v) for v in groups.values()])
    return pd.Series([s / c if c else math.nan for s, c in results], index=list(groups),
                     dtype=float).sort_index()


# --- delay_by_carrier --------------------------------------------------------------------------

@wrong("delay_by_carrier", "least delayed first")
def dbc_ascending(flights):
    return cl.dataframes.to_pandas(flights.groupby("carrier")["arr_delay"].mean()).sort_values()


@wrong("delay_by_carrier", "returns Modin's Series as it is")
def dbc_modin(flights):
    return flights.groupby("carrier")["arr_delay"].mean().sort_values(ascending=False)


@wrong("delay_by_carrier", "NaN delays counted as 0")
def dbc_fillna(flights):
    means = flights["arr_delay"].fillna(0).groupby(flights["carrier"]).mean()
    return cl.dataframes.to_pandas(means).sort_values(ascending=False)


@wrong("delay_by_carrier", "sorted by carrier code")
def dbc_by_code(flights):
    return cl.dataframes.to_pandas(flights.groupby("carrier")["arr_delay"].mean())


@wrong("delay_by_carrier", "median instead of mean")
def dbc_median(flights):
    medians = flights.groupby("carrier")["arr_delay"].median()
    return cl.dataframes.to_pandas(medians).sort_values(ascending=False)


@wrong("delay_by_carrier", "departure delay instead of arrival delay")
def dbc_departure(flights):
    means = flights.groupby("carrier")["dep_delay"].mean()
    return cl.dataframes.to_pandas(means).sort_values(ascending=False)


@wrong("delay_by_carrier", "only the ten most delayed carriers")
def dbc_top_ten(flights):
    means = cl.dataframes.to_pandas(flights.groupby("carrier")["arr_delay"].mean())
    return means.sort_values(ascending=False).head(10)


# --- break_even_rows ---------------------------------------------------------------------------

def _break_even(row_s, overhead_s, P):
    """The right answer for P > 1."""
    n = math.floor(overhead_s / (row_s * (1 - 1 / P))) + 1
    while not overhead_s + n * row_s / P < n * row_s:
        n += 1
    while n > 1 and overhead_s + (n - 1) * row_s / P < (n - 1) * row_s:
        n -= 1
    return int(n)


@wrong("break_even_rows", "<= instead of <: a tie counts as a win")
def ber_tie_wins(row_s, overhead_s, P):
    if P <= 1:
        return math.inf
    n = 1
    while not overhead_s + n * row_s / P <= n * row_s:
        n += 1
    return n


@wrong("break_even_rows", "ceil of the formula (the tie itself when it is an integer)")
def ber_ceil(row_s, overhead_s, P):
    if P <= 1:
        return math.inf
    return math.ceil(overhead_s / (row_s * (1 - 1 / P)))


@wrong("break_even_rows", "forgets the 1 - 1/P: overhead_s / row_s + 1")
def ber_no_p(row_s, overhead_s, P):
    if P <= 1:
        return math.inf
    return math.floor(overhead_s / row_s) + 1


@wrong("break_even_rows", "a float (// of floats), not an int")
def ber_float(row_s, overhead_s, P):
    if P <= 1:
        return math.inf
    return overhead_s // (row_s * (1 - 1 / P)) + 1


@wrong("break_even_rows", "only P == 1 is 'never' (P < 1 gives a negative count)")
def ber_only_one(row_s, overhead_s, P):
    if P == 1:
        return math.inf
    n = math.floor(overhead_s / (row_s * (1 - 1 / P))) + 1
    while n > 0 and overhead_s + (n - 1) * row_s / P < (n - 1) * row_s:
        n -= 1
    return int(n)


@wrong("break_even_rows", "rounds P down to an int (a fitted P = 1.7 becomes 1)")
def ber_int_p(row_s, overhead_s, P):
    P = int(P)
    return math.inf if P <= 1 else _break_even(row_s, overhead_s, P)


@wrong("break_even_rows", "returns None when P <= 1")
def ber_none(row_s, overhead_s, P):
    return None if P <= 1 else _break_even(row_s, overhead_s, P)


# --- issue 18: the method, the types and the spec, on random cases ----------------------------

@wrong("partition_bounds", "a list of [start, stop] lists")
def pb_lists(n_rows, k):
    _checked(n_rows, k)
    return [[a, b] for a, b in _bounds(n_rows, k)]


@wrong("partition_bounds", "a tuple of ranges, not a list")
def pb_tuple(n_rows, k):
    _checked(n_rows, k)
    return tuple(_bounds(n_rows, k))


@wrong("parallel_groupby_mean", "the whole frame sent to every task with its bounds")
def pgm_whole_frame(df, key, value, k):
    @ray.remote
    def part_sums(frame, start, stop):
        grouped = frame.iloc[start:stop].groupby(key)[value]
        return pd.DataFrame({"sum": grouped.sum(), "count": grouped.count()})

    refs = [part_sums.remote(df, a, b) for a, b in _bounds(len(df), k)]
    return _combine(pd.concat(ray.get(refs)))


@wrong("parallel_groupby_mean", "tasks hand their partitions back; the driver groups them")
def pgm_driver_sums(df, key, value, k):
    @ray.remote
    def rows(part):
        return part

    parts = ray.get([rows.remote(df.iloc[a:b]) for a, b in _bounds(len(df), k)])
    grouped = pd.concat(parts).groupby(key)[value]
    return (grouped.sum() / grouped.count()).astype(float).sort_index()


@wrong("parallel_groupby_mean", "the sums and counts made here, per partition; tasks add up")
def pgm_grouped_here(df, key, value, k):
    @ray.remote
    def add(*partials):
        return pd.concat(partials).groupby(level=0).sum()

    partials = []
    for a, b in _bounds(len(df), k):
        column = df[value].iloc[a:b]
        grouped = column.groupby(df[key].iloc[a:b])
        partials.append(pd.DataFrame({"sum": grouped.sum(), "count": grouped.count()}))
    total = ray.get(add.remote(*partials)).sort_index()
    return (total["sum"] / total["count"]).astype(float)


@wrong("parallel_groupby_mean", "rows with a missing key grouped as a key of their own")
def pgm_nan_key(df, key, value, k):
    @ray.remote
    def sums_and_counts(part):
        grouped = part.groupby(key, dropna=False)[value]
        return pd.DataFrame({"sum": grouped.sum(), "count": grouped.count()})

    refs = [sums_and_counts.remote(df.iloc[a:b]) for a, b in _bounds(len(df), k)]
    total = pd.concat(ray.get(refs)).groupby(level=0, dropna=False).sum().sort_index()
    return (total["sum"] / total["count"]).astype(float)


@wrong("delay_by_carrier", "converts a Modin frame to pandas first, then groups")
def dbc_to_pandas_first(flights):
    frame = cl.dataframes.to_pandas(flights)
    return frame.groupby("carrier")["arr_delay"].mean().sort_values(ascending=False)


@wrong("delay_by_carrier", "an unstable sort: carriers with equal means in any order")
def dbc_unstable(flights):
    means = cl.dataframes.to_pandas(flights.groupby("carrier")["arr_delay"].mean())
    return means.sort_values(ascending=False, kind="quicksort")


@wrong("delay_by_carrier", "carriers without any delay (NaN) first")
def dbc_nan_first(flights):
    means = cl.dataframes.to_pandas(flights.groupby("carrier")["arr_delay"].mean())
    return means.sort_values(ascending=False, kind="stable", na_position="first")


@wrong("delay_by_carrier", "carriers without any delay dropped")
def dbc_dropna(flights):
    means = cl.dataframes.to_pandas(flights.groupby("carrier")["arr_delay"].mean())
    return means.dropna().sort_values(ascending=False, kind="stable")


@wrong("delay_by_carrier", "flights with a missing carrier kept as a group of their own")
def dbc_nan_carrier(flights):
    means = cl.dataframes.to_pandas(flights.groupby("carrier", dropna=False)["arr_delay"].mean())
    return means.sort_values(ascending=False, kind="stable")


@wrong("break_even_rows", "round() instead of floor() of the formula, plus one")
def ber_round(row_s, overhead_s, P):
    if P <= 1:
        return math.inf
    return round(overhead_s / (row_s * (1 - 1 / P))) + 1


@wrong("break_even_rows", "returns 0 when there is no overhead")
def ber_zero_overhead(row_s, overhead_s, P):
    if P <= 1:
        return math.inf
    return 0 if overhead_s == 0 else _break_even(row_s, overhead_s, P)

"""Helpers for the notebooks' test cells.

Tests judge *values*, never objects a student controls: each ``as_*``
function turns what a solution returned into a plain Python or numpy value of
a known type (or fails saying what came back), and each ``check_*`` function
compares and fails with a message that says what was expected and what came
back. Every failure is an :class:`AssertionError`, which nbgrader counts as a
failed test.

>>> check_close(as_float(0.1 + 0.2), 0.3, what="0.1 + 0.2")
>>> check_close(as_float(0.31), 0.3, what="0.1 + 0.2")
Traceback (most recent call last):
...
AssertionError: 0.1 + 0.2: expected 0.3, got 0.31

Hidden tests also draw cases at random, seeded per submission, and compare the
solution with a reference kept in the hidden test (:mod:`course_lib.cases`):
a classmate's feedback cannot be memorised, and the types are compared exactly.

>>> from course_lib.cases import Draw, check_cases
>>> def reference(n, p):  # in the hidden test, never in course_lib
...     return -(-n // p)  # ceil(n / p) in integers
>>> draw = Draw("chunk_size", seed="7")
>>> cases = [(draw.size(0, 1000), draw.integer(1, 64)) for _ in range(30)]
>>> check_cases(lambda n, p: -(-n // p), reference, cases, seed=draw.seed)
>>> import math
>>> check_cases(lambda n, p: math.ceil(n / p) * 1.0, reference, cases, what="chunk_size",
...             seed=draw.seed)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
AssertionError: chunk_size, random case 1 of 30 (COURSE_CASE_SEED=7): ...: expected an int, got ...)
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

__all__ = [
    "as_array",
    "as_dict",
    "as_float",
    "as_int",
    "as_tuple",
    "check_array_close",
    "check_close",
    "check_equal",
    "check_raises",
    "check_true",
]


def _short(value, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(what: str, message: str) -> AssertionError:
    return AssertionError(f"{what}: {message}" if what else message)


def as_float(value, what: str = "result") -> float:
    """Return ``value`` as a Python float; it must be a real number.

    Accepts ints, floats, numpy scalars and 0-d/1-element numpy arrays;
    refuses bools, strings, ``None`` and other objects.

    >>> as_float(np.float32(1.5))
    1.5
    >>> as_float("1.5")
    Traceback (most recent call last):
    ...
    AssertionError: result: expected a number, got '1.5' (str)
    """
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        return float(value.reshape(()))
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise _fail(what, f"expected a number, got {_short(value)} ({type(value).__name__})")
    return float(value)


def as_int(value, what: str = "result") -> int:
    """Return ``value`` as a Python int; it must be an integer (or an integral float).

    >>> as_int(np.int64(3)), as_int(4.0)
    (3, 4)
    >>> as_int(2.5)
    Traceback (most recent call last):
    ...
    AssertionError: result: expected an integer, got 2.5 (float)
    """
    if isinstance(value, bool | np.bool_):
        raise _fail(what, f"expected an integer, got {_short(value)} (bool)")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return int(value)
    raise _fail(what, f"expected an integer, got {_short(value)} ({type(value).__name__})")


def as_array(value, dtype=None, shape: tuple | None = None, what: str = "result") -> np.ndarray:
    """Return a new numpy array copied from ``value``.

    ``dtype=None`` keeps the dtype the value has (useful when the dtype is
    what is being tested); otherwise the values are converted to ``dtype``.
    ``shape`` (optional) is checked.

    >>> as_array([1, 2, 3], dtype=float)
    array([1., 2., 3.])
    >>> as_array([1, 2], shape=(3,))
    Traceback (most recent call last):
    ...
    AssertionError: result: expected shape (3,), got shape (2,)
    """
    if value is None:
        raise _fail(what, "expected an array, got None (did the function return its result?)")
    try:
        if isinstance(value, np.ndarray):
            arr = np.array(value, dtype=dtype, copy=True)
        else:
            arr = np.array(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise _fail(what, f"expected an array, got {_short(value)} ({exc})") from None
    if arr.dtype == object:
        raise _fail(what, f"expected numbers, got an array of objects: {_short(value)}")
    if shape is not None and arr.shape != tuple(shape):
        raise _fail(what, f"expected shape {tuple(shape)}, got shape {arr.shape}")
    return arr


def as_tuple(
    value, length: int | None = None, convert: Callable = as_float, what: str = "result"
) -> tuple:
    """Return ``value`` (a tuple or list) as a tuple, each item passed through ``convert``.

    >>> as_tuple((1, np.float64(2.5)), length=2)
    (1.0, 2.5)
    >>> as_tuple(3.0, length=2)
    Traceback (most recent call last):
    ...
    AssertionError: result: expected a tuple of 2 items, got 3.0 (float)
    """
    if not isinstance(value, tuple | list):
        n = f"{length} items" if length is not None else "items"
        raise _fail(what, f"expected a tuple of {n}, got {_short(value)} ({type(value).__name__})")
    if length is not None and len(value) != length:
        raise _fail(what, f"expected a tuple of {length} items, got {len(value)}: {_short(value)}")
    return tuple(convert(v, what=f"{what}[{i}]") for i, v in enumerate(value))


def as_dict(value, convert_key: Callable = as_int, convert_value: Callable = as_float,
            what: str = "result") -> dict:
    """Return ``value`` (a mapping) as a plain dict with converted keys and values.

    >>> as_dict({50: np.float64(1.0)})
    {50: 1.0}
    """
    if not isinstance(value, dict):
        raise _fail(what, f"expected a dict, got {_short(value)} ({type(value).__name__})")
    return {
        convert_key(k, what=f"{what} key"): convert_value(v, what=f"{what}[{k!r}]")
        for k, v in value.items()
    }


def check_true(condition: bool, what: str) -> None:
    """Fail with ``what`` as the message unless ``condition`` is exactly True.

    >>> check_true(1 < 2, "one is less than two")
    """
    if condition is not True and condition is not np.True_:
        raise AssertionError(what)


def check_equal(got, expected, what: str = "") -> None:
    """Fail unless ``got == expected`` (both should be plain values already).

    >>> check_equal(as_int(3), 3, what="count")
    >>> check_equal((1, 2), (2, 1), what="order")
    Traceback (most recent call last):
    ...
    AssertionError: order: expected (2, 1), got (1, 2)
    """
    if type(got) is not type(expected) and not (
        isinstance(got, numbers.Number) and isinstance(expected, numbers.Number)
    ):
        raise _fail(what, f"expected {_short(expected)} ({type(expected).__name__}), "
                          f"got {_short(got)} ({type(got).__name__})")
    if not got == expected:
        raise _fail(what, f"expected {_short(expected)}, got {_short(got)}")


def check_close(got: float, expected: float, rel: float = 1e-9, abs_: float = 1e-12,
                what: str = "") -> None:
    """Fail unless the float ``got`` is within ``rel`` (relative) or ``abs_`` of ``expected``.

    >>> check_close(1.0 + 1e-12, 1.0)
    """
    got, expected = float(got), float(expected)
    if np.isnan(expected) and np.isnan(got):
        return
    if not abs(got - expected) <= max(rel * abs(expected), abs_):
        raise _fail(what, f"expected {expected:.6g}, got {got:.6g}")


def check_array_close(got: np.ndarray, expected, rel: float = 1e-9, abs_: float = 1e-12,
                      what: str = "") -> None:
    """Fail unless two arrays have the same shape and close values.

    >>> check_array_close(np.array([1.0, 2.0]), [1.0, 2.0])
    >>> check_array_close(np.array([1.0, 2.5]), [1.0, 2.0], what="T")
    Traceback (most recent call last):
    ...
    AssertionError: T: expected [1. 2.], got [1.  2.5] (largest difference 0.5 at index (1,))
    """
    got = np.asarray(got)
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        raise _fail(what, f"expected shape {expected.shape}, got shape {got.shape}")
    if not np.allclose(got, expected, rtol=rel, atol=abs_, equal_nan=True):
        diff = np.abs(got.astype(float) - expected.astype(float))
        if np.all(np.isnan(diff)):  # NaN where a number was expected, everywhere
            raise _fail(what, f"expected {np.array2string(expected, threshold=8)}, "
                              f"got {np.array2string(got, threshold=8)}")
        diff = np.where(np.isnan(diff), np.inf, diff)  # a NaN counts as the largest difference
        where = tuple(int(i) for i in np.unravel_index(int(np.nanargmax(diff)), diff.shape))
        raise _fail(what, f"expected {np.array2string(expected, threshold=8)}, "
                          f"got {np.array2string(got, threshold=8)} "
                          f"(largest difference {diff[where]:.3g} at index {where})")


def check_raises(exc_type: type[BaseException], fn: Callable, *args, what: str = "",
                 **kwargs) -> None:
    """Fail unless ``fn(*args, **kwargs)`` raises ``exc_type``.

    >>> check_raises(ValueError, int, "x", what="int('x')")
    >>> check_raises(ValueError, int, "3", what="int('3')")
    Traceback (most recent call last):
    ...
    AssertionError: int('3'): expected ValueError, but it returned 3
    """
    try:
        result = fn(*args, **kwargs)
    except exc_type:
        return
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the wrong exception is the finding
        raise _fail(what, f"expected {exc_type.__name__}, "
                          f"got {type(exc).__name__}: {exc}") from None
    raise _fail(what, f"expected {exc_type.__name__}, but it returned {_short(result)}")

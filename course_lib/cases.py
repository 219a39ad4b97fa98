"""Random test cases, seeded per submission, checked against a reference.

Hidden tests with fixed inputs can be memorised: a failing check's message
shows its input and the expected value, so an answer that hard-codes a
classmate's feedback passes. So each exercise's hidden tests also draw inputs
at random and compare the solution with a **reference implementation kept in
the hidden test itself** (never in ``course_lib``).

* :class:`Draw` draws the inputs, biased to the edges where wrong answers hide:
  empty and one-element inputs, duplicates, sizes that are not powers of two and
  do not divide evenly, values that are not exactly representable, extreme
  magnitudes.
* Its seed comes from ``COURSE_CASE_SEED``, which the grader sets per student
  and assignment (:func:`seed_for`), and from the test's name: every student
  gets other cases, and grading the same submission again gives the same
  score. Without it (a learner's own run), the seed is drawn once per kernel:
  running the test cell again repeats the cases, a new kernel draws new ones.
  A failure says the seed, so ``COURSE_CASE_SEED=<seed>`` reproduces it.
* :func:`check_cases` runs the solution and the reference on each case and
  compares the results **exactly by type** (:func:`check_like`): an int where
  an int is expected, a tuple where a tuple is, a float64 array where one is.
  Where the reference raises, the solution must raise the same exception.

>>> draw = Draw("example", seed="42")
>>> def reference(xs): return sum(xs) / len(xs) if xs else 0.0
>>> cases = [([float(x) for x in draw.reals(draw.size(0, 9), -1e3, 1e3)],)
...          for _ in range(20)]
>>> def mean(xs): return sum(xs) / max(len(xs), 1)
>>> check_cases(mean, reference, cases, what="mean", seed=draw.seed)
>>> def mean(xs): return round(sum(xs) / max(len(xs), 1), 2)  # rounds: a subtle mistake
>>> check_cases(mean, reference, cases, what="mean", seed=draw.seed)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
AssertionError: mean, random case ... of 20 (COURSE_CASE_SEED=42): mean(...): expected ..., got ...
"""

from __future__ import annotations

import copy
import hashlib
import math
import numbers
import os
import secrets
from collections.abc import Callable, Iterable, Sequence

import numpy as np

__all__ = ["SEED_ENV", "Case", "Draw", "case_seed", "check_cases", "check_like", "seed_for"]

SEED_ENV = "COURSE_CASE_SEED"
_SALT = f"run-{secrets.randbits(32):08x}"  # this kernel's seed when the grader set none


def seed_for(student: str, assignment: str) -> str:
    """The seed the grader gives a student's submission of an assignment (16 hex digits).

    >>> seed_for("alice", "01") == seed_for("alice", "01") != seed_for("bob", "01")
    True
    """
    return hashlib.sha256(f"{student}\0{assignment}".encode()).hexdigest()[:16]


def case_seed() -> str:
    """``COURSE_CASE_SEED`` when set (by the grader), else this kernel's own seed."""
    return os.environ.get(SEED_ENV, "").strip() or _SALT


def _short(value, limit: int = 160) -> str:
    if isinstance(value, np.ndarray):
        text = f"np.array({np.array2string(value, threshold=12, separator=', ')}, " \
               f"dtype={value.dtype})"
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Draw:
    """Random inputs for one test, from ``seed`` (default :func:`case_seed`) and ``name``.

    Each draw lands on an edge of its range about a quarter of the time.

    >>> a, b = Draw("t", seed="s"), Draw("t", seed="s")
    >>> [a.integer(0, 100) for _ in range(5)] == [b.integer(0, 100) for _ in range(5)]
    True
    >>> Draw("t", seed="s").integer(0, 10**6) != Draw("u", seed="s").integer(0, 10**6)
    True
    """

    EDGE = 0.25  # how often a draw is an edge value

    def __init__(self, name: str, seed: str | None = None):
        self.name = name
        self.seed = case_seed() if seed is None else str(seed)
        digest = hashlib.sha256(f"{self.seed}\0{name}".encode()).digest()
        self.rng = np.random.default_rng(int.from_bytes(digest[:16], "little"))

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return bool(self.rng.random() < p)

    def pick(self, options: Sequence):
        """One of ``options``, uniformly."""
        if not len(options):
            raise ValueError("pick from no options")
        return options[int(self.rng.integers(len(options)))]

    def integer(self, lo: int, hi: int, edges: Iterable[int] = ()) -> int:
        """An int in [lo, hi]; at the edges (lo, lo + 1, hi - 1, hi, ``edges``) a quarter
        of the time."""
        if hi < lo:
            raise ValueError(f"integer: empty range [{lo}, {hi}]")
        if self.chance(self.EDGE):
            near = [v for v in (lo, lo + 1, hi - 1, hi, *edges) if lo <= v <= hi]
            return int(self.pick(near))
        return int(self.rng.integers(lo, hi, endpoint=True))

    def size(self, lo: int = 0, hi: int = 64) -> int:
        """A size in [lo, hi], biased to 0, 1 and 2 (where allowed), to ``hi`` and to
        sizes that are not powers of two (odd numbers, primes such as 7, 13, 31)."""
        if self.chance(0.6):
            return self.integer(lo, hi, edges=(0, 1, 2, 3, 7, 13, 31))
        odd = [v for v in range(lo, hi + 1) if v % 2 and v & (v - 1)]
        return int(self.pick(odd)) if odd else self.integer(lo, hi)

    def real(self, lo: float, hi: float, edges: Iterable[float] = ()) -> float:
        """A float in [lo, hi], not a short decimal (so rounding and exact-representation
        shortcuts show), at the edges (lo, hi, ``edges``) a quarter of the time."""
        if not hi >= lo:
            raise ValueError(f"real: empty range [{lo}, {hi}]")
        if self.chance(self.EDGE):
            return float(self.pick([v for v in (lo, hi, *edges) if lo <= v <= hi]))
        return float(lo + (hi - lo) * self.rng.random())

    def magnitude(self, lo: float, hi: float) -> float:
        """A positive float between ``lo`` and ``hi`` (> 0), uniform in its logarithm:
        tiny and huge values alike."""
        if not 0 < lo <= hi:
            raise ValueError(f"magnitude: needs 0 < lo <= hi, got [{lo}, {hi}]")
        return float(math.exp(self.rng.uniform(math.log(lo), math.log(hi))))

    def reals(self, n: int, lo: float, hi: float, duplicates: float = 0.3) -> np.ndarray:
        """``n`` floats in [lo, hi] (float64); with probability ``duplicates``, some values
        repeat."""
        out = lo + (hi - lo) * self.rng.random(n)
        return self._repeat(out, duplicates)

    def integers(self, n: int, lo: int, hi: int, duplicates: float = 0.3) -> np.ndarray:
        """``n`` ints in [lo, hi] (int64); with probability ``duplicates``, some values
        repeat."""
        out = self.rng.integers(lo, hi, size=n, endpoint=True).astype(np.int64)
        return self._repeat(out, duplicates)

    def _repeat(self, out: np.ndarray, duplicates: float) -> np.ndarray:
        if out.size >= 2 and self.chance(duplicates):
            k = int(self.rng.integers(1, out.size))
            where = self.rng.choice(out.size, size=k, replace=True)
            out[where] = out[self.rng.integers(out.size, size=k)]
        return out

    def shuffled(self, items: Sequence) -> list:
        """A shuffled copy of ``items`` as a list."""
        order = self.rng.permutation(len(items))
        return [items[int(i)] for i in order]


class Case:
    """One call's arguments: ``Case(1, 2, key=3)``. A plain tuple is positional arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __repr__(self) -> str:
        parts = [_short(a, 80) for a in self.args]
        parts += [f"{k}={_short(v, 80)}" for k, v in self.kwargs.items()]
        return ", ".join(parts)


def _as_case(case) -> Case:
    if isinstance(case, Case):
        return case
    if isinstance(case, tuple):
        return Case(*case)
    raise TypeError(f"a case is a Case or a tuple of arguments, got {type(case).__name__}")


def check_like(got, expected, rel: float = 1e-9, abs_: float = 1e-12, what: str = "") -> None:
    """Fail unless ``got`` has ``expected``'s type and (close) value, recursively.

    bool is not int; an int (Python or numpy integer) is expected where an int is, and
    a whole float is not one; a float (Python or numpy, not an int) where a float is; a numpy
    array of the same dtype and shape where an array is; a tuple where a tuple is (not
    a list); dicts with the same keys; sets equal. Every value, key and item must be of
    Python's or numpy's own types: a subclass (whose ``__eq__`` or ``__float__`` may lie)
    fails.

    >>> check_like((1, 2.0, np.zeros(2)), (1, 2.0 + 1e-12, np.zeros(2)))
    >>> check_like([1.0, 2.0], (1.0, 2.0), what="pair")
    Traceback (most recent call last):
    ...
    AssertionError: pair: expected a tuple, got [1.0, 2.0] (list)
    >>> check_like(3.0, 3, what="count")
    Traceback (most recent call last):
    ...
    AssertionError: count: expected an int, got 3.0 (float)
    """
    def fail(message: str) -> AssertionError:
        return AssertionError(f"{what}: {message}" if what else message)

    def kind(label: str):
        return fail(f"expected {label}, got {_short(got)} ({type(got).__name__})")

    if not _plain(got):  # a subclass can lie in __eq__, __float__, __getitem__, ...
        raise fail(f"expected a plain value (Python's or numpy's own types), got an object of "
                   f"type {type(got).__qualname__}")
    if expected is None:
        if got is not None:
            raise kind("None")
    elif isinstance(expected, bool | np.bool_):
        if not isinstance(got, bool | np.bool_):
            raise kind("a bool")
        if bool(got) != bool(expected):
            raise fail(f"expected {bool(expected)}, got {bool(got)}")
    elif isinstance(expected, numbers.Integral):
        if isinstance(got, bool | np.bool_) or not isinstance(got, numbers.Integral):
            raise kind("an int")
        if int(got) != int(expected):
            raise fail(f"expected {int(expected)}, got {int(got)}")
    elif isinstance(expected, numbers.Real):
        if isinstance(got, bool | np.bool_) or not isinstance(got, numbers.Real):
            raise kind("a number")
        if isinstance(got, numbers.Integral):  # 2, where the text says 2.0
            raise kind("a float")
        g, e = float(got), float(expected)
        if not (math.isnan(g) and math.isnan(e)) and not (
                g == e or abs(g - e) <= max(rel * abs(e), abs_)):
            raise fail(f"expected {e:.10g}, got {g:.10g}")
    elif isinstance(expected, str):
        if not isinstance(got, str):
            raise kind("a str")
        if got != expected:
            raise fail(f"expected {_short(expected)}, got {_short(got)}")
    elif isinstance(expected, np.ndarray):
        if not isinstance(got, np.ndarray):
            raise kind(f"a numpy array of {expected.dtype}")
        if got.dtype != expected.dtype:
            raise fail(f"expected dtype {expected.dtype}, got {got.dtype}")
        if got.shape != expected.shape:
            raise fail(f"expected shape {expected.shape}, got shape {got.shape}")
        if expected.dtype.kind in "fc":
            ok = np.allclose(got, expected, rtol=rel, atol=abs_, equal_nan=True)
        else:
            ok = bool(np.array_equal(got, expected))
        if not ok:
            bad = np.flatnonzero(~np.isclose(got, expected, rtol=rel, atol=abs_, equal_nan=True)
                                 if expected.dtype.kind in "fc" else got != expected)
            where = np.unravel_index(int(bad[0]), got.shape) if bad.size else ()
            raise fail(f"expected {_short(expected)}, got {_short(got)} (first difference at "
                       f"index {tuple(int(i) for i in where)})")
    elif isinstance(expected, tuple | list):
        want = type(expected)
        if not isinstance(got, want):
            raise kind("a tuple" if want is tuple else "a list")
        if len(got) != len(expected):
            raise fail(f"expected {len(expected)} items, got {len(got)}: {_short(got)}")
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            check_like(g, e, rel, abs_, what=f"{what}[{i}]")
    elif isinstance(expected, dict):
        if not isinstance(got, dict):
            raise kind("a dict")
        odd = [k for k in got if not _plain(k)]
        if odd:
            raise fail(f"expected plain keys, got a key of type {type(odd[0]).__qualname__}")
        if set(got) != set(expected):
            raise fail(f"expected keys {_short(sorted(expected, key=repr))}, "
                       f"got {_short(sorted(got, key=repr))}")
        for key, e in expected.items():
            check_like(got[key], e, rel, abs_, what=f"{what}[{key!r}]")
    elif isinstance(expected, set | frozenset):
        if not isinstance(got, set | frozenset):
            raise kind("a set")
        odd = [v for v in got if not _plain(v)]
        if odd:
            raise fail(f"expected plain items, got one of type {type(odd[0]).__qualname__}")
        if set(got) != set(expected):
            raise fail(f"expected {_short(expected)}, got {_short(got)}")
    else:
        raise TypeError(f"check_like: cannot compare a {type(expected).__name__}; convert "
                        "the reference's result to plain values first")


def _plain(value) -> bool:
    """Of a type of Python's or numpy's own (not a subclass a submission defined); tuples
    of such, as dict keys and set items may be."""
    if isinstance(value, tuple) and type(value) is tuple:
        return all(_plain(v) for v in value)
    return type(value).__module__ in ("builtins", "numpy")


def _call_text(fn: Callable, case: Case) -> str:
    name = getattr(fn, "__name__", "solution")
    text = f"{name}({case!r})"
    return text if len(text) <= 400 else text[:397] + "..."


def check_cases(solution: Callable, reference: Callable, cases: Iterable, *,
                check: Callable | None = None, rel: float = 1e-9, abs_: float = 1e-12,
                inputs_unchanged: bool = True, what: str = "random cases",
                seed: str | None = None) -> None:
    """Run ``solution`` and ``reference`` on every case; fail at the first difference,
    saying the case, its input, what was expected and what came back. Returns None: a
    test cell may end with it (nbgrader reads a number shown by a test cell as its score).

    Each gets its own deep copy of the arguments. Where the reference raises an
    exception, the solution must raise one of the same type. ``check(got, expected,
    what=...)`` compares (default :func:`check_like` with ``rel`` and ``abs_``); with
    ``inputs_unchanged`` the solution must leave its arguments as they were.
    ``seed`` is only for the message: the cases' :attr:`Draw.seed` (default :func:`case_seed`).

    >>> check_cases(abs, abs, [(-2,), (3,)], what="abs")
    >>> check_cases(lambda x: x, abs, [(2,), (-3,)], what="abs")
    Traceback (most recent call last):
    ...
    AssertionError: abs, random case 2 of 2 (COURSE_CASE_SEED=...): <lambda>(-3): expected 3, got -3
    """
    cases = [_as_case(c) for c in cases]
    seed = case_seed() if seed is None else seed
    compare = check or (lambda got, expected, what="": check_like(got, expected, rel, abs_,
                                                                 what=what))
    for i, case in enumerate(cases, 1):
        where = f"{what}, random case {i} of {len(cases)} ({SEED_ENV}={seed})"
        call = _call_text(solution, case)
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        try:
            expected, raised = reference(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - the reference's error is the expectation
            expected, raised = None, exc
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        try:
            got = solution(*args, **kwargs)
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the case that raised it
            if raised is not None and isinstance(exc, type(raised)):
                continue
            want = f"{type(raised).__name__}" if raised is not None else _short(expected)
            raise AssertionError(f"{where}: {call}: expected {want}, got "
                                 f"{type(exc).__name__}: {_short(str(exc), 200)}") from None
        if raised is not None:
            raise AssertionError(f"{where}: {call}: expected {type(raised).__name__} "
                                 f"({_short(str(raised), 120)}), but it returned {_short(got)}")
        compare(got, expected, what=f"{where}: {call}")
        if inputs_unchanged:
            for j, (before, after) in enumerate(zip(case.args, args, strict=True)):
                _unchanged(before, after, f"{where}: {call}: argument {j + 1}")


def _same(before, after) -> bool:
    """Whether an argument is as it was: arrays by dtype, shape and values (NaN equal to
    NaN), containers item by item, anything else by ``==`` (True where that cannot say)."""
    if isinstance(before, np.ndarray) or isinstance(after, np.ndarray):
        if not (isinstance(before, np.ndarray) and isinstance(after, np.ndarray)):
            return False
        if before.dtype != after.dtype or before.shape != after.shape:
            return False
        nan_ok = before.dtype.kind in "fc"
        return bool(np.array_equal(before, after, equal_nan=nan_ok))
    if isinstance(before, list | tuple) and isinstance(after, list | tuple):
        return (type(before) is type(after) and len(before) == len(after)
                and all(_same(b, a) for b, a in zip(before, after, strict=True)))
    if isinstance(before, dict) and isinstance(after, dict):
        return (before.keys() == after.keys()
                and all(_same(before[k], after[k]) for k in before))
    if isinstance(before, float) and isinstance(after, float) \
            and math.isnan(before) and math.isnan(after):
        return True
    try:
        return bool(before == after)
    except Exception:  # noqa: BLE001 - objects without a plain ==: not checked
        return True


def _unchanged(before, after, what: str) -> None:
    if not _same(before, after):
        raise AssertionError(f"{what} was changed by the call; it must not be")

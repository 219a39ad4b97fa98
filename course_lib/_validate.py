"""Argument checks shared by course_lib's modules: errors that name the argument, the
value and what was expected.

>>> check_int(3, "P")
3
>>> check_positive(0, "dt_s", allow_zero=True)
0.0
"""

from __future__ import annotations

import math
import numbers

__all__ = ["check_int", "check_positive", "is_int"]


def is_int(x) -> bool:
    """An integer, and not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def check_int(value, name: str, low: int = 1) -> int:
    if not is_int(value) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def check_positive(value, name: str, allow_zero: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(float(value)) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}, "
                         f"got {value!r}")
    return float(value)

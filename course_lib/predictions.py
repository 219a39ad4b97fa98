"""Predict, then measure: the one line every experiment ends with.

Before a measured experiment a notebook has a prediction cell (``my_prediction = ...``, not
graded); after it, :func:`compare` prints the prediction, the measurement and their ratio,
and says how far off the prediction was. :func:`reference` prints a measured value beside
the course's reference figure, its range and its source, so a sentence about a measurement
is always about the learner's own run.

>>> compare(0.5, 0.62, unit="s", what="summing 10^8 floats")
summing 10^8 floats: predicted 500 ms, measured 620 ms: measured / predicted = 1.24 (within 2x)
1.24
>>> compare(None, 3.0, what="speed-up on 2 cores", unit="x")
speed-up on 2 cores: no prediction (set my_prediction first), measured 3x
>>> reference(3.1, low=2.0, high=6.0, unit="GB/s", what="copy", source="data/README.md")
copy: 3.1 GB/s here; the course's reference range is 2 GB/s to 6 GB/s (data/README.md): inside it
'inside'
"""

from __future__ import annotations

import math
from numbers import Real

from .metrics import format_bytes, format_time

__all__ = ["compare", "reference", "format_value"]


def format_value(value: float, unit: str = "") -> str:
    """A value with its unit, readably: seconds and bytes scaled (``format_time``,
    ``format_bytes``), anything else to 3 significant figures.

    >>> format_value(0.0015, "s"), format_value(3 * 2**20, "B"), format_value(1234.5, "GB/s")
    ('1.5 ms', '3 MiB', '1.23e+03 GB/s')
    """
    if unit == "s":
        return format_time(value)
    if unit == "B":
        return format_bytes(value)
    text = f"{value:.3g}"
    return f"{text}{unit}" if unit in ("x", "×", "%") else f"{text} {unit}".rstrip()


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def compare(prediction, measured, unit: str = "", what: str = "measured",
            tolerance: float = 2.0) -> float | None:
    """Print ``what: predicted P, measured M: measured / predicted = R`` and return R.

    ``prediction`` may be None (the learner has not predicted yet): the line says so and
    None is returned. ``tolerance`` is the factor within which a prediction counts as good
    (2: between half and twice the measurement). A prediction of 0 with a non-zero
    measurement has no finite ratio: the line says so and ``inf`` is returned.
    """
    m = _number(measured, "measured")
    if prediction is None or prediction is ...:
        print(f"{what}: no prediction (set my_prediction first), measured "
              f"{format_value(m, unit)}")
        return None
    p = _number(prediction, "prediction")
    t = _number(tolerance, "tolerance")
    if t < 1:
        raise ValueError(f"tolerance is a factor >= 1, got {tolerance!r}")
    if p == 0:
        ratio = 1.0 if m == 0 else math.inf
    else:
        ratio = m / p
    if ratio <= 0:
        verdict = "the opposite sign: check the direction of your reasoning"
    elif 1 / t <= ratio <= t:
        verdict = f"within {t:g}x"
    elif ratio > t:
        verdict = f"{ratio:.3g}x more than predicted: what did the prediction leave out?"
    else:
        verdict = f"{1 / ratio:.3g}x less than predicted: what did the prediction count twice?"
    shown = "inf" if math.isinf(ratio) else f"{ratio:.3g}"
    print(f"{what}: predicted {format_value(p, unit)}, measured {format_value(m, unit)}: "
          f"measured / predicted = {shown} ({verdict})")
    return ratio if math.isinf(ratio) else float(f"{ratio:.3g}")


def reference(measured, low: float, high: float, unit: str = "", what: str = "measured",
              source: str = "") -> str:
    """Print a measured value beside the course's reference range and its source; return
    ``"below"``, ``"inside"`` or ``"above"``, for a sentence computed from the run."""
    m = _number(measured, "measured")
    lo, hi = _number(low, "low"), _number(high, "high")
    if lo > hi:
        raise ValueError(f"low ({low!r}) must not exceed high ({high!r})")
    where = "below" if m < lo else "above" if m > hi else "inside"
    src = f" ({source})" if source else ""
    print(f"{what}: {format_value(m, unit)} here; the course's reference range is "
          f"{format_value(lo, unit)} to {format_value(hi, unit)}{src}: {where} it")
    return where

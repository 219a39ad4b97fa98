"""Argument checks and model calls shared by the modules of notebook 08 (``sync``,
``roofline``, ``power``, ``capstone``): errors that name the argument, and a learner's model
function called on arrays, with a message where it is not written yet.

>>> model_values(lambda x: 2 * x, (__import__("numpy").arange(3.0),), "double", (3,))[0]
array([0., 2., 4.])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np

__all__ = ["is_real", "model_values", "positive"]


def is_real(x) -> bool:
    """A real number, and not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def positive(name: str, value, integer: bool = False, minimum: float = 0.0,
             inclusive: bool = False):
    """``value`` as an int or a finite float above ``minimum`` (or at it, with ``inclusive``);
    ``ValueError`` naming ``name`` otherwise.

    >>> positive("P", 4, integer=True, minimum=2)
    4
    """
    ok = (isinstance(value, numbers.Integral) and not isinstance(value, bool)) if integer \
        else is_real(value) and math.isfinite(float(value))
    if not ok or not (value >= minimum if inclusive else value > minimum):
        kind = "an int" if integer else "a number"
        rel = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be {kind} {rel} {minimum:g}, got {value!r}")
    return int(value) if integer else float(value)


def model_values(fn: Callable, args: tuple, name: str, shape: tuple):
    """``fn(*args)`` as a float array of ``shape``, or (None, why) when it cannot be drawn."""
    try:
        y = np.asarray(fn(*args), dtype=float)
    except NotImplementedError:
        return None, f"{name} is not written yet"
    if y.shape != shape:
        raise ValueError(f"{name} returned shape {y.shape} for inputs of shape {shape}: "
                         f"it must work elementwise on numpy arrays")
    return y, ""



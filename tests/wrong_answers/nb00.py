"""Wrong answers to notebook 00's exercise (speed-up)."""
# ruff: noqa: B905 - wrong answers are written the way students write them

from __future__ import annotations

import numpy as np

from tests.wrong_answers import wrong

NOTEBOOK = "00_welcome"


@wrong("speedup", "T_new / T_baseline (the ratio upside down)")
def su_inverted(T_baseline, T_new):
    T_baseline, T_new = np.asarray(T_baseline, float), np.asarray(T_new, float)
    if np.any(T_baseline <= 0) or np.any(T_new <= 0):
        raise ValueError("times must be > 0")
    S = T_new / T_baseline
    return float(S) if S.ndim == 0 else S


@wrong("speedup", "checks only T_new (a zero or negative baseline passes)")
def su_checks_new_only(T_baseline, T_new):
    T_baseline, T_new = np.asarray(T_baseline, float), np.asarray(T_new, float)
    if np.any(T_new <= 0):
        raise ValueError("T_new must be > 0")
    S = T_baseline / T_new
    return float(S) if S.ndim == 0 else S


@wrong("speedup", "scalar-only: `if T_new <= 0` and float() fail on arrays")
def su_scalar_only(T_baseline, T_new):
    if T_baseline <= 0 or T_new <= 0:
        raise ValueError("times must be > 0")
    return float(T_baseline) / float(T_new)


@wrong("speedup", "checks only T_new == 0 (negative times accepted)")
def su_zero_only(T_baseline, T_new):
    T_baseline, T_new = np.asarray(T_baseline, float), np.asarray(T_new, float)
    if np.any(T_new == 0) or np.any(T_baseline == 0):
        raise ValueError("a time of 0")
    S = T_baseline / T_new
    return float(S) if S.ndim == 0 else S


@wrong("speedup", "clamps to >= 1 (a slow-down reported as no speed-up)")
def su_clamped(T_baseline, T_new):
    T_baseline, T_new = np.asarray(T_baseline, float), np.asarray(T_new, float)
    if np.any(T_baseline <= 0) or np.any(T_new <= 0):
        raise ValueError("times must be > 0")
    S = np.maximum(T_baseline / T_new, 1.0)
    return float(S) if S.ndim == 0 else S


@wrong("speedup", "floor division T_baseline // T_new")
def su_floor(T_baseline, T_new):
    T_baseline, T_new = np.asarray(T_baseline), np.asarray(T_new)
    if np.any(T_baseline <= 0) or np.any(T_new <= 0):
        raise ValueError("times must be > 0")
    S = T_baseline // T_new
    return S.item() if S.ndim == 0 else S


def _checked(T_baseline, T_new):
    T_baseline, T_new = np.asarray(T_baseline, float), np.asarray(T_new, float)
    if np.any(T_baseline <= 0) or np.any(T_new <= 0):
        raise ValueError("times must be > 0")
    return T_baseline, T_new


@wrong("speedup", "rounded to two decimals (the visible examples have two)")
def su_rounded(T_baseline, T_new):
    S = np.round(np.divide(*_checked(T_baseline, T_new)), 2)
    return float(S) if S.ndim == 0 else S


@wrong("speedup", "an int when the ratio is whole (10 / 5 gives 2)")
def su_int_when_whole(T_baseline, T_new):
    S = np.divide(*_checked(T_baseline, T_new))
    if S.ndim == 0:
        return int(S) if float(S).is_integer() else float(S)
    return S


@wrong("speedup", "float32 arrays (half the memory)")
def su_float32(T_baseline, T_new):
    S = np.divide(*_checked(T_baseline, T_new))
    return float(S) if S.ndim == 0 else S.astype(np.float32)


@wrong("speedup", "a time under a nanosecond counted as zero (`<= 1e-9`)")
def su_tiny_is_zero(T_baseline, T_new):
    T_baseline, T_new = np.asarray(T_baseline, float), np.asarray(T_new, float)
    if np.any(T_baseline <= 1e-9) or np.any(T_new <= 1e-9):
        raise ValueError("times must be > 0")
    S = T_baseline / T_new
    return float(S) if S.ndim == 0 else S


@wrong("speedup", "np.divide(..., out=a new array): a 0-d array, not a float, for two numbers")
def su_zero_d(T_baseline, T_new):
    T_baseline, T_new = _checked(T_baseline, T_new)
    return np.divide(T_baseline, T_new, out=np.empty(np.broadcast(T_baseline, T_new).shape))


@wrong("speedup", "checks only the first element of an array")
def su_first_only(T_baseline, T_new):
    T_baseline, T_new = np.asarray(T_baseline, float), np.asarray(T_new, float)
    if T_baseline.flat[0] <= 0 or T_new.flat[0] <= 0:
        raise ValueError("times must be > 0")
    S = T_baseline / T_new
    return float(S) if S.ndim == 0 else S

"""Tensor parallelism: layers to split across devices, and matrices that log their products.

:func:`conv2d` and :func:`attention` are a convolution and multi-head attention in numpy,
to split across devices (notebook 06, section 3). :func:`recording` wraps a weight matrix
so that every matrix product made with it (or a block of it) is logged with the block's
values: tests see which split a function computed, not only its result.

numpy is the only import.
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import check_int as _check_int

__all__ = ["RecordingArray", "attention", "conv2d", "recording"]


def conv2d(x, filters) -> np.ndarray:
    """A 2-D convolution (deep learning's: cross-correlation), stride 1, no padding.

    ``x`` (C_in, H, W), ``filters`` (C_out, C_in, k, k) → (C_out, H − k + 1, W − k + 1).
    Output channel c uses only filter c: split the filters, and the outputs split.

    >>> conv2d(np.ones((1, 3, 3)), np.ones((2, 1, 2, 2)))[:, 0, 0].tolist()
    [4.0, 4.0]
    """
    x, filters = np.asarray(x, dtype=np.float64), np.asarray(filters, dtype=np.float64)
    if x.ndim != 3 or filters.ndim != 4 or filters.shape[1] != x.shape[0] \
            or filters.shape[2] != filters.shape[3] or filters.shape[2] > min(x.shape[1:]):
        raise ValueError(f"expected x (C_in, H, W) and filters (C_out, C_in, k, k) with "
                         f"k <= H, W; got {x.shape} and {filters.shape}")
    k = filters.shape[2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    return np.einsum("chwij,ocij->ohw", windows, filters)  # (C_in, H', W', k, k) · filters


def attention(x, Wq, Wk, Wv, Wo, heads: int) -> np.ndarray:
    """Multi-head self-attention of a sequence ``x`` (T, d), numpy, no mask.

    ``Wq``, ``Wk``, ``Wv`` (d, heads · d_head): head h uses columns
    h · d_head … (h + 1) · d_head; ``Wo`` (heads · d_head, d_out): head h
    uses the same rows. Each head computes softmax(Q Kᵀ / √d_head) V on its
    columns; the heads' outputs, concatenated, are multiplied by ``Wo``.
    Returns (T, d_out).

    >>> rng = np.random.default_rng(0)
    >>> x, W = rng.normal(size=(4, 6)), rng.normal(size=(4, 6, 6))
    >>> attention(x, *W, heads=3).shape
    (4, 6)
    """
    x = np.asarray(x, dtype=np.float64)
    Wq, Wk, Wv, Wo = (np.asarray(a, dtype=np.float64) for a in (Wq, Wk, Wv, Wo))
    heads = _check_int(heads, "heads")
    width = Wq.shape[1] if Wq.ndim == 2 else -1
    if x.ndim != 2 or any(a.shape != (x.shape[1], width) for a in (Wq, Wk, Wv)) \
            or Wo.ndim != 2 or Wo.shape[0] != width or width % heads:
        raise ValueError(f"expected x (T, d), Wq/Wk/Wv (d, heads * d_head), Wo (heads * d_head, "
                         f"d_out); got {x.shape}, {Wq.shape}, {Wk.shape}, {Wv.shape}, "
                         f"{Wo.shape} with heads={heads}")
    dh = width // heads
    T = x.shape[0]
    Q, K, V = ((x @ W).reshape(T, heads, dh).transpose(1, 0, 2) for W in (Wq, Wk, Wv))
    scores = Q @ K.transpose(0, 2, 1) / math.sqrt(dh)  # (heads, T, T)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    out = (weights @ V).transpose(1, 0, 2).reshape(T, width)  # heads side by side
    return out @ Wo


# --------------------------------------------------------------------------- recording products

_PRODUCTS = {"dot", "vdot", "inner", "tensordot", "einsum", "matmul"}


class RecordingArray(np.ndarray):
    """A float array that logs the matrix products it (or a view or copy of it) takes part in.

    ``products`` (shared by the array, its views, slices, blocks and copies) holds one
    entry per product: ``(function name, [the recording operands' values, as plain
    arrays])``. ``@``/``np.matmul``, ``np.dot``, ``np.einsum``, ``np.tensordot``,
    ``np.inner``, ``np.vdot`` and ``.dot`` are seen; their results are plain arrays.
    ``np.asarray`` (and ``np.array``) give a plain array that records nothing;
    ``np.asanyarray`` keeps it. A deep copy has its own copy of the log; ``W[...] = V``
    restores V's values and log into W. Make one with :func:`recording`.
    """

    _depth = 0  # > 0 while a product runs: its inner products are not logged again

    def __array_finalize__(self, obj):
        self.products = getattr(obj, "products", None)
        if self.products is None:
            self.products = []

    def _log(self, name, operands):
        if RecordingArray._depth == 0:
            pieces = [np.array(o.view(np.ndarray)) for o in operands
                      if isinstance(o, RecordingArray)]
            self.products.append((name, pieces))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [i.view(np.ndarray) if isinstance(i, RecordingArray) else i for i in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, RecordingArray) else o
                                  for o in kwargs["out"])
        if ufunc is np.matmul and method == "__call__":
            self._log("matmul", inputs)
            RecordingArray._depth += 1
            try:
                return ufunc(*plain, **kwargs)
            finally:
                RecordingArray._depth -= 1
        result = getattr(ufunc, method)(*plain, **kwargs)
        if isinstance(result, np.ndarray) and result.dtype.kind in "fc" and result.ndim:
            result = result.view(RecordingArray)  # W * 1.0, -W, ...: still W's values
            result.products = self.products
        return result

    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ in _PRODUCTS:
            flat = [a for a in args if isinstance(a, np.ndarray)]
            flat += [a for v in args if isinstance(v, list | tuple) for a in v
                     if isinstance(a, np.ndarray)]
            self._log(func.__name__, flat)
            RecordingArray._depth += 1
            try:
                plain = [a.view(np.ndarray) if isinstance(a, RecordingArray) else a
                         for a in args]
                return func(*plain, **kwargs)
            finally:
                RecordingArray._depth -= 1
        return super().__array_function__(func, types, args, kwargs)

    def dot(self, other, out=None):
        return np.dot(self, other) if out is None else np.dot(self, other, out=out)

    def __deepcopy__(self, memo):
        """A deep copy has the same values and a copy of the log, its own from now on."""
        out = np.array(self.view(np.ndarray), copy=True).view(RecordingArray)
        out.products = [(name, [p.copy() for p in pieces]) for name, pieces in self.products]
        return out

    def __setitem__(self, key, value):
        """``W[...] = V`` with V a recording array of the same shape: V's values **and its
        log** (what a saved copy restores); any other assignment: the values only."""
        super().__setitem__(key, value)
        if key is Ellipsis and isinstance(value, RecordingArray) and value.shape == self.shape \
                and value.products is not self.products:
            self.products[:] = [(n, [p.copy() for p in pieces]) for n, pieces in value.products]


def recording(array) -> RecordingArray:
    """A copy of ``array`` (as float64) that logs every matrix product made with it.

    Each product made with the array, a view, a block or a copy of it is logged in
    ``.products`` with the values of its recording operands, so a test can tell a product
    with the whole matrix from products with its blocks, and which blocks.

    >>> W = recording(np.arange(12.0).reshape(3, 4))
    >>> x = np.ones(3)
    >>> y = np.concatenate([x @ block for block in np.array_split(W, 2, axis=1)])
    >>> type(y).__name__, y.tolist()
    ('ndarray', [12.0, 15.0, 18.0, 21.0])
    >>> [(name, [piece.shape for piece in pieces]) for name, pieces in W.products]
    [('matmul', [(3, 2)]), ('matmul', [(3, 2)])]
    >>> _ = np.dot(x, W); _ = x @ np.asarray(W)        # np.asarray drops the recording
    >>> [(name, [piece.shape for piece in pieces]) for name, pieces in W.products][2:]
    [('dot', [(3, 4)])]
    """
    out = np.array(array, dtype=np.float64).view(RecordingArray)
    out.products = []
    return out

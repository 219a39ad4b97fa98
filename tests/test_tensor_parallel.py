"""course_lib.tensor_parallel: the layers notebook 06 splits, and the recording matrix."""

import math

import numpy as np
import pytest

from course_lib import tensor_parallel


def test_conv2d_is_the_naive_cross_correlation():
    rng = np.random.default_rng(1)
    x, f = rng.normal(size=(2, 6, 5)), rng.normal(size=(3, 2, 3, 3))
    out = tensor_parallel.conv2d(x, f)
    assert out.shape == (3, 4, 3)
    for o in range(3):
        for i in range(4):
            for j in range(3):
                assert out[o, i, j] == pytest.approx(np.sum(x[:, i:i + 3, j:j + 3] * f[o]))
    with pytest.raises(ValueError, match="filters"):
        tensor_parallel.conv2d(x, rng.normal(size=(3, 1, 3, 3)))


def test_attention_is_per_head_softmax_attention():
    rng = np.random.default_rng(2)
    T, d, heads = 5, 8, 4
    x = rng.normal(size=(T, d))
    Wq, Wk, Wv, Wo = rng.normal(size=(4, d, d))
    dh = d // heads
    outs = []
    for h in range(heads):
        c = slice(h * dh, (h + 1) * dh)
        q, k, v = x @ Wq[:, c], x @ Wk[:, c], x @ Wv[:, c]
        s = q @ k.T / math.sqrt(dh)
        a = np.exp(s - s.max(axis=1, keepdims=True))
        outs.append(a / a.sum(axis=1, keepdims=True) @ v)
    expected = np.concatenate(outs, axis=1) @ Wo
    assert np.allclose(tensor_parallel.attention(x, Wq, Wk, Wv, Wo, heads), expected)
    with pytest.raises(ValueError, match="heads"):
        tensor_parallel.attention(x, Wq, Wk, Wv, Wo, heads=3)


def test_recording_logs_each_product_with_the_block_of_w_it_used():
    W0 = np.arange(35.0).reshape(5, 7)
    W = tensor_parallel.recording(W0)
    assert isinstance(W, np.ndarray) and W.dtype == np.float64 and W.products == []
    x = np.linspace(-1, 1, 10).reshape(2, 5)
    # a column split: one product per block, each with its own block's values
    y = np.concatenate([x @ block for block in np.array_split(W, 3, axis=1)], axis=-1)
    assert type(y) is np.ndarray and np.allclose(y, x @ W0)
    assert [name for name, _ in W.products] == ["matmul"] * 3
    for (_, [piece]), block in zip(W.products, np.array_split(W0, 3, axis=1), strict=True):
        assert type(piece) is np.ndarray and np.array_equal(piece, block)
    # other product functions, transposes and copies of blocks are seen; nested ones once
    W.products.clear()
    np.einsum("...i,ij->...j", x, W[:, 1:3].copy())
    np.tensordot(x, W, axes=1)
    np.dot(x, W)
    W[:, :2].T.dot(x.T)
    assert [(n, [p.shape for p in ps]) for n, ps in W.products] == [
        ("einsum", [(5, 2)]), ("tensordot", [(5, 7)]), ("dot", [(5, 7)]), ("dot", [(2, 5)])]
    # elementwise arithmetic keeps the recording; np.asarray drops it
    W.products.clear()
    _ = x @ (1.0 * W)
    _ = x @ np.asarray(W)
    assert len(W.products) == 1 and np.array_equal(W.products[0][1][0], W0)
    assert type(W + 1) is tensor_parallel.RecordingArray and type(np.asarray(W)) is np.ndarray


def test_a_recording_copied_and_restored_keeps_its_log():
    import copy

    W = tensor_parallel.recording(np.eye(3))
    _ = np.ones(3) @ W[:, :2]
    saved = copy.deepcopy(W)
    assert type(saved) is tensor_parallel.RecordingArray and saved.products is not W.products
    assert [p.shape for _, ps in saved.products for p in ps] == [(3, 2)]
    _ = np.ones(3) @ W  # later products are W's own
    assert len(W.products) == 2 and len(saved.products) == 1
    fresh = tensor_parallel.recording(np.zeros((3, 3)))
    fresh[...] = saved  # restores the values and the log
    assert np.array_equal(fresh, np.eye(3)) and len(fresh.products) == 1
    fresh[0, 0] = 5.0  # an element: the value only
    assert len(fresh.products) == 1

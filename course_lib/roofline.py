"""The roofline: what a kernel can reach, given its arithmetic intensity (notebook 08, section 3).

:func:`roofline_plot` draws the roofline function you pass it (notebook 08's
``roofline``) for this machine and for published hardware (:data:`HARDWARE`,
datasheet figures with their sources), with measured or predicted kernels as
points. No exercise's answer lives here: the roof is an argument.

>>> HARDWARE["NVIDIA H100 SXM"]["power_w"]
700
>>> round(HARDWARE["NVIDIA H100 SXM"]["peak_flops"]["BF16/FP16 tensor, dense"]
...       / HARDWARE["NVIDIA H100 SXM"]["bandwidth_Bps"])  # the ridge point, FLOPs per byte
295
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from . import plots
from ._model_args import model_values as _model_values
from ._model_args import positive as _positive

__all__ = ["HARDWARE", "roofline_plot"]

#: Datasheet figures of two data-centre GPUs (dense: without 2:4 sparsity).
HARDWARE = {
    "NVIDIA H100 SXM": {
        "peak_flops": {"BF16/FP16 tensor, dense": 989e12, "FP64 tensor": 67e12},
        "bandwidth_Bps": 3.35e12,  # HBM3
        "power_w": 700,  # maximum thermal design power
        "source": "NVIDIA, H100 Tensor Core GPU datasheet (2023), "
                  "https://www.nvidia.com/en-us/data-center/h100/",
    },
    "NVIDIA A100 SXM 80GB": {
        "peak_flops": {"BF16/FP16 tensor, dense": 312e12, "FP64 tensor": 19.5e12},
        "bandwidth_Bps": 2.039e12,  # HBM2e
        "power_w": 400,
        "source": "NVIDIA, A100 Tensor Core GPU datasheet (2021), "
                  "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
                  "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf",
    },
}



def roofline_plot(roof: Callable, machines: Mapping[str, tuple[float, float]],
                  kernels: Mapping[str, tuple] | None = None, ax=None,
                  ai_range: tuple[float, float] = (1 / 32, 256),
                  title: str = "Roofline"):
    """Draw rooflines and measured kernels on log-log axes (FLOP/s against FLOPs per byte).

    ``roof(ai, peak_flops, bandwidth_Bps)`` is the roofline model (notebook
    08's ``roofline``: pass yours), called with a numpy array ``ai``.
    ``machines``: ``{label: (peak_flops, bandwidth_Bps)}``, one roofline each,
    with its ridge point (peak / bandwidth) marked. ``kernels`` (optional):
    ``{label: (ai, achieved_flops)}``, scalars or equal-length arrays, drawn as
    points (a series of points for arrays). Returns the ``Axes``.

    >>> ax = roofline_plot(lambda ai, p, b: np.minimum(p, ai * b), {"toy": (1e11, 1e10)},
    ...                    {"axpy": (1 / 12, 0.8e9)})
    >>> ax.get_xscale(), [ln.get_label() for ln in ax.get_lines() if ln.get_label()[0] != "_"]
    ('log', ['toy: 100 GFLOP/s, 10 GB/s', 'axpy'])
    """
    lo, hi = (_positive("ai_range[0]", ai_range[0]), _positive("ai_range[1]", ai_range[1]))
    if not lo < hi:
        raise ValueError(f"ai_range must be (low, high) with low < high, got {ai_range!r}")
    ai = np.geomspace(lo, hi, 200)
    ax = plots.new_axes(ax, figsize=(7.5, 4.8))
    notes = []
    with plots.style():
        for i, (label, pair) in enumerate(machines.items()):
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise ValueError(f"machines[{label!r}] must be (peak_flops, bandwidth_Bps), "
                                 f"got {pair!r}")
            peak = _positive(f"peak_flops of {label!r}", pair[0])
            bw = _positive(f"bandwidth_Bps of {label!r}", pair[1])
            y, why = _model_values(roof, (ai, peak, bw), "roof", ai.shape)
            color = plots.COLORS[i % len(plots.COLORS)]
            if y is None:
                notes.append(why)
                break
            ax.loglog(ai, y, color=color,
                      label=f"{label}: {peak / 1e9:.3g} GFLOP/s, {bw / 1e9:.3g} GB/s")
            ridge = peak / bw
            if lo <= ridge <= hi:
                ax.plot([ridge], [peak], marker="|", markersize=14, color=color)
        markers = "osD^vP*X"
        for j, (label, pair) in enumerate((kernels or {}).items()):
            x, yk = (np.atleast_1d(np.asarray(v, dtype=float)) for v in pair)
            if x.shape != yk.shape:
                raise ValueError(f"kernels[{label!r}]: ai and FLOP/s must have the same shape, "
                                 f"got {x.shape} and {yk.shape}")
            ax.loglog(x, yk, marker=markers[j % len(markers)], linestyle=":" if x.size > 1
                      else "none", color=plots.COLORS[(j + 2) % len(plots.COLORS)], label=label)
        ax.set_xlabel("arithmetic intensity (FLOPs per byte of memory traffic)")
        ax.set_ylabel("FLOP/s")
        ax.set_title(title)
        if notes:
            ax.text(0.02, 0.98, "\n".join(notes), transform=ax.transAxes, va="top",
                    color=plots.COLORS[3])
        ax.legend(fontsize=8, loc="lower right")
    return ax



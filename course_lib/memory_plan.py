"""Memory plans: a transformer on a cluster, every (dp, tp, pp), memory and step time.

:class:`Model` describes a transformer to train, :class:`Cluster` the machines (bandwidths
in GB/s, named ``_GBps``), and :func:`plan` tabulates the memory per GPU and the predicted
step time of every (dp, tp, pp) from **your** memory, bubble and activation formulas
(notebook 06, section 8). A first-order model, not a simulator: its docstring lists its
assumptions.

numpy is the only import at module level; pandas is imported by :func:`plan`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._validate import check_positive as _check_positive

__all__ = ["Cluster", "Model", "plan"]


@dataclass(frozen=True)
class Model:
    """A transformer to train: ``n_params`` parameters, ``layers`` layers of width
    ``hidden`` with ``heads`` attention heads, sequences of ``seq_len`` tokens,
    ``global_batch`` sequences per step, cut into micro-batches of
    ``micro_batch`` sequences.

    >>> Model(n_params=1.3e9, layers=24, hidden=2048, heads=16, seq_len=1024, global_batch=512)
    Model(n_params=1300000000.0, layers=24, hidden=2048, heads=16, seq_len=1024, \
global_batch=512, micro_batch=1)
    """

    n_params: float
    layers: int
    hidden: int
    heads: int
    seq_len: int
    global_batch: int
    micro_batch: int = 1


@dataclass(frozen=True)
class Cluster:
    """``nodes`` machines of ``gpus_per_node`` GPUs with ``gpu_memory_gb`` GB each
    (1 GB = 1e9 B) and a peak of ``gpu_tflops`` TFLOP/s (16-bit); ``intra_GBps`` and
    ``inter_GBps`` are the bandwidths in **gigabytes** per second (GB/s, not Gb/s) per GPU,
    one direction, inside a node (NVLink) and between nodes (the network: 25 GB/s is one
    200 Gb/s InfiniBand link).

    >>> Cluster(nodes=4, gpus_per_node=8, gpu_memory_gb=80, gpu_tflops=312, intra_GBps=300,
    ...         inter_GBps=25).gpus
    32
    """

    nodes: int
    gpus_per_node: int
    gpu_memory_gb: float
    gpu_tflops: float
    intra_GBps: float
    inter_GBps: float

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node


def _ring_seconds(nbytes: float, n: int, GBps: float) -> float:
    """A ring all-reduce of ``nbytes`` over ``n`` ranks: 2 (n − 1) / n · bytes / bandwidth."""
    return 0.0 if n <= 1 else 2 * (n - 1) / n * nbytes / (GBps * 1e9)


def _activation_gb(seq_len, micro_batch, hidden, heads, layers=1, tp=1,
                   sequence_parallel=False, recompute=False) -> float:
    """Korthikanti et al. (2022): activations of ``layers`` transformer layers for one
    micro-batch, GB (the planner's default; notebook 06's ``activation_memory_gb``)."""
    s, b, h, a = seq_len, micro_batch, hidden, heads
    if recompute:
        per_layer = 2 * s * b * h / (tp if sequence_parallel else 1)
    elif sequence_parallel:
        per_layer = s * b * h * (34 + 5 * a * s / h) / tp
    else:
        per_layer = s * b * h * (10 + 24 / tp + 5 * a * s / (h * tp))
    return layers * per_layer / 1e9


def plan(model: Model, cluster: Cluster, memory_gb: Callable, bubble: Callable,
         activation_gb: Callable | None = None, zero_stage: int = 0, recompute: bool = False,
         efficiency: float = 0.5):
    """Memory per GPU and predicted step time for every (dp, tp, pp) with dp · tp · pp = GPUs.

    Parameters
    ----------
    memory_gb : callable
        ``memory_gb(n_params, dp, tp, pp, zero_stage)``: GB per GPU for
        weights, gradients and optimizer state (notebook 06's
        ``training_memory_gb``).
    bubble : callable
        ``bubble(p, m)``: the idle fraction of a pipeline of p stages and m
        micro-batches (notebook 06's ``bubble_fraction``).
    activation_gb : callable, optional
        ``activation_gb(seq_len, micro_batch, hidden, heads, layers=, tp=,
        recompute=)``: GB of activations of ``layers`` layers for one micro-batch
        (notebook 06's ``activation_memory_gb``); default Korthikanti et al.'s formula.
    zero_stage : int
        ZeRO stage 0–3 across the dp replicas.
    recompute : bool
        Keep only each layer's input and recompute the rest in the backward
        pass (less memory, one more forward pass: 8 instead of 6 FLOPs per
        parameter and token).
    efficiency : float
        Fraction of the peak FLOP/s the GPUs sustain on the model's matrix
        products.

    The model, and its assumptions (a first-order model, not a simulator):

    * Only plans with tp within a node (tp ≤ gpus_per_node), pp dividing the
      layers and dp dividing the global batch into whole micro-batches.
    * Activations per GPU: ``activation_gb`` of (layers / pp) layers × min(pp, m)
      micro-batches in flight (1F1B); by default s·b·h·(10 + 24/tp + 5·a·s/(h·tp))
      bytes per layer and micro-batch (Korthikanti et al. 2022, no sequence
      parallelism), or 2·s·b·h bytes with ``recompute``.
    * Compute: 6 (8 with recompute) · N · tokens FLOPs, spread evenly over the GPUs.
    * Tensor parallelism: 4 all-reduces of s·b·h 16-bit values per layer and
      micro-batch (2 forward, 2 backward), over NVLink, not overlapped.
    * Pipeline: m micro-batches per replica; each stage sends a micro-batch's
      s·b·h 16-bit activations forward and their gradients back (over the
      network once tp · pp spans nodes); time = m · t_mb / (1 − bubble(pp, m)),
      t_mb being a stage's compute and communication per micro-batch.
    * Data parallelism: one ring all-reduce of the 16-bit gradients of a
      GPU's share of the model (× 1.5 with ZeRO-3), over the network when the
      replicas span nodes, not overlapped with compute.
    * Not modelled: GPUs running less efficiently on small matrices (large tp,
      small micro-batches), overlap of communication with compute,
      hierarchical all-reduce, sequence parallelism, memory fragmentation and buffers.

    Returns a pandas DataFrame, one row per plan, the fitting ones first and
    the fastest first among them: ``dp, tp, pp, m`` (micro-batches per
    replica), ``model_gb`` (from ``memory_gb``), ``activations_gb``,
    ``total_gb``, ``fits``, ``compute_s``, ``tp_comm_s``, ``pp_comm_s``,
    ``bubble``, ``dp_comm_s``, ``step_s`` and ``tokens_per_s``.

    >>> tiny = Model(n_params=1e9, layers=4, hidden=1024, heads=8, seq_len=512, global_batch=8)
    >>> two = Cluster(nodes=1, gpus_per_node=2, gpu_memory_gb=16, gpu_tflops=100,
    ...               intra_GBps=100, inter_GBps=10)
    >>> table = plan(tiny, two, memory_gb=lambda n, dp, tp, pp, z: 16 * n / (tp * pp) / 1e9,
    ...              bubble=lambda p, m: (p - 1) / (m + p - 1))
    >>> table[["dp", "tp", "pp", "model_gb", "fits"]].values.tolist()
    [[1, 2, 1, 8.0, True], [1, 1, 2, 8.0, True], [2, 1, 1, 16.0, False]]
    """
    import pandas as pd

    if not callable(memory_gb) or not callable(bubble):
        raise TypeError("memory_gb and bubble must be functions (pass training_memory_gb "
                        "and bubble_fraction)")
    activation_gb = _activation_gb if activation_gb is None else activation_gb
    if not callable(activation_gb):
        raise TypeError("activation_gb must be a function (pass activation_memory_gb)")
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3, got {zero_stage!r}")
    efficiency = _check_positive(efficiency, "efficiency")
    M, C = model, cluster
    G = C.gpus
    s, h, a, L = M.seq_len, M.hidden, M.heads, M.layers
    tokens = M.global_batch * s
    flops_per_token = (8 if recompute else 6) * M.n_params
    rows = []
    for tp in range(1, min(G, C.gpus_per_node) + 1):
        for pp in range(1, G // tp + 1):
            if G % (tp * pp) or L % pp:
                continue
            dp = G // (tp * pp)
            if M.global_batch % (dp * M.micro_batch):
                continue
            m = M.global_batch // (dp * M.micro_batch)
            sbh = s * M.micro_batch * h
            act_gb = min(pp, m) * float(activation_gb(s, M.micro_batch, h, a, layers=L // pp,
                                                      tp=tp, recompute=recompute))
            model_gb = float(memory_gb(M.n_params, dp, tp, pp, zero_stage))
            compute_mb = flops_per_token * M.micro_batch * s / (tp * pp) \
                / (C.gpu_tflops * 1e12 * efficiency)
            tp_mb = (L / pp) * 4 * _ring_seconds(2 * sbh, tp, C.intra_GBps)
            pp_bw = C.intra_GBps if tp * pp <= C.gpus_per_node else C.inter_GBps
            pp_mb = 0.0 if pp == 1 else 2 * 2 * sbh / (pp_bw * 1e9)  # send forward and back
            b = float(bubble(pp, m))
            pipe_s = m * (compute_mb + tp_mb + pp_mb) / (1 - b)
            dp_bw = C.intra_GBps if G <= C.gpus_per_node else C.inter_GBps
            dp_s = _ring_seconds(2 * M.n_params / (tp * pp), dp, dp_bw) * \
                (1.5 if zero_stage == 3 else 1.0)
            step = pipe_s + dp_s
            total = model_gb + act_gb
            rows.append({"dp": dp, "tp": tp, "pp": pp, "m": m, "model_gb": model_gb,
                         "activations_gb": act_gb, "total_gb": total,
                         "fits": bool(total <= C.gpu_memory_gb), "compute_s": m * compute_mb,
                         "tp_comm_s": m * tp_mb, "pp_comm_s": m * pp_mb, "bubble": b,
                         "dp_comm_s": dp_s,
                         "step_s": step, "tokens_per_s": tokens / step})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    return df.sort_values(["fits", "step_s"], ascending=[False, True]).reset_index(drop=True)

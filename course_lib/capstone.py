"""The capstone: a training run's time, utilisation and energy from the course's models
(notebook 08, section 5), and the published figures to compare with (:data:`LLAMA2`).

:func:`estimate_training_run` puts compute, a pipeline bubble and an all-reduce
together; the three models are arguments (the learner's own), so no exercise's answer
lives here.

>>> LLAMA2["models"]["70B"]
(70000000000.0, 1720320)
"""

from __future__ import annotations

from collections.abc import Callable

from ._model_args import positive as _positive

__all__ = ["LLAMA2", "estimate_training_run"]

#: Llama 2 pretraining as published: parameters (nominal), A100-80GB GPU-hours.
LLAMA2 = {
    "models": {"7B": (7e9, 184_320), "13B": (13e9, 368_640), "34B": (34e9, 1_038_336),
               "70B": (70e9, 1_720_320)},
    "tokens": 2.0e12,  # pretraining tokens, every size
    "batch_tokens": 4 * 2**20,  # global batch of 4M tokens ...
    "seq_len": 4096,  # ... of sequences of 4096 tokens
    "power_w": 400,  # per-GPU power cap on Meta's Research Super Cluster
    "source": "Touvron et al., Llama 2: Open Foundation and Fine-Tuned Chat Models, 2023, "
              "arXiv:2307.09288 (Table 1; Table 2 and section 2.2.1)",
}


def estimate_training_run(n_params: float, n_tokens: float, *, flops: Callable,
                          bubble: Callable, allreduce: Callable, n_gpus: int,
                          peak_flops: float, efficiency: float, tensor_parallel: int,
                          pipeline_parallel: int, batch_tokens: float, seq_len: int,
                          link_Bps: float, alpha_s: float, grad_bytes_per_param: float = 2.0,
                          power_w: float = 400.0) -> dict:
    """Time and energy of a training run from the course's models (you pass the models).

    The run trains ``n_params`` parameters on ``n_tokens`` tokens on
    ``n_gpus`` GPUs split as tensor parallel x pipeline parallel x data
    parallel (``dp = n_gpus / (tensor_parallel * pipeline_parallel)``), with a
    global batch of ``batch_tokens`` tokens in sequences of ``seq_len``.

    * ``flops(n_params, n_tokens)``: training FLOPs (notebook 08's ``training_flops``);
    * ``bubble(p, m)``: the idle fraction of a pipeline of p stages running m
      micro-batches (notebook 06);
    * ``allreduce(n_bytes, p, alpha_s, beta_Bps)``: seconds to all-reduce
      ``n_bytes`` over p GPUs (notebook 07's α–β model).

    Per step, each GPU computes ``flops(n_params, batch_tokens) / n_gpus``
    FLOPs at ``efficiency * peak_flops``; the pipeline stretches that by
    1 / (1 - bubble), with one sequence per micro-batch (m = batch sequences /
    dp); then the data-parallel replicas all-reduce their gradient shard
    (``n_params / (tensor_parallel * pipeline_parallel)`` parameters of
    ``grad_bytes_per_param`` bytes), not overlapped with compute. Energy counts
    the GPUs only, at ``power_w`` each.

    Returns a dict of floats: ``total_flops``, ``dp``, ``steps``,
    ``micro_batches``, ``compute_s``, ``bubble_fraction``, ``pipeline_s``,
    ``allreduce_s``, ``step_s`` (seconds per step), ``days``, ``gpu_hours``,
    ``mfu`` (model FLOPs utilisation: total_flops / (GPU-seconds x peak)) and
    ``energy_mwh``.

    >>> est = estimate_training_run(
    ...     1e9, 1e12, flops=lambda N, D: 6 * N * D, bubble=lambda p, m: (p - 1) / (m + p - 1),
    ...     allreduce=lambda n, p, a, b: 2 * (p - 1) * a + 2 * (p - 1) / p * n / b,
    ...     n_gpus=64, peak_flops=312e12, efficiency=0.5, tensor_parallel=1,
    ...     pipeline_parallel=1, batch_tokens=2**20, seq_len=2048, link_Bps=25e9, alpha_s=1e-5)
    >>> est["bubble_fraction"], round(est["gpu_hours"])
    (0.0, 13375)
    """
    n_params = _positive("n_params", n_params)
    n_tokens = _positive("n_tokens", n_tokens)
    n_gpus = _positive("n_gpus", n_gpus, integer=True)
    tp = _positive("tensor_parallel", tensor_parallel, integer=True)
    pp = _positive("pipeline_parallel", pipeline_parallel, integer=True)
    if n_gpus % (tp * pp):
        raise ValueError(f"n_gpus = {n_gpus} must be a multiple of tensor_parallel x "
                         f"pipeline_parallel = {tp * pp}")
    peak_flops = _positive("peak_flops", peak_flops)
    efficiency = _positive("efficiency", efficiency)
    if efficiency > 1:
        raise ValueError(f"efficiency must be in (0, 1], got {efficiency!r}")
    batch_tokens = _positive("batch_tokens", batch_tokens)
    seq_len = _positive("seq_len", seq_len, integer=True)
    link_Bps = _positive("link_Bps", link_Bps)
    alpha_s = _positive("alpha_s", alpha_s, inclusive=True)
    grad_bytes = _positive("grad_bytes_per_param", grad_bytes_per_param)
    power_w = _positive("power_w", power_w)
    dp = n_gpus // (tp * pp)
    total = float(flops(n_params, n_tokens))
    steps = n_tokens / batch_tokens
    compute_s = float(flops(n_params, batch_tokens)) / n_gpus / (efficiency * peak_flops)
    m = batch_tokens / seq_len / dp
    if m < 1:
        raise ValueError(f"the batch ({batch_tokens:g} tokens = {batch_tokens / seq_len:g} "
                         f"sequences) is smaller than dp = {dp}: every replica needs a sequence")
    bubble_fraction = float(bubble(pp, m))
    if not 0 <= bubble_fraction < 1:
        raise ValueError(f"bubble({pp}, {m:g}) returned {bubble_fraction!r}: expected a "
                         f"fraction in [0, 1)")
    pipeline_s = compute_s / (1 - bubble_fraction)
    allreduce_s = float(allreduce(n_params / (tp * pp) * grad_bytes, dp, alpha_s, link_Bps)) \
        if dp > 1 else 0.0
    step_s = pipeline_s + allreduce_s
    wall_s = steps * step_s
    gpu_hours = wall_s * n_gpus / 3600
    return {"total_flops": total, "dp": float(dp), "steps": steps, "micro_batches": m,
            "compute_s": compute_s, "bubble_fraction": bubble_fraction,
            "pipeline_s": pipeline_s, "allreduce_s": allreduce_s, "step_s": step_s,
            "days": wall_s / 86400, "gpu_hours": gpu_hours,
            "mfu": total / (gpu_hours * 3600 * peak_flops),
            "energy_mwh": gpu_hours * power_w / 1e6}

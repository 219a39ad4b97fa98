"""Tests of course_lib.capstone: the training-run estimate and Llama 2's figures."""

import math

import pytest

from course_lib import capstone


# Test doubles: the library holds none of notebook 08's answers, so the tests bring their own.
def _flops(N, D):
    return 6 * N * D


def _bubble(p, m):
    return (p - 1) / (m + p - 1)


def _ring(n_bytes, p, alpha, beta):
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * n_bytes / beta


def test_llama2_figures_are_the_paper_s():
    hours = {k: h for k, (_, h) in capstone.LLAMA2["models"].items()}
    assert hours == {"7B": 184_320, "13B": 368_640, "34B": 1_038_336, "70B": 1_720_320}
    assert "2307.09288" in capstone.LLAMA2["source"]


def _llama70(**overrides):
    kwargs = dict(flops=_flops, bubble=_bubble, allreduce=_ring, n_gpus=2048,
                  peak_flops=312e12, efficiency=0.6, tensor_parallel=8, pipeline_parallel=4,
                  batch_tokens=4 * 2**20, seq_len=4096, link_Bps=25e9, alpha_s=10e-6)
    kwargs.update(overrides)
    return capstone.estimate_training_run(70e9, 2e12, **kwargs)


def test_estimate_training_run_puts_the_parts_together():
    est = _llama70()
    assert est["total_flops"] == 6 * 70e9 * 2e12
    assert est["dp"] == 64 and est["micro_batches"] == 16
    assert math.isclose(est["bubble_fraction"], 3 / 19)
    assert math.isclose(est["compute_s"], 6 * 70e9 * 4 * 2**20 / 2048 / (0.6 * 312e12))
    assert math.isclose(est["pipeline_s"], est["compute_s"] * 19 / 16)
    assert math.isclose(est["allreduce_s"], _ring(70e9 / 32 * 2, 64, 10e-6, 25e9))
    assert math.isclose(est["step_s"], est["pipeline_s"] + est["allreduce_s"])
    assert math.isclose(est["gpu_hours"], est["steps"] * est["step_s"] * 2048 / 3600)
    assert math.isclose(est["mfu"], est["total_flops"] / (est["gpu_hours"] * 3600 * 312e12))
    assert math.isclose(est["energy_mwh"], est["gpu_hours"] * 400 / 1e6)
    assert 0.4 < est["mfu"] < 0.6  # below the kernels' 60 %: bubble and all-reduce
    # without pipeline or data parallelism, utilisation is the kernels' efficiency
    solo = _llama70(n_gpus=8, tensor_parallel=8, pipeline_parallel=1)
    assert solo["allreduce_s"] == 0.0 and math.isclose(solo["mfu"], 0.6)


def test_estimate_training_run_checks_its_arguments():
    for overrides, match in (({"n_gpus": 100}, "multiple"), ({"efficiency": 1.5}, "efficiency"),
                             ({"n_gpus": 2**16, "pipeline_parallel": 1}, "smaller than dp"),
                             ({"bubble": lambda p, m: 1.0}, "fraction"),
                             ({"peak_flops": -1}, "peak_flops")):
        with pytest.raises(ValueError, match=match):
            _llama70(**overrides)

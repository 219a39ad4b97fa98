"""course_lib.memory_plan (the planner), and the split of course_lib.training into one module
per concept. The exercises' answers are not in course_lib: the reference formulas the planner
needs are defined here."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import memory_plan, pipeline, tensor_parallel, training


def ref_memory(n_params, dp=1, tp=1, pp=1, zero_stage=0):
    n = n_params / (tp * pp)
    w, g, o = 2 * n, 2 * n, 12 * n
    if zero_stage >= 1:
        o /= dp
    if zero_stage >= 2:
        g /= dp
    if zero_stage >= 3:
        w /= dp
    return (w + g + o) / 1e9


def ref_bubble(p, m):
    return (p - 1) / (m + p - 1)


MODEL = memory_plan.Model(n_params=13e9, layers=40, hidden=5120, heads=40, seq_len=2048,
                       global_batch=256, micro_batch=1)


CLUSTER = memory_plan.Cluster(nodes=4, gpus_per_node=8, gpu_memory_gb=80, gpu_tflops=312,
                           intra_GBps=300, inter_GBps=25)


def test_plan_enumerates_every_valid_plan_with_the_functions_given():
    table = memory_plan.plan(MODEL, CLUSTER, ref_memory, ref_bubble)
    assert CLUSTER.gpus == 32
    assert (table.dp * table.tp * table.pp == 32).all()
    assert (table.tp <= 8).all() and (40 % table.pp == 0).all()
    expected = {(dp, tp, pp) for tp in range(1, 9) for pp in range(1, 33) for dp in range(1, 33)
                if dp * tp * pp == 32 and 40 % pp == 0 and 256 % dp == 0}
    assert set(zip(table.dp, table.tp, table.pp, strict=True)) == expected
    assert list(table.fits) == sorted(table.fits, reverse=True)  # fitting plans first
    fitting = table[table.fits]
    assert list(fitting.step_s) == sorted(fitting.step_s)
    assert (table.fits == (table.total_gb <= 80)).all()
    row = table[(table.dp == 32) & (table.tp == 1)].iloc[0]
    assert row.model_gb == pytest.approx(208.0) and not row.fits
    assert row.bubble == 0 and row.tp_comm_s == 0 and row.pp_comm_s == 0
    assert (table.m == 256 // table.dp).all()
    assert np.allclose(table.bubble,
                       [ref_bubble(p, m) for p, m in zip(table.pp, table.m, strict=True)])
    assert np.allclose(table.tokens_per_s, 256 * 2048 / table.step_s)


def test_plan_recompute_zero_and_errors():
    base = memory_plan.plan(MODEL, CLUSTER, ref_memory, ref_bubble).set_index(["dp", "tp", "pp"])
    rc = memory_plan.plan(MODEL, CLUSTER, ref_memory, ref_bubble, recompute=True) \
        .set_index(["dp", "tp", "pp"]).loc[base.index]
    assert (rc.activations_gb < base.activations_gb).all()
    assert np.allclose(rc.compute_s, base.compute_s * 8 / 6)
    z3 = memory_plan.plan(MODEL, CLUSTER, ref_memory, ref_bubble, zero_stage=3) \
        .set_index(["dp", "tp", "pp"]).loc[base.index]
    assert np.allclose(z3.dp_comm_s, 1.5 * base.dp_comm_s)
    calls = []

    def spy_memory(*args):
        calls.append(args)
        return 1.0

    memory_plan.plan(MODEL, CLUSTER, spy_memory, ref_bubble, zero_stage=2)
    assert calls and all(len(a) == 5 and a[0] == 13e9 and a[4] == 2 for a in calls)
    with pytest.raises(ValueError, match="zero_stage"):
        memory_plan.plan(MODEL, CLUSTER, ref_memory, ref_bubble, zero_stage=5)
    with pytest.raises(TypeError):
        memory_plan.plan(MODEL, CLUSTER, 16, ref_bubble)


def test_training_still_exports_what_the_notebooks_use():
    assert training.plan is memory_plan.plan and training.Cluster is memory_plan.Cluster
    assert training.check_schedule is pipeline.check_schedule
    assert training.recording is tensor_parallel.recording


def test_cluster_bandwidths_are_named_in_gigabytes_per_second():
    c = memory_plan.Cluster(nodes=1, gpus_per_node=2, gpu_memory_gb=16, gpu_tflops=100,
                            intra_GBps=100, inter_GBps=10)
    assert c.intra_GBps == 100 and not hasattr(c, "intra_gbps")


def test_plan_uses_the_activation_function_given():
    model = memory_plan.Model(n_params=1e9, layers=4, hidden=1024, heads=8, seq_len=512,
                              global_batch=8)
    two = memory_plan.Cluster(nodes=1, gpus_per_node=2, gpu_memory_gb=16, gpu_tflops=100,
                              intra_GBps=100, inter_GBps=10)
    calls = []

    def act(s, b, h, a, layers=1, tp=1, sequence_parallel=False, recompute=False):
        calls.append((s, b, h, a, layers, tp, recompute))
        return 0.5 * layers

    table = memory_plan.plan(model, two, lambda n, dp, tp, pp, z: 1.0, lambda p, m: 0.0,
                             activation_gb=act, recompute=True)
    assert (512, 1, 1024, 8, 2, 1, True) in calls  # pp = 2: 2 layers per stage
    row = table[(table.pp == 2)].iloc[0]
    assert row.activations_gb == pytest.approx(min(2, row.m) * 0.5 * 2)
    default = memory_plan.plan(model, two, lambda n, dp, tp, pp, z: 1.0, lambda p, m: 0.0)
    sbh = 512 * 1024
    one = default[(default.tp == 1) & (default.pp == 1)].iloc[0]
    assert one.activations_gb == pytest.approx(4 * sbh * (34 + 5 * 8 * 512 / 1024) / 1e9)
    with pytest.raises(TypeError, match="activation_gb"):
        memory_plan.plan(model, two, lambda *a: 1.0, lambda p, m: 0.0, activation_gb=3)

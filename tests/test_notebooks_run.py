"""Every master, graded once as a submission (tests/graded.py), under Binder's limits.

One run per master per test session answers all of: it runs top to bottom with its
solutions; every test cell passes (full marks, through the course's own sandboxed
grading); no cell writes to stderr (which nbgrader scores 0); and it fits Binder's
limits, one CPU and 2 GiB for the notebook and everything it starts (Ray included),
with the peak memory read from the cgroup. Grading leaves no process behind, Ray's
included. (Untouched student notebooks scoring 0: tests/test_wrong_answers.py judges each
exercise's stub; tests/test_instructor.py grades blank submissions end to end.)
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import ASSIGNMENTS
from tests.graded import LIMITS

pytestmark = [pytest.mark.notebook, pytest.mark.grading, pytest.mark.ray]

MEMORY_BUDGET_MB = 2048  # the course's budget for a notebook and its Ray processes: Binder's


def _code_cells(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id")), cell


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_master_runs_and_its_tests_pass(graded_class, name):
    r = graded_class.result(name)
    assert r.status == "ok", f"{name}: graded {r.status}: {r.reason}"
    nb = graded_class.executed(name)
    tests = [gid for gid, cell in _code_cells(nb) if cell.metadata.get("nbgrader", {}).get(
        "grade")]
    assert tests, f"{name} has no test cells"
    for gid, cell in _code_cells(nb):
        assert cell.execution_count is not None, f"{name}: cell {gid} was not executed"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{name}: cell {gid} raised {errors[0].ename}: {errors[0].evalue}"
        stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, f"{name}: cell {gid} wrote to stderr: {''.join(stderr)[:500]}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_master_earns_full_marks(graded_class, name):
    """Every autograded cell at its full points (the written answers are graded by hand)."""
    cells = graded_class.autograded_cells(name)
    assert cells, f"{name}: no autograded cells"
    lost = {gid: f"{score:g}/{most:g}" for gid, (score, most) in cells.items() if score < most}
    assert not lost, f"{name}: the solutions lose marks in {lost}"
    assert graded_class.result(name).cells == {gid: s for gid, (s, _) in cells.items()}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_notebook_runs_in_2_gb_on_one_cpu(graded_class, name):
    """Binder's limits: a slot of one CPU, a memory cgroup of 2 GiB; going over it makes the
    OOM killer stop the notebook (status ``memory``). The cgroup's own peak is checked
    against the budget (on cgroup v1 it counts the page cache too, which the kernel
    reclaims before killing anything, so the peak can reach the limit without harm: the
    status is the verdict, the peak the figure to watch)."""
    if graded_class.sandbox_off:
        if os.environ.get("AUTOGRADE_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"Binder's limits not tested: {graded_class.sandbox_off}")
        pytest.skip(f"Binder's limits not tested without the sandbox: {graded_class.sandbox_off}")
    assert LIMITS.memory_mb == MEMORY_BUDGET_MB and graded_class.cpus_per_job == 1
    r = graded_class.result(name)
    assert r.status != "memory", f"{name}: {r.reason}"
    assert r.status == "ok", f"{name} under Binder's limits: {r.status}: {r.reason}"
    assert 0 < r.peak_memory_mb <= MEMORY_BUDGET_MB, (
        f"{name}: peak memory {r.peak_memory_mb} MiB (the cgroup's record)")


def test_grading_leaves_no_process_behind(graded_class):
    assert not graded_class.leftovers, f"processes left: {graded_class.leftovers}"


def test_grading_checks_that_ray_tasks_run_side_by_side(graded_class):
    """A grading slot has one CPU, but Ray gets two logical CPUs there (COURSE_RAY_CPUS):
    notebook 03's checks that tasks run side by side ran when its master was graded, not
    skipped with "fewer than 2 CPUs" (where a ray.get loop would pass)."""
    name = "03_task_parallelism_ray"
    skipped = [gid for gid, cell in _code_cells(graded_class.executed(name))
               for o in cell.outputs if o.output_type == "stream" and "not checked" in o.text]
    assert graded_class.cpus_per_job == 1
    assert not skipped, f"{name}: graded without its concurrency checks in {skipped}"

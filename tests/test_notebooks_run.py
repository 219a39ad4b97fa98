"""Every master runs top to bottom with its solutions, and every test cell in it
passes: executed, not skipped, and silent on stderr (which nbgrader would score 0)."""

from __future__ import annotations

import pytest

from autograde import course
from tests.conftest import ASSIGNMENTS
from tests.nbrun import run_notebook

pytestmark = pytest.mark.notebooks

MEMORY_BUDGET = 2 * 2**30  # bytes: the course's budget for a notebook and its Ray processes


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_master_runs_and_its_tests_pass(name):
    nb, seconds, peak = run_notebook(course.master_path(name))
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
             and c.cell_type == "code"]
    assert tests, f"{name} has no test cells"
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id"))
        assert cell.execution_count is not None, f"{name}: cell {gid} was not executed"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{name}: cell {gid} raised {errors[0].ename}: {errors[0].evalue}"
        stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, f"{name}: cell {gid} wrote to stderr: {''.join(stderr)[:500]}"
    assert peak <= MEMORY_BUDGET, f"{name}: peak memory {peak / 2**20:.0f} MiB over the budget"

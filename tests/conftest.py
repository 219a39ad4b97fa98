"""Shared fixtures: a headless matplotlib, figures closed after each test, and
the list of notebooks (masters and student versions)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("MPLBACKEND", "Agg")
# The machine profile caches its measurements under $XDG_CACHE_HOME: keep the tests (and the
# notebook kernels they start, which inherit this) out of the real home.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="pms-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)

import pytest  # noqa: E402

from autograde import course  # noqa: E402

ASSIGNMENTS = course.assignments()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def pytest_terminal_summary(terminalreporter):
    """Print the notebook run times and peak memory measured by test_notebooks_run, and how
    many wrong answers the hidden tests alone catch (test_wrong_answers)."""
    import sys

    wrong = sys.modules.get("tests.test_wrong_answers")
    if wrong is not None and wrong.REPORT:
        rows = wrong.REPORT.values()
        hidden_only = sum(1 for _, visible, graded in rows if graded and not visible)
        terminalreporter.section("wrong answers to the exercises")
        terminalreporter.write_line(
            f"{sum(1 for *_, graded in rows if graded)} of {len(rows)} fail grading; "
            f"{hidden_only} of them pass the visible tests and only the hidden ones catch them "
            f"(table: {wrong.ARTIFACT.relative_to(wrong.ARTIFACT.parents[2])})")

    from tests.nbrun import REPORT

    if REPORT:
        terminalreporter.section("notebooks: run time and peak memory (this machine)")
        for name, row in sorted(REPORT.items()):
            terminalreporter.write_line(
                f"{name:<28} {row['seconds']:6.1f} s   peak {row['peak_mib']:7.0f} MiB"
                f"   (PSS of the kernel and its child processes)")

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
# The hidden tests' random cases (course_lib.cases): one fixed seed for the whole suite, so a
# run repeats; grading sets its own per student, and tests that compare seeds set theirs
os.environ.setdefault("COURSE_CASE_SEED", "course-tests")

import pytest  # noqa: E402

from autograde import course  # noqa: E402

ASSIGNMENTS = course.assignments()

pytest_plugins = ["tests.suite_policy",  # markers' timeouts, skips under CI, the skip report
                  "tests.ordering"]  # the quick tests first, beside the Ray judges


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """Every master graded once, as a submission, under Binder's limits (tests/graded.py)."""
    from tests import graded

    global _GRADED
    _GRADED = graded.grade_the_masters(tmp_path_factory.mktemp("graded") / "course")
    return _GRADED


_GRADED = None


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def pytest_terminal_summary(terminalreporter):
    """Print the notebooks' grading times and peak memory (the ``graded_class`` fixture), and
    how many wrong answers the hidden tests alone catch (test_wrong_answers)."""
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

    if _GRADED is not None:
        g = _GRADED
        terminalreporter.section("notebooks graded once: time and peak memory (this machine)")
        terminalreporter.write_line(
            f"{len(g.results)} submissions in {g.seconds:.0f} s, {g.cpus_per_job} CPU each, "
            + (f"sandbox OFF: {g.sandbox_off}" if g.sandbox_off else "sandboxed, 2 GiB each"))
        for (student, name), r in sorted(g.results.items(), key=lambda kv: kv[0][::-1]):
            terminalreporter.write_line(
                f"{name:<28} {student:<7} {r.seconds:6.1f} s   peak {r.peak_memory_mb:5d} MiB"
                f"   {r.score:g}/{r.max_score:g} {r.status}")

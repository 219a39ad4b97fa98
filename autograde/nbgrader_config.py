# nbgrader configuration of the course (the one source: the instructor's
# `nbgrader ...` commands run in autograde/ read it, and so do
# `python -m autograde` and the tests, through autograde.course).
import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "parallel-ml-systems"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"

# What a student sees where a solution was.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Notebooks that start Ray take ~10-15 s in their first cell on 2 cores;
# nbgrader's default of 30 s per cell is too tight for a loaded machine.
# (`autograde grade` runs each kernel in its sandbox and takes the per-cell limit from
# autograde.sandbox.Limits.cell_timeout_s, the same 180 s by default.)
c.Execute.timeout = 180
c.Execute.startup_timeout = 120

# nbgrader scores a test cell zero when it writes anything to stderr. Library
# noise (Python warnings, Ray/Modin/numba log lines) must not cost a correct
# solution its marks: drop the stderr outputs that are only that. A failing
# assert is an "error" output, not stderr, so this cannot turn a fail into a pass.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?s)^(\s*(\S*:\d+: \w*Warning: .*"  # warnings.warn(...) as Python prints it
    r"|\(raylet\).*|\(\w+ pid=\d+\).*|\[\d{4}-\d\d-\d\d [^\]]*\].*"  # Ray log lines
    r"|UserWarning: .*|.*NumbaPerformanceWarning.*|.*NumbaDeprecationWarning.*"
    r"|.*FutureWarning.*|.*DeprecationWarning.*))$"
)

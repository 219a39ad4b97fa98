"""The test suite's rules: what a test needs, how long it may take, and no silent skips.

A pytest plugin, registered by ``tests/conftest.py`` (``pytest_plugins``), so it is active
whenever that conftest is: ``pytest`` with no paths (testpaths), or with paths under tests/.
``pytest course_lib autograde`` alone (the doctests) does not load it; add
``-p tests.suite_policy`` then (with ``python -m pytest`` from the repository root).

**Markers** (registered in pyproject.toml, ``--strict-markers``) say what a test needs:
``ray``, ``notebook``, ``grading``, ``browser``, ``cluster``, ``adversarial`` and ``slow``.
``make test-fast`` deselects all of them. Doctests are collected per module
(``--doctest-modules``) and cannot carry a decorator: :data:`DOCTEST_MARKS` gives a
module's doctests their markers by the module's name. (Today none needs one: no doctest in
course_lib or autograde starts Ray, or any process that does, and none takes 5 s.)

**Timeouts** (pytest-timeout). Every test gets one from its markers, the largest of
:data:`TIMEOUTS` that applies (``DEFAULT_TIMEOUT`` for an unmarked test), unless it has its
own ``@pytest.mark.timeout``, or the command line sets one for the whole run
(``--timeout=N``, ``--timeout=0`` for none; or ``PYTEST_TIMEOUT``). The timeout counts the
fixtures' setup too: the first notebook test builds the session fixture that grades every
notebook, which is why ``notebook`` has half an hour.

The method is ``signal`` (pyproject.toml: ``timeout_method``), with a thread as a backstop:

* SIGALRM raises in the main thread, wherever it waits: in ``subprocess.run`` /
  ``Popen.wait`` / ``communicate``, ``time.sleep``, a socket or a lock (Python retries an
  interrupted system call only when the handler returns; ours raises). The test fails like
  any other, its ``finally`` blocks and fixtures' teardowns run (Ray stopped, ``ray start``
  heads terminated, kernels shut down), and the session goes on to the next test. Nothing
  in course_lib, autograde or the tests uses SIGALRM or interval timers for itself, and
  processes forked or spawned by a test do not inherit the timer.
* pytest-timeout's ``thread`` method alone would be robust to a main thread that never
  returns to the interpreter (stuck inside C code that does not check for signals), but it
  ends the whole run with ``os._exit(1)``: no teardown (Ray processes and kernels left
  running), no result for any later test, no summary. So the thread is only the backstop:
  :data:`BACKSTOP_S` seconds after the SIGALRM (time for the failed test's teardown), if the
  test has still not finished, the thread dumps every thread's stack and ends the run, as
  pytest-timeout's thread method does.

``--timeout-method=thread`` on the command line gives pytest-timeout's own thread method.

**Skips.** With ``AUTOGRADE_REQUIRE_SANDBOX=1`` (CI), a test that ends skipped (in its
setup, call or teardown; or a whole module skipped at collection) fails instead, with the
skip's reason: in CI every test must run. An expected failure (xfail) is not a skip and is
left alone; nor is deselection (``-m``, ``-k``, ``--deselect``), which is not a skip: a
deselected test is not run at all. A run with skips ends with a section "skipped tests", one
line per skipped test and its reason (``-ra`` in addopts lists them too, but folds skips
with the same reason and place, where the skip was called, into one line).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback

import pytest

#: the environment variable CI sets: the sandbox, and everything else, must be there
REQUIRE_ENV = "AUTOGRADE_REQUIRE_SANDBOX"

#: seconds a test may take, setup and teardown included, by marker; the largest applies
TIMEOUTS = {
    "slow": 300,
    "ray": 300,
    "grading": 600,
    "adversarial": 600,
    "browser": 600,
    "cluster": 900,
    "notebook": 1800,
}
#: for a test with none of the markers above
DEFAULT_TIMEOUT = 120
#: after a timeout's SIGALRM, how long the test may take to unwind before the run is ended
BACKSTOP_S = 60

#: markers of a module's doctests, by module name (e.g. ``{"course_lib.foo": ("ray",)}``)
DOCTEST_MARKS: dict[str, tuple[str, ...]] = {}

_SKIPPED = pytest.StashKey[list]()


def _required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def _timeout_from_command_line(config: pytest.Config) -> bool:
    """True when ``--timeout`` or ``PYTEST_TIMEOUT`` sets the run's timeout: it wins."""
    try:
        given = config.getoption("timeout")
    except ValueError:  # pytest-timeout not installed
        return True
    return given is not None or bool(os.environ.get("PYTEST_TIMEOUT"))


def timeout_for(item: pytest.Item) -> float:
    """The timeout :func:`pytest_collection_modifyitems` gives ``item``, by its markers."""
    return max([DEFAULT_TIMEOUT] + [s for name, s in TIMEOUTS.items()
                                    if item.get_closest_marker(name) is not None])


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SKIPPED] = []


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        dtest = getattr(item, "dtest", None)  # a doctest: its module's name is in its globals
        if dtest is not None:
            for name in DOCTEST_MARKS.get(dtest.globs.get("__name__", ""), ()):
                item.add_marker(name)
    if _timeout_from_command_line(config):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(timeout_for(item)))


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings) -> bool | None:
    """SIGALRM at the timeout, and a thread that ends the run BACKSTOP_S later."""
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None  # pytest-timeout's own
    import pytest_timeout

    backstop = threading.Timer(settings.timeout + BACKSTOP_S, pytest_timeout.timeout_timer,
                               (item, settings))
    backstop.name = f"suite_policy backstop {item.nodeid}"
    backstop.daemon = True

    def on_alarm(signum, frame):  # pytest_timeout.timeout_sigalrm, less the backstop's stack
        __tracebackhide__ = True
        if not settings.disable_debugger_detection and pytest_timeout.is_debugging():
            return
        others = {t.ident: t.name for t in threading.enumerate()
                  if t is not threading.current_thread() and t is not backstop}
        if others:
            terminal = item.config.get_terminal_writer()
            terminal.sep("+", title="Timeout")
            for ident, stack in sys._current_frames().items():
                if ident in others:
                    terminal.sep("~", title=f"Stack of {others[ident]} ({ident})")
                    terminal.write("".join(traceback.format_stack(stack)))
            terminal.sep("+", title="Timeout")
        pytest.fail(pytest_timeout.PYTEST_FAILURE_MESSAGE % settings.timeout)

    def cancel():
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        backstop.cancel()

    item.cancel_timeout = cancel
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    backstop.start()
    return True


def _skip_reason(report) -> tuple[str, str]:
    """(where, reason) of a skipped report."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, lineno, reason = longrepr
        where = f"{path}:{lineno}" if lineno is not None else str(path)  # 1-based already
    else:
        where, reason = report.nodeid, str(longrepr)
    reason = reason.removeprefix("Skipped: ")
    return where, reason


def _fail_if_required(report, config: pytest.Config) -> None:
    """Record a skip; under CI turn it into a failure that says why."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    where, reason = _skip_reason(report)
    required = _required()
    config.stash[_SKIPPED].append((report.nodeid or where, reason, required))
    if required:
        report.outcome = "failed"
        report.longrepr = (f"skipped under CI ({REQUIRE_ENV}=1): {reason}\n"
                           f"(skip called at {where}; in CI every test must run)")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    _fail_if_required(report, item.config)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector):
    report = yield
    _fail_if_required(report, collector.config)
    return report


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    skipped = config.stash.get(_SKIPPED, [])
    if not skipped:
        return
    terminalreporter.section("skipped tests")
    for nodeid, reason, failed in dict.fromkeys(skipped):  # a module skipped at collection
        # is reported twice (the test module, and its doctests with --doctest-modules)
        terminalreporter.write_line(f"{nodeid}: {reason}"
                                    + (f"  [FAILED: {REQUIRE_ENV}=1]" if failed else ""))

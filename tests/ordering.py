"""The order of a test run, and the Ray judges started in the background.

Notebooks 03's and 04's wrong answers are judged with Ray, each in a subprocess of its own
(:func:`tests.wrong_answers.run_with_ray`): about two minutes on 2 cores, mostly waiting on
Ray tasks that sleep or wait for each other. Once the tests are collected, those judges
start in a background thread, and the run goes in this order:

1. the quick tests (no Ray, notebook, grading, browser, cluster, sandbox or ``slow`` marker:
   ``make test-fast``'s), the other notebooks' wrong-answer judges among them, beside the
   background judges;
2. the tests that read the Ray judges' results (they wait for them, so nothing heavier runs
   beside the judges);
3. everything else, in the order collected.

Within each group the collected order is kept. With ``-k``/``-m`` only what is selected is
run, and a Ray judge starts only when a selected test reads it.
"""

from __future__ import annotations

import pytest

#: markers of tests that are not quick (see the Makefile's FAST_MARKERS)
HEAVY = ("ray", "notebook", "grading", "browser", "cluster", "adversarial", "slow")
JUDGES = "tests/test_wrong_answers.py::"


def _quick(item: pytest.Item) -> bool:
    return not any(item.get_closest_marker(m) for m in HEAVY)


def _reads_a_ray_judge(item: pytest.Item) -> bool:
    return item.nodeid.startswith(JUDGES) and item.get_closest_marker("ray") is not None


def _notebook(item: pytest.Item) -> str | None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    value = params.get("name", params.get("w"))
    return value if isinstance(value, str) else getattr(value, "notebook", None)


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    judged = [i for i in items if _reads_a_ray_judge(i)]
    quick = [i for i in items if _quick(i) and not _reads_a_ray_judge(i)]
    rest = [i for i in items if not _quick(i) and not _reads_a_ray_judge(i)]
    items[:] = quick + judged + rest


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    notebooks = sorted({n for i in session.items if _reads_a_ray_judge(i)
                        for n in [_notebook(i)] if n})
    if notebooks:
        from tests.wrong_answers import judge_in_background

        judge_in_background(notebooks)

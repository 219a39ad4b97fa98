"""The landing page, notebooks/index.ipynb (autograde/index.py): up to date, complete, and
the page that `make lab`, Binder's `start` and the README's Binder badge all open."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autograde import course, index

ROOT = Path(__file__).resolve().parents[1]


def test_the_committed_index_is_up_to_date():
    assert index.index_path().exists(), "notebooks/index.ipynb is missing: " \
        "run `.venv/bin/python -m autograde.index`"
    assert index.index_path().read_text() == index.render(), (
        "notebooks/index.ipynb differs from what autograde/index.py makes of the masters and "
        "README.md's table: run `.venv/bin/python -m autograde.index`")


def test_the_index_lists_every_notebook_in_order_with_a_working_link():
    nb = json.loads(index.index_path().read_text())
    text = "\n".join(c["source"] for c in nb["cells"])
    links = re.findall(r"\]\((\d\d_[a-z0-9_]+\.ipynb)\)", text.split("## The notebooks")[1])
    expected = [f"{name}.ipynb" for name in course.assignments()]
    assert links == expected
    for link in links:
        assert (course.NOTEBOOKS_DIR / link).exists(), link
    for row in index.rows():
        line = next(ln for ln in text.splitlines() if f"({row.name}.ipynb)" in ln
                    and ln.startswith("|"))
        assert row.title in line and row.summary in line, line


def test_the_index_says_how_to_check_ones_work():
    text = "\n".join(c["source"] for c in json.loads(index.index_path().read_text())["cells"])
    for words in ("Restart Kernel and Run All Cells", "Validate",
                  "python -m autograde self-check"):
        assert words in text, f"the index does not mention {words!r}"


def test_the_index_has_no_code_and_no_outputs():
    cells = json.loads(index.index_path().read_text())["cells"]
    assert cells and all(c["cell_type"] == "markdown" for c in cells)


def test_titles_come_from_the_masters():
    assert [r.title for r in index.rows()][:3] == [
        "Welcome to Parallel ML Systems", "Metrics and models", "Dependencies and scaling"]


def test_a_notebook_missing_from_the_readme_table_is_an_error(tmp_path):
    readme = (ROOT / "README.md").read_text()
    broken = tmp_path / "README.md"
    broken.write_text("\n".join(ln for ln in readme.splitlines()
                                if "`02_dependencies_and_scaling`" not in ln))
    with pytest.raises(ValueError, match="no row for 02_dependencies_and_scaling"):
        index.rows(broken)


def test_make_lab_binder_and_the_badge_open_the_index():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LAB_DIR \?= notebooks$", makefile, flags=re.M)
    assert re.search(r"^LAB_URL \?= /lab/tree/index\.ipynb$", makefile, flags=re.M)
    assert "--LabApp.default_url=$(LAB_URL)" in makefile
    start = (ROOT / "start").read_text()
    assert '"default_url": "/lab/tree/notebooks/index.ipynb"' in start
    readme = (ROOT / "README.md").read_text()
    badges = re.findall(r"mybinder\.org/v2/gh/[^)\s]+", readme)
    assert badges and all(b.endswith("?urlpath=lab/tree/notebooks/index.ipynb") for b in badges), \
        badges

"""The course's landing page, ``notebooks/index.ipynb``: generated, so it cannot go stale.

JupyterLab opens on it (``make lab`` and the README's Binder badge both point there). It
lists the notebooks in order, one line each, and says how to check one's work. Each line
is the notebook's title, from the first heading of its master, and what it teaches, from
the table under "## The notebooks" in ``README.md`` (so the README and the index say the
same thing; a notebook missing from that table is an error).

``python -m autograde.index`` rewrites it; ``tests/test_index.py`` fails when the
committed index differs from what this module makes.

>>> [row.name for row in rows()][:2]
['00_welcome', '01_metrics_and_models']
>>> rows()[2].title
'Dependencies and scaling'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import course

__all__ = ["INDEX_NAME", "Row", "index_notebook", "index_path", "rows", "write_index"]

INDEX_NAME = "index.ipynb"
README = course.REPO_DIR / "README.md"
_TABLE_HEADING = "## The notebooks"


@dataclass(frozen=True)
class Row:
    """One notebook of the index: file stem, number, title and what it teaches."""

    name: str  # "02_dependencies_and_scaling"
    number: str  # "02"
    title: str  # "Dependencies and scaling"
    summary: str  # one line, from the README's table


def index_path() -> Path:
    """Where the landing page lives: ``notebooks/index.ipynb``."""
    return course.NOTEBOOKS_DIR / INDEX_NAME


def _title(name: str) -> str:
    """The master's first heading without its number: "# 02 · Dependencies and scaling"."""
    nb = json.loads(course.master_path(name).read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        m = re.search(r"^#\s+(.+)$", src, flags=re.MULTILINE)
        if m:
            return re.sub(r"^\d\d\s*[·.:-]\s*", "", m.group(1).strip())
    raise ValueError(f"{name}: the master has no '# title' heading in a markdown cell")


def _readme_summaries(readme: Path = README) -> dict[str, str]:
    """``{name: what you learn}`` from the README's table of notebooks."""
    text = readme.read_text()
    if _TABLE_HEADING not in text:
        raise ValueError(f"{readme.name} has no '{_TABLE_HEADING}' section with the table "
                         "of notebooks")
    section = text.split(_TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 3 and re.fullmatch(r"`\d\d_[a-z0-9_]+`", cols[1]):
            out[cols[1].strip("`")] = cols[2]
    return out


def rows(readme: Path = README) -> list[Row]:
    """The notebooks in order, each with its title and one-line summary."""
    summaries = _readme_summaries(readme)
    missing = [n for n in course.assignments() if n not in summaries]
    if missing:
        raise ValueError(f"README.md's table under '{_TABLE_HEADING}' has no row for "
                         f"{', '.join(missing)}: add '| NN | `NN_name` | what it teaches |'")
    return [Row(name=n, number=n[:2], title=_title(n), summary=summaries[n])
            for n in course.assignments()]


def _md(cell_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}


def index_notebook(readme: Path = README) -> dict:
    """The landing page as an nbformat 4 notebook (markdown cells only)."""
    table = "\n".join(
        f"| {r.number} | [**{r.title}**]({r.name}.ipynb) | {r.summary} |" for r in rows(readme))
    first = rows(readme)[0].name
    cells = [
        _md("index-welcome",
            "# Parallel ML Systems\n"
            "\n"
            "A course of Jupyter notebooks on making machine-learning systems **fast and "
            "scalable**. Work through the notebooks in order: each one builds on the ones "
            f"before it, and [the first]({first}.ipynb) shows how the course works and checks "
            "your environment. Click a title to open it."),
        _md("index-notebooks",
            "## The notebooks\n"
            "\n"
            "| # | notebook | what you learn |\n"
            "|---|---|---|\n" + table),
        _md("index-how",
            "## How to work through a notebook\n"
            "\n"
            "* Run the cells from the top (**Shift + Enter** runs one and moves on). Each "
            "section goes *predict → measure → explain*: write your prediction down before "
            "you run the experiment.\n"
            "* An exercise is a cell that says `# YOUR CODE HERE`: replace the stub with your "
            "solution, then run the locked cell under it, which holds the **visible tests**. "
            "It prints nothing when your answer passes, and says what it expected when it "
            "does not.\n"
            "* The sliders and menus above some plots redraw them: move them."),
        _md("index-check",
            "## How to check your work\n"
            "\n"
            "1. **Kernel → Restart Kernel and Run All Cells**: every visible test cell must "
            "run without an error.\n"
            "2. **Validate** (the button in the notebook's toolbar) does the same in a fresh "
            "kernel and lists the tests that fail.\n"
            "3. **Grade it yourself, hidden tests included** (the last cell of every notebook "
            "says so too): save the notebook and shut its kernel down (*Kernel → Shut Down "
            "Kernel*: the check runs the notebook again, and two copies of a notebook that "
            "starts Ray may not fit in Binder's 2 GB), open a terminal (*File → New → "
            "Terminal*), go to the folder that holds the notebook and run\n"
            "\n"
            "   ```bash\n"
            f"   python -m autograde self-check {rows(readme)[1].name}.ipynb\n"
            "   ```\n"
            "\n"
            "   It grades the notebook the way the course's grader does (about a minute), "
            "prints your points per test and each failing test's message, and leaves nothing "
            "behind. Written answers are graded by a person and show as `-`.\n"
            "\n"
            "Every notebook runs in a minute or two on 1–2 cores and 2 GB of memory, Binder's "
            "size, one at a time: a notebook that starts Ray uses up to about 1.6 GB with it. "
            "Shut down the kernel of a notebook you have finished (*Kernel → Shut Down "
            "Kernel*) before you open the next. If one stops with a *kernel died* message, "
            "restart its kernel (*Kernel → Restart Kernel*) and run it again from the top."),
    ]
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                           "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(readme: Path = README) -> str:
    """The index as the text written to ``notebooks/index.ipynb``."""
    return json.dumps(index_notebook(readme), indent=1, ensure_ascii=False) + "\n"


def write_index(dest: Path | None = None) -> Path:
    """Write the landing page (default ``notebooks/index.ipynb``); return its path."""
    dest = Path(dest) if dest is not None else index_path()
    dest.write_text(render())
    return dest


if __name__ == "__main__":
    print(f"wrote {write_index().relative_to(course.REPO_DIR)}")

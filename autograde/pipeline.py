"""The nbgrader pipeline, as functions: masters -> student notebooks -> grades.

Each call works in a fresh temporary course folder (a copy of
``autograde/source`` plus a throw-away gradebook), so nothing here writes
into the repository except :func:`release_notebooks`, which rewrites
``notebooks/``. Settings come from ``autograde/nbgrader_config.py``, the same
file the instructor's own ``nbgrader`` commands read.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

AUTOGRADE_DIR = Path(__file__).resolve().parent
REPO_DIR = AUTOGRADE_DIR.parent
SOURCE_DIR = AUTOGRADE_DIR / "source"
NOTEBOOKS_DIR = REPO_DIR / "notebooks"
CONFIG_FILE = AUTOGRADE_DIR / "nbgrader_config.py"

__all__ = [
    "CellGrade",
    "assignments",
    "autograde",
    "generate_student_notebooks",
    "master_path",
    "normalized",
    "release_notebooks",
]


@dataclass(frozen=True)
class CellGrade:
    """The grade nbgrader gave one graded cell."""

    name: str  # the cell's grade_id
    score: float
    max_score: float
    kind: str  # "autograder" (test cell) or "manual" (answer cell)

    @property
    def full(self) -> bool:
        return self.score == self.max_score


def assignments() -> list[str]:
    """Names of the assignments (one master notebook each), in order.

    >>> assignments()[:2]
    ['00_welcome', '01_metrics_and_models']
    """
    return sorted(p.name for p in SOURCE_DIR.iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").exists())


def master_path(assignment: str) -> Path:
    """Path of an assignment's master notebook."""
    path = SOURCE_DIR / assignment / f"{assignment}.ipynb"
    if not path.exists():
        raise ValueError(f"no master notebook for assignment {assignment!r}; "
                         f"known: {', '.join(assignments())}")
    return path


def _config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(AUTOGRADE_DIR)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.Exchange.root = str(root / "exchange")
    return config


def _ensure_tools_on_path() -> None:
    """Ready nbgrader in this process: this Python's scripts folder (the course's virtual
    environment, when it is not activated) on PATH, for the ``alembic`` command nbgrader may
    run, and new gradebooks stamped without running it (:func:`_alembic_head_in_process`)."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
    import nbgrader.api

    nbgrader.api.get_alembic_version = _alembic_head_in_process


@functools.cache
def _alembic_head_in_process() -> str:
    """The gradebook schema's alembic revision, read in this process.

    nbgrader stamps every new gradebook with it, by running ``alembic heads`` in a
    subprocess that imports nbgrader all over again: about 5 s per new gradebook on a 2-core
    machine, paid by every grading run (its scratch gradebooks), every self-check and many
    tests. Reading nbgrader's own migration scripts here gives the same revision in 0.2 s
    (``tests/test_grading.py`` checks that the two agree)."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


@contextlib.contextmanager
def _course(names: list[str]) -> Iterator[tuple[object, Path]]:
    """A temporary course folder holding copies of the named masters, and an NbGraderAPI on it."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    _ensure_tools_on_path()
    with tempfile.TemporaryDirectory(prefix="pms-course-") as tmp:
        root = Path(tmp)
        for name in names:
            shutil.copytree(SOURCE_DIR / name, root / "source" / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        config = _config(root)
        coursedir = CourseDirectory(config=config)
        api = NbGraderAPI(coursedir=coursedir, config=config)
        yield api, root


def _generate(api, name: str) -> None:
    result = api.generate_assignment(name, force=True, create=True)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n"
                           f"{result.get('error') or result.get('log')}")


def generate_student_notebooks(dest: Path, names: list[str] | None = None) -> list[Path]:
    """Run nbgrader's ``generate_assignment`` on the masters; write the student
    notebooks (and any other files of the assignment) flat into ``dest``."""
    names = names or assignments()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with _course(names) as (api, root):
        for name in names:
            _generate(api, name)
            for item in sorted((root / "release" / name).iterdir()):
                if item.is_dir():
                    shutil.copytree(item, dest / item.name, dirs_exist_ok=True)
                else:
                    shutil.copy2(item, dest / item.name)
                written.append(dest / item.name)
    return written


def release_notebooks(released: Path | None = None) -> list[Path]:
    """Regenerate ``notebooks/`` from the masters (what ``make release`` runs), or copy
    them from an nbgrader ``release/`` folder already generated."""
    with tempfile.TemporaryDirectory(prefix="pms-release-") as tmp:
        if released is None:
            made = generate_student_notebooks(Path(tmp))
        else:
            made = [item for name in assignments() for item in sorted((released / name).iterdir())]
        out = []
        for path in made:
            target = NOTEBOOKS_DIR / path.name
            if path.suffix == ".ipynb":
                target.write_text(json.dumps(normalized(path), indent=1, ensure_ascii=False) + "\n")
            elif path.is_dir():
                shutil.copytree(path, target, dirs_exist_ok=True)
            else:
                shutil.copy2(path, target)
            out.append(target)
    return out


SELF_CHECK_CELL_ID = "self-check"


def self_check_cell(name: str) -> dict:
    """The cell that ends every student notebook: how to check one's work."""
    return {"cell_type": "markdown", "id": SELF_CHECK_CELL_ID, "metadata": {}, "source": (
        "## Check your work\n"
        "\n"
        "Before you hand this notebook in, run *Kernel → Restart Kernel and Run All Cells* and "
        "make sure every visible test cell runs without an error.\n"
        "\n"
        "Studying on your own? Grade this notebook yourself, **hidden tests included**, "
        "from a terminal in the course's folder:\n"
        "\n"
        "```bash\n"
        f"python -m autograde self-check notebooks/{name}.ipynb\n"
        "```\n"
        "\n"
        "(On Binder as it is; in your own copy of the course, run "
        "`source .venv/bin/activate` first.) "
        "It runs the notebook the way the course's grader does (about a minute), prints your "
        "points per test with each failing test's message (never the hidden tests' code), "
        "and leaves nothing behind. Written answers are graded by hand and show as `-`.")}


def normalized(path: Path) -> dict:
    """The student notebook as ``notebooks/`` holds it: nbgrader's student version with
    outputs cleared and the self-check cell at the end."""
    nb = json.loads(Path(path).read_text())
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    cells = [c for c in nb.get("cells", []) if c.get("id") != SELF_CHECK_CELL_ID]
    nb["cells"] = cells + [self_check_cell(Path(path).stem)]
    return nb


def _grade_kinds(master: Path) -> dict[str, str]:
    """grade_id -> "autograder" (a test cell) or "manual" (an answer graded by hand),
    from the master's nbgrader metadata."""
    kinds = {}
    for cell in json.loads(Path(master).read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            kinds[meta["grade_id"]] = "manual" if meta.get("solution") else "autograder"
    return kinds


def autograde(submissions: Mapping[str, Path], student: str = "student",
              timeout: int | None = None) -> dict[str, dict[str, CellGrade]]:
    """Autograde submitted notebooks with nbgrader, exactly as an instructor would.

    ``submissions`` maps an assignment name to the notebook submitted for it.
    Returns ``{assignment: {grade_id: CellGrade}}`` for every graded cell.
    """
    from nbgrader.api import Gradebook

    names = list(submissions)
    grades: dict[str, dict[str, CellGrade]] = {}
    with _course(names) as (api, root):
        if timeout is not None:
            api.config.Execute.timeout = timeout
        for name, notebook in submissions.items():
            _generate(api, name)
            target = root / "submitted" / student / name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(notebook, target / f"{name}.ipynb")
            result = api.autograde(name, student, force=True, create=True)
            if not result.get("success"):
                raise RuntimeError(f"nbgrader autograde {name} failed:\n"
                                   f"{result.get('error') or result.get('log')}")
        with Gradebook(api.coursedir.db_url) as gb:
            for name in names:
                kinds = _grade_kinds(master_path(name))
                nb = gb.find_submission_notebook(name, name, student)
                grades[name] = {
                    g.name: CellGrade(name=g.name, score=float(g.score),
                                      max_score=float(g.max_score), kind=kinds[g.name])
                    for g in nb.grades
                }
    return grades

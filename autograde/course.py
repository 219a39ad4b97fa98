"""An nbgrader course directory, as the instructor's commands see it, and what is made
from its masters.

The course directory is nbgrader's own (``source/``, ``release/``,
``submitted/``, ``autograded/``, ``feedback/``, ``gradebook.db``): every
command here reads and writes it exactly where ``nbgrader`` and formgrader
look, so the two can be mixed freely. By default it is ``autograde/`` in the
repository (:func:`repository`); ``--course DIR`` (or ``AUTOGRADE_COURSE``)
names another one, for example a private copy holding the masters of a graded
term. Settings come from ``autograde/nbgrader_config.py``, the same file the
instructor's own ``nbgrader`` commands read.

The tool keeps its own small records under ``<course>/.autograde/``: the
journal of graded submissions (what makes ``grade`` resumable), the hash of
each master as last released (``released/``: a changed master is released
again before grading), each master's grading template (``templates/``: a course
holding only that master, released into a gradebook of its own, which each
submission's scratch course copies), replaced submissions (nothing collected
is ever deleted), and the scratch folders of running jobs.

The repository's course also makes the student notebooks: masters -> student
notebooks (:func:`generate_student_notebooks`, :func:`release_notebooks`, which
rewrites ``notebooks/``) -> grades (:func:`autograde`, plain ``nbgrader
autograde``). These work in a temporary copy of the course (:meth:`Course.scratch`),
so nothing but :func:`release_notebooks` writes into the repository.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import conventions
from .errors import UsageError

AUTOGRADE_DIR = Path(__file__).resolve().parent
REPO_DIR = AUTOGRADE_DIR.parent
SOURCE_DIR = AUTOGRADE_DIR / "source"
NOTEBOOKS_DIR = REPO_DIR / "notebooks"
CONFIG_FILE = AUTOGRADE_DIR / "nbgrader_config.py"
SELF_CHECK_CELL_ID = "self-check"

__all__ = [
    "AUTOGRADE_DIR",
    "CONFIG_FILE",
    "NOTEBOOKS_DIR",
    "REPO_DIR",
    "SELF_CHECK_CELL_ID",
    "SOURCE_DIR",
    "CellGrade",
    "Course",
    "alembic_head_in_process",
    "assignments",
    "autograde",
    "default_root",
    "ensure_tools_on_path",
    "generate_student_notebooks",
    "grade_kinds",
    "master_path",
    "normalized",
    "release_notebooks",
    "repository",
    "self_check_cell",
    "sha256_file",
]


def default_root() -> Path:
    """The course directory: ``$AUTOGRADE_COURSE`` or the repository's ``autograde/``."""
    return Path(os.environ.get("AUTOGRADE_COURSE") or AUTOGRADE_DIR).resolve()


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------- nbgrader
def ensure_tools_on_path() -> None:
    """Ready nbgrader in this process: this Python's scripts folder (the course's virtual
    environment, when it is not activated) on PATH, for the ``alembic`` command nbgrader may
    run, and new gradebooks stamped without running it (:func:`alembic_head_in_process`)."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head_in_process


@functools.cache
def alembic_head_in_process() -> str:
    """The gradebook schema's alembic revision, read in this process.

    nbgrader stamps every new gradebook with it, by running ``alembic heads`` in a
    subprocess that imports nbgrader all over again: about 5 s per new gradebook on a 2-core
    machine, paid by every grading run (its scratch gradebooks), every self-check and many
    tests. Reading nbgrader's own migration scripts here gives the same revision in 0.2 s
    (``tests/test_grading.py`` checks that the two agree)."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


def _load_config(root: Path):
    """``nbgrader_config.py`` pointed at the course directory ``root``."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(AUTOGRADE_DIR)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    return config


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


def grade_kinds(master: Path) -> dict[str, str]:
    """grade_id -> "autograder" (a test cell) or "manual" (an answer graded by hand),
    from the master's nbgrader metadata."""
    kinds = {}
    for cell in json.loads(Path(master).read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            kinds[meta["grade_id"]] = "manual" if meta.get("solution") else "autograder"
    return kinds


# ---------------------------------------------------------------------------- the course
class Course:
    """One nbgrader course directory and the nbgrader API on it."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).resolve() if root is not None else default_root()
        if not (self.root / "source").is_dir():
            raise UsageError(f"{self.root} is not a course directory: it has no source/ folder "
                             "with the master notebooks (source/<assignment>/<assignment>.ipynb)")
        self.state = self.root / ".autograde"

    # ---------------------------------------------------------------- nbgrader
    def config(self, **overrides):
        """The course's nbgrader configuration (autograde/nbgrader_config.py) pointed at this
        directory; ``overrides`` are ``{"Section.key": value}`` settings on top."""
        config = _load_config(self.root)
        # nbgrader's exchange (a hub's inbox) is not used by these commands; give it a
        # writable place so nbgrader does not log an error about it
        exchange = self.state / "exchange"
        exchange.mkdir(parents=True, exist_ok=True)
        config.Exchange.root = str(exchange)
        for key, value in overrides.items():
            section, name = key.split(".")
            setattr(getattr(config, section), name, value)
        return config

    def api(self, **overrides):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        ensure_tools_on_path()
        config = self.config(**overrides)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def gradebook(self):
        from nbgrader.api import Gradebook

        ensure_tools_on_path()
        return Gradebook(self.db_url, "parallel-ml-systems")

    # ---------------------------------------------------------------- layout
    def assignments(self) -> list[str]:
        """Names of the assignments (one master notebook each), in order.

        >>> repository().assignments()[:2]
        ['00_welcome', '01_metrics_and_models']
        """
        src = self.root / "source"
        return sorted(p.name for p in src.iterdir()
                      if p.is_dir() and (p / f"{p.name}.ipynb").exists())

    def master(self, assignment: str) -> Path:
        """Path of an assignment's master notebook."""
        path = self.root / "source" / assignment / f"{assignment}.ipynb"
        if not path.exists():
            raise UsageError(f"unknown assignment {assignment!r}; this course has: "
                             f"{', '.join(self.assignments()) or 'none'}")
        return path

    def submitted(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment

    def autograded(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / student / assignment

    def released_in_gradebook(self) -> set[str]:
        if not (self.root / "gradebook.db").exists():
            return set()
        with self.gradebook() as gb:
            return {a.name for a in gb.assignments}

    def copy_masters(self, names: list[str], root: str | os.PathLike) -> Course:
        """A new course at ``root`` holding copies of the named masters (their folders)."""
        root = Path(root)
        for name in names:
            shutil.copytree(self.master(name).parent, root / "source" / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        (root / "source").mkdir(parents=True, exist_ok=True)
        return Course(root)

    @contextlib.contextmanager
    def scratch(self, names: list[str]) -> Iterator[Course]:
        """A temporary course holding copies of the named masters and, once used, a
        throw-away gradebook; deleted afterwards."""
        with tempfile.TemporaryDirectory(prefix="pms-course-") as tmp:
            yield self.copy_masters(names, tmp)

    # ---------------------------------------------------------------- release
    def check_masters(self, names: list[str] | None = None) -> list[str]:
        """Every convention problem of the named masters (all by default)."""
        out = []
        for name in names or self.assignments():
            out += conventions.problems_in_file(self.master(name))
        return out

    def generate(self, name: str, api=None) -> None:
        """nbgrader's ``generate_assignment`` of one master (into ``release/`` and the
        gradebook), without the conventions check and without a record (:meth:`release`)."""
        result = (api or self.api()).generate_assignment(name, force=True, create=True)
        if result.get("success"):
            return
        detail = f"{result.get('error') or ''}\n{result.get('log') or ''}"
        if "submissions associated with it" in detail:
            raise UsageError(f"cannot release {name} again: its master adds or removes graded "
                             "cells and the gradebook already holds submissions of it "
                             "(nbgrader refuses that); keep the cells' ids as they were")
        raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n"
                           f"{result.get('error') or result.get('log')}")

    def _release_record(self, name: str) -> Path:
        return self.state / "released" / f"{name}.sha256"

    def stale_releases(self, names: list[str] | None = None) -> dict[str, str]:
        """The named assignments (all by default) the gradebook holds from a release of a
        master other than the current one: {name: why}."""
        return self._stale(names or self.assignments(), self.released_in_gradebook())

    def _stale(self, names: list[str], known: set[str]) -> dict[str, str]:
        stale = {}
        for name in names:
            if name not in known:
                continue
            record = self._release_record(name)
            if not record.exists():
                stale[name] = "its last release was not recorded"
            elif record.read_text().strip() != sha256_file(self.master(name)):
                stale[name] = "the master changed since it was last released"
        return stale

    def release(self, names: list[str] | None = None, log=print) -> dict[str, str]:
        """``nbgrader generate_assignment`` for each master (into ``release/`` and the
        gradebook), after checking its conventions; refuses all if one is broken. Records
        each master's hash as released (``.autograde/released/<name>.sha256``) and makes
        its grading template (:meth:`template`), so that grading starts at once. Returns the
        assignments it refreshed, {name: why} (:meth:`stale_releases`)."""
        names = names or self.assignments()
        stale = self._release(names, self.stale_releases(names), log)
        for name in names:
            self.template(name)
        return stale

    def template(self, name: str) -> Path:
        """The grading template of an assignment: a course holding only its master,
        released into a gradebook of its own (no students, no grades), which each of its
        submissions is graded in a copy of. Made once per master (kept under
        ``.autograde/templates/<name>-<hash>``; another master's is removed)."""
        digest = sha256_file(self.master(name))[:16]
        root = self.state / "templates" / f"{name}-{digest}"
        if (root / "gradebook.db").exists():
            return root
        tmp = root.with_name(f"{root.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        made = self.copy_masters([name], tmp)
        made._release([name], {}, log=lambda *_: None)
        shutil.rmtree(tmp / "release", ignore_errors=True)
        for old in root.parent.glob(f"{name}-*"):  # earlier masters' templates
            if re.fullmatch(re.escape(name) + "-[0-9a-f]{16}", old.name):
                shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, root)
        return root

    def _release(self, names: list[str], stale: dict[str, str], log) -> dict[str, str]:
        bad = self.check_masters(names)
        if bad:
            raise ValueError("refusing to release: the masters break the course's conventions:\n  "
                             + "\n  ".join(bad))
        api = self.api()
        for name in names:
            digest = sha256_file(self.master(name))
            self.generate(name, api)
            record = self._release_record(name)
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(digest + "\n")
            where = (self.root / "release" / name).relative_to(self.root)
            log(f"refreshed {name} -> {where} ({stale[name]})" if name in stale
                else f"released {name} -> {where}")
        return stale

    def ensure_released(self, names: list[str]) -> dict[str, str]:
        """Release (quietly) the named assignments the gradebook does not know yet, and
        those whose master changed since they were released (so that the gradebook's copy
        of the tests is the master's). Returns the refreshed ones, {name: why}."""
        known = self.released_in_gradebook()
        stale = self._stale(names, known)
        todo = [n for n in names if n not in known or n in stale]
        if todo:
            self._release(todo, stale, log=lambda *_: None)
        return stale

    def clean_state(self) -> None:
        shutil.rmtree(self.state / "jobs", ignore_errors=True)


def python() -> str:
    """This interpreter (the course's virtual environment when run from it)."""
    return sys.executable


# ---------------------------------------------------------------------------- the repository's
def repository() -> Course:
    """The repository's own course, ``autograde/``: the masters of every notebook."""
    return Course(AUTOGRADE_DIR)


def assignments() -> list[str]:
    """Names of the repository's assignments, in order.

    >>> assignments()[:2]
    ['00_welcome', '01_metrics_and_models']
    """
    return repository().assignments()


def master_path(assignment: str) -> Path:
    """Path of one of the repository's master notebooks."""
    return repository().master(assignment)


def generate_student_notebooks(dest: Path, names: list[str] | None = None) -> list[Path]:
    """Run nbgrader's ``generate_assignment`` on the masters; write the student
    notebooks (and any other files of the assignment) flat into ``dest``."""
    names = names or assignments()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with repository().scratch(names) as course:
        api = course.api()
        for name in names:
            course.generate(name, api)
            for item in sorted((course.root / "release" / name).iterdir()):
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


def autograde(submissions: Mapping[str, Path], student: str = "student",
              timeout: int | None = None) -> dict[str, dict[str, CellGrade]]:
    """Autograde submitted notebooks with nbgrader, exactly as an instructor would, against
    the repository's masters (in a temporary course).

    ``submissions`` maps an assignment name to the notebook submitted for it.
    Returns ``{assignment: {grade_id: CellGrade}}`` for every graded cell.
    """
    names = list(submissions)
    grades: dict[str, dict[str, CellGrade]] = {}
    with repository().scratch(names) as course:
        api = course.api(**({} if timeout is None else {"Execute.timeout": timeout}))
        for name, notebook in submissions.items():
            course.generate(name, api)
            target = course.submitted(student, name)
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(notebook, target / f"{name}.ipynb")
            result = api.autograde(name, student, force=True, create=True)
            if not result.get("success"):
                raise RuntimeError(f"nbgrader autograde {name} failed:\n"
                                   f"{result.get('error') or result.get('log')}")
        with course.gradebook() as gb:
            for name in names:
                kinds = grade_kinds(master_path(name))
                nb = gb.find_submission_notebook(name, name, student)
                grades[name] = {
                    g.name: CellGrade(name=g.name, score=float(g.score),
                                      max_score=float(g.max_score), kind=kinds[g.name])
                    for g in nb.grades
                }
    return grades

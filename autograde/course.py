"""An nbgrader course directory, as the instructor's commands see it.

The course directory is nbgrader's own (``source/``, ``release/``,
``submitted/``, ``autograded/``, ``feedback/``, ``gradebook.db``): every
command here reads and writes it exactly where ``nbgrader`` and formgrader
look, so the two can be mixed freely. By default it is ``autograde/`` in the
repository; ``--course DIR`` (or ``AUTOGRADE_COURSE``) names another one, for
example a private copy holding the masters of a graded term.

The tool keeps its own small records under ``<course>/.autograde/``: the
journal of graded submissions (what makes ``grade`` resumable), replaced
submissions (nothing collected is ever deleted), and the scratch folders of
running jobs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

from . import conventions, pipeline

__all__ = ["Course", "default_root", "sha256_file"]


def default_root() -> Path:
    """The course directory: ``$AUTOGRADE_COURSE`` or the repository's ``autograde/``."""
    return Path(os.environ.get("AUTOGRADE_COURSE") or pipeline.AUTOGRADE_DIR).resolve()


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Course:
    """One nbgrader course directory and the nbgrader API on it."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).resolve() if root is not None else default_root()
        if not (self.root / "source").is_dir():
            raise ValueError(f"{self.root} is not a course directory: it has no source/ folder "
                             "with the master notebooks (source/<assignment>/<assignment>.ipynb)")
        self.state = self.root / ".autograde"

    # ---------------------------------------------------------------- nbgrader
    def config(self, **overrides):
        """The course's nbgrader configuration (autograde/nbgrader_config.py) pointed at this
        directory; ``overrides`` are ``{"Section.key": value}`` settings on top."""
        config = pipeline._config(self.root)
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

        pipeline._ensure_tools_on_path()
        config = self.config(**overrides)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def gradebook(self):
        from nbgrader.api import Gradebook

        pipeline._ensure_tools_on_path()
        return Gradebook(self.db_url, "parallel-ml-systems")

    # ---------------------------------------------------------------- layout
    def assignments(self) -> list[str]:
        src = self.root / "source"
        return sorted(p.name for p in src.iterdir()
                      if p.is_dir() and (p / f"{p.name}.ipynb").exists())

    def master(self, assignment: str) -> Path:
        path = self.root / "source" / assignment / f"{assignment}.ipynb"
        if not path.exists():
            raise ValueError(f"unknown assignment {assignment!r}; this course has: "
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

    # ---------------------------------------------------------------- release
    def check_masters(self, names: list[str] | None = None) -> list[str]:
        """Every convention problem of the named masters (all by default)."""
        out = []
        for name in names or self.assignments():
            out += conventions.problems_in_file(self.master(name))
        return out

    def release(self, names: list[str] | None = None, log=print) -> None:
        """``nbgrader generate_assignment`` for each master (into ``release/`` and the
        gradebook), after checking its conventions; refuses all if one is broken."""
        names = names or self.assignments()
        bad = self.check_masters(names)
        if bad:
            raise ValueError("refusing to release: the masters break the course's conventions:\n  "
                             + "\n  ".join(bad))
        api = self.api()
        for name in names:
            result = api.generate_assignment(name, force=True, create=True)
            if not result.get("success"):
                raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n"
                                   f"{result.get('error') or result.get('log')}")
            log(f"released {name} -> {(self.root / 'release' / name).relative_to(self.root)}")

    def ensure_released(self, names: list[str]) -> None:
        """Release (quietly) the named assignments the gradebook does not know yet."""
        missing = [n for n in names if n not in self.released_in_gradebook()]
        if missing:
            self.release(missing, log=lambda *_: None)

    def clean_state(self) -> None:
        shutil.rmtree(self.state / "jobs", ignore_errors=True)


def python() -> str:
    """This interpreter (the course's virtual environment when run from it)."""
    return sys.executable

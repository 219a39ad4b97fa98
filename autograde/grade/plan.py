"""What ``grade`` has to do: the jobs, their results, and the journal of those recorded.

The **journal** is a small JSON record per submission under
``.autograde/journal/<student>/<assignment>.json``, written after the
submission's grades are recorded. A submission is graded again when its record
is missing or was made for other content: its own (``sha256``), its
assignment's master (``master_sha256``, a hidden test fixed since, say) or the
limits it ran under (``limits_sha256``); ``force`` grades everything again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..course import Course, sha256_file
from ..errors import UsageError
from ..sandbox import Limits

__all__ = ["STATUSES", "Job", "Result", "journal", "limits_from_env", "limits_sha256", "plan",
           "submission_problem", "write_journal"]

STATUSES = ("ok", "timeout", "memory", "crash", "invalid")


@dataclass
class Job:
    student: str
    assignment: str
    notebook: Path  # submitted/<student>/<assignment>/<assignment>.ipynb
    sha256: str
    problem: str = ""  # why it cannot be graded (found when planning): status invalid
    master_sha256: str = ""  # the assignment's master it is graded against
    limits_sha256: str = ""  # the limits it runs under
    regrade: str = ""  # why a submission graded before, unchanged, is graded again

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"

    def result(self, status: str, **fields) -> Result:
        """A :class:`Result` of this job, keyed as the journal keys it."""
        return Result(self.student, self.assignment, status, sha256=self.sha256,
                      master_sha256=self.master_sha256, limits_sha256=self.limits_sha256,
                      **fields)


@dataclass
class Result:
    student: str
    assignment: str
    status: str  # one of STATUSES
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    reason: str = ""
    sha256: str = ""
    graded_at: str = ""
    cells: dict[str, float] = field(default_factory=dict)  # grade_id -> auto score
    node: str = ""  # the Ray node that ran it, when graded on a cluster
    master_sha256: str = ""  # the master it was graded against
    limits_sha256: str = ""  # the limits it ran under (limits_sha256)
    peak_memory_mb: int = 0  # its processes' highest memory use, from the cgroup (0: unknown)
    repairs: list[str] = field(default_factory=list)  # what autograde.repair restored

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"


# ---------------------------------------------------------------------------- limits
def limits_from_env() -> Limits:
    """:meth:`Limits.from_env`, with a malformed ``AUTOGRADE_LIMITS`` said in one line."""
    try:
        return Limits.from_env()
    except json.JSONDecodeError as e:
        raise UsageError(f"AUTOGRADE_LIMITS is not valid JSON ({e}): "
                         f"{os.environ.get('AUTOGRADE_LIMITS', '')!r}") from None
    except (TypeError, ValueError) as e:
        raise UsageError(str(e) if "AUTOGRADE_LIMITS" in str(e)
                         else f"AUTOGRADE_LIMITS: {e}") from None


def limits_sha256(limits: Limits) -> str:
    """The limits' fingerprint: sha256 of the dataclass as sorted JSON.

    >>> limits_sha256(Limits()) == limits_sha256(Limits())
    True
    >>> limits_sha256(Limits()) == limits_sha256(Limits(notebook_timeout_s=60))
    False
    """
    text = json.dumps(dataclasses.asdict(limits), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------- journal
def _journal_path(course: Course, student: str, assignment: str) -> Path:
    return course.state / "journal" / student / f"{assignment}.json"


def journal(course: Course) -> list[Result]:
    """Every submission graded so far, as recorded after its import."""
    out = []
    for path in sorted((course.state / "journal").glob("*/*.json")):
        try:
            out.append(Result(**json.loads(path.read_text())))
        except (ValueError, TypeError):
            continue  # a record cut short by a crash: that submission is graded again
    return out


def write_journal(course: Course, result: Result) -> None:
    path = _journal_path(course, result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(result), indent=1))
    os.replace(tmp, path)  # atomic: a record is whole or absent


# ---------------------------------------------------------------------------- planning
def _changed(previous: Result, master: str, limits: str) -> str:
    """Why a record of the submission's current content no longer counts ("" if it does)."""
    if not previous.master_sha256 and not previous.limits_sha256:
        return "their records do not say which master and limits they were graded with"
    what = [name for name, old, new in (("the master", previous.master_sha256, master),
                                        ("the limits", previous.limits_sha256, limits))
            if old != new]
    return f"{' and '.join(what)} changed since they were graded" if what else ""


def plan(course: Course, assignments: list[str] | None = None,
         students: list[str] | None = None, force: bool = False,
         limits: Limits | None = None) -> tuple[list[Job], list[Result]]:
    """(jobs to run, results already in the journal for the submissions' current content,
    their assignment's current master and ``limits`` (default: :func:`limits_from_env`)).

    A job whose submission was graded before, unchanged, says in ``regrade`` why it is
    graded again, e.g. "the master changed since they were graded"."""
    names = assignments or course.assignments()
    masters = {name: sha256_file(course.master(name)) for name in names}  # unknown: an error
    limits_key = limits_sha256(limits or limits_from_env())
    done = {(r.student, r.assignment): r for r in journal(course)}
    todo, kept = [], []
    root = course.root / "submitted"
    for folder in sorted(root.glob("*/*")) if root.exists() else []:
        student, assignment = folder.parent.name, folder.name
        if assignment not in names or (students and student not in students):
            continue
        if not folder.is_dir() and not folder.is_symlink():
            continue  # a stray file, not a submission
        nb = folder / f"{assignment}.ipynb"
        why, sha = submission_problem(folder, nb)
        if why:
            sha = "invalid:" + sha
        elif sha is None:
            sha = sha256_file(nb)
        previous = done.get((student, assignment))
        changed = ""
        if previous and previous.sha256 == sha and not force:
            changed = _changed(previous, masters[assignment], limits_key)
            if not changed:
                kept.append(previous)
                continue
        todo.append(Job(student, assignment, nb, sha, why, masters[assignment], limits_key,
                        changed))
    if students:
        unknown = set(students) - {j.student for j in todo} - {r.student for r in kept}
        if unknown:
            raise UsageError(f"no submissions of {', '.join(sorted(unknown))} for "
                             f"{', '.join(names) or 'any assignment'} in {root}")
    return todo, kept


def submission_problem(folder: Path, nb: Path) -> tuple[str, str | None]:
    """(why the submission in ``folder`` cannot be graded, a fingerprint of what is there);
    ("", None) when its notebook is a plain file where nbgrader expects it."""
    if folder.is_symlink() or folder.parent.is_symlink():
        return "the submission folder is a symbolic link: it is not followed", folder.name
    names = sorted(p.name for p in folder.iterdir())
    listing = hashlib.sha256("\0".join(names).encode()).hexdigest()
    if nb.is_symlink():
        return (f"{nb.name} is a symbolic link (to {os.readlink(nb)}), not a notebook: "
                "it is not followed"), listing
    if not nb.exists():
        others = [n for n in names if n.endswith(".ipynb")]
        if others:
            return (f"no {nb.name}; found {', '.join(others)} (renamed? a notebook is graded "
                    "under the assignment's name)"), listing
        return f"no {nb.name} in the submission", listing
    if not nb.is_file():
        return f"{nb.name} is not a file", listing
    return "", None

"""``autograde report``: one HTML page per assignment for the instructor.

**Every submission counts, whatever its status.** The submissions are the union of what
was collected (``submitted/``), what the grading journal recorded (``.autograde/journal``,
with each one's status: ``ok``, ``timeout``, ``memory``, ``crash``, ``invalid``) and what
the gradebook holds (grades from plain ``nbgrader autograde`` too). The report used to
count gradebook rows only: a submission whose failure nbgrader could not record (only the
journal has it), one graded before failures were recorded as 0, and one collected but not
graded yet were all missing from its count (a class of 35 submissions showed "22
submissions"). Now the page says how many there are of each status.

Then: the score distribution; per test cell its pass rate, its **discrimination** and its
most frequent **failing messages** (:mod:`autograde.item_analysis`: cells that strong
submissions fail and weak ones pass are flagged), over the submissions that ran to the end
(one that timed out has 0 on every cell, which says nothing about the cells); a plot of
discrimination against pass rate; the submissions that did not run to the end and why;
what was repaired in which submission (when the journal records it); grading times.
Self-contained HTML (plots inlined as PNG).
"""

from __future__ import annotations

import base64
import html
import io
import json
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, grade_kinds
from .grade import journal
from .grade.plan import STATUSES
from .item_analysis import LOW, MIN_SUBMISSIONS, ItemStats, analyse

__all__ = ["Submission", "assignment_summary", "report", "submissions", "points_of_tests"]

NOT_GRADED_YET = "not graded yet"
UNTRUSTED_NOTE = "(raised inside your code; its message is not shown in feedback)"


@dataclass
class Submission:
    student: str
    status: str = NOT_GRADED_YET  # the journal's, "ok" for a gradebook row without a record
    reason: str = ""
    score: float | None = None  # None: no score recorded anywhere
    max_score: float = 0.0
    cells: dict[str, float] = field(default_factory=dict)  # grade_id -> score
    seconds: float = 0.0
    repairs: list[str] = field(default_factory=list)


def points_of_tests(master: Path) -> dict[str, float]:
    """{grade_id: points} of the master's test cells, in order."""
    out = {}
    for cell in json.loads(Path(master).read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.get("cell_type") == "code":
            out[meta["grade_id"]] = float(meta.get("points", 0))
    return out


def submissions(course: Course, assignment: str) -> dict[str, Submission]:
    """Every submission of ``assignment`` (see the module's docstring), by student."""
    kinds = grade_kinds(course.master(assignment))
    subs: dict[str, Submission] = {}
    root = course.root / "submitted"
    for folder in sorted(root.glob(f"*/{assignment}")) if root.is_dir() else []:
        subs[folder.parent.name] = Submission(folder.parent.name)
    for r in journal(course):
        if r.assignment != assignment:
            continue
        sub = subs.setdefault(r.student, Submission(r.student))
        sub.status, sub.reason, sub.seconds = r.status, r.reason, r.seconds
        sub.score, sub.max_score, sub.cells = r.score, r.max_score, dict(r.cells)
        sub.repairs = list(getattr(r, "repairs", None) or [])
    if (course.root / "gradebook.db").exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with course.gradebook() as gb:
                names = {a.name for a in gb.assignments}
                for row in gb.assignment_submissions(assignment) if assignment in names else []:
                    sub = subs.setdefault(row.student.id, Submission(row.student.id))
                    if sub.status == NOT_GRADED_YET:  # graded by plain nbgrader: no record
                        sub.status = "ok"
                    sub.score, sub.max_score = float(row.score), float(row.max_score)
                    for nb in row.notebooks:
                        for g in nb.grades:
                            if g.name not in kinds:
                                continue
                            if kinds[g.name] == "manual" and g.manual_score is None:
                                continue  # not graded by hand yet
                            sub.cells[g.name] = float(g.score)
    return dict(sorted(subs.items()))


def _failing_messages(course: Course, assignment: str, student: str,
                      tests: dict[str, float]) -> dict[str, str]:
    """{grade_id: the failing test's one-line verdict} from the autograded notebook, as the
    feedback words it (a message raised inside the student's own code is not shown)."""
    from .feedback import verdict

    path = course.autograded(student, assignment) / f"{assignment}.ipynb"
    if path.is_symlink() or not path.is_file():
        return {}
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        gid = meta.get("grade_id")
        if gid in tests and cell.get("cell_type") == "code":
            text = verdict(cell)
            if text != "passed":
                text = text.removeprefix("failed: ").replace(
                    UNTRUSTED_NOTE, "(raised inside the student's code)")
                out[gid] = text
    return out


def assignment_summary(course: Course, assignment: str) -> dict:
    """Numbers behind the report of one assignment.

    Returns ``{"submissions": {student: Submission}, "statuses": Counter,
    "scores": {student: (score, max)}`` (every submission with a score, 0 for one that did
    not run to the end), ``"cells": {grade_id: (full marks, counted, kind)}`` (test cells
    over the submissions that ran to the end, written answers over those graded by hand),
    ``"items": [ItemStats]``, ``"failed": [Submission]``, ``"seconds": [float]}``.
    """
    kinds = grade_kinds(course.master(assignment))
    tests = points_of_tests(course.master(assignment))
    subs = submissions(course, assignment)
    ran = {s: sub for s, sub in subs.items() if sub.status == "ok"}
    messages = {s: _failing_messages(course, assignment, s, tests) for s in ran}
    items = analyse({s: sub.cells for s, sub in ran.items()}, tests, messages)
    cells = {}
    for gid, kind in kinds.items():
        if kind == "autograder":
            item = next(i for i in items if i.cell == gid)
            cells[gid] = (item.passed, item.n, kind)
        else:
            graded = [sub.cells[gid] for sub in ran.values() if gid in sub.cells]
            cells[gid] = (0, len(graded), kind)  # full marks of a written answer: unknown
    return {"submissions": subs, "statuses": Counter(sub.status for sub in subs.values()),
            "scores": {s: (sub.score, sub.max_score) for s, sub in subs.items()
                       if sub.score is not None},
            "cells": cells, "items": items,
            "failed": [sub for sub in subs.values() if sub.status not in ("ok", NOT_GRADED_YET)],
            "seconds": [sub.seconds for sub in subs.values() if sub.seconds]}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _plots(summary: dict) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out = []
    pct = [100 * s / m for s, m in summary["scores"].values() if m]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(pct, bins=range(0, 105, 5), color="#4C72B0", edgecolor="white")
    ax.set(xlabel="score (% of the points)", ylabel="submissions", xlim=(0, 100),
           title=f"Score distribution ({len(pct)} submissions with a score)")
    out.append(("Score distribution", _png(fig)))
    plt.close(fig)

    items = [i for i in summary["items"] if i.n]
    if items:
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(items) + 1))
        rates = [100 * i.rate for i in items]
        colors = ["#C44E52" if r < 50 else "#4C72B0" for r in rates]
        ax.barh([i.cell for i in items][::-1], rates[::-1], color=colors[::-1])
        ax.set(xlabel="submissions with full marks on the cell (%)", xlim=(0, 100),
               title="Pass rate per test cell (red: under half)")
        out.append(("Pass rate per test cell", _png(fig)))
        plt.close(fig)

        measured = [i for i in items if i.r_pb is not None]
        if measured:
            fig, ax = plt.subplots(figsize=(6.5, 4))
            ax.axhspan(-1, 0, color="#C44E52", alpha=0.08)
            ax.axhline(LOW, color="#999", lw=0.8, ls="--")
            for i in measured:
                color = "#C44E52" if i.flagged else "#4C72B0"
                ax.scatter(100 * i.rate, i.r_pb, color=color, s=20 + 8 * i.points)
                ax.annotate(i.cell, (100 * i.rate, i.r_pb), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")
            ax.set(xlim=(-2, 102), ylim=(-1, 1), xlabel="pass rate (%)",
                   ylabel="discrimination (point-biserial)",
                   title="Test cells: discrimination against pass rate\n"
                         "(red zone: strong submissions fail it, weak ones pass it)")
            out.append(("Item analysis", _png(fig)))
            plt.close(fig)

    if summary["seconds"]:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(summary["seconds"], bins=20, color="#55A868", edgecolor="white")
        ax.set(xlabel="grading time per notebook (s, this grading machine)", ylabel="submissions",
               title="Grading time")
        out.append(("Grading time per notebook", _png(fig)))
        plt.close(fig)
    return out


def _number(x: float | None) -> str:
    return "–" if x is None else f"{x:+.2f}"


def _items_table(items: list[ItemStats]) -> list[str]:
    esc = html.escape
    rows = ["<table><tr><th>test cell</th><th>points</th><th>pass rate</th>"
            "<th>discrimination<br>(point-biserial)</th><th>upper − lower</th>"
            "<th>verdict</th><th>most frequent failing messages</th></tr>"]
    for i in items:
        msgs = "".join(f"<li>{n} × <code>{esc(example)}</code></li>"
                       for _, n, example in i.messages)
        style = " class='bad'" if i.flagged else ""
        rows.append(f"<tr{style}><td>{esc(i.cell)}</td><td>{i.points:g}</td>"
                    f"<td>{i.passed}/{i.n}</td><td>{_number(i.r_pb)}</td>"
                    f"<td>{_number(i.d)}</td><td>{esc(i.verdict)}</td>"
                    f"<td><ul>{msgs}</ul></td></tr>")
    rows.append("</table>")
    return rows


def report(course: Course, assignments: list[str] | None = None, out_dir: str | Path | None = None,
           log=print) -> list[Path]:
    """Write ``reports/<assignment>.html`` for each assignment with submissions."""
    names = assignments or course.assignments()
    for name in names:
        course.master(name)  # a clear error for an unknown assignment
    out_dir = Path(out_dir) if out_dir else course.root / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    esc = html.escape
    for name in names:
        summary = assignment_summary(course, name)
        subs = summary["submissions"]
        if not subs:
            continue
        parts = [f"<!doctype html><html lang='en'><meta charset='utf-8'>"
                 f"<title>{esc(name)}: grading report</title>",
                 "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;"
                 "padding:0 1em}td,th{padding:2px 8px;text-align:left;vertical-align:top}"
                 "tr.bad{background:#fbe3e4}ul{margin:0;padding-left:1.2em}"
                 "code{font-size:12px}</style>",
                 f"<h1>{esc(name)}</h1>"]
        statuses = summary["statuses"]
        order = [*STATUSES, NOT_GRADED_YET]
        counts = ", ".join(f"{statuses[status]} {status}" for status in
                           sorted(statuses, key=lambda st: (order.index(st) if st in order
                                                            else len(order), st)))
        pct = sorted(100 * s / m for s, m in summary["scores"].values() if m)
        mid = f"; median score {pct[len(pct) // 2]:.0f} % of the {len(pct)} with a score" \
            if pct else ""
        parts.append(f"<p>{len(subs)} submissions: {counts}{mid}.</p>")
        for title, png in _plots(summary):
            parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' "
                         f"src='data:image/png;base64,{png}'>")
        ran = statuses.get("ok", 0)
        parts.append(f"<h2>Item analysis of the test cells</h2><p>Over the {ran} submissions "
                     "that ran to the end. <b>Discrimination</b>: how strongly passing the "
                     "cell goes with the rest of the score (the other test cells' points): "
                     "the point-biserial correlation, and the pass rate of the best 27 % "
                     "minus that of the worst 27 %. A cell is <b>flagged</b> (red) when "
                     "both are negative (with at least "
                     f"{MIN_SUBMISSIONS} submissions): strong submissions fail it and weak "
                     "ones pass it, the mark of a wrong expected value or a check that a "
                     f"stub passes. Under {LOW:g}: passing it says little about the rest. "
                     "Failing messages are grouped with their numbers set aside; one example "
                     "of each is shown.</p>")
        parts += _items_table(summary["items"])
        flagged = [i.cell for i in summary["items"] if i.flagged]
        if flagged:
            parts.append("<p><b>Check these test cells:</b> " + esc(", ".join(flagged)) + "</p>")
        manual = {g: v for g, v in summary["cells"].items() if v[2] == "manual"}
        if manual:
            parts.append("<h2>Written answers</h2><table><tr><th>cell</th><th>graded by hand"
                         "</th></tr>")
            for gid, (_, graded, _) in manual.items():
                parts.append(f"<tr><td>{esc(gid)}</td><td>{graded} of {ran}</td></tr>")
            parts.append("</table>")
        parts.append("<h2>Submissions that did not run to the end</h2>")
        if summary["failed"]:
            parts.append("<table><tr><th>student</th><th>status</th><th>reason</th></tr>")
            for sub in summary["failed"]:
                parts.append(f"<tr><td>{esc(sub.student)}</td><td>{esc(sub.status)}</td>"
                             f"<td>{esc(sub.reason)}</td></tr>")
            parts.append("</table>")
        else:
            parts.append("<p>None.</p>")
        waiting = [s for s, sub in subs.items() if sub.status == NOT_GRADED_YET]
        if waiting:
            parts.append(f"<h2>Collected, not graded yet</h2><p>{esc(', '.join(waiting))} "
                         "(run <code>autograde grade</code>)</p>")
        repaired = [sub for sub in subs.values() if sub.repairs]
        if repaired:
            parts.append("<h2>Repaired before grading</h2><table><tr><th>student</th>"
                         "<th>what was repaired</th></tr>")
            for sub in repaired:
                parts.append(f"<tr><td>{esc(sub.student)}</td><td>"
                             + "<br>".join(esc(r) for r in sub.repairs) + "</td></tr>")
            parts.append("</table>")
        path = out_dir / f"{name}.html"
        path.write_text("\n".join(parts) + "\n</html>\n")
        written.append(path)
        log(f"report {name} -> {path} ({len(subs)} submissions"
            + (f"; check test cells {', '.join(flagged)}" if flagged else "") + ")")
    if not written:
        log("no report written: no submissions have been collected")
    return written

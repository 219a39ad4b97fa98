"""``autograde report``: one HTML page per assignment for the instructor.

From the gradebook and the grading journal: the score distribution, the
pass rate of every test cell (a confusing exercise stands out as a short
bar), the submissions that timed out or crashed and why, and the grading
time per notebook. Self-contained HTML (plots inlined as PNG).
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from pathlib import Path

from .course import Course, grade_kinds
from .grade import journal

__all__ = ["assignment_summary", "report"]


def assignment_summary(course: Course, assignment: str) -> dict:
    """Numbers behind the report of one assignment.

    Returns ``{"scores": {student: (score, max)}, "cells": {grade_id: (passed, graded, kind)},
    "failed": [Result], "seconds": [float]}``.
    """
    kinds = grade_kinds(course.master(assignment))
    scores, cells = {}, {gid: [0, 0, kind] for gid, kind in kinds.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with course.gradebook() as gb:
            for sub in gb.assignment_submissions(assignment):
                scores[sub.student.id] = (float(sub.score), float(sub.max_score))
                for nb in sub.notebooks:
                    for g in nb.grades:
                        if g.name not in cells:
                            continue
                        if kinds.get(g.name) == "manual" and g.manual_score is None:
                            continue  # not graded by hand yet
                        cells[g.name][1] += 1
                        cells[g.name][0] += float(g.score) >= float(g.max_score) > 0
    runs = [r for r in journal(course) if r.assignment == assignment]
    return {"scores": scores, "cells": {k: tuple(v) for k, v in cells.items()},
            "failed": [r for r in runs if r.status != "ok"],
            "seconds": [r.seconds for r in runs if r.seconds]}


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
           title=f"Score distribution ({len(pct)} submissions)")
    out.append(("Score distribution", _png(fig)))
    plt.close(fig)

    cells = {k: v for k, v in summary["cells"].items() if v[1]}
    if cells:
        names = list(cells)
        rates = [100 * cells[n][0] / cells[n][1] for n in names]
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(names) + 1))
        colors = ["#C44E52" if r < 50 else "#4C72B0" for r in rates]
        ax.barh(names[::-1], rates[::-1], color=colors[::-1])
        ax.set(xlabel="submissions with full marks on the cell (%)", xlim=(0, 100),
               title="Pass rate per graded cell (red: under half)")
        out.append(("Pass rate per graded cell", _png(fig)))
        plt.close(fig)

    if summary["seconds"]:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(summary["seconds"], bins=20, color="#55A868", edgecolor="white")
        ax.set(xlabel="grading time per notebook (s, this grading machine)", ylabel="submissions",
               title="Grading time")
        out.append(("Grading time per notebook", _png(fig)))
        plt.close(fig)
    return out


def report(course: Course, assignments: list[str] | None = None, out_dir: str | Path | None = None,
           log=print) -> list[Path]:
    """Write ``reports/<assignment>.html`` for each assignment with submissions."""
    out_dir = Path(out_dir) if out_dir else course.root / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in assignments or course.assignments():
        summary = assignment_summary(course, name)
        if not summary["scores"] and not summary["failed"]:
            continue
        esc = html.escape
        parts = [f"<!doctype html><meta charset='utf-8'><title>{esc(name)}: grading report</title>",
                 "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
                 "td,th{padding:2px 8px;text-align:left}</style>",
                 f"<h1>{esc(name)}</h1>"]
        scores = summary["scores"]
        if scores:
            pct = sorted(100 * s / m for s, m in scores.values() if m)
            mid = pct[len(pct) // 2] if pct else 0
            parts.append(f"<p>{len(scores)} submissions; median score {mid:.0f} %.</p>")
        for title, png in _plots(summary):
            parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' "
                         f"src='data:image/png;base64,{png}'>")
        parts.append("<h2>Pass rate per graded cell</h2><table><tr><th>cell</th><th>kind</th>"
                     "<th>full marks</th><th>graded</th></tr>")
        for gid, (passed, graded, kind) in summary["cells"].items():
            parts.append(f"<tr><td>{esc(gid)}</td><td>{kind}</td><td>{passed}</td>"
                         f"<td>{graded}</td></tr>")
        parts.append("</table><h2>Submissions that did not run to the end</h2>")
        if summary["failed"]:
            parts.append("<table><tr><th>student</th><th>status</th><th>reason</th></tr>")
            for r in summary["failed"]:
                parts.append(f"<tr><td>{esc(r.student)}</td><td>{r.status}</td>"
                             f"<td>{esc(r.reason)}</td></tr>")
            parts.append("</table>")
        else:
            parts.append("<p>None.</p>")
        path = out_dir / f"{name}.html"
        path.write_text("\n".join(parts))
        written.append(path)
        log(f"report {name} -> {path}")
    if not written:
        log("no report written: no submissions have been graded")
    return written

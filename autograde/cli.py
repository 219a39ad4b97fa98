"""The instructor's command line: ``autograde VERB`` (or ``python -m autograde VERB``).

A term, step by step (the course directory is ``autograde/`` unless
``--course DIR`` or ``AUTOGRADE_COURSE`` names another)::

    autograde release                      masters -> notebooks/ and nbgrader's release/
    autograde due 01_metrics_and_models "2026-12-01 17:00:00 UTC"
    autograde collect submissions.zip      into submitted/ (+ new students in the gradebook)
    autograde grade --workers 8            autograde in parallel, into the gradebook
                                           (--cluster: on the Ray cluster at RAY_ADDRESS)
    (manual grading in formgrader)
    autograde feedback                     feedback/<student>/<assignment>/*.html
    autograde export --to grades.csv       the gradebook as CSV
    autograde export --format canvas --roster roster.csv    (or moodle) for the platform
    autograde report                       reports/<assignment>.html: scores, item analysis
    autograde similarity 01_metrics_and_models    reports/<assignment>-similarity.html

For learners without an instructor: ``autograde self-check notebooks/01_….ipynb``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# the verbs' modules import nbgrader; they are loaded only when a verb needs them


def _course(args):
    from .course import Course

    return Course(args.course)


def _release(args) -> int:
    from .course import REPO_DIR, release_notebooks, repository

    course = _course(args)
    names = args.assignments or None
    course.release(names)  # one line per assignment; "refreshed" for a changed master
    if course.root == repository().root and not names:
        from .index import write_index

        for path in release_notebooks(course.root / "release"):
            print(f"wrote {path.relative_to(REPO_DIR)}")
        print(f"wrote {write_index().relative_to(REPO_DIR)} (the course's index)")
    return 0


def _list(args) -> int:
    for name in _course(args).assignments():
        print(name)
    return 0


def _due(args) -> int:
    from .collect import parse_timestamp

    course = _course(args)
    course.master(args.assignment)
    course.ensure_released([args.assignment])
    when = parse_timestamp(args.when)
    with course.gradebook() as gb:
        gb.update_or_create_assignment(args.assignment, duedate=when.replace(tzinfo=None))
    print(f"{args.assignment} is due {when:%Y-%m-%d %H:%M:%S} UTC")
    return 0


def _collect(args) -> int:
    from .collect import collect

    report = collect(_course(args), args.path)
    return 1 if report.unplaced and args.strict else 0


def _grade(args) -> int:
    from .grade import grade

    results = grade(_course(args), args.assignments or None, args.student or None,
                    workers=args.workers, force=args.force, timeout_s=args.timeout,
                    cluster=args.cluster, cpus_per_job=args.cpus_per_job,
                    unsandboxed=args.no_sandbox)
    return 0 if all(r.status == "ok" for r in results) else 2


def _feedback(args) -> int:
    from .feedback import feedback

    feedback(_course(args), args.assignments or None, args.student or None)
    return 0


def _export(args) -> int:
    if args.format == "nbgrader":
        from .feedback import export

        if args.roster or args.percent or args.title or args.assignments:
            raise ValueError("--roster, --percent, --title and assignments go with "
                             "--format canvas or moodle; nbgrader's CSV has every assignment")
        export(_course(args), args.to)
        return 0
    from .export import export_lms

    titles = {}
    for item in args.title or []:
        name, sep, title = item.partition("=")
        if not sep or not title:
            raise ValueError(f"--title wants ASSIGNMENT=COLUMN, got {item!r}")
        titles[name] = title
    report = export_lms(_course(args), args.format, args.roster, args.assignments or None,
                        args.to, percent=args.percent, missing=args.missing, titles=titles)
    return 1 if report.unmatched else 0


def _similarity(args) -> int:
    from .similarity import similarity

    similarity(_course(args), args.assignment, args.out, threshold=args.threshold)
    return 0


def _report(args) -> int:
    from .report import report

    report(_course(args), args.assignments or None, args.out)
    return 0


def _self_check(args) -> int:
    from .selfcheck import self_check

    result = self_check(args.notebook, args.assignment)
    return 0 if result["status"] == "ok" and result["score"] == result["max_score"] else 1


def _selfcheck_masters(args) -> int:
    from .course import assignments, autograde, master_path

    names = args.assignments or assignments()
    bad = 0
    for name in names:
        grades = autograde({name: master_path(name)})[name]
        auto = [g for g in grades.values() if g.kind == "autograder"]
        lost = [g for g in auto if not g.full]
        score = sum(g.score for g in auto)
        total = sum(g.max_score for g in auto)
        print(f"{name}: {score:g}/{total:g} autograded points"
              + ("" if not lost else f"; lost in {', '.join(g.name for g in lost)}"))
        bad += bool(lost)
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograde", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=None,
                        help="the nbgrader course directory (default: $AUTOGRADE_COURSE or "
                             "the repository's autograde/)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="VERB")

    def verb(name, func, help):
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = verb("release", _release, "check the masters' conventions, then generate the student "
             "versions (release/, gradebook; notebooks/ for the repository's course)")
    p.add_argument("assignments", nargs="*")
    verb("list", _list, "list the assignments")
    p = verb("due", _due, "set an assignment's due date (submissions after it are late)")
    p.add_argument("assignment")
    p.add_argument("when", help='e.g. "2026-12-01 17:00:00 UTC" (UTC when no zone is given)')
    p = verb("collect", _collect, "import submissions from a folder or zip laid out as "
             "<student>/<assignment>.ipynb or <student>/<assignment>/<assignment>.ipynb")
    p.add_argument("path", type=Path)
    p.add_argument("--strict", action="store_true", help="exit 1 if a file could not be placed")
    p = verb("grade", _grade, "autograde the collected submissions in parallel (resumable)")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--workers", "-j", type=int, default=None,
                   help="submissions graded at once (default: the machine's CPUs; with "
                        "--cluster, the cluster's CPUs divided by --cpus-per-job)")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--force", action="store_true",
                   help="grade again submissions already graded and unchanged")
    p.add_argument("--cluster", action="store_true",
                   help="grade on the Ray cluster at RAY_ADDRESS, each submission a Ray task "
                        "(default: on this machine, even when RAY_ADDRESS is set)")
    p.add_argument("--cpus-per-job", type=int, default=1,
                   help="with --cluster: CPUs per submission (default 1)")
    p.add_argument("--timeout", type=float, default=None,
                   help="wall-clock limit per notebook, seconds (default: the limits', "
                        "900 s unless AUTOGRADE_LIMITS sets notebook_timeout_s)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="grade even where a protection of the sandbox is missing (a trusted "
                        "class, or no Linux namespaces); by default grading is refused then")
    p = verb("feedback", _feedback, "HTML feedback per student (test messages, never the "
             "source of hidden tests)")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--student", action="append")
    p = verb("export", _export, "grades as CSV: nbgrader's (default), or as Canvas's or "
             "Moodle's gradebook import reads them, matched by a roster; lists every student "
             "who could not be matched (exit 1 when a graded student is not exported)")
    p.add_argument("assignments", nargs="*", help="with --format canvas/moodle: these only "
                   "(default: all)")
    p.add_argument("--format", choices=("nbgrader", "canvas", "moodle"), default="nbgrader")
    p.add_argument("--roster", type=Path, default=None,
                   help="CSV, one row per student: student_id (the gradebook's id) and the "
                        "platform's: lms_id (Canvas ID, Moodle user id), sis_id (SIS User ID, "
                        "ID number), login_id (SIS Login ID, username) or email; optional "
                        "name, section. Canvas's and Moodle's export headers work as they are")
    p.add_argument("--to", type=Path, default=None,
                   help="default: <course>/grades.csv (nbgrader), "
                        "<course>/exports/grades-FORMAT.csv")
    p.add_argument("--percent", action="store_true",
                   help="percentages of each assignment's points (default: points)")
    p.add_argument("--missing", choices=("zero", "blank"), default="zero",
                   help="a roster student without a submission: 0 (nbgrader's rule) or an "
                        "empty cell (the platform keeps what it has)")
    p.add_argument("--title", action="append", metavar="ASSIGNMENT=COLUMN",
                   help="the column's header, e.g. 01_metrics_and_models='Lab 1 (4711)' "
                        "(Canvas updates assignment 4711; another header creates one)")
    p = verb("similarity", _similarity, "an HTML page of the pairs of students whose answers "
             "to an exercise are unusually alike (names, comments, layout and independent "
             "statements' order set aside; the given code and what most wrote excluded)")
    p.add_argument("assignment")
    p.add_argument("--out", type=Path, default=None,
                   help="default: <course>/reports/ASSIGNMENT-similarity.html")
    p.add_argument("--threshold", type=float, default=0.7,
                   help="flag pairs from this score, 0 to 1 (default 0.7)")
    p = verb("report", _report, "an HTML report per assignment: every submission and its "
             "status, scores, per test cell its pass rate, discrimination (cells strong "
             "students fail and weak ones pass are flagged) and most frequent failing "
             "messages, failures, grading time")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--out", type=Path, default=None, help="default: <course>/reports/")
    p = verb("self-check", _self_check, "grade your own notebook against the masters, hidden "
             "tests included; nothing is left behind")
    p.add_argument("notebook", type=Path)
    p.add_argument("--assignment", default=None, help="when the file name does not say")
    p = verb("selfcheck-masters", _selfcheck_masters,
             "autograde every master; exit 1 unless all earn full marks")
    p.add_argument("assignments", nargs="*")
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as e:  # a UsageError (or another bad value): one line, no traceback
        print(f"autograde {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"autograde {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

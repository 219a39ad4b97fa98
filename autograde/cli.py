"""The instructor's command line: ``python -m autograde COMMAND`` (or ``course-admin``).

Commands:

* ``release``   regenerate ``notebooks/`` (the student notebooks) from the masters
* ``list``      the assignments
* ``selfcheck`` autograde every master as a submission and say whether it earns full marks
"""

from __future__ import annotations

import argparse
import sys

from . import pipeline


def _release(args) -> int:
    written = pipeline.release_notebooks()
    for path in written:
        print(f"wrote {path.relative_to(pipeline.REPO_DIR)}")
    return 0


def _list(args) -> int:
    for name in pipeline.assignments():
        print(name)
    return 0


def _selfcheck(args) -> int:
    names = args.assignments or pipeline.assignments()
    bad = 0
    for name in names:
        grades = pipeline.autograde({name: pipeline.master_path(name)})[name]
        auto = [g for g in grades.values() if g.kind == "autograder"]
        lost = [g for g in auto if not g.full]
        score = sum(g.score for g in auto)
        total = sum(g.max_score for g in auto)
        print(f"{name}: {score:g}/{total:g} autograded points"
              + ("" if not lost else f"; lost in {', '.join(g.name for g in lost)}"))
        bad += bool(lost)
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", help="regenerate notebooks/ from the masters").set_defaults(
        func=_release)
    sub.add_parser("list", help="list the assignments").set_defaults(func=_list)
    p = sub.add_parser("selfcheck", help="autograde the masters; exit 1 unless all earn full marks")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    p.set_defaults(func=_selfcheck)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m tests.wrong_answers.ray_judge NOTEBOOK``: judge the wrong answers to a notebook
whose test cells call Ray, inside a Ray session of two CPUs; print the outcome as one line of
JSON (see :func:`tests.wrong_answers.run_with_ray`)."""

from __future__ import annotations

import json
import sys


def main(notebook: str) -> None:
    import course_lib as cl
    from tests.wrong_answers import Master, all_wrong_answers, judge, memorised

    master = Master.load(notebook)
    wrong = [w for w in all_wrong_answers() if w.notebook == notebook]
    with cl.ray_session.session(num_cpus=2):
        exercises = sorted({w.exercise for w in wrong} | master.exercises())
        outcome = {"master": {e: master.failures(e) for e in exercises},
                   "wrong": {k: list(v) for k, v in judge(master, wrong).items()},
                   "untouched": master.untouched(),
                   "memorised": {e: memorised(master, e) for e in sorted(master.exercises())}}
    print(json.dumps(outcome))


if __name__ == "__main__":
    main(sys.argv[1])

"""``python -m tests.wrong_answers.stress NOTEBOOK [--seeds N]``: run the master's test cells,
hidden tests included, under N seeds of the random cases (``course_lib.cases``), and list
every exercise that fails under any of them. A correct answer that fails one seed in a
hundred is a defect: run this after changing an exercise's random cases (notebooks whose
test cells call Ray run inside a Ray session of two CPUs, as ``ray_judge`` does).

Not part of ``make test`` (that runs the masters under a few fixed seeds): it is the wide
net, minutes for a notebook.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import warnings


def stress(notebook: str, seeds: int, exercises: list[str] | None = None) -> dict:
    """{exercise: {seed: failures}} for the seeds under which the master fails."""
    import course_lib as cl
    from tests.wrong_answers import Master, _seeded, all_wrong_answers

    master = Master.load(notebook)
    ray = any(w.needs_ray for w in all_wrong_answers() if w.notebook == notebook)
    found: dict = {}
    session = cl.ray_session.session(num_cpus=2) if ray else contextlib.nullcontext()
    with session, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for exercise in exercises or sorted(master.exercises()):
            t0 = time.perf_counter()
            for i in range(seeds):
                seed = f"stress-{i}"
                with _seeded(seed):
                    failed = master.failures(exercise)
                if failed:
                    found.setdefault(exercise, {})[seed] = failed
            status = f"FAILS under {len(found[exercise])} seed(s)" if exercise in found else "ok"
            print(f"{notebook[:2]} {exercise:<28} {seeds} seeds {time.perf_counter() - t0:6.1f} s "
                  f" {status}", flush=True)
    return found


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebook")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--exercise", action="append", help="only these (repeatable)")
    args = ap.parse_args(argv)
    found = stress(args.notebook, args.seeds, args.exercise)
    for exercise, by_seed in found.items():
        seed, failed = next(iter(by_seed.items()))
        print(f"{exercise}: e.g. COURSE_CASE_SEED={seed}: {failed}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

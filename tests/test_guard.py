"""The grading guard (autograde/guard.py) and the test-cell rules (autograde/integrity.py),
without a grading run: the guard in a plain IPython shell in a fresh interpreter, the rules
on outputs built in code. The same attacks through the real sandbox are in
tests/test_adversarial.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import textwrap

import pytest

from autograde import integrity
from autograde.sandbox import GUARD
from course_lib.cases import SEED_ENV
from course_lib.ray_session import RAY_CPUS_ENV

NAME, SECRET = "__autograde_verify_0123456789abcdef__", "s3cret"

# a fresh interpreter: an IPython shell, the guard installed as the kernel installs it,
# then the grader's init; each case runs ATTACK in the shell, then asks the verifier
SCRIPT = textwrap.dedent("""
    import json, runpy, sys
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    runpy.run_path(sys.argv[1], run_name="__main__")
    shell.run_cell(f"__autograde_init__({sys.argv[2]!r}, {sys.argv[3]!r})")
    result = shell.run_cell(sys.argv[4])
    assert result.success, result.error_in_exec
    out = shell.run_cell(f"_v = {sys.argv[2]}('challenge-1')")
    try:
        value = shell.user_ns["_v"] if out.success else None
        print(json.dumps({"ok": out.success, "value": value,
                          "error": str(out.error_in_exec or "")}))
    except Exception as exc:
        print(json.dumps({"ok": False, "value": None, "error": repr(exc)}))
""")


def _verify_after(attack: str, seed: str | None = "the-graders-seed") -> dict:
    """The verifier's answer after ``attack``, in a kernel given ``seed`` (None: no seed, as
    in a learner's own kernel)."""
    env = {k: v for k, v in os.environ.items() if k != SEED_ENV}
    env[RAY_CPUS_ENV] = "2"  # as grading sets it
    if seed is not None:
        env[SEED_ENV] = seed
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(GUARD), NAME, SECRET, attack],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


EXPECTED = hmac.new(SECRET.encode(), b"challenge-1", hashlib.sha256).hexdigest()


def test_the_verifier_answers_the_challenge_when_nothing_was_touched():
    got = _verify_after("import numpy as np\nimport course_lib as cl\nx = 1\n")
    assert got == {"ok": True, "value": EXPECTED, "error": ""}


@pytest.mark.parametrize("attack, named", [
    ("import course_lib.checks as c\nc.check_close = lambda *a, **k: None", "check_close"),
    ("import builtins\nbuiltins.abs = lambda x: 0", "builtins.abs"),
    ("import builtins\n__builtins__ = dict(vars(builtins))", "__builtins__"),
    ("import course_lib\ncl = object()", "'cl'"),
    ("get_ipython().events.register('pre_execute', lambda: None)", "pre_execute"),
    ("get_ipython().events.register('post_execute', lambda: None)", "post_execute"),
    ("get_ipython().events.register('pre_run_cell', lambda info: None)", "pre_run_cell"),
    ("get_ipython().events.register('post_run_cell', lambda r: None)", "post_run_cell"),
    ("get_ipython().input_transformers_cleanup.append(lambda lines: lines)", "transformers"),
    ("import sys\nsys.settrace(lambda *a: None)", "trace"),
    ("get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)", "handler"),
    ("import numpy\nnumpy.allclose = lambda *a, **k: True", "numpy.allclose"),
    # the hidden tests' random cases (course_lib.cases): checked, drawn and seeded as given
    ("import course_lib.cases as c\nc.check_cases = lambda *a, **k: 0", "check_cases"),
    ("import course_lib.cases as c\nc.check_like.__code__ = (lambda *a, **k: None).__code__",
     "check_like (its code)"),
    ("import course_lib.cases as c\nc.Draw.size = lambda self, lo=0, hi=0: lo", "Draw.size"),
    ("import os\nos.environ['COURSE_CASE_SEED'] = 'a-classmates-seed'", "seed"),
    ("import os\ndel os.environ['COURSE_CASE_SEED']", "seed"),
    ("import numpy\nnumpy.random.default_rng = lambda *a: None", "default_rng"),
    ("import course_lib.cases as c\nc._plain = lambda value: True", "_plain"),
    ("import math\nmath.isnan = lambda x: True", "math.isnan"),
    ("import hashlib\nhashlib.sha256 = hashlib.md5", "hashlib.sha256"),
    # whether the hidden tests check that Ray tasks ran side by side (course_lib.raytools)
    ("import os\nos.environ['COURSE_RAY_CPUS'] = '1'", "COURSE_RAY_CPUS"),
    ("import os\ndel os.environ['COURSE_RAY_CPUS']", "COURSE_RAY_CPUS"),
    ("import os\nos.environ = dict(os.environ, COURSE_RAY_CPUS='1')", "os.environ"),
    ("import course_lib.raytools as r\nr.side_by_side = lambda: False", "side_by_side"),
    ("import course_lib.raytools as r\nr.side_by_side.__code__ = (lambda: False).__code__",
     "side_by_side (its code)"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None)
def test_a_replaced_helper_or_added_hook_fails_the_check(attack, named):
    got = _verify_after(attack)
    assert not got["ok"] and "grading integrity check failed" in got["error"], got
    assert named in got["error"], got


@pytest.mark.parametrize("attack", [
    # the old guard's two-line defeat: shadow the verifier's name, then patch the checks
    f"{NAME} = lambda *a, **k: None",
    f"import builtins\nbuiltins.__dict__[{NAME!r}] = lambda *a, **k: 'ok'",
])
def test_a_shadowed_or_replaced_verifier_cannot_answer(attack):
    got = _verify_after(attack)
    assert got["value"] != EXPECTED, got


def test_the_seed_of_a_kernel_without_one_cannot_be_set_either():
    got = _verify_after("import course_lib.cases as c\nc._SALT = 'a-classmates-seed'", seed=None)
    assert not got["ok"] and "the random cases' seed" in got["error"], got
    assert _verify_after("x = 1", seed=None)["value"] == EXPECTED


def test_matplotlib_hooks_are_allowed():
    got = _verify_after("import matplotlib\nmatplotlib.use('Agg')\n"
                        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n")
    assert got["ok"] and got["value"] == EXPECTED, got


def test_the_init_is_gone_after_the_graders_call():
    got = _verify_after("try:\n    __autograde_init__('x', 'y')\nexcept NameError:\n    pass\n"
                        "else:\n    raise SystemError('the init ran twice')\n")
    assert got == {"ok": True, "value": EXPECTED, "error": ""}


# ---------------------------------------------------------------------------- integrity
def _error(ename="AssertionError", evalue="no"):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [evalue]}


def test_results_and_displays_never_count_in_a_test_cell():
    forged = [{"output_type": "execute_result", "data": {"text/plain": "'forged'"},
               "metadata": {}, "execution_count": 1},
              {"output_type": "display_data", "data": {"text/plain": "2"}, "metadata": {}},
              {"output_type": "stream", "name": "stdout", "text": "hello"}]
    kept = integrity.graded_outputs(forged, {"status": "ok"})
    assert [o["output_type"] for o in kept] == ["stream"]
    failed = integrity.graded_outputs(forged + [_error()], {"status": "error"})
    assert [o["output_type"] for o in failed] == ["stream", "error"]


def test_a_failure_the_submission_cleared_is_restored_from_the_reply():
    kept = integrity.graded_outputs([], {"status": "error", "ename": "AssertionError",
                                         "evalue": "expected 2, got 1", "traceback": []})
    assert kept[0]["output_type"] == "error" and kept[0]["evalue"] == "expected 2, got 1"


def test_tampering_and_an_unanswered_check_are_errors():
    kept = integrity.graded_outputs([], {"status": "ok"},
                                    tampered="grading integrity check failed: x")
    assert integrity.INTEGRITY_MESSAGE in kept[-1]["evalue"]
    kept = integrity.graded_outputs([], {"status": "ok"}, unanswered="busy")
    assert kept[-1]["ename"] == "CellTimeoutError"


def test_errors_are_capped():
    big = integrity.cap_error({"ename": "E" * 10_000, "evalue": "x" * 40_000_000,
                               "traceback": ["frame " * 10_000] * 10_000})
    assert len(json.dumps(big)) < 300_000


def test_a_timed_out_cell_is_its_own_error_not_the_notebooks(tmp_path):
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": "",
                     "outputs": [_error("CellTimeoutError", "")]}]}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb))
    assert integrity.scan_executed(path) is None
    assert integrity.timed_out_cells(path) == ["cell 0"]
    nb["cells"][0]["outputs"].append(_error(evalue="grading integrity check failed: y"))
    path.write_text(json.dumps(nb))
    assert integrity.scan_executed(path)[0] == "invalid"


# ---------------------------------------------------------------------------- messages
def test_a_cells_output_keeps_its_first_part_up_to_the_limit(tmp_path, monkeypatch):
    """A burst of prints reaches the grader as one stream message: past the per-cell limit,
    the part that fits is kept, then a note; later output of the cell is dropped."""
    from autograde import sandbox
    from autograde.execute import SandboxedExecute

    limits = sandbox.Limits(output_kb=1)
    monkeypatch.setenv(sandbox.ENV, sandbox.job_settings(limits, {}, tmp_path / "conn"))
    ex = SandboxedExecute()
    ex.reset_execution_trackers()  # what running a notebook sets up first
    ex.clear_before_next_output = False

    def stream(text):
        return {"msg_type": "stream", "parent_header": {"msg_id": "m"},
                "header": {"msg_type": "stream"},
                "content": {"name": "stdout", "text": text}}

    outs = []
    ex.output(outs, stream("a" * 600), None, 0)
    ex.output(outs, stream("b" * 3000), None, 0)
    ex.output(outs, stream("c" * 10), None, 0)
    text = "".join(o.get("text", "") for o in outs)
    assert text.startswith("a" * 600 + "b" * 424) and "c" not in text, text[:50]
    assert "output past 1 KiB dropped" in text and text.count("dropped") == 1


def test_the_grader_reads_no_kernel_message_over_the_limit(tmp_path, monkeypatch):
    """The kernel client's sockets (on the manager's bounded context) drop a message over
    Limits.message_mb unread."""
    import time

    import zmq

    from autograde import sandbox
    from autograde.execute import SandboxKernelManager

    limits = sandbox.Limits(message_mb=1)
    monkeypatch.setenv(sandbox.ENV, sandbox.job_settings(limits, {}, tmp_path / "conn"))
    km = SandboxKernelManager()
    kc = km.client()
    assert kc.context.getsockopt(zmq.MAXMSGSIZE) == 2**20  # the client's own context
    # a context bounded the same way, as the client's iopub socket is, against 4 MiB
    sync = zmq.Context(io_threads=1)
    sync.setsockopt(zmq.MAXMSGSIZE, kc.context.getsockopt(zmq.MAXMSGSIZE))
    assert sync.getsockopt(zmq.MAXMSGSIZE) == 2**20
    pub = zmq.Context().socket(zmq.PUB)
    address = f"ipc://{tmp_path}/iopub"
    pub.bind(address)
    sub = sync.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(address)

    def receive(what: bytes) -> list[bytes]:
        got, deadline = [], time.monotonic() + 20
        while what not in got and time.monotonic() < deadline:
            pub.send(what)
            while sub.poll(100):
                got.append(sub.recv())
        return got

    assert b"before" in receive(b"before")  # connected
    pub.send(b"x" * (4 * 2**20))
    pub.send(b"after")
    got = []
    while sub.poll(2000):
        got.append(sub.recv())
    # never read; ZeroMQ also cuts the sender off for good (nothing after it arrives), which
    # the grader survives: it grades on the kernel's replies (tests/test_adversarial.py)
    assert all(len(m) <= 2**20 for m in got), [len(m) for m in got]
    pub.close(0)
    sub.close(0)
    kc.stop_channels()

"""Feedback pages reveal no hidden test, in any encoding (autograde/feedback.py).

A hostile solution can read the test cell that calls it and print it, encoded, at once
or from a later cell; so feedback shows no output at all, only one verdict per test cell,
with a failing message only when the test cell or ``course_lib/checks.py`` raised it.

Most tests run :class:`autograde.feedback.FeedbackVerdicts` on notebooks built here. Their
error outputs, ``ERRORS``, are real: copied verbatim from what an IPython 9.18.1 kernel
(ipykernel, through nbclient) sent for the cells ``SOURCES`` (execution counts 1 to 7:
imports, a solution, five test cells). ``test_a_live_kernel_formats_tracebacks_the_same``
runs ``SOURCES`` through a kernel again and checks that its verdicts are the fixtures', so
a change of IPython's traceback format fails here. The last test grades one hostile
submission of 00_welcome end to end (marked ``grading``).
"""

from __future__ import annotations

import base64
import codecs
import copy
import json
import re
from html import unescape
from pathlib import Path

import nbformat
import pytest
from nbgrader.preprocessors import ClearHiddenTests

from autograde import feedback as fb
from autograde.feedback import FeedbackVerdicts, verdict

ROOT = Path(__file__).resolve().parents[1]
MARKER = "HIDDEN-FB-MARKER-0d4e1a"
HIDDEN = f"check_close(as_float(speedup(7, 2)), 3.5, what='{MARKER}')"
BLOB = base64.b64encode(HIDDEN.encode()).decode()
SOURCES = [
    "from course_lib.checks import as_float, check_close, check_true",
    "def speedup(T_baseline, T_new):\n"
    "    if T_new == 0:\n"
    f"        raise ValueError({BLOB!r})\n"
    "    if T_new < 0:\n"
    f"        check_true(False, what={BLOB!r})\n"
    "    return T_new / T_baseline\n"
    "\n"
    "def hidden(what):\n"
    "    __tracebackhide__ = True  # IPython leaves this frame out of tracebacks\n"
    "    check_true(False, what=what)\n"
    "\n"
    "Leak = type('Cell In[9], line 1', (AssertionError,), {})  # its name looks like a frame\n"
    "\n"
    "def spoof():\n"
    "    raise Leak('spoofed')",
    # 3: a helper (check_close) called by the test cell fails: trusted
    "check_close(as_float(speedup(10.0, 5.0)), 2.0, what=\"speedup(10, 5)\")",
    # 4: the solution raises, its message a base64 blob: not trusted
    "speedup(1.0, 0.0)",
    # 5: the solution calls a helper with a message of its own: not trusted
    "speedup(1.0, -1.0)",
    # 6: the test cell's own assert: trusted; ANSI, a bell and a second line are dropped
    "assert speedup(2.0, 1.0) == 2.0, "
    "'speedup(2, 1): expected 2.0\\x1b[31m\\x07 (see above)\\nsecond line'",
    # 7: a helper called by the test cell, with a message of 554 characters: capped
    "check_true(speedup(1.0, 2.0) == 0.5, what='speedup(1, 2) ' + 'is wrong ' * 60)",
    # 8: the solution calls a helper from a frame IPython hides: not trusted
    f"hidden({BLOB!r})",
    # 9: an exception class of the solution's, named like the test cell's frame: not trusted
    "spoof()",
]
UNTRUSTED = "(raised inside your code; its message is not shown in feedback)"
EXPECTED = {
    3: "failed: AssertionError: speedup(10, 5): expected 2, got 0.5",
    4: f"failed: ValueError {UNTRUSTED}",
    5: f"failed: AssertionError {UNTRUSTED}",
    6: "failed: AssertionError: speedup(2, 1): expected 2.0 (see above)",
    7: "failed: AssertionError: speedup(1, 2) " + ("is wrong " * 60)[:300 - 17] + "...",
    8: f"failed: AssertionError {UNTRUSTED}",
    9: f"failed: an exception of a class defined outside Python's built-ins {UNTRUSTED}",
}

ERRORS = {  # execution count -> (ename, evalue, traceback), as the kernel sent them
    3: (
        'AssertionError',
        'speedup(10, 5): expected 2, got 0.5',
        [
            '\x1b[31m---------------------------------------------------------------------------'
            '\x1b[39m',
            '\x1b[31mAssertionError\x1b[39m                            Traceback (most recent cal'
            'l last)',
            '\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[3]\x1b[39m\x1b[32m, line 1\x1b[39m\n'
            '\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m check_close(as_float(speedup(\x1b[32m10.0'
            '\x1b[39m, \x1b[32m5.0\x1b[39m)), \x1b[32m2.0\x1b[39m, what=\x1b[33m"speedup(10, 5)"'
            '\x1b[39m)\n',
            '\x1b[36mFile \x1b[39m\x1b[32m/work/main/course_lib/checks.py:188\x1b[39m, in \x1b[36'
            'mcheck_close\x1b[39m\x1b[34m(got, expected, rel, abs_, what)\x1b[39m\n\x1b[32m    18'
            '6\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m\n\x1b[32m    187\x1b[39m \x1b[38;5;2'
            '8;01mif\x1b[39;00m \x1b[38;5;129;01mnot\x1b[39;00m \x1b[38;5;28mabs\x1b[39m(got - ex'
            'pected) <= \x1b[38;5;28mmax\x1b[39m(rel * \x1b[38;5;28mabs\x1b[39m(expected), abs_):'
            '\n\x1b[32m--> \x1b[39m\x1b[32m188\x1b[39m     \x1b[38;5;28;01mraise\x1b[39;00m _fail'
            '(what, \x1b[33mf\x1b[39m\x1b[33m"\x1b[39m\x1b[33mexpected \x1b[39m\x1b[38;5;132;01m{'
            '\x1b[39;00mexpected\x1b[38;5;132;01m:\x1b[39;00m\x1b[33m.6g\x1b[39m\x1b[38;5;132;01m'
            '}\x1b[39;00m\x1b[33m, got \x1b[39m\x1b[38;5;132;01m{\x1b[39;00mgot\x1b[38;5;132;01m:'
            '\x1b[39;00m\x1b[33m.6g\x1b[39m\x1b[38;5;132;01m}\x1b[39;00m\x1b[33m"\x1b[39m)\n',
            '\x1b[31mAssertionError\x1b[39m: speedup(10, 5): expected 2, got 0.5',
        ],
    ),
    4: (
        'ValueError',
        'Y2hlY2tfY2xvc2UoYXNfZmxvYXQoc3BlZWR1cCg3LCAyKSksIDMuNSwgd2hhdD0nSElEREVOLUZCLU1BUktFUi0w'
        'ZDRlMWEnKQ==',
        [
            '\x1b[31m---------------------------------------------------------------------------'
            '\x1b[39m',
            '\x1b[31mValueError\x1b[39m                                Traceback (most recent cal'
            'l last)',
            '\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[4]\x1b[39m\x1b[32m, line 1\x1b[39m\n'
            '\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m speedup(\x1b[32m1.0\x1b[39m, \x1b[32m0.0\x1b'
            '[39m)\n',
            '\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 3\x1b[39m, '
            'in \x1b[36mspeedup\x1b[39m\x1b[34m(T_baseline, T_new)\x1b[39m\n\x1b[32m      1\x1b[3'
            '9m \x1b[38;5;28;01mdef\x1b[39;00m speedup(T_baseline, T_new):\n\x1b[32m      2\x1b[3'
            '9m     \x1b[38;5;28;01mif\x1b[39;00m T_new == \x1b[32m0\x1b[39m:\n\x1b[32m----> \x1b'
            "[39m\x1b[32m3\x1b[39m         \x1b[38;5;28;01mraise\x1b[39;00m ValueError(\x1b[33m'Y"
            '2hlY2tfY2xvc2UoYXNfZmxvYXQoc3BlZWR1cCg3LCAyKSksIDMuNSwgd2hhdD0nSElEREVOLUZCLU1BUktFU'
            "i0wZDRlMWEnKQ=='\x1b[39m)\n\x1b[32m      4\x1b[39m     \x1b[38;5;28;01mif\x1b[39;00m"
            ' T_new < \x1b[32m0\x1b[39m:\n\x1b[32m      5\x1b[39m         check_true(\x1b[38;5;28'
            ";01mFalse\x1b[39;00m, what=\x1b[33m'Y2hlY2tfY2xvc2UoYXNfZmxvYXQoc3BlZWR1cCg3LCAyKSks"
            "IDMuNSwgd2hhdD0nSElEREVOLUZCLU1BUktFUi0wZDRlMWEnKQ=='\x1b[39m)\n\x1b[32m      6\x1b["
            '39m     \x1b[38;5;28;01mreturn\x1b[39;00m T_new / T_baseline\n',
            '\x1b[31mValueError\x1b[39m: Y2hlY2tfY2xvc2UoYXNfZmxvYXQoc3BlZWR1cCg3LCAyKSksIDMuNSwg'
            'd2hhdD0nSElEREVOLUZCLU1BUktFUi0wZDRlMWEnKQ==',
        ],
    ),
    5: (
        'AssertionError',
        'Y2hlY2tfY2xvc2UoYXNfZmxvYXQoc3BlZWR1cCg3LCAyKSksIDMuNSwgd2hhdD0nSElEREVOLUZCLU1BUktFUi0w'
        'ZDRlMWEnKQ==',
        [
            '\x1b[31m---------------------------------------------------------------------------'
            '\x1b[39m',
            '\x1b[31mAssertionError\x1b[39m                            Traceback (most recent cal'
            'l last)',
            '\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[5]\x1b[39m\x1b[32m, line 1\x1b[39m\n'
            '\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m speedup(\x1b[32m1.0\x1b[39m, -\x1b[32m1.0'
            '\x1b[39m)\n',
            '\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 5\x1b[39m, '
            'in \x1b[36mspeedup\x1b[39m\x1b[34m(T_baseline, T_new)\x1b[39m\n\x1b[32m      1\x1b[3'
            '9m \x1b[38;5;28;01mdef\x1b[39;00m speedup(T_baseline, T_new):\n\x1b[32m      2\x1b[3'
            '9m     \x1b[38;5;28;01mif\x1b[39;00m T_new == \x1b[32m0\x1b[39m:\n\x1b[32m      3'
            "\x1b[39m         \x1b[38;5;28;01mraise\x1b[39;00m ValueError(\x1b[33m'Y2hlY2tfY2xvc2"
            'UoYXNfZmxvYXQoc3BlZWR1cCg3LCAyKSksIDMuNSwgd2hhdD0nSElEREVOLUZCLU1BUktFUi0wZDRlMWEnKQ'
            "=='\x1b[39m)\n\x1b[32m      4\x1b[39m     \x1b[38;5;28;01mif\x1b[39;00m T_new < \x1b"
            '[32m0\x1b[39m:\n\x1b[32m----> \x1b[39m\x1b[32m5\x1b[39m         check_true(\x1b[38;5'
            ";28;01mFalse\x1b[39;00m, what=\x1b[33m'Y2hlY2tfY2xvc2UoYXNfZmxvYXQoc3BlZWR1cCg3LCAyK"
            "SksIDMuNSwgd2hhdD0nSElEREVOLUZCLU1BUktFUi0wZDRlMWEnKQ=='\x1b[39m)\n\x1b[32m      6"
            '\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m T_new / T_baseline\n',
            '\x1b[36mFile \x1b[39m\x1b[32m/work/main/course_lib/checks.py:157\x1b[39m, in \x1b[36'
            'mcheck_true\x1b[39m\x1b[34m(condition, what)\x1b[39m\n\x1b[32m    152\x1b[39m \x1b[3'
            '8;5;250m\x1b[39m\x1b[33;03m"""Fail with ``what`` as the message unless ``condition``'
            ' is exactly True.\x1b[39;00m\n\x1b[32m    153\x1b[39m \n\x1b[32m    154\x1b[39m \x1b'
            '[33;03m>>> check_true(1 < 2, "one is less than two")\x1b[39;00m\n\x1b[32m    155\x1b'
            '[39m \x1b[33;03m"""\x1b[39;00m\n\x1b[32m    156\x1b[39m \x1b[38;5;28;01mif\x1b[39;00'
            'm condition \x1b[38;5;129;01mis\x1b[39;00m \x1b[38;5;129;01mnot\x1b[39;00m \x1b[38;5'
            ';28;01mTrue\x1b[39;00m \x1b[38;5;129;01mand\x1b[39;00m condition \x1b[38;5;129;01mis'
            '\x1b[39;00m \x1b[38;5;129;01mnot\x1b[39;00m np.True_:\n\x1b[32m--> \x1b[39m\x1b[32m1'
            '57\x1b[39m     \x1b[38;5;28;01mraise\x1b[39;00m \x1b[38;5;167;01mAssertionError\x1b['
            '39;00m(what)\n',
            '\x1b[31mAssertionError\x1b[39m: Y2hlY2tfY2xvc2UoYXNfZmxvYXQoc3BlZWR1cCg3LCAyKSksIDMu'
            'NSwgd2hhdD0nSElEREVOLUZCLU1BUktFUi0wZDRlMWEnKQ==',
        ],
    ),
    6: (
        'AssertionError',
        'speedup(2, 1): expected 2.0\x1b[31m\x07 (see above)\nsecond line',
        [
            '\x1b[31m---------------------------------------------------------------------------'
            '\x1b[39m',
            '\x1b[31mAssertionError\x1b[39m                            Traceback (most recent cal'
            'l last)',
            '\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[6]\x1b[39m\x1b[32m, line 1\x1b[39m\n'
            '\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m \x1b[38;5;28;01massert\x1b[39;00m speedup('
            "\x1b[32m2.0\x1b[39m, \x1b[32m1.0\x1b[39m) == \x1b[32m2.0\x1b[39m, \x1b[33m'speedup(2"
            ", 1): expected 2.0\\x1b[31m\\x07 (see above)\\nsecond line'\x1b[39m\n",
            '\x1b[31mAssertionError\x1b[39m: speedup(2, 1): expected 2.0\x1b[31m\x07 (see above)'
            '\nsecond line',
        ],
    ),
    7: (
        'AssertionError',
        'speedup(1, 2) is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is'
        ' wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong '
        'is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wron'
        'g is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wr'
        'ong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is '
        'wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong i'
        's wrong is wrong is wrong ',
        [
            '\x1b[31m---------------------------------------------------------------------------'
            '\x1b[39m',
            '\x1b[31mAssertionError\x1b[39m                            Traceback (most recent cal'
            'l last)',
            '\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[7]\x1b[39m\x1b[32m, line 1\x1b[39m\n'
            '\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m check_true(speedup(\x1b[32m1.0\x1b[39m, \x1b'
            "[32m2.0\x1b[39m) == \x1b[32m0.5\x1b[39m, what=\x1b[33m'speedup(1, 2) '\x1b[39m + "
            "\x1b[33m'is wrong '\x1b[39m * \x1b[32m60\x1b[39m)\n",
            '\x1b[36mFile \x1b[39m\x1b[32m/work/main/course_lib/checks.py:157\x1b[39m, in \x1b[36'
            'mcheck_true\x1b[39m\x1b[34m(condition, what)\x1b[39m\n\x1b[32m    152\x1b[39m \x1b[3'
            '8;5;250m\x1b[39m\x1b[33;03m"""Fail with ``what`` as the message unless ``condition``'
            ' is exactly True.\x1b[39;00m\n\x1b[32m    153\x1b[39m \n\x1b[32m    154\x1b[39m \x1b'
            '[33;03m>>> check_true(1 < 2, "one is less than two")\x1b[39;00m\n\x1b[32m    155\x1b'
            '[39m \x1b[33;03m"""\x1b[39;00m\n\x1b[32m    156\x1b[39m \x1b[38;5;28;01mif\x1b[39;00'
            'm condition \x1b[38;5;129;01mis\x1b[39;00m \x1b[38;5;129;01mnot\x1b[39;00m \x1b[38;5'
            ';28;01mTrue\x1b[39;00m \x1b[38;5;129;01mand\x1b[39;00m condition \x1b[38;5;129;01mis'
            '\x1b[39;00m \x1b[38;5;129;01mnot\x1b[39;00m np.True_:\n\x1b[32m--> \x1b[39m\x1b[32m1'
            '57\x1b[39m     \x1b[38;5;28;01mraise\x1b[39;00m \x1b[38;5;167;01mAssertionError\x1b['
            '39;00m(what)\n',
            '\x1b[31mAssertionError\x1b[39m: speedup(1, 2) is wrong is wrong is wrong is wrong is'
            ' wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wr'
            'ong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong'
            ' is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is'
            ' wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wr'
            'ong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong'
            ' is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong is wrong ',
        ],
    ),
    8: (
        'AssertionError',
        'Y2hlY2tfY2xvc2UoYXNfZmxvYXQoc3BlZWR1cCg3LCAyKSksIDMuNSwgd2hhdD0nSElEREVOLUZCLU1BUktFUi0w'
        'ZDRlMWEnKQ==',
        [
            '\x1b[31m---------------------------------------------------------------------------'
            '\x1b[39m',
            '\x1b[31mAssertionError\x1b[39m                            Traceback (most recent cal'
            'l last)',
            '\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[8]\x1b[39m\x1b[32m, line 1\x1b[39m\n'
            "\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m hidden(\x1b[33m'Y2hlY2tfY2xvc2UoYXNfZmxvYXQo"
            "c3BlZWR1cCg3LCAyKSksIDMuNSwgd2hhdD0nSElEREVOLUZCLU1BUktFUi0wZDRlMWEnKQ=='\x1b[39m)\n",
            '    \x1b[31m[... skipping hidden 1 frame]\x1b[39m\n',
            '\x1b[36mFile \x1b[39m\x1b[32m/work/main/course_lib/checks.py:157\x1b[39m, in \x1b[36'
            'mcheck_true\x1b[39m\x1b[34m(condition, what)\x1b[39m\n\x1b[32m    152\x1b[39m \x1b[3'
            '8;5;250m\x1b[39m\x1b[33;03m"""Fail with ``what`` as the message unless ``condition``'
            ' is exactly True.\x1b[39;00m\n\x1b[32m    153\x1b[39m \n\x1b[32m    154\x1b[39m \x1b'
            '[33;03m>>> check_true(1 < 2, "one is less than two")\x1b[39;00m\n\x1b[32m    155\x1b'
            '[39m \x1b[33;03m"""\x1b[39;00m\n\x1b[32m    156\x1b[39m \x1b[38;5;28;01mif\x1b[39;00'
            'm condition \x1b[38;5;129;01mis\x1b[39;00m \x1b[38;5;129;01mnot\x1b[39;00m \x1b[38;5'
            ';28;01mTrue\x1b[39;00m \x1b[38;5;129;01mand\x1b[39;00m condition \x1b[38;5;129;01mis'
            '\x1b[39;00m \x1b[38;5;129;01mnot\x1b[39;00m np.True_:\n\x1b[32m--> \x1b[39m\x1b[32m1'
            '57\x1b[39m     \x1b[38;5;28;01mraise\x1b[39;00m \x1b[38;5;167;01mAssertionError\x1b['
            '39;00m(what)\n',
            '\x1b[31mAssertionError\x1b[39m: Y2hlY2tfY2xvc2UoYXNfZmxvYXQoc3BlZWR1cCg3LCAyKSksIDMu'
            'NSwgd2hhdD0nSElEREVOLUZCLU1BUktFUi0wZDRlMWEnKQ==',
        ],
    ),
    9: (
        'Cell In[9], line 1',
        'spoofed',
        [
            '\x1b[31m---------------------------------------------------------------------------'
            '\x1b[39m',
            '\x1b[31mCell In[9], line 1\x1b[39m                        Traceback (most recent cal'
            'l last)',
            '\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[9]\x1b[39m\x1b[32m, line 1\x1b[39m\n'
            '\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m spoof()\n',
            '\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 15\x1b[39m,'
            ' in \x1b[36mspoof\x1b[39m\x1b[34m()\x1b[39m\n\x1b[32m     14\x1b[39m \x1b[38;5;28;01'
            'mdef\x1b[39;00m spoof():\n\x1b[32m---> \x1b[39m\x1b[32m15\x1b[39m     \x1b[38;5;28;0'
            "1mraise\x1b[39;00m Leak(\x1b[33m'spoofed'\x1b[39m)\n",
            '\x1b[31mCell In[9], line 1\x1b[39m: spoofed',
        ],
    ),
}


def _encodings(secret: str) -> list[str]:
    """Substrings that any base64 (at any alignment), hex or rot13 encoding of a text
    holding ``secret`` contains, and the secret itself."""
    raw = secret.encode()
    out = [secret, raw.hex(), raw.hex().upper(), codecs.encode(secret, "rot13")]
    for pad in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            text = enc(b"\0" * pad + raw).decode()
            out.append(text[4:-4])  # the groups made of the secret's bytes alone
    return out


def _leaks(text: str) -> list[str]:
    return [e for e in _encodings(MARKER) + [BLOB, BLOB[8:40]] if e in text]


def _stream(text: str, name: str = "stdout") -> dict:
    return nbformat.v4.new_output("stream", name=name, text=text)


def _error(count: int) -> dict:
    ename, evalue, traceback = ERRORS[count]
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=list(traceback))


def _code(source: str, count: int | None, outputs=(), nbgrader: dict | None = None) -> dict:
    cell = nbformat.v4.new_code_cell(source, execution_count=count, outputs=list(outputs))
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": True, "task": False,
                                     **nbgrader}
    return cell


def _test_cell(name: str, count: int | None, outputs=(), visible: str = "check_close(1, 1)"):
    source = (f"{visible}\n### BEGIN HIDDEN TESTS\n{HIDDEN}\n# {MARKER}\n"
              "### END HIDDEN TESTS")
    return _code(source, count, outputs, {"grade": True, "solution": False,
                                          "grade_id": name, "points": 2})


def _leaky_outputs() -> list[dict]:
    """What a hostile solution prints: the hidden line in base64 (stdout), hex (stderr),
    rot13 (a result), as an image and as HTML (a display)."""
    return [
        _stream(BLOB + "\n"),
        _stream(HIDDEN.encode().hex() + "\n", "stderr"),
        nbformat.v4.new_output("execute_result", execution_count=2,
                               data={"text/plain": repr(codecs.encode(HIDDEN, "rot13"))}),
        nbformat.v4.new_output("display_data", data={"image/png": BLOB,
                                                     "text/html": f"<b>{HIDDEN}</b>"}),
    ]


def _executed() -> nbformat.NotebookNode:
    """An executed, autograded notebook: markdown, imports, a hostile solution (prints the
    hidden line, encoded), the test cells of ERRORS, tests that pass, time out, write
    to stderr or fail the integrity check, and an extra cell of the student's that prints
    what it stashed."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {
        "w": {"state": {"value": BLOB}}}}}
    solution = ("def speedup(T_baseline, T_new):\n    ### BEGIN SOLUTION\n"
                "    import base64, sys\n    print(base64.b64encode(sys._getframe(1)...))\n"
                "    ### END SOLUTION")
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Welcome\nSome **markdown**."),
        _code(SOURCES[0], 1),
        _code(solution, 2, _leaky_outputs(), {"grade": False, "solution": True,
                                               "grade_id": "speedup", "locked": False}),
        *[_test_cell(f"test_speedup_{n}", n, [*_leaky_outputs(), _error(n)])
          for n in EXPECTED],
        _test_cell("test_passes", 10, _leaky_outputs()[:1] + _leaky_outputs()[2:]),
        _test_cell("test_stderr", 11, _leaky_outputs()),
        # a trusted-looking traceback in a cell that is not the one it names
        _test_cell("test_moved", 12, [_error(3)]),
        _test_cell("test_timeout", 13, [nbformat.v4.new_output(
            "error", ename="CellTimeoutError", evalue=f"timed out {BLOB}",
            traceback=[f"CellTimeoutError: {BLOB}"])]),
        _test_cell("test_integrity", 14, [nbformat.v4.new_output(
            "error", ename="AssertionError",
            evalue=f"grading integrity check failed: {BLOB}",
            traceback=[f"grading integrity check failed: {BLOB}"])]),
        _test_cell("test_no_frames", 15, [nbformat.v4.new_output(
            "error", ename=f"Leak{BLOB[:20]}", evalue=BLOB, traceback=[BLOB])]),
        _code("print(_stolen.encode().hex())", 16, _leaky_outputs() + [_error(4)]),
        nbformat.v4.new_raw_cell("raw text"),
    ]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata["execution"] = {"iopub.execute_input": "2026-11-20T10:00:00.000001Z"}
    nbformat.validate(nb)
    return nb


def _feedback(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The chain of ``autograde feedback`` minus the gradebook and HTML: ours, then
    nbgrader's ClearHiddenTests."""
    nb = copy.deepcopy(nb)
    nb, _ = FeedbackVerdicts().preprocess(nb, {})
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    return nb


def _verdicts(nb) -> dict[str, str]:
    return {c.metadata["nbgrader"]["grade_id"]: "".join(o.text for o in c.outputs)
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def test_only_verdicts_are_left():
    before = _executed()
    after = _feedback(before)
    for old, new in zip(before.cells, after.cells, strict=True):
        if new.cell_type != "code":
            assert new == old  # markdown and raw cells as they were
            continue
        meta = new.metadata.get("nbgrader", {})
        if meta.get("grade"):
            (out,) = new.outputs
            assert out == {"output_type": "stream", "name": "stdout", "text": out.text}
            assert out.text.endswith("\n") and out.text.count("\n") == 1
            assert "### BEGIN HIDDEN TESTS" not in new.source
            assert new.source.startswith("check_close(1, 1)")
        else:
            assert new.outputs == []
            assert new.source == old.source
        assert "execution" not in new.metadata
    counts = [c.execution_count for c in after.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
    assert "widgets" not in after.metadata
    nbformat.validate(after)


def test_trusted_messages_are_shown_and_the_others_hidden():
    got = _verdicts(_feedback(_executed()))
    for n, want in EXPECTED.items():
        assert got[f"test_speedup_{n}"] == want + "\n", n
    assert len(got["test_speedup_7"]) <= len("failed: AssertionError: ") + 300 + 1
    assert got["test_passes"] == "passed\n"
    assert got["test_stderr"] == fb.STDERR + "\n"
    assert got["test_moved"] == f"failed: AssertionError {UNTRUSTED}\n"
    assert got["test_timeout"] == "failed: the cell ran past the time limit\n"
    assert got["test_integrity"] == fb.TAMPERED + "\n"
    assert got["test_no_frames"].startswith("failed: an exception of a class defined outside")
    assert UNTRUSTED in got["test_no_frames"]


def test_no_encoding_of_a_hidden_test_is_left():
    before = json.dumps(_executed())
    assert MARKER in before and _leaks(before.replace(MARKER, ""))  # the fixtures do leak
    after = nbformat.writes(_feedback(_executed()))
    assert not _leaks(after), _leaks(after)
    assert "BEGIN HIDDEN TESTS" not in after


def test_a_message_is_one_printable_line_of_at_most_300_characters():
    cell = _test_cell("t", 6, [_error(6)])
    error = cell.outputs[0]
    for evalue, want in [
        ("x" * 1000, "x" * 297 + "..."),
        ("first\nsecond", "first"),
        ("\x1b[31mred\x1b[0m\x07 \u202eevil\u200b", "red evil"),
        ("\n\n", ""),
    ]:
        error.evalue = evalue
        shown = verdict(cell)
        assert shown == ("failed: AssertionError: " + want if want else "failed: AssertionError")
        assert shown.isprintable()


def test_frames_are_read_from_the_last_exception_of_a_chain():
    # the real layout of `raise ValueError(...) from e` in a student's function called by
    # the test cell In[3] (IPython 9.18.1): the first chain's only frame is the solution's
    chained = [
        "\x1b[31m-----\x1b[39m",
        "\x1b[31mZeroDivisionError\x1b[39m        Traceback (most recent call last)",
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 5\x1b[39m, in "
        "\x1b[36mf\x1b[39m\x1b[34m(x)\x1b[39m\n----> 5 raise ValueError('c') from e\n",
        "\x1b[31mZeroDivisionError\x1b[39m: division by zero",
        "\nThe above exception was the direct cause of the following exception:\n\n",
        "\x1b[31mAssertionError\x1b[39m           Traceback (most recent call last)",
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[3]\x1b[39m\x1b[32m, line 1\x1b[39m\n"
        "----> 1 assert f(1)\n",
        "\x1b[31mAssertionError\x1b[39m: c",
    ]
    assert fb._frames(chained) == [("cell", "3")]
    assert fb._trusted({"ename": "AssertionError", "traceback": chained}, 3)
    assert not fb._trusted({"ename": "AssertionError", "traceback": chained[:5]}, 3)
    assert not fb._trusted({"ename": "AssertionErrorX", "traceback": chained}, 3)
    # SyntaxError's layout: indented, "in" without a comma, the error in the last frame
    syntax = ["Traceback (most recent call last):\n",
              "  File /x/IPython/core/interactiveshell.py:3823 in run_code\n    exec()\n",
              "  Cell In[5], line 1\n    s(1)\n", "  Cell In[2], line 14 in s\n    exec()\n",
              "  File <string>:1\n    def (:\n        ^\nSyntaxError: invalid syntax\n"]
    assert fb._frames(syntax) == [("file", "/x/IPython/core/interactiveshell.py"),
                                  ("cell", "5"), ("cell", "2"), ("file", "<string>")]
    assert not fb._trusted({"ename": "SyntaxError", "traceback": syntax}, 5)
    # a helper's frame only counts when the test cell called it (IPython 8.0's layout too)
    old = {"ename": "AssertionError", "traceback": [
        "Input In [4], in <cell line: 1>()\n", "File /srv/course_lib/checks.py:9, in f()\n",
        "AssertionError: x"]}
    assert fb._trusted(old, 4) and not fb._trusted(old, 5)
    spoof = {"ename": "AssertionError", "traceback": [
        "Cell In[4], line 1\n", "File /tmp/course_lib/checks.py.evil:9, in f()\n",
        "AssertionError: x"]}
    assert not fb._trusted(spoof, 4)
    # helpers are trusted only at the end, called by the test cell, nothing in between
    for middle in (["File /srv/course_lib/checks.py:9, in f()\n", "Cell In[4], line 1\n"],
                   ["    [... skipping hidden 1 frame]\n"], ["[... 3 frames dropped]"], [""]):
        tb = ["Cell In[4], line 1\n", *middle, "File /srv/course_lib/checks.py:9, in f()\n",
              "AssertionError: x"]
        assert not fb._trusted({"ename": "AssertionError", "traceback": tb}, 4), middle


def test_errors_made_by_the_grader():
    from autograde.integrity import INTEGRITY_MESSAGE, cap_error, graded_outputs

    # test cell -> 25 helper frames -> the solution -> 25 helper frames, cut to the first
    # and last 20 frames: the solution's frame is dropped, and the ends look trusted
    ename, evalue, tb = ERRORS[5]  # separator, header, In[5], In[2] (solution), checks.py
    deep = tb[:3] + [tb[4]] * 25 + [tb[3]] + [tb[4]] * 25 + tb[5:]
    assert not fb._trusted({"traceback": deep}, 5)
    cut = cap_error({"ename": ename, "evalue": evalue, "traceback": deep})
    assert len(cut["traceback"]) < len(deep) and tb[3] not in cut["traceback"]
    assert not fb._trusted(cut, 5)
    assert fb._trusted(cap_error({"ename": "AssertionError", "evalue": "m",
                                  "traceback": ERRORS[3][2]}), 3)
    cell = _test_cell("t", 5, graded_outputs([], {"status": "aborted"}))
    assert verdict(cell) == fb.NO_REPLY
    cell = _test_cell("t", 5, graded_outputs([], {"status": "ok"}, unanswered=BLOB))
    assert verdict(cell) == fb.TIMED_OUT
    cell = _test_cell("t", 5, graded_outputs([], {"status": "ok"},
                                             tampered=f"{INTEGRITY_MESSAGE}: {BLOB}"))
    assert verdict(cell) == fb.TAMPERED


def test_a_live_kernel_formats_tracebacks_the_same():
    """The fixtures' verdicts, again from a kernel running SOURCES now."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in SOURCES]
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    for cell in nb.cells[2:]:
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 1,
                                     "grade_id": f"t{cell.execution_count}"}
        error = next(o for o in cell.outputs if o.output_type == "error")
        fixture = ERRORS[cell.execution_count]
        assert (error.ename, error.evalue) == fixture[:2]
        assert ([k for k, _ in fb._frames(error.traceback)]
                == [k for k, _ in fb._frames(fixture[2])])
    got = _verdicts(_feedback(nb))
    assert got == {f"t{n}": want + "\n" for n, want in EXPECTED.items()}


# a correct speedup that also reads the source of the cell calling it (the test cell, with
# its hidden tests), prints it in base64 and keeps it for a later cell; it fails the first
# hidden test (times below 1e-3) with the source, base64-encoded, as its message
STEALING = '''def speedup(T_baseline, T_new):
    """Speedup of T_new over T_baseline."""
    import base64, linecache, sys
    caller = sys._getframe(1)
    text = "".join(linecache.getlines(caller.f_code.co_filename))
    text = text or "".join(caller.f_globals.get("In", [""])[-1:])
    caller.f_globals["_stolen"] = caller.f_globals.get("_stolen", "") + text
    print(base64.b64encode(text.encode()).decode())
    T_baseline = np.asarray(T_baseline, dtype=float)
    T_new = np.asarray(T_new, dtype=float)
    if np.any(~(T_baseline > 0)) or np.any(~(T_new > 0)):
        raise ValueError("times must be > 0")
    if np.any(T_baseline < 1e-3):
        raise ValueError(base64.b64encode(text.encode()).decode())
    S = T_baseline / T_new
    return float(S) if S.ndim == 0 else S
'''
REPLAY = ("import codecs\n"
          "print(_stolen.encode().hex())\n"
          "print(codecs.encode(_stolen, 'rot13'))\n"
          "_stolen")


@pytest.mark.grading
def test_a_submission_that_steals_its_test_gets_a_verdict_and_nothing_else(tmp_path):
    from autograde import synthetic
    from autograde.feedback import feedback
    from autograde.grade import grade
    from tests.test_instructor import A0, _make_course, plant_in_hidden_test

    course = _make_course(tmp_path, names=(A0,))
    plant_in_hidden_test(course.master(A0), MARKER, "test_speedup")
    course.release(log=lambda *_: None)

    sub = synthetic.correct(A0)
    cells = sub["cells"]
    next(c for c in cells if c.get("id") == "speedup")["source"] = STEALING
    cells.append({"cell_type": "code", "execution_count": None, "id": "replay",
                  "metadata": {}, "outputs": [], "source": REPLAY})
    synthetic.write(sub, course.submitted("mallory", A0) / f"{A0}.ipynb")
    (result,) = grade(course, workers=1, log=lambda *_: None, progress=False)
    assert (result.status, result.score) == ("ok", 0), result

    # the instructor's copy has the stolen test in base64, hex and rot13: the attack worked
    graded = (course.autograded("mallory", A0) / f"{A0}.ipynb").read_text()
    assert len(_leaks(graded.replace(MARKER, ""))) >= 3, "the attack did not run"

    (page,) = feedback(course, log=lambda *_: None)
    html = page.read_text()
    text = unescape(re.sub(r"<[^>]*>", "", html))  # what a reader sees, highlighting gone
    for seen in (html, text):
        assert not _leaks(seen), _leaks(seen)
        assert "BEGIN HIDDEN TESTS" not in seen
    assert f"failed: ValueError {UNTRUSTED}" in text
    assert "(Score: 0.0 / 2.0)" in text
    assert "check_close(as_float(speedup(10.0, 5.0)), 2.0" in text  # the visible tests

"""autograde.repair: a mangled submission gets the master's structure back, and says so.

The same repairs graded end to end (each submission earning what its answers earn, the
repair shown in its feedback) are in tests/test_adversarial.py."""

from __future__ import annotations

import copy
import json

import pytest

from autograde import synthetic
from autograde.course import master_path
from autograde.repair import NOTE_ID, repair, repair_file, unreadable

A = "01_metrics_and_models"  # several exercises, tests and a written answer


@pytest.fixture(scope="module")
def master():
    return json.loads(master_path(A).read_text())


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _graded(nb):
    return [_gid(c) for c in nb["cells"] if _gid(c)]


def _cell(nb, gid):
    return next(c for c in nb["cells"] if _gid(c) == gid)


def _tests(master):
    return [_gid(c) for c in master["cells"] if _gid(c) and not c["metadata"]["nbgrader"].get(
        "solution")]


def _same_structure(fixed, master):
    """The master's graded cells, in its order, the tests with the master's source and
    metadata."""
    assert _graded(fixed) == _graded(master)
    for gid in _tests(master):
        assert _cell(fixed, gid)["source"] == _cell(master, gid)["source"]
        assert _cell(fixed, gid)["metadata"] == _cell(master, gid)["metadata"]
    ids = [c.get("id") for c in fixed["cells"]]
    assert len(ids) == len(set(ids)), "cell ids must stay unique"


def test_an_intact_submission_is_left_as_it_is(master):
    nb = synthetic.correct(A)
    fixed, notes = repair(nb, master)
    assert notes == [] and fixed == nb


def test_deleted_duplicated_moved_and_edited_test_cells_are_restored(master):
    nb = synthetic.correct(A)
    tests = _tests(master)
    a, b, c, d = tests[0], tests[1], tests[2], tests[3]
    nb["cells"].remove(_cell(nb, a))                                   # deleted
    dup = copy.deepcopy(_cell(nb, b))
    dup["id"] = "my-copy"
    nb["cells"].append(dup)                                            # duplicated
    moved = _cell(nb, c)
    nb["cells"].remove(moved)
    nb["cells"].insert(0, moved)                                       # moved to the top
    _cell(nb, d)["metadata"]["nbgrader"]["points"] = 100               # points edited
    fixed, notes = repair(nb, master)
    _same_structure(fixed, master)
    assert fixed["cells"][0]["id"] == NOTE_ID
    text = "\n".join(notes)
    assert f"test cell `{a}` was missing and was restored" in text
    assert f"test cell `{b}` appeared 2 times" in text
    assert f"test cell `{c}` had been moved" in text
    assert f"test cell `{d}`: its points was changed and restored" in text
    assert all(s in fixed["cells"][0]["source"] for s in (a, b, c, d))


def test_a_renamed_test_is_dropped_and_the_real_one_restored(master):
    nb = synthetic.correct(A)
    t = _tests(master)[0]
    _cell(nb, t)["metadata"]["nbgrader"]["grade_id"] = "test_mine"
    fixed, notes = repair(nb, master)
    _same_structure(fixed, master)
    assert "test_mine" not in _graded(fixed)
    assert any("`test_mine`, which the assignment does not have" in n for n in notes)
    assert any(f"`{t}` was missing" in n for n in notes)


def test_a_deleted_solution_is_an_empty_answer(master):
    nb = synthetic.correct(A)
    sol = next(g for g in _graded(master) if g not in _tests(master))
    nb["cells"].remove(_cell(nb, sol))
    fixed, notes = repair(nb, master)
    _same_structure(fixed, master)
    assert _cell(fixed, sol)["source"] == ""
    assert notes == [f"solution cell `{sol}` was missing: it was graded as an empty answer"]


def test_solutions_that_lost_their_metadata_are_found_by_id_or_by_what_they_define(master):
    nb = synthetic.correct(A)
    sols = [g for g in _graded(master) if g not in _tests(master)
            and _cell(master, g)["cell_type"] == "code"]
    by_id, by_def = _cell(nb, sols[0]), _cell(nb, sols[1])
    body = copy.deepcopy(by_def["source"])
    del by_id["metadata"]["nbgrader"]                    # an editor dropped the metadata
    del by_def["metadata"]["nbgrader"]
    by_def["id"] = "renamed-by-an-editor"
    fixed, notes = repair(nb, master)
    _same_structure(fixed, master)
    assert _cell(fixed, sols[1])["source"] == body       # the student's answer, graded
    assert any(f"`{sols[0]}` had lost its nbgrader metadata (found by its cell id)" in n
               for n in notes)
    assert any(f"`{sols[1]}` had lost its nbgrader metadata (found by the cell that "
               f"defines `{sols[1]}`)" in n for n in notes)


def test_damaged_metadata_and_unknown_marks_become_ordinary_cells(master):
    nb = synthetic.correct(A)
    sol = next(g for g in _graded(master) if g not in _tests(master))
    extra = copy.deepcopy(_cell(nb, sol))
    extra["id"] = "second"
    nb["cells"].append(extra)                             # the solution cell twice
    nb["cells"].append({"cell_type": "code", "id": "odd", "execution_count": None,
                        "outputs": [], "source": "x = 1",
                        "metadata": {"nbgrader": "oops"}})
    fixed, notes = repair(nb, master)
    _same_structure(fixed, master)
    assert "nbgrader" not in next(c for c in fixed["cells"] if c["id"] == "second")["metadata"]
    assert any("appeared 2 times: the first is graded" in n for n in notes)
    assert any("metadata was damaged and was removed" in n for n in notes)


def test_the_note_of_an_earlier_repair_is_replaced_not_doubled(master):
    nb = synthetic.correct(A)
    nb["cells"].remove(_cell(nb, _tests(master)[0]))
    once, _ = repair(nb, master)
    twice, notes = repair(once, master)
    assert [c["id"] for c in twice["cells"]].count(NOTE_ID) == 0 and notes == []


def test_only_a_file_that_is_not_a_notebook_stays_unreadable(tmp_path):
    cases = {"broken.ipynb": b'{"cells": [', "plain.ipynb": b'{"hello": 1}',
             "v3.ipynb": b'{"cells": [], "nbformat": 3}',
             "cells.ipynb": b'{"cells": [1], "nbformat": 4}'}
    for name, raw in cases.items():
        (tmp_path / name).write_bytes(raw)
        assert unreadable(tmp_path / name), name
    good = synthetic.write(synthetic.correct(A), tmp_path / "good.ipynb")
    assert unreadable(good) is None
    assert repair_file(good, master_path(A), tmp_path / "copy.ipynb") == []
    assert (tmp_path / "copy.ipynb").read_bytes() == good.read_bytes()

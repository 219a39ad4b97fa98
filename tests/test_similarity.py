"""``autograde similarity``: a synthetic class with planted copies (renamed, reformatted,
reordered, lightly edited) and independent correct solutions written differently; every
copy is flagged, no independent pair is. No notebook runs, no gradebook: the submitted
notebooks are read as files."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from autograde.cli import main
from autograde.course import Course
from autograde.errors import UsageError
from autograde.similarity import compare, load_answers, normalise, similarity, starter_code

A = "09_synthetic"


def _cell(cid: str, source: str, **nbgrader) -> dict:
    meta = {"nbgrader": {"grade_id": cid, **nbgrader}} if nbgrader else {}
    return {"cell_type": "code", "id": cid, "metadata": meta, "source": source,
            "outputs": [], "execution_count": None}


HEADS = {
    "moving_average": 'def moving_average(xs, w):\n    """Means of every window of w consecutive '
                      'values."""\n',
    "word_counts": 'def word_counts(text):\n    """{word: count}, lower case, punctuation '
                   'stripped."""\n',
    "speedup": 'def speedup(t1, tn):\n    """T(1) / T(n)."""\n',
}


def _body(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ") + "\n"


# ---------------------------------------------------------------- independent solutions
MOVING = {
    "alice": """
        if w <= 0:
            raise ValueError("w must be positive")
        out = []
        total = sum(xs[:w])
        out.append(total / w)
        for i in range(w, len(xs)):
            total += xs[i] - xs[i - w]
            out.append(total / w)
        return out
    """,
    "carol": """
        if w <= 0:
            raise ValueError("window must be positive")
        c = np.cumsum(np.insert(np.asarray(xs, dtype=float), 0, 0.0))
        return list((c[w:] - c[:-w]) / w)
    """,
    "dave": """
        if w < 1:
            raise ValueError(f"bad window {w}")
        return [sum(xs[i:i + w]) / w for i in range(len(xs) - w + 1)]
    """,
    "erin": """
        from collections import deque
        if w <= 0:
            raise ValueError("w")
        window = deque()
        result = []
        s = 0.0
        for x in xs:
            window.append(x)
            s += x
            if len(window) > w:
                s -= window.popleft()
            if len(window) == w:
                result.append(s / w)
        return result
    """,
    "frank": """
        if not w > 0:
            raise ValueError("window size must be > 0")
        means = []
        i = 0
        while i + w <= len(xs):
            acc = 0
            for j in range(i, i + w):
                acc = acc + xs[j]
            means.append(acc / w)
            i += 1
        return means
    """,
    "ivan": """
        assert w > 0, "w must be positive"
        n = len(xs)
        return [statistics.fmean(xs[k:k + w]) for k in range(0, n - w + 1)]
    """,
}
WORDS = {
    "alice": """
        counts = {}
        for word in text.lower().split():
            word = word.strip(".,;:!?")
            if word:
                counts[word] = counts.get(word, 0) + 1
        return counts
    """,
    "carol": """
        from collections import Counter
        return dict(Counter(w for w in (t.strip(".,;:!?") for t in text.lower().split()) if w))
    """,
    "dave": """
        import re
        result = {}
        for token in re.findall(r"[a-z0-9']+", text.lower()):
            if token in result:
                result[token] += 1
            else:
                result[token] = 1
        return result
    """,
    "erin": """
        from collections import defaultdict
        d = defaultdict(int)
        words = [w.strip(".,;:!?").lower() for w in text.split()]
        for w in words:
            if w:
                d[w] += 1
        return dict(d)
    """,
    "frank": """
        import itertools
        cleaned = sorted(x for x in (p.strip(".,;:!?") for p in text.lower().split()) if x)
        return {k: len(list(g)) for k, g in itertools.groupby(cleaned)}
    """,
    "ivan": """
        table = str.maketrans("", "", ".,;:!?")
        out = {}
        for piece in text.translate(table).lower().split():
            out.setdefault(piece, 0)
            out[piece] += 1
        return out
    """,
}
SPEEDUP = {  # the one-liner: most of the class writes the same line
    "alice": "return t1 / tn", "carol": "return t1 / tn", "dave": "return t1/tn",
    "erin": "return float(t1) / tn", "frank": "return t1 / tn  # speedup",
    "ivan": "s = t1 / tn\nreturn s",
}

# ---------------------------------------------------------------- planted copies
# bob: alice's answers, renamed, reformatted, commented, independent lines swapped
MOVING["bob"] = """
    # compute a running window sum
    if w<=0: raise ValueError( "window has to be positive" )
    running  =  sum( xs[ : w] )      # first window
    averages = [ ]
    averages.append( running/w )

    for k in range( w , len(xs) ):
        running += xs[k] - xs[k-w]   # slide by one
        averages.append(running / w)
    return averages
"""
WORDS["bob"] = """
    tally = dict()  # word -> how often
    for tok in text.lower().split():
        tok = tok.strip(".,;:!?")
        if tok:
            tally[tok] = tally.get(tok, 0) + 1
    return tally
"""
# gina: dave's word_counts renamed, with an extra comment and a changed pattern
WORDS["gina"] = """
    import re

    freq = {}   # frequencies
    for w in re.findall(r"[a-zA-Z0-9']+", text.lower()):
        if w in freq:
            freq[w] += 1
        else:
            freq[w] = 1
    return freq
"""
# heidi: erin's moving_average, names changed, two independent set-up lines reordered and
# one line added
MOVING["heidi"] = """
    from collections import deque
    if w <= 0:
        raise ValueError("the window must be positive")
    acc = 0.0
    buf = deque()
    res = []
    for v in xs:
        buf.append(v)
        acc += v
        if len(buf) > w:
            acc -= buf.popleft()
        if len(buf) == w:
            res.append(acc / w)
    assert len(res) == max(0, len(xs) - w + 1)
    return res
"""
# gina's and heidi's other answers: their own
MOVING["gina"] = """
    if w <= 0:
        raise ValueError("w > 0 please")
    sums = [0]
    for x in xs:
        sums.append(sums[-1] + x)
    return [(sums[i + w] - sums[i]) / w for i in range(len(xs) - w + 1)]
"""
WORDS["heidi"] = """
    pieces = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in text.lower())
    found = {}
    for p in pieces.split():
        found[p] = 1 + found.get(p, 0)
    return found
"""
SPEEDUP.update(bob="return t1 / tn", gina="return t1 / tn", heidi="return (t1 / tn)")
COPIES = {("moving_average", "alice", "bob"), ("word_counts", "alice", "bob"),
          ("word_counts", "dave", "gina"), ("moving_average", "erin", "heidi")}


def _master() -> dict:
    cells = [{"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# 09"}]
    for ex, answer in (("moving_average", MOVING["alice"]), ("word_counts", WORDS["alice"]),
                       ("speedup", SPEEDUP["alice"])):
        src = HEADS[ex] + "    ### BEGIN SOLUTION\n" + _body(answer) + "    ### END SOLUTION"
        cells.append(_cell(ex, src, solution=True, grade=False, locked=False))
        cells.append(_cell(f"test_{ex}", f"assert {ex}", grade=True, solution=False,
                           locked=True, points=1))
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _submission(student: str) -> dict:
    nb = _master()
    for cell in nb["cells"]:
        ex = cell["id"]
        table = {"moving_average": MOVING, "word_counts": WORDS, "speedup": SPEEDUP}.get(ex)
        if table is not None:
            cell["source"] = HEADS[ex] + _body(table[student])
    return nb


def _course(tmp: Path, students=("alice", "bob", "carol", "dave", "erin", "frank", "gina",
                                 "heidi", "ivan")) -> Course:
    root = tmp / "course"
    (root / "source" / A).mkdir(parents=True)
    (root / "source" / A / f"{A}.ipynb").write_text(json.dumps(_master()))
    for s in students:
        folder = root / "submitted" / s / A
        folder.mkdir(parents=True)
        (folder / f"{A}.ipynb").write_text(json.dumps(_submission(s)))
    return Course(root)


def test_renaming_layout_comments_and_independent_order_do_not_change_the_tokens():
    a = normalise("x = 1\ny = 2\nz = x + y\nprint(z)")
    b = normalise("# note\nb = 2   # two\na = 1\n\nc = (a +\n     b)\nprint(c)")
    assert a.tokens == b.tokens
    # dependent statements keep their order: these differ
    assert normalise("x = 1\nx = x + 1").tokens != normalise("x = x + 1\nx = 1").tokens
    # a library function called is not a name of the student's
    assert normalise("r = np.sum(v)").tokens != normalise("r = np.mean(v)").tokens


def test_the_starter_code_is_what_nbgrader_leaves():
    src = 'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION'
    assert starter_code(src) == ('def f(x):\n    """Doc."""\n    # YOUR CODE HERE\n'
                                 '    raise NotImplementedError()')


def test_every_planted_copy_is_flagged_and_no_independent_solution(tmp_path):
    course = _course(tmp_path)
    answers, starters, problems = load_answers(course, A)
    assert not problems
    flagged = set()
    for ex, ans in answers.items():
        pairs = compare(ans, starters[ex])
        assert len(pairs) == len(ans) * (len(ans) - 1) // 2
        flagged |= {(p.exercise, p.a, p.b) for p in pairs if p.flagged}
        for p in pairs:
            if (p.exercise, p.a, p.b) in COPIES:
                assert p.score >= 0.75 and p.lines_a and p.lines_b, p
    assert flagged == COPIES
    # the one-liner: everyone alike, nothing flagged, since what all wrote is no evidence
    assert not [p for p in compare(answers["speedup"], starters["speedup"]) if p.flagged]


def test_the_page_ranks_pairs_and_shows_the_code_side_by_side(tmp_path):
    course = _course(tmp_path)
    lines: list[str] = []
    page, flagged = similarity(course, A, log=lines.append)
    assert len(flagged) == len(COPIES) and "4 pair(s) flagged" in lines[0]
    text = page.read_text()
    assert page == course.root / "reports" / f"{A}-similarity.html"
    assert "not evidence of misconduct" in text and "<svg" in text and "<script" not in text
    assert "<mark>" in text and "alice &amp; bob" in text
    assert text.index("alice &amp; bob") < text.index("dave &amp; gina")  # 2 exercises first
    assert "running += xs[k] - xs[k-w]" in text  # the student's own code, escaped
    for ex in ("moving_average", "word_counts", "speedup"):
        assert f"<h2 id='{ex}'>" in text


def test_bad_input_is_said_in_one_line(tmp_path, capsys):
    course = _course(tmp_path, students=())
    with pytest.raises(UsageError, match="no submissions"):
        similarity(course, A)
    assert main(["--course", str(course.root), "similarity", "99_nope"]) == 2
    assert "unknown assignment '99_nope'" in capsys.readouterr().err
    course = _course(tmp_path / "2", students=("alice", "bob"))
    (course.root / "submitted" / "zed" / A).mkdir(parents=True)
    (course.root / "submitted" / "zed" / A / f"{A}.ipynb").write_text("{not json")
    out = tmp_path / "page.html"
    assert main(["--course", str(course.root), "similarity", A, "--out", str(out)]) == 0
    assert "zed: not a readable notebook" in capsys.readouterr().out and out.exists()


def test_a_cell_that_lost_its_metadata_and_id_is_found_by_the_name_it_defines(tmp_path):
    course = _course(tmp_path, students=("alice", "bob", "carol"))
    path = course.submitted("bob", A) / f"{A}.ipynb"
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        cell["metadata"], cell["id"] = {}, f"x-{cell['id']}"
    path.write_text(json.dumps(nb))
    answers, _, _ = load_answers(course, A)
    assert {a.student for a in answers["moving_average"]} == {"alice", "bob", "carol"}


def test_a_deleted_answer_is_no_answer(tmp_path):
    """Grading repairs a deleted solution cell as an empty answer; two empty answers are
    not alike, so the comparison leaves it out."""
    course = _course(tmp_path, students=("alice", "bob", "carol"))
    path = course.submitted("bob", A) / f"{A}.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"] = [c for c in nb["cells"]
                   if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "moving_average"]
    path.write_text(json.dumps(nb))
    answers, _, _ = load_answers(course, A)
    assert {a.student for a in answers["moving_average"]} == {"alice", "carol"}

"""``autograde similarity ASSIGNMENT``: pairs of students whose answers are unusually alike.

A reason to ask a question, never proof: two students may have worked together as
allowed, found the same tutorial, or written the only sensible program. The page says so.

**How answers are compared.** Per exercise (one solution cell of the master), each
student's cell is parsed with Python's own :mod:`ast` and normalised:

* comments, docstrings, blank lines and layout disappear (they are not in the tree);
* every name the answer binds (variables, arguments, loop variables, its own functions and
  classes, attributes of those) becomes ``V``; names it only reads from outside (``np``,
  ``math``, ``len``, ``sorted``) stay, since which library function is called matters;
  string constants become ``S``; numbers stay;
* within each block, statements that do not depend on each other (neither reads or writes
  what the other writes) are put in a canonical order, so swapping two independent lines
  changes nothing; statements that do depend on each other keep their order.

The normalised tree is written out as a sequence of tokens (node types, kept names,
constants), each remembering the line of the student's cell it came from. The sequence is
**fingerprinted by winnowing** (Schleimer, Wilkerson and Aiken, SIGMOD 2003, the method of
MOSS and copydetect): hashes of every run of ``K`` tokens, of which the smallest in each
window of ``W`` consecutive runs is kept. Fingerprints of the code the student notebook
gives (the stub: the ``def`` line, the docstring) are removed, and so are those that a large
part of the class shares (at least ``COMMON_SHARE`` of the students, and more than two):
what everyone wrote is no evidence that two students wrote it together. This is what keeps a
one-line exercise quiet: its fingerprints are all common.

The **score** of a pair is the share of the smaller answer's remaining fingerprints that the
other answer also has (1.0: one answer's distinctive material is wholly in the other). A
pair is **flagged** when its score is at least ``THRESHOLD`` and they share at least
``MIN_SHARED`` distinctive fingerprints (short answers cannot be told apart by chance).

Why not only one of the two methods: plain winnowing of the source text (copydetect) is
fooled by renaming and reordering unless its tokeniser normalises them, and gives no way to
reorder statements; a whole-tree comparison (tree edit distance, or the normalised trees
compared for equality) is robust to renaming and layout but all or nothing: a copy with one
added line or a changed loop no longer matches, and it cannot say which lines are shared.
Winnowing the normalised tree's tokens keeps both strengths and needs only the standard
library (no new dependency to pin, audit and keep). A cell that does not parse (a syntax
error, IPython magics left in) falls back to :mod:`tokenize` with the same renaming.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import html
import io
import itertools
import json
import keyword
import re
import statistics
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course
from .errors import UsageError
from .repair import repair

__all__ = ["COMMON_SHARE", "K", "MIN_SHARED", "THRESHOLD", "W", "Answer", "Pair",
           "compare", "fingerprints", "load_answers", "normalise", "similarity",
           "starter_code"]

K = 12  # tokens per fingerprinted run
W = 4  # winnowing window (runs)
THRESHOLD = 0.7  # flag a pair from this score
MIN_SHARED = 6  # ... sharing at least this many distinctive fingerprints
COMMON_SHARE = 0.5  # a fingerprint this share of the class has is no evidence

_MAGIC = re.compile(r"^\s*[%!]")


# ---------------------------------------------------------------------------- normalising
@dataclass
class Tokens:
    """A normalised answer: its tokens and, for each, the line of the cell it came from."""

    tokens: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    parsed: bool = True  # False: the tokenize fallback

    def add(self, token: str, line: int) -> None:
        self.tokens.append(token)
        self.lines.append(line)


def _own_attributes(tree: ast.AST) -> set[str]:
    """Attribute names the code defines itself: assigned (``self.total = 0``) and the
    methods of its own classes. Other attributes (``.append``, ``np.cumsum``) stay."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            out.update(n.name for n in node.body
                       if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return out


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the code binds itself: assigned, arguments, loop and comprehension variables,
    its own functions and classes."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            out.update(node.names)
    return out


def _names(node: ast.AST) -> tuple[set[str], set[str]]:
    """(names written, names read) anywhere in a statement. A method called on a name
    (``xs.append(1)``, ``d.update(...)``) or an item or attribute assigned counts as
    writing it."""
    wrote, read = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (wrote if isinstance(sub.ctx, (ast.Store, ast.Del)) else read).add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            wrote.add(sub.name)
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            base = sub.func.value
            if isinstance(base, ast.Name):
                wrote.add(base.id)
        elif isinstance(sub, (ast.Subscript, ast.Attribute)) and isinstance(
                getattr(sub, "ctx", None), (ast.Store, ast.Del)):
            base = sub.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                wrote.add(base.id)
    return wrote, read


_BARRIERS = (ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Global, ast.Nonlocal,
             ast.Import, ast.ImportFrom)


def _is_barrier(stmt: ast.stmt) -> bool:
    """A statement nothing moves across: control leaving the block, or a bare call whose
    effect the names cannot tell (``print(...)``, ``random.seed(0)``)."""
    if isinstance(stmt, _BARRIERS):
        return True
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Call, ast.Await,
                                                                   ast.Yield, ast.YieldFrom))


class _Normaliser:
    def __init__(self, tree: ast.AST):
        self.bound = _bound_names(tree)
        self.attrs = _own_attributes(tree)
        self.out = Tokens()

    # a statement's key for the canonical order: its tokens alone
    def key(self, stmt: ast.stmt) -> str:
        saved, self.out = self.out, Tokens()
        self.visit(stmt, 0)
        text = " ".join(self.out.tokens)
        self.out = saved
        return text

    def order(self, body: list[ast.stmt]) -> list[ast.stmt]:
        """The block's statements in a canonical order that keeps every dependency: a
        topological order of "must stay before", the smallest key first among those free."""
        if len(body) < 2:
            return body
        deps = [set() for _ in body]
        info = [_names(s) for s in body]
        for j, sj in enumerate(body):
            wj, rj = info[j]
            for i in range(j):
                wi, ri = info[i]
                if (_is_barrier(body[i]) or _is_barrier(sj) or wi & (rj | wj) or ri & wj):
                    deps[j].add(i)
        keys = [self.key(s) for s in body]
        placed, out = set(), []
        while len(out) < len(body):
            free = [j for j in range(len(body)) if j not in placed and deps[j] <= placed]
            j = min(free, key=lambda n: (keys[n], n))
            placed.add(j)
            out.append(body[j])
        return out

    def visit(self, node, line: int) -> None:
        line = getattr(node, "lineno", line)
        if isinstance(node, ast.Name):
            self.out.add("V" if node.id in self.bound else node.id, line)
            return
        if isinstance(node, ast.arg):
            self.out.add("arg", line)
            if node.annotation is not None:
                self.visit(node.annotation, line)
            return
        if isinstance(node, ast.Attribute):
            self.visit(node.value, line)
            self.out.add("." + ("A" if node.attr in self.attrs else node.attr), line)
            return
        if isinstance(node, ast.Constant):
            value = node.value
            self.out.add("S" if isinstance(value, (str, bytes)) else repr(value), line)
            return
        if isinstance(node, ast.JoinedStr):
            self.out.add("S", line)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.out.add(type(node).__name__, line)
            for dec in node.decorator_list:
                self.visit(dec, line)
            if not isinstance(node, ast.ClassDef):
                self.visit(node.args, line)
            else:
                for b in node.bases:
                    self.visit(b, line)
            self.block(_without_docstring(node.body), line)
            self.out.add("end", line)
            return
        self.out.add(type(node).__name__, line)
        for name, value in ast.iter_fields(node):
            if name in ("ctx", "type_comment", "kind"):
                continue
            if isinstance(value, list):
                if value and all(isinstance(v, ast.stmt) for v in value):
                    self.block(value, line)
                else:
                    for v in value:
                        if isinstance(v, ast.AST):
                            self.visit(v, line)
            elif isinstance(value, ast.AST):
                self.visit(value, line)
            elif isinstance(value, str) and name in ("name", "asname", "module", "arg"):
                self.out.add("V" if value in self.bound else value, line)

    def block(self, body: list[ast.stmt], line: int) -> None:
        self.out.add("{", line)
        for stmt in self.order(body):
            self.visit(stmt, line)
        self.out.add("}", line)


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        return body[1:] or [ast.Pass(lineno=body[0].lineno)]
    return body


def _parseable(source: str) -> str:
    """IPython magics and shell escapes (``%timeit``, ``!ls``) become ``pass`` lines; the
    line numbers stay."""
    return "\n".join("pass" if _MAGIC.match(ln) else ln for ln in source.splitlines())


def normalise(source: str) -> Tokens:
    """The normalised tokens of a cell's code (see the module's docstring).

    >>> a = normalise("def f(xs):\\n    total = 0\\n    for x in xs:\\n        total += x\\n"
    ...               "    return total")
    >>> b = normalise("def f(values):  # renamed\\n    s = 0\\n    for v in values: s += v\\n"
    ...               "    return s")
    >>> a.tokens == b.tokens
    True
    """
    try:
        tree = ast.parse(_parseable(source))
    except (SyntaxError, ValueError):
        return _tokenize_fallback(source)
    norm = _Normaliser(tree)
    for stmt in norm.order(_without_docstring(tree.body)):
        norm.visit(stmt, 1)
    return norm.out


_KEEP = set(keyword.kwlist) | set(dir(builtins))


def _tokenize_fallback(source: str) -> Tokens:
    out = Tokens(parsed=False)
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in skip:
                continue
            text = tok.string
            if tok.type == tokenize.NAME and text not in _KEEP:
                text = "V"
            elif tok.type == tokenize.STRING:
                text = "S"
            out.add(text, tok.start[0])
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # what was read so far counts
    if not out.tokens:  # not even tokens: words
        for n, ln in enumerate(source.splitlines(), 1):
            for w in re.findall(r"\w+|[^\w\s]", ln):
                out.add(w, n)
    return out


# ---------------------------------------------------------------------------- winnowing
def fingerprints(tokens: Tokens, k: int = K, w: int = W) -> dict[int, set[int]]:
    """Winnowing: {hash: lines of the cell it covers} of the token runs of length ``k``
    chosen as the smallest hash of each window of ``w`` consecutive runs (the rightmost
    on ties)."""
    toks = tokens.tokens
    if not toks:
        return {}
    if len(toks) < k:  # shorter than one run: the whole answer is one fingerprint
        runs = [(_hash(toks), 0, len(toks))]
    else:
        runs = [(_hash(toks[i:i + k]), i, i + k) for i in range(len(toks) - k + 1)]
    chosen: dict[int, set[int]] = {}
    for start in range(max(1, len(runs) - w + 1)):
        window = runs[start:start + w]
        h, i, j = min(reversed(window), key=lambda r: r[0])
        chosen.setdefault(h, set()).update(tokens.lines[i:j])
    return chosen


def _hash(tokens: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(tokens).encode(), digest_size=8)
                          .digest(), "big")


# ---------------------------------------------------------------------------- answers
@dataclass
class Answer:
    student: str
    exercise: str
    source: str
    prints: dict[int, set[int]] = field(default_factory=dict)
    parsed: bool = True


@dataclass
class Pair:
    exercise: str
    a: str
    b: str
    score: float  # share of the smaller answer's distinctive fingerprints both have
    shared: int  # distinctive fingerprints both have
    lines_a: set[int] = field(default_factory=set)  # lines of a's cell holding them
    lines_b: set[int] = field(default_factory=set)
    flagged: bool = False


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _solution_cells(nb: dict) -> dict[str, dict]:
    """grade_id (or, without one, the cell id) -> solution code cell."""
    out = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.get("cell_type") == "code" and meta.get("solution") and not meta.get("grade"):
            out[meta.get("grade_id") or cell.get("id")] = cell
    return out


def starter_code(master_source: str) -> str:
    """What the student notebook gives of a master's solution cell: the master's source
    with each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region replaced as nbgrader
    replaces it."""
    out, inside = [], False
    for line in master_source.splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
        elif "### END SOLUTION" in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def load_answers(course: Course, assignment: str) -> tuple[dict[str, list[Answer]],
                                                            dict[str, str], list[str]]:
    """({exercise: [Answer]}, {exercise: starter code}, [problems]) from the submitted
    notebooks (``submitted/<student>/<assignment>/<assignment>.ipynb``; links never
    followed). An answer identical to the starter code (not attempted) is left out."""
    master = json.loads(course.master(assignment).read_text())
    cells = _solution_cells(master)
    starters = {ex: starter_code(_source(c)) for ex, c in cells.items()}
    answers: dict[str, list[Answer]] = {ex: [] for ex in cells}
    problems = []
    root = course.root / "submitted"
    for folder in sorted(root.glob(f"*/{assignment}")) if root.is_dir() else []:
        student = folder.parent.name
        nb_path = folder / f"{assignment}.ipynb"
        if folder.is_symlink() or folder.parent.is_symlink() or nb_path.is_symlink():
            problems.append(f"{student}: a symbolic link, not followed")
            continue
        if not nb_path.is_file():
            problems.append(f"{student}: no {nb_path.name}")
            continue
        try:
            # the answers where grading finds them: a cell whose nbgrader metadata (or id)
            # an editor lost is found by its id or by what it defines (autograde/repair.py)
            found = _solution_cells(repair(json.loads(nb_path.read_text()), master)[0])
        except (OSError, ValueError, AttributeError, TypeError, KeyError) as exc:
            problems.append(f"{student}: not a readable notebook ({exc.__class__.__name__})")
            continue
        for ex in cells:
            if ex not in found:
                continue
            src = _source(found[ex])
            if not src.strip() or normalise(src).tokens == normalise(starters[ex]).tokens:
                continue  # deleted (repaired as an empty answer), or the stub as given
            answers[ex].append(Answer(student, ex, src))
    return answers, starters, problems


# ---------------------------------------------------------------------------- comparing
def compare(answers: list[Answer], starter: str = "", threshold: float = THRESHOLD,
            min_shared: int = MIN_SHARED, common_share: float = COMMON_SHARE) -> list[Pair]:
    """Every pair of one exercise's answers, scored (see the module's docstring), highest
    first."""
    given = set(fingerprints(normalise(starter))) if starter else set()
    for ans in answers:
        toks = normalise(ans.source)
        ans.parsed = toks.parsed
        ans.prints = {h: ln for h, ln in fingerprints(toks).items() if h not in given}
    counts: dict[int, int] = {}
    for ans in answers:
        for h in ans.prints:
            counts[h] = counts.get(h, 0) + 1
    limit = max(2, common_share * len(answers))
    rare = {h for h, n in counts.items() if n <= limit}
    pairs = []
    for x, y in itertools.combinations(answers, 2):
        fx, fy = set(x.prints) & rare, set(y.prints) & rare
        both = fx & fy
        smaller = min(len(fx), len(fy))
        score = len(both) / smaller if smaller else 0.0
        pair = Pair(x.exercise, x.student, y.student, score, len(both))
        pair.lines_a = set().union(*(x.prints[h] for h in both)) if both else set()
        pair.lines_b = set().union(*(y.prints[h] for h in both)) if both else set()
        pair.flagged = score >= threshold and len(both) >= min_shared
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p.score, -p.shared, p.a, p.b))
    return pairs


def similarity(course: Course, assignment: str, out: str | Path | None = None,
               threshold: float = THRESHOLD, min_shared: int = MIN_SHARED,
               log=print) -> tuple[Path, list[Pair]]:
    """Compare every exercise's answers; write the page (default
    ``<course>/reports/<assignment>-similarity.html``). Returns (page, flagged pairs)."""
    if not 0 < threshold <= 1:
        raise UsageError(f"--threshold must be in (0, 1], got {threshold}")
    answers, starters, problems = load_answers(course, assignment)
    if not any(answers.values()):
        raise UsageError(f"no submissions of {assignment} with an answer in "
                         f"{course.root / 'submitted'} (run `autograde collect` first)")
    results = {ex: compare(ans, starters[ex], threshold, min_shared)
               for ex, ans in answers.items()}
    path = Path(out) if out else course.root / "reports" / f"{assignment}-similarity.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_page(assignment, answers, results, problems, threshold, min_shared,
                          starters))
    flagged = [p for pairs in results.values() for p in pairs if p.flagged]
    students = {a.student for ans in answers.values() for a in ans}
    log(f"similarity {assignment}: {len(students)} students, {len(answers)} exercises, "
        f"{len(flagged)} pair(s) flagged -> {path}")
    for p in problems:
        log(f"  skipped {p}")
    return path, flagged


# ---------------------------------------------------------------------------- the page
def _svg_histogram(scores: list[float], threshold: float, width=360, height=110) -> str:
    """A small inline SVG histogram of the pairs' scores (20 bins over [0, 1]) with the
    threshold marked."""
    bins = [0] * 20
    for s in scores:
        bins[min(19, int(s * 20))] += 1
    top = max(bins) or 1
    bw = (width - 40) / 20
    bars = []
    for i, n in enumerate(bins):
        h = (height - 30) * n / top
        x = 30 + i * bw
        color = "#C44E52" if (i + 1) / 20 > threshold else "#4C72B0"
        if n:
            bars.append(f"<rect x='{x:.1f}' y='{height - 20 - h:.1f}' width='{bw - 1:.1f}' "
                        f"height='{h:.1f}' fill='{color}'><title>{i / 20:.2f}-"
                        f"{(i + 1) / 20:.2f}: {n} pair(s)</title></rect>")
    tx = 30 + threshold * (width - 40)
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"role='img' aria-label='scores of all pairs'>"
            f"<line x1='30' y1='{height - 20}' x2='{width - 10}' y2='{height - 20}' "
            f"stroke='#333'/>{''.join(bars)}"
            f"<line x1='{tx:.1f}' y1='5' x2='{tx:.1f}' y2='{height - 20}' stroke='#C44E52' "
            f"stroke-dasharray='3,2'/>"
            f"<text x='30' y='{height - 5}' font-size='10'>0</text>"
            f"<text x='{width - 20}' y='{height - 5}' font-size='10'>1</text>"
            f"<text x='{tx + 3:.1f}' y='14' font-size='10' fill='#C44E52'>flag</text>"
            f"<text x='2' y='14' font-size='10'>{top}</text></svg>")


def _code(source: str, lines: set[int], given: set[str] = frozenset()) -> str:
    """The answer, the lines holding shared fragments marked (not those the notebook
    gives, such as the ``def`` line)."""
    rows = []
    for n, text in enumerate(source.splitlines(), 1):
        body = html.escape(text) or " "
        shared = n in lines and text.strip() not in given
        rows.append(f"<mark>{body}</mark>" if shared else body)
    return "<pre>" + "\n".join(rows) + "</pre>"


def _side_by_side(p: Pair, src: dict[str, str], given: set[str]) -> str:
    return (f"<div class='pair'><div>{html.escape(p.a)}{_code(src[p.a], p.lines_a, given)}"
            f"</div><div>{html.escape(p.b)}{_code(src[p.b], p.lines_b, given)}</div></div>")


_STYLE = ("body{font-family:sans-serif;max-width:75em;margin:2em auto;padding:0 1em}"
          "td,th{padding:2px 8px;text-align:left;vertical-align:top}"
          "pre{background:#f6f6f6;padding:6px;overflow-x:auto;font-size:12px;margin:0}"
          "mark{background:#ffe08a}.pair{display:grid;grid-template-columns:1fr 1fr;gap:8px}"
          ".note{background:#eef4fb;padding:8px 12px;border-left:4px solid #4C72B0}"
          "details{margin:6px 0}summary{cursor:pointer}")


def _page(assignment: str, answers: dict[str, list[Answer]], results: dict[str, list[Pair]],
          problems: list[str], threshold: float, min_shared: int,
          starters: dict[str, str] | None = None) -> str:
    esc = html.escape
    students = sorted({a.student for ans in answers.values() for a in ans})
    parts = [f"<!doctype html><html lang='en'><meta charset='utf-8'>"
             f"<title>{esc(assignment)}: similar answers</title><style>{_STYLE}</style>",
             f"<h1>{esc(assignment)}: answers that are unusually alike</h1>",
             "<div class='note'><p><b>How to read this page.</b> For each exercise, every "
             "pair of students is scored from 0 to 1: the share of the shorter answer's "
             "<i>distinctive</i> code that the other answer also contains, after names, "
             "comments, layout and the order of independent statements were set aside. "
             "Code the notebook gives and code most of the class wrote alike are not "
             "distinctive and do not count, so a one-line exercise everyone solved the same "
             "way scores low. A pair is <b>flagged</b> at a score of at least "
             f"{threshold:g} with at least {min_shared} distinctive fragments in common; "
             "shared lines are <mark>highlighted</mark>.</p>"
             "<p>A flag is a reason to look and perhaps to ask, <b>not evidence of "
             "misconduct</b>: students may have worked together as allowed, followed the "
             "same source, or written the only natural program. Pairs flagged in several "
             "exercises say more than one flag.</p></div>",
             f"<p>{len(students)} students; {sum(map(len, answers.values()))} answers "
             f"compared over {len(answers)} exercises (answers left as the stub are not "
             "compared).</p>"]
    if problems:
        parts.append("<p>Not read: " + esc("; ".join(problems)) + "</p>")
    flagged = [p for pairs in results.values() for p in pairs if p.flagged]
    together: dict[tuple[str, str], list[Pair]] = {}
    for p in flagged:
        together.setdefault((p.a, p.b), []).append(p)
    parts.append("<h2>Flagged pairs, most exercises first</h2>")
    if together:
        parts.append("<table><tr><th>students</th><th>exercises flagged</th>"
                     "<th>scores</th></tr>")
        for (a, b), ps in sorted(together.items(), key=lambda kv: (-len(kv[1]),
                                 -max(p.score for p in kv[1]), kv[0])):
            parts.append(f"<tr><td>{esc(a)} &amp; {esc(b)}</td><td>{len(ps)} of "
                         f"{len(answers)}: {esc(', '.join(p.exercise for p in ps))}</td>"
                         f"<td>{', '.join(f'{p.score:.2f}' for p in ps)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    for ex, pairs in results.items():
        n = len(answers[ex])
        scores = [p.score for p in pairs]
        parts.append(f"<h2 id='{esc(ex)}'>{esc(ex)}</h2>")
        if len(scores) < 1:
            parts.append(f"<p>{n} answer(s): nothing to compare.</p>")
            continue
        med = statistics.median(scores)
        top = sorted(scores)[int(0.95 * (len(scores) - 1))]
        unparsed = [a.student for a in answers[ex] if not a.parsed]
        parts.append(f"<p>{n} answers, {len(pairs)} pairs: median score {med:.2f}, 95th "
                     f"percentile {top:.2f}, {sum(p.flagged for p in pairs)} flagged. "
                     "What is normal for this exercise:</p>"
                     + _svg_histogram(scores, threshold))
        if unparsed:
            parts.append("<p>Did not parse as Python (compared token by token): "
                         + esc(", ".join(unparsed)) + "</p>")
        src = {a.student: a.source for a in answers[ex]}
        given = {ln.strip() for ln in (starters or {}).get(ex, "").splitlines() if ln.strip()}

        for p in (p for p in pairs if p.flagged):
            parts.append(f"<details open><summary><b>{esc(p.a)} &amp; {esc(p.b)}</b>: "
                         f"score {p.score:.2f}, {p.shared} distinctive fragments shared"
                         f"</summary>{_side_by_side(p, src, given)}</details>")
        near = [p for p in pairs if not p.flagged and p.shared][:3]
        if near:
            parts.append("<p>The highest pairs not flagged, for comparison:</p>")
            for p in near:
                parts.append(f"<details><summary>{esc(p.a)} &amp; {esc(p.b)}: score "
                             f"{p.score:.2f}, {p.shared} shared</summary>"
                             f"{_side_by_side(p, src, given)}</details>")
    return "\n".join(parts) + "\n</html>\n"

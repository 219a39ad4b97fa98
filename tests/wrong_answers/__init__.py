"""Plausible wrong answers to the graded exercises, and the harness that runs the masters'
test cells against them.

Each module ``nbNN.py`` names its notebook (``NOTEBOOK``) and defines wrong implementations,
each registered with ``@wrong(exercise, description)``. ``tests/test_wrong_answers.py`` puts
each one in place of the master's solution and runs the exercise's test cells twice: with the
visible tests only (what a student sees) and with the hidden tests too (what grading runs).
Every wrong answer must fail the full tests; the report says which only the hidden ones catch.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograde import course

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


@dataclass(frozen=True)
class Wrong:
    notebook: str
    exercise: str
    description: str
    fn: Callable
    needs_ray: bool = False  # its test cells call Ray: run in a fresh interpreter (run_with_ray)

    @property
    def id(self) -> str:
        name = getattr(self.fn, "__name__", None) or self.fn.__ray_metadata__.class_name
        return f"{self.notebook[:2]}-{self.exercise}-{name}"


_REGISTRY: list[tuple[str, str, str, Callable]] = []  # (module, exercise, description, fn)


def wrong(exercise: str, description: str):
    """Register the decorated function as a wrong answer to ``exercise``."""
    def register(fn):
        _REGISTRY.append((fn.__module__, exercise, description, fn))
        return fn
    return register


def _modules():
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in pkgutil.iter_modules(__path__) if info.name.startswith("nb")]


def session_cells(notebook: str) -> tuple[str, ...]:
    """The ids of the master's cells that set up what the tests use (``SESSION_CELLS`` of the
    notebook's module: Modin, the data), or ()."""
    for mod in _modules():
        if getattr(mod, "NOTEBOOK", None) == notebook:
            return tuple(getattr(mod, "SESSION_CELLS", ()))
    return ()


def all_wrong_answers() -> list[Wrong]:
    """Every registered wrong answer, from every ``nbNN`` module of this package."""
    _modules()
    out = []
    for module, exercise, description, fn in _REGISTRY:
        mod = importlib.import_module(module)
        out.append(Wrong(mod.NOTEBOOK, exercise, description, fn,
                         getattr(mod, "NEEDS_RAY", False)))
    return out


def judge(master: Master, wrong_answers: list[Wrong]) -> dict[str, tuple[dict, dict]]:
    """{wrong answer id: (visible failures, graded failures)} for answers to ``master``."""
    return {w.id: master.verdicts(w.exercise, {w.exercise: w.fn})
            for w in wrong_answers if w.notebook == master.name}


_RUNNING: set = set()  # the judges' subprocesses still running (killed at exit)


def _kill_running() -> None:
    import os
    import signal

    for proc in list(_RUNNING):
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the judge and the Ray it started
        except (ProcessLookupError, PermissionError):
            pass


def run_with_ray(notebook: str, timeout_s: int = 900) -> dict:
    """Judge one notebook's wrong answers in a fresh interpreter that starts a Ray session of
    two CPUs first (as the notebook does); returns ``{"master": {exercise: failures},
    "wrong": {id: [visible, graded]}}``. The module ``tests.wrong_answers.ray_judge`` runs
    there, in a session of its own: a test run that ends early kills it, Ray included."""
    import atexit
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    atexit.register(_kill_running)  # once per call: the kill is idempotent
    proc = subprocess.Popen([sys.executable, "-m", "tests.wrong_answers.ray_judge", notebook],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root,
                            start_new_session=True)
    _RUNNING.add(proc)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_running()
        proc.communicate()
        raise RuntimeError(f"judging {notebook} with Ray took over {timeout_s} s") from None
    finally:
        _RUNNING.discard(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"judging {notebook} with Ray failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


_BACKGROUND: dict = {}  # notebook -> concurrent.futures.Future of run_with_ray(notebook)


def judge_in_background(notebooks: list[str]) -> None:
    """Start :func:`run_with_ray` for ``notebooks``, one after the other, in a daemon thread
    (each judge is a subprocess of its own, killed if the run ends first);
    :func:`outcome_with_ray` waits for the result. The test run starts them first
    (tests/ordering.py): minutes of Ray tasks, mostly waiting, beside the quick tests."""
    import threading
    from concurrent.futures import Future

    todo = [n for n in notebooks if n not in _BACKGROUND]
    for name in todo:
        _BACKGROUND[name] = Future()

    def work():
        for name in todo:
            future = _BACKGROUND[name]
            try:
                future.set_result(run_with_ray(name))
            except BaseException as exc:  # noqa: BLE001 - the test that reads it reports it
                future.set_exception(exc)

    if todo:
        threading.Thread(target=work, name="ray-judges", daemon=True).start()


def outcome_with_ray(notebook: str) -> dict:
    """:func:`run_with_ray`'s result: the one started in the background, else a new run."""
    future = _BACKGROUND.get(notebook)
    return future.result() if future is not None else run_with_ray(notebook)


def strip_hidden(source: str) -> str:
    """A test cell as students see it: the hidden block removed."""
    out, hidden = [], False
    for line in source.splitlines():
        if line.strip() == HIDDEN_BEGIN:
            hidden = True
        elif line.strip() == HIDDEN_END:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def _imports_something(source: str) -> bool:
    return any(isinstance(node, ast.Import | ast.ImportFrom) for node in ast.parse(source).body)


class ShowsAValue(AssertionError):
    """A test cell whose last line shows a value: nbgrader reads a number there as the cell's
    score (partial credit) and any other value as full marks, before it looks at errors."""


def _run_cell(code: str, gid: str, ns: dict) -> None:
    """Run a test cell as a kernel would; its last expression, if any, must show nothing."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, f"<{gid}>", "exec"), ns)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), f"<{gid}>", "eval"), ns)
        if value is not None:
            raise ShowsAValue(f"the test cell ends in an expression that shows {value!r:.60}: "
                              "nbgrader would read it as the cell's score")


@dataclass
class Master:
    """A master notebook's setup cells, solution cells and test cells, by grade id.

    The setup cells are the code cells before the first exercise that import something
    (``import numpy as np``, and for notebook 05 ``cl.gpu.setup()`` before numba), then the
    cells named by :func:`session_cells` (notebook 04: start Modin, load the flights): run
    once, whole, they give the tests the names the notebook gives them. Other cells that
    start Ray import nothing, so they are not run."""
    name: str
    setup: list[str]
    solutions: dict[str, str]
    tests: dict[str, str]
    stubs: dict[str, str] = field(default_factory=dict)  # the student notebook's solution cells
    # the names the setup cells define, computed once; each judgment gets a copy of the dict,
    # not of the objects: a wrong answer must not change a shared frame in place
    _base: dict | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, name: str) -> Master:
        nb = json.loads(Path(course.master_path(name)).read_text())
        wanted = session_cells(name)
        setup, session, solutions, tests = [], {}, {}, {}
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                tests[meta["grade_id"]] = source
            elif meta.get("solution"):
                solutions[meta["grade_id"]] = source
            elif cell.get("id") in wanted:
                session[cell["id"]] = source
            elif not solutions and _imports_something(source):
                setup.append(source)
        missing = [c for c in wanted if c not in session]
        if missing:
            raise KeyError(f"{name}: no code cells with the ids {missing}")
        student = json.loads((course.NOTEBOOKS_DIR / f"{name}.ipynb").read_text())
        stubs = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
                 for c in student["cells"] if c.get("metadata", {}).get("nbgrader", {}).get(
                     "solution") and c["cell_type"] == "code"}
        if set(stubs) != set(solutions):
            raise KeyError(f"{name}: the student notebook's solution cells {sorted(stubs)} are "
                           f"not the master's {sorted(solutions)}: run `make release`")
        return cls(name, setup + [session[c] for c in wanted], solutions, tests, stubs)

    def exercises(self) -> set[str]:
        """The autograded exercises: solution cells with test cells of their own."""
        return {gid for gid in self.solutions if any(
            t == f"test_{gid}" or t.startswith(f"test_{gid}_") for t in self.tests)}

    def tests_of(self, exercise: str) -> dict[str, str]:
        """The test cells of one exercise: grade ids test_<exercise> and test_<exercise>_*."""
        found = {gid: src for gid, src in self.tests.items()
                 if gid == f"test_{exercise}" or gid.startswith(f"test_{exercise}_")}
        if not found:
            raise KeyError(f"{self.name}: no test cells for exercise {exercise!r}")
        return found

    def namespace(self, replace: dict[str, Callable] | None = None,
                  untouched: bool = False) -> dict:
        """A fresh namespace with the setup and every solution, some replaced; with
        ``untouched``, the student notebook's solution cells instead (the stubs: a cell that
        raises is an error in that cell, and the next one runs, as in the notebook)."""
        if self._base is None:
            self._base = {"__name__": "__main__"}
            for source in self.setup:
                exec(compile(source, f"<{self.name} setup>", "exec"), self._base)
        ns = dict(self._base)
        for gid, source in (self.stubs if untouched else self.solutions).items():
            try:
                exec(compile(source, f"<{self.name} {gid}>", "exec"), ns)
            except Exception:  # noqa: BLE001 - only a stub gets here
                if not untouched:
                    raise
        ns.update(replace or {})
        return ns

    def _run(self, gid: str, code: str, replace: dict[str, Callable] | None,
             untouched: bool = False) -> tuple[str, int] | None:
        """Run one test cell's ``code``: None when it passes, else (the error, the line of
        the cell's own code where it was raised, 1-based)."""
        try:
            _run_cell(code, gid, self.namespace(replace, untouched))
        except Exception as exc:  # noqa: BLE001 - any error fails the cell in nbgrader
            tb, line = exc.__traceback__, 0
            while tb is not None:  # the first frame of the cell's own code: its statement
                if tb.tb_frame.f_code.co_filename == f"<{gid}>":
                    line = tb.tb_lineno
                    break
                tb = tb.tb_next
            text = str(exc)
            return (f"{type(exc).__name__}: {text.splitlines()[0][:160]}" if text
                    else type(exc).__name__), line
        return None

    def failures(self, exercise: str, replace: dict[str, Callable] | None = None,
                 hidden: bool = True, untouched: bool = False) -> dict[str, str]:
        """{test grade id: the error} for the exercise's test cells that fail."""
        failed = {}
        for gid, source in self.tests_of(exercise).items():
            outcome = self._run(gid, source if hidden else strip_hidden(source), replace,
                                untouched)
            if outcome:
                failed[gid] = outcome[0]
        return failed

    def verdicts(self, exercise: str, replace: dict[str, Callable]) -> tuple[dict, dict]:
        """(:meth:`failures` with the visible tests only, with the hidden ones too), running
        the visible tests only where the graded run does not already tell: a hidden block
        only adds checks, so a cell that passes graded passes visible, and one that fails
        before its hidden block fails visible with the same error (the same statements ran
        before it). Half the runs for most wrong answers; for notebook 03, whose tests
        wait for Ray tasks and actors, that is seconds each."""
        visible, graded = {}, {}
        for gid, source in self.tests_of(exercise).items():
            outcome = self._run(gid, source, replace)
            if outcome is None:
                continue
            graded[gid], line = outcome
            lines = source.splitlines()
            begin = next((i + 1 for i, text in enumerate(lines)
                          if text.strip() == HIDDEN_BEGIN), None)
            if begin is None or 0 < line < begin:  # no hidden block, or failed before it
                visible[gid] = graded[gid]
                continue
            shown = self._run(gid, strip_hidden(source), replace)
            if shown:
                visible[gid] = shown[0]
        return visible, graded

    def untouched(self) -> dict[str, dict[str, str]]:
        """{exercise: {test grade id: error}} for the student notebook as released: every
        exercise's stub judged like a wrong answer (each of its test cells must fail)."""
        return {e: self.failures(e, untouched=True) for e in sorted(self.exercises())}

    def orphan_tests(self) -> set[str]:
        """Graded test cells that belong to no exercise (:meth:`tests_of` never runs them)."""
        owned = {gid for e in self.exercises() for gid in self.tests_of(e)}
        return set(self.tests) - owned


# --------------------------------------------------------------------------- memorising
def _key(value):
    """A hashable key of a call's arguments, equal for equal values (arrays by dtype, shape
    and bytes; functions by their code; floats by repr, so NaN equals NaN)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return ("nd", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, float | np.floating):
        return ("float", repr(float(value)))
    if isinstance(value, bool | int | str | bytes | type(None) | np.integer | np.bool_):
        return (type(value).__name__, value)
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((repr(k), _key(v)) for k, v in value.items())))
    if isinstance(value, set | frozenset):
        return ("set", tuple(sorted(repr(v) for v in value)))
    code = getattr(value, "__code__", None)
    if code is not None:
        return ("fn", getattr(value, "__qualname__", ""), code.co_code,
                _key(getattr(value, "__defaults__", None)))
    to_json = getattr(value, "to_json", None)  # pandas and Modin frames and series
    if callable(to_json):
        return (type(value).__name__, to_json())
    return ("repr", repr(value))


def _copy_into(target, source) -> None:
    """Make ``target`` hold ``source``'s values in place (what a call did to its argument)."""
    import numpy as np

    if isinstance(target, np.ndarray) and isinstance(source, np.ndarray) \
            and target.shape == source.shape:
        target[...] = source
    elif isinstance(target, list) and isinstance(source, list):
        target[:] = source
    elif isinstance(target, dict) and isinstance(source, dict):
        target.clear()
        target.update(source)


def memoriser(solution: Callable) -> tuple[Callable, Callable]:
    """(recorder, replay) for an answer that memorised ``solution``'s results on the cases
    the tests ran: ``recorder`` calls the solution and writes down each call's arguments,
    result (or exception) and what the call did to its arguments (positional and keyword);
    ``replay`` gives back exactly that for the same arguments (the same array, when the
    solution returned one of its arguments) and raises :class:`LookupError` for any other."""
    import copy

    book: dict = {}

    def recorder(*args, **kwargs):
        key = _key((args, kwargs))
        try:
            result = solution(*args, **kwargs)
        except Exception as exc:
            book[key] = ("raise", exc, None, None)
            raise
        same = next((i for i, a in enumerate(args) if a is result), None)
        try:
            kept = copy.deepcopy(result)
        except Exception:  # noqa: BLE001 - a result that cannot be copied is kept as it is
            kept = result
        try:
            after = copy.deepcopy((list(args), dict(kwargs)))
        except Exception:  # noqa: BLE001 - arguments that cannot be copied: no effects kept
            after = ([], {})
        book[key] = ("return", kept, same, after)
        return result

    def replay(*args, **kwargs):
        key = _key((args, kwargs))
        if key not in book:
            raise LookupError("these arguments are not among the memorised cases")
        kind, value, same, after = book[key]
        if kind == "raise":
            raise value
        for target, source in zip(args, after[0], strict=False):  # none kept: no effects
            _copy_into(target, source)
        for name, source in after[1].items():
            if name in kwargs:
                _copy_into(kwargs[name], source)
        if same is not None:
            return args[same]
        try:
            return copy.deepcopy(value)
        except Exception:  # noqa: BLE001
            return value

    return recorder, replay


def _host(value):
    """A device array's values as a numpy array (keys, saved states); anything else as is."""
    import numpy as np

    if hasattr(value, "copy_to_host") and not isinstance(value, np.ndarray):
        return value.copy_to_host()
    return value


def _restore(target, saved_values, saved_log) -> None:
    """Put a memorised launch's effect back into an argument: its values and access log."""
    import numpy as np

    if isinstance(target, np.ndarray):
        target[...] = saved_values
    elif hasattr(target, "_ary"):  # the simulator's device arrays (and recording arrays)
        np.copyto(target._ary, saved_values)
    elif hasattr(target, "copy_to_device"):  # a GPU device array
        target.copy_to_device(saved_values)
    if saved_log is not None and hasattr(target, "accesses"):
        target.accesses[:] = saved_log


class _Launched:
    """Launched like a kernel, ``k[config](*args)``: calls ``fn(config, args)``."""

    def __init__(self, fn, name):
        self._fn, self.__name__ = fn, name

    def __getitem__(self, config):
        return lambda *args: self._fn(config, args)


def kernel_memoriser(kernel) -> tuple[_Launched, _Launched]:
    """(recorder, replay) for a memorised **kernel** (launched as ``kernel[config](*args)``, not
    called): the recorder launches it and writes down, per launch configuration and arguments'
    values, each argument's values after the launch and, for ``cl.gpu.recording_array``
    arguments, their access logs (which thread wrote which element); the replay restores
    exactly that for the same launch and raises :class:`LookupError` for any other."""
    import copy

    import numpy as np

    book: dict = {}
    name = getattr(getattr(kernel, "py_func", kernel), "__name__", "kernel")

    def key(config, args):
        return _key((repr(config), [_host(a) for a in args]))

    def record(config, args):
        k = key(config, args)
        try:
            kernel[config](*args)
        except Exception as exc:
            book[k] = ("raise", exc, None)
            raise
        after = [(copy.deepcopy(_host(a))
                  if hasattr(a, "copy_to_host") or isinstance(a, np.ndarray) else None,
                  list(a.accesses) if hasattr(a, "accesses") else None) for a in args]
        book[k] = ("return", None, after)

    def replay(config, args):
        k = key(config, args)
        if k not in book:
            raise LookupError("this launch is not among the memorised ones")
        kind, exc, after = book[k]
        if kind == "raise":
            raise exc
        for target, (values, log) in zip(args, after, strict=True):
            if values is not None:
                _restore(target, values, log)

    return _Launched(record, name), _Launched(replay, name)


def _seeded(seed: str):
    import contextlib
    import os

    from course_lib.cases import SEED_ENV

    @contextlib.contextmanager
    def scope():
        old = os.environ.get(SEED_ENV)
        os.environ[SEED_ENV] = seed
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(SEED_ENV, None)
            else:
                os.environ[SEED_ENV] = old
    return scope()


def memorised(master: Master, exercise: str, own: str = "student-a",
              other: str = "student-b") -> dict:
    """A classmate's feedback, memorised: the master's solution is recorded on the cases its
    tests draw under the seed of student ``own``, and an answer that replays those results
    (:func:`memoriser`) is graded under ``own``'s seed and under ``other``'s.

    Returns {"master_other": the master's failures under ``other``'s seed (none expected),
    "own": the replay's failures under ``own``'s (none: the replay is faithful), "other": its
    failures under ``other``'s (some, where the hidden tests draw per-student cases),
    "kind": "function", or "class" or "generator" (not replayed call by call: nothing run),
    "unrecorded": test cells that fail with the recorder in place (left out of the rest)}."""
    solution = master.namespace()[exercise]
    import inspect

    if isinstance(solution, type) or hasattr(solution, "__ray_metadata__"):  # a Ray actor
        kind = "class"
    elif inspect.isgeneratorfunction(solution):  # yields as Ray tasks end: no faithful replay
        kind = "generator"
    else:
        kind = None
    if kind:
        return {"kind": kind, "master_other": {}, "own": {}, "other": {}, "unrecorded": {}}
    # a numba kernel (GPU or simulator) is launched, not called: memorised launch by launch
    recorder, replay = (kernel_memoriser(solution) if hasattr(solution, "py_func")
                        else memoriser(solution))
    replay.__name__ = getattr(solution, "__name__", exercise)
    with _seeded(own):
        # a test cell the recording itself fails (one measuring the solution's memory, which
        # the copies add to) is left out of the comparison, and said
        unrecorded = master.failures(exercise, {exercise: recorder})
        own_failures = master.failures(exercise, {exercise: replay})
    with _seeded(other):
        master_other = master.failures(exercise)
        other_failures = master.failures(exercise, {exercise: replay})

    def kept(failures: dict) -> dict:
        return {k: v for k, v in failures.items() if k not in unrecorded}
    return {"kind": "function", "master_other": master_other, "own": kept(own_failures),
            "other": kept(other_failures), "unrecorded": unrecorded}

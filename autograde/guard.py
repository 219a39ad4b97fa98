# Run by the grading kernel at start-up (IPKernelApp.exec_files), before any student code.
#
# It records what the test cells rely on and installs one function, ``__autograde_init__``,
# in ``builtins.__dict__``. The grader (autograde.execute.SandboxedExecute) calls it once,
# before the first cell, with a random name and a random secret of this run; it removes
# itself and installs the verifier under that name. Before and after every test cell the
# grader evaluates ``<name>("<challenge>")`` (a user expression, outside the cell's source,
# so no input transformer can drop it): the verifier checks that nothing the tests rely on
# was replaced or added (helpers, builtins, numpy's comparisons, the kernel's methods,
# every IPython event hook, the user namespace's ``__builtins__`` and module names) and
# answers HMAC-SHA256(secret, challenge). A verifier shadowed in the notebook's namespace,
# or replaced in builtins by a stand-in, cannot give that answer without the secret; the
# grader then fails the test and the submission is ``invalid``.
#
# Best effort: code in the same interpreter can, with enough effort, defeat any check made
# inside that interpreter (find the verifier and its secret with gc, undo its patches
# before each check): README.md, "Threat model", says what this does not stop.
def __autograde_install():
    import builtins
    import hashlib
    import hmac
    import os
    import sys

    import numpy
    import numpy.testing

    import course_lib
    import course_lib.cases
    import course_lib.checks

    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - always there in a kernel
        shell = None

    bdict = builtins.__dict__
    names = ("abs", "all", "any", "bool", "callable", "dict", "float", "getattr", "hasattr",
             "int", "isinstance", "issubclass", "len", "list", "max", "min", "print", "range",
             "repr", "round", "set", "sorted", "str", "sum", "tuple", "type", "zip", "map",
             "iter", "next", "__import__", "__build_class__", "AssertionError", "Exception",
             "BaseException", "ValueError", "TypeError", "NotImplementedError", "object",
             "exec", "eval", "compile", "globals", "locals", "vars", "id", "hash", "format")
    b = {n: bdict[n] for n in names if n in bdict}
    checks = course_lib.checks
    c = {n: getattr(checks, n) for n in checks.__all__}
    code = {n: f.__code__ for n, f in c.items() if hasattr(f, "__code__")}
    helpers = {n: getattr(checks, n) for n in ("_fail", "_short")}
    top = {n: getattr(course_lib, n) for n in checks.__all__ if hasattr(course_lib, n)}
    # the hidden tests' random cases: their functions, the classes' methods, and the seed
    # the grader gave this submission (set again, or faked, it would draw a classmate's)
    cases = course_lib.cases
    cf = {n: v for n, v in vars(cases).items()  # every function it defines, private ones too
          if callable(v) and getattr(v, "__module__", None) == cases.__name__}
    cm = {(k.__name__, n): v for k in (cases.Draw, cases.Case)
          for n, v in vars(k).items() if callable(v)}
    ccode = {key: f.__code__ for key, f in [*cf.items(), *cm.items()] if hasattr(f, "__code__")}
    seed = cases.case_seed()
    # whether the hidden tests check that Ray tasks ran side by side: the CPUs grading gave
    # Ray, and the function that reads them (unset or changed, the checks would be skipped)
    raytools = course_lib.raytools
    ray_cpus = os.environ.get(course_lib.ray_session.RAY_CPUS_ENV)
    side = raytools.side_by_side
    side_code = side.__code__
    import copy
    import math

    # what the cases' comparisons and seeding call into
    used = {("numpy.random", "default_rng"): (numpy.random, numpy.random.default_rng),
            ("hashlib", "sha256"): (hashlib, hashlib.sha256),
            ("copy", "deepcopy"): (copy, copy.deepcopy),
            **{("math", n): (math, getattr(math, n)) for n in ("isnan", "exp", "log")},
            ("os", "environ"): (os, os.environ),
            ("course_lib", "raytools"): (course_lib, raytools),
            ("course_lib.raytools", "side_by_side"): (raytools, side)}
    np_names = ("array", "asarray", "allclose", "isclose", "isnan", "abs", "all", "any",
                "array_equal", "nanargmax", "unravel_index", "where", "ndarray", "float64",
                "int64", "bool_", "True_", "array2string")
    np_ = {n: getattr(numpy, n) for n in np_names if hasattr(numpy, n)}
    npt = {n: getattr(numpy.testing, n) for n in dir(numpy.testing) if n.startswith("assert")}
    modules = {m: sys.modules[m] for m in ("builtins", "numpy", "numpy.testing", "course_lib",
                                           "course_lib.checks", "course_lib.cases", "numbers",
                                           "hmac", "hashlib", "os", "copy", "math",
                                           "numpy.random")}
    # names the notebooks bind to modules: in the notebook's namespace they must be those
    bound = {"np": numpy, "numpy": numpy, "cl": course_lib, "course_lib": course_lib}
    cls = type(shell) if shell is not None else None
    methods = ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "showtraceback",
               "_showtraceback", "showsyntaxerror", "transform_cell", "should_run_async",
               "user_expressions", "ex", "ev")
    meth = {m: getattr(cls, m) for m in methods if cls is not None and hasattr(cls, m)}
    own = {m: shell.__dict__.get(m) for m in methods} if shell is not None else {}
    kernel = getattr(shell, "kernel", None)
    kcls = type(kernel) if kernel is not None else None
    kmethods = ("do_execute", "execute_request", "send_response", "_publish_execute_input")
    kmeth = {m: getattr(kcls, m) for m in kmethods if kcls is not None and hasattr(kcls, m)}
    handlers = getattr(kernel, "shell_handlers", {})
    handler = handlers.get("execute_request")  # the kernel dispatches through this dict
    session = getattr(kernel, "session", None)
    send = type(session).send if session is not None else None
    events = ("pre_execute", "pre_run_cell", "post_execute", "post_run_cell")
    hooks = ({e: list(shell.events.callbacks.get(e, [])) for e in events}
             if shell is not None else {})
    # hooks the course's libraries add (matplotlib: draw or flush the figures after each
    # cell; Ray: flush its deduplicated log lines), recognised by event, module, name and
    # the file their code comes from
    allowed = {("post_execute", "matplotlib_inline.backend_inline", "flush_figures"),
               ("post_run_cell", "matplotlib_inline.backend_inline", "configure_once"),
               ("post_execute", "matplotlib.pyplot", "_draw_all_if_interactive"),
               ("post_execute", "ray._private.ray_logging", "LogDeduplicator.flush")}
    transformers = ((list(shell.input_transformers_cleanup), list(shell.input_transformers_post),
                     list(shell.ast_transformers)) if shell else None)
    new_hmac, sha256 = hmac.new, hashlib.sha256

    def _block_audit_hooks(event, args):  # no later audit hook can watch compile/exec
        if event == "sys.addaudithook":
            raise RuntimeError("audit hooks are not allowed while grading")

    sys.addaudithook(_block_audit_hooks)

    def _library_hook(event, cb) -> bool:
        module = getattr(cb, "__module__", "")
        fn = getattr(cb, "__code__", None)
        where = getattr(sys.modules.get(module), "__file__", None)
        return ((event, module, getattr(cb, "__qualname__", "")) in allowed
                and fn is not None and where is not None and fn.co_filename == where)

    state = {}

    def verify(challenge):
        bad = []
        bad += [f"builtins.{n}" for n, v in b.items() if bdict.get(n) is not v]
        if bdict.get(state["name"]) is not verify:
            bad.append("the grader's verifier in builtins")
        bad += [f"course_lib.checks.{n}" for n, v in c.items() if getattr(checks, n, None) is not v]
        bad += [f"course_lib.checks.{n} (its code)" for n, v in code.items()
                if getattr(c[n], "__code__", None) is not v]
        bad += [f"course_lib.checks.{n}" for n, v in helpers.items()
                if getattr(checks, n, None) is not v]
        bad += [f"course_lib.{n}" for n, v in top.items() if getattr(course_lib, n, None) is not v]
        bad += [f"numpy.{n}" for n, v in np_.items() if getattr(numpy, n, None) is not v]
        bad += [f"course_lib.cases.{n}" for n, v in cf.items() if getattr(cases, n, None) is not v]
        bad += [f"course_lib.cases.{k}.{n}" for (k, n), v in cm.items()
                if vars(getattr(cases, k)).get(n) is not v]
        bad += [f"course_lib.cases.{key if isinstance(key, str) else '.'.join(key)} (its code)"
                for key, v in ccode.items()
                if getattr(cf.get(key) or cm.get(key), "__code__", None) is not v]
        bad += [f"{m}.{n}" for (m, n), (mod, v) in used.items() if getattr(mod, n, None) is not v]
        try:
            same_seed = cases.case_seed() == seed
        except Exception:  # noqa: BLE001 - a broken seed is a changed one
            same_seed = False
        if not same_seed:
            bad.append("the random cases' seed (COURSE_CASE_SEED)")
        if os.environ.get(course_lib.ray_session.RAY_CPUS_ENV) != ray_cpus:
            bad.append("Ray's CPUs for grading (COURSE_RAY_CPUS)")
        if getattr(side, "__code__", None) is not side_code:
            bad.append("course_lib.raytools.side_by_side (its code)")
        bad += [f"numpy.testing.{n}" for n, v in npt.items()
                if getattr(numpy.testing, n, None) is not v]
        bad += [f"sys.modules[{m!r}]" for m, v in modules.items() if sys.modules.get(m) is not v]
        if shell is not None:
            ns = shell.user_ns
            if ns.get("__builtins__", builtins) is not builtins:
                bad.append("__builtins__ in the notebook's namespace")
            bad += [f"the name {n!r} in the notebook's namespace (not the module)"
                    for n, m in bound.items() if n in ns and ns[n] is not m]
            bad += [f"the kernel's {m}" for m, v in meth.items()
                    if getattr(cls, m, None) is not v or shell.__dict__.get(m) is not own[m]]
            bad += [f"the kernel's {m}" for m, v in kmeth.items()
                    if getattr(kcls, m, None) is not v or m in kernel.__dict__]
            if handlers.get("execute_request") is not handler:
                bad.append("the kernel's execute_request handler")
            if send is not None and (type(session).send is not send or "send" in
                                     session.__dict__):
                bad.append("the kernel's message sender")
            if type(shell) is not cls:
                bad.append("the kernel's shell class")
            if shell.custom_exceptions:
                bad.append("the kernel's exception handler (set_custom_exc)")
            for event, before in hooks.items():
                now = shell.events.callbacks.get(event, [])
                extra = [cb for cb in now if not any(cb is x for x in before)]
                gone = [x for x in before if not any(x is cb for cb in now)]
                odd = [cb for cb in extra + gone if not _library_hook(event, cb)]
                if odd:
                    what = ", ".join(f"{getattr(cb, '__module__', None)}."
                                     f"{getattr(cb, '__qualname__', type(cb).__name__)}"[:80]
                                     for cb in odd[:3])
                    bad.append(f"an IPython {event} hook ({what}; it runs around the tests)")
            now = (list(shell.input_transformers_cleanup), list(shell.input_transformers_post),
                   list(shell.ast_transformers))
            if now != transformers:
                bad.append("the kernel's input or AST transformers (they see the tests' source)")
        if sys.gettrace() is not None or sys.getprofile() is not None:
            bad.append("a trace or profile function (it sees the tests' frames)")
        if bad:
            raise AssertionError("grading integrity check failed: replaced or added by the "
                                 "submission: " + ", ".join(bad))
        return new_hmac(state["secret"], str(challenge).encode(), sha256).hexdigest()

    def init(name, secret):
        """Called once by the grader before the first cell: the verifier's name and secret."""
        bdict.pop("__autograde_init__", None)
        if state:
            raise AssertionError("grading integrity check failed: the verifier was set twice")
        state["name"], state["secret"] = str(name), str(secret).encode()
        bdict[state["name"]] = verify
        return "ready"

    bdict["__autograde_init__"] = init


if __name__ == "__main__":  # in the kernel (exec_files); importing this module does nothing
    __autograde_install()
    del __autograde_install

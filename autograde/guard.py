# Run by the grading kernel at start-up (IPKernelApp.exec_files), before any student code:
# records what the test cells rely on, and defines __autograde_verify__(), which every test
# cell calls first (autograde.execute prefixes it) and which fails the test when any of it
# was replaced. Best effort: code in the same interpreter can, with enough effort, defeat
# any check made inside that interpreter (README, "Threat model").
def __autograde_install():
    import builtins
    import sys

    import numpy
    import numpy.testing

    import course_lib
    import course_lib.checks

    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - always there in a kernel
        shell = None

    names = ("abs", "all", "any", "bool", "callable", "dict", "float", "getattr", "hasattr",
             "int", "isinstance", "issubclass", "len", "list", "max", "min", "print", "range",
             "repr", "round", "set", "sorted", "str", "sum", "tuple", "type", "zip", "map",
             "iter", "next", "__import__", "__build_class__", "AssertionError", "Exception",
             "BaseException", "ValueError", "TypeError", "NotImplementedError", "object",
             "exec", "eval", "compile", "globals", "locals", "vars", "id", "hash", "format")
    b = {n: builtins.__dict__[n] for n in names if n in builtins.__dict__}
    checks = course_lib.checks
    c = {n: getattr(checks, n) for n in checks.__all__}
    code = {n: f.__code__ for n, f in c.items() if hasattr(f, "__code__")}
    helpers = {n: getattr(checks, n) for n in ("_fail", "_short")}
    top = {n: getattr(course_lib, n) for n in checks.__all__ if hasattr(course_lib, n)}
    np_names = ("array", "asarray", "allclose", "isclose", "isnan", "abs", "all", "any",
                "array_equal", "nanargmax", "unravel_index", "where", "ndarray", "float64",
                "int64", "bool_", "True_", "array2string")
    np_ = {n: getattr(numpy, n) for n in np_names if hasattr(numpy, n)}
    npt = {n: getattr(numpy.testing, n) for n in dir(numpy.testing) if n.startswith("assert")}
    modules = {m: sys.modules[m] for m in ("builtins", "numpy", "numpy.testing", "course_lib",
                                           "course_lib.checks", "numbers")}
    cls = type(shell) if shell is not None else None
    methods = ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "showtraceback",
               "_showtraceback", "showsyntaxerror", "transform_cell", "should_run_async",
               "user_expressions", "ex", "ev")
    meth = {m: getattr(cls, m) for m in methods if cls is not None and hasattr(cls, m)}
    own = {m: shell.__dict__.get(m) for m in methods} if shell is not None else {}
    n_pre = len(shell.events.callbacks.get("pre_run_cell", [])) if shell else 0
    transformers = ((list(shell.input_transformers_cleanup), list(shell.input_transformers_post),
                     list(shell.ast_transformers)) if shell else None)

    def _block_audit_hooks(event, args):  # no later audit hook can watch compile/exec
        if event == "sys.addaudithook":
            raise RuntimeError("audit hooks are not allowed while grading")

    sys.addaudithook(_block_audit_hooks)

    def verify():
        bad = []
        bad += [f"builtins.{n}" for n, v in b.items() if builtins.__dict__.get(n) is not v]
        bad += [f"course_lib.checks.{n}" for n, v in c.items() if getattr(checks, n, None) is not v]
        bad += [f"course_lib.checks.{n} (its code)" for n, v in code.items()
                if getattr(c[n], "__code__", None) is not v]
        bad += [f"course_lib.checks.{n}" for n, v in helpers.items()
                if getattr(checks, n, None) is not v]
        bad += [f"course_lib.{n}" for n, v in top.items() if getattr(course_lib, n, None) is not v]
        bad += [f"numpy.{n}" for n, v in np_.items() if getattr(numpy, n, None) is not v]
        bad += [f"numpy.testing.{n}" for n, v in npt.items()
                if getattr(numpy.testing, n, None) is not v]
        bad += [f"sys.modules[{m!r}]" for m, v in modules.items() if sys.modules.get(m) is not v]
        if shell is not None:
            bad += [f"the kernel's {m}" for m, v in meth.items()
                    if getattr(cls, m, None) is not v or shell.__dict__.get(m) is not own[m]]
            if type(shell) is not cls:
                bad.append("the kernel's shell class")
            if shell.custom_exceptions:
                bad.append("the kernel's exception handler (set_custom_exc)")
            if len(shell.events.callbacks.get("pre_run_cell", [])) != n_pre:
                bad.append("a pre_run_cell hook (it sees the tests' source)")
            now = (list(shell.input_transformers_cleanup), list(shell.input_transformers_post),
                   list(shell.ast_transformers))
            if now != transformers:
                bad.append("the kernel's input or AST transformers (they see the tests' source)")
        if sys.gettrace() is not None or sys.getprofile() is not None:
            bad.append("a trace or profile function (it sees the tests' frames)")
        if bad:
            raise AssertionError("grading integrity check failed: replaced or added by the "
                                 "submission: " + ", ".join(bad))

    builtins.__autograde_verify__ = verify


if __name__ == "__main__":  # in the kernel (exec_files); importing this module does nothing
    __autograde_install()
    del __autograde_install

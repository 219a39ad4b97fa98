"""The course as a student meets it: JupyterLab in a real browser.

JupyterLab is started the way ``make lab`` starts it (the Makefile's ``lab`` target, on
loopback, a free port and a token of its own) and the way Binder starts it (through the
``start`` script), and headless Chromium (Debian's ``chromium``; ``make test`` installs it)
is driven with Playwright: the landing page, notebook 02 run top to bottom with a slider of
its scheduler explorer moved (the plot must change), notebook 05 up to its first CUDA kernel
(numba's simulator here), and nbgrader's student extensions.

The server serves a temporary copy of the course whose ``notebooks/`` holds the **masters**
(with their solutions) and the committed index: a student's copy stops at its first
``raise NotImplementedError()``, and what is tested here is that every cell runs and
renders in the browser. The student versions' own checks are in test_notebook_files.py and
test_grading.py.

Both servers render every cell of a notebook up front (JupyterLab's ``windowingMode``
``"none"``, set in each server's own settings directory), so a cell below the fold is in the
page as soon as the notebook is, and the test never scrolls to make one appear; each
notebook it opens is checked for that. Nothing here sleeps: the test waits on what the
page shows (Playwright's ``expect``) or on the notebook's own model (``wait_for_function``),
and only the wait for a server to answer polls, over HTTP, with a deadline.

Screenshots go to ``tests/artifacts/browser/`` (git-ignored), and a failing step saves one
named after it, with the server's log beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from autograde import index
from autograde.course import assignments, master_path

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips, saying so
    PlaywrightTimeout = expect = None

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
VIEWPORT = {"width": 1400, "height": 900}
START_TIMEOUT = 120  # s for JupyterLab to answer
RUN_TIMEOUT = 300  # s for a notebook's cells to run (the machine may be busy)
WAIT_TIMEOUT = 60  # s for anything else the page is to show
POLL_PAUSE = 0.25  # s between two tries of a starting server's /api/status (see Lab.__enter__)
NB02 = "02_dependencies_and_scaling"
NB05 = "05_gpu_organisation"
STUDENT_PLUGINS = ("@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment")
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                      "@jupyter/nbgrader:create-assignment")
WIDGET_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"
# JupyterLab's "Would you like to get notified about official Jupyter news?" (lab/learner)
NEWS_PLUGIN = "@jupyterlab/apputils-extension:announcements"


def _chromium() -> str:
    """Debian's Chromium: COURSE_CHROMIUM (the Makefile sets it), else the one on PATH."""
    wanted = os.environ.get("COURSE_CHROMIUM")
    if wanted:
        if not (Path(wanted).is_file() and os.access(wanted, os.X_OK)):
            pytest.fail(f"COURSE_CHROMIUM={wanted} is not an executable: run `make test`, which "
                        "installs Debian's chromium, or point COURSE_CHROMIUM at a Chromium")
        return wanted
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("no Chromium: `make test` installs Debian's chromium (apt-get install "
                    "chromium), or set COURSE_CHROMIUM=/path/to/chromium")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server started by ``command``, stopped (kernels included) on exit."""

    def __init__(self, name: str, command: list[str], port: int, token: str, env: dict):
        self.name, self.command, self.port, self.token, self.env = name, command, port, token, env
        self.base = f"http://127.0.0.1:{port}"
        self.log = ARTIFACTS / f"{name}-server.log"

    def url(self, path: str = "/") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def __enter__(self) -> Lab:
        self._log = self.log.open("w")
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        # No page is open yet, so there is nothing for Playwright to wait on: poll the server's
        # /api/status until it answers 200, up to START_TIMEOUT. Between two tries the test
        # waits (at most POLL_PAUSE) for the server's process to exit: a server that dies
        # ends the wait at once, with its log.
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if time.monotonic() > deadline:
                self.__exit__()
                raise AssertionError(f"{self.name}: JupyterLab did not answer on port "
                                     f"{self.port} within {START_TIMEOUT} s:\n{self.log_tail()}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=POLL_PAUSE)
            if self.proc.returncode is not None:
                raise AssertionError(f"{self.name}: JupyterLab exited with {self.proc.returncode} "
                                     f"before answering:\n{self.log_tail()}")
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("/api/status"), timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def log_tail(self, n: int = 3000) -> str:
        self._log.flush()
        return self.log.read_text()[-n:]

    def get_status(self, path: str) -> int:
        """HTTP status of a GET of ``path`` on this server (with the token)."""
        try:
            with urllib.request.urlopen(self.url(path), timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def get_json(self, path: str):
        """The JSON a GET of ``path`` on this server (with the token) answers."""
        with urllib.request.urlopen(self.url(path), timeout=10) as r:
            return json.load(r)

    def __exit__(self, *exc) -> None:
        import psutil

        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            kids = []
        # SIGTERM to the server's process group: Jupyter shuts its kernels down, then exits
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        for kid in kids:  # a kernel (own session) that outlived its server
            with contextlib.suppress(psutil.Error):
                kid.kill()
        self._log.close()


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of the course for the browser: notebooks/ holds the masters and the index."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.iterdir():
        if old.is_file():
            old.unlink()
    root = tmp_path_factory.mktemp("lab") / "course"
    (root / "notebooks").mkdir(parents=True)
    for name in assignments():
        shutil.copy2(master_path(name), root / "notebooks" / f"{name}.ipynb")
    shutil.copy2(index.index_path(), root / "notebooks" / index.INDEX_NAME)
    return root


# JupyterLab's settings for the test's servers, written into each one's own
# JUPYTERLAB_SETTINGS_DIR (a temporary folder): {plugin file (settings dir/...): settings}.
LAB_SETTINGS = {
    # every cell in the page from the start: JupyterLab's default windowing renders the cells
    # outside the viewport later (or never), and the test would have to scroll to find them
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
WINDOWING_PLUGIN = "@jupyterlab/notebook-extension:tracker"


def _server_env(tmp: Path) -> dict:
    """The environment a learner's JupyterLab has, isolated from this machine's settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MPLBACKEND", "COURSE_WIDGETS", "JUPYTER_CONFIG_PATH")}
    for name in ("config", "runtime", "settings", "workspaces", "tmp"):
        (tmp / name).mkdir(parents=True, exist_ok=True)
    env.update(JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), TMPDIR=str(tmp / "tmp"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    for plugin, settings in LAB_SETTINGS.items():
        path = tmp / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    return env


def _lab_args(port: int, token: str) -> list[str]:
    # expose_app_in_browser: lets the test ask JupyterLab which plugins are active
    return ["--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
            f"--ServerApp.token={token}", "--LabApp.expose_app_in_browser=True"]


@pytest.fixture(scope="module")
def make_lab(course, tmp_path_factory):
    """JupyterLab started by `make lab` (its LAB_DIR pointed at the copy of the course)."""
    port, token = _free_port(), secrets.token_hex(16)
    venv = Path(sys.prefix)
    command = ["make", "--no-print-directory", f"VENV={venv}", "-o", f"{venv}/.installed", "lab",
               f"LAB_DIR={course / 'notebooks'}", f"LAB_ARGS={' '.join(_lab_args(port, token))}"]
    env = _server_env(tmp_path_factory.mktemp("make-lab"))
    with Lab("make-lab", command, port, token, env) as lab:
        yield lab


@pytest.fixture(scope="module")
def instructor_lab(tmp_path_factory):
    """JupyterLab started by `make lab-instructor` on a course of one assignment: a copy of
    autograde/nbgrader_config.py and source/lab_one/ (what formgrader lists)."""
    root = tmp_path_factory.mktemp("instructor-course")
    shutil.copy2(ROOT / "autograde" / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "source" / "lab_one").mkdir(parents=True)
    port, token = _free_port(), secrets.token_hex(16)
    venv = Path(sys.prefix)
    command = ["make", "--no-print-directory", f"VENV={venv}", "-o", f"{venv}/.installed",
               "lab-instructor", f"COURSE_DIR={root}",
               f"LAB_ARGS={' '.join(_lab_args(port, token))}"]
    env = _server_env(tmp_path_factory.mktemp("instructor-lab"))
    with Lab("instructor-lab", command, port, token, env) as lab:
        yield lab


@pytest.fixture(scope="module")
def binder_lab(course, tmp_path_factory):
    """JupyterLab started as Binder starts it: `start`, then the server in the repo's root."""
    port, token = _free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).parent / "jupyter"
    root_flag = ["--allow-root"] if os.geteuid() == 0 else []
    command = [str(ROOT / "start"), str(jupyter), "lab", f"--notebook-dir={course}", *root_flag,
               *_lab_args(port, token)]
    env = _server_env(tmp_path_factory.mktemp("binder-lab"))
    env.pop("COURSE_CPUS", None)
    with Lab("binder", command, port, token, env) as lab:
        yield lab


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed: make install")
    chromium = _chromium()
    # expect() waits as long as the page's other waits (its own default, 5 s, is short on a
    # loaded machine)
    sync_api.expect.set_options(timeout=WAIT_TIMEOUT * 1000)
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(WAIT_TIMEOUT * 1000)
    yield page
    context.close()


@contextlib.contextmanager
def step(page, lab: Lab, what: str):
    """Run one step of a test; when it fails, say which, with a screenshot and the log."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - turned into one readable failure
        shot = ARTIFACTS / f"FAILED-{lab.name}-{what.replace(' ', '_')[:60]}.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=str(shot))
        raise AssertionError(
            f"{lab.name}: {what}: {type(exc).__name__}: {str(exc)[:1500]}\n"
            f"screenshot: {shot.relative_to(ROOT)}; server log: {lab.log.relative_to(ROOT)}\n"
            f"last lines of the server log:\n{lab.log_tail(1500)}") from None


# --- helpers on JupyterLab's page -------------------------------------------------------------

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the current tab


def _open_from_index(page, lab: Lab, row: index.Row) -> None:
    """Click a notebook's title on the index, as a learner does, and wait for it to open, its
    kernel idle; check that every cell of it is in the page."""
    page.get_by_role("link", name=row.title, exact=True).click()
    expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text=f"{row.name}.ipynb"),
           f"clicking {row.title!r} on the index opened no tab {row.name}.ipynb").to_be_visible()
    _wait_kernel_idle(page, f"{row.name}.ipynb")
    _check_every_cell_rendered(page, lab, master_path(row.name))


def _wait_kernel_idle(page, path: str, timeout: float = RUN_TIMEOUT) -> None:
    """Wait until the current tab is the notebook ``path`` (its path ends so) and its kernel
    is idle."""
    page.wait_for_function(
        """(path) => {
            const app = window.jupyterapp;
            const w = app && app.shell.currentWidget;
            if (!w || !w.context || !w.context.path.endsWith(path)) return false;
            const k = w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
            return k && k.status === 'idle';
        }""", arg=path, timeout=timeout * 1000)


def _check_every_cell_rendered(page, lab: Lab, notebook: Path) -> None:
    """Windowing is off: the server has the setting, the notebook in the current tab uses it,
    and every cell of ``notebook`` (the file the tab shows) is in the page, rendered, without
    scrolling. JupyterLab's default windowing fails this: its cells outside the viewport are
    placeholders at first, then drawn with ``content-visibility: auto`` (or, in ``full`` mode,
    hidden with ``display: none``)."""
    served = lab.get_json(f"/lab/api/settings/{WINDOWING_PLUGIN}")
    assert served.get("settings", {}).get("windowingMode") == "none", \
        f"the server's {WINDOWING_PLUGIN} settings do not turn windowing off: {served.get('raw')}"
    cells = json.loads(notebook.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    last_line = next((line.strip() for line in "".join(code[-1]["source"]).splitlines()
                      if line.strip()), "") if code else ""
    # the notebook is loaded once the page holds as many cells as the file (this waits)
    expect(page.locator(f"{PANEL} .jp-Notebook-cell"),
           f"the page does not hold the {len(cells)} cells of {notebook.name}"
           ).to_have_count(len(cells))
    # and then, with no further wait and no scrolling, every one of them is rendered
    seen = page.locator(PANEL).evaluate(
        """(panel) => {
            const nb = window.jupyterapp.shell.currentWidget.content;
            const dom = panel.querySelectorAll('.jp-Notebook-cell');
            const code = panel.querySelectorAll('.jp-Notebook-cell.jp-CodeCell');
            const last = dom[dom.length - 1], lastCode = code[code.length - 1];
            const hidden = [...dom].filter(el => getComputedStyle(el).display === 'none'
                || el.style.contentVisibility).length;
            const outer = panel.querySelector('.jp-WindowedPanel-outer');
            return {
                mode: nb.notebookConfig.windowingMode,
                placeholders: nb.widgets.filter(c => c.isPlaceholder()).length,
                hidden: hidden,
                lastIsLast: !!last && last === nb.widgets[nb.widgets.length - 1].node,
                lastCode: lastCode  // its first lines (CodeMirror's text joins them)
                    ? ((lastCode.querySelector('.jp-InputArea .cm-content') || {}).textContent
                       || '').slice(0, 300)
                    : '',
                scrollTop: outer ? outer.scrollTop : 0,
            };
        }""")
    assert seen["mode"] == "none", f"the notebook's windowingMode is {seen['mode']!r}, not 'none'"
    assert (seen["placeholders"], seen["hidden"], seen["lastIsLast"]) == (0, 0, True), \
        f"cells of {notebook.name} are not all rendered in the page: {seen}"
    assert seen["scrollTop"] == 0, f"the notebook was scrolled: {seen}"
    assert last_line in seen["lastCode"], \
        f"the last code cell of {notebook.name} ({last_line!r}) is not rendered: {seen}"


def _prompts(page) -> list[str]:
    """The code cells' prompts ("[3]:"), top to bottom."""
    return page.locator(f"{PANEL} .jp-CodeCell .jp-InputPrompt").evaluate_all(
        "els => els.map(e => (e.textContent || '').trim())")


def _run_menu(page, command: str) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text="Run").first.click()
    page.locator(f"li[data-command='{command}']").click()


# The code cells a command of the Run menu runs (their indices in the notebook): the ones
# with code, all of them, the ones above the active cell, or the active cell.
_RUN_TARGETS = """(command) => {
    const nb = window.jupyterapp.shell.currentWidget.content;
    const out = [];
    nb.widgets.forEach((cell, i) => {
        if (cell.model.type !== 'code' || !cell.model.sharedModel.getSource().trim()) return;
        if (command === 'runmenu:run-all'
                || (command === 'notebook:run-all-above' && i < nb.activeCellIndex)
                || (command === 'notebook:run-cell' && i === nb.activeCellIndex))
            out.push({index: i, count: cell.model.executionCount});
    });
    return out;
}"""

# Done: the kernel is idle, no cell is queued or running ([*]), and every target has an
# execution count, or a cell raised (JupyterLab then abandons the cells queued after it).
_RUN_DONE = """(targets) => {
    const w = window.jupyterapp.shell.currentWidget;
    const k = w.sessionContext.session && w.sessionContext.session.kernel;
    if (!k || k.status !== 'idle') return false;
    const cells = w.content.widgets.map(c => c.model);
    let raised = false;
    for (const m of cells) {
        if (m.type !== 'code') continue;
        if (m.executionState === 'running') return false;
        for (let i = 0; i < m.outputs.length; i++)
            if (m.outputs.get(i).toJSON().output_type === 'error') raised = true;
    }
    return raised || targets.every(i => cells[i].executionCount !== null);
}"""


def _run(page, command: str, timeout: float = RUN_TIMEOUT) -> list[str]:
    """Run ``command`` from the Run menu and wait until the cells it runs have run (or one
    raised); return the prompts. The cells must not have run before: that is how the wait
    tells their new run from an old one."""
    targets = page.evaluate(_RUN_TARGETS, command)
    assert targets, f"{command} has no code cell to run"
    ran = [t for t in targets if t["count"] is not None]
    assert not ran, f"{command}: cells {ran} have run already"
    _run_menu(page, command)
    try:
        page.wait_for_function(_RUN_DONE, arg=[t["index"] for t in targets],
                               timeout=timeout * 1000)
    except PlaywrightTimeout:
        raise TimeoutError(f"cells still running after {timeout} s: {_prompts(page)}") from None
    return _prompts(page)


def _errors(page) -> list[str]:
    """The tracebacks shown in the notebook (error outputs)."""
    return page.evaluate(
        """() => {
            const nb = window.jupyterapp.shell.currentWidget.content;
            const out = [];
            for (const cell of nb.model.cells) {
                if (cell.type !== 'code') continue;
                for (let i = 0; i < cell.outputs.length; i++) {
                    const o = cell.outputs.get(i).toJSON();
                    if (o.output_type === 'error') out.push(`${o.ename}: ${o.evalue}`);
                }
            }
            return out;
        }""")


def _plugins(page) -> dict[str, bool]:
    """{plugin id: activated} for nbgrader's and the widgets' JupyterLab plugins, and the
    news prompt's."""
    return page.evaluate(
        """(news) => Object.fromEntries(window.jupyterapp.listPlugins()
            .filter(p => p.startsWith('@jupyter/nbgrader') || p.startsWith('@jupyter-widgets')
                         || p === news)
            .map(p => [p, window.jupyterapp.isPluginActivated(p)]))""", NEWS_PLUGIN)


def _nbgrader_menu(page) -> list[str]:
    """Open the Nbgrader menu; its items."""
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu:visible .lm-Menu-itemLabel")
    expect(items.first, "the Nbgrader menu did not open").to_be_visible()
    return [i.strip() for i in items.all_inner_texts() if i.strip()]


def _validate_button(page, lab: Lab) -> None:
    expect(page.locator(f"{PANEL} .jp-Toolbar").get_by_text("Validate"),
           f"{lab.name}: no Validate button in the notebook's toolbar").to_be_visible()


def _open_index(page, lab: Lab, path: str, expected_path: str) -> None:
    """Go to ``path`` on the server; it must show the index (at ``expected_path``)."""
    page.goto(lab.url(path))
    expect(page, f"JupyterLab did not open the index at {expected_path}").to_have_url(
        re.compile(re.escape(expected_path) + r"(\?.*)?$"))
    expect(page.locator(f"{PANEL} .jp-RenderedMarkdown table").first).to_be_visible()


def _landing(page, lab: Lab, expected_path: str) -> None:
    """Open the server's root as the README's link does: it must land on the index."""
    with step(page, lab, "open the landing page"):
        _open_index(page, lab, "/", expected_path)
        _check_every_cell_rendered(page, lab, index.index_path())
    with step(page, lab, "read the index"):
        expected = [f"{name}.ipynb" for name in assignments()]
        links = page.locator(f"{PANEL} .jp-RenderedMarkdown table a")
        expect(links, f"the index links {len(expected)} notebooks").to_have_count(len(expected))
        found = links.evaluate_all("els => els.map(a => new URL(a.href).pathname.split('/').pop())")
        assert found == expected, f"the index links {found}, expected {expected} in order"
        body = page.locator(f"{PANEL} .jp-NotebookPanel-notebook")  # the cells, not the toolbar
        for needle in ("self-check", "Validate"):
            expect(body, f"the index does not say how to check one's work ({needle})"
                   ).to_contain_text(needle)
        page.screenshot(path=str(ARTIFACTS / f"{lab.name}-01-landing-index.png"))


# --- the tests --------------------------------------------------------------------------------

def test_make_lab_opens_on_the_index_with_nbgraders_student_tools(page, make_lab):
    _landing(page, make_lab, "/lab/tree/index.ipynb")
    with step(page, make_lab, "check nbgrader's student extensions"):
        plugins = _plugins(page)
        for plugin in (*STUDENT_PLUGINS, WIDGET_PLUGIN):
            assert plugins.get(plugin), f"{plugin} is not active: {plugins}"
        on = [p for p in (*INSTRUCTOR_PLUGINS, NEWS_PLUGIN) if plugins.get(p)]
        assert not on, f"make lab: instructor tools or the news prompt active: {on}"
        _validate_button(page, make_lab)
        menu = _nbgrader_menu(page)
        assert "Assignment List" in menu, f"Nbgrader menu: {menu}"
        page.screenshot(path=str(ARTIFACTS / f"{make_lab.name}-02-nbgrader-menu.png"))
        page.keyboard.press("Escape")
        for path in ("/assignments", "/assignments/validate"):  # the tools' server side
            assert make_lab.get_status(path) != 404, f"nbgrader's {path} handler is missing"
        assert make_lab.get_status("/formgrader") == 404, "make lab serves formgrader"


def test_notebook_02_runs_and_its_explorer_redraws_when_a_slider_moves(page, make_lab):
    with step(page, make_lab, "open notebook 02 from the index"):
        _open_index(page, make_lab, "/lab/tree/index.ipynb?reset", "/lab/tree/index.ipynb")
        _open_from_index(page, make_lab, index.rows()[2])
    with step(page, make_lab, "run all cells of notebook 02"):
        prompts = _run(page, "runmenu:run-all")
        unrun = [i for i, p in enumerate(prompts) if not p.strip("[]: ").isdigit()]
        assert not unrun, f"code cells {unrun} did not run (prompts {prompts})"
        errors = _errors(page)
        assert not errors, f"cells raised: {errors}"
    cell = page.locator(f"{PANEL} .jp-CodeCell", has_text="cl.taskgraph.explore(")
    slider = cell.locator(".widget-slider", has_text="workers P")
    readout = slider.locator(".widget-readout")
    img = cell.locator(".jp-RenderedImage img")
    with step(page, make_lab, "find the scheduler explorer's slider and plot"):
        expect(readout, "the slider 'workers P' does not start at 3").to_have_text("3")
        expect(img, "the explorer shows no plot").to_be_visible()
        before = img.get_attribute("src")
        assert before, "the explorer's plot has no image"
        cell.screenshot(path=str(ARTIFACTS / f"{make_lab.name}-03-nb02-explorer-before.png"))
    with step(page, make_lab, "move the slider (two steps right) and wait for a new plot"):
        slider.locator(".noUi-handle").focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        expect(readout, "the slider did not go from 3 to 5").to_have_text("5")
        expect(img, "the plot did not change within 60 s").not_to_have_attribute("src", before)
        # for the screenshot: the redraws done, the new image loaded (and not a broken one)
        _wait_kernel_idle(page, f"{NB02}.ipynb")
        expect(img).to_have_js_property("complete", True)
        expect(img, "the new plot is a broken image").not_to_have_js_property("naturalWidth", 0)
        cell.screenshot(path=str(ARTIFACTS / f"{make_lab.name}-04-nb02-explorer-after.png"))


def test_notebook_05_runs_its_first_kernel(page, make_lab):
    with step(page, make_lab, "open notebook 05 from the index"):
        _open_index(page, make_lab, "/lab/tree/index.ipynb?reset", "/lab/tree/index.ipynb")
        _open_from_index(page, make_lab, index.rows()[5])
    cell = page.locator(f"{PANEL} .jp-CodeCell", has_text="who_am_i[3, 8]")
    with step(page, make_lab, "run notebook 05 up to its first kernel, who_am_i"):
        cell.locator(".jp-InputPrompt").click()  # select the cell (command mode)
        expect(cell, "clicking its prompt did not select the cell").to_have_class(
            re.compile(r"\bjp-mod-active\b"))
        _run(page, "notebook:run-all-above")
        _run(page, "notebook:run-cell")
        errors = _errors(page)
        assert not errors, f"cells raised: {errors}"
        expect(cell.locator(".jp-OutputArea"), "the kernel's output does not say it agrees"
               ).to_contain_text("your global_id agrees: True")
        cell.scroll_into_view_if_needed()  # for the screenshot
        page.screenshot(path=str(ARTIFACTS / f"{make_lab.name}-05-nb05-first-kernel.png"))


def test_binder_opens_on_the_index_with_student_tools_only(page, binder_lab):
    _landing(page, binder_lab, "/lab/tree/notebooks/index.ipynb")
    with step(page, binder_lab, "check nbgrader: student tools on, instructor tools off"):
        plugins = _plugins(page)
        for plugin in (*STUDENT_PLUGINS, WIDGET_PLUGIN):
            assert plugins.get(plugin), f"{plugin} is not active on Binder: {plugins}"
        on = [p for p in (*INSTRUCTOR_PLUGINS, NEWS_PLUGIN) if plugins.get(p)]
        assert not on, f"instructor tools or the news prompt active on Binder: {on}"
        _validate_button(page, binder_lab)
        menu = _nbgrader_menu(page)
        assert "Assignment List" in menu and "Formgrader" not in menu, f"Nbgrader menu: {menu}"
        page.screenshot(path=str(ARTIFACTS / f"{binder_lab.name}-02-nbgrader-menu.png"))
        page.keyboard.press("Escape")
        assert binder_lab.get_status("/formgrader") == 404, "formgrader is served on Binder"
        for path in ("/assignments", "/assignments/validate"):
            assert binder_lab.get_status(path) != 404, f"nbgrader's {path} is missing on Binder"


def test_make_lab_instructor_serves_formgrader_on_the_course(instructor_lab):
    """formgrader must read the course's nbgrader_config.py (nbgrader looks in the server's
    working directory): it lists the course's assignments, not those of the repository root."""
    assert instructor_lab.get_status("/formgrader") == 200
    names = [a["name"] for a in instructor_lab.get_json("/formgrader/api/assignments")]
    assert names == ["lab_one"], f"formgrader lists {names}: it did not read the course's config"

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

Screenshots go to ``tests/artifacts/browser/`` (git-ignored), and a failing step saves one
named after it, with the server's log beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
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

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
VIEWPORT = {"width": 1400, "height": 900}
START_TIMEOUT = 120  # s for JupyterLab to answer
RUN_TIMEOUT = 300  # s for a notebook's cells to run (the machine may be busy)
NB02 = "02_dependencies_and_scaling"
NB05 = "05_gpu_organisation"
STUDENT_PLUGINS = ("@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment")
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                      "@jupyter/nbgrader:create-assignment")
WIDGET_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"


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
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name}: JupyterLab exited with {self.proc.returncode} "
                                     f"before answering:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("/api/status"), timeout=5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise AssertionError(f"{self.name}: JupyterLab did not answer on port "
                                     f"{self.port} within {START_TIMEOUT} s:\n{self.log_tail()}")
            time.sleep(0.5)

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
    # no "get Jupyter news?" prompt over the screenshots
    news = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
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
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
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


def _open_from_index(page, title: str) -> None:
    """Click a notebook's title on the index, as a learner does, and wait for it to open."""
    page.get_by_role("link", name=title, exact=True).click()
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text=".ipynb").wait_for()
    page.wait_for_selector(f"{PANEL} .jp-CodeCell")
    _wait_kernel_idle(page)


def _wait_kernel_idle(page, timeout: float = RUN_TIMEOUT) -> None:
    page.wait_for_function(
        """() => {
            const app = window.jupyterapp;
            const w = app && app.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
            return k && k.status === 'idle';
        }""", timeout=timeout * 1000)


def _prompts(page) -> list[str]:
    # textContent: cells scrolled out of view are not laid out, and have no innerText
    return page.locator(f"{PANEL} .jp-CodeCell .jp-InputPrompt").evaluate_all(
        "els => els.map(e => (e.textContent || '').trim())")


def _run_menu(page, command: str) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text="Run").first.click()
    page.locator(f"li[data-command='{command}']").click()


def _wait_cells_done(page, timeout: float = RUN_TIMEOUT) -> list[str]:
    """Wait until no cell is queued or running ([*]); return the prompts."""
    deadline = time.monotonic() + timeout
    time.sleep(1)
    while True:
        prompts = _prompts(page)
        if not any("*" in p for p in prompts):
            _wait_kernel_idle(page)
            return prompts
        if time.monotonic() > deadline:
            raise TimeoutError(f"cells still running after {timeout} s: {prompts}")
        time.sleep(1)


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
    """{plugin id: activated} for nbgrader's and the widgets' JupyterLab plugins."""
    return page.evaluate(
        """() => Object.fromEntries(window.jupyterapp.listPlugins()
            .filter(p => p.startsWith('@jupyter/nbgrader') || p.startsWith('@jupyter-widgets'))
            .map(p => [p, window.jupyterapp.isPluginActivated(p)]))""")


def _nbgrader_menu(page) -> list[str]:
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu:visible .lm-Menu-itemLabel").all_inner_texts()
    return [i.strip() for i in items if i.strip()]


def _panel_text(page, needles: list[str], timeout: float = 30.0) -> str:
    """The text of the notebook in the current tab, once it holds every needle (or at the
    timeout). JupyterLab renders the cells below the fold later, after the visible ones, and
    on a loaded machine much later: scroll down until they are there, then back up."""
    deadline = time.monotonic() + timeout
    scroll = """(el, top) => {
        const outer = el.querySelector('.jp-WindowedPanel-outer') || el;
        outer.scrollTop = top ? 0 : outer.scrollHeight;
    }"""
    while True:
        text = page.locator(PANEL).evaluate("el => el.textContent || ''")
        if all(n in text for n in needles) or time.monotonic() > deadline:
            page.locator(PANEL).evaluate(scroll, True)
            return text
        page.locator(PANEL).evaluate(scroll, False)
        time.sleep(0.5)


def _landing(page, lab: Lab, expected_path: str) -> None:
    """Open the server's root as the README's link does: it must land on the index."""
    with step(page, lab, "open the landing page"):
        page.goto(lab.url("/"))
        page.wait_for_selector(f"{PANEL} .jp-RenderedMarkdown table")
        assert page.url.split("?")[0].endswith(expected_path), \
            f"JupyterLab opened {page.url}, expected the index at {expected_path}"
    with step(page, lab, "read the index"):
        links = page.locator(f"{PANEL} .jp-RenderedMarkdown table a").evaluate_all(
            "els => els.map(a => new URL(a.href).pathname.split('/').pop())")
        expected = [f"{name}.ipynb" for name in assignments()]
        assert links == expected, f"the index links {links}, expected {expected} in order"
        text = _panel_text(page, ["self-check", "Validate"])
        assert "self-check" in text and "Validate" in text, \
            "the index does not say how to check one's work (self-check, Validate)"
        page.screenshot(path=str(ARTIFACTS / f"{lab.name}-01-landing-index.png"))


# --- the tests --------------------------------------------------------------------------------

def test_make_lab_opens_on_the_index_with_nbgraders_student_tools(page, make_lab):
    _landing(page, make_lab, "/lab/tree/index.ipynb")
    with step(page, make_lab, "check nbgrader's student extensions"):
        plugins = _plugins(page)
        for plugin in (*STUDENT_PLUGINS, WIDGET_PLUGIN):
            assert plugins.get(plugin), f"{plugin} is not active: {plugins}"
        assert page.locator(f"{PANEL} .jp-Toolbar").get_by_text("Validate").is_visible(), \
            "no Validate button in the notebook's toolbar"
        menu = _nbgrader_menu(page)
        assert "Assignment List" in menu, f"Nbgrader menu: {menu}"
        page.screenshot(path=str(ARTIFACTS / f"{make_lab.name}-02-nbgrader-menu.png"))
        page.keyboard.press("Escape")
        for path in ("/assignments", "/assignments/validate"):  # the tools' server side
            assert make_lab.get_status(path) != 404, f"nbgrader's {path} handler is missing"


def test_notebook_02_runs_and_its_explorer_redraws_when_a_slider_moves(page, make_lab):
    with step(page, make_lab, "open notebook 02 from the index"):
        page.goto(make_lab.url("/lab/tree/index.ipynb?reset"))
        page.wait_for_selector(f"{PANEL} .jp-RenderedMarkdown table")
        _open_from_index(page, index.rows()[2].title)
    with step(page, make_lab, "run all cells of notebook 02"):
        _run_menu(page, "runmenu:run-all")
        prompts = _wait_cells_done(page)
        unrun = [i for i, p in enumerate(prompts) if not p.strip("[]: ").isdigit()]
        assert not unrun, f"code cells {unrun} did not run (prompts {prompts})"
        errors = _errors(page)
        assert not errors, f"cells raised: {errors}"
    cell = page.locator(f"{PANEL} .jp-CodeCell", has_text="cl.taskgraph.explore(")
    with step(page, make_lab, "find the scheduler explorer's slider and plot"):
        cell.scroll_into_view_if_needed()
        slider = cell.locator(".widget-slider", has_text="workers P")
        slider.wait_for()
        img = cell.locator(".jp-RenderedImage img")
        img.wait_for()
        before_value = slider.locator(".widget-readout").text_content().strip()
        before = img.get_attribute("src")
        cell.screenshot(path=str(ARTIFACTS / f"{make_lab.name}-03-nb02-explorer-before.png"))
    with step(page, make_lab, "move the slider (two steps right) and wait for a new plot"):
        slider.locator(".noUi-handle").focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        deadline = time.monotonic() + 60
        while img.get_attribute("src") == before:
            assert time.monotonic() < deadline, "the plot did not change within 60 s"
            time.sleep(0.3)
        after_value = slider.locator(".widget-readout").text_content().strip()
        assert (before_value, after_value) == ("3", "5"), \
            f"the slider went from {before_value} to {after_value}, expected 3 -> 5"
        time.sleep(0.5)  # let the new image paint
        cell.screenshot(path=str(ARTIFACTS / f"{make_lab.name}-04-nb02-explorer-after.png"))


def test_notebook_05_runs_its_first_kernel(page, make_lab):
    with step(page, make_lab, "open notebook 05 from the index"):
        page.goto(make_lab.url("/lab/tree/index.ipynb?reset"))
        page.wait_for_selector(f"{PANEL} .jp-RenderedMarkdown table")
        _open_from_index(page, index.rows()[5].title)
    cell = page.locator(f"{PANEL} .jp-CodeCell", has_text="who_am_i[3, 8]")
    with step(page, make_lab, "run notebook 05 up to its first kernel, who_am_i"):
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").click()  # select the cell (command mode)
        _run_menu(page, "notebook:run-all-above")
        _wait_cells_done(page)
        _run_menu(page, "notebook:run-cell")
        _wait_cells_done(page)
        errors = _errors(page)
        assert not errors, f"cells raised: {errors}"
        out = cell.locator(".jp-OutputArea").inner_text()
        assert "your global_id agrees: True" in out, f"the kernel's output: {out[:800]}"
        cell.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{make_lab.name}-05-nb05-first-kernel.png"))


def test_binder_opens_on_the_index_with_student_tools_only(page, binder_lab):
    _landing(page, binder_lab, "/lab/tree/notebooks/index.ipynb")
    with step(page, binder_lab, "check nbgrader: student tools on, instructor tools off"):
        plugins = _plugins(page)
        for plugin in (*STUDENT_PLUGINS, WIDGET_PLUGIN):
            assert plugins.get(plugin), f"{plugin} is not active on Binder: {plugins}"
        on = [p for p in INSTRUCTOR_PLUGINS if plugins.get(p)]
        assert not on, f"instructor tools active on Binder: {on}"
        assert page.locator(f"{PANEL} .jp-Toolbar").get_by_text("Validate").is_visible(), \
            "no Validate button in the notebook's toolbar"
        menu = _nbgrader_menu(page)
        assert "Assignment List" in menu and "Formgrader" not in menu, f"Nbgrader menu: {menu}"
        page.screenshot(path=str(ARTIFACTS / f"{binder_lab.name}-02-nbgrader-menu.png"))
        page.keyboard.press("Escape")
        assert binder_lab.get_status("/formgrader") == 404, "formgrader is served on Binder"
        for path in ("/assignments", "/assignments/validate"):
            assert binder_lab.get_status(path) != 404, f"nbgrader's {path} is missing on Binder"

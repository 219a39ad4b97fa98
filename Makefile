# Parallel ML Systems: two commands, `make lab` and `make test`.
# Everything installs into .venv from the pins; a second run reinstalls only
# when requirements*.txt or pyproject.toml changed.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the test tools (requirements-test.txt): make test, test-fast, lint and format only
TEST_STAMP := $(VENV)/.installed-test
LAB_ARGS ?=
# The folder JupyterLab serves, and the page it opens on (the course's index).
LAB_DIR ?= notebooks
LAB_URL ?= /lab/tree/index.ipynb
PYTEST_ARGS ?=
# Headless Chromium for the browser test (tests/test_browser.py): Debian's package,
# installed by `make test` when missing; Playwright is pointed at it (it cannot download
# browsers of its own here). Use another build with make test CHROMIUM=/path/to/chromium.
CHROMIUM ?= $(or $(shell command -v chromium 2>/dev/null),/usr/bin/chromium)
export COURSE_CHROMIUM := $(CHROMIUM)
# nbgrader and jupyter call tools (alembic, jupyter-*) by name: put the venv first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: all install browser lab lab-instructor test test-fast test-notebooks test-grading lint format release clean help

help:
	@echo "make lab        install (once) and open the course in JupyterLab  (LAB_ARGS=...)"
	@echo "make lab-instructor  JupyterLab with nbgrader's instructor tools (formgrader,"
	@echo "                Create Assignment) on the course directory (COURSE_DIR=..., default autograde)"
	@echo "make test       install (once), ruff, then every test: notebooks, grading, Ray, browser,"
	@echo "                cluster, sandbox attacks (the slowest 25 listed at the end)"
	@echo "make test-fast  install (once), ruff, then the tests that need no Ray, notebook, grading,"
	@echo "                browser, cluster or sandbox and are not marked slow (under a minute)"
	@echo "make browser    install Debian's chromium for the browser test (make test does it)"
	@echo "make release    regenerate notebooks/ from the masters in autograde/source"
	@echo "make lint       ruff on code and notebooks"

install: $(STAMP)

$(STAMP): requirements.txt requirements-lock.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c requirements-lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)
	@echo "installed into $(VENV)"
	@command -v bwrap >/dev/null || echo "note: instructors grading submissions need the grading sandbox: make sandbox (installs bubblewrap; as root). Without it, autograde grade refuses to run."

$(TEST_STAMP): $(STAMP) requirements-test.txt requirements-lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt -c requirements-lock.txt
	@touch $(TEST_STAMP)

browser: $(CHROMIUM)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "error: no Chromium at $(CHROMIUM) and no apt-get to install it: install Chromium, then run make CHROMIUM=/path/to/chromium"; exit 1; }
	@test "$$(id -u)" = 0 || { echo "error: no Chromium at $(CHROMIUM); installing it needs root: sudo apt-get install -y chromium (or make CHROMIUM=/path/to/chromium)"; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
	@test -x $(CHROMIUM) || { echo "error: apt-get installed chromium, but not at $(CHROMIUM)"; exit 1; }

# Grading sandbox (autograde/sandbox.py): bubblewrap, Debian's package, installed by
# `make test` when missing (the adversarial tests need it; `autograde grade` says which
# protections are off without it). Another build: make test BWRAP=/path/to/bwrap.
BWRAP ?= $(or $(shell command -v bwrap 2>/dev/null),/usr/bin/bwrap)
.PHONY: sandbox
sandbox: $(BWRAP)

$(BWRAP):
	@command -v apt-get >/dev/null || { echo "error: no bubblewrap at $(BWRAP) and no apt-get to install it: install bubblewrap (bwrap), or run make BWRAP=/path/to/bwrap"; exit 1; }
	@test "$$(id -u)" = 0 || { echo "error: no bubblewrap at $(BWRAP); installing it needs root: sudo apt-get install -y bubblewrap (or make BWRAP=/path/to/bwrap)"; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null
	@test -x $(BWRAP) || { echo "error: apt-get installed bubblewrap, but not at $(BWRAP)"; exit 1; }

test: sandbox

# Jupyter refuses to run as root unless told; containers and CI often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# make lab GPU=1: also the optional `gpu` extra (numba-cuda with CUDA from PyPI, NVML), for a
# machine with an NVIDIA GPU and its driver (README, "On an NVIDIA GPU")
GPU ?=
# The learner's JupyterLab: nbgrader's student tools only, no news prompt (lab/learner, a
# Jupyter config directory put in front of the environment's; nothing installed changes).
lab: $(STAMP) $(if $(GPU),gpu-extra)
	JUPYTER_CONFIG_PATH="$(CURDIR)/lab/learner$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(BIN)/jupyter lab --notebook-dir=$(LAB_DIR) --LabApp.default_url=$(LAB_URL) $(ROOT_FLAG) $(LAB_ARGS)

# The instructor's: every nbgrader tool (formgrader, Create Assignment), no news prompt, run
# in the course directory (nbgrader reads the nbgrader_config.py of the server's working
# directory, not of --notebook-dir; a private course needs a copy of
# autograde/nbgrader_config.py): make lab-instructor COURSE_DIR=/path/to/course
COURSE_DIR ?= $(or $(AUTOGRADE_COURSE),autograde)
lab-instructor: $(STAMP) $(if $(GPU),gpu-extra)
	@command -v bwrap >/dev/null || echo "note: to grade submissions, first: make sandbox"
	cd "$(COURSE_DIR)" && \
	  JUPYTER_CONFIG_PATH="$(CURDIR)/lab/instructor$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(abspath $(BIN))/jupyter lab --notebook-dir=. --LabApp.default_url=/formgrader $(ROOT_FLAG) $(LAB_ARGS)

.PHONY: gpu-extra
gpu-extra: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[gpu]' -c requirements-lock.txt

# The markers (pyproject.toml) say what a test needs; test-fast leaves out every one of them.
FAST_MARKERS := not ray and not notebook and not grading and not browser and not cluster and not adversarial and not slow

test: $(TEST_STAMP) $(CHROMIUM)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest --durations=25 $(PYTEST_ARGS)

test-fast: $(TEST_STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/python -m ruff check .

format: $(TEST_STAMP)
	$(BIN)/python -m ruff format course_lib autograde tests

release: $(STAMP)
	$(BIN)/python -m autograde release

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

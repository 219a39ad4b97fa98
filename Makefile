# Parallel ML Systems: two commands, `make lab` and `make test`.
# Everything installs into .venv from the pins; a second run reinstalls only
# when requirements*.txt or pyproject.toml changed.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB_ARGS ?=
PYTEST_ARGS ?=
# nbgrader and jupyter call tools (alembic, jupyter-*) by name: put the venv first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: all install lab test test-fast test-notebooks test-grading lint format release clean help

help:
	@echo "make lab        install (once) and open the course in JupyterLab  (LAB_ARGS=...)"
	@echo "make test       install (once) and run every test: course_lib, notebooks, grading"
	@echo "make test-fast  course_lib and static checks only (seconds)"
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

# Jupyter refuses to run as root unless told; containers and CI often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -m "not notebooks and not grading and not cluster" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check .

format: $(STAMP)
	$(BIN)/python -m ruff format course_lib autograde tests

release: $(STAMP)
	$(BIN)/python -m autograde release

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
# `make install` puts in what the program needs (runtime); `make test` adds the dev extra
# (pytest, Ray, Playwright, the adapt trainer, ...), which the demo does not need.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
DEMO_DATA ?= data/demo
DEMO_INDEX ?= demo-index
# make demo PORT=8080 HOST=0.0.0.0
PORT ?= 8000
HOST ?= 127.0.0.1
# pip shows its progress (what it downloads and builds); PIP_FLAGS=-q makes it quiet.
PIP_FLAGS ?= --progress-bar on

.PHONY: install install-dev demo demo-index lint test test-fast docs clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	@echo "Installing vnsearch and its runtime dependencies into $(VENV) (a few minutes the first time)"
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	# torch first: 2.13.0 is the local CPU build; asking for it later would pull CUDA wheels.
	$(PY) -m pip install $(PIP_FLAGS) torch==2.13.0
	$(PY) -m pip install $(PIP_FLAGS) -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	@echo "Installing the dev extra (tests, Ray, Playwright, the adapt trainer)"
	$(PY) -m pip install $(PIP_FLAGS) -e '.[dev]'
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

# The demo indexes data/demo/ only: data/eval/ holds evaluation files, not articles.
demo-index: install
	$(VENV)/bin/vnsearch index $(DEMO_DATA) --index $(DEMO_INDEX)

demo: demo-index
	@echo "Open http://$(HOST):$(PORT)/ (API docs at /docs)"
	$(VENV)/bin/vnsearch serve --index $(DEMO_INDEX) --host $(HOST) --port $(PORT)

# ruff (pyflakes, pycodestyle, isort, bugbear, pyupgrade) and mypy, configured in pyproject.toml.
lint: install-dev
	$(PY) -m ruff check indexer search_api && $(PY) -m mypy indexer search_api

test: install-dev
	$(PY) -m pytest -q

# The quick tier (~870 tests, under 2 minutes on 2 cores): no model, no Ray, no browser,
# nothing slow. `make test` runs everything, slow included, within 10 minutes on 2 quiet cores.
# The markers are set in tests/conftest.py from the fixtures each test uses.
test-fast: install-dev
	$(PY) -m pytest -q -m "not model and not ray and not browser and not slow"

# The documentation site, offline, into site/ (the dev extra includes the docs extra).
docs: install-dev
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) $(DEMO_INDEX) .pytest_cache .ruff_cache .mypy_cache site

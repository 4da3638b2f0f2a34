# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_INDEX ?= demo-index
# make demo PORT=8080 HOST=0.0.0.0
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: install demo test clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first: 2.13.0 is the local CPU build; asking for it later would pull CUDA wheels.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/vnsearch index data/ --index $(DEMO_INDEX)
	@echo "Open http://$(HOST):$(PORT)/ (API docs at /docs)"
	$(VENV)/bin/vnsearch serve --index $(DEMO_INDEX) --host $(HOST) --port $(PORT)

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) $(DEMO_INDEX) .pytest_cache

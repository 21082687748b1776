# The README's two commands: `make run` and `make test`. Both work on a fresh machine
# with only Python 3.11+: they create .venv and install what they need.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
REQS := requirements/base.txt requirements/dev.txt requirements/prod.txt
STAMP := $(VENV)/.installed
export XDG_RUNTIME_DIR ?= /tmp

.PHONY: run test lint format bench venv clean

venv: $(STAMP)

# Reinstall only when a requirements file changed.
$(STAMP): $(REQS)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Adology needs Python 3.11 or newer (found $$($(PYTHON) --version))."; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt -r requirements/prod.txt
	@touch $(STAMP)

run: venv
	$(PY) deploy/run_local.py

test: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: venv
	$(PY) bench/api_list.py
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) .data

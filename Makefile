# The README's two commands: `make run` and `make test`. Both work on a fresh machine
# with only Python 3.11+: they create .venv and install what they need.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
REQS := requirements/base.txt requirements/dev.txt requirements/prod.txt
STAMP := $(VENV)/.installed
export XDG_RUNTIME_DIR ?= /tmp
# The browser tests drive this Chromium (Debian's package; Playwright's own browser download
# is not used). The tests read the same variable.
export CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint format bench venv chromium clean

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

# Install Debian's Chromium when it is missing and we can (root, or sudo without a password);
# otherwise stop and say what to do, rather than let the browser tests fail later. A CHROMIUM
# of your own is only checked: the package installs /usr/bin/chromium.
chromium:
	@test -x "$(CHROMIUM)" || { \
		if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else sudo=none; fi; \
		if [ "$(CHROMIUM)" = /usr/bin/chromium ] && [ "$$sudo" != none ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Chromium not found at $(CHROMIUM): installing Debian's chromium package."; \
			export DEBIAN_FRONTEND=noninteractive; \
			$$sudo apt-get install -y chromium || { $$sudo apt-get update && $$sudo apt-get install -y chromium; }; \
		fi; \
		test -x "$(CHROMIUM)" || { \
			echo "The browser tests need Chromium at $(CHROMIUM), and it could not be installed here."; \
			echo "Install it as root ('apt-get install -y chromium' on Debian/Ubuntu), or point"; \
			echo "CHROMIUM at an existing Chromium binary: make test CHROMIUM=/path/to/chromium"; \
			exit 1; }; \
	}

test: venv chromium
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
	$(PY) bench/dashboard.py

clean:
	rm -rf $(VENV) .data

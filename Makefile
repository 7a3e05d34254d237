# Two commands: `make run` (set up and start the bot) and `make test` (set up and run all tests).
# The first Python from 3.11 to 3.13 found (or PYTHON=...). Dependencies are installed from
# the lock files; `make lock` refreshes them from pyproject.toml.
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	command -v $$p >/dev/null 2>&1 && \
	$$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null && \
	{ echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
APP_LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
INSTALLED := $(VENV)/.installed-app
TEST_INSTALLED := $(VENV)/.installed-test

.PHONY: run install test lint format bench lock clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11, 3.12 or 3.13 is required and none was found; set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): $(BIN)/python pyproject.toml $(APP_LOCK)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r $(APP_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(INSTALLED)

$(TEST_INSTALLED): $(INSTALLED) $(TEST_LOCK)
	$(BIN)/pip install --quiet -r $(TEST_LOCK)
	touch $(TEST_INSTALLED)

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/doingoai run

# The suite on SQLite, then on PostgreSQL when DOINGOAI_TEST_POSTGRES_URL names a server
# (.ci/run starts one with .ci/postgres); without it, the summary says it was skipped.
test: $(TEST_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	env -u DOINGOAI_TEST_POSTGRES_URL $(BIN)/pytest
	@if [ -n "$$DOINGOAI_TEST_POSTGRES_URL" ]; then \
		echo "== the whole suite again on PostgreSQL"; $(BIN)/pytest; \
	else \
		echo "PostgreSQL run skipped: DOINGOAI_TEST_POSTGRES_URL is not set (.ci/run starts a server)"; \
	fi

lint: $(TEST_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TEST_INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(TEST_INSTALLED)
	$(BIN)/python benchmarks/engine.py

# Pin every dependency (and theirs) of pyproject.toml: the app's, and the app's with the tests'.
lock: $(BIN)/python
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links --output-file $(APP_LOCK) pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links --extra test --output-file $(TEST_LOCK) pyproject.toml

clean:
	rm -rf $(VENV) data .pytest_cache

# Two commands: `make run` (set up and start the bot) and `make test` (set up and run all tests).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found); set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/doingoai run

# The suite on SQLite, then on PostgreSQL when DOINGOAI_TEST_POSTGRES_URL names a server
# (.ci/run starts one with .ci/postgres); without it, the summary says it was skipped.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	env -u DOINGOAI_TEST_POSTGRES_URL $(BIN)/pytest
	@if [ -n "$$DOINGOAI_TEST_POSTGRES_URL" ]; then \
		echo "== the whole suite again on PostgreSQL"; $(BIN)/pytest; \
	else \
		echo "PostgreSQL run skipped: DOINGOAI_TEST_POSTGRES_URL is not set (.ci/run starts a server)"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) data .pytest_cache

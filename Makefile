# The two commands a newcomer needs: `make serve` and `make test`.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test lint schema clean

$(BIN)/sat: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("SAT needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable ".[dev]"
	touch $(BIN)/sat

## serve: run the server (console at http://127.0.0.1:8000/) on the embedded SQLite database (./sat.sqlite3)
serve: $(BIN)/sat
	$(BIN)/sat serve

## test: run the whole test suite (SQLite; set SAT_TEST_DATABASE_URL=postgres://... for PostgreSQL)
test: $(BIN)/sat
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff and strict mypy
lint: $(BIN)/sat
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## schema: regenerate graphql/schema.graphql from the code
schema: $(BIN)/sat
	$(BIN)/sat export-schema > graphql/schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The two commands of the quick start: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test install install-dev lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	npm ci --prefix tests/js --no-audit --no-fund
	npm ci --prefix web --no-audit --no-fund

# Embedded default: SQLite under ./data, in-process bus and limits, nothing else to run.
serve: install
	$(BIN)/inkweave serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install-dev
	bash tests/ensure_system_packages.sh
	bash tests/ensure_services.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

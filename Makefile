# The two commands of the quick start: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test test-setup test-stress install install-dev lint

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
	$(BIN)/lint-imports

# pytest-randomly shuffles the order (the seed is printed; rerun one with
# `make test PYTEST_ARGS=--randomly-seed=N`, or `PYTEST_ARGS='-p no:randomly'`).
PYTEST_ARGS ?=
# Most of the suite waits on sockets and subprocesses: three xdist workers keep two cores busy.
# (`--dist load`, the default: schemathesis' generated cases share one node id, which the
# grouping modes would run once.)
TEST_WORKERS ?= 3
PYTEST := -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-setup: install-dev
	bash tests/ensure_system_packages.sh
	bash tests/ensure_services.sh

# Branch coverage of the suite, subprocess servers included; a package under its floor fails.
test: test-setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	rm -rf .coverage-data && mkdir -p .coverage-data
	$(BIN)/coverage run $(PYTEST)
	$(BIN)/coverage combine -q
	$(BIN)/python tests/coverage_floors.py

# The same suite while another process keeps one core busy (no coverage: it measures nothing new).
test-stress: test-setup
	bash tests/with_cpu_burner.sh $(BIN)/python $(PYTEST)

# The two commands of the quick start: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := api jobs ai_agents sync_server storage
# bandit: static security checks of our own code; clean, or waived with a reason ([tool.bandit] in
# pyproject.toml, `# nosec BXXX # why` on a line).
BANDIT := $(BIN)/bandit -c pyproject.toml -q -r $(PACKAGES)

.PHONY: serve test test-setup test-stress install install-dev lint audit

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
	$(BANDIT)

# Known vulnerabilities in the dependencies. There is no lock file (`install-dev` resolves
# pyproject's ranges), so what is audited is what got installed: the virtualenv less the project
# itself. --strict: a dependency the vulnerability service cannot answer for fails the audit
# rather than being skipped; --timeout bounds each request and AUDIT_TIMEOUT_S the whole run.
# Accepted vulnerabilities, each with its reason and the date it was reviewed:
#   --ignore-vuln ID  (YYYY-MM-DD: why it does not reach us; when to look again)
PIP_AUDIT_IGNORE :=
AUDIT_TIMEOUT_S ?= 600
audit: install-dev
	@status=0; timeout $(AUDIT_TIMEOUT_S) $(BIN)/pip-audit --local --skip-editable --strict \
		--timeout 30 --progress-spinner off $(PIP_AUDIT_IGNORE) || status=$$?; \
	if [ $$status = 124 ]; then \
		echo "pip-audit: no answer from the vulnerability service in $(AUDIT_TIMEOUT_S) s" >&2; \
		exit 1; \
	elif [ $$status != 0 ]; then \
		echo "pip-audit: failed (exit $$status): a vulnerability above, or a dependency" \
			"the vulnerability service could not answer for" >&2; \
		exit 1; \
	fi

# pytest-randomly shuffles the order (the seed is printed; rerun one with
# `make test PYTEST_ARGS=--randomly-seed=N`, or `PYTEST_ARGS='-p no:randomly'`).
PYTEST_ARGS ?=
# Most of the suite waits on sockets and subprocesses: three xdist workers keep two cores busy.
# `--dist worksteal`: an idle worker takes queued tests from a busy one, so the run does not end
# with one worker alone on its long tail (not a grouping mode: schemathesis' generated cases,
# which share one node id, all still run). `--durations`: the log names the 30 slowest tests,
# where the suite's time goes.
TEST_WORKERS ?= 3
PYTEST := -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=30 $(PYTEST_ARGS)

test-setup: install-dev
	bash tests/ensure_system_packages.sh
	bash tests/ensure_services.sh

# Branch coverage of the suite, subprocess servers included; a package under its floor fails.
test: test-setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BANDIT)
	rm -rf .coverage-data && mkdir -p .coverage-data
	$(BIN)/coverage run $(PYTEST)
	$(BIN)/coverage combine -q
	$(BIN)/python tests/coverage_floors.py

# The same suite while another process keeps one core busy (no coverage: it measures nothing new).
test-stress: test-setup
	bash tests/with_cpu_burner.sh $(BIN)/python $(PYTEST)

# trustdesk: every task a developer or CI runs. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# One pytest worker per core (each with its own databases); `make test PYTEST_WORKERS=0` runs serially.
PYTEST_WORKERS ?= auto
# worksteal: each worker starts on half of the tests and an idle one takes half of the other's
# queue, so a few long drills queued late do not leave one worker running alone at the end.
PYTEST_DIST := $(if $(filter 0,$(PYTEST_WORKERS)),,--dist worksteal)
FUZZ_SECONDS ?= 60
FUZZ_EXAMPLES ?= 200
FUZZ_MUTATIONS ?= 20000

.PHONY: help install run test test-sqlite lint format docs bench fuzz clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# The Standard Webhooks JavaScript library, with which the suite verifies deliveries.
JS_CHECK := tests/webhooks_js

# C sources: rebuild the extensions; the client's pyproject: reinstall the client.
$(STAMP): pyproject.toml clients/python/pyproject.toml src/trustdesk/screening/_cfold.c src/trustdesk/signals/_pdqindex.c $(JS_CHECK)/package-lock.json
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "trustdesk needs Python 3.11 or newer; set PYTHON=python3.x"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet -e ./clients/python  # the client library for services
	@command -v npm >/dev/null || { echo "the suite needs node and npm (Debian: nodejs npm)"; exit 1; }
	npm ci --silent --no-audit --no-fund --prefix $(JS_CHECK)
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install trustdesk with its dev tools (when missing or stale)

run: $(STAMP) ## Start the server on SQLite (./var/) with the demo data set
	@mkdir -p var
	$(BIN)/trustdesk serve --demo --db sqlite:///./var/trustdesk.db

test: $(STAMP) ## Run the whole suite (SQLite, and PostgreSQL when its server is installed)
	scripts/with-postgres $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_DIST) $(PYTEST_ARGS)

test-sqlite: $(STAMP) ## Run the suite on SQLite only (quicker)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_DIST) $(PYTEST_ARGS)

lint: $(STAMP) ## ruff check, ruff format --check, mypy --strict, import layering
	$(BIN)/ruff check src tests bench docs clients
	$(BIN)/ruff format --check src tests bench docs clients
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench docs clients
	$(BIN)/ruff format src tests bench docs clients

docs: $(STAMP) ## Rewrite the generated reference pages under docs/reference/ (a test checks them)
	$(BIN)/python -m docs.reference

bench: $(STAMP) ## Run the benchmarks under bench/ and write their figures to bench/results/
	$(BIN)/python -m bench

# Crashes land in var/fuzz/ as crash-<sha1>: fix the cause, then add the file to
# tests/fuzz/corpus/<target>/ with a regression test (tests/fuzz/test_regressions.py).
fuzz: $(STAMP) ## Fuzz longer: atheris FUZZ_SECONDS (60) a target, schemathesis FUZZ_EXAMPLES (200)
	@mkdir -p var/fuzz
	@for target in $$($(BIN)/python tests/fuzz/run.py --list); do \
	  echo "== atheris: $$target ($(FUZZ_SECONDS) s)"; mkdir -p var/fuzz/$$target; \
	  $(BIN)/python tests/fuzz/run.py $$target var/fuzz/$$target tests/fuzz/corpus/$$target \
	    -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=var/fuzz/ -print_final_stats=1 \
	    || exit 1; \
	done
	TRUSTDESK_FUZZ_MUTATIONS=$(FUZZ_MUTATIONS) $(BIN)/python -m pytest -q tests/fuzz/test_targets.py
	TRUSTDESK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) scripts/with-postgres \
	  $(BIN)/python -m pytest -q -p no:cacheprovider --timeout=7200 tests/fuzz/test_openapi.py

clean: ## Remove the virtual environment, caches and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

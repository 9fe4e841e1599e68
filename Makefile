# Aurum Life API. `make run` is the whole system; `make test` the whole suite. Python 3.11+ and make; tests and bench also Node 20+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_NODE := bench/node_modules/.package-lock.json

.PHONY: run test bench lint typecheck schema manifest migrate seed-demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## migrate, then API + worker on the embedded PostgreSQL and Redis: http://127.0.0.1:8000/graphql
	$(BIN)/aurum serve

$(BENCH_NODE): bench/package-lock.json  # PostGraphile 4, which the bench and its test run beside Aurum
	npm ci --prefix bench --no-audit --no-fund --loglevel=error

test: $(STAMP) $(BENCH_NODE)  ## the whole suite against real PostgreSQL and Redis
	$(BIN)/python -m pytest

bench: $(STAMP)  ## benchmarks, printed side by side (PostGraphile 4 from bench/package-lock.json, by npm ci)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

schema: $(STAMP)  ## regenerate schema.graphql
	$(BIN)/aurum export-schema > schema.graphql

manifest: $(STAMP)  ## regenerate client/persisted-query-manifest.json (the trusted documents)
	$(BIN)/aurum export-manifest > client/persisted-query-manifest.json

migrate: $(STAMP)
	$(BIN)/aurum migrate

seed-demo: $(STAMP)
	$(BIN)/aurum seed-demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The two commands a newcomer needs: `make run` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PY := $(UV) run --frozen
SERVICE ?=
PYTEST_FLAGS ?= -q

.PHONY: help setup run demo test unit integration e2e lint fmt typecheck bench clean asyncapi

help:
	@echo "make run        bring the platform up on its embedded default (SQLite + embedded broker)"
	@echo "make test       set up and run lint, type checks, unit, integration and end-to-end tests"
	@echo "make demo       send a batch of visits through a running platform (rcm demo)"
	@echo "make unit | integration | e2e   one layer of tests (SERVICE=claims to narrow)"
	@echo "make bench      throughput and memory benchmarks"
	@echo "make lint | fmt | typecheck | clean"

$(UV):
	python3 -m pip install --quiet --user "uv==0.13.9" || python3 -m pip install --quiet "uv==0.13.9"

setup: $(UV)
	@$(UV) sync --frozen --quiet

run: setup
	$(PY) rcm up

demo: setup
	$(PY) rcm demo

lint: setup
	$(PY) ruff check .
	$(PY) lint-imports

fmt: setup
	$(PY) ruff check --fix .

typecheck: setup
	$(PY) mypy libs/shared/src libs/issuer/src cli/src services/eligibility/src services/claims/src services/remittance/src \
		services/patient-billing/src services/authorizations/src

unit: setup
	$(PY) pytest $(PYTEST_FLAGS) -m "not integration and not e2e" $(if $(SERVICE),services/$(SERVICE)/tests,)

integration: setup
	$(PY) pytest $(PYTEST_FLAGS) -m integration $(if $(SERVICE),services/$(SERVICE)/tests,)

e2e: setup
	$(PY) pytest $(PYTEST_FLAGS) -m e2e tests/e2e

test: setup lint typecheck
	$(PY) pytest $(PYTEST_FLAGS) -p no:randomly --durations=10

bench: setup
	$(PY) python bench/run.py

asyncapi: setup
	$(PY) python -c "from rcm_shared.contracts.asyncapi import render_asyncapi; open('docs/asyncapi.yaml','w').write(render_asyncapi())"

clean:
	rm -rf var/ .venv/ .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

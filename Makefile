# The two commands a newcomer needs: `make run` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PY := $(UV) run --frozen
SERVICE ?=
PYTEST_FLAGS ?= -q
# `make test` runs on this many pytest-xdist workers (conftest.py keeps whole-platform tests on one of them).
TEST_WORKERS ?= 2

.PHONY: help setup run demo status token test unit integration e2e drills lint fmt typecheck bench clean asyncapi contracts \
	browser screenshots

help:
	@echo "make run        bring the platform up on its embedded default (SQLite + embedded broker)"
	@echo "make test       set up and run lint, type checks, unit, integration and end-to-end tests"
	@echo "make demo       send a batch of visits through a running platform (= ./rcm demo)"
	@echo "make status     each process of the running platform: state, PID, restarts, readiness (= ./rcm status)"
	@echo "make token      a development bearer token (= ./rcm token)"
	@echo "make unit | integration | e2e   one layer of tests (SERVICE=claims to narrow)"
	@echo "make drills     the issue-9 drills (tests/drills) at full scale, figures printed (RCM_DRILL_SCALE=full)"
	@echo "make bench      throughput and memory benchmarks"
	@echo "make screenshots  every console page in headless Chromium, saved under var/screenshots (1280 px and tablet)"
	@echo "make contracts  record new event contract versions (make lint refuses changes that break consumers)"
	@echo "make lint | fmt | typecheck | clean"

# uv is one static binary: a --user install touches nothing of the system's Python (hence
# --break-system-packages where the distribution's Python refuses --user installs, PEP 668).
$(UV):
	python3 -m pip install --quiet --user "uv==0.13.9" 2>/dev/null \
		|| python3 -m pip install --quiet --user --break-system-packages "uv==0.13.9" 2>/dev/null \
		|| python3 -m pip install --quiet "uv==0.13.9"

setup: $(UV)
	@$(UV) sync --frozen --quiet

run: setup
	$(PY) rcm up

demo: setup
	$(PY) rcm demo

status: setup
	$(PY) rcm status

token: setup
	@$(PY) rcm token

lint: setup
	$(PY) ruff check .
	$(PY) lint-imports
	$(PY) python -m rcm_shared.contracts.compatibility

fmt: setup
	$(PY) ruff check --fix .

typecheck: setup
	$(PY) mypy libs/shared/src libs/issuer/src cli/src services/eligibility/src services/claims/src services/remittance/src \
		services/patient-billing/src services/authorizations/src services/webhooks/src services/reporting/src

unit: setup
	$(PY) pytest $(PYTEST_FLAGS) -m "not integration and not e2e and not drill" $(if $(SERVICE),services/$(SERVICE)/tests,)

integration: setup
	$(PY) pytest $(PYTEST_FLAGS) -m integration $(if $(SERVICE),services/$(SERVICE)/tests,)

e2e: setup
	$(PY) pytest $(PYTEST_FLAGS) -m e2e tests/e2e

# Every drill under tests/drills (whoever wrote it) at full scale; tests/drills/conftest.py lists each drill's
# DRILL line in the summary ("drill figures").
drills: setup
	RCM_DRILL_SCALE=full $(PY) pytest -q -p no:randomly --timeout=3600 tests/drills

# The browser tests drive Debian's chromium (never a browser downloaded at run time): installed here if missing.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the console's browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

screenshots: setup browser
	rm -rf var/screenshots
	RCM_SCREENSHOTS_DIR=$(CURDIR)/var/screenshots $(PY) pytest -q -p no:randomly tests/e2e/test_console_browser.py
	@ls var/screenshots

test: setup lint typecheck browser
	$(PY) pytest $(PYTEST_FLAGS) -p no:randomly --durations=10 -n $(TEST_WORKERS) --dist loadgroup

bench: setup
	$(PY) python bench/run.py

# Record newly published contract versions (libs/shared/.../contracts/published.json); `make lint` refuses a change
# that would break a consumer of a recorded one.
contracts: setup asyncapi
	$(PY) python -m rcm_shared.contracts.compatibility --record

asyncapi: setup
	$(PY) python -c "from rcm_shared.contracts.asyncapi import render_asyncapi; open('docs/asyncapi.yaml','w').write(render_asyncapi())"

clean:
	rm -rf var/ .venv/ .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Backup reseller portal — the commands. `make help` lists them.
#
# Everything a local run writes lives under var/ (databases, logs, mail, the
# supervisord socket). The virtualenv is .venv/, installed exactly as README.md says.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall only when pyproject.toml changes.
STAMP := $(VENV)/.installed-stamp

export PORTAL_VAR_DIR ?= $(CURDIR)/var
export PORTAL_GATEWAY_PORT ?= 8000
SUPERVISORCTL := $(BIN)/supervisorctl -c config/supervisord.conf
SERVICES := identity tenancy billing audit notify
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

ifeq ($(CI),true)
PYTEST_FLAGS ?= --color=no --durations=15
endif

.DEFAULT_GOAL := help
.PHONY: help install run test test-calendar lint asyncapi bench bench-dashboard bench-services chaos cluster-test up down status stop-service start-service clean

help:
	@echo "make run        the whole suite on this machine (supervisord; http://localhost:$(PORTAL_GATEWAY_PORT))"
	@echo "make test       the whole test suite (needs RabbitMQ with management, and PostgreSQL)"
	@echo "make test-calendar  the date-dependent tests under faketime at a month end, a year end and 29 February"
	@echo "make lint       ruff check + mypy + lint-imports (the architecture contracts in pyproject.toml)"
	@echo "make asyncapi   write docs/asyncapi.json (the events' AsyncAPI document) from contracts/"
	@echo "make bench      every benchmark: bench-dashboard, then bench-services (about 30 minutes)"
	@echo "make bench-dashboard  the dashboard, ingest and the messaging ceiling at scale -> bench/results-dashboard.json"
	@echo "make bench-services   tenancy lists and ingest, a billing run, audit search/export -> bench/results-*.json"
	@echo "make chaos      two of everything behind HAProxy: broker/database restarts and kill -9 of each instance under load (own RabbitMQ node and PostgreSQL; root) -> docs/chaos-results.json"
	@echo "make cluster-test  a RabbitMQ node and the PostgreSQL primary lost under load (own 3-node cluster, primary + standby; root) -> docs/cluster-results.json"
	@echo "make up / down  the suite in Docker Compose (RabbitMQ, PostgreSQL, Mailpit)"
	@echo "make status     programs of a running 'make run', and /healthz"
	@echo "make stop-service SERVICE=identity / make start-service SERVICE=identity"
	@echo "make install    create .venv and install the project; make clean removes var/ and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml tests/e2e/axe/package-lock.json tests/asyncapi/package-lock.json | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	@# axe-core for the console's accessibility test, and the official AsyncAPI parser for
	@# docs/asyncapi.json's (Node's npm; the tests say so if it is missing)
	@if command -v npm >/dev/null; then npm ci --prefix tests/e2e/axe --no-audit --no-fund --silent && \
		npm ci --prefix tests/asyncapi --no-audit --no-fund --silent; \
	else echo "npm not found: tests/e2e/test_console_accessibility.py and tests/unit/test_asyncapi_parser.py" \
		"will be skipped (they fail when CI=true)"; fi
	@touch $@

install: $(STAMP)

# The operator account is created on identity's first start; these defaults are for a
# local demo only (override them, or set them in the environment).
run: install
	bash scripts/ensure-rabbitmq
	PORTAL_OPERATOR_EMAIL="$${PORTAL_OPERATOR_EMAIL:-operator@portal.example}" \
	PORTAL_OPERATOR_PASSWORD="$${PORTAL_OPERATOR_PASSWORD:-operator-demo-2026}" \
	exec $(BIN)/python scripts/run_suite.py $(RUN_ARGS)

# The local RabbitMQ (management plugin, open-files limit, stale test vhosts) and
# PostgreSQL made ready first: scripts/prepare-test-services.
test: install
	bash scripts/prepare-test-services
	$(BIN)/pytest $(PYTEST_FLAGS) $(PYTEST_ARGS)

# The tests marked `calendar` (they depend on today's date) once per date, the clock of the
# test process and of the suite it starts moved by faketime (Debian package faketime):
# scripts/test-calendar, docs/testing.md. CALENDAR_DATES="2030-01-31T23:59:00Z" for others.
CALENDAR_DATES ?= 2027-03-31T23:30:00Z 2027-12-31T23:30:00Z 2028-02-29T23:30:00Z
test-calendar: install
	bash scripts/prepare-test-services
	bash scripts/test-calendar $(CALENDAR_DATES) -- $(PYTEST_FLAGS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy contracts servicekit services gateway testprocessor
	$(BIN)/lint-imports --no-cache

# The AsyncAPI document of the events, from contracts/ (gateway/asyncapi.py); a unit test
# fails when the committed one differs. The gateway serves the same at /asyncapi.json.
asyncapi: install
	$(BIN)/python -m gateway.asyncapi --output docs/asyncapi.json

# The suite at scale through HTTP, with the messaging ceiling and a direct-SQL baseline in the
# same run (PostgreSQL and RabbitMQ needed; ~10 minutes on 2 cores): bench/results-dashboard.json
# and a table; docs/benchmarks.md. BENCH_SCALE=0.1 runs it at a tenth of the size.
# `make bench-services`: the deeper per-service benchmarks (another ~20 minutes).
# `make bench` runs both.
BENCH_SCALE ?= 1
bench: bench-dashboard bench-services

bench-dashboard: install
	bash scripts/ensure-rabbitmq
	$(BIN)/python bench/dashboard_bench.py --scale $(BENCH_SCALE)

bench-services: install
	bash scripts/ensure-rabbitmq
	$(BIN)/python bench/rpc_roundtrip.py
	$(BIN)/python bench/tenancy_bench.py --scale $(BENCH_SCALE)
	$(BIN)/python bench/billing_bench.py --scale $(BENCH_SCALE)
	$(BIN)/python bench/audit_bench.py --entries $$($(BIN)/python -c "print(int(1000000 * $(BENCH_SCALE)))")

# Faults under load (tests/chaos): its own RabbitMQ node and PostgreSQL cluster on free ports,
# never the shared ones; as root; a few minutes. Figures -> docs/chaos-results.json,
# summarised in docs/reliability.md. Not part of `make test` (too long for its budget).
chaos: install
	PORTAL_CHAOS=1 PORTAL_CHAOS_RESULTS=$(CURDIR)/docs/chaos-results.json \
		$(BIN)/pytest $(PYTEST_FLAGS) -m chaos tests/chaos $(PYTEST_ARGS)

# Failover under load (tests/cluster): its own three-node RabbitMQ cluster and PostgreSQL
# primary with a synchronous standby, on free ports; as root; about 10 minutes. Figures ->
# docs/cluster-results.json, summarised in docs/reliability.md. Not part of `make test`.
cluster-test: install
	PORTAL_CLUSTER=1 PORTAL_CLUSTER_RESULTS=$(CURDIR)/docs/cluster-results.json \
		$(BIN)/pytest $(PYTEST_FLAGS) -m cluster tests/cluster $(PYTEST_ARGS)

up:
	$(COMPOSE) up --build -d
	@echo "gateway: http://localhost:8000 (docs at /docs); mail: http://localhost:8025; '$(COMPOSE) ps' for health"

down:
	$(COMPOSE) down

status:
	@$(SUPERVISORCTL) status || true
	@$(BIN)/python scripts/run_suite.py --check-health || true

stop-service start-service: install
	@test -n "$(SERVICE)" || { echo "usage: make $@ SERVICE=<$(SERVICES) gateway>"; exit 2; }
	$(SUPERVISORCTL) $(subst -service,,$@) portal:$(SERVICE)

clean:
	@if [ -f var/run/supervisord.pid ] && kill -0 "$$(cat var/run/supervisord.pid)" 2>/dev/null; then \
		echo "the suite is running (make run): stop it first"; exit 1; fi
	rm -rf var build .pytest_cache .mypy_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

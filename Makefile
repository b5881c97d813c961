# Two commands on a fresh machine: `make demo` and `make test`. Each creates (or reuses) .venv.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
INSTALLED = $(VENV)/.installed

.PHONY: demo demo-docker test test-quick lint install test-tools clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/secmon demo

# The production stack in Docker (RisingWave, WarpStream playground, Grafana), end to end. The
# secmon commands run as the compose file's `secmon` service, on the stack's network. Grafana and
# deploy read the same SECMON_GRAFANA_PASSWORD (grafana_reader's), exported from here.
# `doctor` may fail on views that have not caught up with the backfill yet: make goes on.
GRAFANA_ADMIN_PASSWORD ?= admin
SECMON_GRAFANA_PASSWORD ?= change-me
export GRAFANA_ADMIN_PASSWORD SECMON_GRAFANA_PASSWORD
COMPOSE = docker compose -p secmon -f deploy/docker-compose.yml
demo-docker: $(INSTALLED)
	$(BIN)/secmon dashboards build
	$(COMPOSE) up -d --wait
	$(COMPOSE) run --rm secmon deploy --target risingwave \
		--grafana-url http://grafana:3000 --user admin --password "$(GRAFANA_ADMIN_PASSWORD)"
	$(COMPOSE) run --rm secmon produce --backfill --minutes 10
	-$(COMPOSE) run --rm secmon doctor --grafana-url http://grafana:3000 --user admin --password "$(GRAFANA_ADMIN_PASSWORD)"
	@echo "Grafana: http://localhost:3000/d/secmon-security-detections (admin / $(GRAFANA_ADMIN_PASSWORD))"
	@echo "RisingWave: psql -h localhost -p 4566 -U root dev; live traffic follows, Ctrl-C stops it"
	$(COMPOSE) run --rm secmon produce --rate 100 --duration 0

# The test set-up: Debian packages the tests drive for real (scripts/ensure-test-tools lists them).
test-tools:
	./scripts/ensure-test-tools

# Python with ruff; the models with sqlfluff, as dbt compiles them for the local target (offline).
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECMON_STATE_DIR=target/lint-state $(BIN)/secmon dbt compile -t local --no-populate-cache --no-introspect \
		--target-path target/lint --quiet
	$(BIN)/sqlfluff lint target/lint/compiled --processes 2 --disable-progress-bar

test: $(INSTALLED) lint test-tools
	$(BIN)/python -m pytest

# The edit loop, with nothing installed system-wide (no sudo): unit tests and the fast integration
# tests; the slow ones and those that drive Debian's tools (marker `tools`) are left to `make test`.
test-quick: $(INSTALLED)
	$(BIN)/python -m pytest -m "not slow and not tools"

clean:
	-$(BIN)/secmon down
	rm -rf $(VENV) target logs .pytest_cache

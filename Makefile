# Two commands on a fresh machine: `make demo` and `make test`. Each creates (or reuses) .venv.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
INSTALLED = $(VENV)/.installed

.PHONY: demo demo-docker test test-quick install test-tools clean

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

# The test set-up: Debian's chromium and chromium-driver (the dashboards preview's browser test) and
# docker-compose (validates deploy/docker-compose.yml; no Docker engine needed).
test-tools:
	./scripts/ensure-test-tools

test: $(INSTALLED) test-tools
	$(BIN)/python -m pytest

# The edit loop: unit tests and the fast integration tests (under a minute); `make test` runs all.
test-quick: $(INSTALLED) test-tools
	$(BIN)/python -m pytest -m "not slow"

clean:
	-$(BIN)/secmon down
	rm -rf $(VENV) target logs .pytest_cache

# Two commands on a fresh machine: `make demo` and `make test`. Each creates (or reuses) .venv.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
INSTALLED = $(VENV)/.installed

.PHONY: demo test install browser clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/secmon demo

# The test set-up: Debian's chromium and chromium-driver, for the dashboards preview's browser test.
browser:
	./scripts/ensure-chromium

test: $(INSTALLED) browser
	$(BIN)/python -m pytest

clean:
	-$(BIN)/secmon down
	rm -rf $(VENV) target logs .pytest_cache

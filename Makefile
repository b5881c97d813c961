# Two commands on a fresh machine: `make demo` and `make test`. Each creates (or reuses) .venv.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
INSTALLED = $(VENV)/.installed

.PHONY: demo test install clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/secmon demo

test: $(INSTALLED)
	$(BIN)/python -m pytest

clean:
	-$(BIN)/secmon down
	rm -rf $(VENV) target logs .pytest_cache

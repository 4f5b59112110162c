# Quick start: `make demo` evaluates the shipped example; `make test` runs every check CI runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
WHEEL_VENV := build/install-check

.PHONY: demo test lint pytest policy-test install-check examples clean spark-test

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/zizhu check policies/2021
	@# Exit 1 means rows with problems, listed above: the example has three on purpose (a blank 年级,
	@# contradictions) to show how they are reported; 2 (could not run) still fails the demo.
	$(BIN)/zizhu eval examples/students-2021.csv --policy policies/2021 --period 2021-autumn --format table \
		|| [ $$? -eq 1 ]

test: lint pytest install-check

lint: $(STAMP)
	$(BIN)/ruff check engine grammar tests examples benchmarks

pytest: $(STAMP)
	$(BIN)/pytest

# The grammar must ship inside a plain (non-editable) install and be found from any folder.
install-check: $(STAMP)
	rm -rf $(WHEEL_VENV)
	$(PY) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/pip install --quiet .
	cd /tmp && $(CURDIR)/$(WHEEL_VENV)/bin/zizhu check $(CURDIR)/policies/2021
	cd /tmp && $(CURDIR)/$(WHEEL_VENV)/bin/zizhu test $(CURDIR)/policies/2021 | tail -n 1

# The Spark engine on 10,000 generated students in local mode (installs the spark extra: pyspark).
spark-test: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,spark]'
	$(BIN)/pytest -m spark

examples: $(STAMP)
	$(BIN)/python examples/generate.py

clean:
	rm -rf $(VENV) build *.egg-info

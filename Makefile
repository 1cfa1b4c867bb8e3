# Two commands for a new user: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SAMPLE := data/tunxi_blocks.geojson
DEMO_OUT := demo_out

.PHONY: demo test lint clean sample

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The project itself (runtime dependencies only).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The project with the dev extras (pytest, hypothesis, ruff).
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/redistrict check $(SAMPLE) --barriers data/tunxi_river.geojson --overrides data/tunxi_bridges.csv --json $(DEMO_OUT)/check.json
	@echo
	@echo "Check summary written to $(DEMO_OUT)/check.json"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

sample: $(VENV)/.installed
	$(BIN)/python data/make_sample.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache

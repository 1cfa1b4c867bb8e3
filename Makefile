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

DATA_OPTS := --barriers data/tunxi_river.geojson --overrides data/tunxi_bridges.csv

demo: $(VENV)/.installed
	@echo "== 1. Check the sample: which communities can be split within 2,500-3,000 households?"
	$(BIN)/redistrict check $(SAMPLE) $(DATA_OPTS) --json $(DEMO_OUT)/check.json
	@echo
	@echo "== 2. Split 阜新 (9,242 households) on its own: infeasible by arithmetic (exit 3 expected)"
	@$(BIN)/redistrict split $(SAMPLE) $(DATA_OPTS) --community 阜新 --out $(DEMO_OUT)/fuxin --force; \
	code=$$?; echo "(exit code $$code = infeasible, as expected)"; test $$code -eq 3
	@echo
	@echo "== 3. Re-plan subdistrict 昱东 jointly, one office of >= 300 m2 per unit"
	$(BIN)/redistrict plan $(SAMPLE) $(DATA_OPTS) --subdistrict 昱东 --offices data/tunxi_offices.geojson --out $(DEMO_OUT)/yudong --force
	@echo
	@echo "Demo outputs:"
	@echo "  $(DEMO_OUT)/check.json             the check summary"
	@echo "  $(DEMO_OUT)/fuxin/diagnosis.json   why 阜新 cannot be split alone"
	@echo "  $(DEMO_OUT)/yudong/map.html        the 昱东 plan on a map (opens offline in any browser)"
	@echo "  $(DEMO_OUT)/yudong/report.html     the one-page plan report"
	@echo "  $(DEMO_OUT)/yudong/units.geojson   units for the city GIS (also assignment.csv, blocks.geojson, report.json)"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

sample: $(VENV)/.installed
	$(BIN)/python data/make_sample.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache

# Everything a user of the kit runs. `make` alone lists it.
PYTHON ?= python3
VENV ?= .venv
TOOLS ?= .venv-tools
PY := $(VENV)/bin/python
FN ?= ApiFunction
EVENT ?= events/todos_list.json
PORT ?= 3000
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY ?= 0

.DEFAULT_GOAL := help
.PHONY: help dev invoke test lint build deploy bench db-start db-stop db-reset clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements-dev.txt layer/requirements.txt kit/neonkit/pyproject.toml kit/localdev/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e ./kit/neonkit -e ./kit/localdev
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(TOOLS)/.installed: requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	@touch $@

dev: $(VENV)/.installed ## Serve the API on http://127.0.0.1:3000 (embedded PostgreSQL unless DATABASE_URL is set)
	$(PY) -m localdev serve --port $(PORT)

invoke: $(VENV)/.installed ## Invoke one function once: make invoke FN=ApiFunction EVENT=events/todos_list.json
	$(PY) -m localdev invoke $(FN) --event $(EVENT)

test: $(VENV)/.installed $(TOOLS)/.installed ## Run the tests (embedded PostgreSQL; PgBouncer and Lambda's runtime when there)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed $(TOOLS)/.installed ## ruff, mypy, cfn-lint, sam validate and actionlint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint
	$(TOOLS)/bin/actionlint -no-color

build: $(TOOLS)/.installed ## sam build without Docker: the layer's wheels for the template's Runtime and Architectures
	PATH="$(abspath $(TOOLS))/bin:$$PATH" $(TOOLS)/bin/sam build

deploy: build ## sam deploy --guided (needs AWS credentials)
	$(TOOLS)/bin/sam deploy --guided

bench: $(VENV)/.installed ## Benchmarks: round trips, latency, overhead, cold start (see bench/README.md)
	$(PY) bench/run.py

db-start: $(VENV)/.installed ## Start the embedded PostgreSQL and leave it running (prints its URL)
	$(PY) -m localdev db start

db-stop: $(VENV)/.installed ## Stop the embedded PostgreSQL
	$(PY) -m localdev db stop

db-reset: $(VENV)/.installed ## Empty the embedded database and apply the migrations again
	$(PY) -m localdev db reset

clean: ## Remove virtualenvs and build output (keeps the local database)
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache

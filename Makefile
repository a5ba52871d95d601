# Everything a user of the kit runs. `make` alone lists it.
PYTHON ?= python3
VENV ?= .venv
TOOLS ?= .venv-tools
PY := $(VENV)/bin/python
FN ?= ApiFunction
EVENT ?= events/todos_list.json
PORT ?= 3000
SUB ?= alice
# On the embedded database the functions run as the role the migrations grant the app's rows
# to, so row-level security binds them as once deployed (migrations run as the owner).
DB_ROLE ?= app_runtime
# AUTH=local: the API asks for bearer tokens of localdev's own issuer (`make token`), as
# API Gateway's JWT authorizer would with AuthIssuer set; empty: an open API, as by default.
LOCAL_ISSUER := AuthIssuer=https://localdev.invalid AuthAudience=localdev
AUTH_OVERRIDES = $(if $(filter local,$(AUTH)),--parameter-overrides $(LOCAL_ISSUER))
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY ?= 0

.DEFAULT_GOAL := help
.PHONY: help dev token invoke test lint build deploy bench openapi resource db-start db-stop db-reset clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Virtualenvs install with uv (from PyPI: seconds) and fall back to pip where uv is not
# available: $(call install,VENV_DIR) is the install command for that virtualenv.
install = $(if $(shell test -x $(1)/bin/uv && echo uv),$(1)/bin/uv pip install --quiet \
	--python $(1)/bin/python,$(1)/bin/python -m pip install --quiet --disable-pip-version-check)
new_venv = $(PYTHON) -m venv $(1) && ($(1)/bin/python -m pip install --quiet \
	--disable-pip-version-check uv || echo "uv is not available: installing with pip (slower)")

$(PY):
	$(call new_venv,$(VENV))

# The kit's packages (kit/) go in first, editable.
$(VENV)/.dev: $(PY) requirements-dev.txt layer/requirements.txt kit/neonkit/pyproject.toml kit/localdev/pyproject.toml
	$(call install,$(VENV)) --no-deps -e ./kit/neonkit -e ./kit/localdev
	$(call install,$(VENV)) -r requirements-dev.txt
	@touch $@

$(VENV)/.test: $(VENV)/.dev requirements-test.txt
	$(call install,$(VENV)) -r requirements-test.txt
	@touch $@

$(TOOLS)/bin/python:
	$(call new_venv,$(TOOLS))

$(TOOLS)/.installed: $(TOOLS)/bin/python requirements-tools.txt
	$(call install,$(TOOLS)) -r requirements-tools.txt
	@touch $@

dev: $(VENV)/.dev ## Serve the API on http://127.0.0.1:3000 (embedded PostgreSQL unless DATABASE_URL is set); AUTH=local asks for tokens
	$(PY) -m localdev serve --port $(PORT) --db-role $(DB_ROLE) $(AUTH_OVERRIDES)

token: $(VENV)/.dev ## Print a bearer token of the local issuer for `make dev AUTH=local`: make token SUB=alice
	@$(PY) -m localdev token --sub $(SUB)

invoke: $(VENV)/.dev ## Invoke one function once: make invoke FN=ApiFunction EVENT=events/todos_list.json
	$(PY) -m localdev invoke $(FN) --event $(EVENT) $(AUTH_OVERRIDES) $(if $(TOKEN),--token $(TOKEN)) \
		$(if $(filter MigrateFunction,$(FN)),,--db-role $(DB_ROLE))

test: $(VENV)/.test $(TOOLS)/.installed ## Run the tests (embedded PostgreSQL; PgBouncer and Lambda's runtime when there)
	$(PY) -m pytest $(PYTEST_ARGS)

# mypy runs over what pyproject.toml lists, then once per function: each one's module is `app`.
lint: $(VENV)/.test $(TOOLS)/.installed ## ruff, mypy, cfn-lint, sam validate and actionlint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@status=0; for fn in functions/*/; do echo "mypy $$fn"; \
		$(VENV)/bin/mypy --no-warn-unused-configs "$$fn" || status=1; done; exit $$status
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint
	$(TOOLS)/bin/actionlint -no-color

build: $(TOOLS)/.installed ## sam build without Docker: the layer's wheels for the template's Runtime and Architectures
	PATH="$(abspath $(TOOLS))/bin:$$PATH" $(TOOLS)/bin/sam build

deploy: build ## sam deploy --guided (needs AWS credentials)
	$(TOOLS)/bin/sam deploy --guided

openapi: $(VENV)/.dev ## Write the API's OpenAPI document to openapi.json (made from the routes and resources)
	PYTHONPATH=layer/python $(PY) -m neonkit.openapi functions/api/app.py -o openapi.json

# Each field is passed quoted: `?` and `[]` never reach the shell's pattern matching.
resource: $(VENV)/.test ## Add a resource: make resource NAME=projects FIELDS="name:str budget:int? tags:str[]"
	$(PY) -m localdev resource "$(NAME)" $(foreach field,$(FIELDS),'$(field)')

bench: $(VENV)/.test ## Benchmarks: round trips, latency, a request's layers, cold start (bench/README.md)
	@# The seed guide's Knex query runs beside the handler when Node is there (bench/knex).
	@if command -v npm >/dev/null && [ ! -d bench/knex/node_modules ]; then \
		npm ci --silent --no-audit --no-fund --prefix bench/knex; fi
	$(PY) bench/run.py

db-start: $(VENV)/.dev ## Start the embedded PostgreSQL and leave it running (prints its URL)
	$(PY) -m localdev db start

db-stop: $(VENV)/.dev ## Stop the embedded PostgreSQL
	$(PY) -m localdev db stop

db-reset: $(VENV)/.dev ## Empty the embedded database and apply the migrations again
	$(PY) -m localdev db reset

clean: ## Remove virtualenvs and build output (keeps the local database)
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache

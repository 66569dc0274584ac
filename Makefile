# Every target installs what it needs first: Python packages into .venv, the npm tools
# (the OpenAPI linter, the TypeScript types generator) into node_modules.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NPM_INSTALLED := node_modules/.installed
SPEC := openapi/openapi.yaml

.PHONY: install run serve migrate test lint contract sdk bench profile format clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable ".[test]"
	touch $(INSTALLED)

$(NPM_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_INSTALLED)

install: $(INSTALLED)

migrate: $(INSTALLED)
	$(BIN)/python -m app migrate

run: migrate
	$(BIN)/python -m app serve

# Production: WORKERS processes (default: one per core) sharing one database.
serve: migrate
	WORKERS=$${WORKERS:-$$(nproc)} $(BIN)/python -m app serve

# Loads the server with wrk (Debian's package; installed here if missing).
bench: $(INSTALLED)
	command -v wrk > /dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.conditions

# Where one operation's time goes: OPERATION=create|retrieve|list|... APP=api|ceiling.
profile: $(INSTALLED)
	command -v wrk > /dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.profile

lint: $(INSTALLED) $(NPM_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/openapi-spec-validator --schema 3.0 $(SPEC)
	node_modules/.bin/redocly lint $(SPEC) --format=summary

contract: $(INSTALLED)
	$(BIN)/python -m tests.contract

sdk: $(INSTALLED) $(NPM_INSTALLED)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/openapi-python-client generate --path $(SPEC) \
		--config openapi/python-client.yaml --output-path build/sdk/python --overwrite
	mkdir -p build/sdk/typescript
	node_modules/.bin/openapi-typescript $(SPEC) --output build/sdk/typescript/plex-api.d.ts

test: lint
	$(BIN)/python -m pytest
	$(MAKE) contract

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules build .pytest_cache .ruff_cache .hypothesis schemathesis-report

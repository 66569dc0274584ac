# Every target installs what it needs first: the server's locked packages into .venv
# (`make run`), the test tools' on top of them (`make test`, `make lint`), the npm tools
# (the OpenAPI linter, the TypeScript types generator) into node_modules.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SERVER_INSTALLED := $(VENV)/.server-installed
INSTALLED := $(VENV)/.installed
NPM_INSTALLED := node_modules/.installed
SPEC := openapi/openapi.yaml
# The lock files pin the whole tree, for Python 3.11; `make lock` writes them anew.
LOCK := $(BIN)/uv pip compile pyproject.toml --python-version 3.11 --quiet --no-annotate \
	--custom-compile-command "make lock"

.PHONY: install run serve migrate test lint lock check-lock contract sdk bench profile format clean

$(SERVER_INSTALLED): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --requirement requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $(SERVER_INSTALLED)

$(INSTALLED): $(SERVER_INSTALLED) requirements-test.lock
	$(BIN)/python -m pip install --quiet --requirement requirements-test.lock
	touch $(INSTALLED)

$(NPM_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_INSTALLED)

install: $(INSTALLED)

migrate: $(SERVER_INSTALLED)
	$(BIN)/plex-api migrate

# Serves on the embedded SQLite default; the server migrates the database first.
run: $(SERVER_INSTALLED)
	$(BIN)/plex-api serve

# Production: WORKERS processes (default: one per core) sharing one database.
serve: $(SERVER_INSTALLED)
	WORKERS=$${WORKERS:-$$(nproc)} $(BIN)/plex-api serve

lock: $(INSTALLED)
	$(LOCK) --output-file requirements.lock
	$(LOCK) --extra test --constraint requirements.lock --output-file requirements-test.lock

# Fails when pyproject.toml asks for something the lock files do not pin.
check-lock: $(INSTALLED)
	@tmp=$$(mktemp -d) && cp requirements.lock requirements-test.lock $$tmp/ && \
	$(LOCK) --output-file $$tmp/requirements.lock && \
	$(LOCK) --extra test --constraint $$tmp/requirements.lock \
		--output-file $$tmp/requirements-test.lock && \
	diff -u requirements.lock $$tmp/requirements.lock && \
	diff -u requirements-test.lock $$tmp/requirements-test.lock || \
	{ echo "the lock files are out of date with pyproject.toml: run make lock"; exit 1; }

# Loads the server with wrk (Debian's package; installed here if missing).
bench: $(INSTALLED)
	command -v wrk > /dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.conditions

# Where one operation's time goes: OPERATION=create|retrieve|list|... APP=api|ceiling.
profile: $(INSTALLED)
	command -v wrk > /dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.profile

lint: $(INSTALLED) $(NPM_INSTALLED) check-lock
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
	$(BIN)/python -m pytest --numprocesses auto
	$(MAKE) contract

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules build .pytest_cache .ruff_cache .hypothesis schemathesis-report

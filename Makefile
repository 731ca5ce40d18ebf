# customer-order-events: `make dev` runs the local stack, `make test` checks everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins bc-python-hcl2, which would replace python-hcl2 in .venv: it gets its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: dev test lint typecheck unit requirements openapi soak checkov clean emulators

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Only what starts the emulators needs gcloud and Java; unit, lint and typecheck run without.
emulators:
	@command -v gcloud >/dev/null || { echo "gcloud (with the pubsub-emulator and cloud-firestore-emulator components) is required"; exit 1; }
	@command -v java >/dev/null || { echo "Java is required by the emulators"; exit 1; }

## The whole local stack in the foreground (Ctrl-C stops it).
dev: $(STAMP) emulators
	$(BIN)/python -m shared.tools.devstack

## Lint, type-check and every test; the suite starts its own stack on free ports.
test: emulators lint typecheck $(CHECKOV_STAMP)
	$(BIN)/python -m pytest --durations=10

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	terraform fmt -check -recursive terraform

typecheck: $(STAMP)
	$(BIN)/mypy

## Only the tests that need no emulator.
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

## Regenerate functions/requirements.txt from pyproject.toml.
requirements: $(STAMP)
	$(BIN)/python -m shared.tools.requirements

## Regenerate functions/ingest/openapi.json from the pydantic models (a test fails when stale).
openapi: $(STAMP)
	$(BIN)/python -m shared.tools.openapi

## Minutes of steady load on its own local stack; reports sent/accepted/stored/lost and RSS.
soak: $(STAMP) emulators
	$(BIN)/python -m tests.soak.run

## Performance against the limits, measured side by side in one run (about 5 minutes; not
## part of `make test`): prints one table, writes .bench/bench.json and .bench/bench.md.
## `make bench BENCH_ARGS=--tune` sweeps WORKERS x THREADS and publisher settings instead.
.PHONY: bench
bench: $(STAMP) emulators
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || { echo "wrk is required: apt-get install wrk"; exit 1; }
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

$(CHECKOV_STAMP): terraform/checkov/requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r terraform/checkov/requirements.txt
	touch $@

## checkov on terraform/ with the custom Pub/Sub policies (tests/terraform runs the same scan).
checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov -d terraform --framework terraform --skip-download \
		--external-checks-dir terraform/checkov --compact --quiet

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) terraform/build .devstack .mypy_cache .ruff_cache .pytest_cache .hypothesis

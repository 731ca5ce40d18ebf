# customer-order-events: `make dev` runs the local stack, `make test` checks everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint typecheck unit requirements openapi soak clean

$(STAMP): pyproject.toml
	@command -v gcloud >/dev/null || { echo "gcloud (with the pubsub-emulator and cloud-firestore-emulator components) is required"; exit 1; }
	@command -v java >/dev/null || { echo "Java is required by the emulators"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## The whole local stack in the foreground (Ctrl-C stops it).
dev: $(STAMP)
	$(BIN)/python -m shared.devstack

## Lint, type-check and every test; the suite starts its own stack on free ports.
test: lint typecheck
	$(BIN)/python -m pytest

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
	$(BIN)/python -m shared.requirements

## Regenerate functions/ingest/openapi.json from the pydantic models (a test fails when stale).
openapi: $(STAMP)
	$(BIN)/python -m shared.openapi

## Minutes of steady load on its own local stack; reports sent/accepted/stored/lost and RSS.
soak: $(STAMP)
	$(BIN)/python -m tests.soak.run

clean:
	rm -rf $(VENV) .devstack .mypy_cache .ruff_cache .pytest_cache .hypothesis

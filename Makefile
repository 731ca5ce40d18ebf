# customer-order-events: `make dev` runs the local stack, `make test` checks everything.
SHELL := /bin/bash
# The one Python of the lock, the tests and the deployed runtime.
PYTHON ?= python$(shell cat .python-version)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV := $(BIN)/uv
# `make lock` upgrades every package within pyproject.toml's ranges; LOCK_ARGS= after a range
# edit keeps the others where they are, LOCK_ARGS='--upgrade-package NAME' upgrades one.
LOCK_ARGS ?= --upgrade
# checkov pins bc-python-hcl2, which would replace python-hcl2 in .venv: it gets its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# The reference parsers of the API descriptions (tests/unit/test_apidocs.py), Node.js
# packages pinned in tests/apidocs/package-lock.json. npm writes node_modules/.package-lock.json
# on every install: it is the stamp, so `npm ci` runs again only when the lock changed.
APIDOCS := tests/apidocs
APIDOCS_STAMP := $(APIDOCS)/node_modules/.package-lock.json

.PHONY: dev test lint typecheck unit lock requirements openapi soak checkov clean emulators fuzz

# A machine without uv gets the locked one from the package index, hash-checked, into .venv
# itself (pip is all a fresh venv has); from then on uv installs and upgrades itself from the lock.
$(UV):
	$(PYTHON) -m venv $(VENV)
	$(PYTHON) -m shared.tools.uv_requirement > $(VENV)/uv-requirement.txt
	$(BIN)/python -m pip install --quiet --require-hashes -r $(VENV)/uv-requirement.txt

# Exactly uv.lock's versions, hashes checked, the project editable; anything else is removed.
# --locked stops when pyproject.toml changed and uv.lock did not follow (`make lock`).
$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --all-extras || { echo "after a pyproject.toml edit: make lock LOCK_ARGS="; exit 1; }
	touch $@

# Only what starts the emulators needs gcloud and Java; unit, lint and typecheck run without.
emulators:
	@command -v gcloud >/dev/null || { echo "gcloud (with the pubsub-emulator and cloud-firestore-emulator components) is required"; exit 1; }
	@command -v java >/dev/null || { echo "Java is required by the emulators"; exit 1; }

## The whole local stack in the foreground (Ctrl-C stops it).
dev: $(STAMP) emulators
	$(BIN)/python -m shared.tools.devstack

## Lint, type-check and every test; the suite starts its own stack on free ports, one per
## worker: two workers, each taking whole files (the tests of a file share their fixtures).
test: emulators lint typecheck $(CHECKOV_STAMP) $(APIDOCS_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=10

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	terraform fmt -check -recursive terraform

typecheck: $(STAMP)
	$(BIN)/mypy

## Only the tests that need no emulator.
unit: $(STAMP) $(APIDOCS_STAMP)
	$(BIN)/python -m pytest tests/unit

## Re-resolve uv.lock within pyproject.toml's ranges (uv prints each version it changes), then
## install it and regenerate functions/requirements.txt. Commit both.
lock: | $(UV)
	$(UV) lock $(LOCK_ARGS)
	$(MAKE) requirements

## Regenerate functions/requirements.txt (the runtime set, with hashes) from uv.lock.
requirements: $(STAMP)
	$(BIN)/python -m shared.tools.requirements

## Regenerate functions/ingest/openapi.json, functions/pos/openapi.json and docs/asyncapi.json
## (the events) from the pydantic models and the event attributes (a test fails when one is
## stale; tests/unit/test_apidocs.py runs the reference parsers on them).
openapi: $(STAMP)
	$(BIN)/python -m shared.tools.openapi
	$(BIN)/python -m shared.tools.asyncapi

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

$(APIDOCS_STAMP): $(APIDOCS)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20 (or newer) and npm are required: they check the API descriptions"; exit 1; }
	npm ci --prefix $(APIDOCS) --no-audit --no-fund --loglevel=error
	touch $@

## Coverage-guided fuzzing (atheris) of every entry point that takes outside input: each
## target in turn for FUZZ_SECONDS (default 60; not part of `make test`), seeded from
## tests/fuzz/corpus/; a crash is written to .fuzz/<target>/ (tests/fuzz/run.py says what next).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: $(STAMP)
	nice -n 10 $(BIN)/python -m tests.fuzz.run --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# uv (already in .venv) rather than pip: the install is most of a fresh clone's set-up
# (docs/development.md#set-up).
$(CHECKOV_STAMP): terraform/checkov/requirements.txt | $(UV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python -r terraform/checkov/requirements.txt
	touch $@

## checkov on terraform/ with the custom Pub/Sub policies (tests/terraform runs the same scan).
checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov -d terraform --framework terraform --skip-download \
		--external-checks-dir terraform/checkov --compact --quiet

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(APIDOCS)/node_modules terraform/build .devstack .mypy_cache .ruff_cache .pytest_cache .hypothesis .fuzz

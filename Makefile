# The two promises: `make run` starts everything locally, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAGE ?= local

.PHONY: run test lint typecheck check bench import sms clean package

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)  ## start API, emulator, queue feeders, schedules and demo data (Ctrl-C stops)
	$(BIN)/python -m tools.local $(ARGS)

test: $(STAMP)  ## every test, lint and type check
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)  ## targeting figures on 1.5 million synthetic participants
	$(BIN)/python -m bench.targeting
	$(BIN)/python -m bench.local_scale

import: $(STAMP)  ## make import CSV=path [STAGE=local|prod]
	@test -n "$(CSV)" || (echo "usage: make import CSV=path/to/participants.csv [STAGE=local]"; exit 2)
	$(BIN)/python -m tools.import_participants "$(CSV)" --stage $(STAGE)

sms: $(STAMP)  ## the SMS the local emulator has sent
	$(BIN)/python -m tools.sms

package: $(STAMP)  ## CloudFormation for the prod stage, merged with infra/
	$(BIN)/chalice package --stage prod --merge-template infra/template.json dist/

clean:
	rm -rf $(VENV) dist .mypy_cache .ruff_cache .pytest_cache .hypothesis

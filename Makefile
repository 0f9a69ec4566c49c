# The two promises: `make run` starts everything locally, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov has a virtualenv of its own (requirements-scan.in says why).
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
STAGE ?= local

.PHONY: bundle run test lint typecheck check scan bench bench-public import ops sms posts clean package lock pillow-layer

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs the lock only: every package, pip included, pinned and checked against its hash.
$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $(STAMP)

$(SCAN_STAMP): requirements-scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements-scan.txt
	touch $(SCAN_STAMP)

# The control room's script and stylesheet (tools/build_control.py): Leaflet from npm, exactly as
# package-lock.json pins it (npm ci checks its integrity hash), then web/control.js and .css.
# Built, not committed; the Lambda serves them from chalicelib/static (no CDN at run time).
NPM_STAMP := node_modules/.installed
BUNDLE := chalicelib/static/control.js chalicelib/static/control.css

$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(NPM_STAMP)

$(BUNDLE) &: $(NPM_STAMP) web/control.js web/control.css tools/build_control.py | $(BIN)/python
	$(BIN)/python -m tools.build_control

bundle: $(BUNDLE)  ## the control room's bundle (Leaflet from the npm lockfile, then ours)

# The locks come from the .in files, resolved here (Linux x86_64, Python 3.11: the Lambda's
# platform). Pins already in a lock stay; `make lock LOCK_ARGS=--upgrade` moves them.
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

lock: $(STAMP)  ## regenerate requirements.txt, requirements-dev.txt and requirements-scan.txt
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in
	$(PIP_COMPILE) --output-file requirements-scan.txt requirements-scan.in

# run serves on BURGERNET_API_PORT, BURGERNET_EMULATOR_PORT, BURGERNET_SOCIAL_PORT (X) and
# BURGERNET_MASTODON_PORT; ops, sms, posts and import call the same ports (tools/local_urls.py).
run: $(STAMP) $(BUNDLE)  ## start API, emulator, queue feeders, schedules and demo data (Ctrl-C stops)
	$(BIN)/python -m tools.local $(ARGS)

test: $(STAMP) $(BUNDLE)  ## every test, lint, type and layer check
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(MAKE) scan
	$(BIN)/pytest

# Judged by tools nobody here wrote: bandit on the code, cfn-lint with AWS's serverless rules and
# checkov on the template `make package` writes. Each finding is fixed or suppressed where it
# is, with its reason (docs/deploy.md, Scanners); any other finding fails the target.
scan: $(STAMP) $(SCAN_STAMP)  ## bandit, cfn-lint (serverless rules) and checkov
	$(BIN)/bandit --configfile pyproject.toml --recursive chalicelib --quiet
	$(MAKE) package
	$(BIN)/cfn-lint dist/sam.json --append-rules cfn_lint_serverless.rules
	$(SCAN_VENV)/bin/checkov --file dist/sam.json --framework cloudformation --quiet --compact \
		--skip-download

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)  ## targeting figures on 1.5 million synthetic participants
	$(BIN)/python -m bench.targeting
	$(BIN)/python -m bench.local_scale
	$(BIN)/python -m bench.local_rate
	$(BIN)/python -m bench.fanout
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.ledger_keys


bench-public: $(STAMP)  ## 200 readers of the public side against `make run`, and an action's first SMS
	$(BIN)/python -m bench.public_load --locust $(BIN)/locust

import: $(STAMP)  ## make import CSV=path [STAGE=local|prod]
	@test -n "$(CSV)" || (echo "usage: make import CSV=path/to/participants.csv [STAGE=local]"; exit 2)
	$(BIN)/python -m tools.import_participants "$(CSV)" --stage $(STAGE)

ops: $(STAMP)  ## make ops ACTION=<id>: an action's timeline (BURGERNET_API_URL=<stage URL> for AWS)
	@test -n "$(ACTION)" || (echo "usage: make ops ACTION=<action id>"; exit 2)
	$(BIN)/python -m tools.dispatch timeline "$(ACTION)"

sms: $(STAMP)  ## the SMS the local emulator has sent
	$(BIN)/python -m tools.sms

posts: $(STAMP)  ## the posts on the local Mastodon (mastodon_mock) and X stand-in, one JSON a line
	@$(BIN)/python -m tools.posts

# chalice needs a region only to name service principals; the template itself is region-free
# (ARNs use ${AWS::Region}), so a default lets a machine with no AWS configuration package.
AWS_DEFAULT_REGION ?= eu-west-1

package: $(STAMP) $(BUNDLE)  ## CloudFormation for the prod stage, merged with infra/
	AWS_DEFAULT_REGION=$(AWS_DEFAULT_REGION) $(BIN)/chalice package --stage prod --merge-template infra/template.json dist/
	$(MAKE) pillow-layer

# Pillow for the photo resizer alone (infra/template.json: PillowLayer), so it never grows the
# package every function ships: its pinned wheel for the Lambda's platform, whatever this one is.
pillow-layer: $(STAMP)  ## dist/pillow-layer.zip, the photo resizer's layer
	rm -rf dist/pillow-layer dist/pillow-layer.zip
	$(BIN)/pip install --quiet --require-hashes --no-deps --only-binary=:all: \
		--platform manylinux2014_x86_64 --python-version 3.11 --implementation cp \
		--target dist/pillow-layer/python -r infra/layers/pillow.txt
	cd dist/pillow-layer && $(abspath $(BIN))/python -m zipfile -c ../pillow-layer.zip python

clean:
	rm -rf $(VENV) $(SCAN_VENV) dist node_modules $(BUNDLE) .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache

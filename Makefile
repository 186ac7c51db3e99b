# The README's two commands for a fresh machine, `make demo` and `make test`, and CI's `make ci`.
# Each creates .venv itself from the one Python at hand ($(PYTHON)).
PYTHON ?= python3
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# mkdocs-material prints a banner about its successor on every build: not a warning of ours.
export NO_MKDOCS_2_WARNING := 1

.PHONY: demo test ci lint fmt typecheck imports docs suite coverage matrix bench synth clean

# The core and the demo need only the runtime and the local stand-ins for AWS.
$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The whole suite also runs the real poetry and hatch CLIs, synthesizes the CDK app and builds
# the documentation.
$(VENV)/.all: $(VENV)/.core
	$(BIN)/pip install -q -e '.[test,poetry,hatch,infra,docs]'
	touch $@

# checkov for the template scan, in a venv of its own (its pins would move ours).
$(VENV)/checkov/bin/checkov: infra_cdk/requirements-checkov.txt
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install -q -r infra_cdk/requirements-checkov.txt
	touch $@

# The pinned CDK CLI (aws-cdk 2.x; 3.0 cannot read current aws-cdk-lib output).
infra_cdk/node_modules/.bin/cdk: infra_cdk/package.json infra_cdk/package-lock.json
	npm ci --prefix infra_cdk --no-audit --no-fund --loglevel=error

demo: $(VENV)/.core
	$(BIN)/python examples/demo.py

# The contributor loop, on the one Python at hand: lint, the docs, the whole suite with coverage.
# No other interpreter is needed (the matrix is `make ci`).
test: $(VENV)/.all infra_cdk/node_modules/.bin/cdk $(VENV)/checkov/bin/checkov
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory coverage

# What .ci/run runs: `make test`, then the matrix: the core suite on every declared Python and
# with the lowest allowed dependency versions (noxfile.py). Under CI=true a missing interpreter
# fails the run; elsewhere its session is skipped.
ci: test
	$(BIN)/nox

# What pre-commit runs (.pre-commit-config.yaml), without pre-commit.
lint: $(VENV)/.all
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck
	$(MAKE) --no-print-directory imports

fmt: $(VENV)/.all
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(VENV)/.all
	$(BIN)/mypy --strict src/

# The import contract ([tool.importlinter] in pyproject.toml): base < network < aws <
# operations | consumers < kit | aws_lambda, and the plugins only over the kit.
imports: $(VENV)/.all
	$(BIN)/lint-imports --no-cache

# The documentation site (mkdocs.yml, docs/): warnings are errors, nothing is fetched.
docs: $(VENV)/.all
	$(BIN)/mkdocs build --strict --quiet --site-dir $(CURDIR)/.site

# The whole suite on this Python; -n auto is one worker per core.
suite: $(VENV)/.all infra_cdk/node_modules/.bin/cdk $(VENV)/checkov/bin/checkov
	$(BIN)/python -m pytest -n auto -q -p no:cacheprovider

# The whole suite under coverage ([tool.coverage] in pyproject.toml: the pytest workers and every
# Python subprocess they start from .venv, the CLI runs included), then the report with its
# floor, set from the measured figure. COVERAGE_FILE is absolute so that a subprocess started in
# a test's temporary directory writes its data here too.
# Measured: 93.6% of lines and branches (2026-12-04, the whole suite on Python 3.11).
COVERAGE_FLOOR ?= 92
coverage: export COVERAGE_FILE := $(CURDIR)/.coverage
coverage: $(VENV)/.all infra_cdk/node_modules/.bin/cdk $(VENV)/checkov/bin/checkov
	rm -f .coverage .coverage.*
	$(BIN)/python -m pytest -n auto -q -p no:cacheprovider --cov --cov-report=
	$(BIN)/coverage report --fail-under=$(COVERAGE_FLOOR)

# The matrix alone; one session: `.venv/bin/nox -s core-3.12`.
matrix: $(VENV)/.core
	$(BIN)/nox

# REPLICATION: bench/replication.py's options; `make bench REPLICATION="--packages 1000
# --versions 50 --kill-midway"` is the 100,000-file run (bench/README.md; never in CI).
REPLICATION ?=
bench: $(VENV)/.all
	$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python bench/run.py
	$(BIN)/python bench/replication.py $(REPLICATION)
	$(BIN)/python bench/lambda_handler.py

synth: $(VENV)/.all
	cd infra_cdk && ../$(BIN)/python app.py -c pyproject=../examples/hello-internal/pyproject.toml

clean:
	rm -rf $(VENV) infra_cdk/cdk.out infra_cdk/node_modules .pytest_cache .nox .site .coverage .coverage.*

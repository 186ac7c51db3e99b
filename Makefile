# Two commands for a fresh machine: `make demo` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint bench synth clean

# The core and the demo need only the runtime and the local stand-ins for AWS.
$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The whole suite also runs the real poetry and hatch CLIs and synthesizes the CDK app.
$(VENV)/.all: $(VENV)/.core
	$(BIN)/pip install -q -e '.[test,poetry,hatch,infra]'
	touch $@

# The pinned CDK CLI (aws-cdk 2.x; 3.0 cannot read current aws-cdk-lib output).
infra_cdk/node_modules/.bin/cdk: infra_cdk/package.json infra_cdk/package-lock.json
	npm ci --prefix infra_cdk --no-audit --no-fund --loglevel=error

demo: $(VENV)/.core
	$(BIN)/python examples/demo.py

lint: $(VENV)/.all
	$(BIN)/ruff check .

test: $(VENV)/.all infra_cdk/node_modules/.bin/cdk
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2

bench: $(VENV)/.all
	$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python bench/run.py
	$(BIN)/python bench/replication.py

synth: $(VENV)/.all
	cd infra_cdk && ../$(BIN)/python app.py -c pyproject=../examples/hello-internal/pyproject.toml

clean:
	rm -rf $(VENV) infra_cdk/cdk.out infra_cdk/node_modules .pytest_cache

# Two commands for a fresh machine: `make demo` and `make test`. Each creates .venv itself.
PYTHON ?= python3
# bash for `set -o pipefail` in the matrix (stream B goes through tee).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint fmt typecheck matrix bench synth clean

# The core and the demo need only the runtime and the local stand-ins for AWS.
$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The whole suite also runs the real poetry and hatch CLIs and synthesizes the CDK app.
$(VENV)/.all: $(VENV)/.core
	$(BIN)/pip install -q -e '.[test,poetry,hatch,infra]'
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

# What pre-commit runs (.pre-commit-config.yaml), without pre-commit. `ruff format` is enforced
# on FMT_PATHS only until the rest of the tree is reformatted in one commit (then FMT_PATHS = .).
FMT_PATHS ?= noxfile.py tests/release
lint: $(VENV)/.all
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(FMT_PATHS)
	$(MAKE) --no-print-directory typecheck

fmt: $(VENV)/.all
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format $(FMT_PATHS)

typecheck: $(VENV)/.all
	$(BIN)/mypy --strict src/

# The core suite against a freshly built wheel on every declared Python (pyenv or PATH) and with
# the lowest dependency versions pyproject.toml allows (noxfile.py). One session: `nox -s core-3.12`.
# The wheel is built once; the sessions run in two streams at once (each with `pytest -n 2`), which
# keeps two cores busy through the suite's waits. Stream A has three sessions and stream B two, so
# `make test` puts the rest of the suite (MATRIX_B_FIRST) at the head of stream B.
MATRIX_A ?= core-3.10 core-3.12 lowest
MATRIX_B ?= core-3.11 core-3.13
MATRIX_B_FIRST ?= true
matrix: $(VENV)/.core
	rm -rf .nox/_dist && $(BIN)/python -m uv build -q --wheel --out-dir .nox/_dist .
	@set -o pipefail; export MATRIX_WHEEL=$$(ls $(CURDIR)/.nox/_dist/*.whl); \
	test -f "$$MATRIX_WHEEL" || { echo "matrix: no wheel in .nox/_dist"; exit 2; }; \
	( timeout 1500 $(BIN)/nox -s $(MATRIX_A) > .nox/stream-a.log 2>&1; echo $$? > .nox/stream-a.rc ) & \
	{ $(MATRIX_B_FIRST); f=$$?; timeout 1500 $(BIN)/nox -s $(MATRIX_B); s=$$?; \
	  test $$f = 0 && exit $$s || exit $$f; } 2>&1 | tee .nox/stream-b.log; b=$$?; wait; \
	echo "---- the other stream: $(MATRIX_A)"; cat .nox/stream-a.log; \
	echo "---- summary (what failed, from both streams; the logs are .nox/stream-[ab].log)"; \
	grep -hE '^(FAILED|ERROR) |^nox > \* |^=* ?[0-9]+ (passed|failed)' .nox/stream-a.log .nox/stream-b.log | cut -c1-400; \
	a=$$(cat .nox/stream-a.rc); echo "streams: A exit $$a, B exit $$b"; \
	test "$$a" = 0 && test "$$b" = 0

# The core tests (CORE_TESTS in noxfile.py) run in the matrix, on every Python including this one,
# so the rest of the suite leaves them out rather than running them twice; it runs at the head of
# the matrix's stream B, beside stream A's first session. `pytest -n 2` runs everything.
CORE_IGNORE := --ignore-glob='tests/test_*.py' --ignore=tests/faults --ignore=tests/localaws
test: $(VENV)/.all infra_cdk/node_modules/.bin/cdk $(VENV)/checkov/bin/checkov
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory matrix MATRIX_B_FIRST="$(BIN)/python -m pytest -n 2 $(CORE_IGNORE)"

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
	rm -rf $(VENV) infra_cdk/cdk.out infra_cdk/node_modules .pytest_cache .nox

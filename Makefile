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

.PHONY: run test fuzz coverage lint generate check-generated migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/execution-server serve

migrate: $(STAMP)
	$(BIN)/execution-server migrate

$(NODE_EXAMPLE_STAMP): $(NODE_EXAMPLE)/package.json $(NODE_EXAMPLE)/package-lock.json
	npm ci --prefix $(NODE_EXAMPLE) --ignore-scripts --no-audit --no-fund --silent
	touch $@

test: $(STAMP) $(NODE_EXAMPLE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The hostile-request fuzzing of every RPC at its full count (`make test` runs it at 200 per RPC);
# EXECUTION_TEST_DATABASE_URL picks the database as for `make test`.
FUZZ_REQUESTS ?= 10000
fuzz: $(STAMP)
	EXECUTION_TEST_FUZZ_REQUESTS=$(FUZZ_REQUESTS) $(BIN)/python -m pytest tests/fuzz -q $(PYTEST_ARGS)

# The whole suite with line coverage of execution_server; the HTML report goes to htmlcov/.
coverage: $(STAMP) $(NODE_EXAMPLE_STAMP)
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered --cov-report=html $(PYTEST_ARGS)

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

# CI: regenerating must change nothing.
check-generated: generate
	git diff --exit-code -- generated
	@test -z "$$(git status --porcelain -- generated)" || (git status --porcelain -- generated; exit 1)

clean:
	rm -rf $(VENV) node_modules $(NODE_EXAMPLE)/node_modules var

# One command per CI step; each works the same on a laptop. `make test` is what CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint typecheck imports crds openapi observability test-unit test-integration test-fuzz test-e2e test-agents clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip >/dev/null
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/python -m uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## start the standalone gateway on examples/ with the embedded Postgres
	$(BIN)/tokenhub serve -f examples

test: check test-unit test-integration test-agents test-e2e  ## everything CI runs

check: lint typecheck imports crds openapi observability  ## static checks; fails if a generated file is stale

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy gateway operator/tokenhub_operator e2e tests

imports: $(STAMP)
	$(BIN)/lint-imports

crds: $(STAMP)  ## crds/, charts/tokenhub/crds/ and charts/tokenhub-crds/templates/, all from the spec models
	$(BIN)/python -m gateway.config.crdgen >/dev/null
	git diff --exit-code -- crds charts/tokenhub/crds charts/tokenhub-crds/templates \
		|| (echo "CRDs are stale: commit the regenerated files" && exit 1)
	test -z "$$(git ls-files --others --exclude-standard -- crds charts/tokenhub/crds charts/tokenhub-crds/templates)" \
		|| (echo "CRDs are stale: new generated files are not committed" && exit 1)

openapi: $(STAMP)  ## the model API's OpenAPI document, generated from the request models
	$(BIN)/python -m gateway.api.openapi docs/openapi.json
	git diff --exit-code -- docs/openapi.json || (echo "docs/openapi.json is stale: commit the regenerated file" && exit 1)

observability: $(STAMP)  ## Grafana dashboards and Prometheus rules of the chart, generated from gateway/observability
	$(BIN)/python -m gateway.observability.generate charts/tokenhub/files >/dev/null
	git diff --exit-code -- charts/tokenhub/files && test -z "$$(git ls-files --others --exclude-standard charts/tokenhub/files)" \
		|| (echo "charts/tokenhub/files is stale: commit the regenerated files" && exit 1)

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

test-fuzz: $(STAMP)  ## schemathesis against a running gateway (part of test-integration; here on its own)
	$(BIN)/pytest -q tests/integration/test_public_api_fuzz.py

test-e2e: $(STAMP)  ## builds etcd, the Kubernetes control plane, kwok, kubectl and helm from Go modules once (cached), then runs e2e/
	bash e2e/controlplane/build.sh
	$(BIN)/pytest -q e2e

test-agents: $(STAMP)  ## installs the pinned Codex and Claude Code CLIs from npm once (cached), runs them in a loopback-only netns
	bash tests/agents/install.sh >/dev/null
	$(BIN)/pytest -q tests/agents

clean:
	rm -rf $(VENV) .tokenhub .mypy_cache .ruff_cache .pytest_cache

# Shared by the gateway benchmarks (sourced, not run): process cleanup, readiness waits, the bench manifests,
# the mock upstream and a pinned gateway. Expects WORK (a scratch directory), PIDS (an array) and PY (python).

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}

wait_http() {  # url, seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "not up: $1" >&2; return 1
}

start_mock() {  # port, core
  taskset -c "$2" "$PY" "$(dirname "${BASH_SOURCE[0]}")/mock_upstream.py" --port "$1" --stream-chunks 20 \
    >"$WORK/mock.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$1/v1/models" 10
  mkdir -p "$WORK/manifests"
  cat >"$WORK/manifests/bench.yaml" <<YAML
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {name: mock}
spec: {type: openai-compatible, baseURL: "http://127.0.0.1:$1/v1", timeoutSeconds: 30}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {name: mock-small}
spec:
  providerRef: mock
  upstreamModel: mock-small
  contextWindow: 128000
  pricing: {inputPer1K: 0.00015, outputPer1K: 0.0006}
  capabilities: [chat]
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: bench}
spec: {scopes: [chat, models]}
YAML
}

# One `tokenhub serve` of TREE on the bench manifests, pinned to GW_CORE; its embedded Postgres (which inherits
# the gateway's CPU mask) is moved to LOAD_CORE once it runs. Sets STARTED_PID and STARTED_KEY.
start_gateway() {  # tree, data dir, port, gateway core, load core
  local tree="$1" data="$2" port="$3"
  # `python -m` puts the working directory first on sys.path: start from the tree that is measured.
  (cd "$tree" && PYTHONPATH="$tree${EXTRA_PYTHONPATH:+:$EXTRA_PYTHONPATH}" TOKENHUB_DATA_DIR="$data" \
    TOKENHUB_VAULT_PASSWORD="bench vault password, long enough" TOKENHUB_LOG_LEVEL=warning \
    TOKENHUB_HOST=127.0.0.1 exec taskset -c "$4" "$PY" -m gateway.cli serve -f "$WORK/manifests" --port "$port" \
    >"$data.log" 2>&1) &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  wait_http "http://127.0.0.1:$port/readyz" 60
  for pid in $(pgrep -f "$data" || true); do
    [ "$pid" = "$STARTED_PID" ] && continue
    for task in "$pid" $(pgrep -P "$pid" || true); do taskset -pc "$5" "$task" >/dev/null 2>&1 || true; done
  done
  STARTED_KEY="$(cat "$data/keys/default/bench")"
}

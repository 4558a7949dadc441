#!/usr/bin/env bash
# Gateway overhead benchmark: one `tokenhub serve` worker pinned to core 0, the mock upstream (bench/mock_upstream.py),
# embedded Postgres and wrk on core 1. Throughput at concurrency 32 and added latency at concurrency 1 (gateway
# vs the mock called directly), non-streaming and streaming, with auth and the request log on. Loopback only;
# every run is bounded by DURATION seconds. Figures go to stdout; bench/RESULTS.md records a run.
#   bench/run_gateway_bench.sh [DURATION]      (needs wrk: apt-get install -y wrk)
#   PROFILE_DIR=/tmp/prof bench/run_gateway_bench.sh   also samples the gateway under load with py-spy
set -euo pipefail

DURATION="${1:-15}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"  # PYTHON=... to run an exported copy of the tree with another venv
export PYTHONPATH="$ROOT${EXTRA_PYTHONPATH:+:$EXTRA_PYTHONPATH}"  # the tree this script lives in, also when it is an exported copy
WORK="$(mktemp -d /tmp/thbench.XXXXXX)"
MOCK_PORT="${MOCK_PORT:-9301}"
GW_PORT="${GW_PORT:-9300}"
GW_CORE="${GW_CORE:-0}"
LOAD_CORE="${LOAD_CORE:-1}"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_http() {  # url, seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "not up: $1" >&2; return 1
}

mkdir -p "$WORK/manifests"
cat >"$WORK/manifests/bench.yaml" <<YAML
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {name: mock}
spec: {type: openai-compatible, baseURL: "http://127.0.0.1:$MOCK_PORT/v1", timeoutSeconds: 30}
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

taskset -c "$LOAD_CORE" "$PY" "$ROOT/bench/mock_upstream.py" --port "$MOCK_PORT" --stream-chunks 20 \
  >"$WORK/mock.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$MOCK_PORT/v1/models" 10

# The embedded Postgres (started by serve, no TOKENHUB_DATABASE_URL) inherits the gateway's mask; move it after.
cd "$ROOT"  # `python -m` puts the working directory first on sys.path: it must be this tree
TOKENHUB_DATA_DIR="$WORK/data" TOKENHUB_VAULT_PASSWORD="bench vault password, long enough" \
TOKENHUB_LOG_LEVEL=warning TOKENHUB_HOST=127.0.0.1 \
  taskset -c "$GW_CORE" "$PY" -m gateway.cli serve -f "$WORK/manifests" --port "$GW_PORT" \
  >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
wait_http "http://127.0.0.1:$GW_PORT/readyz" 60
for pid in $(pgrep -f "$WORK/data" || true); do
  [ "$pid" = "$GW_PID" ] && continue
  for task in "$pid" $(pgrep -P "$pid" || true); do taskset -pc "$LOAD_CORE" "$task" >/dev/null 2>&1 || true; done
done
KEY="$(cat "$WORK/data/keys/default/bench")"

run_wrk() {  # label, url, key, stream, connections
  local label="$1" url="$2" key="$3" stream="$4" conns="$5"
  echo "== $label (c=$conns, ${DURATION}s)"
  if [ -n "${PROFILE_DIR:-}" ] && [ "$conns" -gt 1 ] && [[ "$url" == *":$GW_PORT" ]]; then
    # Optional: sample the gateway with py-spy (collapsed stacks) while it is under load.
    taskset -c "$LOAD_CORE" "$(dirname "$PY")/py-spy" record --format raw --rate 250 -d "$DURATION" \
      -o "$PROFILE_DIR/gateway-stream$stream.txt" -p "$GW_PID" >/dev/null 2>&1 &
  fi
  local before out requests
  before=$(cpu_ticks)
  out=$(BENCH_KEY="$key" BENCH_STREAM="$stream" taskset -c "$LOAD_CORE" \
    wrk -t1 -c"$conns" -d"${DURATION}s" --latency -s "$ROOT/bench/gateway_post.lua" "$url")
  echo "$out" | grep -E "Requests/sec|Non-2xx|Socket errors| 50%| 99%|requests in"
  if [[ "$url" == *":$GW_PORT" ]]; then
    # CPU the gateway process spent per request: robust to other load on the machine, unlike wall time.
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "  gateway CPU per request: $(( ($(cpu_ticks) - before) * 1000000 / $(getconf CLK_TCK) / requests )) us"
  fi
}

cpu_ticks() {  # user + system clock ticks of the gateway process (its threads included)
  awk '{print $14 + $15}' "/proc/$GW_PID/stat"
}

# Warm up both paths (connection pools, caches), then measure.
BENCH_KEY="$KEY" taskset -c "$LOAD_CORE" wrk -t1 -c8 -d3s -s "$ROOT/bench/gateway_post.lua" \
  "http://127.0.0.1:$GW_PORT" >/dev/null

for stream in ${STREAMS:-0 1}; do  # STREAMS="1" measures streaming only
  kind=$([ "$stream" = 1 ] && echo streaming || echo non-streaming)
  run_wrk "mock direct, $kind" "http://127.0.0.1:$MOCK_PORT" none "$stream" 1
  run_wrk "gateway, $kind" "http://127.0.0.1:$GW_PORT" "$KEY" "$stream" 1
  run_wrk "gateway, $kind" "http://127.0.0.1:$GW_PORT" "$KEY" "$stream" 32
done

echo "== request log rows written"
curl -fsS "http://127.0.0.1:$GW_PORT/metrics" | grep -E "^tokenhub_request_log_(written|dropped)_total" || true

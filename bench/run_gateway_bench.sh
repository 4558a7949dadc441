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
WORK="$(mktemp -d /tmp/thbench.XXXXXX)"
MOCK_PORT="${MOCK_PORT:-9301}"
GW_PORT="${GW_PORT:-9300}"
GW_CORE="${GW_CORE:-0}"
LOAD_CORE="${LOAD_CORE:-1}"
PIDS=()

# shellcheck source=bench/gateway_lib.sh
source "$ROOT/bench/gateway_lib.sh"
trap cleanup EXIT

start_mock "$MOCK_PORT" "$LOAD_CORE"
start_gateway "$ROOT" "$WORK/data" "$GW_PORT" "$GW_CORE" "$LOAD_CORE"
GW_PID="$STARTED_PID"
KEY="$STARTED_KEY"

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

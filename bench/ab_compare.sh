#!/usr/bin/env bash
# A/B CPU cost of two gateway trees under the same load, interleaved so that the machine's drift hits both alike.
# Both gateways run at once (each one worker pinned to core 0, each with its own embedded Postgres), behind the
# same mock upstream; wrk drives one at a time, alternating, ROUNDS times. Reported per round: requests/s and the
# gateway's CPU per request (user + system of its process over the round / requests served); then the medians.
#   bench/ab_compare.sh TREE_A TREE_B [ROUNDS] [SECONDS]      STREAM=0 for non-streaming, CONNS=32 by default
#   ENV_A / ENV_B: space-separated VAR=value settings for one side's gateway only (e.g. tracing on for B).
# A tree is a directory holding a checkout (e.g. `git worktree add /tmp/base HEAD~1`); both use this venv.
set -euo pipefail

TREE_A="$(cd "$1" && pwd)"
TREE_B="$(cd "$2" && pwd)"
ROUNDS="${3:-5}"
SECONDS_PER_RUN="${4:-8}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
STREAM="${STREAM:-1}"
CONNS="${CONNS:-32}"
MOCK_PORT=9311
WORK="$(mktemp -d /tmp/thab.XXXXXX)"
PIDS=()

# shellcheck source=bench/gateway_lib.sh
source "$ROOT/bench/gateway_lib.sh"
trap cleanup EXIT

start_mock "$MOCK_PORT" 1
declare -A GW_PID KEY PORT
PORT[A]=9320
PORT[B]=9321
for side in A B; do
  side_env="ENV_$side"  # e.g. ENV_B="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318": one side's settings
  for assignment in ${!side_env:-}; do export "${assignment?}"; done
  start_gateway "$([ "$side" = A ] && echo "$TREE_A" || echo "$TREE_B")" "$WORK/data$side" "${PORT[$side]}" 0 1
  for assignment in ${!side_env:-}; do unset "${assignment%%=*}"; done
  GW_PID[$side]="$STARTED_PID"
  KEY[$side]="$STARTED_KEY"
  BENCH_KEY="${KEY[$side]}" BENCH_STREAM="$STREAM" taskset -c 1 wrk -t1 -c8 -d3s -s "$ROOT/bench/gateway_post.lua" \
    "http://127.0.0.1:${PORT[$side]}" >/dev/null
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
split_ticks() { awk '{print "user " $14 " sys " $15}' "/proc/$1/stat"; }
declare -A CPU RPS
for round in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    before=$(ticks "${GW_PID[$side]}")
    out=$(BENCH_KEY="${KEY[$side]}" BENCH_STREAM="$STREAM" taskset -c 1 \
      wrk -t1 -c"$CONNS" -d"${SECONDS_PER_RUN}s" -s "$ROOT/bench/gateway_post.lua" "http://127.0.0.1:${PORT[$side]}")
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu=$(( ($(ticks "${GW_PID[$side]}") - before) * 1000000 / $(getconf CLK_TCK) / requests ))
    rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}')
    echo "round $round $side: $rps req/s, $cpu us CPU per request$(echo "$out" | grep -q Non-2xx && echo ' (NON-2XX!)')"
    CPU[$side]+="$cpu "
    RPS[$side]+="$rps "
  done
done
for side in A B; do echo "$side CPU ticks since start: $(split_ticks "${GW_PID[$side]}")"; done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for side in A B; do
  echo "median $side: $(echo "${RPS[$side]}" | median) req/s, $(echo "${CPU[$side]}" | median) us CPU per request"
done

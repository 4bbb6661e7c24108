#!/usr/bin/env bash
# Requests per second, latency and CPU per request of one berth server under one wrk load: the
# measurement behind the A/B tables in BENCHMARKS.md. CPU per request (utime + stime of the whole
# berth process over the measured run, divided by requests) varies much less between runs on a
# shared VM than requests per second does.
#
# Usage (after one `npm run bench` has made bench/models/):
#   bench/cpu-per-request.sh REPO MODEL json|binary CONNECTIONS SECONDS [berth serve options...]
#   bench/cpu-per-request.sh models/repos/mlp.batching mlp binary 64 5
#
# For A/B runs: BERTH_BIN is the berth.js to run (another checkout's, built; default this one's),
# and BERTH_NODE_ARGS extra node flags for the server (e.g. --trace-gc). The server's output goes
# to stderr, the result line alone to stdout.
set -euo pipefail
cd "$(dirname "$0")"
repo=$1 model=$2 format=$3 connections=$4 seconds=$5
shift 5
port=$((20000 + RANDOM % 10000))
# shellcheck disable=SC2086 # BERTH_NODE_ARGS is a list of flags
node ${BERTH_NODE_ARGS:-} "${BERTH_BIN:-../bin/berth.js}" serve "$repo" --port "$port" --grpc-port 0 --log-level warn "$@" >&2 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 200); do curl -sf "localhost:$port/v2/health/ready" >/dev/null && break; sleep 0.05; done
if [ "$format" = binary ]; then
  export BENCH_BODY=models/bodies/$model.bin BENCH_CONTENT_TYPE=application/octet-stream
  BENCH_HEADER_LENGTH=$(node -e "const b=require('fs').readFileSync('$BENCH_BODY');const m='\"binary_data_output\":true}}';console.log(b.indexOf(Buffer.from(m))+m.length)")
  export BENCH_HEADER_LENGTH
else
  export BENCH_BODY=models/bodies/$model.json BENCH_CONTENT_TYPE=application/json
fi
url=http://127.0.0.1:$port/v2/models/$model/infer
wrk -t1 -c"$connections" -d1s -s wrk/oip.lua "$url" >/dev/null
before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
result=$(wrk -t1 -c"$connections" -d"${seconds}s" -s wrk/oip.lua "$url" | tail -1)
after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
TICKS=$((after - before)) HZ=$(getconf CLK_TCK) node -e "
const r = JSON.parse(process.argv[1]);
const cpuUs = (Number(process.env.TICKS) / Number(process.env.HZ)) * 1e6 / r.requests;
console.log(JSON.stringify({ rps: Math.round(r.requests / (r.durationUs / 1e6)), p50Ms: r.latencyUs.p50 / 1000,
  p99Ms: r.latencyUs.p99 / 1000, cpuUsPerRequest: Math.round(cpuUs), errors: Object.values(r.errors).reduce((a, b) => a + b) }));
" "$result"

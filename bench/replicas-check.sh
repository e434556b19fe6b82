#!/usr/bin/env bash
# GET /api/v1/check on PostgreSQL served by one replica, then by three sharing the database,
# against the release build, with the same CONNECTIONS in total (split evenly over the
# replicas, one wrk per replica, as a round-robin balancer would). Reports requests/s and p99
# for each and the ratio three/one, measured in the same run.
#
#   OMBUD_DATABASE_URL=postgres://… bench/replicas-check.sh [N] [SECONDS] [CONNECTIONS]
#   (defaults 20000, 30, 64; needs wrk and psql)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-20000}"
seconds="${2:-30}"
connections="${3:-64}"
: "${OMBUD_DATABASE_URL:?set OMBUD_DATABASE_URL to a PostgreSQL database}"
command -v wrk >/dev/null || { echo "bench/replicas-check.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet -p ombud --bin ombud
ombud="$PWD/target/release/ombud"
script="$PWD/bench/check.lua"
work="$(mktemp -d)"
base="${OMBUD_DATABASE_URL%%\?*}"
schema="ombud_bench_$$"
psql "$base" -qc "CREATE SCHEMA $schema" >/dev/null
export OMBUD_DATABASE_URL="${base}?options=-c%20search_path%3D${schema}"
export OMBUD_MASTER_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
servers=()
stop() { for s in "${servers[@]}"; do kill "$s" 2>/dev/null || true; done; for s in "${servers[@]}"; do wait "$s" 2>/dev/null || true; done; servers=(); }
trap 'stop; psql "$base" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1; rm -rf "$work"' EXIT
cd "$work"

start() {  # start K replicas on 18390.. and wait until each answers
  for i in $(seq 0 $(( $1 - 1 ))); do
    "$ombud" serve --bind "127.0.0.1:$(( 18390 + i ))" --metrics-bind off --data-dir "data$i" > "serve$i.out" 2> "serve$i.err" &
    servers+=($!)
    for _ in $(seq 100); do grep -q "listening" "serve$i.out" 2>/dev/null && break; sleep 0.1; done
  done
}

start 1
key="$(grep -o 'ombud_sk_[0-9a-f]*' serve0.out)"
python3 - "$n" > people.jsonl <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    line = {"identities": [{"kind": "email", "value": f"person{i}@example.com"}]}
    if i % 2 == 0:
        line["events"] = [{"kind": "consent_given", "purpose": "consent-marketing", "occurred_at": "2025-01-01T00:00:00Z"}]
    print(json.dumps(line))
PY
"$ombud" import people.jsonl --tenant operator > import.out
echo "seeded $n people: $(tail -n 1 import.out)"

load() {  # K replicas, CONNECTIONS in total
  local k=$1 pids=()
  for i in $(seq 0 $(( k - 1 ))); do
    OMBUD_BENCH_KEY="$key" OMBUD_BENCH_SUBJECTS="$n" wrk -t1 -c$(( connections / k )) -d"${seconds}s" --latency \
      -s "$script" "http://127.0.0.1:$(( 18390 + i ))" > "wrk$k-$i.out" 2> "wrk$k-$i.err" &
    pids+=($!)
  done
  wait "${pids[@]}"
  python3 - "$k" wrk$k-*.out <<'PY'
import re, sys
k, files = sys.argv[1], sys.argv[2:]
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = p99 = 0
for f in files:
    out = open(f).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = max(p99, ms(re.search(r"99%\s+(\S+)", out).group(1)))
print(f"{k} replica(s): {rps:.0f} requests/s, p99 {p99:.1f} ms")
open(f"result{k}", "w").write(f"{rps} {p99}")
PY
}

echo "== 1 replica, $connections connections"
load 1
stop
start 3
echo "== 3 replicas, $connections connections in all"
load 3
python3 - <<'PY'
one = list(map(float, open("result1").read().split()))
three = list(map(float, open("result3").read().split()))
print(f"throughput three/one: {three[0] / one[0]:.2f}x; p99 three/one: {three[1] / one[1]:.2f}x")
PY

#!/usr/bin/env bash
# The sweeper under load, against the release build: seeds N people with ten records each
# through `ombud import` — half of them security logs older than the two years the invoicing
# example keeps them (5 × N expired records), half live consent-marketing subscribers — then
# measures GET /api/v1/check with wrk twice: first with nothing else running (the baseline),
# then while `ombud sweep` removes the expired records. Reports the sweep's records/s and the
# latency percentiles of both runs.
#
#   bench/sweep-load.sh [N] [CONNECTIONS]     (default 200000 people → 1,000,000 expired records)
#   OMBUD_DATABASE_URL=postgres://… bench/sweep-load.sh [N] [CONNECTIONS]
#   OMBUD_BENCH_BINARY=… runs another build
#
# Needs wrk (apt-get install wrk). Bounded: the baseline runs 20 s, the second run lasts as
# long as the sweep (at most 600 s).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200000}"
connections="${2:-16}"
port=18384
command -v wrk >/dev/null || { echo "bench/sweep-load.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
script="$PWD/bench/check.lua"
# The scheduled sweep runs once at start (on an empty store), then not again during the run.
serve_args="--sweep-every 86400"
. bench/serve.sh

python3 - "$n" > people.jsonl <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    line = {"identities": [{"kind": "email", "value": f"person{i}@example.com"}]}
    if i % 2 == 0:
        line["events"] = [{"kind": "consent_given", "purpose": "consent-marketing", "occurred_at": "2025-01-01T00:00:00Z"}]
        line["records"] = [{"category": "user.contact.email", "value": f"person{i}+{j}@example.com", "purposes": ["consent-marketing"]} for j in range(10)]
    else:
        line["records"] = [{"category": "user.device.ip_address", "value": f"192.0.2.{j}", "purposes": ["security"], "collected_at": "2023-01-01T00:00:00Z"} for j in range(10)]
    print(json.dumps(line))
PY
started=$(date +%s)
"$ombud" import people.jsonl --tenant operator > import.out
echo "seeded in $(( $(date +%s) - started )) s: $(tail -n 1 import.out)"

echo "== GET /api/v1/check, nothing else running (baseline)"
OMBUD_BENCH_KEY="$key" OMBUD_BENCH_SUBJECTS="$n" wrk -t2 -c"$connections" -d20s --latency -s "$script" \
  "http://127.0.0.1:$port" > baseline.out 2>&1
grep -E "Latency|50%|90%|99%|Requests/sec" baseline.out

echo "== GET /api/v1/check while ombud sweep runs"
"$ombud" sweep > sweep.out 2> sweep.err &
sweeper=$!
sweep_started=$(date +%s.%N)
OMBUD_BENCH_KEY="$key" OMBUD_BENCH_SUBJECTS="$n" wrk -t2 -c"$connections" -d600s --latency -s "$script" \
  "http://127.0.0.1:$port" > during.out 2>&1 &
load=$!
wait "$sweeper"
sweep_seconds=$(python3 -c "import time; print(f'{time.time() - $sweep_started:.1f}')")
kill -INT "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true
grep -E "Latency|50%|90%|99%|Requests/sec" during.out
removed=$(tr -d , < sweep.out | grep -o 'removed [0-9]* records' | awk '{s += $2} END {print s}')
cat sweep.out
echo "sweep: removed $removed records in ${sweep_seconds} s ($(python3 -c "print(round($removed / $sweep_seconds))") records/s)"

#!/usr/bin/env bash
# Load on the hot path, GET /api/v1/check, against the release build: seeds N people (half of
# them with consent) through `ombud import`, then runs wrk from a second process on loopback
# and reports requests/s, latency percentiles and the server's resident memory.
#
#   bench/check-load.sh [N] [SECONDS] [CONNECTIONS]   SQLite in a temporary data directory
#   OMBUD_DATABASE_URL=postgres://… bench/check-load.sh [N] [SECONDS] [CONNECTIONS]
#
# Needs wrk (apt-get install wrk). Bounded: one wrk run of SECONDS (default 30) on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
seconds="${2:-30}"
connections="${3:-32}"
port=18383
command -v wrk >/dev/null || { echo "bench/check-load.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
script="$PWD/bench/check.lua"
. bench/serve.sh

python3 - "$n" > people.jsonl <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    line = {"identities": [{"kind": "email", "value": f"person{i}@example.com"}]}
    if i % 2 == 0:
        line["events"] = [{"kind": "consent_given", "purpose": "consent-marketing", "occurred_at": "2025-01-01T00:00:00Z"}]
    print(json.dumps(line))
PY
started=$(date +%s)
"$ombud" import people.jsonl --tenant operator > import.out
echo "seeded $n people in $(( $(date +%s) - started )) s: $(tail -n 1 import.out)"

OMBUD_BENCH_KEY="$key" OMBUD_BENCH_SUBJECTS="$n" wrk -t2 -c"$connections" -d"${seconds}s" --latency \
  -s "$script" "http://127.0.0.1:$port" | tee wrk.out
echo "server RSS after the run: $(( $(ps -o rss= -p "$server") / 1024 )) MiB"

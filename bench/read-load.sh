#!/usr/bin/env bash
# Purpose-bound reads under load, against the release build: seeds N people with four records
# and a contract each through `ombud import`, then runs wrk on
# GET /api/v1/subjects/{id}/records?purpose=invoicing — every answer carries the four records
# and is answered only once its audit entry is committed — and reports requests/s, latency
# percentiles, the server's resident memory and how many audit entries the run left.
#
#   bench/read-load.sh [N] [SECONDS] [CONNECTIONS]   SQLite in a temporary data directory
#   OMBUD_DATABASE_URL=postgres://… bench/read-load.sh [N] [SECONDS] [CONNECTIONS]
#
# Needs wrk and sqlite3 or psql. Bounded: one wrk run of SECONDS (default 30) on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
seconds="${2:-30}"
connections="${3:-16}"
port=18385
command -v wrk >/dev/null || { echo "bench/read-load.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
script="$PWD/bench/read.lua"
. bench/serve.sh

python3 - "$n" > people.jsonl <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({
        "identities": [{"kind": "email", "value": f"person{i}@example.com"}],
        "records": [
            {"category": "user.name", "value": f"Person {i}"},
            {"category": "user.contact.email", "value": f"person{i}@example.com"},
            {"category": "user.contact.address", "value": f"Street {i}, 00100 Helsinki"},
            {"category": "user.financial", "value": f"FI00 0000 {i:08d}"},
        ],
        "events": [{"kind": "contract_start", "occurred_at": "2025-01-01T00:00:00Z"}],
    }))
PY
started=$(date +%s)
"$ombud" import people.jsonl --tenant operator > import.out
echo "seeded $n people in $(( $(date +%s) - started )) s: $(tail -n 1 import.out)"

count_reads() {
  if [ -n "${schema:-}" ]; then
    psql "$base_url" -Atc "SELECT count(*) FROM $schema.audit_log WHERE action = 'records.read'"
  else
    sqlite3 ombud-data/ombud.db "SELECT count(*) FROM audit_log WHERE action = 'records.read'"
  fi
}
if [ -n "${schema:-}" ]; then
  psql "$base_url" -Atc "SELECT subject_id FROM $schema.subjects" > ids.txt
else
  sqlite3 ombud-data/ombud.db "SELECT lower(hex(subject_id)) FROM subjects" \
    | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12})$/\1-\2-\3-\4-\5/' > ids.txt
fi
before=$(count_reads)
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
OMBUD_BENCH_KEY="$key" OMBUD_BENCH_IDS="$work/ids.txt" wrk -t2 -c"$connections" -d"${seconds}s" --latency \
  -s "$script" "http://127.0.0.1:$port" | tee wrk.out
echo "server RSS after the run: $(( $(ps -o rss= -p "$server") / 1024 )) MiB"
echo "records.read entries the run appended: $(( $(count_reads) - before ))"

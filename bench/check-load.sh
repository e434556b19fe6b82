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
# OMBUD_BENCH_BINARY runs another build (an earlier one, to compare in the same session).
if [ -z "${OMBUD_BENCH_BINARY:-}" ]; then
  cargo build --release --quiet -p ombud --bin ombud
fi
ombud="${OMBUD_BENCH_BINARY:-$PWD/target/release/ombud}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
export OMBUD_MASTER_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
if [ -n "${OMBUD_DATABASE_URL:-}" ]; then
  # A schema of its own, so repeated runs start empty.
  schema="ombud_bench_$$"
  psql "$OMBUD_DATABASE_URL" -qc "CREATE SCHEMA $schema" >/dev/null
  export OMBUD_DATABASE_URL="${OMBUD_DATABASE_URL}?options=-c%20search_path%3D${schema}"
  trap 'kill "${server:-0}" 2>/dev/null || true; psql "${OMBUD_DATABASE_URL%%\?*}" -qc "DROP SCHEMA $schema CASCADE" >/dev/null; rm -rf "$work"' EXIT
fi

"$ombud" serve --bind "127.0.0.1:$port" > serve.out 2> serve.err &
server=$!
for _ in $(seq 50); do grep -q ombud_sk_ serve.out 2>/dev/null && break; sleep 0.1; done
key="$(grep -o 'ombud_sk_[0-9a-f]*' serve.out)"

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
  -s "$OLDPWD/bench/check.lua" "http://127.0.0.1:$port" | tee wrk.out
echo "server RSS after the run: $(( $(ps -o rss= -p "$server") / 1024 )) MiB"

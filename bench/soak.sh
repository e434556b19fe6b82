#!/usr/bin/env bash
# Soak: the release build under mixed load for a long stretch (default 30 minutes) — purpose
# checks, new people, requests filed, the queue read, a sweep every minute and the mailer
# writing .eml files — with the server's resident memory sampled every 10 s. The figure that
# matters is the RSS at the start, after 10 and after 30 minutes: flat means nothing grows
# without bound.
#
#   bench/soak.sh [SECONDS] [CONNECTIONS] [N]      (defaults 1800, 16, 20000; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-1800}"
connections="${2:-16}"
n="${3:-20000}"
port="${OMBUD_BENCH_PORT:-18384}"
command -v wrk >/dev/null || { echo "bench/soak.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
# OMBUD_BENCH_BINARY runs another build (an earlier one, to compare in the same run).
if [ -z "${OMBUD_BENCH_BINARY:-}" ]; then
  cargo build --release --quiet -p ombud --bin ombud
fi
ombud="${OMBUD_BENCH_BINARY:-$PWD/target/release/ombud}"
script="$PWD/bench/soak.lua"
work="$(mktemp -d)"
trap 'kill ${server:-} ${sampler:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
export OMBUD_MASTER_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"

"$ombud" serve --bind "127.0.0.1:$port" --metrics-bind off --sweep-every 60 --jobs-every 5 \
  --portal-per-client 1000000/hour > serve.out 2> serve.err &
server=$!
for _ in $(seq 100); do grep -q ombud_sk_ serve.out 2>/dev/null && break; sleep 0.1; done
key="$(grep -o 'ombud_sk_[0-9a-f]*' serve.out)"

python3 - "$n" > people.jsonl <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    line = {"identities": [{"kind": "email", "value": f"person{i}@example.com"}],
            "records": [{"category": "user.contact.email", "value": f"person{i}@example.com", "source": "subject"}]}
    if i % 2 == 0:
        line["events"] = [{"kind": "consent_given", "purpose": "consent-marketing", "occurred_at": "2025-01-01T00:00:00Z"}]
    print(json.dumps(line))
PY
"$ombud" import people.jsonl --tenant operator > import.out
echo "seeded $n people: $(tail -n 1 import.out)"

# Resident memory in MiB, split into heap (anonymous), mapped files and shared memory (SQLite's
# log index), with the thread count and the size of the write-ahead log.
sample() {
  awk '/^VmRSS|^RssAnon|^RssFile|^RssShmem/ { printf "\t%d", $2 / 1024 } /^Threads/ { printf "\t%d", $2 }' "/proc/$server/status"
  printf '\t%d\n' $(( $(stat -c %s ombud-data/ombud.db-wal 2>/dev/null || echo 0) / 1048576 ))
}
start=$(date +%s)
(
  while kill -0 "$server" 2>/dev/null; do
    printf '%s' "$(( $(date +%s) - start ))"
    sample
    sleep 10
  done
) > rss.tsv &
sampler=$!

OMBUD_BENCH_KEY="$key" OMBUD_BENCH_SUBJECTS="$n" wrk -t2 -c"$connections" -d"${seconds}s" --latency \
  -s "$script" "http://127.0.0.1:$port" > wrk.out 2> wrk.err || true
kill "$sampler" 2>/dev/null || true
grep -E "Latency|50%|99%|Requests/sec|requests in" wrk.out
echo "server errors: $(grep -c 'server error' wrk.err || true)"
# What the server logged as errors (ombud logs no personal data), kept before the directory goes.
errors="$(grep -c ' ERROR ' serve.err || true)"
echo "errors the server logged: $errors"
grep ' ERROR ' serve.err | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-300 | sort | uniq -c | sort -rn | head -n 10 || true
echo "every minute: seconds, RSS, heap, files, shared (MiB), threads, write-ahead log (MiB)"
awk 'NR % 6 == 1' rss.tsv
python3 - rss.tsv "$seconds" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
def at(t):
    return min(rows, key=lambda r: abs(r[0] - t))[1]
total = int(sys.argv[2])
print(f"RSS at start {at(0)} MiB, after 10 min {at(600)} MiB, at the end ({rows[-1][0]} s) {rows[-1][1]} MiB")
PY
echo "mails written: $(ls ombud-data/outbox 2>/dev/null | wc -l)  store: $(du -sh ombud-data | cut -f1)"

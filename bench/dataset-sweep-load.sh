#!/usr/bin/env bash
# Retention on an operator's own log table under load, against the release build: an
# application database (SQLite by default, PostgreSQL with OMBUD_BENCH_APP_POSTGRES) gets a log
# table of ROWS rows, half of them older than the two years the invoicing example keeps logs;
# the policy names it as a dataset (`expires_by = "at"`). ombud's own store is seeded with
# PEOPLE people for GET /api/v1/check. wrk measures /check twice: with nothing else running
# (the baseline), then while `ombud sweep` removes the expired rows. Reports the rows/s removed
# and the latency percentiles of both runs, and checks what is left.
#
#   bench/dataset-sweep-load.sh [ROWS] [PEOPLE] [CONNECTIONS]   (default 4000000 20000 16)
#   OMBUD_BENCH_APP_POSTGRES=postgres://postgres@127.0.0.1:5432/test bench/dataset-sweep-load.sh
#
# Needs wrk (apt-get install wrk) and python3. Bounded: the baseline runs 20 s, the second run
# lasts as long as the sweep (at most 600 s).
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-4000000}"
people="${2:-20000}"
connections="${3:-16}"
port=18385
command -v wrk >/dev/null || { echo "bench/dataset-sweep-load.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet -p ombud --bin ombud
ombud="$PWD/target/release/ombud"
root="$PWD"
script="$PWD/bench/check.lua"
work="$(mktemp -d)"
schema="ombud_bench_app_$$"
cleanup() {
  kill ${server:-} ${sweeper:-} 2>/dev/null || true
  if [ -n "${OMBUD_BENCH_APP_POSTGRES:-}" ]; then
    psql "$OMBUD_BENCH_APP_POSTGRES" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export OMBUD_MASTER_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"

# The log table: ids 1..ROWS, the odd ones three years old, the even ones a year old.
if [ -n "${OMBUD_BENCH_APP_POSTGRES:-}" ]; then
  kind=postgres
  export BENCH_APP_DATABASE_URL="$OMBUD_BENCH_APP_POSTGRES"
  psql "$OMBUD_BENCH_APP_POSTGRES" -q <<SQL >/dev/null
CREATE SCHEMA $schema;
CREATE TABLE $schema.users (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO $schema.users SELECT i, 'user' || i || '@example.com' FROM generate_series(1, 1000) AS i;
CREATE TABLE $schema.access_log (id bigint PRIMARY KEY, user_id bigint, ip text, at timestamptz NOT NULL);
INSERT INTO $schema.access_log
  SELECT i, 1 + i % 1000, '192.0.2.' || (i % 250), now() - CASE WHEN i % 2 = 1 THEN interval '3 years' ELSE interval '1 year' END
  FROM generate_series(1, $rows) AS i;
CREATE INDEX ON $schema.access_log (at);
ANALYZE $schema.access_log;
SQL
  schema_line="schema = \"$schema\""
else
  kind=sqlite
  export BENCH_APP_DATABASE_URL="$work/app.db"
  python3 - "$rows" "$work/app.db" <<'PY'
import sqlite3, sys, datetime
rows, path = int(sys.argv[1]), sys.argv[2]
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)")
db.executemany("INSERT INTO users VALUES (?, ?)", ((i, f"user{i}@example.com") for i in range(1, 1001)))
db.execute("CREATE TABLE access_log (id INTEGER PRIMARY KEY, user_id INTEGER, ip TEXT, at TIMESTAMP NOT NULL)")
now = datetime.datetime.now(datetime.timezone.utc)
old = (now - datetime.timedelta(days=3 * 366)).strftime("%Y-%m-%d %H:%M:%S")
new = (now - datetime.timedelta(days=365)).strftime("%Y-%m-%d %H:%M:%S")
db.executemany("INSERT INTO access_log VALUES (?, ?, ?, ?)",
               ((i, 1 + i % 1000, f"192.0.2.{i % 250}", old if i % 2 else new) for i in range(1, rows + 1)))
db.execute("CREATE INDEX access_log_at ON access_log (at)")
db.commit()
PY
  schema_line=""
fi

cat > app.toml <<TOML
key = "app"
name = "Application database"
purposes = ["security", "user-accounts"]
tenant = "operator"

[connection]
kind = "$kind"
url_env = "BENCH_APP_DATABASE_URL"
$schema_line

[[collections]]
name = "users"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "email"
categories = ["user.contact.email"]
identity = "email"

[[collections]]
name = "access_log"
expires_by = "at"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "user_id"
categories = ["system.operations"]
references = [{ field = "users.id", direction = "from" }]

[[collections.fields]]
name = "ip"
categories = ["user.device.ip_address"]

[[collections.fields]]
name = "at"
categories = ["system.operations"]
TOML
cp "$root/examples/invoicing-saas.toml" privacy.toml
printf '\n[[dataset]]\nfile = "app.toml"\n' >> privacy.toml
# The server answers /check under the example policy alone: its own scheduled sweep must not
# reach the log table; `ombud sweep` below does, under the policy that names it.
"$ombud" serve --policy "$root/examples/invoicing-saas.toml" --bind "127.0.0.1:$port" --sweep-every 86400 > serve.out 2> serve.err &
server=$!
for _ in $(seq 100); do grep -q ombud_sk_ serve.out 2>/dev/null && break; sleep 0.1; done
key="$(grep -o 'ombud_sk_[0-9a-f]*' serve.out)"

python3 - "$people" > people.jsonl <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    line = {"identities": [{"kind": "email", "value": f"person{i}@example.com"}]}
    if i % 2 == 0:
        line["events"] = [{"kind": "consent_given", "purpose": "consent-marketing", "occurred_at": "2025-01-01T00:00:00Z"}]
    print(json.dumps(line))
PY
"$ombud" import people.jsonl --tenant operator --policy "$root/examples/invoicing-saas.toml" > import.out
echo "seeded $people people in ombud and $rows log rows in the $kind application database"
"$ombud" sweep --dry-run --policy privacy.toml | grep '^app\.' || true

echo "== GET /api/v1/check, nothing else running (baseline)"
OMBUD_BENCH_KEY="$key" OMBUD_BENCH_SUBJECTS="$people" wrk -t2 -c"$connections" -d20s --latency -s "$script" \
  "http://127.0.0.1:$port" > baseline.out 2>&1
grep -E "50%|90%|99%|Requests/sec" baseline.out

echo "== GET /api/v1/check while ombud sweep removes the expired log rows"
OMBUD_BENCH_KEY="$key" OMBUD_BENCH_SUBJECTS="$people" wrk -t2 -c"$connections" -d600s --latency -s "$script" \
  "http://127.0.0.1:$port" > during.out 2>&1 &
load=$!
sweep_started=$(date +%s.%N)
"$ombud" sweep --policy privacy.toml > sweep.out 2> sweep.err &
sweeper=$!
wait "$sweeper"
sweep_seconds=$(python3 -c "import time; print(f'{time.time() - $sweep_started:.2f}')")
kill -INT "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true
grep -E "50%|90%|99%|Requests/sec" during.out
grep '^app\.' sweep.out
removed=$(grep -o 'did delete [0-9]* rows' sweep.out | awk '{s += $3} END {print s + 0}')
echo "sweep: removed $removed rows in ${sweep_seconds} s (the whole command, store opened and vault swept too: $(python3 -c "print(round($removed / $sweep_seconds))") rows/s)"
if [ "$removed" -ne $(( rows / 2 + rows % 2 )) ]; then
  echo "bench/dataset-sweep-load.sh: expected $(( rows / 2 + rows % 2 )) rows removed, got $removed" >&2
  exit 1
fi
python3 - "$work/baseline.out" "$work/during.out" <<'PY'
import re, sys
def p99(path):
    text = open(path).read()
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
idle, during = p99(sys.argv[1]), p99(sys.argv[2])
print(f"/check p99: {idle:.2f} ms idle, {during:.2f} ms during the sweep ({during / idle:.2f}x)")
PY

#!/usr/bin/env bash
# Times `ombud datasets scan` against the release build on a generated application database
# of 9 tables and ROWS rows in all (default 700,000): customers with names, addresses, phones,
# birth dates, Finnish identity codes, IBANs and cards; their logins (IP addresses), orders,
# order lines, invoices, payments, support tickets, a product catalogue and an audit table.
# Runs on SQLite, then on PostgreSQL when OMBUD_BENCH_POSTGRES_URL is set (a schema of its own,
# dropped at the end). The baseline in the same run is one process of the database's own
# client counting every table's rows (`SELECT COUNT(*)`), which reads all 700,000.
#
#   bench/scan-load.sh [ROWS]
#   OMBUD_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/scan-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-700000}"
cargo build --release --quiet -p ombud --bin ombud
ombud="$PWD/target/release/ombud"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$rows" "$work" <<'PY'
import csv, os, random, sqlite3, sys
rows, work = int(sys.argv[1]), sys.argv[2]
random.seed(1)
given = ["Anna", "Mikko", "Sofia", "Lars", "Elena", "Jussi", "Maria", "Pierre", "Greta", "Jonas"]
family = ["Virtanen", "Korhonen", "Nieminen", "Lindqvist", "Moreau", "Rossi", "Jensen", "Schmidt"]
def hetu(n):
    d, m, y, s = 1 + n % 28, 1 + n % 12, 50 + n % 40, 2 + n % 800
    return f"{d:02}{m:02}{y:02}-{s:03}" + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(f"{d:02}{m:02}{y:02}{s:03}") % 31]
def iban(n):
    bban = f"{12345600000000 + n:014}"
    return f"FI{98 - int(bban + '151800') % 97:02}{bban}"
def card(n):
    body = f"411111{n:09}"
    total = sum((lambda x: x - 9 if x > 9 else x)(int(c) * 2) if i % 2 == 0 else int(c) for i, c in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)
# Shares of the rows per table; customers get a tenth.
shares = {"customers": 10, "logins": 20, "orders": 15, "order_lines": 20, "invoices": 10,
          "payments": 10, "tickets": 5, "products": 2, "audit_events": 8}
counts = {t: rows * s // sum(shares.values()) for t, s in shares.items()}
counts["customers"] += rows - sum(counts.values())
c = counts["customers"]
tables = {
    "customers": (["id", "first_name", "surname", "email", "mobile", "date_of_birth", "hetu", "iban", "plan"],
        lambda n: [n, given[n % 10], family[n % 8], f"person{n}@example.org", f"+358 40 {1000000 + n % 8999999}",
                   f"19{50 + n % 40:02}-{1 + n % 12:02}-{1 + n % 28:02}", hetu(n), iban(n), ["basic", "pro"][n % 2]]),
    "logins": (["id", "customer_id", "ip_address", "at"],
        lambda n: [n, n % c, f"198.51.{n % 256}.{n % 250}", "2026-03-01T10:00:00Z"]),
    "orders": (["id", "customer_id", "order_number", "total"],
        lambda n: [n, n % c, str(4000000000000000 + n * 7919), f"{10 + n % 500}.00"]),
    "order_lines": (["id", "order_id", "sku", "quantity"],
        lambda n: [n, n // 2, f"SKU-{n % 2000:05}", 1 + n % 5]),
    "invoices": (["id", "customer_id", "reference", "due_on"],
        lambda n: [n, n % c, f"RF{n:012}", "2026-04-01"]),
    "payments": (["id", "invoice_id", "card_number", "amount"],
        lambda n: [n, n, card(n), f"{10 + n % 500}.00"]),
    "tickets": (["id", "customer_id", "requester_email", "subject"],
        lambda n: [n, n % c, f"person{n % c}@example.org", "Cannot download invoice"]),
    "products": (["id", "name", "price"], lambda n: [n, f"Widget {n}", f"{n % 90}.50"]),
    "audit_events": (["id", "actor", "action", "at"],
        lambda n: [n, f"system", ["create", "update", "delete"][n % 3], "2026-03-01T10:00:00Z"]),
}
db = sqlite3.connect(os.path.join(work, "app.db"))
for name, (columns, make) in tables.items():
    db.execute(f"CREATE TABLE {name} ({', '.join(c + (' INTEGER PRIMARY KEY' if c == 'id' else ' TEXT') for c in columns)})")
    data = [make(n) for n in range(counts[name])]
    db.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(columns))})", data)
    with open(os.path.join(work, f"{name}.csv"), "w", newline="") as f:
        csv.writer(f).writerows(data)
    with open(os.path.join(work, f"{name}.columns"), "w") as f:
        f.write(", ".join(c + (" bigint PRIMARY KEY" if c == "id" else " text") for c in columns))
db.commit()
print(f"{sum(counts.values())} rows over {len(tables)} tables: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
PY

median() { python3 -c 'import statistics, sys; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
run() { # label, then the command; prints each run's seconds and their median
  local label="$1"; shift
  local times=()
  for _ in 1 2 3 4 5; do
    local start end
    start=$(date +%s.%N)
    "$@" > "$work/out" 2> "$work/err" || [ $? -eq 1 ]
    end=$(date +%s.%N)
    times+=("$(python3 -c "print(f'{$end - $start:.3f}')")")
  done
  echo "$label: median $(median "${times[@]}") s (runs: ${times[*]})"
}

echo "$work/app.db" > "$work/app.url"
tables="customers logins orders order_lines invoices payments tickets products audit_events"
count_sqlite() { python3 -c "
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for t in sys.argv[2].split():
    db.execute(f'SELECT COUNT(*) FROM {t}').fetchone()" "$work/app.db" "$tables"; }
echo "== SQLite"
run "SELECT COUNT(*) of every table (baseline)" count_sqlite
run "ombud datasets scan (1,000 rows a table)" "$ombud" datasets scan --kind sqlite --url-file "$work/app.url"
cat "$work/err"
run "ombud datasets scan --sample 100000 (every row of 8 tables)" "$ombud" datasets scan --kind sqlite --url-file "$work/app.url" --sample 100000

if [ -n "${OMBUD_BENCH_POSTGRES_URL:-}" ]; then
  schema="ombud_bench_scan_$$"
  psql "$OMBUD_BENCH_POSTGRES_URL" -qc "CREATE SCHEMA $schema"
  trap 'psql "$OMBUD_BENCH_POSTGRES_URL" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1; rm -rf "$work"' EXIT
  for t in customers logins orders order_lines invoices payments tickets products audit_events; do
    psql "$OMBUD_BENCH_POSTGRES_URL" -qc "CREATE TABLE $schema.$t ($(cat "$work/$t.columns"))"
    psql "$OMBUD_BENCH_POSTGRES_URL" -qc "\\copy $schema.$t FROM '$work/$t.csv' WITH (FORMAT csv)"
  done
  psql "$OMBUD_BENCH_POSTGRES_URL" -qc "ANALYZE"
  echo "$OMBUD_BENCH_POSTGRES_URL" > "$work/pg.url"
  count_pg() { psql "$OMBUD_BENCH_POSTGRES_URL" -qtA $(for t in $tables; do printf -- '-c SELECT\ COUNT(*)\ FROM\ %s.%s ' "$schema" "$t"; done) > /dev/null; }
  echo "== PostgreSQL"
  run "SELECT COUNT(*) of every table (baseline)" count_pg
  run "ombud datasets scan (1,000 rows a table)" "$ombud" datasets scan --kind postgres --url-file "$work/pg.url" --schema "$schema"
  cat "$work/err"
  run "ombud datasets scan --sample 100000" "$ombud" datasets scan --kind postgres --url-file "$work/pg.url" --schema "$schema" --sample 100000
fi

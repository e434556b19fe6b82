#!/usr/bin/env bash
# Data-subject requests back to back through the API, each one's code mail included: starts the
# release build with its default settings (the mailer writes .eml files), files N access
# requests one after the other over one HTTP connection, and reports how long until every code
# mail is in the outbox folder, and how long a person waited for theirs (median and p99 from
# filing to the file appearing).
#
#   bench/requests-mail.sh [N]        N requests (default 100), SQLite in a temporary directory
#
# OMBUD_BENCH_BINARY runs another build (an earlier one, to compare in the same session).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100}"
port=18384
if [ -z "${OMBUD_BENCH_BINARY:-}" ]; then
  cargo build --release --quiet -p ombud --bin ombud
fi
ombud="${OMBUD_BENCH_BINARY:-$PWD/target/release/ombud}"
work="$(mktemp -d)"
trap 'kill ${server:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
export OMBUD_MASTER_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
unset OMBUD_SMTP_URL OMBUD_DATABASE_URL
"$ombud" serve --bind "127.0.0.1:$port" --metrics-bind off > serve.out 2> serve.err &
server=$!
for _ in $(seq 100); do grep -q ombud_sk_ serve.out 2>/dev/null && break; sleep 0.1; done
key="$(grep -o 'ombud_sk_[0-9a-f]*' serve.out)"
sleep 1

python3 - "$n" "$port" "$key" "$work/ombud-data/outbox" <<'PY'
import http.client, json, os, statistics, sys, time
n, port, key, outbox = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = http.client.HTTPConnection("127.0.0.1", port)
filed_at = []
start = time.monotonic()
for i in range(n):
    body = json.dumps({"kind": "access", "email": f"person{i}@example.com"})
    conn.request("POST", "/api/v1/requests", body,
                 {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    assert response.status == 201, response.status
    filed_at.append(time.monotonic())
api = time.monotonic() - start
# Each code mail names its address; note when each file first appears.
seen = {}
deadline = time.monotonic() + 120
while len(seen) < n and time.monotonic() < deadline:
    now = time.monotonic()
    try:
        names = os.listdir(outbox)
    except FileNotFoundError:
        names = []
    for name in names:
        if name in seen:
            continue
        with open(os.path.join(outbox, name), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for line in text.splitlines():
            if line.startswith("To:"):
                address = line.split()[-1].strip("<>")
                seen[name] = (address, now)
                break
    time.sleep(0.005)
total = time.monotonic() - start
index = {f"person{i}@example.com": i for i in range(n)}
waits = sorted(at - filed_at[index[address]] for address, at in seen.values() if address in index)
print(f"{n} requests filed in {api:.2f} s of API time; {len(seen)} code mails out after {total:.2f} s "
      f"({n / total:.0f} requests with their mail per second)")
if waits:
    p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    print(f"a person waited for the code: median {statistics.median(waits) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
PY

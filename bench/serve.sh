# Sourced by the load scripts: picks the binary (OMBUD_BENCH_BINARY runs another build, an
# earlier one to compare in the same session; otherwise the release build), makes a
# temporary data directory (or, with OMBUD_DATABASE_URL, a PostgreSQL schema of its own so
# repeated runs start empty), starts `ombud serve` on 127.0.0.1:$port and sets $ombud, $work,
# $server, $key (the bootstrap admin key), and $schema and $base_url on PostgreSQL. Everything
# is removed on exit, with the process in $sweeper if a script starts one. $serve_args adds to
# the server's flags. Runs from the repository's root; leaves the shell in $work.
if [ -z "${OMBUD_BENCH_BINARY:-}" ]; then
  cargo build --release --quiet -p ombud --bin ombud
fi
ombud="${OMBUD_BENCH_BINARY:-$PWD/target/release/ombud}"
work="$(mktemp -d)"
# Only the processes started here: `kill 0` would stop the caller's whole process group.
stop_started() {
  for pid in ${sweeper:-} ${server:-}; do kill "$pid" 2>/dev/null || true; done
  # Waited for, so a server stops on its own terms before its data goes.
  for pid in ${sweeper:-} ${server:-}; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop_started; rm -rf "$work"' EXIT
cd "$work"
export OMBUD_MASTER_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
if [ -n "${OMBUD_DATABASE_URL:-}" ]; then
  schema="ombud_bench_$$"
  base_url="$OMBUD_DATABASE_URL"
  psql "$base_url" -qc "CREATE SCHEMA $schema" >/dev/null
  export OMBUD_DATABASE_URL="${OMBUD_DATABASE_URL}?options=-c%20search_path%3D${schema}"
  trap 'stop_started; psql "$base_url" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1; rm -rf "$work"' EXIT
fi
# shellcheck disable=SC2086 # the flags are words
"$ombud" serve --bind "127.0.0.1:$port" ${serve_args:-} > serve.out 2> serve.err &
server=$!
for _ in $(seq 100); do grep -q ombud_sk_ serve.out 2>/dev/null && break; sleep 0.1; done
key="$(grep -o 'ombud_sk_[0-9a-f]*' serve.out)"

#!/usr/bin/env bash
# Times `ombud policy check` end to end (read, parse, validate, lint, print) on a generated
# policy of N processing activities, with the release build. The baseline in the same run is
# `cat` of the same file, the least any command that reads it must pay.
#
#   bench/policy-check.sh [N]        (default 5000; needs hyperfine: apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-5000}"
command -v hyperfine >/dev/null || { echo "bench/policy-check.sh: hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
cargo build --release --quiet -p ombud --bin ombud
policy="target/bench-policy-$n.toml"
cargo run --release --quiet -p ombud-policy --example generate_policy -- "$n" > "$policy"
./target/release/ombud policy check --deny-warnings "$policy" | tail -n 1
hyperfine -N --warmup 3 --runs 30 --export-json "target/bench-policy-check-$n.json" \
  -n "cat (baseline)" "cat $policy" \
  -n "ombud policy check ($n activities)" "./target/release/ombud policy check $policy"
python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("median %7.1f ms  %s" % (r["median"] * 1000, r["command"]))
' "target/bench-policy-check-$n.json"

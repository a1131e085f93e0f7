#!/usr/bin/env bash
# `pg clients` and `pg messages PEER` start-up with sealed names and the search index, beside a
# baseline build's (names in clear, no index) on a profile it made itself from the same server
# (a build cannot open the other's cache: the schemas differ), and `pg search` on this build's.
# Usage: BASELINE_BIN=DIR Tools/Benchmarks/cli/identity-startup.sh   (DIR: another build's bin/)
#   The server holds the demo seed; Alice sends BENCH_TEXTS texts first (default 2000).
runs=${BENCH_RUNS:-30}
texts=${BENCH_TEXTS:-2000}
source "$(dirname "$0")/lib.sh"
: "${BASELINE_BIN:?BASELINE_BIN=DIR: the bin folder of the build to compare with}"
echo alice-pass | "$bin/pg" --profile "$work/alice" login alice@example.com --password-stdin >/dev/null
for i in $(seq "$texts"); do
    "$bin/pg" --profile "$work/alice" send --no-wait therapist@example.com "text $i about sleep, work and the breathing exercise" >/dev/null
done
"$bin/pg" --profile "$work/alice" sync >/dev/null
for side in new:"$bin" old:"$BASELINE_BIN"; do
    name=${side%%:*} dir=${side#*:}
    echo therapist-pass | "$dir/pg" --profile "$work/$name" login therapist@example.com --password-stdin >/dev/null
    "$dir/pg" --profile "$work/$name" sync >/dev/null
done
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/startup.json" \
    "$bin/pg --profile $work/new clients" "$BASELINE_BIN/pg --profile $work/old clients" \
    "$bin/pg --profile $work/new messages alice@example.com" "$BASELINE_BIN/pg --profile $work/old messages alice@example.com" \
    "$bin/pg --profile $work/new search breath" "$bin/pg --profile $work/new search 'sleep work' --with alice@example.com"
python3 - "$work/startup.json" <<'PY'
import json, sys
for result in json.load(open(sys.argv[1]))["results"]:
    print(f"median {1000 * result['median']:6.1f} ms  {result['command'][:110]}")
PY

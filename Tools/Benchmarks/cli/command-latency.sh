#!/usr/bin/env bash
# pg start-up and command latency, release build, side by side (BENCH_RUNS sends each):
#  - `pg --help` and `pg messages PEER` against `sqlite3` running the same query on the cache;
#  - `pg send` wall time on a profile that pg-syncd keeps live, beside a profile without one
#    (p50/p99 over BENCH_SENDS sends each, from process start to exit).
# Usage: Benchmarks/cli/command-latency.sh   (builds the release binaries first)
#        BASELINE_BIN=DIR Benchmarks/cli/command-latency.sh
#   With BASELINE_BIN (the release folder of another checkout), its `pg` is measured in the same
#   run: beside each start-up measurement, and alternating send by send on the same profiles.
runs=${BENCH_RUNS:-30}
sends=${BENCH_SENDS:-200}
source "$(dirname "$0")/lib.sh"
pg() { "$bin/pg" "$@"; }
echo alice-pass | pg --profile "$work/daemon" login alice@example.com --password-stdin >/dev/null
echo alice-pass | pg --profile "$work/plain" login alice@example.com --password-stdin >/dev/null
for i in $(seq 20); do pg --profile "$work/plain" send therapist@example.com "warm-up $i" >/dev/null; done
cache=$(ls "$work"/plain/accounts/*/cache.sqlite)
baseline=()
if [ -n "${BASELINE_BIN:-}" ]; then
    baseline=("$BASELINE_BIN/pg --help" "$BASELINE_BIN/pg --profile $work/plain messages therapist@example.com")
fi
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/startup.json" \
    "$bin/pg --help" \
    "$bin/pg --profile $work/plain messages therapist@example.com" \
    "${baseline[@]}" \
    "sqlite3 $cache 'SELECT body FROM message WHERE conversationID = (SELECT conversationID FROM message LIMIT 1) ORDER BY createdAt DESC LIMIT 20'"

python3 - "$work/startup.json" <<'PY'
import json, sys
for result in json.load(open(sys.argv[1]))["results"]:
    print(f"median {1000 * result['median']:6.1f} ms  {result['command'][:110]}")
PY

"$bin/pg-syncd" --profile "$work/daemon" 2>/dev/null &
sleep 2
send() {
    local binary=$1 profile=$2 out=$3 i=$4 start end
    start=$(date +%s%N)
    "$binary" --profile "$profile" send therapist@example.com "latency $i" >/dev/null
    end=$(date +%s%N)
    echo $(((end - start) / 1000)) >>"$out"
}
measure() {
    local profile=$1 out=$2
    for i in $(seq "$sends"); do
        send "$bin/pg" "$profile" "$out" "$i"
        if [ -n "${BASELINE_BIN:-}" ]; then send "$BASELINE_BIN/pg" "$profile" "$out.baseline" "$i"; fi
    done
}
measure "$work/daemon" "$work/daemon.us"
measure "$work/plain" "$work/plain.us"
python3 - "$work" <<'PY'
import os, sys
work = sys.argv[1]
for label, name in [("pg send on a pg-syncd profile", "daemon.us"), ("pg send on a plain profile", "plain.us")]:
    for suffix, who in [("", ""), (".baseline", " (baseline)")]:
        path = os.path.join(work, name + suffix)
        if not os.path.exists(path):
            continue
        values = sorted(int(line) / 1000 for line in open(path))
        p = lambda q: values[min(len(values) - 1, int(q * len(values)))]
        print(f"{label}{who}: p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, n={len(values)}")
PY

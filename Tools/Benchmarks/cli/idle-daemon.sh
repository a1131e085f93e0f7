#!/usr/bin/env bash
# What an idle process of the SDK costs (issue "Quiet and instant"), release build, from /proc
# (Benchmarks/cli/idle.py): thread wake-ups per second, CPU share and resident memory over a
# window, side by side in one run:
#  - pg-syncd live and idle, against a server with its heartbeats every 15 s (the default) and
#    against one whose heartbeats are an hour apart (the daemon then reconnects every 45 s, having
#    missed them: its reconnect path, for memory that stays flat);
#  - an app process beside the daemon holding 1 observation, and one holding 100
#    (`handoff-benchmark observe`), on the same profile.
# Usage: Benchmarks/cli/idle-daemon.sh [SECONDS]   (default 60; `3600` for the hour's memory)
#        BASELINE_BIN=DIR Benchmarks/cli/idle-daemon.sh [SECONDS]
#   With BASELINE_BIN (the release folder of another checkout), its pg-syncd runs beside this
#   one, on a profile of its own against the same server, in the same window.
window=${1:-60}
source "$(dirname "$0")/lib.sh"
swift build -c release --product handoff-benchmark >/dev/null
export PG_KEY_FILE="$work/key"
"$bin/pg-server" --port 0 --database "$work/quiet.sqlite" --seed demo --heartbeat 3600 --log-level warning \
    >"$work/quiet.out" &
for _ in $(seq 200); do grep -q listening "$work/quiet.out" 2>/dev/null && break; sleep 0.05; done
QUIET_SERVER=$(head -1 "$work/quiet.out" | sed 's/listening on //')
start_daemon() { # profile server [bin]
    local folder=${3:-$bin}
    echo alice-pass | "$folder/pg" --server "$2" --profile "$1" login alice@example.com --password-stdin >/dev/null
    "$folder/pg-syncd" --server "$2" --profile "$1" 2>/dev/null &
}
start_daemon "$work/kiosk" "$PG_SERVER"
daemon=$!
start_daemon "$work/quiet" "$QUIET_SERVER"
quiet=$!
baseline=()
if [ -n "${BASELINE_BIN:-}" ]; then
    start_daemon "$work/baseline" "$PG_SERVER" "$BASELINE_BIN"
    baseline=("baseline pg-syncd (heartbeat 15 s)=$!")
fi
sleep 3
observers() { # count
    "$bin/handoff-benchmark" observe "$1" "$work/kiosk" "$PG_SERVER" >"$work/observe-$1.out" &
    for _ in $(seq 600); do grep -q ready "$work/observe-$1.out" 2>/dev/null && break; sleep 0.05; done
}
observers 1
one=$!
observers 100
hundred=$!
sleep 2
python3 "$(dirname "$0")/idle.py" "$window" "pg-syncd (heartbeat 15 s)=$daemon" "${baseline[@]}" \
    "pg-syncd, heartbeats 1 h apart (reconnects after 45 s without one)=$quiet" "app, 1 observation=$one" "app, 100 observations=$hundred"

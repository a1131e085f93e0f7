#!/usr/bin/env bash
# An idle pg-syncd (live, nothing happening): thread wake-ups per second (context switches of
# all its threads, counted by `perf stat`), CPU share and resident memory over a window.
# The server's heartbeat (every 15 s) is the only traffic. Release build.
# Usage: Benchmarks/cli/idle-daemon.sh [SECONDS]   (default 60)
window=${1:-60}
source "$(dirname "$0")/lib.sh"
echo alice-pass | "$bin/pg" --server "$PG_SERVER" --profile "$work/kiosk" login alice@example.com --password-stdin >/dev/null
"$bin/pg-syncd" --server "$PG_SERVER" --profile "$work/kiosk" 2>/dev/null &
daemon=$!
sleep 5
# perf counts the switches of every thread, those that end within the window too.
perf stat -x, -e context-switches,task-clock -p "$daemon" -- sleep "$window" 2>"$work/perf.csv" || true
switches=$(awk -F, '/context-switches/ { print $1 }' "$work/perf.csv")
cpu_ms=$(awk -F, '/task-clock/ { print $1 }' "$work/perf.csv")
threads=$(ls /proc/"$daemon"/task | wc -l)
rss=$(awk '/VmRSS/ { print $2 }' /proc/"$daemon"/status)
python3 - "$switches" "$cpu_ms" "$window" "$threads" "$rss" <<'PY'
import sys
switches, cpu_ms, window, threads, rss = map(float, sys.argv[1:])
print(f"idle pg-syncd over {window:.0f} s: {switches / window:.2f} wake-ups/s, "
      f"{100 * cpu_ms / 1000 / window:.3f}% of a core, {rss / 1024:.1f} MiB resident, {threads:.0f} threads")
PY

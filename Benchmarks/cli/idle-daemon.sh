#!/usr/bin/env bash
# An idle pg-syncd (live, nothing happening): thread wake-ups per second (context switches of
# all its threads, from /proc/PID/task/*/status), CPU share and resident memory over a window.
# The server's heartbeat (every 15 s) is the only traffic. Release build.
# Usage: Benchmarks/cli/idle-daemon.sh [SECONDS]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/../.."
window=${1:-60}
swift build -c release --product pg >/dev/null
swift build -c release --product pg-syncd >/dev/null
swift build -c release --product pg-server >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin/pg-server" --port 0 --database "$work/server.sqlite" --seed demo --log-level warning >"$work/server.out" &
for _ in $(seq 200); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.05; done
server=$(head -1 "$work/server.out" | sed 's/listening on //')
echo alice-pass | "$bin/pg" --server "$server" --profile "$work/kiosk" login alice@example.com --password-stdin >/dev/null
"$bin/pg-syncd" --server "$server" --profile "$work/kiosk" 2>/dev/null &
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

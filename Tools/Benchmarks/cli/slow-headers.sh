#!/usr/bin/env bash
# pg-syncd's metrics port under a slow-headers flood (issue "The kiosk never fails silently"):
# BENCH_CONNECTIONS connections (default 1,500) each send the start of a request and never its
# end, and stay open; prints the daemon's descriptors and resident memory before, at the peak,
# and after its idle timeout (10 s) has closed them, while the flooding side still holds them.
# Debug build by default; PG_BIN=DIR for another build's binaries.
# Usage: Benchmarks/cli/slow-headers.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [ -z "${PG_BIN:-}" ]; then
    for product in pg pg-syncd pg-server; do swift build --product "$product" >/dev/null; done
    PG_BIN=$(swift build --show-bin-path)
fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config"
"$PG_BIN/pg-server" --port 0 --database "$work/server.sqlite" --seed demo --log-level warning >"$work/server.out" &
for _ in $(seq 200); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.05; done
server=$(head -1 "$work/server.out" | sed 's/listening on //')
echo alice-pass | "$PG_BIN/pg" --server "$server" --profile "$work/alice" login alice@example.com --password-stdin >/dev/null
port=$((20000 + $$ % 20000))
"$PG_BIN/pg-syncd" --server "$server" --profile "$work/alice" --metrics-port "$port" 2>/dev/null &
daemon=$!
python3 - "$daemon" "$port" "${BENCH_CONNECTIONS:-1500}" <<'PY'
import os, resource, socket, sys, time, urllib.request
pid, port, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_NOFILE, (count + 256, max(count + 256, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
for _ in range(400):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read(); break
    except OSError:
        time.sleep(0.05)
time.sleep(3)
def state():
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:")) / 1024
    return f"{fds} descriptors, {rss:.1f} MiB resident"
print("before:", state(), flush=True)
held = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    held.append(s)
time.sleep(2)
print(f"{count} slow connections open:", state(), flush=True)
started = time.monotonic()
while len(os.listdir(f"/proc/{pid}/fd")) > 60 and time.monotonic() - started < 60:
    time.sleep(0.2)
print(f"{time.monotonic() - started:.1f} s later, the flood still connected:", state(), flush=True)
time.sleep(5)
print("5 s after that:", state(), flush=True)
PY

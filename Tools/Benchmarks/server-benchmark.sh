#!/usr/bin/env bash
# Reference server throughput on loopback (issue "reference server"): a small authenticated GET,
# sending a message, and the change feed serving 100k changes. Uses wrk (Debian) as the load
# tool; the server is the release build. Nothing is asserted: read the figures.
#
#   Benchmarks/server-benchmark.sh [seconds per run]
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd Tools  # the package that builds the benchmarks
duration="${1:-10}"
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product pg-server >/dev/null
binary="$(swift build -c release --show-bin-path)/pg-server"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
"$binary" --port 0 --database "$work/server.sqlite" --seed demo --access-token-lifetime 86400 --log-level error > "$work/out" &
pid=$!
for _ in $(seq 1 100); do grep -q '^listening on ' "$work/out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$work/out")"
login() {
    curl -sf "$url/v1/auth/login" -H 'Content-Type: application/json' -d "{\"email\":\"$1@example.com\",\"password\":\"$1-pass\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'
}
therapist="$(login therapist)"
alice="$(login alice)"

echo "pg-server $(swift build -c release --show-bin-path | xargs basename) build, wrk 2 threads, 16 connections, ${duration}s each, $(nproc) cores shared with the load tool"
echo "GET /v1/me:"
wrk -t2 -c16 -d"${duration}s" -H "Authorization: Bearer $therapist" "$url/v1/me" | grep -E "Requests/sec|Latency"
echo "POST /v1/conversations/{peer}/messages (idempotent, one transaction each):"
PG_TOKEN="$alice" wrk -t2 -c16 -d"${duration}s" -s Benchmarks/server/post-message.lua "$url" | grep -E "Requests/sec|Latency|Non-2xx"

# Top the feed up to 100k changes for the therapist, then page through all of it.
have="$(sqlite3 "$work/server.sqlite" "SELECT count(*) FROM change WHERE therapistID = 'usr_therapist'")"
if [ "$have" -lt 100000 ]; then
    PG_TOKEN="$alice" wrk -t2 -c16 -d300s -s Benchmarks/server/post-message.lua "$url" >/dev/null &
    load=$!
    while [ "$(sqlite3 "$work/server.sqlite" "SELECT count(*) FROM change WHERE therapistID = 'usr_therapist'")" -lt 100000 ]; do sleep 1; done
    kill "$load"; wait "$load" 2>/dev/null || true
fi
read -r count seconds < <(python3 Benchmarks/server/page-feed.py "$url" "$therapist")
python3 -c "print(f'GET /v1/changes, pages of 1000: {$count} changes in {$seconds} s = {$count/$seconds:,.0f} changes/s')"

# Shared by the command-line benchmarks: release binaries, a seeded pg-server on a free port
# in a temporary folder ($work, removed on exit with every background job), $PG_SERVER set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
for product in pg pg-syncd pg-server; do swift build -c release --product "$product" >/dev/null; done
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin/pg-server" --port 0 --database "$work/server.sqlite" --seed demo --log-level warning >"$work/server.out" &
for _ in $(seq 200); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.05; done
PG_SERVER=$(head -1 "$work/server.out" | sed 's/listening on //')
export PG_SERVER

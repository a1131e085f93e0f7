#!/usr/bin/env bash
# Sync benchmarks (issue "Sync"): initial sync against curl+sqlite3, live latency, outbox drain.
# Builds the release products, then runs Benchmarks/SyncBenchmark. Nothing is asserted.
#
#   Benchmarks/sync-benchmark.sh [messages=100000] [repetitions=3]
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd Tools  # the package that builds the benchmarks
command -v sqlite3 >/dev/null && command -v curl >/dev/null || scripts/install-deps
swift build -c release --product pg-server >/dev/null
swift build -c release --product sync-benchmark >/dev/null
"$(swift build -c release --show-bin-path)/sync-benchmark" "$@"

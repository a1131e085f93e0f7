#!/usr/bin/env bash
# Search benchmark (issue "Nothing about a client readable at rest"): first sync with and without
# the search index (same run), index bytes per message, search p50/p99 at two sizes. Builds the
# release benchmark, then runs it. Nothing is asserted.
#
#   Tools/Benchmarks/search-benchmark.sh [messages=100000] [large=1000000] [repetitions=3]
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd Tools
swift build -c release --product search-benchmark >/dev/null
"$(swift build -c release --show-bin-path)/search-benchmark" "$@"

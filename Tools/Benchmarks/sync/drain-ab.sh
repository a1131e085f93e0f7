#!/usr/bin/env bash
# The outbox drain of two builds side by side (issue "Throughput"): each pass runs one build's
# `sync-benchmark` in drain mode (10k texts queued offline, then drained in batches of 100
# against that build's own `pg-server`), alternating A and B so that the machine's slow and
# fast minutes fall on both. Prints every pass and the medians.
#
#   Benchmarks/sync/drain-ab.sh DIR_A DIR_B [pairs=5] [queued=10000]
#       DIR_A and DIR_B each hold a release `sync-benchmark` and `pg-server` (copy them out of
#       `.build/release` of the two commits).
set -euo pipefail
a="$1" b="$2" pairs="${3:-5}" queued="${4:-10000}"
rates_a=() rates_b=()
drain() {
    PG_SYNC_BENCH=drain PG_SYNC_BENCH_SIZES=100 "$1/sync-benchmark" "$queued" 1 |
        sed -n 's/^drain 1, batches of 100: \([0-9]*\) msg\/s.*/\1/p'
}
for pass in $(seq 1 "$pairs"); do
    rate_a="$(drain "$a")"
    rate_b="$(drain "$b")"
    rates_a+=("$rate_a") rates_b+=("$rate_b")
    echo "pass $pass: A $rate_a msg/s, B $rate_b msg/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
median_a="$(median "${rates_a[@]}")" median_b="$(median "${rates_b[@]}")"
echo "medians of $pairs: A $median_a msg/s, B $median_b msg/s, B/A $(awk -v a="$median_a" -v b="$median_b" 'BEGIN {printf "%.2f", b / a}')"

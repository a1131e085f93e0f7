#!/usr/bin/env bash
# The C library and the Python package against the Swift API (issue "Every Linux program can
# link it"), release builds, one run, one server, the same profiles:
# 1. the latest 50 messages, per call, through the ABI (JSON included) and through the Swift
#    API, alternating; then send online both ways;
# 2. a text sent by another account (a Python process) until a Python asyncio handler sees
#    it, and until the Swift SDK's own `events()` does, alternating;
# 3. resident memory of a Python process holding one live client, above a bare python3.
# Prints the figures; asserts nothing.
#
#   Tools/Benchmarks/abi-benchmark.sh [rounds=3] [calls=1000] [texts=200]
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
rounds=${1:-3}
calls=${2:-1000}
texts=${3:-200}
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

scripts/install --prefix "$work/prefix" >/dev/null
swift build --package-path Tools -c release --product abi-benchmark >/dev/null
bench="$(swift build --package-path Tools -c release --show-bin-path)/abi-benchmark"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" PLUSGUIDANCE_LIBRARY="$work/prefix/lib/libplusguidance.so.0"
cc -O2 -std=c99 Tools/Benchmarks/abi/abi-bench.c $(pkg-config --cflags --libs plusguidance) \
    -Wl,-rpath,"$work/prefix/lib" -o "$work/abi-bench"
export PYTHONPATH="$PWD/bindings/python"
py() { /usr/bin/python3 Tools/Benchmarks/abi/python-bench.py "$@"; }

"$work/prefix/bin/pg-server" --port 0 --seed demo --database "$work/server.sqlite" >"$work/server.log" 2>&1 &
for _ in $(seq 300); do grep -q '^listening on ' "$work/server.log" && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$work/server.log" | head -1)"
key="$work/key"
for who in therapist alice; do
    echo "$who-pass" | "$work/prefix/bin/pg" --server "$url" --profile "$work/$who" --key-file "$key" \
        login "$who@example.com" --password-stdin >/dev/null
done
py fill "$url" "$work/therapist" "$key" 60

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "1. latest 50 messages and send online, $calls calls a round, $rounds rounds (µs: p50 p99)"
for round in $(seq "$rounds"); do
    "$work/abi-bench" "$url" "$work/therapist" "$key" "$calls" | tee -a "$work/reads"
    "$bench" reads "$url" "$work/therapist" "$key" "$calls" | tee -a "$work/reads"
done
for name in latest-50 send-online; do
    for quantile in 2 3; do
        abi=$(grep "^abi-$name " "$work/reads" | awk -v q=$quantile '{ print $q }' | median)
        swift=$(grep "^swift-$name " "$work/reads" | awk -v q=$quantile '{ print $q }' | median)
        echo "   $name $( [ $quantile = 2 ] && echo p50 || echo p99): ABI $abi µs, Swift $swift µs, ratio $(awk -v a="$abi" -v s="$swift" 'BEGIN { printf "%.2f", a / s }')"
    done
done

echo "2. a text from another account until the handler sees it, $texts texts a round (µs: p50 p99)"
observe() { # $1: python or swift
    rm -f "$work/ready"
    if [ "$1" = python ]; then
        py observe "$url" "$work/alice" "$key" "$texts" >>"$work/observe" 2>"$work/ready" &
    else
        "$bench" observe "$url" "$work/alice" "$key" "$texts" >>"$work/observe" 2>"$work/ready" &
    fi
    local receiver=$!
    for _ in $(seq 300); do grep -q ready "$work/ready" 2>/dev/null && break; sleep 0.1; done
    py send "$url" "$work/therapist" "$key" "$texts"
    wait $receiver
}
for round in $(seq "$rounds"); do observe python; observe swift; done
cat "$work/observe"
for name in python-text-to-asyncio-handler swift-text-to-observation; do
    echo "   $name: p50 $(grep "^$name " "$work/observe" | awk '{ print $2 }' | median) µs," \
        "p99 $(grep "^$name " "$work/observe" | awk '{ print $3 }' | median) µs (median of rounds)"
done

echo "3. resident memory"
py rss "$url" "$work/alice" "$key"

#!/usr/bin/env bash
# The first build of an app that depends on the SDK by path and names only PlusGuidanceSync:
# how many packages it resolves and how long a clean debug build takes. Run it against this
# checkout, or another one for a before/after on the same machine:
#   Benchmarks/consumer/first-build.sh [SDK_DIR ...]      (BENCH_RUNS=N, default 1)
# SwiftPM's shared repository cache is warmed once first, so the clock counts building only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH="/opt/swift/usr/bin:$PATH"
runs=${BENCH_RUNS:-1}
[ $# -gt 0 ] || set -- "$(cd "$here/../../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

consumer() {  # consumer DIR SDK
    mkdir -p "$1/Sources/App"
    cat > "$1/Package.swift" <<SWIFT
// swift-tools-version: 6.2
import PackageDescription
let package = Package(
    name: "App", platforms: [.macOS(.v15)],
    dependencies: [.package(name: "PlusGuidanceKit", path: "$2")],
    targets: [
        .executableTarget(name: "App", dependencies: [.product(name: "PlusGuidanceSync", package: "PlusGuidanceKit")])
    ])
SWIFT
    cat > "$1/Sources/App/main.swift" <<'SWIFT'
import Foundation  // which an SDK before 0.9 did not re-export
import PlusGuidanceSync
let client = try await PlusGuidanceClient.open(
    ClientConfiguration(serverURL: URL(string: "http://127.0.0.1:9")!, profile: "/tmp/pg-consumer-profile"))
print(await client.currentUser?.email ?? "signed out")
SWIFT
}

for sdk in "$@"; do
    sdk=$(cd "$sdk" && pwd)
    dir="$work/app-$(basename "$sdk")"
    consumer "$dir" "$sdk"
    (cd "$dir" && swift package resolve >/dev/null 2>&1)
    packages=$(cd "$dir" && swift package show-dependencies --format flatlist 2>/dev/null | sort -u | wc -l)
    times=()
    for _ in $(seq "$runs"); do
        rm -rf "$dir/.build"
        (cd "$dir" && swift package resolve >/dev/null 2>&1)
        start=$(date +%s.%N)
        (cd "$dir" && swift build >"$work/build.log" 2>&1) || { tail -20 "$work/build.log"; exit 1; }
        times+=("$(echo "$(date +%s.%N) - $start" | bc)")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%s: %s packages resolved; first build %.1f s (median of %s)\n' "$sdk" "$packages" "$median" "$runs"
    (cd "$dir" && swift package show-dependencies --format flatlist 2>/dev/null | sort -u | sed 's/^/  /')
done

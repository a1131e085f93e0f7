#!/usr/bin/env bash
# The packages' figures: each .deb's size and installed size; `pg --help` and `pg messages PEER`
# of the installed pg (the packages installed on this machine with dpkg, purged at the end) beside
# the build tree's, a static-runtime build's (STATIC_BIN, optional: a folder with a pg built with
# PG_STATIC_RUNTIME=1) and sqlite3 running the same query on the same cache; and the time
# scripts/package takes from a warm build (PACKAGE_TIME=1). Root (dpkg).
# Usage: Tools/Benchmarks/cli/package-figures.sh DIST    (DIST: scripts/package's output)
dist="$(cd "${1:?usage: package-figures.sh DIST}" && pwd)"
runs=${BENCH_RUNS:-40}
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "error: installs the packages with dpkg: root only" >&2; exit 77; }
echo "== packages"
total_deb=0 total_installed=0
for deb in "$dist"/*.deb; do
    size=$(stat -c %s "$deb") installed=$(dpkg-deb -f "$deb" Installed-Size)
    total_deb=$((total_deb + size)) total_installed=$((total_installed + installed))
    printf '%-42s %6.1f MB, installed %6.1f MB\n' "$(basename "$deb")" "$(echo "$size / 1000000" | bc -l)" "$(echo "$installed / 1000" | bc -l)"
done
printf '%-42s %6.1f MB, installed %6.1f MB\n' "all seven" "$(echo "$total_deb / 1000000" | bc -l)" "$(echo "$total_installed / 1000" | bc -l)"
if [ -n "${PACKAGE_TIME:-}" ]; then
    started=$(date +%s.%N)
    (cd .. && scripts/package --output "$work/dist" >/dev/null 2>&1)  # lib.sh runs in Tools/
    printf 'scripts/package from a warm build: %.1f s\n' "$(echo "$(date +%s.%N) - $started" | bc -l)"
fi
packages=(libplusguidance0 libplusguidance-dev pg pg-syncd pg-server python3-plusguidance)
trap 'dpkg --purge "${packages[@]}" >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
dpkg -i "$dist"/libplusguidance0_*.deb "$dist"/libplusguidance-dev_*.deb "$dist"/pg_*.deb \
    "$dist"/pg-syncd_*.deb "$dist"/pg-server_*.deb "$dist"/python3-plusguidance_*.deb >/dev/null
echo "== start-up (hyperfine, $runs runs, medians)"
echo alice-pass | /usr/bin/pg --profile "$work/alice" login alice@example.com --password-stdin >/dev/null
for i in $(seq 200); do /usr/bin/pg --profile "$work/alice" send --no-wait therapist@example.com "text $i" >/dev/null; done
/usr/bin/pg --profile "$work/alice" sync >/dev/null
cache=$(find "$work/alice" -name 'cache.sqlite' | head -1)
query="SELECT body FROM message WHERE conversationID = (SELECT conversationID FROM message LIMIT 1) ORDER BY createdAt DESC LIMIT 20"
commands=("/usr/bin/pg --help" "$bin/pg --help")
[ -n "${STATIC_BIN:-}" ] && commands+=("$STATIC_BIN/pg --help")
commands+=("sqlite3 -version" "/usr/bin/pg --profile $work/alice messages therapist@example.com"
    "$bin/pg --profile $work/alice messages therapist@example.com")
[ -n "${STATIC_BIN:-}" ] && commands+=("$STATIC_BIN/pg --profile $work/alice messages therapist@example.com")
commands+=("sqlite3 $cache '$query'")
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/startup.json" "${commands[@]}" >/dev/null
python3 - "$work/startup.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
sqlite = {r["command"].split()[1] if r["command"].startswith("sqlite3 -") else "query": r["median"]
          for r in results if r["command"].startswith("sqlite3")}
for result in results:
    base = sqlite["-version"] if "--help" in result["command"] or "-version" in result["command"] else sqlite["query"]
    print(f"median {1000 * result['median']:6.2f} ms  {result['median'] / base:4.1f}x sqlite3  {result['command'][:90]}")
PY

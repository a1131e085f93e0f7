#!/usr/bin/env bash
# CurlHTTPClient against URLSession and the curl CLI (the same libcurl, no Swift) on one fast
# local server (nginx from Debian, one worker, `return 200 "ok"`), in the same run.
#
#   Benchmarks/networking-benchmark.sh [requests]
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd Tools  # the package that builds the benchmarks
requests="${1:-20000}"
command -v nginx >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq nginx-light >/dev/null; }
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    server { listen 127.0.0.1:$port; location / { return 200 "ok"; } }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.5
url="http://127.0.0.1:$port/"
swift build -c release --product networking-benchmark >/dev/null
"$(swift build -c release --show-bin-path)/networking-benchmark" "$url" "$requests"

# The C baseline: the curl CLI on the same libcurl, one process, every URL from a config file.
for _ in $(seq 1 "$requests"); do echo "url = \"$url\""; echo 'output = "/dev/null"'; done > "$work/urls"
measure() { python3 -c "import subprocess,sys,time; t=time.perf_counter(); subprocess.run(sys.argv[1:], check=True); print(f'{$requests/(time.perf_counter()-t):8.0f}')" "$@"; }
echo "curl CLI, serial keep-alive:   $(measure curl -s -K "$work/urls") req/s"
echo "curl CLI, 8 parallel:          $(measure curl -s --no-progress-meter --parallel --parallel-max 8 -K "$work/urls") req/s"

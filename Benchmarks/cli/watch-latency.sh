#!/usr/bin/env bash
# pg watch event latency and the cost of unread counts (issue "Unread counts, read receipts,
# pg watch"), release build:
#  - a text sent by Alice (HTTP, straight to pg-server) until Theo's `pg --json watch` prints its
#    line: p50/p99 over BENCH_MESSAGES texts, on a profile pg-syncd keeps live and on one where
#    the watch keeps the connection itself;
#  - `pg --json clients` (unread counts from the cache) with BENCH_UNREAD unread texts, beside
#    the same command once they are read (hyperfine medians).
# Usage: Benchmarks/cli/watch-latency.sh
messages=${BENCH_MESSAGES:-200}
unread=${BENCH_UNREAD:-10000}
source "$(dirname "$0")/lib.sh"
for profile in daemon alone; do
    echo therapist-pass | "$bin/pg" --profile "$work/$profile" login therapist@example.com --password-stdin >/dev/null
done
"$bin/pg-syncd" --profile "$work/daemon" 2>/dev/null &
sleep 2
python3 - "$bin" "$work" "$PG_SERVER" "$messages" "$unread" <<'PY'
import json, os, select, statistics, subprocess, sys, time, urllib.request, uuid

bin, work, server, count, unread = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

def call(method, path, body=None, token=None, key=None):
    request = urllib.request.Request(server + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token: request.add_header("Authorization", "Bearer " + token)
    if key: request.add_header("Idempotency-Key", key)
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)

token = call("POST", "/v1/auth/login", {"email": "alice@example.com", "password": "alice-pass"})["accessToken"]

def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

for profile in ["daemon", "alone"]:
    watch = subprocess.Popen([bin + "/pg", "--profile", f"{work}/{profile}", "--json", "watch"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time.sleep(2)
    pending = b""
    def lines(deadline):
        global pending
        while time.monotonic() < deadline:
            ready, _, _ = select.select([watch.stdout], [], [], max(0, deadline - time.monotonic()))
            if not ready: return
            chunk = os.read(watch.stdout.fileno(), 65536)
            if not chunk: return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                yield json.loads(line)
    samples = []
    for i in range(count + 10):
        body = f"latency {profile} {i} {uuid.uuid4().hex}"
        start = time.monotonic()
        call("POST", "/v1/conversations/usr_therapist/messages", {"body": body}, token, "k-" + uuid.uuid4().hex)
        for event in lines(start + 10):
            if event.get("event") == "message" and event["message"]["body"] == body:
                if i >= 10: samples.append(1000 * (time.monotonic() - start))
                break
        else:
            print(f"{profile}: no line for text {i}", file=sys.stderr)
    watch.terminate()
    print(f"watch latency, {profile:6}: p50 {percentile(samples, 50):6.2f} ms  p99 {percentile(samples, 99):6.2f} ms"
          f"  max {max(samples):6.2f} ms  ({len(samples)} texts, send to line printed)")
    watch.wait()

# Unread counts: `pg clients` with many unread texts, then with none.
for start in range(0, unread, 100):
    actions = [{"key": "u-" + uuid.uuid4().hex, "op": "send_message", "peer": "usr_therapist", "body": f"unread {start + n}"}
               for n in range(min(100, unread - start))]
    call("POST", "/v1/batch", {"actions": actions}, token)
subprocess.run([bin + "/pg", "--profile", f"{work}/alone", "sync"], check=True, stdout=subprocess.DEVNULL)
clients = json.loads(subprocess.run([bin + "/pg", "--profile", f"{work}/alone", "--json", "clients"],
                                    check=True, capture_output=True).stdout)
print("unread before:", {c["email"]: c["unread"] for c in clients})
command = f"{bin}/pg --profile {work}/alone --json clients"
subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", "30", "--export-json", f"{work}/unread.json", command],
               check=True, stdout=subprocess.DEVNULL)
subprocess.run([bin + "/pg", "--profile", f"{work}/alone", "read", "alice@example.com"], check=True, stdout=subprocess.DEVNULL)
clients = json.loads(subprocess.run(command.split(), check=True, capture_output=True).stdout)
print("unread after pg read:", {c["email"]: c["unread"] for c in clients})
subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", "30", "--export-json", f"{work}/read.json", command],
               check=True, stdout=subprocess.DEVNULL)
for name, label in [("unread", f"{unread} unread"), ("read", "0 unread")]:
    result = json.load(open(f"{work}/{name}.json"))["results"][0]
    print(f"pg --json clients, {label:>12}: median {1000 * result['median']:6.2f} ms")
PY

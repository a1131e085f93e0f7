#!/usr/bin/env bash
# pg watch event latency and the cost of unread counts (issue "Unread counts, read receipts,
# pg watch"), release build:
#  - a text sent by Alice (HTTP, straight to pg-server) until Theo's `pg --json watch` prints its
#    line: p50/p99 over BENCH_MESSAGES texts, on a profile pg-syncd keeps live and on one where
#    the watch keeps the connection itself;
#  - `pg --json clients` (unread counts from the cache) with BENCH_UNREAD unread texts, beside
#    the same command once they are read (hyperfine medians).
# Usage: Benchmarks/cli/watch-latency.sh
#        BASELINE_BIN=DIR Benchmarks/cli/watch-latency.sh
#   With BASELINE_BIN (the release folder of another checkout), its `pg watch` runs beside this
#   one on the same texts: on the same daemon profile, and alone on a profile of its own.
messages=${BENCH_MESSAGES:-200}
unread=${BENCH_UNREAD:-10000}
source "$(dirname "$0")/lib.sh"
profiles="daemon alone"
[ -n "${BASELINE_BIN:-}" ] && profiles="$profiles alone-baseline"
for profile in $profiles; do
    echo therapist-pass | "$bin/pg" --profile "$work/$profile" login therapist@example.com --password-stdin >/dev/null
done
"$bin/pg-syncd" --profile "$work/daemon" 2>/dev/null &
sleep 2
python3 - "$bin" "$work" "$PG_SERVER" "$messages" "$unread" "${BASELINE_BIN:-}" <<'PY'
import json, os, select, statistics, subprocess, sys, time, urllib.request, uuid

bin, work, server, count, unread, baseline = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]

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

class Watch:
    def __init__(self, label, binary, profile):
        self.label, self.pending, self.samples = label, b"", []
        self.process = subprocess.Popen([binary + "/pg", "--profile", f"{work}/{profile}", "--json", "watch"],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    def bodies(self):
        chunk = os.read(self.process.stdout.fileno(), 65536)
        self.pending += chunk
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            event = json.loads(line)
            if event.get("event") == "message": yield event["message"]["body"]

# Each phase's watches see the same texts: a baseline binary is measured in the same run, send by send.
phases = [[("daemon", bin, "daemon")], [("alone", bin, "alone")]]
if baseline:
    phases[0].append(("daemon, baseline", baseline, "daemon"))
    phases[1].append(("alone, baseline", baseline, "alone-baseline"))
for phase in phases:
    watches = [Watch(*spec) for spec in phase]
    time.sleep(2)
    for i in range(count + 10):
        body = f"latency {i} {uuid.uuid4().hex}"
        start = time.monotonic()
        call("POST", "/v1/conversations/usr_therapist/messages", {"body": body}, token, "k-" + uuid.uuid4().hex)
        waiting = {w.process.stdout.fileno(): w for w in watches}
        while waiting and time.monotonic() < start + 10:
            ready, _, _ = select.select(list(waiting), [], [], max(0, start + 10 - time.monotonic()))
            for fd in ready:
                watch = waiting[fd]
                if body in watch.bodies():
                    if i >= 10: watch.samples.append(1000 * (time.monotonic() - start))
                    del waiting[fd]
        for watch in waiting.values(): print(f"{watch.label}: no line for text {i}", file=sys.stderr)
    for watch in watches:
        watch.process.terminate()
        watch.process.wait()
        s = watch.samples
        print(f"watch latency, {watch.label:17}: p50 {percentile(s, 50):6.2f} ms  p99 {percentile(s, 99):6.2f} ms"
              f"  max {max(s):6.2f} ms  ({len(s)} texts, send to line printed)")

# Unread counts: `pg clients` with many unread texts, then with none. The daemon goes first: it
# follows the same account, and ingesting the texts (and their readAt after `pg read`) beside
# the measurement would be measured too.
subprocess.run(["pkill", "-f", f"pg-syncd --profile {work}/daemon"])
time.sleep(1)
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

#!/usr/bin/env bash
# How long a profile's views are wrong after a clock step (issue "Server time holds", R12):
#  - the device's calendar clock stepped under pg-syncd (it starts BENCH_OFFSET seconds off, NTP
#    puts it right 5 s later; libPGClockShim.so): the error of the first `pg session` after the
#    step against the server's own countdown, and whether `pg accept` of a fresh offer is taken;
#  - the server's clock stepped an hour (its test clock): the time until `pg session` on the
#    daemon's profile agrees with the server, and on a profile without a daemon, the error after
#    one `pg sync`.
# Each over BENCH_RUNS runs; prints every run and the medians. Debug build by default (the figures
# are about correctness in time, not speed); PG_BIN=DIR to use another build's binaries.
# Usage: Benchmarks/cli/clock-step.sh    BENCH_RUNS=5 BENCH_OFFSET=-7200
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [ -z "${PG_BIN:-}" ]; then
    swift build --product pg >/dev/null && swift build --product pg-syncd >/dev/null
    swift build --product pg-server >/dev/null && swift build --product PGClockShim >/dev/null
    PG_BIN=$(swift build --show-bin-path)
fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config"
python3 - "$PG_BIN" "$work" "${BENCH_RUNS:-5}" "${BENCH_OFFSET:--7200}" <<'PY'
import calendar, json, os, statistics, subprocess, sys, time, urllib.request, uuid

bin, work, runs, offset = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
shim = os.path.join(bin, "libPGClockShim.so")

def seconds(stamp):
    """An RFC 3339 UTC time (`2027-01-15T08:00:00.123Z`) in seconds since 1970."""
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + stamp[19:-1])

def start_server(folder):
    out = open(os.path.join(folder, "server.out"), "w+")
    server = subprocess.Popen([f"{bin}/pg-server", "--port", "0", "--database", f"{folder}/server.sqlite", "--seed",
                               "demo", "--test-clock", "--log-level", "warning"], stdout=out, stderr=subprocess.DEVNULL)
    for _ in range(400):
        out.seek(0)
        line = out.readline()
        if line.startswith("listening on "):
            return server, line.split()[-1]
        time.sleep(0.05)
    raise SystemExit("pg-server did not start")

class Kiosk:
    def __init__(self, run):
        self.folder = os.path.join(work, f"run{run}")
        os.makedirs(self.folder)
        self.server, self.url = start_server(self.folder)
        self.daemon = None
        self.login()

    def login(self):
        """Signs the therapist in (again after a step of an hour: tokens expire on the server's clock)."""
        self.token = None
        self.token = self.call("POST", "/v1/auth/login", {"email": "therapist@example.com",
                                                          "password": "therapist-pass"})["accessToken"]

    def advance(self, seconds):
        self.call("POST", "/v1/test/clock/advance", {"seconds": seconds})
        self.login()

    def call(self, method, path, body=None):
        request = urllib.request.Request(self.url + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
        request.add_header("Content-Type", "application/json")
        if self.token: request.add_header("Authorization", "Bearer " + self.token)
        if method == "POST": request.add_header("Idempotency-Key", "k_" + uuid.uuid4().hex)
        with urllib.request.urlopen(request) as answer:
            self.last_server_time = answer.headers.get("Server-Time")
            return json.load(answer)

    def server_now(self):
        self.call("GET", "/v1/me")
        return seconds(self.last_server_time)

    def pg(self, who, *arguments, env=None):
        return subprocess.run([f"{bin}/pg", "--server", self.url, "--profile", f"{self.folder}/{who}", *arguments],
                              capture_output=True, text=True, input="alice-pass\n",
                              env={**os.environ, **(env or {})})

    def offer(self, confirm):
        body = {"clientId": "usr_alice", "type": "video", "durationMinutes": 45, "requiresConfirmation": confirm}
        return self.call("POST", "/v1/offers", body)

    def server_countdown(self, session):
        answer = self.call("GET", f"/v1/sessions/{session}")
        return answer["durationMinutes"] * 60 - (self.server_now() - seconds(answer["startsAt"]))

    def shown_error(self, session, env=None):
        shown = json.loads(self.pg("alice", "--json", "session", session, env=env).stdout)
        signed = shown["remainingSeconds"] if shown["remainingSeconds"] > 0 else -shown["overtimeSeconds"]
        return abs(signed - self.server_countdown(session))

    def start_daemon(self, env=None):
        metrics = 20000 + os.getpid() % 20000
        self.daemon = subprocess.Popen([f"{bin}/pg-syncd", "--server", self.url, "--profile", f"{self.folder}/alice",
                                        "--metrics-port", str(metrics)], stderr=subprocess.DEVNULL,
                                       env={**os.environ, **(env or {})})
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics") as page:
                    if b"pg_live 1" in page.read(): return time.monotonic()
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("pg-syncd did not go live")

    def stop(self):
        for process in [self.daemon, self.server]:
            if process: process.terminate(); process.wait()

def wait_until(condition, limit=30):
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit: return None
        time.sleep(0.05)
    return time.monotonic() - started

local_errors, accepted, server_live, server_sync = [], 0, [], []
for run in range(runs):
    kiosk = Kiosk(run)
    try:
        # The device's clock: offset at boot, stepped right 5 s into the daemon's life.
        wrong = {"LD_PRELOAD": shim, "PG_CLOCK_OFFSET": str(offset)}
        kiosk.pg("alice", "login", "alice@example.com", "--password-stdin", env=wrong)
        started = time.monotonic()
        kiosk.start_daemon({**wrong, "PG_CLOCK_STEP_AFTER": "5"})
        time.sleep(max(0, started + 5.2 - time.monotonic()))
        offer = kiosk.offer(True)
        wait_until(lambda: offer["id"] in kiosk.pg("alice", "offers").stdout)
        if kiosk.pg("alice", "accept", offer["id"]).returncode == 0: accepted += 1
        # The countdown of a session that starts now (one without confirmation: the accept may
        # have been refused).
        session = kiosk.offer(False)["sessionId"]
        wait_until(lambda: session in kiosk.pg("alice", "sessions").stdout)
        local_errors.append(kiosk.shown_error(session))

        # The server's clock steps an hour: the daemon's profile, then one without a daemon.
        kiosk.advance(3600)
        stepped = kiosk.offer(False)["sessionId"]
        server_live.append(wait_until(lambda: stepped in kiosk.pg("alice", "sessions").stdout
                                      and kiosk.shown_error(stepped) <= 1))
        kiosk.daemon.terminate(); kiosk.daemon.wait(); kiosk.daemon = None
        kiosk.advance(3600)
        kiosk.pg("alice", "sync")
        server_sync.append(kiosk.shown_error(stepped))
    finally:
        kiosk.stop()
    print(f"run {run + 1}: local step: first pg session after it {local_errors[-1]:.2f} s off; "
          f"server step: live profile right after {server_live[-1]:.2f} s, after a pg sync {server_sync[-1]:.2f} s off",
          flush=True)

print(f"local step of {offset} s: accept of a fresh offer taken {accepted}/{runs}; "
      f"first pg session after the step off by median {statistics.median(local_errors):.2f} s "
      f"(max {max(local_errors):.2f})")
print(f"server step of 1 h: live profile right after median {statistics.median(server_live):.2f} s "
      f"(max {max(server_live):.2f}); without a daemon, after a pg sync off by median "
      f"{statistics.median(server_sync):.2f} s (max {max(server_sync):.2f})")
PY

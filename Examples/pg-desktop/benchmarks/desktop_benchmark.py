"""pg-desktop's figures, side by side (run by scripts/desktop-benchmark under Xvfb):
- start to first frame, signed in with 10k cached messages, against the same app on an empty
  profile (its sign-in page): what the cache costs at start;
- a text sent by another process until its row is in the widget tree, p50/p99 over 100, against
  the same text reaching a headless Python client on the SDK's descriptor (what the UI adds);
- CPU and resident memory of the app while idle, signed in and live (before the texts)."""
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import plusguidance  # noqa: E402
from conftest import PASSWORDS, Person, Server  # noqa: E402

PREFIX = os.environ["PG_PREFIX"]
RUNS = int(os.environ.get("PG_BENCH_RUNS", "5"))
TEXTS = int(os.environ.get("PG_BENCH_TEXTS", "100"))
CACHED = int(os.environ.get("PG_BENCH_CACHED", "10000"))
GAP = float(os.environ.get("PG_BENCH_GAP", "0.2"))


def resident(pid):
    with open(f"/proc/{pid}/status") as file:
        return next(int(line.split()[1]) for line in file if line.startswith("VmRSS")) / 1024


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def launch(person, trace):
    environment = dict(os.environ, PG_DESKTOP_TRACE=trace)
    return subprocess.Popen([os.path.join(PREFIX, "bin", "pg-desktop"), "--server", person.server.url, "--profile",
                             person.profile, "--key-file", person.key_file], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def traced(trace, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(trace):
            with open(trace) as file:
                for line in file:
                    stamp, _, rest = line.strip().partition(" ")
                    if rest == what:
                        return float(stamp)
        time.sleep(0.002)
    raise TimeoutError(what)


def stop(process):
    process.terminate()
    process.wait(timeout=30)


def first_frame(person, folder, label):
    samples = []
    for run in range(RUNS):
        trace = os.path.join(folder, f"{label}-{run}.trace")
        started = time.monotonic()
        process = launch(person, trace)
        samples.append(traced(trace, "first-frame") - started)
        stop(process)
    return samples


def main():
    folder = tempfile.mkdtemp(prefix="pg-desktop-bench-")
    server = Server(folder)
    server.start()
    therapist = Person("therapist@example.com", server, folder).login()
    alice = Person("alice@example.com", server, folder).login()
    empty = Person("bob@example.com", server, folder)
    print(f"seeding {CACHED} texts…", file=sys.stderr)
    with plusguidance.Client(server=server.url, profile=alice.profile, key_file=alice.key_file) as client:
        for index in range(CACHED):
            client.send("therapist@example.com", f"cached text {index}")
    therapist.pg("sync")

    cached = first_frame(therapist, folder, "cached")
    bare = first_frame(empty, folder, "empty")
    print(f"start to first frame, {CACHED} cached: p50 {statistics.median(cached) * 1000:.0f} ms "
          f"(runs {', '.join(f'{s * 1000:.0f}' for s in cached)}); empty profile p50 "
          f"{statistics.median(bare) * 1000:.0f} ms; ratio {statistics.median(cached) / statistics.median(bare):.2f}")

    # Texts: Alice (another process: this one) to the therapist's open window, and to a
    # headless client of the therapist's on a second profile, on its descriptor.
    trace = os.path.join(folder, "texts.trace")
    app = launch(therapist, trace)
    traced(trace, "first-frame")
    # Idle: signed in, live, nothing happening.
    idle = int(os.environ.get("PG_BENCH_IDLE", "60"))
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu():
        with open(f"/proc/{app.pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    def threads():
        used = {}
        for task in os.listdir(f"/proc/{app.pid}/task"):
            try:
                with open(f"/proc/{app.pid}/task/{task}/stat") as file:
                    name, fields = file.read().split("(", 1)[1].rsplit(")", 1)
                fields = fields.split()
                used[(task, name)] = int(fields[11]) + int(fields[12])
            except OSError:
                continue
        return used

    time.sleep(15)  # start-up settles (first sync, going live, the caret's 5 s of blinking)
    before, started, per_thread = cpu(), time.monotonic(), threads()
    time.sleep(idle)
    used = cpu() - before
    busy = {key: ticks - per_thread.get(key, 0) for key, ticks in threads().items()}
    busy = sorted(((ticks, name) for (_, name), ticks in busy.items() if ticks), reverse=True)
    if busy:
        print("  busy threads (ticks): " + ", ".join(f"{name} {ticks}" for ticks, name in busy[:6]))
    print(f"idle {idle} s, signed in and live, {CACHED} cached: CPU {used / (time.monotonic() - started) * 100:.3f}% "
          f"of a core; RSS {resident(app.pid):.1f} MiB")
    headless_profile = Person("therapist@example.com", server, os.path.join(folder, "headless"))
    os.makedirs(os.path.dirname(headless_profile.profile), exist_ok=True)
    headless = plusguidance.Client(server=server.url, profile=headless_profile.profile, key_file=therapist.key_file)
    headless.sign_in("therapist@example.com", PASSWORDS["therapist@example.com"])
    headless.start_live()
    descriptor = headless.fileno()
    time.sleep(3)
    while headless.next_event() is not None:
        pass
    to_widget, to_headless = [], []
    with plusguidance.Client(server=server.url, profile=alice.profile, key_file=alice.key_file) as sender:
        sender.start_live()
        for index in range(TEXTS):
            # One text at a time, apart as a conversation's are: each measures one arrival, not
            # a backlog behind the previous text's frame (llvmpipe draws one in 10-30 ms).
            time.sleep(GAP)
            started = time.monotonic()
            message = sender.send("therapist@example.com", f"timed text {index}")
            arrived = None
            while arrived is None:
                select.select([descriptor], [], [], 10)
                event = headless.next_event()
                if event is not None and event.event == "message" and event.message.id == message.id:
                    arrived = time.monotonic()
            to_headless.append(arrived - started)
            to_widget.append(traced(trace, f"row {message.id}") - started)
    print(f"text to widget tree over {TEXTS}: p50 {statistics.median(to_widget) * 1000:.1f} ms, "
          f"p99 {percentile(to_widget, 99) * 1000:.1f} ms; to a headless client's descriptor: p50 "
          f"{statistics.median(to_headless) * 1000:.1f} ms, p99 {percentile(to_headless, 99) * 1000:.1f} ms; "
          f"ratio p50 {statistics.median(to_widget) / statistics.median(to_headless):.2f}")
    headless.close()
    print(f"RSS after the texts: {resident(app.pid):.1f} MiB")

    stop(app)
    server.stop()


if __name__ == "__main__":
    main()

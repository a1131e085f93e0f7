"""pg-desktop over time (run by scripts/desktop-soak under Xvfb): the therapist's window open on
a practice of 32 clients (`pg-server --seed practice`) for PG_SOAK_MINUTES, while the clients
come and go (live on and off: presence events) and write to the therapist (a text every couple
of seconds, spread over all of them); the app's resident memory each minute and its CPU."""
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import plusguidance  # noqa: E402
from conftest import Person, Server  # noqa: E402

PREFIX = os.environ["PG_PREFIX"]
MINUTES = float(os.environ.get("PG_SOAK_MINUTES", "60"))
EVERY = float(os.environ.get("PG_SOAK_EVERY", "2"))


def resident(pid):
    with open(f"/proc/{pid}/status") as file:
        return next(int(line.split()[1]) for line in file if line.startswith("VmRSS")) / 1024


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    folder = tempfile.mkdtemp(prefix="pg-desktop-soak-")
    server = Server(folder, seed="practice")
    server.start()
    therapist = Person("therapist@example.com", server, folder).login()
    key_file = therapist.key_file
    clients = []
    for index in range(1, 31):
        email = f"client{index:02}@example.com"
        client = plusguidance.Client(server=server.url, profile=os.path.join(folder, email.split("@")[0]),
                                     key_file=key_file)
        client.sign_in(email, email.split("@")[0] + "-pass")
        clients.append([client, False])
    app = subprocess.Popen([os.path.join(PREFIX, "bin", "pg-desktop"), "--server", server.url, "--profile",
                            therapist.profile, "--key-file", key_file],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(folder, "app.log"), "w"))
    time.sleep(5)
    random.seed(1)
    started, samples, sent, flips = time.monotonic(), [], 0, 0
    cpu_start = cpu_seconds(app.pid)
    next_sample = started
    while time.monotonic() - started < MINUTES * 60:
        assert app.poll() is None, "pg-desktop exited during the soak"
        now = time.monotonic()
        if now >= next_sample:
            samples.append((round((now - started) / 60, 1), resident(app.pid)))
            print(f"minute {samples[-1][0]:5.1f}: RSS {samples[-1][1]:.1f} MiB, {sent} texts, {flips} presence changes",
                  file=sys.stderr, flush=True)
            next_sample += 60
        entry = random.choice(clients)
        client, live = entry
        if random.random() < 0.7:
            client.send("therapist@example.com", f"soak text {sent}")
            sent += 1
        else:
            (client.stop_live if live else client.start_live)()
            entry[1] = not live
            flips += 1
        time.sleep(EVERY)
    samples.append((round((time.monotonic() - started) / 60, 1), resident(app.pid)))
    cpu = (cpu_seconds(app.pid) - cpu_start) / (time.monotonic() - started) * 100
    first, last = samples[1][1] if len(samples) > 1 else samples[0][1], samples[-1][1]
    print(f"soak {MINUTES:g} min, 32 clients, {sent} texts, {flips} presence changes: RSS at minute 1 "
          f"{first:.1f} MiB, at the end {last:.1f} MiB (max {max(r for _, r in samples):.1f}, median "
          f"{statistics.median(r for _, r in samples):.1f}); CPU {cpu:.2f}% of a core on average")
    app.terminate()
    app.wait(timeout=30)
    for client, _ in clients:
        client.close()
    server.stop()


if __name__ == "__main__":
    main()

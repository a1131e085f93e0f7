"""Fixtures: a real pg-server (`--test-clock`, seeded) from the installed prefix, and clients
on profiles in tmp_path, signed in. PG_PREFIX names the prefix (scripts/install --prefix);
the package loads the library from PLUSGUIDANCE_LIBRARY, else the system loader."""
import json
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

import plusguidance

PREFIX = os.environ.get("PG_PREFIX", "/usr/local")
PASSWORDS = {
    "therapist@example.com": "therapist-pass",
    "alice@example.com": "alice-pass",
    "bob@example.com": "bob-pass",
    "other@example.com": "other-pass",
    "carol@example.com": "carol-pass",
}


def command(name):
    return os.path.join(PREFIX, "bin", name)


class Server:
    """pg-server on loopback; `stop()` and `start()` keep its port and database."""

    def __init__(self, folder):
        self.folder = folder
        self.port = 0
        self.process = None
        self.url = None

    def start(self):
        log = open(os.path.join(self.folder, "server.log"), "a")
        self.process = subprocess.Popen(
            [command("pg-server"), "--host", "127.0.0.1", "--port", str(self.port), "--seed", "demo", "--test-clock",
             "--database", os.path.join(self.folder, "server.sqlite"), "--exit-with-stdin"],
            # The server exits when this pipe closes: a test process that dies takes it along.
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.process.stdout.readline()
        match = re.match(r"listening on (http://127\.0\.0\.1:(\d+))", line)
        assert match, f"pg-server said {line!r}"
        self.url, self.port = match.group(1), int(match.group(2))

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.process.stdout.close()
        self.process.stdin.close()

    def advance(self, seconds):
        request = urllib.request.Request(
            self.url + "/v1/test/clock/advance", data=json.dumps({"seconds": seconds}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=10).read()


@pytest.fixture
def server(tmp_path):
    server = Server(str(tmp_path))
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def key_file(tmp_path):
    return str(tmp_path / "key")


@pytest.fixture
def open_client(server, tmp_path, key_file):
    """open_client(email) -> a Client signed in as `email` on its own profile."""
    opened = []

    def open_client(email, sign_in=True, profile=None, **options):
        profile = profile or str(tmp_path / email.split("@")[0])
        client = plusguidance.Client(server=server.url, profile=profile, key_file=key_file, **options)
        opened.append(client)
        if sign_in:
            client.sign_in(email, PASSWORDS[email])
        return client

    yield open_client
    for client in opened:
        client.close()


def wait_for(predicate, timeout=20, every=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)

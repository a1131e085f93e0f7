"""Fixtures: a real pg-server (`--test-clock`, seeded) and pg-desktop processes from the
installed prefix (PG_PREFIX), on profiles in tmp_path, under the Xvfb display and private
D-Bus session scripts/check-desktop starts; and the desktop's notification server."""
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from desktop import App, wait_for  # noqa: F401 (the tests import wait_for from here)

PREFIX = os.environ.get("PG_PREFIX", "/usr/local")
PASSWORDS = {
    "therapist@example.com": "therapist-pass",
    "alice@example.com": "alice-pass",
    "bob@example.com": "bob-pass",
}


def command(name):
    return os.path.join(PREFIX, "bin", name)


class Server:
    """pg-server on loopback; `stop()` and `start()` keep its port and database."""

    def __init__(self, folder, seed="demo"):
        self.folder, self.port, self.process, self.url, self.seed = folder, 0, None, None, seed

    def start(self):
        log = open(os.path.join(self.folder, "server.log"), "a")
        self.process = subprocess.Popen(
            [command("pg-server"), "--host", "127.0.0.1", "--port", str(self.port), "--seed", self.seed, "--test-clock",
             "--presence-window", "5", "--database", os.path.join(self.folder, "server.sqlite"),
             "--exit-with-stdin"],
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

    def now(self):
        """The server's (test) clock, from an answer's `Server-Time`."""
        with urllib.request.urlopen(self.url + "/v1/health", timeout=10) as response:
            return datetime.datetime.fromisoformat(response.headers["Server-Time"].replace("Z", "+00:00"))

    def advance(self, seconds):
        request = urllib.request.Request(
            self.url + "/v1/test/clock/advance", data=json.dumps({"seconds": seconds}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=10).read()


class Person:
    """Someone's profile: `pg` commands on it, and the app opened on it."""

    def __init__(self, email, server, folder):
        self.email, self.server = email, server
        self.profile = os.path.join(folder, email.split("@")[0])
        self.key_file = os.path.join(folder, "key")
        self.log = os.path.join(folder, email.split("@")[0] + ".log")
        self.app = None
        self.daemon = None

    def run(self, *arguments, input=None):
        """`pg --json ARGUMENTS` on this profile, as a finished process (its exit code, stdout)."""
        return subprocess.run(
            [command("pg"), "--server", self.server.url, "--profile", self.profile, "--key-file", self.key_file,
             "--json", *arguments], input=input, capture_output=True, text=True, timeout=60)

    def pg(self, *arguments, input=None):
        """`pg --json ARGUMENTS`'s JSON; the command must succeed."""
        result = self.run(*arguments, input=input)
        assert result.returncode == 0, f"pg {arguments[0]}: {result.stderr.strip()}"
        return json.loads(result.stdout) if result.stdout.strip() else None

    def login(self):
        self.pg("login", self.email, "--password-stdin", input=PASSWORDS[self.email] + "\n")
        return self

    def open(self):
        self.app = App(self.server, self.profile, self.key_file, self.log)
        return self.app

    def sync_daemon(self):
        """pg-syncd on the profile (which keeps the person online), stopped with the test."""
        self.daemon = subprocess.Popen(
            [command("pg-syncd"), "--server", self.server.url, "--profile", self.profile, "--key-file", self.key_file],
            stdout=subprocess.DEVNULL, stderr=open(self.log.replace(".log", "-syncd.log"), "a"))
        return self.daemon

    def stop_daemon(self):
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            assert self.daemon.wait(timeout=30) == 0, "pg-syncd did not drain and exit 0 on SIGTERM"


@pytest.fixture(scope="session", autouse=True)
def desktop_session():
    assert os.environ.get("DISPLAY") and os.environ.get("DBUS_SESSION_BUS_ADDRESS"), \
        "run under scripts/check-desktop (Xvfb and a private D-Bus session)"


@pytest.fixture(scope="session")
def notifications(tmp_path_factory):
    """The notification server's record: a list of what it was asked to show, read afresh."""
    record = str(tmp_path_factory.mktemp("notifications") / "record.jsonl")
    process = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "notification_server.py"),
                                record], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"

    class Record:
        path = record

        def all(self):
            if not os.path.exists(record):
                return []
            with open(record) as file:
                return [json.loads(line) for line in file]

        def invoke(self, notification_id, action):
            subprocess.run(["gdbus", "call", "--session", "--dest", "org.freedesktop.Notifications",
                            "--object-path", "/org/freedesktop/Notifications",
                            "--method", "com.plusguidance.Tests.Invoke", str(notification_id), action],
                           check=True, capture_output=True)

    yield Record()
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def server(tmp_path):
    server = Server(str(tmp_path))
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def people(server, tmp_path, notifications):
    """people(email, ...) -> Persons on their own profiles (not yet signed in or opened)."""
    made = []

    def people(*emails):
        found = [Person(email, server, str(tmp_path)) for email in emails]
        made.extend(found)
        return found if len(found) > 1 else found[0]

    yield people
    for person in made:
        if person.app is not None:
            person.app.close()
        person.stop_daemon()


"""One profile shared by pg-syncd, two Python processes and this one, as a kiosk runs it."""
import asyncio
import os
import signal
import subprocess
import sys
import textwrap

from conftest import command, wait_for

SENDER = textwrap.dedent("""
    import sys, plusguidance
    server, profile, key_file, name = sys.argv[1:5]
    with plusguidance.Client(server=server, profile=profile, key_file=key_file) as client:
        for n in range(5):
            message = client.send("therapist@example.com", f"{name} {n}")
            print(message.delivery_state, flush=True)
""")


def test_two_python_processes_and_pg_syncd_share_a_profile(open_client, server, tmp_path, key_file):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    profile = str(tmp_path / "alice")
    daemon = subprocess.Popen(
        [command("pg-syncd"), "--server", server.url, "--profile", profile, "--key-file", key_file],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "syncd.log", "w"))
    try:
        # The daemon keeps the account live: this process sees it online without going live.
        assert wait_for(lambda: alice.status().online)
        senders = [
            subprocess.Popen([sys.executable, "-c", SENDER, server.url, profile, key_file, name],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
            for name in ("first", "second")
        ]
        for sender in senders:
            out, err = sender.communicate(timeout=60)
            assert sender.returncode == 0, err
            assert out.split() == ["sent"] * 5

        therapist.sync()
        bodies = [m.body for m in therapist.messages("alice@example.com")]
        assert sorted(bodies) == sorted(f"{name} {n}" for name in ("first", "second") for n in range(5))
        for name in ("first", "second"):
            assert [b for b in bodies if b.startswith(name)] == [f"{name} {n}" for n in range(5)]

        # What the therapist sends reaches this process through the daemon's cache.
        async def next_text():
            async for event in alice.events():
                if event.event == "message" and event.message.body == "from the therapist":
                    return event.message

        async def main():
            follower = asyncio.ensure_future(next_text())
            await asyncio.sleep(0.3)
            await asyncio.get_running_loop().run_in_executor(None, therapist.send, "alice@example.com", "from the therapist")
            return await asyncio.wait_for(follower, 20)

        assert asyncio.run(main()).sender_id == therapist.whoami().id
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0

"""The rest of the surface: the outbox's failed entries (retry, discard), older pages, the
profile's key (show, rotate), sign-out."""
import os

import pytest

import plusguidance
from plusguidance import OutboxState


def failed_accept(open_client, server, alice):
    """An accept queued offline, refused by the server once back (the offer expired meanwhile):
    a failed outbox entry nobody has reported yet."""
    therapist = open_client("therapist@example.com")
    offer = therapist.offer("alice@example.com", "video", 30)
    alice.sync()
    server.stop()
    assert alice.accept(offer.id).delivered is False
    server.start()
    server.advance(3601)
    alice.sync()  # the refusal is recorded on the entry, for the user to see
    (entry,) = alice.outbox()
    assert entry.state == OutboxState.FAILED and entry.error.code == "offer_expired"
    return entry


def test_a_failed_entry_is_retried_then_reported_or_discarded(open_client, server):
    alice = open_client("alice@example.com", wait=2)
    entry = failed_accept(open_client, server, alice)
    with pytest.raises(plusguidance.RefusedError) as refused:
        alice.retry(entry.id)
    assert refused.value.code == "offer_expired"
    assert alice.outbox() == []  # reported, so gone

    entry = failed_accept(open_client, server, alice)
    alice.discard(entry.id)
    assert alice.outbox() == []
    with pytest.raises(plusguidance.InvalidError) as unknown:
        alice.discard(entry.id)
    assert unknown.value.code == "unknown_outbox_entry"


def test_older_pages_come_from_the_server(open_client, server, tmp_path, key_file):
    therapist = open_client("therapist@example.com")
    for n in range(120):
        therapist.send("alice@example.com", f"text {n}")
    alice = open_client("alice@example.com")
    shown = alice.messages("therapist@example.com", limit=1000)
    loaded = 0
    while True:
        arrived = alice.load_older_messages("therapist@example.com", limit=50)
        if arrived == 0:
            break
        loaded += arrived
    bodies = [m.body for m in alice.messages("therapist@example.com", limit=1000)]
    assert bodies == [f"text {n}" for n in range(120)]
    assert len(shown) + loaded == 120


def test_the_key_is_shown_never_revealed_and_rotates(open_client, server, tmp_path, key_file):
    alice = open_client("alice@example.com")
    shown = alice.key_show()
    assert shown["key"] == key_file and shown["exists"] is True
    secret = open(key_file, "rb").read()
    assert secret.hex() not in str(shown) and secret not in str(shown).encode()

    new_key = str(tmp_path / "new-key")
    rotated = alice.key_rotate(new_key)
    assert rotated["key"] == new_key and rotated["rewrapped"] >= 1
    assert os.stat(new_key).st_mode & 0o777 == 0o600
    alice.close()
    profile = str(tmp_path / "alice")
    with pytest.raises(plusguidance.UnauthorizedError) as refused:
        plusguidance.Client(server=server.url, profile=profile, key_file=key_file).messages("therapist@example.com")
    assert refused.value.code == "key_unavailable"
    with plusguidance.Client(server=server.url, profile=profile, key_file=new_key) as again:
        assert again.whoami().email == "alice@example.com"


def test_sign_out_ends_the_account_on_the_profile(open_client, server, tmp_path, key_file):
    alice = open_client("alice@example.com")
    alice.send("therapist@example.com", "before sign-out")
    alice.sign_out()
    with pytest.raises(plusguidance.UnauthorizedError) as refused:
        alice.messages("therapist@example.com")
    assert refused.value.code == "not_signed_in"
    with plusguidance.Client(server=server.url, profile=str(tmp_path / "alice"), key_file=key_file) as again:
        with pytest.raises(plusguidance.UnauthorizedError):
            again.whoami()

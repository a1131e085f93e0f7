"""R1 and the other refusals: a typed error with the library's stable code, nothing queued."""
import pytest

import plusguidance


def test_a_client_cannot_offer(open_client):
    alice = open_client("alice@example.com")
    with pytest.raises(plusguidance.RefusedError) as refused:
        alice.offer("therapist@example.com", "video", 30)
    assert refused.value.code == "therapist_only"


def test_nobody_reaches_another_pair(open_client):
    other = open_client("other@example.com")
    with pytest.raises(plusguidance.RefusedError) as refused:
        other.send("alice@example.com", "hello")
    assert refused.value.code == "not_a_contact"
    with pytest.raises(plusguidance.RefusedError) as refused:
        other.offer("alice@example.com", "voice", 30)
    assert refused.value.code == "not_a_contact"
    assert other.outbox() == []


def test_an_offer_needs_the_client_online(open_client, server):
    therapist = open_client("therapist@example.com")
    # Bob never signed in: not online (R2).
    with pytest.raises(plusguidance.RefusedError) as refused:
        therapist.offer("bob@example.com", "chat", 20)
    assert refused.value.code == "client_offline"


def test_a_client_cannot_answer_another_clients_offer(open_client, tmp_path):
    therapist, alice, bob = (open_client(e) for e in ("therapist@example.com", "alice@example.com", "bob@example.com"))
    offer = therapist.offer("bob@example.com", "video", 30)
    with pytest.raises(plusguidance.Error) as refused:
        alice.accept(offer.id)
    assert refused.value.code in ("not_offer_recipient", "not_found")
    assert alice.outbox() == []


def test_invalid_offers_are_refused_at_once(open_client):
    therapist = open_client("therapist@example.com")
    with pytest.raises(plusguidance.InvalidError) as invalid:
        therapist.offer("alice@example.com", "hologram", 30)
    assert invalid.value.code == "unknown_session_type"
    with pytest.raises(plusguidance.InvalidError) as invalid:
        therapist.offer("alice@example.com", "video", 0)
    assert invalid.value.code == "invalid_duration"


def test_wrong_credentials_say_so_without_the_password(open_client):
    client = open_client("alice@example.com", sign_in=False)
    with pytest.raises(plusguidance.UnauthorizedError) as refused:
        client.sign_in("alice@example.com", "hunter2-secret")
    assert refused.value.code == "bad_credentials"
    assert "hunter2" not in str(refused.value) and "hunter2" not in repr(refused.value)
    with pytest.raises(plusguidance.UnauthorizedError) as refused:
        client.whoami()
    assert refused.value.code == "not_signed_in"

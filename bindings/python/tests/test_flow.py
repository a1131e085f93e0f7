"""The seed's Instant Session flow through the Python package, against a real pg-server."""
import datetime

import pytest

import plusguidance
from plusguidance import MessageKind, OfferState, SessionState, SessionType


def offer_to_alice(therapist, **options):
    options.setdefault("requires_confirmation", True)
    return therapist.offer("alice@example.com", "video", 50, **options)


def test_an_offer_with_confirmation_becomes_a_session_when_the_client_accepts(open_client):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    offer = offer_to_alice(therapist)
    assert offer.state == "pending" and offer.state is OfferState.PENDING
    assert offer.type == SessionType.VIDEO and offer.duration_minutes == 50 and offer.requires_confirmation
    assert offer.session_id is None
    assert offer.expires_at - offer.created_at == datetime.timedelta(hours=1)
    assert offer.created_at.tzinfo is not None

    alice.sync()
    assert [o.id for o in alice.offers()] == [offer.id]
    answer = alice.accept(offer.id)
    assert answer.delivered is True and answer.action == "accept"
    # The call's effect is visible to the next read (R9); the server's messages come with a sync.
    assert alice.offers()[0].state == OfferState.ACCEPTED
    alice.sync()
    alice_messages = alice.messages("therapist@example.com")
    ready = [m for m in alice_messages if m.kind == MessageKind.SESSION_READY]
    assert len(ready) == 1 and "ready" in ready[0].body.lower()
    therapist.sync()
    sessions = therapist.sessions()
    assert len(sessions) == 1 and sessions[0].id == ready[0].session_id
    assert sessions[0].state in (SessionState.IN_PROGRESS, SessionState.SCHEDULED)
    assert therapist.offers()[0].state == OfferState.ACCEPTED
    links = [m for m in therapist.messages("alice@example.com") if m.kind == MessageKind.SESSION_LINK]
    assert len(links) == 1


def test_an_offer_without_confirmation_is_a_session_at_once(open_client):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    offer = offer_to_alice(therapist, requires_confirmation=False)
    assert offer.session_id is not None
    session = therapist.session(offer.session_id)
    assert session.duration_minutes == 50 and 0 < session.remaining_seconds <= 50 * 60
    alice.sync()
    assert [s.id for s in alice.sessions()] == [offer.session_id]


def test_a_declined_offer_creates_no_session(open_client):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    offer = offer_to_alice(therapist)
    alice.sync()
    assert alice.decline(offer.id).delivered is True
    therapist.sync()
    assert therapist.offers()[0].state == OfferState.DECLINED
    assert therapist.sessions() == []
    assert any(m.kind == MessageKind.OFFER_DECLINED for m in therapist.messages("alice@example.com"))


def test_an_offer_expires_after_the_hour_and_a_late_accept_is_refused(open_client, server):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    offer = offer_to_alice(therapist)
    alice.sync()
    server.advance(3601)
    with pytest.raises(plusguidance.RefusedError) as refused:
        alice.accept(offer.id)
    assert refused.value.code == "offer_expired"
    # The refusal was reported: it does not stay in the outbox.
    assert alice.outbox() == []
    therapist.sync()
    assert therapist.offers()[0].state == OfferState.EXPIRED and therapist.sessions() == []


def test_the_therapist_stops_a_session_and_the_client_cannot(open_client):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    offer = offer_to_alice(therapist, requires_confirmation=False)
    alice.sync()
    with pytest.raises(plusguidance.RefusedError) as refused:
        alice.stop(offer.session_id)
    assert refused.value.code == "not_session_therapist"
    assert therapist.stop(offer.session_id).delivered is True
    assert therapist.session(offer.session_id).state == SessionState.ENDED
    alice.sync()
    assert alice.sessions() == []


def test_messages_flow_both_ways_and_read_state_counts(open_client):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    sent = therapist.send("alice@example.com", "How was your week?")
    assert sent.delivery_state == "sent" and sent.kind == MessageKind.TEXT
    alice.sync()
    (contact,) = alice.clients()
    assert contact.email == "therapist@example.com" and contact.unread == 1
    assert alice.messages(contact.id)[-1].body == "How was your week?"
    assert alice.mark_read("therapist@example.com").unread == 0
    reply = alice.send(contact.id, "Better, thanks")
    assert reply.sender_id == alice.whoami().id
    therapist.sync()
    assert [m.body for m in therapist.messages("alice@example.com", limit=2)] == ["How was your week?", "Better, thanks"]
    status = alice.status()
    assert status.online and status.pending_outbox == 0 and status.last_sync_at is not None

"""R8 through the package: reads work offline, texts queue and are delivered exactly once, in
order, across a restart of the server; an offer needs the server."""
import datetime
import urllib.request

import pytest

import plusguidance
from plusguidance import DeliveryState


def test_texts_written_offline_are_delivered_once_in_order_after_a_server_restart(open_client, server):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com", wait=2)
    therapist.send("alice@example.com", "before")
    alice.sync()
    # The server's clock as the device estimates it: the test clock (weeks ahead), not the device's.
    with urllib.request.urlopen(server.url + "/v1/health", timeout=10) as answer:
        server_now = datetime.datetime.fromisoformat(answer.headers["Server-Time"].replace("Z", "+00:00"))
    assert abs((alice.status().server_time - server_now).total_seconds()) < 30
    server.stop()

    # Offline: reads answer from the cache; sends queue and say so.
    assert [m.body for m in alice.messages("therapist@example.com")] == ["before"]
    queued = [alice.send("therapist@example.com", f"offline {n}") for n in range(3)]
    assert all(m.delivery_state == DeliveryState.PENDING for m in queued)
    assert [e.action for e in alice.outbox()] == ["send"] * 3
    # Each entry names its text (an app puts Retry and Discard on that row).
    assert [e.message_id for e in alice.outbox()] == [m.id for m in queued]
    assert alice.status().pending_outbox == 3
    with pytest.raises(plusguidance.UnreachableError):
        therapist.offer("alice@example.com", "video", 30)

    server.start()
    alice.sync()
    assert alice.outbox() == []
    # A second sync sends nothing again.
    alice.sync()
    therapist.sync()
    bodies = [m.body for m in therapist.messages("alice@example.com")]
    assert bodies == ["before", "offline 0", "offline 1", "offline 2"]
    assert all(m.delivery_state == DeliveryState.SENT for m in alice.messages("therapist@example.com"))


def test_an_accept_queued_offline_is_decided_by_the_server(open_client, server):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com", wait=2)
    offer = therapist.offer("alice@example.com", "voice", 30)
    alice.sync()
    server.stop()
    answer = alice.accept(offer.id)
    assert answer.delivered is False and answer.state in ("pending", "inFlight")
    server.start()
    alice.sync()
    assert alice.offers()[0].state == "accepted"
    assert len(alice.sessions()) == 1

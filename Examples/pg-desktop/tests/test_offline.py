"""Offline and truth: the banner while the server cannot be reached, "Queued" on a text that
waits, its outcome when it is delivered (once), and nothing lost when the app is closed with
work queued (pg-syncd delivers it later on the same profile)."""
import signal

from conftest import wait_for


def bodies(person, peer):
    person.pg("sync")
    return [m["body"] for m in person.pg("messages", peer) if m["kind"] == "text"]


def says(app, text, state):
    """Whether the bubble of the text `text` shows `state` (Queued, Sent, Read…), found afresh:
    a row is rebuilt when its message changes."""
    return any(app.find_all(state, "label", within=label.parent) for label in app.find_all(text, "label"))


def offline_therapist(people, server):
    """The therapist's window, signed in, then the server stopped until the banner says so."""
    therapist, alice = people("therapist@example.com", "alice@example.com")
    therapist.login()
    alice.login()
    app = therapist.open()
    app.find("Alice", "list item")
    server.stop()
    app.find(starts="Offline: the server cannot be reached", role="label", timeout=40)
    return therapist, alice, app


def test_a_text_written_offline_is_queued_then_sent_once(people, server):
    therapist, alice, app = offline_therapist(people, server)
    app.type("Message", "Written on the train")
    app.press("Send")
    app.wait(lambda: says(app, "Written on the train", "Queued"), what="Queued on the text")
    app.screenshot("offline-queued")
    server.start()
    app.wait(lambda: says(app, "Written on the train", "Sent"), timeout=60, what="Sent on the text")
    assert not says(app, "Written on the train", "Queued")
    app.gone(starts="Offline: the server cannot be reached", role="label", timeout=40)
    assert bodies(alice, "therapist@example.com").count("Written on the train") == 1


def test_closing_with_work_queued_loses_nothing(people, server):
    therapist, alice, app = offline_therapist(people, server)
    for text in ("First while offline", "Second while offline"):
        app.type("Message", text)
        app.press("Send")
        app.find(text, "label")
    # The window's close (SIGTERM closes the same way): the app exits at once, 0.
    app.process.send_signal(signal.SIGTERM)
    assert app.process.wait(timeout=30) == 0
    queued = therapist.pg("outbox")
    assert [entry["action"] for entry in queued] == ["send", "send"]
    server.start()
    # pg-syncd on the profile delivers what the app left, in order, once.
    therapist.sync_daemon()
    wait_for(lambda: bodies(alice, "therapist@example.com")[-2:] == ["First while offline", "Second while offline"],
             timeout=60, what="both texts delivered")
    therapist.stop_daemon()
    assert therapist.pg("outbox") == []
    texts = bodies(alice, "therapist@example.com")
    assert texts.count("First while offline") == 1 and texts.count("Second while offline") == 1
    # Opened again, the app shows them sent.
    app = therapist.open()
    app.wait(lambda: says(app, "Second while offline", "Sent"), what="Sent on the text")

"""An offer that arrives while the window is not focused raises a desktop notification (through
the desktop's org.freedesktop.Notifications) whose "Accept" answers it; no name and no message
body reach the notification server."""
import pyatspi

from conftest import wait_for


def test_a_notifications_accept_answers_the_offer(people, notifications):
    therapist, alice = people("therapist@example.com", "alice@example.com")
    therapist.login()
    alice.login()
    app = alice.open()
    app.find("Theo Therapist", "list item")
    # The therapist's window opens over Alice's: hers is no longer the focused one.
    therapist.open().find("Alice", "list item")
    app.wait(lambda: not app.root.getChildAtIndex(0).getState().contains(pyatspi.STATE_ACTIVE),
             what="Alice's window not focused")
    # The therapist offers from the command line on their own profile (pg is another process).
    offer = therapist.pg("offer", "alice@example.com", "--type", "voice", "--duration", "25")
    shown = wait_for(lambda: [n for n in notifications.all() if n.get("summary") == "New session offer"
                              and any(offer["id"] in target for target in n["actions"].values())],
                     what="the offer's notification")[-1]
    assert set(shown["actions"]) >= {"Accept", "Decline"}
    assert shown["body"] == "A Voice session of 25 minutes is offered to you."
    # Health data never reaches the notification server: no name, no e-mail.
    for record in notifications.all():
        text = (record.get("summary", "") + record.get("body", "")).lower()
        assert "theo" not in text and "alice" not in text and "@" not in text
    notifications.invoke(shown["id"], shown["actions"]["Accept"])
    app.find("Your session is now ready. Click here to attend.", "push button", timeout=30)
    wait_for(lambda: therapist.pg("offers")[0]["state"] == "accepted", what="the offer accepted on the server")
    # Answered: the notification is withdrawn.
    wait_for(lambda: any(r.get("closed") == shown["id"] for r in notifications.all()), what="the notification withdrawn")

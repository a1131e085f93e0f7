"""The other answers to an offer: declined, expired after the hour (server time), no
confirmation needed; "Start a session now" for a client who is offline; a session set for
later, its reminder, and the Dashboard."""
import datetime

from desktop import sensitive
from test_instant_session import offer, open_both


def test_declined_offer_tells_the_therapist_and_creates_no_session(people):
    therapist, alice, therapist_app, alice_app = open_both(people)
    offer(therapist_app)
    alice_app.press("Decline")
    alice_app.find("Declined", "label")
    therapist_app.find("Your client declined the video session offer.", "label")
    therapist_app.find("Declined", "label")
    assert therapist.pg("sessions") == []


def test_unanswered_offer_expires_after_the_hour_on_the_server_clock(people, server):
    therapist, alice, therapist_app, alice_app = open_both(people)
    offer(therapist_app, duration=45)
    alice_app.find("Accept", "push button")
    server.advance(3601)
    therapist_app.find(starts="The video session offer had no answer within an hour", role="label", timeout=40)
    alice_app.find("Expired: no answer within an hour", "label", timeout=40)
    alice_app.gone("Accept", "push button")
    alice_app.screenshot("offer-expired")
    assert therapist.pg("sessions") == []


def test_without_confirmation_the_session_exists_at_once(people):
    therapist, alice, therapist_app, alice_app = open_both(people)
    offer(therapist_app, confirmation=False)
    alice_app.find("Your session is now ready. Click here to attend.", "push button")
    assert not alice_app.find_all("Accept", "push button")
    therapist_app.find(starts="Your video session with your client is ready", role="push button")
    assert [s["state"] for s in alice.pg("sessions")] == ["inProgress"]


def test_start_a_session_now_is_disabled_for_an_offline_client_and_says_why(people):
    therapist, _alice, therapist_app, _alice_app = open_both(people)
    bob = therapist_app.find("Bob", "list item")
    assert bob.description.startswith("offline")
    # Selecting the row (as a click or the arrow keys do) shows Bob's conversation.
    rows = therapist_app.find("Clients", "list").querySelection()
    rows.selectChild(1)
    therapist_app.find("Bob", "label")
    button = therapist_app.find("Start a session now", "push button")
    therapist_app.wait(lambda: not sensitive(button), what="Start a session now disabled")
    assert button.description == "Bob is offline: an Instant Session needs the client online now."
    therapist_app.find("Bob is offline: an Instant Session needs the client online now.", "label")
    therapist_app.screenshot("offline-client")
    # Alice is online: the button is live again when she is selected.
    rows.selectChild(0)
    therapist_app.wait(lambda: sensitive(therapist_app.find("Start a session now", "push button")),
                       what="Start a session now enabled for Alice")


def test_a_session_for_later_is_upcoming_for_both_and_reminds_them(people, server, notifications):
    therapist, alice, therapist_app, alice_app = open_both(people)
    start = (server.now() + datetime.timedelta(minutes=20)).astimezone()
    offer(therapist_app, confirmation=False, start_time=start.strftime("%H:%M"))
    for app in (therapist_app, alice_app):
        app.press("Dashboard", "page tab")
        app.find(starts="Video session with", role="list item")
        app.find("Attend", "push button")
    [session] = alice.pg("sessions")
    assert session["state"] == "scheduled"
    therapist_app.screenshot("dashboard-therapist")
    # Five minutes before the start (server time), a reminder: a notification with "Attend".
    server.advance(16 * 60)
    reminder = alice_app.wait(
        lambda: [n for n in notifications.all() if n.get("summary") == "A session starts soon"],
        timeout=40, what="the reminder notification")
    assert "Attend" in reminder[-1]["actions"]
    alice_app.press("Attend")
    alice_app.find(starts="Starts at", role="label")
    alice_app.find("Stop session", "push button")

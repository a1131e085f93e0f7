"""The seed's flow on two real windows, the therapist's and Alice's, against pg-server's test
clock: the offer, its answers, the session window's countdown and overtime, the stop, and the
upcoming sessions, all live."""
from desktop import sensitive


def open_both(people):
    therapist, alice = people("therapist@example.com", "alice@example.com")
    therapist.login()
    alice.login()
    alice_app = alice.open()
    therapist_app = therapist.open()
    # Alice's app keeps her online (R2): her row says so on the therapist's screen, live.
    row = therapist_app.find("Alice", "list item")
    therapist_app.wait(lambda: row.description.startswith("online"), what="Alice online")
    return therapist, alice, therapist_app, alice_app


def offer(app, duration=None, confirmation=True, start_time=None):
    app.press("Start a session now")
    app.find("Confirm session offer", "push button")
    if duration is not None:
        spin = app.find("Expected duration", "spin button")
        spin.queryValue().currentValue = duration
    if start_time is not None:
        app.type("Start time", start_time)
    if not confirmation:
        app.press("Require client confirmation", "check box")
    app.press("Confirm session offer")
    app.gone("Confirm session offer", "push button")


def test_offer_accepted_attended_counts_down_overtime_and_only_the_therapist_stops(people, server):
    therapist, alice, therapist_app, alice_app = open_both(people)
    therapist_app.screenshot("messages-therapist")
    therapist_app.press("Start a session now")
    for name, role in (("Session type", "panel"), ("Video", "push button"), ("Start time", "text"), ("Expected duration", "spin button"),
                       ("Require client confirmation", "check box")):
        therapist_app.find(name, role)
    therapist_app.screenshot("offer-pop-up")
    therapist_app.find("Expected duration", "spin button").queryValue().currentValue = 30
    therapist_app.press("Confirm session offer")
    therapist_app.gone("Confirm session offer", "push button")

    # Alice sees the offer in her stream, live, with Accept and Decline.
    alice_app.find(starts="Your therapist offers a video session of 30 minutes", role="label")
    alice_app.find("Decline", "push button")
    alice_app.screenshot("offer-client")
    alice_app.press("Accept")
    alice_app.find("Your session is now ready. Click here to attend.", "push button")
    alice_app.gone("Accept", "push button")
    # The therapist gets a link too, and both dashboards list the session, with no refresh.
    link = therapist_app.find(starts="Your video session with your client is ready", role="push button")
    for app in (therapist_app, alice_app):
        app.press("Dashboard", "page tab")
        app.find("Upcoming sessions", "list")
        app.find("Attend", "push button")
    alice_app.screenshot("dashboard-client")

    # Alice attends from her stream: the countdown runs on the server's clock; she cannot stop.
    alice_app.press("Messages", "page tab")
    alice_app.press("Your session is now ready. Click here to attend.")
    stop = alice_app.find("Stop session", "push button")
    assert not sensitive(stop), "the client can stop the session"
    alice_app.find(starts="Remaining of 30 minutes", role="label")
    # mm:ss of the 30 minutes, on the server's clock (29:5x or 30:00 by now).
    alice_app.wait(lambda: [n for n in alice_app.find_all(role="label") if n.name[:3] in ("29:", "30:")],
                   what="the 30-minute countdown")
    alice_app.screenshot("session-client")

    # The therapist attends from the link; at zero by the test clock the session goes on.
    therapist_app.press("Messages", "page tab")
    therapist_app.press(link.name)
    therapist_stop = therapist_app.find("Stop session", "push button")
    therapist_app.wait(lambda: sensitive(therapist_stop), what="Stop session enabled for the therapist")
    server.advance(31 * 60)
    for app in (therapist_app, alice_app):
        app.find(starts="Overtime", role="label", timeout=30)
    therapist_app.screenshot("session-overtime")

    therapist_app.press("Stop session")
    alice_app.find("Session ended", "label", timeout=30)
    alice_app.find("The session has ended. You can close this window.", "label")
    for app in (therapist_app, alice_app):
        app.find(starts="The video session has ended", role="label")
    # It leaves both dashboards, live.
    for app in (therapist_app, alice_app):
        app.wait(lambda: not app.find_all("Attend", "push button"), what="the session to leave the dashboard")

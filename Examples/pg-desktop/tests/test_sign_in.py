"""Signing in and out in the app, on a profile shared with pg; clear errors; and the flow with
the keyboard alone (xdotool types as a keyboard does, to the focused window)."""
import subprocess
import time

from conftest import wait_for
from test_offline import says


def keyboard(app, *steps, window="^PlusGuidance$"):
    """Activates the app's window titled `window` (through the window manager, as a click on
    it or Alt+Tab would), then types: ("key", "Tab") or ("type", "text")."""
    # --all: this pid's window with that title (xdotool matches any one condition by default).
    found = subprocess.run(["xdotool", "search", "--all", "--onlyvisible", "--pid", str(app.process.pid),
                            "--name", window], capture_output=True, text=True, check=True)
    subprocess.run(["xdotool", "windowactivate", "--sync", found.stdout.split()[0]], check=True)
    for kind, value in steps:
        subprocess.run(["xdotool", kind, "--delay", "20", value], check=True)
        time.sleep(0.1)


def focused_name(app, window="PlusGuidance"):
    node = app.wait(lambda: app.focused(window), what=f"a focused widget in {window!r}")
    return node.name or f"<{node.getRoleName()} in {node.parent.getRoleName()} {node.parent.name!r}>"


def test_sign_in_errors_then_sign_in_shared_with_pg_and_sign_out(people, server):
    therapist = people("therapist@example.com")
    app = therapist.open()
    app.find("Sign in", "push button")
    app.screenshot("sign-in")
    app.type("Email", "therapist@example.com")
    app.type("Password", "not-the-password")
    app.press("Sign in")
    app.find("The email or password is not right.", "label")
    app.type("Password", "therapist-pass")
    app.press("Sign in")
    app.find("Alice", "list item")
    app.gone("Sign in", "push button")
    # The profile is pg's too: signed in there as well.
    assert therapist.pg("whoami")["email"] == "therapist@example.com"
    app.press("Sign out")
    app.find("Sign in", "push button")
    app.gone("Alice", "list item")
    assert therapist.run("whoami").returncode == 77
    # With the server gone, signing in says so.
    server.stop()
    app.type("Email", "therapist@example.com")
    app.type("Password", "therapist-pass")
    app.press("Sign in")
    app.find("The server cannot be reached. Check the connection and try again.", "label", timeout=90)


def test_the_flow_with_the_keyboard_alone(people):
    therapist, alice = people("therapist@example.com", "alice@example.com")
    alice.login()
    alice.sync_daemon()  # keeps Alice online, with no window of hers on the display
    app = therapist.open()
    app.find("Email", "text")
    # Sign in: the e-mail field has the focus; Tab to the password; Return signs in.
    assert focused_name(app) == "Email"
    keyboard(app, ("type", "therapist@example.com"), ("key", "Tab"), ("type", "therapist-pass"), ("key", "Return"))
    app.find("Alice", "list item")
    app.wait(lambda: app.find("Alice", "list item").description.startswith("online"), what="Alice online")
    # The composer has the focus: type, Return sends.
    assert focused_name(app) == "Message"
    keyboard(app, ("type", "Typed without a mouse"), ("key", "Return"))
    app.find("Typed without a mouse", "label")
    # Tab past "Send" to "Start a session now"; Return opens the pop-up.
    keyboard(app, ("key", "Tab"), ("key", "Tab"))
    assert focused_name(app) == "Start a session now"
    keyboard(app, ("key", "Return"))
    app.find("Confirm session offer", "push button")
    pop_up = "Start a session now"
    assert focused_name(app, pop_up) == "Video"
    assert app.focused(pop_up).parent.name == "Session type"
    # Tab and space pick another type (the group acts as one radio choice).
    keyboard(app, ("key", "Tab"), ("key", "space"), window=f"^{pop_up}$")
    assert focused_name(app, pop_up) == "Voice"
    # Tab to the start time (empty: now); Return confirms the offer (the pop-up's default).
    keyboard(app, ("key", "Tab"), ("key", "Tab"), window=f"^{pop_up}$")
    assert focused_name(app, pop_up) == "Start time"
    keyboard(app, ("key", "Return"), window=f"^{pop_up}$")
    app.gone("Confirm session offer", "push button")
    wait_for(lambda: [(o["state"], o["type"]) for o in therapist.pg("offers")] == [("pending", "voice")],
             what="the voice offer made")
    # Alice answers with the keyboard too: from her composer, Shift+Tab walks back into the
    # conversation to the offer's "Accept" (past "Decline"); Return presses it.
    alice.stop_daemon()
    alice_app = alice.open()
    alice_app.find("Accept", "push button")
    keyboard(alice_app)
    for _ in range(4):
        time.sleep(0.5)  # the accessibility tree follows the focus asynchronously
        focused = alice_app.focused("PlusGuidance")
        if focused is not None and focused.name == "Accept":
            break
        keyboard(alice_app, ("key", "shift+Tab"))
    assert focused_name(alice_app) == "Accept"
    keyboard(alice_app, ("key", "Return"))
    alice_app.find("Your session is now ready. Click here to attend.", "push button")
    wait_for(lambda: therapist.pg("offers")[0]["state"] == "accepted", what="the offer accepted on the server")
    # Seen in Alice's focused window, the therapist's text is marked read (R11), and the
    # therapist's window says so, live.
    app.wait(lambda: says(app, "Typed without a mouse", "Read"), timeout=30, what="Read on the therapist's text")

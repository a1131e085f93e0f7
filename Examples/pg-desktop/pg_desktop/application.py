"""The application: one window per profile, the app actions a notification's buttons activate
(`app.accept-offer`, `app.decline-offer`, `app.attend`), and the notifications themselves."""
import os
import signal

from gi.repository import Adw, Gdk, Gio, GLib, Gtk

from . import APP_ID, trace
from .account import Account
from .labels import type_label
from .window import Window

# How long closing waits for calls in flight to answer (a text is durable in the outbox before
# its call waits for the server; this only lets the answer land).
_CLOSE_GRACE_MS = 3000


class Application(Adw.Application):
    def __init__(self, client, unique=True):
        flags = Gio.ApplicationFlags.FLAGS_NONE
        if not unique:
            # Another profile than the default: its own process, side by side with the default.
            flags |= Gio.ApplicationFlags.NON_UNIQUE
        super().__init__(application_id=APP_ID, flags=flags)
        self.client = client
        self.account = None
        self.window = None
        self._closing = False

    def do_startup(self):
        Adw.Application.do_startup(self)
        # A blinking caret stops after at most 5 s without input (WCAG 2.2.2); GTK 4.8's own
        # default (10) kept a focused composer animating on an idle window.
        settings = Gtk.Settings.get_default()
        settings.props.gtk_cursor_blink_timeout = min(settings.props.gtk_cursor_blink_timeout, 5)
        css = Gtk.CssProvider()
        css.load_from_path(os.path.join(os.path.dirname(__file__), "style.css"))
        Gtk.StyleContext.add_provider_for_display(
            Gdk.Display.get_default(), css, Gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)
        self.account = Account(self.client)
        for name, handler in (("accept-offer", self._on_accept), ("decline-offer", self._on_decline),
                              ("attend", self._on_attend), ("show-offer", self._on_show_offer)):
            action = Gio.SimpleAction.new(name, GLib.VariantType.new("s"))
            action.connect("activate", handler)
            self.add_action(action)
        quit_action = Gio.SimpleAction.new("quit", None)
        quit_action.connect("activate", lambda *_: self.close_gracefully())
        self.add_action(quit_action)
        self.set_accels_for_action("app.quit", ["<Control>q"])
        # SIGTERM and Ctrl+C close like the window's close button: queued work stays queued.
        for number in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, number, self._on_signal)

    def _on_signal(self):
        self.close_gracefully()
        return GLib.SOURCE_CONTINUE

    def do_activate(self):
        if self.window is None:
            self.window = Window(application=self, account=self.account)
            self.window.connect("close-request", self._on_close_request)
            trace.first_frame(self.window)
            if self.account.me is not None:
                self.account.go_live()
        self.window.present()

    def _on_close_request(self, _window):
        self.close_gracefully()
        return True

    def close_gracefully(self):
        """Hides the window, lets calls in flight answer (up to a few seconds), then quits;
        whatever is queued stays in the profile's outbox for the next run, pg or pg-syncd."""
        if self._closing:
            return
        self._closing = True
        if self.window is not None:
            self.window.close_session_windows()
            self.window.set_visible(False)
        self.hold()
        GLib.timeout_add(_CLOSE_GRACE_MS, self._quit)
        self.account.when_idle(self._quit)

    def _quit(self):
        if self.account is not None:
            account, self.account = self.account, None
            account.close()
            self.release()
            self.quit()
        return GLib.SOURCE_REMOVE

    # ---- actions (buttons in the window and in notifications)

    def _on_accept(self, _action, parameter):
        self._present().answer_offer(parameter.get_string(), accept=True)

    def _on_decline(self, _action, parameter):
        self._present().answer_offer(parameter.get_string(), accept=False)

    def _on_attend(self, _action, parameter):
        self._present().attend(parameter.get_string())

    def _on_show_offer(self, _action, parameter):
        self._present().show_offer(parameter.get_string())

    def _present(self):
        self.activate()
        return self.window

    # ---- notifications: no name, no message body (health data never reaches a notification log)

    def notify_offer(self, offer):
        notification = Gio.Notification.new("New session offer")
        notification.set_body(f"A {type_label(offer.type)} session of {offer.duration_minutes} minutes is offered to you.")
        notification.set_priority(Gio.NotificationPriority.HIGH)
        # Detailed action names ("app.accept-offer::o_…"): ids are plain tokens.
        notification.set_default_action(f"app.show-offer::{offer.id}")
        notification.add_button("Accept", f"app.accept-offer::{offer.id}")
        notification.add_button("Decline", f"app.decline-offer::{offer.id}")
        self.send_notification("offer-" + offer.id, notification)

    def withdraw_offer(self, offer_id):
        self.withdraw_notification("offer-" + offer_id)

    def notify_session(self, session_id, title, body):
        notification = Gio.Notification.new(title)
        notification.set_body(body)
        notification.set_priority(Gio.NotificationPriority.HIGH)
        notification.set_default_action(f"app.attend::{session_id}")
        notification.add_button("Attend", f"app.attend::{session_id}")
        self.send_notification("session-" + session_id, notification)

"""The session window: who and which type, a countdown of the expected duration on the server's
clock (as the SDK estimates it: a step of the device's clock changes nothing), "Overtime" after
zero, and the red "Stop session" in its top left corner, enabled for the therapist only (R6)."""
import os

import plusguidance
from gi.repository import GLib, Gtk

from .labels import clock, local_time, type_label


@Gtk.Template(filename=os.path.join(os.path.dirname(__file__), "session_window.ui"))
class SessionWindow(Gtk.Window):
    __gtype_name__ = "PgSessionWindow"

    stop_button = Gtk.Template.Child()
    who_label = Gtk.Template.Child()
    countdown_label = Gtk.Template.Child()
    state_label = Gtk.Template.Child()

    def __init__(self, window, account, session, peer_name):
        super().__init__(title=f"{type_label(session.type)} session")
        self.window, self.account, self.session = window, account, session
        self.peer_name = peer_name
        self._queued_stop = False
        self.who_label.set_label(f"{type_label(session.type)} session with {peer_name}")
        if not account.is_therapist:
            self.stop_button.set_tooltip_text("Only your therapist can stop the session")
        self._event = account.connect("event", self._on_event)
        self._tick = GLib.timeout_add_seconds(1, self._on_tick)
        self.connect("close-request", self._on_close)
        self.show_session(session)

    def _on_close(self, _window):
        self._stop_ticking()
        self.account.disconnect(self._event)
        self.window.forget_session_window(self.session.id)
        return False

    def _stop_ticking(self):
        if self._tick:
            GLib.source_remove(self._tick)
            self._tick = 0

    def _on_tick(self):
        try:
            self.show_session(self.account.client.session(self.session.id))
        except plusguidance.Error:
            pass
        return GLib.SOURCE_CONTINUE if self._tick else GLib.SOURCE_REMOVE

    def _on_event(self, _account, event):
        if event.event == "session" and event.session.id == self.session.id:
            self.show_session(event.session)

    def show_session(self, session):
        self.session = session
        state = str(session.state)
        ended = state == "ended"
        self.stop_button.set_sensitive(self.account.is_therapist and not ended and not self._queued_stop)
        self.countdown_label.remove_css_class("overtime")
        if ended:
            self._stop_ticking()
            self.countdown_label.set_label("Session ended")
            self.state_label.set_label("The session has ended. You can close this window.")
        elif state == "scheduled":
            self.countdown_label.set_label(clock(session.duration_minutes * 60))
            self.state_label.set_label(f"Starts at {local_time(session.starts_at)}, "
                                       f"{session.duration_minutes} minutes expected")
        elif session.remaining_seconds > 0:
            self.countdown_label.set_label(clock(session.remaining_seconds))
            self.state_label.set_label(f"Remaining of {session.duration_minutes} minutes")
        else:
            self.countdown_label.set_label("Overtime " + clock(session.overtime_seconds))
            self.countdown_label.add_css_class("overtime")
            self.state_label.set_label("Overtime: the session goes on until the therapist stops it")
        if self._queued_stop and not ended:
            self.state_label.set_label("Stop queued: it is sent when the server is back.")
        self.countdown_label.update_property(
            [Gtk.AccessibleProperty.DESCRIPTION], ["Countdown of the session, on the server's clock"])

    @Gtk.Template.Callback()
    def on_stop(self, _button):
        self.stop_button.set_sensitive(False)
        self.account.call("stop", self.session.id, done=self._stopped)

    def _stopped(self, entry, error):
        if error is not None:
            self.stop_button.set_sensitive(True)
            self.window.toast(f"Not stopped: {error}")
            return
        if entry is not None and entry.delivered is False:
            self._queued_stop = True
        self._on_tick()

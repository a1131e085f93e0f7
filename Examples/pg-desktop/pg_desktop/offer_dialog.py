"""The pop-up that customises an Instant Session (R3): "Session type", "Start time",
"Expected duration", "Require client confirmation", "Confirm session offer". Creating an offer
needs the server (the client must be online now): offline it fails at once, never queued."""
import datetime
import os
import re

import plusguidance
from gi.repository import Gdk, Gtk

from .labels import TYPES


def parse_start(text, now=None):
    """None for now, else the next time of day `HH:MM` in the device's zone, as an aware time.
    Raises ValueError with what to type."""
    text = text.strip()
    if not text or text.lower() == "now":
        return None
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError("Type the start time as HH:MM (for example 14:30), or leave it empty for now.")
    now = now or datetime.datetime.now().astimezone()
    start = now.replace(hour=int(match.group(1)), minute=int(match.group(2)), second=0, microsecond=0)
    if start <= now:
        start += datetime.timedelta(days=1)
    return start


@Gtk.Template(filename=os.path.join(os.path.dirname(__file__), "offer_dialog.ui"))
class OfferDialog(Gtk.Window):
    __gtype_name__ = "PgOfferDialog"

    intro = Gtk.Template.Child()
    video_button = Gtk.Template.Child()
    voice_button = Gtk.Template.Child()
    chat_button = Gtk.Template.Child()
    start_entry = Gtk.Template.Child()
    duration_spin = Gtk.Template.Child()
    confirm_switch = Gtk.Template.Child()
    error_label = Gtk.Template.Child()
    confirm_button = Gtk.Template.Child()

    def __init__(self, window, account, contact):
        super().__init__(transient_for=window)
        self.window, self.account, self.contact = window, account, contact
        self.intro.set_label(f"Offer {contact.name} a session that starts now.")
        self.set_default_widget(self.confirm_button)
        self.set_focus(self.video_button)
        keys = Gtk.EventControllerKey()
        keys.connect("key-pressed", self._on_key)
        self.add_controller(keys)

    def _on_key(self, _controller, keyval, _code, _state):
        if keyval == Gdk.KEY_Escape:
            self.close()
            return True
        return False

    @Gtk.Template.Callback()
    def on_cancel(self, _button):
        self.close()

    @Gtk.Template.Callback()
    def on_confirm(self, _button):
        try:
            # A time of day on the server's clock (R12): a device whose clock is off offers the
            # time the person means.
            server_now = self.account.client.status().server_time
            starts_at = parse_start(self.start_entry.get_text(), server_now.astimezone() if server_now else None)
        except ValueError as error:
            return self._error(str(error))
        buttons = (self.video_button, self.voice_button, self.chat_button)
        session_type = next(kind for (kind, _), button in zip(TYPES, buttons) if button.get_active())
        try:
            self.account.call(
                "offer", self.contact.id, session_type, self.duration_spin.get_value_as_int(),
                requires_confirmation=self.confirm_switch.get_active(), starts_at=starts_at, done=self._done)
        except plusguidance.Error as error:
            return self._error(str(error))
        self.confirm_button.set_sensitive(False)

    def _done(self, offer, error):
        self.confirm_button.set_sensitive(True)
        if error is not None:
            if isinstance(error, plusguidance.UnreachableError):
                return self._error("The server cannot be reached: an Instant Session needs a live connection.")
            return self._error(str(error))
        if offer.requires_confirmation:
            self.window.toast(f"Session offer sent to {self.contact.name}")
        else:
            self.window.toast(f"Session created with {self.contact.name}")
        self.close()

    def _error(self, text):
        self.error_label.set_label(text)
        self.error_label.set_visible(True)

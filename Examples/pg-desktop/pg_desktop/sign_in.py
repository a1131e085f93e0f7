"""The sign-in page: "Email", "Password", "Sign in", and what went wrong in one clear line."""
import os

import plusguidance
from gi.repository import Gtk

_WHY = {
    "bad_credentials": "The email or password is not right.",
    "unreachable": "The server cannot be reached. Check the connection and try again.",
}


@Gtk.Template(filename=os.path.join(os.path.dirname(__file__), "sign_in.ui"))
class SignInPage(Gtk.Box):
    __gtype_name__ = "PgSignInPage"

    email_entry = Gtk.Template.Child()
    password_entry = Gtk.Template.Child()
    error_label = Gtk.Template.Child()
    sign_in_button = Gtk.Template.Child()
    spinner = Gtk.Template.Child()

    def bind(self, account):
        self.account = account

    def reset(self):
        self.password_entry.set_text("")
        self.error_label.set_visible(False)
        self.email_entry.grab_focus()

    @Gtk.Template.Callback()
    def on_sign_in(self, _button):
        email, password = self.email_entry.get_text().strip(), self.password_entry.get_text()
        if not email or not password:
            return self._show_error("Enter your email and password.")
        self._busy(True)
        try:
            self.account.sign_in(email, password, self._signed_in)
        except plusguidance.Error as error:
            self._busy(False)
            self._show_error(str(error))

    def _signed_in(self, _account, error):
        self._busy(False)
        if error is not None:
            code = getattr(error, "code", "")
            if isinstance(error, plusguidance.UnreachableError):
                code = "unreachable"
            return self._show_error(_WHY.get(code, str(error)))
        self.password_entry.set_text("")
        self.error_label.set_visible(False)

    def _busy(self, busy):
        self.sign_in_button.set_sensitive(not busy)
        self.spinner.set_spinning(busy)

    def _show_error(self, text):
        self.error_label.set_label(text)
        self.error_label.set_visible(True)

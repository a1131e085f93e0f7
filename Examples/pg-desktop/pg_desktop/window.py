"""The main window: sign-in, or the Messages page and the Dashboard; the offline banner; toasts;
and what several screens share (answering an offer, attending a session, notifications)."""
import os

import plusguidance
from gi.repository import Adw, Gtk

# Registers the template classes window.ui names.
from .dashboard_page import DashboardPage  # noqa: F401
from .labels import local_time
from .messages_page import MessagesPage  # noqa: F401
from .session_window import SessionWindow
from .sign_in import SignInPage  # noqa: F401


@Gtk.Template(filename=os.path.join(os.path.dirname(__file__), "window.ui"))
class Window(Adw.ApplicationWindow):
    __gtype_name__ = "PgWindow"

    toasts = Gtk.Template.Child()
    switcher_title = Gtk.Template.Child()
    sign_out_button = Gtk.Template.Child()
    who_label = Gtk.Template.Child()
    offline_revealer = Gtk.Template.Child()
    pages = Gtk.Template.Child()
    views = Gtk.Template.Child()
    sign_in_page = Gtk.Template.Child()
    messages_page = Gtk.Template.Child()
    dashboard_page = Gtk.Template.Child()

    def __init__(self, application, account):
        super().__init__(application=application)
        self.account = account
        self._session_windows = {}
        self.sign_in_page.bind(account)
        self.messages_page.bind(self, account)
        self.dashboard_page.bind(self, account)
        account.connect("signed-in-changed", lambda _account: self._show_account())
        account.connect("event", self._on_event)
        self.connect("notify::is-active", self._on_active)
        self.pages.connect("notify::visible-child", self._hide_unseen)
        self.views.connect("notify::visible-child", self._hide_unseen)
        self._show_account()

    def _hide_unseen(self, *_):
        """Takes the pages out of sight out of the accessibility tree too: GTK 4.8 leaves an
        unmapped page's widgets there, and a screen reader would read the sign-in form or the
        Dashboard while the Messages page is on screen."""
        main = self.pages.get_visible_child_name() == "main"
        view = self.views.get_visible_child_name()
        for page, hidden in ((self.sign_in_page, main), (self.views, not main),
                             (self.messages_page, view != "messages"), (self.dashboard_page, view != "dashboard")):
            page.update_state([Gtk.AccessibleState.HIDDEN], [hidden])

    # ---- pages

    def _show_account(self):
        me = self.account.me
        self.sign_out_button.set_visible(me is not None)
        self.switcher_title.set_view_switcher_enabled(me is not None)
        if me is None:
            self.messages_page.clear()
            self.dashboard_page.clear()
            self.close_session_windows()
            self.who_label.set_label("")
            self.pages.set_visible_child_name("sign-in")
            self.set_default_widget(self.sign_in_page.sign_in_button)
            self.sign_in_page.reset()
            return
        self.who_label.set_label(f"{me.email} ({me.role})")
        self.set_default_widget(None)
        self.messages_page.load()
        self.dashboard_page.load()
        self._show_status(self.account.client.status())
        self.pages.set_visible_child_name("main")
        # set_focus, not grab_focus: it holds before the window is shown (an app started signed in).
        self.set_focus(self.messages_page.message_entry)

    @Gtk.Template.Callback()
    def on_sign_out(self, _button):
        self.sign_out_button.set_sensitive(False)

        def signed_out(error):
            self.sign_out_button.set_sensitive(True)
            if error is not None:
                self.toast(f"Not signed out: {error}")

        self.account.sign_out(signed_out)

    def toast(self, text):
        self.toasts.add_toast(Adw.Toast.new(text))

    def name_of(self, user_id):
        contact = self.messages_page.contact(user_id)
        return contact.name if contact is not None else "your contact"

    # ---- events

    def _on_active(self, *_):
        if self.is_active():
            self.messages_page.mark_read_if_seen()

    def _on_event(self, _account, event):
        if self.account.me is None:
            return
        app = self.get_application()
        if event.event == "status":
            self._show_status(event.status)
        elif event.event == "offer":
            offer = event.offer
            if str(offer.state) != "pending":
                app.withdraw_offer(offer.id)
            elif event.change == "new" and not self.account.is_therapist and not self.is_active():
                app.notify_offer(offer)
        elif event.event == "session":
            self._on_session(event.change, event.session)

    def _on_session(self, change, session):
        app = self.get_application()
        if change == "reminder":
            self.toast(f"A session starts at {local_time(session.starts_at)}")
            app.notify_session(session.id, "A session starts soon",
                               f"Your session starts at {local_time(session.starts_at)}.")
        elif change == "ready" and not self.is_active():
            if str(session.state) == "scheduled":
                app.notify_session(session.id, "A session is booked",
                                   f"It starts at {local_time(session.starts_at)}.")
            else:
                app.notify_session(session.id, "Your session is ready", "Click Attend to open the session window.")
        elif change == "ended":
            app.withdraw_notification("session-" + session.id)

    def _show_status(self, status):
        self.offline_revealer.set_reveal_child(not status.online)

    # ---- shared actions

    def answer_offer(self, offer_id, accept):
        self.get_application().withdraw_offer(offer_id)

        def answered(entry, error):
            if error is not None:
                self.toast(f"Not {'accepted' if accept else 'declined'}: {error}")
            elif entry is not None and entry.delivered is False:
                self.toast("Queued: your answer is sent when the server is back")
            self.messages_page.refresh_outbox()

        try:
            self.account.call("accept" if accept else "decline", offer_id, done=answered)
        except plusguidance.Error as error:
            self.toast(str(error))
        self.messages_page.refresh_outbox()

    def show_offer(self, offer_id):
        offer = self.messages_page.offer_for(offer_id)
        self.views.set_visible_child_name("messages")
        if offer is not None:
            self.messages_page.select_peer(offer.therapist_id if not self.account.is_therapist else offer.client_id)

    def attend(self, session_id):
        window = self._session_windows.get(session_id)
        if window is None:
            try:
                session = self.account.client.session(session_id)
            except plusguidance.Error as error:
                self.toast(f"Cannot open the session: {error}")
                return
            peer = session.client_id if self.account.is_therapist else session.therapist_id
            window = self._session_windows[session_id] = SessionWindow(self, self.account, session, self.name_of(peer))
        window.present()

    def forget_session_window(self, session_id):
        self._session_windows.pop(session_id, None)

    def close_session_windows(self):
        for window in list(self._session_windows.values()):
            window.close()

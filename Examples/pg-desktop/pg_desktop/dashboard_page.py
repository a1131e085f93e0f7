"""The Dashboard: "Upcoming sessions" for both roles, each with "Attend", live (R7): a session
appears when it is created or confirmed and leaves when it ends, with no refresh."""
import os

from gi.repository import Gtk

from .labels import local_time, type_label
from .lists import remove_all


@Gtk.Template(filename=os.path.join(os.path.dirname(__file__), "dashboard_page.ui"))
class DashboardPage(Gtk.Box):
    __gtype_name__ = "PgDashboardPage"

    empty_label = Gtk.Template.Child()
    session_list = Gtk.Template.Child()

    def bind(self, window, account):
        self.window, self.account = window, account
        self._shown = None
        account.connect("event", self._on_event)

    def _on_event(self, _account, event):
        if event.event == "session" and self.account.me is not None:
            self.load()

    def load(self):
        sessions = [s for s in self.account.client.sessions() if str(s.state) != "ended"]
        shown = [(s.id, str(s.state)) for s in sessions]
        if shown == self._shown:
            return
        self._shown = shown
        remove_all(self.session_list)
        for session in sorted(sessions, key=lambda s: s.starts_at):
            self.session_list.append(self._row(session))
        self.empty_label.set_visible(not sessions)
        self.session_list.set_visible(bool(sessions))

    def clear(self):
        self._shown = None
        remove_all(self.session_list)

    def _row(self, session):
        peer = self.window.name_of(session.client_id if self.account.is_therapist else session.therapist_id)
        when = "in progress" if str(session.state) == "inProgress" else f"starts {local_time(session.starts_at)}"
        title = f"{type_label(session.type)} session with {peer}"
        row = Gtk.ListBoxRow(activatable=False)
        box = Gtk.Box(spacing=12, margin_top=10, margin_bottom=10, margin_start=12, margin_end=12)
        column = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, hexpand=True)
        column.append(Gtk.Label(label=title, xalign=0))
        detail = Gtk.Label(label=f"{when}, {session.duration_minutes} minutes", xalign=0)
        detail.add_css_class("dim-label")
        column.append(detail)
        attend = Gtk.Button(label="Attend", valign=Gtk.Align.CENTER)
        attend.add_css_class("suggested-action")
        attend.update_property([Gtk.AccessibleProperty.DESCRIPTION], [f"{title}, {when}"])
        session_id = session.id
        attend.connect("clicked", lambda _b: self.window.attend(session_id))
        box.append(column)
        box.append(attend)
        row.set_child(box)
        row.update_property([Gtk.AccessibleProperty.LABEL], [f"{title}, {when}"])
        return row

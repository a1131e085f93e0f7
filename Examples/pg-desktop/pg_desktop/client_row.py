"""A person in the client list: the name (the row's accessible name), online or offline, and
the unread count; a screen reader hears "Alice Adams, online, 2 unread"."""
from gi.repository import Gtk, Pango


class ClientRow(Gtk.ListBoxRow):
    def __init__(self, contact):
        super().__init__()
        self.contact = None
        box = Gtk.Box(spacing=8, margin_top=8, margin_bottom=8, margin_start=10, margin_end=10)
        self.dot = Gtk.Label()
        self.name = Gtk.Label(xalign=0, hexpand=True, ellipsize=Pango.EllipsizeMode.END)
        self.presence = Gtk.Label(xalign=0)
        self.presence.add_css_class("dim-label")
        self.unread = Gtk.Label()
        self.unread.add_css_class("accent")
        column = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        column.append(self.name)
        column.append(self.presence)
        box.append(self.dot)
        box.append(column)
        box.append(self.unread)
        self.set_child(box)
        self.update(contact)

    def update(self, contact):
        self.contact = contact
        state = "online" if contact.online else "offline"
        self.dot.set_label("●" if contact.online else "○")
        self.name.set_label(contact.name)
        self.presence.set_label(state)
        self.unread.set_label(f"{contact.unread} unread" if contact.unread else "")
        self.unread.set_visible(contact.unread > 0)
        description = state + (f", {contact.unread} unread" if contact.unread else "")
        self.update_property([Gtk.AccessibleProperty.LABEL, Gtk.AccessibleProperty.DESCRIPTION],
                             [contact.name, description])

"""The Messages page (the seed's): the conversation on the left with the composer and the yellow
"Start a session now" beneath it, the client list on the right. Everything on it follows the
account's events: no refresh, and what waits in the outbox says so."""
import os

import plusguidance
from gi.repository import GLib, Gtk

from . import trace
from .client_row import ClientRow
from .lists import remove_all
from .message_row import MessageRow
from .offer_dialog import OfferDialog

# How much of a conversation the page shows (the latest; the cache keeps the rest).
_PAGE = 100


@Gtk.Template(filename=os.path.join(os.path.dirname(__file__), "messages_page.ui"))
class MessagesPage(Gtk.Box):
    __gtype_name__ = "PgMessagesPage"

    peer_title = Gtk.Template.Child()
    scroller = Gtk.Template.Child()
    conversation = Gtk.Template.Child()
    message_entry = Gtk.Template.Child()
    send_button = Gtk.Template.Child()
    start_box = Gtk.Template.Child()
    start_button = Gtk.Template.Child()
    start_reason = Gtk.Template.Child()
    clients_heading = Gtk.Template.Child()
    client_list = Gtk.Template.Child()
    clients_scroller = Gtk.Template.Child()
    search_entry = Gtk.Template.Child()
    search_scroller = Gtk.Template.Child()
    search_results = Gtk.Template.Child()

    def bind(self, window, account):
        self.window, self.account = window, account
        self.peer = None
        self._client_rows = {}
        self._message_rows = {}
        self._offers = {}
        self._outbox = []
        account.connect("event", self._on_event)

    @property
    def me(self):
        return self.account.me

    @property
    def is_therapist(self):
        return self.account.is_therapist

    # ---- loading (cache reads: quick, and right offline)

    def load(self):
        client = self.account.client
        self._offers = {offer.id: offer for offer in client.offers()}
        self._outbox = client.outbox()
        self.clients_heading.set_label("Clients" if self.is_therapist else "Your therapist")
        self.start_box.set_visible(self.is_therapist)
        self._load_clients()

    def clear(self):
        for rows in (self._client_rows, self._message_rows):
            rows.clear()
        remove_all(self.client_list)
        remove_all(self.conversation)
        self.peer = None

    def _load_clients(self):
        selected = self.peer.id if self.peer else None
        contacts = self.account.client.clients()
        seen = set()
        for contact in contacts:
            seen.add(contact.id)
            row = self._client_rows.get(contact.id)
            if row is None:
                row = self._client_rows[contact.id] = ClientRow(contact)
                self.client_list.append(row)
            else:
                row.update(contact)
        for gone in set(self._client_rows) - seen:
            self.client_list.remove(self._client_rows.pop(gone))
        if selected in self._client_rows:
            self.peer = self._client_rows[selected].contact
            self._update_start()
        elif contacts:
            self.client_list.select_row(self._client_rows[contacts[0].id])

    @Gtk.Template.Callback()
    def on_client_selected(self, _list, row):
        if row is None:
            return
        self.show_peer(row.contact)

    def show_peer(self, contact):
        self.peer = contact
        self.peer_title.set_label(contact.name)
        remove_all(self.conversation)
        self._message_rows.clear()
        for message in self.account.client.messages(contact.id, limit=_PAGE):
            self._append(message)
        self._update_start()
        self._scroll_to_end()
        self.mark_read_if_seen()

    # ---- search (offline, in the cache's sealed index)

    @Gtk.Template.Callback()
    def on_search_changed(self, entry):
        text = entry.get_text()
        searching = bool(text.strip())
        self.search_scroller.set_visible(searching)
        self.clients_scroller.set_visible(not searching)
        remove_all(self.search_results)
        if not searching:
            return
        names = {row.contact.id: row.contact.name for row in self._client_rows.values()}
        try:
            found = self.account.client.search(text, limit=50)
        except plusguidance.Error as error:
            self.window.toast(str(error))
            return
        for message in found:
            peer = message.recipient_id if message.sender_id == self.me.id else message.sender_id
            label = f"{names.get(peer, '')}: {message.snippet}"
            # A flat button per result: Return, a click or a screen reader's press opens it.
            button = Gtk.Button(has_frame=False)
            button.set_child(Gtk.Label(label=label, xalign=0, wrap=True))
            button.update_property([Gtk.AccessibleProperty.LABEL], [label])
            button.connect("clicked", self._open_result, peer)
            self.search_results.append(button)
        if not found:
            empty = Gtk.Label(label="No message matches", margin_top=8)
            empty.add_css_class("dim-label")
            self.search_results.append(empty)

    def _open_result(self, _button, peer_id):
        self.search_entry.set_text("")
        self.select_peer(peer_id)

    def select_peer(self, peer_id):
        row = self._client_rows.get(peer_id)
        if row is not None:
            self.client_list.select_row(row)

    def _append(self, message):
        row = MessageRow(self, message)
        self._message_rows[message.id] = row
        self.conversation.append(row)
        trace.row(message.id)

    def _scroll_to_end(self):
        def scroll():
            adjustment = self.scroller.get_vadjustment()
            adjustment.set_value(adjustment.get_upper())
            return GLib.SOURCE_REMOVE

        GLib.idle_add(scroll)

    # ---- what rows ask

    def contact(self, user_id):
        row = self._client_rows.get(user_id)
        return row.contact if row is not None else None

    def offer_for(self, offer_id):
        return self._offers.get(offer_id)

    def queued_for(self, message_id=None, offer_id=None):
        for entry in self._outbox:
            if (message_id and entry.message_id == message_id) or (offer_id and entry.offer_id == offer_id):
                return entry
        return None

    def answer_offer(self, offer_id, accept):
        self.window.answer_offer(offer_id, accept)

    def attend(self, session_id):
        self.window.attend(session_id)

    def retry(self, entry_id):
        self.account.call("retry", entry_id, done=self._after_outbox_action)

    def discard(self, entry_id):
        self.account.run(self.account.client.discard, entry_id, done=self._after_outbox_action)

    def _after_outbox_action(self, _result, error):
        if error is not None:
            self.window.toast(str(error))
        self.refresh_outbox()
        if self.peer is not None:
            self.show_peer(self.peer)

    # ---- events

    def _on_event(self, _account, event):
        if self.me is None:
            return
        if event.event == "message":
            self._on_message(event.message)
            if self.search_entry.get_text().strip():
                self.on_search_changed(self.search_entry)  # a new text may match
        elif event.event == "offer":
            self._offers[event.offer.id] = event.offer
            for row in self._message_rows.values():
                if row.message.offer_id == event.offer.id:
                    row.update(row.message)
        elif event.event == "presence":
            row = self._client_rows.get(event.client.id)
            if row is None:
                self._load_clients()
            else:
                row.update(event.client)
                if self.peer is not None and self.peer.id == event.client.id:
                    self.peer = event.client
                    self._update_start()
        elif event.event == "status":
            self.refresh_outbox()

    def _on_message(self, message):
        peer = self.peer.id if self.peer else None
        if peer not in (message.sender_id, message.recipient_id):
            self._load_clients()  # another conversation: its unread count
            return
        row = self._message_rows.get(message.id)
        if row is not None:
            row.update(message)
            return
        self._append(message)
        self._scroll_to_end()
        if message.sender_id != self.me.id:
            self.mark_read_if_seen()

    def refresh_outbox(self):
        """Re-reads the outbox; each row shows what it now says of it (a row whose view is
        unchanged is left alone)."""
        outbox = self.account.client.outbox()
        if outbox == self._outbox:
            return
        self._outbox = outbox
        for row in self._message_rows.values():
            row.update(row.message)

    def mark_read_if_seen(self):
        """Marks the conversation read when the person can see it (R11)."""
        if self.peer is None or not self.window.is_active() or not self.get_mapped():
            return
        unread = self._client_rows[self.peer.id].contact.unread if self.peer.id in self._client_rows else 0
        if unread:
            self.account.call("mark_read", self.peer.id, done=lambda *_: self._load_clients())

    # ---- writing

    @Gtk.Template.Callback()
    def on_send(self, _widget):
        text = self.message_entry.get_text()
        if self.peer is None or not text.strip():
            return
        try:
            self.account.call("send", self.peer.id, text, done=self._sent)
        except plusguidance.Error as error:
            self.window.toast(str(error))
            return
        # The text is the outbox's from here (durable before the call waits for the server).
        self.message_entry.set_text("")

    def _sent(self, message, error):
        if error is not None:
            self.window.toast(f"Not sent: {error}")
        elif message is not None:
            self._on_message(message)
        self.refresh_outbox()

    # ---- Instant Sessions

    def _update_start(self):
        peer = self.peer
        if not self.is_therapist or peer is None:
            return
        self.start_button.set_sensitive(peer.online)
        why = "" if peer.online else f"{peer.name} is offline: an Instant Session needs the client online now."
        self.start_reason.set_label(why)
        self.start_button.set_tooltip_text(why or f"Offer {peer.name} a session that starts now")
        self.start_button.update_property([Gtk.AccessibleProperty.DESCRIPTION], [why or "The client is online"])

    @Gtk.Template.Callback()
    def on_start_session(self, _button):
        if self.peer is not None and self.peer.online:
            OfferDialog(self.window, self.account, self.peer).present()

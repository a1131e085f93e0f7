"""One message in the conversation: a text (with its delivery state, and "Retry" / "Discard"
when it failed), or a system message as the seed shows it (the offer in dark blue with "Accept"
and "Decline" for the client; "Click here to attend" opening the session window)."""
from gi.repository import Gtk

from .labels import local_time

SYSTEM_KINDS = {"sessionOffer", "sessionReady", "sessionLink", "offerDeclined", "offerExpired", "sessionEnded"}
_OFFER_STATES = {"accepted": "Accepted", "declined": "Declined", "expired": "Expired: no answer within an hour"}


class MessageRow(Gtk.ListBoxRow):
    """`page` answers: `me`, `peer`, `is_therapist`, `offer_for(id)`, `queued_for(...)`, and
    the actions `answer_offer`, `attend`, `retry`, `discard`."""

    def __init__(self, page, message):
        super().__init__(activatable=False, selectable=False)
        self.page = page
        self.message = None
        self.set_child(Gtk.Box())
        self.update(message)

    @property
    def own(self):
        return self.page.me is not None and self.message.sender_id == self.page.me.id

    def update(self, message):
        """Shows `message` as it is now. Rebuilt only when what it shows changed, and the
        keyboard focus stays on the same button across a rebuild (a screen reader user on
        "Accept" is not thrown out of the conversation by an event)."""
        offer = self.page.offer_for(message.offer_id) if message.offer_id else None
        queued = self.page.queued_for(message_id=message.id, offer_id=message.offer_id)
        shown = (message, offer, queued, self.page.is_therapist)
        if shown == getattr(self, "_shown", None):
            return
        self._shown = shown
        focused = self._focused_label()
        self.message = message
        kind = str(message.kind)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4, margin_top=4, margin_bottom=4,
                      margin_start=12, margin_end=12)
        if kind == "text":
            self._text(box)
        elif kind == "sessionOffer":
            self._offer(box)
        elif kind in ("sessionReady", "sessionLink"):
            self._attend(box)
        else:
            card = Gtk.Label(label=message.body, wrap=True, xalign=0, selectable=True)
            card.add_css_class("system-card")
            box.append(card)
        self.set_child(box)
        self.update_property([Gtk.AccessibleProperty.DESCRIPTION], [self._summary()])
        if focused is not None:
            self._refocus(box, focused)

    def _focused_label(self):
        window = self.get_root()
        widget = window.get_focus() if window is not None else None
        while widget is not None and widget is not self:
            if isinstance(widget, Gtk.Button):
                return widget.get_label() or widget.get_tooltip_text()
            widget = widget.get_parent()
        return None

    def _refocus(self, widget, label):
        if isinstance(widget, Gtk.Button) and (widget.get_label() or widget.get_tooltip_text()) == label:
            widget.grab_focus()
            return True
        child = widget.get_first_child()
        while child is not None:
            if self._refocus(child, label):
                return True
            child = child.get_next_sibling()
        return False

    def _summary(self):
        who = "You" if self.own else (self.page.peer.name if self.page.peer else "")
        return f"{who}, {local_time(self.message.created_at)}"

    # ---- kinds

    def _text(self, box):
        own = self.own
        bubble = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=2,
                         halign=Gtk.Align.END if own else Gtk.Align.START)
        bubble.add_css_class("bubble")
        if own:
            bubble.add_css_class("own")
        body = Gtk.Label(label=self.message.body, wrap=True, xalign=0, selectable=True, max_width_chars=60)
        bubble.append(body)
        meta = Gtk.Box(spacing=6, halign=Gtk.Align.END)
        meta.append(_dim(local_time(self.message.created_at)))
        if own:
            meta.append(self._delivery())
        bubble.append(meta)
        box.append(bubble)
        entry = self.page.queued_for(message_id=self.message.id)
        if own and str(self.message.delivery_state) == "failed":
            buttons = Gtk.Box(spacing=6, halign=Gtk.Align.END)
            retry = Gtk.Button(label="Retry", tooltip_text="Send this message again")
            discard = Gtk.Button(label="Discard", tooltip_text="Delete this unsent message")
            discard.add_css_class("destructive-action")
            retry.set_sensitive(entry is not None)
            discard.set_sensitive(entry is not None)
            if entry is not None:
                retry.connect("clicked", lambda _b: self.page.retry(entry.id))
                discard.connect("clicked", lambda _b: self.page.discard(entry.id))
            buttons.append(retry)
            buttons.append(discard)
            box.append(buttons)

    def _delivery(self):
        state = str(self.message.delivery_state)
        if state == "pending":
            return _dim("Queued")
        if state == "failed":
            entry = self.page.queued_for(message_id=self.message.id)
            reason = entry.error.reason if entry is not None and entry.error is not None else "not delivered"
            label = Gtk.Label(label=f"Failed: {reason}", wrap=True, xalign=1)
            label.add_css_class("failed-state")
            return label
        return _dim("Read" if self.message.read_at is not None else "Sent")

    def _offer(self, box):
        card = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6,
                       halign=Gtk.Align.END if self.own else Gtk.Align.START)
        card.add_css_class("offer-card")
        card.append(Gtk.Label(label=self.message.body, wrap=True, xalign=0, selectable=True, max_width_chars=60))
        offer = self.page.offer_for(self.message.offer_id)
        queued = self.page.queued_for(offer_id=self.message.offer_id)
        if offer is None:
            pass
        elif str(offer.state) == "pending" and queued is not None:
            verb = "Accept" if str(queued.action) == "accept" else "Decline"
            card.append(Gtk.Label(label=f"Queued: {verb}. It is sent when the server is back.", xalign=0, wrap=True))
        elif str(offer.state) == "pending" and not self.page.is_therapist:
            card.append(Gtk.Label(label=f"Answer by {local_time(offer.expires_at)}", xalign=0))
            buttons = Gtk.Box(spacing=6)
            accept = Gtk.Button(label="Accept")
            accept.add_css_class("suggested-action")
            accept.connect("clicked", lambda _b: self.page.answer_offer(offer.id, accept=True))
            decline = Gtk.Button(label="Decline")
            decline.connect("clicked", lambda _b: self.page.answer_offer(offer.id, accept=False))
            buttons.append(accept)
            buttons.append(decline)
            card.append(buttons)
        elif str(offer.state) == "pending":
            card.append(Gtk.Label(label=f"Waiting for the client until {local_time(offer.expires_at)}", xalign=0))
        else:
            card.append(Gtk.Label(label=_OFFER_STATES.get(str(offer.state), str(offer.state)), xalign=0))
        box.append(card)

    def _attend(self, box):
        button = Gtk.Button(halign=Gtk.Align.START)
        button.set_child(Gtk.Label(label=self.message.body, wrap=True, xalign=0))
        button.add_css_class("system-card")
        button.update_property([Gtk.AccessibleProperty.LABEL], [self.message.body])
        session_id = self.message.session_id
        button.connect("clicked", lambda _b: self.page.attend(session_id))
        box.append(button)


def _dim(text):
    label = Gtk.Label(label=text, xalign=1)
    label.add_css_class("dim-label")
    return label


"""`Client`: one profile, over the C library. Every method blocks only its calling thread (the
library releases the GIL); `events()` follows the client with asyncio on the library's event
descriptor, and the `*_async` methods return a request id at once, their completion arriving
as an event."""
import ctypes
import datetime
import json
import os
import threading

from . import _library
from ._library import lib
from .entities import Account, Contact, Event, Message, Offer, OutboxEntry, Session, Status
from .errors import ClosedError, InvalidError, check, error_for


def _text(value, name):
    if not isinstance(value, str):
        raise InvalidError("invalid_argument", f"{name} must be a str")
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidError("invalid_utf8", f"{name} is not valid UTF-8 (a lone surrogate)") from None
    if b"\0" in encoded:
        raise InvalidError("invalid_argument", f"{name} holds a NUL character")
    return encoded


def _list(kind):
    return lambda values: [kind.from_json(value) for value in values]


class Client:
    """A client on one profile (a folder), shared safely with `pg` and `pg-syncd`.

    `Client(server=URL, profile=DIR, key_file=PATH)`; use it as a context manager, or call
    `close()`. `peer` and `client` arguments take an e-mail or an id."""

    def __init__(self, server, profile, key_file=None, request_timeout=None, wait=None):
        options = {"server": server, "profile": os.fspath(profile)}
        if key_file is not None:
            options["keyFile"] = os.fspath(key_file)
        if request_timeout is not None:
            options["requestTimeoutSeconds"] = request_timeout
        if wait is not None:
            options["waitSeconds"] = wait
        handle = ctypes.c_void_p()
        check(lib.pg_client_open(ctypes.byref(handle), _text(json.dumps(options), "options")))
        self._handle = handle
        self._lock = threading.Lock()
        self._completions = {}

    # ---- life cycle

    def close(self):
        """Closes the client (idempotent): pending `*_async` calls are cancelled."""
        handle, self._handle = self._handle, None
        if handle is not None:
            check(lib.pg_client_close(handle))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def _h(self):
        if self._handle is None:
            raise ClosedError("closed_handle", "the client is closed")
        return self._handle

    def _call(self, function, *arguments, convert=None):
        out = ctypes.c_void_p()
        check(function(ctypes.byref(out), self._h, *arguments))
        text = _library.take_string(out.value)
        value = json.loads(text) if text is not None else None
        return convert(value) if convert else value

    def _start(self, function, convert, *arguments):
        request = ctypes.c_uint64()
        check(function(ctypes.byref(request), self._h, *arguments))
        with self._lock:
            self._completions[request.value] = convert
        return request.value

    # ---- the account

    def sign_in(self, email, password):
        """Signs in and syncs once. Returns the Account."""
        return self._call(lib.pg_client_sign_in, _text(email, "email"), _text(password, "password"), convert=Account.from_json)

    def sign_in_async(self, email, password):
        return self._start(lib.pg_client_sign_in_async, Account.from_json, _text(email, "email"), _text(password, "password"))

    def sign_out(self):
        """Signs out: the profile's keys are destroyed first, then its cache and outbox."""
        check(lib.pg_client_sign_out(self._h))

    def whoami(self):
        return self._call(lib.pg_client_whoami, convert=Account.from_json)

    def key_show(self):
        """Where the profile's key is looked for (never the key): {key, origin, exists}."""
        return self._call(lib.pg_client_key_show)

    def key_rotate(self, new_key_file=None):
        """Re-wraps the data keys under a new key; returns {rewrapped, key}."""
        path = None if new_key_file is None else _text(os.fspath(new_key_file), "new_key_file")
        return self._call(lib.pg_client_key_rotate, path)

    # ---- reads (the cache; offline too)

    def clients(self):
        return self._call(lib.pg_client_clients, convert=_list(Contact))

    def messages(self, peer, limit=None):
        """The latest `limit` messages (default 50, at most 1000) with `peer`, oldest first."""
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000):
            raise InvalidError("invalid_argument", "limit must be an int in 1...1000")
        return self._call(lib.pg_client_messages, _text(peer, "peer"), limit or 0, convert=_list(Message))

    def search(self, text, with_peer=None, limit=None):
        """Messages whose body matches `text`, offline, from the cache: every word of `text` must
        begin a word of the body, case and accents aside ("cafe resume" finds "Café résumé").
        The best match first, then the newest; each `Message` has its `snippet`. `with_peer`
        (an e-mail or id) keeps one conversation; `limit` defaults to 50, at most 1000."""
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000):
            raise InvalidError("invalid_argument", "limit must be an int in 1...1000")
        peer = None if with_peer is None else _text(with_peer, "with_peer")
        return self._call(lib.pg_client_search, _text(text, "text"), peer, limit or 0, convert=_list(Message))

    def load_older_messages(self, peer, limit=50):
        """Fetches an older page of the conversation into the cache; returns how many arrived."""
        count = ctypes.c_int32()
        check(lib.pg_client_load_older_messages(ctypes.byref(count), self._h, _text(peer, "peer"), limit))
        return count.value

    def offers(self):
        return self._call(lib.pg_client_offers, convert=_list(Offer))

    def sessions(self):
        """Upcoming sessions, with their countdowns."""
        return self._call(lib.pg_client_sessions, convert=_list(Session))

    def session(self, session_id):
        return self._call(lib.pg_client_session, _text(session_id, "session_id"), convert=Session.from_json)

    def status(self):
        return self._call(lib.pg_client_status, convert=Status.from_json)

    def outbox(self):
        return self._call(lib.pg_client_outbox, convert=_list(OutboxEntry))

    # ---- writes: wait for the server's answer (up to `wait` seconds), queued when offline

    def send(self, peer, text):
        """Sends a text; the Message's `delivery_state` is `sent` once delivered, `pending` while queued."""
        return self._call(lib.pg_client_send, _text(peer, "peer"), _text(text, "text"), convert=Message.from_json)

    def send_async(self, peer, text):
        return self._start(lib.pg_client_send_async, Message.from_json, _text(peer, "peer"), _text(text, "text"))

    @staticmethod
    def _offer_options(type, duration_minutes, requires_confirmation, starts_at):
        if not isinstance(duration_minutes, int) or isinstance(duration_minutes, bool):
            raise InvalidError("invalid_argument", "duration_minutes must be an int")
        options = {
            "type": str(type),
            "durationMinutes": duration_minutes,
            "requiresConfirmation": bool(requires_confirmation),
        }
        if starts_at is not None:
            if not isinstance(starts_at, datetime.datetime) or starts_at.tzinfo is None:
                raise InvalidError("invalid_argument", "starts_at must be an aware datetime")
            options["startsAt"] = starts_at.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        return _text(json.dumps(options), "options")

    def offer(self, client, type, duration_minutes, requires_confirmation=True, starts_at=None):
        """Offers an Instant Session (needs the server; never queued). Returns the Offer."""
        options = self._offer_options(type, duration_minutes, requires_confirmation, starts_at)
        return self._call(lib.pg_client_offer, _text(client, "client"), options, convert=Offer.from_json)

    def offer_async(self, client, type, duration_minutes, requires_confirmation=True, starts_at=None):
        options = self._offer_options(type, duration_minutes, requires_confirmation, starts_at)
        return self._start(lib.pg_client_offer_async, Offer.from_json, _text(client, "client"), options)

    def accept(self, offer_id):
        """Accepts an offer; returns its OutboxEntry with `delivered`."""
        return self._call(lib.pg_client_accept, _text(offer_id, "offer_id"), convert=OutboxEntry.from_json)

    def accept_async(self, offer_id):
        return self._start(lib.pg_client_accept_async, OutboxEntry.from_json, _text(offer_id, "offer_id"))

    def decline(self, offer_id):
        return self._call(lib.pg_client_decline, _text(offer_id, "offer_id"), convert=OutboxEntry.from_json)

    def decline_async(self, offer_id):
        return self._start(lib.pg_client_decline_async, OutboxEntry.from_json, _text(offer_id, "offer_id"))

    def stop(self, session_id):
        """Stops a session (its therapist only)."""
        return self._call(lib.pg_client_stop, _text(session_id, "session_id"), convert=OutboxEntry.from_json)

    def stop_async(self, session_id):
        return self._start(lib.pg_client_stop_async, OutboxEntry.from_json, _text(session_id, "session_id"))

    def mark_read(self, peer):
        """Marks the conversation read; returns the Contact as this device now shows it."""
        return self._call(lib.pg_client_mark_read, _text(peer, "peer"), convert=Contact.from_json)

    def mark_read_async(self, peer):
        return self._start(lib.pg_client_mark_read_async, Contact.from_json, _text(peer, "peer"))

    def retry(self, outbox_id):
        """Sends a failed outbox entry again."""
        return self._call(lib.pg_client_outbox_retry, _text(outbox_id, "outbox_id"), convert=OutboxEntry.from_json)

    def retry_async(self, outbox_id):
        return self._start(lib.pg_client_outbox_retry_async, OutboxEntry.from_json, _text(outbox_id, "outbox_id"))

    def discard(self, outbox_id):
        check(lib.pg_client_outbox_discard(self._h, _text(outbox_id, "outbox_id")))

    # ---- sync, live, events

    def sync(self):
        """Delivers the outbox and pulls what changed; returns the Status afterwards."""
        return self._call(lib.pg_client_sync, convert=Status.from_json)

    def sync_async(self):
        return self._start(lib.pg_client_sync_async, Status.from_json)

    def start_live(self):
        """Keeps the account live (which keeps a client online) until `stop_live()` or `close()`."""
        check(lib.pg_client_start_live(self._h))

    def stop_live(self):
        check(lib.pg_client_stop_live(self._h))

    def fileno(self):
        """The event descriptor, readable while events wait (for GLib, selectors, asyncio).
        The first call starts following the account."""
        fd = ctypes.c_int()
        check(lib.pg_client_event_fd(ctypes.byref(fd), self._h))
        return fd.value

    def next_event(self):
        """The next Event, or None when none waits. Never blocks."""
        out = ctypes.c_void_p()
        check(lib.pg_client_next_event(ctypes.byref(out), self._h))
        text = _library.take_string(out.value)
        return None if text is None else self._event(json.loads(text))

    def _event(self, value):
        event = Event.from_json(value)
        if event.event != "completion":
            return event
        with self._lock:
            convert = self._completions.pop(event.request, None)
        if event.ok:
            result = convert(event.result) if convert and event.result is not None else event.result
            return Event(event="completion", request=event.request, ok=True, result=result)
        error = event.error or {}
        return Event(
            event="completion",
            request=event.request,
            ok=False,
            error=error_for(error.get("status", -1), error.get("code", "internal"), error.get("message", "")),
        )

    async def events(self):
        """`async for event in client.events()`: every Event from now on, read on the event
        descriptor with the running loop's `add_reader` (no thread)."""
        # Imported here: asyncio (and the ssl it brings) costs a process 10 MiB, which a GLib
        # app on the same descriptor never needs.
        import asyncio

        loop = asyncio.get_running_loop()
        fd = self.fileno()
        ready = asyncio.Event()
        loop.add_reader(fd, ready.set)
        try:
            while True:
                event = self.next_event()
                if event is not None:
                    yield event
                    continue
                ready.clear()
                # Readable again between the empty read and clear(): look once more.
                event = self.next_event()
                if event is not None:
                    yield event
                    continue
                await ready.wait()
        finally:
            if self._handle is not None:
                loop.remove_reader(fd)

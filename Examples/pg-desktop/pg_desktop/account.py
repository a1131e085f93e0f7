"""The SDK on the GLib main loop: one `plusguidance.Client`, its event descriptor watched with
`GLib.unix_fd_add_full` (no polling), and every call that may wait on the network started with
its `_async` form or on a worker thread, its answer delivered back on the main loop."""
import threading

import plusguidance
from gi.repository import GLib, GObject

# Events handled per main-loop dispatch: a burst (a first sync) never starves drawing.
_BATCH = 64


class Account(GObject.Object):
    """The signed-in person's view of the profile, for the widgets.

    Signals: `event` (a `plusguidance.Event`: message, offer, session, presence, status) and
    `signed-in-changed`. Reads (`client.messages()`, `client.clients()`…) are cache reads and
    may run on the main loop; `call()` and `run()` are for everything else."""

    __gsignals__ = {
        "event": (GObject.SignalFlags.RUN_FIRST, None, (object,)),
        "signed-in-changed": (GObject.SignalFlags.RUN_FIRST, None, ()),
    }

    def __init__(self, client):
        super().__init__()
        self.client = client
        self.me = None
        self._completions = {}
        self._working = 0
        self._idle_waiters = []
        self._source = GLib.unix_fd_add_full(
            GLib.PRIORITY_DEFAULT, client.fileno(), GLib.IOCondition.IN, self._readable)
        try:
            self.me = client.whoami()
        except plusguidance.UnauthorizedError:
            self.me = None

    @property
    def is_therapist(self):
        return self.me is not None and self.me.role == plusguidance.Role.THERAPIST

    # ---- events

    def _readable(self, _fd, _condition):
        if self._source is None:
            return GLib.SOURCE_REMOVE
        for _ in range(_BATCH):
            event = self.client.next_event()
            if event is None:
                break
            if event.event == "completion":
                done = self._completions.pop(event.request, None)
                if done is not None:
                    self._finish(done, event.result if event.ok else None, None if event.ok else event.error)
            else:
                self.emit("event", event)
        return GLib.SOURCE_CONTINUE

    # ---- calls off the main loop

    def call(self, name, *arguments, done=None, **options):
        """Starts `client.<name>_async(...)`; `done(result, error)` runs on the main loop with
        the call's result or its `plusguidance.Error`. Bad arguments raise here, at once."""
        request = getattr(self.client, name + "_async")(*arguments, **options)
        self._working += 1
        self._completions[request] = done or (lambda result, error: None)

    def run(self, function, *arguments, done=None):
        """Runs `function(*arguments)` on a worker thread (calls with no `_async` form);
        `done(result, error)` runs on the main loop."""
        self._working += 1

        def work():
            try:
                result, error = function(*arguments), None
            except plusguidance.Error as failure:
                result, error = None, failure
            GLib.idle_add(self._finish, done or (lambda result, error: None), result, error)

        threading.Thread(target=work, name="pg-desktop call", daemon=True).start()

    def _finish(self, done, result, error):
        self._working -= 1
        try:
            done(result, error)
        finally:
            if self._working == 0:
                waiters, self._idle_waiters = self._idle_waiters, []
                for waiter in waiters:
                    waiter()
        return GLib.SOURCE_REMOVE

    def when_idle(self, callback):
        """Runs `callback` once no call is outstanding (closing waits so: a text the user sent
        is durable in the outbox before the client closes)."""
        if self._working == 0:
            callback()
        else:
            self._idle_waiters.append(callback)

    # ---- account

    def sign_in(self, email, password, done):
        def signed_in(account, error):
            if error is None:
                self.me = account
                self.go_live()
                self.emit("signed-in-changed")
            done(account, error)

        self.call("sign_in", email, password, done=signed_in)

    def go_live(self):
        """Keeps the account live (which keeps a client online, R2), on a worker thread."""
        self.run(self.client.start_live)

    def sign_out(self, done):
        def signed_out(_result, error):
            if error is None:
                self.me = None
                self.emit("signed-in-changed")
            done(error)

        self.run(self._sign_out, done=signed_out)

    def _sign_out(self):
        self.client.stop_live()
        self.client.sign_out()

    def close(self):
        source, self._source = self._source, None
        if source is not None:
            GLib.source_remove(source)
        self.client.close()

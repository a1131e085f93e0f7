"""PlusGuidanceKit for Python: offline-first messaging and Instant Sessions between
therapists and their clients, over the C library libplusguidance.

    import plusguidance
    with plusguidance.Client(server="http://127.0.0.1:8080", profile="/tmp/alice") as client:
        client.sign_in("alice@example.com", password)
        for message in client.messages("therapist@example.com"):
            print(message.created_at, message.body)
"""
from ._library import lib as _lib
from .client import Client
from .entities import (
    Account,
    Contact,
    DeliveryState,
    Event,
    Message,
    MessageKind,
    Offer,
    OfferState,
    OutboxAction,
    OutboxEntry,
    OutboxError,
    OutboxState,
    Role,
    Session,
    SessionState,
    SessionType,
    Status,
)
from .errors import ClosedError, Error, InvalidError, RefusedError, UnauthorizedError, UnreachableError

__version__ = "0.1.0"


def library_version():
    """The version of the C library this package loaded."""
    return _lib.pg_version().decode()


__all__ = [
    "Account", "Client", "ClosedError", "Contact", "DeliveryState", "Error", "Event", "InvalidError", "Message",
    "MessageKind", "Offer", "OfferState", "OutboxAction", "OutboxEntry", "OutboxError", "OutboxState",
    "RefusedError", "Role", "Session", "SessionState", "SessionType", "Status", "UnauthorizedError",
    "UnreachableError", "library_version",
]

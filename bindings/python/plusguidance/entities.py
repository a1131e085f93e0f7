"""The entities, as dataclasses with the JSON shapes' fields in snake_case, enums that compare
equal to their JSON strings, and aware datetimes (UTC)."""
import dataclasses
import datetime
import enum
import re
from typing import Any, Optional


class _StrEnum(str, enum.Enum):
    def __str__(self):
        return self.value


class Role(_StrEnum):
    THERAPIST = "therapist"
    CLIENT = "client"


class MessageKind(_StrEnum):
    TEXT = "text"
    SESSION_OFFER = "sessionOffer"
    SESSION_READY = "sessionReady"
    SESSION_LINK = "sessionLink"
    OFFER_DECLINED = "offerDeclined"
    OFFER_EXPIRED = "offerExpired"
    SESSION_ENDED = "sessionEnded"


class DeliveryState(_StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class SessionType(_StrEnum):
    VIDEO = "video"
    VOICE = "voice"
    CHAT = "chat"


class OfferState(_StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class SessionState(_StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "inProgress"
    ENDED = "ended"


class OutboxAction(_StrEnum):
    SEND = "send"
    ACCEPT = "accept"
    DECLINE = "decline"
    STOP = "stop"
    READ = "read"
    UNREADABLE = "unreadable"


class OutboxState(_StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "inFlight"
    FAILED = "failed"


def parse_time(text):
    """An ISO 8601 time of the library (`2026-12-05T09:16:27.123Z`) as an aware datetime."""
    if text is None:
        return None
    text = text.replace("Z", "+00:00")
    # Python before 3.11 takes only 3 or 6 fraction digits.
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$", text)
    if match:
        fraction = (match.group(2) or "0")[:6].ljust(6, "0")
        text = f"{match.group(1)}.{fraction}{match.group(3)}"
    return datetime.datetime.fromisoformat(text)


def _enum(kind):
    def convert(value):
        try:
            return kind(value)
        except ValueError:
            return value  # a value a newer library added: kept as its string

    return convert


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _Entity:
    _convert: dict = {}

    @classmethod
    def from_json(cls, value):
        if value is None:
            return None
        names = {field.name for field in dataclasses.fields(cls)}
        arguments = {}
        for key, item in value.items():
            name = _snake(key)
            if name in names:
                convert = cls._convert.get(name)
                arguments[name] = convert(item) if convert and item is not None else item
        return cls(**arguments)


@dataclasses.dataclass(frozen=True)
class Account(_Entity):
    id: str
    email: str
    role: Role
    _convert = {"role": _enum(Role)}


@dataclasses.dataclass(frozen=True)
class Contact(_Entity):
    """A therapist's client, or a client's therapist."""

    id: str
    email: str
    name: str
    online: bool
    unread: int


@dataclasses.dataclass(frozen=True)
class Message(_Entity):
    id: str
    sender_id: str
    recipient_id: str
    kind: MessageKind
    body: str
    created_at: datetime.datetime
    delivery_state: DeliveryState
    read_at: Optional[datetime.datetime] = None
    offer_id: Optional[str] = None
    session_id: Optional[str] = None
    #: Set by `Client.search`: about 80 characters of the body around what matched.
    snippet: Optional[str] = None
    _convert = {
        "kind": _enum(MessageKind),
        "delivery_state": _enum(DeliveryState),
        "created_at": parse_time,
        "read_at": parse_time,
    }


@dataclasses.dataclass(frozen=True)
class Offer(_Entity):
    id: str
    therapist_id: str
    client_id: str
    type: SessionType
    duration_minutes: int
    requires_confirmation: bool
    state: OfferState
    created_at: datetime.datetime
    expires_at: datetime.datetime
    session_id: Optional[str] = None
    _convert = {
        "type": _enum(SessionType),
        "state": _enum(OfferState),
        "created_at": parse_time,
        "expires_at": parse_time,
    }


@dataclasses.dataclass(frozen=True)
class Session(_Entity):
    """A session, with its countdown on the server's clock as the device estimates it."""

    id: str
    therapist_id: str
    client_id: str
    type: SessionType
    starts_at: datetime.datetime
    duration_minutes: int
    state: SessionState
    remaining_seconds: int
    overtime_seconds: int
    _convert = {"type": _enum(SessionType), "state": _enum(SessionState), "starts_at": parse_time}


@dataclasses.dataclass(frozen=True)
class Status(_Entity):
    online: bool
    last_sync_at: Optional[datetime.datetime]
    pending_outbox: int
    failed_outbox: int
    # From Client.status() only: the server's clock as the device estimates it (R12).
    server_time: Optional[datetime.datetime] = None
    _convert = {"last_sync_at": parse_time, "server_time": parse_time}


@dataclasses.dataclass(frozen=True)
class OutboxError(_Entity):
    code: str
    reason: str


@dataclasses.dataclass(frozen=True)
class OutboxEntry(_Entity):
    """An action waiting for the server; `delivered` is set on an action's answer: True once
    the server confirmed it, False while it is queued. `message_id`, `offer_id` or
    `session_id` says what the action is about (a text, an accept or decline, a stop)."""

    id: str
    action: OutboxAction
    state: OutboxState
    attempts: int
    error: Optional[OutboxError]
    enqueued_at: datetime.datetime
    delivered: Optional[bool] = None
    message_id: Optional[str] = None
    offer_id: Optional[str] = None
    session_id: Optional[str] = None
    _convert = {
        "action": _enum(OutboxAction),
        "state": _enum(OutboxState),
        "error": OutboxError.from_json,
        "enqueued_at": parse_time,
    }


@dataclasses.dataclass(frozen=True)
class Event(_Entity):
    """What `Client.events()` yields. `event` is `message`, `offer`, `session` or `presence`
    (with `.message`, `.offer`, `.session` or `.client`, and `.change`), `status` (with
    `.status`), or `completion` of an `_async` call (with `.request`, `.ok`, and `.result` or
    `.error`, a `plusguidance.Error`)."""

    event: str
    change: Optional[str] = None
    message: Optional[Message] = None
    offer: Optional[Offer] = None
    session: Optional[Session] = None
    client: Optional[Contact] = None
    status: Optional[Status] = None
    request: Optional[int] = None
    ok: Optional[bool] = None
    result: Any = None
    error: Any = None
    _convert = {
        "message": Message.from_json,
        "offer": Offer.from_json,
        "session": Session.from_json,
        "client": Contact.from_json,
        "status": Status.from_json,
    }

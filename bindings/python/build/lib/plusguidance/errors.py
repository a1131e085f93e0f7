"""One exception for every failure, `plusguidance.Error`, with the library's stable `.code`;
a subclass per class of error, for callers that branch on it (pygit2's check_error)."""
from . import _library


class Error(Exception):
    """A failure of the library: `.code` is the stable code string (`client_offline`,
    `offer_expired`, `unreachable`, `not_signed_in`…), `.status` the C status, `str()` one line
    that never carries a message body, a name, a token or a password."""

    status = -1

    def __init__(self, code, message, status=None):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status

    def __repr__(self):
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidError(Error, ValueError):
    """Bad usage: a missing or malformed argument (PG_EINVALID)."""

    status = -2


class RefusedError(Error):
    """Refused by a domain rule: client offline, offer expired, not your client (PG_EREFUSED)."""

    status = -3


class UnreachableError(Error, ConnectionError):
    """The server could not be reached, for a call that needs it (PG_EUNREACHABLE)."""

    status = -4


class UnauthorizedError(Error, PermissionError):
    """Not signed in, bad credentials, or the profile's key missing or wrong (PG_EUNAUTHORIZED)."""

    status = -5


class ClosedError(Error):
    """The client was closed (PG_ECLOSED)."""

    status = -6


_BY_STATUS = {cls.status: cls for cls in (InvalidError, RefusedError, UnreachableError, UnauthorizedError, ClosedError)}


def error_for(status, code, message):
    return _BY_STATUS.get(status, Error)(code, message, status)


def check(status):
    """Raises the calling thread's last error when `status` is not 0."""
    if status != 0:
        status, code, message = _library.last_error()
        raise error_for(status, code, message)

"""Finds and loads libplusguidance.so.0, and declares the C functions' signatures (ctypes:
no compiled extension). The library comes from PLUSGUIDANCE_LIBRARY, else the system loader."""
import ctypes
import ctypes.util
import os

_NAMES = ("libplusguidance.so.0", "libplusguidance.so")


def _load():
    tried = []
    override = os.environ.get("PLUSGUIDANCE_LIBRARY")
    candidates = [override] if override else []
    candidates += list(_NAMES)
    found = ctypes.util.find_library("plusguidance")
    if found:
        candidates.append(found)
    for candidate in candidates:
        try:
            return ctypes.CDLL(candidate)
        except OSError as error:
            tried.append(f"{candidate} ({error})")
    raise OSError(
        "libplusguidance not found; set PLUSGUIDANCE_LIBRARY or install it (scripts/install). Tried: "
        + "; ".join(tried)
    )


lib = _load()

_char_pp = ctypes.POINTER(ctypes.c_void_p)
_u64_p = ctypes.POINTER(ctypes.c_uint64)
_client = ctypes.c_void_p
_str = ctypes.c_char_p


class _Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("code", ctypes.c_char_p), ("message", ctypes.c_char_p)]


def _declare(name, *arguments):
    function = getattr(lib, name)
    function.argtypes = list(arguments)
    function.restype = ctypes.c_int
    return function


lib.pg_version.argtypes = []
lib.pg_version.restype = ctypes.c_char_p
lib.pg_error_last.argtypes = []
lib.pg_error_last.restype = ctypes.POINTER(_Error)
lib.pg_free.argtypes = [ctypes.c_void_p]
lib.pg_free.restype = ctypes.c_int

_declare("pg_client_open", ctypes.POINTER(ctypes.c_void_p), _str)
_declare("pg_client_close", _client)
for _name in ("whoami", "key_show", "clients", "offers", "sessions", "status", "outbox", "sync", "next_event"):
    _declare(f"pg_client_{_name}", _char_pp, _client)
_declare("pg_client_sign_in", _char_pp, _client, _str, _str)
_declare("pg_client_sign_in_async", _u64_p, _client, _str, _str)
_declare("pg_client_sign_out", _client)
_declare("pg_client_key_rotate", _char_pp, _client, _str)
_declare("pg_client_messages", _char_pp, _client, _str, ctypes.c_int32)
_declare("pg_client_search", _char_pp, _client, _str, _str, ctypes.c_int32)
_declare("pg_client_load_older_messages", ctypes.POINTER(ctypes.c_int32), _client, _str, ctypes.c_int32)
_declare("pg_client_session", _char_pp, _client, _str)
for _name in ("send", "offer"):
    _declare(f"pg_client_{_name}", _char_pp, _client, _str, _str)
    _declare(f"pg_client_{_name}_async", _u64_p, _client, _str, _str)
for _name in ("accept", "decline", "stop", "mark_read", "outbox_retry"):
    _declare(f"pg_client_{_name}", _char_pp, _client, _str)
    _declare(f"pg_client_{_name}_async", _u64_p, _client, _str)
_declare("pg_client_outbox_discard", _client, _str)
_declare("pg_client_sync_async", _u64_p, _client)
_declare("pg_client_start_live", _client)
_declare("pg_client_stop_live", _client)
_declare("pg_client_event_fd", ctypes.POINTER(ctypes.c_int), _client)


def last_error():
    """(status, code, message) of the calling thread's last failure."""
    error = lib.pg_error_last().contents
    return error.status, (error.code or b"").decode(), (error.message or b"").decode(errors="replace")


def take_string(pointer):
    """The UTF-8 text the library returned through an out-parameter, freed once copied."""
    if not pointer:
        return None
    try:
        return ctypes.string_at(pointer).decode()
    finally:
        lib.pg_free(pointer)

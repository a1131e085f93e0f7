"""Misuse across the ABI and the package: a typed error with a stable code, never a crash."""
import ctypes

import pytest

import plusguidance
from plusguidance._library import lib


def status_and_code(status):
    error = lib.pg_error_last().contents
    return status, error.code.decode()


def test_null_arguments_are_invalid_not_a_crash(open_client):
    client = open_client("alice@example.com")
    out = ctypes.c_void_p()
    assert status_and_code(lib.pg_client_messages(None, client._h, b"therapist@example.com", 0)) == (-2, "invalid_argument")
    assert status_and_code(lib.pg_client_messages(ctypes.byref(out), client._h, None, 0)) == (-2, "invalid_argument")
    assert status_and_code(lib.pg_client_clients(ctypes.byref(out), None)) == (-2, "invalid_argument")
    assert status_and_code(lib.pg_client_open(None, b"{}")) == (-2, "invalid_argument")
    assert lib.pg_free(None) == 0


def test_invalid_utf8_and_bad_json_are_invalid(open_client, server, tmp_path):
    client = open_client("alice@example.com")
    out = ctypes.c_void_p()
    assert status_and_code(lib.pg_client_send(ctypes.byref(out), client._h, b"\xff\xfe", b"hi")) == (-2, "invalid_utf8")
    assert status_and_code(lib.pg_client_send(ctypes.byref(out), client._h, b"therapist@example.com", b"\xc3")) == (
        -2, "invalid_utf8")
    handle = ctypes.c_void_p()
    for options, code in ((b"{not json", "invalid_json"), (b"[1, 2]", "invalid_json"), (b"\xff", "invalid_utf8"),
                          (b'{"server": 5}', "invalid_argument"),
                          (b'{"server": "http://x", "profile": "/tmp/p", "colour": 1}', "invalid_argument")):
        assert status_and_code(lib.pg_client_open(ctypes.byref(handle), options)) == (-2, code)
        assert not handle.value
    with pytest.raises(plusguidance.InvalidError) as invalid:
        client.send("therapist@example.com", "\ud800")
    assert invalid.value.code == "invalid_utf8"
    with pytest.raises(plusguidance.InvalidError):
        client.messages("therapist@example.com", limit=0)
    with pytest.raises(plusguidance.InvalidError):
        client.offer("therapist@example.com", "video", 30, starts_at="tomorrow")
    # Nothing was queued by any of it.
    assert client.outbox() == []


def test_a_closed_handle_is_an_error_not_a_crash(server, tmp_path, key_file):
    client = plusguidance.Client(server=server.url, profile=str(tmp_path / "p"), key_file=key_file)
    raw = client._h
    client.close()
    client.close()  # idempotent in Python
    out = ctypes.c_void_p()
    assert status_and_code(lib.pg_client_status(ctypes.byref(out), raw)) == (-6, "closed_handle")
    assert status_and_code(lib.pg_client_close(raw)) == (-6, "closed_handle")
    with pytest.raises(plusguidance.ClosedError):
        client.status()


def test_a_double_free_is_detected(open_client):
    client = open_client("alice@example.com")
    out = ctypes.c_void_p()
    assert lib.pg_client_status(ctypes.byref(out), client._h) == 0
    assert lib.pg_free(out.value) == 0
    assert status_and_code(lib.pg_free(out.value)) == (-6, "unknown_pointer")
    foreign = ctypes.create_string_buffer(b"not ours")
    assert status_and_code(lib.pg_free(ctypes.cast(foreign, ctypes.c_void_p).value)) == (-6, "unknown_pointer")


def test_errors_name_their_class(server, tmp_path, key_file):
    with plusguidance.Client(server="http://127.0.0.1:9", profile=str(tmp_path / "p"), key_file=key_file,
                             request_timeout=2) as client:
        with pytest.raises(plusguidance.UnreachableError) as unreachable:
            client.sign_in("alice@example.com", "alice-pass")
        assert unreachable.value.code == "unreachable" and isinstance(unreachable.value, ConnectionError)
    profile_file = tmp_path / "file"
    profile_file.write_text("")
    with pytest.raises(plusguidance.InvalidError):
        plusguidance.Client(server=server.url, profile=str(profile_file), key_file=key_file)


def test_versions_agree():
    assert plusguidance.library_version() == plusguidance.__version__


def test_one_client_from_many_threads_at_once(open_client):
    """A handle is usable from any thread: four threads send and read on one client at once;
    every text arrives once, in each thread's order."""
    import threading

    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    failures = []

    def work(name):
        try:
            for n in range(10):
                alice.send("therapist@example.com", f"{name} {n}")
                alice.messages("therapist@example.com", limit=5)
                alice.status()
        except Exception as error:  # collected for the assertion below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(f"thread{t}",)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and not any(thread.is_alive() for thread in threads)
    therapist.sync()
    bodies = [m.body for m in therapist.messages("alice@example.com", limit=1000)]
    assert len(bodies) == 40 and len(set(bodies)) == 40
    for t in range(4):
        assert [b for b in bodies if b.startswith(f"thread{t} ")] == [f"thread{t} {n}" for n in range(10)]

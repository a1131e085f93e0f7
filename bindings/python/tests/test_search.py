"""Offline search through the library, and nothing readable in the profile's files (R10)."""
import os
import signal
import subprocess
import time

import plusguidance
import pytest
from conftest import command, wait_for

CANARY_WORD = "Nachtangst"


def profile_files_holding(profile, needles):
    """Which files under `profile` hold any of `needles`, byte for byte (as UTF-8)."""
    found = []
    for folder, _, names in os.walk(profile):
        for name in names:
            path = os.path.join(folder, name)
            try:
                data = open(path, "rb").read()
            except OSError:
                continue
            if any(needle.encode() in data for needle in needles):
                found.append(os.path.relpath(path, profile))
    return found


SECRETS = ["Alice", "alice@example.com", "Theo Therapist", "therapist@example.com", CANARY_WORD, "nachtangst"]


def test_search_folds_case_and_accents_works_offline_and_shows_only_the_accounts_messages(open_client, server):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    therapist.send("alice@example.com", "Café résumé: SLEEPLESS again this week?")
    alice.send("therapist@example.com", f"Schlafstörung und {CANARY_WORD}, seit Tagen")
    therapist.send("bob@example.com", "sleep diary for Bob")
    other = open_client("other@example.com")
    for client in (therapist, alice, other):
        client.sync()
    server.stop()

    found = therapist.search("cafe resume")
    assert [m.body for m in found] == ["Café résumé: SLEEPLESS again this week?"]
    assert found[0].snippet and found[0].kind == "text" and found[0].sender_id
    assert [m.body for m in therapist.search("schlafstorung nachta")] == [f"Schlafstörung und {CANARY_WORD}, seit Tagen"]
    assert {m.body for m in therapist.search("slee")} == {
        "Café résumé: SLEEPLESS again this week?", "sleep diary for Bob"}
    assert [m.body for m in therapist.search("slee", with_peer="bob@example.com")] == ["sleep diary for Bob"]
    assert len(therapist.search("slee", limit=1)) == 1
    # R1: the other therapist and Alice see none of what is not theirs.
    assert other.search("slee") == [] and other.search("schlafstorung") == []
    assert alice.search("bob") == [] and [m.body for m in alice.search("SLEEPLESS")] == [
        "Café résumé: SLEEPLESS again this week?"]
    # Any text is a query.
    for text in ["", "!!!", '"((*', "NEAR(a b)", "AND"]:
        assert therapist.search(text) == []


def test_bad_search_arguments_are_clear_errors(open_client):
    therapist = open_client("therapist@example.com")
    with pytest.raises(plusguidance.InvalidError):
        therapist.search(5)
    with pytest.raises(plusguidance.InvalidError):
        therapist.search("x", limit=0)
    with pytest.raises(plusguidance.InvalidError):
        therapist.search("x\0y")
    with pytest.raises(plusguidance.RefusedError) as refused:
        therapist.search("x", with_peer="nobody@example.com")
    assert refused.value.code == "not_a_contact"


def test_the_c_functions_refuse_null_invalid_utf8_and_a_bad_limit_without_crashing(open_client):
    import ctypes
    from plusguidance._library import lib
    therapist = open_client("therapist@example.com")
    out = ctypes.c_void_p()

    def code():
        return lib.pg_error_last().contents.code.decode()

    assert lib.pg_client_search(None, therapist._h, b"x", None, 0) == -2 and code() == "invalid_argument"
    assert lib.pg_client_search(ctypes.byref(out), therapist._h, None, None, 0) == -2
    assert lib.pg_client_search(ctypes.byref(out), therapist._h, b"\xff", None, 0) == -2 and code() == "invalid_utf8"
    assert lib.pg_client_search(ctypes.byref(out), therapist._h, b"x", b"\xc3", 0) == -2
    assert lib.pg_client_search(ctypes.byref(out), therapist._h, b"x", None, 1001) == -2
    assert lib.pg_client_search(ctypes.byref(out), None, b"x", None, 0) == -2
    assert lib.pg_client_search(ctypes.byref(out), therapist._h, b"x", None, 0) == 0
    assert ctypes.string_at(out.value) == b"[]"
    lib.pg_free(out.value)


def test_a_live_text_is_found_at_once_through_pg_syncds_profile(open_client, server, tmp_path, key_file):
    profile = str(tmp_path / "therapist")
    therapist = open_client("therapist@example.com", profile=profile)
    alice = open_client("alice@example.com")
    daemon = subprocess.Popen(
        [command("pg-syncd"), "--server", server.url, "--profile", profile, "--key-file", key_file],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: therapist.status().online)
        alice.send("therapist@example.com", "the insomnia is better since Monday")
        # This process never syncs: pg-syncd's live stream puts the text in the cache and its index.
        found = wait_for(lambda: therapist.search("insomn"), timeout=15)
        assert [m.body for m in found] == ["the insomnia is better since Monday"]
        assert profile_files_holding(profile, SECRETS + ["insomnia"]) == []
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)


def test_no_name_address_or_word_in_any_file_after_sync_while_syncing_after_kill_9_and_after_sign_out(
        open_client, server, tmp_path, key_file):
    alice = open_client("alice@example.com")
    for n in range(150):
        alice.send("therapist@example.com", f"{CANARY_WORD} {n}: what the dream was about")
    profile = str(tmp_path / "theo")
    signed = open_client("therapist@example.com", profile=profile)
    signed.close()
    # A first sync killed half-way, many times: whatever is on disk then holds nothing readable.
    for delay in (0.05, 0.15, 0.3):
        daemon = subprocess.Popen(
            [command("pg-syncd"), "--server", server.url, "--profile", profile, "--key-file", key_file],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        assert profile_files_holding(profile, SECRETS) == []
    therapist = plusguidance.Client(server=server.url, profile=profile, key_file=key_file)
    try:
        therapist.sync()
        assert len(therapist.search(CANARY_WORD.lower(), limit=1000)) == 150
        assert [c.name for c in therapist.clients()] == ["Alice", "Bob"]
        assert profile_files_holding(profile, SECRETS) == []
        therapist.sign_out()
    finally:
        therapist.close()
    assert profile_files_holding(profile, SECRETS) == []

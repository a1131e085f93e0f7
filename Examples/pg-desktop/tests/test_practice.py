"""A practice's size: 32 clients (pg-server --seed practice) in the therapist's list, each named
and saying whether they are online, and a text from one of them lands in the right row."""
import os

import plusguidance
import pytest

from conftest import Person, Server


@pytest.fixture
def practice(tmp_path):
    server = Server(str(tmp_path), seed="practice")
    server.start()
    yield server
    server.stop()


def test_thirty_two_clients_listed_and_a_text_counts_as_unread_on_its_row(practice, tmp_path):
    therapist = Person("therapist@example.com", practice, str(tmp_path)).login()
    app = therapist.open()
    try:
        clients = app.find("Clients", "list")
        rows = app.wait(lambda: [r for r in app.find_all(role="list item", within=clients)] if len(
            app.find_all(role="list item", within=clients)) == 32 else None, what="32 client rows")
        names = {row.name for row in rows}
        assert {"Alice", "Bob", "Client 01", "Client 30"} <= names
        assert all(row.description.split(",")[0] in ("online", "offline") for row in rows)
        with plusguidance.Client(server=practice.url, profile=os.path.join(str(tmp_path), "client17"),
                                 key_file=therapist.key_file) as client:
            client.sign_in("client17@example.com", "client17-pass")
            client.send("therapist@example.com", "From the seventeenth")
        app.wait(lambda: app.find("Client 17", "list item").description.endswith("1 unread"),
                 what="Client 17's row counting the text")
    finally:
        app.close()

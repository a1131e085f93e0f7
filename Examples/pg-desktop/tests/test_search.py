"""The "Search" field: offline, case and accents folded, and a result opens its conversation."""


def test_search_offline_finds_folded_words_and_opens_the_conversation(people, server):
    therapist, alice, bob = people("therapist@example.com", "alice@example.com", "bob@example.com")
    for person in (therapist, alice, bob):
        person.login()
    alice.pg("send", "therapist@example.com", "Schlafstörung seit drei Wochen")
    bob.pg("send", "therapist@example.com", "Café tomorrow?")
    therapist.pg("sync")
    app = therapist.open()
    app.find("Alice", "list item")
    server.stop()
    app.type("Search", "schlafstorung")
    app.find("Alice: Schlafstörung seit drei Wochen", "push button")
    # Bob's text does not match; the client list gives way to the results while searching.
    assert not app.find_all(contains="Café tomorrow", role="push button")
    app.screenshot("search")
    app.type("Search", "CAFE")
    app.find("Bob: Café tomorrow?", "push button")
    app.type("Search", "cafe schlaf")
    app.find("No message matches", "label")
    app.type("Search", "schlaf")
    app.press("Alice: Schlafstörung seit drei Wochen", role="push button")
    # The conversation with Alice, and the search is cleared.
    app.find("Schlafstörung seit drei Wochen", "label")
    app.wait(lambda: not app.find_all(contains="Alice: Schlaf", role="push button"), what="the results gone")

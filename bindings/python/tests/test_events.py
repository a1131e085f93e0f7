"""Events through asyncio on the library's descriptor: `async for event in client.events()`."""
import asyncio

import plusguidance
from conftest import wait_for


def test_a_text_from_the_therapist_reaches_an_asyncio_handler(open_client):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    alice.start_live()
    assert wait_for(lambda: alice.status().online)

    async def follow():
        seen = []
        async for event in alice.events():
            if event.event == "message" and event.message.body.startswith("live "):
                seen.append(event.message.body)
                if len(seen) == 3:
                    return seen

    async def main():
        follower = asyncio.ensure_future(follow())
        await asyncio.sleep(0.3)
        for n in range(3):
            await asyncio.get_running_loop().run_in_executor(None, therapist.send, "alice@example.com", f"live {n}")
        return await asyncio.wait_for(follower, 20)

    assert asyncio.run(main()) == ["live 0", "live 1", "live 2"]


def test_an_offer_and_its_answer_arrive_as_events(open_client):
    therapist, alice = open_client("therapist@example.com"), open_client("alice@example.com")
    therapist.start_live()
    fd = therapist.fileno()
    assert fd >= 0 and therapist.fileno() == fd
    offer = therapist.offer("alice@example.com", "chat", 15)
    alice.sync()
    alice.decline(offer.id)

    def answered():
        event = therapist.next_event()
        while event is not None:
            if event.event == "offer" and event.offer.id == offer.id and event.offer.state == "declined":
                return event
            event = therapist.next_event()
        return None

    event = wait_for(answered)
    assert event is not None and event.change == "changed"


def test_async_calls_complete_as_events_with_their_request_id(open_client):
    therapist = open_client("therapist@example.com")
    therapist.fileno()
    first = therapist.send_async("alice@example.com", "one")
    second = therapist.offer_async("bob@example.com", "video", 30)  # bob is offline: refused
    assert first != second

    async def completions():
        done = {}
        async for event in therapist.events():
            if event.event == "completion":
                done[event.request] = event
                if len(done) == 2:
                    return done

    done = asyncio.run(asyncio.wait_for(completions(), 20))
    assert done[first].ok and isinstance(done[first].result, plusguidance.Message)
    assert done[first].result.body == "one"
    assert not done[second].ok and isinstance(done[second].error, plusguidance.RefusedError)
    assert done[second].error.code == "client_offline"


def test_the_descriptor_is_readable_exactly_while_events_wait(open_client):
    import select

    therapist = open_client("therapist@example.com")
    fd = therapist.fileno()
    while therapist.next_event() is not None:
        pass
    assert select.select([fd], [], [], 0)[0] == []
    request = therapist.sync_async()
    assert select.select([fd], [], [], 20)[0] == [fd]

    def completion():
        event = therapist.next_event()
        while event is not None and not (event.event == "completion" and event.request == request):
            event = therapist.next_event()
        return event

    event = wait_for(completion)
    assert event is not None and event.ok and isinstance(event.result, plusguidance.Status)
    # Drained: not readable until the next event.
    while therapist.next_event() is not None:
        pass
    assert select.select([fd], [], [], 0)[0] == []

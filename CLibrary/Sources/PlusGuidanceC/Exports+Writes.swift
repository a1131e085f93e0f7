import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

// What the user does. Each blocking form waits up to the client's `waitSeconds` for the
// server's answer, whichever process delivers it; offline the action is queued (0, with
// `"delivered": false`). A refusal is PG_EREFUSED with the server's code, and the refused entry
// leaves the outbox (this call reported it). Each `_async` form returns at once; its answer
// arrives on the event descriptor as `{"event": "completion", "request": ID, ...}`.

/// Sends `text` to `peer`; `out` gets the message, `deliveryState` `sent` once delivered.
@c public func pg_client_send(_ out: OutString?, _ client: OpaquePointer?, _ peer: CString?, _ text: CString?) -> Int32
{
    call(client, out) { handle in
        let (peer, body) = (try PlusGuidanceC.text(peer, "peer"), try PlusGuidanceC.text(text, "text"))
        return { try await Calls.send(handle, peer, body) }
    }
}

@c public func pg_client_send_async(
    _ request: UnsafeMutablePointer<UInt64>?, _ client: OpaquePointer?, _ peer: CString?, _ text: CString?
) -> Int32 {
    callAsync(client, request) { handle in
        let (peer, body) = (try PlusGuidanceC.text(peer, "peer"), try PlusGuidanceC.text(text, "text"))
        return { try await Calls.send(handle, peer, body) }
    }
}

/// Offers an Instant Session to `client_peer` (needs the server; never queued). `options`:
/// `{"type": "video"|"voice"|"chat", "durationMinutes": N, "requiresConfirmation": true,
/// "startsAt": ISO 8601 or null}`; `out` gets the offer.
@c public func pg_client_offer(
    _ out: OutString?, _ client: OpaquePointer?, _ clientPeer: CString?, _ options: CString?
) -> Int32 {
    call(client, out) { handle in
        let (peer, options) = (try text(clientPeer, "client_peer"), try Calls.offerOptions(options))
        return { try await Calls.offer(handle, peer, options) }
    }
}

@c public func pg_client_offer_async(
    _ request: UnsafeMutablePointer<UInt64>?, _ client: OpaquePointer?, _ clientPeer: CString?, _ options: CString?
) -> Int32 {
    callAsync(client, request) { handle in
        let (peer, options) = (try text(clientPeer, "client_peer"), try Calls.offerOptions(options))
        return { try await Calls.offer(handle, peer, options) }
    }
}

/// Accepts an offer; `out` gets its outbox entry with `"delivered"`.
@c public func pg_client_accept(_ out: OutString?, _ client: OpaquePointer?, _ offer: CString?) -> Int32 {
    call(client, out) { handle in
        let id = OfferID(try text(offer, "offer"))
        return { try await Calls.settle(handle, try await handle.client.accept(id)) }
    }
}

@c public func pg_client_accept_async(
    _ request: UnsafeMutablePointer<UInt64>?, _ client: OpaquePointer?, _ offer: CString?
) -> Int32 {
    callAsync(client, request) { handle in
        let id = OfferID(try text(offer, "offer"))
        return { try await Calls.settle(handle, try await handle.client.accept(id)) }
    }
}

/// Declines an offer; `out` gets its outbox entry with `"delivered"`.
@c public func pg_client_decline(_ out: OutString?, _ client: OpaquePointer?, _ offer: CString?) -> Int32 {
    call(client, out) { handle in
        let id = OfferID(try text(offer, "offer"))
        return { try await Calls.settle(handle, try await handle.client.decline(id)) }
    }
}

@c public func pg_client_decline_async(
    _ request: UnsafeMutablePointer<UInt64>?, _ client: OpaquePointer?, _ offer: CString?
) -> Int32 {
    callAsync(client, request) { handle in
        let id = OfferID(try text(offer, "offer"))
        return { try await Calls.settle(handle, try await handle.client.decline(id)) }
    }
}

/// Stops a session (its therapist only); `out` gets its outbox entry with `"delivered"`.
@c public func pg_client_stop(_ out: OutString?, _ client: OpaquePointer?, _ session: CString?) -> Int32 {
    call(client, out) { handle in
        let id = SessionID(try text(session, "session"))
        return { try await Calls.settle(handle, try await handle.client.stop(id)) }
    }
}

@c public func pg_client_stop_async(
    _ request: UnsafeMutablePointer<UInt64>?, _ client: OpaquePointer?, _ session: CString?
) -> Int32 {
    callAsync(client, request) { handle in
        let id = SessionID(try text(session, "session"))
        return { try await Calls.settle(handle, try await handle.client.stop(id)) }
    }
}

/// Marks the conversation with `peer` read; `out` gets the contact as this device now shows it.
@c public func pg_client_mark_read(_ out: OutString?, _ client: OpaquePointer?, _ peer: CString?) -> Int32 {
    call(client, out) { handle in
        let peer = try text(peer, "peer")
        return { try await Calls.markRead(handle, peer) }
    }
}

@c public func pg_client_mark_read_async(
    _ request: UnsafeMutablePointer<UInt64>?, _ client: OpaquePointer?, _ peer: CString?
) -> Int32 {
    callAsync(client, request) { handle in
        let peer = try text(peer, "peer")
        return { try await Calls.markRead(handle, peer) }
    }
}

/// Sends a failed outbox entry again; `out` gets the entry with `"delivered"`.
@c public func pg_client_outbox_retry(_ out: OutString?, _ client: OpaquePointer?, _ id: CString?) -> Int32 {
    call(client, out) { handle in
        let key = IdempotencyKey(try text(id, "id"))
        return { try await Calls.settle(handle, try await handle.client.retry(key)) }
    }
}

@c public func pg_client_outbox_retry_async(
    _ request: UnsafeMutablePointer<UInt64>?, _ client: OpaquePointer?, _ id: CString?
) -> Int32 {
    callAsync(client, request) { handle in
        let key = IdempotencyKey(try text(id, "id"))
        return { try await Calls.settle(handle, try await handle.client.retry(key)) }
    }
}

/// Drops an outbox entry (what the user gives up on).
@c public func pg_client_outbox_discard(_ client: OpaquePointer?, _ id: CString?) -> Int32 {
    entry {
        let (handle, key) = (try ClientHandle.from(client), IdempotencyKey(try text(id, "id")))
        try blocking { try await handle.client.discard(key) }
    }
}

/// A blocking call: arguments checked on the caller's thread, then the work, its JSON to `out`.
func call(
    _ client: OpaquePointer?, _ out: OutString?,
    _ prepare: (ClientHandle) throws -> @Sendable () async throws -> Any
) -> Int32 {
    entry {
        let handle = try ClientHandle.from(client)
        let out = try PlusGuidanceC.prepare(out)
        let work = try prepare(handle)
        try give(try blocking { try await work() }, to: out)
    }
}

/// An `_async` call: arguments checked at once (a bad one is the call's status, not an event).
func callAsync(
    _ client: OpaquePointer?, _ request: UnsafeMutablePointer<UInt64>?,
    _ prepare: (ClientHandle) throws -> @Sendable () async throws -> Any
) -> Int32 {
    entry {
        let handle = try ClientHandle.from(client)
        let work = try prepare(handle)
        try started(handle.start { try await work() }, request)
    }
}

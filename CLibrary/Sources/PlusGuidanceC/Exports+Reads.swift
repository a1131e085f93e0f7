import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

// What the cache holds: these read the profile (offline too) and never wait on the network.

/// The therapist's clients, or the client's therapist: `[{id, email, name, online, unread}]`.
@c public func pg_client_clients(_ out: OutString?, _ client: OpaquePointer?) -> Int32 {
    read(client, out) { handle in try await handle.client.contacts().map(ContractJSON.client) }
}

/// The latest `limit` messages with `peer` (1...1000; 0 is 50), oldest first.
@c public func pg_client_messages(
    _ out: OutString?, _ client: OpaquePointer?, _ peer: CString?, _ limit: Int32
) -> Int32 {
    entry {
        let (handle, peer, out) = (try ClientHandle.from(client), try text(peer, "peer"), try prepare(out))
        guard (0...1_000).contains(limit) else { throw MisuseError.invalid("limit must be 0...1000") }
        try give(
            json:
                try blocking {
                    let other = try await Calls.peerID(peer, in: handle)
                    // The SDK reads newest first; the contract shows them oldest first, as `pg messages`.
                    var writer = ContractJSONWriter()
                    writer.messages(
                        try await handle.client.messages(with: other, limit: limit == 0 ? 50 : Int(limit)).reversed())
                    return writer.bytes
                }, to: out)
    }
}

/// Fetches up to `limit` older messages with `peer` from the server into the cache (an older
/// page); `out` gets how many arrived. Read them with a larger `pg_client_messages` limit.
@c public func pg_client_load_older_messages(
    _ out: UnsafeMutablePointer<Int32>?, _ client: OpaquePointer?, _ peer: CString?, _ limit: Int32
) -> Int32 {
    entry {
        let (handle, peer) = (try ClientHandle.from(client), try text(peer, "peer"))
        guard let out else { throw MisuseError.invalid("out is NULL") }
        guard (1...1_000).contains(limit) else { throw MisuseError.invalid("limit must be 1...1000") }
        out.pointee = Int32(
            try blocking {
                let other = try await Calls.peerID(peer, in: handle)
                return try await handle.client.loadOlderMessages(with: other, limit: Int(limit))
            })
    }
}

/// Messages whose body matches `text` (every word begins a word of the body, case and accents
/// aside), of the conversation with `peer` when not NULL; best match first, then newest.
@c public func pg_client_search(
    _ out: OutString?, _ client: OpaquePointer?, _ text: CString?, _ peer: CString?, _ limit: Int32
) -> Int32 {
    entry {
        let (handle, query, out) = (try ClientHandle.from(client), try PlusGuidanceC.text(text, "text"), try prepare(out))
        let peer = try optionalText(peer, "peer")
        guard (0...1_000).contains(limit) else { throw MisuseError.invalid("limit must be 0...1000") }
        let hits = try blocking {
            var other: UserID?
            if let peer { other = try await Calls.peerID(peer, in: handle) }
            return try await handle.client.search(query, with: other, limit: limit == 0 ? 50 : Int(limit))
        }
        try give(hits.map(ContractJSON.searchHit), to: out)
    }
}

/// Session offers, newest first.
@c public func pg_client_offers(_ out: OutString?, _ client: OpaquePointer?) -> Int32 {
    read(client, out) { handle in try await handle.client.offers().map(ContractJSON.offer) }
}

/// Upcoming sessions (created or confirmed, not ended), each with its countdown on the
/// server's clock as the device estimates it.
@c public func pg_client_sessions(_ out: OutString?, _ client: OpaquePointer?) -> Int32 {
    read(client, out) { handle in
        var sessions: [Any] = []
        for session in try await handle.client.upcomingSessions() {
            sessions.append(ContractJSON.session(session, await handle.client.countdown(for: session)))
        }
        return sessions
    }
}

/// One session with its countdown; PG_EREFUSED `not_found` when the cache has no such session.
@c public func pg_client_session(_ out: OutString?, _ client: OpaquePointer?, _ id: CString?) -> Int32 {
    entry {
        let (handle, id, out) = (try ClientHandle.from(client), try text(id, "id"), try prepare(out))
        try give(
            try blocking {
                guard let session = try await handle.client.session(SessionID(id)) else { throw DomainError.notFound }
                return ContractJSON.session(session, await handle.client.countdown(for: session))
            }, to: out)
    }
}

/// `{online, lastSyncAt, pendingOutbox, failedOutbox, serverTime}`: `serverTime` is the server's
/// clock as the device estimates it (R12), for an app that shows or picks a time (the `status`
/// event leaves it out: it would change every time).
@c public func pg_client_status(_ out: OutString?, _ client: OpaquePointer?) -> Int32 {
    read(client, out) { handle in
        var status = ContractJSON.status(try await handle.client.status())
        status["serverTime"] = ContractJSON.time(await handle.client.serverNow())
        return status
    }
}

/// The outbox: `[{id, action, state, attempts, error, enqueuedAt}]`.
@c public func pg_client_outbox(_ out: OutString?, _ client: OpaquePointer?) -> Int32 {
    read(client, out) { handle in try await handle.client.outbox().map(ContractJSON.outbox) }
}

/// Where the profile's key is looked for, never the key: `{key, origin, exists}`.
@c public func pg_client_key_show(_ out: OutString?, _ client: OpaquePointer?) -> Int32 {
    read(client, out) { handle in ProfileKey.location(handle.keys) }
}

/// A read on a signed-in client whose answer goes to `out`.
private func read(
    _ client: OpaquePointer?, _ out: OutString?, _ body: @escaping @Sendable (ClientHandle) async throws -> Any
) -> Int32 {
    entry {
        let (handle, out) = (try ClientHandle.from(client), try prepare(out))
        try give(try blocking { try await body(handle) }, to: out)
    }
}

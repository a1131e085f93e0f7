import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidanceSync

// The writes' bodies, shared by the blocking and `_async` entry points.
extension Calls {
    static func send(_ handle: ClientHandle, _ peer: String, _ body: String) async throws -> Any {
        let other = try await peerID(peer, in: handle)
        let sent = try await handle.client.send(body, to: other)
        _ = try await outcome(of: sent, handle)
        guard let message = sent.message else {
            throw MisuseError(status: Status.error, code: "internal", line: "the text was not queued")
        }
        let shown = try await handle.client.messages(with: other, limit: 50).first { $0.id == message.id } ?? message
        return ContractJSON.message(shown)
    }

    static func offerOptions(_ options: CString?) throws -> OfferOptions {
        let arguments = try JSONArguments(options, "options").allowing([
            "type", "durationMinutes", "requiresConfirmation", "startsAt",
        ])
        guard let type = try arguments.string("type") else { throw MisuseError.invalid("options.type is missing") }
        guard let duration = try arguments.integer("durationMinutes") else {
            throw MisuseError.invalid("options.durationMinutes is missing")
        }
        var start: Date?
        if let text = try arguments.string("startsAt") {
            guard let parsed = WireDecoding.time(text) else {
                throw MisuseError.invalid("options.startsAt must be an ISO 8601 time")
            }
            start = parsed
        }
        return OfferOptions(
            type: try SessionType(parsing: type), startsAt: start, durationMinutes: duration,
            requiresConfirmation: try arguments.bool("requiresConfirmation") ?? true)
    }

    static func offer(_ handle: ClientHandle, _ peer: String, _ options: OfferOptions) async throws -> Any {
        let other = try await handle.client.contact(named: peer)
        return ContractJSON.offer(try await handle.client.createOffer(to: other.id, options: options))
    }

    static func markRead(_ handle: ClientHandle, _ peer: String) async throws -> Any {
        let other = try await handle.client.contact(named: peer)
        if let receipt = try await handle.client.markRead(conversationWith: other.id) {
            _ = try await outcome(of: receipt, handle)
        }
        // The unread count as this device now shows it (a queued receipt counts as read).
        return ContractJSON.client(try await handle.client.contacts().first { $0.id == other.id } ?? other)
    }

    /// An answer's outbox entry as it now stands, with `"delivered"`.
    static func settle(_ handle: ClientHandle, _ action: QueuedAction) async throws -> Any {
        let delivered = try await outcome(of: action, handle)
        let now =
            try await handle.client.outboxEntry(action.id)
            ?? OutboxEntry(id: action.id, action: action.action, enqueuedAt: action.enqueuedAt)
        var json = ContractJSON.outbox(now)
        json["delivered"] = delivered
        return json
    }

    /// Waits up to the client's bound: true once delivered, false while queued; a refusal
    /// throws with the server's code and leaves the outbox (the caller has been told).
    static func outcome(of action: QueuedAction, _ handle: ClientHandle) async throws -> Bool {
        switch try await action.outcome(waitingUpTo: handle.wait) {
        case .delivered: return true
        case .queued: return false
        case .refused(let failure):
            try? await handle.client.discard(action.id)
            if let rule = DomainError(code: failure.code) { throw rule }
            throw ErrorReport(.refused, code: failure.code, line: "refused: \(failure.reason) (\(failure.code))")
        }
    }
}

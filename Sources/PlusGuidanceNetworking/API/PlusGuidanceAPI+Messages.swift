import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

// A conversation's messages: history pages and sending.
extension PlusGuidanceAPI {
    /// Newest first; `before` pages into history.
    public func messages(with peer: UserID, limit: Int = 50, before: MessageID? = nil) async throws -> MessagesPage {
        var path = "/v1/conversations/\(escape(peer.rawValue))/messages?limit=\(limit)"
        if let before { path += "&before=\(escape(before.rawValue))" }
        return try decode(MessagesPageWire.self, try await call(.get, path)) { wire throws(WireError) in
            MessagesPage(
                messages: try wire.messages.domain { message throws(WireError) in try message.domain() },
                hasMore: wire.hasMore)
        }
    }

    /// Marks the conversation with `mark.peerID` read up to `mark.messageID` (R11); returns the
    /// caller's read position after it (the latest wins: an older mark leaves it as it was).
    public func markRead(_ mark: ReadMark, idempotencyKey: IdempotencyKey) async throws -> ReadPosition {
        let body = try JSONEncoder().encode(MarkReadRequest(messageId: mark.messageID.rawValue))
        let response = try await call(
            .post, "/v1/conversations/\(escape(mark.peerID.rawValue))/read", body: body, key: idempotencyKey)
        return try decode(ReadPositionWire.self, response) { wire throws(WireError) in try wire.domain() }
    }

    /// Delivers a text message written on this device, keeping its id.
    public func send(_ message: Message, idempotencyKey: IdempotencyKey) async throws -> Message {
        let body = try JSONEncoder().encode(SendMessageRequest(message))
        let response = try await call(
            .post, "/v1/conversations/\(escape(message.recipientID.rawValue))/messages", body: body, key: idempotencyKey
        )
        return try decode(MessageWire.self, response) { wire throws(WireError) in try wire.domain() }
    }
}

import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

// The request bodies of Documentation/openapi.yaml: the SDK encodes them, the server decodes them.
// Members a client may leave out are optional here; the server applies the contract's defaults.

@_spi(PlusGuidanceTools) public struct LoginRequest: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var email: String
    @_spi(PlusGuidanceTools) public var password: String

    @_spi(PlusGuidanceTools) public init(email: String, password: String) {
        self.email = email
        self.password = password
    }
}

@_spi(PlusGuidanceTools) public struct RefreshRequest: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var refreshToken: String
    @_spi(PlusGuidanceTools) public init(refreshToken: String) { self.refreshToken = refreshToken }
}

@_spi(PlusGuidanceTools) public struct SendMessageRequest: Codable, Sendable {
    /// The id the sender chose (``MessageID/init(sender:nonce:)``), so that the message keeps it
    /// from the outbox to the feed. Left out for an id outside the sender's namespace (queued by
    /// an SDK before 0.5): the server then assigns one, and the local echo goes with the entry.
    @_spi(PlusGuidanceTools) public var id: String?
    @_spi(PlusGuidanceTools) public var body: String

    @_spi(PlusGuidanceTools) public init(_ message: Message) {
        id = message.id.isChosen(by: message.senderID) ? message.id.rawValue : nil
        body = message.body
    }
}

@_spi(PlusGuidanceTools) public struct CreateOfferRequest: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var clientId: String
    @_spi(PlusGuidanceTools) public var type: String
    @_spi(PlusGuidanceTools) public var durationMinutes: Int
    /// `true` when left out.
    @_spi(PlusGuidanceTools) public var requiresConfirmation: Bool?
    /// Left out for an offer that starts when accepted.
    @_spi(PlusGuidanceTools) public var startsAt: String?

    @_spi(PlusGuidanceTools) public init(client: UserID, options: OfferOptions) {
        clientId = client.rawValue
        type = options.type.rawValue
        durationMinutes = options.durationMinutes
        requiresConfirmation = options.requiresConfirmation
        startsAt = options.startsAt.map(RFC3339.string)
    }
}

/// `POST /v1/conversations/{peer}/read`: the caller read the conversation up to `messageId`.
@_spi(PlusGuidanceTools) public struct MarkReadRequest: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var messageId: String
    @_spi(PlusGuidanceTools) public init(messageId: String) { self.messageId = messageId }
}

/// `POST /v1/batch`: queued actions in order, each under its own idempotency key.
@_spi(PlusGuidanceTools) public struct BatchRequest: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var actions: [BatchAction]
    @_spi(PlusGuidanceTools) public init(actions: [BatchAction]) { self.actions = actions }
}

@_spi(PlusGuidanceTools) public struct BatchAction: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var key: String
    /// `send_message`, `accept_offer`, `decline_offer`, `stop_session` or `mark_read`.
    @_spi(PlusGuidanceTools) public var op: String
    @_spi(PlusGuidanceTools) public var peer: String?
    @_spi(PlusGuidanceTools) public var id: String?
    @_spi(PlusGuidanceTools) public var body: String?
    @_spi(PlusGuidanceTools) public var offer: String?
    @_spi(PlusGuidanceTools) public var session: String?

    @_spi(PlusGuidanceTools) public init(key: String, _ action: OutboxAction) {
        self.key = key
        switch action {
        case .sendMessage(let message):
            op = "send_message"
            let request = SendMessageRequest(message)
            peer = message.recipientID.rawValue
            id = request.id
            body = request.body
        case .acceptOffer(let offer):
            op = "accept_offer"
            self.offer = offer.rawValue
        case .declineOffer(let offer):
            op = "decline_offer"
            self.offer = offer.rawValue
        case .stopSession(let session):
            op = "stop_session"
            self.session = session.rawValue
        case .unreadable:
            // Never sent (OutboxAction.unreadable); named so that a server refuses it if it were.
            op = "unreadable"
        case .markRead(let mark):
            op = "mark_read"
            peer = mark.peerID.rawValue
            id = mark.messageID.rawValue
        }
    }
}

/// `POST /v1/test/clock/advance` of a server started with `--test-clock`.
@_spi(PlusGuidanceTools) public struct AdvanceClockRequest: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var seconds: Double
    @_spi(PlusGuidanceTools) public init(seconds: Double) { self.seconds = seconds }
}

/// The test clock's answer.
@_spi(PlusGuidanceTools) public struct ClockWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var now: String
    @_spi(PlusGuidanceTools) public init(now: Date) { self.now = RFC3339.string(now) }
}

import Foundation
import PlusGuidanceDomain

// The request bodies of Documentation/openapi.yaml: the SDK encodes them, the server decodes them.
// Members a client may leave out are optional here; the server applies the contract's defaults.

package struct LoginRequest: Codable, Sendable {
    package var email: String
    package var password: String

    package init(email: String, password: String) {
        self.email = email
        self.password = password
    }
}

package struct RefreshRequest: Codable, Sendable {
    package var refreshToken: String
    package init(refreshToken: String) { self.refreshToken = refreshToken }
}

package struct SendMessageRequest: Codable, Sendable {
    /// The id the sender chose (``MessageID/init(sender:nonce:)``), so that the message keeps it
    /// from the outbox to the feed. Left out for an id outside the sender's namespace (queued by
    /// an SDK before 0.5): the server then assigns one, and the local echo goes with the entry.
    package var id: String?
    package var body: String

    package init(_ message: Message) {
        id = message.id.isChosen(by: message.senderID) ? message.id.rawValue : nil
        body = message.body
    }
}

package struct CreateOfferRequest: Codable, Sendable {
    package var clientId: String
    package var type: String
    package var durationMinutes: Int
    /// `true` when left out.
    package var requiresConfirmation: Bool?
    /// Left out for an offer that starts when accepted.
    package var startsAt: String?

    package init(client: UserID, options: OfferOptions) {
        clientId = client.rawValue
        type = options.type.rawValue
        durationMinutes = options.durationMinutes
        requiresConfirmation = options.requiresConfirmation
        startsAt = options.startsAt.map(RFC3339.string)
    }
}

/// `POST /v1/conversations/{peer}/read`: the caller read the conversation up to `messageId`.
package struct MarkReadRequest: Codable, Sendable {
    package var messageId: String
    package init(messageId: String) { self.messageId = messageId }
}

/// `POST /v1/batch`: queued actions in order, each under its own idempotency key.
package struct BatchRequest: Codable, Sendable {
    package var actions: [BatchAction]
    package init(actions: [BatchAction]) { self.actions = actions }
}

package struct BatchAction: Codable, Sendable {
    package var key: String
    /// `send_message`, `accept_offer`, `decline_offer`, `stop_session` or `mark_read`.
    package var op: String
    package var peer: String?
    package var id: String?
    package var body: String?
    package var offer: String?
    package var session: String?

    package init(key: String, _ action: OutboxAction) {
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
package struct AdvanceClockRequest: Codable, Sendable {
    package var seconds: Double
    package init(seconds: Double) { self.seconds = seconds }
}

/// The test clock's answer.
package struct ClockWire: Codable, Sendable {
    package var now: String
    package init(now: Date) { self.now = RFC3339.string(now) }
}

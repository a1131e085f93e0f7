import Foundation
import PlusGuidanceDomain

// The JSON bodies the API client sends, as typed values (openapi.yaml's request schemas), encoded
// with `JSONEncoder`: no hand-built dictionaries.

struct LoginRequest: Encodable {
    var email: String
    var password: String
}

struct RefreshRequest: Encodable { var refreshToken: String }

struct SendMessageRequest: Encodable {
    var id: String
    var body: String

    init(_ message: Message) {
        id = message.id.rawValue
        body = message.body
    }
}

struct CreateOfferRequest: Encodable {
    var clientId: String
    var type: String
    var durationMinutes: Int
    var requiresConfirmation: Bool
    /// Omitted for an offer that starts when accepted.
    var startsAt: String?

    init(client: UserID, options: OfferOptions) {
        clientId = client.rawValue
        type = options.type.rawValue
        durationMinutes = options.durationMinutes
        requiresConfirmation = options.requiresConfirmation
        startsAt = options.startsAt.map(WireDecoding.timeString)
    }
}

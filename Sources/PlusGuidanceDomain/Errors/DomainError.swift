import Foundation

/// A request refused by one of the domain rules (R1–R8) or by input validation.
///
/// Every refusal has a stable ``code`` (`client_offline`, `offer_expired`, …) that travels
/// unchanged through the API's problem documents, the SDK and the `pg` command line, so callers
/// branch on the code, never on the text. Descriptions are safe to log: they never contain a
/// message body, a token or a password.
///
/// ```swift
/// do { effects = try offer.accept(by: alice, at: now) }
/// catch let error where error == .offerExpired { showExpired() }
/// ```
public struct DomainError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: String, CaseIterable, Sendable {
        // Input validation.
        case invalidDuration = "invalid_duration"
        case startInPast = "start_in_past"
        case startTooLate = "start_too_late"
        case emptyMessage = "empty_message"
        case messageTooLong = "message_too_long"
        case unknownSessionType = "unknown_session_type"
        // Who may do what (R1).
        case therapistOnly = "therapist_only"
        case notYourClient = "not_your_client"
        case notAParticipant = "not_a_participant"
        case notOfferRecipient = "not_offer_recipient"
        case notSessionTherapist = "not_session_therapist"
        // Rules about state and time (R2, R4, R6).
        case clientOffline = "client_offline"
        case offerExpired = "offer_expired"
        case offerAlreadyAnswered = "offer_already_answered"
        case sessionAlreadyEnded = "session_already_ended"
        case notFound = "not_found"
    }

    /// How a refusal should be presented: the HTTP status family on the server and the exit code
    /// of `pg` follow from it.
    public enum Category: String, Sendable, Hashable {
        /// The input itself is invalid, whoever sends it and whenever.
        case invalidInput
        /// The caller is not allowed to act on this pair's data.
        case forbidden
        /// The input is valid but the current state (time, presence, earlier answers) refuses it.
        case conflict
        /// The thing named does not exist (or is not visible to the caller).
        case notFound
    }

    private let _code: Code
    /// Non-secret detail for humans (limits, counts), never a message body.
    public let detail: String?

    private init(_ code: Code, detail: String? = nil) {
        _code = code
        self.detail = detail
    }

    /// Rebuilds an error from its stable code, as received in a problem document; `nil` for codes
    /// this version does not know.
    public init?(code: String, detail: String? = nil) {
        guard let known = Code(rawValue: code) else { return nil }
        self.init(known, detail: detail)
    }

    /// The stable, machine-readable code, e.g. `"client_offline"`.
    public var code: String { _code.rawValue }

    /// Every code this version can produce, for documentation and contract tests.
    public static var allCodes: [String] { Code.allCases.map(\.rawValue) }

    public var category: Category {
        switch _code {
        case .invalidDuration, .startInPast, .startTooLate, .emptyMessage, .messageTooLong,
            .unknownSessionType:
            .invalidInput
        case .therapistOnly, .notYourClient, .notAParticipant, .notOfferRecipient,
            .notSessionTherapist:
            .forbidden
        case .clientOffline, .offerExpired, .offerAlreadyAnswered, .sessionAlreadyEnded:
            .conflict
        case .notFound:
            .notFound
        }
    }

    /// A bounded, constant summary suitable as a metrics label or a problem title.
    public var shortDescription: String {
        switch _code {
        case .invalidDuration: "Invalid session duration"
        case .startInPast: "Start time is in the past"
        case .startTooLate: "Start time is too far ahead"
        case .emptyMessage: "Message is empty"
        case .messageTooLong: "Message is too long"
        case .unknownSessionType: "Unknown session type"
        case .therapistOnly: "Only a therapist can do this"
        case .notYourClient: "Not your client"
        case .notAParticipant: "Not part of this conversation"
        case .notOfferRecipient: "Only the offered client can answer this offer"
        case .notSessionTherapist: "Only the session's therapist can stop it"
        case .clientOffline: "Client is not online"
        case .offerExpired: "Offer has expired"
        case .offerAlreadyAnswered: "Offer was already answered"
        case .sessionAlreadyEnded: "Session has already ended"
        case .notFound: "Not found"
        }
    }

    public var description: String {
        detail.map { "\(shortDescription) (\(code)): \($0)" } ?? "\(shortDescription) (\(code))"
    }

    /// Equality is by code: the detail is for people.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs._code == rhs._code }
    public func hash(into hasher: inout Hasher) { hasher.combine(_code) }

    public static let invalidDuration = DomainError(.invalidDuration)
    public static let startInPast = DomainError(.startInPast)
    public static let startTooLate = DomainError(.startTooLate)
    public static let emptyMessage = DomainError(.emptyMessage)
    public static let messageTooLong = DomainError(.messageTooLong)
    public static let unknownSessionType = DomainError(.unknownSessionType)
    public static let therapistOnly = DomainError(.therapistOnly)
    public static let notYourClient = DomainError(.notYourClient)
    public static let notAParticipant = DomainError(.notAParticipant)
    public static let notOfferRecipient = DomainError(.notOfferRecipient)
    public static let notSessionTherapist = DomainError(.notSessionTherapist)
    public static let clientOffline = DomainError(.clientOffline)
    public static let offerExpired = DomainError(.offerExpired)
    public static let offerAlreadyAnswered = DomainError(.offerAlreadyAnswered)
    public static let sessionAlreadyEnded = DomainError(.sessionAlreadyEnded)
    public static let notFound = DomainError(.notFound)

    /// The same error with a human detail attached (never put a message body here).
    public func with(detail: String) -> DomainError { DomainError(_code, detail: detail) }
}

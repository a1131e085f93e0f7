import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidancePersistence

/// Any error of the SDK as the programs on it report it: its class (what the caller should
/// do: `pg`'s exit code, the C library's status), its stable code and one line for people.
/// The line never carries a body, a name, a token or a password: peers' text is escaped and
/// only codes, paths and non-secret reasons appear.
@_spi(PlusGuidanceTools) public struct ErrorReport: Error, Sendable, Equatable {
    /// BRIEF.md's classes: `pg` exits 64, 65, 69, 77 and 70 for them.
    public enum Kind: String, Sendable, CaseIterable {
        /// Bad usage or input: the call itself is wrong.
        case invalid
        /// Refused by a domain rule (client offline, offer expired, not your client…).
        case refused
        /// The server could not be reached, for a call that needs it.
        case unreachable
        /// Not signed in, bad credentials, or the profile's key missing or wrong.
        case unauthorized
        /// Anything else.
        case other
    }

    public var kind: Kind
    /// The stable code, e.g. `client_offline`, `unreachable`, `key_unavailable`.
    public var code: String
    public var line: String

    public init(_ kind: Kind, code: String, line: String) {
        self.kind = kind
        self.code = code
        self.line = line
    }

    // One switch over every error type of the SDK, kept whole so each class is read at once.
    public init(_ error: any Error) {
        switch error {
        case let report as ErrorReport: self = report
        case let error as DomainError:
            self.init(
                error.category == .invalidInput ? .invalid : .refused, code: error.code,
                line: "refused: \(error.shortDescription) (\(error.code))")
        case let error as PlusGuidanceAPIError: self.init(api: error)
        case let error as PersistenceError where error == .keyUnavailableCode:
            self.init(
                .unauthorized, code: error.code, line: "\(error.reason) (\((error.path ?? "no key").visiblyEscaped))")
        case let error as PersistenceError where error == .profileNotWritableCode:
            self.init(
                .other, code: error.code,
                line: "\(error.reason): \((error.path ?? "the profile").visiblyEscaped) (\(error.code))")
        case let error as PlusGuidanceClientError:
            let code = error.code.rawValue
            switch error.code {
            case .notSignedIn: self.init(.unauthorized, code: code, line: "not signed in")
            case .offline: self.init(.unreachable, code: code, line: "server unreachable: \(error.reason ?? "offline")")
            case .unknownOutboxEntry: self.init(.invalid, code: code, line: "no such outbox entry")
            case .unreadableOutboxEntry:
                self.init(.refused, code: code, line: "\(error.reason ?? "unreadable outbox entry") (\(code))")
            case .notSynced:
                self.init(.other, code: code, line: "\(error.reason ?? "the cache is empty"); sync first (\(code))")
            }
        default:
            if let damage = PersistenceError.damage(error) {
                self.init(.other, code: damage.code, line: "\(damage.reason); sync again (\(damage.code))")
            } else if let failure = PersistenceError.storageFailure(error) {
                self.init(
                    .other, code: failure.code,
                    line: "\(failure.reason); what it interrupted was rolled back (\(failure.code))")
            } else if let error = error as? PersistenceError {
                self.init(.other, code: error.code, line: "\(error)")
            } else {
                self.init(.other, code: "internal", line: "\(error)")
            }
        }
    }

    private init(api error: PlusGuidanceAPIError) {
        let code = error.code
        switch error.kind {
        case .rejected:
            let domain = error.domainError ?? .notFound
            self.init(.refused, code: domain.code, line: "refused: \(domain.shortDescription) (\(domain.code))")
        case .badCredentials: self.init(.unauthorized, code: code, line: "wrong e-mail or password")
        case .signedOut: self.init(.unauthorized, code: code, line: "the session ended: sign in again")
        case .unreachable where error.transport == .responseTooLarge:
            self.init(
                .other, code: "response_too_large",
                line: "the server's answer is too large (a body over 16 MiB or headers over 100 KiB)")
        case .unreachable where error.transport == .tooManyRedirects:
            self.init(
                .other, code: "too_many_redirects", line: "the server redirects too often: is the server URL right?")
        case .unreachable:
            self.init(
                .unreachable, code: code, line: "server unreachable: \(error.transport?.description ?? "no answer")")
        case .tooManyAttempts:
            self.init(
                .other, code: code,
                line: "too many sign-in attempts: \((error.reason ?? "try again later").visiblyEscaped)")
        case .requestRejected where error.status == 404:
            self.init(
                .other, code: code, line: "the server has no such endpoint: is the server URL the API's base URL?")
        case .requestRejected:
            self.init(
                .other, code: code,
                line:
                    "the server refused the request: \((error.reason ?? error.problemCode ?? "no reason").visiblyEscaped)"
            )
        case .invalidResponse:
            self.init(
                .other, code: code,
                line:
                    "the server's answer is outside the API contract: \((error.reason ?? "undecodable").visiblyEscaped)"
            )
        case .cursorTooOld, .serverError: self.init(.other, code: code, line: "\(error)")
        }
    }
}

extension String {
    /// The text with every control character (CR, ESC, OSC, DEL, C1, line and paragraph
    /// separators, bidi overrides) shown as a visible escape, so a message cannot forge a line
    /// or retitle a terminal.
    @_spi(PlusGuidanceTools) public var visiblyEscaped: String {
        var out = ""
        for scalar in unicodeScalars {
            let value = scalar.value
            let control =
                value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
                || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
            if control {
                out += value == 0x0A ? "\\n" : "\\u{" + String(value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

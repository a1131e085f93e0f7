import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// Why a call of ``PlusGuidanceAPI`` failed, sorted by what the caller should do about it.
///
/// Descriptions carry codes and non-secret reasons only (no bodies, no tokens).
public struct PlusGuidanceAPIError: Error, Hashable, Sendable, CustomStringConvertible {
    private typealias Code = Kind

    private let _code: Code
    /// The Domain rule that refused the request, for `rejected`.
    public let domainError: DomainError?
    /// The transport failure, for `unreachable`.
    public let transport: HTTPClientError?
    /// The HTTP status, when there was an answer.
    public let status: Int?
    /// The problem document's code, when there was one.
    public let problemCode: String?
    public let reason: String?

    private init(
        _ code: Code, domainError: DomainError? = nil, transport: HTTPClientError? = nil, status: Int? = nil,
        problemCode: String? = nil, reason: String? = nil
    ) {
        _code = code
        self.domainError = domainError
        self.transport = transport
        self.status = status
        self.problemCode = problemCode
        self.reason = reason
    }

    /// `rejected`, `bad_credentials`, `signed_out`, `cursor_too_old`, `unreachable`,
    /// `server_error`, `invalid_response`, `request_rejected` or `too_many_attempts`.
    public var code: String { _code.rawValue }

    /// What kind of failure this is, to switch over (``code`` is the same as a stable string).
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case rejected
        case badCredentials = "bad_credentials"
        case signedOut = "signed_out"
        case cursorTooOld = "cursor_too_old"
        case unreachable
        case serverError = "server_error"
        case invalidResponse = "invalid_response"
        case requestRejected = "request_rejected"
        case tooManyAttempts = "too_many_attempts"
    }

    public var kind: Kind { _code }

    /// Whether the server refused the request for good (a Domain rule, or the request itself):
    /// sending it again with the same key gets the same answer.
    public var isPermanentRefusal: Bool { kind == .rejected || kind == .requestRejected }

    public var description: String {
        var text = code
        if let domainError { text += " \(domainError.code)" }
        if let status { text += " (HTTP \(status)\(problemCode.map { ", \($0)" } ?? ""))" }
        if let transport { text += ": \(transport)" }
        if let reason { text += ": \(reason)" }
        return text
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs._code == rhs._code && lhs.domainError == rhs.domainError
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(_code)
        hasher.combine(domainError)
    }

    /// A Domain rule refused the request (R1–R8): show it, do not retry the same request.
    public static func rejected(_ error: DomainError, status: Int? = nil) -> Self {
        Self(.rejected, domainError: error, status: status, problemCode: error.code)
    }
    /// Wrong e-mail or password.
    public static let badCredentials = Self(.badCredentials)
    /// The tokens are gone or refused and refreshing failed: sign in again.
    public static let signedOut = Self(.signedOut)
    /// The feed cursor is too old or unknown: resynchronise from the start.
    public static let cursorTooOld = Self(.cursorTooOld)
    /// The server could not be reached; safe-to-repeat requests may be retried later.
    public static func unreachable(_ error: HTTPClientError) -> Self {
        Self(.unreachable, transport: error, reason: nil)
    }
    /// The server failed (5xx) after retries.
    public static func serverError(status: Int, problemCode: String?) -> Self {
        Self(.serverError, status: status, problemCode: problemCode)
    }
    /// The answer could not be understood; nothing from it was used.
    public static func invalidResponse(_ reason: String) -> Self { Self(.invalidResponse, reason: reason) }
    /// The server refused the request itself (malformed, missing key, key reused…).
    public static func requestRejected(status: Int, problemCode: String?, reason: String?) -> Self {
        Self(.requestRejected, status: status, problemCode: problemCode, reason: reason)
    }

    /// Too many sign-in attempts for this account or address: try again after the time in
    /// ``reason`` (the server's `Retry-After`). Not a refusal of the request for good.
    public static func tooManyAttempts(status: Int, reason: String?) -> Self {
        Self(.tooManyAttempts, status: status, problemCode: Kind.tooManyAttempts.rawValue, reason: reason)
    }

    public static let unreachableCode = Self(.unreachable)
    public static let rejectedCode = Self(.rejected)
    public static let invalidResponseCode = Self(.invalidResponse)
}

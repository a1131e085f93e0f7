import Foundation

/// A failed HTTP exchange.
///
/// Descriptions name the kind of failure, the host and libcurl's reason; never a URL's query,
/// a header value (tokens) or a body (health data).
public struct HTTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: String, Sendable {
        case cannotResolveHost = "cannot_resolve_host"
        case cannotConnect = "cannot_connect"
        case connectTimeout = "connect_timeout"
        case timeout = "timeout"
        case tlsFailure = "tls_failure"
        case pinMismatch = "pin_mismatch"
        case cancelled = "cancelled"
        case responseTooLarge = "response_too_large"
        case truncatedBody = "truncated_body"
        case connectionLost = "connection_lost"
        case tooManyRedirects = "too_many_redirects"
        case invalidRequest = "invalid_request"
        case shutdown = "client_shutdown"
        case libcurlUnavailable = "libcurl_unavailable"
        case http = "http_status"
        case other = "transport_error"
    }

    private let _code: Code
    /// The host concerned, when known.
    public let host: String?
    /// libcurl's explanation (from CURLOPT_ERRORBUFFER), or another non-secret detail.
    public let reason: String?
    /// For `httpStatus`: the status and the problem document, when the server sent one.
    public let status: Int?
    public let problem: ProblemDocument?

    private init(
        _ code: Code, host: String? = nil, reason: String? = nil, status: Int? = nil, problem: ProblemDocument? = nil
    ) {
        _code = code
        self.host = host
        self.reason = reason
        self.status = status
        self.problem = problem
    }

    /// The stable code, e.g. `"cannot_connect"`.
    public var code: String { _code.rawValue }

    /// Whether a retry of a retry-safe request may succeed: connection failures, timeouts and
    /// 408, 429, 502, 503, 504.
    public var isTransient: Bool {
        switch _code {
        case .cannotResolveHost, .cannotConnect, .connectTimeout, .timeout, .connectionLost, .truncatedBody: true
        case .http: [408, 429, 502, 503, 504].contains(status ?? 0)
        default: false
        }
    }

    /// A bounded summary for metrics labels.
    public var shortDescription: String { code }

    public var description: String {
        var text = code
        if let status { text += " \(status)" }
        if let problemCode = problem?.code { text += " (\(problemCode))" }
        if let host { text += " host=\(host)" }
        if let reason, !reason.isEmpty { text += ": \(reason)" }
        return text
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs._code == rhs._code && lhs.status == rhs.status }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(_code)
        hasher.combine(status)
    }

    static func make(code: String, host: String?, reason: String?) -> HTTPClientError {
        HTTPClientError(Code(rawValue: code) ?? .other, host: host, reason: reason)
    }

    public static let cannotResolveHost = HTTPClientError(.cannotResolveHost)
    public static let cannotConnect = HTTPClientError(.cannotConnect)
    public static let connectTimeout = HTTPClientError(.connectTimeout)
    public static let timeout = HTTPClientError(.timeout)
    public static let tlsFailure = HTTPClientError(.tlsFailure)
    public static let pinMismatch = HTTPClientError(.pinMismatch)
    public static let cancelled = HTTPClientError(.cancelled)
    public static let responseTooLarge = HTTPClientError(.responseTooLarge)
    public static let truncatedBody = HTTPClientError(.truncatedBody)
    public static let connectionLost = HTTPClientError(.connectionLost)
    public static let tooManyRedirects = HTTPClientError(.tooManyRedirects)
    public static let invalidRequest = HTTPClientError(.invalidRequest)
    public static let shutdown = HTTPClientError(.shutdown)
    /// libcurl (`libcurl.so.4`) could not be loaded; the reason says why.
    public static let libcurlUnavailable = HTTPClientError(.libcurlUnavailable)

    /// A non-2xx answer, with its problem document when there was one.
    public static func httpStatus(
        _ status: Int, problem: ProblemDocument? = nil, host: String? = nil
    ) -> HTTPClientError {
        HTTPClientError(.http, host: host, status: status, problem: problem)
    }

    func with(host: String?, reason: String?) -> HTTPClientError {
        HTTPClientError(_code, host: host, reason: reason, status: status, problem: problem)
    }
}

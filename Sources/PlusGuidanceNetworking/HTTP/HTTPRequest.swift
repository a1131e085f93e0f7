import Foundation

/// An HTTP request for ``CurlHTTPClient``.
public struct HTTPRequest: Sendable {
    public enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
        case put = "PUT"
        case patch = "PATCH"
        case delete = "DELETE"
        case head = "HEAD"

        /// Safe to repeat by the HTTP definition (RFC 9110 §9.2.2).
        public var isIdempotent: Bool { self != .post && self != .patch }
    }

    public var method: Method
    public var url: URL
    /// Header fields in order. Values are never logged: `Authorization` carries tokens.
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// Overrides ``HTTPClientConfiguration/totalTimeout`` for this request; `.zero` for none
    /// (long-lived streams).
    public var totalTimeout: Duration?

    public init(
        method: Method = .get, url: URL, headers: [(name: String, value: String)] = [], body: Data? = nil,
        totalTimeout: Duration? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.totalTimeout = totalTimeout
    }

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// Whether repeating this request cannot do something twice: an idempotent method, or a
    /// request carrying an `Idempotency-Key`. Only such requests are retried.
    public var isRetrySafe: Bool { method.isIdempotent || header("Idempotency-Key") != nil }
}

/// Where the time of one request went, from libcurl's own measurements (CURLINFO_*_TIME_T).
public struct HTTPTimings: Sendable, Hashable {
    /// Until the name was resolved.
    public var nameLookup: Duration
    /// Until the TCP connection was established (zero when a connection was reused).
    public var connect: Duration
    /// Until the TLS handshake completed (zero for plain HTTP or a reused connection).
    public var tlsHandshake: Duration
    /// Until the first response byte.
    public var firstByte: Duration
    public var total: Duration
}

/// An HTTP response with its whole body.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header fields in order, names as received.
    public var headers: [(name: String, value: String)]
    public var body: Data
    public var timings: HTTPTimings?
    /// The HTTP version the exchange used (1.1 or 2).
    public var httpVersion: String

    public init(
        status: Int, headers: [(name: String, value: String)], body: Data, timings: HTTPTimings? = nil,
        httpVersion: String = "1.1"
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.timings = timings
        self.httpVersion = httpVersion
    }

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

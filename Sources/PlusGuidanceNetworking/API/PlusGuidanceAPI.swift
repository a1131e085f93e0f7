import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

/// Shares token refreshes among every holder of the same tokens (the processes on a profile):
/// given the pair a call found stale, returns the pair to use. It runs `refresh` only when
/// nobody replaced the stale pair yet, and persists what `refresh` returns before anyone uses
/// it; a refresh token is single-use, so two holders refreshing with the same one would make
/// the server revoke the whole sign-in.
public typealias RefreshCoordinator =
    @Sendable (_ stale: APITokens, _ refresh: @escaping @Sendable () async throws -> APITokens) async throws ->
    APITokens

/// Bearer tokens of a signed-in user.
public struct APITokens: Hashable, Sendable, Codable {
    public var accessToken: String
    public var refreshToken: String

    public init(accessToken: String, refreshToken: String) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
    }
}

/// A page of a conversation's messages, newest first.
public struct MessagesPage: Sendable {
    public var messages: [Message]
    /// Older messages exist on the server (page on with the last message's id).
    public var hasMore: Bool

    public init(messages: [Message], hasMore: Bool) {
        self.messages = messages
        self.hasMore = hasMore
    }
}

/// What the event stream says.
public enum LiveEvent: Sendable, Hashable {
    /// A change, with the cursor to resume after it (`Last-Event-ID`).
    case change(Change, cursor: FeedCursor)
    /// A counterpart came online or went offline.
    case presence(UserID, online: Bool)
    /// A heartbeat comment: the stream is alive.
    case heartbeat
    /// The server's clock, sent when the stream opens and when the server's clock was stepped
    /// (its test clock moved).
    case time(Date)
}

/// The typed client of the PlusGuidance API (Documentation/openapi.yaml).
///
/// Every operation of the contract is a method here, taking and returning Domain values.
/// Problem documents become ``PlusGuidanceAPIError/rejected(_:status:)`` with the Domain's
/// error, so `client_offline` is the same value offline and online. A 401 on an expired access
/// token triggers one refresh shared by every concurrent call (single flight), then the call
/// is repeated once; the new tokens are handed to `onTokensChanged` *before* they are used, so
/// the caller can persist them first. Retry-safe requests (GET, or POST with an
/// `Idempotency-Key`) are retried on transient failures by the ``RetryPolicy``.
///
/// ```swift
/// let api = PlusGuidanceAPI(baseURL: url, http: CurlHTTPClient())
/// let me = try await api.login(email: "alice@example.com", password: secret)
/// let page = try await api.changes(after: nil)
/// ```
public actor PlusGuidanceAPI {
    public nonisolated let baseURL: URL
    let http: CurlHTTPClient
    private let retry: RetryPolicy
    let deadlines: RequestDeadlines
    var tokens: APITokens?
    var refreshing: Task<APITokens, any Error>?
    let onTokensChanged: @Sendable (APITokens?) async throws -> Void
    let refreshCoordinator: RefreshCoordinator?
    private var clock: ServerClockEstimator
    /// The clock the server's time is estimated against (never the wall clock: R12).
    public nonisolated let elapsedClock: any ElapsedClock

    /// - Parameters:
    ///   - baseURL: the server, `https://host[:port]` (the `/v1/…` paths are appended).
    ///   - http: the libcurl client requests go through.
    ///   - tokens: tokens from an earlier sign-in, if any.
    ///   - retry: how transient failures are retried within the deadlines.
    ///   - onTokensChanged: called with new tokens before they are used (and with `nil` when
    ///     they are revoked), to persist them.
    ///   - deadlines: how long each kind of call may take in all, retries included.
    ///   - elapsedClock: the clock ``serverTimeEstimate`` is measured against.
    ///   - refreshCoordinator: shares refreshes with other holders of the same tokens (other
    ///     processes on a profile); with one, it persists refreshed tokens and `onTokensChanged`
    ///     is called for sign-in and sign-out only.
    public init(
        baseURL: URL, http: CurlHTTPClient, tokens: APITokens? = nil, retry: RetryPolicy = RetryPolicy(),
        deadlines: RequestDeadlines = RequestDeadlines(), elapsedClock: any ElapsedClock = SystemElapsedClock(),
        onTokensChanged: @escaping @Sendable (APITokens?) async throws -> Void = { _ in },
        refreshCoordinator: RefreshCoordinator? = nil
    ) {
        self.refreshCoordinator = refreshCoordinator
        self.elapsedClock = elapsedClock
        clock = ServerClockEstimator(bootID: elapsedClock.bootID)
        self.baseURL = baseURL
        self.http = http
        self.tokens = tokens
        self.retry = retry
        self.deadlines = deadlines
        self.onTokensChanged = onTokensChanged
    }

    /// The server's time as estimated from this client's answers so far; `nil` before the first.
    public var serverTimeEstimate: ServerTimeEstimate? { clock.estimate }

    /// Records the server's time `now` as told on the event stream (a `time` event), received
    /// just now: the clock estimate starts over from it (the server sends it when the stream
    /// opens and when its clock was stepped).
    public func recordServerTime(_ now: Date) {
        clock.restart(serverDate: now, receivedAt: elapsedClock.elapsed())
    }

    public var isSignedIn: Bool { tokens != nil }

    // MARK: Plumbing

    func url(_ path: String) -> URL { URL(string: baseURL.absoluteString + path)! }

    nonisolated func escape(_ component: String) -> String {
        component.addingPercentEncoding(
            withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&=#")))
            ?? component
    }

    /// An authenticated call, returning a 2xx answer or throwing the mapped error.
    func call(
        _ method: HTTPRequest.Method, _ path: String, body: Data? = nil, key: IdempotencyKey? = nil
    )
        async throws -> HTTPResponse
    {
        try success(try await send(method, path, body: body, authenticated: true, key: key))
    }

    func send(
        _ method: HTTPRequest.Method, _ path: String, body: Data?, authenticated: Bool, key: IdempotencyKey? = nil
    ) async throws -> HTTPResponse {
        var headers: [(String, String)] = [("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if let key { headers.append(("Idempotency-Key", key.rawValue)) }
        let request = HTTPRequest(method: method, url: url(path), headers: headers, body: body)
        guard authenticated else { return try await perform(request) }
        return try await withFreshToken { token in
            var signed = request
            signed.headers.append(("Authorization", "Bearer \(token)"))
            return try await self.perform(signed)
        } status: {
            $0.status
        }
    }

    /// One exchange through the retry policy, recording the server clock.
    func perform(_ request: HTTPRequest, policy: RetryPolicy? = nil) async throws -> HTTPResponse {
        do {
            let sent = elapsedClock.elapsed()
            let deadline = ContinuousClock.now + deadlines[RequestDeadlines.kind(of: request)]
            let response = try await (policy ?? retry).run(request, deadline: deadline) {
                try await self.http.execute($0)
            }
            // Server-Time (the clock the rules use, in milliseconds) when present, else Date.
            if let time = response.header("Server-Time").flatMap(WireDecoding.time) {
                clock.record(serverDate: time, sentAt: sent, receivedAt: elapsedClock.elapsed(), resolution: 0.001)
            } else if let date = response.header("Date").flatMap(HTTPDate.parse) {
                clock.record(serverDate: date, sentAt: sent, receivedAt: elapsedClock.elapsed())
            }
            return response
        } catch let error as HTTPClientError {
            throw PlusGuidanceAPIError.unreachable(error)
        }
    }

    func success(_ response: HTTPResponse) throws -> HTTPResponse {
        guard (200..<300).contains(response.status) else { throw error(status: response.status, body: response.body) }
        return response
    }

    nonisolated func error(status: Int, body: Data) -> PlusGuidanceAPIError {
        error(status: status, problem: ProblemDocument.decode(body))
    }

    /// The error of an answer with this status and problem document (`nil` when it had none).
    nonisolated func error(status: Int, problem: ProblemDocument?) -> PlusGuidanceAPIError {
        if let domain = problem?.domainError { return .rejected(domain, status: status) }
        switch (status, problem?.code) {
        case (401, _): return .signedOut
        case (410, _), (_, "cursor_too_old"): return .cursorTooOld
        // A 404 that is not the API's own (no problem document, or the server's router saying
        // the path does not exist): a wrong base URL, not a missing record.
        case (404, nil), (404, "no_such_endpoint"):
            return .requestRejected(status: status, problemCode: problem?.code, reason: problem?.title)
        case (404, _): return .rejected(.notFound, status: status)
        case (429, PlusGuidanceAPIError.Kind.tooManyAttempts.rawValue):
            return .tooManyAttempts(status: status, reason: problem?.detail)
        case (500..., let code): return .serverError(status: status, problemCode: code)
        case (_, let code): return .requestRejected(status: status, problemCode: code, reason: problem?.title)
        }
    }

    /// Decodes an answer's wire shape (``PlusGuidanceWire``) and maps it to Domain values.
    /// Whatever fails either step is `invalid_response`, naming the shape or the field, never a
    /// value: a malformed answer never crashes and never reaches the cache.
    static func decode<Wire: Decodable, Value>(
        _ wire: Wire.Type, from body: Data, _ map: (Wire) throws(WireError) -> Value
    ) throws(PlusGuidanceAPIError) -> Value {
        let decoded: Wire
        do {
            decoded = try JSONDecoder().decode(Wire.self, from: body)
        } catch {
            throw PlusGuidanceAPIError.invalidResponse("\(Wire.self) did not decode")
        }
        do {
            return try map(decoded)
        } catch {
            throw PlusGuidanceAPIError.invalidResponse(error.reason)
        }
    }

    /// ``decode(_:from:_:)`` of an answer's body.
    nonisolated func decode<Wire: Decodable, Value>(
        _ wire: Wire.Type, _ response: HTTPResponse, _ map: (Wire) throws(WireError) -> Value
    ) throws(PlusGuidanceAPIError) -> Value {
        try Self.decode(wire, from: response.body, map)
    }
}

extension PlusGuidanceAPI {
    /// Returns once the requests cancelled before the call have let go of their transfers
    /// (``CurlHTTPClient/settle()``).
    public func settle() async { await http.settle() }
}

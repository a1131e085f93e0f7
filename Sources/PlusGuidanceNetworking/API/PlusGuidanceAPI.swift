import Foundation
import PlusGuidanceDomain

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
    private let http: CurlHTTPClient
    private let retry: RetryPolicy
    private let deadlines: RequestDeadlines
    var tokens: APITokens?
    var refreshing: Task<APITokens, any Error>?
    let onTokensChanged: @Sendable (APITokens?) async throws -> Void
    let refreshCoordinator: RefreshCoordinator?
    private var clock = ServerClockEstimator()
    /// The local clock the server clock offset is measured against; the caller must add the
    /// offset to this same clock.
    private let localClock: any WallClock

    /// - Parameters:
    ///   - tokens: tokens from an earlier sign-in, if any.
    ///   - onTokensChanged: called with new tokens before they are used (and with `nil` when
    ///     they are revoked), to persist them.
    ///   - deadlines: how long each kind of call may take in all, retries included.
    ///   - localClock: the clock ``serverClockOffset`` is measured against.
    ///   - refreshCoordinator: shares refreshes with other holders of the same tokens (other
    ///     processes on a profile); with one, it persists refreshed tokens and `onTokensChanged`
    ///     is called for sign-in and sign-out only.
    public init(
        baseURL: URL, http: CurlHTTPClient, tokens: APITokens? = nil, retry: RetryPolicy = RetryPolicy(),
        deadlines: RequestDeadlines = RequestDeadlines(), localClock: any WallClock = SystemWallClock(),
        onTokensChanged: @escaping @Sendable (APITokens?) async throws -> Void = { _ in },
        refreshCoordinator: RefreshCoordinator? = nil
    ) {
        self.refreshCoordinator = refreshCoordinator
        self.localClock = localClock
        self.baseURL = baseURL
        self.http = http
        self.tokens = tokens
        self.retry = retry
        self.deadlines = deadlines
        self.onTokensChanged = onTokensChanged
    }

    /// Server time minus local time, in seconds, estimated from the `Date` headers seen so far.
    public var serverClockOffset: TimeInterval? { clock.offset }

    public var isSignedIn: Bool { tokens != nil }

    // MARK: Auth

    /// Signs in and keeps the tokens.
    /// - Throws: ``PlusGuidanceAPIError/badCredentials``, or `unreachable`.
    public func login(email: String, password: String) async throws -> User {
        let body = try JSONEncoder().encode(LoginRequest(email: email, password: password))
        let response = try await send(.post, "/v1/auth/login", body: body, authenticated: false)
        if response.status == 401 { throw PlusGuidanceAPIError.badCredentials }
        let dto: TokensDTO = try decode(try success(response))
        let newTokens = try dto.tokens()
        let user = try dto.user.domain()
        try await onTokensChanged(newTokens)
        tokens = newTokens
        return user
    }

    /// Revokes the tokens on the server (best effort) and forgets them.
    public func logout() async throws {
        if tokens != nil { _ = try? await send(.post, "/v1/auth/logout", body: nil, authenticated: true) }
        tokens = nil
        try await onTokensChanged(nil)
    }

    public func me() async throws -> User {
        let dto: UserDTO = try decode(try await call(.get, "/v1/me"))
        return try dto.domain()
    }

    /// A therapist's clients, or a client's therapist, with presence.
    public func contacts() async throws -> [Contact] {
        let dto: ContactsDTO = try decode(try await call(.get, "/v1/contacts"))
        return try dto.contacts.map { try $0.domain() }
    }

    // MARK: Messages

    /// Newest first; `before` pages into history.
    public func messages(with peer: UserID, limit: Int = 50, before: MessageID? = nil) async throws -> MessagesPage {
        var path = "/v1/conversations/\(escape(peer.rawValue))/messages?limit=\(limit)"
        if let before { path += "&before=\(escape(before.rawValue))" }
        let dto: MessagesPageDTO = try decode(try await call(.get, path))
        return MessagesPage(messages: try dto.messages.map { try $0.domain() }, hasMore: dto.hasMore)
    }

    /// Delivers a text message written on this device, keeping its id.
    public func send(_ message: Message, idempotencyKey: IdempotencyKey) async throws -> Message {
        let body = try JSONEncoder().encode(SendMessageRequest(message))
        let dto: MessageDTO = try decode(
            try await call(
                .post, "/v1/conversations/\(escape(message.recipientID.rawValue))/messages", body: body,
                key: idempotencyKey))
        return try dto.domain()
    }

    // MARK: Sessions

    public func offers() async throws -> [SessionOffer] {
        let dto: OffersDTO = try decode(try await call(.get, "/v1/offers"))
        return try dto.offers.map { try $0.domain() }
    }

    /// Offers an Instant Session. Needs the client online now: never queued, never retried, so
    /// an unreachable server fails the call at once (R8).
    public func createOffer(
        to client: UserID, options: OfferOptions, idempotencyKey: IdempotencyKey
    ) async throws
        -> SessionOffer
    {
        let body = try JSONEncoder().encode(CreateOfferRequest(client: client, options: options))
        let dto: OfferDTO = try decode(try await call(.post, "/v1/offers", body: body, key: idempotencyKey))
        return try dto.domain()
    }

    /// The offered client accepts; returns the offer and the session it created.
    public func accept(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> (SessionOffer, Session?) {
        let dto: AnswerDTO = try decode(
            try await call(.post, "/v1/offers/\(escape(offer.rawValue))/accept", body: Data(), key: idempotencyKey))
        return (try dto.offer.domain(), try dto.session?.domain())
    }

    public func decline(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> SessionOffer {
        let dto: AnswerDTO = try decode(
            try await call(.post, "/v1/offers/\(escape(offer.rawValue))/decline", body: Data(), key: idempotencyKey))
        return try dto.offer.domain()
    }

    public func stop(_ session: SessionID, idempotencyKey: IdempotencyKey) async throws -> Session {
        let dto: SessionDTO = try decode(
            try await call(.post, "/v1/sessions/\(escape(session.rawValue))/stop", body: Data(), key: idempotencyKey))
        return try dto.domain()
    }

    public func upcomingSessions() async throws -> [Session] {
        let dto: SessionsDTO = try decode(try await call(.get, "/v1/sessions/upcoming"))
        return try dto.sessions.map { try $0.domain() }
    }

    public func session(_ id: SessionID) async throws -> Session {
        let dto: SessionDTO = try decode(try await call(.get, "/v1/sessions/\(escape(id.rawValue))"))
        return try dto.domain()
    }

    // MARK: Sync

    /// A page of the change feed after `cursor` (from the start when `nil`).
    /// - Parameter countRemaining: ask the server how many changes follow the page
    ///   (``PlusGuidanceDomain/ChangePage/remaining``); it costs the server a count, so ask on
    ///   the first page of a sync only.
    /// - Throws: ``PlusGuidanceAPIError/cursorTooOld`` when the client must resynchronise. A
    ///   page with any change that does not decode fails whole (`invalid_response`).
    public func changes(
        after cursor: FeedCursor?, limit: Int = 500, countRemaining: Bool = false
    ) async throws
        -> ChangePage
    {
        var path = "/v1/changes?limit=\(limit)"
        if let cursor { path += "&after=\(escape(cursor.rawValue))" }
        if countRemaining { path += "&count=true" }
        return try Self.changePage(from: try await call(.get, path).body)
    }

    /// A feed page's body as the domain's page, checked against the contract; the whole page is
    /// refused when any part of it fails. (`package` for the sync benchmark's decode figure.)
    package static func changePage(from body: Data) throws -> ChangePage {
        let dto: FeedPageDTO
        do {
            dto = try WireDecoding.decoder().decode(FeedPageDTO.self, from: body)
        } catch let error as PlusGuidanceAPIError {
            throw error
        } catch {
            throw PlusGuidanceAPIError.invalidResponse("\(FeedPageDTO.self) did not decode")
        }
        return ChangePage(
            changes: try dto.changes.map { try $0.domain() },
            cursor: FeedCursor(try WireContract.identifier(dto.cursor, "cursor")), hasMore: dto.hasMore,
            remaining: try dto.remaining.map { try WireContract.check($0, in: 0...Int.max, "remaining") })
    }

    /// The live event stream, resuming after `lastEventID`. Ends when the connection does; the
    /// caller reconnects (with the last cursor it saw) and catches up from the feed.
    public func events(after lastEventID: FeedCursor?) async throws -> AsyncThrowingStream<LiveEvent, any Error> {
        var extraHeaders = [("Accept", "text/event-stream")]
        if let lastEventID { extraHeaders.append(("Last-Event-ID", lastEventID.rawValue)) }
        let headers = extraHeaders
        let eventsURL = url("/v1/events")
        let http = self.http
        let connectLimit = deadlines.streamConnect
        let response = try await withFreshToken { token in
            // No total timeout (the stream stays open), but its head must come in time.
            let request = HTTPRequest(
                url: eventsURL, headers: headers + [("Authorization", "Bearer \(token)")], totalTimeout: .zero)
            do {
                return try await withTimeLimit(connectLimit) { try await http.stream(request) }
            } catch let error as HTTPClientError {
                throw PlusGuidanceAPIError.unreachable(error)
            }
        } status: {
            $0.status
        }
        guard response.status == 200 else {
            var body = Data()
            for try await chunk in response.body { body.append(chunk) }
            throw error(status: response.status, body: body)
        }
        return AsyncThrowingStream { continuation in
            let task = Task {
                var parser = ServerSentEventParser(lastEventID: lastEventID?.rawValue ?? "")
                do {
                    for try await chunk in response.body {
                        for item in try parser.feed(chunk) {
                            if let event = try Self.liveEvent(item) { continuation.yield(event) }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in
                task.cancel()
                response.body.cancel()
            }
        }
    }

    static func liveEvent(_ item: ServerSentEventItem) throws -> LiveEvent? {
        switch item {
        case .comment: return .heartbeat
        case .retry: return nil
        case .event(let event):
            let data = Data(event.data.utf8)
            switch event.type {
            case "change":
                let dto = try WireDecoding.decoder().decode(ChangeDTO.self, from: data)
                return .change(try dto.domain(), cursor: FeedCursor(event.lastEventID))
            case "presence":
                let dto = try WireDecoding.decoder().decode(PresenceDTO.self, from: data)
                return .presence(UserID(dto.userId), online: dto.online)
            default: return nil
            }
        }
    }

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

    private func send(
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
            let sent = localClock.now()
            let deadline = ContinuousClock.now + deadlines[RequestDeadlines.kind(of: request)]
            let response = try await (policy ?? retry).run(request, deadline: deadline) {
                try await self.http.execute($0)
            }
            // Server-Time (the clock the rules use, in milliseconds) when present, else Date.
            if let time = response.header("Server-Time").flatMap(WireDecoding.time) {
                clock.record(serverDate: time, sentAt: sent, receivedAt: localClock.now(), resolution: 0.001)
            } else if let date = response.header("Date").flatMap(HTTPDate.parse) {
                clock.record(serverDate: date, sentAt: sent, receivedAt: localClock.now())
            }
            return response
        } catch let error as HTTPClientError {
            throw PlusGuidanceAPIError.unreachable(error)
        }
    }

    private func success(_ response: HTTPResponse) throws -> HTTPResponse {
        guard (200..<300).contains(response.status) else { throw error(status: response.status, body: response.body) }
        return response
    }

    func error(status: Int, body: Data) -> PlusGuidanceAPIError {
        error(status: status, problem: ProblemDocument.decode(body))
    }

    /// The error of an answer with this status and problem document (`nil` when it had none).
    func error(status: Int, problem: ProblemDocument?) -> PlusGuidanceAPIError {
        if let domain = problem?.domainError { return .rejected(domain, status: status) }
        switch (status, problem?.code) {
        case (401, _): return .signedOut
        case (410, _), (_, "cursor_too_old"): return .cursorTooOld
        // A 404 that is not the API's own (no problem document, or the server's router saying
        // the path does not exist): a wrong base URL, not a missing record.
        case (404, nil), (404, "no_such_endpoint"):
            return .requestRejected(status: status, problemCode: problem?.code, reason: problem?.title)
        case (404, _): return .rejected(.notFound, status: status)
        case (429, "too_many_attempts"):
            return .requestRejected(status: status, problemCode: "too_many_attempts", reason: problem?.detail)
        case (500..., let code): return .serverError(status: status, problemCode: code)
        case (_, let code): return .requestRejected(status: status, problemCode: code, reason: problem?.title)
        }
    }

    nonisolated func decode<T: Decodable>(_ response: HTTPResponse) throws -> T {
        do {
            return try WireDecoding.decoder().decode(T.self, from: response.body)
        } catch let error as PlusGuidanceAPIError {
            throw error
        } catch {
            throw PlusGuidanceAPIError.invalidResponse("\(T.self) did not decode")
        }
    }
}

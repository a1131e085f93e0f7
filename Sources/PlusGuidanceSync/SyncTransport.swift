import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

/// What the sync engine needs from the server: the operations of the API contract that
/// ``PlusGuidanceClient`` uses, in Domain values, failing with `PlusGuidanceAPIError`.
///
/// `PlusGuidanceAPI` (libcurl, the real server) is the one transport apps use. The seam exists
/// so the engine can be driven, in the package's own tests, against an in-memory model of the
/// server that injects faults at exact points (the model-based test of outbox and pull).
public protocol SyncTransport: Sendable {
    /// The server's time as estimated from the answers seen so far (R12).
    var serverTimeEstimate: ServerTimeEstimate? { get async }

    func login(email: String, password: String) async throws -> User
    func logout() async throws
    func contacts() async throws -> [Contact]
    func messages(with peer: UserID, limit: Int, before: MessageID?) async throws -> MessagesPage
    func send(_ message: Message, idempotencyKey: IdempotencyKey) async throws -> Message
    func createOffer(
        to client: UserID, options: OfferOptions, idempotencyKey: IdempotencyKey
    ) async throws
        -> SessionOffer
    func accept(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> (SessionOffer, Session?)
    func decline(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> SessionOffer
    func stop(_ session: SessionID, idempotencyKey: IdempotencyKey) async throws -> Session
    func markRead(_ mark: ReadMark, idempotencyKey: IdempotencyKey) async throws -> ReadPosition
    func session(_ id: SessionID) async throws -> Session
    func changes(after cursor: FeedCursor?, limit: Int, countRemaining: Bool) async throws -> ChangePage
    func events(after lastEventID: FeedCursor?) async throws -> AsyncThrowingStream<LiveEvent, any Error>
    /// Several outbox actions in one request, in order (`PlusGuidanceAPI.push(_:)`).
    func push(_ actions: [(action: OutboxAction, key: IdempotencyKey)]) async throws -> [PushOutcome]
    /// The server's time as the event stream told it (`LiveEvent.time(_:)`).
    func recordServerTime(_ now: Date) async
    /// Returns once what was cancelled before the call has let go of its resources (the
    /// transfer thread handled the cancellations), so a process may exit right after.
    func settle() async
}

extension PlusGuidanceAPI: SyncTransport {}

extension SyncTransport {
    /// Transports without a clock estimate of their own ignore it.
    public func recordServerTime(_ now: Date) async {}

    /// Transports with nothing running in the background have nothing to settle.
    public func settle() async {}

    /// A batch as single requests, one after another, with the batch endpoint's outcomes: for
    /// transports without one (the in-memory server model). A failure that is not a refusal
    /// throws, leaving the fate of the actions before it unknown, as a lost batch answer does.
    public func push(_ actions: [(action: OutboxAction, key: IdempotencyKey)]) async throws -> [PushOutcome] {
        var outcomes: [PushOutcome] = []
        var refused: Set<ConversationID> = []
        for (action, key) in actions {
            if let conversation = action.orderingConversation, refused.contains(conversation) {
                outcomes.append(.skipped)
                continue
            }
            do {
                outcomes.append(.applied(try await perform(action, key: key)))
            } catch let error as PlusGuidanceAPIError where error.isPermanentRefusal {
                outcomes.append(.refused(error))
                if let conversation = action.orderingConversation { refused.insert(conversation) }
            }
        }
        return outcomes
    }

    /// Sends one action; returns the changes the server's answer carries, for the cache.
    public func perform(_ action: OutboxAction, key: IdempotencyKey) async throws -> [Change] {
        switch action {
        case .sendMessage(let message): return [.message(try await send(message, idempotencyKey: key))]
        case .acceptOffer(let id):
            let (offer, session) = try await accept(id, idempotencyKey: key)
            return [.offer(offer)] + (session.map { [.session($0)] } ?? [])
        case .declineOffer(let id): return [.offer(try await decline(id, idempotencyKey: key))]
        case .stopSession(let id): return [.session(try await stop(id, idempotencyKey: key))]
        case .markRead(let mark): return [.read(try await markRead(mark, idempotencyKey: key))]
        case .unreadable: throw PlusGuidanceAPIError.rejected(.notFound, status: 0)
        }
    }
}

/// What a transport needs to authenticate one account: the tokens saved for it (`nil` before
/// sign-in), the function that persists new tokens before they are used (sign-in, sign-out), and
/// the coordinator that shares refreshes with the other processes on the profile.
@_spi(PlusGuidanceTools) public struct TransportCredentials: Sendable {
    @_spi(PlusGuidanceTools) public var tokens: APITokens?
    @_spi(PlusGuidanceTools) public var save: @Sendable (APITokens?) async throws -> Void
    @_spi(PlusGuidanceTools) public var coordinateRefresh: RefreshCoordinator
}

/// Makes the transport of one account.
@_spi(PlusGuidanceTools) public typealias SyncTransportFactory = @Sendable (TransportCredentials) -> any SyncTransport

import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting

/// An in-memory model of the PlusGuidance server for one pair (the therapist and Alice): the
/// rules through the Domain's state machines, `Idempotency-Key` answers stored and replayed, a
/// change feed that can be compacted (old cursors then answer `cursor_too_old`), and faults
/// injected at exact points of the next calls. It records how often each request committed,
/// which the real server cannot tell a test.
actor ServerModel {
    enum Fault: Hashable, Sendable, CustomStringConvertible {
        /// The request never reaches the server.
        case unreachable
        /// The server answers 503 without doing anything.
        case serverError
        /// The server commits, then the answer is lost.
        case answerLost
        /// The server commits, then the client process dies before it reads the answer.
        case crash

        var description: String {
            switch self {
            case .unreachable: "unreachable"
            case .serverError: "503"
            case .answerLost: "answer lost"
            case .crash: "crash"
            }
        }
    }

    /// Raised by the ``Fault/crash`` fault: the client must be restarted (reopened).
    struct Crashed: Error {}

    static let therapist = Fixtures.therapist
    static let alice = Fixtures.alice
    static let pair = Fixtures.theoAlice

    private(set) var now = Fixtures.epoch
    private var log: [(seq: Int, change: Change)] = [(1, .user(therapist)), (2, .user(alice))]
    private var lastSeq = 2
    private var prunedThrough = 0
    private(set) var messages: [Message] = []
    private(set) var offers: [OfferID: SessionOffer] = [:]
    private(set) var sessions: [SessionID: Session] = [:]
    private(set) var readPositions: [UserID: ReadPosition] = [:]
    private var answers: [IdempotencyKey: (fingerprint: String, answer: Result<[Change], PlusGuidanceAPIError>)] = [:]
    /// How many times each idempotency key's request committed (must stay at most 1).
    private(set) var commits: [IdempotencyKey: Int] = [:]
    /// How many times each message id was stored (must stay at most 1).
    private(set) var messageCommits: [MessageID: Int] = [:]
    private var faults: [Fault] = []
    private var nextID = 0

    // MARK: The test's levers

    func inject(_ fault: Fault) { faults.append(fault) }
    func clearFaults() { faults = [] }

    func advance(minutes: Double) {
        now += minutes * 60
        for id in offers.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            guard var offer = offers[id] else { continue }
            let effects = offer.expireIfDue(at: now)
            if !effects.isEmpty { commit(offer: offer, effects: effects) }
        }
    }

    /// The therapist writes to Alice (from another device).
    func therapistSends(_ text: String) throws {
        let message = try Message.text(
            id: MessageID("srv_\(fresh())"), from: Self.therapist.id, to: Self.alice.id, within: Self.pair,
            body: text, at: tick())
        store(message)
    }

    /// The therapist offers a session that needs Alice's confirmation (she is online).
    func therapistOffers() throws -> OfferID {
        let (offer, effects) = try SessionOffer.make(
            id: OfferID("off_\(fresh())"), by: Self.therapist, to: Self.alice.id, relation: Self.pair,
            clientIsOnline: true, options: OfferOptions(type: .video, durationMinutes: 30), at: tick())
        commit(offer: offer, effects: effects)
        return offer.id
    }

    /// Drops the feed's history: every entity is written again after the current end, and any
    /// cursor before that end is too old.
    func compactFeed() {
        prunedThrough = lastSeq
        log = []
        for user in [Self.therapist, Self.alice] { record(.user(user)) }
        for message in messages { record(.message(message)) }
        for offer in offers.values.sorted(by: { $0.id.rawValue < $1.id.rawValue }) { record(.offer(offer)) }
        for session in sessions.values.sorted(by: { $0.id.rawValue < $1.id.rawValue }) { record(.session(session)) }
    }

    // MARK: The API, as Alice calls it

    func changes(after cursor: FeedCursor?, limit: Int, countRemaining: Bool) throws(PlusGuidanceAPIError) -> ChangePage
    {
        try fault(beforeCommit: true)
        var after = 0
        if let cursor {
            guard cursor.rawValue.hasPrefix("m"), let seq = Int(cursor.rawValue.dropFirst()), seq >= prunedThrough,
                seq <= lastSeq
            else { throw .cursorTooOld }
            after = seq
        }
        let rest = log.filter { $0.seq > after }
        let page = rest.prefix(limit)
        return ChangePage(
            changes: page.map(\.change), cursor: FeedCursor("m\(page.last?.seq ?? max(after, lastSeq))"),
            hasMore: rest.count > limit, remaining: countRemaining ? rest.count - page.count : nil)
    }

    func contacts() throws(PlusGuidanceAPIError) -> [Contact] {
        try fault(beforeCommit: true)
        return [Contact(user: Self.therapist, presence: Presence(userID: Self.therapist.id, isOnline: true))]
    }

    func history(before: MessageID?, limit: Int) throws(PlusGuidanceAPIError) -> MessagesPage {
        try fault(beforeCommit: true)
        var newestFirst = Array(messages.reversed())
        if let before, let index = newestFirst.firstIndex(where: { $0.id == before }) {
            newestFirst = Array(newestFirst[(index + 1)...])
        }
        return MessagesPage(messages: Array(newestFirst.prefix(limit)), hasMore: newestFirst.count > limit)
    }

    func send(_ message: Message, key: IdempotencyKey) throws -> Message {
        let changes = try idempotent(key, fingerprint: "send \(message.id) \(message.body)") {
            () throws(PlusGuidanceAPIError) -> [Change] in
            guard message.senderID == Self.alice.id, message.conversationID == Self.pair.conversationID else {
                throw .rejected(.notAParticipant, status: 403)
            }
            var stored = message
            stored.createdAt = tick()
            stored.deliveryState = .sent
            store(stored)
            return [.message(stored)]
        }
        guard case .message(let stored) = changes.first else { throw PlusGuidanceAPIError.invalidResponse("model") }
        return stored
    }

    /// Alice reads up to a message of her conversation (R11): the position only moves forward.
    func markRead(_ mark: ReadMark, key: IdempotencyKey) throws -> ReadPosition {
        let changes = try idempotent(key, fingerprint: "read \(mark.messageID)") {
            () throws(PlusGuidanceAPIError) -> [Change] in
            guard let message = messages.first(where: { $0.id == mark.messageID }) else {
                throw .rejected(.notFound, status: 404)
            }
            let current = readPositions[Self.alice.id]
            let position: ReadPosition
            do throws(DomainError) {
                position = try ReadPosition.marking(
                    message, readBy: Self.alice.id, in: Self.pair, from: current, at: tick())
            } catch {
                throw .rejected(error, status: 403)
            }
            guard position != current else { return [.read(position)] }
            readPositions[Self.alice.id] = position
            record(.read(position))
            return [.read(position)]
        }
        guard case .read(let position) = changes.first else { throw PlusGuidanceAPIError.invalidResponse("model") }
        return position
    }

    func answer(_ id: OfferID, accept: Bool, key: IdempotencyKey) throws -> (SessionOffer, Session?) {
        let changes = try idempotent(key, fingerprint: "\(accept ? "accept" : "decline") \(id)") {
            () throws(PlusGuidanceAPIError) -> [Change] in
            guard var offer = offers[id] else { throw .rejected(.notFound, status: 404) }
            let swept = offer.expireIfDue(at: now)
            if !swept.isEmpty { commit(offer: offer, effects: swept) }
            let effects: [DomainEffect]
            do throws(DomainError) {
                effects =
                    accept
                    ? try offer.accept(by: Self.alice.id, at: tick()) : try offer.decline(by: Self.alice.id, at: tick())
            } catch {
                throw .rejected(error, status: 409)
            }
            commit(offer: offer, effects: effects)
            let session = offer.sessionID.flatMap { sessions[$0] }
            return [.offer(offer)] + (session.map { [.session($0)] } ?? [])
        }
        guard case .offer(let offer) = changes.first else { throw PlusGuidanceAPIError.invalidResponse("model") }
        let session: Session? = changes.dropFirst().first.flatMap { if case .session(let s) = $0 { s } else { nil } }
        return (offer, session)
    }

    // MARK: Inside

    /// Runs a state-changing request once per key: a replay gets the stored answer (refusals
    /// included), a key reused for another request is refused.
    private func idempotent(
        _ key: IdempotencyKey, fingerprint: String, _ body: () throws(PlusGuidanceAPIError) -> [Change]
    ) throws -> [Change] {
        try fault(beforeCommit: true)
        let answer: Result<[Change], PlusGuidanceAPIError>
        if let stored = answers[key] {
            guard stored.fingerprint == fingerprint else {
                throw PlusGuidanceAPIError.requestRejected(
                    status: 422, problemCode: "idempotency_key_reused", reason: nil)
            }
            answer = stored.answer
        } else {
            answer = Result { () throws(PlusGuidanceAPIError) in try body() }
            answers[key] = (fingerprint, answer)
            commits[key, default: 0] += 1
        }
        try fault(beforeCommit: false)
        return try answer.get()
    }

    private func fault(beforeCommit: Bool) throws(PlusGuidanceAPIError) {
        guard let next = faults.first else { return }
        switch (next, beforeCommit) {
        case (.unreachable, true):
            faults.removeFirst()
            throw .unreachable(HTTPClientError.cannotConnect)
        case (.serverError, true):
            faults.removeFirst()
            throw .serverError(status: 503, problemCode: nil)
        case (.answerLost, false):
            faults.removeFirst()
            throw .unreachable(HTTPClientError.connectionLost)
        default: return
        }
    }

    private var crashed = false

    /// The crash fault, checked by the transport after a committed request.
    func takeCrash() -> Bool {
        guard faults.first == .crash else { return false }
        faults.removeFirst()
        crashed = true
        return true
    }

    /// Whether a crash fault fired since the last call: the test restarts the client.
    func takeCrashed() -> Bool {
        defer { crashed = false }
        return crashed
    }

    private func commit(offer: SessionOffer, effects: [DomainEffect]) {
        offers[offer.id] = offer
        record(.offer(offer))
        for effect in effects {
            switch effect {
            case .postMessage(let draft): store(draft.message(id: MessageID("sys_\(fresh())"), createdAt: tick()))
            case .createSession(let session):
                sessions[session.id] = session
                record(.session(session))
            }
        }
    }

    private func store(_ message: Message) {
        messages.append(message)
        messageCommits[message.id, default: 0] += 1
        record(.message(message))
    }

    private func record(_ change: Change) {
        lastSeq += 1
        log.append((lastSeq, change))
    }

    /// Server time moves on by a millisecond per commit, so commit order is time order.
    private func tick() -> Date {
        now += 0.001
        return now
    }

    private func fresh() -> Int {
        nextID += 1
        return nextID
    }
}

/// Alice's transport to the model.
struct ModelTransport: SyncTransport {
    let model: ServerModel
    let onTokensChanged: @Sendable (APITokens?) async throws -> Void
    /// The model's clock, which is also the client's: the server's time is exactly it.
    var clock: ManualWallClock? = nil

    var serverTimeEstimate: ServerTimeEstimate? {
        clock.map { ServerTimeEstimate(bootID: $0.bootID, offset: 0, sampledAt: $0.elapsed()) }
    }

    func login(email: String, password: String) async throws -> User {
        try await onTokensChanged(APITokens(accessToken: "a", refreshToken: "r"))
        return ServerModel.alice
    }
    func logout() async throws { try await onTokensChanged(nil) }
    func contacts() async throws -> [Contact] { try await model.contacts() }
    func messages(with peer: UserID, limit: Int, before: MessageID?) async throws -> MessagesPage {
        try await model.history(before: before, limit: limit)
    }
    func send(_ message: Message, idempotencyKey: IdempotencyKey) async throws -> Message {
        let stored = try await model.send(message, key: idempotencyKey)
        if await model.takeCrash() { throw ServerModel.Crashed() }
        return stored
    }
    func createOffer(
        to client: UserID, options: OfferOptions, idempotencyKey: IdempotencyKey
    ) async throws
        -> SessionOffer
    { throw PlusGuidanceAPIError.rejected(.therapistOnly, status: 403) }
    func accept(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> (SessionOffer, Session?) {
        let answer = try await model.answer(offer, accept: true, key: idempotencyKey)
        if await model.takeCrash() { throw ServerModel.Crashed() }
        return answer
    }
    func decline(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> SessionOffer {
        let answer = try await model.answer(offer, accept: false, key: idempotencyKey)
        if await model.takeCrash() { throw ServerModel.Crashed() }
        return answer.0
    }
    func stop(_ session: SessionID, idempotencyKey: IdempotencyKey) async throws -> Session {
        throw PlusGuidanceAPIError.rejected(.therapistOnly, status: 403)
    }
    func markRead(_ mark: ReadMark, idempotencyKey: IdempotencyKey) async throws -> ReadPosition {
        let position = try await model.markRead(mark, key: idempotencyKey)
        if await model.takeCrash() { throw ServerModel.Crashed() }
        return position
    }
    func session(_ id: SessionID) async throws -> Session {
        guard let session = await model.sessions[id] else {
            throw PlusGuidanceAPIError.rejected(.notFound, status: 404)
        }
        return session
    }
    func changes(after cursor: FeedCursor?, limit: Int, countRemaining: Bool) async throws -> ChangePage {
        try await model.changes(after: cursor, limit: limit, countRemaining: countRemaining)
    }
    func events(after lastEventID: FeedCursor?) async throws -> AsyncThrowingStream<LiveEvent, any Error> {
        throw PlusGuidanceAPIError.unreachable(HTTPClientError.cannotConnect)
    }
}

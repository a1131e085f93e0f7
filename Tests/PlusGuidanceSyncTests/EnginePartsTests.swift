import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import PlusGuidanceTesting
import Testing

@_spi(PlusGuidanceTools) @testable import PlusGuidanceSync

/// The engine's parts alone: in-memory stores, the in-memory server model, a manual clock, no
/// sockets.
@Suite struct EnginePartsTests {
    let model = ServerModel()
    let outbox: any OutboxStore = InMemoryOutboxStore()
    let cache: any CacheStore = InMemoryCacheStore()
    let clock = ManualWallClock(Fixtures.epoch)

    func sender(serverNow: Date? = nil, batchSize: Int = 100) -> OutboxSender {
        let clock = clock
        return OutboxSender(
            outbox: outbox, cache: cache, transport: ModelTransport(model: model, onTokensChanged: { _ in }),
            retry: RetryPolicy(), clock: clock, batchSize: batchSize, serverNow: { serverNow ?? clock.now() })
    }

    func text(_ n: Int) -> OutboxEntry {
        OutboxEntry(
            id: IdempotencyKey("k_\(n)"), action: .sendMessage(Fixtures.message("msg_\(n)", at: Double(n))),
            enqueuedAt: Fixtures.epoch)
    }

    static func eventually(_ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while try await !condition() {
            try #require(ContinuousClock.now < deadline, "condition not met in time")
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func theSenderDeliversInOrderAndKeepsTheServersAnswerInTheCache() async throws {
        for n in 1...3 { _ = try await outbox.enqueue(text(n)) }
        try await sender().deliver()
        #expect(await model.messages.map(\.id.rawValue) == ["msg_1", "msg_2", "msg_3"])
        #expect(try await outbox.entries().isEmpty)
        #expect(try await cache.message("msg_2")?.deliveryState == .sent)
    }

    @Test func anAcceptPastItsDeadlineFailsWithoutBeingSent() async throws {
        let offer = try await model.therapistOffers()
        let entry = OutboxEntry(
            id: "k_late", action: .acceptOffer(offer), enqueuedAt: Fixtures.epoch, deadline: Fixtures.epoch + 60)
        _ = try await outbox.enqueue(entry)
        try await sender(serverNow: Fixtures.epoch + 61).deliver()
        let failed = try #require(try await outbox.entry("k_late"))
        #expect(failed.state == .failed)
        #expect(failed.lastError?.code == "offer_expired")
        #expect(failed.attempts == 0)
        #expect(await model.commits["k_late"] == nil)
    }

    @Test func beforeItsDeadlineAnAcceptIsSent() async throws {
        let offer = try await model.therapistOffers()
        _ = try await outbox.enqueue(
            OutboxEntry(
                id: "k_on_time", action: .acceptOffer(offer), enqueuedAt: Fixtures.epoch, deadline: .distantFuture))
        try await sender().deliver()
        #expect(try await outbox.entries().isEmpty)
        #expect(await model.commits["k_on_time"] == 1)
    }

    @Test func theSendingTaskIsWokenByAnEntryQueuedLater() async throws {
        let running = Task { [sender = sender()] in await sender.run() }
        defer { running.cancel() }
        _ = try await outbox.enqueue(text(1))
        try await Self.eventually { await model.messages.count == 1 }
        _ = try await outbox.enqueue(text(2))
        try await Self.eventually { await model.messages.count == 2 }
    }

    @Test func aBackoffEndsOnTheInjectedClockAndTheEntryGoesOut() async throws {
        await model.inject(.unreachable)
        let running = Task { [sender = sender()] in await sender.run() }
        defer { running.cancel() }
        _ = try await outbox.enqueue(text(1))
        // The first attempt fails; the retry sleeps on the manual clock, which nothing moves.
        try await Self.eventually { try await outbox.entry("k_1")?.attempts == 1 && clock.sleeperCount > 0 }
        #expect(await model.messages.isEmpty)
        clock.advance(by: 3_600)
        try await Self.eventually { await model.messages.count == 1 }
    }

    @Test func aRoundThatFindsTheServerDownDefersTheRestWithTheReason() async throws {
        let offer = try await model.therapistOffers()
        _ = try await outbox.enqueue(text(1))
        _ = try await outbox.enqueue(
            OutboxEntry(id: "k_accept", action: .acceptOffer(offer), enqueuedAt: Fixtures.epoch))
        await model.inject(.unreachable)
        // One at a time: the text's attempt finds the server down, the accept is not attempted.
        await #expect(throws: PlusGuidanceAPIError.self) { try await sender(batchSize: 1).deliver() }
        let deferred = try #require(try await outbox.entry("k_accept"))
        #expect(deferred.attempts == 0)
        #expect(deferred.lastError?.code == "cannot_connect")
        #expect(deferred.state == .pending)
    }

    @Test func aBatchThatFindsTheServerDownLeavesEveryEntryQueuedWithTheReason() async throws {
        let offer = try await model.therapistOffers()
        _ = try await outbox.enqueue(text(1))
        _ = try await outbox.enqueue(
            OutboxEntry(id: "k_accept", action: .acceptOffer(offer), enqueuedAt: Fixtures.epoch))
        _ = try await outbox.enqueue(text(2))
        await model.inject(.unreachable)
        await #expect(throws: PlusGuidanceAPIError.self) { try await sender().deliver() }
        // All three went in one request: each was attempted, none is known delivered.
        for entry in try await outbox.entries() {
            #expect(entry.attempts == 1)
            #expect(entry.lastError?.code == "cannot_connect")
            #expect(entry.state == .pending)
        }
        #expect(await model.messages.filter { $0.kind == .text }.isEmpty)
        // Replayed with the same keys, in order, once.
        try await sender().deliver(ignoringBackoff: true)
        #expect(try await outbox.entries().isEmpty)
        #expect(await model.messages.filter { $0.kind == .text }.map(\.id) == ["msg_1", "msg_2"])
        #expect(await model.commits["k_accept"] == 1)
    }

    @Test func aRefusedMessageStopsItsConversationInsideABatchAndTheRestGoesOn() async throws {
        let offer = try await model.therapistOffers()
        // Written as the therapist on Alice's device: the server refuses it (not_a_participant).
        _ = try await outbox.enqueue(
            OutboxEntry(
                id: "k_1", action: .sendMessage(Fixtures.message("msg_1", at: 1, fromTherapist: true)),
                enqueuedAt: Fixtures.epoch))
        _ = try await outbox.enqueue(
            OutboxEntry(id: "k_accept", action: .acceptOffer(offer), enqueuedAt: Fixtures.epoch))
        _ = try await outbox.enqueue(text(2))
        try await sender().deliver()
        let entries = try await outbox.entries()
        // The first text refused; the second waits behind it, unattempted; the accept went.
        #expect(entries.map(\.id) == ["k_1", "k_2"])
        #expect(entries.map(\.state) == [.failed, .pending])
        #expect(entries.last?.attempts == 0)
        #expect(await model.commits["k_accept"] == 1)
        #expect(await model.commits["k_2"] == nil)
        #expect(entries.first?.lastError?.code == "not_a_participant")
    }

    @Test func theEnginesPublishedPhaseReadsBackAsItWasAndUnknownRecordsAreIgnored() throws {
        let phases: [SyncStatus.Phase] = [
            .signedOut, .offline(reason: "cannot_connect"), .connecting, .error(reason: "server_error"),
            .syncing(SyncProgress(changesApplied: 0, total: nil)), .live, .idle,
        ]
        for phase in phases {
            let record = EngineState.decode(EngineState(phase, pid: 42).encoded())
            #expect(record?.syncPhase == phase)
            #expect(record?.pid == 42)
        }
        // A sync's progress is not published: every page would rewrite the file.
        #expect(
            EngineState(.syncing(SyncProgress(changesApplied: 3, total: 10)))
                == EngineState(.syncing(SyncProgress(changesApplied: 400, total: 10))))
        #expect(EngineState(.offline(reason: "a")) != EngineState(.offline(reason: "b")))
        #expect(EngineState(.live).isAlive)
        #expect(!EngineState(.live, pid: Int32.max).isAlive)
        // What another process cannot know it does not claim.
        #expect(EngineState(.runByAnotherProcess).syncPhase == nil)
        #expect(EngineState.decode(Data(#"{"phase":"teleporting","pid":1}"#.utf8))?.syncPhase == nil)
        #expect(EngineState.decode(Data("{not json".utf8)) == nil)
        #expect(EngineState.decode(nil) == nil)
    }

    @Test func thePullerRefusesAFeedThatDoesNotMoveOn() async throws {
        let puller = FeedPuller(
            cache: cache, transport: StuckFeed(),
            serverTime: ServerTime(transport: StuckFeed(), cache: cache, elapsedClock: clock, wallClock: clock))
        await #expect(throws: PlusGuidanceAPIError.invalidResponseCode) { try await puller.pull() }
        #expect(try await cache.syncState().cursor == nil)
    }

    /// A feed whose cursor changes on every page and never ends (issue "The kiosk never fails
    /// silently"): empty pages, or pages of one change each past the server's own count.
    @Test(arguments: [false, true])
    func thePullerEndsAFeedThatNeverEnds(withChanges: Bool) async throws {
        let feed = EndlessFeed(withChanges: withChanges)
        let puller = FeedPuller(
            cache: cache, transport: feed,
            serverTime: ServerTime(transport: feed, cache: cache, elapsedClock: clock, wallClock: clock))
        await #expect(throws: PlusGuidanceAPIError.invalidResponseCode) { try await puller.pull() }
        let pages = await feed.pages.value
        // The first page counts six changes (its own and five more).
        #expect(pages == (withChanges ? 2 * 6 + FeedBound.beyondCount + 1 : FeedBound.emptyPagesInARow))
    }

    @Test func theLiveSessionNoticesASilentStreamOnTheInjectedClockAndReconnects() async throws {
        let connects = Counter()
        let losses = Counter()
        let catchUps = Counter()
        var session = LiveSession(
            transport: StuckFeed(), clock: clock, heartbeatTimeout: 45, cursor: nil,
            hooks: LiveSession.Hooks(
                connecting: { await connects.increment() }, disconnected: { await losses.increment() },
                catchUp: {
                    await catchUps.increment()
                    return true
                }, event: { _ in }))
        session.random = { 0 }
        let running = Task { [session] in await session.run() }
        defer { running.cancel() }
        // Open (the catch-up ran), so the heartbeat deadline is armed from the connection time.
        try await Self.eventually {
            let opened = await catchUps.value
            return await connects.value == 1 && opened == 1
        }
        #expect(await losses.value == 0)
        clock.advance(by: 46)
        try await Self.eventually { await connects.value == 2 }
        #expect(await losses.value == 1)
    }
}

extension EnginePartsTests {
    /// A catch-up that failed while its stream stayed open was never tried again, so what
    /// happened before a stream opened without a cursor stayed missing until the next
    /// reconnection. Now it is tried again, on the injected clock.
    @Test func aFailedCatchUpIsTriedAgainWhileTheStreamStaysOpen() async throws {
        let connects = Counter()
        let catchUps = Counter()
        var session = LiveSession(
            transport: StuckFeed(), clock: clock, heartbeatTimeout: 45, cursor: nil,
            hooks: LiveSession.Hooks(
                connecting: { await connects.increment() }, disconnected: {},
                catchUp: {
                    await catchUps.increment()
                    return await catchUps.value > 1
                }, event: { _ in }))
        session.random = { 0.5 }
        let running = Task { [session] in await session.run() }
        defer { running.cancel() }
        try await Self.eventually { await catchUps.value == 1 }
        // The retry waits half of the first backoff (1 s) after the failure is reported, on the
        // injected clock. The clock moves in small steps, since the report may be handled after
        // any one of them; the stream's heartbeat timeout (45 s) stays far off, so a second
        // catch-up can only be the retry, not a reconnection's.
        try await Self.eventually {
            clock.advance(by: 0.3)
            return await catchUps.value == 2
        }
        #expect(await connects.value == 1)
    }
}

actor Counter {
    private(set) var value = 0
    func increment() { value += 1 }
}

/// A server whose feed answers "more" without moving on, and whose event stream opens and then
/// says nothing at all.
struct StuckFeed: SyncTransport {
    struct Unused: Error {}
    var serverTimeEstimate: ServerTimeEstimate? { nil }
    func login(email: String, password: String) async throws -> User { throw Unused() }
    func logout() async throws {}
    func contacts() async throws -> [Contact] { [] }
    func messages(with peer: UserID, limit: Int, before: MessageID?) async throws -> MessagesPage { throw Unused() }
    func send(_ message: Message, idempotencyKey: IdempotencyKey) async throws -> Message { throw Unused() }
    func createOffer(
        to client: UserID, options: OfferOptions, idempotencyKey: IdempotencyKey
    ) async throws
        -> SessionOffer
    { throw Unused() }
    func accept(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> (SessionOffer, Session?) {
        throw Unused()
    }
    func decline(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> SessionOffer { throw Unused() }
    func stop(_ session: SessionID, idempotencyKey: IdempotencyKey) async throws -> Session { throw Unused() }
    func markRead(_ mark: ReadMark, idempotencyKey: IdempotencyKey) async throws -> ReadPosition { throw Unused() }
    func session(_ id: SessionID) async throws -> Session { throw Unused() }
    func changes(after cursor: FeedCursor?, limit: Int, countRemaining: Bool) async throws -> ChangePage {
        ChangePage(changes: [], cursor: cursor ?? FeedCursor("c_1"), hasMore: true)
    }
    func events(after lastEventID: FeedCursor?) async throws -> AsyncThrowingStream<LiveEvent, any Error> {
        AsyncThrowingStream { _ in }
    }
}

/// A feed that always has more: each page a new cursor, with nothing (or one user) in it, and
/// five changes left by its first page's count.
struct EndlessFeed: SyncTransport {
    var withChanges: Bool
    let pages = Counter()
    var serverTimeEstimate: ServerTimeEstimate? { nil }
    func login(email: String, password: String) async throws -> User { throw StuckFeed.Unused() }
    func logout() async throws {}
    func contacts() async throws -> [Contact] { [] }
    func messages(with peer: UserID, limit: Int, before: MessageID?) async throws -> MessagesPage {
        throw StuckFeed.Unused()
    }
    func send(_ message: Message, idempotencyKey: IdempotencyKey) async throws -> Message { throw StuckFeed.Unused() }
    func createOffer(
        to client: UserID, options: OfferOptions, idempotencyKey: IdempotencyKey
    ) async throws
        -> SessionOffer
    { throw StuckFeed.Unused() }
    func accept(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> (SessionOffer, Session?) {
        throw StuckFeed.Unused()
    }
    func decline(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> SessionOffer {
        throw StuckFeed.Unused()
    }
    func stop(_ session: SessionID, idempotencyKey: IdempotencyKey) async throws -> Session {
        throw StuckFeed.Unused()
    }
    func markRead(_ mark: ReadMark, idempotencyKey: IdempotencyKey) async throws -> ReadPosition {
        throw StuckFeed.Unused()
    }
    func session(_ id: SessionID) async throws -> Session { throw StuckFeed.Unused() }
    func changes(after cursor: FeedCursor?, limit: Int, countRemaining: Bool) async throws -> ChangePage {
        await pages.increment()
        let n = await pages.value
        return ChangePage(
            changes: withChanges ? [.user(Fixtures.alice)] : [], cursor: FeedCursor("c_\(n)"), hasMore: true,
            remaining: countRemaining ? 5 : nil)
    }
    func events(after lastEventID: FeedCursor?) async throws -> AsyncThrowingStream<LiveEvent, any Error> {
        AsyncThrowingStream { _ in }
    }
}

@Suite struct OneAtATimeTests {
    actor Overlap {
        var running = 0
        var most = 0
        var order: [Int] = []
        func enter(_ n: Int) {
            running += 1
            most = max(most, running)
            order.append(n)
        }
        func leave() { running -= 1 }
    }

    /// Many callers at once (the livelock `pg demo` hit had a waiter spinning on the actor):
    /// every one finishes with its own result, and no two operations overlap.
    @Test func operationsRunOneAfterAnotherAndEveryCallerGetsItsResult() async throws {
        let turns = OneAtATime()
        let overlap = Overlap()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<50 {
                group.addTask {
                    try await turns.run {
                        await overlap.enter(n)
                        try await Task.sleep(for: .milliseconds(1))
                        await overlap.leave()
                        return n * 2
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.sorted() == (0..<50).map { $0 * 2 })
        #expect(await overlap.most == 1)
        #expect(await overlap.order.count == 50)
    }
}

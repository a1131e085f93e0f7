import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

/// Brings the cache up to date with the server's change feed.
///
/// What it guarantees:
/// - **Atomic pages.** Pages are applied with their cursor, two per commit; a page the client
///   cannot decode fails the pull and the cursor stays where it was.
/// - **Resync.** A cursor the server no longer knows (`cursor_too_old`) triggers a full fetch
///   that replaces the cache in one transaction: the cache never shows a half-resynchronised
///   state, and the outbox, in its own store, is untouched.
/// - **One pull at a time.** Two overlapping pulls would each store the cursor they reached and
///   could move it back; a pull asked for while one runs waits for it, then runs.
/// - **A feed that does not move on is an error**: a page that answers `hasMore` with the cursor
///   it was asked for, ``FeedBound/emptyPagesInARow`` pages in a row that bring nothing but a new
///   cursor and "more", or a feed that runs far past the count the server gave on its first page,
///   fail the pull (`invalid_response`) instead of looping for ever (``FeedBound``).
/// - **Progress** after each commit, with the total when the server counted it (the first page
///   asks for the count).
actor FeedPuller {
    /// Feed page size. Each request costs the server a few milliseconds beyond its rows (a
    /// page of 500 took about 3.3 ms to its first byte, one of 1,000 about 4.2 ms), so a first
    /// sync goes faster in fewer, larger pages; each page held for a commit costs resident
    /// memory, though. A first sync of 100k messages peaked at 45.9 MiB with pages of 500 (four
    /// a commit), 46.9 MiB with 750 (two) and 47.9 MiB with 1,000 (two), against a budget of 48:
    /// 750 keeps a margin (Benchmarks/sync-benchmark.sh).
    static let pageSize = 750
    /// Pages per cache commit: 1,500 changes amortise a commit about as well as 5,000 did once a
    /// first sync stopped maintaining the conversation index row by row; one page a commit was
    /// slower (2.44 s against 2.10 s with two, pages of 1,000).
    static let pagesPerCommit = 2

    private let cache: any CacheStore
    private let transport: any SyncTransport
    private let serverTime: ServerTime
    private let turns = OneAtATime()

    init(cache: any CacheStore, transport: any SyncTransport, serverTime: ServerTime) {
        self.cache = cache
        self.transport = transport
        self.serverTime = serverTime
    }

    /// Pulls the feed to its end, then refreshes presence (not part of the feed, R2) and records
    /// the sync.
    func pull(progress: (@Sendable (SyncProgress) async -> Void)? = nil) async throws {
        try await turns.run { try await self.pullOnce(progress: progress) }
    }

    private func pullOnce(progress: (@Sendable (SyncProgress) async -> Void)?) async throws {
        // Rows a reader could not open are dropped, and the feed starts over to bring them back.
        _ = try await cache.dropUnreadableRows()
        var cursor = try await cache.syncState().cursor
        var batch: [ChangePage] = []
        var done = SyncProgress(changesApplied: 0, total: nil)
        var first = true
        var bound = FeedBound()
        do {
            while true {
                let page = try await transport.changes(after: cursor, limit: Self.pageSize, countRemaining: first)
                first = false
                try Self.checkAdvances(page, from: cursor)
                batch.append(page)
                cursor = page.cursor
                done.record(page)
                try bound.check(page, done)
                if batch.count == Self.pagesPerCommit || !page.hasMore {
                    try await cache.apply(batch)
                    batch = []
                    await progress?(done)
                }
                if !page.hasMore { break }
            }
        } catch let error as PlusGuidanceAPIError where error == .cursorTooOld {
            try await resync(progress: progress)
        }
        try await cache.updatePresence(try await transport.contacts().map(\.presence))
        await serverTime.share()
        try await cache.recordSync(at: await serverTime.now())
    }

    /// Fetches the whole feed, then replaces the cache with it in one transaction.
    private func resync(progress: (@Sendable (SyncProgress) async -> Void)?) async throws {
        var changes: [Change] = []
        var cursor: FeedCursor?
        var done = SyncProgress(changesApplied: 0, total: nil)
        var bound = FeedBound()
        while true {
            let page = try await transport.changes(after: cursor, limit: Self.pageSize, countRemaining: cursor == nil)
            try Self.checkAdvances(page, from: cursor)
            changes += page.changes
            cursor = page.cursor
            done.record(page)
            try bound.check(page, done)
            await progress?(done)
            if !page.hasMore { break }
        }
        if let cursor { try await cache.replaceAll(with: ChangePage(changes: changes, cursor: cursor)) }
    }

    /// A page that says there is more without moving the cursor would make the pull ask for
    /// the same page for ever.
    private static func checkAdvances(_ page: ChangePage, from cursor: FeedCursor?) throws {
        guard page.hasMore, page.cursor == cursor else { return }
        throw PlusGuidanceAPIError.invalidResponse("the change feed did not advance past cursor \(page.cursor)")
    }
}

/// What keeps one pull's loop finite whatever the server's cursors do: each page must move the
/// cursor (``FeedPuller``), pages that bring nothing may not go on saying "more" for long, and the
/// feed may not run far past the count the server gave on its first page.
struct FeedBound {
    /// Empty pages with `hasMore` in a row that fail the pull. A server filters nothing out of a
    /// page (each account's feed is its own), so one is already odd; eight leave room for a server
    /// that pages through a compaction.
    static let emptyPagesInARow = 8
    /// Changes beyond the first page's count that fail the pull: those committed on the server
    /// while it runs (a busy conversation during a first sync) stay far below it.
    static let beyondCount = 10_000

    private var emptyInARow = 0
    private var counted: Int?

    mutating func check(_ page: ChangePage, _ done: SyncProgress) throws(PlusGuidanceAPIError) {
        guard page.hasMore else { return }
        if counted == nil { counted = done.total }
        emptyInARow = page.changes.isEmpty ? emptyInARow + 1 : 0
        if emptyInARow >= Self.emptyPagesInARow {
            throw .invalidResponse(
                "the change feed answered \(emptyInARow) empty pages in a row, each with more to come")
        }
        if let counted, done.changesApplied > 2 * counted + Self.beyondCount {
            throw .invalidResponse(
                "the change feed ran past \(done.changesApplied) changes after counting \(counted)")
        }
    }
}

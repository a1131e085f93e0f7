import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

/// The only code that sends outbox entries: one per account, like matrix-rust-sdk's send queue
/// has one per room.
///
/// What it guarantees (R8):
/// - **Exactly once.** Every attempt carries the entry's idempotency key; an attempt whose
///   outcome is unknown (a crash, a lost answer, a cancelled task) goes back to the queue with
///   the same key, and the server answers a replay from its stored answer.
/// - **In order per conversation.** A message is attempted only when nothing before it in its
///   conversation waits (``OutboxSchedule``); a refused message stops its conversation until the
///   user retries or discards it.
/// - **One delivery at a time.** Through actor reentrancy a live wake, a sync and a new action
///   could otherwise read the same pending entry and send it twice.
/// - **Deadlines.** An entry past its ``OutboxEntry/deadline`` on the server's clock (R12: as
///   estimated on the boot clock) fails with `offer_expired` and is not sent; before it, or
///   while the server's time is unknown, nothing is guessed and the server decides.
/// - **The server's answer in the cache before the entry leaves the outbox**, so whoever sees
///   the entry gone (this process or `pg` waiting beside `pg-syncd`) reads its effect.
///
/// ``run()`` is the sending task of a process that keeps the account live: it sleeps until it is
/// woken — an entry queued by this process or another (the outbox's ``OutboxStore/changes()``),
/// or the end of the earliest backoff on the injected clock — and never polls. When the live
/// stream reconnects, its catch-up calls ``deliver(ignoringBackoff:)`` itself.
actor OutboxSender {
    let outbox: any OutboxStore
    private let cache: any CacheStore
    private let transport: any SyncTransport
    let retry: RetryPolicy
    private let clock: any WallClock
    /// The server's time, `nil` while unknown (no deadline is judged on a guess).
    private let serverNow: @Sendable () async -> Date?
    /// Set when this process takes the engine lock: entries a crash left in flight go back to
    /// pending (replayed with their key) before the first delivery, and only then: later an
    /// in-flight entry is a real attempt of this process.
    private var needsInFlightRecovery = false
    private let turns = OneAtATime()
    /// At most this many entries per batch; 1 once the server turned out not to have batches.
    private var batchSize: Int
    /// A delivery since ``run(answered:)`` last looked went through without being offline.
    private var serverAnswered = false
    /// What the disk refused during this process's deliveries, by entry, for waiters in this
    /// process: a full disk may refuse to record it in the outbox as well.
    var storageFailures: [IdempotencyKey: OutboxFailure] = [:]
    var failureWaiters: [UUID: (key: IdempotencyKey, continuation: CheckedContinuation<OutboxFailure?, Never>)] =
        [:]

    init(
        outbox: any OutboxStore, cache: any CacheStore, transport: any SyncTransport, retry: RetryPolicy,
        clock: any WallClock, batchSize: Int = PlusGuidanceAPI.maximumBatchActions,
        serverNow: @escaping @Sendable () async -> Date?
    ) {
        self.batchSize = min(max(batchSize, 1), PlusGuidanceAPI.maximumBatchActions)
        self.outbox = outbox
        self.cache = cache
        self.transport = transport
        self.retry = retry
        self.clock = clock
        self.serverNow = serverNow
    }

    /// This process now runs the engine: recover what a crash left in flight first.
    func engineAcquired() { needsInFlightRecovery = true }

    /// Attempts every due entry now and returns when they are done; stops at the first sign of
    /// being offline and throws it. With `ignoringBackoff` (the user asked to sync now), entries
    /// waiting for a retry time go too. Returns the earliest end of a backoff among the entries
    /// still waiting, the sending task's next deadline.
    @discardableResult
    func deliver(ignoringBackoff: Bool = false) async throws -> Date? {
        try await turns.run { try await self.deliverRounds(ignoringBackoff: ignoringBackoff) }
    }

    /// The sending task: delivers, then sleeps until woken, until cancelled. `answered` runs
    /// after a delivery the server answered (the live stream, if waiting out a backoff,
    /// reconnects then).
    func run(answered: @escaping @Sendable () -> Void = {}) async {
        let (wakes, waker) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let watcher = Task { [outbox] in
            do { for try await _ in outbox.changes() { waker.yield() } } catch {}
        }
        defer { watcher.cancel() }
        var iterator = wakes.makeAsyncIterator()
        while !Task.isCancelled {
            let next: Date?
            do {
                next = try await deliver()
                if serverAnswered {
                    serverAnswered = false
                    answered()
                }
            } catch {
                // Offline: the failed entry's backoff (and the deferred ones') is the next deadline.
                // A disk that refused even to record the failure is tried again in a second.
                next =
                    ((try? await outbox.earliestRetry()) ?? nil)
                    ?? (PersistenceError.storageFailure(error) != nil ? clock.now() + 1 : nil)
            }
            let timer = next.map { deadline in
                Task { [clock] in
                    try await clock.sleep(until: deadline)
                    waker.yield()
                }
            }
            _ = await iterator.next()
            timer?.cancel()
        }
    }

    private func deliverRounds(ignoringBackoff: Bool) async throws -> Date? {
        if needsInFlightRecovery {
            needsInFlightRecovery = false
            _ = try await outbox.recoverInFlight()
        }
        // Rounds: read the outbox once, attempt what is deliverable in order, then read it again
        // for what was queued meanwhile. Each entry is attempted at most once per call. A round
        // reads each conversation only up to its first waiting entry: woken for every action
        // queued while offline, it does not decode the whole queue each time.
        var attempted: Set<IdempotencyKey> = []
        while true {
            let now = clock.now()
            let serverTime = await serverNow()
            let scheduledAt = ignoringBackoff ? Date.distantFuture : now
            var entries = try await outbox.deliveryCandidates(at: scheduledAt)
            for index in entries.indices {
                guard let serverTime, entries[index].failIfPastDeadline(serverNow: serverTime) else { continue }
                try await outbox.update(entries[index], durably: true)
            }
            let round = OutboxSchedule.deliverable(entries, at: scheduledAt).filter { !attempted.contains($0.id) }
            attempted.formUnion(round.map(\.id))
            guard !round.isEmpty else {
                serverAnswered = serverAnswered || !attempted.isEmpty
                return try await outbox.earliestRetry()
            }
            var stopped: Set<ConversationID> = []
            var next = round.startIndex
            // A batch's answer is recorded (cache, then outbox) while the next batch's request
            // is under way: its bookkeeping, awaited before the next one's starts and at the
            // end of the round.
            var settling: Settling?
            while next < round.endIndex || settling != nil {
                let batch =
                    next < round.endIndex
                    ? Self.nextBatch(of: round, from: &next, skipping: stopped, limit: batchSize) : []
                do {
                    if batch.count > 1 {
                        let sent = try await attempt(batch: batch, startedAt: now, after: &settling)
                        stopped.formUnion(sent.stopped)
                        settling = sent.settling
                    } else {
                        try await Self.settle(&settling)
                        if !batch.isEmpty { stopped.formUnion(try await attemptOneByOne(batch, startedAt: now)) }
                    }
                } catch {
                    try await failed(error, batch: batch, settling: &settling, round: round, next: next, at: now)
                }
            }
        }
    }

    /// The bookkeeping of a batch whose answer came: its outcomes into the cache and the outbox.
    private struct Settling {
        var batch: [OutboxEntry]
        var task: Task<Void, any Error>
    }

    /// The bookkeeping of `batch` failed (the disk refused it) after the next request went out.
    private struct SettlingFailed: Error {
        var batch: [OutboxEntry]
        var underlying: any Error
    }

    /// Waits for the bookkeeping under way, if any.
    /// - Throws: ``SettlingFailed`` with its batch.
    private static func settle(_ settling: inout Settling?) async throws {
        guard let previous = settling else { return }
        settling = nil
        do {
            try await previous.task.value
        } catch {
            throw SettlingFailed(batch: previous.batch, underlying: error)
        }
    }

    /// A round stops at `error`, met while attempting `batch` (empty when it was met settling
    /// the last batch): the bookkeeping under way ends first, entries whose attempt the disk
    /// refused to record wait a backoff with that reason, and the rest of the round waits
    /// behind the failure. Rethrows the error.
    private func failed(
        _ error: any Error, batch: [OutboxEntry], settling: inout Settling?, round: [OutboxEntry], next: Int,
        at now: Date
    ) async throws -> Never {
        // Batches the disk refused to record, oldest first, and why.
        var refused: [(batch: [OutboxEntry], error: any Error)] = []
        var thrown = error
        if let failure = error as? SettlingFailed {
            // The batch before this one could not be recorded; this one's request went out and
            // its entries are in flight: both are replayed with their keys.
            refused.append((failure.batch + batch, failure.underlying))
            thrown = failure.underlying
        } else {
            do {
                try await Self.settle(&settling)
            } catch let failure as SettlingFailed {
                refused.append((failure.batch, failure.underlying))
            } catch {}
            // The disk refused a write of this batch's attempt (before the request went out or
            // after its answer came).
            if PersistenceError.storageFailure(error) != nil { refused.append((batch, error)) }
        }
        for (entries, storageError) in refused where PersistenceError.storageFailure(storageError) != nil {
            // They wait a backoff with that reason, as when offline; the replay with the same
            // keys settles them.
            guard let first = entries.first else { continue }
            noteStorageFailure(round[(round.firstIndex { $0.id == first.id } ?? next)...].map(\.id), storageError)
            try? await storageFailed(entries, storageError, startedAt: now)
        }
        // The server is out of reach (or the disk full): the rest of the round waits with the
        // same reason, so whoever waits for one of them learns it now rather than at a timeout.
        if let first = batch.first ?? refused.first?.batch.first {
            try? await deferRest(round[next...], behind: first.id)
        }
        throw thrown
    }

    /// At most this much message text in one batch (JSON escapes can make a character six
    /// bytes): under the server's batch body bound.
    static let batchTextBudget = 512 * 1_024

    /// The next entries of `round` from `next` that go out together, skipping conversations that
    /// stopped; moves `next` past them. One entry goes as its own request, several as a batch.
    static func nextBatch(
        of round: [OutboxEntry], from next: inout Int, skipping stopped: Set<ConversationID>, limit: Int
    ) -> [OutboxEntry] {
        var batch: [OutboxEntry] = []
        var text = 0
        while next < round.endIndex, batch.count < limit {
            let entry = round[next]
            if let conversation = entry.action.orderingConversation, stopped.contains(conversation) {
                next += 1
                continue
            }
            let size = entry.outgoingMessage?.body.utf8.count ?? 0
            if !batch.isEmpty, text + size > batchTextBudget { break }
            text += size
            batch.append(entry)
            next += 1
        }
        return batch
    }

    private func deferRest(_ rest: ArraySlice<OutboxEntry>, behind failed: IdempotencyKey) async throws {
        guard let failure = try await outbox.entry(failed), let reason = failure.lastError else { return }
        for var entry in rest where entry.state == .pending {
            entry.deferBehindOutage(reason, retryAt: failure.notBefore)
            try await outbox.update(entry, durably: false)
        }
    }

    /// Each entry as its own request, in order, skipping the later messages of a conversation
    /// whose message was refused; returns the conversations a refusal stopped. Throws a
    /// transient failure at the first one.
    private func attemptOneByOne(_ entries: [OutboxEntry], startedAt now: Date) async throws -> Set<ConversationID> {
        var stopped: Set<ConversationID> = []
        for entry in entries {
            if let conversation = entry.action.orderingConversation, stopped.contains(conversation) { continue }
            if try await !attempt(entry, startedAt: now), let conversation = entry.action.orderingConversation {
                stopped.insert(conversation)
            }
        }
        return stopped
    }

    /// One attempt; returns whether the entry was delivered. Throws a transient failure.
    private func attempt(_ queued: OutboxEntry, startedAt now: Date) async throws -> Bool {
        var entry = queued
        entry.beginAttempt()
        try await outbox.update(entry, durably: false)
        storageFailures[entry.id] = nil
        // From here on the request may have gone out: its outcome is recorded even when this
        // task is cancelled (the stream closed, the caller gave up), or the entry would stay in
        // flight, never attempted again by this process.
        let outbox = outbox
        let cache = cache
        do {
            let changes = try await transport.perform(entry.action, key: entry.id)
            let key = entry.id
            try await Self.uncancelled {
                try await cache.merge(changes)
                try await outbox.remove(key, durably: false)
            }
            return true
        } catch let error as PlusGuidanceAPIError where error.isPermanentRefusal {
            entry.failPermanently(Self.failure(refusal: error))
            let failed = entry
            try await Self.uncancelled { try await outbox.update(failed, durably: false) }
            return false
        } catch {
            try? await outcomeUnknown([entry], error, startedAt: now)
            throw error
        }
    }

    /// One batch (``SyncTransport/push(_:)``): attempts and outcomes recorded in one commit each,
    /// the server's answers merged into the cache in one. Returns the conversations a refusal
    /// stopped, and the bookkeeping of its outcomes, under way: it starts once the bookkeeping
    /// of the batch before (`previous`) has ended, which overlaps this batch's request. Throws
    /// a transient failure of the request, which leaves every outcome unknown, and
    /// ``SettlingFailed`` when the previous bookkeeping failed.
    private func attempt(
        batch queued: [OutboxEntry], startedAt now: Date, after previous: inout Settling?
    ) async throws -> (stopped: Set<ConversationID>, settling: Settling?) {
        let entries = queued.map { queued -> OutboxEntry in
            var entry = queued
            entry.beginAttempt()
            return entry
        }
        try await outbox.update(entries, durably: false)
        for entry in entries { storageFailures[entry.id] = nil }
        let outbox = outbox
        let cache = cache
        let outcomes: [PushOutcome]
        do {
            outcomes = try await transport.push(entries.map { ($0.action, $0.id) })
        } catch let error as PlusGuidanceAPIError
            where error.kind == .requestRejected && [404, 405].contains(error.status)
        {
            // A server without the batch endpoint: nothing was applied. Back as they were queued,
            // and single requests from now on.
            batchSize = 1
            try await Self.settle(&previous)
            try await Self.uncancelled { [outbox] in try await outbox.update(queued, durably: false) }
            return (try await attemptOneByOne(queued, startedAt: now), nil)
        } catch {
            try? await outcomeUnknown(entries, error, startedAt: now)
            throw error
        }
        var changes: [Change] = []
        var delivered: [IdempotencyKey] = []
        var settled: [OutboxEntry] = []
        var stopped: Set<ConversationID> = []
        for (index, outcome) in outcomes.enumerated() {
            var entry = entries[index]
            switch outcome {
            case .applied(let answer):
                changes += answer
                delivered.append(entry.id)
            case .refused(let error):
                if error.isPermanentRefusal {
                    entry.failPermanently(Self.failure(refusal: error))
                } else {
                    entry.failTransiently(
                        Self.failure(error), retryAt: now + retry.backoff(entry.attempts).timeInterval)
                }
                settled.append(entry)
                if let conversation = entry.action.orderingConversation { stopped.insert(conversation) }
            case .skipped:
                // Not attempted: back as it was queued.
                settled.append(queued[index])
            }
        }
        try await Self.settle(&previous)
        // Unstructured, so that it runs to its end whatever happens to the calling task (GRDB
        // refuses writes from a cancelled task); every path of the round awaits it.
        let task = Task { [changes, settled, delivered] in
            if !changes.isEmpty { try await cache.merge(changes) }
            if !settled.isEmpty { try await outbox.update(settled, durably: false) }
            if !delivered.isEmpty { try await outbox.remove(delivered, durably: false) }
        }
        return (stopped, Settling(batch: queued, task: task))
    }
}

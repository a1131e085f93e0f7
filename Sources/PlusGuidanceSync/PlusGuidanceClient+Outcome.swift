import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

/// What became of a queued action, as far as this device knows now.
public enum ActionOutcome: Hashable, Sendable {
    /// The server confirmed it; its effect is in the cache.
    case delivered
    /// The server, or a local rule such as an offer's deadline, refused it for good. The entry
    /// stays failed in the outbox until retried or discarded.
    case refused(OutboxFailure)
    /// Still waiting, with a stable reason: the server is unreachable (the code of the last
    /// attempt, such as `cannot_connect`), or `timed_out` when the bound passed first.
    case queued(reason: String)

    /// Why it was refused, when it was.
    public var refusal: OutboxFailure? {
        if case .refused(let failure) = self { failure } else { nil }
    }
}

extension PlusGuidanceClient {
    /// Waits for the outcome of the outbox entry `key`, whichever process delivers it: this one
    /// when it runs the engine, or the one that does (`pg-syncd` beside `pg`). Woken by commits to
    /// the outbox, never by polling in a loop of its own; returns as soon as the outcome is
    /// known, or at once when the entry waits for a server that cannot be reached, or after
    /// `timeout` with `.queued(reason: "timed_out")`. A delivery by this process that the disk
    /// refused to record returns `.queued(reason: "storage_failed")` at once.
    public func outcome(of key: IdempotencyKey, waitingUpTo timeout: Duration) async throws -> ActionOutcome {
        let account = try signedIn()
        let outbox = account.outbox
        let changes = outbox.changes()
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        return try await withThrowingTaskGroup(of: ActionOutcome?.self) { group in
            group.addTask {
                if let known = try await Self.knownOutcome(of: key, in: outbox) { return known }
                for try await _ in changes {
                    if let known = try await Self.knownOutcome(of: key, in: outbox) { return known }
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(until: deadline, clock: clock)
                return .queued(reason: "timed_out")
            }
            // The disk refused this process's attempt, perhaps even the record of it.
            let sender = account.sender
            group.addTask { await sender.storageFailure(of: key).map { .queued(reason: $0.code) } }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            return .queued(reason: "timed_out")
        }
    }

    /// The outcome the outbox shows now, or `nil` while an attempt may still come.
    static func knownOutcome(of key: IdempotencyKey, in outbox: any OutboxStore) async throws -> ActionOutcome? {
        try await knownOutcome(of: outbox.entry(key), in: outbox)
    }

    /// The outcome `entry` (as just read from `outbox`; `nil` once it left it) shows.
    static func knownOutcome(of entry: OutboxEntry?, in outbox: any OutboxStore) async throws -> ActionOutcome? {
        guard let entry else { return .delivered }
        if entry.state == .failed {
            return .refused(entry.lastError ?? OutboxFailure(code: "refused", reason: "refused"))
        }
        if entry.state == .pending, let error = entry.lastError { return .queued(reason: error.code) }
        // Waiting behind an earlier message of its conversation that waits for the server.
        if entry.state == .pending, try await outbox.isQueuedBehindAnother(entry.id),
            let conversation = entry.action.orderingConversation,
            let blocking = try await outbox.entries(in: conversation).first(where: {
                $0.sequence < entry.sequence && $0.lastError != nil
            }), let error = blocking.lastError
        {
            return blocking.state == .failed ? .queued(reason: "behind_failed_message") : .queued(reason: error.code)
        }
        return nil
    }
}

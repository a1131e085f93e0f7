import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidancePersistence

/// What the sender records when an attempt does not end in the server's answer: an unknown
/// outcome (replayed with its key), a disk that refused the bookkeeping, and the failures it
/// shows.
extension OutboxSender {
    /// Offline, a server error, a cancelled task: the outcome is unknown, so the entries go back
    /// to the queue and are replayed with their keys (at once when only this task was cancelled,
    /// after a backoff otherwise).
    func outcomeUnknown(_ attempted: [OutboxEntry], _ error: any Error, startedAt now: Date) async throws {
        let cancelled = Task.isCancelled
        let waiting = attempted.map { attempted -> OutboxEntry in
            var entry = attempted
            if cancelled {
                entry.failTransiently(
                    OutboxFailure(code: "cancelled", reason: "the attempt was cancelled"), retryAt: now)
            } else {
                entry.failTransiently(Self.failure(error), retryAt: now + retry.backoff(entry.attempts).timeInterval)
            }
            return entry
        }
        let outbox = outbox
        try await Self.uncancelled { try await outbox.update(waiting, durably: false) }
    }

    /// Returns the disk failure this process's deliveries met for `key` (at once when one is
    /// known), or `nil` when the calling task is cancelled first.
    func storageFailure(of key: IdempotencyKey) async -> OutboxFailure? {
        if let known = storageFailures[key] { return known }
        let id = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled { return continuation.resume(returning: nil) }
                failureWaiters[id] = (key, continuation)
            }
        } onCancel: {
            Task { await self.stopWaiting(id) }
        }
    }

    private func stopWaiting(_ id: UUID) { failureWaiters.removeValue(forKey: id)?.continuation.resume(returning: nil) }

    func noteStorageFailure(_ keys: [IdempotencyKey], _ error: any Error) {
        let failure = Self.failure(error)
        for key in keys { storageFailures[key] = failure }
        for (id, waiter) in failureWaiters where keys.contains(waiter.key) {
            failureWaiters[id] = nil
            waiter.continuation.resume(returning: failure)
        }
    }

    /// The disk refused a write of these entries' attempt, perhaps the one that marked them in
    /// flight: they wait a backoff with `storage_failed` (recorded when the disk takes it).
    func storageFailed(_ attempted: [OutboxEntry], _ error: any Error, startedAt now: Date) async throws {
        let waiting = attempted.map { attempted -> OutboxEntry in
            var entry = attempted
            if entry.state == .pending { entry.beginAttempt() }
            entry.failTransiently(Self.failure(error), retryAt: now + retry.backoff(entry.attempts).timeInterval)
            return entry
        }
        let outbox = outbox
        try await Self.uncancelled { try await outbox.update(waiting, durably: false) }
    }

    static func failure(refusal error: PlusGuidanceAPIError) -> OutboxFailure {
        OutboxFailure(
            code: error.domainError?.code ?? error.problemCode ?? error.code,
            reason: error.domainError?.shortDescription ?? "\(error)")
    }

    static func failure(_ error: any Error) -> OutboxFailure {
        if let storage = PersistenceError.storageFailure(error) {
            return OutboxFailure(code: storage.code, reason: storage.reason)
        }
        let api = error as? PlusGuidanceAPIError
        return OutboxFailure(
            code: api?.transport?.code ?? api?.code ?? "local_error",
            reason: api.map { "\($0)" } ?? "\(type(of: error))")
    }

    /// Runs `work` to completion whatever happens to the calling task (GRDB refuses writes
    /// from a cancelled task).
    static func uncancelled(_ work: @escaping @Sendable () async throws -> Void) async throws {
        try await Task { try await work() }.value
    }
}

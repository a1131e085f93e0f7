import Foundation

/// Runs operations one after another: an operation asked for while another runs waits for it,
/// then runs (no coalescing: each caller gets its own run and its own result).
///
/// The engine's parts use it where two overlapping runs would conflict: two deliveries could send
/// the same pending entry twice, two pulls could store their cursors out of order. Cancelling a
/// caller cancels its operation, which still starts only after the one before it has finished.
///
/// Each operation waits for its predecessor inside its own task, never on this actor: waiting in
/// a loop here on the predecessor's task, once completed, returns without suspending and would
/// keep the actor busy for ever (a livelock seen in `pg demo`).
actor OneAtATime {
    /// Finishes when the last operation asked for has finished.
    private var tail: Task<Void, Never>?

    func run<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let previous = tail
        let task = Task {
            await previous?.value
            return try await operation()
        }
        tail = Task { _ = await task.result }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }
}

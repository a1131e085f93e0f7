import Foundation

/// Runs operations one after another: an operation asked for while another runs waits for it,
/// then runs (no coalescing: each caller gets its own run and its own result).
///
/// The engine's parts use it where two overlapping runs would conflict: two deliveries could send
/// the same pending entry twice, two pulls could store their cursors out of order. Cancelling a
/// caller cancels its operation, which still finishes before the next one starts.
actor OneAtATime {
    private var running: Task<Void, Never>?

    func run<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        while let running { await running.value }
        let task = Task { try await operation() }
        running = Task { _ = await task.result }
        defer { running = nil }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }
}

import Foundation

/// Runs `operation` and fails with `timeout` if it has not finished within `limit`.
///
/// The operation is cancelled then, and the caller goes on at once: the limit holds even for
/// work that is slow to notice cancellation (a task it waits for, a blocking call). Cancelling
/// the caller cancels the operation and throws `CancellationError`.
public func withTimeLimit<T: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = FirstOutcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            outcome.start(continuation)
            let work = Task {
                do { outcome.finish(.success(try await operation())) } catch { outcome.finish(.failure(error)) }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled else { return }
                work.cancel()
                outcome.finish(.failure(HTTPClientError.timeout.with(host: nil, reason: "no answer within \(limit)")))
            }
            outcome.onFinish {
                work.cancel(); timer.cancel()
            }
        }
    } onCancel: {
        outcome.finish(.failure(CancellationError()))
    }
}

/// The first of several outcomes resumes the continuation; the others are dropped.
private final class FirstOutcome<T: Sendable>: @unchecked Sendable {
    // @unchecked: every member is only touched under `lock`.
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var early: Result<T, any Error>?
    private var cleanUp: (@Sendable () -> Void)?
    private var done = false

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        let ready = lock.withLock { () -> Result<T, any Error>? in
            if let early { return early }
            self.continuation = continuation
            return nil
        }
        if let ready { continuation.resume(with: ready) }
    }

    /// Runs `cleanUp` once an outcome is in (at once if it already is).
    func onFinish(_ cleanUp: @escaping @Sendable () -> Void) {
        let now = lock.withLock { () -> Bool in
            if done { return true }
            self.cleanUp = cleanUp
            return false
        }
        if now { cleanUp() }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, cleanUp) = lock.withLock {
            () -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !done else { return (nil, nil) }
            done = true
            defer {
                self.continuation = nil
                self.cleanUp = nil
            }
            if self.continuation == nil { early = result }
            return (self.continuation, self.cleanUp)
        }
        continuation?.resume(with: result)
        cleanUp?()
    }
}

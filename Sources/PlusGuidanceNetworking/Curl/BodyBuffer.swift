import Foundation
import Synchronization

/// The bytes of a streamed response between the loop thread (producer) and the reader.
///
/// Backpressure: when `capacity` bytes or more wait unread, `push` answers `.pause` without
/// taking the chunk; libcurl then pauses the transfer and hands the same chunk again once resumed
/// (CURL_WRITEFUNC_PAUSE, curl_easy_pause(3)). The reader asks the loop to resume when less than
/// half the capacity remains.
final class BodyBuffer: @unchecked Sendable {
    // @unchecked: `state` is only touched under `lock` (an NSLock, i.e. a pthread mutex, which
    // ThreadSanitizer understands; Synchronization.Mutex's futexes it does not).
    enum PushOutcome { case accepted, pause, abandoned }

    private struct State {
        var chunks: [Data] = []
        var bytes = 0
        var paused = false
        var finished = false
        var failure: (any Error)?
        var abandoned = false
        var waiter: CheckedContinuation<Data?, any Error>?
    }

    private enum Delivery {
        case chunk(Data, resumeTransfer: Bool)
        case end
        case fail(any Error)
        case waiting
    }

    private let lock = NSLock()
    private var _state = State()
    let capacity: Int
    /// Called (outside the lock) when a paused transfer may continue.
    private let resumeTransfer: @Sendable () -> Void
    /// Called when the reader gives up on the stream.
    private let cancelTransfer: @Sendable () -> Void

    private func withState<T>(_ body: (inout State) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&_state)
    }

    init(capacity: Int, resume: @escaping @Sendable () -> Void, cancel: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.resumeTransfer = resume
        self.cancelTransfer = cancel
    }

    /// Loop thread: offers a chunk.
    func push(_ chunk: Data) -> PushOutcome {
        let (outcome, waiter) = withState { state -> (PushOutcome, CheckedContinuation<Data?, any Error>?) in
            if state.abandoned { return (.abandoned, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (.accepted, waiter)
            }
            if state.bytes >= capacity {
                state.paused = true
                return (.pause, nil)
            }
            state.chunks.append(chunk)
            state.bytes += chunk.count
            return (.accepted, nil)
        }
        waiter?.resume(returning: chunk)
        return outcome
    }

    /// Loop thread: the transfer ended, cleanly (`nil`) or not.
    func finish(_ failure: (any Error)?) {
        let waiter = withState { state -> CheckedContinuation<Data?, any Error>? in
            state.finished = true
            state.failure = failure
            defer { state.waiter = nil }
            return state.waiter
        }
        if let failure { waiter?.resume(throwing: failure) } else { waiter?.resume(returning: nil) }
    }

    /// Reader: the next chunk, `nil` at the end of the body.
    func next() async throws -> Data? {
        try await withCheckedThrowingContinuation { continuation in
            let delivery = withState { state -> Delivery in
                if !state.chunks.isEmpty {
                    let chunk = state.chunks.removeFirst()
                    state.bytes -= chunk.count
                    let resume = state.paused && state.bytes < capacity / 2
                    if resume { state.paused = false }
                    return .chunk(chunk, resumeTransfer: resume)
                }
                if state.abandoned { return .fail(HTTPClientError.cancelled) }
                if state.finished { return state.failure.map(Delivery.fail) ?? .end }
                state.waiter = continuation
                return .waiting
            }
            switch delivery {
            case .chunk(let chunk, let resume):
                if resume { resumeTransfer() }
                continuation.resume(returning: chunk)
            case .end: continuation.resume(returning: nil)
            case .fail(let error): continuation.resume(throwing: error)
            case .waiting: break
            }
        }
    }

    /// Reader: gives up. The transfer is cancelled and a waiting read fails with `cancelled`.
    func abandon() {
        let (waiter, wasFinished) = withState { state -> (CheckedContinuation<Data?, any Error>?, Bool) in
            let wasFinished = state.finished
            state.abandoned = true
            state.chunks = []
            state.bytes = 0
            defer { state.waiter = nil }
            return (state.waiter, wasFinished)
        }
        waiter?.resume(throwing: HTTPClientError.cancelled)
        if !wasFinished { cancelTransfer() }
    }
}

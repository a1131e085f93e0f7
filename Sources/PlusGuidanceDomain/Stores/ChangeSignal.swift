import Foundation

/// A many-listener "something happened" signal: every ``stream()`` gets a tick after each
/// ``fire()`` (ticks that arrive while a listener is busy coalesce into one), and ends at
/// ``finish()``.
public final class ChangeSignal: Sendable {
    public init() {}

    private struct State {
        var listeners: [UUID: AsyncStream<Void>.Continuation] = [:]
        var finished = false
    }
    private let lock = NSLock()
    // nonisolated(unsafe): every access holds `lock`.
    private nonisolated(unsafe) var state = State()

    public func stream() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        let finished = lock.withLock {
            if !state.finished { state.listeners[id] = continuation }
            return state.finished
        }
        if finished {
            continuation.finish()
        } else {
            continuation.onTermination = { [weak self] _ in
                self?.lock.withLock { _ = self?.state.listeners.removeValue(forKey: id) }
            }
        }
        return stream
    }

    public func fire() {
        for listener in lock.withLock({ Array(state.listeners.values) }) { listener.yield() }
    }

    /// Whether ``finish()`` was called.
    public var isFinished: Bool { lock.withLock { state.finished } }

    public func finish() {
        let listeners = lock.withLock {
            state.finished = true
            defer { state.listeners = [:] }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.finish() }
    }
}

extension ChangeSignal {
    /// ``stream()`` as the throwing stream the store seams' `changes()` return.
    public func changes() -> AsyncThrowingStream<Void, any Error> { stream().ticks() }
}

extension AsyncSequence where Self: Sendable {
    /// This sequence with its values dropped: one tick per element, ticks that arrive while the
    /// reader is busy coalesced into one, an error passed on. The shape of every "something
    /// changed" trigger (the store seams' `changes()`, an observation's triggers).
    public func ticks() -> AsyncThrowingStream<Void, any Error> {
        AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let task = Task {
                do {
                    for try await _ in self { continuation.yield() }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

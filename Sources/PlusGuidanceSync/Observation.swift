import Foundation

/// A many-listener "something happened" signal: every ``stream()`` gets a tick after each
/// ``fire()`` (ticks that arrive while a listener is busy coalesce into one), and ends at
/// ``finish()``.
final class Signal: Sendable {
    private struct State {
        var listeners: [UUID: AsyncStream<Void>.Continuation] = [:]
        var finished = false
    }
    private let lock = NSLock()
    private nonisolated(unsafe) var state = State()

    func stream() -> AsyncStream<Void> {
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

    func fire() {
        for listener in lock.withLock({ Array(state.listeners.values) }) { listener.yield() }
    }

    /// Whether ``finish()`` was called.
    var isFinished: Bool { lock.withLock { state.finished } }

    func finish() {
        let listeners = lock.withLock {
            state.finished = true
            defer { state.listeners = [:] }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.finish() }
    }
}

/// The async sequences of ``PlusGuidanceClient``'s reads: a value fetched at once, then again
/// after every trigger (a commit to the cache or outbox by any process, a change of the
/// engine's phase), emitted only when it differs from the last one.
enum DerivedObservation {
    /// - Parameters:
    ///   - ended: when it finishes, the sequence ends normally; a fetch that fails once it has
    ///     (the account's files closed by sign-out) ends it normally too.
    ///   - fetch: the value now; `nil` emits nothing (not there yet).
    static func values<T: Equatable & Sendable>(
        triggers: [AsyncThrowingStream<Void, any Error>], until ended: Signal? = nil,
        fetch: @escaping @Sendable () async throws -> T?
    ) -> AsyncThrowingStream<T, any Error> {
        AsyncThrowingStream { continuation in
            let (ticks, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            tick.yield()
            let feeders = triggers.map { trigger in
                Task {
                    do {
                        for try await _ in trigger { tick.yield() }
                    } catch {
                        continuation.finish(throwing: ended?.isFinished == true ? nil : error)
                    }
                }
            }
            let watcher = ended.map { ended in
                Task {
                    for await _ in ended.stream() {}
                    if !Task.isCancelled { continuation.finish() }
                }
            }
            let fetcher = Task {
                do {
                    var last: T?
                    for await _ in ticks {
                        guard let value = try await fetch() else { continue }
                        if value != last {
                            last = value
                            continuation.yield(value)
                        }
                    }
                } catch {
                    continuation.finish(throwing: ended?.isFinished == true ? nil : error)
                }
            }
            continuation.onTermination = { _ in
                for feeder in feeders { feeder.cancel() }
                watcher?.cancel()
                fetcher.cancel()
                tick.finish()
            }
        }
    }

    /// `stream` with its values dropped: a trigger.
    static func trigger<S: AsyncSequence & Sendable>(_ sequence: S) -> AsyncThrowingStream<Void, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await _ in sequence { continuation.yield() }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

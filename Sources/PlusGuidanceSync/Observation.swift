import Foundation

/// The async sequences of ``PlusGuidanceClient``'s reads: a value fetched before the call that
/// makes the sequence returns, then again after every trigger (a commit to the cache or outbox
/// by any process, a change of the engine's phase), emitted only when it differs from the last.
///
/// Every observation has this one shape, `try await client.observeX()`, and one promise: the
/// triggers are subscribed before the first value is read, and the first value is read before
/// the call returns. So what happens after the call returns is in a later value (or event), and
/// what happened before is in the first one: nothing falls between the two, however long the
/// app waits before it starts iterating, and however busy the machine is.
enum DerivedObservation {
    /// - Parameters:
    ///   - triggers: made (so subscribed) before this is called.
    ///   - ended: when it finishes, the sequence ends normally; a fetch that fails once it has
    ///     (the account's files closed by sign-out) ends it normally too.
    ///   - fetch: the value now; `nil` emits nothing (not there yet).
    /// - Throws: what the first fetch throws.
    static func start<T: Equatable & Sendable>(
        triggers: [AsyncThrowingStream<Void, any Error>], until ended: ChangeSignal? = nil,
        fetch: @escaping @Sendable () async throws -> T?
    ) async throws -> AsyncThrowingStream<T, any Error> {
        let first = try await fetch()
        return AsyncThrowingStream { continuation in
            // Ticks that arrived during the first fetch wait in the triggers' buffers: the
            // feeders pass them on, and the value is fetched again.
            let (ticks, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            if let first { continuation.yield(first) }
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
                    var last = first
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
}

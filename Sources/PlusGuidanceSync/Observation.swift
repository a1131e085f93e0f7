import Foundation

/// The async sequences of ``PlusGuidanceClient``'s reads: a value fetched at once, then again
/// after every trigger (a commit to the cache or outbox by any process, a change of the
/// engine's phase), emitted only when it differs from the last one.
enum DerivedObservation {
    /// - Parameters:
    ///   - ended: when it finishes, the sequence ends normally; a fetch that fails once it has
    ///     (the account's files closed by sign-out) ends it normally too.
    ///   - fetch: the value now; `nil` emits nothing (not there yet).
    static func values<T: Equatable & Sendable>(
        triggers: [AsyncThrowingStream<Void, any Error>], until ended: ChangeSignal? = nil,
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
}

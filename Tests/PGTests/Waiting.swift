import Foundation

/// A condition a test waited for that never came.
struct ConditionNotMet: Error, CustomStringConvertible {
    var description: String
}

/// Returns once `condition` holds, checking every `poll`; throws ``ConditionNotMet`` after
/// `limit`. For the process tests' waits on another process (a daemon going live, a text
/// arriving): they assert an outcome, never a duration.
func waitUntil(
    within limit: Duration = .seconds(120), poll: Duration = .milliseconds(100),
    _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw ConditionNotMet(description: "condition not met in time") }
        try await Task.sleep(for: poll)
    }
}

/// Collects a child's output lines on a thread of its own.
final class LineCollector: @unchecked Sendable {
    // @unchecked: `collected` is only touched under `lock`.
    private let lock = NSLock()
    private var collected: [String] = []

    init(_ handle: FileHandle?) {
        guard let handle else { return }
        Thread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lock.withLock { collected.append(line) }
                }
            }
        }.start()
    }

    var lines: [String] { lock.withLock { collected } }
}

import Foundation
import PlusGuidanceTesting

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

/// The path of a built product (`pg`, `pg-syncd`, `libPGClockShim.so`…) beside the tests.
func builtProduct(_ name: String) throws -> String {
    guard let path = ReferenceServerProcess.productPath(name) else {
        throw ConditionNotMet(description: "build \(name)")
    }
    return path
}

/// Signs `email` in (its password is the demo seed's) on a new profile `profile` of `server`;
/// returns `pg`'s arguments for that profile.
func signedIn(_ email: String, on server: URL, profile: String) async throws -> [String] {
    let base = ["--server", server.absoluteString, "--profile", profile]
    let password = email.split(separator: "@")[0] + "-pass\n"
    let login = try await runProcess(
        try builtProduct("pg"), base + ["login", email, "--password-stdin"], stdin: String(password))
    guard login.status == 0 else { throw ConditionNotMet(description: "login \(email): \(login.stderr)") }
    return base
}

/// The path of the account file `name` (`cache.sqlite`, `outbox.sqlite`) inside `profile`.
func accountFile(_ name: String, in profile: String) throws -> String {
    let found = FileManager.default.enumerator(atPath: profile)?.compactMap { $0 as? String }
        .first { $0.hasSuffix("/" + name) }
    guard let found else { throw ConditionNotMet(description: "no \(name) in \(profile)") }
    return profile + "/" + found
}
